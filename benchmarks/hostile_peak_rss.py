"""Peak memory of loading grasp files and policy bundles, honest and hostile, side by side.

    python benchmarks/hostile_peak_rss.py

Every load runs in a fresh interpreter that reports its own peak resident set (VmHWM from
``/proc/self/status``), so each row is that load's cost and nothing else. Rows: the interpreter
with the imports alone, the largest shipped grasp file, the largest file the caps accept (built
here: MAX_GRASPS float64 rows at MAX_GRASPS_PER_OBJECT per object plus MAX_EXTRAS float64
extras), a 2 M-row file of identical rows (refused), a shipped policy bundle, and a bundle with an
unknown 300 MB member (refused). Hostile files are written by streaming compressible members, so
they are small on disk; the "declares" column is what their zip directory claims.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MB = 1 << 20

_LOADER = r"""
import json, sys, time
mode, target = sys.argv[1], sys.argv[2]
out = {"outcome": "imports only"}
if mode == "grasps":
    from dextog_gym.grasps import Grasps
    load = Grasps.load
else:
    from dextog_gym.policies.bundle import PolicyBundle
    load = PolicyBundle.load
t0 = time.perf_counter()
if target != "-":
    try:
        got = load(target)
        out["outcome"] = f"loaded ({len(got)} grasps)" if mode == "grasps" else f"loaded ({len(got.layers)} layers)"
    except (ValueError, OSError) as exc:
        out["outcome"] = "refused"
        out["error"] = str(exc)
out["seconds"] = time.perf_counter() - t0
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmHWM:"):
            out["hwm_mib"] = int(line.split()[1]) / 1024
