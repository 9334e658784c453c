"""The paper's tables from evaluation results: Table II and Table IV shapes as markdown, csv, json and a chart.

Table II: rows are grasp sources × object split, columns the five tasks, cells the success rate of
the reference policy started from that source's grasps. Table IV: rows are the grasp data the
policy was *trained* on (raw = isf, rule-based = rule, data engine = the engine's verified grasps), each evaluated on its own training grasps
of seen objects. Our cells hold a few dozen episodes at most, so csv, json and the chart carry n and
a 95 % Wilson interval: a rate without them cannot be compared with the paper's.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from dextog_gym.files import atomic_write
from dextog_gym.metrics.intervals import Z_95, wilson_interval  # noqa: F401 (re-exported)
from dextog_gym.objects.spec import CATEGORIES
from dextog_gym.policies.report import summarise

Cells = dict[tuple, dict[str, dict]]  # {row key: {task: {"rate", "n", "successes"}}}

TASK_COLUMNS = tuple(CATEGORIES)  # stapler, sprayer_press, sprayer_trigger, bottle, pen
TASK_TITLES = {"stapler": "stapler", "sprayer_press": "sprayer press", "sprayer_trigger": "sprayer trigger",
               "bottle": "bottle", "pen": "ballpoint"}
# "verified": the data engine's RL-verified DiffuTOG grasps (results/diffutog/engine/data/verified.npz).
TRAINING_DATA_TITLES = {"isf": "Raw", "rule": "Rule-based", "verified": "Data engine (ours)"}
# The papers' Table IV (DexTOG, success of the RL policy by training data), in percent.
PAPER_TABLE_IV = {"Raw": (59, 35, 5, 15, 10), "Rule-based": (84, 50, 64, 79, 20), "Ours": (85, 57, 70, 81, 26)}
ROW_TITLES = {"ii": ("grasps", "objects"), "iv": ("training data",)}
CHART_TITLES = {"ii": "by grasp source (Table II shape)", "iv": "by training data (Table IV shape)"}
METRIC_TITLES = {"success": "Success", "success_placed": "Success over placed grasps only",
                 "at_end": "Success at the last step", "lift": "Lift success",
                 "grasp_kept": "Starting grasp kept (share of successes)"}
METRICS = tuple(METRIC_TITLES)
FORMATS = ("markdown", "csv", "json")




def row_order(row: tuple) -> tuple:
    """Known training data in the paper's order (raw, rule-based, ours), then anything else by name."""
    titles = list(TRAINING_DATA_TITLES.values())
    return (titles.index(row[0]) if row[0] in titles else len(titles), row)


def _label(grasps: str) -> str:
    """A row's name: a source name as is, a grasp file by its stem, a folder of them by its name."""
    if grasps.endswith(".npz"):
        return Path(grasps).stem
    return Path(grasps).name if "/" in grasps or Path(grasps).is_dir() else grasps


def _cells(results: list[dict[str, Any]], key_of, key: str = "success") -> Cells:
    """{row key: {task: {"rate", "n", "successes"}}}; a later result for the same cell replaces an earlier one."""
    rows: Cells = {}
    for res in results:
        row = key_of(res["meta"])
        if row is None:
            continue
        total = summarise(res)[-1]
        # grasp_kept is a share of the successes (those whose verifier reports it), success_placed of the placed
        # episodes, every other rate of all asked episodes (an unplaced grasp is a failure)
        n = {"grasp_kept": total.get("grasp_kept_n") or 0, "success_placed": total["placed"]}.get(key, total["episodes"])
        rate = total[key]
        successes = 0 if rate is None else round(rate * n)  # rates are shares of 0/1 outcomes
        rows.setdefault(row, {})[res["meta"]["task"]] = {"rate": rate, "n": n, "successes": successes}
    return rows


def table_ii(results: list[dict[str, Any]], key: str = "success") -> Cells:
    def key_of(meta):
        split = meta["objects"] if isinstance(meta["objects"], str) else "listed"
        return (_label(meta["grasps"]), split)

    return _cells(results, key_of, key)


def table_iv(results: list[dict[str, Any]], key: str = "success") -> Cells:
    def key_of(meta):
        trained = meta.get("policy_grasp_source")
        trained = None if trained is None else _label(trained)  # a grasp file trains under its stem
        if trained is None or _label(meta["grasps"]) != trained or meta["objects"] != "seen":
            return None
        return (TRAINING_DATA_TITLES.get(trained, trained),)

    return _cells(results, key_of, key)


