"""The Python environment a submitted grasp generator runs in: its own venv, installed in the sandbox.

A submission is one package file (wheel or sdist) that registers a source in the entry-point group
``dextog_gym.grasp_sources``. It gets a venv of its own, keyed by the file's sha256 and reused while the
stamp matches. The evaluator's installed packages (dextog_gym, numpy, torch, pybullet, ...) are visible in
it read-only through a ``.pth`` that adds the evaluator's site-packages AFTER the venv's own, so what the
package brings wins and nothing big is installed twice. pip runs inside the sandbox with the network off
(building an sdist runs its setup code): ``--no-index --find-links`` the package's folder. Dependencies the
evaluator lacks must therefore be bundled as wheels next to the package file (every ``*.whl`` and
``*.tar.gz`` in that folder is offered to pip; put nothing else there), and an sdist must build with
setuptools, which the evaluator provides (``--no-build-isolation``).

Entry points are read from ``*.dist-info/entry_points.txt`` as text; the package is never imported here.
Built-in sources (``isf``, ``diffutog``, ``ndpp``, ...) run with the evaluator's own interpreter instead.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from dextog_gym.files import atomic_write_json, exclusive_lock, sha256_file
from dextog_gym.grasps.registry import ENTRY_POINT_GROUP, available_sources
from dextog_gym.leaderboard import sandbox

STAMP = "dextog_generator_env.json"
PTH_NAME = "zz_dextog_evaluator.pth"  # after the package's own .pth files
MAX_ENTRY_POINTS_BYTES = 1 << 20
PACKAGE_SUFFIXES = (".whl", ".tar.gz")
INSTALL_LIMITS = sandbox.Rlimits(memory_mb=6144, cpu_s=600, file_mb=4096)  # a wheel may carry large weights


class GeneratorEnvError(RuntimeError):
    """The generator cannot be run: install failed, or it does not register the source asked for."""


@dataclass(frozen=True)
class GeneratorEnv:
    source: str  # the entry-point name the worker resolves
    python: Path  # the interpreter the worker runs with
    venv: Path | None = None  # None: a built-in source, the evaluator's own environment
    package_sha256: str | None = None
    entry_points: dict[str, str] = field(default_factory=dict)  # name -> "module:attr" the package registers
    install_s: float = 0.0  # 0.0 when an existing venv was reused


def builtin_env(source: str) -> GeneratorEnv:
    """A source installed with the evaluator itself (metadata only: nothing is imported here)."""
    names = available_sources()
    if source not in names:
        raise GeneratorEnvError(f"no built-in grasp source {source!r}; installed: {', '.join(names)}. A submitted "
                                f"generator is given as a package file")
    return GeneratorEnv(source, Path(sys.executable))


def venv_site(venv: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))


def registered_sources(site: Path) -> dict[str, str]:
    """``{name: "module:attr"}`` of the grasp sources every distribution in ``site`` declares (read as text)."""
    found: dict[str, str] = {}
    for path in sorted(site.glob("*.dist-info/entry_points.txt")):
        if path.stat().st_size > MAX_ENTRY_POINTS_BYTES:
            raise GeneratorEnvError(f"{path.parent.name}: entry_points.txt is larger than {MAX_ENTRY_POINTS_BYTES} bytes")
        parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
        try:
            parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
        except configparser.Error as exc:
            raise GeneratorEnvError(f"{path.parent.name}: unreadable entry_points.txt: {exc}") from None
        if parser.has_section(ENTRY_POINT_GROUP):
            for name, value in parser.items(ENTRY_POINT_GROUP):
                found.setdefault(name.strip(), value.strip())
    return found


def pick_source(registered: dict[str, str], source: str | None, package: Path) -> str:
    """The requested name if the package registers it; its only source if none was named."""
    names = ", ".join(sorted(registered)) or "(none)"
    if source is None:
        if len(registered) != 1:
            raise GeneratorEnvError(f"{package.name} registers {len(registered)} grasp sources ({names}) in "
                                    f"{ENTRY_POINT_GROUP!r}; name the one to evaluate")
        return next(iter(registered))
    if source not in registered:
        raise GeneratorEnvError(f"{package.name} does not register a grasp source {source!r} in "
                                f"{ENTRY_POINT_GROUP!r}; it registers: {names}")
    return source


def _make_venv(venv: Path) -> None:
    """A bare venv (no pip: the evaluator's is visible) whose site-packages ends with the evaluator's."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    lines = [f"import site; site.addsitedir({str(p)!r})" for p in sandbox.evaluator_site_dirs()]
    (venv_site(venv) / PTH_NAME).write_text("\n".join(lines) + "\n")


def _stage(package: Path, folder: Path) -> Path:
    """Copy the package and the wheels beside it into a folder the sandbox reads (nothing else of the host)."""
    shutil.rmtree(folder, ignore_errors=True)  # left by a killed run
    folder.mkdir(parents=True)
    for path in package.parent.iterdir():
        if path.is_file() and path.name.endswith(PACKAGE_SUFFIXES):
            shutil.copy2(path, folder / path.name)
    return folder / package.name


def _pip_install(venv: Path, staged: Path, limits: sandbox.Rlimits, wall_s: float, trust: bool) -> None:
    """``pip install`` the staged file into ``venv``, in the sandbox, offline; the venv is the writable folder."""
    scratch = venv / ".tmp"
    scratch.mkdir()
    argv = [str(venv / "bin" / "python"), "-s", "-m", "pip", "install", "--no-index", "--find-links",
            str(staged.parent), "--no-build-isolation", "--no-cache-dir", "--disable-pip-version-check",
            "--no-warn-script-location", "--progress-bar", "off", str(staged)]
    env = (("TMPDIR", str(scratch)), ("PIP_NO_INPUT", "1"))
    spec = sandbox.SandboxSpec(rw=venv, ro=(staged.parent,), hide=(venv.parent.parent,), rlimits=limits, extra_env=env)
    uid = sandbox.sandbox_uid()
    if uid is not None:
        sandbox.chown_tree(venv, uid)
    try:
        started = sandbox.start(argv, spec, trust=trust)
    except sandbox.SandboxRefused as exc:
        raise GeneratorEnvError(str(exc)) from None
    try:
        out, _ = started.proc.communicate(timeout=wall_s)
    except subprocess.TimeoutExpired:
        started.kill()
        raise GeneratorEnvError(f"installing {staged.name} took longer than {wall_s:g} s (killed)") from None
    finally:
        started.kill()
        if uid is not None:
            sandbox.chown_tree(venv, os.getuid())
        shutil.rmtree(scratch, ignore_errors=True)
    if started.proc.returncode != 0:
        tail = (out.decode("utf-8", "replace")[-1000:] + started.stderr_tail(1500)).strip()
        raise GeneratorEnvError(f"pip could not install {staged.name} offline (exit {started.proc.returncode}); "
                                f"bundle missing dependencies as wheels next to it. pip said: {tail}")


def prepare_env(package: Path, workdir: Path, source: str | None = None, *, trust: bool = False,
                limits: sandbox.Rlimits = INSTALL_LIMITS,
                wall_s: float = 600.0) -> GeneratorEnv:
    """The venv for ``package`` under ``workdir/generators/``, installing it there unless already done."""
    package = Path(package).resolve()
    if not package.is_file() or not package.name.endswith(PACKAGE_SUFFIXES):
        raise GeneratorEnvError(f"{package}: expected a wheel (.whl) or an sdist (.tar.gz) file")
    digest = sha256_file(package)
    venv = Path(workdir).resolve() / "generators" / digest[:16]
    stamp_doc = {"package": package.name, "sha256": digest, "python": sys.version,
                 "evaluator": [str(p) for p in sandbox.evaluator_site_dirs()]}
    with exclusive_lock(venv.with_name(venv.name + ".install"), what="generator venv", wait=wall_s):
        installed = 0.0
        try:
            reuse = json.loads((venv / STAMP).read_text()) == stamp_doc
        except (OSError, ValueError):
            reuse = False
        if not reuse:
            started = time.perf_counter()
            shutil.rmtree(venv, ignore_errors=True)
            _make_venv(venv)
            staged = _stage(package, venv.with_name(venv.name + ".src"))
            try:
                _pip_install(venv, staged, limits, wall_s, trust)
            except BaseException:
                shutil.rmtree(venv, ignore_errors=True)
                raise
            finally:
                shutil.rmtree(staged.parent, ignore_errors=True)
            atomic_write_json(venv / STAMP, stamp_doc)
            installed = time.perf_counter() - started
        registered = registered_sources(venv_site(venv))
        name = pick_source(registered, source, package)
    return GeneratorEnv(name, venv / "bin" / "python", venv, digest, registered, installed)
