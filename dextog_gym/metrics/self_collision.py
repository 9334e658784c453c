"""Hand self-collision check with pybullet, on the same capsules and filters the simulator uses.

A grasp whose fingers interpenetrate cannot be executed, and the analytic metrics do not see it.
Asking pybullet (rather than re-deriving capsule–capsule distances) guarantees the check agrees
with what the simulator will do, including which adjacent link pairs are filtered out.
pybullet is imported only when a checker is created.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Sequence

import numpy as np

# Bullet keeps ~1 mm of slack between shapes it considers touching; shallower "contacts" are
# numerical, not a grasp defect.
DEFAULT_TOLERANCE = 0.001


class SelfCollisionChecker:
    """Own DIRECT client with one hand (self-collision on, no table); query joint vectors."""

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE, urdf_path: str | Path | None = None) -> None:
        from dextog_gym.hand.pybullet_hand import ShadowHand
        from dextog_gym.physics import connect, disconnect

        self.tolerance = float(tolerance)
        self.client: int | None = connect(gui=False, table=False)
        try:
            self.hand = ShadowHand.load(self.client, self_collision=True, urdf_path=urdf_path)
        except Exception:
            disconnect(self.client)
            self.client = None
            raise
        self._link_name = {i: n for n, i in self.hand.link_index.items()}

    def contacts(self, q: Sequence[float]) -> list[tuple[str, str, float]]:
        """Link pairs penetrating deeper than ``tolerance`` at joints ``q[24]``: (a, b, depth in m).

        One entry per pair (its deepest contact), names sorted within a pair, deepest pair first.
        """
        from dextog_gym.physics import pybullet as p

        if self.client is None:
            raise RuntimeError("SelfCollisionChecker is closed")
        self.hand.set_joint_positions(np.asarray(q, dtype=float))
        p.performCollisionDetection(physicsClientId=self.client)
        body = self.hand.body
        deepest: dict[tuple[str, str], float] = {}
        for c in p.getContactPoints(body, body, physicsClientId=self.client):
            depth = -float(c[8])  # contactDistance: negative when penetrating
            if depth <= self.tolerance:
                continue
            a, b = sorted((self._link_name[c[3]], self._link_name[c[4]]))
            deepest[(a, b)] = max(depth, deepest.get((a, b), 0.0))
        return sorted(((a, b, d) for (a, b), d in deepest.items()), key=lambda t: -t[2])

    def collides(self, q: Sequence[float]) -> bool:
        """True when any link pair penetrates deeper than ``tolerance``."""
        return bool(self.contacts(q))

    def close(self) -> None:
        from dextog_gym.physics import disconnect

        if self.client is not None:
            disconnect(self.client)
            self.client = None

    def __enter__(self) -> "SelfCollisionChecker":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten close() should not leak a physics server
        try:
            self.close()
        except Exception:
            pass
