"""``ndpp``: DiffuTOG's grasps with the plausibility constraints steering the denoising itself.

The model is DiffuTOG's (the shipped one unless ``model`` is given); what changes is the sampler:
inside the guidance window each reverse step tilts its noise toward candidates whose look-ahead
grasp scores low on ``ConstraintEvaluator.cost`` (penetration, self-collision, joint limits and,
by default, pads kept near the surface), computed by forward calls only (guidance.py). There is
no post-hoc collision handling: what the sampler returns is the grasp.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset

DEFAULT_BATCH = 16
# Chosen on stapler/press/trigger/bottle/pen _000, 8 grasps each (metric figures, 2-core CPU shared with a
# benchmark, contact weight 0.5 then): window 0.6, λ 0.5, M 8 — amortized pen 0.45 cm, η_f 72 %, 932 network
# calls per grasp; "resample" 0.24 cm, 78 % at 2,420 calls; λ "auto" (std of the costs) guided too weakly
# (0.81 cm, 40 %), and so did guiding only the last 30 % of the steps (0.66 cm, 29 %). The contact weight
# was then set to 0.1 (metrics/constraints.py).
GUIDANCE = ("optimal_control", "surrogate_gradient", "finite_difference")
EVALUATOR: dict[str, Any] = {}  # ConstraintEvaluator options beyond contact keeping
DEFAULTS = {"candidates": 8, "lookahead": 4, "temperature": 0.5, "window": 0.6, "variant": "amortized"}


class GraspCost:
    """c(x̂₀) for grasp vectors [N, 33] on one object: decode (joints unclipped, for J) and score."""

    def __init__(self, shape, device: str, contact_keeping: bool = True, **evaluator: Any) -> None:
        import torch

        from dextog_gym.grasp_sources.diffutog.representation import JOINT_DIMS, POS_DIMS, POS_SCALE_M, TorchDecoder
        from dextog_gym.metrics.constraints import ConstraintEvaluator

        self.evaluator = ConstraintEvaluator(shape, device=device, contact_keeping=contact_keeping, **evaluator)
        self.decoder = TorchDecoder(torch.float32, device)
        self.joint_dims, self.pos_dims, self.pos_scale = JOINT_DIMS, POS_DIMS, POS_SCALE_M

    def decode(self, x0):
        """(rot, trans, q_raw): the joints mapped from their limits without the [-1, 1] clip."""
        rot, _, _ = self.decoder(x0)
        ev = self.evaluator
        q_raw = ev.hand.lower + (x0[:, self.joint_dims] + 1) / 2 * (ev.hand.upper - ev.hand.lower)
        trans = x0[:, self.pos_dims].clamp(-1, 1) * self.pos_scale
        return rot, trans, q_raw

    def __call__(self, x0):
        return self.evaluator.cost(*self.decode(x0.float()))


class ConditionedEps:
    """ε̂(x, t) of a DiffuTOG model for one object and sentence, for any number of rows (B or B·M).

    ``t`` is one level or a level per row: the guided sampler runs a step's own rows and its look-ahead
    chains' rows in one call."""

    per_row_steps = True

    def __init__(self, model, text, obj_feat) -> None:
        self.model, self.text, self.obj_feat = model, text, obj_feat

    def __call__(self, x, t: int):
        import torch

        n = len(x)
        steps = t if isinstance(t, torch.Tensor) else torch.full((n,), t, device=x.device, dtype=torch.long)
        return self.model(x, steps, self.text.expand(n, -1), self.obj_feat.expand(n, -1))


