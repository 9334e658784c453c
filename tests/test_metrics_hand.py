"""Hand-side metrics: analytic φ_H (vs pybullet), self-collision, joint diversity."""

from __future__ import annotations

import numpy as np
import pybullet as p
import pytest

from dextog_gym.hand.model import JOINT_NAMES, NUM_JOINTS, OPEN_POSE, joint_limits
from dextog_gym.hand.pybullet_hand import ShadowHand
from dextog_gym.hand.surface import sample_hand_surface, surface_to_world
from dextog_gym.hand.urdf import parse_urdf
from dextog_gym.metrics.diversity import joint_diversity
from dextog_gym.metrics.hand_sdf import HandCollisionModel, transforms_from_link_poses
from dextog_gym.metrics.self_collision import SelfCollisionChecker
from dextog_gym.physics import connect, disconnect


@pytest.fixture(scope="module")
def model() -> HandCollisionModel:
    return HandCollisionModel()


def _identity_transforms(model: HandCollisionModel, far: float = 10.0) -> dict[str, np.ndarray]:
    """Every link parked far away, so a single primitive can be probed in isolation."""
    out = {}
    for i, name in enumerate(model.link_names):
        t = np.eye(4)
        t[:3, 3] = (far * (i + 1), 0.0, 0.0)
        out[name] = t
    return out


def _first_geom(kind: str):
    robot = parse_urdf()
    return next((link, g) for link in robot.links for g in robot.collisions.get(link, ()) if g.kind == kind)


# --- analytic φ_H ------------------------------------------------------------------------------
def test_link_names_are_collision_links_in_urdf_order(model: HandCollisionModel) -> None:
    robot = parse_urdf()
    assert model.link_names == [n for n in robot.links if robot.collisions.get(n)]
    assert "palm" in model.link_names and "thdistal" in model.link_names


def test_capsule_midpoint_and_outside_point(model: HandCollisionModel) -> None:
    link, g = _first_geom("capsule")
    tfs = _identity_transforms(model)
    tfs[link] = np.eye(4)
    origin = g.origin
    mid = origin[:3, 3]
    side = origin[:3, 0]  # a direction perpendicular to the capsule axis (its local x)
    beyond_cap = mid + origin[:3, 2] * (g.length / 2 + g.radius + 0.01)  # on the axis, past the cap
    pts = np.array([mid, mid + (g.radius + 0.01) * side, beyond_cap])
    phi = model.signed_distance(pts, tfs)
    np.testing.assert_allclose(phi, [g.radius, -0.01, -0.01], atol=1e-12)


def test_box_centre_is_min_half_extent(model: HandCollisionModel) -> None:
    link, g = _first_geom("box")
    tfs = _identity_transforms(model)
    tfs[link] = np.eye(4)
    centre = g.origin[:3, 3]
    outside = g.origin[:3, 3] + g.origin[:3, 0] * (g.size[0] / 2 + 0.01)
    phi = model.signed_distance(np.array([centre, outside]), tfs)
    assert phi[0] == pytest.approx(min(g.size) / 2, abs=1e-12)
    assert phi[1] == pytest.approx(-0.01, abs=1e-12)


def test_missing_link_is_an_error(model: HandCollisionModel) -> None:
    tfs = _identity_transforms(model)
    del tfs["palm"]
    with pytest.raises(KeyError):
        model.signed_distance(np.zeros((1, 3)), tfs)


@pytest.fixture(scope="module")
def posed_hand():
    """A hand in a seeded random wrist pose and joint vector, plus a 0.1 mm probe sphere."""
    rng = np.random.default_rng(7)
    lower, upper = joint_limits()
    quat = rng.normal(size=4)
    cid = connect(table=False)
    hand = ShadowHand.load(cid, (0.1, -0.2, 0.5), quat / np.linalg.norm(quat), rng.uniform(lower, upper),
                           self_collision=False)  # fmt: skip
    shape = p.createCollisionShape(p.GEOM_SPHERE, radius=1e-4, physicsClientId=cid)
    probe = p.createMultiBody(0.0, shape, basePosition=[0, 0, 5], physicsClientId=cid)
    yield cid, hand, probe, rng
    disconnect(cid)


def _pybullet_distance(cid: int, hand: ShadowHand, probe: int, x: np.ndarray) -> float:
    """Signed distance (negative = inside) from point x to the hand, as Bullet computes it."""
    p.resetBasePositionAndOrientation(probe, x.tolist(), [0, 0, 0, 1], physicsClientId=cid)
    hits = p.getClosestPoints(probe, hand.body, 0.05, physicsClientId=cid)
    return min(h[8] for h in hits) + 1e-4 if hits else np.inf


