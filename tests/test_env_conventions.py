"""What Gymnasium users expect of any env: video at the control rate, a clear error instead of a crash
when there is no display, RecordVideo, and processes that print only what they mean to."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dextog_gym
from dextog_gym.physics import PHYSICS_HZ, DisplayNotAvailableError


@pytest.mark.parametrize("env_id", dextog_gym.ENV_IDS)
@pytest.mark.parametrize("frame_skip", [4, 8, 12])
def test_render_fps_follows_the_frame_skip(env_id, frame_skip):
    env = dextog_gym.make(env_id, frame_skip=frame_skip, render_mode="rgb_array")
    try:
        assert env.metadata["render_fps"] == pytest.approx(PHYSICS_HZ / frame_skip)
        assert env.unwrapped.metadata["render_fps"] == pytest.approx(PHYSICS_HZ / frame_skip)
    finally:
        env.close()


def test_human_rendering_without_a_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(DisplayNotAvailableError, match="rgb_array.*xvfb-run"):
        dextog_gym.make("DexTOG/Stapler-v1", render_mode="human")
    env = dextog_gym.make("DexTOG/Stapler-v1")  # the process is still fine
    env.reset(seed=0)
    env.close()


def test_record_video_writes_an_mp4(tmp_path):
    pytest.importorskip("moviepy")
    import gymnasium as gym
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(gym.make("DexTOG/BottleCap-v1", render_mode="rgb_array"), str(tmp_path),
                      episode_trigger=lambda episode: True, disable_logger=True)
    env.reset(seed=0)
    for _ in range(6):
        env.step(np.zeros(30, np.float32))
    env.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000


@pytest.mark.parametrize("code", ["import dextog_gym.physics as p; p.connect()",
                                  "from dextog_gym.cli.main import main; main(['--version'])"])
def test_no_pybullet_banner(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pybullet build time" not in proc.stdout + proc.stderr
