"""Torch FK against pybullet, fingertip pad conventions, and the hand surface sampler."""

from __future__ import annotations

import numpy as np
import pytest

from dextog_gym.hand import model
from dextog_gym.hand.transforms import quat_wxyz_to_matrix
from dextog_gym.hand.urdf import parse_urdf

torch = pytest.importorskip("torch")
p = pytest.importorskip("pybullet")

# A thumb–index pinch (found by a search over FK): the two pads face each other ~3.5 cm apart.
PINCH = {"FFJ2": 0.55, "FFJ1": 0.68, "FFJ0": 0.48, "THJ4": 0.91, "THJ3": 0.89, "THJ2": 0.06, "THJ1": 0.49, "THJ0": -0.01}


def _pose(values: dict[str, float]) -> np.ndarray:
    q = np.array(model.OPEN_POSE)
    for name, v in values.items():
        q[model.JOINT_NAMES.index(name)] = v
    return q


@pytest.fixture(scope="module")
def fk():
    from dextog_gym.hand.fk_torch import TorchHandFK

    return TorchHandFK()


@pytest.fixture(scope="module")
def hand():
    from dextog_gym.hand.pybullet_hand import ShadowHand

    cid = p.connect(p.DIRECT)
    yield ShadowHand.load(cid, self_collision=False)
    p.disconnect(cid)


def _random_batch(rng: np.random.Generator, n: int):
    lower, upper = model.joint_limits()
    pos = rng.uniform(-1, 1, (n, 3))
    quat = rng.normal(size=(n, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    return pos, quat, rng.uniform(lower, upper, (n, model.NUM_JOINTS))


def test_torch_fk_matches_pybullet(fk, hand):
    pos, quat, q = _random_batch(np.random.default_rng(0), 100)
    out = fk.forward(torch.as_tensor(pos), torch.as_tensor(quat), torch.as_tensor(q))
    assert set(out) == set(hand.link_index)
    pos_err = rot_err = 0.0
    pad_err = 0.0
    pts, nrm = fk.fingertip_pads(pos, quat, q)
    for b in range(len(q)):
        hand.set_wrist_pose(pos[b], quat[b])
        hand.set_joint_positions(q[b])
        for name, (lp, lq) in hand.link_poses().items():
            t = out[name][b].numpy()
            pos_err = max(pos_err, np.abs(t[:3, 3] - lp).max())
            rot_err = max(rot_err, np.abs(t[:3, :3] - quat_wxyz_to_matrix(lq)).max())
        for i, (pp, pn) in enumerate(hand.fingertip_pads()[f] for f in model.FINGERS):
            pad_err = max(pad_err, np.abs(pts[b, i].numpy() - pp).max(), np.abs(nrm[b, i].numpy() - pn).max())
    print(f"torch FK vs pybullet: max position error {pos_err:.3g} m, rotation {rot_err:.3g}")
    assert pos_err < 1e-5 and rot_err < 1e-5 and pad_err < 1e-5


def test_torch_fk_is_differentiable_and_checks_shapes(fk):
    pos, quat, q = _random_batch(np.random.default_rng(1), 4)
    q_t = torch.tensor(q, requires_grad=True)
    pts, _ = fk.fingertip_pads(torch.as_tensor(pos), torch.as_tensor(quat), q_t)
    pts.sum().backward()
    assert q_t.grad is not None and torch.isfinite(q_t.grad).all() and q_t.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="24"):
        fk.forward(pos, quat, q[:, :23])


def test_pads_lie_on_distal_capsules():
    robot = parse_urdf()
    for f in model.FINGERS:
        (capsule,) = robot.collisions[model.DISTAL_LINK[f]]
        local = np.linalg.inv(capsule.origin) @ np.append(model.PAD_POINTS[f], 1.0)
        z = np.clip(local[2], -capsule.length / 2, capsule.length / 2)
        dist = np.linalg.norm(local[:3] - np.array([0, 0, z])) - capsule.radius
        assert abs(dist) < 1e-3, f
        assert np.isclose(np.linalg.norm(model.PAD_NORMALS[f]), 1.0)


def test_closing_a_finger_moves_its_tip_along_its_pad_normal(fk):
    """The pad is on the side a finger closes toward (the palmar side)."""
    flex = {"th": "THJ0", "ff": "FFJ0", "mf": "MFJ0", "rf": "RFJ0", "lf": "LFJ0"}
    lower, upper = model.joint_limits()
    base = np.array(model.OPEN_POSE)
    wrist = (torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]))
    p0, n0 = fk.fingertip_pads(*wrist, torch.as_tensor(base[None]))
    for i, f in enumerate(model.FINGERS):
        j = model.JOINT_NAMES.index(flex[f])
        closed = base.copy()
        closed[j] = lower[j] if f == "th" else upper[j] * 0.3  # the thumb's IP flexes negative
        p1, _ = fk.fingertip_pads(*wrist, torch.as_tensor(closed[None]))
        assert float((p1[0, i] - p0[0, i]) @ n0[0, i]) > 0.002, f
    # Finger pads face the palm side at the open pose.
    palm_normal = fk.forward(*wrist, torch.as_tensor(base[None]))["palm"][0, :3, :3] @ torch.as_tensor(model.PALM_NORMAL)
    for i, f in enumerate(model.FINGERS[1:], start=1):
        assert float(n0[0, i] @ palm_normal) > 0.9, f


