"""``dextog benchmark`` (run the reference policies over grasp sets) and ``dextog table`` (the paper's tables)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dextog_gym.cli.helptext import add_backend_argument, examples
from dextog_gym.cli.vocabulary import (
    add_grasps,
    add_grasps_per_object,
    add_max_objects,
    add_objects,
    add_verifier,
    add_workers,
    deprecated,
    split_names,
)
from dextog_gym.policies import reference_verifier

BENCHMARK_EXAMPLES = examples(
    "dextog benchmark --grasps rule,isf --max-objects 2 --grasps-per-object 2 --png table_ii.png",
    "dextog benchmark --out results/table_ii --objects seen --grasps-per-object 4 --verifier controller",
    "dextog benchmark --out demo_out/benchmark --tasks bottle,pen --grasps rule,isf,diffutog --fresh --no-progress",
    "dextog benchmark --verifier rule_ppo30k --grasps rule --objects seen,unseen --out results/ppo/table_ii",
)
TABLE_EXAMPLES = examples(
    "dextog table results/controller/table_ii --kind ii --intervals",
    "dextog table results/controller/table_ii --kind ii --format csv > table_ii.csv",
    "dextog table results/residual/table_ii results/residual/table_iv_isf --kind both --format json",
    "dextog table results/controller/table_ii --kind ii --png docs/images/table_ii_controller.png",
    "dextog table results/residual/table_ii results/residual/table_iv_isf --kind both --png tables.png",
    "dextog table results/controller/table_ii --metric lift",
    "dextog table results/controller/table_ii --metric grasp_kept --intervals",
)


def register(sub: argparse._SubParsersAction) -> None:
    from dextog_gym.envs.table import ENV_OF_TASK

    b = sub.add_parser("benchmark", help="Table II run: reference verifiers × grasp sources × seen/unseen",
                       description="Evaluate the reference policies from the grasps of each source on seen and\n"
                                   "unseen objects (one result JSON per cell in --out, reused only while every input\n"
                                   "of the cell is unchanged: policy and grasp file hashes, options, version), then\n"
                                   "print the Table II-shaped success table.",
                       **BENCHMARK_EXAMPLES)
    b.add_argument("--out", type=Path, default=Path("results/benchmark"),
                   help="folder for the result JSON files, one per task × grasps × split (default: %(default)s)")
    b.add_argument("--tasks", default=",".join(ENV_OF_TASK), help="comma-separated tasks (default: all five)")
    add_grasps(b, "rule,isf", several=True, old=("--sources",))
    add_objects(b, "seen,unseen", note="; one table column per split, so here: seen, unseen and/or all")
    deprecated(b, "--splits", "--objects", "objects")
    add_verifier(b, help="who does the task: 'reference' (each task's reference verifier), 'controller' (the "
                         "training-free task controllers), or a training-data label L meaning the <task>_L bundles "
                         "in --policies: rule_residual, isf_residual (residual verifiers), rule_ppo30k, isf_ppo30k "
                         "(the paper's protocol, 30k steps)", old=("--policy-data",))
    b.add_argument("--policies", type=Path, default=None, metavar="FOLDER",
                   help="folder of <task>_<label> bundles (default: the shipped reference bundles)")
    add_max_objects(b)
    add_grasps_per_object(b, None, makes=False, old=("--sample-grasps-per-object",), legacy_first_n=True)
    b.add_argument("--episodes-per-grasp", type=int, default=1, help="episodes from each grasp (default: 1)")
    add_workers(b, "rollouts")
    b.add_argument("--allow-missing", action="store_true",
                   help="leave out asked-for objects the grasps do not cover (listed in the result) instead of stopping "
                        "with an error that names them")
    add_backend_argument(b)
    b.add_argument("--seed", type=int, default=0, help="base seed of the rollouts (default: 0)")
    b.add_argument("--fresh", action="store_true",
                   help="re-run every cell, even those in --out whose inputs are unchanged")
    b.add_argument("--png", type=Path, default=None, help="also draw the table as a bar chart, written at exactly "
                                                          "this path")
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    b.add_argument("--full-episodes", action="store_true",
                   help="run every episode its 100 steps (default: end it once its success latches or cannot)")
    b.add_argument("--intervals", action="store_true",
                   help="show each cell's 95 %% Wilson interval in the markdown table, e.g. 68%% [55–79] (n=56)")
    b.set_defaults(func=run_benchmark)

    t = sub.add_parser("table", help="the paper's Table II / IV from evaluation results",
                       description="Build Table II (grasp source × split) and Table IV (policy training data) from\n"
                                   "result JSONs written by `dextog evaluate --out` or `dextog benchmark`.\n"
                                   "csv and json carry n, the successes and the 95 % Wilson interval of every\n"
                                   "cell; the paper's Table IV rows come along with source \"paper\" and no n.",
                       **TABLE_EXAMPLES)
    t.add_argument("results", nargs="+", type=Path, help="result JSON files or folders of them")
    t.add_argument("--kind", default="both", choices=("ii", "iv", "both"),
                   help="which table: ii (grasp source × split), iv (training data) or both (default: both)")
    t.add_argument("--overall", action="store_true",
                   help="add a column pooling each row's episodes over its tasks (NDPP's Overall-Succ.)")
    t.add_argument("--intervals", action="store_true",
                   help="show each cell's 95 %% Wilson interval in the markdown table, e.g. 68%% [55–79] (n=56)")
    t.add_argument("--metric", default="success",
                   choices=("success", "success_placed", "at_end", "lift", "grasp_kept"),
                   help="success (held at some step, the paper's; an unplaced grasp is a failure), success_placed "
                        "(the same over placed episodes only), at_end (held at the last step), lift "
                        "(lift criterion only) or grasp_kept (of the successes, the share whose starting pads "
                        "still touched after the lift; n counts those successes) (default: success)")
    t.add_argument("--format", default="markdown", choices=("markdown", "csv", "json"),
                   help="markdown tables, or csv / json rows with n and 95 %% Wilson intervals (default: markdown)")
    t.add_argument("--png", type=Path, default=None,
                   help="bar chart written at exactly this path; --kind both draws one figure with two panels")
    t.set_defaults(func=run_table)


def _split(text: str) -> tuple[str, ...]:
    items = tuple(s.strip() for s in text.split(",") if s.strip())
    if not items:
        raise ValueError("empty list")
    return items


def suite_verifier(spec: str) -> tuple[str, str | None]:
    """``--verifier`` of benchmark as the suite takes it: (reference|controller, training-data label or None)."""
    return (spec, None) if spec in ("reference", "controller") else ("reference", spec)


def run_benchmark(args: argparse.Namespace) -> int:
    from dextog_gym.policies.evaluate import REFERENCE_DIR
    from dextog_gym.policies.tables import bar_chart, table_ii, to_markdown
    from dextog_gym.workflows.suite import SuiteRequest, run_suite

    verifier, policy_data = suite_verifier(args.verifier)
    results = run_suite(SuiteRequest(
        out=args.out, tasks=_split(args.tasks), sources=_split(args.grasps), splits=split_names(args.objects),
        policies=args.policies or REFERENCE_DIR, policy_data=policy_data, max_objects=args.max_objects,
        max_grasps_per_object=args.max_grasps_per_object, episodes_per_grasp=args.episodes_per_grasp,
        sample_grasps_per_object=args.grasps_per_object, verifier=verifier,
        workers=args.workers, backend=args.backend, seed=args.seed, progress=not args.no_progress, reuse=not args.fresh,
        full_episodes=args.full_episodes, allow_missing=args.allow_missing))
    cells = table_ii(results)
    who = ("the task controllers (no training)" if verifier == "controller"
           else f"the <task>_{policy_data} policies" if policy_data
           else "the reference verifiers (" + ", ".join(f"{t}: {reference_verifier(t)}" for t in _split(args.tasks)) + ")")
    print(f"\nSuccess rate of {who} by starting grasps (Table II shape; results in {args.out}):\n")
    print(to_markdown(cells, ("grasps", "objects"), intervals=args.intervals), end="")
    if args.png:
        print(f"chart: {bar_chart([('ii', cells)], args.png).path}")
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
        format_tables,
        table_ii,
        table_iv,
        to_markdown,
    )

    results = [load_result(p) for p in _collect(args.results)]
    kinds = ("ii", "iv") if args.kind == "both" else (args.kind,)
    tables = {k: (table_ii if k == "ii" else table_iv)(results, args.metric) for k in kinds}
    markdown = args.format == "markdown"
    if not markdown:
        print(format_tables(tables, args.metric, args.format), end="")
    if markdown and "ii" in tables:
        print(f"Table II shape: {args.metric} rate by starting grasps\n")
        print(to_markdown(tables["ii"], ("grasps", "objects"), intervals=args.intervals, overall=args.overall))
    if markdown and "iv" in tables:
        print(f"Table IV shape: {args.metric} rate by the grasp data the policy was trained on "
              "(each on its own grasps, seen objects)\n")
        if not tables["iv"]:
            print("(no results where a policy was evaluated on its own training grasps of seen objects)\n")
        print(to_markdown(tables["iv"], ("training data",), PAPER_TABLE_IV, intervals=args.intervals,
                          overall=args.overall), end="")
    if args.png:
        chart = bar_chart([(k, tables[k]) for k in kinds], args.png, args.metric)
        # csv and json keep stdout parseable; markdown keeps its old layout (Table II alone: a blank line after)
        print(f"chart: {chart.path}", end="\n\n" if args.kind == "ii" and markdown else "\n",
              file=sys.stdout if markdown else sys.stderr)
    return 0
