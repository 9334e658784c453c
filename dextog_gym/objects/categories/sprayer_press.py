"""Pump sprayers: bottle, shoulder, neck and collar, with a push button on top.

Retail pump sprayers are 15–25 cm tall, 5–8 cm across, with a 1.5–2.5 cm button that
travels about 8 mm. θ = 0 is the button up (spring-held), θ = 1 fully pressed.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.objects import geometry as g
from dextog_gym.objects.articulated import JointSpec, LinkSpec, ObjectSpec, PartSpec

# Return spring of the pump (N): well above the button's weight (< 0.1 N), low enough
# that one fingertip presses it.
SPRING_FORCE = 3.0


def generate(obj_id: str, rng: np.random.Generator) -> ObjectSpec:
    height = rng.uniform(0.15, 0.25)
    radius = rng.uniform(0.025, 0.04)
    neck_r = rng.uniform(0.012, 0.016)
    collar_r = neck_r + rng.uniform(0.001, 0.003)
    button_r = rng.uniform(0.0075, 0.0125)
    button_h = rng.uniform(0.012, 0.018)
    travel = rng.uniform(0.007, 0.009)
    collar_h = rng.uniform(0.012, 0.018)
    body_h = 0.55 * height
    shoulder_h = 0.08 * height
    button_z = height - button_h  # button link frame: its bottom face at rest
    collar_top = button_z - travel - 0.001
    neck_h = collar_top - collar_h - body_h - shoulder_h

    base_parts = [
        g.cylinder(radius, body_h, [0.0, 0.0, 0.0]),
        g.frustum(radius, neck_r, shoulder_h, [0.0, 0.0, body_h]),
        g.cylinder(neck_r, neck_h, [0.0, 0.0, body_h + shoulder_h]),
        g.cylinder(collar_r, collar_h, [0.0, 0.0, collar_top - collar_h]),
    ]
    nozzle_len = rng.uniform(0.012, 0.02)
    button_parts = [
        g.cylinder(button_r, button_h, [0.0, 0.0, 0.0]),
        g.cylinder(0.004, travel + 0.008, [0.0, 0.0, -(travel + 0.008)], sides=12),
        g.cylinder(0.0035, nozzle_len, [button_r * 0.8, 0.0, button_h / 2], axis="x", sides=12),
    ]
    top = g.sample_disc_points(rng, 64, [0.0, 0.0, button_h], 0.8 * button_r, "z")
    return ObjectSpec(
        id=obj_id,
        category="sprayer_press",
        base=LinkSpec("bottle", base_parts, (0.2, 0.55, 0.85, 1.0)),
        moving=LinkSpec("button", button_parts, (0.95, 0.95, 0.95, 1.0)),
        joint=JointSpec("pump", "prismatic", np.array([0.0, 0.0, button_z]), np.zeros(3),
                        np.array([0.0, 0.0, -1.0]), 0.0, travel),
        zero_position=0.0,
        full_position=travel,
        resistance="spring",
        max_force=SPRING_FORCE,
        parts={"S_button": PartSpec("button", top, np.array([0.0, 0.0, 1.0]))},
        params={"height": height, "body_radius": radius, "button_radius": button_r,
                "travel_m": travel},
    )
