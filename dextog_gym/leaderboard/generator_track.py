"""The generator track: run a submitted generator, isolated, on hidden objects, then the protocol.

The evaluator builds the hidden objects from the secret (``hidden.py``), starts the generator once per
object in its sandbox (``generator_runner.py``: no network, memory/CPU/wall limits, a private folder,
the object handed over only after the generator has loaded), asks for exactly ``GRASPS_PER_OBJECT``
grasps with a seed derived from the secret and the object, and times each call itself. What the
generator returned is kept as an ordinary submission folder beside the result (``<result>.grasps/``),
so ``verify`` re-runs the rollouts from exactly those bytes. An object whose generation failed (a
crash, a hang, a memory flood, bad arrays, a refused network call) gets no grasps — 20 failures — and
one line in ``result["generation"]``; the run goes on.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from dextog_gym.files import atomic_write_json, atomic_write_text, sha256_file, sha256_text
from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.evaluate import _display_path, evaluate_grasps, submission_grasps
from dextog_gym.leaderboard.hidden import HIDDEN_PER_CATEGORY, hidden_objects
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, PRACTICE_SECRET, TASKS
from dextog_gym.leaderboard.submission import META_FILE, check_meta, load_submission


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def generation_seed(secret: str, object_id: str) -> int:
    """The seed the generator gets for one object: fixed by the secret, unknown without it."""
    return int(sha256_text(f"dextog_gym generation\0{secret}\0{object_id}")[:8], 16)


def task_text(task: str) -> str:
    """The task sentence a generator is given (the canonical description of the task)."""
    from dextog_gym.grasp_sources.diffutog.language import canonical_sentence

    return canonical_sentence(task)


def generator_identity(generator: str) -> tuple[Path | None, str, str]:
    """(package file or None for a built-in source, what the result calls it, the digest that names it)."""
    path = Path(generator)
    if path.suffix in (".whl", ".gz", ".zip") or path.is_file():
        if not path.is_file():
            raise ValueError(f"{generator}: no such package file (a wheel .whl or an sdist .tar.gz)")
        return path.resolve(), path.name, sha256_file(path)
    import dextog_gym

    return None, generator, sha256_text(f"built-in grasp source {generator} of dextog_gym {dextog_gym.__version__}")


def _generate_all(runner, work: Path, secret: str, progress: bool) -> dict[str, dict[str, Any]]:
    """Every hidden object's outcome (kept in ``work/generated``: a resumed run asks nothing twice)."""
    from dextog_gym.objects.catalog import get_object, list_objects

    store = work / "generated"
    store.mkdir(parents=True, exist_ok=True)
    jobs = [(task, oid) for task in TASKS for oid in list_objects(task, "all")]
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc="generating", unit="obj", dynamic_ncols=True)
    outcomes: dict[str, dict[str, Any]] = {}
    for task, oid in jobs:
        record = store / f"{oid}.json"
        try:
            outcomes[oid] = json.loads(record.read_text())
            continue
        except (OSError, ValueError):
            pass
        out = runner.generate(get_object(oid), task, task_text(task), GRASPS_PER_OBJECT, generation_seed(secret, oid))
        n = 0 if out.grasps is None else len(out.grasps)
        if out.grasps is not None and n:
            out.grasps.replace(extras={}).save(store / f"{oid}.npz")
        outcomes[oid] = {"task": task, "status": out.status, "message": out.message, "grasps": n,
                         "wall_s": round(out.wall_s, 4), "load_s": round(out.load_s, 3), "isolated": out.isolated}
        if not out.ok:
            _say(f"generator: {out.message}")
        atomic_write_json(record, outcomes[oid])
    return outcomes


