"""Where the run-time data lives: one place, so every module agrees.

The data is package data (``dextog_gym.assets``, the repository's ``assets/`` folder) and is found
with :mod:`importlib.resources`, so an editable checkout and a wheel install behave the same from any
working folder. ``DEXTOG_ASSETS`` points at a user's own tree instead (same layout: ``hands/``,
``objects/``, ``grasps/``, ``diffutog/``), for example objects rebuilt with ``dextog assets build --out``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

ASSETS_ENV = "DEXTOG_ASSETS"


class AssetsNotFoundError(FileNotFoundError):
    """A data file that should be there is not; the message says where we looked and how to fix it."""


def package_data(package: str, *parts: str) -> Path:
    """A folder or file inside an installed package of ours, as a real path.

    Our packages are always installed as plain folders (wheel or editable), so the resource is a file
    on disk; a zipped install would not give one, and that is said plainly rather than failing later.
    """
    root = resources.files(package).joinpath(*parts)
    path = Path(str(root))
    if not isinstance(root, Path) and not path.exists():
        raise AssetsNotFoundError(f"{package} is not installed as a folder ({root!r}); install dextog-gym from "
                                  "its wheel or an editable checkout, not a zip")
    return path


def assets_root() -> Path:
    """The assets folder: ``$DEXTOG_ASSETS`` if set, else the installed ``dextog_gym.assets`` package."""
    override = os.environ.get(ASSETS_ENV)
    return Path(override).expanduser().resolve() if override else package_data("dextog_gym.assets")


def require(path: Path, what: str) -> Path:
    """``path`` if it exists; otherwise an error that names the file, the assets root and the override."""
    if path.exists():
        return path
    override = os.environ.get(ASSETS_ENV)
    where = (f"${ASSETS_ENV}={override}" if override
             else f"the installed package data ({package_data('dextog_gym.assets')})")
    raise AssetsNotFoundError(
        f"{what} not found: {path}. Assets are read from {where}. Set {ASSETS_ENV} to a folder with the "
        f"layout hands/, objects/, grasps/, diffutog/ (for example one written by `dextog assets build --out DIR`), "
        f"or unset it to use the shipped data.")


def hand_dir() -> Path:
    return assets_root() / "hands" / "shadow_hand"


def hand_urdf() -> Path:
    return require(hand_dir() / "shadow_hand.urdf", "the Shadow Hand URDF")


def objects_dir() -> Path:
    return assets_root() / "objects"


def grasps_dir() -> Path:
    """Shipped grasp sets: ``<assets>/grasps/<source>/<object_id>.npz``."""
    return assets_root() / "grasps"


def diffutog_dir() -> Path:
    """The shipped DiffuTOG models: ``<assets>/diffutog/``."""
    return assets_root() / "diffutog"


def reference_policies_dir() -> Path:
    """The shipped reference policy bundles: ``assets/policies/<task>_<data>/policy.{npz,json}``.

    Always the installed ones, not ``$DEXTOG_ASSETS``: the leaderboard and the tables name them as the
    verifiers, so a user's own asset tree must not swap them silently (train your own and pass its folder).
    """
    return package_data("dextog_gym.assets", "policies")


def baselines_dir() -> Path:
    """The shipped baseline models (GraspCVAE, ContactNet, UniDexGrasp*): ``<assets>/baselines/``."""
    return assets_root() / "baselines"
