"""rosbag2 MCAP bags of the suite, written and read with the ``rosbags`` library. No rclpy here.

Crash safety: an MCAP file is only readable once its footer and summary are written, so a recorder
killed with SIGKILL would leave one unreadable file. ``SegmentedBagWriter`` therefore writes the bag
as rosbag2 split files (``<bag>/<bag>_0.mcap``, ``<bag>_1.mcap``, ...): each covers ``split_seconds``
of recording, is closed (complete, indexed MCAP with the message definitions embedded) and only then
listed in ``metadata.yaml``, which is replaced atomically. The bag is valid from its creation (an empty
first segment is listed until one with messages replaces it), so a killed recorder loses at most the open
segment, from its first second on; everything listed reads with rosbags, ``ros2 bag info/play`` and
Foxglove (open the folder's files). The open segment is written in a hidden ``.segment_<n>`` folder that
readers never look at.

Types: each channel's metadata carries ``offered_qos_profiles`` and ``topic_type_hash`` (the type's RIHS01
hash, as rosbag2's MCAP plugin writes it and ``ros2 bag play`` checks it), and ``metadata.yaml`` names
the real distro (``$ROS_DISTRO``, else kilted, the pinned wheels').

Size: MCAP's own chunk compression (zstd, per 1 MiB chunk; rosbags' ``CompressionMode.STORAGE``), which
``ros2 bag`` and Foxglove read natively. Pressure frames are mostly unloaded cells: the simulated mat's
frames shrink 5.7 times (its sensor noise is what is left), 12 GB an hour of 30 Hz pressure to about
2 GB, for 0.2 ms of CPU per frame.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from rosbags.interfaces import Connection, MessageDefinitionFormat, Qos
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.rosbag2.storage_mcap import Channel, McapWriter, write_channel, write_string
from rosbags.typesys import Stores, TypesysError, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from presstrack_bringup.graph import package_share

BAG_VERSION = 9
# The distro whose message definitions the bag holds: a sourced ROS host's, else the pinned Kilted wheels'.
ROS_DISTRO = os.environ.get("ROS_DISTRO") or "kilted"


class BagError(ValueError):
    """A bag that cannot be used; the message names the file and the problem."""


def interface_directory(package: str) -> Path | None:
    """share/<package>/msg of an installed interface package, else this repository's source folder."""
    share = package_share(package)
    if share is not None and (share / "msg").is_dir():
        return share / "msg"
    source = Path(__file__).resolve().parents[2] / package / "msg"
    return source if source.is_dir() else None


def _presstrack_types() -> dict[str, Any]:
    folder = interface_directory("presstrack_msgs")
    if folder is None:
        raise BagError("presstrack_msgs: no .msg files found (run make build)")
    types: dict[str, Any] = {}
    for path in sorted(folder.glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"presstrack_msgs/msg/{path.stem}"))
    return types


def suite_typestore() -> Typestore:
    """ROS 2 Kilted's standard types plus presstrack_msgs, read from the package's .msg files."""
    typestore = get_typestore(Stores.ROS2_KILTED)
    typestore.register(_presstrack_types())
    return typestore


def recorded_typestore(reader: Reader) -> Typestore:
    """The types to decode ``reader``'s messages with: our messages as the bag recorded them (a bag written
    before a message gained a field decodes as it was written), then this suite's for any it does not define,
    and Kilted's standard types."""
    typestore = get_typestore(Stores.ROS2_KILTED)
    recorded: dict[str, Any] = {}
    for connection in reader.connections:
        if connection.msgdef.format == MessageDefinitionFormat.MSG and connection.msgdef.data:
            try:
                recorded.update(get_types_from_msg(connection.msgdef.data, connection.msgtype))
            except TypesysError as error:
                raise BagError(f"{connection.topic}: unreadable message definition in the bag ({error})") from None
    ours = {name: fields for name, fields in recorded.items() if name.startswith("presstrack_msgs/")}
    ours.update({name: fields for name, fields in _presstrack_types().items() if name not in ours})
    typestore.register(ours)
    return typestore


