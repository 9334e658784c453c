"""``Grasps``: the one grasp format every source returns and every consumer reads.

A grasp is the hand's root-link (wrist) frame in the OBJECT frame (position in metres + unit
quaternion wxyz) and 24 joint angles in ``JOINT_NAMES`` order, for an object whose task is its
category name. Validation lives here, once, so environments, metrics and the leaderboard can
trust any ``Grasps`` they are handed, whether built in memory or loaded from a stranger's file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dextog_gym.grasps import storage
from dextog_gym.grasps.storage import (
    EXTRA_NAME,
    EXTRA_PREFIX,
    FORMAT,
    MAX_EXTRAS,
    GraspFileError,
)
from dextog_gym.hand.model import JOINT_NAMES, NUM_JOINTS, joint_limits
from dextog_gym.objects.spec import CATEGORIES

QUAT_TOL = 1e-3  # |‖q‖ - 1| allowed before normalising: float32 round trips, 4-digit text
# Farthest a wrist origin may sit from the object origin. All 247 shipped and published sets reach
# at most 0.258 m, so 1 m is ~4x any real grasp (room for larger objects and new sources) yet still
# refuses wrists that cannot be touching the object (millimetres saved as metres, 1 km, 1e30 m)
# before an environment places the hand there.
MAX_WRIST_DISTANCE_M = 1.0
JOINT_TOL = 1e-3  # rad outside the URDF limits allowed before clipping onto them
_SHOW = 5  # offending grasps named in an error message


def _real(name: str, value: Any, tail: tuple[int, ...]) -> np.ndarray:
    """A finite float64 copy of shape [N, *tail]; ints are accepted, bools and objects are not."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1 + len(tail) or arr.shape[1:] != tail:
        want = "[" + ", ".join(["N", *map(str, tail)]) + "]"
        raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=tuple(range(1, arr.ndim))))
    if bad.size:
        raise ValueError(f"{name}: NaN or inf in {bad.size} grasp(s), e.g. grasp {bad[:_SHOW].tolist()}")
    return arr


