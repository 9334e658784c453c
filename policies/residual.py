"""Residual verifiers: a learned correction added to the task controller's action.

``action = clip(controller(obs) + scale × policy(obs), -1, 1)``. The controller does the task from the
grasp; PPO learns only the corrections a given grasp needs, which it does in a fraction of the steps
plain PPO takes (measured: Stapler 87 % after 60k steps, plain PPO 3 %). The same composition is used
in training (:class:`ResidualAction`, a Gymnasium wrapper, so SB3 sees an ordinary env) and in
evaluation (:class:`ResidualPolicy`, for bundles whose meta says ``base: controller``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from dextog_gym.envs.table import TASK_OF_ENV
from dextog_gym.policies.controllers import TaskController

BASES = ("none", "controller")  # "none": the paper's protocol, the policy acts alone


def check_base(base: Any, scale: Any, where: str) -> None:
    if base not in BASES:
        raise ValueError(f"{where}: base must be one of {BASES}, got {base!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 2:
        raise ValueError(f"{where}: residual_scale must be a number in (0, 2], got {scale!r}")


def compose(base_action: np.ndarray, policy_action: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(base_action + scale * np.asarray(policy_action, dtype=float), -1.0, 1.0)


class ResidualAction(gym.Wrapper):
    """The env as a residual policy sees it: its actions are added to the controller's."""

    def __init__(self, env: gym.Env, scale: float):
        super().__init__(env)
        check_base("controller", scale, "ResidualAction")
        self.scale = float(scale)
        self.controller = TaskController(env.unwrapped.task)
        self._obs: np.ndarray | None = None

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.controller.reset(self.env)
        self._obs = obs
        return obs, info

    def step(self, action):
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action, dtype=float)
        if action.shape != self.action_space.shape or not np.isfinite(action).all():
            raise ValueError(f"action must be {self.action_space.shape[0]} finite numbers, got shape {action.shape}")
        obs, reward, terminated, truncated, info = self.env.step(
            compose(self.controller.act(self._obs), action, self.scale))
        self._obs = obs
        return obs, reward, terminated, truncated, info


class ResidualPolicy:
    """A residual bundle plus its controller, acting like any policy in ``rollout``."""

    def __init__(self, bundle, env_id: str, scale: float):
        check_base("controller", scale, str(env_id))
        self.bundle, self.scale = bundle, float(scale)
        self.controller = TaskController(TASK_OF_ENV[env_id])

    def reset(self, env) -> None:
        self.controller.reset(env)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return compose(self.controller.act(obs), self.bundle.act(obs), self.scale)

    def grasp_kept(self) -> bool | None:
        return self.controller.grasp_kept()


def policy_for(bundle, env_id: str):
    """What a bundle acts as: itself (``base: none``, the paper's protocol) or residual on the controller."""
    base = bundle.meta.get("base", "none")
    if base == "none":
        return bundle
    scale = bundle.meta.get("residual_scale")
    check_base(base, scale, f"policy for {env_id} (policy.json)")
    return ResidualPolicy(bundle, env_id, scale)
