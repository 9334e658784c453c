"""DDPM pieces for DiffuTOG: the noise schedule, the training loss and ancestral sampling.

Schedule (specs §3.2): DexTOG keeps diffusers' linear β 1e-4..0.02 over T = 100 steps, where
ᾱ_T = 0.36, so x_T is far from N(0, I) and sampling from pure noise starts off-distribution. We use
the cosine schedule (Nichol & Dhariwal) instead: ᾱ_T ≈ 2e-7 at T = 100. Variance is "fixed small"
(the posterior β̃_t) and x̂₀ is clipped to [-1, 1] at every step, which is sound because every
coordinate of a real grasp vector lies there (representation.py).
"""

from __future__ import annotations

import math

import torch

from dextog_gym.grasp_sources.diffutog.network import Denoiser


class CosineSchedule:
    def __init__(self, timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> None:
        steps = torch.arange(timesteps + 1, dtype=torch.float64)
        f = torch.cos((steps / timesteps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
        self.timesteps = timesteps
        self.betas = betas
        self.alphas = 1 - betas
        self.alpha_bar = torch.cumprod(self.alphas, 0)
        prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bar[:-1]])
        self.alpha_bar_prev = prev
        self.posterior_var = betas * (1 - prev) / (1 - self.alpha_bar)

    def at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t] as [B, 1] in the dtype/device of ``like``."""
        return values.to(like.device)[t.to(like.device)].to(like.dtype)[:, None]

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        ab = self.at(self.alpha_bar, t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def diffusion_loss(model: Denoiser, schedule: CosineSchedule, x0: torch.Tensor, text: torch.Tensor,
                   obj_points: torch.Tensor, slot: torch.Tensor, lambda_fk: float,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """ε-MSE + λ·MSE(FK(x_t(ε̂)), FK(x_t(ε))) (specs §3.4, DexTOG's point-space term).

    x_t(e) = √ᾱ_t x₀ + √(1−ᾱ_t) e: the hand cloud of the state re-noised with the predicted noise
    must match the one of the true noisy state, which penalises noise errors by how far they move
    the hand's surface (a joint error at the wrist counts more than one at a fingertip).
    ``obj_points`` [K, P, 3] are the batch's distinct object clouds, ``slot`` [B] picks each row's.
    """
    b = x0.shape[0]
    t = torch.randint(0, schedule.timesteps, (b,), device=x0.device, generator=generator)
    eps = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
    x_t = schedule.q_sample(x0, t, eps)
    with torch.no_grad():
        hand_true = model.hand_cloud(x_t)
    obj_feat = model.encode_object(obj_points)[slot]
    eps_hat = model(x_t, t, text, obj_feat, hand_points=hand_true if model.config.hand_encoder else None)
    loss_eps = ((eps_hat - eps) ** 2).mean()
    terms = {"loss_eps": loss_eps.item()}
    loss = loss_eps
    if lambda_fk > 0:
        hand_pred = model.hand_cloud(schedule.q_sample(x0, t, eps_hat))
        loss_fk = ((hand_pred - hand_true) ** 2).sum(-1).mean()
        loss = loss + lambda_fk * loss_fk
        terms["loss_fk"] = loss_fk.item()
    terms["loss"] = loss.item()
    return loss, terms


@torch.no_grad()
def ancestral_sample(model: Denoiser, schedule: CosineSchedule, text: torch.Tensor, obj_feat: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """x₀ samples [B, 33] by ancestral DDPM from x_T ~ N(0, I); the hand cloud is recomputed each step.

    ``text`` [B, 384] and ``obj_feat`` [B, C] (``model.encode_object`` of the clouds, computed once).
    """
    b = text.shape[0]
    device = text.device
    x = torch.randn(b, model.out.out_features, device=device, generator=generator)
    for step in reversed(range(schedule.timesteps)):
        t = torch.full((b,), step, device=device, dtype=torch.long)
        eps_hat = model(x, t, text, obj_feat)
        ab = schedule.at(schedule.alpha_bar, t, x)
        ab_prev = schedule.at(schedule.alpha_bar_prev, t, x)
        beta = schedule.at(schedule.betas, t, x)
        x0_hat = ((x - (1 - ab).sqrt() * eps_hat) / ab.sqrt()).clamp(-1, 1)
        mean = (ab_prev.sqrt() * beta / (1 - ab)) * x0_hat + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)) * x
        if step > 0:
            var = schedule.at(schedule.posterior_var, t, x)
            x = mean + var.sqrt() * torch.randn(x.shape, device=device, generator=generator)
        else:
            x = mean
    return x
