"""Hidden objects built from a secret seed: reproducible, seed-sensitive, never public, physically sane."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import trimesh
from test_objects_catalog import SIZE_RULES  # the retail families the public catalogue is held to

from dextog_gym.cli.main import main
from dextog_gym.objects.build import objects_tree_digest
from dextog_gym.objects.catalog import _category_of, clear_catalog_cache, get_object, list_objects, load_object_dir
from dextog_gym.objects.hidden import HiddenSet, build_hidden, hidden_object_id
from dextog_gym.objects.spec import CATEGORIES
from dextog_gym.objects.validate import link_meshes, mesh_report, physics_report
from dextog_gym.paths import ASSETS_ENV, objects_dir

SEED = "test-hidden-seed-3b1f9e"  # distinctive, so a leak into any file is found by a byte search


@pytest.fixture(scope="module")
def hidden(tmp_path_factory) -> HiddenSet:
    return build_hidden(tmp_path_factory.mktemp("hidden") / "objects", SEED, per_category=1, progress=False)


def test_same_seed_gives_the_same_tree(hidden, tmp_path):
    again = build_hidden(tmp_path / "objects", SEED, per_category=1, progress=False)
    assert again.digest == hidden.digest == objects_tree_digest(hidden.root)
    assert again.ids == hidden.ids


def test_another_seed_changes_every_object(hidden, tmp_path):
    other = build_hidden(tmp_path / "objects", SEED + "!", per_category=1, progress=False)
    assert other.digest != hidden.digest and other.ids == hidden.ids
    for obj_id in hidden.ids:
        a = load_object_dir(hidden.root / _category_of(obj_id) / obj_id).annotation
        b = load_object_dir(other.root / _category_of(obj_id) / obj_id).annotation
        assert not np.allclose(a.size_m, b.size_m), obj_id


def test_ids_are_new_and_keep_the_category_form(hidden):
    assert hidden.ids == tuple(hidden_object_id(c, 0) for c in CATEGORIES)
    for obj_id in hidden.ids:
        assert re.fullmatch(r"[a-z_]+_h\d{3}", obj_id)
        assert _category_of(obj_id) in CATEGORIES
    assert not set(hidden.ids) & set(list_objects())  # the public catalogue (no DEXTOG_ASSETS override)


def test_split_records_the_seed_hash_never_the_seed(hidden):
    doc = json.loads((hidden.root / "split.json").read_text())
    assert doc == {"hidden": True, "seed_sha256": hashlib.sha256(SEED.encode()).hexdigest(), "per_category": 1,
                   "seen": [], "unseen": list(hidden.ids)}
    leaks = [p for p in hidden.root.rglob("*") if p.is_file() and SEED.encode() in p.read_bytes()]
    assert leaks == []


def test_bad_seeds_and_sizes_are_refused(tmp_path):
    for seed in ("", None):
        with pytest.raises(ValueError, match="non-empty seed"):
            build_hidden(tmp_path / "objects", seed, per_category=1, progress=False)
    with pytest.raises(ValueError, match="per_category"):
        build_hidden(tmp_path / "objects", SEED, per_category=0, progress=False)
    assert not (tmp_path / "objects").exists()


def test_cli_refuses_seed_without_out_and_shipped_tree(capsys, monkeypatch):
    monkeypatch.delenv(ASSETS_ENV, raising=False)
    before = (objects_dir() / "split.json").read_bytes()
    assert main(["assets", "build", "--seed", SEED]) == 2
    assert "--seed needs --out" in capsys.readouterr().err
    assert main(["assets", "build", "--seed", "", "--out", "/nonexistent/x"]) == 2
    assert main(["assets", "build", "--seed", SEED, "--out", str(objects_dir().parent)]) == 2
    assert main(["assets", "build", "--per-category", "2"]) == 2
    assert (objects_dir() / "split.json").read_bytes() == before


def test_cli_builds_a_complete_hidden_tree(hidden, tmp_path, capsys):
    assert main(["assets", "build", "--seed", SEED, "--per-category", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "hands" / "shadow_hand" / "shadow_hand.urdf").is_file()
    assert objects_tree_digest(tmp_path / "objects") == hidden.digest
    assert hidden.digest in out and SEED not in out


def test_validate_cli_passes_on_a_hidden_tree(tmp_path, capsys, monkeypatch):
    """``dextog assets validate`` (every object, then the hand report) on a tree built by the CLI."""
    assert main(["assets", "build", "--seed", SEED, "--per-category", "1", "--out", str(tmp_path)]) == 0
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    assert main(["assets", "validate"]) == 0
    out = capsys.readouterr().out
    assert f"{len(CATEGORIES)}/{len(CATEGORIES)} objects pass" in out and "stapler_h000" in out


def test_catalogue_reads_a_hidden_tree_through_the_env_var(hidden, monkeypatch):
    public = list_objects()
    monkeypatch.setenv(ASSETS_ENV, str(hidden.root.parent))
    clear_catalog_cache()
    assert list_objects() == sorted(hidden.ids) == list_objects(split="unseen")
    assert list_objects(split="seen") == []
    assert list_objects("pen") == ["pen_h000"]
    asset = get_object("stapler_h000")
    assert asset.folder.is_relative_to(hidden.root) and asset.split == "unseen" and asset.category == "stapler"
    with pytest.raises(ValueError, match="unknown object id"):
        get_object("stapler_000")
    # Switching back needs no cache clearing: the caches are keyed on the tree they read.
    monkeypatch.delenv(ASSETS_ENV)
    assert list_objects() == public
    assert get_object("stapler_000").folder.is_relative_to(objects_dir())


def _check_sane(asset) -> None:
    """The public catalogue's bars (tests/test_objects_physics.py, test_objects_catalog.py) on one object."""
    report = physics_report(asset, rest_seconds=2.0)
    assert report.rest_drift_m < 0.0005, (asset.id, report)
    assert report.theta_pushed > 0.97, (asset.id, report)
    if asset.annotation.task_joint.resistance == "spring":
        assert report.theta_released < 0.05, (asset.id, report)
    else:
        assert report.theta_released > 0.95, (asset.id, report)
    for link, (watertight, sdf_in, sdf_out) in mesh_report(asset).items():
        assert watertight and sdf_in > 0 > sdf_out, (asset.id, link)
    meshes = link_meshes(asset)
    for name, part in asset.annotation.parts.items():
        sdf = trimesh.proximity.signed_distance(meshes[part.link], part.points)
        assert (np.all(sdf > 0) if part.normal is None else np.max(np.abs(sdf)) < 1e-3), (asset.id, name)
    ann = asset.annotation
    assert ann.mass_kg == pytest.approx(CATEGORIES[asset.category].mass_kg)
    dims = dict(zip("xyz", ann.size_m), **ann.params)
    for key, low, high in SIZE_RULES[asset.category]:
        assert low - 1e-6 <= dims[key] <= high + 1e-6, (asset.id, key, dims[key])


def test_every_hidden_object_loads_and_is_physically_sane(hidden):
    for obj_id in hidden.ids:
        _check_sane(load_object_dir(hidden.root / _category_of(obj_id) / obj_id, split="unseen"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["practice", "a", "b"])
def test_full_hidden_sets_are_sane(seed, tmp_path):
    built = build_hidden(tmp_path / "objects", seed, progress=False)
    assert len(built.ids) == 16 * len(CATEGORIES)
    assert build_hidden(tmp_path / "again", seed, progress=False).digest == built.digest
    for obj_id in built.ids:
        _check_sane(load_object_dir(Path(built.root) / _category_of(obj_id) / obj_id, split="unseen"))
