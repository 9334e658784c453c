"""A policy bundle as a stable-baselines3 PPO zip: ``PPO.load(zip).predict(obs)`` acts like ``bundle.act(obs)``.

Users of SB3 (and tools built on it: rl-zoo3, huggingface_sb3) want a shipped policy in SB3's own
format, to act with or to fine-tune. The export is an ordinary PPO ``MlpPolicy`` whose actor carries
the bundle's layers, with two choices that keep it faithful on RAW observations:

* The observation normalisation travels inside the zip as the features extractor
  :class:`ObsNormaliser`, whose mean/var/eps/clip are registered buffers, so they sit in the saved
  state dict next to the weights. It computes in float64 like :meth:`PolicyBundle.normalise` (some
  variances are ~1e-9; float32 would shift those inputs). Do not wrap the env in
  ``VecNormalize(norm_obs=True)`` when acting or fine-tuning: the policy already normalises.
  SB3 stores the class by reference, so ``PPO.load`` imports it from this module (dextog_gym must be
  installed where the zip is loaded).
* The critic is not in the bundle. The value head is zeroed (V(s) = 0 everywhere) and the hidden
  value layers keep SB3's default initialisation: the export is for acting and fine-tuning, not for
  value estimates. ``log_std`` is the training run's ``log_std_init`` (the trained one is not kept
  either), so stochastic actions are not the trained ones; the deterministic action is exact.

Provenance (bundle meta, env id, these caveats, the export-time check) is stored in SB3's saved data
as the model attribute ``dextog_provenance``: ``PPO.load(zip).dextog_provenance``, or
:func:`read_provenance`, which reads the zip's JSON without unpickling anything. Exporting needs
torch and stable-baselines3; importing this module does not (the extractor class is built on first
use, PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write
from dextog_gym.policies.bundle import PolicyBundle

EXPORT_FORMAT = 1
PROVENANCE_ATTR = "dextog_provenance"
CHECK_OBSERVATIONS = 256
CHECK_ATOL = 1e-4
_SCALAR_PPO_KEYS = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
                    "ent_coef", "vf_coef", "max_grad_norm")
_TORCH_ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU"}
_INSTALL_HINT = "pip install 'dextog-gym[train]' (torch and stable-baselines3)"


def _build_obs_normaliser() -> type:
    """The features extractor class; built lazily so importing this module never imports torch."""
    import torch as th
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class ObsNormaliser(BaseFeaturesExtractor):
        """clip((obs - mean) / sqrt(var + eps), -clip, clip), in float64 as the bundle computes it."""

        def __init__(self, observation_space) -> None:
            size = int(np.prod(observation_space.shape))
            super().__init__(observation_space, features_dim=size)
            # Placeholders: the real statistics arrive with the state dict (export, then PPO.load).
            self.register_buffer("mean", th.zeros(size, dtype=th.float64))
            self.register_buffer("var", th.ones(size, dtype=th.float64))
            self.register_buffer("eps", th.tensor(1e-8, dtype=th.float64))
            self.register_buffer("clip", th.tensor(float("inf"), dtype=th.float64))

        def forward(self, observations: th.Tensor) -> th.Tensor:
            x = th.flatten(observations, start_dim=1).to(th.float64)
            z = (x - self.mean) / th.sqrt(self.var + self.eps)
            return th.clamp(z, -self.clip, self.clip).to(th.float32)

    # Importable by name, so SB3/cloudpickle store a reference to this module, not the class's code.
    ObsNormaliser.__module__ = __name__
    ObsNormaliser.__qualname__ = "ObsNormaliser"
    return ObsNormaliser


def _obs_normaliser() -> type:
    cls = globals().get("ObsNormaliser")
    if cls is None:  # one class object per process: pickling by reference checks identity
        cls = globals()["ObsNormaliser"] = _build_obs_normaliser()
    return cls


def __getattr__(name: str) -> Any:
    if name == "ObsNormaliser":
        return _obs_normaliser()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _value_arch(bundle: PolicyBundle, pi: list[int]) -> list[int]:
    """The critic's hidden sizes of the training run (fine-tuning then matches it), else the actor's."""
    net = (bundle.meta.get("hyperparams") or {}).get("policy_kwargs", {}).get("net_arch")
    vf = net.get("vf") if isinstance(net, dict) else None
    if isinstance(vf, list) and all(isinstance(v, int) and 0 < v <= 4096 for v in vf):
        return list(vf)
    return list(pi)


def _ppo_settings(bundle: PolicyBundle) -> tuple[dict[str, Any], float]:
    """PPO scalars and log_std_init the bundle was trained with, so ``learn()`` after load continues alike."""
    params = bundle.meta.get("hyperparams") or {}
    kwargs = {k: params[k] for k in _SCALAR_PPO_KEYS
              if isinstance(params.get(k), (int, float)) and not isinstance(params.get(k), bool)}
    log_std = (params.get("policy_kwargs") or {}).get("log_std_init", 0.0)
    return kwargs, float(log_std) if isinstance(log_std, (int, float)) else 0.0


def build_ppo(bundle: PolicyBundle):
    """An SB3 PPO (cpu) whose deterministic ``predict`` on raw observations equals ``bundle.act``."""
    try:
        import gymnasium as gym
        import torch as th
        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import DummyVecEnv
    except ImportError as exc:
        raise ImportError(f"exporting to stable-baselines3 needs {_INSTALL_HINT}: {exc}") from None

    from dextog_gym.envs.observation import OBS_BOUND

    # Exactly the env's spaces: PPO.load(zip, env=...) for fine-tuning refuses any other bounds.
    obs_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (bundle.obs_size,), np.float32)
    act_space = gym.spaces.Box(-1.0, 1.0, (bundle.action_size,), np.float32)

    class _SpacesOnly(gym.Env):
        """Only the spaces: PPO needs an env to build, never to step here (no physics is started)."""

        observation_space, action_space = obs_space, act_space

        def reset(self, *, seed=None, options=None):
            return np.zeros(obs_space.shape, np.float32), {}

        def step(self, action):
            return np.zeros(obs_space.shape, np.float32), 0.0, False, False, {}

    pi = [int(w.shape[0]) for w, _ in bundle.layers[:-1]]
    ppo_kwargs, log_std_init = _ppo_settings(bundle)
    policy_kwargs = {"features_extractor_class": _obs_normaliser(), "share_features_extractor": True,
                     "net_arch": {"pi": pi, "vf": _value_arch(bundle, pi)},
                     "activation_fn": getattr(th.nn, _TORCH_ACTIVATIONS[bundle.activation]),
                     "log_std_init": log_std_init}
    model = PPO("MlpPolicy", DummyVecEnv([_SpacesOnly]), policy_kwargs=policy_kwargs, device="cpu", verbose=0,
                **ppo_kwargs)
    policy = model.policy
    linears = [m for m in policy.mlp_extractor.policy_net if isinstance(m, th.nn.Linear)] + [policy.action_net]
    if [tuple(m.weight.shape) for m in linears] != [w.shape for w, _ in bundle.layers]:
        raise ValueError(f"SB3 built an actor with layers {[tuple(m.weight.shape) for m in linears]}, "
                         f"the bundle has {[w.shape for w, _ in bundle.layers]}")
    extractor = policy.features_extractor
    with th.no_grad():
        for module, (w, b) in zip(linears, bundle.layers, strict=True):
            module.weight.copy_(th.as_tensor(w))
            module.bias.copy_(th.as_tensor(b))
        policy.value_net.weight.zero_()
        policy.value_net.bias.zero_()
        extractor.mean.copy_(th.as_tensor(bundle.obs_mean))
        extractor.var.copy_(th.as_tensor(bundle.obs_var))
        extractor.eps.fill_(float(bundle.epsilon))
        extractor.clip.fill_(float(bundle.clip_obs))
    policy.set_training_mode(False)
    return model


def check_against_bundle(model, bundle: PolicyBundle, n: int = CHECK_OBSERVATIONS, seed: int = 0) -> float:
    """Largest |predict - bundle.act| over observations near the statistics and far outside (clipped)."""
    rng = np.random.default_rng(seed)
    std = np.sqrt(bundle.obs_var + bundle.epsilon)
    scale = np.where(np.arange(n) % 2 == 0, 1.0, 3.0 * bundle.clip_obs if bundle.clip_obs < 1e6 else 30.0)
    obs = bundle.obs_mean + rng.normal(size=(n, bundle.obs_size)) * std * scale[:, None]
    obs = np.clip(obs, model.observation_space.low, model.observation_space.high).astype(np.float32)
    predicted, _ = model.predict(obs, deterministic=True)
    return float(np.max(np.abs(predicted - bundle.act(obs))))


def export_sb3(bundle: PolicyBundle, out_zip: str | Path, source: str | None = None) -> Path:
    """Write ``out_zip`` (atomically); refuses to write an export whose actions differ from the bundle's."""
    out_zip = Path(out_zip)
    if out_zip.suffix != ".zip":
        raise ValueError(f"{out_zip}: the SB3 export is a .zip file (PPO.load adds .zip to other names)")
    if bundle.meta.get("base", "none") != "none":
        raise ValueError(f"{bundle.env_id}: this bundle is a residual on the task controller "
                         f"(base {bundle.meta['base']!r}); a PPO zip would hold the correction without the "
                         f"controller and act differently. Evaluate it with dextog evaluate instead.")
    model = build_ppo(bundle)
    diff = check_against_bundle(model, bundle)
    if not diff <= CHECK_ATOL:
        raise ValueError(f"export check failed: predict() differs from the bundle by {diff:.3g} (> {CHECK_ATOL})")
    setattr(model, PROVENANCE_ATTR, provenance(bundle, source, diff))
    atomic_write(out_zip, lambda fh: model.save(fh))
    return out_zip


