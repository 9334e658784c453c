"""The generator track's hidden objects: built from the secret, used through ``$DEXTOG_ASSETS``, then let go.

:func:`hidden_objects` builds (or finds, already built from the same secret) an assets tree with the
hidden objects and the shipped hand, points ``DEXTOG_ASSETS`` at it for the ``with`` block — worker
processes inherit it — and restores the previous value afterwards. The tree lives in a folder of the
evaluator's (``<result>.work/hidden`` or a temporary one), which the generator's sandbox never sees.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dextog_gym.objects.hidden import HiddenSet, build_hidden
from dextog_gym.paths import ASSETS_ENV, hand_dir

HIDDEN_PER_CATEGORY = 16  # as many as the public catalogue has: 80 objects, 1,600 grasps asked


def build_tree(root: Path, secret: str, per_category: int = HIDDEN_PER_CATEGORY, progress: bool = False) -> HiddenSet:
    """An assets tree under ``root`` (hands/ + objects/) with the hidden objects of ``secret``.

    Always built afresh (~4 s for 80 objects, atomically swapped in): a tree left in the folder is never
    trusted, and the digest in the result names what was built.
    """
    root = Path(root)
    if not (root / "hands" / "shadow_hand").is_dir():
        shutil.copytree(hand_dir(), root / "hands" / "shadow_hand")
    return build_hidden(root / "objects", secret, per_category, progress=progress)


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
