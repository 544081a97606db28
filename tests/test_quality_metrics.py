"""The metrics of the quality benchmark (``benchmarks/quality_metrics.py``) on tiny synthetic
arrays, the benchmark's own synthetic motion, and one short run of ``benchmarks/quality.py`` on
``../shared/eval`` when it is there."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import quality_metrics as qm  # noqa: E402

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"


def square(size=40, top=10, left=10, side=16) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[top:top + side, left:left + side] = True
    return m


def moving_squares(frames=30, speed=2, side=12) -> list[np.ndarray]:
    return [square(size=120, top=40, left=10 + speed * t, side=side) for t in range(frames)]


# -- IoU, boundary F, error ---------------------------------------------------------------------

def test_iou_is_one_for_identical_masks_and_lower_when_shifted():
    a = square()
    assert qm.iou(a, a.copy()) == 1.0
    shifted = square(left=14)   # 16-wide squares overlapping by 12 columns
    assert qm.iou(a, shifted) == pytest.approx(12 / 20)
    assert qm.iou(a, square(left=30, side=8)) == 0.0
    empty = np.zeros_like(a)
    assert qm.iou(empty, empty) == 1.0


def test_iou_rejects_masks_of_different_shapes():
    with pytest.raises(ValueError):
        qm.iou(square(size=40), square(size=41))


def test_boundary_is_the_one_pixel_ring_inside_the_mask():
    b = qm.boundary(square(side=16))
    assert b.sum() == 16 * 4 - 4
    assert not b[12:24, 12:24].any()       # the interior is not boundary
    assert b[10, 10:26].all() and not b[9].any()
    # the picture's own border is not an edge: a mask filling the picture has no boundary
    assert not qm.boundary(np.ones((8, 8), bool)).any()


def test_boundary_f_is_one_for_identical_masks_and_within_the_tolerance():
    a = square()
    assert qm.boundary_f(a, a.copy(), tolerance=2) == 1.0
    assert qm.boundary_f(a, square(left=11), tolerance=2) == 1.0   # one pixel off, within 2


def test_boundary_f_drops_when_the_shift_exceeds_the_tolerance():
    a = square()
    shifted = square(left=15)   # 5 pixels off: left and right edges unmatched at tolerance 2
    f = qm.boundary_f(a, shifted, tolerance=2)
    assert 0.0 < f < 0.8
    assert qm.boundary_f(a, shifted, tolerance=6) == 1.0
    assert qm.boundary_f(a, shifted, tolerance=2) < qm.boundary_f(a, square(left=12), tolerance=2)


def test_boundary_f_with_an_empty_mask():
    empty = np.zeros((40, 40), bool)
    assert qm.boundary_f(empty, empty, tolerance=2) == 1.0
    assert qm.boundary_f(square(), empty, tolerance=2) == 0.0
    assert qm.boundary_f(empty, square(), tolerance=2) == 0.0


def test_tolerance_kernel_is_rounded_and_at_least_one_pixel():
    assert qm.tolerance_kernel(0.2).shape == (3, 3)
    assert qm.tolerance_kernel(2.0).shape == (5, 5)
    assert qm.tolerance_kernel(6.4).shape == (13, 13)
    assert qm.tolerance_kernel(6.6).shape == (15, 15)


def test_mean_abs_error():
    truth = square()
    assert qm.mean_abs_error(truth.astype(np.float32), truth) == 0.0
    half = np.full(truth.shape, 0.5, np.float32)
    assert qm.mean_abs_error(half, truth) == pytest.approx(0.5)
    assert qm.mean_abs_error(1.0 - truth.astype(np.float32), truth) == 1.0


def test_diagonal():
    assert qm.diagonal((480, 640, 3)) == 800.0


# -- stillness ----------------------------------------------------------------------------------

def test_still_pixels_allow_less_than_two_levels_in_every_channel():
    a = np.full((4, 4, 3), 100, np.uint8)
    b = a.copy()
    b[0, 0, 2] = 101   # one level: still
    b[1, 1, 0] = 102   # two levels in one channel: moved
    b[2, 2, 1] = 98
    still = qm.still_pixels(a, b)
    assert still[0, 0] and not still[1, 1] and not still[2, 2]
    assert still.sum() == 14


def test_outline_band_follows_the_outline_not_the_soft_pixels():
    mask = square(size=60, top=20, left=20, side=20)
    band = qm.outline_band(mask, radius=3)
    assert band[20, 30] and band[17, 30] and band[22, 30]       # on, outside and inside the edge
    assert not band[30, 30] and not band[5, 5]                  # deep inside, far outside
    assert not qm.outline_band(np.zeros((10, 10), bool), 3).any()


def test_still_change_measures_flicker_in_the_band_and_nothing_when_still():
    mask = square(size=60, top=20, left=20, side=20)
    alpha = mask.astype(np.float32)
    still = np.ones(mask.shape, bool)
    band = qm.outline_band(mask, radius=3)
    assert qm.still_change(alpha, alpha.copy(), still, band) == (0.0, mask.size, 0.0, int(band.sum()))
    flicker = alpha.copy()
    flicker[20, 20:40] = 0.5            # the top edge flickers by 0.5 over 20 pixels
    total, n, edge_total, edge_n = qm.still_change(alpha, flicker, still, band)
    assert total == pytest.approx(10.0) and edge_total == pytest.approx(10.0)
    assert edge_total / edge_n > total / n
    moving = np.zeros(mask.shape, bool)   # where the picture moved, change is not counted
    assert qm.still_change(alpha, flicker, moving, band) == (0.0, 0, 0.0, 0)


# -- dtSSD and lag --------------------------------------------------------------------------------

def test_dtssd_is_zero_for_identical_sequences_and_for_a_constant_error():
    truth = [m.astype(np.float32) for m in moving_squares(frames=8)]
    assert qm.dtssd(truth, [t.copy() for t in truth]) == 0.0
    biased = [np.clip(t + 0.1, 0, 1.1) for t in truth]   # the same error every frame: no temporal error
    assert qm.dtssd(biased, truth) == pytest.approx(0.0, abs=1e-5)


def test_dtssd_measures_flicker():
    still = [np.zeros((10, 10), np.float32)] * 5
    flicker = [np.full((10, 10), 0.1 * (t % 2), np.float32) for t in range(5)]
    # every step changes by 0.1 everywhere: sqrt(mean(0.1**2)) * 100 = 10
    assert qm.dtssd(flicker, still) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        qm.dtssd(flicker, still[:4])


def test_lag_of_a_sequence_delayed_by_two_frames_is_two():
    truth = moving_squares()
    delayed = [truth[max(0, t - 2)] for t in range(len(truth))]
    assert qm.lag_frames(delayed, truth) == pytest.approx(2.0, abs=1e-6)
    assert qm.lag_frames([t.copy() for t in truth], truth) == pytest.approx(0.0, abs=1e-6)
    ahead = [truth[min(len(truth) - 1, t + 1)] for t in range(len(truth))]
    assert qm.lag_frames(ahead, truth) == pytest.approx(-1.0, abs=1e-6)


def test_lag_finds_a_fraction_of_a_frame_between_neighbours():
    truth = moving_squares(speed=2)
    half = [square(size=120, top=40, left=10 + 2 * t - 3, side=12) for t in range(len(truth))]   # 1.5 frames behind
    assert 1.2 < qm.lag_frames(half, truth) < 1.8


def test_lag_needs_enough_frames():
    with pytest.raises(ValueError):
        qm.lag_frames(moving_squares(frames=10), moving_squares(frames=10), max_shift=5)


# -- the benchmark's synthetic motion and configurations ------------------------------------------

@pytest.fixture(scope="module")
def quality():
    import quality

    return quality


def test_sweep_peaks_at_twelve_pixels_per_frame(quality):
    xs = [quality.motion_pose("sweep", t, 90)[0] for t in range(91)]
    speeds = np.abs(np.diff(xs))
    assert 11.9 < speeds.max() <= 12.0
    assert xs[0] == 0.0 and abs(xs[90]) < 1e-9          # one full period, back where it started
    assert quality.motion_pose("still", 40, 90) == (0.0, 0.0, 1.0)


def test_synthetic_frames_are_the_exact_composite_of_their_alpha(quality):
    h, w = 400, 200
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[...] = (200, 30, 30)
    alpha = np.zeros((h, w), np.float32)
    alpha[50:, 40:160] = 1.0
    subject = quality.Subject("red", rgb, alpha, (100.0, float(h)))
    background = np.zeros((480, 640, 3), np.uint8)
    background[...] = (20, 40, 220)
    frames = list(quality.sequence(subject, background, "sweep", 12, seed=1))
    assert len(frames) == 12
    for picture, truth in frames:
        assert picture.shape == (480, 640, 3) and picture.dtype == np.uint8
        assert truth.shape == (480, 640) and 0.0 <= truth.min() and truth.max() <= 1.0
        expected = np.array((200, 30, 30), np.float32) * truth[..., None] + \
            np.array((20, 40, 220), np.float32) * (1 - truth[..., None])
        # only sensor noise (sigma 2 levels) separates the picture from its composite
        assert np.abs(picture - expected).mean() < 2.5
        assert np.abs(picture - expected).max() < 15
    first, later = frames[0][1], frames[3][1]
    cols_first = np.nonzero(first.max(axis=0) >= 0.5)[0]
    cols_later = np.nonzero(later.max(axis=0) >= 0.5)[0]
    assert cols_later.min() > cols_first.min() + 10   # the person moved right


def test_a_softened_edge_carries_the_persons_colour_not_the_photos_room(quality):
    """The composite set's true colour beyond the mask is the person's, carried out from inside."""
    h, w = 120, 160
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, :80] = (200, 30, 30)        # the person
    rgb[:, 80:] = (20, 40, 220)        # the photo's own room
    rgb[:, 40] = (90, 200, 90)         # a stripe inside the person
    alpha = np.zeros((h, w), np.float32)
    alpha[:, :80] = 1.0
    out = quality.extend_person(rgb, alpha)
    assert out.dtype == np.float32 and out.shape == rgb.shape
    np.testing.assert_array_equal(out[:, :80], rgb[:, :80])              # inside: unchanged
    assert np.abs(out[:, 80:] - np.float32((200, 30, 30))).max() <= 3.0  # beyond: the person's red


def test_configurations(quality):
    from vcam.errors import VcamError

    label, raw = quality.parse_config("raw")
    assert label == "raw" and raw.matte.smoothing == 0.0 and raw.effect.effect == "cutout"
    assert raw.segment.backend == "onnx" and raw.segment.model == "general"
    assert raw.segment.follow is False and (raw.matte.threshold, raw.matte.softness) == (0.5, 1.0)
    assert raw.segment.skip_still is False   # the model's own matte of every frame, none kept
    _, default = quality.parse_config("default")
    from vcam.config import Settings

    assert default.matte == Settings().matte and default.effect.effect == "cutout" and default.effect.clean_edges
    label, tuned = quality.parse_config("matte.smoothing=0.3+matte.motion=0.1")
    assert tuned.matte.smoothing == 0.3 and tuned.matte.motion == 0.1
    assert quality.parse_config("segment.follow=false")[1].segment.follow is False
    for bad in ("nosuch", "matte.nosuch=1", "matte.smoothing=2"):
        with pytest.raises(VcamError):
            quality.parse_config(bad)


@pytest.mark.skipif(not (EVAL / "portraits").is_dir() or not (EVAL / "clips").is_dir(),
                    reason=f"no evaluation material at {EVAL}")
def test_quality_benchmark_runs_on_the_evaluation_material():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "quality.py"), "--limit", "1", "--frames", "14", "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["configs"]) == {"raw", "default"}
    for config in ("raw", "default"):
        images = report["images"][config]
        assert images["count"] == 1
        for key in ("iou_mean", "iou_median", "bf"):
            assert 0.5 < images[key] <= 1.0, key
        assert 0.0 < images["bf_tight"] < images["bf"]
        assert 0.0 <= images["mae"] < 0.2
        clip = next(iter(report["stillness"][config]["clips"].values()))
        assert clip["frames"] == 14 and 0.0 <= clip["all"] < 0.1 and 0.0 <= clip["edge"] < 0.2
        motion = report["motion"][config]
        assert [s["motion"] for s in motion["sequences"]] == ["sweep", "lean", "zoom", "still"]
        assert 0.8 < motion["mean"]["iou"] <= 1.0 and motion["mean"]["dtssd"] >= 0.0
        assert abs(motion["by_motion"]["sweep"]["lag"]) <= 5 and motion["by_motion"]["still"]["lag"] is None
        assert 0.0 < motion["mean"]["model_share"] <= 1.0 and clip["model_share"] is not None
    # the made rooms and the rooms as photographed (textured, JPEG'd): the same measures, and the
    # textured room behind the edge costs the exact alpha's cut-out more than the blurred one
    for name in ("composite", "rooms"):
        for label in ("raw", "default", "exact alpha", "exact alpha, clean edges"):
            assert 0.0 < report[name][label]["mean"]["band_error"] < 60.0, (name, label)
    assert report["rooms"]["exact alpha"]["mean"]["band_error"] > report["composite"]["exact alpha"]["mean"]["band_error"]


@pytest.mark.skipif(not (EVAL / "portraits").is_dir(), reason=f"no evaluation material at {EVAL}")
def test_clean_edges_are_no_worse_than_the_cameras_colour_in_a_real_room():
    """Issue 25's failure on real material: a person over a room as photographed (a busy shop
    front behind the edge, JPEG), the default matte's cut-out. Taking the room's estimate out of
    each soft pixel laid its texture over the new background, worse than the camera's colour;
    sharing the residual between person and room by their spreads is not."""
    result = subprocess.run([sys.executable, str(BENCHMARKS / "quality.py"), "--set", "rooms", "--limit", "1",
                             "--frames", "30", "--compare", "default,effect.clean_edges=false", "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rooms = json.loads(result.stdout)["rooms"]
    clean, camera = rooms["default"]["mean"], rooms["effect.clean_edges=false"]["mean"]
    assert clean["band_error"] <= camera["band_error"] and clean["mixed_error"] <= camera["mixed_error"], (clean, camera)
    exact = rooms["exact alpha, clean edges"]["mean"]["band_error"]
    assert exact < 0.8 * rooms["exact alpha"]["mean"]["band_error"]


def test_the_band_classes_split_every_pixel_once():
    import band_error

    truth = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.01, 0.99], np.float32)
    guess = np.array([0.0, 0.04, 0.3, 1.0, 0.97, 0.6, 0.9, 0.2, 0.95], np.float32)
    masks = band_error.classes(truth, guess)
    assert np.array_equal(np.sum(masks, axis=0), np.ones(truth.size))   # each pixel in exactly one class
    named = dict(zip(band_error.CLASSES, masks))
    assert named["mixed"].tolist() == [False] * 6 + [True, False, False]
    assert named["spill out"].tolist() == [False, False, True] + [False] * 4 + [True, False]
    assert named["spill in"].tolist() == [False] * 5 + [True, False, False, False]
    assert named["right"].tolist() == [True, True, False, True, True, False, False, False, True]


@pytest.mark.skipif(not (EVAL / "portraits").is_dir(), reason=f"no evaluation material at {EVAL}")
def test_the_band_error_split_adds_up_to_quality_pys_band_error():
    """``benchmarks/band_error.py`` splits the rooms set's band error by class and colour: its
    classes add up to the figure ``quality.py`` gives for the same run, and without clean edges
    vcam's colour is the camera's own."""
    run = [sys.executable, "--set", "rooms", "--limit", "1", "--frames", "4", "--compare", "effect.clean_edges=false",
           "--json"]
    split = subprocess.run([run[0], str(BENCHMARKS / "band_error.py"), *run[1:]], capture_output=True, text=True,
                           timeout=600)
    whole = subprocess.run([run[0], str(BENCHMARKS / "quality.py"), *run[1:]], capture_output=True, text=True,
                           timeout=600)
    assert split.returncode == 0 and whole.returncode == 0, split.stderr + whole.stderr
    rows = json.loads(split.stdout)["effect.clean_edges=false"]
    band = json.loads(whole.stdout)["rooms"]["effect.clean_edges=false"]["mean"]["band_error"]
    assert sum(rows[c]["vcam"] for c in ("mixed", "spill out", "spill in", "right")) == pytest.approx(band, rel=1e-4)
    assert rows["band"]["vcam"] == pytest.approx(band, rel=1e-4)
    assert rows["band"]["camera"] == pytest.approx(band, rel=1e-4)
    assert rows["band"]["true"] < band


TUNED_CLIPS = ("green-screen-child", "talking-head-kitchen", "talking-head-plain-wall")   # issue 25's three


@pytest.mark.skipif(not (EVAL / "clips").is_dir(), reason=f"no evaluation material at {EVAL}")
def test_still_edges_flicker_under_two_fifths_of_the_raw_models_on_every_real_clip():
    """Issues 25 and 40: where the picture is still, the live matte's outline changes by at most
    40% of what the model's own matte of every frame does, on every real clip (the first 60
    frames): the three it was tuned on and those added since, which it was only checked on
    (44-54% a round ago; docs/quality.md has the figures of each)."""
    result = subprocess.run([sys.executable, str(BENCHMARKS / "quality.py"), "--set", "stillness", "--frames", "60",
                             "--compare", "raw,default", "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    still = json.loads(result.stdout)["stillness"]
    assert set(TUNED_CLIPS) <= set(still["raw"]["clips"])
    for clip, raw in still["raw"]["clips"].items():
        live = still["default"]["clips"][clip]
        assert raw["model_share"] == 1.0                      # the raw model ran on every frame
        assert live["edge"] <= 0.4 * raw["edge"], (clip, live["edge"], raw["edge"])


def test_the_noisy_set_codes_each_clip_again_with_a_dim_webcams_noise(quality, tmp_path):
    clip = tmp_path / "in" / "still.mp4"
    clip.parent.mkdir()
    picture = np.zeros((64, 96, 3), np.uint8)
    picture[:, 40:] = (180, 120, 90)
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for _ in range(8):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    (tmp_path / "out").mkdir()
    noisy = quality.noisy_copy(clip, tmp_path / "out", seed=0)
    assert noisy == tmp_path / "out" / "still.mp4"
    with av.open(str(clip)) as a, av.open(str(noisy)) as b:
        before = [f.to_ndarray(format="rgb24").astype(np.int16) for f in a.decode(video=0)]
        after = [f.to_ndarray(format="rgb24").astype(np.int16) for f in b.decode(video=0)]
    assert len(after) == len(before) == 8 and after[0].shape == before[0].shape
    changes = [np.abs(x - y).mean() for x, y in zip(after[1:], after[:-1])]
    assert min(changes) > 1.0                                 # the noise is new every frame
    assert np.abs(np.mean(after, axis=0) - np.mean(before, axis=0)).mean() < 4.0   # the picture kept


@pytest.mark.skipif(not (EVAL / "clips" / "plain-wall-woman-hair-up.mp4").is_file(),
                    reason=f"no evaluation clip at {EVAL}")
def test_no_light_rim_round_hair_on_a_real_bright_wall():
    """Issue 40 on a real clip (a woman, hair up, in front of a bright plain wall): the wall kept
    round her that a cut-out over dark grey shows plainly, by benchmarks/halo.py. The model's own
    matte keeps some (4-5% of the wall pixels by her outline); vcam's matte without the pull-in
    kept more (6%); with it, under half the model's."""
    result = subprocess.run([sys.executable, str(BENCHMARKS / "halo.py"), "--clips", "plain-wall-woman-hair-up",
                             "--frames", "30", "--compare", "bare,default,effect.clean_edges=false", "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    clip = json.loads(result.stdout)["plain-wall-woman-hair-up"]
    bare, live, unpulled = clip["bare"], clip["default"], clip["effect.clean_edges=false"]
    assert live["wall_pixels"] > 10_000
    assert unpulled["visible"] > bare["visible"] > 0.02, (unpulled, bare)
    assert live["visible"] < 0.5 * bare["visible"], (live, bare)
