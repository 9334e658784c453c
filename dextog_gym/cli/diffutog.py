"""``dextog diffutog``: train the language-conditioned grasp diffusion model, sample from it, run the engine."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from dextog_gym.cli.helptext import add_backend_argument, examples
from dextog_gym.cli.sampling import add_one_object_arguments, sample_one_object
from dextog_gym.cli.vocabulary import (
    add_grasps_per_object,
    add_max_objects,
    add_objects,
    add_verifier,
    add_workers,
    worker_count,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diffutog", **examples(
                           "dextog diffutog sample --object stapler_001 -n 16 --out my.npz",
                           "dextog diffutog generate --objects unseen --grasps-per-object 16 --out unseen_T.npz"),
                       help="DiffuTOG: train, sample, data engine",
                       description="DiffuTOG, the language-conditioned grasp diffusion model of DexTOG "
                                   "(specs §3): `train` a model on grasp files, `sample` grasps for an object and "
                                   "a sentence, `engine` runs the paper's data loop.")
    dsub = p.add_subparsers(dest="diffutog_command", metavar="ACTION", required=True)
    for add in (_add_train, _add_sample, _add_generate, _add_handle, _add_table3, _add_engine):
        add(dsub)


def _add_train(dsub: argparse._SubParsersAction) -> None:
    t = dsub.add_parser("train", **examples(
                            "dextog diffutog train --data runs/diffutog/engine/data/rule.npz --agnostic "
                            "runs/diffutog/engine/data/raw.npz --out runs/diffutog/shipped --iterations 8000 "
                            "--checkpoint-every 500",
                            "dextog diffutog train --data rule.npz --out runs/diffutog/shipped --iterations 20000 "
                            "--resume"),
                        help="train a model on grasp files",
                        description="Train DiffuTOG on task-oriented grasp files (--data) and optional "
                                    "task-agnostic ones (--agnostic, labelled with task-agnostic sentences). Writes "
                                    "TensorBoard logs, state.pt checkpoints and model.npz/.json (EMA weights) into "
                                    "--out; kill it at any time and continue with --resume.")
    t.add_argument("--data", nargs="+", default=None, metavar="GRASPS", help=".npz grasp files or folders of them")
    t.add_argument("--prepared", type=Path, default=None, metavar="FILE",
                   help="train on a prepared-data file (from --save-prepared) instead of --data/--agnostic: "
                        "no sentence encoder or object generation needed, e.g. on a rented GPU")
    t.add_argument("--save-prepared", type=Path, default=None, metavar="FILE",
                   help="write the training data built from --data/--agnostic to FILE (with --iterations 0: only that)")
    t.add_argument("--agnostic", nargs="*", default=[], metavar="GRASPS", help="task-agnostic grasp files or folders")
    t.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, TensorBoard logs, model.npz)")
    t.add_argument("--iterations", type=int, default=50_000, help='training iterations (batches; specs §3.6: 30–50k)')
    t.add_argument("--batch", type=int, default=64, help='grasps per batch (8 objects per batch)')
    t.add_argument("--lr", type=float, default=5e-4, help='AdamW learning rate')
    t.add_argument("--lambda-fk", type=float, default=1.0, help="weight of the FK point loss (λ_R)")
    t.add_argument("--hidden", type=int, default=128, help="h (DexTOG: 256)")
    t.add_argument("--hand-points", type=int, default=256, help='hand surface points fed to the point encoder')
    t.add_argument("--no-hand-encoder", action="store_true", help="ablation: no hand cloud in the point encoder")
    t.add_argument("--init-from", type=Path, default=None, help="start from this model's weights (fine-tuning)")
    t.add_argument("--seed", type=int, default=0, help='seeds initialisation, batches and noise')
    t.add_argument("--checkpoint-every", type=int, default=1000, help='iterations between checkpoints')
    t.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--max-minutes", type=float, default=None,
                   help="checkpoint and stop after this many minutes; --resume continues (here or elsewhere)")
    t.add_argument("--no-progress", action="store_true", help='no progress bar (logs, CI)')
    t.set_defaults(func=run_train)


def _add_sample(dsub: argparse._SubParsersAction) -> None:
    s = dsub.add_parser("sample", **examples(
                            "dextog diffutog sample --object stapler_001 -n 16 --text \"press down the stapler arm "
                            "to bind my notes\" --out my.npz",
                            "dextog diffutog sample --object bottle_007 -n 4 --no-collision-handling"),
                        help="sample grasps for one object",
                        description="Sample grasps with a DiffuTOG model for one object and a task sentence; "
                                    "test-time collision handling is on unless --no-collision-handling.")
    add_one_object_arguments(s, default_n=16)
    s.add_argument("--no-collision-handling", action="store_true", help='skip the test-time collision handling')
    s.add_argument("--no-contact-keeping", action="store_true",
                   help="collision handling only pushes the hand out (pads may leave the surface)")
    s.set_defaults(func=run_sample)


def _add_generate(dsub: argparse._SubParsersAction) -> None:
    g = dsub.add_parser("generate", **examples(
                            "dextog diffutog generate --objects unseen --grasps-per-object 16 --out "
                            "results/diffutog/unseen_T.npz --raw-out results/diffutog/unseen_raw.npz",
                            "dextog diffutog generate --objects seen --grasps-per-object 16 --no-hand-encoder --out "
                            "results/diffutog/seen_no_hand_T.npz"),
                        help="grasp sets for many objects, timed",
                        description="Sample --grasps-per-object grasps for every chosen object with a DiffuTOG "
                                    "model (each object's canonical task sentence unless --text). With collision "
                                    "handling (default) --raw-out also saves the same samples before the handling.")
    add_objects(g, "seen", old_split=True)
    g.add_argument("--tasks", default=None, help="comma-separated tasks (default: all five)")
    add_max_objects(g)
    add_grasps_per_object(g, 16, makes=True, old=("--per-object",))
    g.add_argument("--model", type=Path, default=None, help="model file (default: the shipped one)")
    g.add_argument("--no-hand-encoder", action="store_true", help="use the shipped ablation model")
    g.add_argument("--no-collision-handling", action="store_true", help='skip the test-time collision handling')
    g.add_argument("--no-contact-keeping", action="store_true",
                   help="collision handling only pushes the hand out (Table III's handling without the contact term)")
    g.add_argument("--text", default=None, help="one sentence for every object (default: each task's canonical one)")
    g.add_argument("--seed", type=int, default=0, help='sampling seed')
    g.add_argument("--out", type=Path, required=True, help="grasp file (.npz) to write")
    g.add_argument("--raw-out", type=Path, default=None, help="also this .npz file: the samples before collision "
                                                              "handling")
    g.add_argument("--per-object-dir", type=Path, default=None, help="also one file per object in this folder")
    g.add_argument("--no-progress", action="store_true", help='no progress bar (logs, CI)')
    g.set_defaults(func=run_generate)


def _add_handle(dsub: argparse._SubParsersAction) -> None:
    h = dsub.add_parser("handle", **examples(
                            "dextog diffutog handle results/diffutog/seen_raw.npz --no-contact-keeping --out "
                            "results/diffutog/seen_T_push.npz"),
                        help="collision handling alone on saved raw samples",
                        description="Run the test-time collision handling on raw samples saved with generate "
                                    "--raw-out, so Table III rows differ only by the handling.")
    h.add_argument("raw", type=Path, help="raw samples (.npz from generate --raw-out)")
    h.add_argument("--no-contact-keeping", action="store_true", help="push out only (no contact term)")
    h.add_argument("--out", type=Path, required=True, help="grasp file (.npz) to write")
    h.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    h.set_defaults(func=run_handle)


def _add_table3(dsub: argparse._SubParsersAction) -> None:
    q = dsub.add_parser("table3", **examples(
                            "dextog diffutog table3 --row \"DiffuTOG w. Emb_H + T\" results/diffutog/seen_T.npz "
                            "results/diffutog/unseen_T.npz --out results/diffutog/table_iii.md",
                            "dextog diffutog table3 --row GraspTTA* assets/grasps/grasptta assets/grasps/grasptta "
                            "--paper i"),
                        help="Table I/III-shaped quality table of grasp sets",
                        description="Q1 (0 when pen >= 0.5 cm), penetration (cm) and collision-free rate per row, "
                                    "on seen and unseen objects, beside the paper's Table III.")
    q.add_argument("--row", nargs=3, action="append", required=True, metavar=("NAME", "SEEN_NPZ", "UNSEEN_NPZ"),
                   help="a table row: its name and the grasp sets of seen and unseen objects, each a .npz or a folder "
                        "of per-object .npz (only the split's objects are counted; repeat for more rows)")
    add_grasps_per_object(q, 200, makes=False, old=("--max-per-object",))
    q.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    q.add_argument("--paper", choices=["i", "iii"], default="iii",
                   help="which of DexTOG's tables to print beneath: I (against GraspTTA and UniDexGrasp) or III "
                        "(DiffuTOG's ablation; default)")
    q.set_defaults(func=run_table3)


def _add_engine(dsub: argparse._SubParsersAction) -> None:
    e = dsub.add_parser("engine", **examples(
                            "dextog diffutog engine --out runs/diffutog/engine_small --max-objects 2 "
                            "--train-iterations 2000 --bootstrap-rounds 2 --workers 1",
                            "dextog diffutog engine --out runs/diffutog/engine"),
                        help="the DexTOG data engine loop, resumable",
                        description="raw -> rule -> train -> bootstrap x K (generate, keep pen < 0.5 cm + lift "
                                    "test, retrain) -> RL verification with the reference policies -> fine-tune. "
                                    "Each stage is recorded in OUT/engine.json; rerun the same command to resume.")
    e.add_argument("--out", type=Path, required=True, help="engine folder (engine.json, data, models; resumable)")
    add_objects(e, "seen", note="; the engine runs on one split: seen, unseen or all", old_split=True)
    add_max_objects(e)
    e.add_argument("--train-iterations", type=int, default=50_000, help='iterations of the first training stage')
    e.add_argument("--agnostic-per-object", type=int, default=128,
                   help="raw grasps per object in the data, labelled with task-agnostic sentences")
    e.add_argument("--bootstrap-rounds", type=int, default=2, help='generate-filter-retrain rounds (K)')
    e.add_argument("--bootstrap-per-object", type=int, default=32, help="grasps generated per object and round")
    e.add_argument("--bootstrap-iterations", type=int, default=2_000, help="fine-tuning iterations per round")
    e.add_argument("--finetune-iterations", type=int, default=2_000,
                   help='iterations of the final fine-tune on verified grasps')
    add_workers(e, "RL verification rollouts")
    add_backend_argument(e, "RL verification")
    add_verifier(e, choices=("reference", "residual", "controller"), old=("--verify-with",),
                 help="who verifies bootstrapped grasps: each task's reference verifier, its residual PPO bundle "
                      "(<task>_rule_residual) or the task controller")
    e.add_argument("--seed", type=int, default=0, help='seeds every stage')
    e.add_argument("--no-progress", action="store_true", help='no progress bar (logs, CI)')
    e.set_defaults(func=run_engine)


def run_train(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.diffutog.dataset import (
        TrainingData,
        build_training_data,
        expand_grasp_paths,
    )
    from dextog_gym.grasp_sources.diffutog.network import ModelConfig
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig, train

    if (args.data is None) == (args.prepared is None):
        raise SystemExit("dextog diffutog train: give either --data (grasp files) or --prepared (a prepared-data file)")
    if args.prepared is not None:
        data = TrainingData.load(args.prepared)
    else:
        data = build_training_data(expand_grasp_paths(args.data), expand_grasp_paths(args.agnostic))
    if args.save_prepared is not None:
        data.save(args.save_prepared)
        print(f"prepared training data: {args.save_prepared}")
        if args.iterations == 0:
            return 0
    print(f"training data: {len(data)} grasps on {len(data.object_ids)} objects, groups "
          f"{json.dumps(data.summary()['per_group'])}")
    config = TrainConfig(iterations=args.iterations, batch=args.batch, lr=args.lr, lambda_fk=args.lambda_fk,
                         seed=args.seed, checkpoint_every=args.checkpoint_every, device=args.device)
    model_config = ModelConfig(hidden=args.hidden, hand_points=args.hand_points,
                               hand_encoder=not args.no_hand_encoder)
    result = train(data, args.out, config, model_config, resume=args.resume, init_from=args.init_from,
                   progress=not args.no_progress, command=["dextog", *map(str, args.argv)],
                   max_seconds=None if args.max_minutes is None else 60 * args.max_minutes)
    val = f", val loss {result.val_loss:.4f}" if result.val_loss is not None else ""
    print(f"{result.steps} iterations in {result.seconds:.0f} s (this call); loss {result.final_loss:.4f}{val}")
    if result.steps < args.iterations:
        print(f"stopped at {result.steps} of {args.iterations} iterations (--max-minutes); add --resume to continue")
    print(f"model: {args.out / 'model.npz'}   TensorBoard: tensorboard --logdir {args.out / 'tb'}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource

    source = DiffuTogSource(model=args.model, collision_handling=not args.no_collision_handling,
                            contact_keeping=not args.no_contact_keeping)

    def describe(n: int, object_id: str, stats: dict) -> str:
        return (f"{n} grasps for {object_id} from {shlex.quote(stats['text'])}\n"
                f"sampling {stats['ms_per_grasp_sample']:.1f} ms/grasp, collision handling "
                f"{stats['ms_per_grasp_collision']:.1f} ms/grasp; penetration before/after: "
                f"{stats['pen_before_cm']:.2f} / {stats['pen_after_cm']:.2f} cm (mean)")

    return sample_one_object(source, args, describe)


def run_engine(args: argparse.Namespace) -> int:
    from dextog_gym.workflows.engine import Engine, EngineConfig

    config = EngineConfig(split=engine_split(args.objects), max_objects=args.max_objects, train_iterations=args.train_iterations,
                          agnostic_per_object=args.agnostic_per_object,
                          verify_with=args.verifier,
                          bootstrap_rounds=args.bootstrap_rounds, bootstrap_per_object=args.bootstrap_per_object,
                          bootstrap_iterations=args.bootstrap_iterations, finetune_iterations=args.finetune_iterations,
                          seed=args.seed, workers=worker_count(args.workers), backend=args.backend,
                          progress=not args.no_progress)
    state = Engine(args.out, config).run(["dextog", *map(str, args.argv)])
    print(format_engine(state))
    return 0


def engine_split(objects: str) -> str:
    """The engine's state records one split (its data and resume key); --objects says which."""
    from dextog_gym.objects.spec import SPLIT_CHOICES

    if objects not in SPLIT_CHOICES:
        raise ValueError(f"dextog diffutog engine runs on one split: --objects seen, unseen or all, not {objects!r}")
    return objects


