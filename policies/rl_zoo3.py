"""Our PPO hyperparameters in rl-zoo3's format, generated from ``hyperparams/ppo.yml``.

rl-zoo3 cannot read ``ppo.yml`` itself: it wants one flat block per env id with ``n_timesteps``,
``policy``, ``n_envs``, ``normalize`` as VecNormalize keyword arguments, and ``policy_kwargs`` as a
Python expression it ``eval``s (``nn`` is torch.nn there). ``ppo.yml`` stays the one source of truth;
``hyperparams/rl_zoo3/ppo.yml`` is generated from it and a test checks that the committed copy is
current. Regenerate after editing ``ppo.yml``::

    python -m dextog_gym.policies.rl_zoo3          # rewrite the committed file
    python -m dextog_gym.policies.rl_zoo3 --check  # exit 1 if it is stale

Train with it (rl-zoo3 installed)::

    python -m rl_zoo3.train --algo ppo --env DexTOG/Stapler-v1 --gym-packages dextog_gym \\
        --conf-file policies/hyperparams/rl_zoo3/ppo.yml
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dextog_gym.files import atomic_write_text
from dextog_gym.paths import package_data
from dextog_gym.policies.config import HYPERPARAMS_PATH, PPO_KEYS, load_hyperparams
from dextog_gym.policies.train import TrainRequest

RL_ZOO3_PATH = package_data("dextog_gym.policies", "hyperparams", "rl_zoo3", "ppo.yml")
_NN_ACTIVATIONS = {"tanh": "nn.Tanh", "relu": "nn.ReLU", "elu": "nn.ELU"}
HEADER = """\
# GENERATED FILE - do not edit. rl-zoo3's form of policies/hyperparams/ppo.yml (the source of truth),
# written by `python -m dextog_gym.policies.rl_zoo3` (dextog_gym/policies/rl_zoo3.py, to_rl_zoo3);
# tests/test_rl_zoo3.py fails when this copy is stale. n_envs and env_kwargs are `dextog train`'s defaults.
# Use: python -m rl_zoo3.train --algo ppo --env DexTOG/Stapler-v1 --gym-packages dextog_gym \\
#        --conf-file policies/hyperparams/rl_zoo3/ppo.yml
"""


def _train_default(name: str) -> Any:
    """A default of ``dextog train`` (TrainRequest), so both ways of training start from the same settings."""
    return {f.name: f.default for f in dataclasses.fields(TrainRequest)}[name]


class _Code(str):
    """Source text written as is (``nn.Tanh``: a name rl-zoo3 resolves in its eval, not a string literal)."""


def python_expr(value: Any) -> str:
    """``value`` as the Python source rl-zoo3 evals: dicts as ``dict(k=v)``, :class:`_Code` verbatim."""
    if isinstance(value, _Code):
        return str(value)
    if isinstance(value, dict):
        return "dict(" + ", ".join(f"{k}={python_expr(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(python_expr(v) for v in value) + "]"
    if isinstance(value, (bool, int, float, str)) or value is None:
        return repr(value)
    raise ValueError(f"cannot write {value!r} ({type(value).__name__}) for rl-zoo3")


def zoo_block(params: dict[str, Any]) -> dict[str, Any]:
    """One env's merged hyperparameters (``load_hyperparams``) as an rl-zoo3 block."""
    policy_kwargs = dict(params.get("policy_kwargs", {}))
    policy_kwargs["activation_fn"] = _Code(_NN_ACTIVATIONS[policy_kwargs.get("activation_fn", "tanh")])
    block: dict[str, Any] = {
        "n_timesteps": int(params["total_timesteps"]),
        "policy": "MlpPolicy",
        "n_envs": int(_train_default("n_envs")),
        "env_kwargs": {"grasp_source": _train_default("grasp_source"), "objects": _train_default("objects")},
    }
    normalize = params.get("normalize")
    if normalize and (normalize.get("norm_obs") or normalize.get("norm_reward")):
        block["normalize"] = python_expr(dict(normalize))
    for key in sorted(PPO_KEYS - {"policy_kwargs"}):
        if key in params:
            block[key] = params[key]
    block["policy_kwargs"] = python_expr(policy_kwargs)
    if params.get("base", "none") == "controller":  # residual verifier: the controller lives in an env wrapper
        block["env_wrapper"] = [{"dextog_gym.policies.residual.ResidualAction":
                                 {"scale": float(params.get("residual_scale", 0.5))}}]
    return block


def to_rl_zoo3(path: str | Path = HYPERPARAMS_PATH) -> dict[str, dict[str, Any]]:
    """Every env id of ``path`` (file order) -> its rl-zoo3 block; rl-zoo3 has no ``default`` merging."""
    import yaml

    table = yaml.safe_load(Path(path).read_text())
    env_ids = [k for k in table if k != "default"] if isinstance(table, dict) else []
    return {env_id: zoo_block(load_hyperparams(env_id, path)) for env_id in env_ids}


def render(path: str | Path = HYPERPARAMS_PATH) -> str:
    """The text of the rl-zoo3 file: the header, then one block per env, keys in a fixed order."""
    import yaml

    body = yaml.safe_dump(to_rl_zoo3(path), sort_keys=False, default_flow_style=False, width=200)
    return HEADER + "\n" + body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dextog_gym.policies.rl_zoo3",
                                     description="Write policies/hyperparams/rl_zoo3/ppo.yml from ppo.yml.")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if the file is stale")
    parser.add_argument("--out", type=Path, default=RL_ZOO3_PATH, help="file to write or check")
    args = parser.parse_args(argv)
    text = render()
    current = args.out.read_text() if args.out.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.out} is stale; run python -m dextog_gym.policies.rl_zoo3", file=sys.stderr)
            return 1
        print(f"{args.out} is current")
        return 0
    atomic_write_text(args.out, text)
    print(f"wrote {args.out} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
