"""Physics fidelity before and after the fix of issue 16, measured side by side in one run.

    python benchmarks/physics_fidelity.py [--episodes 3] [--steps 100] [--sample 8] [--skip lift controller]

Two physics settings, each in its own process:
- ``before``: no joint armature, a 300 N wrist, the task joint's stop motor alone (the physics up to issue 16);
- ``after``: the shipped constants (``JOINT_ARMATURE``, ``WRIST_MAX_FORCE`` in hand/pybullet_hand.py,
  ``PROJECT_THROUGH_STOP`` and ``REST_STOP_GIVE`` in objects/pybullet_object.py).

Per setting:
1. random actions (seeded) pushing the hand into the object, every env: the worst hand-joint violation in
   radians, the share of steps with a joint more than 0.02 rad past a URDF limit, and the raw task progress θ
   before the env clips it to [0, 1] (inside the stop means within LIMIT_SLACK of [0, 1] in joint units);
2. lift-hold: every shipped rule grasp of the lifted tasks, lifted 14 cm by the scripted probe
   (benchmarks/lift_hold.py), held if the object ends ≥ 10 cm up;
3. the task controller's success on rule grasps of seen objects, ``--sample`` grasps per object drawn
   with seed 0 (the same episodes in both settings), with 95 % Wilson intervals.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

TOLERANCE_RAD = 0.02
SETTINGS = ("before", "after")


def apply_setting(name: str) -> None:
    """Set the physics constants of ``name`` in this process (read when a scene is built or driven)."""
    from dextog_gym.hand import pybullet_hand
    from dextog_gym.objects import pybullet_object

    if name == "before":
        pybullet_hand.JOINT_ARMATURE = 0.0
        pybullet_hand.WRIST_MAX_FORCE = 300.0
        pybullet_object.PROJECT_THROUGH_STOP = False
    elif name != "after":
        raise ValueError(f"unknown setting {name!r}")


def random_pushes(env_id: str, episodes: int, steps: int) -> dict:
    import dextog_gym
    from dextog_gym.hand import model

    lower, upper = (np.asarray(v) for v in model.joint_limits())
    worst, worst_joint, over, total, theta_raw = 0.0, "-", 0, 0, (np.inf, -np.inf)
    env = dextog_gym.make(env_id, disable_env_checker=True)
    rng = np.random.default_rng(0)
    for k in range(episodes):
        try:
            env.reset(seed=k)
        except RuntimeError:
            continue
        scene = env.unwrapped.scene
        for _ in range(steps):
            env.step(rng.uniform(-1, 1, 30).astype(np.float32))
            q = scene.joint_positions()
            past = np.maximum(q - upper, lower - q)
            j = int(np.argmax(past))
            if past[j] > worst:
                worst, worst_joint = float(past[j]), model.JOINT_NAMES[j]
            over += bool(past.max() > TOLERANCE_RAD)
            total += 1
            raw = float(scene.theta())
            theta_raw = (min(theta_raw[0], raw), max(theta_raw[1], raw))
    env.close()
    return {"worst": worst, "joint": worst_joint, "share": over / max(total, 1), "steps": total, "theta": theta_raw}


def controller_success(task: str, sample: int) -> dict:
    from dextog_gym.envs.table import ENV_OF_TASK
    from dextog_gym.policies.evaluate import CONTROLLER, EvalRequest, evaluate

    result = evaluate(EvalRequest(policy=CONTROLLER, grasps="rule", objects="seen", env_id=ENV_OF_TASK[task],
                                  sample_grasps_per_object=sample, workers=1, seed=0, progress=False))
    rows = [r for r in result["episodes"] if not r["skipped"]]
    return {"n": len(rows), "successes": sum(r["success"] for r in rows),
            "lifted": sum(r["lift_success"] for r in rows)}


def measure(setting: str, args: argparse.Namespace) -> dict:
    """Everything for one setting (runs in a fresh process: the constants are module globals)."""
    warnings.simplefilter("ignore")
    apply_setting(setting)
    sys.path.insert(0, str(Path(__file__).parent))
    import dextog_gym
    from dextog_gym.objects.spec import CATEGORIES

    out: dict = {"pushes": {}, "lift": {}, "controller": {}, "seconds": {}}
    t0 = time.perf_counter()
    for env_id in dextog_gym.ENV_IDS:
        out["pushes"][env_id] = random_pushes(env_id, args.episodes, args.steps)
    out["seconds"]["pushes"] = time.perf_counter() - t0
    if "lift" not in args.skip:
        import lift_hold

        t0 = time.perf_counter()
        for task, spec in CATEGORIES.items():
            if not spec.fixed_base:
                out["lift"][task] = lift_hold.measure(task, "rule", "all", 0)
        out["seconds"]["lift"] = time.perf_counter() - t0
    if "controller" not in args.skip:
        t0 = time.perf_counter()
        for task in CATEGORIES:
            out["controller"][task] = controller_success(task, args.sample)
        out["seconds"]["controller"] = time.perf_counter() - t0
    return out


def main() -> None:
    from dextog_gym.policies.tables import wilson_interval
    from dextog_gym.tables import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=3, help="random-action episodes per env")
    parser.add_argument("--steps", type=int, default=100, help="steps per random-action episode")
    parser.add_argument("--sample", type=int, default=8, help="rule grasps per seen object for the controller")
    parser.add_argument("--skip", nargs="*", default=[], choices=["lift", "controller"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"random actions: seed 0, {args.episodes} episodes × {args.steps} steps per env", flush=True)
    with ProcessPoolExecutor(len(SETTINGS), mp_context=get_context("spawn")) as pool:
        runs = dict(zip(SETTINGS, pool.map(measure, SETTINGS, [args] * len(SETTINGS))))
    before, after = runs["before"], runs["after"]

    rows = []
    for env_id in before["pushes"]:
        for name, m in (("before", before["pushes"][env_id]), ("after", after["pushes"][env_id])):
            rows.append([env_id, name, f"{m['worst']:.3f}", m["joint"], f"{100 * m['share']:.1f}%", m["steps"],
                         f"{m['theta'][0]:.2f} .. {m['theta'][1]:.2f}"])
    print("\nRandom actions pushing the hand into the object:")
    print(format_table(["env", "physics", "worst hand-joint violation rad", "joint",
                        f"steps with a joint > {TOLERANCE_RAD} rad over", "steps", "raw θ range"], rows))

    def rate(k: int, n: int) -> str:
        lo, hi = wilson_interval(k, n) or (0.0, 0.0)
        return f"{k}/{n} = {100 * k / max(n, 1):.0f}% [{100 * lo:.0f}–{100 * hi:.0f}]"

    if before["lift"]:
        rows = []
        for task in before["lift"]:
            cells = []
            for run in (before, after):
                r = run["lift"][task]
                cells.append(rate(r["held"], r["grasps"] - r["skipped"]))
            rows.append([task, *cells])
        print("\nLift-hold of every shipped rule grasp (scripted lift of 14 cm, held if ≥ 10 cm up):")
        print(format_table(["task", "before", "after"], rows))
    if before["controller"]:
        rows = []
        for task in before["controller"]:
            b, a = before["controller"][task], after["controller"][task]
            rows.append([task, rate(b["successes"], b["n"]), rate(a["successes"], a["n"]),
                         f"{b['lifted']}/{b['n']}", f"{a['lifted']}/{a['n']}"])
        print(f"\nTask controller, rule grasps of seen objects, {args.sample} per object (seed 0):")
        print(format_table(["task", "success before", "success after", "lifted before", "lifted after"], rows))
    print("\nseconds per setting: " + "; ".join(
        f"{name}: " + ", ".join(f"{k} {v:.0f}" for k, v in run["seconds"].items()) for name, run in runs.items()))


if __name__ == "__main__":
    main()
