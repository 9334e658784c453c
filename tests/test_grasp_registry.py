"""The grasp-source registry: files, "module:Class" strings and real entry-point plugins."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from dextog_gym.grasps import GraspFileError, Grasps
from dextog_gym.grasps.file_source import FileSource
from dextog_gym.grasps.registry import (
    ENTRY_POINT_GROUP,
    GraspSource,
    GraspSourceError,
    available_sources,
    get_source,
)
from dextog_gym.hand.model import joint_limits
from dextog_gym.objects.catalog import get_object

SOURCE_CODE = '''
import numpy as np
from dextog_gym.grasps import Grasps
from dextog_gym.hand.model import joint_limits


class {cls}:
    """A deterministic toy source: positions on a line above the object, open hand."""

    name = "{name}"

    def __init__(self, height=0.1):
        self.height = height

    def sample(self, obj, task, n, rng):
        lower, upper = joint_limits()
        positions = np.zeros((n, 3))
        positions[:, 2] = self.height
        positions[:, 0] = rng.uniform(-0.01, 0.01, size=n)
        return Grasps.from_arrays(obj.id, task, positions, np.tile([1.0, 0, 0, 0], (n, 1)),
                                  np.tile(np.clip(0.0, lower, upper), (n, 1)),
                                  provenance={{"source": self.name, "version": "0.1", "seed": None}})


NOT_A_SOURCE = 42
'''


@pytest.fixture
def stapler():
    return get_object("stapler_000")


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """tmp_path on sys.path; modules imported from it are forgotten afterwards. "module:Class" specs are
    allowed here ($DEXTOG_ALLOW_IMPORT=1): these tests are about loading them."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DEXTOG_ALLOW_IMPORT", "1")
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if getattr(sys.modules[name], "__file__", "") and str(tmp_path) in sys.modules[name].__file__:
            del sys.modules[name]


def saved_grasps(path, n: int = 10, obj: str = "stapler_000", task: str = "stapler") -> Grasps:
    lower, upper = joint_limits()
    rng = np.random.default_rng(3)
    g = Grasps.from_arrays(obj, task, rng.normal(scale=0.05, size=(n, 3)), np.tile([1.0, 0, 0, 0], (n, 1)),
                           np.tile(np.clip(0.0, lower, upper), (n, 1)), extras={"id": np.arange(n)},
                           provenance={"source": "isf", "version": "1", "seed": 3})
    g.save(path)
    return g


def test_file_source_samples_deterministically(tmp_path, stapler):
    other = saved_grasps(tmp_path / "other.npz", 4, "pen_001", "pen")
    g = Grasps.concat([saved_grasps(tmp_path / "a.npz", 10), other])
    g.save(tmp_path / "both.npz")
    source = get_source(tmp_path / "both.npz")
    assert isinstance(source, FileSource) and isinstance(source, GraspSource) and source.name == "file"
    assert source.object_ids() == ["stapler_000", "pen_001"] and len(source.grasps) == 14
    a = source.sample(stapler, "stapler", 6, np.random.default_rng(7))
    b = get_source(str(tmp_path / "both.npz")).sample(stapler, "stapler", 6, np.random.default_rng(7))
    assert a.object_ids == ("stapler_000",) and len(a) == 6
    np.testing.assert_array_equal(a.extras["id"], b.extras["id"])
    assert len(set(a.extras["id"].tolist())) == 6  # without replacement
    assert a.provenance["source"] == "isf" and a.provenance["file"] == "both.npz"
    assert len(a.provenance["file_sha256"]) == 64
    many = source.sample(stapler, "stapler", 25, np.random.default_rng(1))
    assert len(many) == 25 and set(many.extras["id"].tolist()) == set(range(10))  # all, then repeats
    assert len(source.sample(stapler, "stapler", 0, np.random.default_rng(1))) == 0


