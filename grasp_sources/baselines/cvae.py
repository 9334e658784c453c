"""GraspCVAE (Jiang et al. 2021, the generator inside GraspTTA), conditioned on text instead of grasp type.

Encoder q(z | x, c) and decoder p(x | z, c) are MLPs over the 33-D grasp vector (6-D wrist rotation,
scaled translation, joints on [-1, 1]) and the condition c = [object features, text features].
Loss: parameter MSE + λ_fk · DexTOG's FK point loss + β · KL, β warmed up linearly over the first
``KL_WARMUP`` of training so the decoder learns to use z before the prior pulls it in. Sampling
draws z ~ N(0, I); GraspCVAE has no test-time step (GraspTTA adds one, ``tta.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from dextog_gym.grasp_sources.baselines.conditioning import ConditionEncoder, fk_point_loss, init_linear
from dextog_gym.grasp_sources.baselines.config import BaselineConfig
from dextog_gym.grasp_sources.diffutog.network import _mlp
from dextog_gym.grasp_sources.diffutog.representation import GRASP_DIM, HandCloud

LAMBDA_FK = 1.0
KL_WEIGHT = 0.01  # β on the summed KL, against summed parameter MSE; measured in the note's training run
KL_WARMUP = 0.2


class GraspCVAE(nn.Module):
    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        self.cond = ConditionEncoder(config)
        c, z = self.cond.dim, config.latent
        self.encoder = _mlp([GRASP_DIM + c, 256, 256, 2 * z], last_act=False)
        self.decoder = _mlp([z + c, 256, 256, GRASP_DIM], last_act=False)
        init_linear(self)
        self.cloud = HandCloud(config.hand_points)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, c], dim=1))

    def loss(self, batch: dict[str, torch.Tensor], progress: float,
             gen: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["x"]
        c = self.cond(batch["clouds"], batch["slot"], batch["text"])
        mu, logvar = self.encoder(torch.cat([x, c], dim=1)).chunk(2, dim=1)
        logvar = logvar.clamp(-10, 10)
        eps = torch.randn(mu.shape, device=mu.device, generator=gen)
        x_hat = self.decode(mu + (0.5 * logvar).exp() * eps, c)
        recon = ((x_hat - x) ** 2).sum(1).mean()
        fk = fk_point_loss(self.cloud, x_hat, x)
        kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp())).sum(1).mean()
        beta = KL_WEIGHT * min(1.0, progress / KL_WARMUP)
        loss = recon + LAMBDA_FK * fk + beta * kl
        return loss, {"loss": loss.item(), "recon": recon.item(), "fk": fk.item(), "kl": kl.item()}

    @torch.no_grad()
    def sample(self, cloud: torch.Tensor, text: torch.Tensor, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
        """n grasp vectors [n, 33] for one object cloud [P, 3] and one sentence embedding [384]."""
        c = self.cond(cloud[None], torch.zeros(n, dtype=torch.long, device=cloud.device), text[None].expand(n, -1))
        z = torch.randn(n, self.config.latent, device=cloud.device, generator=gen)
        return self.decode(z, c)
