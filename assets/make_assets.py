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
    return {"dusk.jpg": dusk, "studio.jpg": studio, "forest.jpg": forest}


def main() -> None:
    from skimage import data  # test extra; the portrait is public domain (NASA)

    cv2.imwrite(str(HERE / "demo.jpg"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 92])
    for name, img in backgrounds().items():
        cv2.imwrite(str(HERE / "backgrounds" / name), cv2.cvtColor(_finish(img), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 88])


if __name__ == "__main__":
    main()
