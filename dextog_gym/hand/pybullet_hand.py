"""The Shadow Hand loaded in a pybullet client: a floating wrist plus 24 position-controlled joints.

Angles and joint vectors are always in ``model.JOINT_NAMES`` order; quaternions cross this API in
wxyz order (the project convention) and are converted to pybullet's xyzw only inside this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from dextog_gym.hand import model
from dextog_gym.hand.transforms import wxyz_to_xyzw, xyzw_to_wxyz
from dextog_gym.hand.urdf import parse_urdf

# The wrist floats on a fixed constraint between the root link and the world rather than on six
# virtual joints: the URDF root stays the real root, so pybullet joint indices are exactly the 24
# hand joints and link frames are the URDF ones; the constraint's force cap makes the wrist give
# way to contacts like a compliant arm would, and moving the target (``drive_wrist``) moves the hand.
# N; holds the 5.3 kg hand (4 kg of it the forearm ballast) plus a 300 g object (55 N) with room to
# accelerate a lift. It was 300 N: random actions then wedged the thumb against a fixed bottle 0.045 rad
# past THJ3's limit; at 150 N the worst is 0.019 rad and the controller's success does not drop
# (benchmarks/physics_fidelity.py).
WRIST_MAX_FORCE = 150.0
# The MJCF gives every hand joint armature="0.001" (kg m²: the reflected inertia of the drive), which a
# URDF cannot express, so it is added to each joint's child link inertia at load (about all three axes:
# added about the joint axis alone, PGS still let contacts push joints 0.6 rad past their limits). The
# bare 2–16 g links (1e-5 kg m²) made the solver give way: random actions pushing into objects drove
# joints up to 0.72 rad past their URDF limits in 14–31 % of steps; with it, at most 0.02 rad.
JOINT_ARMATURE = 0.001
# Position-servo gains of pybullet's joint motors (per-step velocity constraint, not a PD on torque):
# stiff enough to reach targets in a few dozen steps at 240 Hz without oscillating the light links.
POSITION_GAIN = 0.3
VELOCITY_GAIN = 1.0
# Self-collision: on, except between links whose geometries overlap by construction at a joint
# (each link and its nearest ancestor that has collision geometry: e.g. palm–ffproximal, the
# knuckle link between them being geometry-free). Finger–finger and finger–palm contacts stay on.


def collision_adjacent_pairs(urdf_path: str | Path | None = None) -> list[tuple[str, str]]:
    """(ancestor, link) pairs where ``ancestor`` is ``link``'s nearest ancestor with collision geometry."""
    robot = parse_urdf(urdf_path)
    parent = {j.child: j.parent for j in robot.joints}
    pairs = []
    for link in robot.links:
        if not robot.collisions.get(link):
            continue
        up = parent.get(link)
        while up is not None and not robot.collisions.get(up):
            up = parent.get(up)
        if up is not None:
            pairs.append((up, link))
    return pairs


