"""Residual verifiers: the controller plus a learned correction, the same in training and evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dextog_gym
from dextog_gym.cli.main import main
from dextog_gym.policies.bundle import PolicyBundle
from dextog_gym.policies.controllers import TaskController
from dextog_gym.policies.residual import ResidualAction, ResidualPolicy, check_base, compose, policy_for

ENV = "DexTOG/Stapler-v1"


def _zero_bundle(meta: dict) -> PolicyBundle:
    rng = np.random.default_rng(0)
    layers = [(rng.normal(size=(8, 94)), np.zeros(8)), (np.zeros((30, 8)), np.zeros(30))]
    return PolicyBundle(ENV, layers, "tanh", np.zeros(94), np.ones(94), 10.0, meta=meta)


def _trajectory(env, act, steps: int = 25, on_reset=None) -> np.ndarray:
    """Observations of one seeded episode; ``on_reset(env)`` runs right after the reset (a policy's reset)."""
    obs, _ = env.reset(seed=4)
    if on_reset is not None:
        on_reset(env)
    out = [obs]
    for _ in range(steps):
        obs, *_ = env.step(act(obs))
        out.append(obs)
    return np.array(out)


def test_a_zero_residual_is_exactly_the_controller():
    plain = dextog_gym.make(ENV, objects=["stapler_000"], disable_env_checker=True)
    controller = TaskController("stapler")
    expected = _trajectory(plain, controller.act, on_reset=controller.reset)
    plain.close()
    wrapped = ResidualAction(dextog_gym.make(ENV, objects=["stapler_000"], disable_env_checker=True), 0.5)
    got = _trajectory(wrapped, lambda obs: np.zeros(30))
    wrapped.close()
    np.testing.assert_array_equal(got, expected)


def test_the_residual_policy_acts_as_the_training_wrapper_does():
    bundle = _zero_bundle({"base": "controller", "residual_scale": 0.5})
    bundle.layers[-1] = (np.full((30, 8), 0.01), np.full(30, 0.05))  # a small, non-zero correction
    policy = policy_for(bundle, ENV)
    assert isinstance(policy, ResidualPolicy)
    a = dextog_gym.make(ENV, objects=["stapler_000"], disable_env_checker=True)
    evaluated = _trajectory(a, policy.act, on_reset=policy.reset)
    a.close()
    b = ResidualAction(dextog_gym.make(ENV, objects=["stapler_000"], disable_env_checker=True), 0.5)
    trained = _trajectory(b, bundle.act)
    b.close()
    np.testing.assert_array_equal(trained, evaluated)


def test_compose_clips_and_bad_settings_are_refused():
    assert np.array_equal(compose(np.ones(3), np.ones(3), 0.5), np.ones(3))
    for base, scale in (("teleop", 0.5), ("controller", 0), ("controller", 3), ("controller", "0.5")):
        with pytest.raises(ValueError):
            check_base(base, scale, "test")
    assert policy_for(_zero_bundle({}), ENV).__class__ is PolicyBundle  # no base: the paper's protocol
    with pytest.raises(ValueError, match="residual_scale"):
        policy_for(_zero_bundle({"base": "controller"}), ENV)
    env = ResidualAction(dextog_gym.make(ENV, objects=["stapler_000"], disable_env_checker=True), 0.5)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(30))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.full(30, np.nan))
    env.close()


def test_train_a_residual_and_evaluate_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--env", ENV, "--timesteps", "200", "--n-envs", "1", "--out", str(out), "--no-progress"]) == 0
    meta = json.loads((out / "policy" / "policy.json").read_text())
    assert meta["base"] == "controller" and meta["residual_scale"] == 0.5
    assert main(["evaluate", "--verifier", str(out / "policy"), "--objects", "stapler_000", "--grasps-per-object",
                 "1", "--workers", "1", "--no-progress", "--format", "json"]) == 0
    assert main(["policy", "export", str(out / "policy"), "--out", str(tmp_path / "x.zip")]) == 2
    assert "residual on the task controller" in capsys.readouterr().err
    assert main(["train", "--env", ENV, "--timesteps", "200", "--n-envs", "1", "--base", "none",
                 "--out", str(tmp_path / "plain"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "plain" / "policy" / "policy.json").read_text())["base"] == "none"


def test_init_from_a_bundle_starts_from_its_actor(tmp_path, capsys):
    from dextog_gym.policies.evaluate import REFERENCE_DIR

    out = tmp_path / "from_ref"
    assert main(["train", "--env", ENV, "--timesteps", "100", "--n-envs", "1", "--base", "none", "--init", "stapler_rule_ppo30k",
                 "--out", str(out), "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["init"] == str(REFERENCE_DIR / "stapler_rule_ppo30k") and len(config["init_sha256"]) == 64
    assert main(["train", "--env", ENV, "--timesteps", "100", "--n-envs", "1", "--init", "stapler_rule_ppo30k",
                 "--out", str(tmp_path / "mismatch"), "--no-progress"]) == 2  # a paper-protocol actor as a residual
    assert "cannot start a run with base 'controller'" in capsys.readouterr().err
    ckpt = next((out / "checkpoints").glob("step_*.zip"))
    assert main(["train", "--env", ENV, "--timesteps", "100", "--n-envs", "1", "--base", "none", "--init", str(ckpt),
                 "--out", str(tmp_path / "from_zip"), "--no-progress"]) == 0
