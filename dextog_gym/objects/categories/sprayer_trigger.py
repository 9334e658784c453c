"""Trigger sprayers: an oval bottle, a neck, a head reaching forward and a hinged trigger.

Retail trigger sprayers are 22–30 cm tall with a 3–5 cm trigger travelling 10–20°.
The trigger hangs under the head's front; pulling it (θ: 0 → 1) swings its lower end
back towards the neck.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.objects import geometry as g
from dextog_gym.objects.articulated import JointSpec, LinkSpec, ObjectSpec, PartSpec

# Return spring of the trigger (N m): about 3 N at the middle of a 4 cm trigger.
SPRING_TORQUE = 0.06
TRIGGER_T = 0.008  # trigger thickness (x)
TRIGGER_W = 0.014  # trigger width (y)


def _oval(a: float, b: float, z0: float, z1: float, sides: int = 24) -> np.ndarray:
    t = 2 * np.pi * np.arange(sides) / sides
    ring = np.column_stack([a * np.cos(t), b * np.sin(t)])
    return np.vstack([np.column_stack([ring, np.full(sides, z)]) for z in (z0, z1)])


def generate(obj_id: str, rng: np.random.Generator) -> ObjectSpec:
    height = rng.uniform(0.22, 0.30)
    half_x = rng.uniform(0.035, 0.045)
    half_y = rng.uniform(0.025, 0.035)
    neck_r = rng.uniform(0.013, 0.017)
    head_h = rng.uniform(0.035, 0.045)
    head_w = rng.uniform(0.028, 0.036)
    head_front = rng.uniform(0.065, 0.085)
    trigger_len = rng.uniform(0.03, 0.05)
    travel = np.deg2rad(rng.uniform(10.0, 20.0))
    head_bottom = height - head_h
    shoulder_top = head_bottom - trigger_len - rng.uniform(0.015, 0.025)
    shoulder_h = 0.025
    body_h = shoulder_top - shoulder_h

    body = _oval(half_x, half_y, 0.0, body_h)
    shoulder = np.vstack([_oval(half_x, half_y, body_h, body_h)[:24],
                          _oval(neck_r, neck_r, shoulder_top, shoulder_top)[:24]])
    base_parts = [
        g.hull(body),
        g.hull(shoulder),
        g.cylinder(neck_r, head_bottom - shoulder_top + 0.002, [0.0, 0.0, shoulder_top - 0.001]),
        g.box([head_front + 0.025, head_w, head_h], [(head_front - 0.025) / 2, 0.0, head_bottom + head_h / 2]),
        g.cylinder(0.005, 0.012, [head_front, 0.0, height - head_h / 2], axis="x", sides=12),
    ]
    hinge_x = head_front - 0.015
    trigger_parts = [
        g.box([TRIGGER_T, TRIGGER_W, trigger_len], [0.0, 0.0, -trigger_len / 2]),
        # A finger hook at the bottom end, curling forward.
        g.box([0.012, TRIGGER_W, 0.006], [0.004, 0.0, -trigger_len + 0.003]),
    ]
    face = g.sample_face_points(rng, 64, [TRIGGER_T / 2, 0.0, -0.5 * trigger_len],
                                [0.0, 0.0, 0.3 * trigger_len], [0.0, 0.4 * TRIGGER_W, 0.0])
    return ObjectSpec(
        id=obj_id,
        category="sprayer_trigger",
        base=LinkSpec("bottle", base_parts, (0.3, 0.75, 0.35, 1.0)),
        moving=LinkSpec("trigger", trigger_parts, (0.95, 0.85, 0.2, 1.0)),
        joint=JointSpec("trigger_hinge", "revolute", np.array([hinge_x, 0.0, head_bottom]), np.zeros(3),
                        np.array([0.0, 1.0, 0.0]), 0.0, travel),
        zero_position=0.0,
        full_position=travel,
        resistance="spring",
        max_force=SPRING_TORQUE,
        parts={"S_trigger": PartSpec("trigger", face, np.array([1.0, 0.0, 0.0]))},
        params={"height": height, "body_half_x": half_x, "body_half_y": half_y,
                "trigger_length": trigger_len, "travel_rad": travel},
    )
