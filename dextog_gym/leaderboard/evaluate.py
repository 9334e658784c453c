"""``dextog leaderboard evaluate``: grasps through the fixed protocol (``protocol.py``) into a result JSON.

Both tracks end here: the files track hands over a submission's grasp files, the generator track
(``generator_track.py``) the grasps its isolated generator returned per hidden object. The work happens
in ``<result>.work/``: the protocol's grasps (the first 20 distinct per object) regrouped into one file
per task, the rollouts as benchmark-suite cells (one per task, split and verifier, each resumable
episode by episode) and the metrics per task and split. A killed run, started again with the same
command, keeps every finished cell, episode and metric and runs only the rest.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dextog_gym.files import atomic_write_json, exclusive_lock, sha256_text
from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.distinct import take_distinct
from dextog_gym.leaderboard.metrics import measure_metrics
from dextog_gym.leaderboard.protocol import (GRASPS_PER_OBJECT, PRACTICE_SECRET, SPLITS, TASKS, TRACK_LABELS,
                                             VERIFIERS, current_inputs, episode_seed, protocol, secret_digest)
from dextog_gym.leaderboard.scores import score
from dextog_gym.leaderboard.submission import Submission, load_submission
from dextog_gym.objects.catalog import list_objects

RESULT_FORMAT = "dextog_gym.leaderboard_result/2"
# What a result keeps of each episode: enough to re-score it and to compare a re-run bit for bit. Not the
# seed: it follows from the secret, and a published seed would let the next submission replay it.
EPISODE_FIELDS = ("object_id", "grasp_index", "episode", "skipped", "success", "success_at_end",
                  "lift_success", "return", "steps", "theta_end", "lift_end_m")
# One object's grasps for a task (None: none given); the protocol takes its first 20 distinct.
GraspsOf = Callable[[str, str], "Grasps | None"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def submission_digest(sub: Submission) -> str:
    """One hash of the grasp files' bytes (not the metadata): equal digests, equal grasps."""
    grasp_files = {k: v for k, v in sub.hashes.items() if k.endswith(".npz")}
    return sha256_text(json.dumps(grasp_files, sort_keys=True))


def submission_grasps(sub: Submission) -> GraspsOf:
    def of(oid: str, task: str) -> Grasps | None:
        name = sub.by_object.get((oid, task))
        return None if name is None else sub.grasps[name].for_object(oid)

    return of


def protocol_grasps(grasps_of: GraspsOf, task: str) -> tuple[Grasps | None, dict[str, dict[str, int]]]:
    """The protocol's grasps of ``task`` (catalogue order, extras dropped) and per object what was taken."""
    parts, taken = [], {}
    for oid in list_objects(task, "all"):
        g = grasps_of(oid, task)
        if g is None or len(g) == 0:
            continue
        chosen, counts = take_distinct(g.replace(extras={}), GRASPS_PER_OBJECT)
        parts.append(chosen)
        taken[oid] = counts
    return (Grasps.concat(parts) if parts else None), taken


