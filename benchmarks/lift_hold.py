"""How many shipped grasps hold the object when the env lifts it: the env-level lift test.

For every grasp of a source (default: the shipped ``rule`` sets) the env is reset to that grasp,
the scripted policy raises the wrist 14 cm in 14 steps and holds 6 steps; the grasp holds if the
object ends at least ĥ = 10 cm above its rest height. Fixed objects (bottles) are not lifted.

    python benchmarks/lift_hold.py [--tasks stapler pen] [--source rule] [--objects all]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def measure(task: str, source: str, objects: str, seed: int) -> dict:
    import gymnasium as gym

    from dextog_gym.envs.scripted import GRIP_STEPS, HOLD_STEPS, LIFT_STEPS, ScriptedPolicy
    from dextog_gym.envs.table import ENV_OF_TASK

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(ENV_OF_TASK[task], grasp_source=source, objects=objects).unwrapped
    held = total = skipped = 0
    rises = []
    t0 = time.perf_counter()
    try:
        for k, asset in enumerate(env.pool.assets):
            if env.pool.source_of[k] != source:
                continue  # objects served by the fallback are not this source's grasps
            for i in range(len(env.pool.grasps[k])):
                total += 1
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        _, info = env.reset(seed=seed, options={"object_id": asset.id, "grasp_index": i})
                except RuntimeError:
                    skipped += 1
                    continue
                policy = ScriptedPolicy(env)
                for _ in range(GRIP_STEPS + LIFT_STEPS + HOLD_STEPS):
                    _, _, _, _, info = env.step(policy())
                rises.append(info["lift"])
                held += info["lift"] >= env.weights.h_pass
    finally:
        env.close()
    return {"task": task, "grasps": total, "skipped": skipped, "held": held,
            "median_rise_cm": float(np.median(rises) * 100) if rises else float("nan"),
            "seconds": time.perf_counter() - t0}


def main() -> None:
    from dextog_gym.objects.spec import CATEGORIES
    from dextog_gym.tables import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=[t for t, s in CATEGORIES.items() if not s.fixed_base])
    parser.add_argument("--source", default="rule")
    parser.add_argument("--objects", default="all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for task in args.tasks:
        r = measure(task, args.source, args.objects, args.seed)
        placed = r["grasps"] - r["skipped"]
        rows.append([task, r["grasps"], r["skipped"], f"{r['held']}/{placed} = {r['held'] / max(placed, 1):.2f}",
                     f"{r['median_rise_cm']:.1f}", f"{r['seconds']:.0f}"])
        print(rows[-1], flush=True)
    print(format_table(["task", "grasps", "skipped (unplaceable)", "held ≥ 10 cm", "median rise cm", "s"], rows))


if __name__ == "__main__":
    main()
