"""``dextog train``: PPO for one task (SB3), TensorBoard logs, checkpoints, ``--resume``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from dextog_gym.cli.helptext import examples
from dextog_gym.cli.vocabulary import add_grasps, add_objects


def register(sub: argparse._SubParsersAction) -> None:
    from dextog_gym.envs.table import ENV_IDS

    p = sub.add_parser("train", **examples(
                           "dextog train --env DexTOG/Stapler-v1 --grasps rule --timesteps 30000 --n-envs 2 "
                           "--seed 0 --out runs/ref/Stapler_rule_s0",
                           "dextog train --env DexTOG/Stapler-v1 --out runs/ref/Stapler_rule_s0 --resume"),
                       help="train a PPO policy for one task",
                       description="Train a PPO policy (stable-baselines3) on one DexTOG env, starting from the "
                                   "grasps of a grasp source. Hyperparameters come from policies/hyperparams/ppo.yml "
                                   "(keyed by env id). Kill it at any time and continue with --resume.")
    p.add_argument("--env", required=True, choices=ENV_IDS, metavar="ENV_ID", help=f"one of {', '.join(ENV_IDS)}")
    add_grasps(p, "rule", old=("--grasp-source",))
    add_objects(p, "seen", note="; the env's task share of them")
    p.add_argument("--timesteps", type=int, default=None, help="total env steps (default: the yml's, 2M)")
    p.add_argument("--n-envs", type=int, default=2, help="parallel env processes (SubprocVecEnv); 1 = in-process")
    p.add_argument("--seed", type=int, default=0, help="seeds PPO, the envs and the grasp draws")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<Env>_<grasps>_s<seed>)")
    p.add_argument("--checkpoint-every", type=int, default=50_000, help="env steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--hyperparams", type=Path, default=None, help="another ppo.yml")
    p.add_argument("--init", default=None, metavar="POLICY",
                   help="start from a policy bundle (a reference name such as stapler_rule_residual, or a folder) or a "
                        "checkpoint .zip of one of our runs; its actor and normalisation are copied")
    p.add_argument("--base", default=None, choices=("controller", "none"),
                   help="controller: learn a residual on the task controller (the reference verifiers); none: the "
                        "paper's protocol, the policy acts alone (default: the yml's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dextog_gym.policies.config import HYPERPARAMS_PATH
    from dextog_gym.policies.train import TrainRequest, train

    name = args.env.split("/")[1].rsplit("-v", 1)[0]
    source_tag = Path(args.grasps).stem if args.grasps.endswith(".npz") else Path(args.grasps).name
    out = args.out or Path("runs") / f"{name}_{source_tag}_s{args.seed}"
    req = TrainRequest(env_id=args.env, out=out, grasp_source=args.grasps, objects=args.objects,
                       timesteps=args.timesteps, n_envs=args.n_envs, seed=args.seed, base=args.base, init=args.init,
                       checkpoint_every=args.checkpoint_every, resume=args.resume,
                       hyperparams=args.hyperparams or HYPERPARAMS_PATH, progress=not args.no_progress,
                       command="dextog " + shlex.join(sys.argv[1:]) if sys.argv[0].endswith("dextog") else
                       "dextog train " + shlex.join(_argv_of(args)))
    summary = train(req)
    last = summary["sessions"][-1]
    print(f"{args.env}: {summary['trained_timesteps']} steps in {out} "
          f"({last['env_steps_per_s']} env steps/s in this call; rollouts {last['rollout_share']:.0%}, "
          f"learner {last['learner_share']:.0%} of the time)")
    print(f"policy: {out / 'policy'}    TensorBoard: tensorboard --logdir {out / 'tb'}")
    return 0


def _argv_of(args: argparse.Namespace) -> list[str]:
    out = ["--env", args.env, "--grasps", args.grasps, "--objects", args.objects,
           "--n-envs", str(args.n_envs), "--seed", str(args.seed)]
    if args.timesteps is not None:
        out += ["--timesteps", str(args.timesteps)]
    if args.base is not None:
        out += ["--base", args.base]
    if args.init is not None:
        out += ["--init", args.init]
    if args.resume:
        out.append("--resume")
    return out
