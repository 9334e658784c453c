"""What a new process pays before its first step: ``import dextog_gym``, ``gym.make``, the first reset.

    python benchmarks/import_make.py [--repeats 5]

Each figure is the median over fresh processes. Beside every env, what importing the asset generator's
dependencies (trimesh, manifold3d, rtree, scipy) costs in a fresh process: every env process paid that
inside ``gym.make`` before the generator left the make path, so the ratio is (make + that) / make.
Prints the heavy modules each env process ends up with (there should be none).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time
pre = {pre!r}
t0 = time.perf_counter()
for name in pre:
    __import__(name)
t1 = time.perf_counter()
import dextog_gym
t2 = time.perf_counter()
import gymnasium as gym
env = gym.make({env_id!r})
t3 = time.perf_counter()
env.reset(seed=0)
t4 = time.perf_counter()
heavy = [m for m in ("trimesh", "manifold3d", "rtree", "networkx", "scipy", "torch", "matplotlib") if m in sys.modules]
print(json.dumps({{"pre": t1 - t0, "import": t2 - t1, "make": t3 - t2, "reset": t4 - t3, "heavy": heavy}}))
"""
GENERATOR_IMPORTS = ("trimesh", "manifold3d", "rtree", "scipy.spatial")


def probe(env_id: str, pre: tuple[str, ...], repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", PROBE.format(env_id=env_id, pre=pre)], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = ("pre", "import", "make", "reset")
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {"heavy": runs[0]["heavy"]}


def main() -> None:
    import dextog_gym
    from dextog_gym.tables import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per figure (median)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"median of {args.repeats} fresh processes")
    rows = []
    for env_id in dextog_gym.ENV_IDS:
        light = probe(env_id, (), args.repeats)
        generator = probe(env_id, GENERATOR_IMPORTS, args.repeats)["pre"]
        rows.append([env_id, f"{1000 * light['import']:.0f}", f"{1000 * light['make']:.0f}",
                     f"{1000 * light['reset']:.0f}", ", ".join(light["heavy"]) or "none",
                     f"{1000 * generator:.0f}", f"{(light['make'] + generator) / light['make']:.1f}"])
    print(format_table(["env", "import dextog_gym ms", "gym.make ms", "first reset ms", "heavy modules loaded",
                        "generator imports ms", "(make + generator) / make"], rows))


if __name__ == "__main__":
    main()
