"""Task controllers: training-free verifiers that keep the grasp they start from."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dextog_gym
from dextog_gym.cli.main import main
from dextog_gym.envs.table import TASK_OF_ENV
from dextog_gym.hand.grip import CLOSED, SQUEEZED
from dextog_gym.policies.controllers import TaskController
from dextog_gym.policies.evaluate import EvalRequest, grasp_indices


def distances_to_cap_axis(env) -> np.ndarray:
    """Distances of the wrist target and of a point 10 cm ahead of it to the cap's joint axis (m)."""
    u = env.unwrapped
    t = u.targets
    axis = u.scene.obj.task_joint_axis_world()
    out = []
    for point in (t.wrist_pos, t.wrist_pos + t.wrist_rot @ np.array([0.0, 0.0, 0.1])):
        off = point - u.scene.functional_point()
        out.append(np.linalg.norm(off - axis * (off @ axis)))
    return np.array(out)


@pytest.mark.parametrize("env_id", dextog_gym.ENV_IDS)
def test_controller_runs_an_episode_without_regrasping(env_id):
    env = dextog_gym.make(env_id, disable_env_checker=True)
    controller = TaskController(TASK_OF_ENV[env_id])
    try:
        obs, info = env.reset(seed=0)
        controller.reset(env)
        start = env.unwrapped.targets
        wrist0, joints0 = start.wrist_pos.copy(), start.joints.copy()
        axis0 = distances_to_cap_axis(env) if TASK_OF_ENV[env_id] == "bottle" else None
        previous = joints0.copy()
        done = False
        while not done:
            action = controller.act(obs)
            assert action.shape == (30,) and np.isfinite(action).all() and np.abs(action).max() <= 1.0
            obs, reward, terminated, truncated, info = env.step(action)
            joints = env.unwrapped.targets.joints
            # flexion targets only ever move toward the closed hand; nothing else moves: no re-grasp
            toward = np.sign(CLOSED - joints0)
            assert np.all(((joints - previous) * toward)[SQUEEZED] >= -1e-9)
            assert np.allclose(joints[~SQUEEZED], joints0[~SQUEEZED])
            previous = joints.copy()
            done = terminated or truncated
        wrist = env.unwrapped.targets.wrist_pos
        if TASK_OF_ENV[env_id] != "bottle":
            assert np.allclose(wrist[:2], wrist0[:2], atol=1e-9)  # only a vertical lift
        else:  # the hand turns about the cap's axis: every point of it keeps its distance to that axis
            assert np.allclose(distances_to_cap_axis(env), axis0, atol=0.003)
        assert controller.phase == "task"
        assert controller.grasp_kept() in (True, False, None)
        if info["theta"] >= 0.8:  # the moment grasp_kept is read came
            assert controller.grasp_kept() is not None
    finally:
        env.close()


def test_controller_errors():
    with pytest.raises(ValueError, match="no controller for task"):
        TaskController("teapot")
    with pytest.raises(RuntimeError, match="reset"):
        TaskController("pen").act(np.zeros(94))


def test_evaluate_with_the_controller_records_grasp_kept(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["evaluate", "--verifier", "controller", "--env", "DexTOG/Stapler-v1", "--objects", "stapler_000",
                 "--grasps-per-object", "2", "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["meta"]["policy"] == "controller" and len(result["episodes"]) == 2
    assert all("grasp_kept" in r for r in result["episodes"])
    assert "grasp_kept" in capsys.readouterr().out
    assert main(["evaluate", "--verifier", "controller", "--objects", "stapler_000"]) == 2
    assert "needs --env" in capsys.readouterr().err


def test_asked_objects_without_grasps_stop_the_run_or_are_listed_never_dropped_silently(tmp_path, capsys):
    from dextog_gym.paths import grasps_dir

    one = str(grasps_dir() / "rule" / "stapler_000.npz")  # covers stapler_000 only
    args = ["evaluate", "--verifier", "controller", "--env", "DexTOG/Stapler-v1", "--grasps", one,
            "--objects", "stapler_000,stapler_001", "--grasps-per-object", "1", "--workers", "1", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "stapler_001" in err and "--allow-missing" in err and "--objects stapler_000" in err
    assert main([*args, "--allow-missing", "--out", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "left out, no grasps for them (--allow-missing): stapler_001" in out
    assert json.loads((tmp_path / "r.json").read_text())["meta"]["dropped"].keys() == {"stapler_001"}
    assert "verifier controller on" in out and "success_placed" in out


def test_sampled_grasps_spread_across_the_set_and_are_seeded():
    req = EvalRequest(policy="controller", sample_grasps_per_object=8, seed=3)
    a, b = grasp_indices(98, "stapler_000", req), grasp_indices(98, "stapler_000", req)
    assert a == b and len(a) == 8 and len(set(a)) == 8 and max(a) > 20  # not the first rows
    assert grasp_indices(98, "stapler_001", req) != a
    assert grasp_indices(5, "pen_000", req) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="not both"):
        from dextog_gym.policies.evaluate import plan_jobs

        plan_jobs(EvalRequest(policy="controller", env_id="DexTOG/PenPress-v1", max_grasps_per_object=2,
                              sample_grasps_per_object=2))


def test_reference_resolves_to_each_tasks_chosen_verifier():
    from dextog_gym.envs.table import ENV_OF_TASK
    from dextog_gym.policies import REFERENCE_VERIFIERS
    from dextog_gym.policies.evaluate import REFERENCE_DIR, resolve_verifier

    for task, choice in REFERENCE_VERIFIERS.items():
        got = resolve_verifier("reference", ENV_OF_TASK[task])
        assert got == ("controller" if choice == "controller" else str(REFERENCE_DIR / f"{task}_{choice}"))
        if got != "controller":
            assert (REFERENCE_DIR / f"{task}_{choice}" / "policy.npz").is_file()
    with pytest.raises(ValueError, match="needs --env"):
        resolve_verifier("reference", None)
    with pytest.raises(ValueError, match="unknown env id"):
        resolve_verifier("reference", "DexTOG/Teapot-v0")
