"""The paper's tables from evaluation results: Table II and Table IV shapes, markdown and a PNG chart.

Table II: rows are grasp sources × object split, columns the five tasks, cells the success rate of
the reference policy started from that source's grasps. Table IV: rows are the grasp data the
policy was *trained* on (raw = isf, rule-based = rule), each evaluated on its own training grasps
of seen objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dextog_gym.objects.spec import CATEGORIES
from dextog_gym.policies.report import summarise

TASK_COLUMNS = tuple(CATEGORIES)  # stapler, sprayer_press, sprayer_trigger, bottle, pen
TASK_TITLES = {"stapler": "stapler", "sprayer_press": "sprayer press", "sprayer_trigger": "sprayer trigger",
               "bottle": "bottle", "pen": "ballpoint"}
TRAINING_DATA_TITLES = {"isf": "Raw", "rule": "Rule-based"}
# The papers' Table IV (DexTOG, success of the RL policy by training data), in percent.
PAPER_TABLE_IV = {"Raw": (59, 35, 5, 15, 10), "Rule-based": (84, 50, 64, 79, 20), "Ours": (85, 57, 70, 81, 26)}


def _label(grasps: str) -> str:
    return Path(grasps).stem if grasps.endswith(".npz") else grasps


def _cells(results: list[dict[str, Any]], key_of, key: str = "success") -> dict[tuple, dict[str, dict]]:
    """{row key: {task: {"rate", "n"}}}; a later result for the same cell replaces an earlier one."""
    rows: dict[tuple, dict[str, dict]] = {}
    for res in results:
        row = key_of(res["meta"])
        if row is None:
            continue
        total = summarise(res)[-1]
        rows.setdefault(row, {})[res["meta"]["task"]] = {"rate": total[key], "n": total["episodes"]}
    return rows


def table_ii(results: list[dict[str, Any]], key: str = "success") -> dict[tuple, dict[str, dict]]:
    def key_of(meta):
        split = meta["objects"] if isinstance(meta["objects"], str) else "listed"
        return (_label(meta["grasps"]), split)

    return _cells(results, key_of, key)


def table_iv(results: list[dict[str, Any]], key: str = "success") -> dict[tuple, dict[str, dict]]:
    def key_of(meta):
        trained = meta.get("policy_grasp_source")
        if trained is None or _label(meta["grasps"]) != trained or meta["objects"] != "seen":
            return None
        return (TRAINING_DATA_TITLES.get(trained, trained),)

    return _cells(results, key_of, key)


def to_markdown(cells: dict[tuple, dict[str, dict]], row_titles: tuple[str, ...], paper: dict | None = None) -> str:
    head = "| " + " | ".join(row_titles) + " | " + " | ".join(TASK_TITLES[t] for t in TASK_COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(row_titles) + len(TASK_COLUMNS))]
    for row, by_task in sorted(cells.items()):
        vals = []
        for t in TASK_COLUMNS:
            c = by_task.get(t)
            vals.append("–" if c is None or c["rate"] is None else f"{100 * c['rate']:.0f}% (n={c['n']})")
        lines.append("| " + " | ".join(row) + " | " + " | ".join(vals) + " |")
    for name, values in (paper or {}).items():
        pad = [""] * (len(row_titles) - 1)
        lines.append("| " + " | ".join([f"paper: {name}", *pad]) + " | " + " | ".join(f"{v}%" for v in values) + " |")
    return "\n".join(lines) + "\n"


def bar_chart(cells: dict[tuple, dict[str, dict]], path: str | Path, title: str) -> Path:
    """Grouped bars: one group per task, one bar per row of the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = sorted(cells)
    x = np.arange(len(TASK_COLUMNS))
    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(8.5, 3.6), dpi=110)
    for k, row in enumerate(rows):
        vals = [100 * (cells[row].get(t, {}).get("rate") or 0.0) for t in TASK_COLUMNS]
        ax.bar(x + (k - (len(rows) - 1) / 2) * width, vals, width, label=" / ".join(row))
    ax.set_xticks(x, [TASK_TITLES[t] for t in TASK_COLUMNS])
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
