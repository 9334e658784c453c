"""Roll a policy out from every grasp of a grasp set: the measurement behind the success tables.

Each job is one (object, grasp row, episode) started with the env's reset options, so a result
names exactly which grasp it came from. Actions are the policy's deterministic mean; reset seeds
are fixed by (seed, episode, grasp), so a rerun gives the same numbers. Jobs fan out over worker
processes (each builds the env once); everything is checked — the policy against the env, the
grasp set for emptiness — before the first rollout starts.
"""

from __future__ import annotations

import os
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.envs.fingerprint import simulation_inputs
from dextog_gym.envs.reward import TERM_NAMES
from dextog_gym.files import sha256_file
from dextog_gym.grasps.file_source import grasps_digest
from dextog_gym.paths import reference_policies_dir
from dextog_gym.policies import BACKENDS, CONTROLLER, REFERENCE_POLICY_DATA, reference_verifier
from dextog_gym.policies.bundle import PolicyBundle
from dextog_gym.policies.eval_pool import PartialResults, job_key, plan_key, run_parallel, run_serial
from dextog_gym.policies.provenance import machine_info, versions

REFERENCE_DIR = reference_policies_dir()


@dataclass
class EvalRequest:
    policy: str  # a bundle folder or name, "controller", or "reference" (the task's reference verifier)
    grasps: str = "rule"  # grasp source name or .npz file
    objects: str | list[str] = "seen"
    env_id: str | None = None  # default: the policy's
    episodes_per_grasp: int = 1
    max_grasps_per_object: int | None = None  # first N rows of each object (file order); None = all
    # N grasps of each object drawn across its whole set (seeded by seed and object id), instead of the first N
    sample_grasps_per_object: int | None = None
    max_objects: int | None = None  # first N objects of the split; None = all
    workers: int = 0  # 0: one per core, at most one per job
    backend: str = "local"  # "local": processes here; "ray": Ray workers (policies.ray_pool), same numbers
    seed: int = 0
    progress: bool = True
    # False: an episode ends at the step its success latches (the verdict cannot change after it; see rollout)
    full_episodes: bool = False
    # Objects asked for that the grasps do not cover: an error (False), or left out and listed in the result's
    # "dropped" (True; the leaderboard counts them as failures itself).
    allow_missing: bool = False
    extra_meta: dict[str, Any] = field(default_factory=dict)


def _task_of(env_id: str | None) -> str:
    """The task of ``env_id``, for the 'reference' spec, which names a per-task verifier."""
    from dextog_gym.envs.table import TASK_OF_ENV

    if env_id is None:
        raise ValueError("--verifier reference needs --env (which task's reference verifier?)")
    if env_id not in TASK_OF_ENV:
        raise ValueError(f"unknown env id {env_id!r}; known: {', '.join(TASK_OF_ENV)}")
    return TASK_OF_ENV[env_id]


def resolve_verifier(spec: str, env_id: str | None) -> str:
    """``controller``, or a bundle folder: ``reference`` is the task's reference verifier (REFERENCE_VERIFIERS:
    its residual bundle, or the controller where that was the stronger); anything else as resolve_policy."""
    if spec == "reference":
        choice = reference_verifier(_task_of(env_id))
        return CONTROLLER if choice == CONTROLLER else str(REFERENCE_DIR / choice)
    return CONTROLLER if spec == CONTROLLER else str(resolve_policy(spec, env_id))


def resolve_policy(spec: str, env_id: str | None) -> Path:
    """A bundle: ``reference`` (needs env_id) is the task's residual bundle, also where the controller is its
    reference verifier (a bundle is asked for: --init, export); else a reference name like
    ``stapler_rule_residual``, or a folder."""
    if spec == "reference":
        return REFERENCE_DIR / f"{_task_of(env_id)}_{REFERENCE_POLICY_DATA}"
    path = Path(spec)
    if not path.exists() and (REFERENCE_DIR / spec).is_dir():
        return REFERENCE_DIR / spec
    return path


