"""A run's training log (``tb/progress.csv``) across resumed sessions.

SB3's csv logger truncates ``progress.csv`` when a run is resumed, so each earlier session's log is moved
to ``progress.<k>.csv`` first (:func:`keep_earlier_sessions`) and :func:`read_progress` joins them back. A
killed session may have logged iterations past its last checkpoint; the resumed session replays them, so
an earlier part keeps only the rows before the next part's first step.
"""

from __future__ import annotations

import csv
from pathlib import Path

LOG_NAME = "progress.csv"
STEP_KEY = "time/total_timesteps"


def keep_earlier_sessions(tb: Path) -> Path | None:
    """Move a non-empty ``progress.csv`` aside as the next ``progress.<k>.csv``; returns where it went."""
    log = Path(tb) / LOG_NAME
    if not log.is_file() or log.stat().st_size == 0:
        return None
    k = len(list(Path(tb).glob("progress.*.csv")))
    target = log.with_name(f"progress.{k}.csv")
    log.rename(target)
    return target


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return [r for r in csv.DictReader(fh) if r.get(STEP_KEY) not in (None, "")]


def read_progress(tb: Path) -> list[dict[str, str]]:
    """Every logged iteration of the run in step order, earlier sessions first."""
    tb = Path(tb)
    numbered = [(int(p.name.split(".")[1]), p) for p in tb.glob("progress.*.csv") if p.name.split(".")[1].isdigit()]
    parts = [p for _, p in sorted(numbered)]
    if (tb / LOG_NAME).is_file():
        parts.append(tb / LOG_NAME)
    out: list[dict[str, str]] = []
    for part in parts:
        rows = _rows(part)
        if rows:
            first = float(rows[0][STEP_KEY])
            out = [r for r in out if float(r[STEP_KEY]) < first]  # replayed after a resume
        out.extend(rows)
    return out
