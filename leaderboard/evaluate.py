"""``dextog leaderboard evaluate``: one submission through the fixed protocol into a result JSON.

The work happens in ``<result>.work/``: the submission's grasps regrouped into one file per task, the
rollouts as benchmark-suite cells (one per task, split and verifier, each resumable episode by episode)
and the metrics per task and split. A killed run, started again with the same command, keeps every
finished cell, episode and metric and runs only the rest.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from dextog_gym.files import atomic_write_json, exclusive_lock, sha256_text
from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.metrics import measure_metrics
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, SEED, SPLITS, TASKS, VERIFIERS, current_inputs, protocol
from dextog_gym.leaderboard.scores import score
from dextog_gym.leaderboard.submission import Submission, load_submission
from dextog_gym.objects.catalog import list_objects

RESULT_FORMAT = "dextog_gym.leaderboard_result/1"
# What a result keeps of each episode: enough to re-score it and to compare a re-run bit for bit.
EPISODE_FIELDS = ("object_id", "grasp_index", "episode", "seed", "skipped", "success", "success_at_end",
                  "lift_success", "return", "steps", "theta_end", "lift_end_m")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def submission_digest(sub: Submission) -> str:
    """One hash of the grasp files' bytes (not the metadata): equal digests, equal grasps."""
    grasp_files = {k: v for k, v in sub.hashes.items() if k.endswith(".npz")}
    return sha256_text(json.dumps(grasp_files, sort_keys=True))


def task_grasps(sub: Submission, task: str) -> Grasps | None:
    """Every grasp the submission gives for ``task``'s objects, in catalogue order (extras dropped)."""
    parts = []
    for oid in list_objects(task, "all"):
        name = sub.by_object.get((oid, task))
        if name is not None:
            part = sub.grasps[name].for_object(oid)
            parts.append(part.replace(extras={}))
    return Grasps.concat(parts) if parts else None


def write_task_files(sub: Submission, folder: Path) -> dict[str, Path | None]:
    """``<folder>/<task>.npz`` per covered task, rewritten only when the submission's grasps changed.

    npz bytes carry a time stamp, so an unchanged file is kept (not rewritten) to keep the suite's cell
    keys, and with them every finished cell, valid across a resume.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.json"
    digest = submission_digest(sub)
    try:
        fresh = json.loads(manifest.read_text()).get("submission") != digest
    except (OSError, ValueError, AttributeError):
        fresh = True
    files: dict[str, Path | None] = {}
    for task in TASKS:
        path = folder / f"{task}.npz"
        grasps = task_grasps(sub, task)
        if grasps is None:
            path.unlink(missing_ok=True)
            files[task] = None
            continue
        if fresh or not path.is_file():
            grasps.save(path)
        files[task] = path
    atomic_write_json(manifest, {"submission": digest})
    return files


def covered(sub: Submission, task: str, split: str) -> list[str]:
    return [o for o in list_objects(task, split) if (o, task) in sub.by_object]


def run_cells(files: dict[str, Path | None], sub: Submission, cells_dir: Path, workers: int, backend: str,
              progress: bool) -> dict[str, dict[str, Any]]:
    """Roll every covered (task, split) out under each verifier; ``"<task>/<split>/<verifier>"`` -> cell."""
    from dextog_gym.workflows.suite import SuiteRequest, run_suite

    cells: dict[str, dict[str, Any]] = {}
    for label, data in VERIFIERS.items():
        for task in TASKS:
            splits = tuple(s for s in SPLITS if files[task] is not None and covered(sub, task, s))
            if not splits:
                continue
            req = SuiteRequest(out=cells_dir, tasks=(task,), sources=(str(files[task]),), splits=splits,
                               policy_data=data, verifier="controller" if data is None else "reference",
                               sample_grasps_per_object=GRASPS_PER_OBJECT, seed=SEED, workers=workers,
                               progress=progress, backend=backend)
            for split, res in zip(splits, run_suite(req)):
                cells[f"{task}/{split}/{label}"] = {
                    "objects": res["meta"]["object_ids"],
                    "episodes": [{k: row.get(k) for k in EPISODE_FIELDS} for row in res["episodes"]]}
    return cells


def evaluate_submission(path: Path, out: Path, workers: int = 0, backend: str = "local",
                        progress: bool = True, metric_workers: int | None = None) -> dict[str, Any]:
    """Evaluate the submission at ``path`` and write the result to ``out`` (also returned)."""
    sub = load_submission(path)
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; give the result file's name, e.g. {out / 'result.json'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.with_name(out.name + ".work")
    started = time.perf_counter()
    with exclusive_lock(out, what="leaderboard result"):
        files = write_task_files(sub, work / "grasps")
        cells = run_cells(files, sub, work / "cells", workers, backend, progress)
        metrics = measure_metrics(files, work / "metrics", metric_workers or workers, progress)
        result = {
            "format": RESULT_FORMAT,
            "submission": {"path": _display_path(path), "meta": sub.meta, "files": sub.hashes,
                           "digest": submission_digest(sub), "num_grasps": sub.num_grasps,
                           "covered": {t: {s: len(covered(sub, t, s)) for s in SPLITS} for t in TASKS}},
            "protocol": protocol(),
            "inputs": current_inputs(),
            "cells": cells,
            "metrics": metrics,
        }
        result["scores"] = score(result)
        result["run"] = {"wall_s": round(time.perf_counter() - started, 1), "workers": workers, "backend": backend,
                         "episodes": sum(len(c["episodes"]) for c in cells.values()),
                         "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write_json(out, result, indent=1)
    return result


def _display_path(path: Path) -> str:
    """The submission's path relative to the working folder when inside it (results move with a checkout)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)