class NdppSource:
    name = "ndpp"

    def __init__(self, model: str | os.PathLike | None = None, candidates: int = DEFAULTS["candidates"],
                 lookahead: int = DEFAULTS["lookahead"], temperature: float | str = DEFAULTS["temperature"],
                 window: float = DEFAULTS["window"], variant: str = DEFAULTS["variant"],
                 contact_keeping: bool = True, batch: int = DEFAULT_BATCH, device: str = "auto",
                 text: str | None = None, refresh_every: int | None = None, guidance: str = "optimal_control",
                 evaluator: dict[str, Any] | None = None) -> None:
        """``DEFAULTS`` (the shipped sets' settings) were chosen on 8 grasps × 5 objects (docs/ndpp.md)."""
        from dextog_gym.grasp_sources.diffutog.language import check_text
        from dextog_gym.grasp_sources.diffutog.source import shipped_model_path
        from dextog_gym.grasp_sources.ndpp.guidance import GuidanceConfig

        if guidance not in GUIDANCE:
            raise ValueError(f"guidance must be one of {', '.join(GUIDANCE)}, got {guidance!r}")
        self.guidance = guidance
        self.gradient_config = None
        if guidance != "optimal_control":  # Table 3's gradient ablations, same λ and window
            from dextog_gym.grasp_sources.ndpp.gradient import GradientConfig

            mode = "surrogate" if guidance == "surrogate_gradient" else "spsa"
            self.gradient_config = GradientConfig(mode=mode, temperature=float(temperature), window=window,
                                                  directions=max(candidates // 2, 1))
        self.config = GuidanceConfig(candidates=candidates, lookahead=lookahead, temperature=temperature,
                                     window=window, variant=variant, refresh_every=refresh_every)
        if not isinstance(contact_keeping, bool):
            raise ValueError(f"contact_keeping must be true or false, got {contact_keeping!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        self.model_path = Path(model) if model is not None else shipped_model_path(True)
        self.contact_keeping = contact_keeping
        self.evaluator = dict(EVALUATOR if evaluator is None else evaluator)
        self.batch = batch
        self.device = device
        self.text = check_text(text) if text is not None else None
        self.last_stats: dict[str, Any] = {}
        self.serves_shipped = (model is None and text is None and contact_keeping and guidance == "optimal_control" and
                               self.config == GuidanceConfig(**DEFAULTS) and self.evaluator == EVALUATOR)

    def fixed_grasps(self, obj: ObjectAsset, task: str) -> tuple[Grasps, str] | None:
        """The object's shipped set (this source's defaults) in file order; other settings sample live."""
        if not self.serves_shipped:
            return None
        from dextog_gym.grasp_sources.shipped import served_shipped

        return served_shipped(self.name, "NDPP-Grasp", obj, task)

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator, text: str | None = None) -> Grasps:
        import torch

        from dextog_gym.grasp_sources.diffutog.diffusion import CosineSchedule
        from dextog_gym.grasp_sources.diffutog.representation import decode_numpy
        from dextog_gym.grasp_sources.diffutog.source import prepare_sample
        from dextog_gym.grasp_sources.ndpp.gradient import GradientGuidedSampler
        from dextog_gym.grasp_sources.ndpp.guidance import GuidedSampler, Schedule
        from dextog_gym.objects.shape import object_shape

        setup = prepare_sample("NDPP-Grasp", self.model_path, self.device, self.text, obj, task, n, rng, text)
        model, device, gen = setup.model, setup.device, setup.gen
        cost = GraspCost(object_shape(obj), device, self.contact_keeping, **self.evaluator)
        schedule = Schedule(CosineSchedule(model.config.timesteps).betas)
        t0 = time.perf_counter()
        xs, net, evals, batches = [], 0, 0, 0
        with torch.no_grad():
            eps = ConditionedEps(model, setup.text, model.encode_object(setup.cloud))
            for start in range(0, n, self.batch):
                b = min(self.batch, n - start)
                sampler = (GuidedSampler(eps, cost, schedule, self.config) if self.gradient_config is None else
                           GradientGuidedSampler(eps, cost, schedule, self.gradient_config))
                x_t = torch.randn(b, model.out.out_features, device=device, generator=gen)
                xs.append(sampler.sample(x_t, gen).cpu().numpy())
                net += sampler.stats.network_calls
                batches += getattr(sampler.stats, "network_batches", 0)
                evals += sampler.stats.cost_calls
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        x = np.concatenate(xs) if xs else np.zeros((0, model.out.out_features), np.float32)
        positions, quats, joints = decode_numpy(x)
        per = max(n, 1)
        self.last_stats = {"text": setup.sentence, "n": n, "device": device, "ms_per_grasp": 1000 * seconds / per,
                           "network_calls_per_grasp": net / per, "cost_calls_per_grasp": evals / per,
                           "network_batches": batches}
        provenance = {**setup.provenance(self.name), "guidance": self.guidance,
                      "guidance_config": vars(self.gradient_config or self.config).copy(),
                      "contact_keeping": self.contact_keeping, "evaluator": dict(self.evaluator), "seconds": seconds,
                      "grasps": n, "device": device,
                      "network_calls_per_grasp": net / per, "cost_calls_per_grasp": evals / per}
        return Grasps.from_arrays(obj.id, task, positions, quats, joints, {}, provenance)