print(json.dumps(out))
"""


def load_in_subprocess(mode: str, target: Path | str) -> dict:
    """Load in a fresh interpreter: ``{"outcome", "error"?, "seconds", "hwm_mib"}``."""
    done = subprocess.run([sys.executable, "-c", _LOADER, mode, str(target)], check=False, capture_output=True,
                          text=True, cwd=REPO, timeout=600)
    if done.returncode != 0:
        return {"outcome": f"crashed (exit {done.returncode})", "error": done.stderr.strip()[-300:],
                "seconds": float("nan"), "hwm_mib": float("nan")}
    return json.loads(done.stdout.strip().splitlines()[-1])


def stream_npy(zf: zipfile.ZipFile, name: str, dtype: np.dtype, shape: tuple[int, ...], row: bytes, rows: int,
               zeros: int = 0) -> None:
    """One ``.npy`` member written in 1 MiB blocks: a header, ``row`` repeated ``rows`` times, ``zeros`` bytes."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    with zf.open(name, "w", force_zip64=True) as fp:
        np.lib.format.write_array_header_1_0(fp, header)
        per_block = max(1, MB // max(len(row), 1))
        block = row * per_block
        while rows > 0:
            take = min(rows, per_block)
            fp.write(block[: take * len(row)])
            rows -= take
        empty = bytes(MB)
        while zeros > 0:
            fp.write(empty[: min(zeros, MB)])
            zeros -= MB


def identical_rows_file(path: Path, counts: list[int], dtype: type, extras: int) -> Path:
    """A grasp file of valid identical rows, ``counts[i]`` of them for object ``i``, written without holding it."""
    from dextog_gym.grasps import storage
    from dextog_gym.hand.model import JOINT_NAMES, NUM_JOINTS, joint_limits

    n = sum(counts)
    ftype = np.dtype(dtype)
    lower, upper = joint_limits()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        stream_npy(zf, "positions.npy", ftype, (n, 3), np.array([0.1, 0.0, 0.05], ftype).tobytes(), n)
        stream_npy(zf, "quats_wxyz.npy", ftype, (n, 4), np.array([1, 0, 0, 0], ftype).tobytes(), n)
        stream_npy(zf, "joints.npy", ftype, (n, NUM_JOINTS), ((lower + upper) / 2).astype(ftype).tobytes(), n)
        with zf.open("object_index.npy", "w", force_zip64=True) as fp:
            np.lib.format.write_array(fp, np.repeat(np.arange(len(counts), dtype=np.int32), counts))
        for k in range(extras):
            stream_npy(zf, f"extra__e{k}.npy", ftype, (n,), np.array([0.5], ftype).tobytes(), n)
        meta = {"format": storage.FORMAT, "object_ids": [f"stapler_{i:03d}" for i in range(len(counts))],
                "tasks": ["stapler"] * len(counts), "joint_names": list(JOINT_NAMES),
                "provenance": {"source": "benchmark"}, "num_grasps": n}
        with zf.open("meta_json.npy", "w") as fp:
            np.lib.format.write_array(fp, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return path


def hostile_bundle(folder: Path, shipped: Path) -> Path:
    """A copy of a shipped bundle with an unknown 300 MB member of zeros appended to its npz."""
    folder.mkdir(parents=True)
    for name in ("policy.npz", "policy.json"):
        (folder / name).write_bytes((shipped / name).read_bytes())
    with zipfile.ZipFile(folder / "policy.npz", "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        stream_npy(zf, "junk.npy", np.uint8, (300 * MB,), b"", 0, zeros=300 * MB)
    return folder


def declared_mib(path: Path) -> float:
    """Uncompressed bytes the zip directory claims, in MiB."""
    npz = path / "policy.npz" if path.is_dir() else path
    with zipfile.ZipFile(npz) as zf:
        return sum(i.file_size for i in zf.infolist()) / MB


def on_disk_kib(path: Path) -> float:
    files = list(path.iterdir()) if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files) / 1024


def main() -> None:
    from dextog_gym.grasps import storage
    from dextog_gym.tables import format_table

    shipped_grasps = max(REPO.glob("assets/grasps/*/*.npz"), key=lambda p: (p.stat().st_size, p.name))
    shipped_bundle = REPO / "policies" / "reference" / "stapler_rule_ppo30k"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        per_object = storage.MAX_GRASPS_PER_OBJECT
        largest = identical_rows_file(tmp / "largest_accepted.npz", [per_object] * (storage.MAX_GRASPS // per_object),
                                      np.float64, storage.MAX_EXTRAS)
        two_million = identical_rows_file(tmp / "two_million_rows.npz", [2_000_000], np.float32, 0)
        bad_bundle = hostile_bundle(tmp / "hostile_bundle", shipped_bundle)
        cases = [
            ("(baseline) interpreter + imports", "grasps", "-"),
            ("(a) largest shipped grasp file", "grasps", shipped_grasps),
            ("(b) largest file the caps accept", "grasps", largest),
            ("(c) hostile: 2 M identical rows", "grasps", two_million),
            ("(baseline) interpreter + bundle imports", "bundle", "-"),
            ("(d) shipped policy bundle", "bundle", shipped_bundle),
            ("(e) hostile bundle: unknown 300 MB member", "bundle", bad_bundle),
        ]
        rows, errors = [], []
        for label, mode, target in cases:
            result = load_in_subprocess(mode, target)
            disk = f"{on_disk_kib(target):,.0f}" if target != "-" else "-"
            declares = f"{declared_mib(target):,.1f}" if target != "-" else "-"
            rows.append([label, disk, declares, result["outcome"], f"{result['hwm_mib']:.1f}",
                         f"{result['seconds']:.2f}"])
            if "error" in result:
                errors.append(f"{label}: {result['error']}")
    print(format_table(["case", "on disk KiB", "declares MiB", "outcome", "peak RSS MiB (VmHWM)", "load s"], rows))
    print()
    print(f"largest shipped grasp file: {shipped_grasps.relative_to(REPO)}; caps: MAX_GRASPS={storage.MAX_GRASPS}, "
          f"MAX_GRASPS_PER_OBJECT={storage.MAX_GRASPS_PER_OBJECT}, MAX_EXTRAS={storage.MAX_EXTRAS}")
    for line in errors:
        print(line)
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}; each load in a fresh subprocess")


if __name__ == "__main__":
    main()
