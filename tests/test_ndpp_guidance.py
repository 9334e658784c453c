"""The guided sampler on 1-D toy diffusions whose exact denoisers and tilted targets are known in closed form.

Data p₀ = N(m, s²) (or a two-component mixture); the exact ε-predictor of a Gaussian mixture is
analytic, so any deviation of the guided samples from the closed-form target is the sampler's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dextog_gym.grasp_sources.diffutog.diffusion import CosineSchedule
from dextog_gym.grasp_sources.ndpp.guidance import GuidanceConfig, GuidedSampler, Schedule

T = 100


def mixture_eps(means, stds, weights, schedule: Schedule):
    """Exact ε̂(x, t) = (x − √ᾱ E[x₀ | x_t]) / √(1 − ᾱ) for p₀ = Σ_k π_k N(m_k, s_k²) in 1-D."""
    m = torch.tensor(means, dtype=torch.float64)
    s2 = torch.tensor(stds, dtype=torch.float64) ** 2
    logpi = torch.log(torch.tensor(weights, dtype=torch.float64))

    def eps(x: torch.Tensor, t: int) -> torch.Tensor:
        ab = schedule.ab[t]
        var = ab * s2 + 1 - ab  # [K]
        z = x  # [N, 1]
        logr = logpi - 0.5 * torch.log(var) - 0.5 * (z - math.sqrt(ab) * m) ** 2 / var
        r = torch.softmax(logr, dim=1)
        post = m + math.sqrt(ab) * s2 / var * (z - math.sqrt(ab) * m)  # E[x₀ | x_t, k]
        x0 = (r * post).sum(1, keepdim=True)
        return (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)

    return eps


def _schedule() -> Schedule:
    return Schedule(CosineSchedule(T).betas)


def _sample(eps, cost, n=4000, seed=0, **cfg) -> tuple[np.ndarray, GuidedSampler]:
    schedule = _schedule()
    sampler = GuidedSampler(eps(schedule), cost, schedule, GuidanceConfig(clip=False, **cfg))
    gen = torch.Generator().manual_seed(seed)
    x_t = torch.randn(n, 1, dtype=torch.float64, generator=gen)
    return sampler.sample(x_t, gen).numpy()[:, 0], sampler


GAUSS = lambda s: mixture_eps([0.5], [0.4], [1.0], s)  # noqa: E731
TWO_MODES = lambda s: mixture_eps([-0.6, 0.6], [0.15, 0.15], [0.5, 0.5], s)  # noqa: E731
ZERO_COST = lambda x0: torch.zeros(len(x0), dtype=x0.dtype)  # noqa: E731


@pytest.mark.parametrize("variant", ["amortized", "resample", "complete"])
def test_uniform_weights_reproduce_unguided_sampling(variant):
    from scipy.stats import ks_2samp

    plain, _ = _sample(GAUSS, ZERO_COST, window=0.0, seed=1)
    guided, sampler = _sample(GAUSS, ZERO_COST, window=1.0, variant=variant, candidates=8, lookahead=3, seed=2)
    assert sampler.stats.guided_steps == T - 1
    assert ks_2samp(plain, guided).pvalue > 0.01
    assert abs(guided.mean() - plain.mean()) < 0.03 and abs(guided.std() - plain.std()) < 0.03


def test_a_stronger_temperature_leaves_the_model_alone():
    far = lambda x0: 0.1 * x0[:, 0]  # noqa: E731  (a weak, smooth cost at a huge λ: weights ≈ uniform)
    plain, _ = _sample(GAUSS, ZERO_COST, window=0.0, seed=3)
    guided, _ = _sample(GAUSS, far, temperature=1e6, seed=4)
    assert abs(plain.mean() - guided.mean()) < 0.03


@pytest.mark.parametrize("variant,lookahead", [("complete", 0), ("amortized", T)])
def test_guided_samples_match_the_closed_form_tilted_gaussian(variant, lookahead):
    """p₀ = N(0.5, 0.4²), c(x) = a(x − b)²/2, λ = 1: p*(x) = N(m*, s*²) in closed form.

    With look-ahead to the end of denoising the cost is scored on real x₀ (no Tweedie bias); the
    amortized variant reaches it only through its reused chains and their correction weights, so a
    wrong correction would move its mean or widen it.
    """
    a, b, m, s = 4.0, -0.5, 0.5, 0.4
    prec = 1 / s**2 + a
    m_star, s_star = (m / s**2 + a * b) / prec, math.sqrt(1 / prec)  # 0.110, 0.312
    cost = lambda x0: 0.5 * a * (x0[:, 0] - b) ** 2  # noqa: E731
    guided, sampler = _sample(GAUSS, cost, n=1000, window=1.0, variant=variant, lookahead=lookahead,
                              candidates=32, temperature=1.0, seed=5)
    assert abs(guided.mean() - m_star) < 0.04, (guided.mean(), m_star)
    assert abs(guided.std() - s_star) < 0.04, (guided.std(), s_star)
    if variant == "amortized":
        assert sampler.stats.refreshed_rows < 0.5 * 1000 * sampler.stats.guided_steps  # chains were mostly reused


@pytest.mark.parametrize("spread", [0.0, 1.0])
def test_correction_weights_turn_reused_candidates_into_draws_around_the_actual_state(spread):
    """Stored candidates y_m ~ N(μ_m, σ²) were drawn around means 1σ off the actual μ̄ (and spread around
    that); weighted by ρ they must have the moments of N(μ̄, σ²), the kernel the fresh ones come from."""
    gen = torch.Generator().manual_seed(10)
    b, m, sigma, mu_bar = 1, 4000, 0.2, 0.3
    mu_m = mu_bar + sigma * (1.0 + spread * torch.randn(b, m, 1, dtype=torch.float64, generator=gen))
    y = mu_m + sigma * torch.randn(b, m, 1, dtype=torch.float64, generator=gen)
    mu = torch.full((b, 1), mu_bar, dtype=torch.float64)
    w = torch.softmax(GuidedSampler._correction(y, mu, mu_m, sigma), dim=1)[0]
    mean = float((w * y[0, :, 0]).sum())
    std = float((w * (y[0, :, 0] - mean) ** 2).sum().sqrt())
    assert abs(mean - mu_bar) < 0.05 * sigma, mean
    assert abs(std - sigma) < 0.05 * sigma, std
    assert abs(float(y.mean()) - mu_bar) > 0.9 * sigma  # unweighted they are not


@pytest.mark.parametrize("variant", ["amortized", "resample", "complete"])
def test_a_cost_preferring_one_mode_moves_the_samples_there(variant):
    plain, _ = _sample(TWO_MODES, ZERO_COST, n=1000, window=0.0, seed=7)
    prefer_left = lambda x0: 10.0 * torch.relu(x0[:, 0])  # noqa: E731
    guided, _ = _sample(TWO_MODES, prefer_left, n=1000, variant=variant, candidates=8, lookahead=4, seed=8)
    assert 0.4 < (plain < 0).mean() < 0.6
    assert (guided < 0).mean() > 0.9


def test_counts_network_and_cost_calls():
    _, amortized = _sample(GAUSS, ZERO_COST, n=10, window=0.6, candidates=4, lookahead=4, seed=9)
    _, resample = _sample(GAUSS, ZERO_COST, n=10, window=0.6, candidates=4, lookahead=4, variant="resample", seed=9)
    # resampling pays (K+1)·M network calls per guided step, the amortized look-ahead M between refreshes
    # (every K reuses): 2.8× fewer here, counting only the calls beyond the T·n that both make
    base = T * 10
    assert resample.stats.network_calls - base > 2.5 * (amortized.stats.network_calls - base)
    assert resample.stats.cost_calls == 10 * 4 * resample.stats.guided_steps == 2400
    assert amortized.stats.cost_calls >= resample.stats.cost_calls  # grasps with stale chains score twice


@pytest.mark.parametrize("bad", [{"variant": "greedy"}, {"candidates": 0}, {"temperature": -1.0},
                                 {"temperature": float("nan")}, {"window": 1.5}, {"lookahead": -1}])
def test_bad_configuration_is_refused(bad):
    with pytest.raises(ValueError):
        GuidanceConfig(**bad)


class _PerRowEps:
    """The same exact ε̂, taking a level per row: the sampler may then fold a step's calls into one."""

    per_row_steps = True

    def __init__(self, make, schedule: Schedule) -> None:
        self.eps = make(schedule)

    def __call__(self, x: torch.Tensor, t) -> torch.Tensor:
        if not isinstance(t, torch.Tensor):
            return self.eps(x, t)
        out = torch.empty_like(x)
        for level in t.unique().tolist():
            rows = t == level
            out[rows] = self.eps(x[rows], int(level))
        return out


def test_one_network_call_per_reused_step_keeps_the_distribution():
    """Folding the chains' extension into the step's own call: still the model's samples, fewer calls."""
    from scipy.stats import ks_2samp

    plain, _ = _sample(GAUSS, ZERO_COST, window=0.0, seed=1)
    cfg = dict(window=1.0, variant="amortized", candidates=8, lookahead=3)
    folded, f_sampler = _sample(lambda sch: _PerRowEps(GAUSS, sch), ZERO_COST, seed=2, **cfg)
    _, s_sampler = _sample(GAUSS, ZERO_COST, seed=2, **cfg)
    assert ks_2samp(plain, folded).pvalue > 0.01
    assert abs(folded.mean() - plain.mean()) < 0.03 and abs(folded.std() - plain.std()) < 0.03
    assert f_sampler.stats.network_batches < 0.85 * s_sampler.stats.network_batches
