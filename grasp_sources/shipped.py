"""The grasp sets each source ships: ``<assets>/grasps/<source>/<object_id>.npz``.

Sources own their shipped sets (the environments never look here): ``rule``, ``isf`` and
``diffutog`` serve an object's shipped set through ``fixed_grasps`` (dextog_gym.grasps.registry),
in file order, and generate live only for objects without one. Light to import: no trimesh, no torch.
"""

from __future__ import annotations

from pathlib import Path

from dextog_gym.grasps.file_source import FileSource
from dextog_gym.grasps.format import Grasps
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.paths import grasps_dir


def grasp_path(source: str, object_id: str, root: Path | None = None) -> Path:
    """Where ``source``'s set for ``object_id`` lives (under ``root``, default the shipped assets)."""
    return (root or grasps_dir()) / source / f"{object_id}.npz"


def shipped_grasps(source: str, obj: ObjectAsset, task: str) -> Grasps | None:
    """Every shipped ``source`` grasp of ``obj`` in file order; None when the object has no shipped file.

    A file without grasps for the object, or for another task, is a ``ValueError`` (FileSource's).
    """
    path = grasp_path(source, obj.id)
    if not path.is_file():
        return None
    grasps, _ = FileSource(path).fixed_grasps(obj, task)
    return grasps


def check_task(source: str, obj: ObjectAsset, task: str) -> None:
    if task != obj.category:
        raise ValueError(f"object {obj.id} is a {obj.category}; {source} grasps for task {task!r} do not exist")


def served_shipped(source: str, label: str, obj: ObjectAsset, task: str) -> tuple[Grasps, str] | None:
    """``fixed_grasps`` of a model-based source: its shipped set of ``obj`` in file order, or None without one."""
    check_task(label, obj, task)
    grasps = shipped_grasps(source, obj, task)
    return None if grasps is None else (grasps, source)
