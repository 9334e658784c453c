"""Training data for DiffuTOG: grasp vectors, object clouds and the text pool each grasp draws from.

A training grasp carries no sentence of its own: every batch draws a fresh description from its
task's template expansion (task-oriented grasps) or from the task-agnostic expansion (raw grasps
added with ``agnostic``), as DexTOG pairs each grasp with a randomly chosen sentence. Embeddings
of all template sentences come from the cache, so training never waits on the encoder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from dextog_gym.files import sha256_file
from dextog_gym.grasp_sources.diffutog.representation import POS_SCALE_M, encode
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset, get_object
from dextog_gym.objects.shape import object_shape

OBJECT_POINTS = 512
PREPARED_FORMAT = "dextog-diffutog-data-1"
_CLOUD_SEED = 5


def object_cloud(asset: ObjectAsset, n: int = OBJECT_POINTS) -> np.ndarray:
    """A fixed farthest-point subset [n, 3] of the object's rest surface, object frame, / POS_SCALE."""
    from dextog_gym.metrics.grasp_quality import object_points

    return (object_points(object_shape(asset), n) / POS_SCALE_M).astype(np.float32)


def expand_grasp_paths(specs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files and folders (every ``*.npz`` inside, sorted) -> grasp files; missing paths are errors."""
    out: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(path.glob("*.npz"))
            if not found:
                raise ValueError(f"{path}: folder holds no .npz grasp files")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such grasp file or folder")
    return out


@dataclass
class TrainingData:
    object_ids: list[str]
    clouds: np.ndarray  # float32 [O, P, 3], scaled
    x: np.ndarray  # float32 [N, 33]
    object_index: np.ndarray  # int64 [N]
    text_group: np.ndarray  # int64 [N] into groups
    groups: list[str]  # "task" or "task/agnostic"
    group_embeddings: list[np.ndarray]  # float32 [S_g, 384] per group
    sources: list[dict] = field(default_factory=list)  # what went in (file, sha256, grasps)

    def __len__(self) -> int:
        return len(self.x)

    def summary(self) -> dict:
        counts = {g: int((self.text_group == i).sum()) for i, g in enumerate(self.groups)}
        return {"grasps": len(self), "objects": len(self.object_ids), "per_group": counts, "sources": self.sources}

    def save(self, path: str | os.PathLike) -> None:
        """A prepared-data file: everything training reads, so a machine without the sentence encoder
        or the object generator (a rented GPU) can train. Plain arrays + JSON, no pickle."""
        import json

        from dextog_gym.files import atomic_write

        arrays = {"x": self.x, "object_index": self.object_index, "text_group": self.text_group, "clouds": self.clouds,
                  "meta": np.array(json.dumps({"format": PREPARED_FORMAT, "object_ids": self.object_ids,
                                               "groups": self.groups, "sources": self.sources}))}
        arrays.update({f"embeddings_{i}": e for i, e in enumerate(self.group_embeddings)})
        atomic_write(Path(path), lambda fh: np.savez_compressed(fh, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainingData:
        import json

        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            if meta.get("format") != PREPARED_FORMAT:
                raise ValueError(f"{path}: not a prepared DiffuTOG training-data file ({PREPARED_FORMAT})")
            groups = list(meta["groups"])
            data = cls(list(meta["object_ids"]), f["clouds"].astype(np.float32), f["x"].astype(np.float32),
                       f["object_index"].astype(np.int64), f["text_group"].astype(np.int64), groups,
                       [f[f"embeddings_{i}"].astype(np.float32) for i in range(len(groups))], list(meta["sources"]))
        n, o, g = len(data.x), len(data.object_ids), len(groups)
        if (data.x.ndim != 2 or data.x.shape[1] != 33 or data.object_index.shape != (n,) or data.text_group.shape != (n,)
                or data.clouds.shape[0] != o or (n and (data.object_index.max() >= o or data.text_group.max() >= g
                                                        or min(data.object_index.min(), data.text_group.min()) < 0))
                or not np.isfinite(data.x).all()):
            raise ValueError(f"{path}: prepared training data has inconsistent shapes or indices")
        return data


def build_training_data(task_sets: Sequence[Grasps | str | os.PathLike],
                        agnostic_sets: Sequence[Grasps | str | os.PathLike] = (),
                        encoder=None) -> TrainingData:
    """Grasp files or sets (task-oriented, and optional task-agnostic ones) -> TrainingData.

    Every object must be a catalogue object whose category is the grasp set's task for it: a
    set that says otherwise is inconsistent and is refused, as is an empty total.
    """
    from dextog_gym.grasp_sources.diffutog.language import (
        agnostic_sentences,
        task_sentences,
    )

    object_ids: list[str] = []
    xs, objs, groups_of = [], [], []
    groups: list[str] = []
    sources: list[dict] = []
    for agnostic, sets in ((False, task_sets), (True, agnostic_sets)):
        for item in sets:
            grasps = item if isinstance(item, Grasps) else Grasps.load(item)
            label = str(item) if not isinstance(item, Grasps) else grasps.provenance.get("source", "memory")
            doc = {"data": label, "agnostic": agnostic, "grasps": len(grasps)}
            if not isinstance(item, Grasps):
                doc["sha256"] = sha256_file(item)
            sources.append(doc)
            for pos, (oid, task) in enumerate(zip(grasps.object_ids, grasps.tasks)):
                rows = np.flatnonzero(grasps.object_index == pos)
                if len(rows) == 0:
                    continue
                asset = get_object(oid)
                if asset.category != task:
                    raise ValueError(f"{label}: object {oid} is a {asset.category} but its grasps are labelled "
                                     f"for task {task!r}")
                if oid not in object_ids:
                    object_ids.append(oid)
                group = f"{task}/agnostic" if agnostic else task
                if group not in groups:
                    groups.append(group)
                xs.append(encode(grasps.positions[rows], grasps.quats_wxyz[rows], grasps.joints[rows]))
                objs.append(np.full(len(rows), object_ids.index(oid)))
                groups_of.append(np.full(len(rows), groups.index(group)))
    if not xs:
        raise ValueError("no training grasps: the given grasp sets are empty")
    if encoder is None:
        from dextog_gym.grasp_sources.diffutog.text_encoder import TextEncoder

        encoder = TextEncoder()
    embeddings = []
    for group in groups:
        task, _, kind = group.partition("/")
        sentences = agnostic_sentences(task) if kind else task_sentences(task)
        embeddings.append(np.asarray(encoder.embed(sentences), np.float32))
    clouds = np.stack([object_cloud(get_object(o)) for o in object_ids])
    return TrainingData(object_ids, clouds, np.concatenate(xs), np.concatenate(objs).astype(np.int64),
                        np.concatenate(groups_of).astype(np.int64), groups, embeddings, sources)


class BatchSampler:
    """Batches of K objects × B/K grasps each: the object cloud is encoded once per object."""

    def __init__(self, data: TrainingData, batch: int, objects_per_batch: int, seed: int) -> None:
        self.data, self.batch = data, batch
        self.k = max(1, min(objects_per_batch, len(data.object_ids), batch))
        self.rng = np.random.default_rng(seed)
        self.rows_of = [np.flatnonzero(data.object_index == o) for o in range(len(data.object_ids))]
        self.nonempty = np.array([o for o, r in enumerate(self.rows_of) if len(r)])
        sizes = np.array([len(self.rows_of[o]) for o in self.nonempty], float)
        self.weights = sizes / sizes.sum()  # each grasp equally likely overall

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x [B,33], text [B,384], unique object ids [K], slot of each row in them [B])."""
        d = self.data
        chosen = self.rng.choice(self.nonempty, size=self.k, replace=len(self.nonempty) < self.k, p=self.weights)
        per = np.full(self.k, self.batch // self.k)
        per[: self.batch - per.sum()] += 1
        rows = np.concatenate([self.rng.choice(self.rows_of[o], size=n) for o, n in zip(chosen, per)])
        slot = np.repeat(np.arange(self.k), per)
        text = np.stack([d.group_embeddings[g][self.rng.integers(len(d.group_embeddings[g]))]
                         for g in d.text_group[rows]])
        return d.x[rows], text.astype(np.float32), chosen, slot
