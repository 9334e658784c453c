"""Evaluation under faults: a killed worker is a clear error within seconds, and no finished episode is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dextog_gym.cli.main import main
from dextog_gym.policies.eval_pool import WorkerDiedError, run_parallel

REPO = Path(__file__).resolve().parents[1]


def _init(*_args) -> None:
    pass


def _job_that_dies_on_ten(job: tuple) -> dict:
    if job[0] == 10:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return {"job": job[0]}


def _job_that_raises_on_two(job: tuple) -> dict:
    if job[0] == 2:
        raise RuntimeError("grasp 2 exploded")
    return {"job": job[0]}


def test_a_killed_worker_is_an_error_within_seconds_and_keeps_finished_rows():
    rows: list[dict] = []
    started = time.monotonic()
    with pytest.raises(WorkerDiedError, match=r"worker process died .* of 40 episodes"):
        run_parallel([(i,) for i in range(40)], 2, _init, (), _job_that_dies_on_ten, rows.append)
    assert time.monotonic() - started < 20
    assert rows and all("job" in r for r in rows)


def test_an_exception_in_a_worker_stops_the_run_with_that_exception():
    rows: list[dict] = []
    with pytest.raises(RuntimeError, match="grasp 2 exploded"):
        run_parallel([(i,) for i in range(6)], 2, _init, (), _job_that_raises_on_two, rows.append)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
def test_killing_a_worker_of_dextog_evaluate_fails_fast_and_a_rerun_finishes(tmp_path):
    out = tmp_path / "eval.json"
    cmd = [sys.executable, "-m", "dextog_gym.cli.main", "evaluate", "--verifier", "stapler_rule_residual", "--grasps", "rule",
           "--objects", "stapler_000,stapler_001", "--max-grasps-per-object", "4", "--workers", "2", "--no-progress",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "eval.json.partial.json"
    deadline = time.monotonic() + 120
    while not partial.is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)  # wait until a first episode is saved, so there is work to keep
    workers = [p for p in _descendants(proc.pid) if p != proc.pid]
    assert proc.poll() is None and workers, "evaluation ended before a worker could be killed"
    os.kill(workers[-1], signal.SIGKILL)
    killed_at = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - killed_at < 30
    assert proc.returncode == 2, err
    assert "worker process died" in err and "rerun the same command" in err
    kept = json.loads(partial.read_text())["episodes"]
    assert kept and not out.exists()

    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    result = json.loads(out.read_text())
    assert len(result["episodes"]) == 8 and result["meta"]["resumed_episodes"] >= len(kept)
    assert not partial.exists()
    by_key = {(r["object_id"], r["grasp_index"]): r for r in result["episodes"]}
    for row in kept:
        assert by_key[(row["object_id"], row["grasp_index"])] == row


def test_out_pointing_at_a_directory_is_refused_before_any_rollout(tmp_path, capsys):
    started = time.monotonic()
    assert main(["evaluate", "--verifier", "stapler_rule_residual", "--objects", "stapler_000", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert time.monotonic() - started < 5


def test_two_evaluations_into_one_out_file_the_second_is_refused(tmp_path, capsys):
    from dextog_gym.files import exclusive_lock

    out = tmp_path / "same.json"
    code = f"from dextog_gym.files import exclusive_lock\nimport time\nwith exclusive_lock({str(out)!r}):\n    time.sleep(30)\n"
    holder = subprocess.Popen([sys.executable, "-c", code])
    try:
        lock = out.with_name(out.name + ".lock")
        deadline = time.monotonic() + 30
        while not (lock.is_file() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert main(["evaluate", "--verifier", "stapler_rule_residual", "--objects", "stapler_000", "--max-grasps-per-object", "1",
                     "--workers", "1", "--no-progress", "--out", str(out)]) == 2
        assert "in use by another process" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with exclusive_lock(out):  # released when its holder died
        pass
