"""The starting grasps of an environment: per object, drawn once from a grasp source.

The pool is built when the environment is made (seeded, so two envs made alike hold the same
grasps) and is what ``reset`` chooses from. Objects the source has no grasps for are dropped
with a warning; for the default ``rule`` source they fall back to ``rule_relaxed`` (the raw
grasps nearest to passing the rule), because the paper's rules keep nothing for most bottles.
Grasps that cannot be placed physically are marked bad and never drawn again.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset, get_object, list_objects

POOL_SEED = 0
# Sources whose per-object sets ship under assets/grasps/<source>/ (diffutog: made by the shipped
# model, so making an env does not run the diffusion model; objects without a set sample live).
SHIPPED_SETS = ("rule", "isf", "diffutog")
DEFAULT_GRASPS_PER_OBJECT = 128  # every shipped rule grasp of an object (the most is 98)


def resolve_objects(task: str, objects) -> list[ObjectAsset]:
    """``"seen"``, ``"unseen"``, ``"all"`` or a list of catalogue ids of the task's category."""
    if isinstance(objects, str):
        if objects not in ("seen", "unseen", "all"):
            raise ValueError(f"objects must be 'seen', 'unseen', 'all' or a list of ids, got {objects!r}")
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


def _in_file_order(source, source_spec: str, asset: ObjectAsset, task: str) -> Grasps | None:
    """All of an object's grasps in file order when they come from a file (a ``file`` source or a
    shipped ``rule``/``isf`` set), so ``grasp_index`` is the row of the object in that file."""
    from grasp_sources.file import FileSource
    from grasp_sources.pipeline import grasp_path

    if not isinstance(source, FileSource):
        if source_spec not in SHIPPED_SETS or not grasp_path(source_spec, asset.id).is_file():
            return None
        source = FileSource(grasp_path(source_spec, asset.id))
    if asset.id not in source.object_ids():
        raise ValueError(f"{source.path}: no grasps for object {asset.id!r}")
    if source.grasps.task_of(asset.id) != task:
        raise ValueError(f"{source.path}: grasps of {asset.id!r} are for task {source.grasps.task_of(asset.id)!r}")
    g = source.grasps.for_object(asset.id)
    if len(g) == 0:
        raise ValueError(f"{source.path}: no grasps for object {asset.id!r}")
    return g


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
              per_object: int = DEFAULT_GRASPS_PER_OBJECT) -> "GraspPool":
        from grasp_sources.registry import get_source

        source = get_source(source_spec)
        fallback = None
        keep_assets, keep_grasps, sources, dropped = [], [], [], {}
        for k, asset in enumerate(assets):
            rng = np.random.default_rng([POOL_SEED, k])
            name = getattr(source, "name", str(source_spec))
            try:
                g = _in_file_order(source, source_spec, asset, task)
                if g is None:
                    g = source.sample(asset, task, per_object, rng)
            except ValueError as exc:
                if source_spec != "rule":
                    dropped[asset.id] = str(exc)
                    continue
                from grasp_sources.relaxed import RelaxedRuleSource

                fallback = fallback or RelaxedRuleSource()
                g, name = fallback.ranked(asset, task), fallback.name
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
        relaxed = [a.id for a, s in zip(keep_assets, sources) if s == "rule_relaxed"]
        if relaxed:
            warnings.warn(f"{len(relaxed)} {task} objects have no rule grasps and use the raw grasps nearest to "
                          f"the rule (rule_relaxed): {', '.join(relaxed)}", stacklevel=3)
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
