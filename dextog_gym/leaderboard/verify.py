"""``dextog leaderboard verify``: is this result what its grasps give, here, bit for bit?

Checks, in order (each problem is reported, none stops the others unless re-running is impossible):

1. the result is a leaderboard result of the current protocol, measured with the secret offered;
2. the grasp files have the bytes the result names (the submission's, or those the generator returned);
3. the code, assets and verifier bundles are the ones it was measured with (else no bitwise re-run);
   for the generator track, the hidden objects rebuilt from the secret have the recorded digest;
4. its scores follow from its own episodes and metrics (an edited number is caught here);
5. it holds exactly the episodes the protocol plans for these grasps, none missing, none added;
6. re-running its episodes (all, or a seeded sample) and re-measuring those grasps' metrics gives
   identical values (an edited episode is caught here, when sampled).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.leaderboard.evaluate import (EPISODE_FIELDS, RESULT_FORMAT, cell_request, covered,
                                             submission_grasps, write_task_files)
from dextog_gym.leaderboard.metrics import measure_object
from dextog_gym.leaderboard.protocol import (GRASPS_PER_OBJECT, PRACTICE_SECRET, SPLITS, TASKS, VERIFIERS,
                                             changed_inputs, current_inputs, protocol, secret_digest)
from dextog_gym.leaderboard.scores import score
from dextog_gym.leaderboard.submission import check_meta, load_submission

MAX_RESULT_BYTES = 64 << 20
_SHOW = 5


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    episodes_rerun: int = 0
    objects_remeasured: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def load_result(path: str | Path) -> dict[str, Any]:
    """A result JSON, size-capped and shape-checked (it may come from anyone)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such result file")
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise ValueError(f"{path}: larger than {MAX_RESULT_BYTES} bytes")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: not a JSON document ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != RESULT_FORMAT:
        raise ValueError(f"{path}: not a leaderboard result (format {RESULT_FORMAT!r})")
    for key, kind in (("submission", dict), ("protocol", dict), ("inputs", dict), ("cells", dict),
                      ("metrics", dict), ("scores", dict), ("selection", dict), ("track", str), ("run", dict)):
        if not isinstance(doc.get(key), kind):
            raise ValueError(f"{path}: field {key!r} missing or not a {kind.__name__}")
    for name, cell in doc["cells"].items():
        if not (isinstance(cell, dict) and isinstance(cell.get("episodes"), list) and isinstance(cell.get("objects"), list)
                and all(isinstance(e, dict) and set(EPISODE_FIELDS) <= set(e) for e in cell["episodes"])):
            raise ValueError(f"{path}: cell {name!r} is malformed")
    return doc


def check_integrity(result: dict[str, Any]) -> None:
    """The checks that need nothing but the result: its metadata (as a submission's: an edited result could
    carry a ``javascript:`` link into the page), its protocol, and scores that follow from its episodes."""
    check_meta(result["submission"].get("meta"), "result: submission.meta")
    if result["protocol"] != protocol():
        raise ValueError("measured under another protocol: " + ", ".join(changed_inputs(result["protocol"], protocol())))
    if _canonical(score(result)) != _canonical(result["scores"]):
        raise ValueError("its scores do not follow from its episodes and metrics (edited numbers)")


def _canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True)


def grasps_folder(result: dict[str, Any], given: str | Path | None) -> Path:
    """Where the result's grasps are: the submission (files track) or the generated grasps (generator track)."""
    if given is not None:
        return Path(given)
    key = "generated" if result["track"] == "generator" else "path"
    where = result.get("generated", {}).get("folder") if key == "generated" else result["submission"].get("path")
    if not where:
        raise ValueError("the result names no grasp folder; give it with --submission")
    return Path(where)


def verify_result(result_path: str | Path, submission: str | Path | None = None, sample: int | None = None,
                  sample_seed: int = 0, workers: int = 0, backend: str = "local",
                  secret: str = PRACTICE_SECRET) -> VerifyReport:
    """Check the result at ``result_path``; ``sample``: re-run that many episodes (seeded), else all."""
    result = load_result(result_path)
    report = VerifyReport()
    bad = report.problems.append
    if result["protocol"] != protocol():
        bad("measured under another protocol: " + ", ".join(changed_inputs(result["protocol"], protocol())))
    if result.get("secret_sha256") != secret_digest(secret):
        bad("measured with another secret: give the evaluation's secret (--secret-file) to re-run it")
        return report
    with contextlib.ExitStack() as stack:
        if result["track"] == "generator":  # the generated grasps name hidden objects: load them with the catalogue
            from dextog_gym.leaderboard.hidden import hidden_objects

            hidden = stack.enter_context(hidden_objects(secret, int(result["hidden_objects"]["per_category"])))
            if hidden.digest != result["hidden_objects"]["tree_sha256"]:
                bad("the hidden objects rebuilt from the secret differ from those the result was measured on")
        if result["track"] == "generator":
            from dextog_gym.leaderboard.generator_track import load_generated

            grasps_of, hashes, _ = load_generated(grasps_folder(result, submission))
            stored_files = result.get("generated", {}).get("files", {})
        else:
            sub = load_submission(grasps_folder(result, submission))
            grasps_of, hashes, stored_files = submission_grasps(sub), sub.hashes, result["submission"].get("files", {})
        for name in sorted(set(stored_files) | set(hashes)):
            if stored_files.get(name) != hashes.get(name):
                bad(f"grasp file {name}: its bytes differ from those the result was measured on")
        changed = changed_inputs(result["inputs"], current_inputs())
        if changed:
            bad("measured with other code, assets or verifiers (" + ", ".join(changed[:_SHOW]) + "); a bitwise "
                "re-run needs the same dextog_gym checkout")
        if _canonical(score(result)) != _canonical(result["scores"]):
            bad("its scores do not follow from its episodes and metrics (edited numbers)")
        if report.problems:
            return report  # re-running against other grasps or code cannot agree bit for bit
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dextog_verify_")))
        files, selection = write_task_files(grasps_of, tmp, "verify")
        if _canonical(selection) != _canonical(result["selection"]):
            bad("the protocol takes other grasps from these files than the result lists (selection differs)")
            return report
        plans = _check_plans(result, selection, files, secret, bad)
        if not report.problems:
            chosen = _chosen(result, sample, sample_seed)
            _rerun(result, plans, chosen, workers, backend, report)
            _remeasure(result, files, chosen, report, sample, sample_seed)
    return report