@functools.lru_cache(maxsize=None)
def installed_type_hash(msgtype: str) -> str | None:
    """The RIHS01 hash of an installed type as rosidl wrote it (share/<package>/msg/<Type>.json): what rmw
    advertises for the topic and ``ros2 bag play`` checks. None where the type is not installed; rosbags'
    own hash then stands in (it differs for a few types whose definition in its type store is another
    release's, e.g. std_msgs/msg/Char)."""
    package, _, name = msgtype.split("/")
    share = package_share(package)
    description = share / "msg" / f"{name}.json" if share is not None else None
    if description is None or not description.is_file():
        return None
    entries = json.loads(description.read_text())["type_hashes"]
    return next((entry["hash_string"] for entry in entries if entry["type_name"] == msgtype), None)


class _McapWriter(McapWriter):
    """rosbags' MCAP storage, its channels carrying the metadata rosbag2's MCAP plugin writes (and reads back
    as the topic's type_description_hash): offered_qos_profiles and topic_type_hash."""

    def add_connection(self, connection: Connection, offered_qos_profiles: str) -> None:
        metadata = BytesIO()
        for key, value in (("offered_qos_profiles", offered_qos_profiles), ("topic_type_hash", connection.digest)):
            write_string(metadata, key)
            write_string(metadata, value)
        self.channels.append(Channel(connection.id, connection.msgtype, connection.topic,
                                     connection.ext.serialization_format, metadata.getvalue()))
        self.channel_stats[connection.id] = 0
        write_channel(self.chunk.bio, self.channels[-1], self.schemas)


class _Writer(Writer):
    STORAGE_PLUGINS = {**Writer.STORAGE_PLUGINS, StoragePlugin.MCAP: _McapWriter}


def bag_directory(path: str | Path) -> Path:
    """The folder a bag named ``path`` lives in: ``session.mcap`` names the bag folder ``session``."""
    path = Path(path)
    return path.with_suffix("") if path.suffix == ".mcap" else path


@dataclass
class _Topic:
    msgtype: str
    qos: tuple[Qos, ...]


