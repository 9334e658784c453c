"""A trained policy as plain arrays: what evaluation, ``make demo`` and the leaderboard load.

A bundle is two files in a folder: ``policy.npz`` (the actor's layers, the observation
normalisation) and ``policy.json`` (env id, sizes, activation, how it was trained). Loading never
unpickles (``allow_pickle=False``) and needs no torch: the deterministic action is the actor's mean,
computed in numpy, which is all a rollout needs. Every mismatch (another task, another observation
size, a truncated file, numbers that make actions NaN) is an error naming the bundle before any
rollout starts.

Bundles come from leaderboard entrants, so the loader reads the zip directory and every ``.npy``
header first: unknown members, members larger than a MAX_LAYERS x MAX_WIDTH network could need,
and shapes that do not chain are refused before a single array is decompressed.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write, atomic_write_json
from dextog_gym.grasps.storage import zip_directory

BUNDLE_FORMAT = 1
WEIGHTS_FILE = "policy.npz"
META_FILE = "policy.json"
MAX_LAYERS = 16
MAX_WIDTH = 4096
MAX_META_BYTES = 1 << 20  # policy.json: the shipped ones are ~1.7 kB (hyperparameters, commands, machine)
_NPY_HEADER_BYTES = 16 << 10  # magic + length + header dict; numpy itself stops at 10,000 bytes
_ZIP_ENTRY_BYTES = 1 << 10  # one central-directory entry: 46 bytes + name + extra fields
_MAX_ITEMSIZE = 8  # float64 / int64
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
                                    f"and {META_FILE}, e.g. assets/policies/stapler_rule_residual)")
        for name in (WEIGHTS_FILE, META_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"policy {folder} has no {name}; was training stopped before the first "
                                        "checkpoint?")
        meta_path = folder / META_FILE
        if meta_path.stat().st_size > MAX_META_BYTES:
            raise ValueError(f"{meta_path}: {meta_path.stat().st_size} bytes, more than policy metadata needs "
                             f"(cap {MAX_META_BYTES})")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{meta_path} is not valid JSON: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"{meta_path}: not a dextog policy (format {BUNDLE_FORMAT} expected)")
        try:
            n = int(meta["n_layers"])
            activation, env_id = str(meta["activation"]), str(meta["env_id"])
            clip_obs, epsilon = float(meta["clip_obs"]), float(meta["epsilon"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{meta_path}: missing or bad field {exc}") from None
        if activation not in _ACTIVATIONS or not 1 <= n <= MAX_LAYERS:
            raise ValueError(f"{meta_path}: bad activation {activation!r} or layer count {n}")
        for name, value in (("clip_obs", clip_obs), ("epsilon", epsilon)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{meta_path}: field {name!r} must be a finite number > 0, got {value!r} "
                                 "(observations are divided by sqrt(obs_var + epsilon), then clipped to ±clip_obs)")
        arrays = _read_weights(folder, n)
        layers = [(arrays[f"layer{k}_w"], arrays[f"layer{k}_b"]) for k in range(n)]
        _check_finite(folder, arrays)
        bundle = cls(env_id, layers, activation, arrays["obs_mean"], arrays["obs_var"], clip_obs, epsilon, meta)
        _probe(folder, bundle)
        return bundle

    def check_env(self, env_id: str, obs_size: int, action_size: int) -> None:
        """Refuse to roll out in an env the policy was not trained for."""
        if env_id != self.env_id:
            raise ValueError(f"policy was trained for {self.env_id}, not {env_id}")
        if obs_size != self.obs_size or action_size != self.action_size:
            raise ValueError(f"policy takes {self.obs_size}-D observations and gives {self.action_size}-D actions; "
                             f"{env_id} has {obs_size} and {action_size}")


class _Refused(ValueError):
    """A problem already worded for the user; everything else raised while reading is 'cannot be read'."""


def _expected_members(n: int) -> list[str]:
    return ["obs_mean", "obs_var", *(f"layer{k}_{part}" for k in range(n) for part in "wb")]


def _member_cap(key: str) -> int:
    """Most uncompressed bytes a member may declare: a MAX_WIDTH x MAX_WIDTH (or MAX_WIDTH) float64 array."""
    items = MAX_WIDTH * MAX_WIDTH if key.endswith("_w") else MAX_WIDTH
    return _NPY_HEADER_BYTES + items * _MAX_ITEMSIZE


def _read_weights(folder: Path, n: int) -> dict[str, np.ndarray]:
    """The bundle's arrays as float64, after the directory, the sizes and every header were checked."""
    path = folder / WEIGHTS_FILE
    expected = _expected_members(n)
    most = len(_expected_members(MAX_LAYERS))  # the directory is bounded first, the names then say what is wrong
    try:
        with path.open("rb") as fh:
            entries, directory = zip_directory(fh)
            if entries > most or directory > most * _ZIP_ENTRY_BYTES:
                raise _Refused(f"{path}: zip directory lists {entries} members in {directory} bytes; a policy "
                               f"has at most {most} (MAX_LAYERS={MAX_LAYERS})")
            with zipfile.ZipFile(fh) as zf:
                infos = _check_members(path, zf, expected, n)
                shapes = {key: _npy_header(path, key, zf, info) for key, info in infos.items()}
                missing = [key for key in expected if key not in infos]
                if missing:
                    raise _Refused(f"{path}: missing array {missing[0]!r}")
                _check_shapes(folder, [(shapes[f"layer{k}_w"], shapes[f"layer{k}_b"]) for k in range(n)],
                              shapes["obs_mean"], shapes["obs_var"])
                arrays = {}
                for key in expected:
                    with zf.open(infos[key]) as fp:
                        arr = np.lib.format.read_array(fp, allow_pickle=False)
                        if arr.shape != shapes[key] or fp.read(1):
                            raise _Refused(f"{path}: member {key + '.npy'!r} changed while being read")
                    arrays[key] = np.asarray(arr, dtype=np.float64)
    except _Refused as exc:
        raise ValueError(str(exc)) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, zlib.error, NotImplementedError,
            RuntimeError) as exc:
        raise ValueError(f"{path} cannot be read: {exc}") from None
    return arrays