def _markdown_cell(c: dict | None, intervals: bool) -> str:
    if c is None or c["rate"] is None:
        return "–"
    ci = wilson_interval(c["successes"], c["n"]) if intervals and c.get("successes") is not None else None
    span = f" [{100 * ci[0]:.0f}–{100 * ci[1]:.0f}]" if ci is not None else ""
    return f"{100 * c['rate']:.0f}%{span} (n={c['n']})"


def pooled(by_task: dict[str, dict]) -> dict | None:
    """One row's episodes over all its tasks (NDPP's "Overall-Succ."): successes / episodes, with n."""
    cells = [c for c in by_task.values() if c.get("rate") is not None and c.get("successes") is not None]
    n = sum(c["n"] for c in cells)
    if not n:
        return None
    successes = sum(c["successes"] for c in cells)
    return {"rate": successes / n, "n": n, "successes": successes}


def to_markdown(cells: Cells, row_titles: tuple[str, ...], paper: dict | None = None, intervals: bool = False,
                overall: bool = False) -> str:
    """The table as markdown; ``intervals`` adds each cell's 95 % Wilson interval in brackets (percent);
    ``overall`` adds a column pooling each row's episodes over the tasks it has."""
    head = "| " + " | ".join(row_titles) + " | " + " | ".join(TASK_TITLES[t] for t in TASK_COLUMNS) + " |"
    head += " overall |" if overall else ""
    lines = [head, "|" + "---|" * (len(row_titles) + len(TASK_COLUMNS) + int(overall))]
    for row, by_task in sorted(cells.items(), key=lambda kv: row_order(kv[0])):
        vals = []
        for t in TASK_COLUMNS:
            vals.append(_markdown_cell(by_task.get(t), intervals))
        if overall:
            vals.append(_markdown_cell(pooled(by_task), intervals))
        lines.append("| " + " | ".join(row) + " | " + " | ".join(vals) + " |")
    for name, values in (paper or {}).items():
        pad = [""] * (len(row_titles) - 1)
        lines.append("| " + " | ".join([f"paper: {name}", *pad]) + " | " + " | ".join(f"{v}%" for v in values) + " |"
                     + (" |" if overall else ""))
    return "\n".join(lines) + "\n"


def _fields(kind: str) -> list[str]:
    return [t.replace(" ", "_") for t in ROW_TITLES[kind]]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def table_records(kind: str, cells: Cells, paper: dict | None = None) -> list[dict[str, Any]]:
    """One record per (row, task), missing cells included; then the paper's rows (source "paper", no n).

    A missing cell has n None and rate None; a cell whose grasps were all unplaced has rate 0 (its
    success_placed: n 0, rate None).
    """
    keys = _fields(kind)
    out: list[dict[str, Any]] = []
    for row, by_task in sorted(cells.items(), key=lambda kv: row_order(kv[0])):
        for t in TASK_COLUMNS:
            c = by_task.get(t) or {"rate": None, "n": None, "successes": None}
            ci = wilson_interval(c["successes"], c["n"]) if c["n"] else None
            out.append({"table": kind, "source": "measured", **dict(zip(keys, row)), "task": t,
                        "rate": _round(c["rate"]), "n": c["n"], "successes": c["successes"],
                        "ci_low": _round(ci and ci[0]), "ci_high": _round(ci and ci[1])})
    for name, values in (paper or {}).items():
        for t, v in zip(TASK_COLUMNS, values):
            row = {k: None for k in keys} | {keys[0]: name}
            out.append({"table": kind, "source": "paper", **row, "task": t, "rate": v / 100, "n": None,
                        "successes": None, "ci_low": None, "ci_high": None})
    return out


def format_tables(tables: dict[str, Cells], metric: str, fmt: str) -> str:
    """csv or json of {kind: cells} (kinds "ii", "iv"); Table IV brings the paper's rows along."""
    records = [r for kind, cells in tables.items()
               for r in table_records(kind, cells, PAPER_TABLE_IV if kind == "iv" else None)]
    if fmt == "json":
        kind = "both" if len(tables) > 1 else next(iter(tables))
        doc = {"kind": kind, "metric": metric, "confidence": 0.95, "interval": "wilson", "rows": records}
        return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    keys = list(dict.fromkeys(k for kind in tables for k in _fields(kind)))
    columns = ["table", "source", *keys, "task", "metric", "rate", "n", "successes", "ci_low", "ci_high"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "metric": metric} for r in records)
    return buf.getvalue()


def chart_title(kind: str, metric: str = "success") -> str:
    return f"{METRIC_TITLES.get(metric, metric)} {CHART_TITLES[kind]}"


class Chart(NamedTuple):
    path: Path
    panels: list[list[dict[str, Any]]]  # per panel, per cell: row, task, kind (bar|zero|missing), value, n


