"""Conditional normalizing flows over the wrist translation and joints (27-D), two implementations.

``zuko``: zuko's neural spline flow (monotone rational-quadratic autoregressive transforms; zuko is a
maintained, pure-PyTorch library). ``coupling``: a RealNVP-style affine coupling flow written here.
``benchmarks/baseline_flows.py`` trains both on the same data and prints held-out NLL and speed side
by side; the shipped UniDexGrasp* uses the one that measured better (docs/baselines.md).
Both expose ``log_prob(y, ctx)`` and ``sample(ctx, gen)`` with noise drawn from ``gen``, so sampling
is seeded whichever is used.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dextog_gym.grasp_sources.diffutog.network import _mlp


class ZukoFlow(nn.Module):
    def __init__(self, features: int, context: int, transforms: int, hidden: int) -> None:
        super().__init__()
        import zuko

        self.features = features
        self.flow = zuko.flows.NSF(features, context=context, transforms=transforms, hidden_features=(hidden, hidden))

    def log_prob(self, y: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        return self.flow(ctx).log_prob(y)

    def sample(self, ctx: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        dist = self.flow(ctx)
        z = torch.randn(len(ctx), self.features, device=ctx.device, generator=gen)
        return dist.transform.inv(z)  # the base is a standard normal: x = T⁻¹(z)


class CouplingFlow(nn.Module):
    """Affine couplings on alternating halves (random fixed permutations between them), tanh-bounded scales."""

    def __init__(self, features: int, context: int, transforms: int, hidden: int) -> None:
        super().__init__()
        self.features = features
        self.half = features // 2
        gen = torch.Generator().manual_seed(0)
        self.register_buffer("perms", torch.stack([torch.randperm(features, generator=gen) for _ in range(transforms)]))
        self.nets = nn.ModuleList(_mlp([self.half + context, hidden, hidden, 2 * (features - self.half)], last_act=False)
                                  for _ in range(transforms))
        for net in self.nets:  # each coupling starts as the identity
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)

    def _params(self, i: int, a: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.nets[i](torch.cat([a, ctx], dim=1)).chunk(2, dim=1)
        return 2.0 * torch.tanh(s / 2.0), t

    def log_prob(self, y: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        logdet = torch.zeros(len(y), device=y.device)
        z = y
        for i, perm in enumerate(self.perms):
            z = z[:, perm]
            a, b = z[:, : self.half], z[:, self.half:]
            s, t = self._params(i, a, ctx)
            z = torch.cat([a, b * s.exp() + t], dim=1)
            logdet = logdet + s.sum(1)
        base = -0.5 * (z**2).sum(1) - 0.5 * self.features * math.log(2 * math.pi)
        return base + logdet

    def sample(self, ctx: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(len(ctx), self.features, device=ctx.device, generator=gen)
        for i in reversed(range(len(self.perms))):
            a, b = z[:, : self.half], z[:, self.half:]
            s, t = self._params(i, a, ctx)
            z = torch.cat([a, (b - t) * (-s).exp()], dim=1)
            z = z[:, torch.argsort(self.perms[i])]
        return z


def make_flow(kind: str, features: int, context: int, transforms: int, hidden: int) -> nn.Module:
    return (ZukoFlow if kind == "zuko" else CouplingFlow)(features, context, transforms, hidden)