def _check_members(path: Path, zf: zipfile.ZipFile, expected: list[str], n: int) -> dict[str, zipfile.ZipInfo]:
    """Member names, flags and declared sizes from the zip directory, before any member is opened."""
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        key = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy") or key not in expected:
            raise _Refused(f"{path}: unexpected member {info.filename!r}; a {n}-layer policy holds only "
                           f"{', '.join(expected)}")
        if key in infos:
            raise _Refused(f"{path}: member {info.filename!r} stored twice")
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(f"{path}: member {info.filename!r} is encrypted or uses compression method "
                           f"{info.compress_type}")
        cap = _member_cap(key)
        if info.file_size > cap:
            raise _Refused(f"{path}: member {info.filename!r} declares {info.file_size} bytes uncompressed, more "
                           f"than a MAX_WIDTH={MAX_WIDTH} layer needs (cap {cap})")
        infos[key] = info
    return infos


def _npy_header(path: Path, key: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, ...]:
    """A member's shape from its ``.npy`` header: real numbers only, exactly as many bytes as it holds."""
    name = key + ".npy"
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"member {name!r}: unsupported .npy version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fp)
        data_bytes = info.file_size - fp.tell()
    if dtype.hasobject:
        raise ValueError(f"member {name!r} is an object array (pickled data), refused")
    if dtype.kind not in "iuf" or dtype.fields is not None or dtype.itemsize > _MAX_ITEMSIZE:
        raise _Refused(f"{path}: member {name!r} has dtype {dtype}; expected real numbers")
    if len(shape) != (2 if key.endswith("_w") else 1) or max(shape, default=0) > MAX_WIDTH:
        raise _Refused(f"{path}: member {name!r} has shape {shape}; expected a "
                       f"{'matrix' if key.endswith('_w') else 'vector'} at most MAX_WIDTH={MAX_WIDTH} wide")
    if math.prod(shape) * dtype.itemsize != data_bytes:
        raise ValueError(f"member {name!r}: header claims {math.prod(shape) * dtype.itemsize} bytes of data, "
                         f"member holds {data_bytes}")
    return tuple(shape)


def _check_shapes(folder: Path, layers: list[tuple[tuple[int, ...], tuple[int, ...]]], mean: tuple[int, ...],
                  var: tuple[int, ...]) -> None:
    """Layers chain (out of one = in of the next) and the normalisation fits the first one, from shapes alone."""
    for k, (w, b) in enumerate(layers):
        if len(w) != 2 or b != (w[0],) or max(w) > MAX_WIDTH:
            raise _Refused(f"{folder}: layer {k} has shapes {w} and {b}")
        if k and w[1] != layers[k - 1][0][0]:
            raise _Refused(f"{folder}: layer {k} takes {w[1]} inputs but layer {k - 1} gives {layers[k - 1][0][0]}")
    size = layers[0][0][1]
    if mean != (size,) or var != (size,):
        raise _Refused(f"{folder}: observation normalisation does not match a {size}-D input")


def _check_finite(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Every number finite and every variance >= 0, each failure naming the array (field)."""
    for key, arr in arrays.items():
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            at = np.unravel_index(bad[0], arr.shape)
            what = "weight(s)" if key.startswith("layer") else "value(s)"
            raise ValueError(f"{folder}: field {key!r} has {bad.size} non-finite {what}, e.g. "
                             f"{arr[at]} at {tuple(map(int, at))}")
    negative = np.flatnonzero(arrays["obs_var"] < 0)
    if negative.size:
        raise ValueError(f"{folder}: field 'obs_var' has {negative.size} negative variance(s), e.g. "
                         f"{arrays['obs_var'][negative[0]]} at {int(negative[0])}")


def _probe(folder: Path, bundle: PolicyBundle) -> None:
    """act() on the mean observation and on zeros must be finite; otherwise name the first stage that overflows.

    Every field can be finite on its own while together they overflow (a huge clip_obs letting
    normalised inputs reach 1e300, weights that grow through relu layers); this finds that at load
    time instead of at the first env step.
    """
    act = _ACTIVATIONS[bundle.activation]
    with np.errstate(all="ignore"):
        for name, obs in (("obs_mean", bundle.obs_mean), ("zeros", np.zeros(bundle.obs_size))):
            if np.isfinite(bundle.act(obs)).all():
                continue
            x = bundle.normalise(obs)
            reach = float(np.abs(x).max())
            stage = "normalisation (fields 'obs_mean', 'obs_var', 'epsilon', 'clip_obs')"
            if np.isfinite(x).all():
                for k, (w, b) in enumerate(bundle.layers):
                    x = x @ w.T + b
                    x = act(x) if k < len(bundle.layers) - 1 else x
                    if not np.isfinite(x).all():
                        stage = f"layer {k} (fields 'layer{k}_w', 'layer{k}_b')"
                        break
            raise ValueError(f"{folder}: act() gives non-finite actions on the probe observation {name!r}: "
                             f"{stage} is the first to give non-finite values; normalised inputs reach "
                             f"{reach:.3g} (clip_obs={bundle.clip_obs:g})")


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
