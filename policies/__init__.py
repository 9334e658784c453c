"""Verifiers: the task controllers, PPO training (plain or residual on a controller) and evaluation.

Light to import (the CLI reads the constant below when it builds its parser).
"""

# "reference" means <task>_<this>: the residual verifiers trained on rule grasps. The bundles of the
# paper's protocol (PPO alone, 30k steps) ship beside them as <task>_<rule|isf>_ppo30k.
REFERENCE_POLICY_DATA = "rule_residual"
