"""``presstrack render``: a recorded session as a picture or a video, without a display or ROS.

Each frame shows the pressure heatmap (/mat/pressure) with the tracked boxes and ids
(/presstrack/persons) beside the 3D bodies from a fixed viewpoint: the mesh triangles of
/presstrack/meshes, or the joints of /presstrack/bodies as skeletons where no meshes were recorded.
Overlays are matched to a pressure frame by header stamp (every output is stamped with its source
frame's stamp): the newest overlay stamped at or before the frame is drawn.
"""
from __future__ import annotations

import bisect
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from visualization_msgs.msg import Marker

from presstrack_body.kinematics import PARENTS
from presstrack_bringup.bagfile import open_bag, recorded_typestore, require_topic

PRESSURE_TOPIC = "/mat/pressure"
INFO_TOPIC = "/mat/info"
PERSONS_TOPIC = "/presstrack/persons"
MESHES_TOPIC = "/presstrack/meshes"
BODIES_TOPIC = "/presstrack/bodies"
OUTPUT_SUFFIXES = (".png", ".gif", ".mp4")
OVERLAY_MARGIN_NS = 1_000_000_000  # overlays arrive after their frame; read this far past the window


class RenderError(ValueError):
    """A render request that cannot be met; the message names the file and the problem."""


@dataclass(frozen=True)
class PressureFrame:
    log_ns: int             # bag (receive) time
    stamp_ns: int           # header stamp
    pressure: np.ndarray    # (rows, cols) float32 [kPa]


@dataclass(frozen=True)
class TrackedBox:
    track_id: int
    confirmed: bool
    x: int                  # [cells] first column
    y: int                  # [cells] first row
    width: int              # [cells]
    height: int             # [cells]


@dataclass(frozen=True)
class Body:
    track_id: int
    triangles: np.ndarray | None  # (F, 3, 3) [m] world, or None for a skeleton
    joints: np.ndarray | None     # (24, 3) [m] world


@dataclass
class Session:
    """What a bag holds for rendering, overlays keyed by header stamp [ns] in ascending order."""

    frames: list[PressureFrame]
    boxes: list[tuple[int, list[TrackedBox]]] = field(default_factory=list)
    bodies: list[tuple[int, list[Body]]] = field(default_factory=list)
    mat_corners: np.ndarray | None = None  # (4, 3) [m] mat outline in the world frame


def _stamp_ns(header: Any) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def image_to_array(msg: Any, where: str) -> np.ndarray:
    """A 32FC1 sensor_msgs/Image as a (height, width) float32 array."""
    if msg.encoding != "32FC1":
        raise RenderError(f"{where}: pressure encoding {msg.encoding!r}, expected 32FC1")
    dtype = np.dtype(">f4" if msg.is_bigendian else "<f4")
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    if msg.step < msg.width * 4 or data.size < msg.step * msg.height:
        raise RenderError(f"{where}: pressure image of {data.size} bytes is too short for {msg.height}x{msg.width}")
    rows = data[: msg.step * msg.height].reshape(msg.height, msg.step)[:, : msg.width * 4]
    return np.ascontiguousarray(rows).view(dtype).reshape(msg.height, msg.width).astype(np.float32)


def _quaternion_matrix(q: Any) -> np.ndarray:
    x, y, z, w = q.x, q.y, q.z, q.w
    norm = np.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _pose_apply(pose: Any, points: np.ndarray) -> np.ndarray:
    """points (N, 3) in a pose's frame -> parent frame."""
    position = np.array([pose.position.x, pose.position.y, pose.position.z])
    return points @ _quaternion_matrix(pose.orientation).T + position


