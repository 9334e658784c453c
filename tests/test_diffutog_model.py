"""DiffuTOG: representation, a tiny model trained for a few steps, sampling, collision handling, bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dextog_gym.grasp_sources.shipped import grasp_path  # noqa: E402
from dextog_gym.grasps import Grasps  # noqa: E402
from dextog_gym.hand.model import joint_limits  # noqa: E402
from dextog_gym.objects.catalog import get_object  # noqa: E402

TINY = dict(hidden=32, point_channels=(16, 32), hand_points=64, blocks=2, timesteps=10)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny model trained 30 steps on two objects' rule grasps, plus the run folder."""
    from dextog_gym.grasp_sources.diffutog.dataset import build_training_data
    from dextog_gym.grasp_sources.diffutog.network import ModelConfig
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig, train

    files = [grasp_path("rule", "stapler_000"), grasp_path("rule", "sprayer_trigger_000")]
    data = build_training_data(files, [grasp_path("isf", "stapler_000")])
    run = tmp_path_factory.mktemp("tiny") / "run"
    result = train(data, run, TrainConfig(iterations=30, batch=16, objects_per_batch=2, log_every=10,
                                          checkpoint_every=10, device="cpu"), ModelConfig(**TINY), progress=False)
    return data, run, result


def test_representation_round_trip():
    from dextog_gym.grasp_sources.diffutog.representation import GRASP_DIM, decode_numpy, encode

    g = Grasps.load(grasp_path("isf", "bottle_000"))
    x = encode(g.positions, g.quats_wxyz, g.joints)
    assert x.shape == (len(g), GRASP_DIM) and x.min() >= -1 and x.max() <= 1
    pos, quat, q = decode_numpy(x)
    assert np.allclose(pos, g.positions, atol=1e-5)
    assert np.allclose(np.abs((quat * g.quats_wxyz).sum(1)), 1, atol=1e-5)  # same rotation (q ~ -q)
    assert np.allclose(q, g.joints, atol=1e-5)
    # Any vector decodes to a valid grasp: joints clipped into the limits, a proper rotation.
    pos, quat, q = decode_numpy(np.random.default_rng(0).normal(0, 3, (50, GRASP_DIM)))
    lo, hi = joint_limits()
    assert (q >= lo - 1e-9).all() and (q <= hi + 1e-9).all()
    Grasps.from_arrays("bottle_000", "bottle", pos, quat, q)


def test_training_logs_checkpoints_and_resumes(tiny_run, tmp_path):
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig, train

    data, run, result = tiny_run
    assert result.steps == 30 and np.isfinite(result.final_loss)
    assert [h["step"] for h in result.history] == [10, 20, 30]
    assert all(np.isfinite(h["val_loss"]) for h in result.history)
    assert (run / "model.npz").is_file() and (run / "state.pt").is_file()
    assert list((run / "tb").glob("events.out.tfevents.*"))
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    more = train(data, copy, TrainConfig(iterations=40, device="cpu"), resume=True, progress=False)
    assert more.steps == 40 and [h["step"] for h in more.history] == [40]
    doc = json.loads((copy / "run.json").read_text())
    assert [s["end_step"] for s in doc["sessions"]] == [30, 40]
    with pytest.raises(FileExistsError):
        train(data, copy, TrainConfig(iterations=5, device="cpu"), progress=False)


def test_sampling_gives_valid_grasps_and_is_seeded(tiny_run):
    from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource

    _, run, _ = tiny_run
    asset = get_object("stapler_000")
    src = DiffuTogSource(model=run / "model", collision_steps=3)
    a = src.sample(asset, "stapler", 6, np.random.default_rng(1))
    b = src.sample(asset, "stapler", 6, np.random.default_rng(1))
    assert len(a) == 6 and a.object_ids == ("stapler_000",)
    assert np.array_equal(a.joints, b.joints) and np.array_equal(a.positions, b.positions)
    assert {"pen_before_cm", "pen_after_cm"} <= set(a.extras)
    assert a.provenance["source"] == "diffutog" and a.provenance["collision_handling"] is True
    c = src.sample(asset, "stapler", 3, np.random.default_rng(1), text="squeeze the stapler to staple a report")
    assert c.provenance["text"] == "squeeze the stapler to staple a report"
    plain = DiffuTogSource(model=run / "model", collision_handling=False).sample(asset, "stapler", 4,
                                                                                  np.random.default_rng(2))
    assert "pen_after_cm" not in plain.extras and len(plain) == 4


