"""A minimal reader for the URDF subset our converter writes (numpy only).

Joint limits, torch FK and the surface sampler all read the hand from the committed URDF
through this one parser, so they cannot disagree with what pybullet loads.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from dextog_gym.hand.transforms import make_transform, rpy_to_matrix


@dataclass(frozen=True)
class Geom:
    """A collision primitive: ``kind`` is "capsule" (radius, length) or "box" (size = full extents)."""

    kind: str
    origin: np.ndarray  # 4x4, geom frame in its link frame
    radius: float = 0.0
    length: float = 0.0
    size: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Joint:
    name: str
    kind: str  # "revolute" | "fixed"
    parent: str
    child: str
    origin: np.ndarray  # 4x4, child frame at q = 0 in the parent frame
    axis: np.ndarray  # unit 3-vector in the child frame
    lower: float = 0.0
    upper: float = 0.0
    effort: float = 0.0


@dataclass(frozen=True)
class Robot:
    root: str
    links: tuple[str, ...]  # in file order (parents before children)
    joints: tuple[Joint, ...]  # in file order (depth first, = pybullet joint order)
    collisions: dict[str, tuple[Geom, ...]] = field(default_factory=dict)

    @property
    def revolute(self) -> tuple[Joint, ...]:
        return tuple(j for j in self.joints if j.kind == "revolute")


def _floats(text: str | None, n: int, default: float = 0.0) -> np.ndarray:
    if text is None:
        return np.full(n, default)
    values = np.array([float(v) for v in text.split()])
    if values.shape != (n,):
        raise ValueError(f"expected {n} numbers, got {text!r}")
    return values


def _origin(elem: ET.Element | None) -> np.ndarray:
    if elem is None:
        return np.eye(4)
    return make_transform(_floats(elem.get("xyz"), 3), rpy_to_matrix(_floats(elem.get("rpy"), 3)))


def _geom(col: ET.Element) -> Geom | None:
    origin = _origin(col.find("origin"))
    shape = col.find("geometry")
    assert shape is not None and len(shape) == 1, "one shape per <geometry>"
    g = shape[0]
    if g.tag == "capsule":
        return Geom("capsule", origin, radius=float(g.get("radius")), length=float(g.get("length")))
    if g.tag == "box":
        sx, sy, sz = _floats(g.get("size"), 3)
        return Geom("box", origin, size=(float(sx), float(sy), float(sz)))
    return None  # meshes and others are not used by the analytic consumers


@lru_cache(maxsize=8)
def _parse_cached(path: str, mtime_ns: int) -> Robot:
    tree = ET.parse(path).getroot()
    links = tuple(link.get("name") for link in tree.findall("link"))
    collisions = {}
    for link in tree.findall("link"):
        geoms = [_geom(c) for c in link.findall("collision")]
        collisions[link.get("name")] = tuple(g for g in geoms if g is not None)
    joints = []
    for j in tree.findall("joint"):
        limit = j.find("limit")
        axis = _floats(j.find("axis").get("xyz") if j.find("axis") is not None else None, 3)
        if j.get("type") == "revolute":
            axis = axis / np.linalg.norm(axis)
        joints.append(
            Joint(
                name=j.get("name"),
                kind=j.get("type"),
                parent=j.find("parent").get("link"),
                child=j.find("child").get("link"),
                origin=_origin(j.find("origin")),
                axis=axis,
                lower=float(limit.get("lower")) if limit is not None else 0.0,
                upper=float(limit.get("upper")) if limit is not None else 0.0,
                effort=float(limit.get("effort", 0.0)) if limit is not None else 0.0,
            )
        )
    children = {j.child for j in joints}
    roots = [name for name in links if name not in children]
    if len(roots) != 1:
        raise ValueError(f"{path}: expected one root link, found {roots}")
    return Robot(root=roots[0], links=links, joints=tuple(joints), collisions=collisions)


def parse_urdf(path: str | Path | None = None) -> Robot:
    """Parse (and cache, keyed on path and modification time) the hand URDF."""
    if path is None:
        from dextog_gym.paths import hand_urdf

        path = hand_urdf()
    path = Path(path).resolve()
    return _parse_cached(str(path), path.stat().st_mtime_ns)