def test_file_source_errors(tmp_path, stapler):
    saved_grasps(tmp_path / "pen.npz", 3, "pen_001", "pen")
    source = get_source(tmp_path / "pen.npz")
    with pytest.raises(ValueError, match="no grasps for object 'stapler_000'; the file has: pen_001"):
        source.sample(stapler, "stapler", 2, np.random.default_rng(0))
    saved_grasps(tmp_path / "st.npz", 3)
    with pytest.raises(ValueError, match="for task 'stapler', not 'pen'"):
        get_source(tmp_path / "st.npz").sample(stapler, "pen", 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-negative"):
        get_source(tmp_path / "st.npz").sample(stapler, "stapler", -1, np.random.default_rng(0))
    with pytest.raises(GraspFileError, match="not found"):
        get_source(tmp_path / "missing.npz")
    with pytest.raises(GraspSourceError, match="no options"):
        get_source(tmp_path / "st.npz", height=1)


def test_unknown_name_lists_what_exists():
    names = available_sources()
    assert {"file", "isf", "rule"} <= set(names) and names == sorted(names)
    with pytest.raises(GraspSourceError) as info:
        get_source("no_such_source")
    message = str(info.value)
    assert ", ".join(names) in message and "module:ClassName" in message and ".npz" in message


def test_module_class_strings(plugin_dir, stapler):
    (plugin_dir / "toy_source_mod.py").write_text(SOURCE_CODE.format(cls="ToySource", name="toy"))
    source = get_source("toy_source_mod:ToySource", height=0.2)
    g = source.sample(stapler, "stapler", 4, np.random.default_rng(0))
    assert isinstance(g, Grasps) and len(g) == 4 and np.all(g.positions[:, 2] == 0.2)
    with pytest.raises(GraspSourceError, match="no module named 'toy_missing_mod'"):
        get_source("toy_missing_mod:ToySource")
    with pytest.raises(GraspSourceError, match="has no attribute 'Nope'.*ToySource"):
        get_source("toy_source_mod:Nope")
    with pytest.raises(GraspSourceError, match="has no sample"):
        get_source("toy_source_mod:NOT_A_SOURCE")
    with pytest.raises(GraspSourceError, match="failed: TypeError"):
        get_source("toy_source_mod:ToySource", colour="red")


def test_module_whose_import_fails(plugin_dir):
    (plugin_dir / "toy_broken_mod.py").write_text("import toy_dependency_that_is_absent\n")
    with pytest.raises(GraspSourceError, match="importing 'toy_broken_mod' failed"):
        get_source("toy_broken_mod:Anything")


def _fake_distribution(root, name: str, entry_points: str) -> None:
    dist = root / f"{name}-0.1.dist-info"
    dist.mkdir()
    pretty = name.replace("_", "-")
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {pretty}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n")


def test_entry_point_plugin_from_a_fake_distribution(plugin_dir, stapler):
    assert "tiny" not in available_sources()
    (plugin_dir / "tiny_source.py").write_text(SOURCE_CODE.format(cls="TinySource", name="tiny"))
    _fake_distribution(plugin_dir, "tiny_plugin", "tiny = tiny_source:TinySource")
    assert "tiny" in available_sources()
    source = get_source("tiny")
    assert source.name == "tiny"
    a = source.sample(stapler, "stapler", 5, np.random.default_rng(11))
    b = get_source("tiny", height=0.1).sample(stapler, "stapler", 5, np.random.default_rng(11))
    assert isinstance(a, Grasps) and len(a) == 5 and a.object_ids == ("stapler_000",)
    np.testing.assert_array_equal(a.positions, b.positions)


def test_entry_point_that_cannot_import_gives_a_clear_error(plugin_dir):
    _fake_distribution(plugin_dir, "broken_plugin", "broken = toy_module_not_there:Source")
    assert "broken" in available_sources()
    with pytest.raises(GraspSourceError, match=r"'broken' \(entry point 'toy_module_not_there:Source'\) "
                                               r"could not be loaded: ModuleNotFoundError"):
        get_source("broken")


@pytest.mark.parametrize("spec", ["os:abort", "toy_source_mod:ToySource", "subprocess:Popen"])
def test_module_class_specs_are_refused_unless_asked_for(spec, monkeypatch):
    """A name is not a licence to run code: nothing is imported, the process lives on."""
    monkeypatch.delenv("DEXTOG_ALLOW_IMPORT", raising=False)
    with pytest.raises(GraspSourceError, match="only done when asked for explicitly"):
        get_source(spec)
    assert "toy_source_mod" not in sys.modules


def test_env_refuses_an_importing_grasp_source_unless_allowed(monkeypatch):
    import dextog_gym

    monkeypatch.delenv("DEXTOG_ALLOW_IMPORT", raising=False)
    with pytest.raises(GraspSourceError, match="asked for explicitly"):
        dextog_gym.make("DexTOG/Stapler-v1", grasp_source="os:abort")


def test_cli_grasps_os_abort_is_refused_and_the_process_survives(tmp_path):
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "DEXTOG_ALLOW_IMPORT"}
    proc = subprocess.run([sys.executable, "-m", "dextog_gym.cli.main", "evaluate", "--verifier", "stapler_rule_residual",
                           "--grasps", "os:abort", "--objects", "stapler_000", "--workers", "1", "--no-progress"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr  # os.abort would have been rc -6 / 134
    assert "names Python code to import" in proc.stderr


BAD_SOURCES = '''
import numpy as np
from dextog_gym.grasps import Grasps
from dextog_gym.hand.model import joint_limits


def _grasps(object_id, task, n):
    lower, upper = joint_limits()
    return Grasps.from_arrays(object_id, task, np.tile([0, 0, 0.1], (n, 1)), np.tile([1.0, 0, 0, 0], (n, 1)),
                              np.tile(np.clip(0.0, lower, upper), (n, 1)), provenance={"source": "bad"})


class ArraySource:
    name = "arrays"

    def sample(self, obj, task, n, rng):
        return np.zeros((n, 31))


class OtherObjectSource:
    name = "other_object"

    def sample(self, obj, task, n, rng):
        return _grasps("stapler_001", task, n)


class OtherTaskSource:
    name = "other_task"

    def sample(self, obj, task, n, rng):
        return _grasps(obj.id, "pen", n)


class TooManySource:
    name = "too_many"

    def sample(self, obj, task, n, rng):
        return _grasps(obj.id, task, n + 1)
'''


@pytest.mark.parametrize("cls, message", [("ArraySource", "returned ndarray for stapler_000"),
                                          ("OtherObjectSource", "asked for stapler_000 and returned grasps of stapler_001"),
                                          ("OtherTaskSource", "returned grasps for pen"),
                                          ("TooManySource", "asked for 3 grasps of stapler_000 and returned 4")])
def test_a_plugin_returning_the_wrong_thing_is_a_clear_error(plugin_dir, stapler, tmp_path, capsys, cls, message):
    """Checked where every caller gets grasps (object_grasps) and in ``dextog grasps generate``, which must not
    write another object's grasps under the asked name."""
    from dextog_gym.cli.main import main
    from dextog_gym.grasps.registry import SourceOutputError, object_grasps

    (plugin_dir / "bad_sources_mod.py").write_text(BAD_SOURCES)
    with pytest.raises(SourceOutputError, match=message):
        object_grasps(get_source(f"bad_sources_mod:{cls}"), stapler, "stapler", 3, np.random.default_rng(0))
    out = tmp_path / "out"
    code = main(["--allow-import", "grasps", "generate", "--grasps", f"bad_sources_mod:{cls}", "--objects",
                 "stapler_000", "--grasps-per-object", "3", "--out", str(out)])
    assert code == 1 and message in capsys.readouterr().out
    assert not list(out.rglob("*.npz"))


def test_a_folder_of_per_object_files_is_a_source(tmp_path, stapler):
    """What ``dextog grasps generate`` writes (one file per object) is usable as it is: ``--grasps FOLDER``."""
    (tmp_path / "sets").mkdir()
    saved_grasps(tmp_path / "sets" / "stapler_000.npz", n=4)
    saved_grasps(tmp_path / "sets" / "stapler_001.npz", n=3, obj="stapler_001")
    source = get_source(tmp_path / "sets")
    assert isinstance(source, FileSource) and source.object_ids() == ["stapler_000", "stapler_001"]
    got = source.sample(get_object("stapler_001"), "stapler", 3, np.random.default_rng(0))
    assert len(got) == 3 and got.object_ids == ("stapler_001",)
    digest = source.sha256
    saved_grasps(tmp_path / "sets" / "stapler_001.npz", n=2, obj="stapler_001")
    assert get_source(str(tmp_path / "sets")).sha256 != digest  # the folder's digest follows its files
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no .npz"):
        get_source(tmp_path / "empty")
