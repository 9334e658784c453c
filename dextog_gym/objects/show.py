"""Pictures of objects with their annotated parts highlighted (TinyRenderer, headless).

Part points are drawn as small coloured spheres: a wrong annotation (a button surface
floating beside the button, a normal on the wrong face) is obvious at a glance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.objects.pybullet_object import ArticulatedObject
from dextog_gym.physics import connect, disconnect
from dextog_gym.physics import pybullet as p
from dextog_gym.render import Camera, render, save_png

PART_COLOURS = {
    "S_top": (1.0, 0.85, 0.0, 1.0),
    "S_bottom": (0.1, 0.3, 1.0, 1.0),
    "S_button": (1.0, 0.1, 0.8, 1.0),
    "S_trigger": (1.0, 0.1, 0.1, 1.0),
    "c_cap": (0.1, 1.0, 0.2, 1.0),
}
DEFAULT_COLOUR = (1.0, 0.6, 0.0, 1.0)
MAX_MARKERS = 32  # per part: enough to show the surface, few enough to render fast


def _add_markers(client: int, points: np.ndarray, rgba: tuple[float, ...], radius: float) -> None:
    visual = p.createVisualShape(p.GEOM_SPHERE, radius=radius, rgbaColor=list(rgba), physicsClientId=client)
    for point in points[:MAX_MARKERS]:
        p.createMultiBody(0.0, -1, visual, basePosition=point.tolist(), physicsClientId=client)


def render_object(asset: ObjectAsset, theta: float = 0.0, yaw: float = 35.0, pitch: float = -25.0,
                  width: int = 640, height: int = 480) -> np.ndarray:
    """Render ``asset`` at task progress ``theta`` with its annotated parts marked."""
    client = connect(table=True)
    try:
        obj = ArticulatedObject.load(client, asset)
        obj.set_theta(theta)
        size = float(np.max(asset.annotation.size_m))
        marker = max(0.0012, 0.012 * size)
        for name in asset.annotation.parts:
            _add_markers(client, obj.part_points_world(name), PART_COLOURS.get(name, DEFAULT_COLOUR), marker)
        centre, _ = obj.base_pose()
        camera = Camera(target=tuple(centre), distance=1.4 * size + 0.03, yaw=yaw, pitch=pitch,
                        width=width, height=height)
        return render(client, camera)
    finally:
        disconnect(client)


def save_object_picture(asset: ObjectAsset, out: Path | str, **kwargs: float) -> Path:
    return save_png(render_object(asset, **kwargs), out)
