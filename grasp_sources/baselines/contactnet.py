"""GraspTTA's ContactNet: the contact map a good grasp of this object would make, given a hand.

Contact map (GraspTTA's normalisation): c(o) = 1 − 2(σ(100 · d(o)) − 0.5) at each object point o,
d the distance from o to the hand's collision geometry in metres (``HandBatch.hand_sdf``, the
penetration metric's own φ_H; 0 inside). 1 on contact, 0.46 at 1 cm, ~0 beyond 5 cm.

The network is a PointNet segmentation head over object ∪ hand points (a 4th channel tells them
apart): per-object-point features + the pooled feature of both clouds -> c(o). GraspTTA trains it
on dataset grasps; we train it on dataset grasps *perturbed* in the grasp vector (σ up to
``MAX_NOISE``) with the unperturbed grasp's map as target, so that at test time, where its input is
a generated hand, it predicts the map the nearby good grasp would make: that target is what the
test-time adaptation pulls the hand's own map toward.
"""

from __future__ import annotations

import torch
from torch import nn

from dextog_gym.grasp_sources.baselines.conditioning import init_linear
from dextog_gym.grasp_sources.baselines.config import BaselineConfig
from dextog_gym.grasp_sources.diffutog.network import _mlp
from dextog_gym.grasp_sources.diffutog.representation import POS_SCALE_M, HandCloud

MAX_NOISE = 0.1  # in grasp-vector units: 2.5 cm of wrist, ~4° of each joint, ~6° of wrist rotation
CONTACT_SHARPNESS = 100.0  # per metre (GraspTTA)


def contact_map(cloud: HandCloud, x: torch.Tensor, object_points: torch.Tensor) -> torch.Tensor:
    """c(o) [B, P] of grasps x [B, 33] at object points [B, P, 3] (scaled units)."""
    frames = cloud.frames(x)
    phi = cloud.hand.hand_sdf(frames, object_points * POS_SCALE_M)  # > 0 inside the hand
    d = torch.relu(-phi)
    return 1 - 2 * (torch.sigmoid(CONTACT_SHARPNESS * d) - 0.5)


class ContactNet(nn.Module):
    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        c = config.point_channels
        self.local = _mlp([4, c[0], c[1]])
        self.glob = _mlp([c[1], c[-1]])
        self.head = _mlp([c[1] + c[-1], 128, 64, 1], last_act=False)
        init_linear(self)
        self.cloud = HandCloud(config.hand_points)

    def forward(self, object_points: torch.Tensor, hand_points: torch.Tensor) -> torch.Tensor:
        """Predicted contact map [B, P] in [0, 1] from object [B, P, 3] and hand [B, H, 3] clouds."""
        flag = lambda p, v: torch.cat([p, torch.full_like(p[..., :1], v)], dim=-1)
        f_obj, f_hand = self.local(flag(object_points, 1.0)), self.local(flag(hand_points, 0.0))
        pooled = torch.maximum(self.glob(f_obj).amax(1), self.glob(f_hand).amax(1))
        feats = torch.cat([f_obj, pooled[:, None].expand(-1, f_obj.shape[1], -1)], dim=-1)
        return torch.sigmoid(self.head(feats).squeeze(-1))

    def loss(self, batch: dict[str, torch.Tensor], progress: float,
             gen: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["x"]
        obj = batch["clouds"][batch["slot"]]
        with torch.no_grad():
            target = contact_map(self.cloud, x, obj)
            sigma = MAX_NOISE * torch.rand(len(x), 1, device=x.device, generator=gen)
            noisy = x + sigma * torch.randn(x.shape, device=x.device, generator=gen)
            hand = self.cloud(noisy)
        pred = self(obj, hand)
        loss = ((pred - target) ** 2).mean()
        return loss, {"loss": loss.item(), "target_mean": target.mean().item()}
