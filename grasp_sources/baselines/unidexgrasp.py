"""UniDexGrasp* (Xu et al. 2023) generation: wrist rotation from an IPDF, the rest from a conditional flow.

* **IPDF** (Murphy et al. 2021): an MLP scores (condition, rotation) pairs; p(R | c) is the softmax of
  the scores over SO(3). Training: the true rotation among ``QUERIES`` uniform random ones, cross-
  entropy on the true one (the query set is shared by the batch, so each query's embedding is
  computed once). Sampling: scores on ``GRID`` fresh uniform rotations, one drawn by its softmax
  weight, then turned by a small random rotation within the grid's spacing.
* **Flow**: p(wrist translation, joints | c, R), 27-D, context = [c, 6-D of R]. During training a
  little Gaussian noise (``DEQUANT``) spreads joints that sit on a limit (exactly ±1), where a flow's
  density would otherwise collapse onto a point.
* The condition c is the object cloud + sentence (``ConditionEncoder``), one encoder per head as in
  UniDexGrasp, which trains the two stages separately.
The contact-based test-time step follows in ``tta.py``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dextog_gym.grasp_sources.baselines.conditioning import ConditionEncoder, init_linear
from dextog_gym.grasp_sources.baselines.config import BaselineConfig
from dextog_gym.grasp_sources.baselines.flows import make_flow
from dextog_gym.grasp_sources.diffutog.network import _mlp
from dextog_gym.grasp_sources.diffutog.representation import GRASP_DIM

# Training queries per step and score-MLP width: IPDF uses 4,096 and 256 on a GPU; 512 and 128 train at
# ~0.1 s per batch of 64 on one CPU core (1,024 and 256 took 1.2 s).
QUERIES = 512
WIDTH = 128
GRID = 8192
DEQUANT = 0.01


def random_rotations(n: int, device, gen: torch.Generator | None = None) -> torch.Tensor:
    """n rotations [n, 3, 3] uniform on SO(3) (normalised Gaussian quaternions)."""
    q = torch.randn(n, 4, device=device, generator=gen)
    q = q / q.norm(dim=1, keepdim=True)
    w, x, y, z = q.unbind(1)
    return torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], 1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], 1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1)], 1)


def six_d(rot: torch.Tensor) -> torch.Tensor:
    """The grasp vector's rotation part [.., 6]: the first two columns of R."""
    return torch.cat([rot[..., :, 0], rot[..., :, 1]], dim=-1)


def rotation_from_six_d(x6: torch.Tensor) -> torch.Tensor:
    b1 = x6[:, 0:3] / (x6[:, 0:3].norm(dim=1, keepdim=True) + 1e-8)
    r2 = x6[:, 3:6] - (b1 * x6[:, 3:6]).sum(1, keepdim=True) * b1
    b2 = r2 / (r2.norm(dim=1, keepdim=True) + 1e-8)
    return torch.stack([b1, b2, torch.cross(b1, b2, dim=1)], dim=2)


class IPDF(nn.Module):
    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.freqs = config.ipdf_frequencies
        self.cond = ConditionEncoder(config)
        width = WIDTH
        self.cond_proj = nn.Linear(self.cond.dim, width)
        self.rot_proj = nn.Linear(9 * 2 * self.freqs, width, bias=False)
        self.score = _mlp([width, width, width, 1], last_act=False)
        init_linear(self)

    def embed_rotations(self, rot: torch.Tensor) -> torch.Tensor:
        """IPDF's positional encoding of the 9 matrix entries at ``freqs`` octaves -> [.., width]."""
        flat = rot.reshape(*rot.shape[:-2], 9)
        k = (2.0 ** torch.arange(self.freqs, device=rot.device)) * math.pi
        ang = flat[..., None] * k
        return self.rot_proj(torch.cat([ang.sin(), ang.cos()], dim=-1).reshape(*flat.shape[:-1], -1))

    def scores(self, c: torch.Tensor, rot_emb: torch.Tensor) -> torch.Tensor:
        """[B, Q] logits for conditions c [B, 2h] and rotation embeddings [B or 1, Q, width]."""
        return self.score(torch.relu(self.cond_proj(c)[:, None] + rot_emb)).squeeze(-1)

    def loss(self, c: torch.Tensor, rot_true: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        queries = random_rotations(QUERIES, c.device, gen)
        emb_q = self.embed_rotations(queries)[None].expand(len(c), -1, -1)
        emb_t = self.embed_rotations(rot_true)[:, None]
        logits = self.scores(c, torch.cat([emb_t, emb_q], dim=1))
        return -torch.log_softmax(logits, dim=1)[:, 0].mean() - math.log(QUERIES + 1)  # + log volume ratio

    @torch.no_grad()
    def sample(self, c: torch.Tensor, n: int, gen: torch.Generator | None) -> torch.Tensor:
        """n rotations [n, 3, 3] for one condition c [1, 2h] (one object, one sentence)."""
        from dextog_gym.grasp_sources.isf.rotations import skew

        grid = random_rotations(GRID, c.device, gen)
        p = torch.softmax(self.scores(c, self.embed_rotations(grid)[None])[0], dim=0)
        rot = grid[torch.multinomial(p, n, replacement=True, generator=gen)]
        # Jitter within the grid's spacing: ~ (8π² / GRID)^(1/3) rad between neighbours.
        spacing = (8 * math.pi**2 / GRID) ** (1 / 3)
        w = 0.5 * spacing * torch.randn(n, 3, device=c.device, generator=gen) / math.sqrt(3)
        return rot @ torch.linalg.matrix_exp(skew(w))


class UniDexGraspModel(nn.Module):
    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        self.ipdf = IPDF(config)
        self.flow_cond = ConditionEncoder(config)
        init_linear(self.flow_cond)
        self.flow = make_flow(config.flow, GRASP_DIM - 6, self.flow_cond.dim + 6, config.flow_transforms,
                              config.flow_hidden)

    def loss(self, batch: dict[str, torch.Tensor], progress: float,
             gen: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["x"]
        rot = rotation_from_six_d(x[:, :6])
        nll_rot = self.ipdf.loss(self.ipdf.cond(batch["clouds"], batch["slot"], batch["text"]), rot, gen)
        c = self.flow_cond(batch["clouds"], batch["slot"], batch["text"])
        y = x[:, 6:] + DEQUANT * torch.randn(x[:, 6:].shape, device=x.device, generator=gen)
        nll_rest = -self.flow.log_prob(y, torch.cat([c, six_d(rot)], dim=1)).mean()
        loss = nll_rot + nll_rest
        return loss, {"loss": loss.item(), "nll_rotation": nll_rot.item(), "nll_rest": nll_rest.item()}

    @torch.no_grad()
    def sample(self, cloud: torch.Tensor, text: torch.Tensor, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
        one = torch.zeros(1, dtype=torch.long, device=cloud.device)
        rot = self.ipdf.sample(self.ipdf.cond(cloud[None], one, text[None]), n, gen)
        c = self.flow_cond(cloud[None], one, text[None]).expand(n, -1)
        rest = self.flow.sample(torch.cat([c, six_d(rot)], dim=1), gen)
        return torch.cat([six_d(rot), rest], dim=1)
