"""DiffuTOG model files: weights as ``.npz`` (no pickle) + ``.json`` (config, hand, data, command).

A model file is what gets shipped and what users pass around, so it is read with
``allow_pickle=False`` and checked against the hand it was trained for (joint names, grasp
vector layout and the URDF's collision geometry hash) and against the architecture in its own
config before any weight is copied: a checkpoint for another hand or configuration is a clear
error, never a silent mis-load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write, atomic_write_json, sha256_file
from dextog_gym.grasp_sources.diffutog.representation import GRASP_DIM, POS_SCALE_M
from dextog_gym.hand.model import JOINT_NAMES
from dextog_gym.paths import hand_urdf

FORMAT = "dextog-diffutog-1"
MAX_MODEL_BYTES = 256 * 1024 * 1024


class CheckpointError(ValueError):
    """A model file that is missing, corrupt, or made for another hand or architecture."""


def hand_signature() -> dict[str, Any]:
    return {
        "joint_names": list(JOINT_NAMES),
        "grasp_dim": GRASP_DIM,
        "pos_scale_m": POS_SCALE_M,
        "urdf_sha256": sha256_file(hand_urdf()),
    }


def model_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``foo`` / ``foo.npz`` / ``foo.json`` -> (foo.npz, foo.json)."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".npz", ".json") else p
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def save_model(path: str | os.PathLike, state: dict[str, Any], config: dict[str, Any],
               meta: dict[str, Any], fmt: str = FORMAT) -> Path:
    """Weights (a torch state dict, saved as float32 arrays) + JSON, both written atomically.

    ``fmt`` names the model family (the baselines share this file layout with their own format)."""
    npz, js = model_paths(path)
    arrays = {k: v.detach().cpu().float().numpy() for k, v in state.items()}
    atomic_write(npz, lambda fh: np.savez_compressed(fh, **arrays))
    doc = {"format": fmt, "config": config, "hand": hand_signature(), **meta}
    atomic_write_json(js, doc, indent=2, sort_keys=True)
    return npz


def load_model_file(path: str | os.PathLike, fmt: str = FORMAT) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, json doc) of a model file, validated for format (``fmt``) and hand; arrays not yet shape-checked."""
    npz, js = model_paths(path)
    for p in (npz, js):
        if not p.is_file():
            raise CheckpointError(f"{p}: model file not found (a model is a .npz + .json pair)")
    try:
        doc = json.loads(js.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{js}: not a readable JSON model description ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise CheckpointError(f"{js}: not a {fmt} model (format {doc.get('format') if isinstance(doc, dict) else None!r}, "
                              f"expected {fmt!r})")
    hand = doc.get("hand", {})
    mine = hand_signature()
    for key in ("joint_names", "grasp_dim", "pos_scale_m", "urdf_sha256"):
        if hand.get(key) != mine[key]:
            raise CheckpointError(f"{js}: made for another hand or grasp layout ({key} differs: "
                                  f"{str(hand.get(key))[:80]!r} vs this hand's {str(mine[key])[:80]!r})")
    if npz.stat().st_size > MAX_MODEL_BYTES:
        raise CheckpointError(f"{npz}: {npz.stat().st_size} bytes exceeds {MAX_MODEL_BYTES}")
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except Exception as exc:  # zip errors, pickled objects, truncation: all mean "corrupt"
        raise CheckpointError(f"{npz}: unreadable weights ({type(exc).__name__}: {exc})") from None
    for k, v in arrays.items():
        if v.dtype.kind != "f" or not np.isfinite(v).all():
            raise CheckpointError(f"{npz}: tensor {k!r} is not finite floating point")
    return arrays, doc


def load_denoiser(path: str | os.PathLike, device: str = "cpu"):
    """(Denoiser in eval mode, json doc) from a model file; architecture mismatches are errors."""
    import torch

    from dextog_gym.grasp_sources.diffutog.network import Denoiser, ModelConfig

    arrays, doc = load_model_file(path)
    try:
        config = ModelConfig.from_json(doc["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{model_paths(path)[1]}: bad model config ({exc})") from None
    model = Denoiser(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{model_paths(path)[0]}: weights do not match the config (missing {missing[:3]}, "
                              f"unexpected {extra[:3]})")
    for k, v in expected.items():
        if tuple(v.shape) != arrays[k].shape:
            raise CheckpointError(f"{model_paths(path)[0]}: {k} has shape {arrays[k].shape}, config says "
                                  f"{tuple(v.shape)}")
    model.load_state_dict({k: torch.as_tensor(arrays[k]) for k in expected})
    return model.to(device).eval(), doc
