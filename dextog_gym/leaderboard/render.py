"""``dextog leaderboard render``: the stored entries as ``README.md`` and one static, sortable HTML page.

The page needs no server and no network: inline CSS, inline SVG bar charts (success with its 95 %
interval as a whisker) and a few lines of inline JavaScript that sort a table by the clicked column.
``#sort=<table>:<column>:<asc|desc>`` in the address applies a sort on load (shareable views; the
browser test uses it). Every value shown comes from the entries' stored scores.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from dextog_gym.files import atomic_write_text
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, RANKED_BY, TASKS, TRACK_LABELS, TRACKS
from dextog_gym.leaderboard.report import TASK_TITLES, metric_text, rate_text
from dextog_gym.tables import format_table

# (header, how to get the value from an entry, text format) for the overall table
_PCT = "pct"


def _overall_columns() -> list[tuple[str, Any, str]]:
    return [
        ("success, residual PPO", lambda e: e["scores"]["verifiers"][RANKED_BY]["overall"], _PCT),
        ("success, controller", lambda e: e["scores"]["verifiers"]["controller"]["overall"], _PCT),
        ("Q1", lambda e: e["scores"]["metrics"]["overall"]["q1"], "3"),
        ("pen (cm)", lambda e: e["scores"]["metrics"]["overall"]["pen_cm"], "2"),
        ("η_f (%)", lambda e: _percent(e["scores"]["metrics"]["overall"]["eta_f"]), "0"),
        ("joint var", lambda e: e["scores"]["metrics"]["overall"]["joint_variance"], "3"),
        ("ms/grasp", lambda e: e["run"].get("ms_per_grasp"), "0"),  # measured (generator track) or –
        ("steps/episode", lambda e: e["run"].get("mean_episode_steps"), "1"),
    ]


def _task_columns(task: str) -> list[tuple[str, Any, str]]:
    def m(e: dict[str, Any], key: str) -> float | None:
        per = e["scores"]["metrics"].get(task, {})
        vals = [(per[s][key], per[s]["n"]) for s in per if per[s][key] is not None]
        n = sum(w for _, w in vals)
        return sum(v * w for v, w in vals) / n if n else None

    return [
        ("success, residual PPO", lambda e: e["scores"]["verifiers"][RANKED_BY]["tasks"][task]["all"], _PCT),
        ("unseen, residual PPO", lambda e: e["scores"]["verifiers"][RANKED_BY]["tasks"][task]["unseen"], _PCT),
        ("success, controller", lambda e: e["scores"]["verifiers"]["controller"]["tasks"][task]["all"], _PCT),
        ("Q1", lambda e: m(e, "q1"), "3"),
        ("pen (cm)", lambda e: m(e, "pen_cm"), "2"),
        ("η_f (%)", lambda e: _percent(m(e, "eta_f")), "0"),
    ]


def _percent(v: float | None) -> float | None:
    return None if v is None else 100 * v


def _text(value: Any, fmt: str) -> str:
    return rate_text(value) if fmt == _PCT else metric_text(value, int(fmt))


def _sort_value(value: Any, fmt: str) -> str:
    v = value.get("rate") if fmt == _PCT and value else value
    return "" if v is None else repr(float(v))


def _md_link(e: dict[str, Any]) -> str:
    """``[method](link)`` with the characters that would break a table cell or the link escaped."""
    text = "".join("\\" + c if c in "\\`*_[]|<>" else c for c in e["method"])
    return f"[{text}]({e['link'].replace(')', '%29').replace('|', '%7C')})"


INTRO = ("Task-oriented dexterous grasps measured in physics: {n} distinct grasps per object (near-copies count "
         "once; a shortfall, grasps that cannot be placed and objects left out count as failures), one rollout per "
         "grasp under the residual PPO verifier (ranking) and the training-free task controller, episode seeds from "
         "a secret. Two tracks, ranked apart: the generator track runs each generator isolated on hidden objects "
         "built from the secret and measures its time per grasp; the files track scores grasp files on the public "
         "objects, where nothing controls how the grasps were selected. 95 % Wilson intervals, n = grasps asked for.")


def by_track(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {t: [e for e in entries if e.get("track") == t] for t in TRACKS}


def markdown(entries: list[dict[str, Any]]) -> str:
    lines = ["# Leaderboard", "", INTRO.format(n=GRASPS_PER_OBJECT) + " Written by `dextog leaderboard render`; the "
             "page with sortable tables and charts is `index.html` beside this file.", ""]
    cols = _overall_columns()
    for track, group in by_track(entries).items():
        lines += [f"## {TRACK_LABELS[track].capitalize()}", ""]
        if not group:
            lines += ["No entries yet.", ""]
            continue
        rows = [(i + 1, _md_link(e), *(_text(get(e), fmt) for _, get, fmt in cols), e["id"])
                for i, e in enumerate(group)]
        lines += ["### Overall", "", format_table(["#", "method", *(c[0] for c in cols), "entry"], rows), ""]
        for task in TASKS:
            tcols = _task_columns(task)
            rows = [(_md_link(e), *(_text(get(e), fmt) for _, get, fmt in tcols)) for e in group]
            lines += [f"### {TASK_TITLES[task]}", "", format_table(["method", *(c[0] for c in tcols)], rows), ""]
    lines += ["ms/grasp: measured by the evaluator around each generator call (generator track); – where not "
              "measured (grasp files).", ""]
    return "\n".join(lines)


def _table(table_id: str, entries: list[dict[str, Any]], cols: list[tuple[str, Any, str]]) -> str:
    head = "".join(f'<th data-col="{i + 1}" tabindex="0">{html.escape(name)}</th>' for i, (name, _, _) in enumerate(cols))
    body = []
    for e in entries:
        cells = "".join(f'<td data-value="{_sort_value(get(e), fmt)}">{html.escape(_text(get(e), fmt))}</td>'
                        for _, get, fmt in cols)
        body.append(f'<tr data-entry="{html.escape(e["id"])}"><td data-value="{html.escape(e["method"].lower())}">'
                    f'<a href="{html.escape(e["link"])}">{html.escape(e["method"])}</a></td>{cells}</tr>')
    return (f'<table id="{table_id}" class="sortable"><thead><tr><th data-col="0" tabindex="0">method</th>{head}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table>')


def _chart(entries: list[dict[str, Any]], get: Any, title: str) -> str:
    """Horizontal bars of success with the 95 % interval as a whisker; 0–100 % axis."""
    left, width, row_h = 330, 360, 22
    height = row_h * len(entries) + 30
    parts = [f'<svg class="chart" width="{left + width + 60}" height="{height}" role="img" '
             f'aria-label="{html.escape(title)}">']
    for tick in range(0, 101, 25):
        x = left + width * tick / 100
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height - 20}" class="grid"/>'
                     f'<text x="{x}" y="{height - 5}" class="tick">{tick}%</text>')
    for i, e in enumerate(entries):
        cell, y = get(e), i * row_h + 4
        rate = cell.get("rate") or 0.0
        lo, hi = cell.get("ci95") or (rate, rate)
        parts.append(f'<text x="{left - 8}" y="{y + 13}" class="label">{html.escape(e["method"][:48])}</text>'
                     f'<rect x="{left}" y="{y}" width="{width * rate:.1f}" height="{row_h - 8}" class="bar"/>'
                     f'<line x1="{left + width * lo:.1f}" y1="{y + 7}" x2="{left + width * hi:.1f}" y2="{y + 7}" '
                     f'class="ci"/><text x="{left + width * hi + 4:.1f}" y="{y + 12}" class="value">'
                     f'{100 * rate:.0f}%</text>')
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1900px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}th{cursor:pointer;background:#f4f4f4;user-select:none}
th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}.chart .bar{fill:#4a7bd0}.chart .ci{stroke:#111;stroke-width:2}
.chart .grid{stroke:#e3e3e3}.chart text{font-size:12px}.chart .label{text-anchor:end}.chart .tick{text-anchor:middle;fill:#777}
h2{margin-top:1.6em}.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}.note{color:#555;max-width:60em}"""

