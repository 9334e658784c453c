"""A result's scores, computed from its episodes and per-grasp metrics alone (so anyone can recompute them).

Success per verifier, task and split counts every grasp the protocol asked for: placed episodes that
failed, grasps the simulator could not place (``skipped``), and as ``missing`` the ``GRASPS_PER_OBJECT``
grasps of each object left out plus each covered object's shortfall below 20 distinct grasps (the
result's ``selection``). Intervals are Wilson 95 %.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dextog_gym.leaderboard.metrics import summarise_metrics
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, RANKED_BY, SPLITS, TASKS, VERIFIERS
from dextog_gym.metrics.intervals import wilson_interval
from dextog_gym.objects.catalog import list_objects


def _rate(successes: int, placed: int, skipped: int, missing: int) -> dict[str, Any]:
    n = placed + skipped + missing
    ci = wilson_interval(successes, n)
    return {"successes": successes, "n": n, "placed": placed, "skipped": skipped, "missing": missing,
            "rate": successes / n if n else None, "ci95": list(ci) if ci else None}


def _add(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return _rate(*(a[k] + b[k] for k in ("successes", "placed", "skipped", "missing")))


def cell_score(cell: dict[str, Any] | None, task: str, split: str,
               taken: dict[str, dict[str, int]] | None = None, asked: list[str] | None = None) -> dict[str, Any]:
    """``taken``: per object, what the protocol took of the submission's grasps (its ``shortfall``); ``asked``:
    the objects of the split the result was measured on (default: the catalogue's)."""
    episodes = cell["episodes"] if cell else []
    evaluated = set(cell["objects"]) if cell else set()
    placed = [e for e in episodes if not e["skipped"]]
    taken = taken or {}
    missing = sum(GRASPS_PER_OBJECT if o not in evaluated else int(taken.get(o, {}).get("shortfall", 0))
                  for o in (asked if asked is not None else list_objects(task, split)))
    return _rate(sum(bool(e["success"]) for e in placed), len(placed), len(episodes) - len(placed), missing)


def score(result: dict[str, Any]) -> dict[str, Any]:
    cells = result["cells"]
    verifiers: dict[str, Any] = {}
    for label in VERIFIERS:
        tasks: dict[str, Any] = {}
        overall = _rate(0, 0, 0, 0)
        for task in TASKS:
            taken = result.get("selection", {}).get(task, {})
            asked = result.get("objects", {}).get(task, {})  # the result's own object lists: hidden ones too
            per = {s: cell_score(cells.get(f"{task}/{s}/{label}"), task, s, taken, asked.get(s)) for s in SPLITS}
            per["all"] = _add(per["seen"], per["unseen"])
            tasks[task] = per
            overall = _add(overall, per["all"])
        verifiers[label] = {"tasks": tasks, "overall": overall}
    metrics: dict[str, Any] = {}
    pooled: list[dict[str, Any]] = []
    for task in TASKS:
        for split in SPLITS:
            m = result["metrics"].get(f"{task}/{split}")
            if m is not None:
                metrics.setdefault(task, {})[split] = summarise_metrics(m["objects"], _diversity(m))
                pooled += m["objects"]
    div = [m["summary"] for m in result["metrics"].values()]
    overall_div = {k: float(np.mean([d[k] for d in div])) if div else 0.0 for k in ("joint_variance", "joint_range")}
    metrics["overall"] = summarise_metrics(pooled, overall_div)
    return {"verifiers": verifiers, "metrics": metrics,
            "ranking_score": verifiers[RANKED_BY]["overall"]["rate"] or 0.0}


def _diversity(m: dict[str, Any]) -> dict[str, float]:
    return {k: m["summary"][k] for k in ("joint_variance", "joint_range")}
