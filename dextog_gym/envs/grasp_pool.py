"""The starting grasps of an environment: per object, drawn once from a grasp source.

The pool is built when the environment is made (seeded, so two envs made alike hold the same
grasps) and is what ``reset`` chooses from. The env reaches generators only through the registry
(``dextog_gym.grasps.registry``): a source may serve a fixed set in file order (saved and shipped
sets) or sample, and may serve another source's grasps where it has none (``rule`` falls back to
``rule_relaxed``; that is the source's business, reported per object in ``source_of``). Objects
the source has no grasps for are dropped with a warning. Grasps that cannot be placed physically
are marked bad and never drawn again.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.grasps.registry import get_source, object_grasps
from dextog_gym.objects.catalog import ObjectAsset, get_object, list_objects
from dextog_gym.objects.selection import for_task
from dextog_gym.objects.spec import SPLIT_CHOICES

POOL_SEED = 0
DEFAULT_GRASPS_PER_OBJECT = 128  # every shipped rule grasp of an object (the most is 98)


def resolve_objects(task: str, objects) -> list[ObjectAsset]:
    """``"seen"``, ``"unseen"``, ``"all"``, a comma-separated selection (objects.selection: splits, the task's
    category, ids) or a list of catalogue ids of the task's category."""
    if isinstance(objects, str):
        if objects not in SPLIT_CHOICES:
            objects = for_task(objects, task)
        else:
            return [get_object(i) for i in list_objects(task, objects)]
    if not isinstance(objects, (list, tuple)) or not objects or not all(isinstance(i, str) for i in objects):
        raise ValueError(f"objects must be 'seen', 'unseen', 'all' or a non-empty list of ids, got {objects!r}")
    known = list_objects(task, "all")
    unknown = [i for i in objects if i not in known]
    if unknown:
        raise ValueError(f"objects {unknown} are not {task} objects; {task} objects: {', '.join(known)}")
    return [get_object(i) for i in dict.fromkeys(objects)]


def _unique_rows(g: Grasps) -> Grasps:
    key = np.concatenate([g.positions, g.quats_wxyz, g.joints], axis=1)
    _, first = np.unique(np.round(key, 9), axis=0, return_index=True)
    return g.select(np.sort(first))


@dataclass
class GraspPool:
    task: str
    assets: list[ObjectAsset]
    grasps: list[Grasps]  # per asset
    source_of: list[str]  # per asset: the source that supplied its grasps
    bad: list[set[int]] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # object id -> why

    @classmethod
    def build(cls, task: str, assets: list[ObjectAsset], source_spec: str,
              per_object: int = DEFAULT_GRASPS_PER_OBJECT, allow_import: bool = False) -> "GraspPool":
        source = get_source(source_spec, allow_import=allow_import)
        keep_assets, keep_grasps, sources, dropped = [], [], [], {}
        for k, asset in enumerate(assets):
            rng = np.random.default_rng([POOL_SEED, k])
            try:
                g, name = object_grasps(source, asset, task, per_object, rng)
            except ValueError as exc:
                dropped[asset.id] = str(exc)
                continue
            g = _unique_rows(g)  # keeps the first of duplicates, in order
            if len(g) == 0:
                dropped[asset.id] = f"source {name!r} returned no grasps"
                continue
            keep_assets.append(asset)
            keep_grasps.append(g)
            sources.append(name)
        if dropped:
            warnings.warn(f"{len(dropped)} {task} objects have no grasps from {source_spec!r} and are left out: "
                          + "; ".join(f"{k}: {v}" for k, v in dropped.items()), stacklevel=3)
        if not keep_assets:
            raise ValueError(f"grasp source {source_spec!r} has no grasps for any of the chosen {task} objects "
                             f"({', '.join(a.id for a in assets)})")
        own = getattr(source, "name", None)
        served = [f"{a.id} ({s})" for a, s in zip(keep_assets, sources) if own not in (None, "file") and s != own]
        if served:
            warnings.warn(f"{len(served)} {task} objects have no {own} grasps of their own; {own!r} served another "
                          f"source's: {', '.join(served)}", stacklevel=3)
        return cls(task, keep_assets, keep_grasps, sources, [set() for _ in keep_assets], dropped)

    def __len__(self) -> int:
        return sum(len(g) for g in self.grasps)

    def index_of(self, object_id: str) -> int:
        for k, a in enumerate(self.assets):
            if a.id == object_id:
                return k
        raise ValueError(f"object {object_id!r} is not in this environment; it has: "
                         f"{', '.join(a.id for a in self.assets)}")

    def draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """(object, grasp): object uniform, then grasp uniform. Grasps known to be bad are drawn too
        (the caller skips them) so the draws for a seed never depend on what earlier episodes found."""
        if all(len(self.bad[k]) == len(g) for k, g in enumerate(self.grasps)):
            raise RuntimeError(f"every grasp of this {self.task} environment failed to place; see the warnings")
        k = int(rng.integers(len(self.grasps)))
        return k, int(rng.integers(len(self.grasps[k])))

    def is_bad(self, k: int, i: int) -> bool:
        return i in self.bad[k]

    def mark_bad(self, k: int, i: int) -> None:
        self.bad[k].add(i)
