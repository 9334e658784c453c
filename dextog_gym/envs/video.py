"""Episode videos: frames from ``render_mode="rgb_array"`` written as a small looping GIF."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def save_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 10.0, width: int | None = 240) -> Path:
    """Write RGB frames as an optimised GIF (palette per frame), scaled to ``width`` pixels."""
    from PIL import Image

    if not frames:
        raise ValueError("no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = []
    for f in frames:
        im = Image.fromarray(np.asarray(f, dtype=np.uint8))
        if width is not None and im.width != width:
            im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
        images.append(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=128))
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0,
                   optimize=True)
    return path
