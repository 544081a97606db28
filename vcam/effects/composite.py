"""Effects: put the person over a blurred, replaced or coloured background.

A :class:`Compositor` is built for one frame size; everything it needs per frame (the blurred
background, the scaled background picture) lives in buffers made here once. Backgrounds are
loaded and scaled when the compositor is built, so a bad file fails before it replaces anything.
"""
from __future__ import annotations

import logging
from typing import Optional

import cv2
import numpy as np

from vcam import kernels, scaling
from vcam.config import AS_IS_EFFECTS, BLUR_EFFECTS, DEPTH_EFFECT, PULL_IN_EFFECTS, SHADOW_EFFECTS, EffectSettings
from vcam.effects.background import Background
from vcam.effects.clean_edge import CleanEdge
from vcam.effects.defocus import BLUR_SIGMA_SMALL, Defocus
from vcam.effects.depth import DepthPicture, RoomDepth
from vcam.effects.gradient import gradient
from vcam.effects.painted_room import PaintedRoom
from vcam.effects.portrait import Portrait
from vcam.effects.shadow import Shadow, cutout
from vcam.effects.style import stylize, video_refused

log = logging.getLogger(__name__)

WRAP_REACH = 0.02        # light wrap reaches this share of the frame height into the person
HARMONY_WIDTH = 160      # colour statistics are taken on frames halved to about this width
HARMONY_KEEP = 0.9       # share of the last frame's tint kept: the tint drifts, never flickers
HARMONY_LIMIT = (0.6, 1.6)   # the least and most any channel is scaled
HARMONY_MIN_PERSON = 0.01    # below this share of the picture the person's colour is not judged


