"""Starting a training run from committed weights (``dextog train --init``), so verifiers keep improving.

Two sources: a policy bundle (a reference name such as ``stapler_rule_residual``, or a bundle folder), whose
actor layers and observation normalisation are copied into the new PPO model; or a checkpoint ``.zip``
of one of our runs, read as tensors only (never ``PPO.load``, which unpickles). The critic of a bundle
start is fresh (bundles hold the actor only). Every mismatch is refused before training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import sha256_file
from dextog_gym.policies.bundle import META_FILE, WEIGHTS_FILE, PolicyBundle

RESTORED_COUNT = 1e4  # the copied normalisation counts as this many observations; new ones refine it


def init_model(spec: str, model, venv, env_id: str, params: dict[str, Any], load_weights, load_norm) -> dict:
    """Load ``spec`` into ``model`` (and ``venv``'s normalisation); returns what to record in config.json."""
    path = Path(spec)
    if path.suffix == ".zip":
        if not path.is_file():
            raise FileNotFoundError(f"--init {spec}: no such checkpoint")
        load_weights(path, model)
        norm = path.with_name(path.stem + "_norm.npz")
        if norm.is_file():
            load_norm(norm, venv)
        return {"init": str(path), "init_sha256": sha256_file(path)}
    from dextog_gym.policies.evaluate import resolve_policy

    folder = resolve_policy(spec, env_id)
    bundle = PolicyBundle.load(folder)
    bundle.check_env(env_id, venv.observation_space.shape[0], venv.action_space.shape[0])
    base = params.get("base", "none")
    if bundle.meta.get("base", "none") != base:
        raise ValueError(f"--init {spec}: a policy trained with base {bundle.meta.get('base', 'none')!r} cannot "
                         f"start a run with base {base!r}: its actions mean something else")
    _copy_actor(bundle, model, spec)
    if params["normalize"]["norm_obs"]:
        venv.obs_rms.mean = bundle.obs_mean.astype(np.float64).copy()
        venv.obs_rms.var = bundle.obs_var.astype(np.float64).copy()
        venv.obs_rms.count = RESTORED_COUNT
    return {"init": str(folder), "init_sha256": sha256_file(folder / WEIGHTS_FILE),
            "init_meta_sha256": sha256_file(folder / META_FILE)}


def _copy_actor(bundle: PolicyBundle, model, spec: str) -> None:
    import torch
    import torch.nn as nn

    policy = model.policy
    linears = [m for m in policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)] + [policy.action_net]
    if len(linears) != len(bundle.layers):
        raise ValueError(f"--init {spec}: the bundle has {len(bundle.layers)} actor layers, this run's network "
                         f"{len(linears)} (see policy_kwargs.net_arch)")
    for k, (layer, (w, b)) in enumerate(zip(linears, bundle.layers)):
        if tuple(layer.weight.shape) != w.shape:
            raise ValueError(f"--init {spec}: layer {k} is {w.shape} in the bundle, {tuple(layer.weight.shape)} "
                             f"in this run's network")
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(w, dtype=layer.weight.dtype))
            layer.bias.copy_(torch.as_tensor(b, dtype=layer.bias.dtype))
