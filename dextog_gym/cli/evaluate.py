"""``dextog evaluate``: roll a policy out from every grasp of a grasp set; per-object and per-task success."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import examples


def register(sub: argparse._SubParsersAction) -> None:
    from dextog_gym.envs.table import ENV_IDS

    p = sub.add_parser("evaluate", **examples(
                           "dextog evaluate --policy stapler_rule --grasps rule --objects unseen "
                           "--max-grasps-per-object 12 --workers 2",
                           "dextog evaluate --policy stapler_rule --grasps my_grasps.npz --objects all --format csv "
                           "--out eval.json"),
                       help="success of a policy from every grasp of a grasp set",
                       description="Deterministic rollouts of a trained policy from every grasp of a grasp set "
                                   "(reset options object_id/grasp_index), in parallel processes. Prints per-object "
                                   "and per-task success (latched, at the end, lift-only), mean return and per-term "
                                   "returns; --out keeps every episode as JSON for `dextog table`.")
    p.add_argument("--policy", required=True,
                   help="policy folder (policy.npz + policy.json), a reference name like stapler_rule, or "
                        "'reference' (with --env)")
    p.add_argument("--grasps", default="rule", help="grasp source name (rule, isf, rule_relaxed, ...) or a .npz file")
    p.add_argument("--objects", default="seen", help="seen, unseen, all, or comma-separated object ids")
    p.add_argument("--env", default=None, choices=ENV_IDS, metavar="ENV_ID", help="default: the policy's env")
    p.add_argument("--episodes-per-grasp", type=int, default=1, help="rollouts per grasp, each with its own seed")
    p.add_argument("--max-grasps-per-object", type=int, default=None, help="first N grasps (file order) per object")
    p.add_argument("--max-objects", type=int, default=None, help="first N objects of the split")
    p.add_argument("--workers", type=int, default=0, help="processes (default: one per core)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the rollouts (each episode: seed + its index)")
    p.add_argument("--format", default="markdown", choices=("markdown", "csv", "json"), help="how to print the summary")
    p.add_argument("--out", type=Path, default=None, help="write the full result (every episode) to this JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    p.set_defaults(func=run)


def parse_objects(text: str) -> str | list[str]:
    if text in ("seen", "unseen", "all"):
        return text
    ids = [t.strip() for t in text.split(",") if t.strip()]
    if not ids:
        raise ValueError("--objects is empty")
    return ids


def run(args: argparse.Namespace) -> int:
    from dextog_gym.policies.evaluate import EvalRequest, evaluate
    from dextog_gym.policies.report import format_summary, save_result

    req = EvalRequest(policy=args.policy, grasps=args.grasps, objects=parse_objects(args.objects), env_id=args.env,
                      episodes_per_grasp=args.episodes_per_grasp, max_grasps_per_object=args.max_grasps_per_object,
                      max_objects=args.max_objects, workers=args.workers, seed=args.seed,
                      progress=not args.no_progress)
    result = evaluate(req)
    if args.out:
        save_result(result, args.out)
    print(format_summary(result, args.format), end="")
    return 0
