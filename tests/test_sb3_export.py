"""SB3 export of the shipped policies: ``PPO.load(zip).predict`` acts exactly like the bundle, on raw observations."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from functools import cache

import numpy as np
import pytest

from dextog_gym.cli.main import main
from dextog_gym.envs.observation import OBS_BOUND
from dextog_gym.policies.bundle import PolicyBundle
from dextog_gym.policies.evaluate import REFERENCE_DIR, resolve_policy

pytest.importorskip("stable_baselines3")

# Residual bundles (base: controller) are not exportable (the controller is not a network): tested apart.
REFERENCES = sorted(p.name for p in REFERENCE_DIR.iterdir() if (p / "policy.json").is_file()
                    and json.loads((p / "policy.json").read_text()).get("base", "none") == "none")
ATOL = 1e-5


@cache
def env_observations(env_id: str, steps: int = 24) -> np.ndarray:
    """Observations of a real episode driven by the task's reference policy (one env per task, cached)."""
    import dextog_gym

    bundle = PolicyBundle.load(resolve_policy("reference", env_id))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # placement skips and fallbacks are not what this test is about
        env = dextog_gym.make(env_id, disable_env_checker=True)
        try:
            obs, _ = env.reset(seed=0)
            seen = [obs]
            for _ in range(steps):
                obs, _, terminated, truncated, _ = env.step(bundle.act(obs))
                seen.append(obs)
                if terminated or truncated:
                    obs, _ = env.reset()
        finally:
            env.close()
    return np.asarray(seen, dtype=np.float32)


def far_observations(bundle: PolicyBundle, n: int = 64) -> np.ndarray:
    """Raw observations many standard deviations out, so the normalisation's clip is exercised."""
    rng = np.random.default_rng(7)
    std = np.sqrt(bundle.obs_var + bundle.epsilon)
    far = bundle.obs_mean + rng.normal(size=(n, bundle.obs_size)) * std * 40.0
    far[: n // 2] += rng.uniform(-OBS_BOUND, OBS_BOUND, size=(n // 2, bundle.obs_size))  # nowhere near the data
    return np.clip(far, -OBS_BOUND, OBS_BOUND).astype(np.float32)  # still inside the env's observation space


@pytest.mark.parametrize("name", REFERENCES)
def test_export_acts_like_the_bundle(name, tmp_path):
    from stable_baselines3 import PPO

    from dextog_gym.policies.sb3_export import export_sb3, read_provenance

    bundle = PolicyBundle.load(REFERENCE_DIR / name)
    out = export_sb3(bundle, tmp_path / f"{name}.zip", source=name)
    model = PPO.load(out, device="cpu")

    real = env_observations(bundle.env_id)
    far = far_observations(bundle)
    assert (np.abs(bundle.normalise(far)) == bundle.clip_obs).mean() > 0.5  # mostly clipped inputs
    for obs in (real, far):
        predicted, _ = model.predict(obs, deterministic=True)
        np.testing.assert_allclose(predicted, bundle.act(obs), atol=ATOL)
    single, _ = model.predict(real[3], deterministic=True)  # one unbatched observation, as a rollout passes it
    assert single.shape == (bundle.action_size,)
    np.testing.assert_allclose(single, bundle.act(real[3]), atol=ATOL)

    assert model.observation_space.shape == (bundle.obs_size,) and model.action_space.shape == (bundle.action_size,)
    assert np.all(model.action_space.low == -1) and np.all(model.action_space.high == 1)
    assert np.all(model.observation_space.high == OBS_BOUND)  # the env's own bounds: PPO.load(env=...) accepts it
    info = read_provenance(out)
    assert info["env_id"] == bundle.env_id and info["source"] == name
    assert info["bundle_meta"]["grasp_source"] == bundle.meta["grasp_source"]
    assert model.dextog_provenance == info  # the same record, through PPO.load
    import torch as th

    with th.no_grad():  # the critic is documented as untrained: exactly zero, not a plausible-looking guess
        values = model.policy.predict_values(th.as_tensor(real))
    assert th.count_nonzero(values) == 0


def test_export_needs_no_dextog_state_beyond_the_module(tmp_path):
    """A fresh process loads the zip with SB3 alone: the normaliser class is re-imported by name."""
    from dextog_gym.policies.sb3_export import export_sb3

    bundle = PolicyBundle.load(REFERENCE_DIR / "stapler_rule_ppo30k")
    out = export_sb3(bundle, tmp_path / "s.zip")
    obs = far_observations(bundle, 8)
    np.save(tmp_path / "obs.npy", obs)
    code = ("import sys, numpy as np; from stable_baselines3 import PPO; "
            f"m = PPO.load({str(out)!r}, device='cpu'); "
            f"a, _ = m.predict(np.load({str(tmp_path / 'obs.npy')!r}), deterministic=True); "
            f"np.save({str(tmp_path / 'a.npy')!r}, a); print(type(m.policy.features_extractor).__module__)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "dextog_gym.policies.sb3_export"
    np.testing.assert_allclose(np.load(tmp_path / "a.npy"), bundle.act(obs), atol=ATOL)


def test_importing_the_export_module_does_not_import_torch():
    code = "import sys, dextog_gym.policies.sb3_export; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_cli_export_writes_the_zip(tmp_path, capsys):
    out = tmp_path / "sub" / "stapler_rule_ppo30k.zip"
    assert main(["policy", "export", "stapler_rule_ppo30k", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and str(out) in text and "DexTOG/Stapler-v1" in text
    assert not list(out.parent.glob(".*.tmp"))  # atomic write left nothing behind


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    assert main(["policy", "export", "no_such_policy", "--out", str(tmp_path / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dextog: error: unknown policy 'no_such_policy'") and "stapler_rule_ppo30k" in err
    assert err.count("\n") == 1 and not (tmp_path / "x.zip").exists()

    assert main(["policy", "export", "stapler_rule_ppo30k", "--out", str(tmp_path / "x.pt")]) == 2
    assert "is a .zip file" in capsys.readouterr().err

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["policy", "export", "stapler_rule_ppo30k", "--out", str(blocker / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dextog: error: cannot write {blocker / 'x.zip'}") and err.count("\n") == 1


def test_cli_export_without_stable_baselines3_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # import fails as if it were not installed
    assert main(["policy", "export", "stapler_rule_ppo30k", "--out", str(tmp_path / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dextog: error: exporting to stable-baselines3 needs pip install") and err.count("\n") == 1
    assert not (tmp_path / "x.zip").exists()


def test_export_fine_tunes_on_the_real_env(tmp_path):
    """PPO.load(zip, env=...) accepts the env's spaces and learns; the frozen normaliser is not trained."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    import dextog_gym
    from dextog_gym.policies.sb3_export import export_sb3

    bundle = PolicyBundle.load(REFERENCE_DIR / "pen_rule_ppo30k")
    out = export_sb3(bundle, tmp_path / "pen.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        venv = DummyVecEnv([lambda: dextog_gym.make(bundle.env_id, disable_env_checker=True)])
        model = PPO.load(out, env=venv, device="cpu")
        assert model.n_steps == bundle.meta["hyperparams"]["n_steps"]  # training settings travelled with the zip
        first = model.policy.action_net.weight.detach().clone()
        model.learn(model.n_steps)
    venv.close()
    assert model.num_timesteps == model.n_steps and not model.policy.action_net.weight.detach().equal(first)
    np.testing.assert_array_equal(model.policy.features_extractor.mean.numpy(), bundle.obs_mean)
