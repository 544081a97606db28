"""The contract every person segmenter meets: :class:`Segmenter` says what a backend must do and
gives the defaults for what it may leave out. Backends are found by name in
:mod:`vcam.segment.registry`."""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from vcam.config import SELFIE_TYPE

log = logging.getLogger(__name__)

class Segmenter:
    """A person segmenter: an RGB uint8 frame of any size in, a float32 matte in [0, 1] out.

    A backend sets in its ``__init__``:

    - ``name``: what the log, the stats and the panel show (``"onnx/general cpu"``);
    - ``output_size``: (width, height) of the matte :meth:`segment` returns (the last one; before
      the first frame, what it will be). The matte stage scales it to the frame.

    and may set, where the default is not true of it:

    - ``input_size``: (width, height) the model is fed at, where it takes one fixed size (a selfie
      model); None where it takes the frame at any size. :class:`vcam.segment.follow.FollowCrop`
      crops to it.
    - ``provider``: where the model runs, as an ONNX Runtime provider's short name (``"cpu"``,
      ``"cuda"``...): ``"cpu"``, which is also what a backend outside ONNX Runtime says.
    - ``model_type``: ``"selfie"`` (a segmentation, good on a crop around the person), or a matting
      model's type (``"modnet"``, ``"rvm"``), which sees the whole frame. ``crop_ok`` follows it.

    Methods: :meth:`segment` (required) raises ValueError for a frame that is not RGB uint8
    (H, W, 3); :meth:`segment_photo`, :meth:`reset` and :meth:`close` have defaults. A backend
    that cannot start raises :class:`VcamError` from ``__init__``, with the fix.
    """

    name: str = "segmenter"
    output_size: tuple[int, int] = (0, 0)
    input_size: Optional[tuple[int, int]] = None
    provider: str = "cpu"
    model_type: str = SELFIE_TYPE

    @property
    def crop_ok(self) -> bool:
        """Whether a crop that follows the person may be segmented instead of the whole frame."""
        return self.model_type == SELFIE_TYPE

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 (H, W, 3) -> float32 matte (output height, output width) in [0, 1]."""
        raise NotImplementedError

    def segment_photo(self, frame: np.ndarray) -> np.ndarray:
        """One picture unrelated to any other, where the real-time budget does not apply: the
        same as :meth:`segment` unless a backend can do better."""
        return self.segment(frame)

    def reset(self) -> None:
        """Forget what earlier frames left behind (a recurrent model's state, a crop's place):
        the next frame is unrelated to the last. Nothing by default."""

    def close(self) -> None:
        """Release the model; safe twice. Nothing by default."""
