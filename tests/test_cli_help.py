"""Every ``dextog`` command documents itself: examples at the end of its help, help on every option."""

from __future__ import annotations

import argparse
import shlex

import pytest

from dextog_gym.cli.main import build_parser, main


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    found = [("dextog", build_parser())]
    k = 0
    while k < len(found):
        name, parser = found[k]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += [(f"{name} {sub}", p) for sub, p in action.choices.items()]
        k += 1
    return found


PARSERS = _parsers()


def test_the_walk_finds_the_commands():
    names = {name for name, _ in PARSERS}
    assert {"dextog evaluate", "dextog grasps generate", "dextog diffutog engine", "dextog table"} <= names


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n for n, _ in PARSERS])
def test_every_command_ends_its_help_with_examples(name, parser):
    epilog = parser.epilog or ""
    assert epilog.startswith("examples:"), f"`{name} --help` has no examples"
    lines = [line.strip() for line in epilog.splitlines()[1:] if line.strip()]
    assert lines and all(line.startswith(name.split()[0] + " ") for line in lines if not line.startswith("#"))
    mentioned = [line for line in lines if line.startswith(name)]
    assert mentioned, f"no example of `{name}` itself in its help"
    assert "examples:" in parser.format_help()


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n for n, _ in PARSERS])
def test_every_option_has_help_text(name, parser):
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]
    assert not missing, f"`{name}`: no help text for {missing}"


def test_examples_parse(capsys):
    """The example lines are real: each one parses (it is not run)."""
    parser = build_parser()
    for name, sub in PARSERS:
        for line in (sub.epilog or "").splitlines()[1:]:
            words = shlex.split(line)
            if not words or words[0] != "dextog" or any(c in line for c in "|>"):
                continue
            try:
                parser.parse_args(words[1:])
            except SystemExit as exc:
                if exc.code == 0:  # --help
                    continue
                pytest.fail(f"example in `{name} --help` does not parse: {line.strip()} ({exc})")
    capsys.readouterr()


def test_help_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--help"])
    assert exc.value.code == 0 and "examples:" in capsys.readouterr().out
