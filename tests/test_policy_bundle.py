"""Hyperparameters, policy bundles and result files: what a user hands to train/evaluate/table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dextog_gym.envs.table import ENV_IDS
from dextog_gym.policies.bundle import PolicyBundle
from dextog_gym.policies.config import load_hyperparams
from dextog_gym.policies.report import load_result


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_env_has_the_papers_ppo_settings(env_id):
    hp = load_hyperparams(env_id)
    assert hp["learning_rate"] == 1e-4 and hp["n_steps"] == 100 and hp["n_epochs"] == 8 and hp["ent_coef"] == 1e-3
    assert hp["policy_kwargs"]["net_arch"] == {"pi": [128, 128], "vf": [128, 64]}
    assert hp["total_timesteps"] == 2_000_000


def test_hyperparams_reject_unknown_envs_and_keys(tmp_path):
    with pytest.raises(ValueError, match="no hyperparameters"):
        load_hyperparams("DexTOG/Nope-v0")
    bad = tmp_path / "ppo.yml"
    bad.write_text("default:\n  learning_rate: 1.0e-4\n  lr_typo: 3\nDexTOG/Stapler-v1: {}\n")
    with pytest.raises(ValueError, match="lr_typo"):
        load_hyperparams("DexTOG/Stapler-v1", bad)


def _bundle(rng, obs=94, act=30) -> PolicyBundle:
    sizes = [obs, 16, 8, act]
    layers = [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(sizes[:-1], sizes[1:])]
    return PolicyBundle("DexTOG/Stapler-v1", layers, "tanh", rng.normal(size=obs), rng.uniform(0.5, 2, obs), 10.0,
                        meta={"grasp_source": "rule"})


def test_bundle_round_trip_gives_the_same_actions(tmp_path):
    rng = np.random.default_rng(0)
    b = _bundle(rng)
    obs = rng.normal(size=(5, 94))
    loaded = PolicyBundle.load(b.save(tmp_path / "p"))
    np.testing.assert_allclose(loaded.act(obs), b.act(obs), atol=1e-5)
    a = loaded.act(obs[0])
    assert a.shape == (30,) and a.dtype == np.float32 and np.all(np.abs(a) <= 1.0)
    assert loaded.meta["grasp_source"] == "rule"


def test_bundle_matches_sb3_deterministic_predict(tmp_path):
    pytest.importorskip("stable_baselines3")
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from dextog_gym.policies.bundle import bundle_from_sb3
    from dextog_gym.policies.config import sb3_ppo_kwargs

    space = gym.spaces.Box(-5, 5, (94,), np.float32)

    class Dummy(gym.Env):
        observation_space, action_space = space, gym.spaces.Box(-1, 1, (30,), np.float32)

        def reset(self, seed=None, options=None):
            return self.observation_space.sample(), {}

        def step(self, a):
            return self.observation_space.sample(), 0.0, False, False, {}

    venv = VecNormalize(DummyVecEnv([Dummy]), clip_obs=10.0)
    venv.obs_rms.mean, venv.obs_rms.var = np.linspace(-1, 1, 94), np.linspace(0.5, 3, 94)
    model = PPO("MlpPolicy", venv, device="cpu", **sb3_ppo_kwargs(load_hyperparams("DexTOG/Stapler-v1")))
    bundle = bundle_from_sb3(model, venv.obs_rms, 10.0, "DexTOG/Stapler-v1", {})
    obs = np.random.default_rng(1).normal(size=(7, 94)).astype(np.float32) * 3
    expected, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
    np.testing.assert_allclose(bundle.act(obs), expected, atol=1e-5)


def test_bundle_refuses_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PolicyBundle.load(tmp_path / "nothing")
    folder = _bundle(np.random.default_rng(2)).save(tmp_path / "p")
    (folder / "policy.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="cannot be read"):
        PolicyBundle.load(folder)
    # an object array needs pickle to load: refused
    np.savez(folder / "policy.npz", layer0_w=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="cannot be read"):
        PolicyBundle.load(folder)
    (folder / "policy.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        PolicyBundle.load(folder)
    b = _bundle(np.random.default_rng(3), obs=50)
    with pytest.raises(ValueError, match="trained for DexTOG/Stapler-v1"):
        b.check_env("DexTOG/PenPress-v1", 94, 30)
    with pytest.raises(ValueError, match="50-D observations"):
        b.check_env("DexTOG/Stapler-v1", 94, 30)
    with pytest.raises(ValueError, match="50-D observations"):
        b.act(np.zeros(94))


def test_bundle_shapes_are_checked(tmp_path):
    b = _bundle(np.random.default_rng(4))
    b.layers[1] = (np.zeros((8, 17)), np.zeros(8))  # does not chain with the 16-wide first layer
    with pytest.raises(ValueError, match="takes 17 inputs"):
        PolicyBundle.load(b.save(tmp_path / "p"))


def test_result_files_are_validated(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a dextog evaluation result"):
        load_result(bad)
    bad.write_text(json.dumps({"meta": {"env_id": "x", "task": "pen", "grasps": "rule", "objects": "seen"},
                               "episodes": [{"object_id": "pen_000"}]}))
    with pytest.raises(ValueError, match="malformed episode"):
        load_result(bad)
    with pytest.raises(FileNotFoundError):
        load_result(tmp_path / "missing.json")
