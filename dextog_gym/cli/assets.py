"""``dextog assets``: build, list, validate and picture the hand and the objects."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import examples
from dextog_gym.cli.vocabulary import add_objects, deprecated
from dextog_gym.tables import format_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("assets", **examples(
                                "dextog assets list --objects unseen",
                                "dextog assets show stapler_000 --theta 1.0 --out stapler_pressed.png",
                                "dextog assets validate --objects pen"),
                            help="build, list, validate and show the hand and objects")
    asub = parser.add_subparsers(dest="assets_command", metavar="ACTION", required=True)

    build = asub.add_parser("build", **examples(
                                "dextog assets build --out /tmp/dextog_objects",
                                "dextog assets build --seed practice --out /tmp/hidden_practice",
                                "dextog assets build --hand"),
                            help="regenerate the 80 objects (and, with --hand, the hand) deterministically, "
                                 "or build hidden objects from a seed")
    build.add_argument("--hand", action="store_true", help="also re-convert the Shadow Hand from gymnasium-robotics")
    build.add_argument("--out", type=Path, default=None,
                       help="assets root folder to build into (objects/ and, if missing, a copy of the hand); "
                            "default: $DEXTOG_ASSETS, else the checkout's assets/")
    build.add_argument("--seed", default=None,
                       help="build NEW hidden instances (ids <category>_hNNN, all unseen) from this secret string "
                            "instead of the public catalogue; needs --out; only sha256(seed) is written")
    build.add_argument("--per-category", type=int, default=None,
                       help="with --seed: hidden instances per category (default 16)")
    build.set_defaults(func=cmd_build)

    listing = asub.add_parser("list", **examples(
                                  "dextog assets list --objects unseen",
                                  "dextog assets list --objects pen,stapler_003"),
                              help="table of objects: id, category, split, size, mass, task joint")
    add_objects(listing, "all", old_split=True)
    deprecated(listing, "--category", "--objects", "objects")
    listing.set_defaults(func=cmd_list)

    validate = asub.add_parser("validate", **examples(
                                   "dextog assets validate --objects stapler",
                                   "dextog assets validate"),
                               help="load every object and the hand; measure rest drift and joint travel")
    add_objects(validate, "all", note="; the hand report comes with 'all'")
    deprecated(validate, "--category", "--objects", "objects")
    validate.set_defaults(func=cmd_validate)

    report = asub.add_parser("report", **examples(
                                 "dextog assets report --out demo_out"),
                             help="object table, hand checks, one physics check per category, pictures")
    report.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for the pictures (default: "
                                                                          "demo_out)")
    report.set_defaults(func=_report)

    show = asub.add_parser("show", **examples(
                               "dextog assets show stapler_000 --theta 1.0 --out stapler_pressed.png",
                               "dextog assets show hand --out hand.png"),
                           help="render an object (annotated parts highlighted) or the hand to PNG")
    show.add_argument("target", metavar="OBJECT_ID|hand", help="an object id (see `dextog assets list`) or 'hand'")
    show.add_argument("--out", type=Path, required=True, help="PNG file to write")
    show.add_argument("--theta", type=float, default=0.0, help="task progress to show the object at (0..1)")
    show.add_argument("--yaw", type=float, default=35.0, help="camera yaw in degrees")
    show.add_argument("--pitch", type=float, default=-25.0, help="camera pitch in degrees")
    show.set_defaults(func=cmd_show)


def _report(args: argparse.Namespace) -> int:
    from dextog_gym.cli.assets_report import cmd_report

    return cmd_report(args)


def cmd_build(args: argparse.Namespace) -> int:
    """Build into an assets root: --out, else $DEXTOG_ASSETS, else the checkout's assets/ (never site-packages)."""
    import os
    import shutil

    from dextog_gym.objects.build import build_all
    from dextog_gym.paths import ASSETS_ENV, assets_root, package_data

    shipped = package_data("dextog_gym.assets")
    _check_hidden_args(args, shipped)
    root = args.out or assets_root()
    in_checkout = (shipped.parent / "pyproject.toml").is_file()
    if args.out is None and not os.environ.get(ASSETS_ENV) and not in_checkout:
        raise ValueError(f"refusing to write into the installed package ({shipped}); build into your own tree with "
                         f"`dextog assets build --out DIR` and use it with {ASSETS_ENV}=DIR")
    if args.hand:
        from dextog_gym.hand.convert import convert

        print(f"hand: wrote {convert(root / 'hands' / 'shadow_hand')}")
    elif root.resolve() != shipped.resolve() and not (root / "hands" / "shadow_hand").is_dir():
        shutil.copytree(shipped / "hands", root / "hands")  # the tree must be complete for DEXTOG_ASSETS
        print(f"hand: copied the shipped hand to {root / 'hands'}")
    dest = root / "objects"
    if args.seed is not None:
        _build_hidden(args, dest)
    else:
        ids = build_all(dest)
        print(f"objects: wrote {len(ids)} objects and split.json to {dest}")
    if root.resolve() != assets_root().resolve():
        print(f"use them with: {ASSETS_ENV}={root}")
    return 0


