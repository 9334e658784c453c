"""``--backend ray``: the same episodes as the local pool, and a killed worker's job re-run exactly once.

Runs a local Ray with 2 CPUs (the 'ray' extra, installed by ``make test`` through the dev extra).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from dextog_gym.policies.evaluate import EvalRequest, evaluate
from dextog_gym.policies.ray_pool import run_ray


@pytest.fixture(scope="module")
def local_ray():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers get this module's toy functions
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_gives_the_local_episodes(local_ray):
    kw = dict(policy="controller", env_id="DexTOG/Stapler-v1", grasps="rule", objects="seen", max_objects=2,
              sample_grasps_per_object=3, workers=2, progress=False)
    local = evaluate(EvalRequest(**kw))
    remote = evaluate(EvalRequest(**kw, backend="ray"))
    assert len(local["episodes"]) == 6
    assert remote["episodes"] == local["episodes"]


def test_the_data_engine_verifies_the_same_grasps_on_ray(local_ray, tmp_path):
    import numpy as np

    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasps import Grasps
    from dextog_gym.workflows.engine import Engine, EngineConfig

    boot = tmp_path / "bootstrap_1.npz"
    Grasps.load(grasp_path("rule", "bottle_000")).select(np.arange(4)).save(boot)
    out = {}
    for backend in ("local", "ray"):
        engine = Engine(tmp_path / backend, EngineConfig(workers=2, backend=backend, progress=False))
        out[backend] = engine._verify([boot])
    assert out["local"]["evaluated"] == 4 and out["ray"] == out["local"]


def _toy_init(marker: str) -> None:
    os.environ["DEXTOG_TOY_MARKER"] = marker  # functions pickled by value do not share module globals


def _toy_run(job: tuple) -> dict:
    marker = Path(os.environ["DEXTOG_TOY_MARKER"])
    if job[1] == 3 and not marker.exists():  # the first worker to take job 3 dies mid-job
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return {"object_id": job[0], "grasp_index": job[1], "episode": job[2], "seed": job[3], "value": job[1] ** 2,
            "pid": os.getpid()}


def test_a_killed_worker_reruns_its_job_once(local_ray, tmp_path):
    marker = tmp_path / "killed"
    jobs = [("toy", i, 0, 100 + i) for i in range(8)]
    rows: list[dict] = []
    run_ray(jobs, 2, _toy_init, (str(marker),), _toy_run, rows.append)
    assert marker.exists()  # a worker did die
    assert sorted(r["grasp_index"] for r in rows) == list(range(8))  # every job once: none lost, none twice
    assert all(r["value"] == r["grasp_index"] ** 2 for r in rows)
    assert next(r for r in rows if r["grasp_index"] == 3)["pid"] != int(marker.read_text())


def _always_die(job: tuple) -> dict:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_job_that_kills_every_worker_stops_the_run(local_ray, tmp_path):
    from dextog_gym.policies.eval_pool import WorkerDiedError

    with pytest.raises(WorkerDiedError, match="killed 3 Ray workers"):
        run_ray([("toy", 0, 0, 0)], 1, _toy_init, (str(tmp_path / "m"),), _always_die, lambda row: None)
