"""The committed catalogue: 80 objects, their split, sizes and reproducible build."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pytest

from dextog_gym.objects import build as build_mod
from dextog_gym.objects.build import build_all, build_into
from dextog_gym.objects.catalog import get_object, list_objects
from dextog_gym.objects.spec import CATEGORIES, INSTANCES_PER_CATEGORY
from dextog_gym.paths import objects_dir


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_rebuild_reproduces_committed_assets(tmp_path):
    build_into(tmp_path)
    committed = objects_dir()
    assert _files(tmp_path) == _files(committed)
    mismatched = [str(rel) for rel in _files(committed) if not filecmp.cmp(tmp_path / rel, committed / rel, shallow=False)]
    assert mismatched == []


def test_eighty_objects_sixteen_per_category_split_nine_to_one():
    assert len(list_objects()) == 80
    for category in CATEGORIES:
        assert len(list_objects(category)) == INSTANCES_PER_CATEGORY
        assert len(list_objects(category, "unseen")) == 2
        assert len(list_objects(category, "seen")) == 14
    assert not set(list_objects(split="seen")) & set(list_objects(split="unseen"))
    doc = json.loads((objects_dir() / "split.json").read_text())
    assert sorted(doc["seen"] + doc["unseen"]) == list_objects()


# Retail size families of DESIGN.md, in metres: (dimension index or name, low, high).
def _dims(obj_id: str) -> dict[str, float]:
    ann = get_object(obj_id).annotation
    x, y, z = ann.size_m
    params = ann.params
    return {"x": x, "y": y, "z": z, **params}


SIZE_RULES = {
    "stapler": [("length", 0.12, 0.20), ("width", 0.035, 0.05), ("z", 0.05, 0.08), ("travel_rad", 0.17, 0.35)],
    "sprayer_press": [("z", 0.15, 0.25), ("x", 0.05, 0.09), ("button_radius", 0.0075, 0.0125), ("travel_m", 0.007, 0.009)],
    "sprayer_trigger": [("z", 0.22, 0.30), ("trigger_length", 0.03, 0.05), ("travel_rad", 0.17, 0.35)],
    "bottle": [("z", 0.15, 0.25), ("cap_radius", 0.0125, 0.02)],
    "pen": [("length", 0.13, 0.15), ("across_flats", 0.009, 0.013), ("button_radius", 0.002, 0.003), ("travel_m", 0.0025, 0.0035)],
}


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_sizes_within_retail_families_and_varied(category):
    dims = [_dims(o) for o in list_objects(category)]
    for key, low, high in SIZE_RULES[category]:
        values = np.array([d[key] for d in dims])
        assert values.min() >= low - 1e-6 and values.max() <= high + 1e-6, (key, values.min(), values.max())
        # Real variation, not sixteen copies: the family spans a good part of its range.
        assert values.max() - values.min() > 0.25 * (high - low), (key, values)


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_mass_and_resting_pose(category):
    for obj_id in list_objects(category):
        ann = get_object(obj_id).annotation
        assert ann.mass_kg == pytest.approx(CATEGORIES[category].mass_kg)
        assert ann.resting_pose.fixed_base == (category == "bottle")
        # The object frame sits at the bounding-box centre; the box rests on the table.
        assert ann.resting_pose.position[2] == pytest.approx(ann.size_m[2] / 2, abs=1e-6)


def test_unknown_object_id_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown object id 'stapler_999'.*stapler_0"):
        get_object("stapler_999")
    with pytest.raises(ValueError, match="unknown category"):
        list_objects("toaster")


def test_failed_build_leaves_destination_untouched(tmp_path, monkeypatch):
    dest = tmp_path / "objects"
    dest.mkdir()
    (dest / "keep.txt").write_text("previous build")
    calls = {"n": 0}
    real = build_mod.build_object

    def flaky(category, index, out_dir):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("generator crashed")
        real(category, index, out_dir)

    monkeypatch.setattr(build_mod, "build_object", flaky)
    with pytest.raises(RuntimeError, match="generator crashed"):
        build_all(dest, progress=False)
    assert (dest / "keep.txt").read_text() == "previous build"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["objects"]
