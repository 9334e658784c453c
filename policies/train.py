"""PPO training of one task policy (SB3), resumable after a kill.

A run folder holds everything about one run::

    run/config.json       what was asked (env, grasps, seed, hyperparameters, versions, machine)
    run/tb/               TensorBoard: SB3's curves, the four reward terms, success rates, time shares
    run/checkpoints/      latest.json -> step_<n>.zip (SB3 weights + optimiser) + step_<n>_norm.npz
    run/policy/           the actor as a PolicyBundle (refreshed at every checkpoint and at the end)

Resuming rebuilds the model from the same hyperparameters and loads weights with SB3's
``set_parameters`` (tensors only, ``weights_only``), and the normalisation from our own ``.npz``, so
resuming never unpickles anything.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write
from dextog_gym.policies.bundle import bundle_from_sb3
from dextog_gym.policies.config import (
    HYPERPARAMS_PATH,
    load_hyperparams,
    sb3_ppo_kwargs,
)
from dextog_gym.policies.provenance import machine_info, versions

KEEP_CHECKPOINTS = 2


@dataclass
class TrainRequest:
    env_id: str
    out: Path
    grasp_source: str = "rule"
    objects: str = "seen"
    timesteps: int | None = None  # None: the yml's total_timesteps
    n_envs: int = 2
    seed: int = 0
    checkpoint_every: int = 50_000
    resume: bool = False
    hyperparams: Path = HYPERPARAMS_PATH
    progress: bool = True
    command: str = ""


class _EnvFactory:
    """Picklable env constructor for SubprocVecEnv workers."""

    def __init__(self, env_id: str, grasp_source: str, objects: str):
        self.env_id, self.grasp_source, self.objects = env_id, grasp_source, objects

    def __call__(self):
        try:
            import torch

            torch.set_num_threads(1)  # workers step physics; torch threads only fight for the cores
        except ImportError:
            pass
        # Placement skips and the rule_relaxed fallback are counted in info and logged; one warning per
        # worker is enough.
        warnings.filterwarnings("once")
        import dextog_gym

        return dextog_gym.make(self.env_id, grasp_source=self.grasp_source, objects=self.objects)


def make_training_env(env_id: str, grasp_source: str, objects: str, n_envs: int, seed: int, normalize: dict):
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecMonitor,
        VecNormalize,
    )

    factory = _EnvFactory(env_id, grasp_source, objects)
    factory().close()  # fail here, with the env's own message, before any worker starts
    fns = [factory] * n_envs
    venv = SubprocVecEnv(fns, start_method="forkserver") if n_envs > 1 else DummyVecEnv(fns)
    venv.seed(seed)
    venv = VecMonitor(venv)
    return VecNormalize(venv, norm_obs=normalize["norm_obs"], norm_reward=normalize["norm_reward"],
                        clip_obs=normalize["clip_obs"], clip_reward=normalize["clip_reward"],
                        gamma=0.99)


def _save_norm(path: Path, venv) -> None:
    atomic_write(path, lambda fh: np.savez(fh, obs_mean=venv.obs_rms.mean, obs_var=venv.obs_rms.var,
                                           obs_count=venv.obs_rms.count, ret_mean=venv.ret_rms.mean,
                                           ret_var=venv.ret_rms.var, ret_count=venv.ret_rms.count))


def _load_norm(path: Path, venv) -> None:
    with np.load(path, allow_pickle=False) as d:
        venv.obs_rms.mean, venv.obs_rms.var, venv.obs_rms.count = d["obs_mean"], d["obs_var"], float(d["obs_count"])
        venv.ret_rms.mean, venv.ret_rms.var, venv.ret_rms.count = d["ret_mean"], d["ret_var"], float(d["ret_count"])


def read_latest(out: Path) -> dict[str, Any] | None:
    path = out / "checkpoints" / "latest.json"
    if not path.is_file():
        return None
    try:
        latest = json.loads(path.read_text())
        steps = int(latest["steps"])
        for key in ("weights", "norm"):
            if not (out / "checkpoints" / latest[key]).is_file():
                raise ValueError(f"{latest[key]} is missing")
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is corrupt ({exc}); remove the run folder or pick another --out") from None
    return {**latest, "steps": steps}


def _prepare(req: TrainRequest) -> tuple[dict, dict | None, dict]:
    """Validate the request against the run folder: a new run must not overwrite one, a resumed run
    must continue the same env, grasps and seed."""
    params = load_hyperparams(req.env_id, req.hyperparams)
    total = int(req.timesteps if req.timesteps is not None else params["total_timesteps"])
    if total <= 0 or req.n_envs < 1 or req.checkpoint_every < 1:
        raise ValueError("timesteps, n_envs and checkpoint_every must be positive")
    config_path = req.out / "config.json"
    asked = {"env_id": req.env_id, "grasp_source": req.grasp_source, "objects": req.objects, "seed": req.seed}
    if req.resume:
        if not config_path.is_file():
            raise FileNotFoundError(f"--resume: {config_path} does not exist; start the run without --resume")
        config = json.loads(config_path.read_text())
        clash = {k: (config.get(k), v) for k, v in asked.items() if config.get(k) != v}
        if clash:
            raise ValueError(f"--resume: the run in {req.out} differs from this command: "
                             + ", ".join(f"{k} was {a!r}, now {b!r}" for k, (a, b) in clash.items()))
        params = config["hyperparams"]
        latest = read_latest(req.out)
    else:
        if config_path.exists():
            raise ValueError(f"{req.out} already holds a run; pass --resume to continue it or choose another --out")
        config = {**asked, "hyperparams": params, "n_envs": req.n_envs, "hyperparams_file": str(req.hyperparams),
                  "versions": versions(), "machine": machine_info(), "commands": [], "wall_clock_s": 0.0}
        latest = None
    config["total_timesteps"] = total
    return config, latest, params


def train(req: TrainRequest) -> dict[str, Any]:
    """Train (or continue) a run; returns its summary (also written to config.json)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure

    from dextog_gym.policies.callbacks import (
        EpisodeTermsLogger,
        PeriodicCheckpoint,
        TimingAndProgress,
    )

    req.out = Path(req.out)
    config, latest, params = _prepare(req)
    torch.set_num_threads(1)
    req.out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = req.out / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)
    config["commands"].append(req.command)
    venv = make_training_env(req.env_id, req.grasp_source, req.objects, req.n_envs, req.seed + 1000 *
                             len(config["commands"]), params["normalize"])
    model = PPO("MlpPolicy", venv, seed=req.seed, device="cpu", verbose=0, **sb3_ppo_kwargs(params))
    if latest is not None:
        model.set_parameters(str(ckpt_dir / latest["weights"]), exact_match=True, device="cpu")
        _load_norm(ckpt_dir / latest["norm"], venv)
        model.num_timesteps = latest["steps"]
    model.set_logger(configure(str(req.out / "tb"), ["tensorboard", "csv"]))
    _write(req.out / "config.json", config)
    started, steps_at_start = time.perf_counter(), model.num_timesteps
    wall_before = float(config.get("wall_clock_s", 0.0))  # earlier sessions of a resumed run

    def save(steps: int) -> None:
        name = f"step_{steps:09d}"
        model.save(ckpt_dir / f"{name}.zip")
        _save_norm(ckpt_dir / f"{name}_norm.npz", venv)
        _write(ckpt_dir / "latest.json", {"steps": steps, "weights": f"{name}.zip", "norm": f"{name}_norm.npz"})
        for old in sorted(ckpt_dir.glob("step_*.zip"))[:-KEEP_CHECKPOINTS]:
            old.unlink()
            old.with_name(old.stem + "_norm.npz").unlink(missing_ok=True)
        config["trained_timesteps"] = steps
        config["wall_clock_s"] = round(wall_before + time.perf_counter() - started, 1)
        _export(model, venv, req, config, params)
        _write(req.out / "config.json", config)

    timing = TimingAndProgress(config["total_timesteps"], show=req.progress)
    callbacks = [EpisodeTermsLogger(), timing, PeriodicCheckpoint(req.checkpoint_every, save)]
    remaining = config["total_timesteps"] - model.num_timesteps
    try:
        if remaining > 0:
            model.learn(remaining, callback=callbacks, reset_num_timesteps=False)
    finally:
        venv.close()
        model.logger.close()
    elapsed = time.perf_counter() - started
    done = model.num_timesteps - steps_at_start
    save(model.num_timesteps)
    config["wall_clock_s"] = round(wall_before + elapsed, 1)
    config["trained_timesteps"] = int(model.num_timesteps)
    total = max(timing.rollout_s + timing.train_s, 1e-9)
    config.setdefault("sessions", []).append({
        "steps": int(done), "wall_clock_s": round(elapsed, 1), "env_steps_per_s": round(done / max(elapsed, 1e-9), 1),
        "rollout_share": round(timing.rollout_s / total, 3), "learner_share": round(timing.train_s / total, 3)})
    _export(model, venv, req, config, params)
    _write(req.out / "config.json", config)
    return config


def _export(model, venv, req: TrainRequest, config: dict, params: dict) -> None:
    meta = {k: config[k] for k in ("env_id", "grasp_source", "objects", "seed", "n_envs", "versions", "machine",
                                   "commands", "total_timesteps")}
    meta.update(trained_timesteps=int(model.num_timesteps), wall_clock_s=config.get("wall_clock_s"),
                sessions=config.get("sessions", []), hyperparams=params)
    obs_rms = venv.obs_rms if params["normalize"]["norm_obs"] else None
    bundle_from_sb3(model, obs_rms, params["normalize"]["clip_obs"], req.env_id, meta).save(req.out / "policy")


def _write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
