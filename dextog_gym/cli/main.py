"""``dextog``: one command, subcommands grow with the project (``dextog --help``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from dextog_gym import __version__
from dextog_gym.cli import (
    assets,
    baselines,
    diffutog,
    evaluate,
    grasps,
    leaderboard,
    ndpp,
    policy,
    render,
    table,
    train,
)
from dextog_gym.cli.helptext import examples
from dextog_gym.files import FolderInUseError
from dextog_gym.grasps.registry import ALLOW_IMPORT_ENV, SourceOutputError
from dextog_gym.physics import DisplayNotAvailableError
from dextog_gym.policies.eval_pool import WorkerDiedError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dextog",
        description="dextog_gym: task-oriented dexterous grasping benchmark (Shadow Hand, PyBullet, CPU).",
        **examples("dextog assets list --objects unseen",
                   "dextog evaluate --verifier reference --env DexTOG/Stapler-v1 --grasps rule --objects unseen "
                   "--grasps-per-object 12",
                   "dextog benchmark --grasps rule,isf --max-objects 2 --grasps-per-object 2",
                   "dextog grasps generate --grasps diffutog --objects unseen --grasps-per-object 16 --out my_grasps",
                   "dextog evaluate --help"),
    )
    parser.add_argument("--version", action="version", version=f"dextog_gym {__version__}")
    parser.add_argument("--allow-import", action="store_true",
                        help="let grasp sources given as 'package.module:Class' be imported (they run the code "
                             "they name; never needed for installed sources or .npz files)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    assets.register(sub)
    grasps.register(sub)
    evaluate.register(sub)
    table.register(sub)
    train.register(sub)
    render.register(sub)
    diffutog.register(sub)
    ndpp.register(sub)
    baselines.register(sub)
    leaderboard.register(sub)
    policy.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what run records keep
    before = os.environ.get(ALLOW_IMPORT_ENV)
    if args.allow_import:  # inherited by every worker process this command starts
        os.environ[ALLOW_IMPORT_ENV] = "1"
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, FolderInUseError, DisplayNotAvailableError, WorkerDiedError) as exc:
        notes = "".join(f"\n  {note}" for note in getattr(exc, "__notes__", ()))
        print(f"dextog: error: {exc}{notes}", file=sys.stderr)
        return 2
    except SourceOutputError as exc:  # a plugin's bug, said in one line rather than a traceback into it
        print(f"dextog: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `dextog ... | head`: the reader left; stop quietly, as other Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not raise again
        return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by a closed pipe
    finally:
        if before is None:
            os.environ.pop(ALLOW_IMPORT_ENV, None)
        else:
            os.environ[ALLOW_IMPORT_ENV] = before


if __name__ == "__main__":
    sys.exit(main())
