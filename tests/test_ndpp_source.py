"""The ``ndpp`` grasp source and the constraint evaluators it shares with the metric and the handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import get_object, list_objects
from dextog_gym.objects.spec import CATEGORIES
from dextog_gym.paths import grasps_dir

FAST = {"candidates": 2, "lookahead": 1, "window": 0.1}


def _as_t(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float32)


def test_handling_and_guidance_share_one_constraint_code():
    from dextog_gym.grasp_sources.diffutog import collision
    from dextog_gym.metrics import constraints

    assert collision.penetration is constraints.penetration
    assert collision.self_penetration is constraints.self_penetration


@pytest.mark.parametrize("object_id", ["stapler_000", "bottle_000"])
def test_hand_side_penetration_is_the_metric_s_own(object_id):
    """φ_H at the metric's 2,000 object points with its 1,024 hand samples: the metric's pen_object_cm."""
    from dextog_gym.metrics.constraints import ConstraintEvaluator
    from dextog_gym.metrics.grasp_quality import evaluate
    from dextog_gym.objects.shape import object_shape

    g = Grasps.load(grasps_dir() / "diffutog" / f"{object_id}.npz").select(np.arange(6))
    shape = object_shape(get_object(object_id))
    rot = g.wrist_matrices()[:, :3, :3]
    metric = evaluate(shape, rot, g.positions, g.joints, self_collision=False)
    ev = ConstraintEvaluator(shape, hand_points=1024, object_points=2000)
    frames, _ = ev.hand.link_frames(_as_t(g.joints), _as_t(rot), _as_t(g.positions))
    phi_h = ev.hand.hand_sdf(frames, ev.obj.expand(len(g), -1, -1)).amax(1).clamp_min(0)
    np.testing.assert_allclose(100 * phi_h.detach().numpy(), metric["pen_object_cm"], atol=1e-3)


def test_cost_terms_respond_to_what_they_measure():
    from dextog_gym.metrics.constraints import ConstraintEvaluator
    from dextog_gym.objects.shape import object_shape

    g = Grasps.load(grasps_dir() / "diffutog" / "bottle_000.npz").select(np.arange(4))
    ev = ConstraintEvaluator(object_shape(get_object("bottle_000")))
    rot, trans, q = _as_t(g.wrist_matrices()[:, :3, :3]), _as_t(g.positions), _as_t(g.joints)
    base = ev.terms(rot, trans, q)
    assert torch.all(base["joints_rad"] == 0)  # shipped joints are inside their limits
    over = q.clone()
    over[:, 3] = ev.hand.upper[3] + 0.2
    assert torch.allclose(ev.terms(rot, trans, over)["joints_rad"], torch.full((4,), 0.2), atol=1e-5)
    away = ev.terms(rot, trans + torch.tensor([0.0, 0.0, 0.3]), q)  # the hand 30 cm above: no contact at all
    assert torch.all(away["pen_cm"] == 0) and torch.all(away["gap_cm"] > base["gap_cm"])
    sunk = ev.terms(rot, torch.zeros_like(trans), q)  # wrist at the object's origin: deep inside
    assert torch.all(sunk["pen_cm"] > 1.0) and torch.all(ev.cost(rot, torch.zeros_like(trans), q) > ev.cost(rot, trans, q))
    assert ev.evaluations == 4 * 6  # six calls of four poses


def test_source_samples_valid_seeded_grasps_with_counts():
    from dextog_gym.grasp_sources.ndpp.source import NdppSource

    asset = get_object("stapler_000")
    a = NdppSource(**FAST).sample(asset, "stapler", 3, np.random.default_rng(4))
    b = NdppSource(**FAST).sample(asset, "stapler", 3, np.random.default_rng(4))
    assert len(a) == 3 and a.object_ids == ("stapler_000",)
    np.testing.assert_array_equal(a.joints, b.joints)
    prov = a.provenance
    assert prov["source"] == "ndpp" and prov["guidance"] == "optimal_control" and prov["seconds"] > 0
    # 100 steps unguided + the guided ones' candidates: more network calls than plain DiffuTOG, costs > 0
    assert prov["network_calls_per_grasp"] > 100 and prov["cost_calls_per_grasp"] > 0


@pytest.mark.parametrize("guidance", ["surrogate_gradient", "finite_difference"])
def test_gradient_ablations_sample_too(guidance):
    from dextog_gym.grasp_sources.ndpp.source import NdppSource

    asset = get_object("pen_000")
    g = NdppSource(guidance=guidance, window=0.1, candidates=2).sample(asset, "pen", 2, np.random.default_rng(0))
    assert len(g) == 2 and g.provenance["guidance"] == guidance and g.provenance["cost_calls_per_grasp"] > 0


@pytest.mark.parametrize("bad", [{"candidates": 0}, {"variant": "greedy"}, {"temperature": -1.0}, {"batch": 0},
                                 {"guidance": "magic"}, {"contact_keeping": "yes"}, {"window": 2.0}])
def test_bad_options_are_refused(bad):
    from dextog_gym.grasp_sources.ndpp.source import NdppSource

    with pytest.raises(ValueError):
        NdppSource(**bad)


def test_wrong_task_and_bad_n_are_refused():
    from dextog_gym.grasp_sources.ndpp.source import NdppSource

    src = NdppSource(**FAST)
    with pytest.raises(ValueError, match="is a stapler"):
        src.sample(get_object("stapler_000"), "pen", 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n must be"):
        src.sample(get_object("stapler_000"), "stapler", -1, np.random.default_rng(0))


SHIPPED = [i for task in CATEGORIES for i in list_objects(task, "all")]


def test_every_object_has_a_shipped_ndpp_set_served_in_file_order():
    from dextog_gym.grasps.registry import get_source, object_grasps

    missing = [i for i in SHIPPED if not (grasps_dir() / "ndpp" / f"{i}.npz").is_file()]
    assert not missing, f"no shipped ndpp set for {missing}"
    asset = get_object("sprayer_trigger_000")
    got, served_by = object_grasps(get_source("ndpp"), asset, asset.category, 4, np.random.default_rng(0))
    saved = Grasps.load(grasps_dir() / "ndpp" / "sprayer_trigger_000.npz")
    from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT

    assert served_by == "ndpp" and len(got) == len(saved) == GRASPS_PER_OBJECT  # the protocol's 20, no shortfall
    np.testing.assert_array_equal(got.joints, saved.joints)
    assert saved.provenance["seconds"] > 0 and saved.provenance["guidance"] == "optimal_control"


def test_env_starts_from_ndpp_grasps():
    import gymnasium as gym

    import dextog_gym  # noqa: F401

    env = gym.make("DexTOG/BottleCap-v1", grasp_source="ndpp", objects=["bottle_000"])
    try:
        obs, info = env.reset(seed=0)
        assert np.all(np.isfinite(obs))
    finally:
        env.close()