class _LightWrap:
    """What light wrap needs each frame: the new background blurred (``glow``) and the alpha
    blurred (``soft``), both made at reduced size and scaled up."""

    def __init__(self, size: tuple[int, int], strength: float) -> None:
        w, h = self.size = size
        self.strength = strength
        reach = WRAP_REACH * h
        factor = 1 << max(0, int(np.log2(max(1.0, reach / BLUR_SIGMA_SMALL))))
        small = (max(1, w // factor), max(1, h // factor))
        self._sigma = reach / factor
        self._shrink_alpha = scaling.Downscaler(size, small, channels=1)
        self._shrink = scaling.Downscaler(size, small)
        self._alpha_small = np.empty((small[1], small[0]), np.uint8)
        self._rgb_small = np.empty((small[1], small[0], 3), np.uint8)
        self.soft = np.empty((h, w), np.uint8)
        self.glow = np.empty((h, w, 3), np.uint8)

    def update_glow(self, background: np.ndarray) -> None:
        self._shrink(background, self._rgb_small)
        cv2.GaussianBlur(self._rgb_small, (0, 0), self._sigma, dst=self._rgb_small)
        cv2.resize(self._rgb_small, self.size, dst=self.glow, interpolation=cv2.INTER_LINEAR)

    def update_soft(self, alpha: np.ndarray) -> None:
        self._shrink_alpha(alpha, self._alpha_small)
        cv2.GaussianBlur(self._alpha_small, (0, 0), self._sigma, dst=self._alpha_small)
        cv2.resize(self._alpha_small, self.size, dst=self.soft, interpolation=cv2.INTER_LINEAR)


_UNTINTED = np.full(3, 256, np.uint32)


class _Harmony:
    """Colour harmonisation: the person's colour cast and, half as much, their brightness move
    towards the new background's by ``strength``, as one gain per channel (``gain``, in 256ths)
    applied in the blend. Statistics come from frames halved to ~``HARMONY_WIDTH``; the
    gains follow them slowly, so lighting changes are followed and the picture never flickers."""

    def __init__(self, size: tuple[int, int], strength: float) -> None:
        self.strength = strength
        w, h = size
        k = max(0, int(np.ceil(np.log2(max(1.0, w / HARMONY_WIDTH)))))
        small = (max(1, w >> k), max(1, h >> k))
        self._shrink = scaling.Downscaler(size, small)
        self._shrink_alpha = scaling.Downscaler(size, small, channels=1)
        self._small = np.empty((small[1], small[0], 3), np.uint8)
        self._alpha = np.empty((small[1], small[0]), np.uint8)
        self._full = np.full((small[1], small[0]), 255, np.uint8)
        self._person = np.zeros(3, np.float32)
        self._background = np.zeros(3, np.float32)
        self._gain = np.ones(3, np.float32)
        self._target = np.ones(3, np.float32)
        self._fresh = True
        self.gain = np.full(3, 256, np.uint32)

    def background(self, bg: np.ndarray) -> None:
        """The new background's mean colour (again whenever a video background moves on)."""
        self._shrink(bg, self._small)
        kernels.person_mean(self._small, self._full, self._background)

    def update(self, frame: np.ndarray, alpha: np.ndarray) -> None:
        self._shrink(frame, self._small)
        self._shrink_alpha(alpha, self._alpha)
        if kernels.person_mean(self._small, self._alpha, self._person) < HARMONY_MIN_PERSON:
            return   # (almost) nobody there: keep the tint as it is
        p, b, t = self._person + np.float32(1.0), self._background + np.float32(1.0), self._target
        brightness = b.sum() / p.sum()
        np.divide(b, p, out=t)                  # per channel: colour cast and brightness
        t *= brightness ** np.float32(-0.5)     # ... with only half the brightness change
        np.power(t, np.float32(self.strength), out=t)
        np.clip(t, *HARMONY_LIMIT, out=t)
        if self._fresh:
            np.copyto(self._gain, t)
            self._fresh = False
        else:
            self._gain *= np.float32(HARMONY_KEEP)
            self._gain += np.float32(1.0 - HARMONY_KEEP) * t
        np.multiply(self._gain, np.float32(256.0), out=self._target)
        np.rint(self._target, out=self._target)
        self.gain[...] = self._target


class Compositor:
    """``apply(frame, alpha, out)`` writes the effect of ``settings`` for frames of ``size``."""

    def __init__(self, settings: EffectSettings, size: tuple[int, int], *, live: bool = False) -> None:
        """``live``: frames are shown as they come (a painted room is made on a thread of its own
        meanwhile); else each frame is made whole (files: a painted room before the first)."""
        self.settings = settings
        self.size = w, h = size
        self._background: Optional[Background] = None   # replace: the new background
        self._bg = np.empty((h, w, 3), np.uint8)         # what goes behind the person
        self._wrap: Optional[_LightWrap] = None
        self._harmony: Optional[_Harmony] = None
        self._defocus: Optional[Defocus | Portrait] = None   # a blur effect's
        self._color = np.array(settings.color, np.uint8)
        effect = settings.effect
        self._shadow = (Shadow(size, settings.shadow, settings.shadow_angle, settings.shadow_softness)
                        if settings.shadow > 0 and effect in SHADOW_EFFECTS else None)
        # color with a second colour (a gradient): a picture made once, behind the person as a
        # replaced background is
        self._pictured = effect == "color" and settings.color_to is not None
        if self._pictured:
            self._bg = gradient(size, settings.color, settings.color_to, settings.gradient, settings.gradient_angle)
        # where the old background is not kept around the person: a cut-out, a new background
        self._clean = CleanEdge(size) if settings.clean_edges and effect in PULL_IN_EFFECTS else None
        if effect == "replace":
            self._background = Background(settings.background, size)
            self._bg = self._background.image
            if settings.style != "none":   # painted once, here
                if self._background.moving:
                    self._background.close()
                    raise video_refused(settings.style)
                self._bg[...] = stylize(self._bg, settings.style)
            if settings.light_wrap > 0:
                self._wrap = _LightWrap(size, settings.light_wrap)
                self._wrap.update_glow(self._bg)
            if settings.harmonize > 0:
                self._harmony = _Harmony(size, settings.harmonize)
                self._harmony.background(self._bg)
        elif effect in BLUR_EFFECTS:
            self._defocus = (Portrait(size, settings.blur, halo_free=settings.halo_free, falloff=settings.focus_falloff,
                                      depth=RoomDepth(live=live) if settings.depth else None) if effect == "portrait" else
                             Defocus(size, settings.blur, bokeh=effect == "bokeh", halo_free=settings.halo_free))
        # --effect depth (files): the picture's depth, made in the frame's own call
        self._depth = DepthPicture(size) if effect == DEPTH_EFFECT else None
        # a blur with a style: the room painted once, a still behind the person (vcam.effects.painted_room)
        self._room = (PaintedRoom(size, settings.style, settings.blur, wait=not live)
                      if effect in BLUR_EFFECTS and settings.style != "none" else None)
        self._defocused = False   # the room behind holds the last frame's defocus

    @property
    def backdrop(self) -> Optional[np.ndarray]:
        """The new background (RGB uint8, the frame's size) where the effect is ``replace``, else
        None; a video's is updated in place as it moves on."""
        return self._bg if self._background is not None else None

    @property
    def depth(self) -> Optional[np.ndarray]:
        """``--effect depth``: the last frame's depth (uint8 grey, near = white, the frame's
        size), else None."""
        return self._depth.grey if self._depth is not None else None

    @property
    def portrait(self) -> Optional[Portrait]:
        """``--effect portrait``: its defocus (and the room's depth), else None."""
        return self._defocus if isinstance(self._defocus, Portrait) else None

    @property
    def painted_room(self) -> Optional[PaintedRoom]:
        """A blur with a style: the room's painting (``ready`` once it is shown), else None."""
        return self._room

    def apply(self, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray,
              halvings: Optional[scaling.Halvings] = None, *, still: bool = False) -> None:
        """Composite ``frame`` (RGB uint8) by ``alpha`` (uint8, same height and width) into
        ``out``; with clean edges, ``alpha`` is pulled in where it reached onto the room, in place
        (what a cut-out's alpha then is); ``halvings``: the frame's, shared with the other stages. ``still``: nothing
        moved since the last frame defocused (``vcam.segment.still_gate``, which also bounds how many frames
        in a row may say so): a blur effect keeps the room it defocused then, clean edges the
        estimates they made then."""
        effect = self.settings.effect
        if effect in AS_IS_EFFECTS:   # a cut-out is the frame itself, made RGBA by the caller
            if self._clean is not None:    # ... its soft edge cleaned straight into the output
                self._clean(frame, alpha, out, halvings, still=still)
            else:
                np.copyto(out, frame)
            return
        if self._clean is not None:
            frame = self._clean(frame, alpha, self._clean.fg, halvings, still=still)
        if effect == "color" and not self._pictured:
            kernels.blend_color(frame, self._color, alpha, out,
                                self._shadow.update(alpha) if self._shadow is not None else None)
        elif effect == "matte":   # (pulled in above, as the cut-out's alpha)
            cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB, dst=out)
        elif self._depth is not None:
            self._depth(frame, out)
        else:
            bg = self._bg
            if effect in BLUR_EFFECTS:
                painted = self._room.show(frame, alpha) if self._room is not None else None
                if painted is not None:
                    bg = painted
                elif not (still and self._defocused):   # else: the same room as last defocused
                    self._defocus(frame, alpha, bg, halvings)
                    self._defocused = True
            elif self._background is not None and self._background.moving:
                self._background.advance()
                if self._wrap is not None:
                    self._wrap.update_glow(self._bg)
                if self._harmony is not None:
                    self._harmony.background(self._bg)
            # the shadow darkens the background in the blend itself (no pass of its own)
            shade = self._shadow.update(alpha) if self._shadow is not None else None
            harmony = self._harmony
            if harmony is not None:
                harmony.update(frame, alpha)
            if self._wrap is not None:
                self._wrap.update_soft(alpha)
                gain = harmony.gain if harmony is not None else _UNTINTED
                kernels.blend_wrap(frame, bg, self._wrap.glow, alpha, self._wrap.soft, out,
                                   self._wrap.strength, gain, shade)
            elif harmony is not None:
                kernels.blend_tinted(frame, harmony.gain, bg, alpha, out, shade)
            else:
                kernels.blend(frame, bg, alpha, out, shade)

    def cutout(self, rgb: np.ndarray, alpha: np.ndarray, rgba: np.ndarray) -> np.ndarray:
        """The cut-out of ``rgb`` (what :meth:`apply` made of the frame) by ``alpha`` into
        ``rgba`` (uint8, 4 channels): with the person's shadow where the effect has one."""
        if self._shadow is None:
            rgba[:, :, :3] = rgb
            rgba[:, :, 3] = alpha
        else:
            cutout(rgb, alpha, self._shadow.update(alpha), rgba)
        return rgba

    def take_over(self, before: Compositor) -> None:
        """Keep what ``before`` (the compositor this one replaces) made that still applies: a
        painted room of the same style and size."""
        if self._room is not None and before.painted_room is not None:
            self._room.take_over(before.painted_room)
        if self.portrait is not None and before.portrait is not None:
            self.portrait.take_over(before.portrait)

    def reset(self) -> None:
        """The next frame shows another room (a new source, the next picture)."""
        self._defocused = False
        if self._room is not None:
            self._room.reset()
        if self.portrait is not None:
            self.portrait.reset()
        if self._depth is not None:
            self._depth.reset()

    def close(self) -> None:
        if self._room is not None:
            self._room.close()
        if self.portrait is not None:
            self.portrait.close()
        if self._background is not None:
            self._background.close()
            self._background = None
