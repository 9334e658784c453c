"""The parent side of the generator track: one fresh sandboxed process per object, timed and checked here.

A crash, a hang or a memory blow-up loses one object, never the evaluation. Each object gets a private
folder ``<workdir>/runs/<id>-<random>/`` (deleted after): ``object/`` (read-only in the sandbox, filled
only after the worker says it is ready) and ``out/`` (the one writable folder, HOME). The parent measures
the time from writing the request to reading ``done``, reads the output without following links and
validates it with ``Grasps.load`` (no pickles, capped sizes, finite values, joint limits), then checks it is
for the object and task asked. Nothing the child prints is believed beyond "ready" and "done".
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard import sandbox
from dextog_gym.leaderboard.generator_env import GeneratorEnv, GeneratorEnvError, builtin_env, prepare_env
from dextog_gym.objects.catalog import ObjectAsset

WORKER = "dextog_gym.leaderboard.generator_worker"
OUTPUT = "grasps.npz"
MAX_OUTPUT_BYTES = 16 << 20
MAX_LINE_BYTES = 64 << 10
MAX_STDOUT_BYTES = 1 << 20
EXIT_GRACE_S = 5.0
PROTOCOL_KEYS = {"ready", "done", "error"}
MEMORY_HINTS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory")
STATUSES = ("ok", "crashed", "timeout", "memory", "bad_output", "network", "write_outside", "refused",
            "install_failed")


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 6144
    cpu_s: int = 600
    wall_s: float = 300.0  # request -> done, per object
    load_wall_s: float = 300.0  # process start -> ready
    nproc: int = 64
    file_mb: int = 256

    def rlimits(self) -> sandbox.Rlimits:
        return sandbox.Rlimits(self.memory_mb, self.cpu_s, self.file_mb, self.nproc)


@dataclass
class Outcome:
    grasps: Grasps | None  # validated; at most n, in the generator's order
    status: str  # one of STATUSES
    message: str  # one line for the result JSON
    wall_s: float = 0.0  # measured here: request written -> "done" read
    load_s: float = 0.0  # process start -> "ready"
    stderr_tail: str = ""
    isolated: bool = True  # False only with trust=True where bwrap is unavailable

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _Failed(Exception):
    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


class _Lines:
    """JSON-object lines from the child's stdout, with a deadline and caps on line and total size."""

    def __init__(self, fd: int):
        self.fd, self.buf, self.total = fd, b"", 0

    def next(self, deadline: float, waiting_for: str) -> dict[str, Any] | None:
        """The next protocol message; None at end of output; _Failed("timeout") past the deadline."""
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not ours: a generator may write to the protocol channel too
                if isinstance(msg, dict) and PROTOCOL_KEYS & msg.keys():
                    return msg
            if len(self.buf) > MAX_LINE_BYTES or self.total > MAX_STDOUT_BYTES:
                raise _Failed("bad_output", f"more than {MAX_STDOUT_BYTES} bytes or a line over {MAX_LINE_BYTES} "
                                            f"bytes on the protocol channel")
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise _Failed("timeout", waiting_for)
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
            self.total += len(chunk)


