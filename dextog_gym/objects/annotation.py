"""The object annotation file (``annotation.json``): schema, validation, loading.

The same file describes generated objects and user-supplied ones (AKB-48,
PartNet-Mobility, ...), so validation is strict and every error names the file and the
field. The format is documented in ``docs/object_format.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.objects.spec import CATEGORIES

FORMAT = "dextog-object/1"
MAX_ANNOTATION_BYTES = 4 * 1024 * 1024
MAX_PART_POINTS = 4096


class AnnotationError(ValueError):
    """A malformed annotation: the message names the file and the field."""

    def __init__(self, path: Path | str, field: str, problem: str):
        super().__init__(f"{path}: field '{field}': {problem}")
        self.path = str(path)
        self.field = field


@dataclass(frozen=True)
class PartSurface:
    """Sampled points of a functional part (link frame) and their average outward normal."""

    link: str
    points: np.ndarray  # (N, 3)
    normal: np.ndarray | None  # (3,), None for point parts such as the cap centre


@dataclass(frozen=True)
class TaskJoint:
    """The joint the task moves. θ = (q - zero_position) / (full_position - zero_position)."""

    name: str
    kind: str  # "revolute" | "prismatic"
    zero_position: float
    full_position: float
    resistance: str  # "spring": motor back to θ = 0; "friction": holds where left
    max_force: float

    def theta(self, q: float) -> float:
        return (q - self.zero_position) / (self.full_position - self.zero_position)

    def position(self, theta: float) -> float:
        return self.zero_position + theta * (self.full_position - self.zero_position)


@dataclass(frozen=True)
class RestingPose:
    position: np.ndarray  # (3,) object frame origin in the world when resting
    quat_wxyz: np.ndarray  # (4,)
    fixed_base: bool
    random_yaw: bool


@dataclass(frozen=True)
class ObjectAnnotation:
    id: str
    category: str
    urdf: str
    mass_kg: float
    task_joint: TaskJoint
    parts: dict[str, PartSurface]
    functional_part: str
    resting_pose: RestingPose
    size_m: np.ndarray
    params: dict[str, Any]


def _require(data: dict, key: str, path: Path | str, prefix: str = "") -> Any:
    if not isinstance(data, dict) or key not in data:
        raise AnnotationError(path, prefix + key, "missing")
    return data[key]


def _number(value: Any, path: Path | str, field: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AnnotationError(path, field, f"expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise AnnotationError(path, field, f"must be > 0, got {value!r}")
    return float(value)


def _vector(value: Any, n: int, path: Path | str, field: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AnnotationError(path, field, f"expected {n} numbers") from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise AnnotationError(path, field, f"expected {n} finite numbers, got shape {arr.shape}")
    return arr


def _parse_task_joint(data: Any, path: Path | str) -> TaskJoint:
    name = _require(data, "name", path, "task_joint.")
    kind = _require(data, "type", path, "task_joint.")
    if not isinstance(name, str) or not name:
        raise AnnotationError(path, "task_joint.name", "expected a joint name")
    if kind not in ("revolute", "prismatic"):
        raise AnnotationError(path, "task_joint.type", f"expected 'revolute' or 'prismatic', got {kind!r}")
    zero = _number(_require(data, "zero_position", path, "task_joint."), path, "task_joint.zero_position")
    full = _number(_require(data, "full_position", path, "task_joint."), path, "task_joint.full_position")
    if zero == full:
        raise AnnotationError(path, "task_joint.full_position", "must differ from zero_position")
    res = _require(data, "resistance", path, "task_joint.")
    kind_r = _require(res, "kind", path, "task_joint.resistance.")
    if kind_r not in ("spring", "friction"):
        raise AnnotationError(path, "task_joint.resistance.kind", f"expected 'spring' or 'friction', got {kind_r!r}")
    force = _number(_require(res, "max_force", path, "task_joint.resistance."), path,
                    "task_joint.resistance.max_force", positive=True)
    return TaskJoint(name, kind, zero, full, kind_r, force)


def _parse_parts(data: Any, path: Path | str) -> dict[str, PartSurface]:
    if not isinstance(data, dict) or not data:
        raise AnnotationError(path, "parts", "expected a non-empty mapping of part name -> surface")
    parts = {}
    for name, part in data.items():
        field = f"parts.{name}"
        link = _require(part, "link", path, field + ".")
        if not isinstance(link, str) or not link:
            raise AnnotationError(path, field + ".link", "expected a link name")
        try:
            points = np.asarray(_require(part, "points", path, field + "."), dtype=float)
        except (TypeError, ValueError):
            raise AnnotationError(path, field + ".points", "expected a list of [x, y, z]") from None
        if points.ndim != 2 or points.shape[1] != 3 or not 1 <= len(points) <= MAX_PART_POINTS:
            raise AnnotationError(path, field + ".points", f"expected 1..{MAX_PART_POINTS} points [x, y, z], got shape {points.shape}")
        if not np.all(np.isfinite(points)):
            raise AnnotationError(path, field + ".points", "contains non-finite values")
        normal = part.get("normal")
        if normal is not None:
            normal = _vector(normal, 3, path, field + ".normal")
            norm = float(np.linalg.norm(normal))
            if not 0.99 < norm < 1.01:
                raise AnnotationError(path, field + ".normal", f"must be a unit vector, has norm {norm:.4f}")
        parts[name] = PartSurface(link, points, normal)
    return parts


def parse_annotation(data: Any, path: Path | str = "<annotation>") -> ObjectAnnotation:
    """Validate a decoded annotation; raise :class:`AnnotationError` on the first problem."""
    if not isinstance(data, dict):
        raise AnnotationError(path, "<root>", "expected a JSON object")
    fmt = _require(data, "format", path)
    if fmt != FORMAT:
        raise AnnotationError(path, "format", f"expected {FORMAT!r}, got {fmt!r}")
    obj_id = _require(data, "id", path)
    if not isinstance(obj_id, str) or not obj_id:
        raise AnnotationError(path, "id", "expected a non-empty string")
    cat = _require(data, "category", path)
    if cat not in CATEGORIES:
        raise AnnotationError(path, "category", f"unknown category {cat!r}; known: {', '.join(CATEGORIES)}")
    urdf = _require(data, "urdf", path)
    if not isinstance(urdf, str) or not urdf.endswith(".urdf") or Path(urdf).is_absolute() or ".." in Path(urdf).parts:
        raise AnnotationError(path, "urdf", "expected a relative path to a .urdf file inside the object folder")
    mass = _number(_require(data, "mass_kg", path), path, "mass_kg", positive=True)
    joint = _parse_task_joint(_require(data, "task_joint", path), path)
    parts = _parse_parts(_require(data, "parts", path), path)
    for needed in CATEGORIES[cat].required_parts:
        if needed not in parts:
            raise AnnotationError(path, f"parts.{needed}", f"missing (category {cat!r} needs it)")
    functional = _require(data, "functional_part", path)
    if functional not in parts:
        raise AnnotationError(path, "functional_part", f"{functional!r} is not one of the annotated parts")
    rest = _require(data, "resting_pose", path)
    quat = _vector(_require(rest, "quat_wxyz", path, "resting_pose."), 4, path, "resting_pose.quat_wxyz")
    if not 0.99 < np.linalg.norm(quat) < 1.01:
        raise AnnotationError(path, "resting_pose.quat_wxyz", "must be a unit quaternion")
    resting = RestingPose(
        position=_vector(_require(rest, "position", path, "resting_pose."), 3, path, "resting_pose.position"),
        quat_wxyz=quat,
        fixed_base=bool(rest.get("fixed_base", False)),
        random_yaw=bool(rest.get("random_yaw", False)),
    )
    size = _vector(data.get("size_m", [0.0, 0.0, 0.0]), 3, path, "size_m")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise AnnotationError(path, "params", "expected a mapping")
    return ObjectAnnotation(obj_id, cat, urdf, mass, joint, parts, functional, resting, size, params)


def load_annotation(path: Path | str) -> ObjectAnnotation:
    """Read and validate ``annotation.json`` (size-capped: the file may be untrusted)."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "<file>", "annotation file not found")
    if path.stat().st_size > MAX_ANNOTATION_BYTES:
        raise AnnotationError(path, "<file>", f"larger than {MAX_ANNOTATION_BYTES} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(path, "<file>", f"not valid JSON: {exc}") from None
    return parse_annotation(data, path)
