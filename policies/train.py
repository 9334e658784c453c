"""PPO training of one task policy (SB3), resumable after a kill.

A run folder holds everything about one run::

    run/config.json       what was asked (env, grasps, seed, hyperparameters, versions, machine)
    run/tb/               TensorBoard: SB3's curves, the four reward terms, success rates, time shares
    run/checkpoints/      latest.json -> step_<n>.zip (SB3 weights + optimiser) + step_<n>_norm.npz
    run/policy/           the actor as a PolicyBundle (refreshed at every checkpoint and at the end)

Resuming rebuilds the model from the same hyperparameters and loads weights with SB3's
``set_parameters`` (tensors only, ``weights_only``), and the normalisation from our own ``.npz``, so
resuming never unpickles anything.

A run holds ``run/.lock`` (``exclusive_lock``) from before it reads the folder until its last write, so a
second run into the same folder fails at once instead of interleaving its files with the first. Every
file a resume reads is checked before anything is written: a bad one is refused with an error naming
the file and what is wrong, and the folder is left as it was.
"""

from __future__ import annotations

import json
import pickle
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write, atomic_write_json, exclusive_lock
from dextog_gym.policies.bundle import bundle_from_sb3
from dextog_gym.policies.config import (
    HYPERPARAMS_PATH,
    check_hyperparams,
    load_hyperparams,
    sb3_ppo_kwargs,
)
from dextog_gym.policies.provenance import machine_info, versions

KEEP_CHECKPOINTS = 2
RUN_PARTS = ("config.json", "checkpoints", "tb", "policy")  # what a run writes into its folder
NORM_KEYS = ("obs_mean", "obs_var", "obs_count", "ret_mean", "ret_var", "ret_count")
# What reading a damaged or foreign file raises (np.load, zipfile, torch.load with weights_only, json).
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError, RuntimeError, zipfile.BadZipFile,
                pickle.UnpicklingError)


@dataclass
class TrainRequest:
    env_id: str
    out: Path
    grasp_source: str = "rule"
    objects: str = "seen"
    timesteps: int | None = None  # None: the yml's total_timesteps
    base: str | None = None  # None: the yml's ("controller": residual on the task controller; "none": the paper's)
    init: str | None = None  # start a fresh run from a bundle (name or folder) or a checkpoint .zip of ours
    n_envs: int = 2
    seed: int = 0
    checkpoint_every: int = 50_000
    resume: bool = False
    hyperparams: Path = HYPERPARAMS_PATH
    progress: bool = True
    command: str = ""


class _EnvFactory:
    """Picklable env constructor for SubprocVecEnv workers."""

    def __init__(self, env_id: str, grasp_source: str, objects: str, base: str = "none", scale: float = 0.5):
        self.env_id, self.grasp_source, self.objects = env_id, grasp_source, objects
        self.base, self.scale = base, scale

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

        env = dextog_gym.make(self.env_id, grasp_source=self.grasp_source, objects=self.objects)
        if self.base == "controller":
            from dextog_gym.policies.residual import ResidualAction

            env = ResidualAction(env, self.scale)
        return env


def make_training_env(env_id: str, grasp_source: str, objects: str, n_envs: int, seed: int, normalize: dict,
                      base: str = "none", scale: float = 0.5):
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecMonitor,
        VecNormalize,
    )

    factory = _EnvFactory(env_id, grasp_source, objects, base, scale)
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


