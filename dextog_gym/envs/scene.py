"""The thin simulation layer the task environments talk to: a hand, one object, a table.

Everything pybullet-specific about an episode lives here (placing a grasp, settling contacts,
reading poses), so the environment class speaks only in numpy arrays and the door stays open
for a second physics backend.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from dextog_gym.hand import model
from dextog_gym.hand.grip import squeeze_targets
from dextog_gym.hand.pybullet_hand import ShadowHand
from dextog_gym.hand.transforms import matrix_to_quat_wxyz, quat_wxyz_to_matrix
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.objects.pybullet_object import ArticulatedObject
from dextog_gym.objects.spec import category
from dextog_gym.physics import PHYSICS_HZ, connect, disconnect, reset_world
from dextog_gym.physics import pybullet as p

# Placement: contacts settle for 0.15 s (the lift test's settle time) before the episode starts.
SETTLE_STEPS = int(0.15 * PHYSICS_HZ)
# The fingers hold the grasp's own joint angles at reset, with no squeeze. Measured on 12 stapler
# resets: the lift test's 0.15 rad squeeze clicked every stapler before the first step (θ₀ = 1 at
# spring torques of 0.4 and 1.5 N·m, median θ₀ 0.55 even at 4 N·m), leaving the policy nothing to
# do but lose r_t; with no squeeze the median θ₀ is 0.05. Squeezing to hold and pressing are then
# the policy's job, as in the paper, where the policy starts from the grasp pose.
RESET_SQUEEZE_RAD = 0.0
# Hand-held grasps that reach under the object start raised by the hand's depth below the table
# plus this margin (the lift test's margin).
TABLE_MARGIN_M = 0.003
# A grasp is skipped, not used, when it cannot be placed physically: the hand sinks deeper than
# this into the object (Bullet then pushes the bodies apart violently), it sinks this deep into
# the table while the object stands on it, or the settle throws the object (speed / jump below).
MAX_PENETRATION_M = 0.012
MAX_SETTLE_SPEED_M_S = 1.0
MAX_SETTLE_JUMP_M = 0.05
_FAR = 0.05  # contact query radius, m


@dataclass(frozen=True)
class Placement:
    ok: bool
    reason: str  # "" when ok
    raised_m: float  # how far the scene was lifted so the hand clears the table
    penetration_m: float  # deepest hand–object overlap before settling


def _world_from_pose(pos: np.ndarray, orn_xyzw) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = np.array(p.getMatrixFromQuaternion(orn_xyzw)).reshape(3, 3)
    m[:3, 3] = pos
    return m


class Scene:
    """One pybullet client holding a Shadow Hand and (one at a time) an articulated object."""

    def __init__(self, gui: bool = False, self_collision: bool = True):
        self.client = connect(gui=gui, table=False)
        # An env dropped without close() must not keep its client (~34 MiB each): the finaliser
        # disconnects when the scene is collected, and close() runs it early (once).
        self._release = weakref.finalize(self, disconnect, self.client)
        self.self_collision = self_collision
        self.hand: ShadowHand | None = None
        self.obj: ArticulatedObject | None = None
        self.asset: ObjectAsset | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self._release()
        self.client = None

    def load_object(self, asset: ObjectAsset) -> None:
        """Rebuild the world with ``asset`` as its object.

        The world is rebuilt from nothing at every placement (``resetSimulation``, ~16 ms): Bullet
        keeps contact caches that ``restoreState`` does not reset, and with them an episode would
        depend on the one before it. Rebuilt, the same seed replays bit for bit in the same env.
        """
        reset_world(self.client, table=True)
        self.table = 0  # the first body of the rebuilt world
        self.hand = ShadowHand.load(self.client, wrist_pos=(0.0, 0.0, 1.0), self_collision=self.self_collision)
        self._hand_links = [self.hand.link_index[model.PALM_LINK]] + [
            self.hand.link_index[model.DISTAL_LINK[f]] for f in model.FINGERS]
        self.obj = ArticulatedObject.load(self.client, asset)
        self.asset = asset
        self._rest = p.getBasePositionAndOrientation(self.obj.body, physicsClientId=self.client)

    # --- reset ---------------------------------------------------------------------------------
    def place(self, asset: ObjectAsset, position: np.ndarray, quat_wxyz: np.ndarray, joints: np.ndarray, yaw: float) -> Placement:
        """Object at rest (turned by ``yaw``), hand at the grasp (object frame), contacts settled.

        Returns whether the grasp could be placed; on failure the scene is left for the next try.
        """
        self.load_object(asset)
        spec = category(self.asset.category)
        body, cid = self.obj.body, self.client
        com_pos, com_orn = self._rest
        turn = [0.0, 0.0, float(np.sin(yaw / 2)), float(np.cos(yaw / 2))]
        com_orn = p.multiplyTransforms([0, 0, 0], turn, [0, 0, 0], com_orn)[1]  # turned about its centre
        self._reset_object(com_pos, com_orn)
        obj_world = _world_from_pose(*self.obj.base_pose())
        grasp = np.eye(4)
        grasp[:3, :3] = quat_wxyz_to_matrix(quat_wxyz)
        grasp[:3, 3] = position
        wrist = obj_world @ grasp
        quat = matrix_to_quat_wxyz(wrist[:3, :3])
        self.hand.set_wrist_pose(wrist[:3, 3], quat)
        self.hand.set_joint_positions(joints)
        below = self._depth(self.hand.body, self.table)
        raised = 0.0
        if below > 0.0:
            if not spec.hand_held and below > MAX_PENETRATION_M:
                return Placement(False, f"hand {below * 100:.1f} cm inside the table", 0.0, 0.0)
            if spec.hand_held:
                raised = below + TABLE_MARGIN_M
                self._reset_object(np.add(com_pos, [0, 0, raised]), com_orn)
                wrist[2, 3] += raised
                self.hand.set_wrist_pose(wrist[:3, 3], quat)
                self.hand.set_joint_positions(joints)
        depth = self._depth(self.hand.body, body)
        if depth > MAX_PENETRATION_M:
            return Placement(False, f"hand {depth * 100:.1f} cm inside the object", raised, depth)
        self.hand.set_joint_targets(squeeze_targets(joints, RESET_SQUEEZE_RAD))
        start = self.object_com()[0]
        for _ in range(SETTLE_STEPS):
            p.stepSimulation(physicsClientId=cid)
            self.obj.enforce_limits()
        speed = float(np.linalg.norm(p.getBaseVelocity(body, physicsClientId=cid)[0]))
        jump = float(np.linalg.norm(self.object_com()[0] - start))
        if not np.isfinite(speed) or speed > MAX_SETTLE_SPEED_M_S or jump > MAX_SETTLE_JUMP_M:
            return Placement(False, f"object thrown on settling ({speed:.2f} m/s, moved {jump * 100:.1f} cm)",
                             raised, depth)
        return Placement(True, "", raised, depth)

    def _reset_object(self, com_pos, com_orn) -> None:
        p.resetBasePositionAndOrientation(self.obj.body, list(com_pos), list(com_orn), physicsClientId=self.client)
        p.resetBaseVelocity(self.obj.body, [0, 0, 0], [0, 0, 0], physicsClientId=self.client)
        self.obj.set_theta(0.0)
        self.obj.apply_resistance()

    def _depth(self, body_a: int, body_b: int) -> float:
        """Deepest overlap between two bodies in metres (0 when apart)."""
        pts = p.getClosestPoints(body_a, body_b, _FAR, physicsClientId=self.client)
        return max([0.0] + [-c[8] for c in pts])

    # --- control -------------------------------------------------------------------------------
    def drive(self, wrist_pos: np.ndarray, wrist_quat_wxyz: np.ndarray, joint_targets: np.ndarray,
              substeps: int) -> None:
        self.hand.drive_wrist(wrist_pos, wrist_quat_wxyz)
        self.hand.set_joint_targets(joint_targets)
        for _ in range(substeps):
            p.stepSimulation(physicsClientId=self.client)
            self.obj.enforce_limits()

    # --- readings (world frame) ------------------------------------------------------------------
    def object_com(self) -> tuple[np.ndarray, np.ndarray]:
        """Object centre (base centre of mass) and orientation (xyzw): the paper's t_object and h."""
        pos, orn = p.getBasePositionAndOrientation(self.obj.body, physicsClientId=self.client)
        return np.array(pos), np.array(orn)

    def object_rotation(self) -> np.ndarray:
        _, orn = p.getBasePositionAndOrientation(self.obj.body, physicsClientId=self.client)
        return np.array(p.getMatrixFromQuaternion(orn)).reshape(3, 3)

    def object_velocity(self) -> tuple[np.ndarray, np.ndarray]:
        lin, ang = p.getBaseVelocity(self.obj.body, physicsClientId=self.client)
        return np.array(lin), np.array(ang)

    def object_frame(self) -> np.ndarray:
        """4×4 world transform of the object frame (URDF base link frame)."""
        return _world_from_pose(*self.obj.base_pose())

    def theta(self) -> float:
        return self.obj.theta()

    def functional_point(self) -> np.ndarray:
        return self.obj.functional_point_world()

    def hand_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Palm centre [3] and the five fingertip pad centres [5, 3] in the world."""
        states = p.getLinkStates(self.hand.body, self._hand_links, computeForwardKinematics=True,
                                 physicsClientId=self.client)
        out = []
        for s, local in zip(states, [model.PALM_CENTER] + [model.PAD_POINTS[f] for f in model.FINGERS]):
            rot = np.array(p.getMatrixFromQuaternion(s[5])).reshape(3, 3)
            out.append(np.array(s[4]) + rot @ local)
        return out[0], np.array(out[1:])

    def joint_positions(self) -> np.ndarray:
        return self.hand.joint_positions()

    def wrist_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.hand.wrist_pose()

    def touching_fingers(self) -> frozenset[str]:
        """Fingers (th, ff, mf, rf, lf) whose distal link touches the object now: which pads hold it."""
        distal = {self.hand.link_index[model.DISTAL_LINK[f]]: f for f in model.FINGERS}
        contacts = p.getContactPoints(self.hand.body, self.obj.body, physicsClientId=self.client)
        return frozenset(distal[c[3]] for c in contacts if c[3] in distal)

    def fingertips_on_part(self) -> int:
        """How many distal links touch the link that carries the functional part (the cap)."""
        part = self.obj.asset.annotation.parts[self.obj.asset.annotation.functional_part]
        link = self.obj.link_index[part.link]
        distal = {self.hand.link_index[model.DISTAL_LINK[f]] for f in model.FINGERS}
        contacts = p.getContactPoints(self.hand.body, self.obj.body, linkIndexB=link, physicsClientId=self.client)
        return len({c[3] for c in contacts if c[3] in distal})

    def palm_about_axis(self) -> np.ndarray:
        """The palm centre's distance from the task joint's axis and height along it, from the functional point."""
        palm, _ = self.hand_points()
        axis = self.obj.task_joint_axis_world()
        d = palm - self.functional_point()
        along = float(d @ axis)
        return np.array([float(np.linalg.norm(d - along * axis)), along])

    def hand_object_contacts(self) -> int:
        return len(p.getContactPoints(self.hand.body, self.obj.body, physicsClientId=self.client))
