"""CI-sized end to end: train a few hundred PPO steps, kill, resume, evaluate, print the tables."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import warnings

import pytest

pytest.importorskip("stable_baselines3")

from dextog_gym.cli.main import main  # noqa: E402

ENV = "DexTOG/Stapler-v1"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run killed (SIGKILL) after its first checkpoint, then resumed to 600 steps."""
    out = tmp_path_factory.mktemp("run") / "stapler"
    cmd = [sys.executable, "-m", "dextog_gym.cli.main", "train", "--env", ENV, "--timesteps", "100000",
           "--n-envs", "1", "--checkpoint-every", "200", "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = out / "checkpoints" / "latest.json"
    deadline = time.monotonic() + 240
    while not latest.is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert latest.is_file(), "no checkpoint was written before the kill"
    steps_at_kill = json.loads(latest.read_text())["steps"]
    assert main(["train", "--env", ENV, "--timesteps", "600", "--n-envs", "1", "--out", str(out), "--resume",
                 "--checkpoint-every", "200", "--no-progress"]) == 0
    return out, steps_at_kill


def test_resume_continues_from_the_checkpoint(trained):
    out, steps_at_kill = trained
    config = json.loads((out / "config.json").read_text())
    assert 200 <= steps_at_kill < 600
    assert config["trained_timesteps"] == 600
    assert len(config["commands"]) == 2 and "--resume" in config["commands"][1]
    assert config["sessions"][-1]["steps"] == 600 - steps_at_kill  # not restarted from zero
    meta = json.loads((out / "policy" / "policy.json").read_text())
    assert meta["trained_timesteps"] == 600 and meta["env_id"] == ENV and meta["obs_size"] == 94
    assert list((out / "tb").glob("events.out.tfevents*")), "no TensorBoard log"
    header = (out / "tb" / "progress.csv").read_text().splitlines()[0]
    for key in ("episode/reward_task", "episode/penalty_drop", "episode/success_rate", "time/learner_share"):
        assert key in header


def test_the_training_log_keeps_the_session_before_the_kill(trained):
    from dextog_gym.policies.progress_log import read_progress

    out, steps_at_kill = trained
    assert (out / "tb" / "progress.0.csv").is_file()  # SB3 truncates progress.csv on resume; it was kept
    steps = [int(float(r["time/total_timesteps"])) for r in read_progress(out / "tb")]
    assert steps == sorted(set(steps)) and steps[0] == 100 and steps[-1] == 600  # whole, no replayed duplicates


def test_a_new_run_will_not_overwrite_an_old_one(trained, capsys):
    out, _ = trained
    assert main(["train", "--env", ENV, "--timesteps", "100", "--out", str(out), "--no-progress"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--env", "DexTOG/PenPress-v1", "--out", str(out), "--resume", "--no-progress"]) == 2
    assert "differs from this command" in capsys.readouterr().err


def test_evaluate_then_table(trained, tmp_path, capsys):
    out, _ = trained
    result = tmp_path / "res.json"
    assert main(["evaluate", "--verifier", str(out / "policy"), "--grasps", "rule", "--objects", "stapler_000,stapler_001",
                 "--max-grasps-per-object", "2", "--workers", "2", "--out", str(result), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "| stapler_000 |" in text and "| all (stapler) |" in text
    data = json.loads(result.read_text())
    assert len(data["episodes"]) == 4 and data["meta"]["policy_grasp_source"] == "rule"
    placed = [r for r in data["episodes"] if not r["skipped"]]
    for r in placed:  # an episode ends at the step its success latches, else at the horizon
        assert r["steps"] == 100 if not r["success"] else (r["steps"] <= 100 and r["success_at_end"] is None)
        assert r["return"] == pytest.approx(sum(r[f"return_{t}"] for t in
                                                ("reward_task", "reward_lift", "reward_completion", "penalty_drop")))
    png = tmp_path / "t.png"
    assert main(["table", str(result), "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "Table II shape" in text and "| rule | listed |" in text and "paper: Rule-based" in text
    assert png.stat().st_size > 1000


def test_evaluation_is_deterministic(trained):
    from dextog_gym.policies.evaluate import EvalRequest, evaluate

    out, _ = trained
    req = EvalRequest(policy=str(out / "policy"), grasps="rule", objects=["stapler_002"], max_grasps_per_object=1,
                      workers=1, progress=False)
    a, b = evaluate(req)["episodes"], evaluate(req)["episodes"]
    assert [r["return"] for r in a] == [r["return"] for r in b]


def test_bad_inputs_fail_before_any_rollout(trained, tmp_path, capsys):
    out, _ = trained
    assert main(["evaluate", "--verifier", str(out / "policy"), "--env", "DexTOG/PenPress-v1", "--no-progress"]) == 2
    assert "trained for DexTOG/Stapler-v1" in capsys.readouterr().err
    assert main(["evaluate", "--verifier", str(tmp_path / "nope"), "--no-progress"]) == 2
    assert "does not exist" in capsys.readouterr().err
    # a grasp file with grasps for pens only has nothing for a stapler policy
    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasps.file_source import FileSource

    pens = tmp_path / "pens.npz"
    FileSource(grasp_path("isf", "pen_000")).grasps.save(pens)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["evaluate", "--verifier", str(out / "policy"), "--grasps", str(pens), "--no-progress"]) == 2
    assert "no grasps" in capsys.readouterr().err
    (out / "checkpoints" / "latest.json").write_text("{")
    assert main(["train", "--env", ENV, "--out", str(out), "--resume", "--timesteps", "800", "--no-progress"]) == 2
    assert "corrupt" in capsys.readouterr().err