def write_task_files(grasps_of: GraspsOf, folder: Path, digest: str) -> tuple[dict[str, Path | None], dict]:
    """``<folder>/<task>.npz`` per covered task, rewritten only when the grasps changed (``digest``).

    npz bytes carry a time stamp, so an unchanged file is kept (not rewritten) to keep the suite's cell
    keys, and with them every finished cell, valid across a resume.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.json"
    try:
        fresh = json.loads(manifest.read_text()).get("grasps") != digest
    except (OSError, ValueError, AttributeError):
        fresh = True
    files: dict[str, Path | None] = {}
    selection: dict[str, dict[str, dict[str, int]]] = {}
    for task in TASKS:
        path = folder / f"{task}.npz"
        grasps, selection[task] = protocol_grasps(grasps_of, task)
        if grasps is None:
            path.unlink(missing_ok=True)
            files[task] = None
            continue
        if fresh or not path.is_file():
            grasps.save(path)
        files[task] = path
    atomic_write_json(manifest, {"grasps": digest})
    return files, selection


def covered(selection: dict[str, dict[str, Any]], task: str, split: str) -> list[str]:
    return [o for o in list_objects(task, split) if o in selection.get(task, {})]


def cell_request(file: Path, task: str, split: str, label: str, secret: str, workers: int = 0,
                 backend: str = "local", progress: bool = False, full_episodes: bool = False):
    """The suite request of one (task, split, verifier) cell: every protocol grasp in the task file, once."""
    from dextog_gym.workflows.suite import SuiteRequest

    data = VERIFIERS[label]
    return SuiteRequest(out=Path(), tasks=(task,), sources=(str(file),), splits=(split,), policy_data=data,
                        verifier="controller" if data is None else "reference", seed=episode_seed(secret),
                        workers=workers, progress=progress, backend=backend, full_episodes=full_episodes,
                        allow_missing=True)  # objects a submission does not cover score as failures (scores.py)


def run_cells(files: dict[str, Path | None], selection: dict, cells_dir: Path, secret: str, workers: int,
              backend: str, progress: bool, full_episodes: bool) -> dict[str, dict[str, Any]]:
    """Roll every covered (task, split) out under each verifier; ``"<task>/<split>/<verifier>"`` -> cell."""
    from dataclasses import replace

    from dextog_gym.workflows.suite import run_suite

    cells: dict[str, dict[str, Any]] = {}
    for label in VERIFIERS:
        for task in TASKS:
            splits = tuple(s for s in SPLITS if files[task] is not None and covered(selection, task, s))
            if not splits:
                continue
            req = replace(cell_request(files[task], task, splits[0], label, secret, workers, backend, progress,
                                       full_episodes), out=cells_dir, splits=splits)
            for split, res in zip(splits, run_suite(req)):
                cells[f"{task}/{split}/{label}"] = {
                    "objects": res["meta"]["object_ids"],
                    "episodes": [{k: row.get(k) for k in EPISODE_FIELDS} for row in res["episodes"]]}
    return cells


def evaluate_grasps(grasps_of: GraspsOf, digest: str, out: Path, submission: dict[str, Any], track: str,
                    secret: str = PRACTICE_SECRET, workers: int = 0, backend: str = "local", progress: bool = True,
                    full_episodes: bool = False, metric_workers: int | None = None,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the protocol on the grasps ``grasps_of`` gives and write the result to ``out`` (also returned)."""
    if track not in TRACK_LABELS:
        raise ValueError(f"unknown track {track!r}; tracks: {', '.join(TRACK_LABELS)}")
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; give the result file's name, e.g. {out / 'result.json'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.with_name(out.name + ".work")
    started = time.perf_counter()
    with exclusive_lock(out, what="leaderboard result"):
        files, selection = write_task_files(grasps_of, work / "grasps", digest)
        cells = run_cells(files, selection, work / "cells", secret, workers, backend, progress, full_episodes)
        metrics = measure_metrics(files, work / "metrics", metric_workers or workers, progress)
        steps = [e["steps"] for c in cells.values() for e in c["episodes"] if not e["skipped"]]
        result = {
            "format": RESULT_FORMAT,
            "track": track,
            "track_label": TRACK_LABELS[track],
            "submission": {**submission, "digest": digest,
                           "covered": {t: {s: len(covered(selection, t, s)) for s in SPLITS} for t in TASKS}},
            "protocol": protocol(),
            "secret_sha256": secret_digest(secret),
            "inputs": current_inputs(),
            "objects": {t: {s: list_objects(t, s) for s in SPLITS} for t in TASKS},  # what was asked: scores need it
            "selection": selection,
            "cells": cells,
            "metrics": metrics,
            **(extra or {}),
        }
        result["scores"] = score(result)
        result["run"] = {**result.get("run", {}),
                         "wall_s": round(time.perf_counter() - started, 1), "workers": workers, "backend": backend,
                         "episodes": sum(len(c["episodes"]) for c in cells.values()),
                         "full_episodes": full_episodes,
                         "mean_episode_steps": round(float(np.mean(steps)), 2) if steps else None,
                         "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write_json(out, result, indent=1)
    return result


def evaluate_submission(path: Path, out: Path, secret: str = PRACTICE_SECRET, workers: int = 0,
                        backend: str = "local", progress: bool = True, full_episodes: bool = False,
                        metric_workers: int | None = None) -> dict[str, Any]:
    """Files track: the submission (folder or zip) at ``path`` on the public objects."""
    sub = load_submission(path)
    submission = {"path": _display_path(path), "meta": sub.meta, "files": sub.hashes, "num_grasps": sub.num_grasps}
    return evaluate_grasps(submission_grasps(sub), submission_digest(sub), out, submission, "files", secret, workers,
                           backend, progress, full_episodes, metric_workers)


def _display_path(path: Path) -> str:
    """The submission's path relative to the working folder when inside it (results move with a checkout)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)
