"""The generator track's hidden objects: built from the secret, used through ``$DEXTOG_ASSETS``, then let go.

:func:`hidden_objects` builds (or finds, already built from the same secret) an assets tree with the
hidden objects and the shipped hand, points ``DEXTOG_ASSETS`` at it for the ``with`` block — worker
processes inherit it — and restores the previous value afterwards. The tree lives in a folder of the
evaluator's (``<result>.work/hidden`` or a temporary one), which the generator's sandbox never sees.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dextog_gym.objects.hidden import HiddenSet, build_hidden, seed_sha256
from dextog_gym.objects.spec import SPLIT_FILE
from dextog_gym.paths import ASSETS_ENV, hand_dir

HIDDEN_PER_CATEGORY = 16  # as many as the public catalogue has: 80 objects, 1,600 grasps asked


def _built(root: Path, secret: str, per_category: int) -> bool:
    try:
        doc = json.loads((root / "objects" / SPLIT_FILE).read_text())
    except (OSError, ValueError):
        return False
    return doc.get("seed_sha256") == seed_sha256(secret) and doc.get("per_category") == per_category


def build_tree(root: Path, secret: str, per_category: int = HIDDEN_PER_CATEGORY, progress: bool = False) -> HiddenSet:
    """An assets tree under ``root`` (hands/ + objects/) with the hidden objects of ``secret``."""
    from dextog_gym.objects.build import objects_tree_digest
    from dextog_gym.objects.hidden import hidden_object_id
    from dextog_gym.objects.spec import CATEGORIES

    root = Path(root)
    if not (root / "hands" / "shadow_hand").is_dir():
        shutil.copytree(hand_dir(), root / "hands" / "shadow_hand")
    objects = root / "objects"
    if _built(root, secret, per_category):
        ids = tuple(hidden_object_id(c, i) for c in CATEGORIES for i in range(per_category))
        return HiddenSet(objects, ids, seed_sha256(secret), per_category, objects_tree_digest(objects))
    return build_hidden(objects, secret, per_category, progress=progress)


@contextlib.contextmanager
def hidden_objects(secret: str, per_category: int = HIDDEN_PER_CATEGORY, folder: Path | None = None,
                   progress: bool = False) -> Iterator[HiddenSet]:
    """Within the block, the catalogue is the hidden set of ``secret`` (all objects in the "unseen" split)."""
    with contextlib.ExitStack() as stack:
        root = Path(folder) if folder is not None else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="dextog_hidden_")))
        hidden = build_tree(root, secret, per_category, progress)
        before = os.environ.get(ASSETS_ENV)
        os.environ[ASSETS_ENV] = str(root.resolve())
        try:
            yield hidden
        finally:
            if before is None:
                os.environ.pop(ASSETS_ENV, None)
            else:
                os.environ[ASSETS_ENV] = before
