"""DiffuTOG at full strength: contact-keeping handling, prepared training data, stop-and-resume, timings."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dextog_gym.grasp_sources.shipped import grasp_path  # noqa: E402
from dextog_gym.grasps import Grasps  # noqa: E402
from dextog_gym.hand.model import joint_limits  # noqa: E402
from dextog_gym.objects.catalog import get_object  # noqa: E402

TINY = dict(hidden=32, point_channels=(16, 32), hand_points=64, blocks=2, timesteps=10)


@pytest.fixture(scope="module")
def sunk_grasps():
    """16 stapler grasps pushed 1 cm along the palm normal into the object, joints jittered."""
    from dextog_gym.hand.transforms import quat_wxyz_to_matrix

    g = Grasps.load(grasp_path("isf", "stapler_000")).select(np.arange(16))
    rot = np.stack([quat_wxyz_to_matrix(q) for q in g.quats_wxyz])
    lo, hi = joint_limits()
    q = np.clip(g.joints + np.random.default_rng(0).normal(0, 0.2, g.joints.shape), lo, hi)
    return rot, g.positions - 0.01 * rot[:, :, 2], q


def test_contact_keeping_holds_pads_on_the_surface(sunk_grasps):
    from dextog_gym.grasp_sources.diffutog.collision import resolve_collisions
    from dextog_gym.metrics.grasp_quality import evaluate
    from dextog_gym.objects.shape import object_shape

    shape = object_shape(get_object("stapler_000"))
    rot, trans, q = sunk_grasps
    pushed = resolve_collisions(shape, rot, trans, q, steps=80, contact_keeping=False)
    kept = resolve_collisions(shape, rot, trans, q, steps=80, contact_keeping=True)
    assert pushed.pads_kept.sum() == 0 and kept.pads_kept.mean() >= 2
    for res in (pushed, kept):
        assert res.pen_after_m.mean() < 0.6 * res.pen_before_m.mean()
    e_pushed = evaluate(shape, rot, pushed.trans, pushed.joints, self_collision=False)
    e_kept = evaluate(shape, rot, kept.trans, kept.joints, self_collision=False)
    assert e_kept["pad_contacts"].mean() > 2 * e_pushed["pad_contacts"].mean()
    assert e_kept["q1"].mean() > e_pushed["q1"].mean()
    assert kept.gap_after_m.mean() < kept.gap_before_m.mean() + 1e-9 or kept.gap_after_m.mean() < 0.002


def test_handling_leaves_clean_grasps_alone():
    """A grasp already out of the object with its pads on the surface takes no step."""
    from dextog_gym.grasp_sources.diffutog.collision import resolve_collisions
    from dextog_gym.hand.transforms import quat_wxyz_to_matrix
    from dextog_gym.objects.shape import object_shape

    g = Grasps.load(grasp_path("isf", "bottle_000"))
    rot = np.stack([quat_wxyz_to_matrix(q) for q in g.quats_wxyz])
    res = resolve_collisions(object_shape(get_object("bottle_000")), rot, g.positions, g.joints, steps=50)
    done = (res.pen_before_m < 0.001) & (res.gap_before_m < 0.001)
    assert done.any()
    assert np.allclose(res.joints[done], g.joints[done]) and np.allclose(res.trans[done], g.positions[done])


def test_hand_batch_tensors_follow_the_device():
    from dextog_gym.hand.batch import HandBatch

    hand = HandBatch(n_points=64, device="cpu")
    assert all(t.device == hand.device for t in vars(hand).values() if isinstance(t, torch.Tensor))
    assert all(p.device == hand.device for _, p in hand._groups)


def _tiny_data():
    from dextog_gym.grasp_sources.diffutog.dataset import build_training_data

    return build_training_data([grasp_path("rule", "stapler_000")], [grasp_path("isf", "stapler_000")])


def test_prepared_data_round_trip_and_refusals(tmp_path):
    from dextog_gym.grasp_sources.diffutog.dataset import TrainingData

    data = _tiny_data()
    data.save(tmp_path / "prep.npz")
    back = TrainingData.load(tmp_path / "prep.npz")
    assert back.object_ids == data.object_ids and back.groups == data.groups and back.sources == data.sources
    for name in ("x", "object_index", "text_group", "clouds"):
        assert np.array_equal(getattr(back, name), getattr(data, name))
    assert all(np.array_equal(a, b) for a, b in zip(back.group_embeddings, data.group_embeddings))
    arrays = dict(np.load(tmp_path / "prep.npz"))
    bad = dict(arrays, object_index=arrays["object_index"] + 99)
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(ValueError, match="inconsistent"):
        TrainingData.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", **dict(arrays, meta=np.array(json.dumps({"format": "x"}))))
    with pytest.raises(ValueError, match="prepared"):
        TrainingData.load(tmp_path / "other.npz")
    np.savez(tmp_path / "pickled.npz", meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        TrainingData.load(tmp_path / "pickled.npz")


def test_stop_after_seconds_then_resume_from_prepared_data(tmp_path):
    """A run stopped by its time limit continues from a prepared-data file (another machine's way)."""
    from dextog_gym.grasp_sources.diffutog.dataset import TrainingData
    from dextog_gym.grasp_sources.diffutog.network import ModelConfig
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig, train

    data = _tiny_data()
    data.save(tmp_path / "prep.npz")
    run = tmp_path / "run"
    config = TrainConfig(iterations=10_000, batch=8, objects_per_batch=1, checkpoint_every=5000, device="cpu")
    first = train(data, run, config, ModelConfig(**TINY), progress=False, max_seconds=0.5)
    assert 0 < first.steps < 10_000
    assert json.loads((run / "run.json").read_text())["steps"] == first.steps  # checkpointed where it stopped
    second = train(TrainingData.load(tmp_path / "prep.npz"), run, TrainConfig(iterations=first.steps + 5, device="cpu"),
                   resume=True, progress=False)
    assert second.steps == first.steps + 5


def test_per_object_files_carry_their_own_time(tmp_path):
    from dextog_gym.grasp_sources.diffutog.generate import save_per_object

    parts = [Grasps.load(grasp_path("rule", o)).select(np.arange(n)) for o, n in (("stapler_000", 4), ("pen_000", 2))]
    merged = Grasps.concat(parts).replace(provenance={
        "source": "diffutog", "version": 1, "seed": None, "collision_handling": True, "seconds": 9.0, "grasps": 6,
        "per_object_seconds": {"stapler_000": [1.0, 5.0], "pen_000": [0.5, 2.5]}})
    save_per_object(merged, tmp_path)
    one = Grasps.load(tmp_path / "stapler_000.npz").provenance
    assert one["seconds"] == 6.0 and one["grasps"] == 4 and one["set_seconds"] == 9.0
    assert Grasps.load(tmp_path / "pen_000.npz").provenance["seconds"] == 3.0


def test_generate_then_handle_alone_records_true_times(tmp_path):
    """generate_sets with its raw samples, the handling re-run alone on them, one file per object."""
    from dextog_gym.grasp_sources.diffutog.generate import generate_sets, handle_set, save_per_object
    from dextog_gym.grasp_sources.diffutog.network import ModelConfig
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig, train

    run = tmp_path / "run"
    train(_tiny_data(), run, TrainConfig(iterations=5, batch=8, objects_per_batch=1, checkpoint_every=5, device="cpu"),
          ModelConfig(**TINY), progress=False)
    ids = ["stapler_000", "pen_000"]
    final, raw, timing = generate_sets(ids, 3, run / "model", progress=False)
    assert len(final) == len(raw) == 6 and sorted(timing["per_object_seconds"]) == sorted(ids)
    assert final.provenance["contact_keeping"] is True and not raw.provenance["collision_handling"]
    from dextog_gym.grasp_sources.diffutog.collision import DEFAULT

    turned = 2 * np.arccos(np.clip(np.abs((raw.quats_wxyz * final.quats_wxyz).sum(1)), 0, 1))
    assert (turned <= DEFAULT.max_turn_rad + 1e-4).all()  # the wrist turns, within its bound
    shifted = np.linalg.norm(final.positions - raw.positions, axis=1)
    assert (shifted <= DEFAULT.max_shift_m + 1e-6).all()
    pushed = handle_set(raw, contact_keeping=False, progress=False)
    assert len(pushed) == 6 and pushed.provenance["contact_keeping"] is False
    assert (pushed.extras["pads_kept"] == 0).all()
    with pytest.raises(ValueError, match="already"):
        handle_set(final, progress=False)
    save_per_object(final, tmp_path / "sets")
    one = Grasps.load(tmp_path / "sets" / "pen_000.npz").provenance
    assert one["grasps"] == 3 and one["seconds"] == pytest.approx(sum(timing["per_object_seconds"]["pen_000"]))


def test_table3_rows_carry_n_and_intervals(tmp_path):
    from dextog_gym.grasp_sources.diffutog.quality import format_table3, table3_rows
    from dextog_gym.metrics.intervals import wilson_interval

    parts = [Grasps.load(grasp_path("isf", o)).select(np.arange(6)) for o in ("stapler_000", "bottle_000")]
    Grasps.concat(parts).save(tmp_path / "set.npz")
    unseen = Grasps.load(grasp_path("isf", "stapler_003")).select(np.arange(3))
    unseen.save(tmp_path / "unseen.npz")
    (row,) = table3_rows([("isf", tmp_path / "set.npz", tmp_path / "unseen.npz")], max_per_object=4)
    seen = row["seen"]
    assert seen["grasps"] == 8 and 0 <= seen["eta_lo"] <= seen["eta"] <= seen["eta_hi"] <= 1
    assert (seen["eta_lo"], seen["eta_hi"]) == wilson_interval(round(seen["eta"] * 8), 8)
    assert seen["q1_ci"] >= 0 and seen["pen_ci"] >= 0
    text = format_table3([row])
    assert "± " in text and "| 8/3 |" in text and "paper: DiffuTOG w. Emb_H + T" in text
    assert "paper: GraspTTA | 0.0391 | 0.832 | – |" in format_table3([row], paper="i")
    with pytest.raises(ValueError, match="paper table"):
        format_table3([row], paper="ii")


def test_table3_reads_one_folder_for_both_splits(tmp_path):
    """A folder of per-object files (a shipped source's) serves both columns: each counts its split's objects."""
    from dextog_gym.grasp_sources.diffutog.quality import table3_rows

    (tmp_path / "sets").mkdir()
    for oid, n in (("stapler_000", 2), ("bottle_000", 3), ("stapler_003", 4)):
        Grasps.load(grasp_path("isf", oid)).select(np.arange(n)).save(tmp_path / "sets" / f"{oid}.npz")
    (row,) = table3_rows([("isf", tmp_path / "sets", tmp_path / "sets")], max_per_object=8)
    assert row["seen"]["grasps"] == 5 and row["unseen"]["grasps"] == 4
    with pytest.raises(ValueError, match="no grasps on unseen objects"):
        table3_rows([("isf", tmp_path / "sets", tmp_path / "sets" / "bottle_000.npz")])


@pytest.mark.parametrize("object_id", ["pen_000", "sprayer_trigger_000"])
def test_exact_sdf_is_the_metric_distance_where_the_grid_blurs(object_id):
    """NearestSDF gives the metric's φ_O near the surface (its sign everywhere there), with unit gradient."""
    from dextog_gym.objects.shape import object_shape

    shape = object_shape(get_object(object_id))
    rng = np.random.default_rng(0)
    x = shape.points[rng.choice(len(shape.points), 4000)] + rng.normal(0, 0.005, (4000, 3))
    ref = shape.signed_distance(x)
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    exact = shape.torch_sdf(exact=True)(xt)
    exact.sum().backward()
    near = np.abs(ref) < 0.015
    assert np.abs(exact.detach().numpy() - ref)[near].max() < 1e-5
    assert ((exact.detach().numpy() > 0) == (ref > 0))[near].all()
    assert torch.allclose(xt.grad.norm(dim=1)[torch.as_tensor(near)], torch.ones(1), atol=2e-3)
    grid = shape.torch_sdf()(torch.tensor(x, dtype=torch.float32)).numpy()
    assert ((grid > 0) != (ref > 0))[near].any()  # the grid misjudges some points: why the handling left it
