"""The rl-zoo3 hyperparameter file: generated from ppo.yml, current, and read by rl-zoo3 itself."""

from __future__ import annotations

import argparse
import types

import numpy as np
import pytest
import yaml

from dextog_gym.envs.table import ENV_IDS
from dextog_gym.policies.config import load_hyperparams
from dextog_gym.policies.rl_zoo3 import RL_ZOO3_PATH, main, python_expr, render, to_rl_zoo3


def test_committed_file_is_the_generated_one():
    """One source of truth: editing ppo.yml without regenerating fails here (and names the fix)."""
    assert RL_ZOO3_PATH.read_text() == render(), "stale: run python -m dextog_gym.policies.rl_zoo3"
    assert main(["--check"]) == 0


def test_check_mode_flags_a_stale_copy(tmp_path, capsys):
    stale = tmp_path / "ppo.yml"
    stale.write_text(render().replace("n_epochs: 8", "n_epochs: 9"))
    assert main(["--check", "--out", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_each_block_carries_ppo_yml_values(env_id):
    block = yaml.safe_load(RL_ZOO3_PATH.read_text())[env_id]
    ours = load_hyperparams(env_id)
    assert block["n_timesteps"] == ours["total_timesteps"] and block["policy"] == "MlpPolicy"
    for key in ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
                "ent_coef", "vf_coef", "max_grad_norm"):
        assert block[key] == ours[key], key
    assert eval(block["normalize"], {"dict": dict}) == ours["normalize"]  # the strings rl-zoo3 evals
    fake_nn = types.SimpleNamespace(Tanh="Tanh", ReLU="ReLU", ELU="ELU")
    kwargs = eval(block["policy_kwargs"], {"dict": dict, "nn": fake_nn})
    assert kwargs["net_arch"] == ours["policy_kwargs"]["net_arch"]
    assert kwargs["activation_fn"].lower() == ours["policy_kwargs"]["activation_fn"]
    assert kwargs["log_std_init"] == ours["policy_kwargs"]["log_std_init"]


def test_python_expr_writes_what_eval_reads():
    value = {"a": [1, 2.5], "b": {"c": True, "d": None, "e": "x"}}
    assert eval(python_expr(value), {"dict": dict}) == value
    with pytest.raises(ValueError, match="cannot write"):
        python_expr({"a": object()})


def test_every_env_id_of_ppo_yml_is_converted():
    assert list(to_rl_zoo3()) == list(ENV_IDS)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rl_zoo3_reads_our_file(env_id, tmp_path):
    """rl-zoo3's own code path for --conf-file (read, then preprocess), then the PPO it would build."""
    pytest.importorskip("rl_zoo3")
    import gymnasium as gym
    from rl_zoo3.exp_manager import ExperimentManager
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    exp = ExperimentManager(argparse.Namespace(), "ppo", env_id, str(tmp_path), config=str(RL_ZOO3_PATH),
                            verbose=0)
    hyperparams, saved = exp.read_hyperparameters()
    assert saved["n_timesteps"] == 2_000_000  # found by env id, not rl-zoo3's fallback `default`
    kwargs, env_wrapper, callbacks, vec_env_wrapper = exp._preprocess_hyperparams(hyperparams)
    assert exp.n_timesteps == 2_000_000 and exp.n_envs == 2
    assert exp.env_kwargs == {"grasp_source": "rule", "objects": "seen"}
    assert exp.normalize and exp.normalize_kwargs == {"norm_obs": True, "norm_reward": True, "clip_obs": 10.0,
                                                      "clip_reward": 10.0, "gamma": 0.99}
    assert vec_env_wrapper is None and callbacks == []
    import dextog_gym
    from dextog_gym.policies.residual import ResidualAction

    wrapped = env_wrapper(dextog_gym.make(env_id))  # the residual verifier: the controller in an env wrapper
    assert isinstance(wrapped, ResidualAction) and wrapped.scale == 0.5
    wrapped.close()

    spaces = gym.spaces.Box(-np.inf, np.inf, (94,), np.float32), gym.spaces.Box(-1, 1, (30,), np.float32)

    class SpacesOnly(gym.Env):  # the PPO rl-zoo3 builds, without starting physics
        observation_space, action_space = spaces

        def reset(self, *, seed=None, options=None):
            return np.zeros(94, np.float32), {}

        def step(self, action):
            return np.zeros(94, np.float32), 0.0, False, False, {}

    venv = VecNormalize(DummyVecEnv([SpacesOnly] * exp.n_envs), **exp.normalize_kwargs)
    model = PPO(env=venv, device="cpu", **kwargs)
    assert model.n_steps == 100 and model.n_epochs == 8 and model.ent_coef == 1e-3
    assert model.policy.log_std.detach().numpy() == pytest.approx(-1.0)
    widths = [m.out_features for m in model.policy.mlp_extractor.value_net if hasattr(m, "out_features")]
    assert widths == [128, 64]