_SCRIPT = """function sortTable(table, col, dir) {
  const body = table.tBodies[0], rows = Array.from(body.rows);
  const key = r => r.cells[col].dataset.value;
  rows.sort((a, b) => {
    const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
    if (x === "" || y === "") return (x === "") - (y === "");  // no value: always last
    const c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
    return dir === "asc" ? c : -c;
  });
  rows.forEach(r => body.appendChild(r));
  table.querySelectorAll("th").forEach(th => th.classList.remove("asc", "desc"));
  table.tHead.rows[0].cells[col].classList.add(dir);
}
document.querySelectorAll("table.sortable th").forEach(th => {
  const go = () => {
    const table = th.closest("table"), col = +th.dataset.col;
    sortTable(table, col, th.classList.contains("desc") ? "asc" : "desc");
  };
  th.addEventListener("click", go);
  th.addEventListener("keydown", ev => { if (ev.key === "Enter") go(); });
});
const m = /^#sort=([\\w-]+):(\\d+):(asc|desc)$/.exec(location.hash);
const target = m && document.getElementById(m[1]);
if (target && target.tHead.rows[0].cells[+m[2]]) {  // through the header's own click handler
  const th = target.tHead.rows[0].cells[+m[2]];
  th.click();
  if (m[3] === "asc") th.click();
}
document.body.dataset.ready = "1";"""


