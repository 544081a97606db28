"""Person segmentation: the model that finds the person in a frame, and what decides when and
where it runs.

- :mod:`~vcam.segment.base`: the :class:`Segmenter` contract every backend meets;
- :mod:`~vcam.segment.registry`: backends by name (``onnx``, ``mediapipe``, and any registered);
- :mod:`~vcam.segment.onnx`, :mod:`~vcam.segment.mediapipe`: the backends;
- :mod:`~vcam.segment.choice`, :mod:`~vcam.segment.build`: which model ``--model auto`` runs, and
  the live segmenter put together from settings;
- :mod:`~vcam.segment.follow` (with :mod:`~vcam.segment.follow_sampling`): the crop that follows
  the person, so the model sees them larger;
- :mod:`~vcam.segment.guided`: a matting model held to the selfie model's person;
- :mod:`~vcam.segment.still_gate`: the model run only where the person's outline may have moved.

The names a caller needs are here: ``from vcam import segment; segment.create(settings)``.
"""
from __future__ import annotations

from vcam.segment.base import Segmenter
from vcam.segment.registry import backends, create, load, register, unregister

__all__ = ["Segmenter", "backends", "create", "load", "register", "unregister"]
