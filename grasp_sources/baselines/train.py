"""Training any baseline model on DiffuTOG's data: AdamW, EMA, TensorBoard, checkpoints, resume.

The loop is DiffuTOG's (``diffutog/train.py``: the same batches of K objects × B/K grasps with a fresh
sentence each, validation split, ``state.pt`` loaded with ``weights_only=True``, ``--max-minutes``
leases), over a model whose ``loss(batch, progress, gen)`` gives its own objective. A run folder
holds ``run.json``, ``tb/``, ``state.pt`` and ``model.npz/.json`` (the EMA weights).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from dextog_gym.files import atomic_write_json
from dextog_gym.grasp_sources.baselines.config import BaselineConfig
from dextog_gym.grasp_sources.diffutog.dataset import BatchSampler, TrainingData
from dextog_gym.grasp_sources.diffutog.train import (
    TrainConfig,
    TrainResult,
    _atomic_torch_save,
    _bar,
    _device,
    _split,
    _subset,
    _writer,
    optimizer_step,
)


def _batch(torch, device, x, text, objs, slot, clouds) -> dict:
    as_t = lambda a: torch.as_tensor(a, device=device)
    return {"x": as_t(x), "text": as_t(text), "clouds": clouds[as_t(objs)], "slot": as_t(slot)}


def train_baseline(data: TrainingData, run_dir: str | os.PathLike, config: TrainConfig, model_config: BaselineConfig,
                   resume: bool = False, progress: bool = True, command: list[str] | None = None,
                   max_seconds: float | None = None) -> TrainResult:
    """Train (or continue, ``resume``) a baseline of ``model_config.kind`` on ``data`` in ``run_dir``."""
    run = Path(run_dir)
    doc, config, model_config = _open_run(run, data, config, model_config, resume)
    doc["commands"].append(command or sys.argv)
    s = _Session.start(data, config, model_config)
    if resume:
        s.restore(run / "state.pt", config)
    import torch

    clouds = torch.as_tensor(data.clouds, device=s.device)
    val = _val_batch(data, s.val_rows, config.seed, s.device, clouds)
    writer = _writer(run / "tb")
    t0, start, history, last = time.time(), s.step, [], {}
    bar = _bar(progress, config.iterations, s.step)
    if bar is not None:
        bar.set_description(f"{model_config.kind} train")
    stopped_early = False
    while s.step < config.iterations:
        if max_seconds is not None and time.time() - t0 > max_seconds:
            stopped_early = True
            break
        last = s.one_step(config, clouds)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{last['loss']:.3f}", refresh=False)
        if s.step % config.log_every == 0 or s.step == config.iterations:
            history.append(_log(s, last, val, config, doc, writer))
        if s.step % config.checkpoint_every == 0 or s.step == config.iterations:
            _checkpoint(run, s.model, s.ema, s.opt, s.step, s.sampler, doc, t0, start)
    if stopped_early:
        _checkpoint(run, s.model, s.ema, s.opt, s.step, s.sampler, doc, t0, start)
        if progress:
            print(f"stopped at {s.step} of {config.iterations} iterations after {max_seconds:.0f} s; --resume continues")
    for closing in (bar, writer):
        if closing is not None:
            closing.close()
    final = history[-1] if history else doc.get("last", {})
    last = last or final
    return TrainResult(run, s.step, time.time() - t0, float(last.get("loss", float("nan"))), final.get("val_loss"),
                       history)


def _open_run(run: Path, data: TrainingData, config: TrainConfig, model_config: BaselineConfig,
              resume: bool) -> tuple[dict, TrainConfig, BaselineConfig]:
    """The run's record: read back (resume: same data, the stored configs) or new (never over an old run)."""
    state_path, run_json = run / "state.pt", run / "run.json"
    data_key = [s.get("sha256", s["data"]) for s in data.sources] + [len(data)]
    if resume:
        if not state_path.is_file():
            raise FileNotFoundError(f"{run}: nothing to resume (no state.pt); start without --resume")
        doc = json.loads(run_json.read_text())
        if doc["data_key"] != data_key:
            raise ValueError(f"{run}: resume with different training data than the run started with")
        model_config = BaselineConfig.from_json(doc["model"])
        config = TrainConfig(**{**doc["train"], "iterations": config.iterations, "device": config.device})
    else:
        if state_path.is_file() or (run / "model.npz").is_file():
            raise FileExistsError(f"{run}: a run is already there; pass --resume to continue it or pick a new --out")
        doc = {"model": model_config.to_json(), "train": asdict(config), "data": data.summary(), "data_key": data_key,
               "object_ids": data.object_ids, "groups": data.groups, "commands": [], "sessions": []}
    run.mkdir(parents=True, exist_ok=True)
    return doc, config, model_config


