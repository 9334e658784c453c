"""A picture of the hand (headless TinyRenderer) — a quick visual check of the converted asset.

Run: ``python -m dextog_gym.hand.show [OUT.png]``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from dextog_gym.hand import model

# A gently curled pose: fingers flexed a little more distally, thumb opposed; shows every joint works.
_FLEX = {
    "FFJ2": 0.35, "FFJ1": 0.3, "FFJ0": 0.2,
    "MFJ2": 0.45, "MFJ1": 0.35, "MFJ0": 0.25,
    "RFJ2": 0.55, "RFJ1": 0.4, "RFJ0": 0.3,
    "LFJ4": 0.3, "LFJ2": 0.65, "LFJ1": 0.45, "LFJ0": 0.3,
    "THJ4": 0.9, "THJ3": 0.4, "THJ1": 0.2, "THJ0": -0.3,
}  # fmt: skip
SHOW_POSE = np.array([_FLEX.get(n, 0.0) for n in model.JOINT_NAMES])
# Colours per link group so phalanges read apart in a flat-shaded image.
_COLOURS = {"palm": (0.35, 0.38, 0.45, 1), "wrist": (0.25, 0.27, 0.32, 1), "lfmetacarpal": (0.35, 0.38, 0.45, 1)}
_PHALANX = {"knuckle": (0.3, 0.3, 0.35, 1), "proximal": (0.85, 0.85, 0.88, 1),
            "middle": (0.7, 0.72, 0.78, 1), "distal": (0.92, 0.78, 0.62, 1)}  # fmt: skip


def render_hand_png(out_path: str | Path, q: Sequence[float] | None = None) -> Path:
    """Load the hand in a DIRECT client (palm toward the camera) and save a PNG; returns the path."""
    from dextog_gym.hand.pybullet_hand import ShadowHand
    from dextog_gym.physics import pybullet as p
    from dextog_gym.render import Camera, render, save_png

    client = p.connect(p.DIRECT)
    try:
        # Fingers point up (+z); palm normal (-y of palm) faces the camera placed toward -y.
        hand = ShadowHand.load(client, wrist_pos=(0, 0, 0), q=SHOW_POSE if q is None else q)
        for name, idx in hand.link_index.items():
            colour = _COLOURS.get(name) or next(
                (c for suffix, c in _PHALANX.items() if name.endswith(suffix)), None
            )
            if colour is not None:
                p.changeVisualShape(hand.body, idx, rgbaColor=colour, physicsClientId=client)
        cam = Camera(target=(0.02, 0.0, 0.11), distance=0.32, yaw=-15.0, pitch=-15.0, width=480, height=640)
        return save_png(render(client, cam), out_path)
    finally:
        p.disconnect(client)


if __name__ == "__main__":
    print(render_hand_png(sys.argv[1] if len(sys.argv) > 1 else "shadow_hand.png"))
