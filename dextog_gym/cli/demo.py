"""``dextog demo``: what ``make demo`` runs until the environments exist.

Validates the committed assets, renders the hand and one object per category, and
prints the object table, so a newcomer sees the whole asset pipeline work end to end.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.tables import format_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="validate assets, render pictures, print the object table")
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for the pictures")
    parser.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from dextog_gym.cli.assets import object_rows
    from dextog_gym.hand.show import render_hand_png
    from dextog_gym.objects.catalog import get_object, list_objects
    from dextog_gym.objects.spec import CATEGORIES
    from dextog_gym.objects.validate import physics_report

    print("== Objects (committed assets) ==")
    rows = object_rows(None, "all")
    print(format_table(["id", "category", "split", "size cm (x y z)", "mass g", "task joint", "travel", "parts"],
                       rows))
    seen = sum(r[2] == "seen" for r in rows)
    print(f"{len(rows)} objects: {seen} seen, {len(rows) - seen} unseen")

    print("\n== Physics check: one object per category ==")
    checks = []
    for category in CATEGORIES:
        asset = get_object(list_objects(category)[0])
        rep = physics_report(asset)
        checks.append([asset.id, f"{rep.rest_drift_m * 1000:.2f}", f"{rep.theta_pushed:.3f}",
                       f"{rep.theta_released:.3f}", asset.annotation.task_joint.resistance])
    print(format_table(["id", "rest drift mm (2 s)", "θ pushed", "θ released", "resistance"], checks))

    print("\n== Pictures ==")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"wrote {render_hand_png(args.out / 'hand.png')}")
    from dextog_gym.objects.show import save_object_picture

    for category in CATEGORIES:
        obj = list_objects(category)[0]
        print(f"wrote {save_object_picture(get_object(obj), args.out / f'{obj}.png')}")
    return 0
