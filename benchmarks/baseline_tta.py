"""The baselines' test-time adaptation, one setting per row, on the same generated samples.

Run: ``python benchmarks/baseline_tta.py --generator cvae`` (GraspTTA*'s samples) or ``--generator
unidexgrasp``; ``--try NAME:k=v,k=v`` adds a row with TtaConfig fields changed; ``--model`` /
``--contactnet`` pick model files (default: the shipped ones). Objects: the first 2 seen objects of
every task (the ones docs/generators_vs_papers.md's ablation measures), ``--per-object`` samples each,
seed 0. Figures are the metric's (Q1 zeroed at pen ≥ 0.5 cm, η_f = share with pen < 0.5 cm), with 95 %
intervals; ``ms`` is the adaptation's wall-clock per grasp on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np


def _objects() -> list[str]:
    from dextog_gym.objects.catalog import list_objects
    from dextog_gym.objects.spec import CATEGORIES

    return [oid for cat in CATEGORIES for oid in list_objects(cat, "seen")[:2]]


def _figures(samples: dict, config, net) -> dict:
    from dextog_gym.grasp_sources.baselines.tta import adapt
    from dextog_gym.grasp_sources.diffutog.dataset import object_cloud
    from dextog_gym.grasp_sources.diffutog.representation import decode_numpy
    from dextog_gym.hand.transforms import quat_wxyz_to_matrix
    from dextog_gym.metrics.grasp_quality import evaluate
    from dextog_gym.metrics.intervals import mean_half_width, wilson_interval
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    q1, pen, pads, seconds = [], [], [], 0.0
    for oid, x in samples.items():
        asset = get_object(oid)
        shape = object_shape(asset)
        if config is not None:
            t = time.perf_counter()
            x = adapt(x, shape, object_cloud(asset), net, config).x
            seconds += time.perf_counter() - t
        pos, quats, joints = decode_numpy(x)
        e = evaluate(shape, np.stack([quat_wxyz_to_matrix(q) for q in quats]), pos, joints)
        q1.append(e["q1_valid"])
        pen.append(e["pen_cm"])
        pads.append(e["pad_contacts"])
    q1, pen, pads = np.concatenate(q1), np.concatenate(pen), np.concatenate(pads)
    free = int((pen < 0.5).sum())
    lo, hi = wilson_interval(free, len(pen))
    return {"q1": f"{q1.mean():.3f} ± {mean_half_width(q1):.3f}", "pen": f"{pen.mean():.2f} ± {mean_half_width(pen):.2f}",
            "eta": f"{free / len(pen):.0%} [{lo:.0%}–{hi:.0%}]", "pads": f"{pads.mean():.2f}",
            "ms": f"{1000 * seconds / len(pen):.0f}" if config is not None else "–", "n": len(pen)}


def main() -> None:
    import torch

    from dextog_gym.grasp_sources.baselines.sources import _load, shipped_model_path
    from dextog_gym.grasp_sources.baselines.tta import DEFAULT
    from dextog_gym.grasp_sources.diffutog.dataset import object_cloud
    from dextog_gym.grasp_sources.diffutog.language import canonical_sentence
    from dextog_gym.grasp_sources.diffutog.text_encoder import TextEncoder
    from dextog_gym.objects.catalog import get_object

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", choices=["cvae", "unidexgrasp"], default="cvae")
    parser.add_argument("--model", default=None)
    parser.add_argument("--contactnet", default=None)
    parser.add_argument("--per-object", type=int, default=8)
    parser.add_argument("--try", dest="tries", action="append", default=[], metavar="NAME:k=v,...")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, _, _ = _load(args.model or shipped_model_path(args.generator), args.generator, "cpu")
    net, _, _ = _load(args.contactnet or shipped_model_path("contactnet"), "contactnet", "cpu")
    gen = torch.Generator().manual_seed(0)
    samples = {}
    for oid in _objects():
        asset = get_object(oid)
        emb = torch.as_tensor(TextEncoder().embed([canonical_sentence(asset.category)]))[0]
        samples[oid] = model.sample(torch.as_tensor(object_cloud(asset)), emb, args.per_object, gen).numpy()
    rows = [("raw samples (no adaptation)", None), ("adaptation (shipped defaults)", DEFAULT)]
    for spec in args.tries:
        name, _, kvs = spec.partition(":")
        change = {k: type(getattr(DEFAULT, k))(v) for k, v in (kv.split("=") for kv in kvs.split(",") if kv)}
        rows.append((name, dataclasses.replace(DEFAULT, **change)))
    print(f"generator {args.generator}, {len(samples)} seen objects × {args.per_object}; "
          f"{platform.machine()}, {os.cpu_count()} cores, {args.threads} thread(s)")
    print("| adaptation | Q1 ↑ | pen (cm) ↓ | η_f ↑ | pads in contact | ms/grasp | n |")
    print("|---|---|---|---|---|---|---|")
    for name, config in rows:
        f = _figures(samples, config, net)
        print(f"| {name} | {f['q1']} | {f['pen']} | {f['eta']} | {f['pads']} | {f['ms']} | {f['n']} |", flush=True)


if __name__ == "__main__":
    main()
