"""remove.bg's parameters (API v1.0, ``POST /removebg``) read from a request's fields and checked,
into one :class:`Order` the work (:mod:`vcam.serve.cutout`) follows. Each wrong value is one 400
with remove.bg's code (``invalid_size``, ``invalid_bg_color``, ...) and what was expected.

How remove.bg's values map onto vcam (docs/serve.md has the table):

- ``size``: the most pixels of the result: ``preview`` (also ``small``, ``regular``) 0.25
  megapixels, ``medium`` 1.5, ``hd`` 4, ``full`` (also ``4k``) and ``auto`` the picture's own
  size up to the server's pixel limit. A larger picture is scaled down before it is cut out.
- ``type``: ``person`` (vcam's person models, ``--model auto``'s rule for files), ``product``
  (U^2-Net small, the salient object), ``auto`` (a face found: person; else product).
- ``format``: ``png``, ``jpg`` (on white, or on ``bg_color``), ``zip`` (``color.jpg`` and
  ``alpha.png``), ``auto`` (PNG where anything is transparent, else JPEG).
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Optional

from vcam.serve.body import Fields
from vcam.serve.errors import bad

SIZES = {"preview": 250_000, "small": 250_000, "regular": 250_000, "medium": 1_500_000, "hd": 4_000_000,
         "full": None, "4k": None, "auto": None}   # None: the picture's own size, up to the server's limit
TYPES = ("auto", "person", "product")
FORMATS = ("auto", "png", "jpg", "zip")
CHANNELS = ("rgba", "alpha")
TYPE_LEVELS = ("none", "1", "2", "latest")
# CSS's basic colour names (remove.bg takes colour names as well as hex codes)
COLOR_NAMES = {
    "black": (0, 0, 0), "white": (255, 255, 255), "red": (255, 0, 0), "lime": (0, 255, 0), "green": (0, 128, 0),
    "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255), "aqua": (0, 255, 255),
    "magenta": (255, 0, 255), "fuchsia": (255, 0, 255), "silver": (192, 192, 192), "gray": (128, 128, 128),
    "grey": (128, 128, 128), "maroon": (128, 0, 0), "olive": (128, 128, 0), "purple": (128, 0, 128),
    "teal": (0, 128, 128), "navy": (0, 0, 128), "orange": (255, 165, 0),
}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


@dataclass(frozen=True)
class Length:
    """A length in pixels (``px``) or as a share of something (``%``, kept as 0..1)."""
    value: float
    relative: bool

    def of(self, whole: float) -> float:
        return self.value * whole if self.relative else self.value


@dataclass(frozen=True)
class Order:
    """What one request asks for, checked. Exactly one of ``image``/``image_url``; at most one
    of ``bg_color``/``bg_image``/``bg_image_url``."""
    image: Optional[bytes] = None
    image_url: Optional[str] = None
    max_pixels: Optional[int] = 250_000      # None: the picture's own size
    size: str = "preview"
    type: str = "auto"
    type_level: str = "1"
    format: str = "auto"
    channels: str = "rgba"
    bg_color: Optional[tuple[int, int, int, int]] = None   # RGBA
    bg_image: Optional[bytes] = None
    bg_image_url: Optional[str] = None
    crop: bool = False
    crop_margin: tuple[Length, Length, Length, Length] = (Length(0, False),) * 4   # top, right, bottom, left
    scale: Optional[float] = None            # the subject's share of the canvas; None: as it is
    position: Optional[tuple[float, float]] = None   # 0..1 across and down; None: where it is
    roi: Optional[tuple[Length, Length, Length, Length]] = None   # x1, y1, x2, y2
    add_shadow: bool = False


def order(fields: Fields) -> Order:
    """The :class:`Order` that ``fields`` give, or the first wrong value's :class:`ApiError`."""
    text, files = fields.text, fields.files
    image = _image_source(text, files)
    bg = _bg_source(text, files)
    size = _choice(text, "size", SIZES, "preview", code="invalid_size")
    scale = _scale(text.get("scale"))
    position = _position(text.get("position"), scale is not None)
    return Order(
        image=image if isinstance(image, bytes) else None,
        image_url=image if isinstance(image, str) else None,
        size=size, max_pixels=SIZES[size],
        type=_choice(text, "type", TYPES, "auto", code="invalid_type",
                     detail="vcam cuts out people and products; it has no model for cars"),
        type_level=_choice(text, "type_level", TYPE_LEVELS, "1", code="invalid_type_level"),
        format=_format(text.get("format")),
        channels=_choice(text, "channels", CHANNELS, "rgba", code="invalid_channels"),
        bg_color=bg if isinstance(bg, tuple) else None,
        bg_image=bg if isinstance(bg, bytes) else None,
        bg_image_url=bg if isinstance(bg, str) else None,
        crop=_flag(text, "crop"),
        crop_margin=_margin(text.get("crop_margin")),
        scale=scale, position=position,
        roi=_roi(text.get("roi")),
        add_shadow=_flag(text, "add_shadow"),
    )


