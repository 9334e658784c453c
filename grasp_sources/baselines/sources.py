"""The baselines as grasp sources: ``cvae`` (GraspCVAE), ``grasptta`` (GraspTTA*), ``unidexgrasp`` (UniDexGrasp*).

Each samples its model for an object and a sentence (the task's canonical description unless one is
given), GraspTTA* and UniDexGrasp* then run the contact-based test-time adaptation (``tta.py``) with
the shared ContactNet. Like ``diffutog``, a source made with default options serves the object's
shipped set (``assets/grasps/<name>/``, made by these models with these settings) and samples live
for objects without one; every grasp passes ``Grasps`` validation, with penetration before and after
the adaptation in the extras.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import sha256_file
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.paths import baselines_dir

DEFAULT_BATCH = 64
_models: dict[tuple[str, str, str], Any] = {}


def shipped_model_path(kind: str) -> Path:
    """The committed model of ``kind`` (cvae, contactnet, unidexgrasp) under ``assets/baselines/``."""
    return baselines_dir() / kind


def _load(path: Path, kind: str, device: str):
    from dextog_gym.grasp_sources.baselines.models import load_baseline
    from dextog_gym.grasp_sources.diffutog.checkpoint import model_paths

    npz, _ = model_paths(path)
    key = (str(npz.resolve()), kind, device)
    if key not in _models:
        model, doc = load_baseline(path, kind, device)
        _models[key] = (model, doc, sha256_file(npz))
    return _models[key]


class _LearnedBaseline:
    """Shared set-up of the three sources; subclasses name the generator and whether TTA follows."""

    name = ""
    label = ""
    generator_kind = ""
    adapts = False

    def __init__(self, model: str | os.PathLike | None = None, contactnet: str | os.PathLike | None = None,
                 tta: bool = True, tta_steps: int | None = None, batch: int = DEFAULT_BATCH, device: str = "auto",
                 text: str | None = None) -> None:
        """``model``/``contactnet``: model files (default: the shipped ones). ``tta``: run the test-time
        adaptation (GraspTTA*, UniDexGrasp*; GraspCVAE has none). ``text``: a default sentence."""
        from dextog_gym.grasp_sources.diffutog.language import check_text

        if not isinstance(tta, bool):
            raise ValueError(f"tta must be true or false, got {tta!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be an integer >= 1, got {batch!r}")
        if tta_steps is not None and (isinstance(tta_steps, bool) or not isinstance(tta_steps, int) or tta_steps < 0):
            raise ValueError(f"tta_steps must be a non-negative integer, got {tta_steps!r}")
        self.model_path = Path(model) if model is not None else shipped_model_path(self.generator_kind)
        self.contactnet_path = Path(contactnet) if contactnet is not None else shipped_model_path("contactnet")
        self.tta = tta and self.adapts
        self.tta_steps = tta_steps
        self.batch = batch
        self.device = device
        self.text = check_text(text) if text is not None else None
        self.last_stats: dict[str, Any] = {}
        self.serves_shipped = (model is None and contactnet is None and tta and tta_steps is None and text is None)

    def fixed_grasps(self, obj: ObjectAsset, task: str) -> tuple[Grasps, str] | None:
        """The object's shipped set in file order; None without one or with non-default options."""
        if not self.serves_shipped:
            return None
        from dextog_gym.grasp_sources.shipped import served_shipped

        return served_shipped(self.name, self.label, obj, task)

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator, text: str | None = None) -> Grasps:
        import torch

        from dextog_gym.grasp_sources.diffutog.dataset import object_cloud
        from dextog_gym.grasp_sources.diffutog.language import canonical_sentence, check_text
        from dextog_gym.grasp_sources.diffutog.representation import decode_numpy
        from dextog_gym.grasp_sources.diffutog.source import resolve_device
        from dextog_gym.grasp_sources.diffutog.text_encoder import TextEncoder

        if task != obj.category:
            raise ValueError(f"object {obj.id} is a {obj.category}; {self.label} grasps for task {task!r} cannot be "
                             f"evaluated on it")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        sentence = check_text(text) if text is not None else (self.text or canonical_sentence(task))
        device = resolve_device(self.device)
        model, doc, digest = _load(self.model_path, self.generator_kind, device)
        cloud_np = object_cloud(obj)
        cloud = torch.as_tensor(cloud_np, device=device)
        emb = torch.as_tensor(TextEncoder().embed([sentence]), device=device)[0]
        seed = int(rng.integers(2**63 - 1))
        gen = torch.Generator(device=device).manual_seed(seed)
        t0 = time.perf_counter()
        parts = [model.sample(cloud, emb, min(self.batch, n - s), gen).cpu().numpy() for s in range(0, n, self.batch)]
        x = np.concatenate(parts) if parts else np.zeros((0, 33), np.float32)
        t_sample = time.perf_counter() - t0
        extras: dict[str, np.ndarray] = {}
        provenance: dict[str, Any] = {"source": self.name, "version": 1, "seed": seed, "text": sentence,
                                      "model": self.model_path.name, "model_sha256": digest, "model_steps": doc.get("steps"),
                                      "tta": self.tta}
        t_tta = 0.0
        if self.tta and n:
            from dextog_gym.grasp_sources.baselines.tta import DEFAULT, adapt
            from dextog_gym.objects.shape import object_shape

            net, net_doc, net_digest = _load(self.contactnet_path, "contactnet", device)
            cfg = DEFAULT if self.tta_steps is None else type(DEFAULT)(**{**DEFAULT.to_json(), "steps": self.tta_steps})
            t1 = time.perf_counter()
            res = adapt(x, object_shape(obj), cloud_np, net, cfg, device=device)
            t_tta = time.perf_counter() - t1
            x = res.x
            extras = {"pen_before_cm": 100 * res.pen_before_m, "pen_after_cm": 100 * res.pen_after_m}
            provenance.update({"contactnet": self.contactnet_path.name, "contactnet_sha256": net_digest,
                               "tta_config": cfg.to_json()})
        positions, quats, joints = decode_numpy(x)
        self.last_stats = {"text": sentence, "n": n, "device": device, "ms_per_grasp_sample": 1000 * t_sample / max(n, 1),
                           "ms_per_grasp_tta": 1000 * t_tta / max(n, 1)}
        return Grasps.from_arrays(obj.id, task, positions, quats, joints, extras, provenance)


class CvaeSource(_LearnedBaseline):
    """GraspCVAE: z ~ N(0, I) through the text-conditioned decoder, no test-time step."""

    name, label, generator_kind, adapts = "cvae", "GraspCVAE", "cvae", False


class GraspTtaSource(_LearnedBaseline):
    """GraspTTA*: GraspCVAE samples, then the contact-consistency test-time adaptation."""

    name, label, generator_kind, adapts = "grasptta", "GraspTTA*", "cvae", True


class UniDexGraspSource(_LearnedBaseline):
    """UniDexGrasp*: IPDF rotation + flow (translation, joints), then the contact-based adaptation."""

    name, label, generator_kind, adapts = "unidexgrasp", "UniDexGrasp*", "unidexgrasp", True
