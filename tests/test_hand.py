"""The converted Shadow Hand: reproducible asset, joint table, pybullet behaviour, input checks."""

from __future__ import annotations

import filecmp
import itertools
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from dextog_gym.hand import model
from dextog_gym.hand.urdf import parse_urdf
from dextog_gym.paths import hand_dir, hand_urdf

p = pytest.importorskip("pybullet")


def _mujoco_src() -> Path:
    try:
        from dextog_gym.hand.convert import mujoco_assets_dir

        return mujoco_assets_dir()
    except ImportError:
        pytest.skip("gymnasium_robotics is not installed: cannot re-run the MJCF conversion")


@pytest.fixture
def client():
    cid = p.connect(p.DIRECT)
    p.setGravity(0, 0, -9.81, physicsClientId=cid)
    yield cid
    p.disconnect(cid)


def test_conversion_reproduces_committed_asset(tmp_path):
    from dextog_gym.hand.convert import convert

    src = _mujoco_src()
    out = convert(tmp_path / "shadow_hand", src=src).parent
    committed = hand_dir()
    assert (out / "shadow_hand.urdf").read_bytes() == (committed / "shadow_hand.urdf").read_bytes()
    assert (out / "NOTICE").read_bytes() == (committed / "NOTICE").read_bytes()
    new_meshes = sorted(f.name for f in (out / "meshes").iterdir())
    assert new_meshes == sorted(f.name for f in (committed / "meshes").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(out / "meshes", committed / "meshes", new_meshes, shallow=False)
    assert not mismatch and not errors
    # Re-running into an existing folder replaces it in place, and nothing temporary is left behind.
    convert(out, src=src)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["shadow_hand"]


def test_urdf_joints_match_mjcf_ranges():
    robot = parse_urdf(hand_urdf())
    assert tuple(j.name for j in robot.revolute) == model.JOINT_NAMES
    assert len(robot.joints) == model.NUM_JOINTS  # no other joints
    src = _mujoco_src()
    ranges = {
        j.get("name").removeprefix("robot0:"): [float(v) for v in j.get("range").split()]
        for j in ET.parse(src / "hand" / "robot.xml").getroot().iter("joint")
    }
    lower, upper = model.joint_limits()
    for name, lo, hi in zip(model.JOINT_NAMES, lower, upper):
        assert (lo, hi) == tuple(ranges[name]), name
    assert np.all((model.OPEN_POSE >= lower) & (model.OPEN_POSE <= upper))


def test_loads_with_joint_order_and_holds_pose(client):
    from dextog_gym.hand.pybullet_hand import ShadowHand

    hand = ShadowHand.load(client, wrist_pos=(0.1, -0.2, 0.4), wrist_quat_wxyz=(0.9, 0.1, 0.3, 0.2))
    names = [p.getJointInfo(hand.body, int(i), physicsClientId=client)[1].decode() for i in hand.joint_index]
    assert tuple(names) == model.JOINT_NAMES
    assert list(hand.joint_index) == list(range(model.NUM_JOINTS))
    for _ in range(240):
        p.stepSimulation(physicsClientId=client)
    pos, quat = hand.wrist_pose()
    assert np.allclose(pos, (0.1, -0.2, 0.4), atol=2e-3)  # the wrist does not sag under gravity
    assert abs(abs(quat @ (np.array([0.9, 0.1, 0.3, 0.2]) / np.linalg.norm([0.9, 0.1, 0.3, 0.2]))) - 1) < 1e-4
    assert np.abs(hand.joint_positions() - model.OPEN_POSE).max() < 0.01


def test_drive_wrist_moves_hand(client):
    from dextog_gym.hand.pybullet_hand import ShadowHand

    hand = ShadowHand.load(client)
    hand.drive_wrist((0.05, 0.0, 0.35), (1, 0, 0, 0))
    for _ in range(240):
        p.stepSimulation(physicsClientId=client)
    assert np.allclose(hand.wrist_pose()[0], (0.05, 0.0, 0.35), atol=2e-3)


@pytest.mark.parametrize("which", ["lower", "upper"])
def test_every_joint_reaches_its_limits(client, which):
    """Motor strength and limits, not collisions: self-collision off so fingers may pass the palm."""
    from dextog_gym.hand.pybullet_hand import ShadowHand

    hand = ShadowHand.load(client, self_collision=False)
    target = model.joint_limits()[0 if which == "lower" else 1]
    hand.set_joint_targets(target)
    for _ in range(360):
        p.stepSimulation(physicsClientId=client)
    err = np.abs(hand.joint_positions() - target)
    bad = {n: round(float(e), 4) for n, e in zip(model.JOINT_NAMES, err) if e > 0.02}
    assert not bad, f"joints short of their {which} limit: {bad}"


def test_no_self_collision_in_open_pose(client):
    from dextog_gym.hand.pybullet_hand import ShadowHand, collision_adjacent_pairs

    hand = ShadowHand.load(client)
    for _ in range(10):
        p.stepSimulation(physicsClientId=client)
    assert p.getContactPoints(hand.body, hand.body, physicsClientId=client) == ()
    skip = {frozenset(pair) for pair in collision_adjacent_pairs()}
    robot = parse_urdf()
    with_geometry = [n for n in robot.links if robot.collisions.get(n)]
    touching = []
    for a, b in itertools.combinations(with_geometry, 2):
        if frozenset((a, b)) in skip:
            continue
        ia, ib = hand.link_index[a], hand.link_index[b]
        pts = p.getClosestPoints(hand.body, hand.body, 0.0, ia, ib, physicsClientId=client)
        if pts:
            touching.append((a, b, min(x[8] for x in pts)))
    assert not touching


def test_bad_joint_input_names_the_joint(client):
    from dextog_gym.hand.pybullet_hand import ShadowHand

    hand = ShadowHand.load(client)
    q = np.array(model.OPEN_POSE)
    with pytest.raises(ValueError, match="24"):
        hand.set_joint_targets(q[:23])
    nan = q.copy()
    nan[model.JOINT_NAMES.index("MFJ1")] = np.nan
    with pytest.raises(ValueError, match="MFJ1"):
        hand.set_joint_positions(nan)
    out = q.copy()
    out[model.JOINT_NAMES.index("THJ0")] = 0.5  # THJ0 range is [-1.571, 0]
    with pytest.raises(ValueError, match="THJ0"):
        hand.set_joint_targets(out)
    with pytest.raises(ValueError):
        hand.set_wrist_pose((0, 0), (1, 0, 0, 0))
    with pytest.raises(ValueError):
        hand.drive_wrist((0, 0, 0), (0, 0, 0, 0))


def test_import_does_not_load_torch():
    code = "import sys, dextog_gym, dextog_gym.hand, dextog_gym.hand.model; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_render_hand_png(tmp_path):
    from PIL import Image

    from dextog_gym.hand.show import render_hand_png

    path = render_hand_png(tmp_path / "hand.png")
    image = np.asarray(Image.open(path))
    # The hand covers a good part of the picture (background is uniform).
    background = image[0, 0]
    covered = np.any(np.abs(image.astype(int) - background) > 10, axis=-1).mean()
    assert 0.15 < covered < 0.9