def read_norm(path: Path, obs_shape: tuple[int, ...]) -> dict[str, Any]:
    """The normalisation statistics of a checkpoint, checked before a resume trusts them: a truncated,
    foreign or non-finite file would otherwise crash deep inside numpy or train on NaN observations."""
    try:
        with open(path, "rb") as fh:  # our own handle: np.load leaks its file when the archive is broken
            data = np.load(fh, allow_pickle=False)
            names = data.files if isinstance(data, np.lib.npyio.NpzFile) else None
            arrays = {key: data[key] for key in NORM_KEYS if names is not None and key in names}
    except _READ_ERRORS as exc:
        raise ValueError(f"{path}: not a readable normalisation .npz ({type(exc).__name__}: {exc})") from None
    if names is None:
        raise ValueError(f"{path}: a single array, not a normalisation .npz of {', '.join(NORM_KEYS)}")
    missing = [key for key in NORM_KEYS if key not in arrays]
    if missing:
        raise ValueError(f"{path}: lacks {', '.join(missing)}")
    for key, value in arrays.items():
        if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
            raise ValueError(f"{path}: {key} has dtype {value.dtype}, expected real numbers")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{path}: {key} is not finite")
    for key, shape in (("obs_mean", obs_shape), ("obs_var", obs_shape), ("obs_count", ()), ("ret_mean", ()),
                       ("ret_var", ()), ("ret_count", ())):
        if arrays[key].shape != shape:
            raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, expected {shape}")
    for key in ("obs_var", "ret_var"):
        if np.any(arrays[key] < 0):
            raise ValueError(f"{path}: {key} is negative")
    for key in ("obs_count", "ret_count"):
        if not arrays[key] > 0:
            raise ValueError(f"{path}: {key} is {arrays[key]}, expected a positive count")
    return {key: (float(value) if key.endswith("_count") else value.astype(np.float64))
            for key, value in arrays.items()}


def _load_norm(path: Path, venv) -> None:
    """Put checked statistics (``read_norm``) into ``venv``; they must fit its observations."""
    norm = read_norm(path, tuple(venv.obs_rms.mean.shape))
    venv.obs_rms.mean, venv.obs_rms.var, venv.obs_rms.count = norm["obs_mean"], norm["obs_var"], norm["obs_count"]
    venv.ret_rms.mean, venv.ret_rms.var, venv.ret_rms.count = norm["ret_mean"], norm["ret_var"], norm["ret_count"]


def _load_weights(path: Path, model) -> None:
    """SB3 weights and optimiser state from a checkpoint (tensors only, ``weights_only``; never ``PPO.load``,
    which unpickles), refused with the file's name when they are damaged or belong to another network."""
    import torch

    try:
        model.set_parameters(str(path), exact_match=True, device="cpu")
    except pickle.UnpicklingError:
        raise ValueError(f"{path}: holds pickled objects besides tensors; refused (a resume never unpickles)") from None
    except _READ_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"{path}: not usable SB3 parameters for this run ({type(exc).__name__}: {first})") from None
    for name, tensor in model.policy.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{path}: parameter {name} is not finite")


