"""DiffuTOG task text: template/attribute table, sampling, validation, and the cached encoder."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dextog_gym.grasp_sources.diffutog import language as L
from dextog_gym.grasp_sources.diffutog import text_encoder as TE
from dextog_gym.objects.spec import CATEGORIES

# ---------------------------------------------------------------- table and templates


def test_counts_match_paper_and_constants():
    parts = {p for v in L.TASKS.values() for p in v.parts}
    affs = {a for v in L.TASKS.values() for a in v.affordances}
    assert len(L.TEMPLATES) == len(set(L.TEMPLATES)) == L.NUM_TEMPLATES == 22
    assert len(L.AGNOSTIC_TEMPLATES) == len(set(L.AGNOSTIC_TEMPLATES)) == L.NUM_AGNOSTIC_TEMPLATES
    assert len(L.ACTIONS) == len(set(L.ACTIONS)) == L.NUM_ACTIONS == 5
    assert sum(len(v.parts) for v in L.TASKS.values()) == len(parts) == L.NUM_PARTS == 16
    assert sum(len(v.affordances) for v in L.TASKS.values()) == len(affs) == L.NUM_AFFORDANCES == 18


def test_tasks_cover_categories_and_templates_are_well_formed():
    assert set(L.TASKS) == set(CATEGORIES)
    for v in L.TASKS.values():
        assert len(v.parts) >= 2 and len(v.affordances) >= 2
    for t in L.TEMPLATES:
        assert all(t.count("{" + f + "}") == 1 for f in ("action", "part", "affordance"))
    for t in L.AGNOSTIC_TEMPLATES:
        assert "{affordance}" not in t and t.count("{action}") == 1
        assert ("{part}" in t) != ("{object}" in t)


@pytest.mark.parametrize("task", list(L.TASKS))
def test_expansions(task):
    v = L.TASKS[task]
    sents = L.task_sentences(task)
    assert sents == sorted(set(sents))
    assert len(sents) == 22 * 5 * len(v.parts) * len(v.affordances)
    assert L.canonical_sentence(task) in sents
    agn = L.agnostic_sentences(task)
    assert agn == sorted(set(agn)) and len(agn) > 0
    for s in agn:
        assert not any(a in s for a in v.affordances), s
        assert "{" not in s
    assert any(v.object_noun in s for s in agn)


def test_unknown_task():
    for fn in (L.task_sentences, L.agnostic_sentences, L.canonical_sentence):
        with pytest.raises(ValueError, match="known tasks: stapler"):
            fn("staplr")
    with pytest.raises(ValueError, match="unknown task"):
        L.sample_sentences("nope", 3, np.random.default_rng(0))


def test_sampling_reproducible():
    a = L.sample_sentences("pen", 50, np.random.default_rng(7))
    b = L.sample_sentences("pen", 50, np.random.default_rng(7))
    c = L.sample_sentences("pen", 50, np.random.default_rng(8))
    assert a == b and a != c
    assert set(a) <= set(L.task_sentences("pen"))
    agn = L.sample_sentences("bottle", 20, np.random.default_rng(0), agnostic=True)
    assert len(agn) == 20 and set(agn) <= set(L.agnostic_sentences("bottle"))
    assert L.sample_sentences("pen", 0, np.random.default_rng(0)) == []
    with pytest.raises(ValueError):
        L.sample_sentences("pen", -1, np.random.default_rng(0))


def test_check_text():
    assert L.check_text("  grasp the cap \n") == "grasp the cap"
    assert L.check_text("a" * 512) == "a" * 512
    with pytest.raises(ValueError, match="task text is empty"):
        L.check_text("")
    with pytest.raises(ValueError, match="task text is empty"):
        L.check_text(" \t\n ")
    with pytest.raises(ValueError, match=r"513 characters.*512"):
        L.check_text("a" * 513)
    with pytest.raises(ValueError, match="must be a str"):
        L.check_text(b"grasp the cap")
    with pytest.raises(ValueError, match="must be a str"):
        L.check_text(None)
    for bad in ("grasp\x00the cap", "grasp the \x1b[31mcap", "grasp\x7f", "cap\x9bx"):
        with pytest.raises(ValueError, match="control character"):
            L.check_text(bad)
    assert L.check_text("grasp\tthe\ncap") == "grasp\tthe\ncap"


# ---------------------------------------------------------------- encoder and caches

CUSTOM = "squeeze the blue stapler gently with two fingers"


@pytest.fixture(scope="module")
def model():
    return TE._load_model()


def _unit(x: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5))


def test_shipped_cache_covers_templates_without_model(tmp_path, monkeypatch):
    def boom():
        raise AssertionError("model must not load")

    monkeypatch.setattr(TE, "_load_model", boom)
    index, vecs = TE._shipped_index(TE.SHIPPED_CACHE)
    assert vecs.shape == (len(TE.all_template_sentences()), TE.EMBED_DIM)
    sents = [L.canonical_sentence(t) for t in L.TASKS]
    sents += L.sample_sentences("bottle", 5, np.random.default_rng(1), agnostic=True)
    out = TE.TextEncoder(cache_dir=tmp_path).embed(sents)
    assert out.shape == (len(sents), 384) and out.dtype == np.float32 and _unit(out)
    assert not (tmp_path / "embeddings.npz").exists()  # nothing new to cache
    with pytest.raises(AssertionError, match="must not load"):
        TE.TextEncoder(cache_dir=tmp_path).embed([CUSTOM])


def test_embed_shape_norm_and_cache_roundtrip(tmp_path, model, monkeypatch):
    enc = TE.TextEncoder(cache_dir=tmp_path)
    out = enc.embed([CUSTOM, "  " + CUSTOM + " ", "pick up the stapler"])
    assert out.shape == (3, 384) and out.dtype == np.float32 and _unit(out)
    np.testing.assert_array_equal(out[0], out[1])
    assert (tmp_path / "embeddings.npz").is_file() and (tmp_path / "meta.json").is_file()
    np.testing.assert_array_equal(enc.embed([CUSTOM])[0], out[0])
    # A new process-like encoder reads it back with the model unavailable.
    monkeypatch.setattr(TE, "_load_model", lambda: (_ for _ in ()).throw(RuntimeError("no")))
    again = TE.TextEncoder(cache_dir=tmp_path).embed([CUSTOM, L.canonical_sentence("pen")])
    np.testing.assert_array_equal(again[0], out[0])
    with pytest.raises(ValueError):
        enc.embed(["ok", ""])


def test_shipped_equals_fresh_encode(model):
    sents = [L.canonical_sentence("stapler"), L.agnostic_sentences("pen")[3]]
    fresh = TE._encode(model, sents)
    cached = TE.TextEncoder(cache_dir=None).embed(sents)  # all shipped: no user-cache I/O
    np.testing.assert_allclose(cached, fresh, atol=1e-3)


@pytest.mark.parametrize("damage", ["garbage", "wrong_dim", "wrong_encoder"])
def test_bad_user_cache_warns_and_rebuilds(tmp_path, model, damage):
    TE.TextEncoder(cache_dir=tmp_path).embed([CUSTOM])
    npz, meta = tmp_path / "embeddings.npz", tmp_path / "meta.json"
    if damage == "garbage":
        npz.write_bytes(b"not a zip file at all")
    elif damage == "wrong_dim":
        np.savez(npz, keys=np.array([TE.text_key(CUSTOM)]), vectors=np.zeros((1, 768), np.float32))
    else:
        meta.write_text('{"encoder": "other-model", "version": "1", "dim": 384}')
    with pytest.warns(UserWarning, match="ignoring text-embedding cache"):
        out = TE.TextEncoder(cache_dir=tmp_path).embed([CUSTOM])
    assert out.shape == (1, 384) and _unit(out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rebuilt cache is clean again
        TE.TextEncoder(cache_dir=tmp_path).embed([CUSTOM])


def test_semantic_sanity(model):
    enc = TE.TextEncoder(cache_dir=None)
    s1, s2, b = enc.embed(
        [
            "please grasp the top of the stapler so that you can staple the papers",
            "hold the arm of the stapler in order to bind the documents",
            "please grasp the cap of the bottle so that you can open the bottle",
        ]
    )
    assert float(s1 @ s2) > float(s1 @ b)
    # Mean within-task similarity beats mean cross-task similarity for every task.
    rng = np.random.default_rng(0)
    embs = {t: enc.embed(L.sample_sentences(t, 20, rng)) for t in L.TASKS}
    for t, e in embs.items():
        within = float((e @ e.T).mean())
        for u, f in embs.items():
            if u != t:
                assert within > float((e @ f.T).mean()), (t, u)
