"""`vcam bench` end to end: the real pipeline measured, one JSON document on standard output."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from vcam import bench
from vcam.config import Settings
from vcam.errors import VcamError
from vcam.live.sources import Source
from vcam.live.stats import OPTIONAL, PROCESSING


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcam", "bench", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_bench_json_is_one_document_with_every_figure(tmp_path):
    plot = tmp_path / "stages.png"
    # --every-frame: the model runs on every frame (the small demo's sway can be too slow to
    # count as motion, and the skipped frames' segment stage would leave too little to draw)
    result = run_cli("--resolution", "320x240", "160x120", "--effects", "blur", "color", "--frames", "20",
                     "--every-frame", "--json", "--plot", str(plot), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)               # the whole of stdout is one JSON document
    assert [(r["resolution"], r["effect"]) for r in runs] == [
        ("320x240", "blur"), ("320x240", "color"), ("160x120", "blur"), ("160x120", "color")]
    always = [s for s in PROCESSING if s not in OPTIONAL]   # denoise and light only where turned on
    for r in runs:
        assert r["frames"] == 20
        assert set(always) <= set(r["stages"]) and not set(OPTIONAL) & set(r["stages"])
        medians = [r["stages"][s]["median_ms"] for s in always]
        p95s = [r["stages"][s]["p95_ms"] for s in always]
        assert all(m <= p for m, p in zip(medians, p95s))
        # the median of per-frame sums lies between the largest stage median and the sum of p95s
        assert max(medians) <= r["processing_ms"] <= sum(p95s) + 1e-6
        assert r["fps"] > 0 and r["live_fps"] > 0
        assert r["model_share"] == 1.0 and r["live_model_share"] == 1.0
        assert r["processing_mean_ms"] > 0
        assert 0 < r["cpu_ms_per_frame"] and 0 < r["cpu_percent"]
        assert 0 < r["latency_ms"] <= r["latency_p95_ms"]
        assert r["peak_memory_mb"] > 50
        assert r["sink"] == "virtual" and r["stages"]["convert"]["median_ms"] > 0   # RGB -> I420
    assert "throughput" in result.stderr and "live" in result.stderr              # progress on stderr
    picture = cv2.imread(str(plot))
    assert picture is not None and picture.shape[0] >= 300
    # drawn with Qt, no plotting library: one bar per run, each stacked in the stage colours
    segment_color = np.all(picture == (178, 114, 0), axis=2)          # "segment", #0072B2 as BGR
    columns = np.flatnonzero(segment_color.sum(axis=0) > 20)
    assert len(columns) and len(np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)) == len(runs)
    assert not list(tmp_path.glob(".stages.partial-*"))
    assert f"saved the chart to {plot}" in result.stderr
    # the bars are the processing figure everywhere: each run's stacks add up to its processing_ms
    stacks = bench.chart_series(runs)
    assert "capture" not in stacks
    for i, r in enumerate(runs):
        assert abs(sum(v[i] for v in stacks.values()) - r["processing_ms"]) < 1e-6


def test_bench_table_by_default(tmp_path):
    result = run_cli("--resolution", "160x120", "--frames", "12", "--sink", "null", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["run", "fps", "proc"]
    assert lines[2].startswith("160x120 blur")
    # the share of frames the model ran on, in % (the small demo at 160x120 sways too slowly to
    # count as moving on every frame, so some frames skip it; the first three never do)
    assert lines[0].split()[-2] == "model%"
    share = int(lines[2].split()[-2])
    assert 0 < share <= 100


@pytest.mark.parametrize("args, words", [
    (("--resolution", "wide"), "cannot read resolution"),
    (("--resolution", "99999x10"), "out of range"),
    (("--frames", "3"), "--frames must be at least 10"),
    (("--source", "missing.mp4"), "neither a camera nor an existing file"),
    (("--plot", "stages.jpg"), "the chart is a PNG picture"),
    (("--plot", "no/such/folder/stages.png"), "does not exist"),
    (("--preload", "-1"), "--preload must be 0 (off) or a number of frames"),
    (("--preload", "100000", "--resolution", "1920x1080"), "preload at most 345 frames"),
])
def test_bench_bad_options_exit_2(tmp_path, args, words):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def astronaut_clip(folder) -> Path:
    """A 6-frame 96x64 clip of the astronaut."""
    path = folder / "clip.mp4"
    picture = cv2.cvtColor(cv2.resize(data.astronaut(), (96, 64)), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (96, 64))
    for _ in range(6):
        writer.write(picture)
    writer.release()
    return path


def test_a_file_source_is_scaled_to_the_resolution_asked(tmp_path):
    path = astronaut_clip(tmp_path)
    run = bench.measure(bench.Run(str(path), (200, 150), Settings(), frames=15, sink="null"))
    assert run["resolution"] == "200x150" and run["frames"] == 15   # a 6-frame file, looped and scaled


def test_parse_resolution():
    assert bench.parse_resolution("1280x720") == (1280, 720)
    with pytest.raises(VcamError):
        bench.parse_resolution("1280")


def test_preloaded_frames_are_the_sources_own_scaled_and_replayed_in_a_loop(tmp_path):
    from vcam.live.sources import PreloadedSource, VideoSource

    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (96, 64))
    for i in range(5):   # five frames, each a different grey
        writer.write(np.full((64, 96, 3), 40 * i + 20, np.uint8))
    writer.release()
    source = PreloadedSource(VideoSource(path, live=False, loop=False), (48, 32), 8, live=False)
    assert source.size == (48, 32) and "5 frames preloaded" in source.name   # the file held only five
    out = np.empty((32, 48, 3), np.uint8)
    greys = []
    for _ in range(7):
        assert source.read(out)
        greys.append(int(out.mean()))
    assert greys[5:] == greys[:2], greys                            # replayed from the first
    assert all(b - a > 25 for a, b in zip(greys[:4], greys[1:5])), greys   # each its own frame
    source.close()
    with pytest.raises(VcamError, match="gave no frame"):
        PreloadedSource(_Empty(), (48, 32), 4, live=False)


class _Empty(Source):
    name, size, fps, live = "empty", (48, 32), 30.0, False

    def read(self, out):
        return False

    def close(self):
        pass


def test_bench_preload_leaves_decoding_out(tmp_path):
    path = astronaut_clip(tmp_path)
    result = run_cli("--source", str(path), "--preload", "4", "--resolution", "160x120", "--frames", "12",
                     "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run,) = json.loads(result.stdout)
    assert run["preload"] == 4 and run["frames"] == 12 and run["resolution"] == "160x120"
