"""Table I/III-shaped grasp quality: Q1, penetration and collision-free rate on seen / unseen objects.

The figures are those of ``dextog metrics`` (metrics/report.py: Q1 zeroed at pen ≥ 0.5 cm,
η_f = share with pen < 0.5 cm), pooled over every grasp of a set, so they compare directly with
the paper's Table III, which we print beside them (numbers copied from the paper; their objects,
hand model and simulator differ from ours).
"""

from __future__ import annotations

from pathlib import Path

# DexTOG Table I (task-agnostic quality against the papers' baselines): Q1 and pen only, no η_f.
PAPER_TABLE_I = [
    ("paper: GraspTTA", 0.0391, 0.832, None, 0.0178, 0.923, None),
    ("paper: UniDexGrasp", 0.0734, 0.201, None, 0.0698, 0.255, None),
    ("paper: DexTOG (ours)", 0.1067, 0.410, None, 0.0930, 0.385, None),
]
PAPER_TABLE_III = [
    ("paper: DiffuTOG w. Emb_H", 0.0533, 0.578, 0.06, 0.0416, 0.588, 0.07),
    ("paper: DiffuTOG w.o. Emb_H + T", 0.0664, 0.872, 0.39, 0.0693, 0.671, 0.39),
    ("paper: DiffuTOG w. Emb_H + T", 0.1067, 0.410, 0.63, 0.0930, 0.385, 0.505),
]


def _pooled(path: Path, max_per_object: int, split: str) -> dict[str, float]:
    """Means with 95 % intervals: normal-approximation for Q1 and penetration, Wilson for η_f."""
    from dextog_gym.metrics.intervals import mean_half_width, wilson_interval
    from dextog_gym.metrics.report import pooled_figures

    e = pooled_figures(path, max_per_object=max_per_object, split=split)
    n = len(e["pen_cm"])
    out: dict[str, float] = {"grasps": n}
    for key, values in (("q1", e["q1_valid"]), ("pen", e["pen_cm"])):
        out[key], out[f"{key}_ci"] = float(values.mean()), mean_half_width(values)
    free = int((e["pen_cm"] < 0.5).sum())
    out["eta"] = free / n
    out["eta_lo"], out["eta_hi"] = wilson_interval(free, n)
    out["pads"] = float(e["pad_contacts"].mean())
    return out


def table3_rows(rows: list[tuple[str, Path, Path]], max_per_object: int = 200) -> list[dict]:
    return [{"name": name, "seen": _pooled(seen, max_per_object, "seen"),
             "unseen": _pooled(unseen, max_per_object, "unseen")}
            for name, seen, unseen in rows]


def format_table3(rows: list[dict], paper: str = "iii") -> str:
    """Ours with ± half-widths (Q1, pen) and [interval] (η_f), n per split; the paper's Table I or III rows below."""
    if paper not in PAPER_ROWS:
        raise ValueError(f"paper table must be one of {', '.join(PAPER_ROWS)}, got {paper!r}")
    lines = ["| method | seen Q1 ↑ | seen pen (cm) ↓ | seen η_f ↑ | unseen Q1 ↑ | unseen pen (cm) ↓ | unseen η_f ↑ | "
             "pads in contact (seen) | n (seen/unseen) |",
             "|---|---|---|---|---|---|---|---|---|"]

    def cells(d: dict) -> str:
        return (f"{d['q1']:.3f} ± {d['q1_ci']:.3f} | {d['pen']:.2f} ± {d['pen_ci']:.2f} | "
                f"{d['eta']:.0%} [{d['eta_lo']:.0%}–{d['eta_hi']:.0%}]")

    for r in rows:
        s, u = r["seen"], r["unseen"]
        lines.append(f"| {r['name']} | {cells(s)} | {cells(u)} | {s['pads']:.2f} | {s['grasps']}/{u['grasps']} |")
    rate = lambda v, fmt: "–" if v is None else format(v, fmt)  # noqa: E731
    for name, sq, sp, se, uq, up, ue in PAPER_ROWS[paper]:
        lines.append(f"| {name} | {sq:.4f} | {sp:.3f} | {rate(se, '.0%')} | {uq:.4f} | {up:.3f} | {rate(ue, '.1%')} | | |")
    return "\n".join(lines)


PAPER_ROWS = {"i": PAPER_TABLE_I, "iii": PAPER_TABLE_III}
