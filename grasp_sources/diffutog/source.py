"""``diffutog``: grasps sampled from the DiffuTOG model for an object and a task sentence.

``sample(obj, task, n, rng, text=...)`` embeds the sentence (the task's canonical description when
none is given; any sentence a user types works, at the cost of loading the encoder once), runs
ancestral DDPM in batches, and by default hands the result to the test-time collision handling.
Every grasp comes back through ``Grasps`` validation like any other source's, with its penetration
before and after in the extras.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import sha256_file
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.paths import diffutog_dir

DEFAULT_BATCH = 256
_models: dict[tuple[str, str], Any] = {}


def shipped_model_path(hand_encoder: bool = True) -> Path:
    """The committed model (``assets/diffutog/``); ``hand_encoder=False`` gives the Table III ablation."""
    return diffutog_dir() / ("diffutog" if hand_encoder else "diffutog_no_hand_encoder")


def _load(path: Path, device: str):
    from dextog_gym.grasp_sources.diffutog.checkpoint import load_denoiser, model_paths

    npz, _ = model_paths(path)
    key = (str(npz.resolve()), device)
    if key not in _models:
        model, doc = load_denoiser(path, device)
        digest = sha256_file(npz)
        _models[key] = (model, doc, digest)
    return _models[key]


def resolve_device(device: str) -> str:
    """``"auto"``: CUDA when present, else the CPU; any other name as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class SampleSetup:
    """One ``sample`` call's inputs to a DiffuTOG model, the same for every source that samples from one."""

    sentence: str
    device: str
    model_path: Path
    model: Any  # network.Denoiser
    doc: dict[str, Any]  # the model file's JSON
    digest: str  # the model file's sha256
    text: Any  # the sentence's embedding, [1, 384] on ``device``
    cloud: Any  # the object's point cloud, [1, P, 3] on ``device``
    seed: int  # drawn from the caller's rng: the one number that reproduces the call
    gen: Any  # torch generator on ``device`` seeded with ``seed``

    def provenance(self, source: str) -> dict[str, Any]:
        """The provenance fields every DiffuTOG-model source starts with (the rest are its own)."""
        return {"source": source, "version": 1, "seed": self.seed, "text": self.sentence, "model": self.model_path.name,
                "model_sha256": self.digest, "model_steps": self.doc.get("steps")}


def prepare_sample(label: str, model_path: Path, device: str, default_text: str | None, obj: ObjectAsset, task: str,
                   n: int, rng: np.random.Generator, text: str | None) -> SampleSetup:
    """Check the request, then load the model and embed the sentence and the object for ``sample``.

    The sentence is ``text``, else the source's ``default_text``, else the task's canonical one. One
    seed is drawn from ``rng`` and seeds a torch generator, so a call's grasps depend on ``rng`` alone.
    ``label`` names the source in errors (a grasp for another task cannot be evaluated on the object).
    """
    import torch

    from dextog_gym.grasp_sources.diffutog.dataset import object_cloud
    from dextog_gym.grasp_sources.diffutog.language import canonical_sentence, check_text
    from dextog_gym.grasp_sources.diffutog.text_encoder import TextEncoder

    if task != obj.category:
        raise ValueError(f"object {obj.id} is a {obj.category}; {label} grasps for task {task!r} cannot be "
                         f"evaluated on it")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    sentence = check_text(text) if text is not None else (default_text or canonical_sentence(task))
    device = resolve_device(device)
    model, doc, digest = _load(model_path, device)
    emb = torch.as_tensor(TextEncoder().embed([sentence]), device=device)
    cloud = torch.as_tensor(object_cloud(obj), device=device)[None]
    seed = int(rng.integers(2**63 - 1))
    gen = torch.Generator(device=device).manual_seed(seed)
    return SampleSetup(sentence, device, model_path, model, doc, digest, emb, cloud, seed, gen)


