"""Physical checks of an object, measured rather than assumed.

Used by ``dextog assets validate`` (prints the figures) and by the tests (assert limits):
it rests where it is put, its task joint goes the full way under a push and comes back
(or stays, for friction joints), and its meshes are watertight so signed distances work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.objects.pybullet_object import ArticulatedObject
from dextog_gym.physics import PHYSICS_HZ, connect, disconnect
from dextog_gym.physics import pybullet as p

PUSH_FORCE_FACTOR = 4.0  # a push this many times stronger than the joint's resistance


@dataclass(frozen=True)
class PhysicsReport:
    object_id: str
    rest_drift_m: float  # object-frame travel over the rest period
    theta_pushed: float  # θ reached while pushed towards θ = 1
    theta_released: float  # θ one second after the push stops

    def returns(self) -> bool:
        return self.theta_released < 0.05


def _step(client: int, seconds: float) -> None:
    for _ in range(int(round(seconds * PHYSICS_HZ))):
        p.stepSimulation(physicsClientId=client)


def physics_report(asset: ObjectAsset, rest_seconds: float = 2.0) -> PhysicsReport:
    """Rest for ``rest_seconds``, push the task joint for 1 s, release for 1 s."""
    client = connect(table=True)
    try:
        obj = ArticulatedObject.load(client, asset)
        start, _ = obj.base_pose()
        _step(client, rest_seconds)
        rested, _ = obj.base_pose()
        joint = obj.task_joint
        p.setJointMotorControl2(obj.body, obj.joint_index, p.POSITION_CONTROL,
                                targetPosition=joint.full_position, force=PUSH_FORCE_FACTOR * joint.max_force,
                                physicsClientId=client)
        _step(client, 1.0)
        pushed = obj.theta()
        obj.apply_resistance()
        _step(client, 1.0)
        return PhysicsReport(asset.id, float(np.linalg.norm(rested - start)), pushed, obj.theta())
    finally:
        disconnect(client)


def link_meshes(asset: ObjectAsset) -> dict[str, trimesh.Trimesh]:
    """The watertight visual mesh of each link (``meshes/<link>.obj``), in link frames."""
    meshes = {}
    for link in sorted(_urdf_links(asset)):
        path = asset.folder / "meshes" / f"{link}.obj"
        if path.is_file():
            meshes[link] = trimesh.load(path, force="mesh", process=True)
    return meshes


def _urdf_links(asset: ObjectAsset) -> set[str]:
    import xml.etree.ElementTree as ET

    return {link.get("name", "") for link in ET.parse(asset.urdf_path).getroot().findall("link")}


def mesh_report(asset: ObjectAsset) -> dict[str, tuple[bool, float, float]]:
    """Per link: (watertight, SDF at an interior point > 0, SDF far outside < 0)."""
    report = {}
    for link, mesh in link_meshes(asset).items():
        # The centroid of a convex collision part lies inside the link's union mesh.
        part = trimesh.load(asset.folder / "meshes" / f"{link}_c0.obj", force="mesh")
        inside = part.vertices.mean(axis=0)
        far = mesh.bounds[1] + 0.05
        sdf_in, sdf_out = trimesh.proximity.signed_distance(mesh, [inside, far])
        report[link] = (bool(mesh.is_watertight), float(sdf_in), float(sdf_out))
    return report
