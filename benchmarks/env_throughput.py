"""Env throughput per core, side by side in one run: our env vs. raw ``stepSimulation`` on the same
scene (the overhead of the Python layer), vs. gymnasium-robotics ``HandManipulateBlock`` (MuJoCo);
plus reset cost.

    python benchmarks/env_throughput.py [--steps 600] [--env DexTOG/Stapler-v1]

Single process, one core. Our env is stepped with zero actions from placed rule grasps (the hand
holds the object: contact every step). The raw figure times the same number of ``stepSimulation``
calls on the same client right after, from the same state.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np


def ours(env_id: str, steps: int, seed: int) -> dict:
    import gymnasium as gym

    from dextog_gym.physics import pybullet as p

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
    u = env.unwrapped
    zero = np.zeros(30, dtype=np.float32)
    env_s = raw_s = reset_s = 0.0
    episodes = max(1, steps // 100)
    contacts = 0
    for ep in range(episodes):
        t0 = time.perf_counter()
        env.reset(seed=seed + ep)
        reset_s += time.perf_counter() - t0
        n = steps // episodes
        t0 = time.perf_counter()
        for _ in range(n):
            env.step(zero)
        env_s += time.perf_counter() - t0
        contacts += u.scene.hand_object_contacts() > 0
        # The same number of physics steps on the same scene, nothing else.
        env.reset(seed=seed + ep)
        client = u.scene.client
        t0 = time.perf_counter()
        for _ in range(n * u.frame_skip):
            p.stepSimulation(physicsClientId=client)
        raw_s += time.perf_counter() - t0
    env.close()
    total = episodes * (steps // episodes)
    return {"env_steps_per_s": total / env_s, "raw_steps_per_s": total / raw_s, "reset_ms": reset_s / episodes * 1e3,
            "frame_skip": u.frame_skip, "episodes_in_contact": f"{contacts}/{episodes}",
            "physics_us": raw_s / (total * u.frame_skip) * 1e6}


def mujoco_block(steps: int, seed: int) -> dict:
    """HandManipulateBlock-v1: through its env if it runs, else its MJCF stepped with MuJoCo directly.

    gymnasium-robotics 1.4.2 fails to construct the env with mujoco 4.x (an assertion on joint
    types in ``robot_get_obs``); then we time the same scene and control rate (20 × 2 ms per step,
    random controls) without its Python observation code, which flatters the peer.
    """
    import gymnasium as gym
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    try:
        env = gym.make("HandManipulateBlock-v1")
    except AssertionError:
        env = None
    if env is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        acts = [env.action_space.sample() for _ in range(steps)]
        t0 = time.perf_counter()
        for a in acts:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        elapsed = time.perf_counter() - t0
        u = env.unwrapped
        dt = u.model.opt.timestep * u.frame_skip
        env.close()
        return {"env_steps_per_s": steps / elapsed, "control_dt": dt, "how": "gymnasium-robotics env"}
    from pathlib import Path

    import mujoco

    xml = Path(gymnasium_robotics.__file__).parent / "envs/assets/hand/manipulate_block.xml"
    model = mujoco.MjModel.from_xml_path(str(xml))
    data = mujoco.MjData(model)
    rng = np.random.default_rng(seed)
    lo, hi = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    ctrls = rng.uniform(lo, hi, size=(steps, model.nu))
    substeps = 20  # the env's n_substeps
    t0 = time.perf_counter()
    for c in ctrls:
        data.ctrl[:] = c
        for _ in range(substeps):
            mujoco.mj_step(model, data)
    elapsed = time.perf_counter() - t0
    return {"env_steps_per_s": steps / elapsed, "control_dt": model.opt.timestep * substeps,
            "how": "its MJCF, mj_step only"}


def main() -> None:
    from dextog_gym.physics import TIMESTEP
    from dextog_gym.tables import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="DexTOG/Stapler-v1")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    a = ours(args.env, args.steps, args.seed)
    b = mujoco_block(args.steps, args.seed)
    ours_dt = a["frame_skip"] * TIMESTEP
    overhead = a["raw_steps_per_s"] / a["env_steps_per_s"] - 1.0
    rows = [
        [args.env, f"{a['env_steps_per_s']:.0f}", f"{ours_dt * 1e3:.1f}", f"{a['env_steps_per_s'] * ours_dt:.2f}",
         f"{a['reset_ms']:.0f}"],
        [f"raw stepSimulation ×{a['frame_skip']}, same scene", f"{a['raw_steps_per_s']:.0f}", f"{ours_dt * 1e3:.1f}",
         f"{a['raw_steps_per_s'] * ours_dt:.2f}", "-"],
        [f"HandManipulateBlock-v1 (MuJoCo; {b['how']})", f"{b['env_steps_per_s']:.0f}", f"{b['control_dt'] * 1e3:.1f}",
         f"{b['env_steps_per_s'] * b['control_dt']:.2f}", "-"],
    ]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, one process")
    print(format_table(["env", "env steps/s (1 core)", "control dt ms", "simulated s per s", "reset ms"], rows))
    print(f"our overhead over raw stepSimulation: {overhead * 100:.1f}% "
          f"({a['physics_us']:.0f} µs per physics step; contact held in {a['episodes_in_contact']} episodes)")
    print(f"ours / HandManipulateBlock env steps per second: {a['env_steps_per_s'] / b['env_steps_per_s']:.2f}; "
          f"simulated time per second: "
          f"{a['env_steps_per_s'] * ours_dt / (b['env_steps_per_s'] * b['control_dt']):.2f}")


if __name__ == "__main__":
    main()
