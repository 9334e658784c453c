"""Running untrusted code isolated: a bubblewrap sandbox, resource limits, and a kill that leaves nothing.

Leaderboard generators are strangers' code (DESIGN.md "Leaderboard"), so each runs in a fresh ``bwrap``
sandbox: no network; its own pid, ipc and uts namespaces; a read-only view of only what Python needs
(system libraries, the interpreter, the evaluator's site-packages and the folders its editable install
maps); an empty size-capped ``/tmp``; and ONE writable folder. The evaluator's work folder is masked
even where a read-only bind would show it. Run as root, the process drops to ``nobody`` inside
(``setpriv``) so that RLIMIT_NPROC is enforced and root-only files stay unreadable. Address space, CPU
seconds, file size and process count are capped with ``prlimit``; the wall clock is the caller's, and
killing bwrap's process group kills the whole pid namespace (``--die-with-parent``).
Without a working bwrap, untrusted code is refused unless the caller passes ``trust=True``.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

NOBODY = 65534
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf")
NAMESPACES = ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")
STDERR_TAIL = 2048


class SandboxRefused(RuntimeError):
    """Untrusted code was not started: no isolation here and the caller did not pass trust=True."""


@dataclass(frozen=True)
class Rlimits:
    """Per-process caps (the kernel's: a child process gets its own CPU and memory budget)."""

    memory_mb: int = 6144  # RLIMIT_AS; torch imports in well under 2 GiB of address space
    cpu_s: int = 600  # RLIMIT_CPU: SIGXCPU at cpu_s, SIGKILL 5 s later
    file_mb: int = 256  # RLIMIT_FSIZE: largest file the process may write (SIGXFSZ beyond)
    nproc: int = 64  # RLIMIT_NPROC: tasks (threads too) beyond those the sandbox user already has


@dataclass(frozen=True)
class SandboxSpec:
    """What one sandboxed process sees. Paths are bound at their own host path."""

    rw: Path  # the one writable folder: HOME and the working folder
    ro: tuple[Path, ...] = ()  # extra read-only folders (a generator's venv, the object)
    hide: tuple[Path, ...] = ()  # folders masked if a read-only bind would show them (the evaluator's work dir)
    rlimits: Rlimits = Rlimits()
    tmp_mb: int = 256  # the tmpfs /tmp (host memory, so capped)
    extra_env: tuple[tuple[str, str], ...] = ()


def sandbox_env(home: Path, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The whole environment of a sandboxed process: nothing of the evaluator's leaks through."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": os.environ.get("LANG", "C.UTF-8"),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.update(extra)
    return env


def sandbox_uid() -> int | None:
    """The host uid the sandboxed code runs as: ``nobody`` when we are root (None: our own uid)."""
    return NOBODY if os.geteuid() == 0 and shutil.which("setpriv") else None


def evaluator_site_dirs() -> list[Path]:
    """The evaluator's own site-packages (a generator venv sees them through a ``.pth``)."""
    paths = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    return sorted(Path(p) for p in paths if Path(p).is_dir())


def _pth_targets(site: Path) -> set[Path]:
    """Folders a site dir's ``.pth`` files and setuptools' editable finders add (an editable checkout)."""
    found: set[Path] = set()
    for pth in site.glob("*.pth"):
        for line in pth.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")) and (site / line).is_dir():
                found.add((site / line).resolve())
    for finder in site.glob("__editable__*finder.py"):
        match = re.search(r"^MAPPING\b[^=]*=\s*(\{.*?\})\s*$", finder.read_text(errors="replace"), re.MULTILINE | re.DOTALL)
        if match:
            found.update(Path(p).resolve() for p in ast.literal_eval(match.group(1)).values())
    return {p for p in found if p.is_dir()}


@functools.lru_cache(maxsize=1)
def evaluator_paths() -> tuple[Path, ...]:
    """Host folders the evaluator's own Python needs, read-only: interpreter, venv, site-packages, checkout."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for site in evaluator_site_dirs():
        paths |= {site.resolve(), *_pth_targets(site)}
    kept: list[Path] = []
    for path in sorted(paths, key=lambda p: len(p.parts)):
        if path.is_dir() and not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return tuple(kept)


class _Mounts:
    """bwrap mount arguments in order, creating missing parent folders as 0755 (bwrap would make them 0700)."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.mounts: list[tuple[Path, str]] = [(Path("/"), "tmpfs")]
        self.made: set[Path] = {Path("/")}

    def _under(self, path: Path) -> str:
        return max((m for m in self.mounts if path.is_relative_to(m[0])), key=lambda m: len(m[0].parts))[1]

    def _parents(self, dest: Path) -> None:
        for parent in reversed(dest.parents):
            if parent not in self.made and self._under(parent) == "tmpfs":
                self.args += ["--perms", "0755", "--dir", str(parent)]
            self.made.add(parent)

    def add(self, kind: str, path: Path, *extra: str) -> None:
        self._parents(path)
        self.args += [*extra, {"ro": "--ro-bind", "rw": "--bind", "tmpfs": "--tmpfs"}[kind]]
        self.args += [str(path)] * (1 if kind == "tmpfs" else 2)
        self.mounts.append((path, "tmpfs" if kind == "tmpfs" else "bind"))
        self.made.add(path)

    def symlink(self, target: str, path: Path) -> None:
        self.args += ["--symlink", target, str(path)]
        self.made.add(path)


def bwrap_argv(argv: list[str], spec: SandboxSpec) -> list[str]:
    """The bwrap command line that runs ``argv`` as described by ``spec`` (see the module docstring).

    Mounts go in order of depth, so a mask over the evaluator's work folder (even one inside the checkout)
    comes after the bind that would show it and before the folders bound back inside it."""
    m = _Mounts()
    for name in SYSTEM_DIRS:
        if os.path.islink(name):
            m.symlink(os.readlink(name), Path(name))
    binds = [Path(d) for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    binds += [Path("/etc", name) for name in ETC_FILES if os.path.exists(f"/etc/{name}")] + list(evaluator_paths())
    masks = [h.resolve() for h in spec.hide if any(h.resolve().is_relative_to(b) for b in binds)]
    # /tmp: world-writable and sticky, as everywhere (tempfile and joblib probe it; the child runs as nobody)
    tmp = ("tmpfs", Path("/tmp"), ("--perms", "1777", "--size", str(spec.tmp_mb << 20)))
    plan = [("ro", p, ()) for p in binds] + [tmp]
    plan += [("tmpfs", p, ("--size", str(1 << 20))) for p in masks] + [("ro", p.resolve(), ()) for p in spec.ro]
    rw = spec.rw.resolve()
    for kind, path, extra in sorted([*plan, ("rw", rw, ())], key=lambda item: len(item[1].parts)):
        m.add(kind, path, *extra)
    m.args += ["--proc", "/proc", "--dev", "/dev"]
    for path in (Path("/"), *masks):
        m.args += ["--remount-ro", str(path)]
    args = ["bwrap", *m.args, *NAMESPACES, "--die-with-parent", "--new-session", "--chdir", str(rw)]
    uid = sandbox_uid()
    if os.geteuid() != 0:
        return [*args, "--unshare-user", "--", *argv]
    args += ["--cap-drop", "ALL"]
    if uid is None:
        return [*args, "--", *argv]
    drop = [shutil.which("setpriv") or "setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--"]
    return [*args, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", *drop, *argv]


def _tasks_of(uid: int) -> int:
    """Tasks (threads) the host uid runs now: RLIMIT_NPROC counts them all, not only the sandbox's."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


def _prlimit(limits: Rlimits, isolated: bool) -> list[str]:
    uid = sandbox_uid() if isolated else None
    nproc = limits.nproc + _tasks_of(os.getuid() if uid is None else uid)
    return [shutil.which("prlimit") or "prlimit", f"--as={limits.memory_mb << 20}",
            f"--cpu={limits.cpu_s}:{limits.cpu_s + 5}", f"--fsize={limits.file_mb << 20}", f"--nproc={nproc}", "--"]


@functools.lru_cache(maxsize=1)
def isolation_available() -> tuple[bool, str]:
    """Whether bwrap (and prlimit) work here, probed once by running ``true`` in a real sandbox."""
    for tool in ("bwrap", "prlimit"):
        if shutil.which(tool) is None:
            return False, f"{tool} is not installed (Debian: apt-get install {'bubblewrap' if tool == 'bwrap' else 'util-linux'})"
    with tempfile.TemporaryDirectory(prefix="dextog-probe-") as tmp:
        _own(Path(tmp))
        try:
            done = subprocess.run(bwrap_argv([shutil.which("true") or "/bin/true"], SandboxSpec(rw=Path(tmp))),
                                  check=False, capture_output=True, text=True, timeout=60, env=sandbox_env(Path(tmp)))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"bwrap could not be run: {exc}"
    if done.returncode != 0:
        return False, f"bwrap does not work here (exit {done.returncode}): {done.stderr.strip()[-300:]}"
    return True, "bwrap"


def _own(path: Path) -> None:
    """Give the writable folder to the sandbox user (nobody when we are root), so it can write there.

    bwrap, root without capabilities by then, must still enter it (``--chdir``): hence o+x."""
    uid = sandbox_uid()
    if uid is not None:
        os.chown(path, uid, uid)
        os.chmod(path, os.stat(path).st_mode & 0o7777 | 0o011)


def chown_tree(root: Path, uid: int) -> None:
    """``lchown`` every entry under ``root`` (never following links): hand a folder over, or take it back."""
    os.lchown(root, uid, uid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)


@dataclass
class Started:
    """A sandboxed process: its stderr goes to a parent-only temporary file, capped by RLIMIT_FSIZE."""

    proc: subprocess.Popen
    stderr: IO[bytes]
    isolated: bool

    def kill(self) -> None:
        """SIGKILL the process group; in a sandbox, bwrap's death takes the whole pid namespace with it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(OSError):
                    pipe.close()

    def stderr_tail(self, size: int = STDERR_TAIL) -> str:
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - size))
        return self.stderr.read().decode("utf-8", "replace")


def start(argv: list[str], spec: SandboxSpec, trust: bool = False) -> Started:
    """Start ``argv`` sandboxed, stdin/stdout as pipes. Raises SandboxRefused without isolation unless ``trust``.

    With ``trust=True`` and no bwrap the process still gets the rlimits, the scrubbed environment and the
    private working folder, but sees the whole host: only for code you would run yourself.
    """
    ok, why = isolation_available()
    if not ok and not trust:
        raise SandboxRefused(f"not running untrusted code without isolation ({why}); install bubblewrap, or pass "
                             f"trust=True for code you trust (it then runs with resource limits only)")
    if ok:
        _own(spec.rw)
    command = [*_prlimit(spec.rlimits, ok), *(bwrap_argv(argv, spec) if ok else argv)]
    stderr = tempfile.TemporaryFile(prefix="dextog-sandbox-")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, cwd=spec.rw,
                            env=sandbox_env(spec.rw, spec.extra_env), start_new_session=True)
    return Started(proc, stderr, ok)


def exit_signal(returncode: int, isolated: bool) -> int | None:
    """The signal that ended the process: negative codes directly, bwrap's ``128 + signal`` in a sandbox."""
    if returncode < 0:
        return -returncode
    if isolated and 128 < returncode < 128 + 65:
        return returncode - 128
    return None
