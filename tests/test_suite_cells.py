"""``dextog benchmark`` cell reuse is keyed on every input of a cell: a stubbed evaluate, no physics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dextog_gym.envs.fingerprint import SIMULATION_MODULES
from dextog_gym.policies import REFERENCE_POLICY_DATA
from dextog_gym.policies.evaluate import EvalRequest
from dextog_gym.policies.report import load_result
from dextog_gym.workflows import suite
from dextog_gym.workflows.suite import SuiteRequest, cell_path, run_suite

TASK = "stapler"


@pytest.fixture
def calls(monkeypatch) -> list[EvalRequest]:
    """Replace the suite's evaluate with a stub that records each request and returns a tiny result."""
    seen: list[EvalRequest] = []

    def fake_evaluate(req: EvalRequest, partial: Any = None) -> dict[str, Any]:
        seen.append(req)
        meta = {"env_id": req.env_id, "task": TASK, "policy": req.policy, "grasps": req.grasps,
                "objects": req.objects, "episodes_per_grasp": req.episodes_per_grasp,
                "max_grasps_per_object": req.max_grasps_per_object, "max_objects": req.max_objects,
                "seed": req.seed, "full_episodes": req.full_episodes, "call": len(seen)}
        return {"meta": meta, "episodes": [{"object_id": "stapler_000", "grasp_index": 0, "skipped": None}]}

    monkeypatch.setattr(suite, "evaluate", fake_evaluate)
    return seen


@pytest.fixture
def policies(tmp_path) -> Path:
    folder = tmp_path / "policies" / f"{TASK}_{REFERENCE_POLICY_DATA}"
    folder.mkdir(parents=True)
    (folder / "policy.npz").write_bytes(b"weights v1")
    (folder / "policy.json").write_text('{"env_id": "x"}')
    return folder.parent


