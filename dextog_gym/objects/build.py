"""Build all procedural objects and the seen/unseen split, atomically.

``dextog assets build`` calls :func:`build_all`. Everything is derived from fixed seeds,
so a rebuild reproduces the committed files byte for byte (a test checks it). Hidden sets built from
a secret seed (:mod:`dextog_gym.objects.hidden`) reuse :func:`write_tree` and :func:`objects_tree_digest`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from dextog_gym.files import sha256_file, sha256_text
from dextog_gym.objects.articulated import write_object
from dextog_gym.objects.categories import GENERATORS
from dextog_gym.objects.spec import (
    BUILD_SEED,
    CATEGORIES,
    INSTANCES_PER_CATEGORY,
    SPLIT_FILE,
    SPLIT_SEED,
    UNSEEN_PER_CATEGORY,
)

T = TypeVar("T")


def object_id(category: str, index: int) -> str:
    return f"{category}_{index:03d}"


def object_rng(category: str, index: int) -> np.random.Generator:
    """Each object has its own stream, so changing one family never shifts another."""
    return np.random.default_rng([BUILD_SEED, list(CATEGORIES).index(category), index])


def build_object(category: str, index: int, out_dir: Path) -> None:
    spec = GENERATORS[category](object_id(category, index), object_rng(category, index))
    write_object(spec, out_dir)


def make_split() -> dict[str, list[str]]:
    """Seen/unseen 9:1 per category (rounded: 14 seen, 2 unseen of 16), fixed seed."""
    rng = np.random.default_rng(SPLIT_SEED)
    split: dict[str, list[str]] = {"seen": [], "unseen": []}
    for category in CATEGORIES:
        order = rng.permutation(INSTANCES_PER_CATEGORY)
        unseen = set(int(i) for i in order[:UNSEEN_PER_CATEGORY])
        for index in range(INSTANCES_PER_CATEGORY):
            split["unseen" if index in unseen else "seen"].append(object_id(category, index))
    return split


def build_into(root: Path, progress: bool = False) -> list[str]:
    """Write every object and ``split.json`` under ``root``; return the object ids."""
    jobs = [(c, i) for c in CATEGORIES for i in range(INSTANCES_PER_CATEGORY)]
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc="building objects", unit="obj")
    ids = []
    for category, index in jobs:
        obj = object_id(category, index)
        build_object(category, index, root / category / obj)
        ids.append(obj)
    split = make_split()
    split_doc = {"seed": SPLIT_SEED, "ratio": "9:1 per category", **split}
    (root / SPLIT_FILE).write_text(json.dumps(split_doc, indent=1) + "\n")
    return ids


def build_all(dest: Path, progress: bool = True) -> list[str]:
    """The public catalogue, built atomically into ``dest``."""
    return write_tree(Path(dest), lambda tmp: build_into(tmp, progress=progress))


def write_tree(dest: Path, fill: Callable[[Path], T]) -> T:
    """Let ``fill`` write into a temporary sibling folder, then swap it in: nothing half-written."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".objects-build-", dir=dest.parent))
    try:
        result = fill(tmp)
        if dest.exists():
            old = dest.with_name(dest.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old)
        else:
            tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def objects_tree_digest(root: Path) -> str:
    """sha256 over the sorted relative paths and file sha256s under ``root``: one number names a build.

    The same lines as the leaderboard's ``tree_digest``, so a result can name an object tree by it.
    """
    root = Path(root)
    lines = [f"{p.relative_to(root).as_posix()} {sha256_file(p)}" for p in sorted(root.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts]
    return sha256_text("\n".join(lines))
