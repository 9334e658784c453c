"""``rule``: lift-tested ``isf`` grasps kept by the paper's rules (grasp_sources/rules.py).

Serves the shipped rule sets. The rules keep nothing for some objects (most bottles: five pads within
2.5 cm of the cap centre is rare for a sampler); those objects fall back to ``rule_relaxed``, the raw
grasps nearest to passing the rule, and the environment is told so (``served_by``). For an object
with no shipped set at all it runs the whole pipeline (raw generation, rules, lift test) into a
temporary folder, which takes minutes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from dextog_gym.grasp_sources.shipped import check_task, grasp_path, shipped_grasps
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset


class RuleSource:
    name = "rule"

    def __init__(self, seed: int = 0, raw_per_object: int = 1000, fallback: bool = True):
        """``fallback``: serve ``rule_relaxed`` grasps for shipped objects the rules kept nothing of."""
        self.seed = seed
        self.raw_per_object = raw_per_object
        self.fallback = fallback

    def fixed_grasps(self, obj: ObjectAsset, task: str) -> tuple[Grasps, str] | None:
        """The object's shipped rule set in file order, or its ``rule_relaxed`` grasps where that is empty."""
        check_task("rule", obj, task)
        try:
            grasps = shipped_grasps("rule", obj, task)
        except ValueError:
            if not self.fallback:
                raise
            from dextog_gym.grasp_sources.relaxed import RelaxedRuleSource

            relaxed = RelaxedRuleSource()
            return relaxed.ranked(obj, task), relaxed.name
        return None if grasps is None else (grasps, self.name)

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        from dextog_gym.grasp_sources.pipeline import make_raw, make_rule
        from dextog_gym.grasps.file_source import FileSource

        check_task("rule", obj, task)
        path = grasp_path("rule", obj.id)
        if not path.is_file():
            root = Path(tempfile.mkdtemp(prefix="dextog_rule_"))
            make_raw(obj, self.raw_per_object, self.seed, root)
            make_rule(obj, self.seed, root)
            path = grasp_path("rule", obj.id, root)
        source = FileSource(path)
        if len(source.grasps) == 0:
            raise ValueError(f"no rule grasps for {obj.id}: none of its raw grasps passed the rule and lift test")
        return source.sample(obj, task, n, rng)