@dataclass
class ShadowHand:
    """A hand in client ``client``; build with :meth:`load`."""

    client: int
    body: int
    constraint: int
    urdf_path: Path
    link_index: dict[str, int]  # link name -> pybullet link index (-1 for the root)
    joint_index: np.ndarray  # pybullet joint index per JOINT_NAMES entry
    efforts: np.ndarray  # per JOINT_NAMES entry, from the URDF
    limits: tuple[np.ndarray, np.ndarray]  # (lower, upper) per JOINT_NAMES entry, from the URDF
    _inertial: tuple  # root link frame -> root inertial (COM) frame, pybullet (pos, xyzw)

    @classmethod
    def load(
        cls,
        client: int,
        wrist_pos: Sequence[float] = (0.0, 0.0, 0.3),
        wrist_quat_wxyz: Sequence[float] = (1.0, 0.0, 0.0, 0.0),
        q: Sequence[float] | None = None,
        self_collision: bool = True,
        urdf_path: str | Path | None = None,
    ) -> "ShadowHand":
        from dextog_gym.paths import hand_urdf
        from dextog_gym.physics import pybullet as p

        path = Path(urdf_path) if urdf_path is not None else hand_urdf()
        # URDF_USE_INERTIA_FROM_FILE: without it pybullet recomputes inertia from the collision
        # shapes and the wrist sags under gravity.
        flags = p.URDF_USE_INERTIA_FROM_FILE
        if self_collision:
            flags |= p.URDF_USE_SELF_COLLISION | p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT
        body = p.loadURDF(str(path), flags=flags, physicsClientId=client)
        links = {p.getBodyInfo(body, physicsClientId=client)[0].decode(): -1}
        joints = {}
        for i in range(p.getNumJoints(body, physicsClientId=client)):
            info = p.getJointInfo(body, i, physicsClientId=client)
            links[info[12].decode()] = i
            joints[info[1].decode()] = i
        missing = [n for n in model.JOINT_NAMES if n not in joints]
        if missing:
            raise ValueError(f"{path} lacks joints {missing}")
        if self_collision:
            for a, b in collision_adjacent_pairs(path):
                p.setCollisionFilterPair(body, body, links[a], links[b], 0, physicsClientId=client)
        dyn = p.getDynamicsInfo(body, -1, physicsClientId=client)
        inertial = (tuple(dyn[3]), tuple(dyn[4]))
        cid = p.createConstraint(
            body, -1, -1, -1, p.JOINT_FIXED, [0, 0, 0],
            parentFramePosition=p.invertTransform(*inertial)[0],
            childFramePosition=[0, 0, 0],
            parentFrameOrientation=p.invertTransform(*inertial)[1],
            physicsClientId=client,
        )  # fmt: skip
        if JOINT_ARMATURE > 0.0:
            for name in model.JOINT_NAMES:
                inertia = p.getDynamicsInfo(body, joints[name], physicsClientId=client)[2]
                p.changeDynamics(body, joints[name], localInertiaDiagonal=[v + JOINT_ARMATURE for v in inertia],
                                 physicsClientId=client)
        efforts = {j.name: j.effort for j in parse_urdf(path).revolute}
        hand = cls(
            client=client,
            body=body,
            constraint=cid,
            urdf_path=path,
            link_index=links,
            joint_index=np.array([joints[n] for n in model.JOINT_NAMES]),
            efforts=np.array([efforts[n] for n in model.JOINT_NAMES]),
            limits=model.joint_limits(path),
            _inertial=inertial,
        )
        hand.set_wrist_pose(wrist_pos, wrist_quat_wxyz)
        hand.set_joint_positions(model.OPEN_POSE if q is None else q)
        return hand

    # --- wrist -------------------------------------------------------------------------------
    def _check_pose(self, pos, quat_wxyz) -> tuple[list[float], tuple]:
        pos = np.asarray(pos, dtype=float)
        quat = np.asarray(quat_wxyz, dtype=float)
        if pos.shape != (3,) or quat.shape != (4,):
            raise ValueError(f"wrist pose needs pos[3] and quat_wxyz[4], got {pos.shape} and {quat.shape}")
        if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(quat))):
            raise ValueError("wrist pose has non-finite values")
        n = np.linalg.norm(quat)
        if n < 1e-6:
            raise ValueError("wrist quaternion has zero norm")
        return pos.tolist(), wxyz_to_xyzw(quat / n)

    def drive_wrist(self, pos: Sequence[float], quat_wxyz: Sequence[float]) -> None:
        """Move the wrist's target: the constraint pulls the root link frame there (force-capped)."""
        from dextog_gym.physics import pybullet as p

        pos, orn = self._check_pose(pos, quat_wxyz)
        p.changeConstraint(
            self.constraint, jointChildPivot=pos, jointChildFrameOrientation=orn,
            maxForce=WRIST_MAX_FORCE, physicsClientId=self.client,
        )  # fmt: skip

    def set_wrist_pose(self, pos: Sequence[float], quat_wxyz: Sequence[float]) -> None:
        """Teleport the root link frame to the pose (zero velocity) and hold it there."""
        from dextog_gym.physics import pybullet as p

        pos_l, orn = self._check_pose(pos, quat_wxyz)
        com = p.multiplyTransforms(pos_l, orn, *self._inertial)
        p.resetBasePositionAndOrientation(self.body, com[0], com[1], physicsClientId=self.client)
        p.resetBaseVelocity(self.body, [0, 0, 0], [0, 0, 0], physicsClientId=self.client)
        self.drive_wrist(pos, quat_wxyz)

    def wrist_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """World pose of the root link frame (not its centre of mass)."""
        from dextog_gym.physics import pybullet as p

        com = p.getBasePositionAndOrientation(self.body, physicsClientId=self.client)
        pos, orn = p.multiplyTransforms(*com, *p.invertTransform(*self._inertial))
        return np.array(pos), xyzw_to_wxyz(orn)

    # --- joints ------------------------------------------------------------------------------
    def set_joint_positions(self, q: Sequence[float]) -> None:
        """Reset the 24 joints (zero velocity) and make them the position targets, so the hand holds."""
        from dextog_gym.physics import pybullet as p

        q = model.validate_joints(q, self.limits)
        for idx, value in zip(self.joint_index, q):
            p.resetJointState(self.body, int(idx), float(value), 0.0, physicsClientId=self.client)
        self.set_joint_targets(q)

    def set_joint_targets(self, q: Sequence[float]) -> None:
        """Position control toward ``q`` with the URDF effort limits as force caps."""
        from dextog_gym.physics import pybullet as p

        q = model.validate_joints(q, self.limits)
        n = model.NUM_JOINTS
        p.setJointMotorControlArray(
            self.body, self.joint_index.tolist(), p.POSITION_CONTROL,
            targetPositions=q.tolist(), targetVelocities=[0.0] * n, forces=self.efforts.tolist(),
            positionGains=[POSITION_GAIN] * n, velocityGains=[VELOCITY_GAIN] * n,
            physicsClientId=self.client,
        )  # fmt: skip

    def joint_positions(self) -> np.ndarray:
        from dextog_gym.physics import pybullet as p

        states = p.getJointStates(self.body, self.joint_index.tolist(), physicsClientId=self.client)
        return np.array([s[0] for s in states])

    # --- kinematics --------------------------------------------------------------------------
    def link_poses(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """World pose (pos[3], quat_wxyz[4]) of every URDF link frame (not the inertial frames)."""
        from dextog_gym.physics import pybullet as p

        out = {}
        indices = [i for i in self.link_index.values() if i >= 0]
        states = p.getLinkStates(
            self.body, indices, computeForwardKinematics=True, physicsClientId=self.client
        )
        names = {i: n for n, i in self.link_index.items()}
        for i, s in zip(indices, states):
            out[names[i]] = (np.array(s[4]), xyzw_to_wxyz(s[5]))
        out[names[-1]] = self.wrist_pose()
        return out

    def fingertip_pads(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per finger: pad centre (world) and outward pad normal (world, unit)."""
        from dextog_gym.hand.transforms import quat_wxyz_to_matrix

        poses = self.link_poses()
        out = {}
        for f in model.FINGERS:
            pos, quat = poses[model.DISTAL_LINK[f]]
            r = quat_wxyz_to_matrix(quat)
            out[f] = (pos + r @ model.PAD_POINTS[f], r @ model.PAD_NORMALS[f])
        return out