def test_collision_handling_reduces_penetration():
    from dextog_gym.grasp_sources.diffutog.collision import resolve_collisions
    from dextog_gym.hand.transforms import quat_wxyz_to_matrix
    from dextog_gym.objects.shape import object_shape

    g = Grasps.load(grasp_path("isf", "stapler_000")).select(np.arange(8))
    rot = np.stack([quat_wxyz_to_matrix(q) for q in g.quats_wxyz])
    lo, hi = joint_limits()
    rng = np.random.default_rng(0)
    q = np.clip(g.joints + rng.normal(0, 0.2, g.joints.shape), lo, hi)
    sunk = g.positions - 0.01 * rot[:, :, 2]  # 1 cm along the palm's z: into the object for most grasps
    res = resolve_collisions(object_shape(get_object("stapler_000")), rot, sunk, q, steps=60)
    assert res.pen_before_m.mean() > 0.002
    assert res.pen_after_m.mean() < 0.5 * res.pen_before_m.mean()
    assert (res.joints >= lo - 1e-6).all() and (res.joints <= hi + 1e-6).all()


def test_bad_input(tiny_run, tmp_path):
    from dextog_gym.grasp_sources.diffutog.checkpoint import CheckpointError, load_denoiser
    from dextog_gym.grasp_sources.diffutog.dataset import build_training_data
    from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource

    _, run, _ = tiny_run
    empty = Grasps.load(grasp_path("rule", "stapler_000")).select(np.zeros(0, int))
    with pytest.raises(ValueError, match="empty"):
        build_training_data([empty])
    g = Grasps.load(grasp_path("rule", "stapler_000"))
    wrong = Grasps(("bottle_000",), ("stapler",), g.object_index, g.positions, g.quats_wxyz, g.joints)
    with pytest.raises(ValueError, match="is a bottle"):
        build_training_data([wrong])
    src = DiffuTogSource(model=run / "model", collision_steps=1)
    asset = get_object("stapler_000")
    for text, match in (("", "empty"), ("   ", "empty"), ("x" * 600, "512")):
        with pytest.raises(ValueError, match=match):
            src.sample(asset, "stapler", 1, np.random.default_rng(0), text=text)
    with pytest.raises(ValueError, match="is a stapler"):
        src.sample(asset, "bottle", 1, np.random.default_rng(0))
    # A checkpoint for another hand, another architecture, corrupt weights, missing files.
    for name, edit in (("hand", lambda d: d["hand"].__setitem__("joint_names", ["J0"] * 24)),
                       ("config", lambda d: d["config"].__setitem__("hidden", 64))):
        bad = tmp_path / name
        shutil.copy(run / "model.npz", bad.with_suffix(".npz"))
        doc = json.loads((run / "model.json").read_text())
        edit(doc)
        bad.with_suffix(".json").write_text(json.dumps(doc))
        with pytest.raises(CheckpointError, match="another hand" if name == "hand" else "shape"):
            load_denoiser(bad)
    corrupt = tmp_path / "corrupt"
    corrupt.with_suffix(".npz").write_bytes(b"PK\x03\x04 not a zip")
    shutil.copy(run / "model.json", corrupt.with_suffix(".json"))
    with pytest.raises(CheckpointError, match="unreadable"):
        load_denoiser(corrupt)
    with pytest.raises(CheckpointError, match="not found"):
        load_denoiser(tmp_path / "missing")
