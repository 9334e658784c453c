"""The one table of environments: id → task category; registration reads only this table."""

from __future__ import annotations

from dataclasses import dataclass

MAX_EPISODE_STEPS = 100  # the paper's PPO horizon
ENTRY_POINT = "dextog_gym.envs.dextog_env:DexTOGEnv"


@dataclass(frozen=True)
class TaskEnvSpec:
    env_id: str
    task: str  # object category (dextog_gym/objects/spec.py) and grasp task name
    summary: str


TASK_ENVS: tuple[TaskEnvSpec, ...] = (
    TaskEnvSpec("DexTOG/Stapler-v1", "stapler", "lift a stapler and press its arm down (click)"),
    TaskEnvSpec("DexTOG/SprayerPress-v1", "sprayer_press", "lift a pump sprayer and press its button"),
    TaskEnvSpec("DexTOG/SprayerTrigger-v1", "sprayer_trigger", "lift a trigger sprayer and pull its trigger"),
    TaskEnvSpec("DexTOG/BottleCap-v1", "bottle", "twist the cap of a bottle fixed to the table a quarter turn"),
    TaskEnvSpec("DexTOG/PenPress-v1", "pen", "lift a ballpoint pen and click its button"),
)
# Gymnasium's rule: a change that can change a trajectory or a verdict bumps every affected id; the old id
# then fails with gymnasium.error.DeprecatedEnv. What each version changed (also in DexTOGEnv's docstring):
VERSION_HISTORY: dict[str, str] = {
    "v0": "the first release: the paper's reward and success condition on the procedural objects",
    "v1": "hand joint armature, a stronger wrist constraint and one-sided rigid end stops on the task joint "
          "(physics that kept hand joints and task joints inside their limits under contact); BottleCap: the "
          "cap counts as turned only while the hand holds it (2 fingertips on the cap at placement, the palm "
          "kept within 2.5 cm about the cap's axis), so a hand that brushes the cap round no longer succeeds",
}
ENV_VERSION = "v1"
ENV_IDS: tuple[str, ...] = tuple(s.env_id for s in TASK_ENVS)
TASK_OF_ENV: dict[str, str] = {s.env_id: s.task for s in TASK_ENVS}
ENV_OF_TASK: dict[str, str] = {s.task: s.env_id for s in TASK_ENVS}


def env_spec(env_id: str) -> TaskEnvSpec:
    for spec in TASK_ENVS:
        if spec.env_id == env_id:
            return spec
    name, _, version = str(env_id).rpartition("-")
    if version in VERSION_HISTORY and f"{name}-{ENV_VERSION}" in ENV_IDS:
        import gymnasium

        raise gymnasium.error.DeprecatedEnv(
            f"{env_id} is an old version: {name}-{ENV_VERSION} replaced it ({ENV_VERSION}: "
            f"{VERSION_HISTORY[ENV_VERSION]}); results measured on {version} are not comparable")
    raise ValueError(f"unknown DexTOG environment {env_id!r}; registered: {', '.join(ENV_IDS)}")


def register_envs() -> None:
    """Register every row with Gymnasium (idempotent: re-importing does not warn)."""
    import gymnasium

    for spec in TASK_ENVS:
        if spec.env_id in gymnasium.registry:
            continue
        gymnasium.register(id=spec.env_id, entry_point=ENTRY_POINT, max_episode_steps=MAX_EPISODE_STEPS,
                           kwargs={"task": spec.task})


def make(env_id: str, **kwargs):
    """``gymnasium.make`` for our ids, with an error that lists them when ``env_id`` is unknown."""
    import gymnasium

    env_spec(env_id)
    register_envs()
    return gymnasium.make(env_id, **kwargs)
