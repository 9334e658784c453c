"""A leaderboard submission: ``submission.json`` + one ``Grasps`` .npz per object (or per task), as a folder or zip.

Everything in a submission is untrusted. What is checked, before any grasp reaches an environment:

* layout: a flat folder (or zip) of ``submission.json`` and ``*.npz`` with plain names — no sub-folders,
  ``..``, absolute paths, backslashes or links (zip members are never extracted by name);
* sizes: each file, the number of files and the total (zip: declared and actual uncompressed bytes,
  so a zip bomb is refused before it is inflated);
* metadata: required fields with their types and lengths, no unknown fields, an http(s) link;
* grasps: ``Grasps.load`` (no pickle; schema, shapes, finiteness, joint limits, wrist distance), every
  object a catalogue object of its task, no (object, task) given twice.

Nothing named inside a submission is imported or executed. Every refusal is a ``SubmissionError`` that
names the file and the field.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dextog_gym.files import sha256_file
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import list_objects
from dextog_gym.objects.spec import CATEGORIES

META_FILE = "submission.json"
MAX_META_BYTES = 64 << 10
MAX_FILE_BYTES = 32 << 20  # the largest shipped per-object set is ~60 kB; 16 grasps x 80 objects fit in 1 MB
MAX_FILES = 2 * 5 * 80 + 1  # one file per object and task at most, twice over, plus the metadata
MAX_TOTAL_BYTES = 512 << 20
MAX_TEXT = 2_000
MAX_PROMPTS = 1_000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")

# field -> (types, required, description)
FIELDS: dict[str, tuple[tuple[type, ...], bool, str]] = {
    "method": ((str,), True, "the method's name"),
    "authors": ((list,), True, "list of author names"),
    "link": ((str,), True, "http(s) link to the paper or code"),
    "generator_version": ((str,), True, "version or commit of the generator"),
    "ms_per_grasp": ((int, float), True, "self-reported generation time per grasp, milliseconds"),
    "prompts": ((list,), False, "the text prompts used, if any"),
    "notes": ((str,), False, "free text"),
}


class SubmissionError(ValueError):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


@dataclass
class Submission:
    meta: dict[str, Any]
    grasps: dict[str, Grasps]  # file name -> grasps
    source: Path
    by_object: dict[tuple[str, str], str] = field(default_factory=dict)  # (object id, task) -> file name
    hashes: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its bytes (metadata included)

    def coverage(self, split: str = "all") -> dict[str, list[str]]:
        """Per task, the benchmark objects of ``split`` the submission has no grasps for."""
        return {task: [o for o in list_objects(task, split) if (o, task) not in self.by_object] for task in CATEGORIES}

    @property
    def num_grasps(self) -> int:
        return sum(len(g) for g in self.grasps.values())


def _check_text(where: str, key: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise SubmissionError(where, f"field {key!r} must be a non-empty string of at most {MAX_TEXT} characters")
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise SubmissionError(where, f"field {key!r} holds control characters")


def check_meta(doc: Any, where: str = META_FILE) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise SubmissionError(where, "must be a JSON object")
    unknown = sorted(set(doc) - set(FIELDS))
    if unknown:
        raise SubmissionError(where, f"unknown field(s) {unknown}; allowed: {', '.join(FIELDS)}")
    for key, (types, required, what) in FIELDS.items():
        if key not in doc:
            if required:
                raise SubmissionError(where, f"missing field {key!r} ({what})")
            continue
        value = doc[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise SubmissionError(where, f"field {key!r} must be {what}")
    for key in ("method", "link", "generator_version"):
        _check_text(where, key, doc[key])
    if "notes" in doc:
        _check_text(where, "notes", doc["notes"])
    if not re.match(r"https?://[^\s]+\Z", doc["link"]):
        raise SubmissionError(where, "field 'link' must be an http:// or https:// URL")
    if not doc["authors"] or len(doc["authors"]) > 100:
        raise SubmissionError(where, "field 'authors' must list 1 to 100 names")
    for name in doc["authors"]:
        _check_text(where, "authors", name)
    ms = float(doc["ms_per_grasp"])
    if not math.isfinite(ms) or ms < 0:
        raise SubmissionError(where, "field 'ms_per_grasp' must be a finite number >= 0")
    prompts = doc.get("prompts", [])
    if len(prompts) > MAX_PROMPTS:
        raise SubmissionError(where, f"field 'prompts' holds more than {MAX_PROMPTS} prompts")
    for p in prompts:
        _check_text(where, "prompts", p)
    return doc


def _check_name(name: str) -> None:
    if name != META_FILE and not (name.endswith(".npz") and _NAME.match(name)):
        raise SubmissionError(name, f"not allowed in a submission: only {META_FILE} and plain-named .npz files "
                                    "(letters, digits, _ . -), no folders")


def _unzip(path: Path, into: Path) -> None:
    """Copy the zip's allowed members into ``into`` under their checked names, within the caps."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(path.name, f"not a readable zip file ({exc})") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_FILES:
            raise SubmissionError(path.name, f"{len(infos)} files; at most {MAX_FILES}")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise SubmissionError(path.name, f"more than {MAX_TOTAL_BYTES} bytes uncompressed")
        seen: set[str] = set()
        for info in infos:
            _check_name(info.filename)
            if info.filename in seen:
                raise SubmissionError(info.filename, "appears twice in the zip")
            seen.add(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SubmissionError(info.filename, "is a link")
            cap = MAX_META_BYTES if info.filename == META_FILE else MAX_FILE_BYTES
            if info.file_size > cap:
                raise SubmissionError(info.filename, f"larger than {cap} bytes")
            with zf.open(info) as src, open(into / info.filename, "xb") as dst:
                data = src.read(cap + 1)  # the declared size may lie: never read past the cap
                if len(data) > cap:
                    raise SubmissionError(info.filename, f"larger than {cap} bytes")
                dst.write(data)


def _folder_files(folder: Path) -> list[Path]:
    entries = sorted(folder.iterdir())
    if len(entries) > MAX_FILES:
        raise SubmissionError(folder.name, f"{len(entries)} entries; at most {MAX_FILES}")
    total = 0
    for p in entries:
        _check_name(p.name)
        if p.is_symlink() or not p.is_file():
            raise SubmissionError(p.name, "must be a plain file (no links or folders)")
        size = p.stat().st_size
        if size > (MAX_META_BYTES if p.name == META_FILE else MAX_FILE_BYTES):
            raise SubmissionError(p.name, "file too large")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise SubmissionError(folder.name, f"more than {MAX_TOTAL_BYTES} bytes in all")
    return entries


def load_submission(path: str | os.PathLike) -> Submission:
    """Read and check a submission folder or zip; raises ``SubmissionError`` naming file and field."""
    path = Path(path)
    if path.is_symlink() or not path.exists():
        raise SubmissionError(str(path), "no such submission folder or zip (links are not followed)")
    if path.is_dir():
        return _load_folder(path, path)
    with tempfile.TemporaryDirectory(prefix="dextog_submission_") as tmp:
        _unzip(path, Path(tmp))
        return _load_folder(Path(tmp), path)


def _load_folder(folder: Path, source: Path) -> Submission:
    files = _folder_files(folder)
    names = [p.name for p in files]
    if META_FILE not in names:
        raise SubmissionError(source.name, f"no {META_FILE}")
    raw = (folder / META_FILE).read_bytes()
    try:
        meta = check_meta(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(META_FILE, f"not valid UTF-8 JSON ({exc})") from None
    grasps: dict[str, Grasps] = {}
    by_object: dict[tuple[str, str], str] = {}
    for p in files:
        if p.name == META_FILE:
            continue
        try:
            g = Grasps.load(p)
        except (ValueError, OSError) as exc:
            raise SubmissionError(p.name, str(exc)) from None
        for oid, task in zip(g.object_ids, g.tasks):
            if oid not in list_objects(task, "all"):
                raise SubmissionError(p.name, f"object {oid!r} is not a benchmark {task} object")
            if (oid, task) in by_object:
                raise SubmissionError(p.name, f"grasps for {oid} ({task}) are also in {by_object[(oid, task)]}")
            by_object[(oid, task)] = p.name
        grasps[p.name] = g
    if not grasps:
        raise SubmissionError(source.name, "no .npz grasp files")
    hashes = {p.name: sha256_file(p) for p in files}
    return Submission(meta, grasps, source, by_object, hashes)
