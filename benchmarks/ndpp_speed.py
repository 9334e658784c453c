"""ms per grasp of NDPP-Grasp's guided sampling beside DiffuTOG + post-hoc handling, per batch size.

Run: ``python benchmarks/ndpp_speed.py [--device cpu|cuda] [--batches 16,64] [--variants amortized,resample]``.
Both run in this one process on the same object (stapler_000), model and batch sizes, after a warm-up,
so the ratio column compares like with like. Network calls and constraint evaluations per grasp are
counted by the sampler. The paper (A6000 GPU): DexTOG + handling 395.8 ms, NDPP 17.7 ms per grasp;
amortized 11.6 ms against complete-trajectory 261.4 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def _timed(source, asset, n: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    source.sample(asset, asset.category, n, np.random.default_rng(1))
    return 1000 * (time.perf_counter() - t0) / n, dict(source.last_stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", default="16,64")
    parser.add_argument("--variants", default="amortized,resample", help="NDPP look-ahead variants to time")
    parser.add_argument("--object", default="stapler_000")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource, _load
    from dextog_gym.grasp_sources.ndpp.source import NdppSource
    from dextog_gym.objects.catalog import get_object

    if args.threads:
        torch.set_num_threads(args.threads)
    asset = get_object(args.object)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine()
    print(f"device: {args.device} ({name}), torch threads {torch.get_num_threads()}, {os.cpu_count()} cores")
    print("| batch | DiffuTOG + handling ms/grasp | variant | NDPP ms/grasp | ratio | network rows/grasp | "
          "network calls per denoising step | constraint evals/grasp |")
    print("|---|---|---|---|---|---|---|---|")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for b in (int(x) for x in args.batches.split(",")):
        handled = DiffuTogSource(device=args.device, batch=b)
        handled.sample(asset, asset.category, 2, np.random.default_rng(0))  # warm-up: model, caches
        base, _ = _timed(handled, asset, b)
        for variant in variants:
            ndpp = NdppSource(device=args.device, batch=b, variant=variant)
            ndpp.sample(asset, asset.category, 1, np.random.default_rng(0))
            ms, st = _timed(ndpp, asset, b)
            steps = _load(ndpp.model_path, args.device)[0].config.timesteps  # denoising steps per batch
            per_step = st.get("network_batches", 0) / max(1, -(-b // ndpp.batch)) / steps
            print(f"| {b} | {base:.1f} | {variant} | {ms:.1f} | {base / ms:.2f}× | {st['network_calls_per_grasp']:.0f} | "
                  f"{per_step:.2f} | {st['cost_calls_per_grasp']:.0f} |", flush=True)
    print("paper (A6000): DexTOG + handling 395.8 ms/grasp, NDPP 17.7 ms/grasp (22×)")


if __name__ == "__main__":
    main()
