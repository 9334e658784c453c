"""Table I/III-shaped grasp quality: Q1, penetration and collision-free rate on seen / unseen objects.

The figures are those of ``dextog metrics`` (metrics/report.py: Q1 zeroed at pen ≥ 0.5 cm,
η_f = share with pen < 0.5 cm), pooled over every grasp of a set, so they compare directly with
the paper's Table III, which we print beside them (numbers copied from the paper; their objects,
hand model and simulator differ from ours).
"""

from __future__ import annotations

from pathlib import Path

PAPER_TABLE_III = [
    ("paper: DiffuTOG w. Emb_H", 0.0533, 0.578, 0.06, 0.0416, 0.588, 0.07),
    ("paper: DiffuTOG w.o. Emb_H + T", 0.0664, 0.872, 0.39, 0.0693, 0.671, 0.39),
    ("paper: DiffuTOG w. Emb_H + T", 0.1067, 0.410, 0.63, 0.0930, 0.385, 0.505),
]


def _pooled(path: Path, max_per_object: int) -> dict[str, float]:
    from dextog_gym.metrics.report import grasp_set_metrics

    rows = grasp_set_metrics(path, max_per_object=max_per_object)
    last = rows[-1]
    return {"grasps": int(last["grasps"]), "q1": float(last["Q1"]), "pen": float(last["pen cm"]),
            "eta": float(last["η_f"])}


def table3_rows(rows: list[tuple[str, Path, Path]], max_per_object: int = 200) -> list[dict]:
    return [{"name": name, "seen": _pooled(seen, max_per_object), "unseen": _pooled(unseen, max_per_object)}
            for name, seen, unseen in rows]


def format_table3(rows: list[dict]) -> str:
    lines = ["| method | seen Q1 ↑ | seen pen (cm) ↓ | seen η_f ↑ | unseen Q1 ↑ | unseen pen (cm) ↓ | unseen η_f ↑ | grasps (seen/unseen) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, u = r["seen"], r["unseen"]
        lines.append(f"| {r['name']} | {s['q1']:.3f} | {s['pen']:.2f} | {s['eta']:.0%} | {u['q1']:.3f} | {u['pen']:.2f} | "
                     f"{u['eta']:.0%} | {s['grasps']}/{u['grasps']} |")
    for name, sq, sp, se, uq, up, ue in PAPER_TABLE_III:
        lines.append(f"| {name} | {sq:.4f} | {sp:.3f} | {se:.0%} | {uq:.4f} | {up:.3f} | {ue:.1%} | |")
    return "\n".join(lines)
