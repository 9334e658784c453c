"""A result's scores as text tables: what ``evaluate`` and ``verify`` print and ``render`` builds on."""

from __future__ import annotations

from typing import Any

from dextog_gym.leaderboard.protocol import TASKS, VERIFIERS
from dextog_gym.tables import format_table

TASK_TITLES = {"stapler": "stapler", "sprayer_press": "sprayer press", "sprayer_trigger": "sprayer trigger",
               "bottle": "bottle", "pen": "ballpoint"}


def rate_text(cell: dict[str, Any] | None, n: bool = True) -> str:
    """``54% [45–63] (n=112)``, or ``–`` when nothing was asked."""
    if not cell or cell.get("rate") is None:
        return "–"
    lo, hi = cell["ci95"]
    text = f"{100 * cell['rate']:.0f}% [{100 * lo:.0f}–{100 * hi:.0f}]"
    return f"{text} (n={cell['n']})" if n else text


def metric_text(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def success_table(scores: dict[str, Any], split: str = "all") -> str:
    """Rows: verifiers; columns: tasks and overall."""
    rows = []
    for label in VERIFIERS:
        v = scores["verifiers"][label]
        overall = v["overall"] if split == "all" else None
        rows.append((label, *(rate_text(v["tasks"][t][split]) for t in TASKS), rate_text(overall) if overall else ""))
    return format_table(["verifier", *(TASK_TITLES[t] for t in TASKS), "overall"], rows)


def metrics_table(scores: dict[str, Any]) -> str:
    rows = []
    for task in (*TASKS, "overall"):
        per = scores["metrics"].get(task)
        if per is None:
            continue
        splits = {"all": per} if task == "overall" else per
        for split, m in splits.items():
            rows.append((TASK_TITLES.get(task, task), split, m["n"], metric_text(m["q1"], 3),
                         metric_text(m["pen_cm"], 2), metric_text(None if m["eta_f"] is None else 100 * m["eta_f"], 0),
                         metric_text(m["joint_variance"], 3), metric_text(m["joint_range"], 3)))
    return format_table(["task", "split", "grasps", "Q1", "pen (cm)", "η_f (%)", "joint var", "joint range"], rows)


def generation_text(result: dict[str, Any]) -> str:
    """The generator track's line: what was asked, returned and failed, and the measured speed."""
    gen, run = result.get("generation"), result.get("run", {})
    if not gen:
        return ""
    hidden = result["hidden_objects"]
    lines = [f"Generator on {len(gen['objects'])} hidden objects ({hidden['per_category']} per category, seed sha256 "
             f"{hidden['seed_sha256'][:12]}…): {gen['grasps_returned']} of {gen['grasps_asked']} grasps returned, "
             f"{run.get('ms_per_grasp')} ms/grasp measured, {'isolated' if gen['isolated'] else 'NOT isolated'}"]
    lines += [f"  failed: {message}" for message in gen["failed"].values()]
    return "\n".join(lines)


def result_report(result: dict[str, Any]) -> str:
    meta, s, run = result["submission"]["meta"], result["scores"], result.get("run", {})
    head = (f"{meta['method']} — {result.get('track', 'files')} track, {result['submission']['num_grasps']} grasps; "
            f"{run.get('episodes', '?')} episodes in {run.get('wall_s', '?')} s "
            f"({run.get('workers', '?')} workers, {run.get('backend', 'local')}), "
            f"{run.get('mean_episode_steps', '?')} steps per episode on average")
    taken = result.get("selection", {})
    short = sum(o["shortfall"] for t in taken.values() for o in t.values())
    given = sum(o["given"] - o["distinct_taken"] for t in taken.values() for o in t.values())
    head += (f"\nProtocol {result['protocol']['version']}: {short} grasps short of 20 distinct per covered object "
             f"(failures); {given} grasps given beyond the first 20 distinct or as near-copies (not evaluated)")
    parts = [head, generation_text(result), "Success, seen + unseen objects (every grasp asked for counts):",
             success_table(s), "Unseen objects only:", success_table(s, "unseen"), "Grasp metrics:", metrics_table(s)]
    return "\n\n".join(p for p in parts if p) + "\n"
