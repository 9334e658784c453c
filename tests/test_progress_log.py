"""Joining a resumed run's training log: earlier sessions first, replayed iterations once."""

from __future__ import annotations

from pathlib import Path

from dextog_gym.policies.progress_log import keep_earlier_sessions, read_progress


def write(path: Path, steps: list[int]) -> None:
    path.write_text("time/total_timesteps,episode/success_rate\n" + "".join(f"{s},0.5\n" for s in steps))


def test_sessions_join_in_order_and_replayed_rows_count_once(tmp_path):
    write(tmp_path / "progress.csv", [100, 200, 300, 400])  # killed after 400; last checkpoint at 200
    assert keep_earlier_sessions(tmp_path) == tmp_path / "progress.0.csv"
    write(tmp_path / "progress.csv", [300, 400, 500])  # the resumed session replays 300 and 400
    assert keep_earlier_sessions(tmp_path) == tmp_path / "progress.1.csv"
    write(tmp_path / "progress.csv", [600])
    assert [int(r["time/total_timesteps"]) for r in read_progress(tmp_path)] == [100, 200, 300, 400, 500, 600]


def test_nothing_to_keep_and_an_empty_log(tmp_path):
    assert keep_earlier_sessions(tmp_path) is None
    (tmp_path / "progress.csv").write_text("")
    assert keep_earlier_sessions(tmp_path) is None and read_progress(tmp_path) == []
