"""Headless pictures through pybullet's TinyRenderer (no GPU, no display needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Camera:
    """An orbit camera around ``target``; angles in degrees as pybullet expects."""

    target: Sequence[float] = (0.0, 0.0, 0.0)
    distance: float = 0.4
    yaw: float = 45.0
    pitch: float = -30.0
    width: int = 640
    height: int = 480
    fov: float = 45.0


def render(client: int, camera: Camera) -> np.ndarray:
    """Render the scene of ``client`` to an ``(H, W, 3)`` uint8 image."""
    from dextog_gym.physics import pybullet as p

    view = p.computeViewMatrixFromYawPitchRoll(
        cameraTargetPosition=list(camera.target),
        distance=camera.distance,
        yaw=camera.yaw,
        pitch=camera.pitch,
        roll=0.0,
        upAxisIndex=2,
        physicsClientId=client,
    )
    near = max(0.01, camera.distance / 50.0)
    proj = p.computeProjectionMatrixFOV(
        fov=camera.fov,
        aspect=camera.width / camera.height,
        nearVal=near,
        farVal=camera.distance * 10.0,
        physicsClientId=client,
    )
    _, _, rgba, _, _ = p.getCameraImage(
        camera.width,
        camera.height,
        viewMatrix=view,
        projectionMatrix=proj,
        renderer=p.ER_TINY_RENDERER,
        lightDirection=[0.4, -0.6, 1.0],
        shadow=0,
        physicsClientId=client,
    )
    image = np.asarray(rgba, dtype=np.uint8).reshape(camera.height, camera.width, 4)
    return image[:, :, :3].copy()


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB image as PNG, creating the parent folder."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path
