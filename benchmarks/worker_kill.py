"""How long a killed evaluation worker takes to become an error, and what survives it.

    python benchmarks/worker_kill.py [--repeats 3]

Starts ``dextog evaluate --workers 2`` on 8 episodes, waits for the first finished episode, SIGKILLs a
worker and times the command's exit; then reruns it and counts the episodes it did not have to redo.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def descendants(pid: int) -> list[int]:
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


def one(tmp: Path) -> tuple[float, int, int, float]:
    out = tmp / "eval.json"
    cmd = [sys.executable, "-m", "dextog_gym.cli.main", "evaluate", "--verifier", "stapler_rule_residual", "--objects",
           "stapler_000,stapler_001", "--max-grasps-per-object", "4", "--workers", "2", "--no-progress", "--out",
           str(out)]
    proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    partial = tmp / "eval.json.partial.json"
    while not partial.is_file() and proc.poll() is None:
        time.sleep(0.02)
    os.kill(descendants(proc.pid)[-1], signal.SIGKILL)
    killed = time.monotonic()
    _, err = proc.communicate(timeout=120)
    to_error = time.monotonic() - killed
    kept = len(json.loads(partial.read_text())["episodes"])
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=tmp, capture_output=True, check=True, timeout=600)
    resumed = json.loads(out.read_text())["meta"]["resumed_episodes"]
    assert proc.returncode == 2 and "worker process died" in err, err
    return to_error, kept, resumed, time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    runs = []
    for k in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(one(Path(tmp)))
            print(f"run {k + 1}: kill -> error {runs[-1][0]:.2f} s; episodes kept {runs[-1][1]}, not redone on "
                  f"rerun {runs[-1][2]} of 8; rerun {runs[-1][3]:.1f} s")
    print(f"median time from worker kill to error: {statistics.median(r[0] for r in runs):.2f} s "
          f"(before: never; the parent waited forever)")


if __name__ == "__main__":
    main()
