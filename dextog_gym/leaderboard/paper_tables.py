"""The papers' tables in their shapes, from leaderboard results: DexTOG Table II and NDPP-Grasp Table 2.

A leaderboard result already holds what both tables need — success per task and split under each
verifier with n and intervals, and the grasps' Q1, penetration and η_f — measured under one fixed
protocol, so the tables are rebuilt from committed result files by one command and cannot drift from
the board. The papers' own rows are printed beneath ours (numbers copied from the papers; their objects,
hand and simulator differ from ours).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dextog_gym.leaderboard.protocol import TASKS
from dextog_gym.leaderboard.report import TASK_TITLES, rate_text
from dextog_gym.metrics.intervals import wilson_interval

# The verifier the benchmark rates each task with (policies.REFERENCE_VERIFIERS, as leaderboard labels).
REFERENCE = {"stapler": "controller", "sprayer_press": "controller", "sprayer_trigger": "controller",
             "bottle": "controller", "pen": "residual"}
DEXTOG_TABLE_II = [("paper: DexTOG (DiffuTOG grasps)", "seen", (67, 28, 54, 73, 19)),
                   ("paper: DexTOG (DiffuTOG grasps)", "unseen", (46, 14, 27, 41, 15)),
                   ("paper: GraspTTA*", "seen", (10, 12, 0, 0, 12)),
                   ("paper: GraspTTA*", "unseen", (4, 9, 0, 0, 3))]
NDPP_TABLE_2 = [("paper: GraspTTA", "3.20%", "0.031", "0.524", "18.7%", "1901.7 (A6000)"),
                ("paper: DexTOG + handling", "28.60%", "0.093", "0.385", "50.5%", "395.8 (A6000)"),
                ("paper: NDPP-Grasp", "31.92%", "0.098", "0.318", "56.8%", "17.7 (A6000)")]
SHAPES = ("dextog-ii", "ndpp-2")


def load(path: str | Path) -> dict[str, Any]:
    doc = json.loads(Path(path).read_text())
    if "scores" not in doc or "submission" not in doc:
        raise ValueError(f"{path}: not a leaderboard result (no scores/submission)")
    return doc


def _label(result: dict[str, Any]) -> str:
    return result.get("label") or f"{result['submission']['meta']['method']} ({result['track']} track)"


def dextog_table_ii(results: list[dict[str, Any]]) -> str:
    """Success per task under the reference verifiers, seen and unseen rows per result."""
    lines = ["| grasps | objects | " + " | ".join(TASK_TITLES[t] for t in TASKS) + " |", "|---|---|" + "---|" * len(TASKS)]
    for r in results:
        for split in ("seen", "unseen"):
            cells = [rate_text(r["scores"]["verifiers"][REFERENCE[t]]["tasks"][t].get(split)) for t in TASKS]
            if all(c == "–" for c in cells):
                continue
            lines.append(f"| {_label(r)} | {split} | " + " | ".join(cells) + " |")
    for name, split, figures in DEXTOG_TABLE_II:
        lines.append(f"| {name} | {split} | " + " | ".join(f"{v}%" for v in figures) + " |")
    return "\n".join(lines) + "\n"


def reference_overall(result: dict[str, Any]) -> dict[str, Any]:
    """Episodes pooled over the five tasks, each under its reference verifier (NDPP's "overall")."""
    wins = n = 0
    for task in TASKS:
        cell = result["scores"]["verifiers"][REFERENCE[task]]["tasks"][task]["all"]
        wins, n = wins + cell["successes"], n + cell["n"]
    lo, hi = wilson_interval(wins, n) if n else (None, None)
    return {"successes": wins, "n": n, "rate": wins / n if n else None, "ci95": [lo, hi]}


def ndpp_table_2(results: list[dict[str, Any]]) -> str:
    """Overall success, Q1, penetration, η_f and measured ms/grasp per result."""
    lines = ["| method | overall success ↑ | Q1 ↑ | pen (cm) ↓ | η_f ↑ | ms/grasp |", "|---|---|---|---|---|---|"]
    for r in results:
        m = r["scores"]["metrics"]["overall"]
        ms = r.get("run", {}).get("ms_per_grasp")
        lines.append(f"| {_label(r)} | {rate_text(reference_overall(r))} | {m['q1']:.3f} | {m['pen_cm']:.2f} | "
                     f"{100 * m['eta_f']:.0f}% | {'–' if ms is None else f'{ms:.0f}'} |")
    lines += [f"| {' | '.join(row)} |" for row in NDPP_TABLE_2]
    return "\n".join(lines) + "\n"


def paper_table(shape: str, paths: list[str | Path], labels: list[str] | None = None) -> str:
    """``labels``: row names for the first results, in order (the rest: method and track)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown table shape {shape!r}; known: {', '.join(SHAPES)}")
    labels = list(labels or [])
    if len(labels) > len(paths):
        raise ValueError(f"{len(labels)} labels for {len(paths)} results")
    results = [load(p) for p in paths]
    for result, label in zip(results, labels):
        result["label"] = label
    return dextog_table_ii(results) if shape == "dextog-ii" else ndpp_table_2(results)
