"""Staplers: a base plate with a rear post and an arm on a rear hinge.

Retail staplers are 12–20 cm long, 3.5–5 cm wide, 5–8 cm tall, with 10–20° of arm
travel. At θ = 0 the arm rests raised by its travel (the spring holds it up); θ = 1 is
the arm pressed flat onto the base, the "click".
"""

from __future__ import annotations

import numpy as np

from dextog_gym.objects import geometry as g
from dextog_gym.objects.articulated import JointSpec, LinkSpec, ObjectSpec, PartSpec

# Spring torque holding the arm up (N m): several times the arm's gravity torque
# (≈ 0.12 kg × 9.81 × 0.09 m ≈ 0.1 N m at most), so it rests raised yet a fingertip
# force of a few newtons at the front of the arm presses it.
SPRING_TORQUE = 0.4
GAP = 0.003  # arm-to-base clearance when fully pressed
MAX_HEIGHT = 0.08


def generate(obj_id: str, rng: np.random.Generator) -> ObjectSpec:
    length = rng.uniform(0.12, 0.20)
    width = rng.uniform(0.035, 0.05)
    base_t = rng.uniform(0.014, 0.022)
    arm_t = rng.uniform(0.014, 0.022)
    hinge_inset = 0.012
    arm_len = length - hinge_inset - 0.004
    hinge_z = base_t + GAP + arm_t / 2
    # Keep the raised arm within the retail height range.
    max_travel = np.arcsin(min(1.0, (MAX_HEIGHT - hinge_z - arm_t / 2) / arm_len))
    travel = min(np.deg2rad(rng.uniform(10.0, 20.0)), max_travel)
    x_rear = -length / 2
    hinge_x = x_rear + hinge_inset

    base_parts = [
        g.box([length, width, base_t], [0.0, 0.0, base_t / 2]),
        g.box([2 * hinge_inset, 0.8 * width, hinge_z + arm_t / 2 - base_t],
              [x_rear + hinge_inset, 0.0, (base_t + hinge_z + arm_t / 2) / 2]),
        # The anvil under the arm's front: a low pad, as on real staplers.
        g.box([0.18 * length, 0.6 * width, 0.004], [length / 2 - 0.12 * length, 0.0, base_t]),
    ]
    nose = 0.25 * arm_len
    arm_parts = [
        g.box([arm_len - nose, 0.92 * width, arm_t], [(arm_len - nose) / 2, 0.0, 0.0]),
        # Tapered nose: the top slopes down to the front edge.
        g.hull([[arm_len - nose, sy * 0.46 * width, sz * arm_t / 2] for sy in (-1, 1) for sz in (-1, 1)]
               + [[arm_len, sy * 0.46 * width, z] for sy in (-1, 1) for z in (-arm_t / 2, arm_t * 0.1)]),
    ]
    top_points = g.sample_face_points(rng, 64, [0.45 * arm_len, 0.0, arm_t / 2],
                                      [0.3 * arm_len, 0.0, 0.0], [0.0, 0.4 * width, 0.0])
    bottom_points = g.sample_face_points(rng, 64, [length / 4, 0.0, 0.0],
                                         [0.22 * length, 0.0, 0.0], [0.0, 0.4 * width, 0.0])
    return ObjectSpec(
        id=obj_id,
        category="stapler",
        base=LinkSpec("base", base_parts, (0.15, 0.15, 0.17, 1.0)),
        moving=LinkSpec("arm", arm_parts, (0.75, 0.12, 0.12, 1.0)),
        joint=JointSpec("arm_hinge", "revolute", np.array([hinge_x, 0.0, hinge_z]),
                        np.array([0.0, -travel, 0.0]), np.array([0.0, 1.0, 0.0]), 0.0, travel),
        zero_position=0.0,
        full_position=travel,
        resistance="spring",
        max_force=SPRING_TORQUE,
        parts={
            "S_top": PartSpec("arm", top_points, np.array([0.0, 0.0, 1.0])),
            "S_bottom": PartSpec("base", bottom_points, np.array([0.0, 0.0, -1.0])),
        },
        params={"length": length, "width": width, "base_thickness": base_t, "arm_thickness": arm_t,
                "travel_rad": travel},
    )
