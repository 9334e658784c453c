"""``dextog benchmark`` (run the reference policies over grasp sets) and ``dextog table`` (the paper's tables)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from dextog_gym.envs.table import ENV_OF_TASK

    b = sub.add_parser("benchmark", help="Table II run: reference policies × grasp sources × seen/unseen",
                       description="Evaluate the reference policies from the grasps of each source on seen and "
                                   "unseen objects (one result JSON per cell in --out, reused when present), then "
                                   "print the Table II-shaped success table.")
    b.add_argument("--out", type=Path, default=Path("results/benchmark"))
    b.add_argument("--tasks", default=",".join(ENV_OF_TASK), help="comma-separated tasks")
    b.add_argument("--sources", default="rule,isf", help="comma-separated grasp sources or .npz files")
    b.add_argument("--splits", default="seen,unseen")
    b.add_argument("--policies", type=Path, default=None, help="folder of <task>_<data> policies "
                                                             "(default: policies/reference)")
    b.add_argument("--policy-data", default="rule", help="use the <task>_<this> policies")
    b.add_argument("--max-objects", type=int, default=None)
    b.add_argument("--max-grasps-per-object", type=int, default=None)
    b.add_argument("--episodes-per-grasp", type=int, default=1)
    b.add_argument("--workers", type=int, default=0)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--fresh", action="store_true", help="re-run cells already in --out")
    b.add_argument("--png", type=Path, default=None, help="also draw the table as a bar chart")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=run_benchmark)

    t = sub.add_parser("table", help="the paper's Table II / IV from evaluation results",
                       description="Build Table II (grasp source × split) and Table IV (policy training data) "
                                   "from result JSONs written by `dextog evaluate --out` or `dextog benchmark`.")
    t.add_argument("results", nargs="+", type=Path, help="result JSON files or folders of them")
    t.add_argument("--kind", default="both", choices=("ii", "iv", "both"))
    t.add_argument("--metric", default="success", choices=("success", "at_end", "lift"))
    t.add_argument("--png", type=Path, default=None, help="bar chart (Table II: <png>; Table IV: <png stem>_iv.png)")
    t.set_defaults(func=run_table)


def _split(text: str) -> tuple[str, ...]:
    items = tuple(s.strip() for s in text.split(",") if s.strip())
    if not items:
        raise ValueError("empty list")
    return items


def run_benchmark(args: argparse.Namespace) -> int:
    from dextog_gym.policies.evaluate import REFERENCE_DIR
    from dextog_gym.policies.tables import bar_chart, table_ii, to_markdown
    from dextog_gym.workflows.suite import SuiteRequest, run_suite

    results = run_suite(SuiteRequest(
        out=args.out, tasks=_split(args.tasks), sources=_split(args.sources), splits=_split(args.splits),
        policies=args.policies or REFERENCE_DIR, policy_data=args.policy_data, max_objects=args.max_objects,
        max_grasps_per_object=args.max_grasps_per_object, episodes_per_grasp=args.episodes_per_grasp,
        workers=args.workers, seed=args.seed, progress=not args.no_progress, reuse=not args.fresh))
    cells = table_ii(results)
    print(f"\nSuccess rate of the {args.policy_data}-trained reference policies by starting grasps "
          f"(Table II shape; results in {args.out}):\n")
    print(to_markdown(cells, ("grasps", "objects")), end="")
    if args.png:
        print(f"chart: {bar_chart(cells, args.png, 'Success by grasp source (Table II shape)')}")
    return 0


def _collect(paths: list[Path]) -> list[Path]:
    files = []
    for p in paths:
        if p.is_dir():
            files += sorted(p.glob("*.json"))
        else:
            files.append(p)
    if not files:
        raise FileNotFoundError(f"no result JSONs in {', '.join(map(str, paths))}")
    return files


def run_table(args: argparse.Namespace) -> int:
    from dextog_gym.policies.report import load_result
    from dextog_gym.policies.tables import (
        PAPER_TABLE_IV,
        bar_chart,
        table_ii,
        table_iv,
        to_markdown,
    )

    results = [load_result(p) for p in _collect(args.results)]
    if args.kind in ("ii", "both"):
        cells = table_ii(results, args.metric)
        print(f"Table II shape: {args.metric} rate by starting grasps\n")
        print(to_markdown(cells, ("grasps", "objects")))
        if args.png:
            print(f"chart: {bar_chart(cells, args.png, 'Success by grasp source (Table II shape)')}\n")
    if args.kind in ("iv", "both"):
        cells = table_iv(results, args.metric)
        print(f"Table IV shape: {args.metric} rate by the grasp data the policy was trained on "
              "(each on its own grasps, seen objects)\n")
        if not cells:
            print("(no results where a policy was evaluated on its own training grasps of seen objects)\n")
        print(to_markdown(cells, ("training data",), PAPER_TABLE_IV), end="")
        if args.png and cells:
            path = args.png.with_name(args.png.stem + "_iv" + args.png.suffix)
            print(f"chart: {bar_chart(cells, path, 'Success by training data (Table IV shape)')}")
    return 0
