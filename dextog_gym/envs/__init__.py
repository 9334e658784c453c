"""The five DexTOG task environments (see ``table.py`` for the ids)."""

from dextog_gym.envs.table import ENV_IDS, TASK_ENVS, env_spec, register_envs

__all__ = ["ENV_IDS", "TASK_ENVS", "env_spec", "register_envs"]
