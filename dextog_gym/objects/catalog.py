"""Finding objects: by id in the built-in catalogue, or from any folder a user supplies.

A user object is a folder with a URDF and an ``annotation.json`` (docs/object_format.md);
:func:`load_object_dir` checks both and cross-checks the annotation against the URDF,
so the rest of the code never needs to know whether an object was generated.
"""

from __future__ import annotations

import difflib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dextog_gym.objects.annotation import (
    AnnotationError,
    ObjectAnnotation,
    load_annotation,
)
from dextog_gym.objects.spec import CATEGORIES, SPLIT_CHOICES, SPLIT_FILE, SPLITS
from dextog_gym.paths import objects_dir, require

MAX_URDF_BYTES = 16 * 1024 * 1024
ANNOTATION_FILE = "annotation.json"


@dataclass(frozen=True)
class ObjectAsset:
    id: str
    folder: Path
    annotation: ObjectAnnotation
    split: str | None  # "seen" | "unseen" for catalogue objects, None for user objects

    @property
    def category(self) -> str:
        return self.annotation.category

    @property
    def urdf_path(self) -> Path:
        return self.folder / self.annotation.urdf


def _urdf_structure(path: Path) -> tuple[set[str], dict[str, str]]:
    """Link names and {joint name: joint type} of a URDF, with errors naming the file."""
    if not path.is_file():
        raise AnnotationError(path, "urdf", "URDF file not found")
    if path.stat().st_size > MAX_URDF_BYTES:
        raise AnnotationError(path, "urdf", f"larger than {MAX_URDF_BYTES} bytes")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise AnnotationError(path, "urdf", f"not valid XML: {exc}") from None
    if root.tag != "robot":
        raise AnnotationError(path, "urdf", f"root element is <{root.tag}>, expected <robot>")
    links = {link.get("name", "") for link in root.findall("link")}
    joints = {j.get("name", ""): j.get("type", "") for j in root.findall("joint")}
    return links, joints


def load_object_dir(folder: Path | str, split: str | None = None) -> ObjectAsset:
    """Load and cross-check one object folder (built-in or user-supplied)."""
    folder = Path(folder)
    ann_path = folder / ANNOTATION_FILE
    ann = load_annotation(ann_path)
    urdf = folder / ann.urdf
    links, joints = _urdf_structure(urdf)
    joint = ann.task_joint
    if joint.name not in joints:
        raise AnnotationError(ann_path, "task_joint.name",
                              f"joint {joint.name!r} not in {urdf} (joints: {sorted(joints)})")
    if joints[joint.name] != joint.kind:
        raise AnnotationError(ann_path, "task_joint.type",
                              f"{joint.kind!r} but {urdf} declares {joint.name!r} as {joints[joint.name]!r}")
    for name, part in ann.parts.items():
        if part.link not in links:
            raise AnnotationError(ann_path, f"parts.{name}.link", f"link {part.link!r} not in {urdf}")
    return ObjectAsset(ann.id, folder, ann, split)


def _stamp() -> tuple[Path, int]:
    """The current objects folder and its split.json's mtime: the caches' key, so that switching
    ``$DEXTOG_ASSETS`` (a hidden tree) or rebuilding a tree is picked up without a restart."""
    path = require(objects_dir() / SPLIT_FILE, "the object split (objects/split.json)")
    return path.parent, path.stat().st_mtime_ns


def _split() -> dict[str, str]:
    return _read_split(*_stamp())


@lru_cache(maxsize=8)
def _read_split(root: Path, mtime_ns: int) -> dict[str, str]:
    doc = json.loads((root / SPLIT_FILE).read_text())
    return {obj: name for name in SPLITS for obj in doc[name]}


def clear_catalog_cache() -> None:
    """Forget every parsed split, object and object shape (a tree rebuilt in place within one ns)."""
    from dextog_gym.objects.shape import _shape_cached

    _read_split.cache_clear()
    _load_catalogue_object.cache_clear()
    _shape_cached.cache_clear()


def list_objects(category: str | None = None, split: str | None = None) -> list[str]:
    """Catalogue ids, optionally one category and/or one split ("seen", "unseen", "all")."""
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
    if split is not None and split not in SPLIT_CHOICES:
        raise ValueError(f"unknown split {split!r}; use {', '.join(map(repr, SPLIT_CHOICES))}")
    known = _split()
    ids = sorted(known)
    if category is not None:
        ids = [i for i in ids if _category_of(i) == category]
    if split in SPLITS:
        ids = [i for i in ids if known[i] == split]
    return ids


def _category_of(obj_id: str) -> str:
    return obj_id.rsplit("_", 1)[0]


def get_object(obj_id: str) -> ObjectAsset:
    """A catalogue object by id; unknown ids get a clear error with close matches."""
    root, stamp = _stamp()
    known = _read_split(root, stamp)
    if obj_id not in known:
        close = difflib.get_close_matches(obj_id, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown object id {obj_id!r}.{hint} (`dextog assets list` shows all {len(known)})")
    return _load_catalogue_object(root, stamp, obj_id, known[obj_id])


@lru_cache(maxsize=None)
def _load_catalogue_object(root: Path, stamp: int, obj_id: str, split: str) -> ObjectAsset:
    return load_object_dir(root / _category_of(obj_id) / obj_id, split=split)
