"""A two-link articulated object in memory, and how it becomes URDF + meshes + annotation.

Generators describe an object in whatever frame is convenient (origin on the table,
x forward, z up); :func:`write_object` recentres it so the object frame sits at the
centre of its bounding box at rest, splits the mass by volume, and writes files that
are byte-identical from one build to the next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from dextog_gym.objects import geometry
from dextog_gym.objects.annotation import FORMAT
from dextog_gym.objects.spec import CATEGORIES

# A moving link lighter than this makes the spring motor and contacts jittery in Bullet.
MIN_LINK_MASS_KG = 0.005
# Inertia floor (kg m^2) for thin parts (pen buttons): keeps the solver well conditioned.
MIN_INERTIA = 1e-7
JOINT_EFFORT = 50.0
# Bullet's built-in padding around convex meshes, measured: a pen settles 0.99 mm above
# the table with uneroded hulls. Collision hulls are eroded by it (geometry.eroded).
BULLET_CONVEX_MARGIN = 0.001
JOINT_VELOCITY = 5.0
# No URDF joint damping: Bullet applies it so stiffly to light links (a 5 g trigger) that
# a spring-loaded trigger took seconds to return. The resistance motor does the work.


@dataclass
class LinkSpec:
    name: str
    parts: list[trimesh.Trimesh]  # convex, in the link frame
    rgba: tuple[float, float, float, float]


@dataclass
class JointSpec:
    name: str
    kind: str  # revolute | prismatic
    origin_xyz: np.ndarray  # child link frame in the base frame at q = 0
    origin_rpy: np.ndarray
    axis: np.ndarray
    lower: float
    upper: float


@dataclass
class PartSpec:
    link: str
    points: np.ndarray
    normal: np.ndarray | None


@dataclass
class ObjectSpec:
    id: str
    category: str  # mass, functional part and resting behaviour come from spec.CATEGORIES
    base: LinkSpec
    moving: LinkSpec
    joint: JointSpec
    zero_position: float
    full_position: float
    resistance: str
    max_force: float
    parts: dict[str, PartSpec]
    params: dict[str, Any] = field(default_factory=dict)


def _joint_transform(joint: JointSpec) -> np.ndarray:
    transform = np.eye(4)
    transform[:3, :3] = Rotation.from_euler("xyz", joint.origin_rpy).as_matrix()
    transform[:3, 3] = joint.origin_xyz
    return transform


def rest_bounds(spec: ObjectSpec) -> np.ndarray:
    """(2, 3) bounding box of all collision parts at q = 0, in the generator's frame."""
    moved = _joint_transform(spec.joint)
    points = [p.vertices for p in spec.base.parts]
    points += [trimesh.transform_points(p.vertices, moved) for p in spec.moving.parts]
    stacked = np.vstack(points)
    return np.stack([stacked.min(axis=0), stacked.max(axis=0)])


def recentre(spec: ObjectSpec) -> np.ndarray:
    """Move the base frame to the rest bounding-box centre; return the box size."""
    bounds = rest_bounds(spec)
    centre = np.round(bounds.mean(axis=0), geometry.VERTEX_DECIMALS)
    for part in spec.base.parts:
        part.apply_translation(-centre)
    spec.joint.origin_xyz = spec.joint.origin_xyz - centre
    for part in spec.parts.values():
        if part.link == spec.base.name:
            part.points = part.points - centre
    return bounds[1] - bounds[0]


def _clean(value: float) -> float:
    """Round away float noise (1e-20 products of symmetric parts, -0.0): stable files."""
    return float(np.round(value, 10)) + 0.0


def _fmt(values: np.ndarray | list[float]) -> str:
    return " ".join(f"{_clean(v):.6g}" for v in np.asarray(values, dtype=float).ravel())


def _inertial_xml(mesh: trimesh.Trimesh, mass: float) -> str:
    mesh = mesh.copy()
    mesh.density = mass / mesh.volume
    com = mesh.center_mass
    inertia = np.array(mesh.moment_inertia)
    inertia[np.diag_indices(3)] = np.maximum(np.diag(inertia), MIN_INERTIA)
    return (
        f'    <inertial>\n      <origin xyz="{_fmt(com)}" rpy="0 0 0"/>\n'
        f'      <mass value="{_fmt([mass])}"/>\n'
        f'      <inertia ixx="{_fmt([inertia[0, 0]])}" ixy="{_fmt([inertia[0, 1]])}" ixz="{_fmt([inertia[0, 2]])}" '
        f'iyy="{_fmt([inertia[1, 1]])}" iyz="{_fmt([inertia[1, 2]])}" izz="{_fmt([inertia[2, 2]])}"/>\n'
        f"    </inertial>\n"
    )


