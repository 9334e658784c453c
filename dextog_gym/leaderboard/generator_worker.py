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
MAX_VIOLATIONS = 8
# Python audit events that reach for the network: refused by the sandbox's empty network namespace anyway,
# but a generator that tries is penalised, not just stopped (it could catch the error and carry on).
NETWORK_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                            "socket.sendto", "socket.sendmsg", "socket.bind"})
# Audit events that change the file system at the path in their first argument.
WRITE_EVENTS = frozenset({"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.truncate",
                          "os.chmod", "os.chown", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Watch:
    """An audit hook that records what the generator must not try: the network, and writing anywhere but its
    private folder (and the sandbox's throwaway ``/tmp``). Not the security boundary — the sandbox is (a C
    extension or a child process is not seen here) — but what turns a caught, refused attempt into a
    failure with a clear line instead of a silent success."""

    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = tuple(os.path.abspath(a) for a in allowed)
        self.seen: list[dict[str, str]] = []

    def _outside(self, path: Any) -> str | None:
        if isinstance(path, int) or path is None:
            return None
        try:
            full = os.path.normpath(os.path.abspath(os.fsdecode(path)))
        except (TypeError, ValueError):
            return None
        inside = any(full == a or full.startswith(a.rstrip("/") + "/") for a in self.allowed)
        return None if inside else full

    def __call__(self, event: str, args: tuple) -> None:
        if len(self.seen) >= MAX_VIOLATIONS:
            return
        if event in NETWORK_EVENTS:
            by_name = event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr")
            target = args[0] if by_name and args else (args[1] if len(args) > 1 else "")
            self.seen.append({"kind": "network", "what": f"{event} {str(target)[:120]}"})
        elif event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            where = self._outside(path) if writes else None
            if where:
                self.seen.append({"kind": "write_outside", "what": f"open {where} for writing"})
        elif event in WRITE_EVENTS and args:
            where = self._outside(args[0])
            if where:
                self.seen.append({"kind": "write_outside", "what": f"{event} {where}"})


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
    watch = Watch((os.path.dirname(os.path.abspath(out_file)), "/tmp", "/dev/null"))
    try:
        import numpy as np

        from dextog_gym.grasps import Grasps
        from dextog_gym.grasps.registry import get_source
        from dextog_gym.objects.catalog import load_object_dir

        sys.addaudithook(watch)  # before the generator's code is imported; it cannot be removed
        source = get_source(source_name)  # an entry point: installed code, found by name
    except BaseException as exc:  # noqa: BLE001 - any failure to load is the generator's
        _say(channel, error=_error(exc), kind="memory" if isinstance(exc, MemoryError) else "load",
             violations=watch.seen)
        return 1
    _say(channel, ready=True, violations=watch.seen)
    try:
        req = json.loads(sys.stdin.readline(MAX_REQUEST_BYTES))
        obj = load_object_dir(req["object_dir"])
        kwargs = {"text": req["text"]} if req.get("text") is not None and _takes_text(source.sample) else {}
        result = source.sample(obj, req["task"], int(req["n"]), np.random.default_rng(int(req["seed"])), **kwargs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt from a generator are crashes too
        _say(channel, error=_error(exc), kind="memory" if isinstance(exc, MemoryError) else "crashed",
             violations=watch.seen)
        return 1
    if not isinstance(result, Grasps):
        _say(channel, error=f"TypeError: sample returned {type(result).__name__}, not Grasps", kind="bad_output")
        return 1
    try:
        result.save(out_file)
    except Exception as exc:  # noqa: BLE001
        _say(channel, error=_error(exc), kind="bad_output")
        return 1
    _say(channel, done=True, violations=watch.seen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
