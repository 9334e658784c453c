"""The ``selection`` entry: what a submitter who owns our verifiers can do to a grasp set.

Of each object's shipped ``rule`` grasps (up to ``CANDIDATES_PER_OBJECT``, drawn across the set), it
rolls every one out under the residual verifier and lists the successes first, then the rest; the
protocol takes the first 20 distinct. Its episodes are seeded apart from the evaluation's (which come
from the secret), so what it shows is selection by grasp quality alone. It belongs to the files track,
which is labelled "selection not controlled" for this reason; the generator track cannot be gamed this
way, because there the evaluator calls the generator itself, on objects nobody has seen.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from dextog_gym.grasps import Grasps

CANDIDATES_PER_OBJECT = 40
SELECTION_SEED = 1  # not the practice secret's seed: the entry cannot replay the evaluation's episodes


def selected_rule_grasps(task: str, workers: int = 0, progress: bool = True) -> Grasps:
    """Each object's verified rule grasps first, then the others (file order within each group)."""
    from dextog_gym.envs.table import ENV_OF_TASK
    from dextog_gym.leaderboard.baselines import _shipped
    from dextog_gym.policies.evaluate import EvalRequest, evaluate

    candidates = _shipped("rule", task, per_object=CANDIDATES_PER_OBJECT)
    with tempfile.TemporaryDirectory(prefix="dextog_selection_") as tmp:
        path = Path(tmp) / f"{task}.npz"
        candidates.save(path)
        result = evaluate(EvalRequest(policy="reference", env_id=ENV_OF_TASK[task], grasps=str(path), objects="all",
                                      seed=SELECTION_SEED, workers=workers, progress=progress))
    won = {(e["object_id"], e["grasp_index"]) for e in result["episodes"] if e.get("success")}
    parts = []
    for oid in candidates.object_ids:
        g = candidates.for_object(oid)
        order = sorted(range(len(g)), key=lambda i: ((oid, i) not in won, i))
        parts.append(g.select(np.array(order, dtype=int)))
    return Grasps.concat(parts)