def test_pinch_pads_face_each_other(fk):
    q = torch.as_tensor(_pose(PINCH)[None])
    pts, nrm = fk.fingertip_pads(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]), q)
    th, ff = model.FINGERS.index("th"), model.FINGERS.index("ff")
    u = pts[0, ff] - pts[0, th]
    u = u / u.norm()
    assert float(nrm[0, ff] @ nrm[0, th]) < -0.5  # roughly opposed
    assert float(nrm[0, th] @ u) > 0.7 and float(nrm[0, ff] @ -u) > 0.7


def _distance_to_geom(g, pts_link: np.ndarray) -> np.ndarray:
    local = (np.linalg.inv(g.origin) @ np.c_[pts_link, np.ones(len(pts_link))].T).T[:, :3]
    if g.kind == "capsule":
        z = np.clip(local[:, 2], -g.length / 2, g.length / 2)
        return np.abs(np.linalg.norm(local - np.c_[np.zeros((len(z), 2)), z], axis=1) - g.radius)
    half = np.asarray(g.size) / 2
    inside = np.all(np.abs(local) <= half + 1e-12, axis=1)
    outside = np.linalg.norm(np.maximum(np.abs(local) - half, 0), axis=1)
    return np.where(inside, np.min(half - np.abs(local), axis=1), outside)


def test_surface_samples_lie_on_collision_geometry():
    from dextog_gym.hand.surface import sample_hand_surface

    names, idx, pts, nrm = sample_hand_surface(3000, np.random.default_rng(0))
    assert pts.shape == nrm.shape == (3000, 3) and idx.shape == (3000,)
    assert np.allclose(np.linalg.norm(nrm, axis=1), 1.0)
    robot = parse_urdf()
    for li, name in enumerate(names):
        sel = idx == li
        assert sel.any(), name
        d = np.min([_distance_to_geom(g, pts[sel]) for g in robot.collisions[name]], axis=0)
        assert d.max() < 1e-9, name
    again = sample_hand_surface(3000, np.random.default_rng(0))
    assert again[0] == names and all(np.array_equal(a, b) for a, b in zip(again[1:], (idx, pts, nrm)))
    assert not np.array_equal(sample_hand_surface(3000, np.random.default_rng(1))[2], pts)


def test_surface_to_world_numpy_and_torch_agree(fk, hand):
    from dextog_gym.hand.surface import sample_hand_surface, surface_to_world, surface_to_world_torch

    names, idx, pts, nrm = sample_hand_surface(500, np.random.default_rng(2))
    pos, quat, q = _random_batch(np.random.default_rng(3), 2)
    tw_p, tw_n = surface_to_world_torch(names, idx, pts, nrm, fk.forward(pos, quat, q))
    for b in range(2):
        hand.set_wrist_pose(pos[b], quat[b])
        hand.set_joint_positions(q[b])
        wp, wn = surface_to_world(names, idx, pts, nrm, hand.link_poses())
        assert np.abs(tw_p[b].numpy() - wp).max() < 1e-5
        assert np.abs(tw_n[b].numpy() - wn).max() < 1e-5
