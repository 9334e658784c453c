"""One architecture record for the baseline models; a model file stores it and loads only into it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

KINDS = ("cvae", "contactnet", "unidexgrasp")
FORMAT = "dextog-baseline-1"


@dataclass(frozen=True)
class BaselineConfig:
    """Sizes of every baseline model (unused fields are ignored by the kinds that do not need them).

    ``hidden`` is the width of the condition features (object and text, h each); 128 as DiffuTOG's
    small CPU configuration, so the methods compare at one capacity.
    """

    kind: str = "cvae"
    hidden: int = 128
    point_channels: tuple[int, ...] = (64, 128, 256)
    object_points: int = 512
    hand_points: int = 256
    text_dim: int = 384
    # GraspCVAE: latent size (GraspTTA's CVAE: 64; ours is a 33-D grasp, so 16 carries it).
    latent: int = 16
    # UniDexGrasp: rotation-query embedding frequencies (IPDF: 3) and the flow over (wrist, joints).
    ipdf_frequencies: int = 3
    flow: str = "zuko"  # "zuko" (neural spline flow) or "coupling" (our affine coupling flow)
    flow_transforms: int = 4
    flow_hidden: int = 256

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown baseline kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.flow not in ("zuko", "coupling"):
            raise ValueError(f"flow must be 'zuko' or 'coupling', got {self.flow!r}")

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["point_channels"] = list(self.point_channels)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "BaselineConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"baseline config: unknown keys {unknown}")
        doc = dict(doc)
        if "point_channels" in doc:
            doc["point_channels"] = tuple(int(c) for c in doc["point_channels"])
        return cls(**doc)
