"""Leaderboard submissions are untrusted: a good one loads, every hostile one is refused by name."""

from __future__ import annotations

import io
import json
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.submission import (
    MAX_FILE_BYTES,
    META_FILE,
    SubmissionError,
    load_submission,
)
from dextog_gym.paths import grasps_dir

META = {"method": "My generator", "authors": ["A. Researcher"], "link": "https://example.org/paper",
        "generator_version": "1.0", "ms_per_grasp": 12.5, "prompts": ["press the stapler"]}
OBJECTS = ("stapler_000", "pen_000")


def _make(folder: Path, meta: dict | None = None) -> Path:
    folder.mkdir()
    (folder / META_FILE).write_text(json.dumps(META if meta is None else meta))
    for oid in OBJECTS:
        shutil.copy(grasps_dir() / "rule" / f"{oid}.npz", folder / f"{oid}.npz")
    return folder


def _zip(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, p.name)
    return out


def test_a_good_submission_loads_as_folder_and_zip(tmp_path):
    folder = _make(tmp_path / "sub")
    for path in (folder, _zip(folder, tmp_path / "sub.zip")):
        sub = load_submission(path)
        assert sub.meta["method"] == "My generator"
        assert set(sub.by_object) == {("stapler_000", "stapler"), ("pen_000", "pen")}
        assert sub.num_grasps == sum(len(Grasps.load(folder / f"{o}.npz")) for o in OBJECTS)
        missing = sub.coverage("seen")
        assert "stapler_000" not in missing["stapler"] and "stapler_001" in missing["stapler"]


@pytest.mark.parametrize("change,field", [
    ({"method": ""}, "method"), ({"link": "javascript:alert(1)"}, "link"), ({"authors": []}, "authors"),
    ({"ms_per_grasp": -1}, "ms_per_grasp"), ({"ms_per_grasp": True}, "ms_per_grasp"),
    ({"ms_per_grasp": float("nan")}, "ms_per_grasp"), ({"prompts": [3]}, "prompts"),
    ({"evil": "__import__('os')"}, "evil"), ({"method": "x\x00y"}, "method"),
])
def test_bad_metadata_is_refused_by_field(tmp_path, change, field):
    meta = {**META, **change}
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / META_FILE).write_text(json.dumps(meta))
    shutil.copy(grasps_dir() / "rule" / "pen_000.npz", folder / "pen_000.npz")
    with pytest.raises(SubmissionError, match=field):
        load_submission(folder)


def test_missing_metadata_field_and_broken_json(tmp_path):
    folder = _make(tmp_path / "sub", {k: v for k, v in META.items() if k != "link"})
    with pytest.raises(SubmissionError, match="missing field 'link'"):
        load_submission(folder)
    (folder / META_FILE).write_text("{not json")
    with pytest.raises(SubmissionError, match=f"{META_FILE}: not valid"):
        load_submission(folder)


@pytest.mark.parametrize("name", ["../evil.npz", "/abs.npz", "sub/dir.npz", "a\\b.npz", "setup.py", ".hidden.npz"])
def test_zip_members_with_hostile_names_are_refused(tmp_path, name):
    folder = _make(tmp_path / "sub")
    out = _zip(folder, tmp_path / "sub.zip")
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr(name, b"x")
    with pytest.raises(SubmissionError, match="not allowed"):
        load_submission(out)
    assert not (tmp_path / "evil.npz").exists()


def test_zip_bomb_and_link_are_refused_before_inflating(tmp_path):
    folder = _make(tmp_path / "sub")
    bomb = _zip(folder, tmp_path / "bomb.zip")
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.npz", b"\0" * (MAX_FILE_BYTES + 1))
    with pytest.raises(SubmissionError, match="big.npz: larger than"):
        load_submission(bomb)
    link = _zip(folder, tmp_path / "link.zip")
    with zipfile.ZipFile(link, "a") as zf:
        info = zipfile.ZipInfo("link.npz")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(SubmissionError, match="link.npz: is a link"):
        load_submission(link)


def test_pickled_or_corrupt_grasp_files_are_refused_by_file(tmp_path):
    folder = _make(tmp_path / "sub")
    buf = io.BytesIO()
    np.savez(buf, positions=np.array([object()], dtype=object))
    (folder / "pickled.npz").write_bytes(buf.getvalue())
    with pytest.raises(SubmissionError, match="pickled.npz"):
        load_submission(folder)
    (folder / "pickled.npz").write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(SubmissionError, match="pickled.npz"):
        load_submission(folder)


def test_unknown_objects_duplicates_and_links_are_refused(tmp_path):
    folder = _make(tmp_path / "sub")
    shutil.copy(folder / "pen_000.npz", folder / "pen_again.npz")
    with pytest.raises(SubmissionError, match="also in"):
        load_submission(folder)
    (folder / "pen_again.npz").unlink()
    g = Grasps.load(folder / "pen_000.npz")
    g.replace(object_ids=("pen_999",)).save(folder / "pen_000.npz")
    with pytest.raises(SubmissionError, match="pen_999"):
        load_submission(folder)
    (folder / "pen_000.npz").unlink()
    (folder / "pen_000.npz").symlink_to(grasps_dir() / "rule" / "pen_000.npz")
    with pytest.raises(SubmissionError, match="plain file"):
        load_submission(folder)


def test_empty_or_missing_submissions(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(SubmissionError, match=f"no {META_FILE}"):
        load_submission(folder)
    (folder / META_FILE).write_text(json.dumps(META))
    with pytest.raises(SubmissionError, match="no .npz"):
        load_submission(folder)
    with pytest.raises(SubmissionError, match="no such submission"):
        load_submission(tmp_path / "nothing")
    (tmp_path / "not.zip").write_bytes(b"hello")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        load_submission(tmp_path / "not.zip")


def test_check_command_reports_coverage_and_refuses_with_status_2(tmp_path, capsys):
    from dextog_gym.cli.main import main

    folder = _make(tmp_path / "sub")
    assert main(["leaderboard", "check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "My generator (1.0)" in out and "| stapler" in out and "1/14" in out
    (folder / "notes.txt").write_text("hi")
    assert main(["leaderboard", "check", str(folder)]) == 2
    assert "notes.txt: not allowed" in capsys.readouterr().err
