"""``dextog grasps generate --source NAME``: every registered source, third-party plugins, resumable runs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dextog_gym.cli.main import main
from dextog_gym.grasps import Grasps
from dextog_gym.grasps.registry import ENTRY_POINT_GROUP, available_sources
from dextog_gym.hand.model import joint_limits

PLUGIN = '''
import numpy as np
from dextog_gym.grasps import Grasps
from dextog_gym.hand.model import joint_limits


class LineSource:
    """Wrist 10 cm above the object, jittered by the rng: enough to see seeding."""

    name = "line"

    def sample(self, obj, task, n, rng):
        lower, upper = joint_limits()
        positions = np.zeros((n, 3))
        positions[:, 2] = 0.1
        positions[:, 0] = rng.uniform(-0.01, 0.01, size=n)
        return Grasps.from_arrays(obj.id, task, positions, np.tile([1.0, 0, 0, 0], (n, 1)),
                                  np.tile(np.clip(0.0, lower, upper), (n, 1)), provenance={"source": "line"})
'''


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A third-party package on sys.path with an installed-looking distribution declaring our entry point."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "line_plugin.py").write_text(PLUGIN)
    dist = root / "line_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: line-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nline = line_plugin:LineSource\n")
    monkeypatch.syspath_prepend(str(root))
    yield root
    sys.modules.pop("line_plugin", None)


def _saved_file(path) -> str:
    lower, upper = joint_limits()
    n = 5
    Grasps.from_arrays("pen_000", "pen", np.tile([0.0, 0.0, 0.1], (n, 1)) + np.arange(n)[:, None] * 1e-3,
                       np.tile([1.0, 0, 0, 0], (n, 1)), np.tile(np.clip(0.0, lower, upper), (n, 1)),
                       provenance={"source": "mine"}).save(path)
    return str(path)


@pytest.mark.parametrize("name", available_sources())
def test_generate_with_every_registered_source(name, tmp_path, capsys):
    out = tmp_path / "out"
    spec = {"file": None}.get(name, name)
    if name == "file":
        spec = _saved_file(tmp_path / "mine.npz")
    extra = {"isf": ["--target", "8"], "diffutog": ["--grasps-per-object", "2"], "ndpp": ["--grasps-per-object", "2"]}.get(name, ["--grasps-per-object", "4"])
    if name == "rule":  # rule filters the saved isf grasps of the same root
        assert main(["grasps", "generate", "--grasps", "isf", "--objects", "pen_000", "--target", "8",
                     "--out", str(out)]) == 0
        extra = []
    assert main(["grasps", "generate", "--grasps", spec, "--objects", "pen_000", "--out", str(out), *extra]) == 0
    g = Grasps.load(out / name / "pen_000.npz")
    assert g.object_ids == ("pen_000",) and g.tasks == ("pen",)
    if name not in ("rule",):  # the rule may keep none of 8 raw grasps
        assert len(g) > 0
    assert "pen_000" in capsys.readouterr().out


def test_third_party_entry_point_is_seeded_and_resumable(plugin_dir, tmp_path, capsys):
    assert "line" in available_sources()
    args = ["grasps", "generate", "--grasps", "line", "--objects", "pen", "--grasps-per-object", "3", "--seed", "5"]
    assert main([*args, "--out", str(tmp_path / "a"), "--workers", "2"]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    for obj in ("pen_000", "pen_015"):
        a, b = Grasps.load(tmp_path / "a" / "line" / f"{obj}.npz"), Grasps.load(tmp_path / "b" / "line" / f"{obj}.npz")
        np.testing.assert_array_equal(a.positions, b.positions)
    first, last = (Grasps.load(tmp_path / "a" / "line" / f"{obj}.npz") for obj in ("pen_000", "pen_015"))
    assert not np.array_equal(first.positions, last.positions)  # each object has its own stream
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "a")]) == 0  # a rerun keeps what is there
    assert capsys.readouterr().out.count("kept") == 16


def test_module_class_spec_and_clear_errors(plugin_dir, tmp_path, capsys):
    args = ["grasps", "generate", "--grasps", "line_plugin:LineSource", "--objects", "pen_000", "--out", str(tmp_path)]
    assert main(args) == 2  # importing named code needs --allow-import
    assert "--allow-import" in capsys.readouterr().err
    assert main(["--allow-import", *args]) == 0
    assert (tmp_path / "line" / "pen_000.npz").is_file()
    assert main(["grasps", "generate", "--grasps", "line", "--objects", "pen_000"]) == 2
    assert "--out is required" in capsys.readouterr().err
    assert main(["grasps", "generate", "--grasps", "no_such_source", "--objects", "pen_000",
                 "--out", str(tmp_path)]) == 2
    assert "unknown grasp source 'no_such_source'" in capsys.readouterr().err


def test_sources_lists_registered_names(capsys):
    assert main(["grasps", "sources"]) == 0
    out = capsys.readouterr().out
    for name in available_sources():
        assert f"| {name} " in out
