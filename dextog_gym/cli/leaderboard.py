"""``dextog leaderboard``: check, evaluate, verify, submit and render leaderboard entries; build the baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import add_backend_argument, examples
from dextog_gym.cli.vocabulary import add_workers, deprecated

# The baselines' names, for the parser without importing the leaderboard (dextog_gym/leaderboard/baselines.py BASELINES).
BASELINE_NAMES = ("isf", "rule", "diffutog", "ndpp", "cvae", "grasptta", "unidexgrasp", "random", "shifted", "open_hand", "selection")
SECRET_ENV = "DEXTOG_LEADERBOARD_SECRET"
DEFAULT_DB = Path("leaderboard/leaderboard.sqlite")
DEFAULT_FOLDER = Path("leaderboard/submissions")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", **examples("dextog leaderboard check my_submission.zip",
                                                 "dextog leaderboard evaluate --generator dist/my_gen-1.0.tar.gz "
                                                 "--meta my_gen.json --out mine.json",
                                                 "dextog leaderboard evaluate my_submission.zip --out mine.json",
                                                 "dextog leaderboard verify mine.json --sample 100",
                                                 "dextog leaderboard submit mine.json",
                                                 "dextog leaderboard render --screenshot docs/images/leaderboard.png"),
                       help="leaderboard: check, evaluate, verify, submit, render; baselines",
                       description="Two tracks, ranked apart. Generator track: an installable package that "
                                   "registers a grasp source, run isolated on hidden objects built from a secret and "
                                   "timed. Files track: a folder or zip of submission.json and Grasps .npz files on the "
                                   "public objects (selection not controlled). See docs/leaderboard.md. A number comes "
                                   "from evaluate, is checked by verify, stored by submit and shown by render.")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)
    for add in (_add_check, _add_evaluate, _add_baseline, _add_verify, _add_submit, _add_paper_table, _add_render):
        add(lsub)


def _add_check(lsub: argparse._SubParsersAction) -> None:
    c = lsub.add_parser("check", **examples("dextog leaderboard check my_submission/",
                                            "dextog leaderboard check my_submission.zip"),
                        help="validate a submission and show what it covers",
                        description="Check a submission as untrusted input (layout, sizes, metadata, every grasp "
                                    "file) and print its metadata and, per task, how many seen and unseen "
                                    "benchmark objects it has grasps for. Exit status 2 on any problem.")
    c.add_argument("submission", type=Path, help="submission folder or .zip")
    c.set_defaults(func=run_check)


def _add_evaluate(lsub: argparse._SubParsersAction) -> None:
    e = lsub.add_parser("evaluate", **examples(
                            "dextog leaderboard evaluate my_submission/ --out results/my_method.json",
                            "dextog leaderboard evaluate --generator dist/my_gen-1.0-py3-none-any.whl "
                            "--meta my_gen.json --out results/my_gen.json",
                            "dextog leaderboard evaluate --generator diffutog --out runs/lb/diffutog_gen.json",
                            "dextog leaderboard evaluate leaderboard/baselines/rule --out runs/lb/rule.json "
                            "--secret-file /srv/lb/secret"),
                        help="run the fixed protocol: a grasp-file submission, or a generator on hidden objects",
                        description="Files track (a submission folder or zip): the 80 public objects. Generator "
                                    "track (--generator: a wheel or sdist registering a grasp source, or a built-in "
                                    "source name): objects built from the secret, the generator run isolated per "
                                    "object (no network; memory, CPU and wall-time limits; a private folder) and "
                                    "timed. Both: the first 20 distinct grasps per object (a shortfall counts as "
                                    "failures), one rollout per grasp under the task controller and under the "
                                    "residual PPO verifier (episodes end once success latches), with seeds derived "
                                    "from the secret, plus Q1, penetration, η_f and joint diversity. Writes a result "
                                    "JSON (episodes, per-grasp metrics, scores with n and 95 %% intervals, hashes). "
                                    "Work is kept in RESULT.work/: run the same command again after a kill and only "
                                    "the rest runs.")
    e.add_argument("submission", type=Path, nargs="?", default=None, help="submission folder or .zip (files track)")
    e.add_argument("--generator", default=None, metavar="PACKAGE|NAME",
                   help="generator track: a .whl/.tar.gz that registers a grasp source, or an installed source name")
    e.add_argument("--generator-source", default=None, metavar="NAME",
                   help="which of the package's registered sources (default: its only one)")
    deprecated(e, "--source", "--generator-source", "generator_source")
    e.add_argument("--meta", type=Path, default=None,
                   help="the generator's submission.json (method, authors, link, ...); built-ins have their own")
    e.add_argument("--hidden-per-category", type=int, default=16, help="hidden objects per category (default: 16)")
    e.add_argument("--trust-generator", action="store_true",
                   help="run the generator even where no sandbox is available (resource limits only)")
    e.add_argument("--memory-mb", type=int, default=6144, help="generator memory limit (default: %(default)s)")
    e.add_argument("--wall-s", type=float, default=300.0, help="generator wall time per object (default: %(default)s)")
    e.add_argument("--out", type=Path, required=True, help="result JSON file to write (generated grasps: the folder "
                                                            "RESULT.grasps/ beside it)")
    add_secret_argument(e)
    e.add_argument("--full-episodes", action="store_true",
                   help="run every episode its full 100 steps (default: end it once its success latches)")
    add_workers(e, "rollout processes or Ray workers")
    add_backend_argument(e)
    e.add_argument("--no-progress", action="store_true", help="no progress bars (logs, CI)")
    e.set_defaults(func=run_evaluate)


def _add_baseline(lsub: argparse._SubParsersAction) -> None:
    b = lsub.add_parser("baseline", **examples("dextog leaderboard baseline rule --out leaderboard/baselines/rule",
                                               "dextog leaderboard baseline shifted --out /tmp/shifted"),
                        help="write a baseline entry as a submission folder",
                        description="isf, rule, diffutog, ndpp: each object's shipped set (at most 20 grasps, drawn "
                                    "across the set, seed 0). Sanity entries that must score near zero: random (wrist "
                                    "poses 8-15 cm from the object, random joints), shifted (rule grasps moved 3 cm "
                                    "away from the object) and open_hand (isf wrist poses, fingers open). selection: "
                                    "each object's rule grasps that the residual verifier succeeded with, first (it "
                                    "rolls 40 candidates per object out: minutes).")
    b.add_argument("name", choices=BASELINE_NAMES, help="which baseline")
    b.add_argument("--out", type=Path, required=True, help="submission folder to write")
    b.set_defaults(func=run_baseline)


def _add_verify(lsub: argparse._SubParsersAction) -> None:
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
    add_workers(v, "rollout processes or Ray workers")
    add_secret_argument(v)
    add_backend_argument(v, "re-runs")
    v.set_defaults(func=run_verify)


def _add_submit(lsub: argparse._SubParsersAction) -> None:
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
    s.add_argument("--replaces", metavar="ID", help="an older entry of the same method and track that this result "
                                                    "supersedes (a re-evaluated generator): it leaves the board")
    s.set_defaults(func=run_submit)


def _add_paper_table(lsub: argparse._SubParsersAction) -> None:
    t = lsub.add_parser("paper-table", **examples(
        "dextog leaderboard paper-table --shape dextog-ii leaderboard/submissions/0b2a6815ff8a.json",
        "dextog leaderboard paper-table --shape ndpp-2 A.json B.json --out results/ndpp/table_2.md"),
        help="DexTOG Table II or NDPP Table 2 from result files",
        description="The papers' tables in their shapes from leaderboard results (success per task under the "
                    "reference verifiers with n and intervals; overall success, Q1, penetration, η_f, ms/grasp), "
                    "the papers' rows beneath.")
    t.add_argument("results", nargs="+", type=Path, help="result JSON files (evaluate's output or submissions/)")
    t.add_argument("--shape", required=True, choices=("dextog-ii", "ndpp-2"), help="which paper table")
    t.add_argument("--label", action="append", default=[], help="a row label per result, in order (default: the "
                                                                 "method and track)")
    t.add_argument("--out", type=Path, help="also write the table to this markdown file")
    t.set_defaults(func=run_paper_table)


def _add_render(lsub: argparse._SubParsersAction) -> None:
    r = lsub.add_parser("render", **examples("dextog leaderboard render",
                                             "dextog leaderboard render --db /srv/lb.sqlite --out /srv/www "
                                             "--screenshot docs/images/leaderboard.png"),
                        help="write leaderboard/README.md and the static HTML page",
                        description="README.md (markdown tables) and index.html (sortable tables per task and "
                                    "overall, bar charts with 95 % intervals, links to each method) from the "
                                    "stored entries. --screenshot renders the page in headless Chromium.")
    r.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite store (default: %(default)s)")
    r.add_argument("--out", type=Path, default=Path("leaderboard"), help="folder to write README.md and index.html "
                                                                         "into (default: %(default)s)")
    r.add_argument("--screenshot", type=Path, default=None, help="also save a PNG of the page (needs chromium)")
    r.set_defaults(func=run_render)


def add_secret_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secret-file", type=Path, default=None,
                        help=f"file holding the evaluation secret (episode seeds, hidden objects); else ${SECRET_ENV}; "
                             "else the public practice secret")


def read_secret(args: argparse.Namespace) -> str:
    """The secret from --secret-file, else the environment, else the practice secret (said on stderr)."""
    import os
    import sys

    from dextog_gym.leaderboard.protocol import PRACTICE_SECRET

    if args.secret_file is not None:
        secret = args.secret_file.read_text(encoding="utf-8").strip()
        if not secret:
            raise ValueError(f"{args.secret_file} is empty")
        return secret
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    print(f"leaderboard: using the public practice secret {PRACTICE_SECRET!r} (episodes and hidden objects anyone "
          f"can reproduce); a public board uses --secret-file", file=sys.stderr)
    return PRACTICE_SECRET


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
    from dextog_gym.leaderboard.report import result_report

    if (args.submission is None) == (args.generator is None):
        raise ValueError("give a submission folder or zip (files track) or --generator (generator track), not both")
    secret = read_secret(args)
    common = dict(secret=secret, workers=args.workers, backend=args.backend, progress=not args.no_progress,
                  full_episodes=args.full_episodes)
    if args.generator is None:
        from dextog_gym.leaderboard.evaluate import evaluate_submission

        result = evaluate_submission(args.submission, args.out, **common)
    else:
        import json

        from dextog_gym.leaderboard.baselines import builtin_meta
        from dextog_gym.leaderboard.generator_runner import Limits
        from dextog_gym.leaderboard.generator_track import evaluate_generator

        meta = json.loads(args.meta.read_text(encoding="utf-8")) if args.meta else builtin_meta(args.generator)
        result = evaluate_generator(args.generator, args.out, meta, source=args.generator_source,
                                    per_category=args.hidden_per_category, trust=args.trust_generator,
                                    limits=Limits(memory_mb=args.memory_mb, wall_s=args.wall_s), **common)
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
                           workers=args.workers, backend=args.backend, secret=read_secret(args))
    for problem in report.problems:
        print(f"FAIL {problem}")
    n = len(report.problems)
    verdict = "verified" if report.ok else f"NOT verified ({n} problem{'' if n == 1 else 's'})"
    print(f"{args.result}: {verdict}; {report.episodes_rerun} episodes re-run and "
          f"{report.objects_remeasured} objects re-measured, every value compared exactly")
    return 0 if report.ok else 1


def run_paper_table(args: argparse.Namespace) -> int:
    from dextog_gym.files import atomic_write_text
    from dextog_gym.leaderboard.paper_tables import paper_table

    text = paper_table(args.shape, args.results, args.label)
    print(text, end="")
    if args.out:
        atomic_write_text(args.out, text)
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from dextog_gym.leaderboard.store import submit
    from dextog_gym.leaderboard.verify import check_integrity, load_result

    result = load_result(args.result)
    check_integrity(result)
    entry = submit(result, args.db, args.folder, replaces=args.replaces)
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
