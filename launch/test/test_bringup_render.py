"""`presstrack render` of small synthetic bags written with the rosbags Writer."""
from __future__ import annotations

import stat

import imageio.v3 as iio
import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from bringup_bags import COLS, FRAMES, ROWS, SECOND, START, TRACK_ID, write_session
from presstrack_bringup import render
from presstrack_bringup.bagfile import interface_directory, suite_typestore
from presstrack_bringup.cli import main
from presstrack_bringup.render import PressureFrame, latest_at, load_session, select_frames

RED = np.array([214, 39, 40])  # tab10 colour of TRACK_ID

def _has_red(image: np.ndarray) -> bool:
    """Pixels of the track's own colour (the box outline and label)."""
    return bool((np.abs(image[..., :3].astype(int) - RED).sum(axis=-1) < 30).any())


def _has_shaded_red(image: np.ndarray) -> bool:
    """Pixels of the track's colour under any lighting (a shaded mesh or skeleton)."""
    r, g, b = (image[..., c].astype(int) for c in range(3))
    return bool(((r > 80) & (g < 0.4 * r) & (b < 0.4 * r)).sum() > 50)


def test_png_shows_heatmap_boxes_and_meshes(tmp_path):
    bag = write_session(tmp_path / "session")
    out = tmp_path / "preview.png"
    assert main(["render", str(bag), "--out", str(out)]) == 0
    image = iio.imread(out)
    assert image.shape[:2] == (640, 1280)
    assert _has_red(image[:, :640])  # the id-3 box on the heatmap
    assert _has_shaded_red(image[:, 640:])  # its body in 3D

    plain = write_session(tmp_path / "no_overlays", overlays=())
    assert main(["render", str(plain), "--out", str(tmp_path / "plain.png")]) == 0
    plain_image = iio.imread(tmp_path / "plain.png")
    assert not _has_red(plain_image[:, :640]) and not _has_shaded_red(plain_image[:, 640:])


def test_png_draws_skeletons_without_meshes(tmp_path):
    bag = write_session(tmp_path / "session", overlays=("bodies",))
    session = load_session(bag)
    assert session.bodies and session.bodies[0][1][0].triangles is None
    assert session.bodies[0][1][0].joints.shape == (24, 3)
    assert main(["render", str(bag), "--out", str(tmp_path / "skeleton.png")]) == 0
    assert _has_shaded_red(iio.imread(tmp_path / "skeleton.png")[:, 640:])


def test_gif_has_one_frame_per_step(tmp_path):
    bag = write_session(tmp_path / "session")
    assert main(["render", str(bag), "--out", str(tmp_path / "all.gif")]) == 0
    assert iio.imread(tmp_path / "all.gif", index=None).shape[0] == FRAMES  # recorded rate: every frame
    assert main(["render", str(bag), "--out", str(tmp_path / "part.gif"), "--start", "0.3", "--duration", "0.4",
                 "--fps", "5"]) == 0
    assert iio.imread(tmp_path / "part.gif", index=None).shape[0] == 2  # frames 3..6 at 5 fps: 0.3 s, 0.5 s


