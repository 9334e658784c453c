"""The functional families: a pad on a small part while the hand holds the body; five pads around a cap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from dextog_gym.objects.catalog import get_object
from dextog_gym.objects.shape import object_shape


def _sampler(object_id: str):
    from dextog_gym.grasp_sources.isf.antipodal import AntipodalSampler
    from dextog_gym.grasp_sources.isf.functional import FunctionalSampler
    from dextog_gym.grasp_sources.isf.sampler import CandidateSampler

    from dextog_gym.objects.spec import category

    asset = get_object(object_id)
    table = not category(asset.category).hand_held  # as generate.py: pens and staplers are sampled in hand
    sampler = FunctionalSampler(AntipodalSampler(CandidateSampler(object_shape(asset), table=table)))
    sampler.antipodal.screen = False  # judge the fit itself, not the screen after it
    return sampler


def _pads(c):
    from dextog_gym.grasp_sources.rules import pads_in_object_frame
    from dextog_gym.hand.transforms import matrices_to_quats_wxyz

    return pads_in_object_frame(c.trans, matrices_to_quats_wxyz(c.rot), c.q)


@pytest.mark.parametrize("object_id,part", [("sprayer_press_000", "S_button"), ("sprayer_trigger_000", "S_trigger"),
                                            ("pen_000", "S_button")])
def test_part_pad_puts_the_thumb_or_index_pad_on_the_part(object_id, part):
    sampler = _sampler(object_id)
    c = sampler.sample(24, np.random.default_rng(0))
    assert (c.synergy == 2).all()
    pads, _ = _pads(c)
    tree = cKDTree(sampler.shape.parts[part][0])
    nearest = np.minimum(tree.query(pads[:, 0])[0], tree.query(pads[:, 1])[0])
    # Most fits end with a pad within the rules' 5 mm of the part; a random hand pose almost never does.
    assert np.mean(nearest <= 0.005) > 0.5, np.round(nearest * 100, 2)
    # ... while another pad holds the body: at least two pads within 1 cm of the surface.
    on_body = np.abs(sampler.shape.signed_distance(pads.reshape(-1, 3))).reshape(-1, 5) < 0.01
    assert (on_body.sum(axis=1) >= 2).mean() > 0.5


def test_cap_ring_gathers_fingertips_around_the_cap_with_room_between_them():
    sampler = _sampler("bottle_005")
    c = sampler.sample(10, np.random.default_rng(0))
    assert (c.synergy == 3).all()
    pads, _ = _pads(c)
    centre = sampler.shape.parts["c_cap"][0][0]
    dist = np.linalg.norm(pads - centre, axis=2)
    assert np.median(dist[:, :4]) < 0.025  # thumb, index, middle, ring on the cap
    gaps = np.linalg.norm(pads[:, :, None] - pads[:, None], axis=-1)[:, *np.triu_indices(5, 1)]
    assert np.median(gaps.min(axis=1)) > 0.01  # not one bunch of crossed fingers


def test_functional_candidates_are_deterministic_by_generator():
    sampler = _sampler("sprayer_press_003")
    a = sampler.sample(6, np.random.default_rng(5))
    b = sampler.sample(6, np.random.default_rng(5))
    assert np.array_equal(a.q, b.q) and np.array_equal(a.trans, b.trans)


def test_objects_without_parts_fall_back_to_the_antipodal_family():
    sampler = _sampler("sprayer_press_000")
    sampler.surfaces, sampler.centres = [], []
    assert not sampler.available
    assert len(sampler.sample(8, np.random.default_rng(0)).q) == 0


def test_make_raw_adds_functional_grasps_and_keeps_the_antipodal_part(tmp_path):
    """Each family has its own random stream: adding functional grasps leaves the existing ones untouched."""
    import shutil

    from dextog_gym.grasp_sources.pipeline import FUNCTIONAL_FAMILY, make_raw
    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasps import Grasps

    asset = get_object("sprayer_press_000")
    shipped = Grasps.load(grasp_path("isf", asset.id))
    base = shipped.select(np.flatnonzero(shipped.extras["family"] != FUNCTIONAL_FAMILY))
    target = grasp_path("isf", asset.id, tmp_path)
    target.parent.mkdir(parents=True)
    base.replace(extras={k: v for k, v in base.extras.items() if k in ("q1", "pen_cm", "pad_contacts", "family",
                                                                        "clearance_m")}).save(target, compact=True)
    out = make_raw(asset, len(base), 0, tmp_path, max_candidates=512, functional=3)
    family = out.extras["family"]
    assert np.array_equal(out.joints[family != FUNCTIONAL_FAMILY], base.joints)
    assert 1 <= (family == FUNCTIONAL_FAMILY).sum() <= 3 or out.provenance["streams"]["functional"]["candidates"] >= 512
    assert out.provenance["version"] == "isf-3" and set(out.provenance["streams"]) == {"antipodal", "functional"}
    again = make_raw(asset, len(base), 0, tmp_path, max_candidates=512, functional=(family == FUNCTIONAL_FAMILY).sum())
    assert np.array_equal(again.joints, out.joints)  # complete: nothing regenerated
    shutil.rmtree(tmp_path / "isf")


def test_summary_counts_functional_grasps_and_their_rule_share():
    from dextog_gym.grasp_sources.pipeline import FUNCTIONAL_FAMILY
    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasp_sources.summary import HEADERS, summarise
    from dextog_gym.grasps import Grasps

    (s,) = summarise(objects=["sprayer_press_000"])
    raw = Grasps.load(grasp_path("isf", "sprayer_press_000"))
    rule = Grasps.load(grasp_path("rule", "sprayer_press_000"))
    assert s.functional == (raw.extras["family"] == FUNCTIONAL_FAMILY).sum() > 0
    assert s.rule_kept_functional == (rule.extras["family"] == FUNCTIONAL_FAMILY).sum()
    row = dict(zip(HEADERS, s.row()))
    assert row["functional"] == s.functional and float(row["functional/s (1 core)"]) > 0
