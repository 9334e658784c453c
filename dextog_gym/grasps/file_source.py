"""A saved grasp file as a source: how any new generator is evaluated without plugging in code.

The path is one ``.npz`` or a folder of them (one per object, as ``dextog grasps generate`` writes),
loaded (and fully validated) once; ``sample`` only draws rows, so sampling is cheap
and reproducible for a given ``rng``.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dextog_gym.files import sha256_file, sha256_text
from dextog_gym.grasps.format import Grasps

if TYPE_CHECKING:
    from dextog_gym.objects.catalog import ObjectAsset


def grasp_files(folder: Path) -> list[Path]:
    """The ``.npz`` files of a folder of per-object sets, in name order (an error when there are none)."""
    files = sorted(folder.glob("*.npz"))
    if not files:
        raise ValueError(f"{folder}: the folder holds no .npz grasp files")
    return files


def load_grasps(path: str | os.PathLike) -> Grasps:
    """One ``.npz``, or every ``.npz`` of a folder (what ``dextog grasps generate`` writes) as one set."""
    path = Path(path)
    if path.is_dir():
        return Grasps.concat([Grasps.load(f) for f in grasp_files(path)])
    return Grasps.load(path)


def grasps_digest(path: str | os.PathLike) -> str:
    """sha256 of a grasp file, or of a folder's per-object files (their names and digests): a changed, added
    or removed file changes it."""
    path = Path(path)
    if path.is_dir():
        return sha256_text("\n".join(f"{f.name} {sha256_file(f)}" for f in grasp_files(path)))
    return sha256_file(path)


class FileSource:
    """Grasps read from one ``.npz`` written by :meth:`Grasps.save`, or from every ``.npz`` of a folder."""

    name = "file"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._grasps = load_grasps(self.path)
        self._sha256 = grasps_digest(self.path)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, {len(self._grasps)} grasps, {len(self.object_ids())} objects)"

    @property
    def sha256(self) -> str:
        """The file's sha256 (a folder's: over its files' names and digests), computed once when loaded."""
        return self._sha256

    @property
    def grasps(self) -> Grasps:
        """Everything in the file."""
        return self._grasps

    def object_ids(self) -> list[str]:
        return list(self._grasps.object_ids)

    def fixed_grasps(self, obj: ObjectAsset, task: str) -> tuple[Grasps, str]:
        """Every grasp of ``obj`` in file order, so an env's ``grasp_index`` is the object's row in the file."""
        obj_id = obj.id
        if obj_id not in self._grasps.object_ids:
            raise ValueError(f"{self.path}: no grasps for object {obj_id!r}")
        own_task = self._grasps.task_of(obj_id)
        if own_task != task:
            raise ValueError(f"{self.path}: grasps of {obj_id!r} are for task {own_task!r}")
        grasps = self._grasps.for_object(obj_id)
        if len(grasps) == 0:
            raise ValueError(f"{self.path}: no grasps for object {obj_id!r}")
        return grasps, self.name

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        """``n`` of the file's grasps for ``obj``, drawn with ``rng``.

        With ``n`` up to the number available the draw is without replacement, in random order.
        Beyond it, every grasp appears once and the remaining ``n - available`` are drawn with
        replacement, all shuffled together. Provenance is the file's, plus ``file`` (its name)
        and ``file_sha256``.
        """
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        obj_id = obj.id
        if obj_id not in self._grasps.object_ids:
            raise ValueError(f"{self.path}: no grasps for object {obj_id!r}; the file has: "
                             f"{', '.join(self._grasps.object_ids) or '(no objects)'}")
        own_task = self._grasps.task_of(obj_id)
        if own_task != task:
            raise ValueError(f"{self.path}: grasps of {obj_id!r} are for task {own_task!r}, not {task!r}")
        pool = self._grasps.for_object(obj_id)
        available = len(pool)
        if available == 0 and n > 0:
            raise ValueError(f"{self.path}: object {obj_id!r} is listed but has no grasps")
        if n <= available:
            idx = rng.choice(available, size=n, replace=False)
        else:
            extra = rng.integers(0, available, size=n - available)
            idx = rng.permutation(np.concatenate([np.arange(available), extra]))
        out = pool.select(idx)
        provenance = {**out.provenance, "file": self.path.name, "file_sha256": self._sha256}
        return out.replace(provenance=provenance)
