"""Ferrari–Canny Q1 against the unit-test table of specs/algorithms.md §1.7 (o = object centre)."""

from __future__ import annotations

import numpy as np
import pytest

from dextog_gym.metrics.q1 import friction_cone_wrenches, q1_from_contacts, q1_from_wrenches

H = 0.03  # half side of the 6 cm cube
ORIGIN = np.zeros(3)

# Thumb at the centre of the -x face, three fingertips on the +x face at z = -2, 0, +2 cm.
PINCH_POINTS = [(-H, 0.0, 0.0)] + [(H, 0.0, z) for z in (-0.02, 0.0, 0.02)]
PINCH_NORMALS = [(-1.0, 0.0, 0.0)] + [(1.0, 0.0, 0.0)] * 3
SIDE_POINT, SIDE_NORMAL = (0.0, -H, 0.0), (0.0, -1.0, 0.0)


def _sphere_ring(radius: float, elevation_deg: float, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """n contacts evenly spaced in azimuth (2πk/n) on the circle of latitude ``elevation_deg``."""
    az = 2 * np.pi * np.arange(n) / n
    el = np.radians(elevation_deg)
    normals = np.stack([np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), np.full(n, np.sin(el))], axis=1)
    return radius * normals, normals


def test_cube_pinch_thumb_vs_three_fingers() -> None:
    assert q1_from_contacts(PINCH_POINTS, PINCH_NORMALS, ORIGIN) == pytest.approx(0.099, abs=0.002)


def test_cube_pinch_lower_friction() -> None:
    assert q1_from_contacts(PINCH_POINTS, PINCH_NORMALS, ORIGIN, mu=0.5) == pytest.approx(0.049, abs=0.002)


def test_cube_pinch_plus_side_contact() -> None:
    q = q1_from_contacts(PINCH_POINTS + [SIDE_POINT], PINCH_NORMALS + [SIDE_NORMAL], ORIGIN)
    assert q == pytest.approx(0.161, abs=0.002)


def test_two_antipodal_contacts_are_degenerate() -> None:
    q = q1_from_contacts([(-H, 0, 0), (H, 0, 0)], [(-1, 0, 0), (1, 0, 0)], ORIGIN)
    assert q == 0.0


def test_three_contacts_on_one_face() -> None:
    q = q1_from_contacts([(H, 0, z) for z in (-0.02, 0.0, 0.02)], [(1, 0, 0)] * 3, ORIGIN)
    assert q == 0.0


def test_sphere_five_well_spread_contacts() -> None:
    # The spec does not say which five contacts; this ring (5 contacts, azimuths 2πk/5, at 10°
    # latitude) reproduces its 0.259. Octahedron-minus-one gives 0.280, a trigonal bipyramid 0.316.
    points, normals = _sphere_ring(0.04, 10.0)
    assert q1_from_contacts(points, normals, ORIGIN) == pytest.approx(0.259, abs=0.002)


def test_no_contacts_is_zero() -> None:
    assert q1_from_contacts(np.zeros((0, 3)), np.zeros((0, 3)), ORIGIN) == 0.0
    assert q1_from_contacts([], [], ORIGIN) == 0.0


def test_wrench_layout_and_edges() -> None:
    w = friction_cone_wrenches([(H, 0, 0)], [(1, 0, 0)], ORIGIN, mu=0.5, num_edges=8)
    assert w.shape == (8, 6)
    force = w[:, :3]
    d = np.array([-1.0, 0, 0])
    # Edges are not normalised: unit component along d, tangential component of length μ.
    np.testing.assert_allclose(force @ d, 1.0)
    np.testing.assert_allclose(np.linalg.norm(force - d, axis=1), 0.5)
    # |d·e_x| > 0.9, so the tangent basis is built from e_y: u = d × e_y = -e_z for k = 0.
    np.testing.assert_allclose(force[0], [-1.0, 0.0, -0.5], atol=1e-12)
    np.testing.assert_allclose(w[:, 3:], 10.0 * np.cross([H, 0, 0], force), atol=1e-12)


def test_invariant_to_contact_order_and_duplicates() -> None:
    base = q1_from_contacts(PINCH_POINTS, PINCH_NORMALS, ORIGIN)
    order = [3, 1, 0, 2]
    shuffled = q1_from_contacts(np.array(PINCH_POINTS)[order], np.array(PINCH_NORMALS)[order], ORIGIN)
    doubled = q1_from_contacts(PINCH_POINTS * 2, PINCH_NORMALS * 2, ORIGIN)
    assert shuffled == pytest.approx(base, abs=1e-9)
    assert doubled == pytest.approx(base, abs=1e-9)


def test_flipping_all_wrenches_leaves_q1_unchanged() -> None:
    w = friction_cone_wrenches(PINCH_POINTS + [SIDE_POINT], PINCH_NORMALS + [SIDE_NORMAL], ORIGIN)
    assert q1_from_wrenches(-w) == pytest.approx(q1_from_wrenches(w), abs=1e-9)


def test_unnormalised_normals_are_accepted() -> None:
    scaled = [tuple(3.0 * np.asarray(n)) for n in PINCH_NORMALS]
    assert q1_from_contacts(PINCH_POINTS, scaled, ORIGIN) == pytest.approx(
        q1_from_contacts(PINCH_POINTS, PINCH_NORMALS, ORIGIN), abs=1e-12
    )


def test_subsampling_is_deterministic_and_close() -> None:
    rng = np.random.default_rng(3)
    normals = rng.normal(size=(40, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    points = 0.04 * normals  # 40 contacts x 8 edges = 320 wrenches; a 6-D hull of 1023 takes ~3 s
    full = q1_from_contacts(points, normals, ORIGIN)
    a = q1_from_contacts(points, normals, ORIGIN, max_wrenches=161)
    b = q1_from_contacts(points, normals, ORIGIN, max_wrenches=161)
    assert a == b
    assert 0.0 < a <= full + 1e-12  # a subset's hull lies inside the full hull
    assert a == pytest.approx(full, rel=0.2)


def test_q1_is_capped_at_one() -> None:
    # Very high friction on a well-spread sphere grasp: the raw radius exceeds 1.
    points, normals = _sphere_ring(0.04, 10.0)
    assert q1_from_contacts(points, normals, ORIGIN, mu=50.0) == 1.0


def test_shape_errors() -> None:
    with pytest.raises(ValueError):
        q1_from_contacts([(0, 0, 0)], [(1, 0, 0), (0, 1, 0)], ORIGIN)
    with pytest.raises(ValueError):
        friction_cone_wrenches([(0, 0, 0)], [(0, 0, 0)], ORIGIN)
