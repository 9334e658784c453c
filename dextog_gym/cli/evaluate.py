"""``dextog evaluate``: roll a policy out from every grasp of a grasp set; per-object and per-task success."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import add_backend_argument, examples
from dextog_gym.cli.vocabulary import (
    add_grasps,
    add_grasps_per_object,
    add_max_objects,
    add_objects,
    add_verifier,
    add_workers,
)


def register(sub: argparse._SubParsersAction) -> None:
    from dextog_gym.envs.table import ENV_IDS

    p = sub.add_parser("evaluate", **examples(
                           "dextog evaluate --verifier reference --env DexTOG/Stapler-v1 --grasps rule --objects unseen "
                           "--grasps-per-object 12",
                           "dextog evaluate --verifier stapler_rule_residual --grasps my_grasps/ --objects all --format csv "
                           "--out eval.json",
                           "dextog evaluate --verifier controller --env DexTOG/BottleCap-v1 --grasps isf --objects bottle_001,bottle_002 "
                           "--grasps-per-object 8",
                           "dextog evaluate --verifier reference --env DexTOG/PenPress-v1 --grasps open_hand --objects seen "
                           "--max-objects 2 --grasps-per-object 8"),
                       help="success of a verifier (reference, controller, a bundle) from the grasps of a grasp set",
                       description="Deterministic rollouts of a verifier from the grasps of a grasp set "
                                   "(reset options object_id/grasp_index), in parallel processes. Prints per-object "
                                   "and per-task success (latched, at the end, lift-only; a grasp that cannot be "
                                   "placed counts as a failure, success_placed is the rate over placed grasps), mean "
                                   "return and per-term returns; --out keeps every episode as JSON for `dextog table`.")
    add_verifier(p, old=("--policy",))
    add_grasps(p, "rule")
    add_objects(p, "seen")
    p.add_argument("--env", default=None, choices=ENV_IDS, metavar="ENV_ID",
                   help="the task's env (default: the bundle's env; needed with reference or controller)")
    p.add_argument("--episodes-per-grasp", type=int, default=1, help="rollouts per grasp, each with its own seed")
    add_grasps_per_object(p, None, makes=False, old=("--sample-grasps-per-object",), legacy_first_n=True)
    add_max_objects(p)
    add_workers(p)
    p.add_argument("--allow-missing", action="store_true",
                   help="leave out asked-for objects the grasps do not cover (listed in the result) instead of stopping "
                        "with an error that names them")
    add_backend_argument(p)
    p.add_argument("--seed", type=int, default=0, help="base seed of the rollouts (each episode: seed + its index)")
    p.add_argument("--format", default="markdown", choices=("markdown", "csv", "json"), help="how to print the summary")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON file for the full result (every episode); finished episodes wait in "
                        "OUT.partial.json meanwhile, and a rerun after a crash or kill runs only the rest")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    p.add_argument("--full-episodes", action="store_true",
                   help="run every episode its 100 steps (default: end it once its success latches or can no "
                        "longer latch; the success verdict is the same, 'at end' is then not measured)")
    p.set_defaults(func=run)


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

    req = EvalRequest(policy=args.verifier, grasps=args.grasps, objects=args.objects, env_id=args.env,
                      episodes_per_grasp=args.episodes_per_grasp, max_grasps_per_object=args.max_grasps_per_object,
                      max_objects=args.max_objects, workers=args.workers, backend=args.backend, seed=args.seed,
                      sample_grasps_per_object=args.grasps_per_object,
                      progress=not args.no_progress, full_episodes=args.full_episodes,
                      allow_missing=args.allow_missing)
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
