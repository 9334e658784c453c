"""Task controllers: training-free verifiers that do the task from the grasp they start with.

One deterministic controller serves every task, parametrised by the table below. Per episode it reads
the grasp it was placed with: which pads sit nearest the functional part (they do the task motion;
the others only hold), and the task joint's axis (the cap is turned about it). Then, closed loop:

1. grip: close every flexion joint by the lift test's squeeze, so the pads press with force;
2. lift (objects that are not fixed): raise the wrist until the object, not the wrist, is up
   ``LIFT_TARGET_M``; when the object lags the wrist (slip), stop and squeeze harder;
3. task: close the task fingers (or turn the wrist about the cap axis) while θ is below
   ``THETA_DONE``, then hold; keep the object above ĥ throughout.

It never re-grasps: the hand may tighten, lift and move the task fingers, but it does not open,
slide or move to new contacts, so a success is the grasp's. ``grasp_kept`` in the episode record says
whether the pads that touched at the start still touch after the lift (for the fixed bottle: once the
cap is turned).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dextog_gym.envs.actions import ACTION_SIZE, JOINT_RAD, ROTATION_RAD, TRANSLATION_M
from dextog_gym.hand import model
from dextog_gym.hand.grip import CLOSED, SQUEEZE_RAD, SQUEEZED
from dextog_gym.hand.transforms import axis_angle_to_matrix

GRIP_STEPS = 2  # the squeeze in two steps of ≤ JOINT_RAD each
LIFT_TARGET_M = 0.13  # object rise to reach: past ĥ = 0.10 m with room to sag while pressing
KEEP_LIFT_M = 0.115  # during the task, raise the wrist again when the object sinks below this
MAX_LIFT_STEPS = 24  # 24 × 1 cm of wrist travel at most: a grasp that cannot lift fails here
SLIP_M = 0.03  # wrist rise minus object rise beyond this counts as slipping
SLIP_SQUEEZE_SPEED = 0.5  # extra closing (× JOINT_RAD per step) of every flexion joint while slipping
HOLD_STEPS = 3  # let a lifted object stop swinging before the task motion
THETA_DONE = 0.8  # stop driving the task motion here: past θ̂ = 0.6 with margin, short of the stop
PART_RADIUS_M = 0.035  # pads within this of the functional part do the task motion
STALL_STEPS = 10  # θ rising by less than STALL_THETA over this many steps counts as stalled
STALL_THETA = 0.01
_FINGER_OF_JOINT = np.array([n[:2].lower() for n in model.JOINT_NAMES])


@dataclass(frozen=True)
class TaskMotion:
    """How one task is done once the object is held."""

    opposed: bool  # a pinch: the thumb closes with the fingers on the part (stapler arm, buttons)
    twist: bool = False  # turn the wrist about the task joint axis (bottle cap)
    fallback: tuple[str, ...] = ()  # fingers used when no pad is near the part
    press_speed: float = 0.5  # × JOINT_RAD per step
    twist_speed: float = 1.0  # × ROTATION_RAD per step


MOTIONS: dict[str, TaskMotion] = {
    "stapler": TaskMotion(opposed=True, fallback=("th", "ff", "mf")),
    "sprayer_press": TaskMotion(opposed=True, fallback=("th", "ff")),
    "sprayer_trigger": TaskMotion(opposed=False, fallback=("ff",)),
    "bottle": TaskMotion(opposed=False, twist=True, fallback=("th", "ff", "mf", "rf", "lf")),
    "pen": TaskMotion(opposed=True, fallback=("th", "ff")),
}


class TaskController:
    """``reset(env)`` once per episode (after ``env.reset``), then ``act(obs)`` every step."""

    name = "controller"

    def __init__(self, task: str):
        if task not in MOTIONS:
            raise ValueError(f"no controller for task {task!r}; tasks: {', '.join(MOTIONS)}")
        self.task, self.motion = task, MOTIONS[task]
        self.env = None

    def reset(self, env) -> None:
        self.env = env.unwrapped
        scene = self.env.scene
        _, pads = scene.hand_points()
        part = scene.functional_point()
        dist = np.linalg.norm(pads - part, axis=1)
        near = [f for f, d in zip(model.FINGERS, dist) if d < PART_RADIUS_M]
        if not near:
            near = list(self.motion.fallback)
        elif self.motion.opposed and "th" not in near:
            near.append("th")  # a pinch needs the opposing thumb
        self.fingers = tuple(f for f in model.FINGERS if f in near)
        self.task_mask = np.isin(_FINGER_OF_JOINT, self.fingers) & SQUEEZED
        self.t, self.phase = 0, "grip"
        self.lift_steps = self.hold = 0
        self.wrist_z0 = float(self.env.targets.wrist_pos[2])
        self.theta_log: list[float] = []
        self.start_contacts = scene.touching_fingers()
        self.lift_contacts: frozenset[str] | None = None

    # --- readings -------------------------------------------------------------------------------------
    def _lift(self) -> float:
        ep = self.env._episode
        return float(self.env.scene.object_com()[0][2] - ep["height0"])

    def _theta(self) -> float:
        return float(np.clip(self.env.scene.theta(), 0.0, 1.0))

    def grasp_kept(self) -> bool | None:
        """Did the pads that touched at the start still touch after the lift — for a fixed object (bottle),
        when the cap first reached ``THETA_DONE`` (None: that moment never came)."""
        if self.lift_contacts is None:
            return None
        return bool(self.start_contacts) and self.start_contacts <= self.lift_contacts

    # --- the loop ---------------------------------------------------------------------------------------
    def act(self, obs=None) -> np.ndarray:
        if self.env is None:
            raise RuntimeError("TaskController.reset(env) must be called after env.reset()")
        a = np.zeros(ACTION_SIZE)
        joints = self.env.targets.joints

        def close(mask: np.ndarray, speed: float) -> np.ndarray:
            """Joint deltas toward the closed hand at ``speed`` (× JOINT_RAD), stopping at it, never past."""
            return np.where(mask, np.clip((CLOSED - joints) / JOINT_RAD, -speed, speed), 0.0)

        self.t += 1
        if self.phase == "grip":
            a[6:] = close(SQUEEZED, SQUEEZE_RAD / (GRIP_STEPS * JOINT_RAD))
            if self.t >= GRIP_STEPS:
                self.phase = "task" if self.env.fixed else "lift"
            return a
        if self.phase == "lift":
            lift = self._lift()
            wrist_rise = float(self.env.targets.wrist_pos[2]) - self.wrist_z0
            if wrist_rise - lift > SLIP_M:  # the object lags: hold the height, close harder
                a[6:] = close(SQUEEZED, SLIP_SQUEEZE_SPEED)
            else:
                a[2] = 1.0
            self.lift_steps += 1
            if lift >= LIFT_TARGET_M or self.lift_steps >= MAX_LIFT_STEPS:
                self.phase = "hold"
                self.lift_contacts = self.env.scene.touching_fingers()
            return a
        if self.phase == "hold":
            self.hold += 1
            if self.hold >= HOLD_STEPS:
                self.phase = "task"
            return a
        # task: drive θ up, keep the object lifted
        theta = self._theta()
        self.theta_log.append(theta)
        if self.env.fixed and self.lift_contacts is None and theta >= THETA_DONE:
            self.lift_contacts = self.env.scene.touching_fingers()
        if not self.env.fixed and self._lift() < KEEP_LIFT_M:
            a[2] = 0.5
        if theta < THETA_DONE:
            speed = self.motion.press_speed
            stalled = (len(self.theta_log) > STALL_STEPS
                       and theta - self.theta_log[-1 - STALL_STEPS] < STALL_THETA)
            if self.motion.twist:
                a[:6] = self._twist_about_cap()
                a[6:] = close(SQUEEZED, speed)  # the pads must turn the cap, not slide on it
            else:
                a[6:] = close(self.task_mask, 1.0 if stalled else speed)
        return a

    def _twist_about_cap(self) -> np.ndarray:
        """Wrist action turning the hand about the cap's own axis (not the palm centre, which the action's
        rotation turns about): the translation (I − R)(c − P) moves the pivot P so that the pads circle the
        cap centre c instead of being dragged sideways off it."""
        axis = self._twist_axis()
        angle = self.motion.twist_speed * ROTATION_RAD
        targets = self.env.targets
        pivot = targets.wrist_pos + targets.wrist_rot @ targets.pivot_local
        cap = self.env.scene.functional_point()
        turn = axis_angle_to_matrix(axis, angle)
        shift = (np.eye(3) - turn) @ (cap - pivot)
        a = np.zeros(6)
        a[:3] = np.clip(shift / TRANSLATION_M, -1.0, 1.0)
        a[3:6] = axis * self.motion.twist_speed
        return a

    def _twist_axis(self) -> np.ndarray:
        """World axis that turns the cap toward θ = 1 (right-hand rule)."""
        obj = self.env.scene.obj
        sign = np.sign(obj.task_joint.full_position - obj.task_joint.zero_position)
        return obj.task_joint_axis_world() * sign
