"""The gradient-based alternatives NDPP-Grasp is compared with (its Table 3, variants B and C).

Both are classifier-style guidance on the DDPM mean, μ ← μ − (σ_t² / (λ √ᾱ_t)) · g, with g an
estimate of ∇_{x̂₀} c at the Tweedie estimate x̂₀(x_t) (the 1/√ᾱ_t is ∂x̂₀/∂x_t with the network's
Jacobian left out, as loss-guided samplers do to avoid backpropagating through it):

* ``surrogate`` (variant B): g by autograd through the same torch constraint code. It is a
  surrogate in the paper's sense: max and [·]₊ make the true constraints piecewise flat, so the
  gradient is zero for a grasp deep inside a valid region and says nothing about self-collision
  checked by pybullet;
* ``spsa`` (variant C): zeroth-order finite differences (Spall's SPSA) — P random ±1 directions Δ,
  g = mean_j [c(x̂₀ + δΔ_j) − c(x̂₀ − δΔ_j)] / (2δ) · Δ_j, forward calls only, 2P cost evaluations
  per grasp and step (P = M/2 gives NDPP's budget of M).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dextog_gym.grasp_sources.ndpp.guidance import CostFn, EpsFn, GuidanceStats, Schedule

MODES = ("surrogate", "spsa")


@dataclass
class GradientConfig:
    mode: str = "surrogate"
    temperature: float = 0.5  # λ: the guidance scale is 1/λ, as in the optimal-control reading
    window: float = 0.6
    directions: int = 4  # P (spsa)
    delta: float = 0.02  # δ in the [-1, 1] representation (≈ 5 mm of wrist, 1.5 % of a joint's range)
    clip: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {self.temperature!r}")
        if not isinstance(self.directions, int) or self.directions < 1:
            raise ValueError(f"directions must be a positive integer, got {self.directions!r}")


class GradientGuidedSampler:
    def __init__(self, eps_fn: EpsFn, cost_fn: CostFn, schedule: Schedule, config: GradientConfig) -> None:
        self.eps_fn, self.cost_fn, self.s, self.cfg = eps_fn, cost_fn, schedule, config
        self.stats = GuidanceStats()

    def _gradient(self, x0: torch.Tensor, gen) -> torch.Tensor:
        b, d = x0.shape
        if self.cfg.mode == "surrogate":
            with torch.enable_grad():
                probe = x0.detach().clone().requires_grad_(True)
                self.stats.cost_calls += b
                (grad,) = torch.autograd.grad(self.cost_fn(probe).sum(), probe)
            return grad
        p, delta = self.cfg.directions, self.cfg.delta
        signs = torch.randint(0, 2, (b, p, d), generator=gen, device=x0.device).to(x0.dtype) * 2 - 1
        both = torch.cat([x0[:, None] + delta * signs, x0[:, None] - delta * signs], 1).reshape(-1, d)
        self.stats.cost_calls += len(both)
        c = self.cost_fn(both).reshape(b, 2, p)
        return (((c[:, 0] - c[:, 1]) / (2 * delta))[..., None] * signs).mean(1)

    @torch.no_grad()
    def sample(self, x_t: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        x = x_t
        for t in reversed(range(self.s.timesteps)):
            self.stats.network_calls += len(x)
            eps = self.eps_fn(x, t)
            mu = self.s.mean(x, eps, t, self.cfg.clip)
            if t == 0:
                return mu
            var = self.s.var[t]
            if t - 1 < self.cfg.window * self.s.timesteps:
                self.stats.guided_steps += 1
                grad = self._gradient(self.s.tweedie(x, eps, t), gen)
                mu = mu - (var / (self.cfg.temperature * math.sqrt(self.s.ab[t]))) * grad
            x = mu + math.sqrt(var) * torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=gen)
        return x