def _read_json(path: Path) -> Any:
    """A run file's JSON, or a ValueError naming the file (not a bare JSONDecodeError)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: corrupt JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field(doc: dict, key: str, path: Path, kind: str) -> Any:
    """``doc[key]`` when it has the ``kind`` the trainer relies on, else a ValueError naming file and field."""
    if key not in doc:
        raise ValueError(f"{path}: field {key!r} is missing")
    value = doc[key]
    ok = {"str": isinstance(value, str),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "number": isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value),
          "dict": isinstance(value, dict),
          "list": isinstance(value, list)}[kind]
    if not ok:
        raise ValueError(f"{path}: field {key!r} must be {'a' if kind != 'int' else 'an'} {kind}, got {_short(value)}")
    return value


def read_config(out: Path, asked: dict[str, Any]) -> dict[str, Any]:
    """The run's config.json, checked field by field: a resume rebuilds the model from it, so a damaged or
    edited file must be refused with its name, not fail later with a KeyError after files were written."""
    path = out / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"--resume: {path} does not exist; start the run without --resume")
    config = _read_json(path)
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(config).__name__}")
    for key in ("env_id", "grasp_source", "objects"):
        _field(config, key, path, "str")
    for key, low in (("seed", None), ("n_envs", 1), ("total_timesteps", 1)):
        value = _field(config, key, path, "int")
        if low is not None and value < low:
            raise ValueError(f"{path}: field {key!r} must be at least {low}, got {value}")
    if "trained_timesteps" in config and _field(config, "trained_timesteps", path, "int") < 0:
        raise ValueError(f"{path}: field 'trained_timesteps' is negative")
    if "wall_clock_s" in config and _field(config, "wall_clock_s", path, "number") < 0:
        raise ValueError(f"{path}: field 'wall_clock_s' is negative")
    for key in ("versions", "machine"):
        _field(config, key, path, "dict")
    if not all(isinstance(c, str) for c in _field(config, "commands", path, "list")):
        raise ValueError(f"{path}: field 'commands' must be a list of strings")
    if "sessions" in config and not all(isinstance(s, dict) for s in _field(config, "sessions", path, "list")):
        raise ValueError(f"{path}: field 'sessions' must be a list of objects")
    check_hyperparams(_field(config, "hyperparams", path, "dict"), f"{path}: field 'hyperparams'")
    clash = {k: (config.get(k), v) for k, v in asked.items() if config.get(k) != v}
    if clash:
        raise ValueError(f"--resume: the run in {out} differs from this command: "
                         + ", ".join(f"{k} was {a!r}, now {b!r}" for k, (a, b) in clash.items()))
    return config


def read_latest(out: Path, config: dict[str, Any], n_envs: int = 1) -> dict[str, Any]:
    """The checkpoint a resume continues from, checked against the run: ``latest.json`` is only a pointer,
    and trusting it blindly restarts a run from zero (file gone) or records steps never trained."""
    ckpt = out / "checkpoints"
    path = ckpt / "latest.json"
    if not path.is_file():
        found = sorted(p.name for p in ckpt.glob("step_*")) if ckpt.is_dir() else []
        held = f"; {ckpt} holds {', '.join(found)} but no latest.json says which is complete" if found else ""
        raise ValueError(f"--resume: nothing to resume in {out}: {path} does not exist{held}. Remove the folder "
                         f"or choose another --out to start afresh")
    latest = _read_json(path)
    if not isinstance(latest, dict):
        raise ValueError(f"{path}: corrupt: expected a JSON object, got {type(latest).__name__}")
    steps = _field(latest, "steps", path, "int")
    # A run stops at the first whole rollout past its total, so a checkpoint may lie up to one rollout beyond.
    n_steps = int(config["hyperparams"].get("n_steps", 2048))
    done = max(int(config["total_timesteps"]), int(config.get("trained_timesteps", 0)))
    limit = done + n_steps * max(int(config["n_envs"]), int(n_envs))
    if not 0 <= steps <= limit:
        raise ValueError(f"{path}: field 'steps' is {steps}, outside 0..{limit} (the run's {done} total timesteps "
                         f"in config.json, plus one rollout)")
    name = f"step_{steps:09d}"
    files = {}
    for key, expected in (("weights", f"{name}.zip"), ("norm", f"{name}_norm.npz")):
        value = _field(latest, key, path, "str")
        if "/" in value or "\\" in value or value in ("", ".", ".."):
            raise ValueError(f"{path}: field {key!r} is {_short(value)}; it must name a file inside {ckpt}, not a path")
        if value != expected:
            raise ValueError(f"{path}: field {key!r} is {_short(value)}, but steps {steps} means {expected!r}")
        file = ckpt / value
        if not file.is_file():
            raise ValueError(f"{path}: field {key!r} names {file}, which does not exist")
        if not file.resolve().is_relative_to(ckpt.resolve()):
            raise ValueError(f"{path}: field {key!r} names {file}, which leads outside {ckpt}")
        files[key] = file
    return {"steps": steps, **files}


def _holds(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def _refuse_existing_run(out: Path) -> None:
    """A fresh run must not write into an earlier run's files (curves, checkpoints and policy would mix)."""
    present = [name for name in RUN_PARTS if _holds(out / name)]
    if not present:
        return
    if (out / "config.json").is_file():
        if (out / "checkpoints" / "latest.json").is_file():
            raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        raise ValueError(f"{out} already holds a run that has no checkpoint yet (nothing for --resume to continue); "
                         f"remove the folder or choose another --out")
    raise ValueError(f"{out} already holds part of a run ({', '.join(present)}) but no config.json, so it cannot be "
                     f"resumed; remove the folder or choose another --out")


