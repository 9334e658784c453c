"""The ``.npz`` layout of a grasp set, written atomically and read as if the file were hostile.

Grasp files come from anyone (a leaderboard submission is one), so nothing in them is trusted:
the zip directory, every ``.npy`` header and the JSON metadata are checked *before* numpy
allocates or parses anything, pickled members are refused, and every problem becomes a
:class:`GraspFileError` naming the file and the field. This module knows the layout only;
:mod:`dextog_gym.grasps.format` turns the members into a validated ``Grasps``.

Layout (``np.savez_compressed``; member ``k`` is stored as ``k.npy``)::

    positions     float[N, 3]     quats_wxyz  float[N, 4]     joints  float[N, 24]
    object_index  int[N]          extra__<name>  bool/int/float[N]   (at most MAX_EXTRAS)
    meta_json     uint8[bytes]    UTF-8 JSON: {"format": "dextog-grasps/1", "object_ids": [...],
                                  "tasks": [...], "joint_names": [24 names], "provenance": {...},
                                  "num_grasps": N}   (other keys are ignored)
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write
from dextog_gym.hand.model import JOINT_NAMES, NUM_JOINTS

FORMAT = "dextog-grasps/1"
MAX_GRASPS = 2_000_000
MAX_TOTAL_BYTES = 1 << 30  # uncompressed, all members together: 2M grasps + a dozen extras fit
MAX_META_BYTES = 16 << 20
MAX_EXTRAS = 64
EXTRA_PREFIX = "extra__"
EXTRA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
META_KEYS = ("format", "object_ids", "tasks", "joint_names", "provenance", "num_grasps")

# member -> (allowed dtype kinds, trailing shape); every array's first axis is the grasp count N.
_ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "positions": ("f", (3,)),
    "quats_wxyz": ("f", (4,)),
    "joints": ("f", (NUM_JOINTS,)),
    "object_index": ("iu", ()),
}
_EXTRA_KINDS = "biuf"
_KIND_WORDS = {"f": "real floats", "iu": "integers", "biuf": "bools, integers or floats"}


class GraspFileError(ValueError):
    """A grasp file that cannot be used; the message names the file and, where known, the field."""

    def __init__(self, path: str | os.PathLike, problem: str, field: str | None = None):
        where = f"field '{field}': " if field else ""
        super().__init__(f"{path}: {where}{problem}")
        self.path = str(path)
        self.field = field
        self.problem = problem


def write_npz(path: str | os.PathLike, members: dict[str, np.ndarray]) -> Path:
    """Write members to a temp file beside ``path`` and ``os.replace`` it: all or nothing."""
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **members))


def read_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, extras, meta)`` of a grasp file, every member checked for name, size, dtype, shape."""
    path = Path(path)
    if not path.is_file():
        raise GraspFileError(path, "file not found (or not a regular file)")
    if path.stat().st_size > MAX_TOTAL_BYTES + MAX_META_BYTES:
        raise GraspFileError(path, f"file larger than {MAX_TOTAL_BYTES + MAX_META_BYTES} bytes")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = _check_members(path, zf)
            headers = {key: _npy_header(path, key, zf, info) for key, info in infos.items()}
        n = _check_headers(path, headers)
        loaded: dict[str, np.ndarray] = {}
        with np.load(path, allow_pickle=False) as npz:
            for key, (shape, dtype) in headers.items():
                arr = npz[key]
                if arr.shape != shape or arr.dtype != dtype:
                    raise GraspFileError(path, "changed while being read", key)
                loaded[key] = arr
    except GraspFileError:
        raise
    except zipfile.BadZipFile as exc:
        raise GraspFileError(path, f"not a readable .npz (zip) archive: {exc}") from None
    except (EOFError, OSError, ValueError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise GraspFileError(path, f"unreadable or truncated ({type(exc).__name__}: {exc})") from None
    meta = _parse_meta(path, loaded.pop("meta_json"), n)
    extras = {k[len(EXTRA_PREFIX):]: loaded.pop(k) for k in list(loaded) if k.startswith(EXTRA_PREFIX)}
    return loaded, extras, meta


def _check_members(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Names, count, flags and declared sizes of the zip members, before any is decompressed."""
    infos = zf.infolist()
    if len(infos) > len(_ARRAYS) + 1 + MAX_EXTRAS:
        raise GraspFileError(path, f"{len(infos)} members; at most {MAX_EXTRAS} extras are allowed")
    out: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        key = info.filename.removesuffix(".npy")
        known = key in _ARRAYS or key == "meta_json"
        extra = key.startswith(EXTRA_PREFIX) and EXTRA_NAME.match(key[len(EXTRA_PREFIX):])
        if not info.filename.endswith(".npy") or not (known or extra):
            raise GraspFileError(
                path, f"unexpected member {info.filename!r} (expected {', '.join(_ARRAYS)}, "
                f"meta_json and {EXTRA_PREFIX}<name> arrays)")
        if key in out:
            raise GraspFileError(path, "member stored twice", key)
        if info.flag_bits & 0x1:
            raise GraspFileError(path, "member is encrypted", key)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise GraspFileError(path, f"unsupported compression method {info.compress_type}", key)
        cap = MAX_META_BYTES if key == "meta_json" else MAX_TOTAL_BYTES
        if info.file_size > cap:
            raise GraspFileError(path, f"declares {info.file_size} bytes uncompressed (cap {cap})", key)
        out[key] = info
    missing = [k for k in (*_ARRAYS, "meta_json") if k not in out]
    if missing:
        raise GraspFileError(path, f"missing member(s) {', '.join(missing)}")
    total = sum(info.file_size for key, info in out.items() if key != "meta_json")
    if total > MAX_TOTAL_BYTES:
        raise GraspFileError(path, f"arrays declare {total} bytes uncompressed in all (cap {MAX_TOTAL_BYTES})")
    return out


def _npy_header(
    path: Path, key: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo
) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a member's ``.npy`` header, refusing pickles and oversized claims."""
    with zf.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise GraspFileError(path, f"unsupported .npy version {version}", key)
        except (ValueError, EOFError) as exc:
            raise GraspFileError(path, f"not a valid .npy member ({exc})", key) from None
    if dtype.hasobject:
        raise GraspFileError(path, "object array (pickled data) refused", key)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > info.file_size:
        raise GraspFileError(path, f"header claims {nbytes} bytes of data, member holds {info.file_size}",
                             key)
    return tuple(shape), dtype


def _check_headers(path: Path, headers: dict[str, tuple[tuple[int, ...], np.dtype]]) -> int:
    """Dtypes and shapes of all members agree with the layout and one grasp count N; returns N."""
    shape, _ = headers["positions"]
    n = shape[0] if shape else -1
    if not 0 <= n <= MAX_GRASPS:
        raise GraspFileError(path, f"grasp count {n} outside [0, {MAX_GRASPS}] (shape {shape})", "positions")
    for key, (shape, dtype) in headers.items():
        if key == "meta_json":
            kinds, tail, ok_dtype = "u", (-1,), dtype == np.uint8
        else:
            kinds, tail = _ARRAYS.get(key, (_EXTRA_KINDS, ()))
            ok_dtype = dtype.kind in kinds and dtype.fields is None
            tail = (n, *tail)
        if not ok_dtype:
            want = "uint8 (UTF-8 JSON bytes)" if key == "meta_json" else _KIND_WORDS[kinds]
            raise GraspFileError(path, f"dtype {dtype} not allowed; expected {want}", key)
        if len(shape) != len(tail) or any(t not in (-1, s) for s, t in zip(shape, tail)):
            want = "[bytes]" if key == "meta_json" else "[" + ", ".join(["N", *map(str, tail[1:])]) + "]"
            if key == "joints" and len(shape) == 2:
                want += f" ({NUM_JOINTS} joints in JOINT_NAMES order)"
            raise GraspFileError(path, f"shape {shape}, expected {want} with N={n}", key)
    return n


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _parse_meta(path: Path, raw: np.ndarray, n: int) -> dict[str, Any]:
    """The JSON document in ``meta_json``: format, object ids, tasks, joint names, provenance."""
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise GraspFileError(path, f"not valid UTF-8 JSON ({exc})", "meta_json") from None
    if not isinstance(doc, dict):
        raise GraspFileError(path, f"expected a JSON object, got {type(doc).__name__}", "meta_json")
    missing = [k for k in META_KEYS if k not in doc]
    if missing:
        raise GraspFileError(path, f"missing key(s) {', '.join(missing)}", "meta_json")
    if doc["format"] != FORMAT:
        raise GraspFileError(path, f"unknown format {doc['format']!r}; this version reads {FORMAT!r}",
                             "meta_json.format")
    names = doc["joint_names"]
    if names != list(JOINT_NAMES):
        diff = next((i for i, (a, b) in enumerate(zip(names, JOINT_NAMES)) if a != b), None) \
            if isinstance(names, list) else None
        where = f"entry {diff} is {names[diff]!r}, expected {JOINT_NAMES[diff]!r}" if diff is not None \
            else f"{len(names) if isinstance(names, list) else names!r} names, expected {NUM_JOINTS}"
        raise GraspFileError(path, f"differs from this hand's JOINT_NAMES ({where}): a grasp set for "
                             "another hand or joint order?", "meta_json.joint_names")
    for key in ("object_ids", "tasks"):
        value = doc[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GraspFileError(path, "expected a list of strings", f"meta_json.{key}")
    if not isinstance(doc["provenance"], dict):
        raise GraspFileError(path, "expected a JSON object", "meta_json.provenance")
    count = doc["num_grasps"]
    if type(count) is not int or count != n:
        raise GraspFileError(path, f"{count!r} but the arrays hold {n} grasps", "meta_json.num_grasps")
    return doc