def test_signed_distance_agrees_with_pybullet(model: HandCollisionModel, posed_hand) -> None:
    cid, hand, probe, rng = posed_hand
    tfs = transforms_from_link_poses(hand.link_poses())
    names, idx, pts, nrm = sample_hand_surface(300, rng)
    surface, normals = surface_to_world(names, idx, pts, nrm, hand.link_poses())
    # Surface samples lie on (or, where primitives overlap, inside) the hand.
    assert np.all(model.signed_distance(surface, tfs) >= -1e-9)
    x = surface + rng.uniform(-0.008, 0.02, size=len(surface))[:, None] * normals
    phi = model.signed_distance(x, tfs)
    # Skip a band around the surface: the probe's radius and Bullet's 1 mm box margin live there.
    outside, inside = phi < -0.002, phi > 0.001
    assert outside.sum() > 50 and inside.sum() > 30
    bullet = np.array([_pybullet_distance(cid, hand, probe, xi) for xi in x[outside | inside]])
    # Bullet rounds box edges and corners by its 1 mm margin (≤ 0.73 mm off there); capsules are exact.
    np.testing.assert_allclose(bullet, -phi[outside | inside], atol=1e-3)


def test_batch_matches_single(model: HandCollisionModel, posed_hand) -> None:
    cid, hand, _, rng = posed_hand
    lower, upper = joint_limits()
    q_before = hand.joint_positions()
    pts, stacks, singles = [], [], []
    for _ in range(3):
        hand.set_joint_positions(rng.uniform(lower, upper))
        tfs = transforms_from_link_poses(hand.link_poses())
        x = hand.wrist_pose()[0] + rng.uniform(-0.12, 0.12, size=(200, 3))
        pts.append(x)
        stacks.append(model.stack_transforms(tfs))
        singles.append(model.signed_distance(x, tfs))
    hand.set_joint_positions(q_before)
    batch = model.signed_distance_batch(np.stack(pts), np.stack(stacks))
    assert batch.shape == (3, 200)
    np.testing.assert_allclose(batch, np.stack(singles), atol=1e-12)
    assert model.penetration(pts[0], transforms_from_link_poses(hand.link_poses())) >= 0.0


# --- self-collision ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checker():
    with SelfCollisionChecker() as c:
        yield c
    assert c.client is None


def test_open_pose_is_free(checker: SelfCollisionChecker) -> None:
    assert checker.contacts(OPEN_POSE) == []
    assert not checker.collides(OPEN_POSE)


def test_crossed_fingers_collide(checker: SelfCollisionChecker) -> None:
    lower, upper = joint_limits()
    q = OPEN_POSE.copy()
    ff, mf = JOINT_NAMES.index("FFJ3"), JOINT_NAMES.index("MFJ3")
    q[ff], q[mf] = lower[ff], upper[mf]  # first and middle finger abducted into each other
    contacts = checker.contacts(q)
    assert checker.collides(q)
    pairs = {(a, b) for a, b, _ in contacts}
    assert ("ffproximal", "mfproximal") in pairs
    assert all(depth > checker.tolerance for _, _, depth in contacts)
    # The check is stateless: back to the open hand, no contacts remain.
    assert checker.contacts(OPEN_POSE) == []


# --- diversity ---------------------------------------------------------------------------------
def test_diversity_known_values() -> None:
    lower, upper = np.zeros(3), np.array([2.0, 1.0, 0.0])  # last joint locked: excluded
    q = np.array([[0.0, 0.0, 0.0], [2.0, 0.5, 0.0], [1.0, 1.0, 0.0]])
    # Normalised: joint 0 -> (0, 1, .5), joint 1 -> (0, .5, 1); both variance 1/6, range 1.
    out = joint_diversity(q, (lower, upper))
    assert out["mean_variance"] == pytest.approx(1 / 6)
    assert out["mean_range"] == pytest.approx(1.0)


def test_diversity_urdf_limits_and_small_sets() -> None:
    lower, upper = joint_limits()
    q = np.stack([lower, upper])
    out = joint_diversity(q)
    assert out["mean_variance"] == pytest.approx(0.25)
    assert out["mean_range"] == pytest.approx(1.0)
    assert joint_diversity(OPEN_POSE[None]) == {"mean_variance": 0.0, "mean_range": 0.0}
    assert joint_diversity(np.zeros((0, NUM_JOINTS))) == {"mean_variance": 0.0, "mean_range": 0.0}
    assert joint_diversity(np.stack([OPEN_POSE, OPEN_POSE]))["mean_range"] == 0.0