def format_engine(state: dict) -> str:
    """The per-stage table, with the paper's §V-D3 bootstrap figures."""
    lines = ["| stage | grasps | valid | mean joint variance | mean joint range | seconds |", "|---|---|---|---|---|---|"]
    for name, st in state["stages"].items():
        if name.startswith("bootstrap"):
            rules = f" ({st['rule_pass']} pass the rules)" if "rule_pass" in st else ""
            lines.append(f"| {name} | {st['generated']} generated{rules} | {st['valid']} | {st['mean_variance']:.4f} | "
                         f"{st['mean_range']:.3f} | {st['seconds']} |")
        elif name == "verify":
            lines.append(f"| verify | {st['evaluated']} rolled out | {st['verified']} succeeded | | | {st['seconds']} |")
        elif name == "data":
            lines.append(f"| data | {st['raw']} raw, {st['rule']} rule + {st['relaxed']} relaxed | | | | {st['seconds']} |")
        else:
            lines.append(f"| {name} | {st['grasps']} trained on, {st['steps']} it | | | | {st['seconds']} |")
    if "final_model" in state:
        lines.append(f"\nfinal model: {state['final_model']}.npz")
    return "\n".join(lines)


def run_generate(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.diffutog.generate import (
        generate_sets,
        save_per_object,
    )
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.selection import select_objects

    ids = select_objects(args.objects, args.max_objects)
    if args.tasks:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
        ids = [i for i in ids if get_object(i).category in tasks]
    final, raw, timing = generate_sets(ids, args.grasps_per_object, args.model, not args.no_hand_encoder,
                                       not args.no_collision_handling, args.seed, args.text, not args.no_progress,
                                       contact_keeping=not args.no_contact_keeping)
    final.save(args.out)
    if raw is not None and args.raw_out:
        raw.save(args.raw_out)
    if args.per_object_dir:
        save_per_object(final, args.per_object_dir)
    print(f"{len(final)} grasps on {len(ids)} objects -> {args.out}")
    print(f"sampling {timing['ms_per_grasp_sample']:.1f} ms/grasp, collision handling "
          f"{timing['ms_per_grasp_collision']:.1f} ms/grasp ({timing['device']})")
    return 0


def run_handle(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.diffutog.generate import handle_set
    from dextog_gym.grasps import Grasps

    raw = Grasps.load(args.raw)
    out = handle_set(raw, contact_keeping=not args.no_contact_keeping, progress=not args.no_progress)
    out.save(args.out)
    pen = out.extras["pen_after_cm"]
    print(f"{len(out)} grasps on {len(out.object_ids)} objects -> {args.out}")
    print(f"collision handling {out.provenance['ms_per_grasp_collision']:.1f} ms/grasp; handling's own penetration "
          f"after: mean {pen.mean():.2f} cm; pads held on the surface: {out.extras['pads_kept'].mean():.2f} per grasp")
    return 0


def run_table3(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.diffutog.quality import format_table3, table3_rows

    rows = table3_rows([(name, Path(seen), Path(unseen)) for name, seen, unseen in args.row], args.grasps_per_object)
    text = format_table3(rows, args.paper)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0