def _request(req: TrainRequest) -> tuple[dict, int]:
    """The yml's hyperparameters and the total steps asked for, checked before the folder is touched."""
    params = load_hyperparams(req.env_id, req.hyperparams)
    if req.base is not None:
        from dextog_gym.policies.residual import check_base

        check_base(req.base, params.get("residual_scale", 0.5), "--base")
        params = {**params, "base": req.base}
    raw = req.timesteps if req.timesteps is not None else params["total_timesteps"]
    if isinstance(raw, bool) or not (isinstance(raw, int) or isinstance(raw, float) and raw.is_integer()):
        raise ValueError(f"total_timesteps must be a whole number, got {raw!r}")
    total = int(raw)
    if total <= 0 or req.n_envs < 1 or req.checkpoint_every < 1:
        raise ValueError("timesteps, n_envs and checkpoint_every must be positive")
    return params, total


def _prepare(req: TrainRequest, params: dict, total: int) -> tuple[dict, dict | None, dict]:
    """Validate the request against the run folder (called under its lock): a new run must not overwrite
    one, a resumed run must continue the same env, grasps and seed from a checkpoint that checks out."""
    asked = {"env_id": req.env_id, "grasp_source": req.grasp_source, "objects": req.objects, "seed": req.seed}
    if req.resume:
        config = read_config(req.out, asked)
        params = config["hyperparams"]
        latest = read_latest(req.out, config, req.n_envs)
    else:
        _refuse_existing_run(req.out)
        config = {**asked, "hyperparams": params, "n_envs": req.n_envs, "hyperparams_file": str(req.hyperparams),
                  "versions": versions(), "machine": machine_info(), "commands": [], "wall_clock_s": 0.0}
        latest = None
    config["total_timesteps"] = total
    return config, latest, params


def train(req: TrainRequest) -> dict[str, Any]:
    """Train (or continue) a run; returns its summary (also written to config.json)."""
    req.out = Path(req.out)
    params, total = _request(req)
    if req.out.exists() and not req.out.is_dir():
        raise ValueError(f"{req.out} is not a folder; choose another --out")
    if req.resume and not req.out.is_dir():
        raise FileNotFoundError(f"--resume: {req.out} does not exist; start the run without --resume")
    req.out.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(req.out, what="run folder"):
        return _train_locked(req, params, total)


