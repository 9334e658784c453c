"""Small hostile files must stay cheap to refuse, and nonsense values must be refused, not placed.

Each memory test loads the file in a fresh interpreter and reads its peak resident set (VmHWM from
``/proc/self/status``), so the number is the load's own cost and a regression cannot take the
test process down with it. Hostile zips are written by streaming highly compressible members, so
the files stay small on disk and quick to build while declaring hundreds of megabytes.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dextog_gym.grasps import GraspFileError, Grasps, storage
from dextog_gym.grasps import format as grasp_format
from dextog_gym.hand.model import JOINT_NAMES, NUM_JOINTS, joint_limits
from dextog_gym.policies.bundle import PolicyBundle

REPO = Path(__file__).resolve().parents[1]
LOWER, UPPER = joint_limits()
MB = 1 << 20
PEAK_BOUND_MB = 400  # absolute, generous for CI machines with other imports warm
GROWTH_BOUND_MB = 64  # above the same interpreter loading a small valid file
needs_proc = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM needs Linux /proc")

_LOADER = r"""
import json, sys
mode, target = sys.argv[1], sys.argv[2]
out = {}
try:
    if mode == "grasps":
        from dextog_gym.grasps import Grasps
        out["loaded"] = len(Grasps.load(target))
    else:
        from dextog_gym.policies.bundle import PolicyBundle
        out["loaded"] = PolicyBundle.load(target).obs_size
except (ValueError, OSError) as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmHWM:"):
            out["hwm_mb"] = int(line.split()[1]) / 1024
print(json.dumps(out))
"""


def load_in_subprocess(mode: str, target: Path) -> dict:
    """Load a grasp file or a bundle in a fresh interpreter: ``{"loaded" | "error", "hwm_mb"}``."""
    done = subprocess.run([sys.executable, "-c", _LOADER, mode, str(target)], check=False, capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- writing hostile zips without holding them in memory -----------------------------------------


def stream_npy(zf: zipfile.ZipFile, name: str, dtype: np.dtype, shape: tuple[int, ...], row: bytes,
               rows: int, trailing: int = 0) -> None:
    """Write ``name`` as an ``.npy`` member: a header for ``shape``, ``row`` repeated ``rows`` times, then zeros."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    with zf.open(name, "w", force_zip64=True) as fp:
        np.lib.format.write_array_header_1_0(fp, header)
        block = row * max(1, (1 << 20) // max(len(row), 1))
        per_block = len(block) // max(len(row), 1)
        left = rows
        while left > 0:
            take = min(left, per_block)
            fp.write(block[: take * len(row)])
            left -= take
        zeros = bytes(1 << 20)
        while trailing > 0:
            fp.write(zeros[: min(trailing, len(zeros))])
            trailing -= len(zeros)


def meta_member(object_ids: list[str], tasks: list[str], n: int, provenance: dict | None = None) -> np.ndarray:
    meta = {"format": storage.FORMAT, "object_ids": object_ids, "tasks": tasks, "joint_names": list(JOINT_NAMES),
            "provenance": provenance or {"source": "hostile"}, "num_grasps": n}
    return np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)


def write_identical_rows(path: Path, counts: list[int], extras: int = 0, compact: bool = True,
                         position: tuple[float, float, float] = (0.1, 0.0, 0.05), meta: np.ndarray | None = None,
                         trailing: dict[str, int] | None = None) -> Path:
    """A grasp file of ``sum(counts)`` identical valid rows, ``counts[i]`` of them for object ``i``."""
    n = sum(counts)
    ftype = np.dtype(np.float32 if compact else np.float64)
    joints = ((LOWER + UPPER) / 2).astype(ftype)
    trailing = trailing or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        stream_npy(zf, "positions.npy", ftype, (n, 3), np.array(position, ftype).tobytes(), n,
                   trailing.get("positions", 0))
        stream_npy(zf, "quats_wxyz.npy", ftype, (n, 4), np.array([1, 0, 0, 0], ftype).tobytes(), n)
        stream_npy(zf, "joints.npy", ftype, (n, NUM_JOINTS), joints.tobytes(), n)
        with zf.open("object_index.npy", "w", force_zip64=True) as fp:
            np.lib.format.write_array(fp, np.repeat(np.arange(len(counts), dtype=np.int32), counts))
        for k in range(extras):
            stream_npy(zf, f"extra__e{k}.npy", ftype, (n,), np.array([0.5], ftype).tobytes(), n)
        if meta is None:
            meta = meta_member([f"stapler_{i:03d}" for i in range(len(counts))], ["stapler"] * len(counts), n)
        with zf.open("meta_json.npy", "w", force_zip64=True) as fp:
            np.lib.format.write_array(fp, meta)
    return path


