"""Help that shows, not tells: every ``dextog`` subcommand ends its ``--help`` with real command lines.

``sub.add_parser(name, help=..., **examples("dextog ...", ...))`` keeps the description's line breaks
and adds an ``examples:`` block; tests/test_cli_help.py checks every parser has one and every option
has help text.
"""

from __future__ import annotations

import argparse
from typing import Any


def examples(*lines: str) -> dict[str, Any]:
    """Keyword arguments for ``add_parser``: an ``examples:`` epilog, formatted as written."""
    return {"formatter_class": argparse.RawDescriptionHelpFormatter,
            "epilog": "examples:\n" + "\n".join(f"  {line}" for line in lines)}


def add_backend_argument(parser: argparse.ArgumentParser, what: str = "rollouts") -> None:
    """``--backend local|ray``, worded the same on every command that runs rollouts."""
    from dextog_gym.policies import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0],
                        help=f"{what} on local worker processes or Ray workers (the 'ray' extra; RAY_ADDRESS joins a "
                             "cluster): the same episodes and numbers either way (default: %(default)s)")
