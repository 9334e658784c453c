"""``rule``: lift-tested ``isf`` grasps kept by the paper's rules (grasp_sources/rules.py).

Serves the shipped rule sets; for an object without one it runs the whole pipeline (raw
generation, rules, lift test) into a temporary folder, which takes minutes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset


class RuleSource:
    name = "rule"

    def __init__(self, seed: int = 0, raw_per_object: int = 1000):
        self.seed = seed
        self.raw_per_object = raw_per_object

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        from grasp_sources.file import FileSource
        from grasp_sources.pipeline import grasp_path, make_raw, make_rule

        if task != obj.category:
            raise ValueError(f"object {obj.id} is a {obj.category}; rule grasps for task {task!r} do not exist")
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
