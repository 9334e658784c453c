"""``dextog evaluate``: roll a policy out from every grasp of a grasp set; per-object and per-task success."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import add_backend_argument, examples
from dextog_gym.objects.spec import SPLIT_CHOICES


def register(sub: argparse._SubParsersAction) -> None:
    from dextog_gym.envs.table import ENV_IDS

    p = sub.add_parser("evaluate", **examples(
                           "dextog evaluate --policy stapler_rule_residual --grasps rule --objects unseen "
                           "--max-grasps-per-object 12 --workers 2",
                           "dextog evaluate --policy stapler_rule_residual --grasps my_grasps.npz --objects all --format csv "
                           "--out eval.json",
                           "dextog evaluate --policy controller --env DexTOG/BottleCap-v1 --grasps isf --objects seen "
                           "--sample-grasps-per-object 8",
                           "dextog evaluate --policy reference --env DexTOG/PenPress-v1 --grasps open_hand --objects seen "
                           "--sample-grasps-per-object 8"),
                       help="success of a policy from every grasp of a grasp set",
                       description="Deterministic rollouts of a trained policy from every grasp of a grasp set "
                                   "(reset options object_id/grasp_index), in parallel processes. Prints per-object "
                                   "and per-task success (latched, at the end, lift-only), mean return and per-term "
                                   "returns; --out keeps every episode as JSON for `dextog table`.")
    p.add_argument("--policy", required=True,
                   help="policy folder (policy.npz + policy.json), a reference name like stapler_rule_residual, "
                        "'reference' (with --env: the task's reference verifier, its residual bundle or its "
                        "controller), or 'controller' (with --env: the training-free task controller)")
    p.add_argument("--grasps", default="rule", help="grasp source name (rule, isf, diffutog, grasptta, ...), a .npz file, or a folder of per-object .npz files (what grasps generate writes)")
    p.add_argument("--objects", default="seen", help="seen, unseen, all, or comma-separated object ids")
    p.add_argument("--env", default=None, choices=ENV_IDS, metavar="ENV_ID", help="default: the policy's env")
    p.add_argument("--episodes-per-grasp", type=int, default=1, help="rollouts per grasp, each with its own seed")
    p.add_argument("--max-grasps-per-object", type=int, default=None, help="first N grasps (file order) per object")
    p.add_argument("--sample-grasps-per-object", type=int, default=None,
                   help="N grasps per object drawn across its whole set (seeded by --seed and the object id)")
    p.add_argument("--max-objects", type=int, default=None, help="first N objects of the split")
    p.add_argument("--workers", type=int, default=0, help="processes (default: one per core)")
    add_backend_argument(p)
    p.add_argument("--seed", type=int, default=0, help="base seed of the rollouts (each episode: seed + its index)")
    p.add_argument("--format", default="markdown", choices=("markdown", "csv", "json"), help="how to print the summary")
    p.add_argument("--out", type=Path, default=None,
                   help="write the full result (every episode) to this JSON; finished episodes wait in "
                        "OUT.partial.json meanwhile, and a rerun after a crash or kill runs only the rest")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    p.add_argument("--full-episodes", action="store_true",
                   help="run every episode its 100 steps (default: end it once its success latches or can no "
                        "longer latch; the success verdict is the same, 'at end' is then not measured)")
    p.set_defaults(func=run)


def parse_objects(text: str) -> str | list[str]:
    if text in SPLIT_CHOICES:
        return text
    ids = [t.strip() for t in text.split(",") if t.strip()]
    if not ids:
        raise ValueError("--objects is empty")
    return ids


def partial_path(out: Path) -> Path:
    """Where finished episodes wait while an evaluation into ``out`` runs (and after it fails)."""
    return out.with_name(out.name + ".partial.json")


def check_out(out: Path) -> None:
    """Refuse an unusable --out before any rollout runs, not after (the episodes would be lost)."""
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file name such as {out / 'result.json'}")
    if out.parent.exists() and not out.parent.is_dir():
        raise ValueError(f"--out {out}: {out.parent} is not a directory")


def run(args: argparse.Namespace) -> int:
    from dextog_gym.files import exclusive_lock
    from dextog_gym.policies.evaluate import EvalRequest, evaluate
    from dextog_gym.policies.report import format_summary, save_result

    req = EvalRequest(policy=args.policy, grasps=args.grasps, objects=parse_objects(args.objects), env_id=args.env,
                      episodes_per_grasp=args.episodes_per_grasp, max_grasps_per_object=args.max_grasps_per_object,
                      max_objects=args.max_objects, workers=args.workers, backend=args.backend, seed=args.seed,
                      sample_grasps_per_object=args.sample_grasps_per_object,
                      progress=not args.no_progress, full_episodes=args.full_episodes)
    if not args.out:
        result = evaluate(req)
    else:
        check_out(args.out)
        with exclusive_lock(args.out, what="evaluation output"):  # a second writer fails now, not at the end
            result = evaluate(req, partial=partial_path(args.out))
            save_result(result, args.out)
            partial_path(args.out).unlink(missing_ok=True)
    print(format_summary(result, args.format), end="")
    return 0
