"""Finding a grasp source by name: a saved ``.npz``, a ``"module:Class"`` string, or an entry point.

Third parties plug a generator in by installing a package that declares an entry point in the
group ``dextog_gym.grasp_sources``; nothing here is cached, so a distribution that appears on
``sys.path`` later (an install, or a test's fake ``*.dist-info``) is seen by the next call.
Every failure to resolve a spec is a :class:`GraspSourceError` that says what was tried and
how to spell the alternatives, never a traceback from deep inside a plugin's imports.

This is the only way the environments reach a generator: the registry lives in the core next to
the grasp format, while the generators (``dextog_gym.grasp_sources``) sit a layer above and are
found by entry point. :func:`object_grasps` is what an environment asks of any source.
"""

from __future__ import annotations

import importlib
import os
import re
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from dextog_gym.grasps import Grasps

if TYPE_CHECKING:
    from dextog_gym.objects.catalog import ObjectAsset

ENTRY_POINT_GROUP = "dextog_gym.grasp_sources"
# A "module:Class" spec imports and calls code it names, so it is honoured only when asked for in so
# many words: allow_import=True, or this variable set to 1 (what `dextog --allow-import` does). A name
# that comes from a file, a submission or a result is never imported; installed entry points are.
ALLOW_IMPORT_ENV = "DEXTOG_ALLOW_IMPORT"
_MODULE_CLASS = re.compile(r"(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)\Z")


@runtime_checkable
class GraspSource(Protocol):
    """What the environments need from a generator: n grasps of one object for one task."""

    name: str

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps: ...


def object_grasps(source: GraspSource, obj: ObjectAsset, task: str, n: int,
                  rng: np.random.Generator) -> tuple[Grasps, str]:
    """The starting grasps of one object and the name of the source that served them.

    A source with a fixed set for the object (a saved file, a shipped set) may offer it through an
    optional ``fixed_grasps(obj, task) -> (Grasps, served_by) | None``: the whole set in file order,
    so a grasp index names a row of that file. A source may serve another's grasps where it has none
    of its own (``rule`` falls back to ``rule_relaxed``) and says so in ``served_by``. Otherwise
    ``sample(obj, task, n, rng)`` is called. A ``ValueError`` means: no grasps for this object.
    """
    fixed = getattr(source, "fixed_grasps", None)
    if callable(fixed):
        got = fixed(obj, task)
        if got is not None:
            check_output(got[0] if isinstance(got, tuple) and len(got) == 2 else got, source, obj, task)
            return got
    return sampled(source, obj, task, n, rng), getattr(source, "name", type(source).__name__)


class SourceOutputError(RuntimeError):
    """A source returned something that is not grasps of the object and task it was asked for (a plugin bug:
    raised, never taken for "no grasps for this object")."""


def check_output(grasps: Any, source: Any, obj: ObjectAsset, task: str, n: int | None = None) -> Grasps:
    """``grasps`` if it is a ``Grasps`` of ``obj`` for ``task`` (and at most ``n`` grasps), else a
    :class:`SourceOutputError` naming the source and what it returned."""
    label = getattr(source, "name", type(source).__name__)
    if not isinstance(grasps, Grasps):
        raise SourceOutputError(f"grasp source {label!r} returned {type(grasps).__name__} for {obj.id}; a source's "
                                f"sample() must return dextog_gym.grasps.Grasps (see docs/grasp_sources.md)")
    if len(grasps) and set(grasps.object_ids) != {obj.id}:
        raise SourceOutputError(f"grasp source {label!r} was asked for {obj.id} and returned grasps of "
                                f"{', '.join(grasps.object_ids)}")
    if len(grasps) and set(grasps.tasks) != {task}:
        raise SourceOutputError(f"grasp source {label!r} was asked for task {task!r} on {obj.id} and returned "
                                f"grasps for {', '.join(sorted(set(grasps.tasks)))}")
    if n is not None and len(grasps) > n:
        raise SourceOutputError(f"grasp source {label!r} was asked for {n} grasps of {obj.id} and returned {len(grasps)}")
    return grasps


