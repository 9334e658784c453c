"""The ``.npz`` layout of a grasp set, written atomically and read as if the file were hostile.

Grasp files come from anyone (a leaderboard submission is one), so nothing in them is trusted:
the zip directory, every ``.npy`` header and the JSON metadata are checked *before* numpy
allocates or parses anything, pickled members are refused, and every problem becomes a
:class:`GraspFileError` naming the file and the field. This module knows the layout only;
:mod:`dextog_gym.grasps.format` turns the members into a validated ``Grasps``.

What a file may declare is capped so that a few compressed megabytes cannot cost gigabytes: the
end-of-directory record bounds the zip directory before ``zipfile`` parses it, the directory's
uncompressed sizes bound each member before it is opened, the ``.npy`` headers bound the row
counts before any array exists, and ``object_index`` (4-8 bytes a row) bounds the rows per object
before the large arrays are read.

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
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dextog_gym.files import atomic_write
from dextog_gym.hand.model import JOINT_NAMES, NUM_JOINTS

FORMAT = "dextog-grasps/1"
# Row caps. Shipped sets hold at most 400 grasps per object (published result sets 16), and a
# leaderboard entry is one file per object or one merged file for 80 objects. 10,000 per object is
# 25x the largest shipped set; 200,000 per file is 80 objects x 2,500. Without them a 4.5 MB file of
# 2 M identical rows took `dextog evaluate` to 4.9 GB; the largest file both caps accept (float64,
# every extra) loads in ~0.4 GB (benchmarks/hostile_peak_rss.py).
MAX_GRASPS = 200_000
MAX_GRASPS_PER_OBJECT = 10_000
MAX_EXTRAS = 64
MAX_ITEMSIZE = 8  # float64 / int64: wider dtypes (long double) add nothing but bytes
# Uncompressed, all arrays together: MAX_GRASPS rows of float64 positions, quats, joints and
# object_index plus MAX_EXTRAS float64 extras (~154 MB) fit; every member has its own cap below.
MAX_TOTAL_BYTES = 160 << 20
MAX_META_BYTES = 1 << 20  # the largest shipped meta_json is 3.3 kB; parsed JSON costs ~16x its size
NPY_HEADER_BYTES = 16 << 10  # magic + length + header dict; numpy itself stops at 10,000 bytes
ZIP_ENTRY_BYTES = 1 << 10  # one central-directory entry: 46 bytes + name + extra fields (~64 in practice)
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
_MAX_MEMBERS = len(_ARRAYS) + 1 + MAX_EXTRAS
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
    """``(arrays, extras, meta)`` of a grasp file, every member checked for name, size, dtype, shape.

    Reads from one open handle in a fixed order (directory, headers, meta, ``object_index``, the
    rest), so every cap is checked before the data it protects is decompressed.
    """
    path = Path(path)
    if not path.is_file():
        raise GraspFileError(path, "file not found (or not a regular file)")
    if path.stat().st_size > MAX_TOTAL_BYTES + MAX_META_BYTES:
        raise GraspFileError(path, f"file larger than {MAX_TOTAL_BYTES + MAX_META_BYTES} bytes")
    try:
        with path.open("rb") as fh:
            entries, directory = zip_directory(fh)
            if entries > _MAX_MEMBERS:
                raise GraspFileError(path, f"{entries} members; at most {MAX_EXTRAS} extras are allowed")
            if directory > _MAX_MEMBERS * ZIP_ENTRY_BYTES:
                raise GraspFileError(path, f"zip directory of {directory} bytes for {entries} members "
                                     f"(cap {_MAX_MEMBERS * ZIP_ENTRY_BYTES})")
            with zipfile.ZipFile(fh) as zf:
                infos = _check_members(path, zf)
                headers = {key: _npy_header(path, key, zf, info) for key, info in infos.items()}
                n = _check_headers(path, headers)
                meta = _parse_meta(path, _read_member(path, "meta_json", zf, infos, headers), n)
                loaded = {"object_index": _read_member(path, "object_index", zf, infos, headers)}
                _check_per_object(path, loaded["object_index"], meta["object_ids"])
                for key in headers:
                    if key not in loaded and key != "meta_json":
                        loaded[key] = _read_member(path, key, zf, infos, headers)
    except GraspFileError:
        raise
    except zipfile.BadZipFile as exc:
        raise GraspFileError(path, f"not a readable .npz (zip) archive: {exc}") from None
    except (EOFError, OSError, ValueError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise GraspFileError(path, f"unreadable or truncated ({type(exc).__name__}: {exc})") from None
    extras = {k[len(EXTRA_PREFIX):]: loaded.pop(k) for k in list(loaded) if k.startswith(EXTRA_PREFIX)}
    return loaded, extras, meta


_EOCD_SIG, _ZIP64_LOCATOR_SIG, _ZIP64_EOCD_SIG = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_EOCD = struct.Struct("<4s4H2LH")  # signature, disks, entries here, entries, size, offset, comment
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # signature, disk, offset of the zip64 record, disks
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disks, entries here, entries, size, offset


def zip_directory(fh: BinaryIO) -> tuple[int, int]:
    """``(entries, directory bytes)`` as ``zipfile`` will read them from the end-of-directory records.

    ``zipfile.ZipFile`` reads the whole directory and builds a Python object per entry (~0.5 kB,
    from ~60 bytes on disk) before anyone can count them. This finds the same records the same way
    (CPython's ``_EndRecData``: the record at the very end, else the last signature in the final
    64 KiB; then a zip64 record wherever a locator precedes it), so a caller can refuse a directory
    that would cost more than its members ever could. ``zipfile.BadZipFile`` when there is none.
    """
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    record, at = b"", -1
    if size >= _EOCD.size:
        fh.seek(size - _EOCD.size)
        record, at = fh.read(_EOCD.size), size - _EOCD.size
    if not (record[:4] == _EOCD_SIG and record[-2:] == b"\0\0"):  # not there with an empty comment
        start = max(size - 0xFFFF - 1 - _EOCD.size, 0)
        fh.seek(start)
        tail = fh.read()
        found = tail.rfind(_EOCD_SIG)
        record, at = tail[found:found + _EOCD.size], start + found
        if found < 0 or len(record) != _EOCD.size:
            raise zipfile.BadZipFile("File is not a zip file")
    entries, directory = _EOCD.unpack(record)[4:6]
    if at >= _ZIP64_LOCATOR.size + _ZIP64_EOCD.size:
        fh.seek(at - _ZIP64_LOCATOR.size)
        if fh.read(4) == _ZIP64_LOCATOR_SIG:  # zipfile then takes the zip64 record just before the locator
            fh.seek(at - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size)
            zip64 = fh.read(_ZIP64_EOCD.size)
            if zip64[:4] == _ZIP64_EOCD_SIG:
                entries, directory = _ZIP64_EOCD.unpack(zip64)[7:9]
    fh.seek(0)
    return int(entries), int(directory)


def _member_cap(key: str) -> int:
    """Most uncompressed bytes a member may declare: its header plus MAX_GRASPS rows of 8-byte items."""
    if key == "meta_json":
        return MAX_META_BYTES
    width = math.prod(_ARRAYS[key][1]) if key in _ARRAYS else 1
    return min(MAX_TOTAL_BYTES, NPY_HEADER_BYTES + MAX_GRASPS * width * MAX_ITEMSIZE)


def _check_members(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Names, count, flags and declared sizes of the zip members, before any is decompressed."""
    infos = zf.infolist()
    if len(infos) > _MAX_MEMBERS:
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
        cap = _member_cap(key)
        if info.file_size > cap:
            room = "" if key == "meta_json" else f", room for MAX_GRASPS={MAX_GRASPS} rows"
            raise GraspFileError(path, f"declares {info.file_size} bytes uncompressed (cap {cap}{room})", key)
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
    """Shape and dtype from a member's ``.npy`` header, refusing pickles and sizes the member lacks.

    The data after the header must be exactly what the header describes: a shorter member is
    truncated, a longer one hides bytes that nothing would read (or CRC-check).
    """
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
        data_bytes = info.file_size - fp.tell()
    if dtype.hasobject:
        raise GraspFileError(path, "object array (pickled data) refused", key)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != data_bytes:
        raise GraspFileError(path, f"header claims {nbytes} bytes of data, member holds {data_bytes} "
                             "after the header", key)
    return tuple(shape), dtype


