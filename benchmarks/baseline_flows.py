"""UniDexGrasp*'s flow: zuko's neural spline flow against our affine coupling flow, side by side.

Run: ``python benchmarks/baseline_flows.py --prepared runs/baselines/data/prepared_train.npz``
(``dextog baselines data`` writes it). Both flows model p(wrist translation, joints | object, text,
rotation) as in ``unidexgrasp.py`` (same condition encoder, batches, seed and iterations); printed:
held-out NLL on the validation grasps (lower is better; nats per grasp, 27-D), training ms per
iteration and sampling ms per 1,000 grasps on this machine. The shipped model uses the winner.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def main() -> None:
    import torch

    from dextog_gym.grasp_sources.baselines.config import BaselineConfig
    from dextog_gym.grasp_sources.baselines.unidexgrasp import DEQUANT, UniDexGraspModel, rotation_from_six_d, six_d
    from dextog_gym.grasp_sources.baselines.train import _batch
    from dextog_gym.grasp_sources.diffutog.dataset import BatchSampler, TrainingData
    from dextog_gym.grasp_sources.diffutog.train import _split, _subset

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepared", required=True)
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = TrainingData.load(args.prepared)
    train_rows, val_rows = _split(data, 0.1, 0)
    clouds = torch.as_tensor(data.clouds)
    rng = np.random.default_rng(31)
    val_rows = val_rows[:512]
    text = np.stack([data.group_embeddings[g][rng.integers(len(data.group_embeddings[g]))] for g in data.text_group[val_rows]])
    objs, slot = np.unique(data.object_index[val_rows], return_inverse=True)
    val = _batch(torch, "cpu", data.x[val_rows], text.astype(np.float32), objs, slot, clouds)

    def nll(model, batch, noise: bool) -> torch.Tensor:
        x = batch["x"]
        c = model.flow_cond(batch["clouds"], batch["slot"], batch["text"])
        y = x[:, 6:] + (DEQUANT * torch.randn_like(x[:, 6:]) if noise else 0)
        return -model.flow.log_prob(y, torch.cat([c, six_d(rotation_from_six_d(x[:, :6]))], dim=1)).mean()

    print(f"{len(train_rows)} training / {len(val_rows)} held-out grasps, {args.iterations} iterations, batch 64; "
          f"{platform.machine()}, {os.cpu_count()} cores, {args.threads} thread(s)")
    print("| flow | parameters | held-out NLL (nats) ↓ | train ms/it | sample ms per 1,000 |")
    print("|---|---|---|---|---|")
    for kind in ("zuko", "coupling"):
        torch.manual_seed(0)
        model = UniDexGraspModel(BaselineConfig(kind="unidexgrasp", flow=kind))
        params = list(model.flow_cond.parameters()) + list(model.flow.parameters())
        opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=1e-4)
        sampler = BatchSampler(_subset(data, train_rows), 64, 8, 0)
        t0 = time.perf_counter()
        for _ in range(args.iterations):
            loss = nll(model, _batch(torch, "cpu", *sampler.sample(), clouds), True)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        ms_it = 1000 * (time.perf_counter() - t0) / args.iterations
        with torch.no_grad():
            held = nll(model, val, False).item()
            ctx = torch.randn(1000, model.flow_cond.dim + 6)
            t1 = time.perf_counter()
            model.flow.sample(ctx, torch.Generator().manual_seed(0))
            ms_sample = 1000 * (time.perf_counter() - t1)
        n_params = sum(p.numel() for p in model.flow.parameters())
        print(f"| {kind} | {n_params:,} | {held:.2f} | {ms_it:.1f} | {ms_sample:.0f} |", flush=True)


if __name__ == "__main__":
    main()
