"""A scripted policy: squeeze the grasp, lift the object, then close the fingers that do the task (or twist the cap).

No learning: it is what ``dextog render`` shows (it needs no trained policy; the reference
verifiers are the task controllers and residual PPO in ``policies/``), the probe the tests use to
check that pressing, pulling and twisting move θ and the reward terms, and the lift-hold
measurement of grasp sets. It reads only the action layout (``actions.py``) and,
for the cap, the joint axis of the object in the scene.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.envs.actions import ACTION_SIZE, JOINT_RAD
from dextog_gym.hand import model
from dextog_gym.hand.grip import CLOSED, SQUEEZE_RAD, SQUEEZED

# The env starts from the grasp's own joint angles (no squeeze); the probe first closes every
# flexion joint by the lift test's squeeze, over GRIP_STEPS steps, so the grasp holds with force.
GRIP_STEPS = 2
LIFT_STEPS = 14  # 14 × 1 cm at full wrist speed: past ĥ = 10 cm with room for the object to lag
HOLD_STEPS = 6  # let the lifted object stop swinging before the task motion
# Fingers that do each task: the thumb and index/middle pinch the stapler arm, press the pump
# and pen buttons; the index pulls a trigger. The cap is turned by the wrist.
TASK_FINGERS: dict[str, tuple[str, ...]] = {
    "stapler": ("th", "ff", "mf"),
    "sprayer_press": ("th", "ff"),
    "sprayer_trigger": ("ff",),
    "bottle": ("th", "ff", "mf", "rf", "lf"),
    "pen": ("th", "ff"),
}
_FINGER_OF_JOINT = np.array([n[:2].lower() for n in model.JOINT_NAMES])


class ScriptedPolicy:
    """``policy(obs, info) -> action`` for one episode of ``env`` (call :meth:`reset` per episode)."""

    def __init__(self, env, press_speed: float = 0.5, twist_speed: float = 1.0, lift: bool = True):
        self.env = env.unwrapped
        self.lift_steps = LIFT_STEPS if lift else 0
        self.hold_steps = HOLD_STEPS if lift else 0
        self.task = self.env.task
        self.press_speed = press_speed
        self.twist_speed = twist_speed
        fingers = TASK_FINGERS[self.task]
        self.press_mask = np.isin(_FINGER_OF_JOINT, fingers) & SQUEEZED
        self.t = 0

    def reset(self) -> None:
        self.t = 0

    def _twist_axis(self) -> np.ndarray:
        """World axis that turns the cap toward θ = 1 (right-hand rule)."""
        obj = self.env.scene.obj
        axis_world = obj.task_joint_axis_world()
        sign = np.sign(obj.task_joint.full_position - obj.task_joint.zero_position)
        return axis_world * sign

    def __call__(self, obs=None, info=None) -> np.ndarray:
        a = np.zeros(ACTION_SIZE)
        t, self.t = self.t, self.t + 1
        joints = self.env.targets.joints
        if t < GRIP_STEPS:
            speed = SQUEEZE_RAD / (GRIP_STEPS * JOINT_RAD)
            a[6:] = np.where(SQUEEZED, np.sign(CLOSED - joints) * speed, 0.0)
            return a
        t -= GRIP_STEPS
        lifting = not self.env.fixed
        if lifting and t < self.lift_steps:
            a[2] = 1.0
            return a
        if lifting and t < self.lift_steps + self.hold_steps:
            return a
        a[6:] = np.where(self.press_mask, np.sign(CLOSED - joints) * self.press_speed, 0.0)
        if self.task == "bottle":
            a[3:6] = self._twist_axis() * self.twist_speed
        return a
