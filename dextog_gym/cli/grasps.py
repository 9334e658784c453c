"""``dextog grasps generate|show|info`` and ``dextog metrics``: grasp sets on the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dextog_gym.cli.helptext import examples
from dextog_gym.cli.vocabulary import add_grasps, add_grasps_per_object, add_objects, add_workers, worker_count
from dextog_gym.objects.selection import resolve_object_ids
from dextog_gym.tables import format_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("grasps", **examples(
                                "dextog grasps sources",
                                "dextog grasps info assets/grasps/rule/stapler_000.npz",
                                "dextog grasps generate --grasps diffutog --objects unseen --grasps-per-object 16 "
                                "--out my_grasps"),
                            help="generate, inspect and picture grasp sets (.npz)")
    gsub = parser.add_subparsers(dest="grasps_command", metavar="ACTION", required=True)
    _add_generate(gsub)
    _add_inspection(gsub)
    _add_metrics(sub)


def _add_generate(gsub: argparse._SubParsersAction) -> None:
    gen = gsub.add_parser(
        "generate", help="generate a grasp set per object from any registered source, resumable",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Generate grasps for every chosen object with a grasp source and save one .npz per object "
                    "under OUT/<source>/ (objects that already have a file are skipped, so a killed run resumes). "
                    "isf and rule run the paper's pipeline (raw sampling; rules + lift test on the saved raw "
                    "grasps) into the shipped grasp root by default; every other source (rule_relaxed, diffutog, "
                    "a third-party entry point, 'package.module:Class') is sampled with --grasps-per-object grasps "
                    "per object and needs --out. Results depend on (--seed, object id) only.",
        epilog="examples:\n"
               "  dextog grasps generate --grasps isf --objects pen_000 --target 200 --out my_grasps\n"
               "  dextog grasps generate --grasps rule --objects pen_000 --out my_grasps\n"
               "  dextog grasps generate --grasps diffutog --objects unseen --grasps-per-object 16 --out my_grasps\n"
               "  dextog grasps generate --grasps my_package.sampler:MySource --objects stapler --out my_grasps")
    add_grasps(gen, None, old=("--source",),
               what="the generator: isf (raw task-agnostic grasps), rule (paper rules + lift test on the saved isf "
                    "grasps), another registered source name (`dextog grasps sources`) or 'package.module:Class'")
    add_objects(gen, "all", space_list=True)
    gen.add_argument("--target", type=int, default=1000, help="isf: distinct valid grasps wanted per object")
    gen.add_argument("--functional", type=int, default=0,
                     help="isf: grasps of the functional families (a pad on a small part, five pads around a cap) "
                          "added per object, beside --target antipodal ones")
    gen.add_argument("--max-candidates", type=int, default=20_000, help="isf: give up on an object after this many")
    add_grasps_per_object(gen, 16, makes=True, old=("--per-object",))
    add_workers(gen, "objects run in parallel")
    gen.add_argument("--seed", type=int, default=0, help="results depend on (seed, object id) only")
    gen.add_argument("--out", type=Path, default=None,
                     help="grasp root folder; files go to OUT/<source>/<object>.npz (default for isf/rule: the "
                          "shipped root, or $DEXTOG_ASSETS/grasps; required for other sources)")
    gen.add_argument("--overwrite", action="store_true", help="regenerate objects that already have a file")
    gen.set_defaults(func=cmd_generate)


def _add_inspection(gsub: argparse._SubParsersAction) -> None:
    sources = gsub.add_parser("sources", help="list the registered grasp sources",
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              description="The grasp sources found through the entry-point group "
                                          "'dextog_gym.grasp_sources' (ours and any installed plugin).",
                              epilog="examples:\n  dextog grasps sources")
    sources.set_defaults(func=cmd_sources)

    show = gsub.add_parser("show", **examples(
                               "dextog grasps show assets/grasps/rule/stapler_000.npz --index 3 --out grasp.png"),
                           help="render one grasp of a set on its object to PNG")
    show.add_argument("file", type=Path, help="grasp set (.npz)")
    show.add_argument("--index", type=int, default=0, help="which grasp")
    show.add_argument("--out", type=Path, required=True, help="PNG file to write")
    show.add_argument("--yaw", type=float, default=35.0, help="camera yaw in degrees")
    show.add_argument("--pitch", type=float, default=-25.0, help="camera pitch in degrees")
    show.set_defaults(func=cmd_show)

    summ = gsub.add_parser("summary", **examples(
                               "dextog grasps summary --objects seen",
                               "dextog grasps summary --root my_grasps --objects pen"),
                           help="per-task figures of a grasp root: raw rate, lift rate, rule retention")
    summ.add_argument("--root", type=Path, default=None, help="grasp root with isf/ and rule/ (default: assets/grasps)")
    add_objects(summ, "all", space_list=True)
    summ.set_defaults(func=cmd_summary)

    info = gsub.add_parser("info", **examples(
                               "dextog grasps info assets/grasps/rule/stapler_000.npz"),
                           help="per-object counts and stored figures of a grasp set")
    info.add_argument("file", type=Path, help="grasp set (.npz)")
    info.set_defaults(func=cmd_info)


def _add_metrics(sub: argparse._SubParsersAction) -> None:
    metrics = sub.add_parser("metrics", **examples(
                                 "dextog metrics my_grasps/diffutog/pen_000.npz",
                                 "dextog metrics assets/grasps/rule/stapler_000.npz --grasps-per-object 50"),
                             help="Q1, penetration, collision-free rate, diversity of a grasp set")
    metrics.add_argument("file", type=Path, help="grasp set (.npz)")
    add_grasps_per_object(metrics, 200, makes=False, old=("--max-per-object",))
    metrics.add_argument("--seed", type=int, default=0, help="which grasps when subsampling")
    metrics.set_defaults(func=cmd_metrics)


PIPELINE_SOURCES = ("isf", "rule")  # generated by the paper's pipeline, not by sampling a source


def _job(args: tuple) -> object:
    source, object_id, target, max_candidates, seed, root, overwrite, functional = args
    from dextog_gym.grasp_sources.pipeline import make_raw, make_rule
    from dextog_gym.objects.catalog import get_object

    asset = get_object(object_id)
    if source == "isf":
        grasps = make_raw(asset, target, seed, root, max_candidates, overwrite, functional)
        return object_id, len(grasps), grasps.provenance
    return object_id, make_rule(asset, seed, root)


def _sample_job(args: tuple) -> tuple[str, int, float, str]:
    """One object from a sampled source: (object id, grasps, seconds, what happened)."""
    import time

    from dextog_gym.grasp_sources.isf.generate import object_seed
    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasps.registry import get_source
    from dextog_gym.objects.catalog import get_object

    spec, name, object_id, n, seed, root, overwrite = args
    path = grasp_path(name, object_id, root)
    if path.is_file() and not overwrite:
        return object_id, -1, 0.0, f"kept {path}"
    asset = get_object(object_id)
    t0 = time.perf_counter()
    from dextog_gym.grasps.registry import SourceOutputError, sampled

    try:
        grasps = sampled(get_source(spec), asset, asset.category, n, object_seed(seed, object_id))
    except (ValueError, SourceOutputError) as exc:
        return object_id, 0, time.perf_counter() - t0, f"no grasps: {exc}"
    seconds = time.perf_counter() - t0
    grasps.replace(provenance={**grasps.provenance, "generated_seed": seed}).save(path)
    return object_id, len(grasps), seconds, f"wrote {path}"


def _one_thread() -> None:
    """Pool initializer: one math thread per worker process, so N workers use N cores rather than N × cores
    (torch and numpy otherwise each start a thread per core and the workers fight over them)."""
    import os

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    if "torch" in sys.modules:  # already imported: the variables above came too late for it
        sys.modules["torch"].set_num_threads(1)


def _run_jobs(fn, jobs: list[tuple], workers: int, desc: str) -> list:
    import multiprocessing as mp

    from tqdm import tqdm

    results = []
    if workers > 1:
        with mp.get_context("spawn").Pool(workers, initializer=_one_thread) as pool:
            for r in tqdm(pool.imap_unordered(fn, jobs), total=len(jobs), desc=desc, unit="obj"):
                results.append(r)
    else:
        for job in tqdm(jobs, desc=desc, unit="obj"):
            results.append(fn(job))
    return sorted(results, key=lambda r: r[0])


def cmd_generate(args: argparse.Namespace) -> int:
    if not args.grasps:
        raise ValueError("dextog grasps generate: --grasps is required (which generator: isf, rule, diffutog, ...)")
    ids = resolve_object_ids(args.objects)
    if args.grasps not in PIPELINE_SOURCES:
        return _generate_sampled(args, ids)
    jobs = [(args.grasps, i, args.target, args.max_candidates, args.seed, args.out, args.overwrite, args.functional)
            for i in ids]
    results = _run_jobs(_job, jobs, worker_count(args.workers), f"{args.grasps} grasps")
    if args.grasps == "isf":
        rows = [(oid, n, p.get("candidates", "-"), p.get("seconds", "-"), p.get("coverage", "-"))
                for oid, n, p in results]
        print(format_table(["object", "grasps", "candidates", "seconds", "coverage"], rows))
    else:
        rows = [(r.object_id, r.raw, f"{r.lift_passed}/{r.lift_tested}", r.rule_pass, r.rule_kept,
                 f"{r.mean_q1_rule:.3f}", f"{r.mean_pen_rule_cm:.2f}") for _, r in results]
        print(format_table(["object", "raw", "lift (sample)", "rule pass", "rule kept", "Q1", "pen cm"], rows))
    return 0


def _generate_sampled(args: argparse.Namespace, ids: list[str]) -> int:
    from dextog_gym.grasps.registry import get_source

    if args.out is None:
        raise ValueError(f"--out is required for --grasps {args.grasps!r} (files go to OUT/<source>/<object>.npz); "
                         "only isf and rule write into the shipped grasp root")
    if args.grasps_per_object < 1:
        raise ValueError(f"--grasps-per-object must be at least 1, got {args.grasps_per_object}")
    source = get_source(args.grasps)  # a clear error now, not in every worker
    name = getattr(source, "name", None) or "source"
    name = "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
    jobs = [(args.grasps, name, i, args.grasps_per_object, args.seed, args.out, args.overwrite) for i in ids]
    results = _run_jobs(_sample_job, jobs, worker_count(args.workers), f"{name} grasps")
    rows = [(oid, "-" if n < 0 else n, f"{1000 * s / max(n, 1):.1f}" if n > 0 else "-", what)
            for oid, n, s, what in results]
    print(format_table(["object", "grasps", "ms/grasp", "file"], rows))
    empty = [oid for oid, n, _, _ in results if n == 0]
    if empty:
        print(f"{len(empty)} object(s) got no grasps from {args.grasps!r}: {', '.join(empty)}")
    return 1 if len(empty) == len(results) else 0


def cmd_sources(args: argparse.Namespace) -> int:
    from dextog_gym.grasps.registry import ENTRY_POINT_GROUP, describe_sources

    print(format_table(["source", "entry point", "distribution"], describe_sources()))
    print(f"entry-point group: {ENTRY_POINT_GROUP}; also accepted: a .npz path or 'package.module:Class'")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from dextog_gym.grasps import Grasps
    from dextog_gym.grasps.show import save_grasp_picture
    from dextog_gym.objects.catalog import get_object

    grasps = Grasps.load(args.file)
    if not 0 <= args.index < len(grasps):
        raise ValueError(f"--index {args.index} out of range: {args.file} holds {len(grasps)} grasps")
    i = args.index
    asset = get_object(grasps.object_ids[grasps.object_index[i]])
    out = save_grasp_picture(asset, grasps.positions[i], grasps.quats_wxyz[i], grasps.joints[i], args.out,
                             yaw=args.yaw, pitch=args.pitch)
    print(f"wrote {out} (grasp {i} of {len(grasps)}, object {asset.id})")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from dextog_gym.grasp_sources.summary import HEADERS, summarise

    summaries = summarise(args.root, resolve_object_ids(args.objects))
    if not summaries:
        raise ValueError(f"no isf grasp files under {args.root or 'assets/grasps'}; run `dextog grasps generate`")
    print(format_table(HEADERS, [s.row() for s in summaries]))
    for s in summaries:
        if s.short:
            print(f"{s.task} ({s.split}): under the bar: {', '.join(s.short)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from dextog_gym.grasps import Grasps

    grasps = Grasps.load(args.file)
    rows = []
    for k, oid in enumerate(grasps.object_ids):
        sel = grasps.object_index == k
        ex = {name: v[sel] for name, v in grasps.extras.items()}
        rows.append((oid, grasps.tasks[k], int(sel.sum()),
                     f"{ex['q1'].mean():.3f}" if "q1" in ex and sel.any() else "-",
                     f"{ex['pen_cm'].mean():.2f}" if "pen_cm" in ex and sel.any() else "-"))
    print(f"{args.file}: {len(grasps)} grasps, source {grasps.provenance.get('source')}, "
          f"version {grasps.provenance.get('version')}, seed {grasps.provenance.get('seed')}")
    print(format_table(["object", "task", "grasps", "mean Q1 (stored)", "mean pen cm (stored)"], rows))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from dextog_gym.metrics.report import grasp_set_metrics

    rows = grasp_set_metrics(args.file, max_per_object=args.grasps_per_object, seed=args.seed)
    headers = ["object", "task", "grasps", "Q1", "pen cm", "η_f", "self-coll.", "joint var", "joint range", "ms/grasp"]
    print(format_table(headers, [[r[h] for h in headers] for r in rows]))
    return 0