def test_session_pairs_overlays_by_stamp(tmp_path):
    session = load_session(write_session(tmp_path / "session"), start=0.2, duration=0.5)
    assert [f.stamp_ns for f in session.frames] == [START + i * SECOND // 10 for i in range(2, 7)]
    frame = session.frames[1]
    assert np.isclose(frame.pressure.max(), 103.0)
    (box,) = latest_at(session.boxes, frame.stamp_ns)
    assert (box.track_id, box.y, box.height) == (TRACK_ID, 13, 10)
    (body,) = latest_at(session.bodies, frame.stamp_ns)
    assert body.triangles.shape == (12, 3, 3)
    assert np.isclose(body.triangles[..., 0].min(), 0.4) and np.isclose(body.triangles[..., 2].max(), 1.7)
    np.testing.assert_allclose(session.mat_corners[2], [COLS * 0.02, ROWS * 0.02, 0.0])


def test_latest_at_and_frame_selection():
    items = [(10, "a"), (20, "b"), (30, "c")]
    assert [latest_at(items, t) for t in (5, 10, 25, 99)] == [None, "a", "b", "c"]
    frames = [PressureFrame(i * 100_000_000, i, np.zeros((1, 1), np.float32)) for i in range(10)]  # 10 Hz
    assert [f.stamp_ns for f in select_frames(frames, 5.0)] == [0, 2, 4, 6, 8]
    assert [f.stamp_ns for f in select_frames(frames, 20.0)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9]
    assert select_frames(frames, None) == frames


def test_mp4_through_ffmpeg(tmp_path, monkeypatch, capsys):
    bag = write_session(tmp_path / "session")
    monkeypatch.setattr(render, "ffmpeg_executable", lambda: None)
    assert main(["render", str(bag), "--out", str(tmp_path / "x.mp4")]) == 2
    assert "mp4 needs ffmpeg" in capsys.readouterr().err
    # A stand-in ffmpeg that stores the raw frames it is piped: checks what we send it.
    stand_in = tmp_path / "ffmpeg"
    stand_in.write_text('#!/bin/sh\nfor last; do :; done\ncat > "$last"\n')
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(render, "ffmpeg_executable", lambda: str(stand_in))
    assert main(["render", str(bag), "--out", str(tmp_path / "x.mp4"), "--fps", "10"]) == 0
    assert (tmp_path / "x.mp4").stat().st_size == FRAMES * 640 * 1280 * 3


@pytest.mark.parametrize("case", ["missing", "not_a_bag", "corrupt_metadata", "corrupt_mcap", "no_pressure", "bad_output"])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    out = tmp_path / "out.png"
    if case == "missing":
        bag = tmp_path / "nothing"
    elif case == "not_a_bag":
        bag = tmp_path / "folder"
        bag.mkdir()
    elif case == "corrupt_metadata":
        bag = write_session(tmp_path / "session")
        (bag / "metadata.yaml").write_text("rosbag2_bagfile_information: {version: [\n")
    elif case == "corrupt_mcap":
        bag = write_session(tmp_path / "session")
        (bag / "session.mcap").write_bytes(b"\x89MCAP0\r\nbroken")
    elif case == "no_pressure":
        bag = write_session(tmp_path / "session", pressure=False)
    else:
        bag = write_session(tmp_path / "session")
        out = tmp_path / "out.bmp"
    assert main(["render", str(bag), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("presstrack: error: ")
    assert str(bag if case != "bad_output" else out) in err
    assert "Traceback" not in err
    expected = {"missing": "no such bag", "not_a_bag": "no metadata.yaml", "corrupt_metadata": "unreadable bag",
                "corrupt_mcap": "unreadable bag", "no_pressure": "no /mat/pressure messages",
                "bad_output": "output must end in"}[case]
    assert expected in err


def test_png_decodes_only_its_frame_and_that_frames_overlays(tmp_path, monkeypatch):
    bag = write_session(tmp_path / "session")
    decoded: list[str] = []
    typestore = suite_typestore()

    class CountingTypestore:
        def deserialize_cdr(self, data, msgtype):
            decoded.append(msgtype)
            return typestore.deserialize_cdr(data, msgtype)

    monkeypatch.setattr(render, "recorded_typestore", lambda reader: CountingTypestore())
    assert main(["render", str(bag), "--out", str(tmp_path / "middle.png")]) == 0
    assert decoded.count("sensor_msgs/msg/Image") == 1, "one pressure frame of the recording's " + str(FRAMES)
    assert _has_red(iio.imread(tmp_path / "middle.png")[:, :640]), "with its overlays"


def test_a_bag_recorded_before_a_message_gained_a_field_still_renders(tmp_path):
    """PersonPressure gained `renamed_from`; a session recorded with the older definition decodes with the
    definition the bag holds, not this suite's."""
    older = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in sorted(interface_directory("presstrack_msgs").glob("*.msg")):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("uint32 renamed_from"))
        types.update(get_types_from_msg(text, f"presstrack_msgs/msg/{path.stem}"))
    older.register(types)
    T = older.types
    assert "renamed_from" not in dict(older.fielddefs["presstrack_msgs/msg/PersonPressure"][1])
    bag = tmp_path / "older"
    image = np.zeros((ROWS, COLS), np.float32)
    image[10:20, 5:12] = 100.0
    header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=START // SECOND, nanosec=0), frame_id="mat")
    frame = T["sensor_msgs/msg/Image"](header=header, height=ROWS, width=COLS, encoding="32FC1", is_bigendian=0,
                                       step=COLS * 4, data=image.view(np.uint8).ravel())
    person = T["presstrack_msgs/msg/PersonPressure"](
        track_id=TRACK_ID, state=1, confidence=0.9,
        box=T["sensor_msgs/msg/RegionOfInterest"](x_offset=5, y_offset=10, height=10, width=7, do_rectify=False),
        centroid=T["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=0.0), heading=0.0, total_force=600.0, contact_area=0.02,
        crop=T["sensor_msgs/msg/Image"](header=header, height=0, width=0, encoding="32FC1", is_bigendian=0, step=0,
                                        data=np.zeros(0, np.uint8)), crop_row0=0, crop_col0=0)
    persons = T["presstrack_msgs/msg/PersonPressureArray"](header=header, persons=[person])
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        for topic, msgtype, message in (("/mat/pressure", "sensor_msgs/msg/Image", frame),
                                        ("/presstrack/persons", "presstrack_msgs/msg/PersonPressureArray", persons)):
            connection = writer.add_connection(topic, msgtype, typestore=older)
            writer.write(connection, START, older.serialize_cdr(message, msgtype))
    session = load_session(bag)
    assert len(session.frames) == 1
    assert main(["render", str(bag), "--out", str(tmp_path / "older.png")]) == 0
    assert _has_red(iio.imread(tmp_path / "older.png")[:, :640]), "the recorded person's box is drawn"
