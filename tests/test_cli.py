"""The ``dextog`` command line, as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from dextog_gym.cli.main import main


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "dextog_gym.cli.main", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "assets" in out.stdout and "render" in out.stdout


def test_list_prints_every_object(capsys):
    assert main(["assets", "list"]) == 0
    out = capsys.readouterr().out
    assert "80 objects" in out and "stapler_015" in out and "pen_000" in out


def test_show_object_writes_a_real_picture(tmp_path):
    out = tmp_path / "pen.png"
    assert main(["assets", "show", "pen_000", "--out", str(out)]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == (480, 640, 3)
    # Not a blank frame: the object and its part markers add colours beyond the table.
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50


def test_show_unknown_object_is_a_clear_error(tmp_path, capsys):
    assert main(["assets", "show", "stapler_99", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "unknown object id 'stapler_99'" in err
    assert not (tmp_path / "x.png").exists()


def test_validate_one_category(capsys):
    assert main(["assets", "validate", "--objects", "pen"]) == 0
    assert "16/16 objects pass" in capsys.readouterr().out


def test_assets_report_prints_tables_and_writes_pictures(tmp_path, capsys):
    assert main(["assets", "report", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "80 objects: 70 seen, 10 unseen" in out
    assert "24 + 6-DoF floating wrist" in out
    pictures = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pictures == ["bottle_000.png", "hand.png", "pen_000.png", "sprayer_press_000.png",
                        "sprayer_trigger_000.png", "stapler_000.png"]


def test_demo_runs_an_episode_writes_a_gif_and_the_returns_table(tmp_path, capsys):
    assert main(["render", "--out", str(tmp_path), "--envs", "DexTOG/PenPress-v1", "--steps", "6",
                 "--frame-every", "2"]) == 0
    out = capsys.readouterr().out
    assert "| PenPress-v1" in out and "reward_completion" in out and "penalty_drop" in out
    gif = tmp_path / "PenPress-v1.gif"
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 4  # the reset frame and every second of 6 steps


def test_demo_rejects_unknown_env(tmp_path, capsys):
    assert main(["render", "--out", str(tmp_path), "--envs", "DexTOG/Nope-v0"]) == 2
    assert "DexTOG/Stapler-v1" in capsys.readouterr().err


def test_output_into_a_closed_pipe_stops_quietly():
    """``dextog assets list | head -0``: the reader is gone before the first line; no BrokenPipeError traceback,
    the status a shell reports for a tool stopped by a closed pipe."""
    proc = subprocess.Popen([sys.executable, "-m", "dextog_gym.cli.main", "assets", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command (still importing) has written anything
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in stderr, stderr
