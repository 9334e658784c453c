"""``dextog leaderboard``: check, evaluate, verify, submit and render leaderboard entries; build the baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import add_backend_argument, examples

DEFAULT_DB = Path("leaderboard/leaderboard.sqlite")
DEFAULT_FOLDER = Path("leaderboard/submissions")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", **examples("dextog leaderboard check my_submission.zip",
                                                 "dextog leaderboard evaluate my_submission.zip --out mine.json",
                                                 "dextog leaderboard verify mine.json --sample 100",
                                                 "dextog leaderboard submit mine.json",
                                                 "dextog leaderboard render --screenshot docs/images/leaderboard.png"),
                       help="leaderboard: check, evaluate, verify, submit, render; baselines",
                       description="A submission is a folder or zip of submission.json and one Grasps .npz per "
                                   "object (or per task); see the README's \"Leaderboard\". A submission's number comes "
                                   "from evaluate, is checked by verify, stored by submit and shown by render.")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)
    c = lsub.add_parser("check", **examples("dextog leaderboard check my_submission/",
                                            "dextog leaderboard check my_submission.zip"),
                        help="validate a submission and show what it covers",
                        description="Check a submission as untrusted input (layout, sizes, metadata, every grasp "
                                    "file) and print its metadata and, per task, how many seen and unseen "
                                    "benchmark objects it has grasps for. Exit status 2 on any problem.")
    c.add_argument("submission", type=Path, help="submission folder or .zip")
    c.set_defaults(func=run_check)

    e = lsub.add_parser("evaluate", **examples(
                            "dextog leaderboard evaluate my_submission/ --out results/my_method.json",
                            "dextog leaderboard evaluate leaderboard/baselines/rule --out runs/lb/rule.json --workers 2",
                            "dextog leaderboard evaluate my_submission.zip --out runs/lb/mine.json --backend ray"),
                        help="run the fixed protocol on a submission: both verifiers and the metrics",
                        description="Every seen and unseen benchmark object, at most 20 grasps each (seeded draw), "
                                    "one rollout per grasp under the task controller and under the residual PPO "
                                    "verifier, plus Q1, penetration, η_f and joint diversity of the same grasps. "
                                    "Writes a result JSON (episodes, per-grasp metrics, scores with n and 95 % "
                                    "intervals, hashes of the grasp files, assets, verifier bundles, code and seeds). "
                                    "Work is kept in RESULT.work/: run the same command again after a kill and "
                                    "only the rest runs.")
    e.add_argument("submission", type=Path, help="submission folder or .zip")
    e.add_argument("--out", type=Path, required=True, help="result JSON to write")
    e.add_argument("--workers", type=int, default=0, help="rollout processes or Ray workers (default: one per core)")
    add_backend_argument(e)
    e.add_argument("--no-progress", action="store_true", help="no progress bars (logs, CI)")
    e.set_defaults(func=run_evaluate)

    b = lsub.add_parser("baseline", **examples("dextog leaderboard baseline rule --out leaderboard/baselines/rule",
                                               "dextog leaderboard baseline shifted --out /tmp/shifted"),
                        help="write a baseline entry as a submission folder",
                        description="isf, rule, diffutog, ndpp: each object's shipped set (at most 20 grasps, drawn "
                                    "as the protocol draws them). Sanity entries that must rank last: random (wrist "
                                    "poses 8-15 cm from the object, random joints) and shifted (rule grasps moved 3 cm "
                                    "away from the object).")
    b.add_argument("name", choices=("isf", "rule", "diffutog", "ndpp", "random", "shifted"), help="which baseline")
    b.add_argument("--out", type=Path, required=True, help="submission folder to write")
    b.set_defaults(func=run_baseline)

    v = lsub.add_parser("verify", **examples(
                            "dextog leaderboard verify leaderboard/submissions/0123abcd4567.json --sample 100",
                            "dextog leaderboard verify runs/lb/rule.json",
                            "dextog leaderboard verify results/mine.json --submission ~/my_submission.zip"),
                        help="re-run a result and check it bit for bit",
                        description="Checks that the submission's files have the bytes the result names, that the "
                                    "code, assets and verifiers are the same, that the scores follow from the "
                                    "episodes, that every planned episode is there, and re-runs the episodes (all, "
                                    "or a seeded --sample) and the metrics of their objects, comparing every value "
                                    "exactly. Exit status 1 when anything differs, naming what.")
    v.add_argument("result", type=Path, help="result JSON from `dextog leaderboard evaluate`")
    v.add_argument("--submission", type=Path, default=None,
                   help="the submission folder or zip (default: the path stored in the result)")
    v.add_argument("--sample", type=int, default=None, help="re-run this many episodes drawn at random (default: all)")
    v.add_argument("--sample-seed", type=int, default=0, help="seed of that draw (default: 0)")
    v.add_argument("--workers", type=int, default=0, help="rollout processes or Ray workers (default: one per core)")
    add_backend_argument(v, "re-runs")
    v.set_defaults(func=run_verify)

    s = lsub.add_parser("submit", **examples("dextog leaderboard submit runs/lb/rule.json",
                                             "dextog leaderboard submit results/mine.json --db /srv/lb.sqlite "
                                             "--folder /srv/submissions"),
                        help="store a result on the leaderboard",
                        description="Checks the result (protocol; scores recomputed from its episodes and metrics) "
                                    "and stores it: one SQLite row and a reviewable JSON file named after its hash. "
                                    "Safe under concurrent submits. A result already stored, or one for the same "
                                    "grasp files, is refused (exit status 2). Run `verify` first: submit does not "
                                    "re-run episodes.")
    s.add_argument("result", type=Path, help="result JSON from `dextog leaderboard evaluate`")
    s.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite store (default: %(default)s)")
    s.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="where the JSON copy goes (default: %(default)s)")
    s.set_defaults(func=run_submit)

    r = lsub.add_parser("render", **examples("dextog leaderboard render",
                                             "dextog leaderboard render --db /srv/lb.sqlite --out /srv/www "
                                             "--screenshot docs/images/leaderboard.png"),
                        help="write leaderboard/README.md and the static HTML page",
                        description="README.md (markdown tables) and index.html (sortable tables per task and "
                                    "overall, bar charts with 95 % intervals, links to each method) from the "
                                    "stored entries. --screenshot renders the page in headless Chromium.")
    r.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite store (default: %(default)s)")
    r.add_argument("--out", type=Path, default=Path("leaderboard"), help="folder to write into (default: %(default)s)")
    r.add_argument("--screenshot", type=Path, default=None, help="also save a PNG of the page (needs chromium)")
    r.set_defaults(func=run_render)


def run_check(args: argparse.Namespace) -> int:
    from dextog_gym.leaderboard.submission import load_submission
    from dextog_gym.objects.catalog import list_objects
    from dextog_gym.objects.spec import CATEGORIES
    from dextog_gym.tables import format_table

    sub = load_submission(args.submission)
    m = sub.meta
    print(f"{m['method']} ({m['generator_version']}) by {', '.join(m['authors'])} — {m['link']}")
    print(f"{len(sub.grasps)} grasp files, {sub.num_grasps} grasps, self-reported {m['ms_per_grasp']} ms/grasp")
    rows = []
    for task in CATEGORIES:
        cells = []
        for split in ("seen", "unseen"):
            total = len(list_objects(task, split))
            cells.append(f"{total - len(sub.coverage(split)[task])}/{total}")
        rows.append((task, *cells))
    print(format_table(["task", "seen objects covered", "unseen objects covered"], rows))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from dextog_gym.leaderboard.evaluate import evaluate_submission
    from dextog_gym.leaderboard.report import result_report

    result = evaluate_submission(args.submission, args.out, workers=args.workers, backend=args.backend,
                                 progress=not args.no_progress)
    print(result_report(result), end="")
    print(f"\nwrote {args.out}")
    return 0


def run_baseline(args: argparse.Namespace) -> int:
    from dextog_gym.leaderboard.baselines import build_baseline
    from dextog_gym.leaderboard.submission import load_submission

    sub = load_submission(build_baseline(args.name, args.out))
    print(f"wrote {args.out}: {len(sub.grasps)} grasp files, {sub.num_grasps} grasps — {sub.meta['method']}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from dextog_gym.leaderboard.verify import verify_result

    report = verify_result(args.result, submission=args.submission, sample=args.sample, sample_seed=args.sample_seed,
                           workers=args.workers, backend=args.backend)
    for problem in report.problems:
        print(f"FAIL {problem}")
    n = len(report.problems)
    verdict = "verified" if report.ok else f"NOT verified ({n} problem{'' if n == 1 else 's'})"
    print(f"{args.result}: {verdict}; {report.episodes_rerun} episodes re-run and "
          f"{report.objects_remeasured} objects re-measured, every value compared exactly")
    return 0 if report.ok else 1


def run_submit(args: argparse.Namespace) -> int:
    from dextog_gym.leaderboard.store import submit
    from dextog_gym.leaderboard.verify import check_integrity, load_result

    result = load_result(args.result)
    check_integrity(result)
    entry = submit(result, args.db, args.folder)
    print(f"entry {entry['id']}: {entry['method']} — success {100 * entry['ranking_score']:.1f}% "
          f"(residual PPO, overall); stored in {args.db} and {entry['file']}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    from dextog_gym.leaderboard.render import render, screenshot
    from dextog_gym.leaderboard.store import entries

    found = entries(args.db)
    md, page = render(found, args.out)
    print(f"{len(found)} entries: wrote {md} and {page}")
    if args.screenshot:
        screenshot(page, args.screenshot)
        print(f"wrote {args.screenshot}")
    return 0
