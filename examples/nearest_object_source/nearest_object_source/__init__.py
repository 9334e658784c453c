"""An example grasp source for dextog_gym, packaged as a third party would package theirs.

For an object it has not seen, it finds the known (seen-split) object of the same category whose size is
closest, takes that object's shipped rule grasps, and scales their wrist positions by the ratio of the two
objects' extents. A retrieval baseline in forty lines: what matters here is the protocol —

* a class with a ``name`` and ``sample(obj, task, n, rng) -> Grasps``;
* every random draw from ``rng`` (the evaluator seeds it), nothing read from the network;
* ``Grasps.from_arrays(obj.id, task, positions, quats_wxyz, joints, provenance=...)``: positions and
  wrist orientations in the object's frame, the 24 joint angles inside the hand's limits;
* a ``ValueError`` when it has no grasps for an object (the caller counts that object's grasps as failures).
"""

from __future__ import annotations

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import get_object, list_objects
from dextog_gym.objects.shape import object_shape
from dextog_gym.paths import grasps_dir

__version__ = "0.1.0"


def _extent(obj) -> np.ndarray:
    points = object_shape(obj).points
    return points.max(axis=0) - points.min(axis=0)


class NearestObjectSource:
    name = "nearest_object"

    def __init__(self, library: str = "rule"):
        self.library = library  # which shipped sets to retrieve from

    def sample(self, obj, task: str, n: int, rng: np.random.Generator) -> Grasps:
        if task != obj.category:
            raise ValueError(f"{obj.id} is a {obj.category}; no {task} grasps for it")
        size = _extent(obj)
        known = [k for k in list_objects(obj.category, "seen") if (grasps_dir() / self.library / f"{k}.npz").is_file()]
        if not known:
            raise ValueError(f"no shipped {self.library} grasps for any seen {obj.category}")
        nearest = min(known, key=lambda k: float(np.abs(np.log(_extent(get_object(k)) / size)).sum()))
        library = Grasps.load(grasps_dir() / self.library / f"{nearest}.npz")
        pick = rng.choice(len(library), size=n, replace=n > len(library))
        scale = size / _extent(get_object(nearest))
        return Grasps.from_arrays(obj.id, task, library.positions[pick] * scale, library.quats_wxyz[pick],
                                  library.joints[pick],
                                  provenance={"source": self.name, "version": __version__, "retrieved_from": nearest,
                                              "library": self.library})
