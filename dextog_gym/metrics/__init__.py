"""Grasp metrics: Ferrari–Canny Q1, hand penetration (analytic φ_H), diversity, self-collision.

Importing this package is light (numpy; scipy is loaded when Q1 is computed). The pybullet
self-collision checker lives in ``dextog_gym.metrics.self_collision`` and loads pybullet only
when a checker is created.
"""

from dextog_gym.metrics.diversity import joint_diversity
from dextog_gym.metrics.hand_sdf import HandCollisionModel, transforms_from_link_poses
from dextog_gym.metrics.q1 import (
    friction_cone_wrenches,
    q1_from_contacts,
    q1_from_wrenches,
)
from dextog_gym.metrics.self_collision import SelfCollisionChecker

__all__ = [
    "HandCollisionModel",
    "SelfCollisionChecker",
    "friction_cone_wrenches",
    "joint_diversity",
    "q1_from_contacts",
    "q1_from_wrenches",
    "transforms_from_link_poses",
]
