"""Shared fixtures: a pybullet client per test, closed afterwards; the hostile generator's sdist."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from dextog_gym.physics import connect, disconnect


@pytest.fixture
def client():
    cid = connect(table=True)
    yield cid
    disconnect(cid)


HOSTILE_SOURCE = Path(__file__).parent / "data" / "hostile_generator"


def hostile_sdist(dest: Path) -> Path:
    """An sdist of tests/data/hostile_generator made with tarfile: nothing of it runs on the host."""
    path = dest / "hostile_generator-0.1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(HOSTILE_SOURCE, arcname="hostile_generator-0.1.0",
                filter=lambda info: None if "__pycache__" in info.name or ".egg-info" in info.name else info)
        pkg_info = dest / "PKG-INFO"
        pkg_info.write_text("Metadata-Version: 2.1\nName: hostile-generator\nVersion: 0.1.0\n")
        tar.add(pkg_info, arcname="hostile_generator-0.1.0/PKG-INFO")
    pkg_info.unlink()
    return path