def _train_locked(req: TrainRequest, params: dict, total: int) -> dict[str, Any]:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure

    from dextog_gym.policies.callbacks import (
        EpisodeTermsLogger,
        PeriodicCheckpoint,
        TimingAndProgress,
    )
    from dextog_gym.policies.progress_log import keep_earlier_sessions

    config, latest, params = _prepare(req, params, total)
    torch.set_num_threads(1)
    ckpt_dir = req.out / "checkpoints"
    config["commands"].append(req.command)
    venv = make_training_env(req.env_id, req.grasp_source, req.objects, req.n_envs, req.seed + 1000 *
                             len(config["commands"]), params["normalize"], params.get("base", "none"),
                             params.get("residual_scale", 0.5))
    try:
        try:
            model = PPO("MlpPolicy", venv, seed=req.seed, device="cpu", verbose=0, **sb3_ppo_kwargs(params))
        except (TypeError, ValueError, KeyError, AssertionError) as exc:
            where = req.out / "config.json" if req.resume else req.hyperparams
            raise ValueError(f"{where}: hyperparameters SB3's PPO refuses ({type(exc).__name__}: {exc})") from None
        if latest is not None:
            _load_weights(latest["weights"], model)
            _load_norm(latest["norm"], venv)
            model.num_timesteps = latest["steps"]
        elif req.init is not None:
            from dextog_gym.policies.init_from import init_model

            config.update(init_model(req.init, model, venv, req.env_id, params, _load_weights, _load_norm))
        # Everything a resume reads has been checked; from here on the run writes into its folder.
        ckpt_dir.mkdir(exist_ok=True)
        keep_earlier_sessions(req.out / "tb")  # SB3's csv logger would truncate a resumed run's log
        model.set_logger(configure(str(req.out / "tb"), ["tensorboard", "csv"]))
        try:
            _write(req.out / "config.json", config)
            started, steps_at_start = time.perf_counter(), model.num_timesteps
            wall_before = float(config.get("wall_clock_s", 0.0))  # earlier sessions of a resumed run

            def save(steps: int) -> None:
                name = f"step_{steps:09d}"
                atomic_write(ckpt_dir / f"{name}.zip", model.save)  # a kill mid-save keeps the old file whole
                _save_norm(ckpt_dir / f"{name}_norm.npz", venv)
                _write(ckpt_dir / "latest.json", {"steps": steps, "weights": f"{name}.zip", "norm": f"{name}_norm.npz"})
                others = [p for p in sorted(ckpt_dir.glob("step_*.zip")) if p.name != f"{name}.zip"]
                for old in others[:max(len(others) - (KEEP_CHECKPOINTS - 1), 0)]:
                    old.unlink()
                    old.with_name(old.stem + "_norm.npz").unlink(missing_ok=True)
                config["trained_timesteps"] = steps
                config["wall_clock_s"] = round(wall_before + time.perf_counter() - started, 1)
                _export(model, venv, req, config, params)
                _write(req.out / "config.json", config)

            timing = TimingAndProgress(config["total_timesteps"], show=req.progress)
            callbacks = [EpisodeTermsLogger(), timing, PeriodicCheckpoint(req.checkpoint_every, save)]
            remaining = config["total_timesteps"] - model.num_timesteps
            if remaining > 0:
                model.learn(remaining, callback=callbacks, reset_num_timesteps=False)
        finally:
            model.logger.close()
    finally:
        venv.close()
    elapsed = time.perf_counter() - started
    done = model.num_timesteps - steps_at_start
    save(model.num_timesteps)
    config["wall_clock_s"] = round(wall_before + elapsed, 1)
    config["trained_timesteps"] = int(model.num_timesteps)
    total_s = max(timing.rollout_s + timing.train_s, 1e-9)
    config.setdefault("sessions", []).append({
        "steps": int(done), "wall_clock_s": round(elapsed, 1), "env_steps_per_s": round(done / max(elapsed, 1e-9), 1),
        "rollout_share": round(timing.rollout_s / total_s, 3), "learner_share": round(timing.train_s / total_s, 3)})
    _export(model, venv, req, config, params)
    _write(req.out / "config.json", config)
    return config


def _export(model, venv, req: TrainRequest, config: dict, params: dict) -> None:
    meta = {k: config[k] for k in ("env_id", "grasp_source", "objects", "seed", "n_envs", "versions", "machine",
                                   "commands", "total_timesteps")}
    meta.update(trained_timesteps=int(model.num_timesteps), wall_clock_s=config.get("wall_clock_s"),
                sessions=config.get("sessions", []), hyperparams=params, base=params.get("base", "none"),
                residual_scale=params.get("residual_scale", 0.5))
    obs_rms = venv.obs_rms if params["normalize"]["norm_obs"] else None
    bundle_from_sb3(model, obs_rms, params["normalize"]["clip_obs"], req.env_id, meta).save(req.out / "policy")


def _write(path: Path, data: dict) -> None:
    atomic_write_json(path, data, indent=2, sort_keys=True)
