"""The code that decides what an episode does, as hashes: stored results carry it so none is reused across a change.

Physics constants, placement, actions, reward and observation live in these modules; issue 16 changed the
joint armature, the wrist force and the task joint's stops, and every result measured before became stale.
Benchmark cells and the partial files of interrupted evaluations are keyed with it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from dextog_gym.files import sha256_file

SIMULATION_MODULES = ("dextog_gym.physics", "dextog_gym.hand.pybullet_hand", "dextog_gym.hand.grip",
                      "dextog_gym.objects.pybullet_object", "dextog_gym.envs.scene", "dextog_gym.envs.actions",
                      "dextog_gym.envs.dextog_env", "dextog_gym.envs.reward", "dextog_gym.envs.observation",
                      "dextog_gym.objects.spec")  # the category table: masses, rests, the bottle's grip check


def simulation_inputs() -> dict[str, str]:
    """sha256 of each simulation module's source file, by module name."""
    return {name: sha256_file(Path(importlib.import_module(name).__file__)) for name in SIMULATION_MODULES}
