"""``dextog ndpp``: NDPP-Grasp — DiffuTOG's denoising guided by non-differentiable plausibility constraints."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import examples
from dextog_gym.cli.sampling import add_one_object_arguments, sample_one_object
from dextog_gym.cli.vocabulary import add_grasps, add_grasps_per_object, add_max_objects, add_objects


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ndpp", **examples(
                           "dextog ndpp sample --object stapler_001 -n 8 --out my.npz",
                           "dextog ndpp compare --settings diffutog+handling,ndpp,ndpp-resample --max-objects 1 "
                           "--grasps-per-object 4"),
                       help="NDPP-Grasp: guided sampling, comparisons, merged sets",
                       description="NDPP-Grasp (specs §4): the shipped DiffuTOG model sampled with constraint "
                                   "guidance inside the denoising loop (forward calls only). `sample` one object, "
                                   "`compare` settings side by side (NDPP Tables 3 and 4), `collect` the shipped "
                                   "per-object sets of a split into one file.")
    nsub = p.add_subparsers(dest="ndpp_command", metavar="ACTION", required=True)

    s = nsub.add_parser("sample", **examples(
                            "dextog ndpp sample --object stapler_001 -n 8 --out my.npz",
                            "dextog ndpp sample --object bottle_007 -n 4 --variant resample --candidates 16"),
                        help="guided grasps for one object",
                        description="Sample grasps for one object with constraint-guided denoising.")
    add_one_object_arguments(s, default_n=8, model="DiffuTOG model file")
    s.add_argument("--variant", default="amortized", choices=["amortized", "resample", "complete"],
                   help="look-ahead: amortized (reuse with correction), resample (K fresh steps), complete")
    s.add_argument("--guidance", default="optimal_control",
                   choices=["optimal_control", "surrogate_gradient", "finite_difference"],
                   help="optimal_control (NDPP) or a gradient ablation")
    s.add_argument("--candidates", type=int, default=8, help="M, candidate noises per step")
    s.add_argument("--lookahead", type=int, default=4, help="K, look-ahead steps")
    s.add_argument("--temperature", default="0.5", help="λ in cost units, or 'auto'")
    s.add_argument("--window", type=float, default=0.6, help="guide the last WINDOW share of the steps")
    s.add_argument("--no-contact-keeping", action="store_true", help="no pad term in the cost")
    s.set_defaults(func=run_sample)

    c = nsub.add_parser("compare", **examples(
                            "dextog ndpp compare --settings ndpp,ndpp-resample,ndpp-complete --max-objects 1 "
                            "--grasps-per-object 4 --out results/ndpp/table_4.md",
                            "dextog ndpp compare --settings ndpp,surrogate-gradient,finite-difference --objects seen "
                            "--max-objects 2 --grasps-per-object 8"),
                        help="settings side by side on the same objects and seeds",
                        description="Sample every object with each setting (same seeds), then print Q1, "
                                    "penetration, η_f (95 %% intervals), self-collision, pads, ms/grasp and "
                                    "network / constraint evaluations per grasp.")
    c.add_argument("--settings", required=True,
                   help="comma-separated: diffutog, diffutog+handling, ndpp, ndpp-resample, ndpp-complete, "
                        "ndpp-no-contact, surrogate-gradient, finite-difference")
    add_objects(c, "seen", old_split=True)
    add_max_objects(c, 1)
    add_grasps_per_object(c, 4, makes=True, old=("--per-object",))
    c.add_argument("--batch", type=int, default=None, help="grasps per sampler batch (default: each source's)")
    c.add_argument("--seed", type=int, default=0, help="sampling seed (the same for every setting)")
    c.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    c.set_defaults(func=run_compare)

    g = nsub.add_parser("collect", **examples("dextog ndpp collect --objects unseen --out results/ndpp/unseen.npz"),
                        help="merge the shipped per-object ndpp sets of a split into one file",
                        description="One .npz with every shipped ndpp grasp of the split's objects (what "
                                    "`dextog diffutog table3` and `dextog benchmark --grasps FILE` take).")
    add_objects(g, "seen", old_split=True)
    add_grasps(g, "ndpp", old=("--source",), what="the shipped per-object sets to merge (a folder name under "
                                                  "assets/grasps)")
    g.add_argument("--out", type=Path, required=True, help="grasp file (.npz) to write")
    g.set_defaults(func=run_collect)


def _temperature(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--temperature must be a number or 'auto', got {text!r}") from None


def run_sample(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.ndpp.source import NdppSource

    source = NdppSource(model=args.model, candidates=args.candidates, lookahead=args.lookahead,
                        temperature=_temperature(args.temperature), window=args.window, variant=args.variant,
                        contact_keeping=not args.no_contact_keeping, guidance=args.guidance)

    def describe(n: int, object_id: str, st: dict) -> str:
        return (f"{n} grasps for {object_id} ({st['text']!r}) in {st['ms_per_grasp']:.0f} ms/grasp on {st['device']}; "
                f"{st['network_calls_per_grasp']:.0f} network calls and {st['cost_calls_per_grasp']:.0f} constraint "
                f"evaluations per grasp")

    return sample_one_object(source, args, describe)


def run_compare(args: argparse.Namespace) -> int:
    from dextog_gym.files import atomic_write
    from dextog_gym.grasp_sources.ndpp.compare import SETTINGS, figures, format_rows, run_setting, warm_up
    from dextog_gym.objects.selection import select_objects

    names = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = [s for s in names if s not in SETTINGS]
    if unknown or not names:
        raise ValueError(f"unknown setting(s) {unknown}; known: {', '.join(SETTINGS)}")
    if args.grasps_per_object < 1:
        raise ValueError("--grasps-per-object must be at least 1")
    ids = select_objects(args.objects, args.max_objects)
    warm_up(ids, names[0])  # the first setting must not pay for loading what every setting uses
    rows = []
    for name in names:
        result = run_setting(name, ids, args.grasps_per_object, args.seed, args.batch, progress=True)
        rows.append((result, figures(result.grasps)))
    table = format_rows(rows)
    print(f"{len(ids)} objects ({args.objects}) × {args.grasps_per_object} grasps, seed {args.seed}\n" + table)
    if args.out:
        atomic_write(args.out, lambda fh: fh.write((table + "\n").encode()))
    return 0


def run_collect(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasps import Grasps
    from dextog_gym.objects.selection import select_objects

    ids = select_objects(args.objects)
    missing = [i for i in ids if not grasp_path(args.grasps, i).is_file()]
    if missing:
        raise ValueError(f"{len(missing)} of the objects ({args.objects}) have no shipped {args.grasps} set: "
                         f"{', '.join(missing)}")
    parts = [Grasps.load(grasp_path(args.grasps, i)) for i in ids]
    merged = Grasps.concat(parts)
    seconds = sum(float(g.provenance.get("seconds", 0.0)) for g in parts)
    merged = merged.replace(provenance={"source": args.grasps, "collected": args.objects, "seconds": seconds,
                                        "grasps": len(merged)})
    merged.save(args.out)
    print(f"{len(merged)} grasps on {len(ids)} objects -> {args.out} ({1000 * seconds / max(len(merged), 1):.0f} ms/grasp)")
    return 0
