"""Evaluation jobs on Ray workers: the same jobs, rows and numbers as the local pool, on one machine or a cluster.

Each worker is a Ray actor that builds its environment once (the local pool's initializer) and runs one
job at a time. Jobs are seeded by themselves, so which actor runs a job does not change its row. When an
actor dies (killed, out of memory, its node lost), the job it held goes back in the queue and a fresh
actor takes its place; each job's row is delivered exactly once, so nothing is counted twice. A job that
kills ``MAX_ATTEMPTS`` actors in a row is a bug, not bad luck: the run stops with ``WorkerDiedError``.

``ray.init`` is called here when Ray is not yet running: ``RAY_ADDRESS`` (or ``address``) joins a cluster,
otherwise a local Ray starts with one CPU per worker.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import Any

from dextog_gym.policies.eval_pool import WorkerDiedError, job_key

MAX_ATTEMPTS = 3


def ensure_ray(workers: int, address: str | None = None):
    """Import Ray (a clear error when the extra is missing) and start or join it."""
    try:
        import ray
    except ImportError:
        raise ImportError("--backend ray needs Ray: pip install 'dextog-gym[ray]'") from None
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    return ray


def _actor_class(ray):
    @ray.remote(num_cpus=1)
    class EvalWorker:
        def __init__(self, init: Callable[..., None], initargs: tuple) -> None:
            init(*initargs)

        def run(self, run: Callable[[tuple], dict], job: tuple) -> dict[str, Any]:
            return run(job)

        def pid(self) -> int:
            return os.getpid()

    return EvalWorker


def run_ray(jobs: list[tuple], workers: int, init: Callable[..., None], initargs: tuple,
            run: Callable[[tuple], dict], on_row: Callable[[dict], None], address: str | None = None) -> None:
    """Run ``jobs`` on ``workers`` Ray actors; ``on_row`` sees each job's row once, in completion order."""
    if not jobs:
        return
    ray = ensure_ray(workers, address)
    from ray.exceptions import RayActorError, WorkerCrashedError

    worker_cls = _actor_class(ray)
    queue = deque(jobs)
    attempts: dict[tuple, int] = {}
    delivered: set[tuple] = set()
    running: dict[Any, tuple[Any, tuple]] = {}  # object ref -> (actor, job)
    actors = [worker_cls.remote(init, initargs) for _ in range(min(workers, len(jobs)))]
    idle = list(actors)
    try:
        while queue or running:
            while queue and idle:
                actor, job = idle.pop(), queue.popleft()
                running[actor.run.remote(run, job)] = (actor, job)
            done, _ = ray.wait(list(running), num_returns=1)
            ref = done[0]
            actor, job = running.pop(ref)
            try:
                row = ray.get(ref)
            except (RayActorError, WorkerCrashedError):
                attempts[job] = attempts.get(job, 0) + 1
                if attempts[job] >= MAX_ATTEMPTS:
                    raise WorkerDiedError(f"job {job} killed {MAX_ATTEMPTS} Ray workers in a row; "
                                          f"{len(delivered)} of {len(jobs)} episodes finished") from None
                ray.kill(actor)
                queue.appendleft(job)  # the job goes back first: its row was never delivered
                idle.append(worker_cls.remote(init, initargs))
                continue
            idle.append(actor)
            key = job_key(job)
            if key in delivered:  # cannot happen with one job per actor; kept as the guard it documents
                continue
            delivered.add(key)
            on_row(row)
    finally:
        for actor in actors + idle:
            try:
                ray.kill(actor)
            except Exception:  # already dead
                pass