def _image_source(text: dict, files: dict):
    given = {name: value for name, value in (("image_file", files.get("image_file", text.get("image_file"))),
                                             ("image_file_b64", text.get("image_file_b64")),
                                             ("image_url", text.get("image_url"))) if value}
    if not given:
        raise bad("missing_source", "No image given",
                  "Please provide the source image in the image_url, image_file or image_file_b64 parameter.")
    if len(given) > 1:
        raise bad("multiple_sources", "Multiple image sources given",
                  "Please provide either the image_url, image_file or image_file_b64 parameter.")
    (name, value), = given.items()
    if name == "image_url":
        return value.strip()
    if name == "image_file_b64":
        return _b64(value, name)
    return value if isinstance(value, bytes) else value.encode("latin-1", "replace")


def _b64(value: str, name: str) -> bytes:
    data = value.strip()
    if data.startswith("data:") and "," in data[:200]:   # a data URL's prefix
        data = data.split(",", 1)[1]
    try:
        return base64.b64decode(re.sub(r"\s+", "", data), validate=True)
    except (binascii.Error, ValueError):
        raise bad("invalid_image_file_b64", f"Invalid {name} parameter given", "expected a base64-encoded picture") from None


def _bg_source(text: dict, files: dict):
    color, image, url = text.get("bg_color"), files.get("bg_image_file"), text.get("bg_image_url")
    given = [v for v in (color, image, url) if v]
    if len(given) > 1:
        raise bad("multiple_bg_sources", "Multiple background sources given",
                  "Please provide either the bg_color, the bg_image_url or the bg_image_file parameter.")
    if color:
        return parse_color(color)
    if image:
        return image
    return url.strip() if url else None


def parse_color(text: str) -> tuple[int, int, int, int]:
    """remove.bg's ``bg_color``: a hex code of 3, 4, 6 or 8 digits (``81d4fa``, ``fff``,
    ``81d4fa77``: the last two the opacity), with or without ``#``, or a colour name -> RGBA."""
    t = text.strip().lower()
    if t in COLOR_NAMES:
        return (*COLOR_NAMES[t], 255)
    h = t[1:] if t.startswith("#") else t
    if re.fullmatch(r"[0-9a-f]{3,4}", h):
        h = "".join(c * 2 for c in h)
    if re.fullmatch(r"[0-9a-f]{6}([0-9a-f]{2})?", h):
        values = [int(h[i:i + 2], 16) for i in range(0, len(h), 2)]
        return tuple(values + [255] * (4 - len(values)))  # type: ignore[return-value]
    raise bad("invalid_bg_color", "Invalid bg_color parameter given",
              f"got {text[:40]!r}; expected a hex colour (81d4fa, fff, 81d4fa77) or a name ({', '.join(COLOR_NAMES)})")


def _choice(text: dict, name: str, choices, default: str, *, code: str, detail: str = "") -> str:
    value = text.get(name, "").strip().lower() or default
    if value not in choices:
        raise bad(code, f"Invalid value for parameter '{name}'",
                  f"got {value[:40]!r}; expected one of: {', '.join(choices)}" + (f" ({detail})" if detail else ""))
    return value


