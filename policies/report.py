"""Summaries of evaluation results: per object and per task, as markdown, csv or json.

One success definition, the leaderboard's: every asked-for episode counts, and a grasp the simulator
cannot place (``unplaced``) is a failure: a generator earns nothing for grasps that sink into the object.
``success_placed`` is the same rate over placed episodes only, a named extra column for telling the
verifier's share from the placement's. ``success`` is the paper's latched success, ``at_end`` holds at
the last step, ``lift`` is the lift-only criterion (hand-held tasks); returns average placed episodes.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.envs.reward import TERM_NAMES
from dextog_gym.files import atomic_write_json

COLUMNS = ("object", "episodes", "unplaced", "success", "success_placed", "at_end", "lift", "grasp_kept",
           "mean_return", *(f"mean_{t}" for t in TERM_NAMES))


def _share(values: list[Any], n: int) -> float:
    """Successes over ``n`` asked episodes: the unplaced ones (not in ``values``) count as failures."""
    return float(np.sum(values)) / n


def _stats(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    placed = [r for r in rows if not r.get("skipped")]
    out: dict[str, Any] = {"object": name, "episodes": len(rows), "unplaced": len(rows) - len(placed),
                           "placed": len(placed)}
    if not rows:
        return {**out, **dict.fromkeys(COLUMNS[3:], None)}
    out["success"] = _share([r["success"] for r in placed], len(rows))
    out["success_placed"] = float(np.mean([r["success"] for r in placed])) if placed else None
    # None when episodes stopped at their success (EvalRequest.full_episodes=False): unknown, not a failure
    at_end = [r["success_at_end"] for r in placed if r.get("success_at_end") is not None]
    out["at_end"] = _share(at_end, len(rows)) if len(at_end) == len(placed) else None
    out["lift"] = _share([r["lift_success"] for r in placed], len(rows))
    if not placed:
        return {**out, "grasp_kept": None, "grasp_kept_n": 0, "mean_return": None,
                **{f"mean_{t}": None for t in TERM_NAMES}}
    # Of the successes, the share whose starting pads still touched after the lift (verifiers that report it):
    # a verifier whose successes abandon the starting grasp measures itself, not the grasp.
    kept = [r["grasp_kept"] for r in placed if r["success"] and r.get("grasp_kept") is not None]
    out["grasp_kept"] = float(np.mean(kept)) if kept else None
    out["grasp_kept_n"] = len(kept)  # the denominator of that share (tables give it an interval)
    out["mean_return"] = float(np.mean([r["return"] for r in placed]))
    for t in TERM_NAMES:
        out[f"mean_{t}"] = float(np.mean([r[f"return_{t}"] for r in placed]))
    return out


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per object (in evaluation order) and a last row for the whole task."""
    rows = result["episodes"]
    order = list(dict.fromkeys(r["object_id"] for r in rows))
    table = [_stats(o, [r for r in rows if r["object_id"] == o]) for o in order]
    table.append(_stats(f"all ({result['meta']['task']})", rows))
    return table


def task_rate(result: dict[str, Any], key: str = "success") -> float | None:
    return summarise(result)[-1][key]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def format_summary(result: dict[str, Any], fmt: str = "markdown") -> str:
    table = summarise(result)
    if fmt == "json":
        return json.dumps({"meta": result["meta"], "summary": table}, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
        return buf.getvalue()
    if fmt != "markdown":
        raise ValueError(f"unknown format {fmt!r}; choose markdown, csv or json")
    m = result["meta"]
    head = (f"{m['env_id']}: verifier {verifier_text(m)} on {m['grasps']} grasps, {_objects_text(m['objects'])}, "
            f"{m['episodes_per_grasp']} episode(s) per grasp; {len(result['episodes'])} rollouts in "
            f"{m['wall_clock_s']:.0f} s ({m['rollouts_per_s']:.2f}/s, {m['workers']} workers)\n")
    if m.get("dropped"):
        head += (f"left out, no grasps for them (--allow-missing): {', '.join(m['dropped'])}\n")
    head += "success counts unplaced grasps as failures; success_placed is over placed episodes only\n\n"
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in table:
        lines.append("| " + " | ".join(_cell(row[c]) for c in COLUMNS) + " |")
    return head + "\n".join(lines) + "\n"


def verifier_text(meta: dict[str, Any]) -> str:
    """What did the task: the name asked for and, when it differs, what it resolved to (never only a path)."""
    asked, used = meta.get("verifier"), str(meta["policy"])
    used_name = used if used == "controller" else Path(used).name
    if asked is None or asked == used or asked == used_name:
        return used_name
    return f"{asked} (= {used_name})"


def _objects_text(objects: Any) -> str:
    if isinstance(objects, str):
        return f"{objects} objects"
    return f"{len(objects)} objects" if len(objects) > 3 else ", ".join(objects)


def save_result(result: dict[str, Any], path: str | Path) -> Path:
    return atomic_write_json(path, result, indent=1)


MAX_RESULT_BYTES = 64 * 2**20
EPISODE_KEYS = {"object_id", "grasp_index", "skipped"}


def load_result(path: str | Path) -> dict[str, Any]:
    """A result JSON written by ``dextog evaluate``; anything else is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"result file {path} does not exist")
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise ValueError(f"{path} is larger than {MAX_RESULT_BYTES >> 20} MiB; not a result file")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("meta"), dict) or not isinstance(data.get("episodes"),
                                                                                             list):
        raise ValueError(f"{path}: not a dextog evaluation result (needs 'meta' and 'episodes')")
    for key in ("env_id", "task", "grasps", "objects"):
        if key not in data["meta"]:
            raise ValueError(f"{path}: meta has no {key!r}")
    for r in data["episodes"]:
        if not isinstance(r, dict) or not EPISODE_KEYS <= set(r):
            raise ValueError(f"{path}: malformed episode row {str(r)[:80]}")
    return data