@pytest.fixture(scope="module")
def small_grasp_file(tmp_path_factory) -> Path:
    return write_identical_rows(tmp_path_factory.mktemp("small") / "small.npz", [16])


@pytest.fixture(scope="module")
def grasp_baseline_mb(small_grasp_file) -> float:
    """Peak RSS of the interpreter loading a tiny valid file: imports, numpy, the hand model."""
    result = load_in_subprocess("grasps", small_grasp_file)
    assert result["loaded"] == 16, result
    return result["hwm_mb"]


def assert_cheap(result: dict, baseline_mb: float) -> None:
    assert result["hwm_mb"] < PEAK_BOUND_MB, result
    assert result["hwm_mb"] - baseline_mb < GROWTH_BOUND_MB, (result, baseline_mb)


# ---- 1: grasp files holding far more rows than any real set --------------------------------------


def test_caps_are_the_documented_ones():
    """80 objects x ~1,000 grasps is the largest real submission; the caps leave room above it."""
    assert storage.MAX_GRASPS == 200_000
    assert storage.MAX_GRASPS_PER_OBJECT == 10_000
    assert grasp_format.MAX_WRIST_DISTANCE_M == 1.0


@needs_proc
def test_two_million_identical_rows_are_refused_from_the_header(tmp_path, grasp_baseline_mb):
    path = write_identical_rows(tmp_path / "two_million.npz", [2_000_000])
    assert path.stat().st_size < 8 * MB  # small on disk: the cost is all in what it declares
    result = load_in_subprocess("grasps", path)
    assert "error" in result, result
    assert str(path) in result["error"] and "'positions'" in result["error"], result
    assert "declares 24000128 bytes uncompressed" in result["error"], result  # the zip directory says so
    assert_cheap(result, grasp_baseline_mb)


def test_one_row_over_the_file_cap_is_refused_from_the_header(tmp_path):
    """float32 rows fit the directory's per-member caps; the ``.npy`` header's count does not."""
    path = write_identical_rows(tmp_path / "over.npz", [10_000] * 20 + [1])
    with pytest.raises(GraspFileError) as info:
        Grasps.load(path)
    assert info.value.field == "positions" and str(path) in str(info.value)
    assert "grasp count 200001 outside [0, 200000]" in str(info.value)


def test_one_object_over_the_per_object_cap_is_refused(tmp_path):
    path = write_identical_rows(tmp_path / "one_object.npz", [3, 10_001])
    with pytest.raises(GraspFileError) as info:
        Grasps.load(path)
    message = str(info.value)
    assert str(path) in message and info.value.field == "object_index", message
    assert "'stapler_001'" in message and "10001 grasps" in message, message


def test_merged_file_at_the_per_object_cap_loads(tmp_path):
    path = write_identical_rows(tmp_path / "merged.npz", [10_000, 5, 10_000])
    grasps = Grasps.load(path)
    assert len(grasps) == 20_005 and len(grasps.for_object("stapler_002")) == 10_000


