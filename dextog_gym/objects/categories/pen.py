"""Ballpoint pens: a hexagonal barrel lying on a flat face, a tip cone, a clip, a click button.

Retail pens are 13–15 cm long and 0.9–1.3 cm across flats, with a 4–6 mm button that
travels about 3 mm. The pen runs along +x (writing tip at +x); pressing the button
pushes it along +x into the barrel (θ: 0 → 1).
"""

from __future__ import annotations

import numpy as np

from dextog_gym.objects import geometry as g
from dextog_gym.objects.articulated import JointSpec, LinkSpec, ObjectSpec, PartSpec

# Click spring (N): far above the button's weight, about what a thumb meets on a real pen.
SPRING_FORCE = 2.0


def generate(obj_id: str, rng: np.random.Generator) -> ObjectSpec:
    length = rng.uniform(0.13, 0.15)
    across = rng.uniform(0.009, 0.013)
    circum_r = across / (2 * np.cos(np.pi / 6))
    tip_len = rng.uniform(0.015, 0.022)
    button_r = rng.uniform(0.002, 0.003)
    travel = rng.uniform(0.0025, 0.0035)
    button_out = travel + rng.uniform(0.003, 0.005)
    barrel_len = length - tip_len - button_out
    clip_len = rng.uniform(0.035, 0.05)
    # phase 0 puts two hexagon vertices at ±60° below the axis: a flat face on the table.
    base_parts = [
        g.cylinder(circum_r, barrel_len, [0.0, 0.0, 0.0], axis="x", sides=6),
        g.frustum(circum_r, 0.0012, tip_len, [barrel_len, 0.0, 0.0], axis="x", sides=6),
        g.box([clip_len, 0.003, 0.003], [0.004 + clip_len / 2, 0.0, across / 2 + 0.0015]),
    ]
    button_parts = [g.cylinder(button_r, button_out + 0.006, [-button_out, 0.0, 0.0], axis="x", sides=16)]
    face = g.sample_disc_points(rng, 32, [-button_out, 0.0, 0.0], 0.8 * button_r, "x")
    return ObjectSpec(
        id=obj_id,
        category="pen",
        base=LinkSpec("barrel", base_parts, (0.1, 0.2, 0.7, 1.0)),
        moving=LinkSpec("button", button_parts, (0.85, 0.85, 0.85, 1.0)),
        joint=JointSpec("click", "prismatic", np.zeros(3), np.zeros(3), np.array([1.0, 0.0, 0.0]), 0.0, travel),
        zero_position=0.0,
        full_position=travel,
        resistance="spring",
        max_force=SPRING_FORCE,
        parts={"S_button": PartSpec("button", face, np.array([-1.0, 0.0, 0.0]))},
        params={"length": length, "across_flats": across, "button_radius": button_r, "travel_m": travel},
    )
