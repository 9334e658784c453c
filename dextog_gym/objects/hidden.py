"""Hidden objects: new instances of the five categories, built from a secret seed.

The leaderboard's generator track scores submissions on objects nobody could tune for
(``dextog assets build --seed S --out DIR``). Every random draw comes from sha256(S), so the
maintainers rebuild the same tree byte for byte from S, a published practice seed lets anyone
reproduce a row, and the files (ids, split.json, annotations) carry sha256(S) but never S.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dextog_gym.objects.articulated import write_object
from dextog_gym.objects.build import object_rng, objects_tree_digest, write_tree
from dextog_gym.objects.categories import GENERATORS
from dextog_gym.objects.spec import CATEGORIES, INSTANCES_PER_CATEGORY, SPLIT_FILE

HIDDEN_TAG = "h"  # ids read <category>_h<NNN>: never a public id, and catalog's rsplit("_", 1) still works
MAX_PER_CATEGORY = 999  # three digits after the tag


@dataclass(frozen=True)
class HiddenSet:
    root: Path  # the objects folder written
    ids: tuple[str, ...]
    seed_sha256: str
    per_category: int
    digest: str  # objects_tree_digest(root): names this exact build


def seed_sha256(seed: str) -> str:
    """The public name of a secret seed (what results and split.json record)."""
    if not isinstance(seed, str) or not seed:
        raise ValueError("a hidden build needs a non-empty seed string")
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def hidden_object_id(category: str, index: int) -> str:
    return f"{category}_{HIDDEN_TAG}{index:03d}"


def hidden_rng(seed_hex: str, category: str, index: int) -> np.random.Generator:
    """One stream per object from the first 8 bytes of sha256(seed), the category and the index."""
    key = int.from_bytes(bytes.fromhex(seed_hex)[:8], "big")
    return np.random.default_rng([key, list(CATEGORIES).index(category), index])


def _public_states() -> set[tuple[int, ...]]:
    return {tuple(object_rng(c, i).bit_generator.seed_seq.generate_state(4))
            for c in CATEGORIES for i in range(INSTANCES_PER_CATEGORY)}


def _check_not_public(seed_hex: str, per_category: int) -> None:
    """Refuse (odds 2^-64) a seed whose streams coincide with the public build's: it would leak objects."""
    public = _public_states()
    for category in CATEGORIES:
        for index in range(per_category):
            state = tuple(hidden_rng(seed_hex, category, index).bit_generator.seed_seq.generate_state(4))
            if state in public:
                raise ValueError("this seed reproduces a public object's random stream; choose another seed")


def build_hidden_into(root: Path, seed: str, per_category: int = INSTANCES_PER_CATEGORY,
                      progress: bool = False) -> list[str]:
    """Write ``per_category`` hidden instances of every category and a split.json (all "unseen")."""
    if not 1 <= per_category <= MAX_PER_CATEGORY:
        raise ValueError(f"per_category must be within 1..{MAX_PER_CATEGORY}, got {per_category}")
    seed_hex = seed_sha256(seed)
    _check_not_public(seed_hex, per_category)
    jobs = [(c, i) for c in CATEGORIES for i in range(per_category)]
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc="building hidden objects", unit="obj")
    ids = []
    for category, index in jobs:
        obj = hidden_object_id(category, index)
        write_object(GENERATORS[category](obj, hidden_rng(seed_hex, category, index)), root / category / obj)
        ids.append(obj)
    doc = {"hidden": True, "seed_sha256": seed_hex, "per_category": per_category, "seen": [], "unseen": ids}
    (root / SPLIT_FILE).write_text(json.dumps(doc, indent=1) + "\n")
    return ids


def build_hidden(dest: Path, seed: str, per_category: int = INSTANCES_PER_CATEGORY,
                 progress: bool = True) -> HiddenSet:
    """Build the hidden set atomically into ``dest`` (an ``objects/`` folder) and fingerprint it."""
    seed_hex = seed_sha256(seed)  # refuse an empty seed before touching ``dest``
    dest = Path(dest)
    ids = write_tree(dest, lambda tmp: build_hidden_into(tmp, seed, per_category, progress))
    return HiddenSet(dest, tuple(ids), seed_hex, per_category, objects_tree_digest(dest))