class _Session:
    """The model, its EMA copy, the optimiser and the seeded batch and noise streams of one training session."""

    @classmethod
    def start(cls, data: TrainingData, config: TrainConfig, model_config: BaselineConfig) -> "_Session":
        import torch

        from dextog_gym.grasp_sources.baselines.models import build_model

        s = cls()
        s.device = _device(config.device)
        torch.manual_seed(config.seed)  # the order of what follows fixes the initial weights: keep it
        s.model = build_model(model_config).to(s.device)
        s.ema = build_model(model_config).to(s.device)
        s.ema.load_state_dict(s.model.state_dict())
        s.ema.requires_grad_(False)
        s.opt = torch.optim.AdamW(s.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        train_rows, s.val_rows = _split(data, config.val_fraction, config.seed)
        s.sampler = BatchSampler(_subset(data, train_rows), config.batch, config.objects_per_batch, config.seed)
        s.gen = torch.Generator(device=s.device).manual_seed(config.seed + 1)
        s.step = 0
        return s

    def restore(self, state_path: Path, config: TrainConfig) -> None:
        import torch

        state = torch.load(state_path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])
        self.step = int(state["step"])
        self.gen.manual_seed(config.seed + 1 + self.step)
        self.sampler.rng.bit_generator.state = json.loads(state["numpy_rng"])

    def one_step(self, config: TrainConfig, clouds) -> dict:
        """One batch: loss, clipped gradient step, EMA update; returns the loss terms."""
        import torch

        self.model.train()
        loss, terms = self.model.loss(_batch(torch, self.device, *self.sampler.sample(), clouds),
                                      self.step / config.iterations, self.gen)
        optimizer_step(loss, self.model, self.ema, self.opt, config.ema)
        self.step += 1
        return terms


def _log(s: _Session, terms: dict, val, config: TrainConfig, doc: dict, writer) -> dict:
    """The history row of this step (with the EMA model's validation loss), also to TensorBoard."""
    row = {"step": s.step, **terms}
    if val is not None:
        row["val_loss"] = _val_loss(s.ema, val, s.step / config.iterations)
    doc["last"] = row
    if writer is not None:
        for k, v in row.items():
            if k != "step":
                writer.add_scalar(f"train/{k}" if k != "val_loss" else "val/loss", v, s.step)
    return row


def _checkpoint(run: Path, model, ema, opt, step: int, sampler, doc: dict, t0: float, start: int) -> None:
    from dextog_gym.grasp_sources.baselines.models import save_baseline

    _atomic_torch_save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                        "numpy_rng": json.dumps(sampler.rng.bit_generator.state)}, run / "state.pt")
    session = {"start_step": start, "end_step": step, "seconds": round(time.time() - t0, 1),
               "ended": time.strftime("%Y-%m-%d %H:%M:%S")}
    if doc["sessions"] and doc["sessions"][-1]["start_step"] == start:
        doc["sessions"][-1] = session
    else:
        doc["sessions"].append(session)
    doc["steps"] = step
    save_baseline(run / "model", ema, {"steps": step, "data": doc["data"], "commands": doc["commands"],
                                       "object_ids": doc["object_ids"], "train": doc["train"],
                                       "train_seconds": round(sum(s["seconds"] for s in doc["sessions"]), 1)})
    atomic_write_json(run / "run.json", doc, indent=2)


def _val_batch(data: TrainingData, rows: np.ndarray, seed: int, device, clouds) -> dict | None:
    """A fixed validation batch (≤ 256 grasps, fixed sentences and noise) so curves compare across steps."""
    import torch

    if len(rows) == 0:
        return None
    rng = np.random.default_rng(seed + 31)
    rows = rows[:256]
    text = np.stack([data.group_embeddings[g][rng.integers(len(data.group_embeddings[g]))] for g in data.text_group[rows]])
    objs, slot = np.unique(data.object_index[rows], return_inverse=True)
    batch = _batch(torch, device, data.x[rows], text.astype(np.float32), objs, slot, clouds)
    return {"batch": batch, "seed": seed + 37}


def _val_loss(model, val: dict, progress: float) -> float:
    import torch

    model.eval()
    gen = torch.Generator(device=val["batch"]["x"].device).manual_seed(val["seed"])
    with torch.no_grad():
        _, terms = model.loss(val["batch"], max(progress, 1.0), gen)
    return terms["loss"]