class DiffuTogSource:
    name = "diffutog"

    def __init__(self, model: str | os.PathLike | None = None, collision_handling: bool = True,
                 collision_steps: int | None = None, hand_encoder: bool = True, batch: int = DEFAULT_BATCH,
                 device: str = "auto", text: str | None = None, contact_keeping: bool = True) -> None:
        """``model``: a model file (default: the shipped one; ``hand_encoder=False`` picks the shipped
        ablation model). ``text``: a default sentence for every ``sample`` call. ``contact_keeping``:
        the collision handling holds pads that start near the surface on it (collision.py)."""
        from dextog_gym.grasp_sources.diffutog.language import check_text

        self.model_path = Path(model) if model is not None else shipped_model_path(hand_encoder)
        if not isinstance(collision_handling, bool):
            raise ValueError(f"collision_handling must be true or false, got {collision_handling!r}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        if not isinstance(contact_keeping, bool):
            raise ValueError(f"contact_keeping must be true or false, got {contact_keeping!r}")
        self.collision_handling = collision_handling
        self.contact_keeping = contact_keeping
        self.collision_steps = collision_steps
        self.batch = int(batch)
        self.device = device
        self.text = check_text(text) if text is not None else None
        self.last_stats: dict[str, Any] = {}
        # The shipped sets were made by the shipped model with these defaults; other settings sample live.
        self.serves_shipped = (model is None and hand_encoder and collision_handling and collision_steps is None
                               and text is None and contact_keeping)

    def fixed_grasps(self, obj: ObjectAsset, task: str) -> tuple[Grasps, str] | None:
        """The object's shipped set (made by the shipped model, collision handling on) in file order.

        None for objects without one, or when this source was made with other options: those sample live.
        """
        if not self.serves_shipped:
            return None
        from dextog_gym.grasp_sources.shipped import served_shipped

        return served_shipped(self.name, "DiffuTOG", obj, task)

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator, text: str | None = None) -> Grasps:
        import torch

        from dextog_gym.grasp_sources.diffutog.diffusion import (
            CosineSchedule,
            ancestral_sample,
        )
        from dextog_gym.grasp_sources.diffutog.representation import decode_numpy

        setup = prepare_sample("DiffuTOG", self.model_path, self.device, self.text, obj, task, n, rng, text)
        model, device = setup.model, setup.device
        schedule = CosineSchedule(model.config.timesteps)
        t0 = time.perf_counter()
        xs = []
        with torch.no_grad():
            feat = model.encode_object(setup.cloud)
            for start in range(0, n, self.batch):
                b = min(self.batch, n - start)
                xs.append(ancestral_sample(model, schedule, setup.text.expand(b, -1), feat.expand(b, -1),
                                           setup.gen).cpu().numpy())
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t_sample = time.perf_counter() - t0
        x = np.concatenate(xs) if xs else np.zeros((0, 33), np.float32)
        positions, quats, joints = decode_numpy(x)
        extras: dict[str, np.ndarray] = {}
        t_coll = 0.0
        stats: dict[str, Any] = {"pen_before_cm": float("nan"), "pen_after_cm": float("nan")}
        if self.collision_handling and n:
            from dextog_gym.hand.transforms import matrices_to_quats_wxyz

            res, t_coll = self._handle_collisions(obj, positions, quats, joints, device)
            positions, joints, quats = res.trans, res.joints, matrices_to_quats_wxyz(res.rot)
            extras = {"pen_before_cm": 100 * res.pen_before_m, "pen_after_cm": 100 * res.pen_after_m,
                      "pads_kept": res.pads_kept.astype(np.int8)}
            stats = {"pen_before_cm": float(extras["pen_before_cm"].mean()),
                     "pen_after_cm": float(extras["pen_after_cm"].mean()), "collision_steps_run": res.steps_run}
        self.last_stats = {"text": setup.sentence, "n": n, "device": device,
                           "ms_per_grasp_sample": 1000 * t_sample / max(n, 1),
                           "ms_per_grasp_collision": 1000 * t_coll / max(n, 1), **stats}
        provenance = {**setup.provenance(self.name), "collision_handling": self.collision_handling,
                      "hand_encoder": model.config.hand_encoder,
                      "contact_keeping": self.collision_handling and self.contact_keeping}
        if self.collision_handling:
            from dextog_gym.grasp_sources.diffutog.collision import DEFAULT

            provenance["handling"] = DEFAULT.to_json()
        return Grasps.from_arrays(obj.id, task, positions, quats, joints, extras, provenance)

    def _handle_collisions(self, obj: ObjectAsset, positions: np.ndarray, quats: np.ndarray, joints: np.ndarray,
                           device: str):
        """The test-time collision handling of the decoded grasps: (its result, the seconds it took)."""
        from dextog_gym.grasp_sources.diffutog.collision import (
            STEPS,
            resolve_collisions,
        )
        from dextog_gym.hand.transforms import quat_wxyz_to_matrix
        from dextog_gym.objects.shape import object_shape

        t1 = time.perf_counter()
        rot = np.stack([quat_wxyz_to_matrix(q) for q in quats])
        res = resolve_collisions(object_shape(obj), rot, positions, joints,
                                 steps=self.collision_steps if self.collision_steps is not None else STEPS,
                                 contact_keeping=self.contact_keeping, device=device)
        return res, time.perf_counter() - t1
