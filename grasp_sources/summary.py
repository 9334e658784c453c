"""Per-task figures of a grasp root (``isf`` and ``rule`` folders): what docs/grasps.md quotes.

Everything is read back from the saved files (provenance and extras written by the pipeline), so
the table can be re-printed at any time without regenerating: raw count and rate, the raw lift
rate on the seeded random sample, rule retention, and the mean Q1 and penetration of rule grasps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dextog_gym.grasp_sources.pipeline import FUNCTIONAL_FAMILY
from dextog_gym.grasp_sources.shipped import grasp_path
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import get_object, list_objects

MIN_RULE_GRASPS = 20  # the bar per object


@dataclass
class TaskSummary:
    task: str
    split: str
    objects: int = 0
    raw: int = 0
    raw_seconds: float = 0.0
    lift_tested: int = 0
    lift_passed: int = 0
    rule_pass: int = 0
    rule_kept: int = 0
    functional: int = 0  # raw grasps of the functional families
    functional_seconds: float = 0.0
    rule_kept_functional: int = 0
    q1: list[float] = field(default_factory=list)
    pen_cm: list[float] = field(default_factory=list)
    short: list[str] = field(default_factory=list)  # objects under MIN_RULE_GRASPS rule grasps

    def row(self) -> list:
        rate = self.raw / self.raw_seconds if self.raw_seconds else 0.0
        lift = f"{self.lift_passed}/{self.lift_tested} = {self.lift_passed / self.lift_tested:.2f}" if self.lift_tested else "-"
        retention = f"{self.rule_pass}/{self.raw} = {100 * self.rule_pass / self.raw:.2f}%" if self.raw else "-"
        f_rate = f"{self.functional / self.functional_seconds:.2f}" if self.functional_seconds else "-"
        return [self.task, self.split, self.objects, self.raw, f"{rate:.2f}", self.functional, f_rate, lift, retention,
                f"{self.rule_kept} ({self.rule_kept_functional})",
                f"{np.mean(self.q1):.4f}" if self.q1 else "-", f"{np.mean(self.pen_cm):.3f}" if self.pen_cm else "-",
                f"{self.objects - len(self.short)}/{self.objects}"]


HEADERS = ["task", "split", "objects", "raw grasps", "raw/s (1 core)", "functional", "functional/s (1 core)",
           "lift rate (sample)", "rule pass (of raw)", "rule kept (lift ok; functional)", "Q1 rule", "pen cm rule", f"objects ≥{MIN_RULE_GRASPS} rule"]


def summarise(root: Path | None = None, objects: list[str] | None = None) -> list[TaskSummary]:
    """One summary per (task, split) over the objects that have an isf file under ``root``."""
    out: dict[tuple[str, str], TaskSummary] = {}
    for oid in objects or list_objects(split="all"):
        raw_path = grasp_path("isf", oid, root)
        if not raw_path.is_file():
            continue
        asset = get_object(oid)
        s = out.setdefault((asset.category, asset.split or "user"), TaskSummary(asset.category, asset.split or "user"))
        raw = Grasps.load(raw_path)
        s.objects += 1
        s.raw += len(raw)
        s.raw_seconds += float(raw.provenance.get("seconds", 0.0))
        ex = raw.extras
        functional = raw.provenance.get("streams", {}).get("functional")
        if functional:
            s.functional += int((ex["family"] == FUNCTIONAL_FAMILY).sum())
            s.functional_seconds += float(functional.get("seconds", 0.0))
        if "lift_pass" in ex:
            sample = ex["lift_sample"] if "lift_sample" in ex else ex["lift_pass"] >= 0
            s.lift_tested += int((ex["lift_pass"][sample] >= 0).sum())
            s.lift_passed += int((ex["lift_pass"][sample] == 1).sum())
        if "rule_pass" in ex:
            s.rule_pass += int(ex["rule_pass"].sum())
        rule_path = grasp_path("rule", oid, root)
        kept = Grasps.load(rule_path) if rule_path.is_file() else None
        n_kept = len(kept) if kept is not None else 0
        s.rule_kept += n_kept
        if kept is not None and n_kept:
            s.rule_kept_functional += int((kept.extras["family"] == FUNCTIONAL_FAMILY).sum())
            s.q1 += kept.extras["q1"].tolist()
            s.pen_cm += kept.extras["pen_cm"].tolist()
        if n_kept < MIN_RULE_GRASPS:
            s.short.append(oid)
    return [out[k] for k in sorted(out)]
