"""The pybullet world every scene starts from: one place for the physics constants.

Tasks, tests and pictures call :func:`connect`, so timestep, solver settings and the
table are the same everywhere.
"""

from __future__ import annotations

import os
import sys


def _import_pybullet_quietly():
    """Import pybullet without its ``pybullet build time: ...`` line.

    pybullet's C code writes that line to stderr when the module loads, so every process of ours (CLI,
    env workers, evaluation pools) would print it. fd 2 points at /dev/null for the import alone; an
    import error is still raised as a Python exception and shown. Every module of ours takes pybullet
    from here (``from dextog_gym.physics import pybullet``).
    """
    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to keep clean
        import pybullet

        return pybullet
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import pybullet
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return pybullet


pybullet = _import_pybullet_quietly()
p = pybullet

# 240 Hz is Bullet's default and fine enough for fingertip contacts on 100–300 g objects.
PHYSICS_HZ = 240
TIMESTEP = 1.0 / PHYSICS_HZ
# Solver iterations are the main cost knob (~700 µs per step with a hand and a bottle);
# 50 keeps stacked convex parts and spring motors from jittering.
SOLVER_ITERATIONS = 50
GRAVITY = -9.81
TABLE_FRICTION = 1.0


class DisplayNotAvailableError(RuntimeError):
    """The pybullet GUI was asked for where there is no display to open it on."""


def require_display() -> None:
    """Fail clearly before pybullet's GUI would: with no X display it kills the whole process."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise DisplayNotAvailableError(
            "render_mode='human' opens the pybullet GUI, which needs an X display, and DISPLAY is not set. "
            "Use render_mode='rgb_array' (headless, e.g. with gymnasium.wrappers.RecordVideo), or run under a "
            "virtual display: xvfb-run -a python your_script.py")


def connect(gui: bool = False, table: bool = True) -> int:
    """Start a pybullet client with gravity, our timestep and (optionally) a table plane at z = 0."""
    if gui:
        require_display()
    client = p.connect(p.GUI if gui else p.DIRECT)
    reset_world(client, table)
    return client


def reset_world(client: int, table: bool = True) -> None:
    """Empty the client's world (every body, constraint, contact cache) and apply our settings."""
    p.resetSimulation(physicsClientId=client)
    p.setGravity(0.0, 0.0, GRAVITY, physicsClientId=client)
    p.setPhysicsEngineParameter(
        fixedTimeStep=TIMESTEP,
        numSolverIterations=SOLVER_ITERATIONS,
        deterministicOverlappingPairs=1,
        physicsClientId=client,
    )
    if table:
        add_table(client)


def add_table(client: int) -> int:
    """An infinite static plane at z = 0 (the table top)."""
    shape = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=client)
    # Planes have no visual in Bullet: a thin wide box stands in for the table top.
    visual = p.createVisualShape(p.GEOM_BOX, halfExtents=[2.0, 2.0, 0.0005], visualFramePosition=[0, 0, -0.0005],
                                 rgbaColor=[0.82, 0.78, 0.7, 1.0], physicsClientId=client)
    body = p.createMultiBody(0.0, shape, visual, physicsClientId=client)
    p.changeDynamics(body, -1, lateralFriction=TABLE_FRICTION, physicsClientId=client)
    return body


def disconnect(client: int) -> None:
    if p.isConnected(client):
        p.disconnect(client)
