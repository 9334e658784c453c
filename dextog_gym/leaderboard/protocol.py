"""The leaderboard's fixed protocol and the inputs a result must name to be comparable and re-runnable.

Protocol 2. Every entry is measured the same way: ``GRASPS_PER_OBJECT`` distinct grasps per object
(``distinct.py``: near-copies count once; the first 20 distinct in the submission's order), each rolled
out once under both verifiers — the training-free task controller and the residual PPO verifier trained
on rule grasps. A grasp the simulator cannot place, a shortfall below 20 distinct grasps and every
grasp of an object left out count as failures: a generator is scored per grasp it was asked for.

Two tracks, ranked apart (``TRACKS``): ``generator`` runs a submitted generator, isolated, on hidden
objects built from the secret (``dextog assets build --seed``); ``files`` scores a grasp set on the 80
public objects, where nothing controls how the grasps were selected.

The episodes' seeds (the resting yaw of each object) come from a secret the evaluator holds
(:func:`episode_seed`): a submitter cannot replay the exact episodes and keep the winners. A result
records only sha256(secret); ``verify`` needs the secret. ``PRACTICE_SECRET`` is public: anyone can
reproduce a practice row, and the committed board is measured with it.
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

PROTOCOL_VERSION = 2
GRASPS_PER_OBJECT = 20
PRACTICE_SECRET = "practice"
TRACKS = ("generator", "files")
TRACK_LABELS = {"generator": "generator on hidden objects (measured, isolated)",
                "files": "grasps on public objects; selection not controlled"}
SPLITS = ("seen", "unseen")
TASKS = tuple(CATEGORIES)
# verifier label -> the suite's policy data (None: the task controllers)
VERIFIERS: dict[str, str | None] = {CONTROLLER: None, "residual": REFERENCE_POLICY_DATA}
RANKED_BY = "residual"  # the verifier whose overall success orders the table


def protocol() -> dict[str, Any]:
    from dextog_gym.leaderboard.distinct import tolerances

    return {"version": PROTOCOL_VERSION, "grasps_per_object": GRASPS_PER_OBJECT, "distinct": tolerances(),
            "splits": list(SPLITS), "tasks": list(TASKS), "episodes_per_grasp": 1,
            "episodes_end": "when success latches or can no longer latch",
            "verifiers": {k: (v or CONTROLLER) for k, v in VERIFIERS.items()}, "ranked_by": RANKED_BY}


def secret_digest(secret: str) -> str:
    """What a result records of the secret: enough to check a secret offered later, nothing to replay."""
    return sha256_text(secret)


def episode_seed(secret: str) -> int:
    """The rollouts' base seed, derived from the secret (domain-separated from the hidden objects' build)."""
    if not isinstance(secret, str) or not secret:
        raise ValueError("the leaderboard secret must be a non-empty string")
    return int(sha256_text("dextog_gym episodes\0" + secret)[:8], 16)


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