@needs_proc
def test_member_declaring_more_than_its_cap_is_refused_from_the_directory(tmp_path, grasp_baseline_mb):
    """A 3-row positions member padded with 300 MB: the zip directory alone says it is too big."""
    path = write_identical_rows(tmp_path / "padded.npz", [3], trailing={"positions": 300 * MB})
    assert path.stat().st_size < 2 * MB
    result = load_in_subprocess("grasps", path)
    assert "error" in result, result
    assert str(path) in result["error"] and "'positions'" in result["error"], result
    assert "bytes uncompressed (cap" in result["error"], result
    assert_cheap(result, grasp_baseline_mb)


@needs_proc
def test_meta_json_bomb_is_refused_from_the_directory(tmp_path, grasp_baseline_mb):
    """15 MB of short distinct JSON strings would parse into ~1 M Python objects."""
    tags = [f"{i:x}" for i in range(1_500_000)]
    meta = meta_member(["stapler_000"], ["stapler"], 3, {"source": "hostile", "tags": tags})
    assert 8 * MB < meta.nbytes < 16 * MB  # under the old 16 MiB cap
    path = write_identical_rows(tmp_path / "meta_bomb.npz", [3], meta=meta)
    result = load_in_subprocess("grasps", path)
    assert "error" in result, result
    assert str(path) in result["error"] and "'meta_json'" in result["error"], result
    assert_cheap(result, grasp_baseline_mb)


def test_trailing_bytes_after_the_array_are_refused(tmp_path):
    path = write_identical_rows(tmp_path / "trailing.npz", [3], trailing={"positions": 64})
    with pytest.raises(GraspFileError, match="positions") as info:
        Grasps.load(path)
    assert "after the header" in str(info.value)


def test_oversized_zip_directory_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for k in range(2_000):
            zf.writestr(f"extra__e{k}.npy", b"")
    with pytest.raises(GraspFileError, match="2000 members") as info:
        Grasps.load(path)
    assert str(path) in str(info.value)


def test_long_double_members_are_refused(tmp_path):
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("long double is float64 on this platform")
    path = tmp_path / "long.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for key, arr in {"positions": np.zeros((1, 3), np.longdouble), "quats_wxyz": np.eye(4)[:1],
                         "joints": ((LOWER + UPPER) / 2)[None], "object_index": np.zeros(1, np.int32),
                         "meta_json": meta_member(["stapler_000"], ["stapler"], 1)}.items():
            with zf.open(f"{key}.npy", "w") as fp:
                np.lib.format.write_array(fp, arr)
    with pytest.raises(GraspFileError, match="positions.*not allowed"):
        Grasps.load(path)


