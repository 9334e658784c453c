"""Convert the Shadow Hand MJCF shipped in ``gymnasium-robotics`` into our URDF (run once, committed).

Why a converter and not a hand-written URDF: the MJCF is a licence-clean, widely used description of
the hand's kinematics and collision primitives; converting it mechanically keeps us faithful to it,
and a test re-runs this script to prove the committed ``assets/hands/shadow_hand/`` is its output.

Choices (each one a deliberate departure from the MJCF, documented here once):

* Root link ``hand_base`` sits at the wrist mount (the MJCF ``robot0:wrist`` body frame at q = 0),
  so the "wrist pose" of a grasp is where the wrist actually is. It carries the forearm's inertial
  (expressed in the new frame) but none of its geometry: the benchmark's hand floats, and the 25 cm
  forearm shell would only add collisions that the paper's floating hand does not have. The
  ``hand mount`` body's world placement is dropped.
* Collision = the ``DC_Hand`` capsules and boxes; visual = the ``D_Vizual`` meshes (scale 1e-3).
  The two 1 mm "V_thbase"/"V_thhub" placeholder boxes are dropped (no visual or physical role).
* Tendons, actuators, sensors and touch sites are ignored: we drive all 24 joints directly.
* Effort limits are ours (see ``EFFORT``); the MJCF force ranges (~0.9 N m) are for its own
  tendon-coupled actuators and are too weak to hold a 300 g object firmly in pybullet.
* Inertials are copied as they are (no minimum-inertia floor): the MJCF's 1e-5 kg m^2 on 2–16 g
  phalanges is already generous (gyration radius ~3 cm), and the tests show stable position
  control to every joint limit at 240 Hz with URDF_USE_INERTIA_FROM_FILE.

Run: ``python -m dextog_gym.hand.convert [--out DIR]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dextog_gym.files import sha256_file
from dextog_gym.hand.transforms import (
    axis_angle_to_matrix,
    make_transform,
    matrix_to_rpy,
    quat_wxyz_to_matrix,
    rot_x,
    rot_y,
    rot_z,
)

PREFIX = "robot0:"
ROOT_LINK = "hand_base"
SOURCE_BODY = "robot0:forearm"  # its geometry is dropped, its first child (the wrist) hangs off the root
# Joint effort limits in N m, by joint-name prefix. Large enough that two opposing fingers squeeze a
# 300 g object with a friction margin (~0.1 m lever, ~10 N squeeze -> ~1 N m), small enough that a
# position controller does not launch light links. Velocity limits are Shadow Hand-like (rad/s).
EFFORT = {"WR": 10.0, "TH": 4.0, "FF": 2.5, "MF": 2.5, "RF": 2.5, "LF": 2.5}
VELOCITY = 4.0
DEFAULT_DAMPING = 0.1  # MJCF default-class joint damping (wrist joints set 0.5 explicitly)
VISUAL_RGBA = (0.82, 0.82, 0.85, 1.0)


@dataclass
class Body:
    name: str
    transform: np.ndarray  # in the parent body frame
    inertial: ET.Element | None
    joint: ET.Element | None
    geoms: list[ET.Element]
    children: list["Body"] = field(default_factory=list)


def mujoco_assets_dir() -> Path:
    """The ``envs/assets`` folder of the installed gymnasium-robotics (raises ImportError if absent)."""
    import importlib.util

    spec = importlib.util.find_spec("gymnasium_robotics")
    if spec is None or spec.origin is None:
        raise ImportError("gymnasium_robotics is not installed (pip install gymnasium-robotics)")
    return Path(spec.origin).parent / "envs" / "assets"


def _vec(elem: ET.Element, key: str, n: int, default: float = 0.0) -> np.ndarray:
    text = elem.get(key)
    if text is None:
        return np.full(n, default)
    v = np.array([float(x) for x in text.split()])
    if v.shape != (n,):
        raise ValueError(f"{elem.get('name')}: {key}={text!r} is not {n} numbers")
    return v


def _rotation(elem: ET.Element) -> np.ndarray:
    """Orientation of a MuJoCo body/geom/inertial (angles in radians, euler sequence 'xyz')."""
    given = [k for k in ("quat", "euler", "axisangle", "xyaxes", "zaxis") if elem.get(k) is not None]
    if len(given) > 1:
        raise ValueError(f"{elem.get('name')}: several orientations {given}")
    if not given:
        return np.eye(3)
    key = given[0]
    if key == "quat":
        return quat_wxyz_to_matrix(_vec(elem, "quat", 4))
    if key == "euler":  # MuJoCo default eulerseq "xyz": intrinsic, i.e. R = Rx Ry Rz
        a, b, c = _vec(elem, "euler", 3)
        return rot_x(a) @ rot_y(b) @ rot_z(c)
    if key == "axisangle":
        v = _vec(elem, "axisangle", 4)
        return axis_angle_to_matrix(v[:3], v[3])
    raise NotImplementedError(f"{elem.get('name')}: orientation '{key}' does not occur in the hand MJCF")


def _transform(elem: ET.Element) -> np.ndarray:
    if elem.get("fromto") is not None:
        raise NotImplementedError(f"{elem.get('name')}: 'fromto' does not occur in the hand MJCF")
    return make_transform(_vec(elem, "pos", 3), _rotation(elem))


def _read_body(elem: ET.Element) -> Body:
    joints = elem.findall("joint")
    if len(joints) > 1:
        raise ValueError(f"{elem.get('name')}: more than one joint")
    body = Body(
        name=elem.get("name"),
        transform=_transform(elem),
        inertial=elem.find("inertial"),
        joint=joints[0] if joints else None,
        geoms=elem.findall("geom"),
    )
    body.children = [_read_body(child) for child in elem.findall("body")]
    return body


def _mesh_assets(shared_asset: Path) -> dict[str, tuple[str, np.ndarray]]:
    meshes = {}
    for m in ET.parse(shared_asset).getroot().iter("mesh"):
        meshes[m.get("name")] = (m.get("file"), _vec(m, "scale", 3, default=1.0))
    return meshes


def _copy_mesh(src: Path, dst: Path) -> None:
    """Copy a binary STL; fill in facet normals where the file stores all zeros (TH2_z.stl does).

    pybullet's renderers shade with the stored normals, so a zero-normal mesh renders black.
    Computed in float32 with elementwise IEEE operations only, hence byte-stable across machines.
    """
    data = src.read_bytes()
    n = int.from_bytes(data[80:84], "little") if len(data) >= 84 else -1
    if data[:5] == b"solid" or len(data) != 84 + 50 * n:  # ASCII or odd file: copy as is
        dst.write_bytes(data)
        return
    facet = np.dtype([("normal", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    tris = np.frombuffer(data, dtype=facet, count=n, offset=84).copy()
    if np.any(tris["normal"] != 0):
        dst.write_bytes(data)
        return
    v = tris["v"]
    normal = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]).astype(np.float32)
    length = np.sqrt(np.sum(normal * normal, axis=1, dtype=np.float32))[:, None]
    tris["normal"] = np.where(length > 0, normal / np.where(length > 0, length, 1), 0)
    dst.write_bytes(data[:84] + tris.tobytes())


def _f(v: float) -> str:
    """Fixed float format: 9 significant digits, no negative zero (byte-stable output)."""
    v = float(v)
    if abs(v) < 1e-12:
        v = 0.0
    return f"{v:.9g}"


def _fs(values) -> str:
    return " ".join(_f(v) for v in values)


def _origin_xml(t: np.ndarray, indent: str) -> str:
    return f'{indent}<origin xyz="{_fs(t[:3, 3])}" rpy="{_fs(matrix_to_rpy(t[:3, :3]))}"/>\n'


def _inertial_xml(inertial: ET.Element, frame: np.ndarray) -> str:
    """``frame`` maps the MJCF body frame into our link frame (identity except for the root)."""
    t = frame @ _transform(inertial)
    d = _vec(inertial, "diaginertia", 3)
    ind = "      "
    return (
        "    <inertial>\n"
        + _origin_xml(t, ind)
        + f'{ind}<mass value="{_f(float(inertial.get("mass")))}"/>\n'
        + f'{ind}<inertia ixx="{_f(d[0])}" ixy="0" ixz="0" iyy="{_f(d[1])}" iyz="0" izz="{_f(d[2])}"/>\n'
        + "    </inertial>\n"
    )


def _geom_xml(g: ET.Element, meshes: dict, used_meshes: set[str]) -> str:
    cls = g.get("class", "")
    ind = "      "
    if cls.endswith("D_Vizual"):
        file, scale = meshes[g.get("mesh")]
        used_meshes.add(file)
        return (
            "    <visual>\n"
            + _origin_xml(_transform(g), ind)
            + f'{ind}<geometry><mesh filename="meshes/{file}" scale="{_fs(scale)}"/></geometry>\n'
            + f'{ind}<material name="hand"/>\n'
            + "    </visual>\n"
        )
    if cls.endswith("DC_Hand"):
        size = _vec(g, "size", {"capsule": 2, "box": 3}[g.get("type")])
        if g.get("type") == "capsule":  # MJCF: radius, cylinder half-length; URDF: radius, length
            shape = f'<capsule radius="{_f(size[0])}" length="{_f(2 * size[1])}"/>'
        else:  # MJCF half extents -> URDF full extents
            shape = f'<box size="{_fs(2 * size)}"/>'
        return (
            "    <collision>\n"
            + _origin_xml(_transform(g), ind)
            + f"{ind}<geometry>{shape}</geometry>\n"
            + "    </collision>\n"
        )
    return ""  # the 1 mm placeholder boxes (no class) are dropped


def _walk(body: Body, parent: str, meshes: dict, used: set[str], links: list[str], joints: list[str]):
    name = body.name.removeprefix(PREFIX)
    xml = [f'  <link name="{name}">\n', _inertial_xml(body.inertial, np.eye(4))]
    xml += [_geom_xml(g, meshes, used) for g in body.geoms]
    xml.append("  </link>\n")
    links.append("".join(xml))
    j = body.joint
    if j is None or j.get("type", "hinge") != "hinge":
        raise ValueError(f"{body.name}: expected one hinge joint")
    if np.any(_vec(j, "pos", 3) != 0):
        raise NotImplementedError(f"{j.get('name')}: joints off the body origin do not occur")
    jname = j.get("name").removeprefix(PREFIX)
    axis = _vec(j, "axis", 3, default=0.0)
    axis = axis / np.linalg.norm(axis)
    lo, hi = _vec(j, "range", 2)
    damping = float(j.get("damping", DEFAULT_DAMPING))
    joints.append(
        f'  <joint name="{jname}" type="revolute">\n'
        f'    <parent link="{parent}"/>\n'
        f'    <child link="{name}"/>\n'
        + _origin_xml(body.transform, "    ")
        + f'    <axis xyz="{_fs(axis)}"/>\n'
        f'    <limit lower="{_f(lo)}" upper="{_f(hi)}" effort="{_f(EFFORT[jname[:2]])}" '
        f'velocity="{_f(VELOCITY)}"/>\n'
        f'    <dynamics damping="{_f(damping)}"/>\n'
        "  </joint>\n"
    )
    # Interleave link and joint per body so the file order is depth first (= pybullet joint order).
    links[-1] = links[-1] + joints.pop()
    for child in body.children:
        _walk(child, name, meshes, used, links, joints)


def build_urdf(src: Path) -> tuple[str, set[str]]:
    """Return the URDF text and the set of mesh files it references."""
    robot = ET.parse(src / "hand" / "robot.xml").getroot()
    forearm_elem = next(b for b in robot.iter("body") if b.get("name") == SOURCE_BODY)
    forearm = _read_body(forearm_elem)
    if len(forearm.children) != 1:
        raise ValueError("expected the forearm to carry exactly the wrist")
    wrist = forearm.children[0]
    root_from_forearm = np.linalg.inv(wrist.transform)
    wrist.transform = np.eye(4)  # hand_base frame == wrist body frame at q = 0
    meshes = _mesh_assets(src / "hand" / "shared_asset.xml")
    digest = sha256_file(src / "hand" / "robot.xml")[:16]
    head = (
        '<?xml version="1.0"?>\n'
        "<!-- Shadow Hand (right), generated by dextog_gym.hand.convert from gymnasium-robotics\n"
        f"     envs/assets/hand/robot.xml (sha256 {digest}...). Do not edit: re-run the converter.\n"
        "     See NOTICE for origin and licence. -->\n"
        '<robot name="shadow_hand">\n'
        f'  <material name="hand"><color rgba="{_fs(VISUAL_RGBA)}"/></material>\n'
        f'  <link name="{ROOT_LINK}">\n'
        + _inertial_xml(forearm.inertial, root_from_forearm)
        + "  </link>\n"
    )
    links: list[str] = []
    used: set[str] = set()
    _walk(wrist, ROOT_LINK, meshes, used, links, [])
    return head + "".join(links) + "</robot>\n", used


def _notice(src: Path) -> str:
    text = (src / "LICENSE.md").read_text(encoding="utf-8")
    start = text.index("# ShadowHand")
    nxt = text.find("\n# ", start + 1)
    shadow = text[start : nxt if nxt != -1 else len(text)].rstrip() + "\n"
    return (
        "Shadow Hand model for dextog_gym\n"
        "================================\n\n"
        "shadow_hand.urdf and meshes/*.stl are derived from the Shadow Hand MuJoCo model shipped in the\n"
        "gymnasium-robotics package (Farama Foundation), files envs/assets/hand/robot.xml,\n"
        "envs/assets/hand/shared.xml, envs/assets/hand/shared_asset.xml and envs/assets/stls/hand/*.stl.\n"
        "The URDF was produced by dextog_gym/hand/convert.py (python -m dextog_gym.hand.convert):\n"
        "kinematics, joint ranges, inertials and collision primitives are converted unchanged; the\n"
        "forearm geometry, tendons, actuators and sensors were dropped and joint effort limits were set\n"
        "by us. The STL meshes are copied unmodified, except that facet normals were computed for\n"
        "TH2_z.stl, which stores zero normals.\n\n"
        "The original notice (gymnasium-robotics envs/assets/LICENSE.md, ShadowHand section) follows.\n"
        "The full Apache License 2.0 is at http://www.apache.org/licenses/LICENSE-2.0 and in that file.\n\n"
        + "-" * 78
        + "\n"
        + shadow
    )


def convert(out_dir: Path, src: Path | None = None) -> Path:
    """Write ``shadow_hand.urdf``, ``meshes/`` and ``NOTICE`` into ``out_dir``; return the URDF path.

    Everything is written to a temporary sibling folder first and swapped in at the end, so a
    failed run never leaves a half-written asset folder. ``out_dir`` is owned by the converter.
    """
    src = Path(src) if src is not None else mujoco_assets_dir()
    out_dir = Path(out_dir).resolve()
    urdf, used = build_urdf(src)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".shadow_hand-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the asset folder is not
    try:
        (tmp / "meshes").mkdir()
        for file in sorted(used):
            _copy_mesh(src / "stls" / "hand" / file, tmp / "meshes" / file)
        (tmp / "shadow_hand.urdf").write_text(urdf, encoding="utf-8", newline="\n")
        (tmp / "NOTICE").write_text(_notice(src), encoding="utf-8", newline="\n")
        old = None
        if out_dir.exists():
            old = out_dir.with_name(tmp.name + "-old")
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir / "shadow_hand.urdf"


def main(argv: list[str] | None = None) -> None:
    from dextog_gym.paths import hand_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=hand_dir(), help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    print(convert(args.out))


if __name__ == "__main__":
    main()
