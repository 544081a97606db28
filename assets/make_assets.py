"""Regenerate the pictures vcam ships in assets/.

    python assets/make_assets.py

- demo.jpg: scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain), the portrait that
  the ``demo`` source animates so vcam runs on a machine with no camera.
- backgrounds/*.jpg: generated here from code (no third-party pictures), 1920x1080.
Needs scikit-image (in the ``test`` extra) only for the demo portrait.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
W, H = 1920, 1080


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, H, dtype=np.float32)[:, None, None]
    img = (1 - t) * np.float32(top) + t * np.float32(bottom)
    return np.broadcast_to(img, (H, W, 3)).copy()


def _soft_lights(img: np.ndarray, seed: int, count: int, colours) -> np.ndarray:
    rng = np.random.default_rng(seed)
    glow = np.zeros_like(img)
    for _ in range(count):
        x, y = int(rng.uniform(0, W)), int(rng.uniform(0, H * 0.8))
        r = int(rng.uniform(30, 110))
        colour = colours[int(rng.integers(len(colours)))]
        cv2.circle(glow, (x, y), r, tuple(float(c) * rng.uniform(0.3, 0.8) for c in colour), -1, cv2.LINE_AA)
    glow = cv2.GaussianBlur(glow, (0, 0), 18)
    return img + glow


def _finish(img: np.ndarray) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0, 1.5, img.shape).astype(np.float32)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _office() -> np.ndarray:
    """A warm room out of focus: a window with daylight on the left, a bookshelf on the right."""
    img = _gradient((196, 178, 158), (150, 128, 108))
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = int(W * 0.06), int(H * 0.12), int(W * 0.38), int(H * 0.72)
    img[y0:y1, x0:x1] = _gradient((200, 222, 245), (235, 240, 240))[y0:y1, x0:x1]
    for x in np.linspace(x0, x1, 3)[1:-1]:
        cv2.line(img, (int(x), y0), (int(x), y1), (120, 110, 100), 14)
    cv2.line(img, (x0, (y0 + y1) // 2), (x1, (y0 + y1) // 2), (120, 110, 100), 14)
    cv2.rectangle(img, (x0, y0), (x1, y1), (110, 100, 92), 18)
    sx0, sx1 = int(W * 0.62), int(W * 0.96)
    cv2.rectangle(img, (sx0, int(H * 0.08)), (sx1, int(H * 0.95)), (92, 66, 48), -1)
    books = [(150, 40, 40), (40, 70, 120), (200, 170, 90), (60, 110, 70), (230, 220, 200), (120, 60, 100),
             (30, 30, 35)]
    for row in range(4):
        top = int(H * (0.12 + row * 0.21))
        bottom = top + int(H * 0.17)
        x = sx0 + 14
        while x < sx1 - 40:
            w = int(rng.uniform(18, 42))
            h = int(rng.uniform(0.7, 1.0) * (bottom - top))
            cv2.rectangle(img, (x, bottom - h), (x + w, bottom), books[int(rng.integers(len(books)))], -1)
            x += w + int(rng.uniform(2, 8))
        cv2.rectangle(img, (sx0, bottom), (sx1, bottom + 16), (70, 50, 36), -1)
    cv2.ellipse(img, (int(W * 0.48), int(H * 0.62)), (90, 140), 0, 0, 360, (70, 120, 60), -1)   # a plant
    cv2.rectangle(img, (int(W * 0.45), int(H * 0.70)), (int(W * 0.51), int(H * 0.86)), (160, 90, 60), -1)
    img = cv2.GaussianBlur(img, (0, 0), 14)   # depth of field: the room is behind the person
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    lamp = np.exp(-(((xx - W * 0.5) / (W * 0.5)) ** 2 + ((yy - H * 0.2) / (H * 0.6)) ** 2))
    return img * (0.8 + 0.25 * lamp[..., None])


def _seaside() -> np.ndarray:
    """A calm sea at sunset with glitter on the water, softly out of focus."""
    horizon = int(H * 0.58)
    img = _gradient((90, 140, 200), (250, 205, 160))
    img[horizon:] = cv2.resize(_gradient((60, 110, 150), (20, 50, 80)), (W, H - horizon))
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    sun = np.exp(-(((xx - W * 0.7) / 160) ** 2 + ((yy - horizon * 0.82) / 160) ** 2))
    img += 120 * sun[..., None] * np.float32((1.0, 0.85, 0.6))
    rng = np.random.default_rng(5)
    glitter = np.zeros_like(img)
    for _ in range(900):
        x, y = int(rng.normal(W * 0.7, 140)), int(rng.uniform(horizon + 5, H))
        cv2.ellipse(glitter, (x, y), (int(rng.uniform(6, 22)), 2), 0, 0, 360, (255, 230, 190), -1)
    img += 0.35 * cv2.GaussianBlur(glitter, (0, 0), 3)
    return cv2.GaussianBlur(img, (0, 0), 6)


def backgrounds() -> dict[str, np.ndarray]:
    """RGB images by file name."""
    dusk = _soft_lights(_gradient((40, 44, 92), (214, 128, 96)), 1, 40,
                        [(255, 200, 120), (255, 150, 90), (200, 180, 255)])
    studio = _gradient((62, 66, 72), (28, 30, 34))
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    spot = np.exp(-(((xx - W * 0.5) / (W * 0.45)) ** 2 + ((yy - H * 0.35) / (H * 0.6)) ** 2))
    studio = studio + 70 * spot[..., None]
    forest = _soft_lights(_gradient((70, 110, 70), (30, 52, 36)), 2, 55,
                          [(220, 255, 170), (255, 240, 190), (120, 200, 120)])
    return {"dusk.jpg": dusk, "studio.jpg": studio, "forest.jpg": forest, "office.jpg": _office(),
            "seaside.jpg": _seaside()}


def main() -> None:
    from skimage import data  # test extra; the portrait is public domain (NASA)

    cv2.imwrite(str(HERE / "demo.jpg"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 92])
    for name, img in backgrounds().items():
        cv2.imwrite(str(HERE / "backgrounds" / name), cv2.cvtColor(_finish(img), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 88])


if __name__ == "__main__":
    main()
