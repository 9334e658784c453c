"""Raw (isf) grasp generation rate per core and the lift-test pass rate, one object per category.

Run: ``.venv/bin/python benchmarks/grasp_generation.py [--target 20] [--max-candidates 1024]``.
Single process, torch on one thread: the figures are per core. Prints the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def machine() -> str:
    from dextog_gym.physics import pybullet  # noqa: F401  (confirms the engine)
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", nargs="+",
                        default=["stapler_000", "sprayer_press_000", "sprayer_trigger_000", "bottle_000", "pen_000"])
    parser.add_argument("--target", type=int, default=20)
    parser.add_argument("--max-candidates", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from dextog_gym.grasp_sources.isf.generate import generate_raw
    from dextog_gym.grasp_sources.isf.lift import lift_test
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.tables import format_table

    rows, total_grasps, total_gen, total_lift, total_pass, lift_seconds = [], 0, 0.0, 0, 0, 0.0
    for oid in args.objects:
        asset = get_object(oid)
        grasps, stats = generate_raw(asset, args.target, args.seed, max_candidates=args.max_candidates)
        start = time.perf_counter()
        lifted = lift_test(asset, grasps) if len(grasps) else None
        lift_s = time.perf_counter() - start
        passed = int(lifted.passed.sum()) if lifted is not None else 0
        rows.append((oid, stats.candidates, stats.distinct, f"{stats.seconds:.1f}",
                     f"{stats.distinct / stats.seconds:.3f}", f"{passed}/{len(grasps)}",
                     f"{lift_s / max(len(grasps), 1):.2f}", f"{stats.coverage:.2f}"))
        total_grasps += stats.distinct
        total_gen += stats.seconds
        total_lift += len(grasps)
        total_pass += passed
        lift_seconds += lift_s
    print(f"machine: {machine()}")
    print(format_table(["object", "candidates", "valid grasps", "seconds", "grasps/s/core", "lift pass",
                        "s per lift test", "coverage"], rows))
    rate = total_grasps / total_gen if total_gen else 0.0
    print(f"overall: {rate:.3f} raw grasps/s per core ({1000 * total_gen / max(total_grasps, 1):.0f} ms per grasp), "
          f"lift-test pass rate {total_pass}/{total_lift} = {total_pass / max(total_lift, 1):.2f}, "
          f"{lift_seconds / max(total_lift, 1):.2f} s per lift test")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
