"""Make the before/after pictures in README.md and docs/ from pictures the project ships, and the
README's screenshot of the control panel.

    python benchmarks/readme_pictures.py          # writes assets/readme/*.jpg
    python benchmarks/readme_pictures.py --panel  # writes assets/screenshot-panel.png

The portrait is assets/demo.jpg (NASA's astronaut photo, public domain), the backgrounds are the
generated ones in assets/backgrounds/. Every picture goes through vcam's own engine (the code of
`vcam process`), with the settings named in its caption. The screenshot is the real panel at its
default size with the demo source running (what `vcam ui --screenshot` saves), in 256 colours.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from vcam import EffectSettings, Engine, FramingSettings, LightSettings, SegmentSettings, Settings, scaling
from vcam.fileio import pictures
from vcam.system.resources import assets_dir, demo_image

OUT = Path(__file__).resolve().parents[1] / "assets" / "readme"
PANEL = Path(__file__).resolve().parents[1] / "assets" / "screenshot-panel.png"


def render(image: np.ndarray, settings: Settings) -> np.ndarray:
    engine = Engine(settings)
    try:
        out = np.empty_like(image)
        engine.process(image, out, {}, photo=True)
        return out
    finally:
        engine.close()


def label(image: np.ndarray, text: str) -> np.ndarray:
    image = image.copy()
    cv2.rectangle(image, (0, image.shape[0] - 30), (image.shape[1], image.shape[0]), (0, 0, 0), -1)
    cv2.putText(image, text, (8, image.shape[0] - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def save(name: str, image: np.ndarray) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])


def main() -> None:
    portrait = pictures.load_image(demo_image())
    small = cv2.resize(portrait, (384, 384), interpolation=cv2.INTER_AREA)
    dusk = str(assets_dir() / "backgrounds" / "dusk.jpg")
    effects = [
        ("original", None),
        ("blur", EffectSettings("blur")),
        ("bokeh", EffectSettings("bokeh")),
        ("replace (dusk.jpg)", EffectSettings("replace", background=dusk)),
        ("replace, harmonize 0.6", EffectSettings("replace", background=dusk, harmonize=0.6)),
    ]
    tiles = [label(small if e is None else render(small, Settings(effect=e)), name) for name, e in effects]
    save("effects.jpg", np.hstack(tiles))

    # Halo: the person's colours smeared into a plain blur, and vcam's blur that leaves them out.
    crop = (slice(0, 200), slice(220, 420))
    strong = 40.0
    plain = render(portrait, Settings(effect=EffectSettings("blur", blur=strong, halo_free=False)))[crop]
    clean = render(portrait, Settings(effect=EffectSettings("blur", blur=strong)))[crop]
    save("halo.jpg", np.hstack([label(plain, "plain blur: halo"), label(clean, "vcam: no halo")]))

    # Following the person: a small figure in a wide frame, the whole frame vs a crop around her.
    wide = np.full((360, 640, 3), 110, np.uint8)
    wide[120:360, 220:460] = cv2.resize(portrait, (240, 240), interpolation=cv2.INTER_AREA)
    frame_settings = Settings(effect=EffectSettings("color", color=(0, 177, 64)))
    whole = render(wide, frame_settings.replace(segment=SegmentSettings(follow=False)))
    follow = render(wide, frame_settings)
    save("follow.jpg", np.hstack([label(whole[100:, 160:520], "whole frame to the model"),
                                  label(follow[100:, 160:520], "crop that follows the person")]))

    # Hair over a new background: the camera's colour at the soft edge, or the person's own
    # (clean edges), with the selfie model and with MODNet.
    seaside = str(assets_dir() / "backgrounds" / "seaside.jpg")
    hair = (slice(0, 170), slice(130, 330))
    tiles = []
    for model, name in (("general", "selfie model"), ("modnet", "MODNet")):
        for clean in (False, True):
            settings = Settings(segment=SegmentSettings(model=model),
                                effect=EffectSettings("replace", background=seaside, clean_edges=clean))
            tile = cv2.resize(render(portrait, settings)[hair], (300, 255), interpolation=cv2.INTER_CUBIC)
            tiles.append(label(tile, f"{name}, {'clean edges' if clean else 'camera colour'}"))
    save("edges.jpg", np.hstack(tiles))

    # Auto-frame: the person sits low and to one side of a 1280x720 camera picture; the framed
    # picture after one second of video (30 frames), and with blur on the framed picture.
    mask = render_alpha(portrait)
    room = scaling.cover_fit(pictures.load_image(assets_dir() / "backgrounds" / "office.jpg"), 1280, 720)
    scale = 540 / portrait.shape[0]
    person = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)[..., None]
    camera = room.astype(np.float32)
    y0, x0 = 720 - person.shape[0], 120
    spot = camera[y0:, x0:x0 + person.shape[1]]
    spot[...] = person * alpha + spot * (1 - alpha)
    camera = np.clip(camera + 0.5, 0, 255).astype(np.uint8)
    tiles = [label(cv2.resize(camera, (427, 240), interpolation=cv2.INTER_AREA), "camera")]
    for effect, name in (("none", "auto-frame, zoom 2"), ("blur", "auto-frame and blur")):
        framed = render_video(camera, Settings(effect=EffectSettings(effect),
                                               framing=FramingSettings(autoframe=True, zoom=2.0)), 30)
        tiles.append(label(cv2.resize(framed, (427, 240), interpolation=cv2.INTER_AREA), name))
    save("autoframe.jpg", np.hstack(tiles))

    # Studio light: a dim room and a grainy camera (a fifth of the light, gamma 1.3, fresh noise
    # of 4 grey levels each frame), one second of still video through each setting.
    rng = np.random.default_rng(2026)
    lit = small.astype(np.float32) / 255

    def dim_room() -> np.ndarray:
        x = (lit * 0.2) ** 1.3 * 255 + rng.normal(0, 4.0, lit.shape)
        return np.clip(x, 0, 255).astype(np.uint8)

    tiles = [label(dim_room(), "dim room, grainy camera")]
    for name, light in (("low light 1", LightSettings(low_light=1.0)),
                        ("low light 1, denoise 1", LightSettings(low_light=1.0, denoise=1.0))):
        tiles.append(label(render_video(dim_room, Settings(effect=EffectSettings("none"), light=light), 30), name))
    for name, light in (("camera", None), ("key light 1, from the left", LightSettings(key_light=1.0, key_angle=-45.0))):
        tiles.append(label(small if light is None else
                           render_video(small, Settings(effect=EffectSettings("none"), light=light), 30), name))
    save("light.jpg", np.hstack(tiles))

    # Relight: the portrait laid into a dim room under cool light (the office background at 0.45
    # of its light, blue raised and red lowered), then replaced by the warm dusk background.
    cool = cv2.resize(pictures.load_image(assets_dir() / "backgrounds" / "office.jpg"), (384, 384),
                      interpolation=cv2.INTER_AREA).astype(np.float32)
    matte = cv2.resize(mask, (384, 384), interpolation=cv2.INTER_AREA)[..., None]
    room = (small.astype(np.float32) * matte + cool * (1 - matte)) * np.float32((0.38, 0.45, 0.6))
    room = np.clip(room + 0.5, 0, 255).astype(np.uint8)
    tiles = [label(room, "camera: dim room, cool light")]
    for name, effect, light in (("replace (dusk.jpg)", EffectSettings("replace", background=dusk), LightSettings()),
                                ("replace, harmonize 0.6", EffectSettings("replace", background=dusk, harmonize=0.6),
                                 LightSettings()),
                                ("replace, relight 1", EffectSettings("replace", background=dusk),
                                 LightSettings(relight=1.0))):
        tiles.append(label(render(room, Settings(effect=effect, light=light)), name))
    save("relight.jpg", np.hstack(tiles))

    # Looks: the portrait in the office room; blur and portrait there; a shadow on a colour and a
    # gradient; a styled background; the room itself painted; a cut-out with its shadow over a
    # checkerboard.
    office = cv2.resize(pictures.load_image(assets_dir() / "backgrounds" / "office.jpg"), (384, 384),
                        interpolation=cv2.INTER_AREA).astype(np.float32)
    in_room = np.clip(small.astype(np.float32) * matte + office * (1 - matte) + 0.5, 0, 255).astype(np.uint8)
    forest = str(assets_dir() / "backgrounds" / "forest.jpg")
    looks = [("blur 24", EffectSettings("blur", blur=24.0)),
             ("portrait 24", EffectSettings("portrait", blur=24.0)),
             ("gradient, shadow 0.8", EffectSettings("color", color=(238, 238, 238), color_to=(150, 160, 175),
                                                     gradient="radial", shadow=0.8)),
             ("style watercolor", EffectSettings("replace", background=forest, style="watercolor")),
             ("blur, style cartoon (the room)", EffectSettings("blur", style="cartoon"))]
    tiles = [label(in_room, "camera")] + [label(render(in_room, Settings(effect=e)), name) for name, e in looks]
    engine = Engine(Settings(effect=EffectSettings("cutout", shadow=0.8)))
    try:
        out = np.empty_like(in_room)
        alpha = engine.process(in_room, out, {}, photo=True)
        rgba = engine.compositor.cutout(out, alpha, np.empty((384, 384, 4), np.uint8)).astype(np.float32)
    finally:
        engine.close()
    yy, xx = np.mgrid[0:384, 0:384]
    checker = np.where(((yy // 24 + xx // 24) % 2)[..., None] == 1, np.float32(170), np.float32(230))
    a = rgba[..., 3:] / 255
    tiles.append(label(np.clip(rgba[..., :3] * a + checker * (1 - a) + 0.5, 0, 255).astype(np.uint8),
                       "cut-out, shadow 0.8"))
    save("looks.jpg", np.hstack(tiles))


def render_alpha(image: np.ndarray) -> np.ndarray:
    """The photo matte of ``image``, float32 in 0..1."""
    engine = Engine(Settings(effect=EffectSettings("cutout")))
    try:
        return engine.process(image, np.empty_like(image), {}, photo=True).astype(np.float32) / 255.0
    finally:
        engine.close()


def render_video(image, settings: Settings, frames: int) -> np.ndarray:
    """The last of ``frames`` frames of a still video of ``image`` (a picture, or a function that
    gives each frame: a still scene with fresh camera noise)."""
    engine = Engine(settings)
    try:
        frame = image() if callable(image) else image
        engine.prepare((frame.shape[1], frame.shape[0]), 30.0)
        out = np.empty_like(frame)
        for _ in range(frames):
            engine.process(image() if callable(image) else image, out, {})
        return out
    finally:
        engine.close()


def panel_screenshot(path: Path = PANEL) -> None:
    """The panel as ``vcam ui --screenshot`` shows it, saved as a PNG of 256 colours: the panel's
    own flat colours as they are, the rest (the preview's photograph) chosen by k-means and
    ordered-dithered so its smooth blur shows no bands. About a third of the bytes of the
    full-colour picture, the difference not to be seen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QImage, qRgb

    from vcam.ui.app import screenshot

    with tempfile.TemporaryDirectory(prefix="vcam-panel-") as tmp:
        screenshot(Path(tmp) / "panel.png")
        image = QImage(str(Path(tmp) / "panel.png")).convertToFormat(QImage.Format.Format_RGB888)
    h, w = image.height(), image.width()
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, :w * 3].reshape(h, w, 3)
    packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    colours, counts = np.unique(packed, return_counts=True)
    common = np.argsort(counts)[::-1][:64]                     # the commonest colours that fill
    flat = np.sort(colours[common][counts[common] >= 200])     # an area: the panel's own
    is_flat = np.isin(packed, flat)
    pixels = rgb[~is_flat]
    sample = pixels[np.random.default_rng(0).choice(len(pixels), min(len(pixels), 40000), replace=False)]
    criteria = (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 10, 1.0)
    _, _, centres = cv2.kmeans(sample.astype(np.float32), 256 - len(flat), None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    palette = np.concatenate([np.stack([flat >> 16, (flat >> 8) & 255, flat & 255], -1), np.round(centres)])
    palette = np.clip(palette, 0, 255).astype(np.float32)
    # the nearest colour of the palette for each of 64^3 cells of RGB (4 levels a side)
    cells = np.stack(np.meshgrid(*[np.arange(64, dtype=np.float32) * 4 + 2] * 3, indexing="ij"), -1).reshape(-1, 3)
    nearest = np.concatenate([((part[:, None] - palette[None]) ** 2).sum(-1).argmin(1).astype(np.uint8)
                              for part in np.array_split(cells, 16)])
    bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) / 16 - 0.5
    dithered = rgb + 6 * np.tile(bayer, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
    q = np.clip(dithered, 0, 255).astype(np.int32) >> 2
    index = nearest[(q[..., 0] * 64 + q[..., 1]) * 64 + q[..., 2]]
    index[is_flat] = np.searchsorted(flat, packed[is_flat])   # the panel's own colours, exactly
    index = np.ascontiguousarray(index)
    small = QImage(index.data, w, h, w, QImage.Format.Format_Indexed8)
    small.setColorTable([qRgb(*(int(v) for v in c)) for c in palette])
    if not small.save(str(path), "PNG", 0):   # 0: the smallest file
        raise SystemExit(f"cannot write {path}")
    print(f"wrote {path} ({w}x{h}, {path.stat().st_size // 1000} kB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", action="store_true", help="the panel's screenshot only (assets/screenshot-panel.png)")
    if parser.parse_args().panel:
        panel_screenshot()
    else:
        main()