def _write_generated(folder: Path, store: Path, outcomes: dict[str, dict[str, Any]], meta: dict[str, Any]) -> None:
    """The returned grasps as a submission folder: one file per task plus the metadata."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for task in TASKS:
        parts = [Grasps.load(store / f"{oid}.npz") for oid, o in outcomes.items() if o["task"] == task and o["grasps"]]
        if parts:
            Grasps.concat(parts).save(folder / f"{task}.npz", compact=True)
    atomic_write_text(folder / META_FILE, json.dumps(meta, indent=1) + "\n")


def load_generated(folder: Path) -> tuple[Any, dict[str, str], int]:
    """(grasps_of, file hashes, grasps) of a generated-grasps folder; a generator that returned nothing
    leaves only the metadata, which is no submission, but a result of 0 successes."""
    if any(Path(folder).glob("*.npz")):
        sub = load_submission(folder)
        return submission_grasps(sub), sub.hashes, sub.num_grasps
    check_meta(json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8")))
    return (lambda oid, task: None), {META_FILE: sha256_file(Path(folder) / META_FILE)}, 0


def evaluate_generator(generator: str, out: Path, meta: dict[str, Any], source: str | None = None,
                       secret: str = PRACTICE_SECRET, per_category: int = HIDDEN_PER_CATEGORY, workers: int = 0,
                       backend: str = "local", progress: bool = True, full_episodes: bool = False,
                       trust: bool = False, limits=None) -> dict[str, Any]:
    """Generator track: ``generator`` is a wheel/sdist (untrusted, installed in its own venv) or a built-in
    source name; ``meta`` its submission metadata (``ms_per_grasp`` is replaced by the measured figure)."""
    from dextog_gym.leaderboard.generator_runner import GeneratorRunner, Limits

    package, name, digest = generator_identity(generator)
    if package is None:
        from dextog_gym.leaderboard.generator_env import GeneratorEnvError, builtin_env

        try:
            builtin_env(source or generator)  # an unknown name is the user's mistake: say so before any work
        except GeneratorEnvError as exc:
            raise ValueError(str(exc)) from None
    out = Path(out)
    work = out.with_name(out.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    with hidden_objects(secret, per_category, work / "hidden", progress) as hidden:
        runner = GeneratorRunner(source if package is not None else (source or generator), package, work / "sandbox",
                                 limits or Limits(), trust=trust, hide=(work.resolve(),))
        outcomes = _generate_all(runner, work, secret, progress)
        ok = [o for o in outcomes.values() if o["status"] == "ok" and o["grasps"]]
        ms = 1000 * sum(o["wall_s"] for o in ok) / max(1, sum(o["grasps"] for o in ok)) if ok else None
        meta = check_meta({**meta, "ms_per_grasp": round(ms or 0.0, 1)}, "generator metadata")
        folder = out.with_name(out.name.removesuffix(".json") + ".grasps")
        _write_generated(folder, work / "generated", outcomes, meta)
        grasps_of, hashes, num_grasps = load_generated(folder)
        submission = {"generator": name, "source": getattr(runner.env(), "source", source), "package_sha256": digest
                      if package is not None else None, "meta": meta, "num_grasps": num_grasps}
        failed = {oid: o["message"] for oid, o in outcomes.items() if o["status"] != "ok"}
        extra = {"hidden_objects": {"seed_sha256": hidden.seed_sha256, "per_category": hidden.per_category,
                                    "tree_sha256": hidden.digest},
                 "generated": {"folder": _display_path(folder), "files": hashes},
                 "generation": {"objects": outcomes, "failed": failed, "grasps_asked": GRASPS_PER_OBJECT * len(outcomes),
                                "grasps_returned": sum(o["grasps"] for o in outcomes.values()),
                                "isolated": all(o["isolated"] for o in outcomes.values())},
                 "run": {"ms_per_grasp": None if ms is None else round(ms, 1),
                         "generation_wall_s": round(sum(o["wall_s"] + o["load_s"] for o in outcomes.values()), 1)}}
        return evaluate_grasps(grasps_of, digest, out, submission, "generator", secret, workers, backend,
                               progress, full_episodes, extra=extra)

