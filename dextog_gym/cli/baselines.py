"""``dextog baselines``: the papers' comparison methods (GraspCVAE, GraspTTA*, UniDexGrasp*): data and training."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dextog_gym.cli.helptext import examples

KIND_HELP = ("cvae: GraspCVAE (the `cvae` source, and GraspTTA*'s generator); contactnet: GraspTTA's contact-map "
             "network (the test-time step of `grasptta` and `unidexgrasp`); unidexgrasp: IPDF rotation + flow")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baselines", **examples(
                           "dextog baselines data --out runs/baselines/data",
                           "dextog baselines train cvae --prepared runs/baselines/data/prepared_train.npz "
                           "--out runs/baselines/cvae --iterations 10000",
                           "dextog grasps generate --grasps grasptta --objects unseen --grasps-per-object 20 --out my_grasps"),
                       help="GraspCVAE, GraspTTA*, UniDexGrasp*: training data and models",
                       description="The papers' comparison methods, trained on DiffuTOG's data and conditioned on "
                                   "the same sentence embeddings. `data` rebuilds that data from the shipped grasp "
                                   "sets; `train` trains one model. Sample them as grasp sources `cvae`, `grasptta`, "
                                   "`unidexgrasp` (dextog grasps generate, dextog evaluate).")
    bsub = p.add_subparsers(dest="baselines_command", metavar="ACTION", required=True)

    d = bsub.add_parser("data", **examples("dextog baselines data --out runs/baselines/data"),
                        help="DiffuTOG's training data (rule + raw stages, seen objects) as a prepared file",
                        description="Writes rule.npz and raw.npz (the data engine's first two stages over the seen "
                                    "objects: rule grasps topped up to 16 per object, 128 raw grasps per object, "
                                    "seed 0) and prepared_train.npz (grasp vectors, object clouds, sentence "
                                    "embeddings) into --out: the data the shipped DiffuTOG model was trained on.")
    d.add_argument("--out", type=Path, required=True, help="folder for rule.npz, raw.npz, prepared_train.npz")
    d.add_argument("--seed", type=int, default=0, help="seed of the raw-grasp draw (the shipped models: 0)")
    d.set_defaults(func=run_data)

    t = bsub.add_parser("train", **examples(
                            "dextog baselines train cvae --prepared runs/baselines/data/prepared_train.npz "
                            "--out runs/baselines/cvae --iterations 10000",
                            "dextog baselines train unidexgrasp --prepared runs/baselines/data/prepared_train.npz "
                            "--out runs/baselines/unidexgrasp --iterations 6000 --resume"),
                        help="train one baseline model",
                        description="Train a baseline model on a prepared-data file. Writes TensorBoard logs, "
                                    "state.pt checkpoints and model.npz/.json (EMA weights) into --out; kill it at "
                                    "any time and continue with --resume. " + KIND_HELP)
    t.add_argument("kind", choices=["cvae", "contactnet", "unidexgrasp"], help=KIND_HELP)
    t.add_argument("--prepared", type=Path, required=True, metavar="FILE", help="prepared training data (baselines data)")
    t.add_argument("--out", type=Path, required=True, help="run folder")
    t.add_argument("--iterations", type=int, default=10_000, help="training iterations (batches)")
    t.add_argument("--batch", type=int, default=64, help="grasps per batch (8 objects per batch)")
    t.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate")
    t.add_argument("--flow", choices=["zuko", "coupling"], default="zuko",
                   help="unidexgrasp's flow: zuko's neural spline flow or our affine coupling flow")
    t.add_argument("--seed", type=int, default=0, help="seeds initialisation, batches and noise")
    t.add_argument("--checkpoint-every", type=int, default=500, help="iterations between checkpoints")
    t.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--max-minutes", type=float, default=None,
                   help="checkpoint and stop after this many minutes; --resume continues")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    t.set_defaults(func=run_train)


def run_data(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.diffutog.dataset import build_training_data
    from dextog_gym.grasp_sources.diffutog.engine_data import write_stage_data

    summary = write_stage_data(args.out, split="seen", seed=args.seed, agnostic_per_object=128)
    data = build_training_data([args.out / "rule.npz"], [args.out / "raw.npz"])
    data.save(args.out / "prepared_train.npz")
    print(f"{len(summary['objects'])} seen objects: {summary['rule']} rule grasps, {summary['relaxed']} relaxed, "
          f"{summary['raw']} raw")
    print(f"prepared: {args.out / 'prepared_train.npz'} ({len(data)} grasps, groups {json.dumps(data.summary()['per_group'])})")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.baselines.config import BaselineConfig
    from dextog_gym.grasp_sources.baselines.train import train_baseline
    from dextog_gym.grasp_sources.diffutog.dataset import TrainingData
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig

    data = TrainingData.load(args.prepared)
    config = TrainConfig(iterations=args.iterations, batch=args.batch, lr=args.lr, seed=args.seed,
                         checkpoint_every=args.checkpoint_every, device=args.device)
    result = train_baseline(data, args.out, config, BaselineConfig(kind=args.kind, flow=args.flow), resume=args.resume,
                            progress=not args.no_progress, command=["dextog", *map(str, args.argv)],
                            max_seconds=None if args.max_minutes is None else 60 * args.max_minutes)
    val = f", val loss {result.val_loss:.4f}" if result.val_loss is not None else ""
    print(f"{result.steps} iterations in {result.seconds:.0f} s (this call); loss {result.final_loss:.4f}{val}")
    print(f"model: {args.out / 'model.npz'}   TensorBoard: tensorboard --logdir {args.out / 'tb'}")
    return 0
