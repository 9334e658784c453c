"""Grasp sources that misbehave on purpose: what the leaderboard's generator sandbox must survive.

Each class is one entry point (pyproject.toml). The ones that probe the sandbox (writing outside,
the network, reading the evaluator's files) do not raise: they return valid grasps and record what
each attempt did in the provenance, so a test can check every attempt failed.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import numpy as np

import dextog_gym
from dextog_gym.grasps import Grasps
from dextog_gym.hand.model import OPEN_POSE


def open_hand(object_id: str, task: str, n: int, provenance: dict | None = None) -> Grasps:
    """``n`` valid grasps: the open hand 20 cm above the object origin."""
    return Grasps.from_arrays(object_id, task, np.tile([0.0, 0.0, 0.2], (n, 1)), np.tile([1.0, 0, 0, 0], (n, 1)),
                              np.tile(OPEN_POSE, (n, 1)), provenance={"source": "hostile", **(provenance or {})})


def attempt(action) -> str:
    try:
        return f"succeeded: {action()!r}"[:200]
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"[:200]


class Good:
    name = "good"

    def sample(self, obj, task, n, rng, text=None):
        return open_hand(obj.id, task, n, {"text": text, "uid": os.getuid(), "files": sorted(os.listdir(obj.folder))})


class TooMany:
    name = "too_many"

    def sample(self, obj, task, n, rng):
        return open_hand(obj.id, task, n + 5)


class Crash:
    name = "crash"

    def sample(self, obj, task, n, rng):
        raise RuntimeError("boom from the hostile generator")


class CrashOnLoad:
    name = "crash_on_load"

    def __init__(self):
        raise ImportError("weights missing")


class Hang:
    name = "hang"

    def sample(self, obj, task, n, rng):
        time.sleep(3600)


class Spin:
    name = "spin"

    def sample(self, obj, task, n, rng):
        while True:
            pass


class Memory:
    name = "memory"

    def sample(self, obj, task, n, rng):
        hoard = []
        while True:
            hoard.append(np.ones(16 << 20))  # 128 MiB a step, touched


class ForkBomb:
    """Forks until refused (RLIMIT_NPROC), then hangs with every child alive: the kill must take them all."""

    name = "fork_bomb"

    def sample(self, obj, task, n, rng):
        os.environ["HOSTILE_FORK_BOMB"] = "1"  # in /proc/<pid>/environ of every child, for the test to find
        forked = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(3600)
                    os._exit(0)
                forked += 1
        except OSError as exc:
            print(f"forked {forked} children, then {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        time.sleep(3600)


class WriteOutside:
    name = "write_outside"

    def sample(self, obj, task, n, rng):
        checkout = Path(dextog_gym.__file__).resolve().parents[1]
        targets = [checkout / "pwned", Path(dextog_gym.__file__).parent / "pwned.py", Path("/tmp/../root/pwned"),
                   Path.home().parents[2] / "pwned", Path(sys.prefix) / "pwned", Path(np.__file__).parents[1] / "pwned",
                   Path(obj.folder) / "pwned"]
        attempts = {str(t): attempt(lambda t=t: t.write_text("pwned")) for t in targets}
        return open_hand(obj.id, task, n, {"attempts": attempts})


class Network:
    name = "network"

    def sample(self, obj, task, n, rng):
        attempts = {"connect": attempt(lambda: socket.create_connection(("1.1.1.1", 80), timeout=3).close()),
                    "dns": attempt(lambda: socket.getaddrinfo("pypi.org", 443))}
        return open_hand(obj.id, task, n, {"attempts": attempts})


class ReadSecret:
    """Looks for ``secret.txt`` in every folder above its private one, and a few host files."""

    name = "read_secret"

    def sample(self, obj, task, n, rng):
        found = {}
        for folder in Path.home().parents:
            found[str(folder)] = attempt(lambda f=folder: sorted(os.listdir(f)))
            found[str(folder / "secret.txt")] = attempt(lambda f=folder: (f / "secret.txt").read_text())
        for path in ("/etc/shadow", "/root/.bash_history", "/proc/1/environ"):
            found[path] = attempt(lambda p=path: Path(p).read_text())
        return open_hand(obj.id, task, n, {"attempts": found})


class BadArrays:
    """Valid grasps, then NaN joints smuggled past validation: the saved file must be refused."""

    name = "bad_arrays"

    def sample(self, obj, task, n, rng):
        grasps = open_hand(obj.id, task, n)
        object.__setattr__(grasps, "joints", np.full_like(grasps.joints, np.nan))
        return grasps


class BadShape:
    name = "bad_shape"

    def sample(self, obj, task, n, rng):
        grasps = open_hand(obj.id, task, n)
        object.__setattr__(grasps, "positions", np.zeros((n, 2)))
        return grasps


class NotGrasps:
    name = "not_grasps"

    def sample(self, obj, task, n, rng):
        return np.zeros((n, 31))


class WrongObject:
    name = "wrong_object"

    def sample(self, obj, task, n, rng):
        return open_hand("stapler_001" if obj.id != "stapler_001" else "stapler_002", task, n)