def sampled(source: GraspSource, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
    """``source.sample(...)``, checked (:func:`check_output`)."""
    return check_output(source.sample(obj, task, n, rng), source, obj, task, n)


class GraspSourceError(ValueError):
    """A source spec that cannot be resolved, imported or instantiated."""


def _entry_points() -> dict[str, EntryPoint]:
    """Entry points of the group by name; the first distribution wins a duplicated name."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def available_sources() -> list[str]:
    """Names registered under ``ENTRY_POINT_GROUP`` (whether or not their modules import)."""
    return sorted(_entry_points())


def describe_sources() -> list[tuple[str, str, str]]:
    """(name, "module:attr", distribution) of every registered source, by name."""
    return [(name, ep.value, ep.dist.name if ep.dist is not None else "?")
            for name, ep in sorted(_entry_points().items())]


def imports_allowed(allow_import: bool = False) -> bool:
    return allow_import or os.environ.get(ALLOW_IMPORT_ENV) == "1"


def get_source(spec: str | os.PathLike, allow_import: bool = False, **kwargs: Any) -> GraspSource:
    """Resolve ``spec``, in this order, to a source instance (``kwargs`` go to its constructor).

    1. a path ending in ``.npz`` or naming an existing file or folder: ``FileSource(path)`` (a folder: its
       per-object ``.npz`` files together);
    2. ``"package.module:Class"``: import the module, instantiate the attribute (only with
       ``allow_import=True`` or ``$DEXTOG_ALLOW_IMPORT=1``: it runs the code it names);
    3. an entry-point name (``available_sources()``): load it and instantiate.
    """
    text = os.fspath(spec)
    if isinstance(spec, os.PathLike) or text.endswith(".npz") or Path(text).is_file() or Path(text).is_dir():
        from dextog_gym.grasps.file_source import FileSource

        if kwargs:
            raise GraspSourceError(f"a grasp file source takes no options, got {sorted(kwargs)}")
        return FileSource(text)
    match = _MODULE_CLASS.match(text)
    if match and not imports_allowed(allow_import):
        raise GraspSourceError(
            f"grasp source {text!r} names Python code to import and call; that is only done when asked for "
            f"explicitly: `dextog --allow-import ...`, allow_import=True (get_source, gym.make), or "
            f"{ALLOW_IMPORT_ENV}=1. Installed sources are used by name (entry-point group {ENTRY_POINT_GROUP!r}).")
    if match:
        target = _import_attr(text, match["module"], match["attr"])
        return _instantiate(text, target, kwargs)
    eps = _entry_points()
    if text in eps:
        ep = eps[text]
        try:
            target = ep.load()
        except Exception as exc:  # a plugin's import failing, whatever the reason
            raise GraspSourceError(
                f"grasp source {text!r} (entry point {ep.value!r}) could not be loaded: "
                f"{type(exc).__name__}: {exc}") from exc
        return _instantiate(text, target, kwargs)
    names = ", ".join(eps) if eps else "(none installed)"
    raise GraspSourceError(
        f"unknown grasp source {text!r}. Registered sources: {names}. Also accepted: a path to a saved "
        f"grasp file ('grasps.npz') or 'package.module:ClassName' for a class on sys.path; packages "
        f"register more under the entry-point group {ENTRY_POINT_GROUP!r}.")


def _import_attr(spec: str, module: str, attr: str) -> Any:
    importlib.invalidate_caches()  # a module written to sys.path after startup must be found
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise GraspSourceError(f"grasp source {spec!r}: no module named {module!r} on sys.path") from None
        raise GraspSourceError(f"grasp source {spec!r}: importing {module!r} failed: {exc}") from exc
    except Exception as exc:
        raise GraspSourceError(
            f"grasp source {spec!r}: importing {module!r} failed: {type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = sorted(n for n in dir(obj) if not n.startswith("_"))
            raise GraspSourceError(
                f"grasp source {spec!r}: {module!r} has no attribute {attr!r} (it has: {', '.join(public)})")
        obj = getattr(obj, part)
    return obj


def _instantiate(spec: str, target: Any, kwargs: dict[str, Any]) -> GraspSource:
    """Call a class or factory with kwargs (a ready instance is used as is); check ``sample``."""
    if isinstance(target, type) or (callable(target) and not hasattr(target, "sample")):
        try:
            source = target(**kwargs)
        except Exception as exc:
            raise GraspSourceError(
                f"grasp source {spec!r}: creating {getattr(target, '__qualname__', target)!r}"
                f"{' with ' + str(sorted(kwargs)) if kwargs else ''} failed: {type(exc).__name__}: {exc}"
            ) from exc
    elif kwargs:
        raise GraspSourceError(f"grasp source {spec!r} is an instance already; it takes no options")
    else:
        source = target
    if not callable(getattr(source, "sample", None)):
        raise GraspSourceError(
            f"grasp source {spec!r}: {type(source).__name__} has no sample(obj, task, n, rng) method")
    return source