def _check_plans(result, selection, files, secret: str, bad) -> dict[str, tuple]:
    from dextog_gym.policies.evaluate import EvalRequest, plan_jobs
    from dextog_gym.workflows.suite import task_verifier

    plans: dict[str, tuple] = {}
    full = bool(result["run"].get("full_episodes", False))
    for label in VERIFIERS:
        for task in TASKS:
            for split in SPLITS:
                name = f"{task}/{split}/{label}"
                cell = result["cells"].get(name)
                if files[task] is None or not covered(selection, task, split):
                    if cell is not None:
                        bad(f"cell {name}: episodes for objects the submission has no grasps for")
                    continue
                if cell is None:
                    bad(f"cell {name}: missing")
                    continue
                creq = cell_request(files[task], task, split, label, secret, full_episodes=full)
                from dextog_gym.envs.table import ENV_OF_TASK

                req = EvalRequest(policy=task_verifier(creq, task), grasps=str(files[task]), objects=split,
                                  env_id=ENV_OF_TASK[task], seed=creq.seed, progress=False, allow_missing=True)
                env_id, jobs, facts = plan_jobs(req)
                seeds = {tuple(j[:3]): j[3] for j in jobs}
                have = [(e["object_id"], e["grasp_index"], e["episode"]) for e in cell["episodes"]]
                if len(have) != len(set(have)):
                    bad(f"cell {name}: episodes listed twice")
                if set(have) != set(seeds) or cell["objects"] != facts["object_ids"]:
                    missing, extra = len(set(seeds) - set(have)), len(set(have) - set(seeds))
                    bad(f"cell {name}: {missing} planned episodes missing, {extra} not in the plan")
                plans[name] = (env_id, files[task], facts["object_ids"], req.policy, seeds, full)
    return plans


def _chosen(result: dict[str, Any], sample: int | None, seed: int) -> list[tuple[str, int]]:
    every = [(name, i) for name, cell in sorted(result["cells"].items()) for i in range(len(cell["episodes"]))]
    if sample is None or sample >= len(every):
        return every
    rng = np.random.default_rng(seed)
    return [every[i] for i in sorted(rng.choice(len(every), size=sample, replace=False))]


def _rerun(result, plans, chosen, workers, backend, report: VerifyReport) -> None:
    from dextog_gym.policies.evaluate import resolve_verifier, run_jobs

    by_cell: dict[str, list[int]] = {}
    for name, i in chosen:
        by_cell.setdefault(name, []).append(i)
    for name, indices in by_cell.items():
        env_id, file, objects, policy, seeds, full = plans[name]
        stored = {(e["object_id"], e["grasp_index"], e["episode"]): e
                  for e in (result["cells"][name]["episodes"][i] for i in indices)}
        jobs = [(*key, seeds[key]) for key in stored]
        rows: list[dict[str, Any]] = []
        run_jobs(env_id, str(file), objects, resolve_verifier(policy, env_id), jobs, workers, backend, rows.append,
                 full_episodes=full)
        for row in rows:
            key = (row["object_id"], row["grasp_index"], row["episode"])
            fresh = json.loads(json.dumps({k: row.get(k) for k in EPISODE_FIELDS}))  # as the result stores it
            differ = [k for k in EPISODE_FIELDS if fresh[k] != stored[key][k]]
            if differ:
                report.problems.append(f"cell {name}, {key[0]} grasp {key[1]}: re-run differs in {', '.join(differ)}")
        report.episodes_rerun += len(rows)


def _remeasure(result, files, chosen, report: VerifyReport, sample: int | None = None,
               sample_seed: int = 0) -> None:
    """Re-measure the metrics of every object (all), or of a seeded draw of the sampled episodes' objects
    (one object per ``GRASPS_PER_OBJECT`` sampled episodes, at least one): an object costs ~2 s to measure."""
    objects = sorted({(name.split("/")[0], name.split("/")[1], result["cells"][name]["episodes"][i]["object_id"])
                      for name, i in chosen})
    if sample is not None and objects:
        keep = min(len(objects), max(1, -(-sample // GRASPS_PER_OBJECT)))
        rng = np.random.default_rng(sample_seed)
        objects = [objects[i] for i in sorted(rng.choice(len(objects), size=keep, replace=False))]
    for task, split, oid in objects:
        stored = {o["object_id"]: o for o in result["metrics"].get(f"{task}/{split}", {}).get("objects", [])}
        if oid not in stored:
            report.problems.append(f"metrics {task}/{split}: no figures for {oid}")
            continue
        if _canonical(measure_object(str(files[task]), oid)) != _canonical(stored[oid]):
            report.problems.append(f"metrics {task}/{split}, {oid}: re-measured figures differ")
        report.objects_remeasured += 1
