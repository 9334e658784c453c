"""The generator track's sandbox against a generator that misbehaves on purpose (tests/data/hostile_generator).

The package is installed once, from an sdist built here, so its build runs inside the sandbox as a
submission's would. Every behaviour then runs against one real object with short limits and must end
in its own status with a clear message; the probes (writing outside, the network, reading the
evaluator's files) must all fail. Needs a working ``bwrap`` (``make sandbox`` installs bubblewrap).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from dextog_gym.leaderboard import generator_runner, sandbox
from dextog_gym.leaderboard.generator_env import GeneratorEnvError, prepare_env
from dextog_gym.leaderboard.generator_runner import GeneratorRunner, Limits
from dextog_gym.objects.catalog import get_object
from conftest import hostile_sdist

ISOLATED, WHY = sandbox.isolation_available()
pytestmark = pytest.mark.skipif(not ISOLATED, reason=f"no usable bubblewrap sandbox: {WHY} (make sandbox)")

SOURCE = Path(__file__).parent / "data" / "hostile_generator"
SECRET = "TOP-SECRET-HIDDEN-OBJECT-SEED-8472"
HOSTILE = Limits(memory_mb=1024, cpu_s=20, wall_s=20.0, load_wall_s=20.0)
N = 5


def _wheel(dest: Path, name: str, files: dict[str, bytes], entry_points: dict[str, str] | None = None,
           requires: tuple[str, ...] = ()) -> Path:
    """A wheel written as a zip, RECORD and all: no build step runs on the host."""
    dist = f"{name.replace('-', '_')}-0.1.0"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {**files, f"{dist}.dist-info/METADATA": meta.encode(),
             f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    if entry_points:
        lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
        files[f"{dist}.dist-info/entry_points.txt"] = f"[dextog_gym.grasp_sources]\n{lines}".encode()
    digest = {k: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b"=").decode() for k, v in files.items()}
    record = "".join(f"{k},sha256={digest[k]},{len(v)}\n" for k, v in files.items()) + f"{dist}.dist-info/RECORD,,\n"
    path = dest / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for key, data in {**files, f"{dist}.dist-info/RECORD": record.encode()}.items():
            zf.writestr(key, data)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("evaluator-work")
    (work / "secret.txt").write_text(SECRET)  # what a hidden-object seed would be: never visible in the sandbox
    return work


@pytest.fixture(scope="module")
def package(workdir) -> Path:
    folder = workdir.parent / "submission"
    folder.mkdir()
    return hostile_sdist(folder)


@pytest.fixture(scope="module")
def env(package, workdir):
    return prepare_env(package, workdir, "good")


@pytest.fixture(scope="module")
def stapler():
    return get_object("stapler_000")


def run(name: str, workdir: Path, package: Path, obj, limits: Limits = HOSTILE, **kw):
    runner = GeneratorRunner(name, package, workdir, limits, **kw)
    return runner.generate(obj, obj.category, "press the stapler down", N, seed=7)


def test_install_registers_every_behaviour_and_is_reused(env, package, workdir):
    assert env.source == "good" and {"good", "crash", "hang", "write_outside"} <= set(env.entry_points)
    assert env.entry_points["good"] == "hostile_generator:Good" and env.install_s > 0
    again = prepare_env(package, workdir, "crash")
    assert again.venv == env.venv and again.install_s == 0.0 and again.source == "crash"
    with pytest.raises(GeneratorEnvError, match=r"does not register a grasp source 'isf'.*registers: bad_arrays"):
        prepare_env(package, workdir, "isf")
    with pytest.raises(GeneratorEnvError, match="registers 15 grasp sources"):
        prepare_env(package, workdir, None)


def test_a_good_generator_returns_its_grasps_timed_by_the_parent(env, package, workdir, stapler):
    out = run("good", workdir, package, stapler)
    assert out.status == "ok" and out.isolated, out.message + out.stderr_tail
    assert len(out.grasps) == N and out.grasps.object_ids == ("stapler_000",)
    assert out.wall_s > 0 and out.load_s > 0 and "5 of 5 grasps" in out.message
    prov = out.grasps.provenance
    assert prov["text"] == "press the stapler down"  # sample(..., text=) when it takes one
    assert "annotation.json" in prov["files"]  # the object was copied in before the request
    if os.geteuid() == 0:
        assert prov["uid"] == sandbox.NOBODY
    assert not list((workdir / "runs").iterdir())  # private folders are deleted


def test_more_grasps_than_asked_keeps_the_first_n(env, package, workdir, stapler):
    out = run("too_many", workdir, package, stapler)
    assert out.status == "ok" and len(out.grasps) == N


@pytest.mark.parametrize("name,status,words", [
    ("crash", "crashed", "raised while sampling: RuntimeError: boom from the hostile generator"),
    ("crash_on_load", "crashed", "failed to load: GraspSourceError"),
    ("memory", "memory", "ran out of memory (limit 1024 MiB) while sampling"),
    ("bad_arrays", "bad_output", "NaN or inf"),
    ("bad_shape", "bad_output", "field 'positions': shape (5, 2), expected [N, 3]"),
    ("not_grasps", "bad_output", "sample returned ndarray, not Grasps"),
    ("wrong_object", "bad_output", "grasps are for [['stapler_001', 'stapler']]"),
])
def test_each_failure_has_its_status_and_a_clear_message(env, package, workdir, stapler, name, status, words):
    out = run(name, workdir, package, stapler)
    assert out.status == status and out.grasps is None, out.message + out.stderr_tail
    assert out.message.startswith("stapler_000: generator ") and words in out.message, out.message


def test_a_hang_is_killed_at_the_wall_time(env, package, workdir, stapler):
    started = time.monotonic()
    out = run("hang", workdir, package, stapler, Limits(memory_mb=1024, wall_s=2.0))
    assert out.status == "timeout" and out.message == "stapler_000: generator exceeded 2 s wall time (killed)"
    assert 2.0 <= out.wall_s < 3.0 and time.monotonic() - started < 10


def test_cpu_time_is_capped(env, package, workdir, stapler):
    out = run("spin", workdir, package, stapler, Limits(memory_mb=1024, cpu_s=1, wall_s=20.0))
    assert out.status == "timeout" and "exceeded 1 s of CPU time" in out.message, out.message


def _marked_processes() -> list[int]:
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if b"HOSTILE_FORK_BOMB=1" in environ.read_bytes():
                pids.append(int(environ.parent.name))
        except OSError:
            continue
    return pids


def test_a_fork_bomb_is_capped_and_every_child_dies_with_it(env, package, workdir, stapler):
    out = run("fork_bomb", workdir, package, stapler, Limits(memory_mb=1024, wall_s=3.0))
    assert out.status == "timeout", out.message
    if sandbox.sandbox_uid() is not None:
        assert "then BlockingIOError" in out.stderr_tail  # RLIMIT_NPROC for the sandbox user
    time.sleep(0.2)
    assert _marked_processes() == []


def test_nothing_outside_the_private_folder_can_be_written(env, package, workdir, stapler):
    out = run("write_outside", workdir, package, stapler)
    # every write was refused by the sandbox; the generator caught the errors and returned grasps, but the
    # attempt itself fails the object
    assert out.status == "write_outside" and out.grasps is None, out.message
    assert "tried to write outside its folder" in out.message and "pwned" in out.message
    checkout = Path(sandbox.__file__).resolve().parents[1]
    for path in (checkout / "pwned", checkout / "dextog_gym" / "pwned.py", Path("/root/pwned"), workdir / "pwned",
                 env.venv / "pwned", Path(shutil.__file__).parent / "pwned"):
        assert not path.exists(), path


def test_there_is_no_network(env, package, workdir, stapler):
    out = run("network", workdir, package, stapler)
    assert out.status == "network" and out.grasps is None, out.message
    assert "tried the network" in out.message and "1.1.1.1" in out.message


def test_the_evaluators_files_are_not_visible(env, package, workdir, stapler):
    out = run("read_secret", workdir, package, stapler)
    assert out.status == "ok", out.message
    attempts = out.grasps.provenance["attempts"]
    assert SECRET not in json.dumps(attempts)
    assert not [v for v in attempts.values() if v.startswith("succeeded") and "secret.txt" in v], attempts
    assert attempts[str(workdir / "secret.txt")].startswith("FileNotFoundError"), attempts
    assert attempts["/etc/shadow"].startswith(("FileNotFoundError", "PermissionError")), attempts


def test_a_builtin_source_runs_in_the_same_sandbox(workdir, stapler):
    out = GeneratorRunner("open_hand", None, workdir, HOSTILE).generate(stapler, "stapler", "", N, seed=0)
    assert out.status == "ok" and len(out.grasps) == N and out.isolated, out.message + out.stderr_tail


def test_without_isolation_untrusted_code_is_refused_unless_trusted(env, package, workdir, stapler, monkeypatch):
    monkeypatch.setattr(sandbox, "isolation_available", lambda: (False, "bwrap is not installed"))
    out = run("good", workdir, package, stapler)
    assert out.status == "refused" and out.grasps is None
    assert "no isolation here (bwrap is not installed)" in out.message and "trust=True" in out.message
    with pytest.raises(sandbox.SandboxRefused, match="not running untrusted code without isolation"):
        sandbox.start([sys.executable, "-c", "pass"], sandbox.SandboxSpec(rw=workdir))
    out = run("good", workdir, package, stapler, trust=True)
    assert out.status == "ok" and not out.isolated and "[not isolated: trust=True" in out.message, out.message


def test_a_wheel_installs_with_the_dependency_wheels_bundled_beside_it(tmp_path, stapler):
    project = tomllib.loads((SOURCE / "pyproject.toml").read_text())["project"]
    module = (SOURCE / "hostile_generator" / "__init__.py").read_bytes()
    _wheel(tmp_path, "tiny-dep", {"tiny_dep.py": b"VALUE = 42\n"})
    wheel = _wheel(tmp_path, "hostile-generator", {"hostile_generator/__init__.py": module},
                   project["entry-points"]["dextog_gym.grasp_sources"], ("tiny-dep", *project["dependencies"]))
    env = prepare_env(wheel, tmp_path / "work", "good")
    assert (env.venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages" /
            "tiny_dep.py").is_file()
    assert not list(env.venv.glob("lib/*/site-packages/numpy"))  # the evaluator's numpy is used, not reinstalled
    out = run("good", tmp_path / "work", wheel, stapler)
    assert out.status == "ok" and len(out.grasps) == N, out.message + out.stderr_tail


def test_a_package_that_cannot_install_offline_is_install_failed(tmp_path, stapler):
    broken = tmp_path / "needs_net-0.1.0.tar.gz"
    src = tmp_path / "needs_net-0.1.0"
    src.mkdir()
    (src / "pyproject.toml").write_text('[project]\nname = "needs-net"\nversion = "0.1.0"\n'
                                        'dependencies = ["surely-not-installed-pkg>=1"]\n')
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: needs-net\nVersion: 0.1.0\n")
    with tarfile.open(broken, "w:gz") as tar:
        tar.add(src, arcname=src.name)
    out = run("x", tmp_path / "work", broken, stapler)
    assert out.status == "install_failed" and "surely-not-installed-pkg" in out.message, out.message


def test_a_work_folder_inside_a_bound_folder_is_masked():
    """E.g. results written inside the checkout: the mask comes after the bind, the private folders after it."""
    work = sandbox.evaluator_paths()[0] / "results" / "entry.work"
    argv = sandbox.bwrap_argv(["true"], sandbox.SandboxSpec(rw=work / "runs" / "a" / "out", hide=(work,)))
    mask = argv.index("--tmpfs", argv.index(str(sandbox.evaluator_paths()[0])))
    assert argv[mask + 1] == str(work) and mask < argv.index("--bind") and argv.count("--bind") == 1
    assert argv[argv.index("--remount-ro", mask) + 1:][:3] == ["/", "--remount-ro", str(work)]


def test_generator_worker_is_importable_without_side_effects():
    done = subprocess.run([sys.executable, "-c", f"import {generator_runner.WORKER}"], check=False, capture_output=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout == b""


def test_inside_the_sandbox_connections_and_outside_writes_fail_at_the_system_level(tmp_path):
    """Below the audit hook (a C extension or a child process is not seen by it): the sandbox itself refuses."""
    probe = ("import socket, sys\n"
             "try:\n    socket.create_connection(('1.1.1.1', 80), timeout=3)\nexcept OSError as e:\n    print('net', e)\n"
             "try:\n    open(sys.argv[1], 'w')\nexcept OSError as e:\n    print('write', e)\n")
    target = tmp_path / "outside.txt"
    (tmp_path / "rw").mkdir()
    spec = sandbox.SandboxSpec(rw=tmp_path / "rw", rlimits=sandbox.Rlimits(memory_mb=1024, cpu_s=20))
    started = sandbox.start([sys.executable, "-c", probe, str(target)], spec)
    try:
        out, _ = started.proc.communicate(timeout=60)
    finally:
        started.kill()
        started.stderr.close()
    text = out.decode()
    assert "net [Errno 101] Network is unreachable" in text, text + started.stderr_tail()
    assert "write [Errno" in text and not target.exists(), text