def _format(value: Optional[str]) -> str:
    v = (value or "").strip().lower() or "auto"
    v = "jpg" if v == "jpeg" else v
    if v not in FORMATS:
        raise bad("invalid_format", "Invalid format parameter given", f"got {v[:40]!r}; expected one of: {', '.join(FORMATS)}")
    return v


def _flag(text: dict, name: str) -> bool:
    value = text.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise bad(f"invalid_{name}", f"Invalid {name} parameter given", f"got {value[:40]!r}; expected true or false")


_LENGTH = re.compile(r"(\d+(?:\.\d+)?)(px|%)?")


def _length(token: str, code: str, name: str, *, percent_max: float = 100.0) -> Length:
    m = _LENGTH.fullmatch(token)
    if not m:
        raise bad(code, f"Invalid {name} parameter given", f"got {token[:40]!r}; expected a number of pixels (30px) "
                  "or a percentage (10%)")
    value = float(m.group(1))
    if m.group(2) == "%":
        if value > percent_max:
            raise bad(code, f"Invalid {name} parameter given", f"{token[:40]} is over {percent_max:g}%")
        return Length(value / 100.0, True)
    return Length(value, False)


def _margin(value: Optional[str]) -> tuple[Length, Length, Length, Length]:
    tokens = (value or "0").split()
    if len(tokens) not in (1, 2, 4):
        raise bad("invalid_crop_margin", "Invalid crop_margin parameter given",
                  "expected one value (all sides), two (top/bottom, left/right) or four (top, right, bottom, left)")
    lengths = [_length(t, "invalid_crop_margin", "crop_margin", percent_max=50.0) for t in tokens]
    if len(lengths) == 1:
        lengths *= 4
    elif len(lengths) == 2:
        lengths = [lengths[0], lengths[1], lengths[0], lengths[1]]
    for length in lengths:
        if not length.relative and length.value > 500:
            raise bad("invalid_crop_margin", "Invalid crop_margin parameter given", "a margin is at most 500px or 50%")
    return tuple(lengths)  # type: ignore[return-value]


def _scale(value: Optional[str]) -> Optional[float]:
    v = (value or "").strip().lower()
    if v in ("", "original"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%", v)
    if not m or not 10.0 <= float(m.group(1)) <= 100.0:
        raise bad("invalid_scale", "Invalid scale parameter given", f"got {v[:40]!r}; expected 10% to 100%, or original")
    return float(m.group(1)) / 100.0


def _position(value: Optional[str], scaled: bool) -> Optional[tuple[float, float]]:
    v = (value or "").strip().lower()
    if v == "" and scaled or v == "center":
        return (0.5, 0.5)
    if v in ("", "original"):
        return None
    tokens = v.split()
    values = []
    for t in tokens:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)%", t)
        if not m or float(m.group(1)) > 100.0:
            values = []
            break
        values.append(float(m.group(1)) / 100.0)
    if len(values) not in (1, 2) or len(values) != len(tokens):
        raise bad("invalid_position", "Invalid position parameter given",
                  f"got {v[:40]!r}; expected original, center, or one or two values from 0% to 100%")
    return (values[0], values[-1])


def _roi(value: Optional[str]) -> Optional[tuple[Length, Length, Length, Length]]:
    v = (value or "").strip().lower()
    if not v:
        return None
    tokens = v.split()
    if len(tokens) != 4:
        raise bad("invalid_roi", "Invalid roi parameter given", f"got {v[:60]!r}; expected \"x1 y1 x2 y2\", each in px or %")
    for t in tokens:   # remove.bg wants the unit
        if not (t.endswith("px") or t.endswith("%")):
            raise bad("invalid_roi", "Invalid roi parameter given", f"{t[:40]!r} has no unit: give px or %")
    return tuple(_length(t, "invalid_roi", "roi") for t in tokens)  # type: ignore[return-value]
