"""The reward of Eqs. 17–21 term by term, and the dextog_code reading (specs §5.2)."""

import math

import pytest

from dextog_gym.envs.reward import RewardWeights, completion_condition, reward_terms

W = RewardWeights()


def test_paper_constants():
    assert (W.task, W.lift, W.completion, W.drop) == (80.0, 10.0, 50.0, 10.0)
    assert (W.h_max, W.h_pass, W.theta_pass) == (0.15, 0.10, 0.6)


def test_terms_follow_the_equations():
    t = reward_terms(theta=0.7, theta0=0.1, height=0.20, height0=0.05, palm_to_object_m=0.04, fixed=False, weights=W)
    assert t["reward_task"] == pytest.approx(80 * 0.6)
    assert t["reward_lift"] == pytest.approx(10 * 0.15)  # lift 0.15 = h_max
    assert t["reward_completion"] == 50.0
    assert t["penalty_drop"] == pytest.approx(-0.4)


def test_lift_is_capped_and_may_be_negative():
    high = reward_terms(0.0, 0.0, 1.0, 0.0, 0.0, False, W)
    low = reward_terms(0.0, 0.0, 0.0, 0.02, 0.0, False, W)
    assert high["reward_lift"] == pytest.approx(1.5)
    assert low["reward_lift"] == pytest.approx(-0.2)


@pytest.mark.parametrize("theta, lift, done", [(0.61, 0.11, True), (0.59, 0.11, False), (0.61, 0.09, False)])
def test_completion_needs_both_pass_lines(theta, lift, done):
    t = reward_terms(theta, 0.0, 0.05 + lift, 0.05, 0.0, False, W)
    assert (t["reward_completion"] == 50.0) is done
    assert completion_condition(theta, lift, False, W) is done


def test_fixed_bottle_has_no_lift_term_and_completes_on_theta():
    t = reward_terms(0.65, 0.0, 0.3, 0.1, 0.02, True, W)
    assert t["reward_lift"] == 0.0 and t["reward_completion"] == 50.0
    assert reward_terms(0.55, 0.0, 0.3, 0.1, 0.02, True, W)["reward_completion"] == 0.0


def test_dextog_code_reading_gates_task_and_drops_theta_from_completion():
    below = reward_terms(0.9, 0.0, 0.04, 0.0, 0.0, False, W, "dextog_code")
    assert below["reward_task"] == 0.0
    above = reward_terms(0.1, 0.0, 0.11, 0.0, 0.0, False, W, "dextog_code")
    assert above["reward_task"] == pytest.approx(8.0) and above["reward_completion"] == 50.0
    assert reward_terms(0.1, 0.0, 0.11, 0.0, 0.0, False, W, "paper")["reward_completion"] == 0.0


def test_weights_override_and_validation():
    w = RewardWeights.from_mapping({"task": 1.0, "theta_pass": 0.5})
    assert w.task == 1.0 and w.theta_pass == 0.5 and w.lift == 10.0
    with pytest.raises(ValueError, match="unknown reward_weights"):
        RewardWeights.from_mapping({"alpha9": 1.0})
    with pytest.raises(ValueError, match="finite"):
        RewardWeights.from_mapping({"task": math.nan})
    with pytest.raises(ValueError, match="unknown reward reading"):
        reward_terms(0, 0, 0, 0, 0, False, W, "mine")
