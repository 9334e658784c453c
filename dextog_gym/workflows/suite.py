"""Evaluate reference policies over grasp sources × object splits × tasks: the Table II run.

One call of ``evaluate`` per cell, each written to ``<out>/<task>__<source>__<split>__policy-<data>.json`` so
a killed run keeps what it finished and ``dextog table`` can rebuild the tables from the folder.

A cell is reused only when it was written for exactly the same inputs: its meta carries ``cell_key``, the
sha256 of every input that changes its numbers (see :func:`cell_inputs`), and a cell whose key differs, is
missing, or whose file cannot be read is re-run and overwritten, with one line on stderr saying why.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dextog_gym
from dextog_gym.envs.fingerprint import simulation_inputs
from dextog_gym.envs.table import ENV_OF_TASK
from dextog_gym.files import exclusive_lock, sha256_file, sha256_text
from dextog_gym.objects.catalog import list_objects
from dextog_gym.paths import grasps_dir
from dextog_gym.policies import reference_verifier
from dextog_gym.policies.bundle import META_FILE, WEIGHTS_FILE
from dextog_gym.policies.evaluate import CONTROLLER, REFERENCE_DIR, EvalRequest, evaluate
from dextog_gym.policies.report import load_result, save_result

CELL_KEY_FORMAT = 1  # bump when the meaning of the key's inputs changes: every stored cell is then re-run
# Meta fields evaluate() writes straight from the request; a reused cell must still agree with them.
_REQUEST_FIELDS = ("env_id", "task", "objects", "episodes_per_grasp", "max_grasps_per_object",
                   "sample_grasps_per_object", "max_objects", "seed", "full_episodes")


@dataclass
class SuiteRequest:
    out: Path
    tasks: tuple[str, ...] = tuple(ENV_OF_TASK)
    sources: tuple[str, ...] = ("rule", "isf")
    splits: tuple[str, ...] = ("seen", "unseen")
    policies: Path = REFERENCE_DIR
    # <task>_<policy_data> bundles for every task (rule_residual, isf_residual, rule_ppo30k, ...); None: each
    # task's reference verifier (policies.REFERENCE_VERIFIERS: its residual bundle, or its controller)
    policy_data: str | None = None
    max_objects: int | None = None
    max_grasps_per_object: int | None = None
    sample_grasps_per_object: int | None = None  # N grasps per object drawn across the whole set (seeded)
    verifier: str = "reference"  # "reference": policies as policy_data says; "controller": the task controllers
    episodes_per_grasp: int = 1
    workers: int = 0
    backend: str = "local"  # "local" (processes on this machine) or "ray" (a Ray cluster): same numbers
    seed: int = 0
    progress: bool = True
    reuse: bool = True  # keep cells in --out whose cell_key matches; False (--fresh) re-runs every cell
    full_episodes: bool = False  # True: every episode runs the whole horizon (False: it ends when its success latches)
    allow_missing: bool = False  # asked objects without grasps: an error, or left out (listed in each cell's meta)


def is_grasp_file(source: str) -> bool:
    """The registry's rule (grasps.registry.get_source): a spec ending in .npz or naming a file or a folder
    (of per-object files) is grasps on disk, not a source name."""
    return source.endswith(".npz") or Path(source).is_file() or Path(source).is_dir()


def source_tag(source: str) -> str:
    """The source's part of a cell file name.

    A registered name is used as is. A grasp file (or folder) is ``<stem>-<8 hex of its absolute path>``, so
    two with the same stem in different folders get different cells instead of overwriting each other's.
    """
    if not is_grasp_file(source):
        return source
    path = Path(source).expanduser().resolve()
    stem = path.name if path.is_dir() else path.stem
    return f"{stem}-{sha256_text(str(path))[:8]}"


def task_verifier(req: SuiteRequest, task: str) -> str:
    """``controller``, or the bundle folder that verifies ``task`` in this run."""
    if req.verifier == CONTROLLER:
        return CONTROLLER
    if req.policy_data is None:
        choice = reference_verifier(task)
        return CONTROLLER if choice == CONTROLLER else str(Path(req.policies) / choice)
    return str(Path(req.policies) / f"{task}_{req.policy_data}")


def verifier_label(req: SuiteRequest) -> str:
    """What the cell files are named after: controller, the policy data, or reference (per-task choice)."""
    return CONTROLLER if req.verifier == CONTROLLER else (req.policy_data or "reference")


def cell_path(out: Path, task: str, source: str, split: str, policy_data: str) -> Path:
    return Path(out) / f"{task}__{source_tag(source)}__{split}__policy-{policy_data}.json"


def _legacy_cell_path(out: Path, task: str, source: str, split: str, policy_data: str) -> Path:
    """Where cells of grasp files were written before the name carried the path tag."""
    return Path(out) / f"{task}__{Path(source).stem}__{split}__policy-{policy_data}.json"


def _hash_or_none(path: Path) -> str | None:
    """A file's sha256, a folder's over its grasp files (file_source.grasps_digest), None when absent."""
    from dextog_gym.grasps.file_source import grasps_digest

    return grasps_digest(path) if path.is_file() or path.is_dir() else None


def _cell_objects(task: str, split: str, max_objects: int | None) -> list[str] | None:
    """The object ids the cell evaluates (evaluate's own order); None when the split is not one we can list."""
    try:
        ids = list_objects(task, split)
    except ValueError:
        return None  # evaluate() reports the bad split itself
    return ids if max_objects is None else ids[:max_objects]


def grasp_inputs(source: str, task: str, split: str, max_objects: int | None,
                 memo: dict[Path, str | None] | None = None) -> dict[str, Any]:
    """What the key knows about the grasps.

    A grasp file: its absolute path and the sha256 of its bytes (all a file source serves). A registered
    name (or ``module:Class``): the name plus the sha256 of each ``<assets>/grasps/<name>/<object>.npz``
    of the cell's objects (None where the object has no shipped set). Not covered, beyond the
    dextog_gym version: grasps generated live (code, DiffuTOG model weights, seeds inside the source)
    and fallbacks to another source's files (``rule`` serving ``rule_relaxed`` ranked from the isf set).
    """
    memo = {} if memo is None else memo

    def digest(path: Path) -> str | None:
        if path not in memo:
            memo[path] = _hash_or_none(path)
        return memo[path]

    if is_grasp_file(source):
        path = Path(source).expanduser().resolve()
        return {"file": str(path), "sha256": digest(path)}
    objects = _cell_objects(task, split, max_objects)
    root = grasps_dir() / source
    shipped = None if objects is None else {o: digest(root / f"{o}.npz") for o in objects}
    inputs: dict[str, Any] = {"source": source, "shipped": shipped}
    for folder in _shipped_from(source):  # a source built on another's files (open_hand: the isf poses)
        inputs.setdefault("derived", {})[folder] = (
            None if objects is None else {o: digest(grasps_dir() / folder / f"{o}.npz") for o in objects})
    return inputs


def _shipped_from(source: str) -> tuple[str, ...]:
    """Other sources' shipped folders a registered source serves from (its class's ``shipped_from``)."""
    from dextog_gym.grasps.registry import _entry_points

    entry = _entry_points().get(source)
    return tuple(getattr(entry.load(), "shipped_from", ())) if entry is not None else ()


def policy_inputs(folder: Path) -> dict[str, str | None]:
    """sha256 of the bundle's two files: its path does not change the numbers, its bytes do."""
    return {name: _hash_or_none(Path(folder) / name) for name in (WEIGHTS_FILE, META_FILE)}


def controller_inputs() -> dict[str, Any]:
    """The controller's identity for a cell key: the hash of the module that defines it."""
    from dextog_gym.policies import controllers

    return {"verifier": CONTROLLER, "controllers.py": sha256_file(Path(controllers.__file__))}


def bundle_inputs(folder: Path) -> dict[str, Any]:
    """A bundle's bytes, and the code that acts with it: a residual bundle adds the controller's action."""
    from dextog_gym.policies import residual

    return {**policy_inputs(folder), "controllers.py": controller_inputs()["controllers.py"],
            "residual.py": sha256_file(Path(residual.__file__))}


def cell_inputs(req: SuiteRequest, task: str, source: str, split: str,
                memo: dict[Path, str | None] | None = None) -> dict[str, Any]:
    """Every input that changes a cell's result (workers, backend and progress do not: rollouts are seeded per job)."""
    verifier = task_verifier(req, task)
    return {
        "format": CELL_KEY_FORMAT,
        "dextog_gym": dextog_gym.__version__,
        "task": task,
        "env_id": ENV_OF_TASK[task],
        "simulation": simulation_inputs(),
        "policy": controller_inputs() if verifier == CONTROLLER else bundle_inputs(Path(verifier)),
        "grasps": grasp_inputs(source, task, split, req.max_objects, memo),
        "objects": split,
        "max_objects": req.max_objects,
        "max_grasps_per_object": req.max_grasps_per_object,
        "sample_grasps_per_object": req.sample_grasps_per_object,
        "episodes_per_grasp": req.episodes_per_grasp,
        "seed": req.seed,
        "full_episodes": req.full_episodes,
    }


def cell_key(inputs: dict[str, Any]) -> str:
    """sha256 of the inputs as canonical JSON (sorted keys, no spaces): equal inputs, equal key."""
    return sha256_text(json.dumps(inputs, sort_keys=True, separators=(",", ":")))


def stale_reason(path: Path, key: str, inputs: dict[str, Any]) -> str | None:
    """None when the cell at ``path`` was written for exactly these inputs; otherwise why it must be re-run.

    Never raises on a damaged file: an unreadable or edited cell is simply stale.
    """
    try:
        meta = load_result(path)["meta"]
    except (OSError, ValueError) as exc:
        return f"unreadable ({exc})"
    stored = meta.get("cell_key")
    if stored is None:
        return "written without a cell key"
    if stored != key:
        old = meta.get("cell_inputs")
        if isinstance(old, dict):
            changed = sorted(k for k in set(old) | set(inputs) if old.get(k) != inputs.get(k))
            if changed:
                return f"changed: {', '.join(changed)}"
        return "its cell key differs"
    old = meta.get("cell_inputs")
    if not isinstance(old, dict) or cell_key(old) != key:
        return "its meta was edited (cell_inputs do not match cell_key)"
    edited = [f for f in _REQUEST_FIELDS if meta.get(f) != inputs[f]]
    if edited:
        return f"its meta was edited ({', '.join(edited)})"
    return None


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_suite(req: SuiteRequest) -> list[dict[str, Any]]:
    unknown = [t for t in req.tasks if t not in ENV_OF_TASK]
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; tasks: {', '.join(ENV_OF_TASK)}")
    if req.verifier not in ("reference", CONTROLLER):
        raise ValueError(f"unknown verifier {req.verifier!r}; use 'reference' or {CONTROLLER!r}")
    verifiers = {t: task_verifier(req, t) for t in req.tasks}
    missing = [t for t, v in verifiers.items() if v != CONTROLLER and not (Path(v) / "policy.npz").is_file()]
    if missing:
        raise FileNotFoundError(f"no {verifier_label(req)} policy for {', '.join(missing)} in {req.policies}")
    memo: dict[Path, str | None] = {}  # each grasp file hashed once per run
    Path(req.out).mkdir(parents=True, exist_ok=True)
    with exclusive_lock(req.out, what="benchmark folder"):  # two runs into one --out would race cell by cell
        return _run_cells(req, memo)


def _run_cells(req: SuiteRequest, memo: dict[Path, str | None]) -> list[dict[str, Any]]:
    results = []
    for task in req.tasks:
        for source in req.sources:
            for split in req.splits:
                path = cell_path(req.out, task, source, split, verifier_label(req))
                inputs = cell_inputs(req, task, source, split, memo)
                key = cell_key(inputs)
                if req.reuse and path.is_file():
                    why = stale_reason(path, key, inputs)
                    if why is None:
                        results.append(load_result(path))
                        continue
                    _say(f"benchmark: re-running {path.name}: {why}")
                res = evaluate(EvalRequest(
                    policy=task_verifier(req, task), grasps=source, objects=split,
                    env_id=ENV_OF_TASK[task], episodes_per_grasp=req.episodes_per_grasp,
                    max_grasps_per_object=req.max_grasps_per_object, max_objects=req.max_objects,
                    sample_grasps_per_object=req.sample_grasps_per_object,
                    workers=req.workers, backend=req.backend, seed=req.seed, progress=req.progress,
                    full_episodes=req.full_episodes, allow_missing=req.allow_missing),
                    partial=path.with_name(path.name + ".partial"))  # a killed cell resumes where it stopped
                res["meta"]["cell_key"] = key
                res["meta"]["cell_inputs"] = inputs
                save_result(res, path)
                path.with_name(path.name + ".partial").unlink(missing_ok=True)  # the cell is complete
                _retire_legacy_cell(req, task, source, split, path)
                results.append(res)
    return results


def _retire_legacy_cell(req: SuiteRequest, task: str, source: str, split: str, path: Path) -> None:
    """Rename a grasp file's cell written under the old stem-only name to ``*.json.stale``.

    It has no key, so it is never reused; left as ``*.json`` it would still be read by ``dextog table``
    next to the new cell. Renamed, not deleted: it is the user's output.
    """
    if not is_grasp_file(source):
        return
    legacy = _legacy_cell_path(req.out, task, source, split, verifier_label(req))
    if legacy == path or not legacy.is_file():
        return
    try:
        meta = load_result(legacy)["meta"]
    except (OSError, ValueError):
        return  # not a result we understand: leave it alone
    if "cell_key" in meta or not is_grasp_file(str(meta.get("grasps"))):
        return  # written by this code, or the cell of a registered source named like the stem
    os.replace(legacy, legacy.with_name(legacy.name + ".stale"))
    _say(f"benchmark: renamed {legacy.name} (a cell of {Path(source).stem}.npz without a key) to {legacy.name}.stale")
