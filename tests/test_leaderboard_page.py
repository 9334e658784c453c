"""The rendered leaderboard page in a real browser: it loads, its script runs, and its tables sort.

Headless Chromium (Debian's ``chromium`` package; ``make test`` installs it where it can). The page's
``#sort=<table>:<column>:<asc|desc>`` address clicks the header through its own click handler, so the
dumped DOM shows what a user's clicks would.
"""

from __future__ import annotations

import copy
import re
import subprocess

import pytest

from dextog_gym.leaderboard.render import browser_command, chromium, page, screenshot
from dextog_gym.leaderboard.protocol import TASKS

pytestmark = pytest.mark.skipif(chromium() is None, reason="no chromium on PATH (apt-get install chromium)")


def _entry(name: str, ms: float, rate: float, track: str = "generator") -> dict:
    cell = {"successes": int(100 * rate), "n": 100, "placed": 100, "skipped": 0, "missing": 0, "rate": rate,
            "ci95": [max(0.0, rate - 0.1), min(1.0, rate + 0.1)]}
    per_task = {t: {"seen": cell, "unseen": cell, "all": cell} for t in TASKS}
    metric = {"n": 10, "q1": 0.05, "pen_cm": 0.4, "eta_f": 0.7, "self_collision": 0.0, "joint_variance": 0.02,
              "joint_range": 0.3}
    scores = {"verifiers": {v: {"tasks": copy.deepcopy(per_task), "overall": cell} for v in ("controller", "residual")},
              "metrics": {**{t: {"seen": metric, "unseen": metric} for t in TASKS}, "overall": metric},
              "ranking_score": rate}
    return {"id": name, "method": f"method {name}", "link": f"https://example.org/{name}", "ranking_score": rate,
            "submitted_at": "2026-11-30T00:00:00Z", "file": f"{name}.json", "scores": scores,
            "meta": {"ms_per_grasp": ms}, "track": track, "run": {"ms_per_grasp": ms, "mean_episode_steps": 50.0}}


ENTRIES = [_entry("a", 30, 0.8), _entry("b", 10, 0.5), _entry("c", 20, 0.2), _entry("f", 0, 0.9, "files")]


def _dom(path, fragment: str = "") -> str:
    out = subprocess.run(browser_command("--dump-dom", path.resolve().as_uri() + fragment), capture_output=True,
                         text=True, timeout=120, check=True)
    return out.stdout


def _order(dom: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}".*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
    return re.findall(r'<tr data-entry="(\w+)"', body)


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "index.html"
    path.write_text(page(ENTRIES))
    return path


def test_the_page_loads_and_its_script_runs(page_file):
    dom = _dom(page_file)
    assert 'data-ready="1"' in dom  # the script ran to its end without an error
    assert _order(dom, "generator-overall") == ["a", "b", "c"]  # as stored: best first, tracks apart
    assert _order(dom, "files-overall") == ["f"]
    assert dom.count("<svg") == 2 * (1 + len(TASKS)) and dom.count('class="ci"') == len(ENTRIES) * (1 + len(TASKS))
    assert "selection not controlled" in dom


@pytest.mark.parametrize("fragment,expected", [
    ("#sort=generator-overall:7:asc", ["b", "c", "a"]),  # ms/grasp, ascending: two clicks
    ("#sort=generator-overall:7:desc", ["a", "c", "b"]),  # one click
    ("#sort=generator-overall:1:asc", ["c", "b", "a"]),  # success, worst first
    ("#sort=generator-overall:0:desc", ["c", "b", "a"]),  # method names, text order
    ("#sort=generator-task-pen:1:asc", ["c", "b", "a"]),
])
def test_clicking_a_header_sorts_its_table(page_file, fragment, expected):
    dom = _dom(page_file, fragment)
    table = fragment.split("=")[1].split(":")[0]
    assert _order(dom, table) == expected
    other = "generator-overall" if table != "generator-overall" else "generator-task-pen"
    assert _order(dom, other) == ["a", "b", "c"]  # other tables keep their order
    col = int(fragment.split(":")[1])
    assert re.search(rf'<table id="{table}".*?data-col="{col}"[^>]*class="{fragment.rsplit(":", 1)[1]}"', dom, re.S)


def test_a_screenshot_is_a_png(page_file, tmp_path):
    png = screenshot(page_file, tmp_path / "shot.png", width=800, height=600)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
