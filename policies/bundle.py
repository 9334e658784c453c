"""A trained policy as plain arrays: what evaluation, ``make demo`` and the leaderboard load.

A bundle is two files in a folder: ``policy.npz`` (the actor's layers, the observation
normalisation) and ``policy.json`` (env id, sizes, activation, how it was trained). Loading never
unpickles (``allow_pickle=False``) and needs no torch: the deterministic action is the actor's mean,
computed in numpy, which is all a rollout needs. Every mismatch (another task, another observation
size, a truncated file) is an error before any rollout starts.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write, atomic_write_json

BUNDLE_FORMAT = 1
WEIGHTS_FILE = "policy.npz"
META_FILE = "policy.json"
MAX_LAYERS = 16
MAX_WIDTH = 4096
_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0),
                "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))}


@dataclass
class PolicyBundle:
    env_id: str
    layers: list[tuple[np.ndarray, np.ndarray]]  # hidden layers then the action head, (W [out, in], b [out])
    activation: str
    obs_mean: np.ndarray
    obs_var: np.ndarray
    clip_obs: float
    epsilon: float = 1e-8
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def obs_size(self) -> int:
        return int(self.layers[0][0].shape[1])

    @property
    def action_size(self) -> int:
        return int(self.layers[-1][0].shape[0])

    def normalise(self, obs: np.ndarray) -> np.ndarray:
        z = (obs - self.obs_mean) / np.sqrt(self.obs_var + self.epsilon)
        return np.clip(z, -self.clip_obs, self.clip_obs)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action(s) for one observation [obs] or a batch [n, obs], clipped to [-1, 1]."""
        x = np.asarray(obs, dtype=np.float64)
        if x.shape[-1] != self.obs_size:
            raise ValueError(f"policy for {self.env_id} takes {self.obs_size}-D observations, got shape {x.shape}")
        x = self.normalise(x)
        act = _ACTIVATIONS[self.activation]
        for w, b in self.layers[:-1]:
            x = act(x @ w.T + b)
        w, b = self.layers[-1]
        return np.clip(x @ w.T + b, -1.0, 1.0).astype(np.float32)

    # --- files -------------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {"obs_mean": self.obs_mean, "obs_var": self.obs_var}
        for k, (w, b) in enumerate(self.layers):
            arrays[f"layer{k}_w"], arrays[f"layer{k}_b"] = w.astype(np.float32), b.astype(np.float32)
        atomic_write(folder / WEIGHTS_FILE, lambda fh: np.savez(fh, **arrays))
        meta = {**self.meta, "format": BUNDLE_FORMAT, "env_id": self.env_id, "activation": self.activation,
                "n_layers": len(self.layers), "clip_obs": self.clip_obs, "epsilon": self.epsilon,
                "obs_size": self.obs_size, "action_size": self.action_size}
        atomic_write_json(folder / META_FILE, meta, indent=2, sort_keys=True)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "PolicyBundle":
        folder = Path(folder)
        if folder.is_file() and folder.name in (WEIGHTS_FILE, META_FILE):
            folder = folder.parent
        if not folder.is_dir():
            raise FileNotFoundError(f"policy {folder} does not exist (expected a folder with {WEIGHTS_FILE} "
                                    f"and {META_FILE}, e.g. policies/reference/stapler_rule)")
        for name in (WEIGHTS_FILE, META_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"policy {folder} has no {name}; was training stopped before the first "
                                        "checkpoint?")
        try:
            meta = json.loads((folder / META_FILE).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{folder / META_FILE} is not valid JSON: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"{folder / META_FILE}: not a dextog policy (format {BUNDLE_FORMAT} expected)")
        try:
            n = int(meta["n_layers"])
            activation, env_id = str(meta["activation"]), str(meta["env_id"])
            clip_obs, epsilon = float(meta["clip_obs"]), float(meta["epsilon"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{folder / META_FILE}: missing or bad field {exc}") from None
        if activation not in _ACTIVATIONS or not 1 <= n <= MAX_LAYERS:
            raise ValueError(f"{folder / META_FILE}: bad activation {activation!r} or layer count {n}")
        try:
            with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as data:
                arrays = {k: np.asarray(data[k], dtype=np.float64) for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
            raise ValueError(f"{folder / WEIGHTS_FILE} cannot be read: {exc}") from None
        try:
            layers = [(arrays[f"layer{k}_w"], arrays[f"layer{k}_b"]) for k in range(n)]
            mean, var = arrays["obs_mean"], arrays["obs_var"]
        except KeyError as exc:
            raise ValueError(f"{folder / WEIGHTS_FILE}: missing array {exc}") from None
        _check_shapes(folder, layers, mean, var)
        return cls(env_id, layers, activation, mean, var, clip_obs, epsilon, meta)

    def check_env(self, env_id: str, obs_size: int, action_size: int) -> None:
        """Refuse to roll out in an env the policy was not trained for."""
        if env_id != self.env_id:
            raise ValueError(f"policy was trained for {self.env_id}, not {env_id}")
        if obs_size != self.obs_size or action_size != self.action_size:
            raise ValueError(f"policy takes {self.obs_size}-D observations and gives {self.action_size}-D actions; "
                             f"{env_id} has {obs_size} and {action_size}")


def _check_shapes(folder: Path, layers, mean: np.ndarray, var: np.ndarray) -> None:
    for k, (w, b) in enumerate(layers):
        if w.ndim != 2 or b.shape != (w.shape[0],) or max(w.shape) > MAX_WIDTH:
            raise ValueError(f"{folder}: layer {k} has shapes {w.shape} and {b.shape}")
        if k and w.shape[1] != layers[k - 1][0].shape[0]:
            raise ValueError(f"{folder}: layer {k} takes {w.shape[1]} inputs but layer {k - 1} gives "
                             f"{layers[k - 1][0].shape[0]}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"{folder}: layer {k} has non-finite weights")
    size = layers[0][0].shape[1]
    if mean.shape != (size,) or var.shape != (size,) or not (np.isfinite(mean).all() and np.isfinite(var).all()) \
            or (var < 0).any():
        raise ValueError(f"{folder}: observation normalisation does not match a {size}-D input")


def bundle_from_sb3(model, obs_rms, clip_obs: float, env_id: str, meta: dict[str, Any]) -> PolicyBundle:
    """Pull the actor (mlp_extractor.policy_net + action_net) out of an SB3 PPO model."""
    import torch.nn as nn

    policy = model.policy
    linears = [m for m in policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)] + [policy.action_net]
    layers = [(m.weight.detach().cpu().double().numpy(), m.bias.detach().cpu().double().numpy()) for m in linears]
    acts = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.ELU: "elu"}
    activation = acts[type(policy.activation_fn()) if isinstance(policy.activation_fn, type) else nn.Tanh]
    size = layers[0][0].shape[1]
    mean = np.zeros(size) if obs_rms is None else np.asarray(obs_rms.mean, dtype=np.float64)
    var = np.ones(size) if obs_rms is None else np.asarray(obs_rms.var, dtype=np.float64)
    return PolicyBundle(env_id, layers, activation, mean, var, float(clip_obs) if obs_rms is not None else 1e9,
                        1e-8, meta)
