"""Verifiers: the task controllers, PPO training (plain or residual on a controller) and evaluation.

Light to import (the CLI reads the constants below when it builds its parser).
"""

# The residual verifiers: <task>_<this> bundles, PPO trained on rule grasps as a residual on the controller.
# The bundles of the paper's protocol (PPO alone, 30k steps) ship beside them as <task>_<rule|isf>_ppo30k.
REFERENCE_POLICY_DATA = "rule_residual"
BACKENDS = ("local", "ray")  # where rollouts run: local worker processes or Ray workers (policies/ray_pool.py)
CONTROLLER = "controller"  # the training-free task controller of a task (policies/controllers.py)

# Each task's reference verifier: its residual bundle where that beat the controller alone, else the
# controller (never below the controller; else ship the controller and say why). Measured on
# rule grasps of seen objects, 8 sampled per object, seed 0 (docs/verifiers.md), successes residual
# against controller: stapler 97 against 98 (the first rule sets); on the functional rule sets,
# with residuals retrained on them: sprayer press 75 against 79, trigger 66 against 72, pen 24 against
# 21 (of 112 episodes each), bottle 100 against 95 (of 103). BottleCap-v1 needs the cap held (the bundle was
# re-checked, not retrained): on rule grasps of all 16 bottles, 5 per object, residual 64 against controller
# 68 of 78 (`dextog evaluate --verifier reference|controller --env DexTOG/BottleCap-v1 --grasps rule --objects all
# --grasps-per-object 5`), so the controller is the bottle's reference verifier now.
REFERENCE_VERIFIERS = {
    "stapler": CONTROLLER,
    "sprayer_press": CONTROLLER,
    "sprayer_trigger": CONTROLLER,
    "bottle": CONTROLLER,
    "pen": REFERENCE_POLICY_DATA,
}


def reference_verifier(task: str) -> str:
    """``"controller"`` or the name of the task's reference bundle (``<task>_rule_residual``)."""
    if task not in REFERENCE_VERIFIERS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(REFERENCE_VERIFIERS)}")
    choice = REFERENCE_VERIFIERS[task]
    return CONTROLLER if choice == CONTROLLER else f"{task}_{choice}"
