"""Env lifecycle and option checks: nothing leaks, nothing half-reset, nothing quietly accepted."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import dextog_gym
from dextog_gym.cli.main import main
from dextog_gym.envs.dextog_env import EnvClosedError
from dextog_gym.paths import grasps_dir
from dextog_gym.physics import pybullet as p


def _open_clients() -> int:
    return sum(p.isConnected(c) for c in range(512))


def test_envs_dropped_without_close_release_their_clients():
    gc.collect()
    before = _open_clients()
    for k in range(12):
        env = dextog_gym.make("DexTOG/PenPress-v1", objects=["pen_001"])
        env.reset(seed=k)
        del env
    gc.collect()
    assert _open_clients() == before


def test_a_failed_reset_leaves_no_episode_to_step(monkeypatch):
    env = dextog_gym.make("DexTOG/Stapler-v1", objects=["stapler_000"], disable_env_checker=True)
    try:
        env.reset(seed=0)
        env.step(np.zeros(30, np.float32))
        unwrapped = env.unwrapped
        monkeypatch.setattr(unwrapped, "_place", lambda k, i, yaw: "hand 3 cm inside the object")
        with pytest.raises(RuntimeError, match="cannot be placed"):
            env.reset(seed=1, options={"object_id": "stapler_000", "grasp_index": 1})
        with pytest.raises(RuntimeError, match="call reset"):
            env.step(np.zeros(30, np.float32))
        monkeypatch.undo()
        obs, info = env.reset(seed=2)  # and the env recovers with a good reset
        assert np.isfinite(obs).all() and info["object_id"] == "stapler_000"
    finally:
        env.close()


@pytest.mark.parametrize("call", ["reset", "step", "render"])
def test_calls_after_close_are_a_clear_error(call):
    env = dextog_gym.make("DexTOG/BottleCap-v1", objects=["bottle_007"], render_mode="rgb_array",
                          disable_env_checker=True)
    env.reset(seed=0)
    env.close()
    with pytest.raises(EnvClosedError, match="closed"):
        {"reset": lambda: env.reset(seed=0), "step": lambda: env.step(np.zeros(30, np.float32)),
         "render": env.render}[call]()
    env.close()  # closing twice is fine


@pytest.mark.parametrize("kwargs,match", [
    ({"grasps_per_object": 0}, "grasps_per_object"),
    ({"grasps_per_object": -3}, "grasps_per_object"),
    ({"grasps_per_object": 2.5}, "grasps_per_object"),
    ({"self_collision": "no"}, "self_collision"),
    ({"reward_weights": {"h_pass": -0.1}}, "h_pass"),
    ({"reward_weights": {"theta_pass": 1.5}}, "theta_pass"),
    ({"reward_weights": {"h_max": -1}}, "h_max"),
])
def test_bad_env_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dextog_gym.make("DexTOG/Stapler-v1", **kwargs)


def test_metrics_max_per_object_must_be_positive(capsys):
    shipped = grasps_dir() / "rule" / "stapler_000.npz"
    assert main(["metrics", str(shipped), "--grasps-per-object", "0"]) == 2
    assert "max_per_object must be a positive integer" in capsys.readouterr().err
