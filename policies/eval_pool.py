"""Running evaluation jobs: in this process or in a pool whose broken workers surface at once.

``multiprocessing.Pool.imap`` waits forever for a result a killed worker will never send (measured: a
SIGKILLed worker left ``dextog evaluate`` asleep at 0 % CPU with no output). A
``concurrent.futures.ProcessPoolExecutor`` notices a dead worker within its next management cycle
and fails every pending future with ``BrokenProcessPool``; we turn that into :class:`WorkerDiedError`
naming how far the run got. Finished episodes are never lost: a :class:`PartialResults` file beside
the output is rewritten as rows arrive, and the same command picks them up and runs only the rest.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from dextog_gym.files import atomic_write_json, sha256_text

PARTIAL_FORMAT = "dextog_gym.partial_evaluation/1"
SAVE_EVERY_S = 2.0  # partial results are rewritten at most this often (and always on failure)


class WorkerDiedError(RuntimeError):
    """An evaluation worker process died (killed, out of memory, crashed in C) before finishing its job."""


class PartialResults:
    """Finished episodes of one evaluation, keyed by the plan, kept in ``<out>.partial.json``."""

    def __init__(self, path: Path | None, plan_key: str):
        self.path, self.key = path, plan_key
        self.rows: list[dict[str, Any]] = []
        self._saved_at = 0.0
        if path is not None and path.is_file():
            try:
                doc = json.loads(path.read_text())
                if doc.get("format") == PARTIAL_FORMAT and doc.get("plan_key") == plan_key:
                    self.rows = [r for r in doc["episodes"] if isinstance(r, dict)]
            except (OSError, ValueError, KeyError, TypeError):
                self.rows = []  # unreadable: start over, it is only a cache of work

    def done(self) -> set[tuple]:
        return {job_key(r) for r in self.rows}

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if time.monotonic() - self._saved_at > SAVE_EVERY_S:
            self.save()

    def save(self) -> None:
        if self.path is not None and self.rows:
            atomic_write_json(self.path, {"format": PARTIAL_FORMAT, "plan_key": self.key, "episodes": self.rows})
            self._saved_at = time.monotonic()

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def job_key(row_or_job: dict[str, Any] | tuple) -> tuple:
    """(object id, grasp index, episode, seed) of a job tuple or a finished row."""
    if isinstance(row_or_job, dict):
        return (row_or_job["object_id"], row_or_job["grasp_index"], row_or_job["episode"], row_or_job["seed"])
    return tuple(row_or_job)


def plan_key(*parts: Any) -> str:
    return sha256_text(json.dumps(parts, sort_keys=True, default=str))


def run_serial(jobs: Iterable[tuple], init: Callable[..., None], initargs: tuple, run: Callable[[tuple], dict],
               close: Callable[[], None], on_row: Callable[[dict], None]) -> None:
    init(*initargs)
    try:
        for job in jobs:
            on_row(run(job))
    finally:
        close()


def run_parallel(jobs: list[tuple], workers: int, init: Callable[..., None], initargs: tuple,
                 run: Callable[[tuple], dict], on_row: Callable[[dict], None]) -> None:
    """Run ``jobs`` on ``workers`` processes; any worker failure stops the run with a clear error."""
    total, finished = len(jobs), 0
    ex = ProcessPoolExecutor(workers, mp_context=mp.get_context("forkserver"), initializer=init, initargs=initargs)
    try:
        futures = [ex.submit(run, job) for job in jobs]
        for fut in as_completed(futures):  # results in completion order, each kept as soon as it arrives
            exc = fut.exception()
            if exc is not None:
                raise exc
            on_row(fut.result())
            finished += 1
    except BrokenProcessPool:
        raise WorkerDiedError(f"an evaluation worker process died (killed, out of memory, or crashed) after "
                              f"{finished} of {total} episodes") from None
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
