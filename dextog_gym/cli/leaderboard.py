"""``dextog leaderboard``: submissions to the leaderboard (``check`` now; evaluate, verify, submit, render next)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", **examples("dextog leaderboard check my_submission.zip"),
                       help="leaderboard submissions: check",
                       description="A submission is a folder or zip of submission.json and one Grasps .npz per "
                                   "object (or per task); see the README's \"Leaderboard submissions\".")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)
    c = lsub.add_parser("check", **examples("dextog leaderboard check my_submission/",
                                            "dextog leaderboard check my_submission.zip"),
                        help="validate a submission and show what it covers",
                        description="Check a submission as untrusted input (layout, sizes, metadata, every grasp "
                                    "file) and print its metadata and, per task, how many seen and unseen "
                                    "benchmark objects it has grasps for. Exit status 2 on any problem.")
    c.add_argument("submission", type=Path, help="submission folder or .zip")
    c.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from dextog_gym.tables import format_table
    from dextog_gym.leaderboard.submission import load_submission
    from dextog_gym.objects.catalog import list_objects
    from dextog_gym.objects.spec import CATEGORIES

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