def _read_member(path: Path, key: str, zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo],
                 headers: dict[str, tuple[tuple[int, ...], np.dtype]]) -> np.ndarray:
    """One member's array, read to its end so the zip CRC is checked, as its header described it."""
    with zf.open(infos[key]) as fp:
        arr = np.lib.format.read_array(fp, allow_pickle=False)
        if fp.read(1):
            raise GraspFileError(path, "changed while being read", key)
    if (arr.shape, arr.dtype) != headers[key]:
        raise GraspFileError(path, "changed while being read", key)
    return arr


def _check_per_object(path: Path, object_index: np.ndarray, object_ids: list[str]) -> None:
    """No object may hold more than MAX_GRASPS_PER_OBJECT rows (values out of range are left to Grasps)."""
    if len(object_index) <= MAX_GRASPS_PER_OBJECT:
        return
    values, counts = np.unique(object_index, return_counts=True)
    worst = int(np.argmax(counts))
    if counts[worst] > MAX_GRASPS_PER_OBJECT:
        value = int(values[worst])
        who = f"object {object_ids[value]!r} (index {value})" if 0 <= value < len(object_ids) else f"index {value}"
        raise GraspFileError(path, f"{who} has {counts[worst]} grasps; at most MAX_GRASPS_PER_OBJECT="
                             f"{MAX_GRASPS_PER_OBJECT} per object (split the set or keep the best)",
                             "object_index")


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
            ok_dtype = dtype.kind in kinds and dtype.fields is None and dtype.itemsize <= MAX_ITEMSIZE
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
