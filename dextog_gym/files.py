"""Writing and fingerprinting files: the one home for atomic writes and sha256.

Every file we write (grasp sets, models, bundles, results, run state) goes through
:func:`atomic_write`: a uniquely named temporary file beside the target, flushed to disk, then
``os.replace``. Readers never see half a file, a killed process leaves the old file intact, and
two processes writing the same target never share a temporary name (the last complete write wins).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

_BLOCK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in blocks (grasp sets and models can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any], mode: int = 0o644) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, then move it into place.

    ``mode`` is applied before the move (``mkstemp`` makes 0600; our outputs are meant to be shared).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, doc: Any, **dumps: Any) -> Path:
    """``json.dumps(doc, **dumps)`` plus a final newline, written atomically."""
    return atomic_write_text(path, json.dumps(doc, **dumps) + "\n")


class FolderInUseError(RuntimeError):
    """Another live process holds the lock of a run folder or output file."""


@contextlib.contextmanager
def exclusive_lock(target: str | os.PathLike, what: str = "output", wait: float = 0.0):
    """Hold ``<target>.lock`` (or ``<folder>/.lock``) for the block; the file is gone again afterwards.

    With ``wait=0`` (run folders, outputs) another holder is an error at once; with ``wait > 0`` (a short
    read-modify-write such as a cache update) we wait our turn up to ``wait`` seconds first. ``flock``
    locks die with their process, so a killed run never blocks the next one (its file stays behind, holding
    the dead holder's pid, and is reused). The holder removes the file before it lets go; a waiter that
    then wins the lock of the removed file sees it is no longer the one at the path and tries again, so
    two processes never both hold the path.
    """
    import time

    target = Path(target)
    lock_path = target / ".lock" if target.is_dir() else target.with_name(target.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    fd = _take_lock(lock_path, target, what, deadline)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield lock_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()  # still held: nobody can take this file between the unlink and the close
        os.close(fd)  # releases the flock


def _take_lock(lock_path: Path, target: Path, what: str, deadline: float) -> int:
    """An open descriptor holding the flock of the file that is at ``lock_path`` now."""
    import fcntl
    import time

    delay = 0.001
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            if time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
                continue
            raise FolderInUseError(f"{target}: this {what} is in use by another process (pid {holder}); wait "
                                   f"for it to finish or choose another path") from None
        try:
            current = os.stat(lock_path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            return fd
        os.close(fd)  # we locked a file its holder had already removed: take the one at the path now
