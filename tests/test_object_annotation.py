"""Annotation files and user-supplied objects: strict validation, clear errors."""

from __future__ import annotations

import json
import shutil

import pytest

from dextog_gym.objects.annotation import AnnotationError, load_annotation
from dextog_gym.objects.catalog import get_object, load_object_dir
from dextog_gym.objects.pybullet_object import ArticulatedObject


@pytest.fixture
def user_object(tmp_path):
    """A copy of a catalogue object in a user folder, as a user with their own URDF would have."""
    src = get_object("stapler_001").folder
    dst = tmp_path / "my_stapler"
    shutil.copytree(src, dst)
    return dst


def _edit(folder, change):
    path = folder / "annotation.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def test_user_supplied_folder_loads_like_a_catalogue_object(user_object, client):
    _edit(user_object, lambda d: d.update(id="my_stapler"))
    asset = load_object_dir(user_object)
    assert asset.id == "my_stapler" and asset.split is None
    obj = ArticulatedObject.load(client, asset)
    obj.set_theta(0.5)
    assert obj.theta() == pytest.approx(0.5)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.pop("task_joint"), "task_joint"),
        (lambda d: d.update(category="toaster"), "category"),
        (lambda d: d.update(mass_kg=float("nan")), "mass_kg"),
        (lambda d: d.update(mass_kg=-1), "mass_kg"),
        (lambda d: d["task_joint"].update(type="spherical"), "task_joint.type"),
        (lambda d: d["task_joint"].update(full_position=0.0), "task_joint.full_position"),
        (lambda d: d["task_joint"]["resistance"].pop("max_force"), "task_joint.resistance.max_force"),
        (lambda d: d["parts"].pop("S_bottom"), "parts.S_bottom"),
        (lambda d: d["parts"]["S_top"].update(points=[[0, 0]]), "parts.S_top.points"),
        (lambda d: d["parts"]["S_top"].update(normal=[0, 0, 2]), "parts.S_top.normal"),
        (lambda d: d.update(functional_part="S_handle"), "functional_part"),
        (lambda d: d.update(urdf="../../etc/passwd.urdf"), "urdf"),
        (lambda d: d["resting_pose"].update(quat_wxyz=[0, 0, 0, 0]), "resting_pose.quat_wxyz"),
        (lambda d: d.update(format="something-else"), "format"),
    ],
)
def test_malformed_annotation_names_file_and_field(user_object, change, field):
    path = _edit(user_object, change)
    with pytest.raises(AnnotationError) as err:
        load_object_dir(user_object)
    assert err.value.field == field
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def test_urdf_without_the_annotated_joint(user_object):
    urdf = user_object / "object.urdf"
    urdf.write_text(urdf.read_text().replace('name="arm_hinge"', 'name="other_joint"'))
    with pytest.raises(AnnotationError, match=r"task_joint.name.*'arm_hinge' not in"):
        load_object_dir(user_object)


def test_part_on_a_link_the_urdf_lacks(user_object):
    _edit(user_object, lambda d: d["parts"]["S_top"].update(link="lever"))
    with pytest.raises(AnnotationError, match=r"parts.S_top.link.*'lever'"):
        load_object_dir(user_object)


@pytest.mark.parametrize("content", ["{not json", "[1, 2, 3]", "", "\xff\xfe"])
def test_corrupt_annotation_file(user_object, content):
    (user_object / "annotation.json").write_bytes(content.encode("latin-1"))
    with pytest.raises(AnnotationError, match="annotation.json"):
        load_object_dir(user_object)


def test_missing_files_are_named(tmp_path, user_object):
    with pytest.raises(AnnotationError, match="annotation file not found"):
        load_annotation(tmp_path / "nothing" / "annotation.json")
    (user_object / "object.urdf").unlink()
    with pytest.raises(AnnotationError, match="object.urdf.*URDF file not found"):
        load_object_dir(user_object)


def test_broken_urdf_xml(user_object):
    (user_object / "object.urdf").write_text("<robot><link name='a'></robot>")
    with pytest.raises(AnnotationError, match="not valid XML"):
        load_object_dir(user_object)
