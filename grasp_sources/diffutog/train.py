"""Training DiffuTOG: AdamW on the diffusion loss, EMA weights, TensorBoard, checkpoints, resume.

A run folder holds ``run.json`` (every command, the data it saw, timings), ``tb/`` (TensorBoard),
``state.pt`` (everything needed to continue: weights, EMA, optimiser, step and RNG states; saved
atomically, loaded with ``weights_only=True`` so it cannot execute code) and ``model.npz/.json``
(the EMA weights in the shipped, pickle-free format). ``resume=True`` continues to ``iterations``
from the last ``state.pt``; a resume with different data or architecture is refused, because the
result would silently be neither run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write, atomic_write_json
from dextog_gym.grasp_sources.diffutog.dataset import BatchSampler, TrainingData


@dataclass
class TrainConfig:
    iterations: int = 20_000
    batch: int = 64
    objects_per_batch: int = 8  # object clouds encoded per batch (the costliest part on a CPU)
    lr: float = 5e-4
    weight_decay: float = 1e-4
    ema: float = 0.999
    lambda_fk: float = 1.0  # λ_R (paper: 1)
    seed: int = 0
    checkpoint_every: int = 1000
    log_every: int = 100
    val_fraction: float = 0.1
    device: str = "auto"

    def __post_init__(self) -> None:
        checks = [(self.iterations >= 1, "iterations must be >= 1"), (self.batch >= 2, "batch must be >= 2"),
                  (self.lr > 0, "lr must be > 0"), (0 <= self.ema < 1, "ema must be in [0, 1)"),
                  (self.lambda_fk >= 0, "lambda_fk must be >= 0"), (self.checkpoint_every >= 1, "checkpoint_every >= 1"),
                  (0 <= self.val_fraction < 0.9, "val_fraction must be in [0, 0.9)")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    seconds: float
    final_loss: float
    val_loss: float | None
    history: list[dict[str, float]] = field(default_factory=list)


def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _split(data: TrainingData, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 7919)
    order = rng.permutation(len(data))
    n_val = int(round(fraction * len(data))) if len(data) >= 20 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _subset(data: TrainingData, rows: np.ndarray) -> TrainingData:
    return TrainingData(data.object_ids, data.clouds, data.x[rows], data.object_index[rows], data.text_group[rows],
                        data.groups, data.group_embeddings, data.sources)


def _atomic_torch_save(obj: Any, path: Path) -> None:
    import torch

    atomic_write(path, lambda fh: torch.save(obj, fh))


@dataclass
class _Session:
    """One sitting of a run: what the loop advances and what a checkpoint saves."""

    run: Path
    doc: dict[str, Any]  # run.json's content
    config: TrainConfig
    model_config: Any  # network.ModelConfig (imported with torch, lazily)
    device: Any
    model: Any
    ema: Any
    opt: Any
    schedule: Any
    sampler: BatchSampler
    gen: Any  # the torch generator of the diffusion noise
    val_rows: np.ndarray
    step: int = 0
    start: int = 0  # the step this sitting began at
    t0: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    last: dict[str, float] = field(default_factory=dict)  # the latest step's loss terms


def train(data: TrainingData, run_dir: str | os.PathLike, config: TrainConfig, model_config=None,
          resume: bool = False, init_from: str | os.PathLike | None = None, progress: bool = True,
          command: list[str] | None = None, max_seconds: float | None = None) -> TrainResult:
    """Train (or continue) a DiffuTOG model on ``data`` in ``run_dir``.

    ``init_from``: start from an existing model file's weights (fine-tuning in the data engine).
    ``max_seconds``: checkpoint and stop after this much wall time (a lease on a rented machine);
    ``resume=True`` continues from there, on this or another device.
    """
    run = Path(run_dir)
    doc, config, model_config = _open_run(run, data, config, model_config, resume)
    run.mkdir(parents=True, exist_ok=True)
    doc["commands"].append(command or sys.argv)
    session = _new_session(run, data, doc, config, model_config, None if resume else init_from)
    if resume:
        _restore(session, run / "state.pt")
    stopped_early = _iterate(session, data, progress, max_seconds)
    return _finish(session, stopped_early, progress, max_seconds)


def _open_run(run: Path, data: TrainingData, config: TrainConfig, model_config, resume: bool):
    """(run.json content, train config, model config): a resume takes both configs from the run, which must
    have seen the same data; a new run must not overwrite one."""
    from dextog_gym.grasp_sources.diffutog.network import ModelConfig

    data_key = [s.get("sha256", s["data"]) for s in data.sources] + [len(data)]
    if resume:
        if not (run / "state.pt").is_file():
            raise FileNotFoundError(f"{run}: nothing to resume (no state.pt); start without --resume")
        doc = json.loads((run / "run.json").read_text())
        if doc["data_key"] != data_key:
            raise ValueError(f"{run}: resume with different training data than the run started with")
        model_config = ModelConfig.from_json(doc["model"])
        config = TrainConfig(**{**doc["train"], "iterations": config.iterations, "device": config.device})
        return doc, config, model_config
    if (run / "state.pt").is_file() or (run / "model.npz").is_file():
        raise FileExistsError(f"{run}: a run is already there; pass --resume to continue it or pick a new --out")
    model_config = model_config or ModelConfig()
    doc = {"model": model_config.to_json(), "train": asdict(config), "data": data.summary(), "data_key": data_key,
           "object_ids": data.object_ids, "groups": data.groups, "commands": [], "sessions": []}
    return doc, config, model_config


def _new_session(run: Path, data: TrainingData, doc: dict[str, Any], config: TrainConfig, model_config,
                 init_from: str | os.PathLike | None) -> _Session:
    """Everything at step 0, seeded by ``config.seed`` (a resume then overwrites the state)."""
    import torch

    from dextog_gym.grasp_sources.diffutog.diffusion import CosineSchedule

    device = _device(config.device)
    model, ema = _seeded_models(model_config, config.seed, device, init_from)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = CosineSchedule(model_config.timesteps)
    train_rows, val_rows = _split(data, config.val_fraction, config.seed)
    sampler = BatchSampler(_subset(data, train_rows), config.batch, config.objects_per_batch, config.seed)
    gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    return _Session(run, doc, config, model_config, device, model, ema, opt, schedule, sampler, gen, val_rows)


def _seeded_models(model_config, seed: int, device, init_from: str | os.PathLike | None):
    """(model, EMA copy): initialised from ``seed`` in this order, so a run's weights are reproducible."""
    import torch

    from dextog_gym.grasp_sources.diffutog.checkpoint import load_denoiser
    from dextog_gym.grasp_sources.diffutog.network import Denoiser

    torch.manual_seed(seed)
    model = Denoiser(model_config).to(device)
    if init_from is not None:
        base, _ = load_denoiser(init_from)
        if base.config != model_config:
            raise ValueError(f"{init_from}: architecture differs from the requested model config")
        model.load_state_dict(base.state_dict())
    ema = Denoiser(model_config).to(device)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    return model, ema


