"""The leaderboard's fixed protocol and the inputs a result must name to be comparable and re-runnable.

Every entry is measured the same way: on every seen and unseen benchmark object, at most
``GRASPS_PER_OBJECT`` grasps (a seeded draw when a submission gives more), each rolled out once under
both verifiers — the training-free task controller and the residual PPO verifier trained on rule
grasps — from fixed seeds. A grasp the simulator cannot place, and every grasp of an object the
submission leaves out, counts as a failure: a generator is scored per grasp it was asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dextog_gym
from dextog_gym.envs.fingerprint import simulation_inputs
from dextog_gym.files import sha256_file, sha256_text
from dextog_gym.objects.spec import CATEGORIES
from dextog_gym.paths import hand_dir, objects_dir
from dextog_gym.policies import CONTROLLER, REFERENCE_POLICY_DATA

PROTOCOL_VERSION = 1
GRASPS_PER_OBJECT = 20
SEED = 0
SPLITS = ("seen", "unseen")
TASKS = tuple(CATEGORIES)
# verifier label -> the suite's policy data (None: the task controllers)
VERIFIERS: dict[str, str | None] = {CONTROLLER: None, "residual": REFERENCE_POLICY_DATA}
RANKED_BY = "residual"  # the verifier whose overall success orders the table


def protocol() -> dict[str, Any]:
    return {"version": PROTOCOL_VERSION, "grasps_per_object": GRASPS_PER_OBJECT, "seed": SEED,
            "splits": list(SPLITS), "tasks": list(TASKS), "episodes_per_grasp": 1,
            "verifiers": {k: (v or CONTROLLER) for k, v in VERIFIERS.items()}, "ranked_by": RANKED_BY}


def tree_digest(root: Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file under ``root``."""
    lines = [f"{p.relative_to(root).as_posix()} {sha256_file(p)}" for p in sorted(root.rglob("*")) if p.is_file()
             and "__pycache__" not in p.parts]
    return sha256_text("\n".join(lines))


def verifier_folder(task: str, label: str) -> str:
    """``controller`` or the bundle folder verifying ``task`` under ``label``."""
    from dextog_gym.policies.evaluate import REFERENCE_DIR

    data = VERIFIERS[label]
    return CONTROLLER if data is None else str(REFERENCE_DIR / f"{task}_{data}")


def current_inputs() -> dict[str, Any]:
    """What the numbers depend on besides the grasps: code, assets and verifier bundles, as hashes."""
    from dextog_gym.workflows.suite import bundle_inputs, controller_inputs

    verifiers = {}
    for task in TASKS:
        verifiers[task] = {label: controller_inputs() if verifier_folder(task, label) == CONTROLLER
                           else bundle_inputs(Path(verifier_folder(task, label))) for label in VERIFIERS}
    return {"dextog_gym": dextog_gym.__version__, "assets": {"objects": tree_digest(objects_dir()),
                                                            "hand": tree_digest(hand_dir())},
            "simulation": simulation_inputs(), "verifiers": verifiers}


def changed_inputs(stored: Any, now: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the inputs that differ (``[]``: the same code, assets and verifiers)."""
    if not isinstance(stored, dict) or not isinstance(now, dict):
        return [] if stored == now else [prefix or "inputs"]
    out = []
    for key in sorted(set(stored) | set(now)):
        name = f"{prefix}.{key}" if prefix else key
        out += changed_inputs(stored.get(key), now.get(key), name)
    return out
