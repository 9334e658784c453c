"""The child side of a generator run: one grasp source, one object, inside the sandbox.

``python -m dextog_gym.leaderboard.generator_worker SOURCE OUT_FILE``. The source is resolved by its
entry-point name (never a "module:Class" string) and instantiated, then ``{"ready": true}`` is printed;
the parent copies the object in only then, so a generator cannot see it before the clock starts. One
request line ``{"object_dir", "task", "text", "n", "seed"}`` follows; ``sample`` (never ``fixed_grasps``)
is called (with ``text=`` when it takes one and a text was given) and the result saved to OUT_FILE, then ``{"done": true}`` or ``{"error": "<type>: <message>",
"kind": ...}`` is printed. Everything here, this script included, runs with the generator's code in the
same process, so the parent trusts none of it: it times the run itself and validates the file.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from typing import Any, TextIO

MAX_REQUEST_BYTES = 1 << 16


def _say(channel: TextIO, **message: Any) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _takes_text(sample: Any) -> bool:
    try:
        params = inspect.signature(sample).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "text" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]


def main(argv: list[str] | None = None) -> int:
    source_name, out_file = (argv if argv is not None else sys.argv[1:])[:2]
    # The protocol gets its own copy of stdout; whatever the generator prints goes to stderr.
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        import numpy as np

        from dextog_gym.grasps import Grasps
        from dextog_gym.grasps.registry import get_source
        from dextog_gym.objects.catalog import load_object_dir

        source = get_source(source_name)  # an entry point: installed code, found by name
    except BaseException as exc:  # noqa: BLE001 - any failure to load is the generator's
        _say(channel, error=_error(exc), kind="memory" if isinstance(exc, MemoryError) else "load")
        return 1
    _say(channel, ready=True)
    try:
        req = json.loads(sys.stdin.readline(MAX_REQUEST_BYTES))
        obj = load_object_dir(req["object_dir"])
        kwargs = {"text": req["text"]} if req.get("text") is not None and _takes_text(source.sample) else {}
        result = source.sample(obj, req["task"], int(req["n"]), np.random.default_rng(int(req["seed"])), **kwargs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt from a generator are crashes too
        _say(channel, error=_error(exc), kind="memory" if isinstance(exc, MemoryError) else "crashed")
        return 1
    if not isinstance(result, Grasps):
        _say(channel, error=f"TypeError: sample returned {type(result).__name__}, not Grasps", kind="bad_output")
        return 1
    try:
        result.save(out_file)
    except Exception as exc:  # noqa: BLE001
        _say(channel, error=_error(exc), kind="bad_output")
        return 1
    _say(channel, done=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