def _np_to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _provenance(value: Any) -> dict[str, Any]:
    """A plain-JSON copy (numpy scalars become numbers) with ``source``, ``version``, ``seed``."""
    if not isinstance(value, dict):
        raise ValueError(f"provenance: expected a dict, got {type(value).__name__}")
    try:
        doc = json.loads(json.dumps(value, default=_np_to_json, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"provenance: not JSON-serialisable ({exc})") from None
    for key, default in (("source", "unknown"), ("version", None), ("seed", None)):
        doc.setdefault(key, default)
    return doc


@dataclass(frozen=True, eq=False)
class Grasps:
    """N grasps over one or more objects; arrays are validated copies (see module docstring)."""

    object_ids: tuple[str, ...]
    tasks: tuple[str, ...]  # task of each object (a category name), parallel to object_ids
    object_index: np.ndarray  # int32[N], into object_ids
    positions: np.ndarray  # float64[N, 3], wrist origin in the object frame, metres
    quats_wxyz: np.ndarray  # float64[N, 4], unit, wrist orientation in the object frame
    joints: np.ndarray  # float64[N, 24], JOINT_NAMES order, inside the URDF limits
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # per-grasp 1-D numeric/bool
    provenance: dict[str, Any] = field(default_factory=dict)  # JSON: source, version, seed, ...

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        ids, tasks = tuple(self.object_ids), tuple(self.tasks)
        if not all(isinstance(i, str) and i for i in ids):
            raise ValueError(f"object_ids: expected non-empty strings, got {list(ids)!r}")
        if len(set(ids)) != len(ids):
            raise ValueError(f"object_ids: duplicates in {list(ids)}")
        if len(tasks) != len(ids):
            raise ValueError(f"tasks: {len(tasks)} tasks for {len(ids)} object_ids (one task per object)")
        unknown = [t for t in tasks if t not in CATEGORIES]
        if unknown:
            raise ValueError(f"tasks: unknown task(s) {unknown}; known: {', '.join(CATEGORIES)}")
        positions = _real("positions", self.positions, (3,))
        _check_reach(positions)
        n = len(positions)
        quats = _real("quats_wxyz", self.quats_wxyz, (4,))
        joints = _real("joints", self.joints, (NUM_JOINTS,))
        for name, arr in (("quats_wxyz", quats), ("joints", joints)):
            if len(arr) != n:
                raise ValueError(f"{name}: {len(arr)} rows but positions has {n}")
        norms = np.linalg.norm(quats, axis=1)
        bad = np.flatnonzero(np.abs(norms - 1.0) > QUAT_TOL)
        if bad.size:
            raise ValueError(f"quats_wxyz: {bad.size} quaternion(s) not unit within {QUAT_TOL}, e.g. grasp "
                             f"{int(bad[0])} has norm {norms[bad[0]]:.6f}")
        set_(self, "quats_wxyz", quats / norms[:, None])
        set_(self, "joints", _clip_joints(joints))
        set_(self, "positions", positions)
        set_(self, "object_ids", ids)
        set_(self, "tasks", tasks)
        set_(self, "object_index", _object_index(self.object_index, n, len(ids)))
        set_(self, "extras", _extras(self.extras, n))
        set_(self, "provenance", _provenance(self.provenance))

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    def __repr__(self) -> str:
        return (f"Grasps({len(self)} grasps, objects={list(self.object_ids)}, "
                f"extras={sorted(self.extras)}, source={self.provenance.get('source')!r})")

    # ---- construction and selection -------------------------------------------------------------

    @classmethod
    def from_arrays(cls, object_id: str, task: str, positions: Any, quats_wxyz: Any, joints: Any,
                    extras: dict[str, Any] | None = None, provenance: dict[str, Any] | None = None) -> Grasps:
        """Grasps of a single object: what a source builds for one ``sample`` call."""
        n = np.shape(positions)[0] if np.ndim(positions) else 0
        return cls((object_id,), (task,), np.zeros(n, np.int32), positions, quats_wxyz, joints,
                   dict(extras or {}), dict(provenance or {}))

    def replace(self, **changes: Any) -> Grasps:
        """A validated copy with some fields changed (``extras=``, ``provenance=``, ``joints=``, ...)."""
        return dataclasses.replace(self, **changes)

    def task_of(self, object_id: str) -> str:
        return self.tasks[self._object_pos(object_id)]

    def select(self, index: Any) -> Grasps:
        """The grasps at integer indices (any order, repeats allowed) or a bool mask of length N.

        The object list is kept as it is (objects may end up with no grasps), so indices stay
        comparable between a set and its selections.
        """
        idx = np.asarray(index)
        n = len(self)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise ValueError(f"select: bool mask of shape {idx.shape}, expected ({n},)")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = np.zeros(0, np.intp)
        elif idx.dtype.kind not in "iu" or idx.ndim > 1:
            raise ValueError(f"select: expected 1-D integer indices or a bool mask, got {idx.dtype} "
                             f"{idx.shape}")
        idx = np.atleast_1d(idx)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise ValueError(f"select: index out of range for {n} grasps")
        return Grasps(self.object_ids, self.tasks, self.object_index[idx], self.positions[idx],
                      self.quats_wxyz[idx], self.joints[idx], {k: v[idx] for k, v in self.extras.items()},
                      self.provenance)

    def for_object(self, object_id: str) -> Grasps:
        """This object's grasps alone, as a one-object set."""
        pos = self._object_pos(object_id)
        sub = self.select(self.object_index == pos)
        return Grasps((object_id,), (self.tasks[pos],), np.zeros(len(sub), np.int32), sub.positions,
                      sub.quats_wxyz, sub.joints, sub.extras, sub.provenance)

    def _object_pos(self, object_id: str) -> int:
        try:
            return self.object_ids.index(object_id)
        except ValueError:
            raise ValueError(f"object {object_id!r} not in this grasp set; it has: "
                             f"{', '.join(self.object_ids) or '(no objects)'}") from None

    @classmethod
    def concat(cls, parts: Sequence[Grasps]) -> Grasps:
        """One set from several: object lists merged in first-seen order, extras must match.

        Provenance: the common one if all parts agree; otherwise ``{"source", "version", "seed"}``
        each the common value (``"mixed"`` / None where they differ) plus ``"parts"``: the
        distinct provenances in order.
        """
        parts = list(parts)
        if not parts:
            raise ValueError("concat: no grasp sets given")
        ids: list[str] = []
        tasks: dict[str, str] = {}
        for part in parts:
            for oid, task in zip(part.object_ids, part.tasks):
                if oid not in tasks:
                    ids.append(oid)
                    tasks[oid] = task
                elif tasks[oid] != task:
                    raise ValueError(f"concat: object {oid!r} has task {tasks[oid]!r} and {task!r}")
        keys = set(parts[0].extras)
        for part in parts[1:]:
            if set(part.extras) != keys:
                raise ValueError(f"concat: extras differ: {sorted(keys)} vs {sorted(part.extras)}")
        remap = [np.array([ids.index(o) for o in p.object_ids], np.int32)[p.object_index] for p in parts]
        return cls(tuple(ids), tuple(tasks[i] for i in ids), np.concatenate(remap),
                   np.concatenate([p.positions for p in parts]),
                   np.concatenate([p.quats_wxyz for p in parts]),
                   np.concatenate([p.joints for p in parts]),
                   {k: np.concatenate([p.extras[k] for p in parts]) for k in sorted(keys)},
                   _merge_provenance([p.provenance for p in parts]))

    # ---- geometry and files ---------------------------------------------------------------------

    def wrist_matrices(self) -> np.ndarray:
        """[N, 4, 4] homogeneous wrist poses in the object frame."""
        w, x, y, z = self.quats_wxyz.T
        out = np.zeros((len(self), 4, 4))
        out[:, :3, :3] = np.stack([
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ], axis=1)
        out[:, :3, 3] = self.positions
        out[:, 3, 3] = 1.0
        return out

    def save(self, path: str | os.PathLike, compact: bool = False) -> Path:
        """Write one ``.npz`` (layout in :mod:`dextog_gym.grasps.storage`), atomically.

        ``compact`` stores floats as float32 (half the size, ~1e-8 m and 1e-7 rad rounding: what the
        shipped sets use); loading always gives float64."""
        if len(self) > storage.MAX_GRASPS:
            raise ValueError(f"{len(self)} grasps exceed MAX_GRASPS={storage.MAX_GRASPS}; split the set")
        counts = np.bincount(self.object_index, minlength=len(self.object_ids))
        if len(self) and counts.max() > storage.MAX_GRASPS_PER_OBJECT:
            worst = int(counts.argmax())
            raise ValueError(f"object {self.object_ids[worst]!r} has {counts[worst]} grasps, more than "
                             f"MAX_GRASPS_PER_OBJECT={storage.MAX_GRASPS_PER_OBJECT}: files that big are "
                             "refused on load; keep the best or split the set")
        meta = {"format": FORMAT, "object_ids": list(self.object_ids), "tasks": list(self.tasks),
                "joint_names": list(JOINT_NAMES), "provenance": self.provenance, "num_grasps": len(self)}
        members = {"positions": self.positions, "quats_wxyz": self.quats_wxyz, "joints": self.joints,
                   "object_index": self.object_index,
                   **{EXTRA_PREFIX + k: v for k, v in self.extras.items()}}
        if compact:
            members = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in members.items()}
        total = sum(a.nbytes for a in members.values())
        if total > storage.MAX_TOTAL_BYTES:
            raise ValueError(f"{total} bytes of arrays exceed the file cap of {storage.MAX_TOTAL_BYTES}")
        members["meta_json"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        return storage.write_npz(path, members)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Grasps:
        """Read a grasp file; anything wrong with it raises ``GraspFileError`` naming file and field."""
        arrays, extras, meta = storage.read_npz(path)
        if len(meta["object_ids"]) != len(meta["tasks"]):
            raise GraspFileError(path, "object_ids and tasks differ in length", "meta_json")
        try:
            return cls(tuple(meta["object_ids"]), tuple(meta["tasks"]), arrays["object_index"],
                       arrays["positions"], arrays["quats_wxyz"], arrays["joints"], extras, meta["provenance"])
        except ValueError as exc:
            head, sep, problem = str(exc).partition(": ")
            if sep and re.fullmatch(r"[\w.]+", head):
                raise GraspFileError(path, problem, head) from None
            raise GraspFileError(path, str(exc)) from None


def _check_reach(positions: np.ndarray) -> None:
    """Refuse wrists farther than MAX_WRIST_DISTANCE_M from the object origin (hypot: no overflow at 1e300)."""
    with np.errstate(over="ignore"):
        reach = np.hypot.reduce(positions, axis=1)
    far = np.flatnonzero(reach > MAX_WRIST_DISTANCE_M)
    if far.size:
        first = int(far[0])
        raise ValueError(f"positions: {far.size} wrist position(s) farther than {MAX_WRIST_DISTANCE_M} m from "
                         f"the object origin (metres, object frame), e.g. grasp {first} at {reach[first]:.4g} m; "
                         f"first bad grasps {far[:_SHOW].tolist()}")


def _clip_joints(joints: np.ndarray) -> np.ndarray:
    lower, upper = joint_limits()
    out = (joints < lower - JOINT_TOL) | (joints > upper + JOINT_TOL)
    if out.any():
        rows, cols = np.nonzero(out)
        shown = "; ".join(
            f"grasp {r} {JOINT_NAMES[c]}={joints[r, c]:.4f} not in [{lower[c]:.4f}, {upper[c]:.4f}]"
            for r, c in zip(rows[:_SHOW], cols[:_SHOW]))
        raise ValueError(f"joints: {out.sum()} value(s) outside the URDF limits (± {JOINT_TOL} rad): {shown}")
    return np.clip(joints, lower, upper)


def _object_index(value: Any, n: int, num_objects: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise ValueError(f"object_index: expected integers, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"object_index: shape {arr.shape}, expected ({n},) like positions")
    if n and (arr.min() < 0 or arr.max() >= num_objects):
        raise ValueError(f"object_index: values must lie in [0, {num_objects}) (one per object_ids entry)")
    return arr.astype(np.int32)


def _extras(value: Any, n: int) -> dict[str, np.ndarray]:
    if not isinstance(value, dict):
        raise ValueError(f"extras: expected a dict of arrays, got {type(value).__name__}")
    if len(value) > MAX_EXTRAS:
        raise ValueError(f"extras: {len(value)} arrays, at most {MAX_EXTRAS}")
    out = {}
    for name, arr in value.items():
        if not isinstance(name, str) or not EXTRA_NAME.match(name):
            raise ValueError(f"extras: name {name!r} must be an identifier of at most 64 characters")
        arr = np.array(arr)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"extras.{name}: expected numbers or bools, got dtype {arr.dtype}")
        if arr.shape != (n,):
            raise ValueError(f"extras.{name}: shape {arr.shape}, expected ({n},) (one value per grasp)")
        out[name] = arr
    return out


def _merge_provenance(provs: list[dict[str, Any]]) -> dict[str, Any]:
    distinct: list[dict[str, Any]] = []
    for p in provs:
        if p not in distinct:
            distinct.append(p)
    if len(distinct) == 1:
        return distinct[0]
    merged: dict[str, Any] = {}
    for key, differ in (("source", "mixed"), ("version", None), ("seed", None)):
        values = {json.dumps(p.get(key)) for p in distinct}
        merged[key] = distinct[0].get(key) if len(values) == 1 else differ
    merged["parts"] = distinct
    return merged
