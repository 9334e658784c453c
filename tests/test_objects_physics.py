"""Every object, in pybullet: rests, its task joint travels and returns, meshes are sound."""

from __future__ import annotations

import numpy as np
import pybullet as p
import pytest
import trimesh

from dextog_gym.objects.catalog import get_object, list_objects
from dextog_gym.objects.pybullet_object import ArticulatedObject
from dextog_gym.objects.validate import link_meshes, mesh_report, physics_report

ALL = list_objects()


@pytest.mark.parametrize("obj_id", ALL)
def test_rests_travels_and_returns(obj_id):
    asset = get_object(obj_id)
    report = physics_report(asset, rest_seconds=2.0)
    assert report.rest_drift_m < 0.01  # the bar: < 1 cm over 2 s
    # Eroded collision hulls: the object rests where its mesh says, not on Bullet's margin.
    assert report.rest_drift_m < 0.0005
    if asset.annotation.resting_pose.fixed_base:
        assert report.rest_drift_m == 0.0
    assert report.theta_pushed > 0.97
    if asset.annotation.task_joint.resistance == "spring":
        assert report.theta_released < 0.05, "spring did not bring the joint back"
    else:  # thread friction: a cap stays where it was turned
        assert report.theta_released > 0.95


@pytest.mark.parametrize("obj_id", ALL)
def test_meshes_watertight_with_signed_distance(obj_id):
    for link, (watertight, sdf_inside, sdf_outside) in mesh_report(get_object(obj_id)).items():
        assert watertight, link
        assert sdf_inside > 0 > sdf_outside, link


@pytest.mark.parametrize("obj_id", ALL)
def test_part_surfaces_lie_on_the_mesh_with_outward_normals(obj_id):
    asset = get_object(obj_id)
    meshes = link_meshes(asset)
    for name, part in asset.annotation.parts.items():
        mesh = meshes[part.link]
        sdf = trimesh.proximity.signed_distance(mesh, part.points)
        if part.normal is None:  # a centre point (cap): inside the part
            assert np.all(sdf > 0), name
            continue
        assert np.max(np.abs(sdf)) < 1e-3, (name, np.abs(sdf).max())
        # Stepping along the annotated normal leaves the object: it points outward.
        outside = trimesh.proximity.signed_distance(mesh, part.points + 0.002 * part.normal)
        assert np.all(outside < 0), name


def test_theta_follows_the_joint_and_functional_point_moves(client):
    obj = ArticulatedObject.load(client, get_object("sprayer_press_000"))
    before = obj.functional_point_world()
    obj.set_theta(1.0)
    assert obj.theta() == pytest.approx(1.0)
    after = obj.functional_point_world()
    travel = obj.task_joint.full_position - obj.task_joint.zero_position
    # Pressing moves the button top straight down by the travel.
    assert after[2] - before[2] == pytest.approx(-travel, abs=1e-6)


def test_random_yaw_placement_keeps_resting_height(client):
    asset = get_object("stapler_003")
    obj = ArticulatedObject.load(client, asset, xy=(0.1, -0.2), yaw=1.0)
    pos, orn = obj.base_pose()
    assert pos[:2] == pytest.approx([0.1, -0.2])
    assert pos[2] == pytest.approx(asset.annotation.resting_pose.position[2])
    assert p.getEulerFromQuaternion(orn.tolist())[2] == pytest.approx(1.0)
