"""The grasp format: validation, selection, round trips, and refusing hostile files."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from dextog_gym.grasps import GraspFileError, Grasps, storage
from dextog_gym.hand.model import JOINT_NAMES, joint_limits
from dextog_gym.hand.transforms import pose_to_matrix

LOWER, UPPER = joint_limits()


def make_grasps(n: int = 6, obj: str = "stapler_000", task: str = "stapler", seed: int = 0) -> Grasps:
    rng = np.random.default_rng(seed)
    quats = rng.normal(size=(n, 4))
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    return Grasps.from_arrays(
        obj, task, rng.normal(scale=0.1, size=(n, 3)), quats, rng.uniform(LOWER, UPPER, size=(n, 24)),
        extras={"q1": rng.random(n), "lift_pass": rng.random(n) > 0.5, "count": np.arange(n, dtype=np.int64)},
        provenance={"source": "test", "version": "1", "seed": seed, "params": {"k": [1, 2]}},
    )


def members_of(g: Grasps) -> dict[str, np.ndarray]:
    """What ``save`` writes, as a dict a test can corrupt before writing it with plain np.savez."""
    meta = {"format": storage.FORMAT, "object_ids": list(g.object_ids), "tasks": list(g.tasks),
            "joint_names": list(JOINT_NAMES), "provenance": g.provenance, "num_grasps": len(g)}
    return {"positions": g.positions, "quats_wxyz": g.quats_wxyz, "joints": g.joints,
            "object_index": g.object_index, "extra__q1": g.extras["q1"], "meta_json": meta_bytes(meta)}


def meta_bytes(meta: dict | str) -> np.ndarray:
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def write(path, members: dict) -> str:
    with open(path, "wb") as fh:
        np.savez(fh, **members)  # allow_pickle defaults to True here: hostile files may hold pickles
    return str(path)


def assert_same(a: Grasps, b: Grasps, provenance: bool = True) -> None:
    assert a.object_ids == b.object_ids and a.tasks == b.tasks
    for name in ("object_index", "positions", "quats_wxyz", "joints"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert sorted(a.extras) == sorted(b.extras)
    for k in a.extras:
        assert a.extras[k].dtype == b.extras[k].dtype
        np.testing.assert_array_equal(a.extras[k], b.extras[k])
    assert a.provenance == b.provenance or not provenance


# ---- in memory --------------------------------------------------------------------------------


def test_round_trip_keeps_everything(tmp_path):
    g = Grasps.concat([make_grasps(5), make_grasps(3, "pen_001", "pen", seed=1)])
    path = g.save(tmp_path / "deep" / "dir" / "g.npz")
    assert path.is_file() and os.listdir(path.parent) == ["g.npz"]
    back = Grasps.load(path)
    assert_same(g, back)
    assert back.positions.dtype == np.float64 and back.object_index.dtype == np.int32
    assert back.extras["lift_pass"].dtype == bool


def test_empty_set_round_trips(tmp_path):
    g = make_grasps(0)
    assert len(g) == 0 and g.wrist_matrices().shape == (0, 4, 4)
    assert_same(g, Grasps.load(g.save(tmp_path / "empty.npz")))


def test_normalises_quaternions_and_clips_joints():
    g = make_grasps(2)
    quats = g.quats_wxyz * (1 + 5e-4)
    joints = g.joints.copy()
    joints[0, 2] = UPPER[2] + 5e-4
    h = Grasps.from_arrays("stapler_000", "stapler", g.positions, quats, joints)
    np.testing.assert_allclose(np.linalg.norm(h.quats_wxyz, axis=1), 1.0, atol=1e-12)
    assert h.joints[0, 2] == UPPER[2]
    assert h.provenance == {"source": "unknown", "version": None, "seed": None}


def test_wrist_matrices_match_pose_to_matrix():
    g = make_grasps(4)
    mats = g.wrist_matrices()
    for i in range(len(g)):
        np.testing.assert_allclose(mats[i], pose_to_matrix(g.positions[i], g.quats_wxyz[i]), atol=1e-12)


def test_select_for_object_concat():
    a, b = make_grasps(4), make_grasps(3, "pen_001", "pen", seed=1)
    both = Grasps.concat([a, b])
    assert len(both) == 7 and both.object_ids == ("stapler_000", "pen_001")
    assert both.tasks == ("stapler", "pen") and both.provenance["parts"] == [a.provenance, b.provenance]
    assert both.provenance["source"] == "test" and both.provenance["seed"] is None
    assert_same(both.for_object("pen_001"), b, provenance=False)
    assert_same(Grasps.concat([a]), a)
    picked = both.select([6, 0, 0])
    np.testing.assert_array_equal(picked.object_index, [1, 0, 0])
    np.testing.assert_array_equal(picked.extras["count"], [2, 0, 0])
    mask = both.extras["q1"] > 0.5
    assert len(both.select(mask)) == int(mask.sum())
    assert len(both.select([])) == 0
    with pytest.raises(ValueError, match="out of range"):
        both.select([7])
    with pytest.raises(ValueError, match="bool mask"):
        both.select(np.ones(3, bool))
    with pytest.raises(ValueError, match=r"'mug_000' not in this grasp set; it has: stapler_000, pen_001"):
        both.for_object("mug_000")
    with pytest.raises(ValueError, match="has task"):
        Grasps.concat([a, make_grasps(2, "stapler_000", "pen")])
    with pytest.raises(ValueError, match="extras differ"):
        Grasps.concat([a, Grasps.from_arrays("pen_001", "pen", a.positions, a.quats_wxyz, a.joints)])


def _bad(**change):
    g = make_grasps(3)
    fields = dict(positions=g.positions, quats_wxyz=g.quats_wxyz, joints=g.joints, extras=dict(g.extras))
    fields.update(change)
    return fields


@pytest.mark.parametrize("change, match", [
    (dict(positions=np.full((3, 3), np.nan)), "positions: NaN or inf"),
    (dict(positions=np.zeros((3, 2))), r"positions: expected shape \[N, 3\]"),
    (dict(quats_wxyz=np.tile([1.0, 0.1, 0, 0], (3, 1))), "quats_wxyz: .* not unit"),
    (dict(joints=np.tile(UPPER + 0.01, (3, 1))), "joints: .*WRJ1=.* not in"),
    (dict(joints=np.zeros((3, 22))), r"joints: expected shape \[N, 24\]"),
    (dict(extras={"q1": np.zeros(2)}), r"extras.q1: shape \(2,\)"),
    (dict(extras={"bad name": np.zeros(3)}), "extras: name"),
    (dict(extras={"s": np.array(["a", "b", "c"])}), "extras.s: expected numbers"),
])
def test_constructor_rejects(change, match):
    with pytest.raises(ValueError, match=match):
        Grasps.from_arrays("stapler_000", "stapler", **_bad(**change))


def test_constructor_rejects_ids_tasks_index():
    g = make_grasps(2)
    arrays = (g.positions, g.quats_wxyz, g.joints)
    with pytest.raises(ValueError, match="unknown task"):
        Grasps.from_arrays("stapler_000", "juggle", *arrays)
    with pytest.raises(ValueError, match="object_index: values"):
        Grasps(("stapler_000",), ("stapler",), np.array([0, 1]), *arrays)
    with pytest.raises(ValueError, match="duplicates"):
        Grasps(("a_0", "a_0"), ("pen", "pen"), np.array([0, 1]), *arrays)
    with pytest.raises(ValueError, match="provenance: not JSON"):
        Grasps.from_arrays("stapler_000", "stapler", *arrays, provenance={"f": object()})


# ---- hostile files ----------------------------------------------------------------------------

UNPICKLED: list[str] = []


def _mark_unpickled() -> str:
    UNPICKLED.append("ran")
    return "pwned"


class _Payload:
    def __reduce__(self):
        return (_mark_unpickled, ())


def _corrupt(tmp_path, **change) -> str:
    """A grasp file with some members replaced (None removes one), written without our checks."""
    members = members_of(make_grasps(3))
    for key, value in change.items():
        if value is None:
            members.pop(key)
        else:
            members[key] = meta_bytes(value) if key == "meta_json" else value
    return write(tmp_path / "bad.npz", members)


def _meta(**change) -> dict:
    g = make_grasps(3)
    meta = {"format": storage.FORMAT, "object_ids": list(g.object_ids), "tasks": list(g.tasks),
            "joint_names": list(JOINT_NAMES), "provenance": {}, "num_grasps": 3}
    meta.update(change)
    return {k: v for k, v in meta.items() if v is not None}


def _load_fails(path, *words: str) -> GraspFileError:
    with pytest.raises(GraspFileError) as info:
        Grasps.load(path)
    message = str(info.value)
    assert os.fspath(path) in message
    for word in words:
        assert word in message, message
    return info.value


def test_truncated_and_non_zip_files(tmp_path):
    good = make_grasps(50).save(tmp_path / "good.npz").read_bytes()
    for cut in (len(good) // 2, len(good) - 10, 30, 0):
        (tmp_path / "cut.npz").write_bytes(good[:cut])
        _load_fails(tmp_path / "cut.npz")
    (tmp_path / "text.npz").write_text("definitely not a zip")
    _load_fails(tmp_path / "text.npz", "not a readable .npz")
    (tmp_path / "plain.npy").write_bytes(b"")
    np.save(tmp_path / "plain.npy", np.zeros(3))
    _load_fails(tmp_path / "plain.npy", "not a readable .npz")
    _load_fails(tmp_path / "missing.npz", "not found")


def test_pickled_object_array_is_refused_not_unpickled(tmp_path):
    path = _corrupt(tmp_path, extra__q1=np.array([_Payload()] * 3, dtype=object))
    error = _load_fails(path, "object array")
    assert error.field == "extra__q1" and UNPICKLED == []


@pytest.mark.parametrize("change, words", [
    (dict(positions=np.full((3, 3), np.nan)), ["positions", "NaN"]),
    (dict(quats_wxyz=np.tile([1.0, 0.0, 0.1, 0.0], (3, 1))), ["quats_wxyz", "not unit"]),
    (dict(joints=np.tile(LOWER - 0.01, (3, 1))), ["joints", "WRJ1"]),
    (dict(joints=np.zeros((3, 22))), ["joints", "24 joints"]),
    (dict(positions=np.zeros((3, 3), dtype=np.int64)), ["positions", "real floats"]),
    (dict(positions=np.array([["a"] * 3] * 3)), ["positions", "real floats"]),
    (dict(object_index=np.zeros(3)), ["object_index", "integers"]),
    (dict(object_index=np.array([0, 0, 5])), ["object_index", "values must lie"]),
    (dict(extra__q1=np.zeros(4)), ["extra__q1", "shape"]),
    (dict(evil=np.zeros(3)), ["unexpected member 'evil.npy'"]),
    (dict(meta_json=None), ["missing member(s) meta_json"]),
    (dict(joints=None), ["missing member(s) joints"]),
    (dict(meta_json="{not json"), ["meta_json", "not valid UTF-8 JSON"]),
    (dict(meta_json="[1, 2]"), ["meta_json", "JSON object"]),
    (dict(meta_json=_meta(format="dextog-grasps/99")), ["meta_json.format", "unknown format"]),
    (dict(meta_json=_meta(joint_names=list(JOINT_NAMES[::-1]))), ["meta_json.joint_names", "another hand"]),
    (dict(meta_json=_meta(joint_names=list(JOINT_NAMES[:20]))), ["meta_json.joint_names", "20 names"]),
    (dict(meta_json=_meta(num_grasps=4)), ["meta_json.num_grasps"]),
    (dict(meta_json=_meta(tasks=None)), ["missing key(s) tasks"]),
    (dict(meta_json=_meta(tasks=["juggle"])), ["tasks", "unknown task"]),
    (dict(meta_json=_meta(object_ids=[1])), ["meta_json.object_ids", "list of strings"]),
])
def test_bad_members_are_refused(tmp_path, change, words):
    _load_fails(_corrupt(tmp_path, **change), *words)


def test_meta_json_must_be_bytes(tmp_path):
    _load_fails(_corrupt(tmp_path, **{"meta_json": None}, meta=np.zeros(2)), "unexpected member")
    members = members_of(make_grasps(3))
    members["meta_json"] = members["meta_json"].astype(np.int32)
    _load_fails(write(tmp_path / "m.npz", members), "meta_json", "uint8")


def test_huge_declared_size_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.npz"
    write(path, members_of(make_grasps(3)))
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # first central-directory entry: its uncompressed size at +24
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_len] == b"positions.npy":
            struct.pack_into("<I", data, at + 24, 0xFFFFFFF0)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    _load_fails(path, "positions", "declares 4294967280 bytes")


def test_caps_on_sizes_and_counts(tmp_path, monkeypatch):
    path = make_grasps(20).save(tmp_path / "g.npz")
    monkeypatch.setattr(storage, "MAX_GRASPS", 10)
    _load_fails(path, "grasp count 20 outside [0, 10]")
    monkeypatch.setattr(storage, "MAX_GRASPS", 10_000)
    monkeypatch.setattr(storage, "MAX_TOTAL_BYTES", 2_000)
    _load_fails(path, "bytes")
    with pytest.raises(ValueError, match="exceed MAX_GRASPS=10"):
        monkeypatch.setattr(storage, "MAX_GRASPS", 10)
        make_grasps(20).save(tmp_path / "too_many.npz")
    assert not (tmp_path / "too_many.npz").exists()


def test_header_claiming_more_data_than_the_member_holds(tmp_path):
    members = members_of(make_grasps(3))
    path = tmp_path / "lying.npz"
    with zipfile.ZipFile(path, "w") as zf:  # a consistent zip (good CRCs) around a lying .npy header
        for key, arr in members.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr)
            data = buf.getvalue()
            if key == "positions":
                data = data.replace(b"'shape': (3, 3)", b"'shape': (9, 3)", 1)
            zf.writestr(f"{key}.npy", data)
    _load_fails(path, "positions", "header claims 216 bytes")


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "g.npz"
    make_grasps(4).save(target)
    before = target.read_bytes()

    def broken(fh, **members):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(storage.np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        make_grasps(9).save(target)
    with pytest.raises(OSError, match="disk full"):
        make_grasps(9).save(tmp_path / "new.npz")
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["g.npz"]


def test_invalid_grasps_cannot_be_built_so_nothing_is_saved(tmp_path):
    with pytest.raises(ValueError):
        Grasps.from_arrays("stapler_000", "stapler", np.full((2, 3), np.inf), np.eye(4)[:2], np.zeros((2, 24)))
    assert os.listdir(tmp_path) == []


def test_importing_the_format_stays_light():
    import subprocess
    import sys

    code = ("import sys, dextog_gym, dextog_gym.grasps, dextog_gym.grasps.registry, dextog_gym.grasps.file_source; "
            "print(sorted(m for m in ('torch', 'pybullet') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compact_save_halves_floats_and_loads_as_float64(tmp_path):
    g = make_grasps(50)
    full = g.save(tmp_path / "full.npz")
    small = g.save(tmp_path / "small.npz", compact=True)
    with np.load(small, allow_pickle=False) as z:
        assert z["positions"].dtype == np.float32 and z["joints"].dtype == np.float32
    assert small.stat().st_size < 0.7 * full.stat().st_size
    back = Grasps.load(small)
    assert back.positions.dtype == np.float64
    np.testing.assert_allclose(back.positions, g.positions, atol=1e-6)
    np.testing.assert_allclose(back.joints, g.joints, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(back.quats_wxyz, axis=1), 1.0, atol=1e-6)
