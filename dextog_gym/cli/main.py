"""``dextog``: one command, subcommands grow with the project (``dextog --help``)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from dextog_gym import __version__
from dextog_gym.cli import assets, demo, diffutog, evaluate, grasps, table, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dextog",
        description="dextog_gym: task-oriented dexterous grasping benchmark (Shadow Hand, PyBullet, CPU).",
    )
    parser.add_argument("--version", action="version", version=f"dextog_gym {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    assets.register(sub)
    demo.register(sub)
    grasps.register(sub)
    train.register(sub)
    evaluate.register(sub)
    table.register(sub)
    diffutog.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what run records keep
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"dextog: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
