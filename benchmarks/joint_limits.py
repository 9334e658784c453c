"""Do hand joints stay inside their URDF limits, and task joints inside their stops, under contact?

    python benchmarks/joint_limits.py [--episodes 3] [--steps 100]

Random actions (seeded) push the hand into the object for every env. Per env: the worst hand-joint
violation in radians, the share of steps with any joint more than 0.02 rad past a limit, and the raw
task progress θ before the env clips it to [0, 1] (a trigger squeezed past its end stop shows as θ > 1).
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import numpy as np

TOLERANCE_RAD = 0.02


def measure(env_id: str, episodes: int, steps: int) -> dict:
    import dextog_gym
    from dextog_gym.hand import model

    lower, upper = (np.asarray(v) for v in model.joint_limits())
    worst, worst_joint, over, total, theta_raw = 0.0, "-", 0, 0, (np.inf, -np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
    return {"worst": worst, "joint": worst_joint, "share": over / max(total, 1), "steps": total,
            "theta": theta_raw}


def main() -> None:
    import dextog_gym
    from dextog_gym.tables import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; random actions, "
          f"seed 0, {args.episodes} episodes × {args.steps} steps per env")
    rows = []
    for env_id in dextog_gym.ENV_IDS:
        m = measure(env_id, args.episodes, args.steps)
        rows.append([env_id, f"{m['worst']:.3f}", m["joint"], f"{100 * m['share']:.1f}%", m["steps"],
                     f"{m['theta'][0]:.2f} .. {m['theta'][1]:.2f}"])
    headers = ["env", "worst hand-joint violation rad", "joint", f"steps with a joint > {TOLERANCE_RAD} rad over",
               "steps", "raw θ range"]
    print(format_table(headers, rows))


if __name__ == "__main__":
    main()