def page(entries: list[dict[str, Any]]) -> str:
    overall = _overall_columns()
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>dextog_gym leaderboard</title>",
             f"<style>{_STYLE}</style></head><body><h1>dextog_gym leaderboard</h1>",
             f'<p class="note">{len(entries)} entries. {html.escape(INTRO.format(n=GRASPS_PER_OBJECT))} Bars: success '
             "under the residual PPO verifier; whiskers: 95 % Wilson intervals. Click a column header to sort.</p>"]
    for track, group in by_track(entries).items():
        parts.append(f'<section id="track-{track}"><h2>{html.escape(TRACK_LABELS[track].capitalize())}</h2>')
        if not group:
            parts.append('<p class="note">No entries yet.</p></section>')
            continue
        parts += ["<h3>Overall</h3>", '<div class="row">', _table(f"{track}-overall", group, overall),
                  _chart(group, overall[0][1], f"overall success, residual PPO verifier ({track} track)"), "</div>"]
        for task in TASKS:
            cols = _task_columns(task)
            parts += [f"<h3>{html.escape(TASK_TITLES[task])}</h3>", '<div class="row">',
                      _table(f"{track}-task-{task}", group, cols),
                      _chart(group, cols[0][1], f"{TASK_TITLES[task]} success, residual PPO verifier"), "</div>"]
        parts.append("</section>")
    parts += ['<p class="note">ms/grasp: measured by the evaluator around each generator call (generator track); '
              "– where not measured (grasp files).</p>", f"<script>{_SCRIPT}</script></body></html>\n"]
    return "".join(parts)


def render(entries: list[dict[str, Any]], folder: Path) -> tuple[Path, Path]:
    """Write ``README.md`` and ``index.html`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md, page_path = folder / "README.md", folder / "index.html"
    atomic_write_text(md, markdown(entries))
    atomic_write_text(page_path, page(entries))
    return md, page_path


def chromium() -> str | None:
    """The headless browser's executable, if installed (Debian's ``chromium`` package)."""
    import shutil

    return next((found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))),
                None)


def browser_command(*args: str) -> list[str]:
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("no chromium on PATH (Debian: apt-get install chromium)")
    return [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]


def screenshot(page_path: Path, png: Path, width: int = 1300, height: int = 1500) -> Path:
    """A PNG of the page's top as headless Chromium draws it."""
    import subprocess

    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(browser_command(f"--screenshot={png}", f"--window-size={width},{height}",
                                   Path(page_path).resolve().as_uri()), check=True, capture_output=True, timeout=120)
    return png