@needs_proc
def test_largest_accepted_file_stays_loadable(tmp_path, grasp_baseline_mb):
    """Both row caps reached, float64 everywhere, every extra: the worst a file may cost (~0.4 GB)."""
    per_object = storage.MAX_GRASPS_PER_OBJECT
    counts = [per_object] * (storage.MAX_GRASPS // per_object)
    path = write_identical_rows(tmp_path / "largest.npz", counts, extras=storage.MAX_EXTRAS, compact=False)
    result = load_in_subprocess("grasps", path)
    assert result.get("loaded") == storage.MAX_GRASPS, result
    assert result["hwm_mb"] < 600, result


def test_save_refuses_what_load_would_refuse(tmp_path):
    n = storage.MAX_GRASPS_PER_OBJECT + 1
    g = Grasps.from_arrays("stapler_000", "stapler", np.zeros((n, 3)), np.tile([1.0, 0, 0, 0], (n, 1)),
                           np.tile((LOWER + UPPER) / 2, (n, 1)))
    with pytest.raises(ValueError, match="MAX_GRASPS_PER_OBJECT"):
        g.save(tmp_path / "too_many.npz")
    assert not (tmp_path / "too_many.npz").exists()


# ---- 3: wrists far from the object ----------------------------------------------------------------


def _grasps_with_wrist_at(position, index: int = 2, n: int = 4) -> Grasps:
    positions = np.tile([0.05, 0.0, 0.1], (n, 1))
    positions[index] = position
    return Grasps.from_arrays("stapler_000", "stapler", positions, np.tile([1.0, 0, 0, 0], (n, 1)),
                              np.tile((LOWER + UPPER) / 2, (n, 1)))


@pytest.mark.parametrize("position", [(1000.0, 0.0, 0.0), (0.0, -1e30, 0.0), (1e300, 1e300, 1e300),
                                      (0.6, 0.6, 0.6)])
def test_far_wrist_is_refused_in_memory(position):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings on the way to the message
        with pytest.raises(ValueError, match=r"^positions: .*grasp 2 ") as info:
            _grasps_with_wrist_at(position)
    assert "1.0 m" in str(info.value)


def test_wrist_just_inside_the_cap_is_kept():
    g = _grasps_with_wrist_at((0.0, 0.0, 0.999))
    assert g.positions[2, 2] == 0.999


def test_far_wrist_in_a_file_names_field_and_grasp(tmp_path):
    path = write_identical_rows(tmp_path / "far.npz", [5], position=(1000.0, 0.0, 0.0))
    with pytest.raises(GraspFileError) as info:
        Grasps.load(path)
    assert info.value.field == "positions" and str(path) in str(info.value)
    assert "grasp 0 " in str(info.value) and "5 wrist position(s)" in str(info.value), str(info.value)


def test_every_shipped_and_result_set_still_loads():
    # results/ also holds the data engine's DiffuTOG checkpoints (model.npz): weights, not grasps.
    files = sorted(REPO.glob("assets/grasps/*/*.npz")) + [p for p in sorted(REPO.glob("results/**/*.npz"))
                                                         if p.name != "model.npz"]
    assert len(files) >= 240
    reach = 0.0
    for path in files:
        g = Grasps.load(path)
        if len(g):
            reach = max(reach, float(np.linalg.norm(g.positions, axis=1).max()))
    assert 0.1 < reach < grasp_format.MAX_WRIST_DISTANCE_M / 2


# ---- 2 and 4: policy bundles ----------------------------------------------------------------------


def small_bundle(folder: Path, seed: int = 0, activation: str = "tanh", **change) -> Path:
    rng = np.random.default_rng(seed)
    sizes = [94, 16, 8, 30]
    layers = [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in itertools.pairwise(sizes)]
    fields = {"obs_mean": rng.normal(size=94), "obs_var": rng.uniform(0.5, 2, 94), "clip_obs": 10.0, "epsilon": 1e-8}
    fields.update(change)
    bundle = PolicyBundle("DexTOG/Stapler-v1", layers, activation, fields["obs_mean"], fields["obs_var"],
                          fields["clip_obs"], fields["epsilon"], {"grasp_source": "rule"})
    return bundle.save(folder)


def add_member(folder: Path, name: str, dtype, shape: tuple[int, ...], nbytes: int) -> None:
    """Append a member of ``nbytes`` zero bytes (deflated to almost nothing) to the bundle's npz."""
    with zipfile.ZipFile(folder / "policy.npz", "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        stream_npy(zf, name, np.dtype(dtype), shape, b"", 0, trailing=nbytes)


def set_meta(folder: Path, **change) -> None:
    meta = json.loads((folder / "policy.json").read_text())
    meta.update(change)
    (folder / "policy.json").write_text(json.dumps(meta))  # NaN and Infinity as JSON's non-standard words


def set_array(folder: Path, key: str, value: np.ndarray) -> None:
    with np.load(folder / "policy.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays[key] = value
    np.savez(folder / "policy.npz", **arrays)


@pytest.fixture(scope="module")
def bundle_baseline_mb(tmp_path_factory) -> float:
    result = load_in_subprocess("bundle", small_bundle(tmp_path_factory.mktemp("bundle") / "p"))
    assert result["loaded"] == 94, result
    return result["hwm_mb"]


@needs_proc
def test_unknown_300mb_member_is_refused_before_reading(tmp_path, bundle_baseline_mb):
    folder = small_bundle(tmp_path / "p")
    add_member(folder, "junk.npy", np.uint8, (300 * MB,), 300 * MB)
    assert (folder / "policy.npz").stat().st_size < 2 * MB
    result = load_in_subprocess("bundle", folder)
    assert "error" in result, result
    assert str(folder) in result["error"] and "'junk.npy'" in result["error"], result
    assert_cheap(result, bundle_baseline_mb)


@needs_proc
def test_known_member_larger_than_any_layer_is_refused_before_reading(tmp_path, bundle_baseline_mb):
    folder = small_bundle(tmp_path / "p")
    with zipfile.ZipFile(folder / "policy.npz") as zf:  # every member but layer1_b, then a 300 MB one
        keep = {i.filename: zf.read(i) for i in zf.infolist() if i.filename != "layer1_b.npy"}
    with zipfile.ZipFile(folder / "policy.npz", "w") as zf:
        for name, data in keep.items():
            zf.writestr(name, data)
    add_member(folder, "layer1_b.npy", np.float64, (300 * MB // 8,), 300 * MB)
    result = load_in_subprocess("bundle", folder)
    assert "error" in result, result
    assert str(folder) in result["error"] and "'layer1_b.npy'" in result["error"], result
    assert "bytes uncompressed" in result["error"], result
    assert_cheap(result, bundle_baseline_mb)


@pytest.mark.parametrize("field, value", [
    ("clip_obs", float("inf")), ("clip_obs", float("nan")), ("clip_obs", 0.0), ("clip_obs", -10.0),
    ("epsilon", 0.0), ("epsilon", -1e-8), ("epsilon", float("nan")), ("epsilon", float("inf")),
])
def test_bundle_scalars_must_be_finite_and_positive(tmp_path, field, value):
    folder = small_bundle(tmp_path / "p")
    set_meta(folder, **{field: value})
    with pytest.raises(ValueError, match=f"'{field}'") as info:
        PolicyBundle.load(folder)
    assert str(folder) in str(info.value)


@pytest.mark.parametrize("key, index, value", [
    ("obs_mean", 3, np.nan), ("obs_var", 5, np.inf), ("obs_var", 7, -1.0),
    ("layer1_w", (2, 3), np.inf), ("layer2_b", 0, np.nan),
])
def test_bundle_arrays_must_be_finite(tmp_path, key, index, value):
    folder = small_bundle(tmp_path / "p")
    with np.load(folder / "policy.npz") as data:
        arr = data[key].copy()
    arr[index] = value
    set_array(folder, key, arr)
    with pytest.raises(ValueError, match=f"'{key}'") as info:
        PolicyBundle.load(folder)
    assert str(folder) in str(info.value)


def test_probe_observations_must_give_finite_actions(tmp_path):
    """Every field finite, yet the zeros observation normalises to 1e306 and relu layers overflow."""
    folder = small_bundle(tmp_path / "p", activation="relu", obs_mean=np.full(94, -1e306),
                          obs_var=np.ones(94), clip_obs=1e308)
    set_array(folder, "layer0_w", np.full((16, 94), 100.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="non-finite actions") as info:
            PolicyBundle.load(folder)
    message = str(info.value)
    assert str(folder) in message and "'layer0_w'" in message and "zeros" in message, message


def test_shipped_bundles_still_load():
    folders = sorted(p.parent for p in (REPO / "assets" / "policies").glob("*/policy.npz"))
    assert len(folders) >= 10
    for folder in folders:
        bundle = PolicyBundle.load(folder)
        assert np.isfinite(bundle.act(np.zeros(bundle.obs_size))).all()


def test_sb3_style_bundle_without_normalisation_still_loads(tmp_path):
    """``bundle_from_sb3`` without obs_rms writes clip_obs=1e9, mean 0, var 1: still valid."""
    folder = small_bundle(tmp_path / "p", obs_mean=np.zeros(94), obs_var=np.ones(94), clip_obs=1e9)
    assert PolicyBundle.load(folder).clip_obs == 1e9
