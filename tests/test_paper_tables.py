"""The papers' table shapes rebuilt from the committed leaderboard results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dextog_gym.leaderboard.paper_tables import REFERENCE, paper_table, reference_overall
from dextog_gym.leaderboard.protocol import TASKS

SUBMISSIONS = Path(__file__).resolve().parents[1] / "leaderboard" / "submissions"


def _committed() -> list[Path]:
    """Files-track results (every one has seen and unseen cells)."""
    return sorted(p for p in SUBMISSIONS.glob("*.json") if json.loads(p.read_text())["track"] == "files")


def test_reference_overall_pools_every_task_under_its_reference_verifier():
    result = json.loads(_committed()[0].read_text())
    pooled = reference_overall(result)
    cells = [result["scores"]["verifiers"][REFERENCE[t]]["tasks"][t]["all"] for t in TASKS]
    assert pooled["n"] == sum(c["n"] for c in cells) and pooled["successes"] == sum(c["successes"] for c in cells)
    assert pooled["ci95"][0] <= pooled["rate"] <= pooled["ci95"][1]


@pytest.mark.parametrize("shape", ["dextog-ii", "ndpp-2"])
def test_tables_have_a_row_per_result_and_the_papers_rows(shape):
    paths = _committed()[:3]
    text = paper_table(shape, paths, labels=["first", "second"])
    assert "| first |" in text and "| second |" in text and "paper:" in text
    rows = [line for line in text.splitlines()[2:] if not line.startswith("| paper:")]
    assert len(rows) == (2 * len(paths) if shape == "dextog-ii" else len(paths))


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown table shape"):
        paper_table("table-9", _committed()[:1])
    with pytest.raises(ValueError, match="labels"):
        paper_table("ndpp-2", _committed()[:1], labels=["a", "b"])
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="not a leaderboard result"):
        paper_table("ndpp-2", [bad])