def _check_hidden_args(args: argparse.Namespace, shipped: Path) -> None:
    """Hidden objects never replace the shipped or default objects: they need their own --out tree."""
    if args.seed is None:
        if args.per_category is not None:
            raise ValueError("--per-category only applies to a hidden build (--seed S --out DIR)")
        return
    if not args.seed:
        raise ValueError("--seed must be a non-empty string")
    if args.out is None:
        raise ValueError("--seed needs --out DIR: hidden objects are never built into the shipped or "
                         "$DEXTOG_ASSETS tree")
    if args.out.resolve() == shipped.resolve():
        raise ValueError(f"refusing to build hidden objects into the shipped assets ({shipped}); choose another --out")


def _build_hidden(args: argparse.Namespace, dest: Path) -> None:
    import sys
    import time

    from dextog_gym.objects.hidden import build_hidden
    from dextog_gym.objects.spec import INSTANCES_PER_CATEGORY

    if len(args.seed) < 16:
        print("warning: a seed this short can be guessed from the sha256 that results publish; "
              "keep secret seeds long and random", file=sys.stderr)
    start = time.perf_counter()
    hidden = build_hidden(dest, args.seed, INSTANCES_PER_CATEGORY if args.per_category is None else args.per_category)
    print(f"objects: wrote {len(hidden.ids)} hidden objects ({hidden.per_category} per category) and split.json "
          f"to {dest} in {time.perf_counter() - start:.1f} s")
    print(f"seed sha256: {hidden.seed_sha256}\nobjects tree digest: {hidden.digest}")


def object_rows(objects: str) -> list[list[object]]:
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.selection import resolve_object_ids

    rows = []
    for obj_id in resolve_object_ids(objects):
        asset = get_object(obj_id)
        ann = asset.annotation
        joint = ann.task_joint
        travel = abs(joint.full_position - joint.zero_position)
        travel_txt = f"{travel * 1000:.1f} mm" if joint.kind == "prismatic" else f"{travel * 57.2958:.1f} deg"
        size = " x ".join(f"{s * 100:.1f}" for s in ann.size_m)
        rows.append([obj_id, ann.category, asset.split, size, f"{ann.mass_kg * 1000:.0f}",
                     f"{joint.name} ({joint.kind}, {joint.resistance})", travel_txt, ", ".join(ann.parts)])
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    rows = object_rows(args.objects)
    print(format_table(["id", "category", "split", "size cm (x y z)", "mass g", "task joint", "travel", "parts"],
                       rows))
    print(f"{len(rows)} objects")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.selection import resolve_object_ids
    from dextog_gym.objects.validate import mesh_report, physics_report

    failures = 0
    rows = []
    from tqdm import tqdm

    for obj_id in tqdm(resolve_object_ids(args.objects), desc="validating", unit="obj", leave=False):
        asset = get_object(obj_id)
        phys = physics_report(asset)
        meshes = mesh_report(asset)
        watertight = all(w and sdf_in > 0 > sdf_out for w, sdf_in, sdf_out in meshes.values())
        spring = asset.annotation.task_joint.resistance == "spring"
        back_ok = phys.returns() if spring else phys.theta_released > 0.95
        ok = phys.rest_drift_m < 0.01 and phys.theta_pushed > 0.97 and back_ok and watertight
        failures += not ok
        rows.append([obj_id, f"{phys.rest_drift_m * 1000:.2f}", f"{phys.theta_pushed:.3f}",
                     f"{phys.theta_released:.3f}", "yes" if watertight else "NO", "ok" if ok else "FAIL"])
    print(format_table(["id", "rest drift mm (2 s)", "θ pushed", "θ released", "watertight", "result"], rows))
    print(f"{len(rows) - failures}/{len(rows)} objects pass")
    if args.objects == "all":
        from dextog_gym.cli.assets_report import format_hand_report

        print(format_hand_report())
    return 1 if failures else 0


def cmd_show(args: argparse.Namespace) -> int:
    if args.target == "hand":
        from dextog_gym.hand.show import render_hand_png

        out = render_hand_png(args.out)
    else:
        from dextog_gym.objects.catalog import get_object
        from dextog_gym.objects.show import save_object_picture

        if not 0.0 <= args.theta <= 1.0:
            raise ValueError(f"--theta must be within [0, 1], got {args.theta}")
        out = save_object_picture(get_object(args.target), args.out, theta=args.theta, yaw=args.yaw,
                                  pitch=args.pitch)
    print(f"wrote {out}")
    return 0
