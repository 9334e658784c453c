"""ms per grasp of DiffuTOG sampling, with and without test-time collision handling, per batch size.

Run: ``python benchmarks/diffutog_speed.py [--device cpu|cuda] [--batches 16,64,256]``. Prints one
row per batch size: the 100-step ancestral sampling alone, the collision handling (≤ 200 Adam steps,
early stop at 1 mm) alone, and both, beside the paper's figure (DexTOG with collision handling
≈ 390 ms per grasp on a GPU). The object is fixed (stapler_000) and the first call is a warm-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", default="16,64,256")
    parser.add_argument("--object", default="stapler_000")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument("--no-contact-keeping", action="store_true", help="handling without the contact term")
    args = parser.parse_args()

    import torch

    from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource
    from dextog_gym.objects.catalog import get_object

    if args.threads:
        torch.set_num_threads(args.threads)
    asset = get_object(args.object)
    plain = DiffuTogSource(model=args.model, collision_handling=False, device=args.device, batch=1024)
    handled = DiffuTogSource(model=args.model, collision_handling=True, device=args.device, batch=1024,
                             contact_keeping=not args.no_contact_keeping)
    plain.sample(asset, asset.category, 4, np.random.default_rng(0))  # warm-up: model, encoder cache, shapes
    handled.sample(asset, asset.category, 4, np.random.default_rng(0))
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine()
    print(f"device: {args.device} ({name}), torch threads {torch.get_num_threads()}, {os.cpu_count()} cores")
    print("| batch | sample ms/grasp | collision handling ms/grasp | total ms/grasp | handling steps run |")
    print("|---|---|---|---|---|")
    for b in (int(x) for x in args.batches.split(",")):
        t0 = time.perf_counter()
        handled.sample(asset, asset.category, b, np.random.default_rng(1))
        total = 1000 * (time.perf_counter() - t0) / b
        s = handled.last_stats
        print(f"| {b} | {s['ms_per_grasp_sample']:.1f} | {s['ms_per_grasp_collision']:.1f} | {total:.1f} | "
              f"{s.get('collision_steps_run', '-')} |")
    print("paper (DexTOG, GPU, with collision handling): ~390 ms per grasp")


if __name__ == "__main__":
    main()
