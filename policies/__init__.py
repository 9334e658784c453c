"""Verifiers: the task controllers, PPO training (plain or residual on a controller) and evaluation.

Light to import (the CLI reads the constants below when it builds its parser).
"""

# The residual verifiers: <task>_<this> bundles, PPO trained on rule grasps as a residual on the controller.
# The bundles of the paper's protocol (PPO alone, 30k steps) ship beside them as <task>_<rule|isf>_ppo30k.
REFERENCE_POLICY_DATA = "rule_residual"
CONTROLLER = "controller"  # the training-free task controller of a task (policies/controllers.py)

# Each task's reference verifier: its residual bundle where that beat the controller alone, else the
# controller (issue 16: "never below the controller; else ship the controller and say why"). Measured on
# rule grasps of seen objects, 8 sampled per object, seed 0, after the physics fix (README "Verifiers"):
# stapler 97/109 residual against 98/109 controller, sprayer press 1/45 against 2/45: the residual added
# nothing there, so the controller is their reference. Trigger 53/105 against 52/105, bottle 107/112
# against 101/112, pen 8/55 against 6/55.
REFERENCE_VERIFIERS = {
    "stapler": CONTROLLER,
    "sprayer_press": CONTROLLER,
    "sprayer_trigger": REFERENCE_POLICY_DATA,
    "bottle": REFERENCE_POLICY_DATA,
    "pen": REFERENCE_POLICY_DATA,
}


def reference_verifier(task: str) -> str:
    """``"controller"`` or the name of the task's reference bundle (``<task>_rule_residual``)."""
    if task not in REFERENCE_VERIFIERS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(REFERENCE_VERIFIERS)}")
    choice = REFERENCE_VERIFIERS[task]
    return CONTROLLER if choice == CONTROLLER else f"{task}_{choice}"