class SegmentedBagWriter:
    """A rosbag2 MCAP bag written in closed, time-split segments (see the module docstring).

    ``split_seconds``: recording time per segment; ``clock``: monotonic seconds (replaceable in tests).
    Topics may be added at any time; each new segment declares every topic known so far.
    """

    def __init__(
        self,
        path: str | Path,
        typestore: Typestore,
        split_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if split_seconds <= 0:
            raise ValueError(f"split_seconds must be positive, got {split_seconds}")
        self.path = bag_directory(path)
        if self.path.exists():
            raise BagError(f"{self.path}: exists already, not overwriting")
        self.path.mkdir(parents=True)
        self._typestore = typestore
        self._split_seconds = split_seconds
        self._clock = clock
        self._topics: dict[str, _Topic] = {}
        self._writer: Writer | None = None
        self._connections: dict[str, Connection] = {}
        self._segment_started = 0.0
        self._segment_index = 0
        self._segments: list[dict[str, Any]] = []  # metadata of each closed segment
        self.message_count = 0
        self._open_segment()  # an empty, listed bag at once: readable however early the recorder dies
        self._close_segment()

    def add_topic(self, topic: str, msgtype: str, offered_qos: Sequence[Qos] = ()) -> None:
        if msgtype not in self._typestore.fielddefs:
            raise BagError(f"{topic}: message type {msgtype} is unknown to the bag's type store")
        if topic in self._topics:
            return
        self._topics[topic] = _Topic(msgtype, tuple(offered_qos))
        if self._writer is not None:
            self._add_connection(topic)

    @property
    def topics(self) -> dict[str, str]:
        return {topic: info.msgtype for topic, info in self._topics.items()}

    def write(self, topic: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """One serialized (CDR) message of a topic added before, received at ``timestamp_ns``."""
        if self._writer is None:
            self._open_segment()
        assert self._writer is not None
        self._writer.write(self._connections[topic], timestamp_ns, data)
        self.message_count += 1
        self.rotate_if_due()

    def rotate_if_due(self) -> None:
        """Close the open segment once it has covered ``split_seconds``; call regularly."""
        if self._writer is not None and self._clock() - self._segment_started >= self._split_seconds:
            self._close_segment()

    def close(self) -> None:
        if self._writer is not None:
            self._close_segment()
        if not self.message_count:
            # Nothing was received: still leave a valid, empty bag that lists the topics known by now.
            self._open_segment()
            self._close_segment()

    def _segment_folder(self, index: int) -> Path:
        return self.path / f".segment_{index}"

    def _open_segment(self) -> None:
        self._writer = _Writer(self._segment_folder(self._segment_index), version=BAG_VERSION,
                               storage_plugin=StoragePlugin.MCAP)
        self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        self._connections = {}
        for topic in self._topics:
            self._add_connection(topic)
        self._segment_started = self._clock()

    def _add_connection(self, topic: str) -> None:
        assert self._writer is not None
        info = self._topics[topic]
        definition, _ = self._typestore.generate_msgdef(info.msgtype, ros_version=2)
        self._connections[topic] = self._writer.add_connection(
            topic, info.msgtype, msgdef=definition,
            rihs01=installed_type_hash(info.msgtype) or self._typestore.hash_rihs01(info.msgtype),
            offered_qos_profiles=list(info.qos)
        )

    def _close_segment(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        folder = self._segment_folder(self._segment_index)
        metadata = YAML(typ="safe").load((folder / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        name = f"{self.path.name}_{self._segment_index}.mcap"
        (folder / metadata["relative_file_paths"][0]).replace(self.path / name)
        shutil.rmtree(folder)
        metadata["relative_file_paths"] = [name]
        metadata["files"][0]["path"] = name
        self._segments.append(metadata)
        self._segment_index += 1
        self._write_metadata()

    def _write_metadata(self) -> None:
        """metadata.yaml listing every closed segment, replaced atomically."""
        # Without messages yet, the newest empty segment stands for the bag (it declares every topic known).
        with_messages = [s for s in self._segments if s["message_count"]] or self._segments[-1:]
        topics: dict[tuple[str, str], dict[str, Any]] = {}
        for segment in with_messages:
            for entry in segment["topics_with_message_count"]:
                key = (entry["topic_metadata"]["name"], entry["topic_metadata"]["type"])
                if key in topics:
                    topics[key]["message_count"] += entry["message_count"]
                else:
                    topics[key] = {"topic_metadata": entry["topic_metadata"], "message_count": entry["message_count"]}
        starts = [s["starting_time"]["nanoseconds_since_epoch"] for s in with_messages if s["message_count"]]
        ends = [
            s["starting_time"]["nanoseconds_since_epoch"] + s["duration"]["nanoseconds"]
            for s in with_messages
            if s["message_count"]
        ]
        start = min(starts) if starts else 0
        information = {
            "version": BAG_VERSION,
            "storage_identifier": "mcap",
            "relative_file_paths": [s["relative_file_paths"][0] for s in with_messages],
            "duration": {"nanoseconds": (max(ends) - start) if ends else 0},
            "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": sum(s["message_count"] for s in with_messages),
            "topics_with_message_count": list(topics.values()),
            "compression_format": "",
            "compression_mode": "",
            "files": [s["files"][0] for s in with_messages],
            "custom_data": None,
            "ros_distro": ROS_DISTRO,
        }
        for segment in self._segments:
            if segment not in with_messages:
                (self.path / segment["relative_file_paths"][0]).unlink(missing_ok=True)
        self._segments = with_messages
        yaml = YAML(typ="safe")
        yaml.default_flow_style = False
        temporary = self.path / "metadata.yaml.tmp"
        with temporary.open("w", encoding="utf8") as stream:
            yaml.dump({"rosbag2_bagfile_information": information}, stream)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(self.path / "metadata.yaml")


def open_bag(path: str | Path) -> Reader:
    """An open rosbags Reader of a bag folder (or a ``session.mcap`` name of one) or a single .mcap file."""
    given = Path(path)
    if not given.exists() and bag_directory(given).is_dir():
        given = bag_directory(given)
    if not given.exists():
        raise BagError(f"{path}: no such bag")
    if given.is_dir() and not (given / "metadata.yaml").is_file():
        raise BagError(f"{path}: not a rosbag2 bag (no metadata.yaml)")
    try:
        reader = Reader(given)
        reader.open()
    except (ReaderError, YAMLError, OSError, KeyError, ValueError, EOFError) as error:
        raise BagError(f"{path}: unreadable bag ({error})") from None
    return reader


def require_topic(reader: Reader, path: str | Path, topic: str) -> None:
    """BagError unless the bag holds messages on ``topic``."""
    info = reader.topics.get(topic)
    if info is None or info.msgcount == 0:
        raise BagError(f"{path}: no {topic} messages in the bag")
