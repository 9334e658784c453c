"""The registered environments: API contract, checkers, vector envs, determinism, bad input.

Every test that builds an env limits it to one object (``ONE``) so building stays fast; the
default object set is exercised once per id in ``test_default_make``.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pybullet as p
import pytest

import dextog_gym
from dextog_gym.envs import observation
from dextog_gym.envs.table import ENV_IDS, MAX_EPISODE_STEPS, TASK_ENVS, TASK_OF_ENV

ONE = {"DexTOG/Stapler-v1": "stapler_000", "DexTOG/SprayerPress-v1": "sprayer_press_004",
       "DexTOG/SprayerTrigger-v1": "sprayer_trigger_000", "DexTOG/BottleCap-v1": "bottle_008",
       "DexTOG/PenPress-v1": "pen_001"}
TERMS = ("reward_task", "reward_lift", "reward_completion", "penalty_drop")


def make(env_id: str, **kw) -> gym.Env:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gym.make(env_id, objects=[ONE[env_id]], **kw)


def test_registration_comes_from_the_table():
    assert set(ONE) == set(ENV_IDS) == {s.env_id for s in TASK_ENVS}
    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        assert spec.max_episode_steps == MAX_EPISODE_STEPS == 100
        assert spec.kwargs["task"] == TASK_OF_ENV[env_id]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_default_make_reset_step(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
    try:
        obs, info = env.reset(seed=3)
        assert env.observation_space.contains(obs) and obs.shape == (observation.OBS_SIZE,)
        obs, reward, terminated, truncated, info = env.step(np.zeros(30, dtype=np.float32))
        assert env.observation_space.contains(obs)
        assert reward == pytest.approx(sum(info[k] for k in TERMS))
        for key in (*TERMS, "theta", "height", "is_success", "lift_success"):
            assert key in info
        assert info["reward_task"] == pytest.approx(80.0 * (info["theta"] - env.unwrapped._episode["theta0"]))
        assert info["penalty_drop"] == pytest.approx(-10.0 * info["palm_to_object_m"])
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_env_checker(env_id):
    from gymnasium.utils.env_checker import check_env

    env = make(env_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def test_stable_baselines3_checker():
    from stable_baselines3.common.env_checker import check_env

    env = make("DexTOG/Stapler-v1")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(env, warn=False)
    finally:
        env.close()


def test_same_seed_same_trajectory():
    rng = np.random.default_rng(0)
    acts = rng.uniform(-1, 1, size=(15, 30))
    runs = []
    for _ in range(2):
        env = make("DexTOG/SprayerTrigger-v1")
        obs, _ = env.reset(seed=11)
        traj = [obs]
        rewards = []
        for a in acts:
            obs, r, *_ = env.step(a)
            traj.append(obs)
            rewards.append(r)
        runs.append((np.array(traj), np.array(rewards)))
        env.close()
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def _factory(env_id):
    return lambda: make(env_id)


def test_async_vector_env():
    envs = gym.vector.AsyncVectorEnv([_factory("DexTOG/PenPress-v1")] * 2)
    try:
        obs, _ = envs.reset(seed=[1, 2])
        assert obs.shape == (2, observation.OBS_SIZE)
        obs, rew, term, trunc, info = envs.step(np.zeros((2, 30), dtype=np.float32))
        assert rew.shape == (2,) and np.all(np.isfinite(rew)) and "theta" in info
    finally:
        envs.close()


def test_sb3_subproc_vec_env():
    from stable_baselines3.common.vec_env import SubprocVecEnv

    envs = SubprocVecEnv([_factory("DexTOG/SprayerPress-v1")] * 2)
    try:
        envs.seed(5)
        obs = envs.reset()
        assert obs.shape == (2, observation.OBS_SIZE)
        obs, rew, done, infos = envs.step(np.zeros((2, 30), dtype=np.float32))
        assert len(infos) == 2 and "is_success" in infos[0]
    finally:
        envs.close()


def test_bad_actions_are_refused_and_the_env_stays_usable():
    env = make("DexTOG/Stapler-v1")
    try:
        env.reset(seed=0)
        before = env.unwrapped.targets.joints.copy()
        for bad in (np.full(30, np.nan), np.r_[np.zeros(29), np.inf], np.zeros(29), np.zeros((2, 30)), "up"):
            with pytest.raises(ValueError):
                env.step(bad)
        np.testing.assert_array_equal(env.unwrapped.targets.joints, before)
        obs, *_ = env.step(np.zeros(30))
        assert np.all(np.isfinite(obs))
    finally:
        env.close()


def test_unknown_ids_and_options_list_what_exists():
    with pytest.raises(ValueError, match="DexTOG/Stapler-v1"):
        dextog_gym.make("DexTOG/Staple-v0")
    with pytest.raises(TypeError, match="grasp_source"):
        gym.make("DexTOG/Stapler-v1", objects=["stapler_000"], graspsource="rule")
    with pytest.raises(ValueError, match="stapler_000"):
        gym.make("DexTOG/Stapler-v1", objects=["pen_000"])
    with pytest.raises(ValueError, match="isf"):
        gym.make("DexTOG/Stapler-v1", objects=["stapler_000"], grasp_source="no_such_source")
    with pytest.raises(ValueError, match="paper"):
        gym.make("DexTOG/Stapler-v1", objects=["stapler_000"], reward="mine")
    env = make("DexTOG/Stapler-v1")
    with pytest.raises(ValueError, match="object_id"):
        env.reset(options={"object": "stapler_000"})
    env.close()


def test_grasp_file_source_and_explosive_grasps(tmp_path):
    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasps.file_source import FileSource

    good = FileSource(grasp_path("rule", "stapler_000")).grasps.select(np.arange(3))
    bad = good.select(np.arange(2))
    # The palm put right through the object's middle: the hand sinks centimetres deep into it.
    from dextog_gym.hand.transforms import quat_wxyz_to_matrix
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    centre = object_shape(get_object("stapler_000")).points.mean(axis=0)
    for k in range(len(bad)):
        bad.positions[k] = centre - quat_wxyz_to_matrix(bad.quats_wxyz[k]) @ np.array([0.011, 0.0, 0.06])
    path = tmp_path / "mine.npz"
    from dextog_gym.grasps import Grasps

    Grasps.concat([bad, good]).save(path)
    env = gym.make("DexTOG/Stapler-v1", objects=["stapler_000"], grasp_source=str(path))
    try:
        with pytest.warns(UserWarning, match="skipped"):
            for seed in range(30):
                _, info = env.reset(seed=seed)
                assert info["grasp_source"] == "file" and info["grasp_index"] >= 2
        # both sunk grasps are found and never drawn again (a good grasp can also fail at some yaw)
        assert {0, 1} <= env.unwrapped.pool.bad[0]
        assert info["placement_skips"] == env.unwrapped.placement_skips >= 2
        with pytest.raises(RuntimeError, match="cannot be placed"):
            env.reset(options={"object_id": "stapler_000", "grasp_index": 0})
    finally:
        env.close()


def test_rgb_array_render_headless():
    env = make("DexTOG/BottleCap-v1", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        frame = env.render()
        assert frame.dtype == np.uint8 and frame.shape == (240, 320, 3)
        assert frame.std() > 5  # a picture, not a blank frame
    finally:
        env.close()


def test_close_releases_the_client():
    env = make("DexTOG/PenPress-v1")
    env.reset(seed=0)
    client = env.unwrapped.scene.client
    assert p.isConnected(client)
    env.close()
    assert not p.isConnected(client)
    env.close()  # twice is fine


def test_observation_layout_is_documented():
    rows = observation.describe()
    assert len(rows) == len(observation.OBS_FIELDS)
    assert sum(f.size for f in observation.OBS_FIELDS) == observation.OBS_SIZE
    assert rows[-1][0].endswith(str(observation.OBS_SIZE - 1))