def provenance(bundle: PolicyBundle, source: str | None, check_diff: float) -> dict[str, Any]:
    """What the zip is and is not; plain JSON, so SB3 saves it unpickled in the zip's ``data``."""
    from dextog_gym import __version__

    return {"format": EXPORT_FORMAT, "exported_by": f"dextog_gym {__version__} ({__name__}.export_sb3)",
            "env_id": bundle.env_id, "source": source, "obs_size": bundle.obs_size,
            "action_size": bundle.action_size, "activation": bundle.activation,
            "obs_normalisation": "inside the policy (features extractor ObsNormaliser); feed raw observations, "
                                 "do not add VecNormalize(norm_obs=True)",
            "value_head": "untrained (zero weights): for acting and fine-tuning, not value estimates",
            "log_std": "the training run's log_std_init, not the trained value: only deterministic actions "
                       "match the bundle",
            "check": {"observations": CHECK_OBSERVATIONS, "max_abs_diff": check_diff},
            "bundle_meta": json.loads(json.dumps(bundle.meta, default=str))}


def read_provenance(zip_path: str | Path) -> dict[str, Any]:
    """The export's provenance, read from the zip's JSON ``data`` entry (nothing is unpickled)."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ValueError(f"{zip_path} is not an SB3 zip: {exc}") from None
    found = data.get(PROVENANCE_ATTR)
    if not isinstance(found, dict):
        raise ValueError(f"{zip_path} was not exported by dextog (no {PROVENANCE_ATTR})")
    return found
