"""Grasp-set evaluation throughput: rollouts per second with 1 and N worker processes, side by side.

    python benchmarks/eval_throughput.py [--policy stapler_rule_residual] [--grasps rule] [--episodes 24]

Runs the same jobs (first grasps of the first objects, full 100-step episodes) with 1 worker and
with one worker per core, and prints rollouts/s, env steps/s and the speed-up. Worker start-up
(building the env and its grasp pool) is included, as a user would see it.
"""

from __future__ import annotations

import argparse
import os
import platform

from dextog_gym.policies.evaluate import EvalRequest, evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", default="stapler_rule_residual")
    ap.add_argument("--grasps", default="rule")
    ap.add_argument("--objects", type=int, default=4, help="first N seen objects")
    ap.add_argument("--grasps-per-object", type=int, default=6)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    rows = []
    for workers in sorted({1, args.workers}):
        res = evaluate(EvalRequest(policy=args.policy, grasps=args.grasps, max_objects=args.objects,
                                   max_grasps_per_object=args.grasps_per_object, workers=workers, progress=False))
        m = res["meta"]
        steps = sum(r.get("steps", 0) for r in res["episodes"])
        rows.append((workers, len(res["episodes"]), m["wall_clock_s"], m["rollouts_per_s"], steps / m["wall_clock_s"]))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print("| workers | rollouts | wall s | rollouts/s | env steps/s | speed-up |")
    print("|---|---|---|---|---|---|")
    for w, n, wall, rps, sps in rows:
        print(f"| {w} | {n} | {wall:.1f} | {rps:.2f} | {sps:.0f} | {rps / rows[0][3]:.2f}x |")


if __name__ == "__main__":
    main()
