"""One spelling, one meaning: the options every ``dextog`` command shares are defined here only.

A user who learned ``--grasps``, ``--verifier``, ``--objects``, ``--max-objects``, ``--grasps-per-object``
and ``--workers`` on one command can use them on every other; tests/test_cli_help.py walks every parser
and fails when a command spells one of these ideas another way. Older spellings still parse for one
release, print a deprecation warning and are hidden from ``--help``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

GRASPS_HELP = ("a grasp source name (`dextog grasps sources`), a .npz grasp file, or a folder of per-object .npz "
               "files (what `dextog grasps generate` writes)")
VERIFIER_HELP = ("who does the task from each grasp: 'reference' (each task's reference verifier: its residual "
                 "bundle, or its controller where that is stronger), 'controller' (the training-free task "
                 "controller), a reference bundle name such as stapler_rule_residual, or a bundle folder "
                 "(policy.npz + policy.json)")
OBJECTS_HELP = ("comma-separated; each item is seen, unseen, all, a category (stapler, sprayer_press, "
                "sprayer_trigger, bottle, pen) or an object id such as stapler_003")
MAX_OBJECTS_HELP = "the first N objects (id order) of each task's selection (default: all)"
READ_PER_OBJECT_HELP = ("use N grasps of each object, drawn across its whole set (seeded by --seed and the object "
                        "id)")
MAKE_PER_OBJECT_HELP = "grasps made per object"
WORKERS_HELP = "worker processes (default: one per core)"

# Spellings that mean one of the shared ideas: none may appear in any command's --help (test_cli_help.py).
RETIRED = ("--grasp-source", "--source", "--sources", "--policy", "--policy-data", "--verify-with", "--split",
           "--splits", "--per-object", "--max-per-object", "--sample-grasps-per-object", "--max-grasps-per-object",
           "--sb3", "--category")


def warn_deprecated(old: str, new: str) -> None:
    print(f"dextog: warning: {old} is deprecated and goes away in the next release; use {new}", file=sys.stderr)


class _Deprecated(argparse.Action):
    """An old spelling: stores into the new option's destination and says what to write instead."""

    def __init__(self, option_strings: list[str], dest: str, new: str = "", join: bool = False,
                 **kwargs: Any) -> None:
        self.new, self.join = new, join
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        warn_deprecated(option_string or self.option_strings[0], self.new)
        if self.join and isinstance(values, list):
            values = ",".join(values)
        setattr(namespace, self.dest, values)


def deprecated(parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kwargs: Any) -> None:
    """Accept ``old`` for one more release, hidden from help, as if ``new`` had been given."""
    parser.add_argument(old, dest=dest, action=_Deprecated, new=new, help=argparse.SUPPRESS,
                        default=argparse.SUPPRESS, **kwargs)


class _CommaList(argparse.Action):
    """``--objects a,b``; a space-separated list (the old syntax of some commands) is joined, with a warning."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        if isinstance(values, list):
            if len(values) > 1:
                warn_deprecated(f"{option_string} with a space-separated list", f"{option_string} {','.join(values)}")
            values = ",".join(values)
        setattr(namespace, self.dest, values)


def add_grasps(parser: argparse.ArgumentParser, default: str | None, *, several: bool = False,
               old: tuple[str, ...] = (), what: str = "") -> None:
    """``--grasps``: where the starting grasps come from (several, comma-separated, where a command compares)."""
    lead = "comma-separated; each is " if several else ""
    tail = f" (default: {default})" if default else ""
    # Required where there is no default, unless an old spelling may stand in (the command then checks).
    parser.add_argument("--grasps", default=default, required=default is None and not old, metavar="GRASPS",
                        help=f"{what or lead + GRASPS_HELP}{tail}")
    for spelling in old:
        deprecated(parser, spelling, "--grasps", "grasps")


def add_verifier(parser: argparse.ArgumentParser, default: str = "reference", *, choices: tuple[str, ...] | None = None,
                 help: str = VERIFIER_HELP, old: tuple[str, ...] = ()) -> None:
    """``--verifier``: who turns a grasp into the task (reference, controller, a bundle)."""
    parser.add_argument("--verifier", default=default, choices=choices, metavar="VERIFIER",
                        help=f"{help} (default: {default})")
    for spelling in old:
        deprecated(parser, spelling, "--verifier", "verifier")


def add_objects(parser: argparse.ArgumentParser, default: str = "seen", *, note: str = "",
                old_split: bool = False, space_list: bool = False) -> None:
    """``--objects``: which objects, in one syntax everywhere (``parse_objects``)."""
    extra = {"nargs": "+", "action": _CommaList} if space_list else {}
    parser.add_argument("--objects", default=default, metavar="OBJECTS",
                        help=f"{OBJECTS_HELP}{note} (default: {default})", **extra)
    if old_split:
        deprecated(parser, "--split", "--objects", "objects")


def add_max_objects(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    text = MAX_OBJECTS_HELP if default is None else MAX_OBJECTS_HELP.replace("all)", f"{default})")
    parser.add_argument("--max-objects", type=int, default=default, metavar="N", help=text)


def add_grasps_per_object(parser: argparse.ArgumentParser, default: int | None, *, makes: bool,
                          old: tuple[str, ...] = (), legacy_first_n: bool = False) -> None:
    """``--grasps-per-object``: grasps used per object (readers) or made per object (generators)."""
    text = MAKE_PER_OBJECT_HELP if makes else READ_PER_OBJECT_HELP
    tail = f" (default: {default})" if default is not None else " (default: every grasp)"
    parser.add_argument("--grasps-per-object", type=int, default=default, metavar="N", help=text + tail)
    for spelling in old:
        deprecated(parser, spelling, "--grasps-per-object", "grasps_per_object", type=int)
    if legacy_first_n:  # first-N-in-file-order: its own meaning, kept one release for the numbers it produced
        deprecated(parser, "--max-grasps-per-object", "--grasps-per-object", "max_grasps_per_object", type=int)
        parser.set_defaults(max_grasps_per_object=None)


def add_workers(parser: argparse.ArgumentParser, what: str = "") -> None:
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help=f"{what + ': ' if what else ''}{WORKERS_HELP}")


def worker_count(requested: int) -> int:
    """``--workers``: 0 (the default) is one per core."""
    if requested < 0:
        raise ValueError(f"--workers must be 0 (one per core) or more, not {requested}")
    return requested or os.cpu_count() or 1


def split_names(text: str) -> tuple[str, ...]:
    """``--objects`` where a command makes one column per split (benchmark): split names only."""
    from dextog_gym.objects.spec import SPLIT_CHOICES

    items = tuple(t.strip() for t in str(text).split(",") if t.strip())
    wrong = [t for t in items if t not in SPLIT_CHOICES]
    if not items or wrong:
        raise ValueError(f"--objects here makes one column per split: give {', '.join(SPLIT_CHOICES)} "
                         f"(comma-separated), not {', '.join(wrong) or 'nothing'}")
    return items
