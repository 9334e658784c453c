"""``dextog diffutog`` commands and the shipped model as a grasp source (registry, environments)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from dextog_gym.cli.main import main  # noqa: E402
from dextog_gym.grasp_sources.shipped import grasp_path  # noqa: E402


def test_train_and_sample_commands(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["diffutog", "train", "--data", str(grasp_path("rule", "stapler_001")), "--out", str(out),
               "--iterations", "6", "--batch", "8", "--hidden", "32", "--hand-points", "32", "--checkpoint-every", "3",
               "--device", "cpu", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "6 iterations" in text and (out / "model.npz").is_file()
    doc = json.loads((out / "model.json").read_text())
    assert doc["steps"] == 6 and doc["commands"][0][:3] == ["dextog", "diffutog", "train"]
    saved = tmp_path / "g.npz"
    rc = main(["diffutog", "sample", "--object", "stapler_001", "--model", str(out / "model"), "-n", "3",
               "--text", "press down the stapler arm to bind my notes", "--out", str(saved)])
    assert rc == 0 and saved.is_file()
    assert "3 grasps for stapler_001" in capsys.readouterr().out
    # a resume of a finished run with the same length does nothing and says so
    assert main(["diffutog", "train", "--data", str(grasp_path("rule", "stapler_001")), "--out", str(out),
                 "--iterations", "6", "--device", "cpu", "--resume", "--no-progress"]) == 0


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["diffutog", "train", "--data", str(tmp_path / "nope.npz"), "--out", str(tmp_path / "r")]) == 2
    assert "no such grasp file" in capsys.readouterr().err
    assert main(["diffutog", "sample", "--object", "stapler_001", "--model", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["diffutog", "sample", "--object", "stapler_001", "--text", "  "]) == 2
    assert "empty" in capsys.readouterr().err


def test_shipped_model_is_a_registered_source():
    from dextog_gym.grasp_sources.diffutog.source import shipped_model_path
    from dextog_gym.grasps.registry import available_sources, get_source
    from dextog_gym.objects.catalog import get_object

    assert "diffutog" in available_sources()
    assert shipped_model_path().with_suffix(".npz").is_file()
    src = get_source("diffutog", collision_steps=5)
    asset = get_object("pen_000")
    g = src.sample(asset, "pen", 4, np.random.default_rng(0))
    assert len(g) == 4 and g.provenance["model"] == "diffutog"


def test_environment_runs_from_shipped_diffutog_grasps():
    import gymnasium as gym

    import dextog_gym  # noqa: F401

    env = gym.make("DexTOG/BottleCap-v1", grasp_source="diffutog", objects=["bottle_000"])
    obs, info = env.reset(seed=0)
    assert info["grasp_source"] == "diffutog"
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape, np.float32))
        assert np.isfinite(obs).all() and np.isfinite(reward)
    env.close()
