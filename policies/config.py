"""PPO hyperparameters from ``hyperparams/ppo.yml``: the ``default`` block merged with the env's own.

One file is the source of truth for every value a run uses; the merged result is written into the
run's ``config.json`` so a policy records exactly how it was trained.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from dextog_gym.paths import package_data

HYPERPARAMS_PATH = package_data("dextog_gym.policies", "hyperparams", "ppo.yml")
PPO_KEYS = {"learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range", "ent_coef",
            "vf_coef", "max_grad_norm", "policy_kwargs"}
EXTRA_KEYS = {"normalize", "total_timesteps", "base", "residual_scale"}
NORMALIZE_KEYS = {"norm_obs", "norm_reward", "clip_obs", "clip_reward"}
ACTIVATIONS = ("tanh", "relu", "elu")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_hyperparams(env_id: str, path: str | Path = HYPERPARAMS_PATH) -> dict[str, Any]:
    """The merged hyperparameters for ``env_id``; unknown keys or envs are errors, not silently ignored."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"hyperparameter file {path} does not exist")
    table = yaml.safe_load(path.read_text())
    if not isinstance(table, dict) or "default" not in table:
        raise ValueError(f"{path}: expected a mapping with a 'default' block")
    if env_id not in table:
        known = ", ".join(k for k in table if k != "default")
        raise ValueError(f"{path}: no hyperparameters for {env_id!r}; it has: {known}")
    return check_hyperparams(_merge(table["default"], table[env_id] or {}), f"{path} ({env_id})")


def check_hyperparams(params: Any, where: str) -> dict[str, Any]:
    """Refuse hyperparameters the trainer cannot use, naming ``where`` they came from (the yml, or a run's
    config.json on --resume, which a person may have edited), instead of a KeyError deep inside SB3."""
    if not isinstance(params, dict):
        raise ValueError(f"{where}: hyperparameters must be a mapping, got {type(params).__name__}")
    unknown = set(params) - PPO_KEYS - EXTRA_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown hyperparameters {sorted(unknown)}")
    norm = params.get("normalize")
    if not isinstance(norm, dict):
        raise ValueError(f"{where}: 'normalize' must be a mapping with {sorted(NORMALIZE_KEYS)}")
    unknown_norm = set(norm) - NORMALIZE_KEYS
    if unknown_norm:
        raise ValueError(f"{where}: unknown normalize keys {sorted(unknown_norm)}")
    missing = NORMALIZE_KEYS - set(norm)
    if missing:
        raise ValueError(f"{where}: normalize lacks {sorted(missing)}")
    for key in ("norm_obs", "norm_reward"):
        if not isinstance(norm[key], bool):
            raise ValueError(f"{where}: normalize.{key} must be true or false, got {norm[key]!r}")
    for key in ("clip_obs", "clip_reward"):
        if isinstance(norm[key], bool) or not isinstance(norm[key], (int, float)) or not norm[key] > 0:
            raise ValueError(f"{where}: normalize.{key} must be a positive number, got {norm[key]!r}")
    n_steps = params.get("n_steps", 2048)
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"{where}: n_steps must be a positive integer, got {n_steps!r}")
    policy_kwargs = params.get("policy_kwargs", {})
    if not isinstance(policy_kwargs, dict):
        raise ValueError(f"{where}: policy_kwargs must be a mapping")
    act = policy_kwargs.get("activation_fn", "tanh")
    if act not in ACTIVATIONS:
        raise ValueError(f"{where}: activation_fn must be one of {ACTIVATIONS}, got {act!r}")
    from dextog_gym.policies.residual import check_base

    check_base(params.get("base", "none"), params.get("residual_scale", 0.5), where)
    return params


def sb3_ppo_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """The subset SB3's ``PPO`` takes, with the activation name turned into the torch class."""
    import torch.nn as nn

    kwargs = {k: copy.deepcopy(v) for k, v in params.items() if k in PPO_KEYS}
    policy_kwargs = kwargs.setdefault("policy_kwargs", {})
    name = policy_kwargs.get("activation_fn", "tanh")
    policy_kwargs["activation_fn"] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}[name]
    net = policy_kwargs.get("net_arch")
    if isinstance(net, dict):
        policy_kwargs["net_arch"] = {k: list(v) for k, v in net.items()}
    return kwargs
