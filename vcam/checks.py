"""What every per-frame stage checks when it is built: a frame size, and numbers in their ranges.
A stage is built by code (the engine, a benchmark), so a bad value is a programming error: a
``ValueError`` that names the stage, the value and what was expected."""
from __future__ import annotations


def check(stage: str, size: tuple[int, int], **values: tuple[float, float, float]) -> tuple[int, int]:
    """``size`` as (width, height), both positive integers, and each ``name=(value, lo, hi)``
    within lo..hi; returns the size."""
    w, h = size
    if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
        raise ValueError(f"{stage}: got a frame size of {size!r}, expected two positive integers (width, height)")
    for name, (value, lo, hi) in values.items():
        if not lo <= value <= hi:
            raise ValueError(f"{stage}: got a{'n' if name[0] in 'aeiou' else ''} {name} of {value!r}, "
                             f"expected {lo:g} to {hi:g}")
    return w, h
