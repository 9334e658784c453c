"""``dextog train`` faults: two runs into one folder, a fresh run over an old one, and --resume from
damaged run files. Every refusal must name the file and leave the run folder as it was."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from dextog_gym.cli.main import main  # noqa: E402
from dextog_gym.files import sha256_file  # noqa: E402

ENV = "DexTOG/Stapler-v1"
TINY = ["--env", ENV, "--n-envs", "1", "--checkpoint-every", "200", "--no-progress"]
WEIGHTS, NORM = "step_000000400.zip", "step_000000400_norm.npz"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file's sha256 and every folder (the lock file is the locking itself, not run state)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if rel != ".lock":
            out[rel] = sha256_file(path) if path.is_file() else "dir"
    return out


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 400-step run: checkpoints at 200 and 400, latest.json -> 400."""
    out = tmp_path_factory.mktemp("faults") / "stapler"
    assert main(["train", *TINY, "--timesteps", "400", "--out", str(out)]) == 0
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["steps"] == 400
    return out


@pytest.fixture
def run(finished, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def test_a_second_run_into_a_busy_folder_fails_at_once(tmp_path, capsys):
    out = tmp_path / "busy"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "dextog_gym.cli.main", "train", *TINY, "--timesteps", "400",
                              "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    lock = out / ".lock"
    deadline = time.monotonic() + 120
    # The lock (with its holder's pid) is what the fix adds; checkpoints/ is where the old code had started.
    while time.monotonic() < deadline and first.poll() is None:
        if (lock.is_file() and lock.read_text().strip()) or (out / "checkpoints").is_dir():
            break
        time.sleep(0.05)
    assert first.poll() is None, f"the first run ended before the second started: {first.stderr.read().decode()}"
    started = time.monotonic()
    rc = main(["train", *TINY, "--timesteps", "600", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, "a second run into a busy folder must fail"
    assert time.monotonic() - started < 10, "the second run must fail at once, not after building its envs"
    assert f"{out}: this run folder is in use by another process (pid {first.pid})" in err
    _, first_err = first.communicate(timeout=240)
    assert first.returncode == 0, first_err.decode()[-2000:]
    config = json.loads((out / "config.json").read_text())
    assert len(config["commands"]) == 1 and "--timesteps 400" in config["commands"][0]
    assert config["trained_timesteps"] == 400 and config["total_timesteps"] == 400
    rows = (out / "tb" / "progress.csv").read_text().splitlines()
    assert len(rows) > 1 and {len(r.split(",")) for r in rows} == {len(rows[0].split(","))}


def _without_config(run: Path) -> None:
    (run / "config.json").unlink()


def _without_checkpoints(run: Path) -> None:
    shutil.rmtree(run / "checkpoints")


@pytest.mark.parametrize(("damage", "message"), [
    (lambda run: None, "already holds a run; pass --resume to continue it or choose another --out"),
    (_without_checkpoints, "already holds a run that has no checkpoint yet (nothing for --resume to continue)"),
    (_without_config, "already holds part of a run (checkpoints, tb, policy) but no config.json"),
], ids=["finished", "no-checkpoint", "no-config"])
def test_a_fresh_run_will_not_mix_with_an_earlier_one(run, capsys, damage: Callable[[Path], None], message: str):
    damage(run)
    before = snapshot(run)
    assert main(["train", *TINY, "--timesteps", "200", "--out", str(run)]) == 2
    assert f"dextog: error: {run} {message}" in capsys.readouterr().err
    assert snapshot(run) == before


def _latest(doc) -> Callable[[Path], None]:
    return lambda run: (run / "checkpoints" / "latest.json").write_text(json.dumps(doc))


def _edit_norm(**changes) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        path = run / "checkpoints" / NORM
        with np.load(path) as d:
            arrays = {k: d[k] for k in d.files}
        arrays.update(changes)
        arrays = {k: v for k, v in arrays.items() if v is not None}
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    return edit


def _nan_var(run: Path) -> None:
    with np.load(run / "checkpoints" / NORM) as d:
        var = d["obs_var"].copy()
    var[5] = np.nan
    _edit_norm(obs_var=var)(run)


def _truncate(name: str, size: int) -> Callable[[Path], None]:
    def cut(run: Path) -> None:
        path = run / "checkpoints" / name
        path.write_bytes(path.read_bytes()[:size])
    return cut


def _edit_config(change: Callable[[dict], object], replace: bool = False) -> Callable[[Path], None]:
    """Edit config.json in place with ``change``, or (``replace``) write what ``change`` returns instead."""
    def edit(run: Path) -> None:
        config = json.loads((run / "config.json").read_text())
        result = change(config)
        (run / "config.json").write_text(json.dumps(result if replace else config))
    return edit


def _nan_weights(run: Path) -> None:
    """A well-formed SB3 archive whose first policy tensor is NaN (written with SB3's own tensor saver)."""
    import torch
    from stable_baselines3.common.save_util import load_from_zip_file, save_to_zip_file

    path = run / "checkpoints" / WEIGHTS
    _, params, _ = load_from_zip_file(str(path), load_data=False, device="cpu")
    first = next(iter(params["policy"]))
    params["policy"][first] = torch.full_like(params["policy"][first], float("nan"))
    save_to_zip_file(str(path), data=None, params=params)


class _Booby:
    """Unpickling this creates a folder: a resume that unpickles would leave it behind."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def _pickled_weights(run: Path) -> None:
    with zipfile.ZipFile(run / "checkpoints" / WEIGHTS, "w") as archive:
        archive.writestr("policy.pth", pickle.dumps(_Booby(run.parent / "unpickled"), protocol=2))


def _pickled_norm(run: Path) -> None:
    _edit_norm(obs_mean=np.array([_Booby(run.parent / "unpickled")] * 94, dtype=object))(run)


LATEST, CONFIG = "checkpoints/latest.json", "config.json"
CASES = {  # id: (damage, the file the error must name, what it must say)
    "latest-missing": (lambda run: (run / LATEST).unlink(), None, ("--resume: nothing to resume in {run}: {run}/"
                       "checkpoints/latest.json does not exist; {run}/checkpoints holds step_000000200.zip")),
    "checkpoints-missing": (_without_checkpoints, None, "--resume: nothing to resume in {run}"),
    "latest-not-json": (lambda run: (run / LATEST).write_text("{\"steps\": 4"), LATEST, "corrupt JSON"),
    "latest-not-object": (_latest([400]), LATEST, "expected a JSON object, got list"),
    "steps-huge": (_latest({"steps": 10**12, "weights": WEIGHTS, "norm": NORM}), LATEST,
                   "field 'steps' is 1000000000000, outside 0..500"),
    "steps-negative": (_latest({"steps": -1, "weights": WEIGHTS, "norm": NORM}), LATEST, "field 'steps' is -1"),
    "steps-text": (_latest({"steps": "400", "weights": WEIGHTS, "norm": NORM}), LATEST,
                   "field 'steps' must be an int, got '400'"),
    "steps-missing": (_latest({"weights": WEIGHTS, "norm": NORM}), LATEST, "field 'steps' is missing"),
    "weights-traversal": (_latest({"steps": 400, "weights": "../../elsewhere/" + WEIGHTS, "norm": NORM}), LATEST,
                          "field 'weights' is '../../elsewhere/step_000000400.zip'; it must name a file inside"),
    "weights-disagree": (_latest({"steps": 200, "weights": WEIGHTS, "norm": "step_000000200_norm.npz"}), LATEST,
                         "field 'weights' is 'step_000000400.zip', but steps 200 means 'step_000000200.zip'"),
    "weights-gone": (lambda run: (run / "checkpoints" / WEIGHTS).unlink(), LATEST,
                     "field 'weights' names {run}/checkpoints/step_000000400.zip, which does not exist"),
    "norm-truncated": (_truncate(NORM, 1000), f"checkpoints/{NORM}",
                       "not a readable normalisation .npz (BadZipFile"),
    "norm-shape": (_edit_norm(obs_mean=np.zeros(3)), f"checkpoints/{NORM}", "obs_mean has shape (3,), expected (94,)"),
    "norm-nan": (_nan_var, f"checkpoints/{NORM}", "obs_var is not finite"),
    "norm-key-missing": (_edit_norm(ret_count=None), f"checkpoints/{NORM}", "lacks ret_count"),
    "norm-count-zero": (_edit_norm(obs_count=np.float64(0.0)), f"checkpoints/{NORM}", "obs_count is 0.0"),
    "norm-pickled": (_pickled_norm, f"checkpoints/{NORM}", "allow_pickle=False"),
    "weights-truncated": (_truncate(WEIGHTS, 5000), f"checkpoints/{WEIGHTS}", "not usable SB3 parameters"),
    "weights-nan": (_nan_weights, f"checkpoints/{WEIGHTS}", "is not finite"),
    "weights-pickled": (_pickled_weights, f"checkpoints/{WEIGHTS}", "holds pickled objects besides tensors; refused"),
    "config-not-json": (lambda run: (run / CONFIG).write_text((run / CONFIG).read_text()[:200]), CONFIG,
                        "corrupt JSON"),
    "config-not-object": (_edit_config(lambda c: [c], replace=True), CONFIG, "expected a JSON object, got list"),
    "config-total-text": (_edit_config(lambda c: c.update(total_timesteps="400")), CONFIG,
                          "field 'total_timesteps' must be an int"),
    "config-no-normalize": (_edit_config(lambda c: c["hyperparams"].pop("normalize")), CONFIG,
                            "field 'hyperparams': 'normalize' must be a mapping"),
    "config-no-versions": (_edit_config(lambda c: c.pop("versions")), CONFIG, "field 'versions' is missing"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_resume_refuses_damaged_run_files(run, capsys, case: str):
    damage, file, message = CASES[case]
    damage(run)
    before = snapshot(run)
    assert main(["train", *TINY, "--timesteps", "600", "--out", str(run), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dextog: error: ") and err.count("\n") == 1, err
    if file is not None:
        assert err.startswith(f"dextog: error: {run}/{file}: "), err
    assert message.format(run=run) in err
    assert snapshot(run) == before, "a refused resume changed the run folder"
    assert not (run.parent / "unpickled").exists(), "a resume unpickled a run file"


def test_a_good_resume_still_continues_and_a_finished_one_stays_resumable(run):
    assert main(["train", *TINY, "--timesteps", "600", "--out", str(run), "--resume"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["trained_timesteps"] == 600 and config["sessions"][-1]["steps"] == 200
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*.zip")) == [WEIGHTS, "step_000000600.zip"]
    # Asking for fewer steps than trained trains nothing; the run must stay resumable afterwards.
    for _ in range(2):
        assert main(["train", *TINY, "--timesteps", "300", "--out", str(run), "--resume"]) == 0
    assert json.loads((run / LATEST).read_text())["steps"] == 600


def test_weights_are_written_whole_beside_the_target(run, monkeypatch):
    """A checkpoint is written to a temporary file and moved into place, never truncated in place."""
    from dextog_gym.policies import train as train_module

    seen: list[str] = []
    real = train_module.atomic_write

    def spy(path, write, *args, **kwargs):
        seen.append(Path(path).name)
        return real(path, write, *args, **kwargs)

    monkeypatch.setattr(train_module, "atomic_write", spy)
    assert main(["train", *TINY, "--timesteps", "300", "--out", str(run), "--resume"]) == 0
    assert WEIGHTS in seen and NORM in seen
    with zipfile.ZipFile(io.BytesIO((run / "checkpoints" / WEIGHTS).read_bytes())) as archive:
        assert archive.testzip() is None
