"""``rule_relaxed``: the shipped ranking is the live ranking, and a stale one is never used."""

from __future__ import annotations

import numpy as np
import pytest

from dextog_gym.grasp_sources import relaxed
from dextog_gym.grasp_sources.relaxed import RelaxedRuleSource
from dextog_gym.objects.catalog import get_object
from dextog_gym.objects.spec import CATEGORIES


def _same(a, b) -> None:
    for name in ("positions", "quats_wxyz", "joints"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert sorted(a.extras) == sorted(b.extras)
    for name in a.extras:
        np.testing.assert_array_equal(a.extras[name], b.extras[name])


@pytest.mark.parametrize("object_id", [f"{c}_001" for c in CATEGORIES])
def test_shipped_ranking_equals_the_live_ranking(object_id):
    obj = get_object(object_id)
    assert object_id in relaxed._shipped_ranking()
    source = RelaxedRuleSource()
    _same(source.ranked(obj, obj.category), source.ranked(obj, obj.category, live=True))


def test_a_ranking_of_another_isf_file_is_ignored(monkeypatch):
    obj = get_object("bottle_001")
    stale = {k: dict(v) for k, v in relaxed._shipped_ranking().items()}
    stale[obj.id]["isf_sha256"] = "0" * 64
    stale[obj.id]["rows"] = list(reversed(stale[obj.id]["rows"]))
    monkeypatch.setattr(relaxed, "_shipped_ranking", lambda: stale)
    _same(RelaxedRuleSource().ranked(obj, "bottle"), RelaxedRuleSource().ranked(obj, "bottle", live=True))


def test_write_shipped_ranking_round_trips(tmp_path, monkeypatch):
    path = relaxed.write_shipped_ranking([get_object("pen_001")], tmp_path / "ranking.json")
    monkeypatch.setattr(relaxed, "ranking_path", lambda: path)
    obj = get_object("pen_001")
    _same(RelaxedRuleSource().ranked(obj, "pen"), RelaxedRuleSource().ranked(obj, "pen", live=True))
