"""The isf sampler's seeding and pairing: small parts get seeds, pairs can span gaps, held objects skip the table."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from dextog_gym.objects.catalog import get_object
from dextog_gym.objects.shape import object_shape
from dextog_gym.objects.spec import CATEGORIES


@pytest.fixture(scope="module")
def stapler():
    from dextog_gym.grasp_sources.isf.antipodal import AntipodalSampler
    from dextog_gym.grasp_sources.isf.sampler import CandidateSampler

    shape = object_shape(get_object("stapler_000"))
    return AntipodalSampler(CandidateSampler(shape, table=False))


def test_only_staplers_and_pens_are_hand_held():
    assert {n for n, c in CATEGORIES.items() if c.hand_held} == {"stapler", "pen"}


def test_part_seeds_take_their_share(stapler):
    from dextog_gym.grasp_sources.isf.antipodal import PART_RADIUS_M, PART_SEED_FRACTION

    idx, on_part, _ = stapler.seeds(4000, np.random.default_rng(0))
    assert abs(on_part.mean() - PART_SEED_FRACTION) < 0.03
    near = np.zeros(len(idx), dtype=bool)
    for pts, _ in stapler.shape.parts.values():
        near |= cKDTree(pts).query(stapler.shape.points[idx])[0] <= PART_RADIUS_M + 1e-9
    assert near[on_part].all()
    # Uniform seeds land on the parts far less often than the stratified ones.
    assert near[~on_part].mean() < 0.5


def test_pairs_are_opposed_and_some_span_the_gap_under_the_arm(stapler):
    from dextog_gym.grasp_sources.isf.antipodal import MAX_WIDTH_M, MIN_OPPOSITION, MIN_WIDTH_M

    _, p1, n1, p2, n2, width, ok, _, _ = stapler.pairs(3000, np.random.default_rng(1))
    assert ok.sum() > 100
    assert ((n1[ok] * n2[ok]).sum(1) <= -MIN_OPPOSITION + 1e-9).all()
    assert ((width[ok] >= MIN_WIDTH_M) & (width[ok] <= MAX_WIDTH_M)).all()
    top, bottom = (stapler.shape.parts[k][0] for k in ("S_top", "S_bottom"))
    on_top = cKDTree(top).query(p1[ok])[0] < 0.005
    on_bottom = cKDTree(bottom).query(p2[ok])[0] < 0.005
    assert (on_top & on_bottom).sum() > 0, "no pair from the arm's top to the base's underside"


def test_table_switch():
    import torch

    from dextog_gym.grasp_sources.isf.sampler import CandidateSampler

    shape = object_shape(get_object("stapler_000"))
    below = torch.tensor([[0.0, 0.0, -0.2]], dtype=torch.float64)
    with_table = CandidateSampler(shape, table=True)
    without = CandidateSampler(shape, table=False)
    assert float(with_table._height(below.to(with_table.hand.dtype))[0]) < 0
    assert float(without._height(below.to(without.hand.dtype))[0]) > 0
    assert len(without.approachable) == len(shape.points) > len(with_table.approachable)


def test_hand_below_table_is_zero_above_and_positive_under():
    from dextog_gym.grasp_sources.isf.sampler import CLOSED
    from dextog_gym.metrics.grasp_quality import hand_below_table_m

    shape = object_shape(get_object("stapler_000"))
    rot = np.eye(3)[None]
    q = CLOSED[None]
    high = hand_below_table_m(shape, rot, np.array([[0.0, 0.0, 0.3]]), q)
    low = hand_below_table_m(shape, rot, np.array([[0.0, 0.0, -0.3]]), q)
    assert high[0] == 0 and low[0] > 0.1


def test_cap_seeded_pinches_gather_all_five_fingertips_at_the_cap(monkeypatch):
    """Eq. 15 needs every fingertip within 2.5 cm of the cap centre: the gathered fit gets them close."""
    import dextog_gym.grasp_sources.isf.antipodal as antipodal
    from dextog_gym.grasp_sources.isf.sampler import CandidateSampler
    from dextog_gym.grasp_sources.rules import pads_in_object_frame
    from dextog_gym.hand.transforms import matrices_to_quats_wxyz as matrix_to_quat_wxyz

    shape = object_shape(get_object("bottle_000"))
    sampler = antipodal.AntipodalSampler(CandidateSampler(shape))
    sampler.screen = False
    centre = shape.parts["c_cap"][0][0]
    spread = {}
    for fraction in (0.0, 1.0):
        monkeypatch.setattr(antipodal, "PART_SEED_FRACTION", fraction)
        c = sampler.sample(12, np.random.default_rng(3))
        pads, _ = pads_in_object_frame(c.trans, matrix_to_quat_wxyz(c.rot), c.q)
        spread[fraction] = np.median(np.linalg.norm(pads - centre, axis=2).max(axis=1))
    assert spread[1.0] < 0.035 < spread[0.0]
