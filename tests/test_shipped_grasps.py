"""The committed grasp sets under assets/grasps: present for every object, valid, and consistent with the rules."""

from __future__ import annotations

import numpy as np
import pytest

from dextog_gym.grasp_sources.shipped import grasp_path
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import get_object, list_objects

OBJECTS = list_objects(split="all")


@pytest.mark.parametrize("object_id", OBJECTS)
def test_every_object_has_a_raw_set_that_records_lift_and_rules(object_id):
    from dextog_gym.grasp_sources.isf.generate import VERSION

    raw = Grasps.load(grasp_path("isf", object_id))
    assert list(raw.object_ids) == [object_id] and len(raw) >= 50
    # isf-2 sets hold only the antipodal stream, which isf-3 reproduces bit for bit (its own random
    # stream); isf-3 sets add the functional families' stream.
    assert raw.provenance["source"] == "isf" and raw.provenance["version"] in ("isf-2", VERSION)
    if raw.provenance["version"] == VERSION:
        assert set(raw.provenance["streams"]) <= {"antipodal", "functional"}
    assert (raw.extras["pen_cm"] < 0.5).all() and (raw.extras["q1"] > 0).all()
    lift, sample = raw.extras["lift_pass"], raw.extras["lift_sample"].astype(bool)
    assert sample.sum() == min(64, len(raw)) and (lift[sample] >= 0).all()
    assert (lift[raw.extras["rule_pass"].astype(bool)] >= 0).all()  # every rule-passing grasp was lift-tested


@pytest.mark.parametrize("task", ["stapler", "sprayer_press", "sprayer_trigger", "bottle", "pen"])
def test_rule_sets_hold_exactly_the_rule_and_lift_passing_raw_grasps(task):
    from dextog_gym.grasp_sources.rules import rule_mask
    from dextog_gym.objects.shape import object_shape

    for object_id in list_objects(category=task):
        raw = Grasps.load(grasp_path("isf", object_id))
        rule = Grasps.load(grasp_path("rule", object_id))
        keep = raw.extras["rule_pass"].astype(bool) & (raw.extras["lift_pass"] == 1)
        assert len(rule) == keep.sum()
        np.testing.assert_allclose(rule.joints, raw.joints[keep])
        if len(rule):
            asset = get_object(object_id)
            assert rule_mask(object_shape(asset), task, rule.positions, rule.quats_wxyz, rule.joints).all()


def test_sources_serve_shipped_sets_without_generating(monkeypatch):
    import dextog_gym.grasp_sources.isf.generate as generate
    import dextog_gym.grasp_sources.pipeline as pipeline  # imported now: it binds generate_raw at import
    from dextog_gym.grasps.registry import get_source

    def refuse(*args, **kwargs):
        raise AssertionError("generation must not run for a catalogue object")

    # Both names, both restored after the test (patching only one left later tests a captured `refuse`).
    monkeypatch.setattr(generate, "generate_raw", refuse)
    monkeypatch.setattr(pipeline, "generate_raw", refuse)
    asset = get_object("stapler_000")
    rng = np.random.default_rng(0)
    raw = get_source("isf").sample(asset, "stapler", 5, rng)
    rule = get_source("rule").sample(asset, "stapler", 5, rng)
    assert len(raw) == 5 and len(rule) == 5
