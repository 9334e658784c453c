"""``DexTOGEnv``: one task, a Shadow Hand starting from a grasp, the paper's reward.

The five registered ids (``table.py``) are this class with a different ``task``. An episode:
``reset`` draws an object and a grasp (seeded), places the object at rest, the hand at the grasp
and lets contacts settle with the fingers squeezing; ``step`` moves the wrist and joint targets
by the action's deltas (``actions.py``) and runs ``frame_skip`` physics steps at 240 Hz.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np

from dextog_gym.envs import actions, observation
from dextog_gym.envs.grasp_pool import (
    DEFAULT_GRASPS_PER_OBJECT,
    GraspPool,
    resolve_objects,
)
from dextog_gym.envs.reward import (
    READINGS,
    TERM_NAMES,
    RewardWeights,
    completion_condition,
    reward_terms,
)
from dextog_gym.hand.transforms import matrix_to_quat_wxyz, quat_wxyz_to_matrix
from dextog_gym.objects.spec import CATEGORIES
from dextog_gym.physics import PHYSICS_HZ, require_display

# 8 substeps at 240 Hz = 30 Hz control: the DexTOG code's rate class, and ~190 steps/s on one core.
DEFAULT_FRAME_SKIP = 8
MAX_PLACEMENT_TRIES = 50
RENDER_SIZE = (320, 240)


class EnvClosedError(RuntimeError):
    """reset/step/render after close(): the physics client is gone."""


class DexTOGEnv(gym.Env):
    """A Shadow Hand that starts from a grasp and must do one object's task (DexTOG's five tasks).

    **Tasks** (``envs/table.py``): ``DexTOG/Stapler-v1``, ``SprayerPress-v1``, ``SprayerTrigger-v1``,
    ``BottleCap-v1``, ``PenPress-v1``; 100 steps (``TimeLimit``).

    **Action**: ``Box(-1, 1, (30,))`` — wrist translation and rotation deltas and 24 joint-target deltas,
    scaled per joint (``actions.py``); zero holds the grasp. ``frame_skip`` physics steps at 240 Hz each.

    **Observation**: ``Box((94,))`` — normalised joints, palm pose and fingertips relative to the object,
    object pose and velocity, task progress θ, the functional part's position, the starting grasp's joints.

    **Reward**: the paper's Eq. 21 (``reward.py``): task progress, lift, completion, drop penalty; each term
    is in ``info``. **Success** (``info["is_success"]``, latched): Eq. 19 — lifted by ĥ = 10 cm with θ > θ̂ =
    0.6; for the fixed bottle, θ > θ̂ while the hand holds the cap (``objects.spec.GripCheck``).
    ``info["can_succeed"]`` turns False once success can no longer latch (a bottle grasp that does not grip
    the cap at the start), so evaluations may stop early.

    **Starting state**: an object (seeded draw, or ``reset(options={"object_id", "grasp_index"})``) at rest,
    the hand placed at the grasp and the contacts settled; staplers and pens at a random yaw.

    **Arguments**: ``grasp_source`` (a source name or ``.npz``), ``objects`` (seen | unseen | all | ids),
    ``reward`` (paper | dextog_code), ``reward_weights``, ``render_mode`` (None | rgb_array | human),
    ``frame_skip``, ``grasps_per_object``, ``self_collision``, ``allow_import``.

    **Version history** (``table.VERSION_HISTORY``; an old id raises ``gymnasium.error.DeprecatedEnv``):

    * v1: hand joint armature, a stronger wrist constraint and one-sided rigid end stops on the task joint
      (hand and task joints stay inside their limits under contact); BottleCap counts the cap as turned only
      while the hand holds it — at placement at least 2 fingertips touch the cap, and the palm stays within
      2.5 cm of where the grasp put it relative to the cap's axis.
    * v0: the first release.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": PHYSICS_HZ / DEFAULT_FRAME_SKIP}

    def __init__(self, task: str, grasp_source: str = "rule", objects: str | list[str] = "seen",
                 reward: str = "paper", reward_weights: dict[str, float] | None = None,
                 render_mode: str | None = None, frame_skip: int = DEFAULT_FRAME_SKIP,
                 grasps_per_object: int = DEFAULT_GRASPS_PER_OBJECT, self_collision: bool = True,
                 allow_import: bool = False, **unknown: Any):
        if unknown:
            raise TypeError(f"unknown DexTOG env options {sorted(unknown)}; options: grasp_source, objects, reward, "
                            "reward_weights, render_mode, frame_skip, grasps_per_object, self_collision, allow_import")
        if task not in CATEGORIES:
            raise ValueError(f"unknown task {task!r}; tasks: {', '.join(CATEGORIES)}")
        if reward not in READINGS:
            raise ValueError(f"unknown reward {reward!r}; choose one of {', '.join(READINGS)}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unknown render_mode {render_mode!r}; choose None, 'human' or 'rgb_array'")
        if render_mode == "human":
            require_display()  # before the grasp pool is built: fail fast, and never kill the process
        if isinstance(frame_skip, bool) or not isinstance(frame_skip, int) or not 1 <= frame_skip <= 240:
            raise ValueError(f"frame_skip must be an integer in [1, 240], got {frame_skip!r}")
        if isinstance(grasps_per_object, bool) or not isinstance(grasps_per_object, int) or grasps_per_object < 1:
            raise ValueError(f"grasps_per_object must be a positive integer, got {grasps_per_object!r}")
        if not isinstance(self_collision, bool):
            raise ValueError(f"self_collision must be true or false, got {self_collision!r}")
        if not isinstance(grasp_source, str):
            raise ValueError(f"grasp_source must be a source name or a .npz path, got {type(grasp_source).__name__}")
        self.task = task
        self.fixed = CATEGORIES[task].fixed_base
        self.grip = CATEGORIES[task].grip
        self.random_yaw = CATEGORIES[task].random_yaw
        self.reading = reward
        self.weights = RewardWeights.from_mapping(reward_weights)
        self.render_mode = render_mode
        self.frame_skip = frame_skip
        # One rendered frame per env step: video writers (RecordVideo) must play at the control rate.
        self.metadata = {**type(self).metadata, "render_fps": PHYSICS_HZ / frame_skip}
        if not isinstance(allow_import, bool):
            raise ValueError(f"allow_import must be true or false, got {allow_import!r}")
        self.pool = GraspPool.build(task, resolve_objects(task, objects), grasp_source, grasps_per_object,
                                    allow_import=allow_import)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (actions.ACTION_SIZE,), np.float32)
        bound = observation.OBS_BOUND
        self.observation_space = gym.spaces.Box(-bound, bound, (observation.OBS_SIZE,), np.float32)
        from dextog_gym.envs.scene import Scene

        self.scene = Scene(gui=render_mode == "human", self_collision=self_collision)
        self.placement_skips = 0  # grasps skipped because they could not be placed (see scene.Placement)
        self._episode: dict[str, Any] | None = None

    # --- episode ---------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._check_open("reset")
        super().reset(seed=seed)
        options = dict(options or {})
        wanted_object = options.pop("object_id", None)
        wanted_grasp = options.pop("grasp_index", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; known: object_id, grasp_index")
        if wanted_grasp is not None and wanted_object is None:
            raise ValueError("reset option grasp_index needs object_id")
        self._episode = None  # from here on a failed reset leaves nothing to step: no mixed state
        for _ in range(MAX_PLACEMENT_TRIES):
            if wanted_object is None:
                k, i = self.pool.draw(self.np_random)
            else:  # an explicit object (and grasp) draws only what is not given
                k = self.pool.index_of(wanted_object)
                n = len(self.pool.grasps[k])
                i = int(self.np_random.integers(n)) if wanted_grasp is None else int(wanted_grasp)
                if not 0 <= i < n:
                    raise ValueError(f"grasp_index {i} out of range: {wanted_object} has {n} grasps")
            yaw = float(self.np_random.uniform(-np.pi, np.pi)) if self.random_yaw else 0.0
            if self.pool.is_bad(k, i) and wanted_grasp is None:
                continue
            placed = self._place(k, i, yaw)
            if placed is None:
                return self._observation(), self._info(self._zero_terms())
            if wanted_grasp is not None:
                raise RuntimeError(f"grasp {wanted_grasp} of {wanted_object} cannot be placed: {placed}")
        raise RuntimeError(f"no placeable grasp in {MAX_PLACEMENT_TRIES} tries; see the warnings")

    def _place(self, k: int, i: int, yaw: float) -> str | None:
        """Place grasp ``i`` of object ``k``; the failure reason (grasp marked bad) or None."""
        asset, g = self.pool.assets[k], self.pool.grasps[k]
        placed = self.scene.place(asset, g.positions[i], g.quats_wxyz[i], g.joints[i], yaw)
        if not placed.ok:
            self.placement_skips += 1  # distinct grasps found unplaceable
            self.pool.mark_bad(k, i)
            warnings.warn(f"{asset.id} grasp {i} skipped: {placed.reason} "
                          f"({self.placement_skips} skipped so far)", stacklevel=3)
            return placed.reason
        from dextog_gym.envs.scene import RESET_SQUEEZE_RAD
        from dextog_gym.hand.grip import squeeze_targets

        wrist_pos, wrist_quat = self.scene.wrist_pose()
        wrist_rot = quat_wxyz_to_matrix(wrist_quat)
        palm, _ = self.scene.hand_points()
        self.targets = actions.Targets(wrist_pos.copy(), wrist_rot, squeeze_targets(g.joints[i], RESET_SQUEEZE_RAD), wrist_pos.copy(),
                                       wrist_rot.T @ (palm - wrist_pos))
        com, _ = self.scene.object_com()
        gripped = self.grip is None or self.scene.fingertips_on_part() >= self.grip.fingertips
        self._episode = {
            "gripped_at_start": gripped, "palm_axis0": self.scene.palm_about_axis() if self.grip else None,
            "object_id": asset.id, "object_index": k, "grasp_index": i, "grasp_source": self.pool.source_of[k],
            "yaw": yaw, "raised_m": placed.raised_m, "theta0": float(np.clip(self.scene.theta(), 0.0, 1.0)), "height0": float(com[2]),
            "com0": com, "palm0": palm, "grasp_joints": observation.normalise_joints(g.joints[i]),
            "is_success": False, "lift_success": False, "steps": 0,
        }
        return None

    def step(self, action):
        self._check_open("step")
        if self._episode is None:
            raise RuntimeError("call reset() before step() (after a reset that raised, too: no episode is running)")
        a = actions.check_action(action)  # raises before anything changes
        self.targets.apply(a)
        self.scene.drive(self.targets.wrist_pos, matrix_to_quat_wxyz(self.targets.wrist_rot), self.targets.joints,
                         self.frame_skip)
        ep = self._episode
        ep["steps"] += 1
        terms = self._terms()
        reward = float(sum(terms.values()))
        obs = self._observation()
        terminated = False  # the paper's episodes run the full horizon (TimeLimit truncates at 100)
        if self.render_mode == "human":
            self.render()
        return obs, reward, terminated, False, self._info(terms)

    # --- reward and info ---------------------------------------------------------------------------
    def _readings(self) -> tuple[float, float, float]:
        com, _ = self.scene.object_com()
        palm, _ = self.scene.hand_points()
        target = self.scene.functional_point() if self.fixed else com  # the bottle's p_d uses the cap
        # θ is the paper's normalised joint, in [0, 1]. Bullet lets a squeezed light link (a 5 g
        # trigger) pass its end stop, so the raw value can leave the range; it is clipped here.
        theta = float(np.clip(self.scene.theta(), 0.0, 1.0))
        return theta, float(com[2]), float(np.linalg.norm(palm - target))

    def _held(self) -> bool:
        """The fixed object's part is held (CategorySpec.grip): gripped at the start and the palm still there."""
        ep = self._episode
        if self.grip is None:
            return True
        if not ep["gripped_at_start"]:
            return False
        drift = np.abs(self.scene.palm_about_axis() - ep["palm_axis0"])
        return bool(np.all(drift <= self.grip.drift_m))

    def _terms(self) -> dict[str, float]:
        ep = self._episode
        theta, height, dist = self._readings()
        held = self._held()
        terms = reward_terms(theta, ep["theta0"], height, ep["height0"], dist, self.fixed, self.weights, self.reading,
                             held)
        lift = height - ep["height0"]
        ep["is_success"] |= completion_condition(theta, lift, self.fixed, self.weights, self.reading, held)
        ep["lift_success"] |= (not self.fixed) and lift > self.weights.h_pass
        ep["theta"], ep["height"], ep["success_now"] = theta, height, terms["reward_completion"] > 0
        ep["palm_to_object_m"] = dist
        return terms

    def _zero_terms(self) -> dict[str, float]:
        self._terms()
        return dict.fromkeys(TERM_NAMES, 0.0)

    def _info(self, terms: dict[str, float]) -> dict[str, Any]:
        ep = self._episode
        return {**terms, "theta": ep["theta"], "height": ep["height"], "lift": ep["height"] - ep["height0"],
                "palm_to_object_m": ep["palm_to_object_m"],
                # False once success can no longer latch (a fixed object's part not gripped at the start)
                "can_succeed": bool(ep["is_success"] or ep["gripped_at_start"]),
                "is_success": ep["is_success"], "success_now": ep["success_now"], "lift_success": ep["lift_success"],
                "object_id": ep["object_id"], "grasp_index": ep["grasp_index"], "grasp_source": ep["grasp_source"],
                "placement_skips": self.placement_skips}

    def _observation(self) -> np.ndarray:
        ep = self._episode
        scene = self.scene
        palm, pads = scene.hand_points()
        com, _ = scene.object_com()
        linvel, angvel = scene.object_velocity()
        wrist_rot = quat_wxyz_to_matrix(scene.wrist_pose()[1])
        return observation.build_observation(
            joints=scene.joint_positions(), palm=palm, wrist_rot=wrist_rot, pads=pads,
            object_frame=scene.object_frame(), object_com=com, object_com0=ep["com0"],
            object_rot=scene.object_rotation(), linvel=linvel, angvel=angvel,
            theta=float(np.clip(scene.theta(), 0.0, 1.0)), functional=scene.functional_point(), palm0=ep["palm0"],
            grasp_joints_norm=ep["grasp_joints"])

    # --- render / close ----------------------------------------------------------------------------
    def render(self):
        self._check_open("render")
        if self.render_mode != "rgb_array":
            return None
        from dextog_gym.render import Camera, render

        target = self._episode["com0"] if self._episode else np.zeros(3)
        up = 0.02 if self.fixed else 0.08  # frame the lift: the object rises ĥ = 10 cm and more
        cam = Camera(target=tuple(target + np.array([0.0, 0.0, up])), distance=0.62, yaw=50.0, pitch=-20.0,
                     width=RENDER_SIZE[0], height=RENDER_SIZE[1])
        return render(self.scene.client, cam)

    def close(self) -> None:
        scene = getattr(self, "scene", None)
        if scene is not None:
            scene.close()
        self._closed = True
        self._episode = None
        super().close()

    def _check_open(self, what: str) -> None:
        if getattr(self, "_closed", False):
            raise EnvClosedError(f"{what}() on a closed {self.task} env; make a new one with gym.make")
