"""The DexTOG reward (paper Eqs. 17–21) and the official code's reading of it, as pure functions.

The constants are the paper's (Sec. V-A); they live here and nowhere else. Two readings:

* ``paper`` (default): r = r_t + r_l + r_c + p_d exactly as Eqs. 17–21 write them.
* ``dextog_code``: the official code gates the task reward on the object being lifted at least
  ``CODE_LIFT_GATE_M`` and, for lifting tasks, drops the θ condition from completion.

Heights: h is the height of the object centre and h₀ its height after the reset. Eq. 18 pays the
lift h − h₀; we read the pass line of Eq. 19 the same way (lift above the rest height h − h₀ > ĥ),
because an absolute ĥ = 10 cm would count an upright 20 cm sprayer as lifted before it moves.
Fixed objects (the bottle) have no lift term; their completion needs θ > θ̂ *while the hand holds the
part* (``held``, decided by the environment: see ``DexTOGEnv`` and ``objects.spec.GripCheck``). With θ̂
alone, a hand 3 cm off the cap, or an open one, brushed the cap round and succeeded (measured under the
residual verifier: 56/63 shifted and 8/45 open-hand episodes), so the bottle column measured where the
hand was, not the grasp.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

READINGS = ("paper", "dextog_code")
# The four terms of Eq. 21, in the order they are reported in ``info`` and logged.
TERM_NAMES = ("reward_task", "reward_lift", "reward_completion", "penalty_drop")
CODE_LIFT_GATE_M = 0.05


THRESHOLDS = ("h_max", "h_pass", "theta_pass")  # distances and progress: a negative one is a typo, not a choice


@dataclass(frozen=True)
class RewardWeights:
    """α₁..α₄ and the thresholds of Eqs. 17–20 (paper Sec. V-A)."""

    task: float = 80.0  # α₁
    lift: float = 10.0  # α₂
    completion: float = 50.0  # α₃
    drop: float = 10.0  # α₄
    h_max: float = 0.15  # m, cap on the paid lift
    h_pass: float = 0.10  # m, ĥ
    theta_pass: float = 0.6  # θ̂

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> "RewardWeights":
        """Defaults overridden by ``values`` (JSON-friendly names above); unknown keys are an error."""
        if values is None:
            return cls()
        if isinstance(values, RewardWeights):
            return values
        if not isinstance(values, Mapping):
            raise ValueError(f"reward_weights must be a mapping, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown reward_weights {unknown}; known: {sorted(known)}")
        clean = {}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
                raise ValueError(f"reward_weights[{key!r}] must be a finite number, got {value!r}")
            clean[key] = float(value)
        for key in THRESHOLDS:
            if clean.get(key, 0.0) < 0:
                raise ValueError(f"reward_weights[{key!r}] is a threshold and must be >= 0, got {clean[key]!r}")
        if clean.get("theta_pass", 0.0) > 1:
            raise ValueError(f"reward_weights['theta_pass'] is a task progress in [0, 1], got {clean['theta_pass']!r}")
        return cls(**{**asdict(cls()), **clean})


def completion_condition(theta: float, lift: float, fixed: bool, w: RewardWeights, reading: str = "paper",
                         held: bool = True) -> bool:
    """The bracket of Eq. 19: the task counts as done at this step (``held``: the fixed object's part is held)."""
    if fixed:
        return held and theta > w.theta_pass
    if reading == "dextog_code":
        return lift > w.h_pass
    return lift > w.h_pass and theta > w.theta_pass


def reward_terms(theta: float, theta0: float, height: float, height0: float, palm_to_object_m: float,
                 fixed: bool, weights: RewardWeights, reading: str = "paper", held: bool = True) -> dict[str, float]:
    """The four terms of Eq. 21 for one step (their sum is the step reward)."""
    if reading not in READINGS:
        raise ValueError(f"unknown reward reading {reading!r}; known: {', '.join(READINGS)}")
    lift = height - height0
    task = weights.task * (theta - theta0)
    if reading == "dextog_code" and not fixed and lift < CODE_LIFT_GATE_M:
        task = 0.0
    lift_term = 0.0 if fixed else weights.lift * min(lift, weights.h_max)
    done = completion_condition(theta, lift, fixed, weights, reading, held)
    return {
        "reward_task": float(task),
        "reward_lift": float(lift_term),
        "reward_completion": float(weights.completion) if done else 0.0,
        "penalty_drop": float(-weights.drop * palm_to_object_m),
    }
