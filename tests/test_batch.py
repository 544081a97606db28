"""``vcam process``: pictures, folders and videos through the real model, checked file by file."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import count_frames

from vcam.cli import main


def bgr(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())



def assert_person_matte(matte: np.ndarray, regions: dict) -> None:
    assert matte.ndim == 2 and matte.dtype == np.uint8
    assert matte[regions["face"]].mean() > 200
    assert matte[regions["suit"]].mean() > 200
    assert matte[regions["background"]].mean() < 30
    assert matte[regions["flag"]].mean() < 30


@pytest.fixture
def picture_folder(tmp_path: Path, astronaut_rgb: np.ndarray) -> Path:
    """The astronaut four ways: 8-bit RGB PNG, greyscale JPEG, 16-bit TIFF, RGBA PNG."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    b = bgr(astronaut_rgb)
    assert cv2.imwrite(str(folder / "astronaut.png"), b)
    assert cv2.imwrite(str(folder / "grey.jpg"), cv2.cvtColor(b, cv2.COLOR_BGR2GRAY))
    assert cv2.imwrite(str(folder / "deep.tif"), b.astype(np.uint16) * 257)
    assert cv2.imwrite(str(folder / "rgba.png"), np.dstack((b, np.full(b.shape[:2], 255, np.uint8))))
    assert read(folder / "deep.tif").dtype == np.uint16
    assert read(folder / "grey.jpg").ndim == 2
    assert read(folder / "rgba.png").shape[2] == 4
    return folder


def test_folder_of_pictures_to_mattes(tmp_path, picture_folder, regions):
    out = tmp_path / "mattes"
    out.mkdir()
    assert main(["process", str(picture_folder), "--effect", "matte", "-o", str(out)]) == 0
    assert names(out) == ["astronaut.png", "deep.png", "grey.png", "rgba.png"]
    mattes = {p.stem: read(p) for p in out.iterdir()}
    for stem, matte in mattes.items():
        assert matte.shape == (512, 512), stem
        assert_person_matte(matte, regions)
    # the same picture at another depth or with an opaque alpha gives the very same matte
    np.testing.assert_array_equal(mattes["deep"], mattes["astronaut"])
    np.testing.assert_array_equal(mattes["rgba"], mattes["astronaut"])
    assert names(picture_folder) == ["astronaut.png", "deep.tif", "grey.jpg", "rgba.png"]


def test_cutout_is_rgba_with_the_matte_as_alpha(tmp_path, astronaut_png, astronaut_rgb):
    mattes, cutouts = tmp_path / "mattes", tmp_path / "cutouts"
    assert main(["process", str(astronaut_png), "--effect", "matte", "-o", str(mattes)]) == 0
    assert main(["process", str(astronaut_png), "--effect", "cutout", "-o", str(cutouts)]) == 0
    assert names(cutouts) == ["astronaut.png"]
    cut = read(cutouts / "astronaut.png")
    assert cut.shape == (512, 512, 4) and cut.dtype == np.uint8
    np.testing.assert_array_equal(cut[..., 3], read(mattes / "astronaut.png"))
    assert 0.2 < np.mean(cut[..., 3] == 0) < 0.8   # transparent background, opaque person
    sure = (cut[..., 3] == 0) | (cut[..., 3] == 255)
    np.testing.assert_array_equal(cut[..., :3][sure], bgr(astronaut_rgb)[sure])   # the picture as shot
    assert (cut[..., :3][~sure] != bgr(astronaut_rgb)[~sure]).any()              # the soft edge cleaned
    plain = tmp_path / "plain"
    assert main(["process", str(astronaut_png), "--effect", "cutout", "--no-clean-edges", "-o", str(plain)]) == 0
    np.testing.assert_array_equal(read(plain / "astronaut.png")[..., :3], bgr(astronaut_rgb))


def test_replace_with_harmonize_tints_the_person_and_refuses_a_bad_strength(tmp_path, astronaut_png, capsys):
    blue = tmp_path / "blue.png"
    assert cv2.imwrite(str(blue), np.full((512, 512, 3), (250, 60, 30), np.uint8))   # BGR: blue
    outs = {}
    for strength in ("0", "0.8"):
        folder = tmp_path / f"out-{strength.replace('.', '-')}"
        assert main(["process", str(astronaut_png), "--effect", "replace", "--background", str(blue),
                     "--light-wrap", "0", "--harmonize", strength, "-o", str(folder)]) == 0
        outs[strength] = read(folder / "astronaut.png").astype(int)
    matte = tmp_path / "matte"
    assert main(["process", str(astronaut_png), "--effect", "matte", "-o", str(matte)]) == 0
    person = read(matte / "astronaut.png") == 255
    blueness = {k: (v[..., 0] - v[..., 2])[person].mean() for k, v in outs.items()}   # B - R
    assert blueness["0.8"] > blueness["0"] + 10
    np.testing.assert_array_equal(outs["0.8"][~person & (read(matte / "astronaut.png") == 0)],
                                  outs["0"][~person & (read(matte / "astronaut.png") == 0)])
    capsys.readouterr()
    assert main(["process", str(astronaut_png), "--effect", "replace", "--background", str(blue),
                 "--harmonize", "2", "-o", str(tmp_path / "bad")]) == 2
    assert "harmonize" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.fixture
