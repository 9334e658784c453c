"""Link frames of an object URDF at given joint positions, in the object (base link) frame.

Grasp sampling and the metrics work on the object's geometry at rest (every joint at 0), in the
object frame that grasps are expressed in. This reads any object URDF (generated or a user's)
with the standard library: links, visual/collision mesh files, joint origins and axes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dextog_gym.hand.transforms import (
    axis_angle_to_matrix,
    make_transform,
    rpy_to_matrix,
)


@dataclass(frozen=True)
class ObjectJoint:
    name: str
    kind: str  # revolute | prismatic | fixed | continuous
    parent: str
    child: str
    origin: np.ndarray  # 4x4
    axis: np.ndarray  # unit 3-vector in the child frame


@dataclass(frozen=True)
class ObjectLink:
    name: str
    meshes: tuple[tuple[Path, np.ndarray], ...]  # (mesh file, 4x4 origin in the link frame)


def _origin(element: ET.Element | None) -> np.ndarray:
    if element is None:
        return np.eye(4)
    xyz = np.array([float(v) for v in element.get("xyz", "0 0 0").split()])
    rpy = np.array([float(v) for v in element.get("rpy", "0 0 0").split()])
    return make_transform(xyz, rpy_to_matrix(rpy))


def _link_meshes(link: ET.Element, folder: Path) -> tuple[tuple[Path, np.ndarray], ...]:
    """Visual meshes (the true surface); collision meshes when a link has no visual mesh."""
    for tag in ("visual", "collision"):
        found = []
        for item in link.findall(tag):
            mesh = item.find("geometry/mesh")
            if mesh is not None and mesh.get("filename"):
                found.append((folder / mesh.get("filename"), _origin(item.find("origin"))))
        if found:
            return tuple(found)
    return ()


def read_object_urdf(path: Path) -> tuple[str, dict[str, ObjectLink], list[ObjectJoint]]:
    """(base link name, links, joints parents-first) of an object URDF."""
    root = ET.parse(path).getroot()
    links = {
        el.get("name", ""): ObjectLink(el.get("name", ""), _link_meshes(el, path.parent))
        for el in root.findall("link")
    }
    joints = []
    for el in root.findall("joint"):
        axis = np.array([float(v) for v in el.find("axis").get("xyz").split()]) if el.find("axis") is not None \
            else np.array([1.0, 0.0, 0.0])
        joints.append(ObjectJoint(el.get("name", ""), el.get("type", "fixed"), el.find("parent").get("link"),
                                  el.find("child").get("link"), _origin(el.find("origin")),
                                  axis / np.linalg.norm(axis)))
    children = {j.child for j in joints}
    bases = [name for name in links if name not in children]
    if len(bases) != 1:
        raise ValueError(f"{path}: expected one root link, found {bases}")
    # Order joints parents-first so one pass computes every frame.
    ordered, known, pending = [], {bases[0]}, list(joints)
    while pending:
        ready = [j for j in pending if j.parent in known]
        if not ready:
            raise ValueError(f"{path}: joints {[j.name for j in pending]} do not connect to the root")
        for j in ready:
            ordered.append(j)
            known.add(j.child)
            pending.remove(j)
    return bases[0], links, ordered


def link_transforms(path: Path, joint_positions: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """{link: 4x4 pose in the object frame}; joints not named stay at 0."""
    base, _, joints = read_object_urdf(path)
    positions = joint_positions or {}
    poses = {base: np.eye(4)}
    for j in joints:
        q = float(positions.get(j.name, 0.0))
        motion = np.eye(4)
        if j.kind in ("revolute", "continuous"):
            motion[:3, :3] = axis_angle_to_matrix(j.axis, q)
        elif j.kind == "prismatic":
            motion[:3, 3] = j.axis * q
        poses[j.child] = poses[j.parent] @ j.origin @ motion
    return poses