def _restore(s: _Session, state_path: Path) -> None:
    """Continue from ``state.pt``: weights, EMA, optimiser, step and both random streams."""
    import torch

    state = torch.load(state_path, map_location=s.device, weights_only=True)
    s.model.load_state_dict(state["model"])
    s.ema.load_state_dict(state["ema"])
    s.opt.load_state_dict(state["opt"])
    s.step = int(state["step"])
    saved_gen = state["torch_gen"].cpu()
    if saved_gen.numel() == s.gen.get_state().numel():
        s.gen.set_state(saved_gen)
    else:  # resumed on another kind of device: its generator state does not carry over
        s.gen.manual_seed(s.config.seed + 1 + s.step)
    s.sampler.rng.bit_generator.state = json.loads(state["numpy_rng"])


def _iterate(s: _Session, data: TrainingData, progress: bool, max_seconds: float | None) -> bool:
    """Step to ``config.iterations``, logging and checkpointing; True when ``max_seconds`` stopped it first."""
    import torch

    clouds = torch.as_tensor(data.clouds, device=s.device)
    writer = _writer(s.run / "tb")
    val = _val_batch(data, s.val_rows, s.config.seed, s.device)
    s.t0, s.start = time.time(), s.step
    bar = _bar(progress, s.config.iterations, s.step)
    stopped_early = False
    while s.step < s.config.iterations:
        if max_seconds is not None and time.time() - s.t0 > max_seconds:
            stopped_early = True
            _checkpoint(s)
            break
        s.last = _train_step(s, clouds)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{s.last['loss']:.3f}", refresh=False)
        if s.step % s.config.log_every == 0 or s.step == s.config.iterations:
            _log(s, clouds, val, writer)
        if s.step % s.config.checkpoint_every == 0 or s.step == s.config.iterations:
            _checkpoint(s)
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    return stopped_early


def _train_step(s: _Session, clouds) -> dict[str, float]:
    """One AdamW step on a sampled batch, then the EMA update; the step's loss terms."""
    import torch

    from dextog_gym.grasp_sources.diffutog.diffusion import diffusion_loss

    x, text, objs, slot = s.sampler.sample()
    device = s.device
    loss, terms = diffusion_loss(s.model, s.schedule, torch.as_tensor(x, device=device),
                                 torch.as_tensor(text, device=device), clouds[torch.as_tensor(objs, device=device)],
                                 torch.as_tensor(slot, device=device), s.config.lambda_fk, s.gen)
    optimizer_step(loss, s.model, s.ema, s.opt, s.config.ema)
    s.step += 1
    return terms


