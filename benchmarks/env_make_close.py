"""Make/reset/close cycles and long reset runs: is memory flat, and are pybullet clients released?

    python benchmarks/env_make_close.py [--cycles 300] [--resets 2000]

Three runs side by side in one process: envs closed after each cycle, envs dropped without ``close()``
(the finaliser must release their clients), and one env reset ``--resets`` times. Prints resident
memory and open pybullet clients before, midway and after, and the growth per cycle / reset.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_clients() -> int:
    from dextog_gym.physics import pybullet as p

    return sum(p.isConnected(c) for c in range(4096))


def main() -> None:
    import gymnasium as gym

    import dextog_gym  # noqa: F401  (registers the ids)
    from dextog_gym.tables import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--env", default="DexTOG/PenPress-v1")
    parser.add_argument("--object", default="pen_001")
    parser.add_argument("--resets", type=int, default=2000)
    args = parser.parse_args()
    import gc

    rows = [["start", "-", 0, f"{rss_mib():.1f}", open_clients(), "-"]]
    growth = []
    for mode in ("close", "drop"):
        t0, warm = time.perf_counter(), None
        for i in range(1, args.cycles + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                env = gym.make(args.env, objects=[args.object])
                env.reset(seed=i)
            if mode == "close":
                env.close()
            del env
            if mode == "drop" and i % 10 == 0:
                gc.collect()
            if i == 10:
                warm = rss_mib()
            if i in (10, args.cycles // 2, args.cycles):
                rows.append([f"after {i}", f"make/reset/{mode}", i, f"{rss_mib():.1f}", open_clients(),
                             f"{(time.perf_counter() - t0) / i * 1e3:.1f}"])
        gc.collect()
        growth.append(f"make/reset/{mode}: {(rss_mib() - warm) * 1024 / max(args.cycles - 10, 1):.1f} KiB per cycle "
                      f"(cycles 10 to {args.cycles}), open clients at the end: {open_clients()}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(args.env, objects=[args.object])
        t0, warm = time.perf_counter(), None
        for i in range(1, args.resets + 1):
            env.reset(seed=i)
            if i == 50:
                warm = rss_mib()
            if i in (50, args.resets // 2, args.resets):
                rows.append([f"after {i}", "reset", i, f"{rss_mib():.1f}", open_clients(),
                             f"{(time.perf_counter() - t0) / i * 1e3:.1f}"])
        env.close()
    growth.append(f"reset: {(rss_mib() - warm) * 1024 / max(args.resets - 50, 1):.2f} KiB per reset "
                  f"(resets 50 to {args.resets})")
    print(format_table(["when", "run", "count", "RSS MiB", "open pybullet clients", "ms each"], rows))
    print("\n".join(growth))


if __name__ == "__main__":
    main()