def _link_xml(link: LinkSpec, mass: float, mesh_dir: Path) -> str:
    merged = geometry.union(link.parts)
    geometry.write_obj(merged, mesh_dir / f"{link.name}.obj")
    xml = f'  <link name="{link.name}">\n' + _inertial_xml(merged, mass)
    xml += (
        f'    <visual>\n      <geometry><mesh filename="meshes/{link.name}.obj"/></geometry>\n'
        f'      <material name="{link.name}_colour"><color rgba="{_fmt(link.rgba)}"/></material>\n'
        f"    </visual>\n"
    )
    for k, part in enumerate(link.parts):
        name = f"{link.name}_c{k}.obj"
        geometry.write_obj(geometry.eroded(part, BULLET_CONVEX_MARGIN), mesh_dir / name)
        xml += f'    <collision>\n      <geometry><mesh filename="meshes/{name}"/></geometry>\n    </collision>\n'
    return xml + "  </link>\n"


def _split_mass(spec: ObjectSpec) -> tuple[float, float]:
    volumes = [geometry.union(link.parts).volume for link in (spec.base, spec.moving)]
    total = CATEGORIES[spec.category].mass_kg
    moving = max(MIN_LINK_MASS_KG, total * volumes[1] / sum(volumes))
    return total - moving, moving


def urdf_text(spec: ObjectSpec, mesh_dir: Path) -> str:
    base_mass, moving_mass = _split_mass(spec)
    j = spec.joint
    return (
        f'<?xml version="1.0"?>\n<!-- generated by dextog_gym.objects (dextog assets build) -->\n'
        f'<robot name="{spec.id}">\n'
        + _link_xml(spec.base, base_mass, mesh_dir)
        + _link_xml(spec.moving, moving_mass, mesh_dir)
        + f'  <joint name="{j.name}" type="{j.kind}">\n'
        f'    <parent link="{spec.base.name}"/>\n    <child link="{spec.moving.name}"/>\n'
        f'    <origin xyz="{_fmt(j.origin_xyz)}" rpy="{_fmt(j.origin_rpy)}"/>\n'
        f'    <axis xyz="{_fmt(j.axis)}"/>\n'
        f'    <limit lower="{j.lower:.6g}" upper="{j.upper:.6g}" effort="{JOINT_EFFORT:g}" velocity="{JOINT_VELOCITY:g}"/>\n'
        f'    <dynamics damping="0" friction="0"/>\n'
        f"  </joint>\n</robot>\n"
    )


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=float), 6).tolist()


def annotation_dict(spec: ObjectSpec, size: np.ndarray) -> dict[str, Any]:
    family = CATEGORIES[spec.category]
    parts = {}
    for name, part in spec.parts.items():
        parts[name] = {
            "link": part.link,
            "points": _rounded(part.points),
            "normal": None if part.normal is None else _rounded(part.normal),
        }
    return {
        "format": FORMAT,
        "id": spec.id,
        "category": spec.category,
        "urdf": "object.urdf",
        "mass_kg": family.mass_kg,
        "task_joint": {
            "name": spec.joint.name,
            "type": spec.joint.kind,
            "zero_position": round(spec.zero_position, 6),
            "full_position": round(spec.full_position, 6),
            "resistance": {"kind": spec.resistance, "max_force": spec.max_force},
        },
        "parts": parts,
        "functional_part": family.functional_part,
        "resting_pose": {
            "position": _rounded([0.0, 0.0, size[2] / 2.0]),
            "quat_wxyz": [1.0, 0.0, 0.0, 0.0],
            "fixed_base": family.fixed_base,
            "random_yaw": family.random_yaw,
        },
        "size_m": _rounded(size),
        "params": {k: round(float(v), 6) for k, v in sorted(spec.params.items())},
    }


def write_object(spec: ObjectSpec, out_dir: Path) -> None:
    """Write ``object.urdf``, ``meshes/*.obj`` and ``annotation.json`` into ``out_dir``."""
    size = recentre(spec)
    mesh_dir = out_dir / "meshes"
    mesh_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "object.urdf").write_text(urdf_text(spec, mesh_dir))
    text = json.dumps(annotation_dict(spec, size), indent=1)
    (out_dir / "annotation.json").write_text(text + "\n")
