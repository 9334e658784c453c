"""Baseline model files: build a model of a kind, save its EMA weights, load them back checked.

The file layout is DiffuTOG's (``.npz`` weights without pickle + ``.json`` config, hand signature,
data and commands; ``diffutog/checkpoint.py``) under its own format name, so a baseline file never
loads as a DiffuTOG model or the other way round, and a file of another kind or size is refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dextog_gym.grasp_sources.baselines.config import FORMAT, BaselineConfig
from dextog_gym.grasp_sources.diffutog.checkpoint import CheckpointError, load_model_file, model_paths, save_model


def build_model(config: BaselineConfig):
    """A fresh torch module of ``config.kind``."""
    if config.kind == "cvae":
        from dextog_gym.grasp_sources.baselines.cvae import GraspCVAE

        return GraspCVAE(config)
    if config.kind == "contactnet":
        from dextog_gym.grasp_sources.baselines.contactnet import ContactNet

        return ContactNet(config)
    from dextog_gym.grasp_sources.baselines.unidexgrasp import UniDexGraspModel

    return UniDexGraspModel(config)


def save_baseline(path: str | os.PathLike, model, meta: dict[str, Any]) -> Path:
    return save_model(path, model.state_dict(), model.config.to_json(), meta, fmt=FORMAT)


def load_baseline(path: str | os.PathLike, kind: str, device: str = "cpu"):
    """(model in eval mode, json doc); a file of another kind, format, hand or size is a CheckpointError."""
    import torch

    arrays, doc = load_model_file(path, fmt=FORMAT)
    _, js = model_paths(path)
    try:
        config = BaselineConfig.from_json(doc["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{js}: bad baseline config ({exc})") from None
    if config.kind != kind:
        raise CheckpointError(f"{js}: a {config.kind} model, expected a {kind} model")
    model = build_model(config)
    expected = model.state_dict()
    missing, extra = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{js}: weights do not match the config (missing {missing[:3]}, unexpected {extra[:3]})")
    for k, v in expected.items():
        if tuple(v.shape) != arrays[k].shape:
            raise CheckpointError(f"{js}: {k} has shape {arrays[k].shape}, config says {tuple(v.shape)}")
    model.load_state_dict({k: torch.as_tensor(arrays[k]).to(v.dtype) for k, v in expected.items()})
    return model.to(device).eval(), doc
