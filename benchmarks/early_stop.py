"""Episodes that end once their outcome is decided: time saved, and the verdict of every episode unchanged.

    python benchmarks/early_stop.py [--baselines isf,rule,shifted] [--objects 1] [--grasps 4] [--workers 2]

For each baseline submission folder under ``leaderboard/baselines/`` and each task, it rolls the first
``--grasps`` grasps of the first ``--objects`` objects out twice under both protocol verifiers (the task
controller and the residual PPO bundle): full 100-step episodes, and episodes that end once success
latches or can no longer latch (the leaderboard's default). It prints the wall time and env steps of
both, their ratio, and checks per episode that the success verdict is identical (the script fails if not).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from dextog_gym.envs.table import ENV_OF_TASK
from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.protocol import TASKS, VERIFIERS, verifier_folder
from dextog_gym.policies.evaluate import EvalRequest, evaluate
from dextog_gym.policies.provenance import machine_info
from dextog_gym.tables import format_table

BASELINES = Path(__file__).resolve().parents[1] / "leaderboard" / "baselines"


def run(file: Path, task: str, label: str, objects: list[str], grasps: int, workers: int, full: bool):
    t = time.perf_counter()
    res = evaluate(EvalRequest(policy=verifier_folder(task, label), env_id=ENV_OF_TASK[task], grasps=str(file),
                               objects=objects, max_grasps_per_object=grasps, workers=workers, progress=False,
                               full_episodes=full))
    return time.perf_counter() - t, res["episodes"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baselines", default="isf,rule,shifted,open_hand")
    ap.add_argument("--objects", type=int, default=1, help="first N objects of each task")
    ap.add_argument("--grasps", type=int, default=4, help="first N grasps of each object")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    rows, mismatches = [], 0
    totals = {"full": [0.0, 0], "early": [0.0, 0]}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.baselines.split(","):
            for task in TASKS:
                g = Grasps.load(BASELINES / name / f"{task}.npz")
                objects = list(g.object_ids[: args.objects])
                file = Path(tmp) / f"{name}_{task}.npz"
                g.save(file)
                for label in VERIFIERS:
                    (tf, full), (te, early) = (run(file, task, label, objects, args.grasps, args.workers, f)
                                               for f in (True, False))
                    key = lambda e: (e["object_id"], e["grasp_index"])  # noqa: E731
                    same = {key(e): e.get("success") for e in full} == {key(e): e.get("success") for e in early}
                    mismatches += not same
                    sf, se = (sum(e.get("steps") or 0 for e in eps) for eps in (full, early))
                    totals["full"][0] += tf
                    totals["full"][1] += sf
                    totals["early"][0] += te
                    totals["early"][1] += se
                    rows.append([name, task, label, len(full), sum(bool(e.get("success")) for e in full), f"{tf:.1f}",
                                 f"{te:.1f}", f"{sf}", f"{se}", "yes" if same else "NO"])
    print(format_table(["baseline", "task", "verifier", "episodes", "successes", "full s", "early s", "full steps",
                        "early steps", "same verdicts"], rows))
    (tf, sf), (te, se) = totals["full"], totals["early"]
    print(f"\nall: {tf:.1f} s / {sf} steps full, {te:.1f} s / {se} steps early: {tf / max(te, 1e-9):.2f}x faster, "
          f"{se / max(sf, 1):.2f} of the steps; verdicts {'identical' if not mismatches else 'DIFFER'} in every cell")
    print(f"machine: {machine_info()}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
