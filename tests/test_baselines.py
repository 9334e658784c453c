"""GraspCVAE, GraspTTA*, UniDexGrasp*: models, flows, training and resume, files, test-time adaptation, sources."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dextog_gym.grasp_sources.baselines.config import BaselineConfig  # noqa: E402
from dextog_gym.grasp_sources.shipped import grasp_path  # noqa: E402
from dextog_gym.grasps import Grasps  # noqa: E402
from dextog_gym.objects.catalog import get_object  # noqa: E402

TINY = dict(hidden=16, point_channels=(8, 16), hand_points=32, flow_transforms=2, flow_hidden=16, latent=4)
KINDS = ["cvae", "contactnet", "unidexgrasp"]


@pytest.fixture(scope="module")
def data():
    from dextog_gym.grasp_sources.diffutog.dataset import build_training_data

    return build_training_data([grasp_path("rule", "stapler_000"), grasp_path("rule", "pen_000")],
                               [grasp_path("isf", "pen_000")])


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    """A tiny model of each kind trained 6 steps."""
    from dextog_gym.grasp_sources.baselines.train import train_baseline
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig

    out = {}
    for kind in KINDS:
        run = tmp_path_factory.mktemp(kind) / "run"
        cfg = TrainConfig(iterations=6, batch=8, objects_per_batch=2, log_every=3, checkpoint_every=3, device="cpu")
        out[kind] = (run, train_baseline(data, run, cfg, BaselineConfig(kind=kind, **TINY), progress=False))
    return out


def test_config_refuses_unknown_kinds_flows_and_keys():
    with pytest.raises(ValueError, match="unknown baseline kind"):
        BaselineConfig(kind="gan")
    with pytest.raises(ValueError, match="flow"):
        BaselineConfig(flow="maf")
    with pytest.raises(ValueError, match="unknown keys"):
        BaselineConfig.from_json({"kind": "cvae", "depth": 3})
    c = BaselineConfig(kind="unidexgrasp", point_channels=(8, 16))
    assert BaselineConfig.from_json(json.loads(json.dumps(c.to_json()))) == c


@pytest.mark.parametrize("kind", KINDS)
def test_training_logs_checkpoints_and_resumes(kind, runs, data):
    from dextog_gym.grasp_sources.baselines.train import train_baseline
    from dextog_gym.grasp_sources.diffutog.train import TrainConfig

    run, result = runs[kind]
    assert result.steps == 6 and np.isfinite(result.final_loss)
    assert [h["step"] for h in result.history] == [3, 6] and all(np.isfinite(h["val_loss"]) for h in result.history)
    assert (run / "model.npz").is_file() and (run / "state.pt").is_file() and (run / "tb").is_dir()
    cfg = TrainConfig(iterations=8, batch=8, objects_per_batch=2, log_every=2, checkpoint_every=2, device="cpu")
    with pytest.raises(FileExistsError, match="--resume"):
        train_baseline(data, run, cfg, BaselineConfig(kind=kind, **TINY), progress=False)
    more = train_baseline(data, run, cfg, BaselineConfig(kind=kind, **TINY), resume=True, progress=False)
    assert more.steps == 8 and json.loads((run / "run.json").read_text())["steps"] == 8


@pytest.mark.parametrize("kind", KINDS)
def test_model_files_round_trip_and_refuse_other_kinds(kind, runs, tmp_path):
    from dextog_gym.grasp_sources.baselines.models import load_baseline
    from dextog_gym.grasp_sources.diffutog.checkpoint import CheckpointError, load_denoiser

    run, _ = runs[kind]
    model, doc = load_baseline(run / "model", kind)
    assert doc["steps"] >= 6 and model.config.kind == kind
    other = next(k for k in KINDS if k != kind)
    with pytest.raises(CheckpointError, match=f"a {kind} model, expected a {other} model"):
        load_baseline(run / "model", other)
    with pytest.raises(CheckpointError, match="not a dextog-diffutog-1 model"):
        load_denoiser(run / "model")
    bad = tmp_path / "bad"
    (tmp_path / "bad.json").write_text((run / "model.json").read_text())
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(CheckpointError, match="unreadable weights"):
        load_baseline(bad, kind)


@pytest.mark.parametrize("kind", ["cvae", "unidexgrasp"])
def test_generators_sample_seeded_valid_grasps(kind, runs):
    from dextog_gym.grasp_sources.baselines.models import load_baseline
    from dextog_gym.grasp_sources.diffutog.dataset import object_cloud
    from dextog_gym.grasp_sources.diffutog.representation import decode_numpy

    model, _ = load_baseline(runs[kind][0] / "model", kind)
    cloud = torch.as_tensor(object_cloud(get_object("pen_000")))
    text = torch.zeros(384)
    a = model.sample(cloud, text, 5, torch.Generator().manual_seed(3))
    b = model.sample(cloud, text, 5, torch.Generator().manual_seed(3))
    assert a.shape == (5, 33) and torch.equal(a, b) and torch.isfinite(a).all()
    pos, quats, joints = decode_numpy(a.numpy())
    Grasps.from_arrays("pen_000", "pen", pos, quats, joints)  # validation passes


@pytest.mark.parametrize("flow", ["zuko", "coupling"])
def test_flows_sample_what_they_score(flow):
    """Samples of a flow have finite log-density, sampling is seeded, and training lowers the NLL."""
    from dextog_gym.grasp_sources.baselines.flows import make_flow

    torch.manual_seed(0)
    f = make_flow(flow, 6, 3, 2, 32)
    ctx = torch.randn(64, 3)
    y = 0.3 * torch.randn(64, 6) + ctx.sum(1, keepdim=True)
    opt = torch.optim.Adam(f.parameters(), lr=1e-2)
    first = -f.log_prob(y, ctx).mean().item()
    for _ in range(60):
        loss = -f.log_prob(y, ctx).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first - 1.0
    s1 = f.sample(ctx, torch.Generator().manual_seed(1))
    s2 = f.sample(ctx, torch.Generator().manual_seed(1))
    assert torch.equal(s1, s2) and torch.isfinite(f.log_prob(s1, ctx)).all()


def test_coupling_flow_inverts_exactly():
    from dextog_gym.grasp_sources.baselines.flows import CouplingFlow

    f = CouplingFlow(7, 2, 3, 16)
    for net in f.nets:  # leave the identity start
        torch.nn.init.normal_(net[-1].weight, std=0.3)
    ctx = torch.randn(10, 2)
    y = f.sample(ctx, torch.Generator().manual_seed(0))
    # log p(y) = log N(z) + log|det|, z = T(y): recompute z by the forward pass and compare with the seed's noise.
    z = torch.randn(10, 7, generator=torch.Generator().manual_seed(0))
    base = -0.5 * (z**2).sum(1) - 3.5 * np.log(2 * np.pi)
    logdet = f.log_prob(y, ctx) - base
    assert torch.isfinite(logdet).all()
    yy = y.clone()
    for i, perm in enumerate(f.perms):
        yy = yy[:, perm]
        s, t = f._params(i, yy[:, : f.half], ctx)
        yy = torch.cat([yy[:, : f.half], yy[:, f.half:] * s.exp() + t], dim=1)
    assert torch.allclose(yy, z, atol=1e-4)


def test_rotations_are_proper_and_six_d_round_trips():
    from dextog_gym.grasp_sources.baselines.unidexgrasp import random_rotations, rotation_from_six_d, six_d

    r = random_rotations(100, "cpu", torch.Generator().manual_seed(0))
    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3).expand(100, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(100), atol=1e-5)
    assert torch.allclose(rotation_from_six_d(six_d(r)), r, atol=1e-5)


def test_contact_map_is_one_on_the_hand_and_falls_off_with_distance():
    from dextog_gym.grasp_sources.baselines.contactnet import contact_map
    from dextog_gym.grasp_sources.diffutog.representation import POS_SCALE_M, HandCloud, encode

    g = Grasps.load(grasp_path("rule", "stapler_000")).select(np.arange(1))
    x = torch.as_tensor(encode(g.positions, g.quats_wxyz, g.joints))
    cloud = HandCloud(64)
    on_hand = cloud(x)  # hand surface samples: distance 0
    far = on_hand + torch.tensor([0.0, 0.0, 0.05 / POS_SCALE_M])
    c_on, c_far = contact_map(cloud, x, on_hand), contact_map(cloud, x, far)
    assert c_on.min() > 0.95 and c_far.mean() < c_on.mean() and c_on.max() <= 1.0 + 1e-6


def test_tta_removes_penetration_and_keeps_joints_in_limits(runs):
    """Pushed 1.5 cm into the object, the adaptation takes a rule grasp back out."""
    from dextog_gym.grasp_sources.baselines.models import load_baseline
    from dextog_gym.grasp_sources.baselines.tta import TtaConfig, adapt
    from dextog_gym.grasp_sources.diffutog.dataset import object_cloud
    from dextog_gym.grasp_sources.diffutog.representation import POS_SCALE_M, encode
    from dextog_gym.objects.shape import object_shape

    net, _ = load_baseline(runs["contactnet"][0] / "model", "contactnet")
    asset = get_object("stapler_000")
    g = Grasps.load(grasp_path("rule", "stapler_000")).select(np.arange(3))
    x = encode(g.positions, g.quats_wxyz, g.joints)
    x[:, 6:9] -= 0.015 / POS_SCALE_M * x[:, 6:9] / np.linalg.norm(x[:, 6:9], axis=1, keepdims=True)
    res = adapt(x, object_shape(asset), object_cloud(asset), net, TtaConfig(steps=40, hand_points=256, object_points=256))
    assert res.pen_after_m.mean() < res.pen_before_m.mean()
    assert np.abs(res.x[:, 9:]).max() <= 1.0 + 1e-6 and np.isfinite(res.x).all()


@pytest.mark.parametrize("name", ["cvae", "grasptta", "unidexgrasp"])
def test_every_object_has_a_shipped_set_of_the_protocols_size(name):
    from dextog_gym.files import sha256_file
    from dextog_gym.grasps.registry import get_source, object_grasps
    from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT
    from dextog_gym.objects.catalog import CATEGORIES, list_objects
    from dextog_gym.paths import baselines_dir, grasps_dir

    ids = [i for task in CATEGORIES for i in list_objects(task, "all")]
    missing = [i for i in ids if not (grasps_dir() / name / f"{i}.npz").is_file()]
    assert len(ids) == 80 and not missing, f"no shipped {name} set for {missing}"
    sizes = {i: len(Grasps.load(grasps_dir() / name / f"{i}.npz")) for i in ids}
    assert set(sizes.values()) == {GRASPS_PER_OBJECT}, sizes
    asset = get_object("bottle_000")
    got, served_by = object_grasps(get_source(name), asset, asset.category, 4, np.random.default_rng(0))
    saved = Grasps.load(grasps_dir() / name / "bottle_000.npz")
    assert served_by == name and len(got) == GRASPS_PER_OBJECT
    np.testing.assert_array_equal(got.joints, saved.joints)
    model = {"grasptta": "cvae"}.get(name, name)  # made by the shipped models, as the files say
    assert saved.provenance["source"] == name
    assert saved.provenance["model_sha256"] == sha256_file(baselines_dir() / f"{model}.npz")
    if name != "cvae":
        assert saved.provenance["contactnet_sha256"] == sha256_file(baselines_dir() / "contactnet.npz")
