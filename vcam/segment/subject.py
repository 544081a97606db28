"""Which subject a picture is of, for ``type=auto`` in `vcam serve`: a person where a face is
found (OpenCV's frontal-face Haar cascade, shipped with every OpenCV wheel), else a product.

A face is the test because the person models themselves cannot say: the selfie model gives a
confident "person" for a cat, a cup or a camera tripod too (docs/serve.md has the figures). A
person seen from behind or in profile finds no face and gets the product model, which cuts out the
salient object, the person included, with rougher edges than MODNet.
"""
from __future__ import annotations

import logging
from typing import Optional

import cv2
import numpy as np

log = logging.getLogger(__name__)

LOOK_SIDE = 480          # the picture is looked at with its long side scaled to this
MIN_FACE = 16            # pixels, at that size
CASCADE = "haarcascade_frontalface_default.xml"


class SubjectFinder:
    """``person(rgb)``: whether a face is in the picture. One per thread (OpenCV's classifier
    keeps state while it runs)."""

    def __init__(self) -> None:
        self._cascade: Optional[cv2.CascadeClassifier] = None
        folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
        classifier = getattr(cv2, "CascadeClassifier", None)   # from OpenCV 5, contrib builds only
        if folder and classifier is not None:
            cascade = classifier(folder + CASCADE)
            if not cascade.empty():
                self._cascade = cascade
        if self._cascade is None:
            log.warning("OpenCV's face cascade %s is missing (OpenCV 5 has it in its contrib builds only: "
                        "pip install opencv-contrib-python-headless): type=auto takes every picture as a product",
                        CASCADE)

    def person(self, rgb: np.ndarray) -> bool:
        """Whether ``rgb`` (RGB uint8) holds a face of at least ``MIN_FACE`` pixels at ``LOOK_SIDE``."""
        if self._cascade is None:
            return False
        h, w = rgb.shape[:2]
        scale = min(1.0, LOOK_SIDE / max(w, h))
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if scale < 1.0:
            grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        faces = self._cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=4, minSize=(MIN_FACE, MIN_FACE))
        return len(faces) > 0
