"""Grasp-set evaluation throughput: rollouts per second with 1 and N workers, on each backend, side by side.

    python benchmarks/eval_throughput.py [--policy stapler_rule_residual] [--grasps rule] [--backends local,ray]

Runs the same jobs (first grasps of the first objects, full episodes) with 1 worker and with one worker
per core, on the local process pool and on Ray workers, and prints rollouts/s, env steps/s and the
speed-up over one local worker, all measured in this one run. Worker start-up (building the env and its
grasp pool) is included, as a user would see it; starting Ray itself (once, before the Ray rows) is not.
Every configuration must produce the same episodes: the script checks and says so.
"""

from __future__ import annotations

import argparse
import os

from dextog_gym.policies.evaluate import EvalRequest, evaluate
from dextog_gym.policies.provenance import machine_info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", default="stapler_rule_residual")
    ap.add_argument("--grasps", default="rule")
    ap.add_argument("--objects", type=int, default=4, help="first N seen objects")
    ap.add_argument("--grasps-per-object", type=int, default=6)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--backends", default="local,ray", help="comma-separated: local, ray")
    args = ap.parse_args()
    rows, episodes = [], {}
    for backend in args.backends.split(","):
        if backend == "ray":
            from dextog_gym.policies.ray_pool import ensure_ray

            ensure_ray(args.workers)
        for workers in sorted({1, args.workers}):
            res = evaluate(EvalRequest(policy=args.policy, grasps=args.grasps, max_objects=args.objects,
                                       max_grasps_per_object=args.grasps_per_object, workers=workers,
                                       backend=backend, progress=False))
            m = res["meta"]
            steps = sum(r.get("steps", 0) for r in res["episodes"])
            rows.append((backend, workers, len(res["episodes"]), m["wall_clock_s"], m["rollouts_per_s"],
                         steps / m["wall_clock_s"]))
            episodes[(backend, workers)] = res["episodes"]
    mi = machine_info()
    print(f"machine: {mi['cpu']}, {mi['cores']} cores; policy {args.policy}, {args.grasps} grasps")
    print("| backend | workers | rollouts | wall s | rollouts/s | env steps/s | speed-up vs local, 1 worker |")
    print("|---|---|---|---|---|---|---|")
    for backend, w, n, wall, rps, sps in rows:
        print(f"| {backend} | {w} | {n} | {wall:.1f} | {rps:.2f} | {sps:.0f} | {rps / rows[0][4]:.2f}x |")
    first = next(iter(episodes.values()))
    same = all(e == first for e in episodes.values())
    print(f"episodes identical across every backend and worker count: {same}")


if __name__ == "__main__":
    main()
