"""A user's install: the wheel, in a fresh virtualenv, used from a folder that is not the checkout.

The folder holds its own ``policies/`` and ``grasp_sources/`` packages (as a research project might),
which must not shadow ours: every installed module lives under ``dextog_gym``. The virtualenv gets the
wheel and its declared dependencies from the package index (pip's cache after ``make install``), so a
missing dependency or package-data pattern fails here. About 30 s on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

ENV_SCRIPT = """
import json, sys
import numpy as np
import gymnasium as gym
import dextog_gym, policies, grasp_sources   # the user's own packages import alongside ours
from dextog_gym.paths import assets_root
assert policies.MINE and grasp_sources.MINE
out = {"assets": str(assets_root()), "envs": {}}
for env_id in dextog_gym.ENV_IDS:
    env = gym.make(env_id)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape, np.float32))
    out["envs"][env_id] = {"obs": int(obs.shape[0]), "finite": bool(np.isfinite(obs).all()),
                           "source": info["grasp_source"]}
    env.close()
print(json.dumps(out))
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(wheel, virtualenv python, user folder)."""
    root = tmp_path_factory.mktemp("wheel")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEXTOG_ASSETS", "VIRTUAL_ENV")}
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"),
          str(REPO)], root, clean | {"PYTHONWARNINGS": "ignore"})
    wheel = next((root / "dist").glob("dextog_gym-*.whl"))
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], root, clean)
    user = root / "user_project"
    for name in ("policies", "grasp_sources"):
        (user / name).mkdir(parents=True)
        (user / name / "__init__.py").write_text("MINE = True\n")
    (user / "policies" / "evaluate.py").write_text("raise ImportError('the user policies package was imported')\n")
    return wheel, python, user


def test_wheel_carries_the_run_time_data_and_only_dextog_gym(installed):
    wheel, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("dextog_gym-")}
    assert top == {"dextog_gym"}, f"top-level names besides dextog_gym: {sorted(top)}"
    for must in ("dextog_gym/assets/hands/shadow_hand/shadow_hand.urdf", "dextog_gym/assets/objects/split.json",
                 "dextog_gym/assets/objects/stapler/stapler_000/annotation.json",
                 "dextog_gym/assets/grasps/rule/stapler_000.npz", "dextog_gym/assets/grasps/rule_relaxed/ranking.json",
                 "dextog_gym/assets/diffutog/diffutog.npz", "dextog_gym/policies/hyperparams/ppo.yml",
                 "dextog_gym/assets/policies/stapler_rule_residual/policy.npz",
                 "dextog_gym/assets/diffutog/text_embeddings.npz"):
        assert must in names, must
    assert not any("/train_data/" in n for n in names), "training data is not run-time data"


def test_every_env_makes_resets_and_steps_from_a_user_folder(installed):
    _, python, user = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEXTOG_ASSETS")}
    proc = _run([str(python), "-c", ENV_SCRIPT], user, env | {"PYTHONPATH": str(user)})
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "site-packages" in doc["assets"]
    assert set(doc["envs"]) == {"DexTOG/Stapler-v1", "DexTOG/SprayerPress-v1", "DexTOG/SprayerTrigger-v1",
                                "DexTOG/BottleCap-v1", "DexTOG/PenPress-v1"}
    for env_id, row in doc["envs"].items():
        assert row["obs"] == 94 and row["finite"], (env_id, row)
    assert "pybullet build time" not in proc.stderr


def test_dextog_evaluate_runs_from_a_user_folder(installed):
    _, python, user = installed
    dextog = python.parent / "dextog"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEXTOG_ASSETS")}
    proc = _run([str(dextog), "evaluate", "--verifier", "stapler_rule_residual", "--grasps", "rule", "--objects", "stapler_000",
                 "--max-grasps-per-object", "2", "--workers", "1", "--format", "json", "--no-progress",
                 "--out", "eval.json"], user, env | {"PYTHONPATH": str(user)})
    result = json.loads((user / "eval.json").read_text())
    assert len(result["episodes"]) == 2, proc.stdout
    assert "pybullet build time" not in proc.stderr


def test_a_missing_asset_tree_names_the_override(installed, tmp_path):
    _, python, user = installed
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"DEXTOG_ASSETS": str(tmp_path / "nothing")}
    proc = subprocess.run([str(python), "-c", "import gymnasium as gym, dextog_gym; gym.make('DexTOG/Stapler-v1')"],
                          cwd=user, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "DEXTOG_ASSETS" in proc.stderr and "not found" in proc.stderr


def test_a_third_party_grasp_source_installs_and_is_found_by_name(installed):
    """The documented plugin example (examples/nearest_object_source, docs/grasp_sources.md), installed as a user
    would, generates checked grasps through the CLI."""
    _, python, user = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEXTOG_ASSETS", "VIRTUAL_ENV")}
    _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
          str(REPO / "examples" / "nearest_object_source")], user, env | {"PYTHONWARNINGS": "ignore"})
    dextog = python.parent / "dextog"
    listed = _run([str(dextog), "grasps", "sources"], user, env)
    assert "nearest_object" in listed.stdout and "nearest-object-source" in listed.stdout
    _run([str(dextog), "grasps", "generate", "--grasps", "nearest_object", "--objects", "stapler_003",
          "--grasps-per-object", "4", "--out", "sets"], user, env)
    check = ("import json; from dextog_gym.grasps import Grasps; g = Grasps.load('sets/nearest_object/stapler_003.npz');"
             "print(json.dumps([len(g), list(g.object_ids), g.provenance['retrieved_from']]))")
    n, ids, nearest = json.loads(_run([str(python), "-c", check], user, env).stdout)
    assert n == 4 and ids == ["stapler_003"] and nearest.startswith("stapler_")