STUB = 1.5  # height (percentage points) of the stub that marks a measured 0 %


def _colours(rows: list[tuple]) -> list:
    """Table II rows pair up (source × seen/unseen): one hue per source, dark seen, light unseen."""
    import matplotlib

    firsts = list(dict.fromkeys(r[0] for r in rows))
    seconds = sorted({r[1] for r in rows if len(r) == 2})
    if rows and all(len(r) == 2 for r in rows) and len(seconds) <= 2 and len(firsts) <= 10:
        tab20 = matplotlib.colormaps["tab20"]
        return [tab20(2 * firsts.index(r[0]) + seconds.index(r[1])) for r in rows]
    tab10 = matplotlib.colormaps["tab10"]
    return [tab10(k % 10) for k in range(len(rows))]


def draw_panel(ax, cells: Cells, title: str, metric: str = "success", legend_title: str = "") -> list[dict]:
    """Grouped bars (a group per task, a bar per row) with n and 95 % Wilson whiskers.

    A measured 0 % is a stub bar labelled "0"; a missing cell (no result, or every grasp skipped)
    is an "n/a" and never a bar. Returns what each cell became, so tests need no pixels.
    """
    import numpy as np

    rows = sorted(cells, key=row_order)
    x = np.arange(len(TASK_COLUMNS))
    width = 0.8 / max(len(rows), 3)  # one or two rows: narrower bars, not slabs
    under = ax.get_xaxis_transform()  # x in data, y in axes fraction: the n labels sit under the axis
    drawn: list[dict] = []
    labelled: set[tuple] = set()
    for k, (row, colour) in enumerate(zip(rows, _colours(rows))):
        name = " / ".join(row)
        for i, t in enumerate(TASK_COLUMNS):
            pos = x[i] + (k - (len(rows) - 1) / 2) * width
            c = cells[row].get(t)
            n = None if c is None else c["n"]
            gid = f"{name}:{t}"
            if n is not None:
                ax.text(pos, -0.02, f"n={n}", transform=under, rotation=90, ha="center", va="top", fontsize=6,
                        color="0.3", gid=f"n:{gid}")
            if c is None or c["rate"] is None:
                ax.text(pos, 1.5, "n/a", rotation=90, ha="center", va="bottom", fontsize=7, color="0.3",
                        style="italic", gid=f"missing:{gid}")
                drawn.append({"row": row, "task": t, "kind": "missing", "value": None, "n": n})
                continue
            value = 100 * c["rate"]
            kind = "zero" if c["successes"] == 0 else "bar"
            ax.bar(pos, value if kind == "bar" else STUB, width * 0.92, color=colour, edgecolor="0.15",
                   linewidth=0.5, label=None if row in labelled else name, gid=f"{kind}:{gid}")
            labelled.add(row)
            lo, hi = (100 * v for v in wilson_interval(c["successes"], n))
            ax.errorbar(pos, value, yerr=[[value - lo], [hi - value]], fmt="none", ecolor="0.15", elinewidth=0.7,
                        capsize=1.5, gid=f"ci:{gid}")
            ax.text(pos, hi + 1.5, "0" if kind == "zero" else f"{value:.0f}", ha="center", va="bottom",
                    fontsize=6.5, fontweight="bold" if kind == "zero" else "normal", gid=f"value:{gid}")
            drawn.append({"row": row, "task": t, "kind": kind, "value": value, "n": n})
    if not rows:
        ax.text(0.5, 0.5, "no results for this table", transform=ax.transAxes, ha="center", color="0.4")
    ax.set_xticks(x, [TASK_TITLES[t] for t in TASK_COLUMNS])
    ax.tick_params(axis="x", length=0, pad=24)
    ax.set_xlim(-0.5, len(TASK_COLUMNS) - 0.5)
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"{metric} rate (%)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if rows:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title=legend_title or None,
                  title_fontsize=8, frameon=False)
        ax.text(1.01, 0.0, "whiskers: 95% Wilson interval\n0: measured 0% (stub bar)\nn/a: no result, or n=0\n"
                "n: asked episodes (unplaced = failure)", transform=ax.transAxes, fontsize=7, va="bottom", color="0.3")
    return drawn


def bar_chart(panels: Sequence[tuple[str, Cells]], path: str | Path, metric: str = "success") -> Chart:
    """One PNG exactly at ``path``: a panel per (kind, cells), stacked in the order given."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 0.6 + 3.8 * len(panels)), dpi=110, layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    drawn = [draw_panel(ax, cells, chart_title(kind, metric), metric, " / ".join(ROW_TITLES[kind]))
             for ax, (kind, cells) in zip(axes, panels)]
    path = atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
    return Chart(path, drawn)
