"""Test-time adaptation (GraspTTA, also UniDexGrasp's contact-based adjustment): make a generated grasp
touch the object the way a good grasp would, without going into it.

Per grasp x (the 33-D grasp vector, optimised directly with Adam), GraspTTA's three losses:

    E = w_c · mean_o (c_x(o) − ĉ(o))²        contact consistency: the hand's own contact map c_x against
                                             ContactNet's prediction ĉ for this hand (a fixed
                                             target, refreshed every 10 steps)
      + w_p · (Σ_h [φ_O(h)]₊ + Σ_o [φ_H(o)]₊)  penetration (cm), the metric's φ_O and φ_H
      + w_t · Σ_f [d(pad_f) − 2 mm]₊           hand contact: fingertip pads that start within 3 cm of the
                                             surface are drawn onto it (cm)

Joints stay inside their limits (clamped after each step). Weights and steps were set on 2 seen
objects per task (``benchmarks/baseline_tta.py``); the figures are in docs/baselines.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from dextog_gym.grasp_sources.diffutog.representation import JOINT_DIMS, HandCloud, TorchDecoder


@dataclass(frozen=True)
class TtaConfig:
    steps: int = 100
    lr: float = 2e-3  # grasp-vector units per step: 0.5 mm of wrist, ~1.5 mrad of a joint
    consistency_weight: float = 10.0
    penetration_weight: float = 1.0
    # Measured (benchmarks/baseline_tta.py, 10 seen objects × 4; Q1 / pen cm / η_f / pads in contact):
    # GraspCVAE samples, 100 steps, weight 1: 0.005 / 0.52 / 72 % / 0.40; 150 steps, weight 2: 0.010 / 0.66 /
    # 72 % / 0.65; 5 cm radius, weight 5, 200 steps: 0.018 / 0.49 / 62 % / 1.32. UniDexGrasp* samples: 100
    # steps, weight 1: 0.034 / 0.76 / 65 %; 150 steps, weight 2: 0.034 / 0.86 / 57 %; the 5 cm, weight 5 row:
    # 0.016 / 1.08 / 50 %. Kept: 100 steps, weight 1 (best η_f on both, at two-thirds of the time).
    contact_weight: float = 1.0
    contact_radius_m: float = 0.03
    contact_margin_m: float = 0.002
    hand_points: int = 512
    object_points: int = 512
    # ContactNet's prediction is refreshed every this many steps (it moves slowly with the hand; a
    # forward pass over 768 points per grasp was a third of each step's time).
    refresh_every: int = 10

    def to_json(self) -> dict:
        return asdict(self)


DEFAULT = TtaConfig()


@dataclass
class TtaResult:
    x: np.ndarray  # [B, 33] adapted grasp vectors
    pen_before_m: np.ndarray
    pen_after_m: np.ndarray
    consistency_before: np.ndarray
    consistency_after: np.ndarray


def adapt(x0: np.ndarray, shape, cloud_scaled: np.ndarray, contactnet, config: TtaConfig = DEFAULT,
          device: str = "cpu") -> TtaResult:
    """Adapt grasp vectors x0 [B, 33] on the object ``shape`` (ObjectShape) whose scaled cloud ContactNet sees."""
    from dextog_gym.grasp_sources.baselines.contactnet import contact_map
    from dextog_gym.metrics.constraints import pad_gap, penetration
    from dextog_gym.metrics.grasp_quality import metric_object_points

    cfg = config
    as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)
    sdf = shape.torch_sdf(dtype=torch.float32, device=device, exact=True)
    obj_metric = as_t(np.asarray(metric_object_points(shape))[: cfg.object_points])[None]
    obj_net = as_t(cloud_scaled)[None]
    hand = HandCloud(cfg.hand_points)
    decode = TorchDecoder(torch.float32, device)
    x = as_t(x0).clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=cfg.lr)

    def predicted(xv: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return contactnet(obj_net.expand(len(xv), -1, -1), contactnet.cloud(xv))

    def terms(xv: torch.Tensor, c_pred: torch.Tensor):
        rot, trans, q = decode(xv)
        hand.frames(xv)  # builds the hand data on first use
        energy, pen, _ = penetration(hand.hand, sdf, obj_metric, rot, trans, q)
        c_hand = contact_map(contactnet.cloud, xv, obj_net.expand(len(xv), -1, -1))
        consistency = ((c_hand - c_pred) ** 2).mean(1)
        gap = pad_gap(hand.hand, sdf, rot, trans, q)  # [B, 5] metres outside the surface
        return energy, pen, consistency, gap

    with torch.no_grad():
        _, pen0, cons0, gap0 = terms(x, predicted(x))
    near = (gap0 < cfg.contact_radius_m).float()
    for step in range(cfg.steps):
        if step % cfg.refresh_every == 0:
            c_pred = predicted(x)
        opt.zero_grad(set_to_none=True)
        energy, _, consistency, gap = terms(x, c_pred)
        pull = (torch.relu(gap - cfg.contact_margin_m) * near).sum(1)
        loss = (cfg.consistency_weight * consistency + cfg.penetration_weight * 100 * energy
                + cfg.contact_weight * 100 * pull)
        loss.sum().backward()
        opt.step()
        with torch.no_grad():
            x[:, JOINT_DIMS] = x[:, JOINT_DIMS].clamp(-1, 1)
            x[:, 6:9] = x[:, 6:9].clamp(-1, 1)
    with torch.no_grad():
        _, pen1, cons1, _ = terms(x, predicted(x))
    host = lambda v: v.detach().cpu().numpy().astype(float)
    return TtaResult(x.detach().cpu().numpy().astype(np.float32), host(pen0), host(pen1), host(cons0), host(cons1))