class GeneratorRunner:
    """Runs one grasp source (a submitted package, or a built-in when ``package`` is None) object by object."""

    def __init__(self, source: str | None, package: Path | None, workdir: Path, limits: Limits = Limits(),
                 trust: bool = False, hide: tuple[Path, ...] = ()):
        """``hide``: more host folders to mask in the sandbox (hidden assets under a bound path)."""
        self.source, self.package, self.limits, self.trust = source, package, limits, trust
        self.workdir = Path(workdir).resolve()
        self.hide = (self.workdir, *hide)
        self._env: GeneratorEnv | Outcome | None = None

    def env(self) -> GeneratorEnv | Outcome:
        """The prepared environment, or the refused / install_failed outcome every object then gets."""
        if self._env is None:
            ok, why = sandbox.isolation_available()
            if not ok and not self.trust:
                self._env = Outcome(None, "refused", f"generator not run: no isolation here ({why}); untrusted code "
                                    f"is only run in a sandbox (trust=True runs it with resource limits only)")
            elif self.package is None:
                self._env = builtin_env(str(self.source))
            else:
                try:
                    self._env = prepare_env(Path(self.package), self.workdir, self.source, trust=self.trust)
                except GeneratorEnvError as exc:
                    self._env = Outcome(None, "install_failed", f"generator not installed: {exc}")
        return self._env

    def generate(self, obj: ObjectAsset, task: str, text: str | None, n: int, seed: int) -> Outcome:
        """``n`` grasps of ``obj`` for ``task`` from a fresh sandboxed process; never raises for the child's faults."""
        env = self.env()
        if isinstance(env, Outcome):
            return Outcome(None, env.status, f"{obj.id}: {env.message}", isolated=False)
        private = self.workdir / "runs" / uuid.uuid4().hex  # no object id: it is not shown before "ready"
        (private / "object").mkdir(parents=True)
        (private / "out").mkdir()
        ro = (private / "object",) if env.venv is None else (env.venv, private / "object")
        spec = sandbox.SandboxSpec(rw=private / "out", ro=ro, hide=self.hide, rlimits=self.limits.rlimits())
        argv = [str(env.python), "-s", "-B", "-P", "-m", WORKER, env.source, str(private / "out" / OUTPUT)]
        try:
            started = sandbox.start(argv, spec, trust=self.trust)
        except sandbox.SandboxRefused as exc:
            shutil.rmtree(private, ignore_errors=True)
            return Outcome(None, "refused", f"{obj.id}: {exc}", isolated=False)
        try:
            return self._talk(started, obj, task, text, n, seed, private)
        finally:
            started.kill()
            started.stderr.close()
            shutil.rmtree(private, ignore_errors=True)

    def _talk(self, started: sandbox.Started, obj: ObjectAsset, task: str, text: str | None, n: int, seed: int,
              private: Path) -> Outcome:
        proc, lines, t0 = started.proc, _Lines(started.proc.stdout.fileno()), time.monotonic()
        load_s = wall_s = 0.0
        t1: float | None = None
        try:
            msg = lines.next(t0 + self.limits.load_wall_s, f"not ready after {self.limits.load_wall_s:g} s (killed)")
            load_s = time.monotonic() - t0
            self._check_attempts(msg)
            if msg is None or not msg.get("ready"):
                raise self._died(started, msg, "while loading")
            shutil.copytree(obj.folder, private / "object", dirs_exist_ok=True)
            request = {"object_dir": str(private / "object"), "task": task, "text": text, "n": n, "seed": seed}
            t1 = time.monotonic()
            try:
                proc.stdin.write((json.dumps(request) + "\n").encode())
                proc.stdin.flush()
            except BrokenPipeError:
                raise self._died(started, None, "before the request") from None
            msg = lines.next(t1 + self.limits.wall_s, f"exceeded {self.limits.wall_s:g} s wall time (killed)")
            wall_s = time.monotonic() - t1
            self._check_attempts(msg)
            if msg is None or not msg.get("done"):
                raise self._died(started, msg, "while sampling")
            with contextlib.suppress(subprocess.TimeoutExpired):  # lingering after "done": killed, then read
                proc.wait(timeout=EXIT_GRACE_S)
            started.kill()
            grasps = self._read(private, obj, task, n)
        except _Failed as failed:
            if t1 is None:
                load_s = time.monotonic() - t0
            elif not wall_s:
                wall_s = time.monotonic() - t1
            return self._outcome(None, failed.status, f"{obj.id}: generator {failed.detail}", wall_s, load_s, started)
        ms = 1000 * wall_s / max(n, 1)
        return self._outcome(grasps, "ok", f"{obj.id}: {len(grasps)} of {n} grasps in {wall_s:.2f} s "
                             f"({ms:.0f} ms/grasp)", wall_s, load_s, started)

    @staticmethod
    def _check_attempts(msg: dict[str, Any] | None) -> None:
        """A network or outside-write attempt the worker's audit hook saw fails the object, caught or not."""
        seen = msg.get("violations") if isinstance(msg, dict) else None
        if not isinstance(seen, list) or not seen:
            return
        kinds = [str(v.get("kind")) for v in seen if isinstance(v, dict)]
        kind = "network" if "network" in kinds else "write_outside"
        what = "; ".join(str(v.get("what"))[:160] for v in seen[:3] if isinstance(v, dict))
        label = "tried the network" if kind == "network" else "tried to write outside its folder"
        raise _Failed(kind, f"{label} (refused by the sandbox): {what}")

    def _outcome(self, grasps: Grasps | None, status: str, message: str, wall_s: float, load_s: float,
                 started: sandbox.Started) -> Outcome:
        started.kill()
        if not started.isolated:
            message += " [not isolated: trust=True without bwrap]"
        return Outcome(grasps, status, message, round(wall_s, 4), round(load_s, 4), started.stderr_tail(),
                       started.isolated)

    def _died(self, started: sandbox.Started, msg: dict[str, Any] | None, when: str) -> _Failed:
        """Why the child stopped without "ready"/"done": its error line, else its exit status and stderr."""
        if msg is not None and "error" in msg:
            error = str(msg["error"]).replace("\n", " ")[:500]
            kind = str(msg.get("kind"))
            if kind == "memory" or error.startswith("MemoryError"):
                return _Failed("memory", f"ran out of memory (limit {self.limits.memory_mb} MiB) {when}: {error}")
            if kind == "bad_output":
                return _Failed("bad_output", f"output rejected: {error}")
            return _Failed("crashed", f"raised {when}: {error}" if kind != "load" else f"failed to load: {error}")
        try:
            code = started.proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:  # still running after closing its protocol channel
            return _Failed("crashed", f"closed its output {when} without exiting")
        sig = sandbox.exit_signal(code, started.isolated)
        tail = started.stderr_tail()
        last = next((ln for ln in reversed(tail.strip().splitlines()) if ln.strip()), "")[:300]
        if sig == signal.SIGXCPU:
            return _Failed("timeout", f"exceeded {self.limits.cpu_s} s of CPU time {when} (killed)")
        if sig == signal.SIGXFSZ:
            return _Failed("bad_output", f"wrote a file larger than {self.limits.file_mb} MiB {when} (killed)")
        if any(h in tail for h in MEMORY_HINTS):
            return _Failed("memory", f"ran out of memory (limit {self.limits.memory_mb} MiB) {when}: {last}")
        how = f"was killed by {signal.Signals(sig).name}" if sig else f"exited with code {code}"
        return _Failed("crashed", f"{how} {when}" + (f": {last}" if last else ""))

    def _read(self, private: Path, obj: ObjectAsset, task: str, n: int) -> Grasps:
        """The output, read without following links into a folder the child cannot touch, validated, for this
        object and task."""
        try:
            fd = os.open(private / "out" / OUTPUT, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise _Failed("bad_output", f"said done but left no readable {OUTPUT} ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_OUTPUT_BYTES + 1) if stat.S_ISREG(os.fstat(fd).st_mode) else None
        if data is None or len(data) > MAX_OUTPUT_BYTES:
            raise _Failed("bad_output", f"{OUTPUT} is not a regular file of at most {MAX_OUTPUT_BYTES} bytes")
        checked = private / "checked.npz"
        checked.write_bytes(data)
        try:
            grasps = Grasps.load(checked)
        except ValueError as exc:
            raise _Failed("bad_output", f"output rejected: {str(exc).replace(str(checked), OUTPUT)}") from None
        if grasps.object_ids != (obj.id,) or grasps.tasks != (task,):
            found = [list(pair) for pair in zip(grasps.object_ids, grasps.tasks)]
            raise _Failed("bad_output", f"output rejected: grasps are for {found}, expected [[{obj.id!r}, {task!r}]]")
        return grasps if len(grasps) <= n else grasps.select(list(range(n)))
