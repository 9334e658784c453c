"""SB3 callbacks for a training run: reward terms to TensorBoard, a progress bar, timing, checkpoints.

The env reports every reward term in ``info`` at every step; summing them per episode here is what
puts ``reward_task``/``reward_lift``/``reward_completion``/``penalty_drop`` and the success rates
next to SB3's own curves in TensorBoard.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from dextog_gym.envs.reward import TERM_NAMES


class EpisodeTermsLogger(BaseCallback):
    """Per-episode sums of the reward terms and the success flags, averaged over finished episodes."""

    def _on_training_start(self) -> None:
        self._sums = np.zeros((self.training_env.num_envs, len(TERM_NAMES)))

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        for k, (info, done) in enumerate(zip(infos, dones)):
            self._sums[k] += [info.get(name, 0.0) for name in TERM_NAMES]
            if not done:
                continue
            for name, total in zip(TERM_NAMES, self._sums[k]):
                self.logger.record_mean(f"episode/{name}", float(total))
            self.logger.record_mean("episode/success_rate", float(info.get("is_success", False)))
            self.logger.record_mean("episode/success_at_end", float(info.get("success_now", False)))
            self.logger.record_mean("episode/lift_success_rate", float(info.get("lift_success", False)))
            self.logger.record_mean("episode/theta_end", float(info.get("theta", 0.0)))
            self.logger.record("episode/placement_skips", int(info.get("placement_skips", 0)))
            self._sums[k] = 0.0
        return True


class TimingAndProgress(BaseCallback):
    """A tqdm bar over env steps, and how wall time splits between rollouts (simulator + policy
    inference) and PPO updates (learner); both shares go to TensorBoard and to the run's summary."""

    def __init__(self, total_timesteps: int, show: bool = True):
        super().__init__()
        self.total = total_timesteps
        self.show = show
        self.rollout_s = 0.0
        self.train_s = 0.0
        self._mark = 0.0
        self._bar = None

    def _on_training_start(self) -> None:
        if self.show:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, initial=self.model.num_timesteps, unit="step", desc="PPO",
                             dynamic_ncols=True, smoothing=0.05)
        self._mark = time.perf_counter()

    def _on_rollout_start(self) -> None:
        now = time.perf_counter()
        self.train_s += now - self._mark
        self._mark = now

    def _on_rollout_end(self) -> None:
        now = time.perf_counter()
        self.rollout_s += now - self._mark
        self._mark = now
        total = max(self.rollout_s + self.train_s, 1e-9)
        self.logger.record("time/rollout_share", self.rollout_s / total)
        self.logger.record("time/learner_share", self.train_s / total)

    def _on_step(self) -> bool:
        if self._bar is not None:
            self._bar.update(self.training_env.num_envs)
        return True

    def _on_training_end(self) -> None:
        self.train_s += time.perf_counter() - self._mark
        if self._bar is not None:
            self._bar.close()


class PeriodicCheckpoint(BaseCallback):
    """Calls ``save(num_timesteps)`` every ``every`` env steps (rounded to whole vec-env steps)."""

    def __init__(self, every: int, save: Callable[[int], None]):
        super().__init__()
        self.every = max(int(every), 1)
        self.save = save
        self._next = None

    def _on_training_start(self) -> None:
        self._next = (self.model.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self._next:
            self.save(self.model.num_timesteps)
            self._next += self.every
        return True
