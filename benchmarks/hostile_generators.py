"""The generator track against a generator that misbehaves on purpose: one row per behaviour.

    python benchmarks/hostile_generators.py [--object stapler_000] [--wall-s 20] [--memory-mb 1024]

Builds an sdist of ``tests/data/hostile_generator`` (with tarfile: nothing of it runs here), installs it
once into its own venv (the build runs inside the sandbox), then asks every entry point it registers for
5 grasps of one object through ``GeneratorRunner`` — the evaluator's own code path — and prints what the
result would record: the status, the one-line message, the measured times. Needs bubblewrap.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from dextog_gym.leaderboard import sandbox
from dextog_gym.leaderboard.generator_env import prepare_env
from dextog_gym.leaderboard.generator_runner import GeneratorRunner, Limits
from dextog_gym.objects.catalog import get_object
from dextog_gym.tables import format_table

SOURCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "hostile_generator"


def sdist(dest: Path) -> Path:
    path = dest / "hostile_generator-0.1.0.tar.gz"
    info = dest / "PKG-INFO"
    info.write_text("Metadata-Version: 2.1\nName: hostile-generator\nVersion: 0.1.0\n")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(SOURCE, arcname="hostile_generator-0.1.0",
                filter=lambda i: None if "__pycache__" in i.name or ".egg-info" in i.name else i)
        tar.add(info, arcname="hostile_generator-0.1.0/PKG-INFO")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--object", default="stapler_000")
    ap.add_argument("--wall-s", type=float, default=20.0)
    ap.add_argument("--memory-mb", type=int, default=1024)
    args = ap.parse_args()
    ok, why = sandbox.isolation_available()
    if not ok:
        print(f"no sandbox here: {why}", file=sys.stderr)
        return 2
    limits = Limits(memory_mb=args.memory_mb, cpu_s=int(args.wall_s), wall_s=args.wall_s, load_wall_s=args.wall_s)
    obj = get_object(args.object)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dextog_hostile_") as tmp:
        package = sdist(Path(tmp))
        t = time.perf_counter()
        env = prepare_env(package, Path(tmp) / "work", "good")
        print(f"installed {package.name} in {time.perf_counter() - t:.1f} s; sources: {', '.join(env.entry_points)}")
        for name in env.entry_points:
            runner = GeneratorRunner(name, package, Path(tmp) / "work", limits)
            t = time.perf_counter()
            out = runner.generate(obj, obj.category, "press the stapler", 5, 0)
            rows.append([name, out.status, 0 if out.grasps is None else len(out.grasps), f"{out.load_s:.2f}",
                         f"{out.wall_s:.2f}", f"{time.perf_counter() - t:.1f}", out.message[:110]])
    print(format_table(["behaviour", "status", "grasps", "load s", "wall s", "total s", "message"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
