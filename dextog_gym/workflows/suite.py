"""Evaluate reference policies over grasp sources × object splits × tasks: the Table II run.

One call of ``evaluate`` per cell, each written to ``<out>/<task>__<source>__<split>.json`` so a
killed run keeps what it finished and ``dextog table`` can rebuild the tables from the folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dextog_gym.envs.table import ENV_OF_TASK
from dextog_gym.policies.evaluate import REFERENCE_DIR, EvalRequest, evaluate
from dextog_gym.policies.report import load_result, save_result


@dataclass
class SuiteRequest:
    out: Path
    tasks: tuple[str, ...] = tuple(ENV_OF_TASK)
    sources: tuple[str, ...] = ("rule", "isf")
    splits: tuple[str, ...] = ("seen", "unseen")
    policies: Path = REFERENCE_DIR
    policy_data: str = "rule"  # which reference policy: <task>_<policy_data>
    max_objects: int | None = None
    max_grasps_per_object: int | None = None
    episodes_per_grasp: int = 1
    workers: int = 0
    seed: int = 0
    progress: bool = True
    reuse: bool = True  # keep cells already in --out


def cell_path(out: Path, task: str, source: str, split: str, policy_data: str) -> Path:
    tag = Path(source).stem if source.endswith(".npz") else source
    return out / f"{task}__{tag}__{split}__policy-{policy_data}.json"


def run_suite(req: SuiteRequest) -> list[dict[str, Any]]:
    unknown = [t for t in req.tasks if t not in ENV_OF_TASK]
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; tasks: {', '.join(ENV_OF_TASK)}")
    missing = [t for t in req.tasks if not (Path(req.policies) / f"{t}_{req.policy_data}" / "policy.npz").is_file()]
    if missing:
        raise FileNotFoundError(f"no {req.policy_data} policy for {', '.join(missing)} in {req.policies}")
    results = []
    for task in req.tasks:
        for source in req.sources:
            for split in req.splits:
                path = cell_path(req.out, task, source, split, req.policy_data)
                if req.reuse and path.is_file():
                    results.append(load_result(path))
                    continue
                res = evaluate(EvalRequest(
                    policy=str(Path(req.policies) / f"{task}_{req.policy_data}"), grasps=source, objects=split,
                    env_id=ENV_OF_TASK[task], episodes_per_grasp=req.episodes_per_grasp,
                    max_grasps_per_object=req.max_grasps_per_object, max_objects=req.max_objects,
                    workers=req.workers, seed=req.seed, progress=req.progress))
                save_result(res, path)
                results.append(res)
    return results
