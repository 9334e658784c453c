"""1,000 make/reset/close cycles: does ``close()`` release the pybullet client and the memory?

    python benchmarks/env_make_close.py [--cycles 1000]

Prints the resident memory and the number of open pybullet clients before, midway and after.
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
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--env", default="DexTOG/PenPress-v0")
    parser.add_argument("--object", default="pen_001")
    args = parser.parse_args()
    rows = [["start", 0, f"{rss_mib():.1f}", open_clients(), "-"]]
    t0 = time.perf_counter()
    warm = None
    for i in range(1, args.cycles + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = gym.make(args.env, objects=[args.object])
            env.reset(seed=i)
        env.close()
        if i == 10:
            warm = rss_mib()
        if i in (10, args.cycles // 2, args.cycles):
            rows.append([f"after {i}", i, f"{rss_mib():.1f}", open_clients(), f"{(time.perf_counter() - t0) / i * 1e3:.0f}"])
    print(format_table(["when", "cycles", "RSS MiB", "open pybullet clients", "ms per cycle"], rows))
    print(f"RSS growth from cycle 10 to {args.cycles}: {rss_mib() - warm:.1f} MiB "
          f"({(rss_mib() - warm) * 1024 / max(args.cycles - 10, 1):.1f} KiB per cycle)")


if __name__ == "__main__":
    main()