def grasp_file(path: Path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


def request(tmp_path: Path, policies: Path, sources: tuple[str, ...], **kw: Any) -> SuiteRequest:
    options: dict[str, Any] = {"max_objects": 1, "max_grasps_per_object": 2, "policy_data": REFERENCE_POLICY_DATA,
                               **kw}
    return SuiteRequest(out=tmp_path / "out", tasks=(TASK,), sources=sources, splits=("seen",), policies=policies,
                        progress=False, **options)


def test_same_inputs_reuse_and_a_changed_option_reruns(tmp_path, policies, calls, capsys):
    src = grasp_file(tmp_path / "a" / "g.npz", b"grasps A")
    first = run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 1 and first[0]["meta"]["cell_key"]
    again = run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 1 and again[0]["meta"]["call"] == 1  # reused, stub not called
    assert capsys.readouterr().err == ""
    rerun = run_suite(request(tmp_path, policies, (src,), max_grasps_per_object=3))
    assert len(calls) == 2 and rerun[0]["meta"]["max_grasps_per_object"] == 3
    assert "re-running" in capsys.readouterr().err
    # The file was overwritten: the old option is now the stale one.
    assert load_result(cell_path(tmp_path / "out", TASK, src, "seen", REFERENCE_POLICY_DATA))["meta"]["max_grasps_per_object"] == 3
    for change in ({"episodes_per_grasp": 2}, {"seed": 1}, {"max_objects": 2}):
        run_suite(request(tmp_path, policies, (src,), **change))
    assert len(calls) == 5


def test_changed_simulation_or_verifier_code_reruns(tmp_path, policies, calls, monkeypatch):
    """Physics or controller code decides the numbers as much as the weights do."""
    src = grasp_file(tmp_path / "a" / "g.npz", b"grasps A")
    run_suite(request(tmp_path, policies, (src,)))
    inputs = suite.cell_inputs(request(tmp_path, policies, (src,)), TASK, src, "seen")
    assert set(inputs["simulation"]) == set(SIMULATION_MODULES) and "controllers.py" in inputs["policy"]
    monkeypatch.setattr(suite, "simulation_inputs", lambda: {"dextog_gym.physics": "changed"})
    run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 2
    real = suite.sha256_file
    monkeypatch.setattr(suite, "sha256_file", lambda p: "edited" if Path(p).name == "controllers.py" else real(p))
    run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 3


def test_fresh_always_reruns(tmp_path, policies, calls):
    src = grasp_file(tmp_path / "g.npz", b"grasps")
    run_suite(request(tmp_path, policies, (src,)))
    run_suite(request(tmp_path, policies, (src,), reuse=False))
    assert len(calls) == 2


def test_same_stem_different_files_are_separate_cells(tmp_path, policies, calls):
    a = grasp_file(tmp_path / "a" / "g.npz", b"grasps A")
    b = grasp_file(tmp_path / "b" / "g.npz", b"grasps B")
    assert cell_path(tmp_path / "out", TASK, a, "seen", REFERENCE_POLICY_DATA) != cell_path(tmp_path / "out", TASK, b, "seen", REFERENCE_POLICY_DATA)
    res = run_suite(request(tmp_path, policies, (a, b)))
    assert [r["meta"]["grasps"] for r in res] == [a, b] and len(calls) == 2
    res = run_suite(request(tmp_path, policies, (b, a)))  # both reused, each its own
    assert [r["meta"]["grasps"] for r in res] == [b, a] and len(calls) == 2
    assert len(list((tmp_path / "out").glob("*.json"))) == 2


def test_same_file_new_contents_reruns(tmp_path, policies, calls, capsys):
    src = grasp_file(tmp_path / "g.npz", b"grasps v1")
    run_suite(request(tmp_path, policies, (src,)))
    grasp_file(tmp_path / "g.npz", b"grasps v2")
    res = run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 2 and res[0]["meta"]["call"] == 2
    assert "changed: grasps" in capsys.readouterr().err


def test_policy_change_reruns(tmp_path, policies, calls):
    src = grasp_file(tmp_path / "g.npz", b"grasps")
    run_suite(request(tmp_path, policies, (src,)))
    (policies / f"{TASK}_{REFERENCE_POLICY_DATA}" / "policy.npz").write_bytes(b"weights v2")
    run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 2
    (policies / f"{TASK}_{REFERENCE_POLICY_DATA}" / "policy.json").write_text('{"env_id": "y"}')
    run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 3


def test_registered_source_is_keyed_and_reused(tmp_path, policies, calls):
    run_suite(request(tmp_path, policies, ("rule",)))
    res = run_suite(request(tmp_path, policies, ("rule",)))
    assert len(calls) == 1
    inputs = res[0]["meta"]["cell_inputs"]["grasps"]
    assert inputs["source"] == "rule" and list(inputs["shipped"]) == ["stapler_000"]


def _edit_meta(path: Path, edit) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("damage", ["key", "no_key", "option", "inputs", "meta_not_dict", "garbage", "empty"])
def test_edited_or_corrupt_cell_reruns(tmp_path, policies, calls, capsys, damage):
    src = grasp_file(tmp_path / "g.npz", b"grasps")
    run_suite(request(tmp_path, policies, (src,)))
    path = cell_path(tmp_path / "out", TASK, src, "seen", REFERENCE_POLICY_DATA)
    if damage == "key":
        _edit_meta(path, lambda d: d["meta"].update(cell_key="0" * 64))
    elif damage == "no_key":
        _edit_meta(path, lambda d: d["meta"].pop("cell_key"))
    elif damage == "option":
        _edit_meta(path, lambda d: d["meta"].update(max_grasps_per_object=99))
    elif damage == "inputs":
        _edit_meta(path, lambda d: d["meta"]["cell_inputs"].update(seed=7))
    elif damage == "meta_not_dict":
        _edit_meta(path, lambda d: d.update(meta=["x"]))
    elif damage == "garbage":
        path.write_bytes(b"\x00{not json")
    else:
        path.write_text("")
    res = run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 2 and res[0]["meta"]["call"] == 2
    assert capsys.readouterr().err.count("re-running") == 1
    assert load_result(path)["meta"]["call"] == 2  # overwritten with the new cell


def test_a_stem_only_cell_of_a_grasp_file_is_retired(tmp_path, policies, calls, capsys):
    src = grasp_file(tmp_path / "g.npz", b"grasps")
    legacy = tmp_path / "out" / f"{TASK}__g__seen__policy-{REFERENCE_POLICY_DATA}.json"
    legacy.parent.mkdir()
    legacy.write_text(json.dumps({"meta": {"env_id": "e", "task": TASK, "grasps": src, "objects": "seen"},
                                  "episodes": []}))
    run_suite(request(tmp_path, policies, (src,)))
    assert len(calls) == 1 and not legacy.exists()
    assert legacy.with_name(legacy.name + ".stale").is_file()
    assert [p.name for p in (tmp_path / "out").glob("*.json")] == [cell_path(tmp_path / "out", TASK, src, "seen",
                                                                             REFERENCE_POLICY_DATA).name]


def test_a_second_benchmark_into_the_same_out_is_refused(tmp_path, policies, calls):
    """Two runs into one --out would race cell by cell; the second fails at once and runs nothing."""
    import subprocess
    import sys
    import time

    from dextog_gym.files import FolderInUseError

    out = tmp_path / "out"
    out.mkdir()
    code = f"from dextog_gym.files import exclusive_lock\nimport time\nwith exclusive_lock({str(out)!r}):\n    time.sleep(30)\n"
    holder = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not ((out / ".lock").is_file() and (out / ".lock").read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        src = grasp_file(tmp_path / "a" / "g.npz", b"grasps A")
        with pytest.raises(FolderInUseError, match="benchmark folder is in use"):
            run_suite(request(tmp_path, policies, (src,)))
        assert calls == []
    finally:
        holder.kill()
        holder.wait()
    assert len(run_suite(request(tmp_path, policies, (src,)))) == 1  # free again once its holder died


def test_default_verifier_is_each_tasks_reference(tmp_path, calls, monkeypatch):
    """No policy data: the controller where it beat the residual bundle (REFERENCE_VERIFIERS), else the bundle."""
    from dextog_gym.policies import REFERENCE_VERIFIERS

    controlled = next(t for t, v in REFERENCE_VERIFIERS.items() if v == "controller")
    bundled = next(t for t, v in REFERENCE_VERIFIERS.items() if v != "controller")
    folder = tmp_path / "policies" / f"{bundled}_{REFERENCE_VERIFIERS[bundled]}"
    folder.mkdir(parents=True)
    (folder / "policy.npz").write_bytes(b"w")
    (folder / "policy.json").write_text("{}")
    req = SuiteRequest(out=tmp_path / "out", tasks=(controlled, bundled), sources=("rule",), splits=("seen",),
                       policies=tmp_path / "policies", max_objects=1, max_grasps_per_object=1, progress=False)
    run_suite(req)
    assert [c.policy for c in calls] == ["controller", str(folder)]
    assert cell_path(tmp_path / "out", controlled, "rule", "seen", "reference").is_file()
    assert suite.cell_inputs(req, controlled, "rule", "seen")["policy"]["verifier"] == "controller"


def test_open_hand_cells_go_stale_when_the_isf_sets_they_open_change(tmp_path, monkeypatch):
    """open_hand serves the isf wrist poses: its cell key must hash the isf files, not only its own folder."""
    from dextog_gym.workflows import suite

    monkeypatch.setattr(suite, "grasps_dir", lambda: tmp_path)
    (tmp_path / "isf").mkdir()
    first = suite._cell_objects("pen", "seen", 1)[0]
    (tmp_path / "isf" / f"{first}.npz").write_bytes(b"one")
    before = suite.grasp_inputs("open_hand", "pen", "seen", 1)
    (tmp_path / "isf" / f"{first}.npz").write_bytes(b"two")
    assert suite.grasp_inputs("open_hand", "pen", "seen", 1) != before
    assert "derived" not in suite.grasp_inputs("rule", "pen", "seen", 1)  # other keys unchanged
