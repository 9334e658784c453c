"""Bottles with a screw cap: the bottle is fixed to the table, the cap turns.

Retail bottles are 15–25 cm tall with 2.5–4 cm caps. Opening is counter-clockwise seen
from above (+z); θ = 1 is the cap turned a quarter (π/2). A cap has no spring: joint
friction holds it where the hand leaves it.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.objects import geometry as g
from dextog_gym.objects.articulated import JointSpec, LinkSpec, ObjectSpec, PartSpec

# Thread friction (N m): a light twist, but the cap does not spin freely when brushed.
CAP_FRICTION_TORQUE = 0.03


def generate(obj_id: str, rng: np.random.Generator) -> ObjectSpec:
    height = rng.uniform(0.15, 0.25)
    radius = rng.uniform(0.028, 0.04)
    cap_r = rng.uniform(0.0125, 0.02)
    cap_h = rng.uniform(0.012, 0.02)
    neck_r = cap_r - 0.0015
    neck_h = rng.uniform(0.008, 0.015)
    shoulder_h = rng.uniform(0.1, 0.18) * height
    cap_z = height - cap_h
    body_h = cap_z - neck_h - shoulder_h
    base_parts = [
        g.cylinder(radius, body_h, [0.0, 0.0, 0.0], sides=32),
        g.frustum(radius, neck_r, shoulder_h, [0.0, 0.0, body_h], sides=32),
        g.cylinder(neck_r, neck_h + 0.002, [0.0, 0.0, body_h + shoulder_h - 0.001], sides=32),
    ]
    cap_parts = [g.cylinder(cap_r, cap_h, [0.0, 0.0, 0.0], sides=32)]
    return ObjectSpec(
        id=obj_id,
        category="bottle",
        base=LinkSpec("bottle", base_parts, (0.55, 0.8, 0.95, 1.0)),
        moving=LinkSpec("cap", cap_parts, (0.9, 0.3, 0.1, 1.0)),
        joint=JointSpec("cap_screw", "revolute", np.array([0.0, 0.0, cap_z]), np.zeros(3),
                        np.array([0.0, 0.0, 1.0]), 0.0, np.pi / 2),
        zero_position=0.0,
        full_position=np.pi / 2,
        resistance="friction",
        max_force=CAP_FRICTION_TORQUE,
        parts={"c_cap": PartSpec("cap", np.array([[0.0, 0.0, cap_h / 2]]), None)},
        params={"height": height, "body_radius": radius, "cap_radius": cap_r, "cap_height": cap_h},
    )
