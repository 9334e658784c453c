"""``dextog policy``: work with a trained policy bundle; ``export --out X.zip`` writes a stable-baselines3 PPO zip."""

from __future__ import annotations

import argparse
from pathlib import Path

from dextog_gym.cli.helptext import examples
from dextog_gym.cli.vocabulary import deprecated

EXPORT_DESCRIPTION = """\
Write the policy as a stable-baselines3 PPO zip (MlpPolicy). PPO.load reads it, and its deterministic
predict() on RAW observations equals the bundle's action (checked before the file is written): the
observation normalisation is inside the zip. The value head is untrained (zeros) and log_std is the
training run's initial value, so the export is for acting and fine-tuning, not value estimates.
Provenance (bundle meta, env id, the check) is in the zip: model.dextog_provenance.

  from stable_baselines3 import PPO
  model = PPO.load("stapler_rule_ppo30k.zip", device="cpu")
  action, _ = model.predict(obs, deterministic=True)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("policy", **examples("dextog policy export stapler_rule_ppo30k --out stapler_rule_ppo30k.zip"),
                       help="export a policy bundle to other formats",
                       description="Work with a policy bundle (policy.npz + policy.json): a shipped reference "
                                   "policy such as stapler_rule_ppo30k,\nor the policy/ folder of a `dextog train` run.")
    actions = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    e = actions.add_parser("export", **examples(
                               "dextog policy export stapler_rule_ppo30k --out stapler_rule_ppo30k.zip",
                               "dextog policy export runs/Stapler_rule_s0/policy --out exports/stapler_mine.zip"),
                           help="write the policy as a stable-baselines3 PPO zip", description=EXPORT_DESCRIPTION)
    e.add_argument("name", metavar="NAME",
                   help="a reference policy name (stapler_rule_ppo30k, pen_isf_ppo30k, ...) or a bundle folder")
    e.add_argument("--out", type=Path, metavar="OUT.zip",
                   help="the stable-baselines3 PPO zip file to write (replaced if it exists)")
    deprecated(e, "--sb3", "--out", "out", type=Path)
    e.set_defaults(func=run_export)


def _bundle_folder(name: str) -> Path:
    """The bundle folder of ``name``, with the reference names in the error when it is neither."""
    from dextog_gym.policies.evaluate import REFERENCE_DIR, resolve_policy

    path = resolve_policy(name, None)
    if not path.exists():
        names = sorted(p.name for p in REFERENCE_DIR.iterdir() if (p / "policy.json").is_file())
        raise FileNotFoundError(f"unknown policy {name!r}: not a bundle folder nor a reference name "
                                f"({', '.join(names)})")
    return path


def run_export(args: argparse.Namespace) -> int:
    from dextog_gym.policies.bundle import PolicyBundle
    from dextog_gym.policies.sb3_export import export_sb3, read_provenance

    if args.out is None:
        raise ValueError("dextog policy export: --out OUT.zip is required (the stable-baselines3 zip to write)")
    folder = _bundle_folder(args.name)
    bundle = PolicyBundle.load(folder)
    try:
        out = export_sb3(bundle, args.out, source=args.name)
    except ImportError as exc:
        raise ValueError(str(exc)) from None
    except OSError as exc:  # not FileNotFoundError alone: a read-only folder, a file where a folder should be
        raise ValueError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    check = read_provenance(out)["check"]
    sizes = [bundle.obs_size] + [int(w.shape[0]) for w, _ in bundle.layers]
    print(f"{args.name} ({bundle.env_id}, actor {'-'.join(map(str, sizes))} {bundle.activation}) -> {out} "
          f"({out.stat().st_size / 1024:.0f} KiB)")
    print(f"check: deterministic predict() equals the bundle's action to {check['max_abs_diff']:.1g} on "
          f"{check['observations']} observations")
    print(f"load:  PPO.load({str(out)!r}, device='cpu')  (raw observations; value head untrained)")
    return 0
