"""Small numpy rotation helpers shared by the converter, the pybullet wrapper and the tests.

The project's convention is quaternions in **wxyz** order; pybullet uses xyzw. Keeping the
conversions here (and nowhere else) is what stops the two orders from leaking into each other.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def wxyz_to_xyzw(q: Sequence[float]) -> tuple[float, float, float, float]:
    w, x, y, z = (float(v) for v in q)
    return (x, y, z, w)


def xyzw_to_wxyz(q: Sequence[float]) -> np.ndarray:
    x, y, z, w = (float(v) for v in q)
    return np.array([w, x, y, z])


def normalize_quat(q: Sequence[float]) -> np.ndarray:
    """Unit quaternion; MuJoCo silently normalises its (often 3-digit) quaternions, so must we."""
    q = np.asarray(q, dtype=float)
    n = np.linalg.norm(q)
    if not np.isfinite(n) or n < 1e-12:
        raise ValueError(f"degenerate quaternion {q.tolist()}")
    return q / n


def quat_wxyz_to_matrix(q: Sequence[float]) -> np.ndarray:
    w, x, y, z = normalize_quat(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quat_wxyz(m: np.ndarray) -> np.ndarray:
    """Rotation matrix → unit quaternion with w >= 0 (Shepperd's method, stable for all angles)."""
    m = np.asarray(m, dtype=float)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = normalize_quat(q)
    return -q if q[0] < 0 else q


def matrices_to_quats_wxyz(rot: np.ndarray) -> np.ndarray:
    """Rotation matrices [N, 3, 3] -> unit quaternions [N, 4] (wxyz, w >= 0): the batched
    :func:`matrix_to_quat_wxyz` (Shepperd's method) for samplers and decoders."""
    rot = np.asarray(rot, float).reshape(-1, 3, 3)
    m = rot
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cands = np.stack([
        np.stack([1 + tr, m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]], 1),
        np.stack([m[:, 2, 1] - m[:, 1, 2], 1 + 2 * m[:, 0, 0] - tr, m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0]], 1),
        np.stack([m[:, 0, 2] - m[:, 2, 0], m[:, 0, 1] + m[:, 1, 0], 1 + 2 * m[:, 1, 1] - tr, m[:, 1, 2] + m[:, 2, 1]], 1),
        np.stack([m[:, 1, 0] - m[:, 0, 1], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1], 1 + 2 * m[:, 2, 2] - tr], 1),
    ], 1)  # [N, 4 candidates, 4]; the one with the largest diagonal term is well conditioned
    pick = np.argmax(np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], 1), axis=1)
    q = cands[np.arange(len(m)), pick]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)


def axis_angle_to_matrix(axis: Sequence[float], angle: float) -> np.ndarray:
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def rot_x(a: float) -> np.ndarray:
    return axis_angle_to_matrix((1, 0, 0), a)


def rot_y(a: float) -> np.ndarray:
    return axis_angle_to_matrix((0, 1, 0), a)


def rot_z(a: float) -> np.ndarray:
    return axis_angle_to_matrix((0, 0, 1), a)


def rpy_to_matrix(rpy: Sequence[float]) -> np.ndarray:
    """URDF convention: fixed-axis roll about x, then pitch about y, then yaw about z."""
    r, p, y = (float(v) for v in rpy)
    return rot_z(y) @ rot_y(p) @ rot_x(r)


def matrix_to_rpy(m: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rpy_to_matrix`; at gimbal lock roll is folded into yaw."""
    m = np.asarray(m, dtype=float)
    pitch = np.arctan2(-m[2, 0], np.hypot(m[0, 0], m[1, 0]))
    if np.hypot(m[0, 0], m[1, 0]) < 1e-9:
        return np.array([0.0, pitch, np.arctan2(-m[0, 1], m[1, 1])])
    return np.array([np.arctan2(m[2, 1], m[2, 2]), pitch, np.arctan2(m[1, 0], m[0, 0])])


def make_transform(pos: Sequence[float], rot: np.ndarray | None = None) -> np.ndarray:
    t = np.eye(4)
    if rot is not None:
        t[:3, :3] = rot
    t[:3, 3] = np.asarray(pos, dtype=float)
    return t


def pose_to_matrix(pos: Sequence[float], quat_wxyz: Sequence[float]) -> np.ndarray:
    return make_transform(pos, quat_wxyz_to_matrix(quat_wxyz))
