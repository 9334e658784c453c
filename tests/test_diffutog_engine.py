"""The data engine: refuses a mismatched resume, verifies grasps with the reference policies, and
(slow) runs end to end at toy scale, surviving a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("torch")

from dextog_gym.grasp_sources.shipped import grasp_path  # noqa: E402
from dextog_gym.grasps import Grasps  # noqa: E402


def test_resume_with_other_settings_is_refused(tmp_path):
    from dextog_gym.workflows.engine import Engine, EngineConfig

    engine = Engine(tmp_path, EngineConfig(train_iterations=10))
    engine._save()
    with pytest.raises(ValueError, match="train_iterations"):
        Engine(tmp_path, EngineConfig(train_iterations=20))
    Engine(tmp_path, EngineConfig(train_iterations=10, progress=False))  # progress is not a setting
    resumed = Engine(tmp_path, EngineConfig(train_iterations=10, backend="ray"))  # nor is the backend
    assert resumed.state["config"]["backend"] == "ray"


def test_unknown_verifier_is_refused(tmp_path):
    from dextog_gym.workflows.engine import Engine, EngineConfig

    with pytest.raises(ValueError, match="verify_with"):
        Engine(tmp_path, EngineConfig(verify_with="oracle"))
    assert not (tmp_path / "engine.json").exists()


def test_verification_keeps_exactly_the_successful_grasps(tmp_path):
    from dextog_gym.workflows.engine import Engine, EngineConfig

    raw = Grasps.load(grasp_path("isf", "bottle_000")).select(np.arange(4))
    boot = tmp_path / "data" / "bootstrap_1.npz"
    raw.save(boot)
    engine = Engine(tmp_path, EngineConfig(workers=1, progress=False))
    out = engine._verify([boot])
    assert out["evaluated"] == 4 and out["per_task"]["bottle"]["evaluated"] == 4
    report = json.loads(json.dumps(out))
    verified = tmp_path / "data" / "verified.npz"
    assert out["verified"] == report["per_task"]["bottle"]["verified"]
    if out["verified"]:
        kept = Grasps.load(verified)
        rows = {tuple(np.round(r, 6)) for r in raw.joints}
        assert all(tuple(np.round(r, 6)) in rows for r in kept.joints)
    else:
        assert not verified.exists()


@pytest.mark.slow
def test_engine_end_to_end_resumes_after_kill(tmp_path):
    """Toy scale: one object per task, a few iterations per stage; killed during training, resumed."""
    out = tmp_path / "engine"
    cmd = [sys.executable, "-m", "dextog_gym.cli.main", "diffutog", "engine", "--out", str(out), "--max-objects", "1",
           "--train-iterations", "400", "--bootstrap-rounds", "1", "--bootstrap-per-object", "4",
           "--bootstrap-iterations", "20", "--finetune-iterations", "20", "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = out / "train" / "state.pt"
    deadline = time.time() + 600
    while not state.is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert state.is_file(), "the train stage never checkpointed"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads((out / "engine.json").read_text())
    assert list(doc["stages"]) == ["data", "train", "bootstrap_1", "retrain_1", "verify", "finetune"]
    assert doc["stages"]["train"]["steps"] == 400
    run = json.loads((out / "train" / "run.json").read_text())
    assert len(run["sessions"]) == 2 and run["sessions"][0]["end_step"] < 400
    assert (out / "finetune" / "model.npz").is_file()
    assert "| bootstrap_1 |" in done.stdout
