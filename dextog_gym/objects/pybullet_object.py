"""An articulated object living in a pybullet client: placing, θ, part positions.

The resistance of the task joint (spring back to θ = 0, or thread friction) is a
force-limited motor re-issued by :meth:`ArticulatedObject.apply_resistance`; its force
comes from the annotation, the one source of truth.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.objects.annotation import TaskJoint
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.physics import pybullet as p

# Contact parameters for every object link. Lateral friction 1.0 (rubber on plastic);
# a little spinning/rolling friction so round parts do not creep on the table.
LATERAL_FRICTION = 1.0
SPINNING_FRICTION = 0.002
ROLLING_FRICTION = 0.0001
# The task joint's end stop (``enforce_limits``): how far past a limit the joint may go before the
# stop engages (rad or m; below a millimetre), and the stop motor's force cap (N or N·m): far above
# what a finger exerts, so the stop is rigid.
LIMIT_SLACK = 5e-4
STOP_FORCE = 200.0
STOP_GAIN = 1.0  # pybullet's position gain: 1 closes the whole error in one step (default 0.1 crept)
# The stop motor alone still gives way on the lightest links: PGS does not converge when a 5 g trigger
# sits between a hand pushing with up to the wrist's force and the stop (measured with random actions,
# benchmarks/physics_fidelity.py: raw θ up to 2.76 on triggers, -0.42..1.32 on press buttons). So a joint
# pushed through the engaged stop is put back (position and velocity zeroed), the motor staying engaged:
# - at the end of travel (θ = 1: a finger squeezing the part against its stop) onto the stop itself;
# - at rest (θ = 0: the object hanging from its button or trigger while lifted) only back to REST_STOP_GIVE
#   outside it. The motor carries the object's weight through its position error; projected onto the stop
#   exactly, the error and with it the pull vanished, and 8 of 27 press-sprayer rule grasps held their
#   sprayer in the lift test instead of 14 (22 with the give).
PROJECT_THROUGH_STOP = True
REST_STOP_GIVE = {"revolute": 0.02, "prismatic": 0.002}  # rad, m: the rest stop's compliance


def _yaw_quat_xyzw(yaw: float) -> list[float]:
    return [0.0, 0.0, float(np.sin(yaw / 2)), float(np.cos(yaw / 2))]


def _wxyz_to_xyzw(q: np.ndarray) -> list[float]:
    return [float(q[1]), float(q[2]), float(q[3]), float(q[0])]


class ArticulatedObject:
    def __init__(self, client: int, asset: ObjectAsset, body: int, joint_index: int, link_index: dict[str, int]):
        self.client = client
        self.asset = asset
        self.body = body
        self.joint_index = joint_index
        self.link_index = link_index  # link name -> pybullet link index (-1 = base)

    @property
    def task_joint(self) -> TaskJoint:
        return self.asset.annotation.task_joint

    @classmethod
    def load(cls, client: int, asset: ObjectAsset, xy: tuple[float, float] = (0.0, 0.0),
             yaw: float = 0.0, fixed_base: bool | None = None) -> "ArticulatedObject":
        """Load at the resting pose, shifted by ``xy`` and turned by ``yaw`` about z.

        ``fixed_base`` overrides the annotation (the lift test lifts bottles too).
        """
        rest = asset.annotation.resting_pose
        position = rest.position + np.array([xy[0], xy[1], 0.0])
        _, orn = p.multiplyTransforms([0, 0, 0], _yaw_quat_xyzw(yaw), [0, 0, 0], _wxyz_to_xyzw(rest.quat_wxyz))
        body = p.loadURDF(str(asset.urdf_path), position.tolist(), orn, useFixedBase=rest.fixed_base if fixed_base is None else fixed_base,
                          flags=p.URDF_USE_INERTIA_FROM_FILE, physicsClientId=client)
        base_name = p.getBodyInfo(body, physicsClientId=client)[0].decode()
        link_index = {base_name: -1}
        joint_index = -1
        for j in range(p.getNumJoints(body, physicsClientId=client)):
            info = p.getJointInfo(body, j, physicsClientId=client)
            link_index[info[12].decode()] = j
            if info[1].decode() == asset.annotation.task_joint.name:
                joint_index = j
        if joint_index < 0:
            raise ValueError(f"{asset.urdf_path}: task joint {asset.annotation.task_joint.name!r} not loaded")
        for link in link_index.values():
            p.changeDynamics(body, link, lateralFriction=LATERAL_FRICTION, spinningFriction=SPINNING_FRICTION,
                             rollingFriction=ROLLING_FRICTION, physicsClientId=client)
        obj = cls(client, asset, body, joint_index, link_index)
        info = p.getJointInfo(body, joint_index, physicsClientId=client)
        obj.limits = (float(info[8]), float(info[9]))
        obj._stop = None
        obj.apply_resistance()
        return obj

    def apply_resistance(self) -> None:
        self._stop = None
        joint = self.task_joint
        if joint.resistance == "spring":
            p.setJointMotorControl2(self.body, self.joint_index, p.POSITION_CONTROL,
                                    targetPosition=joint.zero_position, force=joint.max_force,
                                    physicsClientId=self.client)
        else:
            p.setJointMotorControl2(self.body, self.joint_index, p.VELOCITY_CONTROL, targetVelocity=0.0,
                                    force=joint.max_force, physicsClientId=self.client)

    def release_joint(self) -> None:
        """Switch the resistance off (the joint then moves freely): for tests and pictures."""
        p.setJointMotorControl2(self.body, self.joint_index, p.VELOCITY_CONTROL, targetVelocity=0.0, force=0.0,
                                physicsClientId=self.client)

    def enforce_limits(self) -> bool:
        """A rigid, one-sided end stop on the task joint; call after every physics step. True while engaged.

        Bullet's multibody limit constraints give way under a sustained finger push on a light
        link: a 5 g trigger squeezed by the hand reached 1.35 rad against a 0.19 rad limit (1.10 rad
        with the bottle fixed, 0.56 rad at 150 solver iterations), and a pump button pulled up to
        lift its sprayer left its range by 7 mm. Teleporting the joint back kept θ in range but cut
        the force path (no press sprayer could be lifted by its button). So: once the joint leaves
        its range a strong motor holds it at the limit — a constraint, so the pull reaches the body
        — and lets go as soon as that motor would have to push the joint *out* of its range (the
        hand pushes it back in), which makes the stop one-sided, like a real end stop. Where the
        motor alone gives way too, the joint is also put back onto the stop (``PROJECT_THROUGH_STOP``),
        with the motor still engaged, so the force path stays.
        """
        lower, upper = self.limits
        q, _, _, motor = p.getJointState(self.body, self.joint_index, physicsClientId=self.client)
        engaging = self._stop is None
        if engaging:
            if lower - LIMIT_SLACK <= q <= upper + LIMIT_SLACK:
                return False
            self._stop = upper if q > upper else lower
            p.setJointMotorControl2(self.body, self.joint_index, p.POSITION_CONTROL, targetPosition=self._stop,
                                    targetVelocity=0.0, force=STOP_FORCE, positionGain=STOP_GAIN, velocityGain=1.0,
                                    physicsClientId=self.client)
        inward = -1.0 if self._stop == upper else 1.0  # the direction from the limit into the range
        past = (self._stop - q) * inward > LIMIT_SLACK  # pushed through the stop by more than the slack
        if not engaging:
            inside = (q - self._stop) * inward > LIMIT_SLACK
            # pybullet reports a motor's applied force with the opposite sign (measured: a spring motor
            # pulling a joint at q < 0 back toward 0 reads negative): reported * inward > 0 means the
            # stop is pushing the joint out of its range — let go, unless the joint is still past it.
            if inside or (motor * inward > 0.0 and not past):
                self._stop = None
                self.apply_resistance()
                return False
        if past and PROJECT_THROUGH_STOP:
            give = 0.0 if self._stop == self._full_stop() else REST_STOP_GIVE[self.task_joint.kind]
            if (self._stop - q) * inward > give + LIMIT_SLACK:
                p.resetJointState(self.body, self.joint_index, self._stop - inward * give, 0.0,
                                  physicsClientId=self.client)
        return True

    def _full_stop(self) -> float:
        """The limit at the end of the task motion (θ = 1): where a finger squeezes the part against its stop."""
        joint, (lower, upper) = self.task_joint, self.limits
        return upper if joint.full_position > joint.zero_position else lower

    def task_joint_axis_world(self) -> np.ndarray:
        """Unit axis of the task joint in the world (the child link's frame axis, rotated)."""
        axis = p.getJointInfo(self.body, self.joint_index, physicsClientId=self.client)[13]
        state = p.getLinkState(self.body, self.joint_index, computeForwardKinematics=True, physicsClientId=self.client)
        rot = np.array(p.getMatrixFromQuaternion(state[5])).reshape(3, 3)
        v = rot @ np.asarray(axis, dtype=float)
        return v / np.linalg.norm(v)

    def joint_position(self) -> float:
        return float(p.getJointState(self.body, self.joint_index, physicsClientId=self.client)[0])

    def theta(self) -> float:
        """Task progress: 0 at rest, 1 when the task joint has gone its full way."""
        return self.task_joint.theta(self.joint_position())

    def set_theta(self, theta: float) -> None:
        p.resetJointState(self.body, self.joint_index, self.task_joint.position(theta), 0.0,
                          physicsClientId=self.client)

    def base_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(position, quaternion xyzw) of the object frame (the URDF base link frame).

        pybullet reports the base's centre of mass; undo the URDF inertial offset.
        """
        com_pos, com_orn = p.getBasePositionAndOrientation(self.body, physicsClientId=self.client)
        inertial_pos, inertial_orn = p.getDynamicsInfo(self.body, -1, physicsClientId=self.client)[3:5]
        inv_pos, inv_orn = p.invertTransform(inertial_pos, inertial_orn)
        pos, orn = p.multiplyTransforms(com_pos, com_orn, inv_pos, inv_orn)
        return np.array(pos), np.array(orn)

    def link_pose(self, link: str) -> tuple[np.ndarray, np.ndarray]:
        index = self.link_index[link]
        if index < 0:
            return self.base_pose()
        state = p.getLinkState(self.body, index, computeForwardKinematics=True, physicsClientId=self.client)
        return np.array(state[4]), np.array(state[5])

    def part_points_world(self, part: str) -> np.ndarray:
        """The annotated points of ``part`` in the world frame, at the current joint position."""
        surface = self.asset.annotation.parts[part]
        pos, orn = self.link_pose(surface.link)
        rot = np.array(p.getMatrixFromQuaternion(orn.tolist())).reshape(3, 3)
        return surface.points @ rot.T + pos

    def part_normal_world(self, part: str) -> np.ndarray | None:
        surface = self.asset.annotation.parts[part]
        if surface.normal is None:
            return None
        _, orn = self.link_pose(surface.link)
        rot = np.array(p.getMatrixFromQuaternion(orn.tolist())).reshape(3, 3)
        return rot @ surface.normal

    def functional_point_world(self) -> np.ndarray:
        return self.part_points_world(self.asset.annotation.functional_part).mean(axis=0)
