"""Sinks: a virtual camera that wants I420 gets I420 from one conversion of ours; files whole."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import pyvirtualcam
from pyvirtualcam.util import encode_fourcc

from vcam.config import OutputSettings
from vcam.errors import VcamError
from vcam.live.sinks import NullSink, VideoFileSink, VirtualCameraSink, open_sink


class I420Backend:
    """Fake v4l2loopback hardware: native I420, keeps what it is sent."""

    sent: list = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw) -> None:
        self.fourcc = fourcc
        self._device = device or "/dev/i420"

    def send(self, frame) -> None:
        type(self).sent.append((self.fourcc, frame.copy()))

    def close(self) -> None:
        pass

    def device(self) -> str:
        return self._device

    def native_fourcc(self):
        return encode_fourcc("I420")


@pytest.fixture
def i420_backend():
    I420Backend.sent = []
    pyvirtualcam.register_backend("i420-test", I420Backend)
    yield I420Backend
    pyvirtualcam.camera.BACKENDS.pop("i420-test", None)


def test_a_device_that_wants_i420_gets_it_converted_once_and_right(i420_backend, astronaut_rgb):
    frame = np.ascontiguousarray(cv2.resize(astronaut_rgb, (320, 240)))
    sink = VirtualCameraSink(320, 240, 30.0, backend="i420-test")
    assert sink.fmt == "I420" and "I420" in sink.name
    data = sink.convert(frame)
    assert data.shape == (240 * 3 // 2, 320) and data.dtype == np.uint8
    sink.send(data)
    sink.close()
    sink.close()                                            # safe twice
    fourcc, sent = i420_backend.sent[-1]
    assert fourcc == encode_fourcc("I420")
    back = cv2.cvtColor(sent.reshape(240 * 3 // 2, 320), cv2.COLOR_YUV2RGB_I420)
    assert np.abs(back.astype(int) - frame.astype(int)).mean() < 6   # chroma subsampling only


def test_an_rgb_device_gets_the_frame_itself(recording_backend, astronaut_rgb):
    frame = np.ascontiguousarray(cv2.resize(astronaut_rgb, (64, 48)))
    sink = VirtualCameraSink(64, 48, 30.0, backend="recording")
    assert sink.fmt == "RGB" and sink.convert(frame) is frame
    sink.close()


def test_unknown_virtual_camera_backend_names_the_ones_there_are():
    with pytest.raises(VcamError, match="unknown virtual camera backend 'nope'"):
        VirtualCameraSink(64, 48, 30.0, backend="nope")


def test_video_file_sink_renames_into_place_only_when_finished(tmp_path):
    path = tmp_path / "clip.mp4"
    sink = open_sink(OutputSettings(target=str(path)), 64, 48, 10.0)
    assert isinstance(sink, VideoFileSink)
    frame = np.full((48, 64, 3), 120, np.uint8)
    for _ in range(5):
        sink.send(sink.convert(frame))
    assert not path.exists()                                # still under its temporary name
    sink.close()
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_video_file_sink_abandoned_leaves_nothing(tmp_path):
    path = tmp_path / "clip.avi"
    sink = VideoFileSink(path, 64, 48, 10.0)
    sink.send(sink.convert(np.zeros((48, 64, 3), np.uint8)))
    sink.close(keep=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target, words", [("out.gif", "unknown type"), ("missing/out.mp4", "does not exist")])
def test_video_file_sink_refuses_bad_targets(tmp_path, target, words):
    with pytest.raises(VcamError, match=words):
        VideoFileSink(tmp_path / target, 64, 48, 10.0)


def test_null_sink_takes_anything():
    sink = open_sink(OutputSettings(target="null"), 64, 48, 30.0)
    assert isinstance(sink, NullSink) and not sink.keep_fed
    frame = np.zeros((48, 64, 3), np.uint8)
    assert sink.convert(frame) is frame
    sink.send(frame)
