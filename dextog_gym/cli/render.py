"""``dextog render``: each task for one episode from shipped grasps, a GIF per task, a table of returns.

The actions come from the scripted policy (``envs/scripted.py``: lift, then close the task
fingers or turn the cap): it needs no trained network or policy bundle, so a newcomer sees the hand,
the objects and every reward term at work in seconds. The reference verifiers (controllers and
residual PPO) are what ``dextog evaluate`` and ``dextog benchmark`` run.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from dextog_gym.cli.helptext import examples
from dextog_gym.cli.vocabulary import add_grasps, warn_deprecated
from dextog_gym.envs.table import ENV_IDS, MAX_EPISODE_STEPS
from dextog_gym.tables import format_table

TERMS = ("reward_task", "reward_lift", "reward_completion", "penalty_drop")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("render", **examples(
                                "dextog render --out demo_out/scripted --no-video",
                                "dextog render --envs DexTOG/Stapler-v1 DexTOG/PenPress-v1 --seed 3 --out demo_out/gifs"),
                            help="run every task for one episode, write a GIF per task, print the returns")
    _add_arguments(parser)
    parser.set_defaults(func=cmd_render)
    old = sub.add_parser("demo")  # the old name, one more release; no help= keeps it out of the command list
    _add_arguments(old)
    old.set_defaults(func=_cmd_demo)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for the GIF files (default: demo_out)")
    parser.add_argument("--envs", nargs="+", default=list(ENV_IDS), metavar="ENV_ID",
                        help=f"environment ids (default: all five: {', '.join(ENV_IDS)})")
    parser.add_argument("--seed", type=int, default=0, help="reset seed: picks the object, grasp and yaw")
    parser.add_argument("--steps", type=int, default=MAX_EPISODE_STEPS, help="episode length (default: the horizon)")
    add_grasps(parser, "rule", old=("--grasp-source",))
    parser.add_argument("--frame-every", type=int, default=3, help="keep every n-th step as a video frame")
    parser.add_argument("--no-video", action="store_true", help="skip rendering (faster)")


def run_episode(env_id: str, seed: int, steps: int, grasp_source: str, frame_every: int, video: bool):
    """One scripted episode: (row of the table, frames)."""
    import gymnasium as gym

    from dextog_gym.envs.scripted import ScriptedPolicy
    from dextog_gym.envs.table import env_spec

    env_spec(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # objects without rule grasps fall back to rule_relaxed (noted in the table)
        env = gym.make(env_id, grasp_source=grasp_source, render_mode="rgb_array" if video else None)
    try:
        t0 = time.perf_counter()
        _, info = env.reset(seed=seed)
        policy = ScriptedPolicy(env)
        frames = [env.render()] if video else []
        returns = dict.fromkeys(TERMS, 0.0)
        theta0, best_theta, best_lift = info["theta"], info["theta"], 0.0
        for t in range(steps):
            _, _, terminated, truncated, info = env.step(policy())
            for k in TERMS:
                returns[k] += info[k]
            best_theta, best_lift = max(best_theta, info["theta"]), max(best_lift, info["lift"])
            if video and (t + 1) % frame_every == 0:
                frames.append(env.render())
            if terminated or truncated:
                break
        seconds = time.perf_counter() - t0
        row = [env_id.split("/")[1], f"{info['object_id']}#{info['grasp_index']}", info["grasp_source"],
               *(f"{returns[k]:.1f}" for k in TERMS), f"{sum(returns.values()):.1f}",
               f"{theta0:.2f}->{best_theta:.2f}", f"{best_lift * 100:.1f}",
               "yes" if info["is_success"] else "no", f"{seconds:.1f}"]
        return row, frames
    finally:
        env.close()


def _cmd_demo(args: argparse.Namespace) -> int:
    warn_deprecated("dextog demo", "dextog render")
    return cmd_render(args)


def cmd_render(args: argparse.Namespace) -> int:
    from dextog_gym.envs.video import save_gif

    if args.steps < 1 or args.frame_every < 1:
        raise ValueError("--steps and --frame-every must be at least 1")
    rows = []
    print(f"Scripted episodes (seed {args.seed}, {args.steps} steps, grasp source {args.grasps!r}):")
    for env_id in args.envs:
        row, frames = run_episode(env_id, args.seed, args.steps, args.grasps, args.frame_every,
                                  not args.no_video)
        rows.append(row)
        if frames:
            path = save_gif(frames, args.out / f"{env_id.split('/')[1]}.gif")
            print(f"  wrote {path} ({len(frames)} frames, {path.stat().st_size // 1024} KiB)")
    print(format_table(["env", "object#grasp", "source", *TERMS, "return", "θ start->max", "max lift cm",
                        "success", "s"], rows))
    print("success: the completion condition (θ > 0.6 and lift > 10 cm; bottle: θ > 0.6) held at some step.")
    return 0
