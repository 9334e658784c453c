"""Where the assets live: one place, so every module agrees.

The package is installed editable from a checkout (see the Makefile), so the assets sit
next to it at ``<repo>/assets``. ``DEXTOG_ASSETS`` overrides that for out-of-tree assets.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def assets_root() -> Path:
    """The assets folder (``$DEXTOG_ASSETS`` or ``<repo>/assets``)."""
    override = os.environ.get("DEXTOG_ASSETS")
    return Path(override).resolve() if override else REPO_ROOT / "assets"


def hand_dir() -> Path:
    return assets_root() / "hands" / "shadow_hand"


def hand_urdf() -> Path:
    return hand_dir() / "shadow_hand.urdf"


def objects_dir() -> Path:
    return assets_root() / "objects"


def grasps_dir() -> Path:
    """Shipped grasp sets: ``<assets>/grasps/<source>/<object_id>.npz``."""
    return assets_root() / "grasps"
