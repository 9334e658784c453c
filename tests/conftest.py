"""Shared fixtures: a pybullet client per test, closed afterwards."""

from __future__ import annotations

import pytest

from dextog_gym.physics import connect, disconnect


@pytest.fixture
def client():
    cid = connect(table=True)
    yield cid
    disconnect(cid)