def optimizer_step(loss, model, ema, opt, ema_decay: float) -> None:
    """Backward, gradient norm clipped at 1, an AdamW step, then the EMA copy follows (DiffuTOG and the
    baselines train the same way)."""
    import torch

    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 1 - ema_decay)


def _log(s: _Session, clouds, val: dict[str, Any] | None, writer) -> None:
    """A history row: the latest loss terms and the EMA weights' validation loss, also to TensorBoard."""
    row = {"step": s.step, **s.last}
    if val is not None:
        row["val_loss"] = _val_loss(s.ema, s.schedule, clouds, val, s.config.lambda_fk)
    s.history.append(row)
    s.doc["last"] = row  # the figures a resumed-at-the-end run reports
    if writer is not None:
        for k, v in row.items():
            if k != "step":
                writer.add_scalar(f"train/{k}" if k != "val_loss" else "val/loss", v, s.step)


def _finish(s: _Session, stopped_early: bool, progress: bool, max_seconds: float | None) -> TrainResult:
    """The result; a run resumed at its end (no step taken) reports the figures it ended with."""
    seconds = time.time() - s.t0
    final = s.history[-1] if s.history else s.doc.get("last", {})
    last = s.last or final
    if stopped_early and progress:
        print(f"stopped at {s.step} of {s.config.iterations} iterations after {max_seconds:.0f} s; --resume continues")
    return TrainResult(s.run, s.step, seconds, float(last.get("loss", float("nan"))), final.get("val_loss"), s.history)


def _checkpoint(s: _Session) -> None:
    """``state.pt``, the session in run.json and the EMA model file, each written atomically."""
    from dextog_gym.grasp_sources.diffutog.checkpoint import save_model

    _atomic_torch_save({"model": s.model.state_dict(), "ema": s.ema.state_dict(), "opt": s.opt.state_dict(),
                        "step": s.step, "torch_gen": s.gen.get_state(),
                        "numpy_rng": json.dumps(s.sampler.rng.bit_generator.state)}, s.run / "state.pt")
    doc = s.doc
    session = {"start_step": s.start, "end_step": s.step, "seconds": round(time.time() - s.t0, 1),
               "ended": time.strftime("%Y-%m-%d %H:%M:%S")}
    if doc["sessions"] and doc["sessions"][-1]["start_step"] == s.start:
        doc["sessions"][-1] = session
    else:
        doc["sessions"].append(session)
    doc["steps"] = s.step
    save_model(s.run / "model", s.ema.state_dict(), s.model_config.to_json(),
               {"steps": s.step, "data": doc["data"], "commands": doc["commands"], "object_ids": doc["object_ids"],
                "train": doc["train"]})
    atomic_write_json(s.run / "run.json", doc, indent=2)


def _writer(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dev/train extra
        return None
    return SummaryWriter(str(folder))


def _bar(progress: bool, total: int, initial: int):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="diffutog train", unit="it", dynamic_ncols=True)


def _val_batch(data: TrainingData, rows: np.ndarray, seed: int, device):
    """A fixed validation batch (≤ 256 grasps, fixed sentences, t and noise) so curves are comparable."""
    import torch

    if len(rows) == 0:
        return None
    rng = np.random.default_rng(seed + 31)
    rows = rows[:256]
    text = np.stack([data.group_embeddings[g][rng.integers(len(data.group_embeddings[g]))] for g in data.text_group[rows]])
    objs, slot = np.unique(data.object_index[rows], return_inverse=True)
    gen = torch.Generator().manual_seed(seed + 37)
    return {"x": torch.as_tensor(data.x[rows], device=device), "text": torch.as_tensor(text, dtype=torch.float32, device=device),
            "objs": torch.as_tensor(objs, device=device), "slot": torch.as_tensor(slot, device=device), "gen_state": gen.get_state()}


def _val_loss(model, schedule, clouds, val, lambda_fk: float) -> float:
    import torch

    from dextog_gym.grasp_sources.diffutog.diffusion import diffusion_loss

    gen = torch.Generator()
    gen.set_state(val["gen_state"])
    with torch.no_grad():
        _, terms = diffusion_loss(model, schedule, val["x"], val["text"], clouds[val["objs"]], val["slot"], lambda_fk,
                                  gen if val["x"].device.type == "cpu" else None)
    return terms["loss"]
