"""The object's rest geometry: signed distance sign and size, parts in the object frame, table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dextog_gym.objects.catalog import get_object
from dextog_gym.objects.shape import object_shape


@pytest.fixture(scope="module")
def pen():
    return object_shape(get_object("pen_000"))


def test_surface_points_lie_on_the_surface_with_outward_normals(pen):
    rng = np.random.default_rng(0)
    idx = rng.choice(len(pen.points), 200, replace=False)
    p, n = pen.points[idx], pen.normals[idx]
    assert np.abs(pen.signed_distance(p)).max() < 1e-6
    # The pen is a thin hexagonal prism: half a millimetre in is inside; the sign comes from the
    # nearest sample's tangent plane, which can be wrong right at edges (a few per cent).
    assert (pen.signed_distance(p - 0.0005 * n) > 0.0).mean() > 0.95
    assert (pen.signed_distance(p + 0.003 * n) < -0.0015).mean() > 0.95


def test_far_points_are_outside_by_their_distance(pen):
    centre = pen.points.mean(axis=0)
    far = centre + np.array([[0.0, 0.0, 0.5]])
    assert pen.signed_distance(far)[0] == pytest.approx(-(0.5 - (pen.points[:, 2].max() - centre[2])), abs=0.002)


def test_grid_sdf_matches_exact_sdf_near_the_surface(pen):
    rng = np.random.default_rng(1)
    idx = rng.choice(len(pen.points), 300, replace=False)
    x = pen.points[idx] + rng.uniform(-0.004, 0.004, (300, 1)) * pen.normals[idx]
    grid = pen.torch_sdf()(torch.as_tensor(x, dtype=torch.float32)).numpy()
    assert np.median(np.abs(grid - pen.signed_distance(x))) < 5e-4


def test_resting_object_touches_the_table_and_parts_are_on_the_object(pen):
    assert pen.height_above_table(pen.points).min() == pytest.approx(0.0, abs=0.002)
    button, normal = pen.parts["S_button"]
    assert np.abs(pen.signed_distance(button)).max() < 0.002
    assert normal is not None and np.linalg.norm(normal) == pytest.approx(1.0)
