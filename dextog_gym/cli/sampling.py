"""``dextog diffutog sample`` and ``dextog ndpp sample``: one object, one model, the same arguments and output.

Both commands draw ``-n`` grasps for one object from a language-conditioned source, print one line of
figures the source measured and optionally save the set; only the source and that line differ.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable


def add_one_object_arguments(parser: argparse.ArgumentParser, default_n: int, model: str = "model file") -> None:
    """The arguments every one-object sampler takes (its own knobs are added beside them)."""
    parser.add_argument("--object", required=True, help="object id, e.g. stapler_000")
    parser.add_argument("--text", default=None, help="task description (default: the task's canonical sentence)")
    parser.add_argument("-n", type=int, default=default_n, help=f"grasps to sample (default: {default_n})")
    parser.add_argument("--model", type=Path, default=None, help=f"{model} (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--out", type=Path, default=None, help="also save the grasps to this .npz file")


def sample_one_object(source, args: argparse.Namespace, describe: Callable[[int, str, dict], str]) -> int:
    """Sample, print ``describe(n, object id, source.last_stats)``, save to ``--out`` when given."""
    import numpy as np

    from dextog_gym.objects.catalog import get_object

    if args.n < 1:
        raise ValueError(f"-n must be at least 1, not {args.n}")
    asset = get_object(args.object)
    grasps = source.sample(asset, asset.category, args.n, np.random.default_rng(args.seed), text=args.text)
    print(describe(len(grasps), asset.id, source.last_stats))
    if args.out:
        grasps.save(args.out)
        print(f"saved {args.out}")
    return 0
