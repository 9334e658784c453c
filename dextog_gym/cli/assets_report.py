"""``dextog assets report``: the asset pipeline end to end (what ``make demo`` ran before the envs).

Validates the committed assets, renders the hand and one object per category, and prints the
object table.
"""

from __future__ import annotations

import argparse

from dextog_gym.tables import format_table


def format_hand_report() -> str:
    from dextog_gym.hand.validate import hand_report

    rep = hand_report()
    fk = "torch not installed" if rep.fk_max_error_m is None else f"{rep.fk_max_error_m:.2e} m"
    rows = [
        ["joints (driven)", f"{rep.joints} + 6-DoF floating wrist"],
        ["joint limits source", "gymnasium-robotics Shadow Hand MJCF (converted, assets/hands/shadow_hand)"],
        ["worst distance to a limit when driven there", f"{rep.limit_error_rad:.2e} rad"],
        ["self-contacts in the open pose", str(rep.open_pose_self_contacts)],
        ["torch FK vs pybullet, 100 random configs", fk],
    ]
    return format_table(["hand", "value"], rows)


def cmd_report(args: argparse.Namespace) -> int:
    import numpy as np

    from dextog_gym.hand.show import render_hand_png
    from dextog_gym.objects.catalog import get_object, list_objects
    from dextog_gym.objects.spec import CATEGORIES
    from dextog_gym.objects.validate import physics_report

    print("== Objects (committed assets; `dextog assets list` shows all rows) ==")
    rows = []
    for category, spec in CATEGORIES.items():
        assets_ = [get_object(o) for o in list_objects(category)]
        sizes = np.array([a.annotation.size_m for a in assets_]) * 100
        unseen = sum(a.split == "unseen" for a in assets_)
        joint = assets_[0].annotation.task_joint
        rows.append([category, len(assets_), len(assets_) - unseen, unseen,
                     f"{sizes.max(axis=1).min():.1f}-{sizes.max(axis=1).max():.1f}",
                     f"{spec.mass_kg * 1000:.0f}", f"{joint.kind}, {joint.resistance}",
                     ", ".join(spec.required_parts)])
    print(format_table(["category", "objects", "seen", "unseen", "longest side cm", "mass g", "task joint",
                        "annotated parts"], rows))
    total = sum(r[1] for r in rows)
    print(f"{total} objects: {sum(r[2] for r in rows)} seen, {sum(r[3] for r in rows)} unseen")

    print("\n== Shadow Hand ==")
    print(format_hand_report())

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