def marker_triangles(marker: Any, max_faces: int) -> np.ndarray:
    """(F, 3, 3) [m] triangles of a TRIANGLE_LIST marker in its header frame, at most ``max_faces``."""
    points = np.array([(p.x, p.y, p.z) for p in marker.points], dtype=np.float64).reshape(-1, 3)
    points = points[: len(points) // 3 * 3] * np.array([marker.scale.x or 1.0, marker.scale.y or 1.0, marker.scale.z or 1.0])
    triangles = _pose_apply(marker.pose, points).reshape(-1, 3, 3)
    step = max(1, int(np.ceil(len(triangles) / max_faces)))
    return triangles[::step]


def middle_frame_ns(path: str | Path, start: float = 0.0, duration: float | None = None) -> int:
    """Bag time [ns] of the middle pressure frame from ``start`` [s after the first frame] for ``duration`` [s],
    from the bag's index alone (no message is decoded)."""
    reader = open_bag(path)
    try:
        require_topic(reader, path, PRESSURE_TOPIC)
        pressure = [c for c in reader.connections if c.topic == PRESSURE_TOPIC]
        times = [t for _, t, _ in reader.messages(pressure)]
    finally:
        reader.close()
    begin = min(times) + int(start * 1e9)
    end = None if duration is None else begin + int(duration * 1e9)
    inside = sorted(t for t in times if t >= begin and (end is None or t < end))
    if not inside:
        raise RenderError(f"{path}: no {PRESSURE_TOPIC} frames between {start:g} s and "
                          f"{'the end' if duration is None else f'{start + duration:g} s'}")
    return inside[len(inside) // 2]


def load_session(
    path: str | Path, start: float = 0.0, duration: float | None = None, max_faces: int = 1500,
    frame_ns: int | None = None,
) -> Session:
    """The pressure frames from ``start`` [s after the first frame] for ``duration`` [s] and their overlays;
    with ``frame_ns``, only the frame at that bag time and its overlays (nothing else is decoded)."""
    reader = open_bag(path)
    try:
        require_topic(reader, path, PRESSURE_TOPIC)
        typestore = recorded_typestore(reader)
        by_topic = {c.topic: c for c in reader.connections}
        if frame_ns is None:
            first_ns = min(t for _, t, _ in reader.messages([by_topic[PRESSURE_TOPIC]]))
            begin = first_ns + int(start * 1e9)
            end = None if duration is None else begin + int(duration * 1e9)
        else:
            begin, end = frame_ns, frame_ns + 1
        session = Session(frames=[])
        if INFO_TOPIC in by_topic:
            for connection, _, data in reader.messages([by_topic[INFO_TOPIC]]):
                info = typestore.deserialize_cdr(data, connection.msgtype)
                session.mat_corners = _mat_corners(info)
                break
        wanted = [by_topic[t] for t in (PRESSURE_TOPIC, PERSONS_TOPIC, MESHES_TOPIC, BODIES_TOPIC) if t in by_topic]
        meshes: list[tuple[int, list[Body]]] = []
        skeletons: list[tuple[int, list[Body]]] = []
        stop = None if end is None else end + OVERLAY_MARGIN_NS
        for connection, log_ns, data in reader.messages(wanted, start=begin - OVERLAY_MARGIN_NS, stop=stop):
            topic = connection.topic
            if topic == PRESSURE_TOPIC and not (log_ns >= begin and (end is None or log_ns < end)):
                continue  # read for the overlays' margin only
            try:
                msg = typestore.deserialize_cdr(data, connection.msgtype)
            except Exception as error:  # rosbags raises several types for malformed CDR
                raise RenderError(f"{path}: cannot decode a {topic} message ({error})") from None
            if topic == PRESSURE_TOPIC:
                session.frames.append(PressureFrame(log_ns, _stamp_ns(msg.header), image_to_array(msg, str(path))))
            elif topic == PERSONS_TOPIC:
                session.boxes.append((_stamp_ns(msg.header), [
                    TrackedBox(int(p.track_id), int(p.state) == 1, int(p.box.x_offset), int(p.box.y_offset),
                               int(p.box.width), int(p.box.height))
                    for p in msg.persons
                ]))
            elif topic == MESHES_TOPIC:
                adds = [m for m in msg.markers if m.type == Marker.TRIANGLE_LIST and m.action == Marker.ADD]
                if adds:
                    meshes.append((max(_stamp_ns(m.header) for m in adds), [
                        Body(int(m.id), marker_triangles(m, max_faces), None) for m in adds
                    ]))
            elif topic == BODIES_TOPIC:
                skeletons.append((_stamp_ns(msg.header), [
                    Body(int(b.track_id), None, np.array([(j.x, j.y, j.z) for j in b.joints], dtype=np.float64))
                    for b in msg.bodies
                ]))
    finally:
        reader.close()
    if not session.frames:
        raise RenderError(f"{path}: no {PRESSURE_TOPIC} frames between {start:g} s and "
                          f"{'the end' if duration is None else f'{start + duration:g} s'}")
    session.boxes.sort(key=lambda item: item[0])
    session.bodies = sorted(meshes or skeletons, key=lambda item: item[0])
    return session


def _mat_corners(info: Any) -> np.ndarray:
    width, height = info.cols * info.cell_pitch, info.rows * info.cell_pitch
    corners = np.array([[0, 0, 0], [width, 0, 0], [width, height, 0], [0, height, 0]], dtype=np.float64)
    return _pose_apply(info.mat_pose, corners)


def latest_at(items: list[tuple[int, Any]], stamp_ns: int) -> Any:
    """The value of the newest (stamp, value) with stamp <= ``stamp_ns`` (items ascending), or None."""
    index = bisect.bisect_right([stamp for stamp, _ in items], stamp_ns)
    return items[index - 1][1] if index else None


def select_frames(frames: list[PressureFrame], fps: float | None) -> list[PressureFrame]:
    """One frame per output time step of 1/``fps`` s (bag time); every frame when ``fps`` is None."""
    if fps is None:
        return list(frames)
    times = [f.log_ns for f in frames]
    step = int(1e9 / fps)
    chosen = []
    for t in range(times[0], times[-1] + 1, step):
        chosen.append(frames[bisect.bisect_right(times, t) - 1])
    return chosen


def _track_colour(track_id: int) -> tuple[float, float, float]:
    from matplotlib import colormaps

    return colormaps["tab10"](track_id % 10)[:3]


def _shade(triangles: np.ndarray, colour: tuple[float, float, float]) -> np.ndarray:
    """(F, 4) face colours lit from above-front, so a flat-coloured body still shows its shape."""
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    light = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    intensity = 0.35 + 0.65 * np.abs(normals @ light)
    rgb = np.clip(np.asarray(colour)[None, :] * intensity[:, None], 0, 1)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1)


class FrameRenderer:
    """Draws frames of one session into RGB arrays with fixed colour scale and 3D view limits."""

    def __init__(self, session: Session, width_px: int = 1280, height_px: int = 640) -> None:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        self.session = session
        self.figure = plt.figure(figsize=(width_px / 100, height_px / 100), dpi=100)
        self.heatmap_axes = self.figure.add_subplot(1, 2, 1)
        self.body_axes = self.figure.add_subplot(1, 2, 2, projection="3d")
        self.figure.subplots_adjust(left=0.04, right=0.98, bottom=0.08, top=0.92, wspace=0.05)
        values = np.concatenate([f.pressure[f.pressure > 0] for f in session.frames] + [np.zeros(1, np.float32)])
        self.vmax = max(float(np.percentile(values, 99.5)), 1.0)
        self.limits = self._world_limits()

    def _world_limits(self) -> np.ndarray:
        """(3, 2) [m] min/max of the view: the mat and every body, cubed so the view is not distorted."""
        points = [] if self.session.mat_corners is None else [self.session.mat_corners]
        for _, bodies in self.session.bodies:
            for body in bodies:
                points.append(body.triangles.reshape(-1, 3) if body.triangles is not None else body.joints)
        if not points:
            return np.array([[0.0, 2.0], [0.0, 2.0], [0.0, 2.0]])
        cloud = np.concatenate(points)
        low, high = cloud.min(axis=0), cloud.max(axis=0)
        low[2], high[2] = 0.0, max(high[2], 1.9)
        centre, half = (low + high) / 2, max((high - low).max() / 2, 0.5)
        return np.stack([centre - half, centre + half], axis=1)

    def render(self, frame: PressureFrame) -> np.ndarray:
        """(height_px, width_px, 3) uint8."""
        from matplotlib.patches import Rectangle
        from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection

        seconds = (frame.log_ns - self.session.frames[0].log_ns) / 1e9
        axes = self.heatmap_axes
        axes.clear()
        axes.imshow(frame.pressure, cmap="magma", vmin=0.0, vmax=self.vmax, interpolation="nearest")
        axes.set_title(f"/mat/pressure  t = {seconds:6.2f} s  (0 - {self.vmax:.0f} kPa)")
        axes.set_xlabel("column")
        axes.set_ylabel("row")
        for box in latest_at(self.session.boxes, frame.stamp_ns) or []:
            colour = _track_colour(box.track_id)
            axes.add_patch(Rectangle((box.x - 0.5, box.y - 0.5), box.width, box.height, fill=False,
                                     edgecolor=colour, linewidth=2, linestyle="-" if box.confirmed else "--"))
            axes.text(box.x, box.y - 2, f"id {box.track_id}", color=colour, fontsize=10, weight="bold", va="bottom")

        axes3d = self.body_axes
        axes3d.clear()
        if self.session.mat_corners is not None:
            outline = np.vstack([self.session.mat_corners, self.session.mat_corners[:1]])
            axes3d.plot(outline[:, 0], outline[:, 1], outline[:, 2], color="0.4")
        for body in latest_at(self.session.bodies, frame.stamp_ns) or []:
            colour = _track_colour(body.track_id)
            if body.triangles is not None:
                axes3d.add_collection3d(Poly3DCollection(body.triangles, facecolors=_shade(body.triangles, colour),
                                                         edgecolors="none"))
            else:
                segments = [(body.joints[j], body.joints[p]) for j, p in enumerate(PARENTS) if p >= 0]
                axes3d.add_collection3d(Line3DCollection(segments, colors=[colour], linewidths=2))
                axes3d.scatter(*body.joints.T, color=colour, s=6)
        axes3d.set_xlim(*self.limits[0])
        axes3d.set_ylim(*self.limits[1])
        axes3d.set_zlim(*self.limits[2])
        axes3d.set_box_aspect((1, 1, 1))
        axes3d.view_init(elev=20, azim=-60)
        axes3d.set_xlabel("x [m]")
        axes3d.set_ylabel("y [m]")
        axes3d.set_zlabel("z [m]")
        axes3d.set_title("bodies (world)")
        self.figure.canvas.draw()
        return np.asarray(self.figure.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        from matplotlib import pyplot as plt

        plt.close(self.figure)


def ffmpeg_executable() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def check_output(out: str | Path) -> Path:
    """The output path, or RenderError for an unsupported kind or an mp4 without ffmpeg."""
    out = Path(out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise RenderError(f"{out}: output must end in {', '.join(OUTPUT_SUFFIXES)}")
    if out.suffix.lower() == ".mp4" and ffmpeg_executable() is None:
        raise RenderError(f"{out}: mp4 needs ffmpeg (imageio-ffmpeg or ffmpeg on PATH), none found; use a .gif")
    if not out.parent.exists():
        raise RenderError(f"{out}: folder {out.parent} does not exist")
    return out


def _progress(frames: list[PressureFrame]) -> Iterable[PressureFrame]:
    from tqdm import tqdm

    return tqdm(frames, desc="rendering", unit="frame", disable=None)  # no bar when not on a terminal


def render_bag(
    bag: str | Path,
    out: str | Path,
    start: float = 0.0,
    duration: float | None = None,
    fps: float | None = None,
    max_faces: int = 1500,
) -> int:
    """Render a session to ``out`` (.png: the middle frame; .gif/.mp4: every selected frame at ``fps``).

    ``fps`` defaults to the recorded pressure rate (at most 15). Returns the number of frames written.
    """
    out = check_output(out)
    if fps is not None and fps <= 0:
        raise RenderError(f"--fps must be positive, got {fps:g}")
    if out.suffix.lower() == ".png":  # one frame: find it in the index, decode only it and its overlays
        session = load_session(bag, max_faces=max_faces, frame_ns=middle_frame_ns(bag, start, duration))
        renderer = FrameRenderer(session)
        try:
            import imageio.v3 as iio

            iio.imwrite(out, renderer.render(session.frames[0]))
            return 1
        finally:
            renderer.close()
    session = load_session(bag, start, duration, max_faces)
    if fps is None:
        gaps = np.diff([f.log_ns for f in session.frames])
        fps = min(15.0, 1e9 / float(np.median(gaps))) if len(gaps) else 15.0
    frames = select_frames(session.frames, fps)
    renderer = FrameRenderer(session)
    try:
        images = (renderer.render(frame) for frame in _progress(frames))
        if out.suffix.lower() == ".gif":
            import imageio.v3 as iio

            iio.imwrite(out, list(images), duration=1000.0 / fps, loop=0)
        else:
            _write_mp4(out, images, fps)
        return len(frames)
    finally:
        renderer.close()


def _write_mp4(out: Path, images: Iterable[np.ndarray], fps: float) -> None:
    """Pipe raw RGB frames into ffmpeg (H.264, yuv420p so every player shows it)."""
    executable = ffmpeg_executable()
    assert executable is not None  # check_output made sure
    process = None
    try:
        for image in images:
            if process is None:
                height, width = image.shape[:2]
                process = subprocess.Popen(
                    [executable, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                     "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                     "-pix_fmt", "yuv420p", "-vcodec", "libx264", str(out)],
                    stdin=subprocess.PIPE,
                )
            assert process.stdin is not None
            process.stdin.write(image.tobytes())
    finally:
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()
            if process.wait() != 0:
                raise RenderError(f"{out}: ffmpeg failed with status {process.returncode}")

