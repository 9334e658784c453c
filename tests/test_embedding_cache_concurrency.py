"""The user text-embedding cache under concurrent writers: real processes, a stub encoder, no model load."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from dextog_gym.grasp_sources.diffutog import text_encoder as TE

WRITERS = 3
SENTENCES_EACH = 15


class FakeModel:
    """Deterministic unit vectors from the text's hash; a short sleep stands in for the model's time."""

    def encode(self, sentences, **_: object) -> np.ndarray:
        time.sleep(0.005)
        return np.stack([fake_vector(s) for s in sentences])


def fake_vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(TE.EMBED_DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def sentence(writer: int, i: int) -> str:
    return f"writer {writer} asks for grasp number {i}"


def _write(cache_dir: str, writer: int, barrier) -> None:
    """Child: one encoder, sentences added one embed() call at a time so writes interleave."""
    TE._load_model = FakeModel
    enc = TE.TextEncoder(cache_dir=Path(cache_dir), shipped_path=None)
    enc.embed([sentence(writer, 0)])  # every writer holds its own in-memory view before the others write
    barrier.wait()
    for i in range(1, SENTENCES_EACH):
        enc.embed([sentence(writer, i)])


def _no_model():
    raise AssertionError("every sentence should come from the cache")


def test_concurrent_writers_keep_every_sentence(tmp_path, monkeypatch):
    ctx = mp.get_context("fork")  # the child needs the stub, not an import of this test module
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_write, args=(str(tmp_path), w, barrier)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    keys, _, _ = TE._read_npz(tmp_path / "embeddings.npz")
    wanted = [sentence(w, i) for w in range(WRITERS) for i in range(SENTENCES_EACH)]
    assert sorted(str(k) for k in keys) == sorted(TE.text_key(s) for s in wanted)
    monkeypatch.setattr(TE, "_load_model", _no_model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = TE.TextEncoder(cache_dir=tmp_path, shipped_path=None).embed(wanted)
    np.testing.assert_array_equal(got, np.stack([fake_vector(s) for s in wanted]))


def test_two_encoders_in_one_process_merge(tmp_path, monkeypatch):
    """Each encoder's stale in-memory view must not erase what the other wrote."""
    monkeypatch.setattr(TE, "_load_model", FakeModel)
    a, b = (TE.TextEncoder(cache_dir=tmp_path, shipped_path=None) for _ in range(2))
    a.embed(["first of a"])
    b.embed(["first of b"])
    a.embed(["second of a"])
    b.embed(["second of b"])
    keys, _, _ = TE._read_npz(tmp_path / "embeddings.npz")
    assert len(keys) == len(set(keys.tolist())) == 4


def test_corrupt_cache_is_still_rebuilt_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(TE, "_load_model", FakeModel)
    TE.TextEncoder(cache_dir=tmp_path, shipped_path=None).embed(["kept before the damage"])
    (tmp_path / "embeddings.npz").write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="ignoring text-embedding cache"):
        TE.TextEncoder(cache_dir=tmp_path, shipped_path=None).embed(["after the damage"])
    keys, _, _ = TE._read_npz(tmp_path / "embeddings.npz")
    assert keys.tolist() == [TE.text_key("after the damage")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TE.TextEncoder(cache_dir=tmp_path, shipped_path=None).embed(["after the damage", "one more"])
