"""The paper's rules (Eqs. 12–16) on pads placed by hand relative to the annotated parts."""

from __future__ import annotations

import numpy as np
import pytest

from dextog_gym.grasp_sources import rules
from dextog_gym.objects.catalog import get_object
from dextog_gym.objects.shape import object_shape


def _pads(shape, placement):
    """Pads [1,5,3] far away, then the given fingers moved to points with normals."""
    pads = np.full((1, 5, 3), 1.0)
    normals = np.tile([0.0, 0.0, 1.0], (1, 5, 1))
    for finger, (point, normal) in placement.items():
        pads[0, finger] = point
        normals[0, finger] = normal
    return pads, normals


def test_stapler_thumb_on_top_index_below_with_opposed_normals():
    s = object_shape(get_object("stapler_000"))
    top, n_top = s.parts["S_top"]
    bottom, n_bottom = s.parts["S_bottom"]
    good = _pads(s, {rules.TH: (top[0], -n_top), rules.FF: (bottom[0], -n_bottom)})
    assert rules.stapler_rule(s, *good)[0]
    swapped = _pads(s, {rules.MF: (top[0], -n_top), rules.TH: (bottom[0], -n_bottom)})
    assert rules.stapler_rule(s, *swapped)[0]
    wrong_normal = _pads(s, {rules.TH: (top[0], n_top), rules.FF: (bottom[0], -n_bottom)})
    assert not rules.stapler_rule(s, *wrong_normal)[0]
    too_far = _pads(s, {rules.TH: (top[0] + 0.006 * n_top, -n_top), rules.FF: (bottom[0], -n_bottom)})
    assert not rules.stapler_rule(s, *too_far)[0]
    ring_instead = _pads(s, {rules.TH: (top[0], -n_top), 3: (bottom[0], -n_bottom)})
    assert not rules.stapler_rule(s, *ring_instead)[0]


@pytest.mark.parametrize("obj, limit", [("pen_000", 0.0025), ("sprayer_press_000", 0.005)])
def test_button_rules_use_the_papers_distance(obj, limit):
    s = object_shape(get_object(obj))
    button, n = s.parts["S_button"]
    check = rules.RULES[s.category].check
    assert check(s, *_pads(s, {rules.FF: (button[0] + 0.9 * limit * n, -n)}))[0]
    assert check(s, *_pads(s, {rules.TH: (button[0] + 0.9 * limit * n, -n)}))[0]
    assert not check(s, *_pads(s, {rules.TH: (button[0] + 1.2 * limit * n, -n)}))[0]
    assert not check(s, *_pads(s, {rules.MF: (button[0], -n)}))[0]  # only thumb or index count


def test_trigger_needs_the_index_pad_facing_the_trigger():
    s = object_shape(get_object("sprayer_trigger_000"))
    trig, n = s.parts["S_trigger"]
    assert rules.sprayer_trigger_rule(s, *_pads(s, {rules.FF: (trig[0], -n)}))[0]
    assert not rules.sprayer_trigger_rule(s, *_pads(s, {rules.FF: (trig[0], n)}))[0]
    assert not rules.sprayer_trigger_rule(s, *_pads(s, {rules.TH: (trig[0], -n)}))[0]


def test_bottle_needs_every_fingertip_within_25mm_of_the_cap_centre():
    s = object_shape(get_object("bottle_000"))
    centre = s.parts["c_cap"][0].mean(axis=0)
    ring = centre + 0.02 * np.array([[np.cos(a), np.sin(a), 0.0] for a in np.linspace(0, 2 * np.pi, 5, endpoint=False)])
    pads, normals = ring[None], np.zeros((1, 5, 3))
    assert rules.bottle_rule(s, pads, normals)[0]
    pads[0, 4] = centre + np.array([0.026, 0.0, 0.0])
    assert not rules.bottle_rule(s, pads, normals)[0]


def test_unknown_task_and_missing_parts_are_clear_errors():
    s = object_shape(get_object("pen_000"))
    with pytest.raises(ValueError, match="no rule for task"):
        rules.rule_mask(s, "juggling", np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, 24)))
    with pytest.raises(ValueError, match="needs part 'S_top'"):
        rules.stapler_rule(s, np.zeros((1, 5, 3)), np.zeros((1, 5, 3)))
