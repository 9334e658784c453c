"""What a result was produced with: package versions and the machine (recorded beside every figure)."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for pkg in ("dextog-gym", "stable-baselines3", "torch", "pybullet", "gymnasium", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def machine_info() -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"system": platform.system(), "machine": platform.machine(), "cpu": cpu, "cores": os.cpu_count()}