def moving_video(tmp_path: Path, astronaut_rgb: np.ndarray) -> tuple[Path, int, list[int]]:
    """12 frames (256x256) of the astronaut sliding right 6 pixels a frame; returns the path, the
    number of frames OpenCV decodes from it, and each frame's shift."""
    small = cv2.resize(bgr(astronaut_rgb), (256, 256), interpolation=cv2.INTER_AREA)
    path = tmp_path / "moving.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (256, 256))
    assert writer.isOpened()
    shifts = [6 * i for i in range(12)]
    for dx in shifts:
        m = np.float32([[1, 0, dx], [0, 1, 0]])
        writer.write(cv2.warpAffine(small, m, (256, 256), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    decoded = count_frames(path)
    assert decoded == len(shifts)
    return path, decoded, shifts


def estimated_shift(matte: np.ndarray, first: np.ndarray, most: int = 90) -> int:
    """How far right (pixels) ``matte`` lies from ``first``: the shift that lines them up best."""
    a, b = matte.astype(np.float32), first.astype(np.float32)
    x0, x1 = most, matte.shape[1] - 1
    errors = [np.abs(a[:, x0:x1] - b[:, x0 - dx:x1 - dx]).mean() for dx in range(most + 1)]
    return int(np.argmin(errors))


def test_video_to_one_matte_per_frame_in_order(tmp_path, moving_video):
    video, decoded, shifts = moving_video
    out = tmp_path / "frames"
    assert main(["process", str(video), "--effect", "matte", "-o", str(out)]) == 0
    assert names(out) == [f"{i:06d}.png" for i in range(decoded)]
    mattes = [read(out / f"{i:06d}.png") for i in range(decoded)]
    for i, matte in enumerate(mattes):
        assert matte.shape == (256, 256) and matte.dtype == np.uint8
        assert 0.15 < np.mean(matte > 127) < 0.8, i
    # file i holds the matte of frame i: the person in it has moved as far as in frame i
    found = [estimated_shift(m, mattes[0]) for m in mattes]
    assert all(abs(f - s) <= 3 for f, s in zip(found, shifts)), (found, shifts)


def test_video_blur_keeps_the_frame_count(tmp_path, moving_video):
    video, decoded, _ = moving_video
    out = tmp_path / "out.mp4"
    assert main(["process", str(video), "--effect", "blur", "-o", str(out)]) == 0
    assert count_frames(out) == decoded
    assert not [n for n in names(tmp_path) if "partial" in n]


def test_video_matte_to_a_video_file(tmp_path, moving_video):
    video, decoded, _ = moving_video
    out = tmp_path / "matte.mp4"
    assert main(["process", str(video), "--effect", "matte", "-o", str(out)]) == 0
    assert out.is_file()
    assert count_frames(out) == decoded
    assert not [n for n in names(tmp_path) if "partial" in n]


def test_pictures_in_a_folder_are_independent(tmp_path, astronaut_rgb):
    """A picture processed after another gives the same matte as processed alone: no temporal
    state is carried between the pictures of a folder (strongest smoothing, a near-identical
    picture first, so any carried state would show)."""
    folder = tmp_path / "in"
    folder.mkdir()
    b = bgr(astronaut_rgb)
    shifted = cv2.warpAffine(b, np.float32([[1, 0, 4], [0, 1, 3]]), (512, 512), borderMode=cv2.BORDER_REPLICATE)
    assert cv2.imwrite(str(folder / "a.png"), shifted)
    assert cv2.imwrite(str(folder / "b.png"), b)
    both, alone = tmp_path / "both", tmp_path / "alone"
    assert main(["process", str(folder), "--effect", "matte", "--smoothing", "1", "-o", str(both)]) == 0
    assert main(["process", str(folder / "b.png"), "--effect", "matte", "--smoothing", "1", "-o", str(alone)]) == 0
    assert names(both) == ["a.png", "b.png"]
    matte_b = read(both / "b.png")
    np.testing.assert_array_equal(matte_b, read(alone / "b.png"))
    assert not np.array_equal(matte_b, read(both / "a.png"))   # the two pictures do differ


def test_corrupt_file_among_good_ones(tmp_path, astronaut_rgb, regions, caplog):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    assert cv2.imwrite(str(folder / "a.png"), bgr(astronaut_rgb))
    (folder / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 garbage, not a JPEG " * 100)
    assert cv2.imwrite(str(folder / "c.png"), bgr(np.ascontiguousarray(astronaut_rgb[:, ::-1])))
    with caplog.at_level(logging.ERROR):
        assert main(["process", str(folder), "--effect", "matte", "-o", str(out)]) == 2
    assert names(out) == ["a.png", "c.png"]          # the good ones, and nothing partial
    assert_person_matte(read(out / "a.png"), regions)
    assert read(out / "c.png")[regions["face"][0], 512 - 260:512 - 190].mean() > 200
    assert any("b.jpg" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


@pytest.mark.parametrize("effect", ["blur", "matte"])
def test_output_never_overwrites_an_input(tmp_path, picture_folder, effect):
    before = {p.name: p.read_bytes() for p in picture_folder.iterdir()}
    assert main(["process", str(picture_folder), "--effect", effect, "-o", str(picture_folder)]) == 2
    assert {p.name: p.read_bytes() for p in picture_folder.iterdir()} == before