def _make_env(env_id: str, grasps: str, objects):
    import dextog_gym

    # No passive checker: an unplaceable grasp makes reset raise, and gymnasium's checker then
    # crashes on the next step of a later episode (it keeps the failed first reset's empty data).
    return dextog_gym.make(env_id, grasp_source=grasps, objects=objects, disable_env_checker=True)


def plan_jobs(req: EvalRequest) -> tuple[str, list[tuple[str, int, int, int]], dict[str, Any]]:
    """(env id, jobs, pool facts). Builds the env once in this process: a missing policy, a policy
    for another task or observation size, or a grasp set with no grasps fails here."""
    if req.policy == CONTROLLER and req.env_id is None:
        raise ValueError("--verifier controller needs --env (which task's controller?)")
    verifier = resolve_verifier(req.policy, req.env_id)
    if verifier == CONTROLLER:
        bundle = None
        env_id = req.env_id
    else:
        bundle = PolicyBundle.load(Path(verifier))
        env_id = req.env_id or bundle.env_id
    if req.episodes_per_grasp < 1:
        raise ValueError("episodes per grasp must be at least 1")
    if req.max_grasps_per_object is not None and req.sample_grasps_per_object is not None:
        raise ValueError("give either max grasps per object (the first N) or sample grasps per object, not both")
    for name, value in (("max grasps per object", req.max_grasps_per_object), ("max objects", req.max_objects),
                        ("sample grasps per object", req.sample_grasps_per_object)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1")
    from dextog_gym.envs.grasp_pool import resolve_objects
    from dextog_gym.envs.table import TASK_OF_ENV

    if env_id not in TASK_OF_ENV:
        raise ValueError(f"unknown env id {env_id!r}; known: {', '.join(TASK_OF_ENV)}")
    from dextog_gym.objects.selection import for_task

    # One syntax (objects.selection): a split name stays a name (tables label rows by it), else the ids.
    objects = for_task(req.objects, TASK_OF_ENV[env_id]) if isinstance(req.objects, str) else list(req.objects)
    asked = objects
    if req.max_objects is not None:
        objects = [a.id for a in resolve_objects(TASK_OF_ENV[env_id], objects)][: req.max_objects]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fallbacks and drops are reported in the result instead
        env = _make_env(env_id, req.grasps, objects)
    try:
        if bundle is not None:
            bundle.check_env(env_id, env.observation_space.shape[0], env.action_space.shape[0])
        pool = env.unwrapped.pool
        jobs = []
        for k, (asset, g) in enumerate(zip(pool.assets, pool.grasps)):
            for i in grasp_indices(len(g), asset.id, req):
                for e in range(req.episodes_per_grasp):
                    jobs.append((asset.id, i, e, req.seed + 100_003 * e + 1_009 * k + i))
        if pool.dropped and not req.allow_missing:
            raise ValueError(missing_message(pool.dropped, req.grasps, TASK_OF_ENV[env_id],
                                             [a.id for a in pool.assets]))
        ids = [a.id for a in pool.assets]
        facts = {"object_ids": ids, "source_of": dict(zip(ids, pool.source_of)), "dropped": pool.dropped,
                 "grasps_per_object": {a.id: len(g) for a, g in zip(pool.assets, pool.grasps)},
                 "policy_meta": bundle.meta if bundle is not None else {"verifier": CONTROLLER}, "asked": asked}
    finally:
        env.close()
    if not jobs:
        raise ValueError(f"grasp set {req.grasps!r} gives no episodes for {env_id}")
    return env_id, jobs, facts


def missing_message(dropped: dict[str, str], grasps: str, task: str, covered: list[str]) -> str:
    """Asked-for objects without grasps: which, why, and the two ways on (never a silent drop)."""
    first = next(iter(dropped.values()))
    return (f"{len(dropped)} of the asked {task} objects have no grasps in {grasps!r}: {', '.join(dropped)} "
            f"(e.g. {first}). Evaluate the covered ones (--objects {','.join(covered)}) or pass --allow-missing "
            "to leave the others out (the result lists them)")


def grasp_indices(available: int, object_id: str, req: EvalRequest) -> list[int]:
    """Which grasps of an object to start from: all, the first N, or N drawn across the whole set."""
    if req.sample_grasps_per_object is not None:
        n = min(available, req.sample_grasps_per_object)
        rng = np.random.default_rng([req.seed, zlib.crc32(object_id.encode())])
        return sorted(int(i) for i in rng.choice(available, size=n, replace=False))
    n = available if req.max_grasps_per_object is None else min(available, req.max_grasps_per_object)
    return list(range(n))


_worker: dict[str, Any] = {}


def _init_worker(env_id: str, grasps: str, objects, policy_path: str, full_episodes: bool = True) -> None:
    warnings.simplefilter("ignore")
    _worker["full"] = full_episodes
    _worker["env"] = _make_env(env_id, grasps, objects)
    if policy_path == CONTROLLER:
        from dextog_gym.envs.table import TASK_OF_ENV
        from dextog_gym.policies.controllers import TaskController

        _worker["policy"] = TaskController(TASK_OF_ENV[env_id])
    else:
        from dextog_gym.policies.residual import policy_for

        _worker["policy"] = policy_for(PolicyBundle.load(policy_path), env_id)


def rollout(env, policy, object_id: str, grasp_index: int, seed: int, full: bool = True) -> dict[str, Any]:
    """One deterministic episode from one grasp; ``skipped`` when the grasp cannot be placed.

    ``policy`` is a bundle or a controller (anything with ``act(obs)``; ``reset(env)`` is called after each
    reset when present, and ``grasp_kept()`` is recorded when present).

    ``full=False`` ends the episode at the step where ``is_success`` latches: the verdict is an OR over
    the steps, so nothing after that step can change it, and the rest of the horizon is pure cost (a
    succeeding episode stops after ~35 of 100 steps). It also ends once the env says success can no
    longer latch (``info["can_succeed"]``: a bottle grasp that does not grip the cap at the start). What the remaining steps would have decided —
    whether success still holds at step 100 (``success_at_end``) — is then unknown and recorded as None;
    ``steps``, the return and the end readings are those of the last step run.
    """
    row: dict[str, Any] = {"object_id": object_id, "grasp_index": grasp_index, "seed": seed}
    try:
        obs, info = env.reset(seed=seed, options={"object_id": object_id, "grasp_index": grasp_index})
    except RuntimeError as exc:
        return {**row, "skipped": str(exc)}
    if hasattr(policy, "reset"):
        policy.reset(env)
    sums = dict.fromkeys(TERM_NAMES, 0.0)
    total, steps, done = 0.0, 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        total += reward
        steps += 1
        for name in TERM_NAMES:
            sums[name] += info[name]
        done = terminated or truncated or (not full and (bool(info["is_success"]) or not info["can_succeed"]))
    ended = terminated or truncated
    return {**row, "skipped": None, "steps": steps, "return": total, **{f"return_{k}": v for k, v in sums.items()},
            "success": bool(info["is_success"]), "success_at_end": bool(info["success_now"]) if ended else None,
            "lift_success": bool(info["lift_success"]), "theta_end": float(info["theta"]),
            "lift_end_m": float(info["lift"]), "grasp_source": info["grasp_source"],
            "grasp_kept": policy.grasp_kept() if hasattr(policy, "grasp_kept") else None}


def _run_job(job: tuple[str, int, int, int]) -> dict[str, Any]:
    object_id, grasp_index, episode, seed = job
    return {**rollout(_worker["env"], _worker["policy"], object_id, grasp_index, seed, _worker.get("full", True)),
            "episode": episode}


def run_jobs(env_id: str, grasps: str, objects, policy_path: str, jobs: list[tuple[str, int, int, int]],
             workers: int, backend: str, on_row, bar_total: int | None = None,
             keep: PartialResults | None = None, full_episodes: bool = True) -> int:
    """Roll ``jobs`` out on ``backend`` and hand each finished row to ``on_row``; returns the workers used.

    ``bar_total``: show a progress bar over that many episodes (those not in ``jobs`` count as done).
    ``keep``: saved when the run fails, with a note on the exception saying where the finished rows are.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose {' or '.join(BACKENDS)}")
    workers = max(1, min(workers or (os.cpu_count() or 1), len(jobs) or 1))
    bar = None
    if bar_total is not None:
        from tqdm import tqdm

        bar = tqdm(total=bar_total, initial=bar_total - len(jobs), unit="ep",
                   desc=f"evaluate {env_id.split('/')[1]}", dynamic_ncols=True)

    def on_one(row: dict[str, Any]) -> None:
        on_row(row)
        if bar is not None:
            bar.update()

    initargs = (env_id, grasps, objects, policy_path, full_episodes)
    try:
        if backend == "ray":
            from dextog_gym.policies.ray_pool import run_ray

            run_ray(jobs, workers, _init_worker, initargs, _run_job, on_one)
        elif workers == 1:
            run_serial(jobs, _init_worker, initargs, _run_job, lambda: _worker.pop("env").close(), on_one)
        else:
            run_parallel(jobs, workers, _init_worker, initargs, _run_job, on_one)
    except BaseException as exc:
        if keep is not None:
            keep.save()
            if keep.path is not None and keep.rows and isinstance(exc, Exception):
                exc.add_note(f"{len(keep.rows)} finished episodes are kept in {keep.path}; "
                             "rerun the same command to run only the rest")
        raise
    finally:
        if bar is not None:
            bar.close()
    return workers


def evaluate(req: EvalRequest, partial: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run every job; returns the result document (meta + one row per episode).

    ``partial``: a file where finished episodes are kept while the run goes on (and when a worker dies);
    the same request finds them there and runs only the rest. It is removed once the run completes.
    """
    env_id, jobs, facts = plan_jobs(req)
    policy_path = resolve_verifier(req.policy, req.env_id)
    objects = facts["object_ids"]
    grasp_path = Path(req.grasps)
    on_disk = grasp_path.suffix == ".npz" and grasp_path.is_file() or grasp_path.is_dir()
    policy_hash = CONTROLLER if policy_path == CONTROLLER else sha256_file(Path(policy_path) / "policy.npz")
    key = plan_key(env_id, policy_path, policy_hash, simulation_inputs(), req.grasps,
                   grasps_digest(grasp_path) if on_disk else None,
                   jobs, facts["grasps_per_object"], {"full_episodes": req.full_episodes})
    kept = PartialResults(Path(partial) if partial is not None else None, key)
    done = kept.done()
    todo = [job for job in jobs if job_key(job) not in done]
    started = time.perf_counter()
    workers = run_jobs(env_id, req.grasps, objects, policy_path, todo, req.workers, req.backend, kept.add,
                       bar_total=len(jobs) if req.progress else None, keep=kept, full_episodes=req.full_episodes)
    rows = kept.rows
    wall = time.perf_counter() - started
    rows.sort(key=lambda r: (objects.index(r["object_id"]), r["grasp_index"], r["episode"]))
    from dextog_gym.envs.table import TASK_OF_ENV

    policy_meta = facts.pop("policy_meta")
    asked = facts.pop("asked")
    meta = {"env_id": env_id, "task": TASK_OF_ENV[env_id], "verifier": req.policy, "policy": policy_path,
            "policy_grasp_source": policy_meta.get("grasp_source"),
            "policy_trained_timesteps": policy_meta.get("trained_timesteps"),
            "grasps": req.grasps, "objects": asked,
            "episodes_per_grasp": req.episodes_per_grasp, "max_grasps_per_object": req.max_grasps_per_object,
            "sample_grasps_per_object": req.sample_grasps_per_object,
            "max_objects": req.max_objects, "seed": req.seed, "full_episodes": req.full_episodes,
            "mean_episode_steps": round(float(np.mean([r["steps"] for r in rows if not r.get("skipped")] or [0])), 2), "workers": workers, "wall_clock_s": round(wall, 2),
            "rollouts_per_s": round(len(todo) / max(wall, 1e-9), 2), "resumed_episodes": len(jobs) - len(todo),
            "versions": versions(),
            "machine": machine_info(), **facts, **req.extra_meta}
    return {"meta": meta, "episodes": rows}
