"""The layers of DESIGN.md, enforced: each layer imports only what stands below it.

    cli                      dextog_gym.cli
    workflows                dextog_gym.workflows, dextog_gym.leaderboard
    policies | grasp sources dextog_gym.policies | dextog_gym.grasp_sources   (siblings: never each other)
    core                     every other dextog_gym module

Every import counts, including those inside functions (lazy imports are still dependencies).
pybullet is imported only by the simulation layer and the tools that draw or measure with it.
Run ``python tests/test_layers.py`` for the report.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = {  # module prefix -> (layer name, rank)
    "dextog_gym.cli": ("cli", 3),
    "dextog_gym.workflows": ("workflows", 2),
    "dextog_gym.leaderboard": ("workflows", 2),
    "dextog_gym.policies": ("policies", 1),
    "dextog_gym.grasp_sources": ("grasp sources", 1),
    "dextog_gym": ("core", 0),
}
SIMULATION_LAYER = {"dextog_gym.physics", "dextog_gym.render", "dextog_gym.hand.pybullet_hand",
                    "dextog_gym.objects.pybullet_object", "dextog_gym.envs.scene"}
DRAW_OR_MEASURE = {"dextog_gym.hand.show", "dextog_gym.hand.validate", "dextog_gym.objects.show",
                   "dextog_gym.objects.validate", "dextog_gym.grasps.show", "dextog_gym.metrics.self_collision",
                   "dextog_gym.grasp_sources.isf.lift"}
# What gym.make and a step must not pay for (asset generation, training, grasp models).
HEAVY_AT_MAKE = ("trimesh", "manifold3d", "rtree", "networkx", "torch", "scipy", "matplotlib", "sentence_transformers")


def package_dirs() -> dict[str, Path]:
    """Installed package name -> repository folder, from pyproject (the one source of truth)."""
    doc = tomllib.loads((REPO / "pyproject.toml").read_text())
    return {name: REPO / folder for name, folder in doc["tool"]["setuptools"]["package-dir"].items()}


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root_name, folder in package_dirs().items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([root_name, *parts])
            if not any(name.startswith(other + ".") or name == other
                       for other in package_dirs() if other != root_name and other.startswith(root_name + ".")):
                found[name] = path
    return found


def layer_of(module: str) -> tuple[str, int] | None:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_pkg else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            if target == "dextog_gym.physics" and any(a.name == "pybullet" for a in node.names):
                out.append((node.lineno, "pybullet"))  # the quiet import handed out by the physics module
    return out


def violations() -> tuple[list[str], list[str]]:
    layer_errors, pybullet_errors = [], []
    for module, path in sorted(modules().items()):
        own = layer_of(module)
        for line, target in imports_of(module, path):
            where = f"{path.relative_to(REPO)}:{line}"
            if target.split(".")[0] == "pybullet" and module not in SIMULATION_LAYER | DRAW_OR_MEASURE:
                pybullet_errors.append(f"{where}: {module} imports pybullet outside the simulation layer")
            other = layer_of(target)
            if own is None or other is None or other[0] == own[0]:
                continue
            if other[1] >= own[1]:
                layer_errors.append(f"{where}: {module} ({own[0]}) imports {target} ({other[0]})")
    return layer_errors, pybullet_errors


def test_every_module_imports_only_layers_below_it():
    layer_errors, _ = violations()
    assert not layer_errors, "\n".join(layer_errors)


def test_pybullet_only_in_the_simulation_layer_and_its_tools():
    _, pybullet_errors = violations()
    assert not pybullet_errors, "\n".join(pybullet_errors)


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """The check can fail: a core module importing a grasp source, even lazily, is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from dextog_gym.grasp_sources.rule import RuleSource\n    import pybullet\n")
    found = imports_of("dextog_gym.envs.bad", bad)
    assert (2, "dextog_gym.grasp_sources.rule") in found and (3, "pybullet") in found
    assert layer_of("dextog_gym.envs.bad")[1] < layer_of("dextog_gym.grasp_sources.rule")[1]
    assert layer_of("dextog_gym.policies.evaluate")[0] != layer_of("dextog_gym.grasp_sources.rule")[0]


def test_pyproject_packages_name_every_package_folder():
    """A subpackage missing from pyproject's list would be left out of the wheel."""
    doc = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(doc["tool"]["setuptools"]["packages"])
    on_disk = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert on_disk == listed, f"missing from pyproject: {sorted(on_disk - listed)}; stale: {sorted(listed - on_disk)}"


@pytest.mark.parametrize("env_id", ["DexTOG/Stapler-v1", "DexTOG/BottleCap-v1"])
def test_make_and_step_stay_light(env_id, tmp_path):
    code = ("import sys, gymnasium as gym, dextog_gym, numpy as np\n"
            f"env = gym.make({env_id!r}); env.reset(seed=0); env.step(np.zeros(30, np.float32))\n"
            f"print(','.join(m for m in {HEAVY_AT_MAKE!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"gym.make/step imported: {out.stdout.strip()}"


if __name__ == "__main__":
    mods = modules()
    counts: dict[str, int] = {}
    for m in mods:
        counts[layer_of(m)[0]] = counts.get(layer_of(m)[0], 0) + 1
    print("modules per layer: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    layer_errors, pybullet_errors = violations()
    print(f"imports that reach up or sideways: {len(layer_errors)}")
    print("\n".join(layer_errors))
    print(f"pybullet imports outside the simulation layer and its drawing/measuring tools: {len(pybullet_errors)}")
    print("\n".join(pybullet_errors))
    sys.exit(1 if layer_errors or pybullet_errors else 0)
