"""What every baseline is conditioned on: the object's cloud and a sentence, as 2h features.

The object encoder is DiffuTOG's PointNet (shared per-point MLP + max-pool, no BatchNorm) on the
object's fixed 512-point cloud; the text goes through an MLP from its 384-D sentence embedding.
Same inputs and sizes as DiffuTOG's, so differences between methods are the methods'.
"""

from __future__ import annotations

import torch
from torch import nn

from dextog_gym.grasp_sources.baselines.config import BaselineConfig
from dextog_gym.grasp_sources.diffutog.network import PointEncoder, _mlp


class ConditionEncoder(nn.Module):
    """(object cloud [K, P, 3] scaled, slot [B], text [B, 384]) -> condition [B, 2h]."""

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        h = config.hidden
        self.points = PointEncoder(config.point_channels, h)
        self.text = _mlp([config.text_dim, 2 * h, h], last_act=False)
        self.dim = 2 * h

    def object_features(self, clouds: torch.Tensor) -> torch.Tensor:
        """[K, h] per distinct object (encoded once per batch or per sampled object)."""
        return self.points.head(self.points.pooled(clouds, 1.0))

    def forward(self, clouds: torch.Tensor, slot: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.object_features(clouds)[slot], self.text(text)], dim=1)


def init_linear(module: nn.Module) -> None:
    """He-uniform weights, zero biases: the ReLU MLPs train from the same start as DiffuTOG's."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def fk_point_loss(cloud, x_pred: torch.Tensor, x_true: torch.Tensor) -> torch.Tensor:
    """DexTOG's FK term: mean squared distance between the hand clouds of two grasp vectors (scaled units)."""
    with torch.no_grad():
        target = cloud(x_true)
    return ((cloud(x_pred) - target) ** 2).sum(-1).mean()
