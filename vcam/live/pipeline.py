"""The live pipeline: capture thread -> processing thread -> output thread.

Each hand-off holds one frame at most and the newest wins, so a slow stage drops frames instead of
adding lag. ``update(settings)`` applies changes while running; when a new part cannot be built
(bad background, camera missing) it raises and the running pipeline keeps what it had.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from pathlib import Path
from typing import Callable, Optional, Sequence

import cv2
import numpy as np

from vcam import jit, segment
from vcam.config import Settings
from vcam.engine import Engine, compile_kernels
from vcam.errors import VcamError
from vcam.live import camera_readers
from vcam.live.capture import Capture
from vcam.live.mailbox import FramePool, Mailbox, run_thread
from vcam.live.publisher import Publisher, unavailable_card
from vcam.live.sinks import open_sink, recording_file
from vcam.live.sources import CameraSource, Source, open_source
from vcam.live.stats import Stats

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 480   # default width of the frames preview() returns


class Pipeline:
    """``with Pipeline(settings) as p: p.wait()``. ``max_frames`` stops after that many frames
    have been published. ``source`` (already open) replaces the one ``settings.capture`` names,
    and ``size`` scales the source's frames to another output size (benchmarks). ``reopen``
    opens the source again when a camera stops giving frames (by default the same camera).
    ``preload`` names segmentation backends a caller may switch to live (the panel): their
    libraries are imported by :meth:`start`, before the first frame is published, because a
    first import while publishing competes with the output thread for the interpreter lock.
    With ``settings.output.on_demand`` (a virtual camera on Linux) the camera is released once no
    other process has held the device open for ``reader_grace`` seconds (looked for every
    ``reader_poll`` seconds) and opened again when one does.
    With ``kernels_in_background`` (the panel, ``vcam run``), :meth:`start` does not wait for the
    image kernels (tens of seconds the first time they are compiled): they are prepared on a
    thread of their own, and meanwhile each frame goes out as the camera gives it where the effect
    is ``none``, else as a card saying effects are being prepared (the room is never shown
    unblurred); ``stats()["preparing"]`` is True until they are ready, and the preview's input
    is the camera's picture from the first frame.
    ``close()`` is safe to call twice."""

    def __init__(self, settings: Settings, *, max_frames: Optional[int] = None,
                 source: Optional[Source] = None, size: Optional[tuple[int, int]] = None,
                 stats_window: int = 120, reopen: Optional[Callable[[], Source]] = None,
                 preload: Sequence[str] = (), reader_poll: float = camera_readers.POLL,
                 reader_grace: float = camera_readers.GRACE, kernels_in_background: bool = False) -> None:
        self.settings = settings
        self.kernels_in_background = kernels_in_background
        self._kernels_ready = threading.Event()
        self._kernels_thread: Optional[threading.Thread] = None
        self._preparing_card: Optional[np.ndarray] = None
        self.preload = tuple(preload)
        self.reader_poll, self.reader_grace = reader_poll, reader_grace
        self.watch: Optional[camera_readers.ReaderWatch] = None
        self.max_frames = max_frames
        self._given_source = source
        self._reopen = reopen   # not self._reopen_camera: that would make a cycle
        self._given_size = size
        self._stats = Stats(stats_window)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []
        self.error: Optional[str] = None
        self._capture: Optional[Capture] = None
        self._engine: Optional[Engine] = None
        self._publisher: Optional[Publisher] = None
        self._to_output = Mailbox()
        self._out_pool: Optional[FramePool] = None
        self._update_lock = threading.Lock()
        # Preview for the UI: made by the processing thread only after preview() asked for one.
        self._preview_lock = threading.Lock()
        self._preview_asked = False
        self._preview_width = PREVIEW_WIDTH
        self._preview: Optional[tuple[np.ndarray, np.ndarray]] = None

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> "Pipeline":
        """Open the source, the model and the sink (raising :class:`~vcam.VcamError` with
        everything closed again if one fails), then start the threads."""
        s = self.settings
        recording_file(s)   # a recording that would write over an input, or cannot be written: before anything opens
        # Imports overlap opening the camera and the model (which mostly run outside the GIL)
        # and end before anything is published.
        loader = run_thread("preload", self._preload) if self.preload else None
        try:
            if jit.ready():   # a pipeline started again in this process (the panel's restart)
                self._kernels_ready.set()
            elif self.kernels_in_background:
                self._kernels_thread = run_thread("kernels", self._prepare_kernels)
            else:
                self._prepare_kernels()
            source = self._given_source or open_source(s.capture)
            self._capture = Capture(source, self._given_size, mirror=s.capture.mirror, reopen=self._reopen or self._reopen_camera)
            self.size = self._capture.size
            self._engine = Engine(s, live=True)
            self.fps = s.output.fps or source.fps
            self._engine.prepare(self.size, source.fps)
            sink = open_sink(s.output, *self.size, self.fps)
        except BaseException:
            self.close()
            raise
        finally:
            if loader is not None:
                loader.join()
        # Written, waiting, held back by pacing, and the last one sent (kept to repeat).
        self._out_pool = FramePool((self.size[1], self.size[0], 3), count=4)
        capture = self._capture
        self._publisher = Publisher(sink, self.fps, self._stats, pacing=s.output.pacing,
                                   max_frames=self.max_frames, on_done=self._done.set,
                                   size=self.size, unavailable=lambda: capture.unavailable,
                                   standby=lambda: capture.released)
        self._capture.start()
        self._threads = [
            run_thread("process", self._process_loop),
            run_thread("output", lambda: self._publisher.run(self._to_output, self._stop)),
        ]
        if s.output.on_demand:
            self._set_on_demand(True)
        log.info("running: %s -> %s at %dx%d", source.name, sink.name, *self.size)
        return self

    def __enter__(self) -> "Pipeline":
        return self.start() if not self._threads else self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the pipeline has finished (frame count reached, source ended, or a stage
        failed); True if it has."""
        return self._done.wait(timeout)

    def close(self) -> None:
        """Stop the threads, release the camera, close the device; safe to call twice."""
        if self.watch is not None:
            self.watch.close()
        self._stop.set()
        self._to_output.close()
        if self._capture is not None:
            self._capture.stop()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)
        self._threads = []
        if self._kernels_thread is not None:   # a kernel compiling when the process ends aborts it
            self._kernels_thread.join(timeout=60)
            self._kernels_thread = None
        failed: Optional[VcamError] = None
        if self._publisher is not None:
            try:
                self._publisher.sink.close()   # a video file is checked here, and may be refused
            except VcamError as exc:
                failed = exc
        if self._engine is not None:
            self._engine.close()
        if self._out_pool is not None:
            self._out_pool.close()
        self._done.set()
        if failed is not None:
            raise failed

    stop = close

    def _set_on_demand(self, on: bool) -> None:
        """Watch for readers of the virtual camera (on), or stop and keep the camera open (off)."""
        if not on:
            if self.watch is not None:
                self.watch.close()
                self.watch = None
                self._capture.resume()
            return
        device = self._publisher.sink.device
        if self.watch is not None:
            return
        if device and sys.platform.startswith("linux") and self._capture.source.live:
            self.watch = camera_readers.ReaderWatch(Path(device), self._on_readers, poll=self.reader_poll,
                                             grace=self.reader_grace).start()
        else:
            log.warning("on demand works with a live source and a virtual camera on Linux: the camera stays open")

    def _on_readers(self, active: bool) -> None:
        """On demand: an app started reading the virtual camera (open the camera again), or none
        has for a while (release it)."""
        if active:
            self._capture.resume()
        elif not self._capture.release():
            log.warning("on demand: %s cannot be opened again, so it stays open", self._capture.source.name)

    def _preload(self) -> None:
        for name in self.preload:
            if name != self.settings.segment.backend:
                segment.load(name)

    def _reopen_camera(self) -> Source:
        """The camera that stopped, opened again as the settings ask (the same device, even when
        the settings say 'auto', so an unplugged camera never turns into the demo)."""
        c = self.settings.capture
        dead = self._capture.source if self._capture is not None else None
        if isinstance(dead, CameraSource):   # its modes, OpenCV backend and note as before
            return CameraSource(dead.device, int(c.width), int(c.height), c.fps, modes=dead.modes, api=dead.api,
                                told=dead.note)
        return open_source(c)

    # -- the processing thread -------------------------------------------------------------------
    def _prepare_kernels(self) -> None:
        """Compile (or load) the image kernels; the frames are processed once they are ready. In
        the background, those the settings use come first (:func:`~vcam.engine.compile_kernels`),
        then the frames are processed while the rest are prepared. A failure is logged and the
        engine left to raise its own error on the first frame."""
        try:
            if self.kernels_in_background:
                compile_kernels(self.settings)
            else:
                jit.warm_up()
        except Exception:
            log.exception("the image kernels could not be prepared")
        finally:
            self._kernels_ready.set()
        if self.kernels_in_background:   # the other effects' kernels, before the user picks one
            try:
                jit.warm_up(self._stop)
            except Exception:
                log.exception("the image kernels could not be prepared")

    def _while_preparing(self, frame: np.ndarray, out: np.ndarray) -> None:
        """What goes out while the kernels are prepared: the camera's picture where the effect is
        none, else a card (the room is never shown without its effect)."""
        if self.settings.effect.effect == "none":
            np.copyto(out, frame)
            return
        h, w = out.shape[:2]
        if self._preparing_card is None or self._preparing_card.shape != out.shape:
            self._preparing_card = unavailable_card(w, h, "Preparing effects", "first start: this takes a moment")
        np.copyto(out, self._preparing_card)

    def _process_loop(self) -> None:
        engine, capture = self._engine, self._capture
        try:
            while not self._stop.is_set():
                frame = capture.get(timeout=0.5)
                if frame is None:
                    if capture.mailbox.closed:
                        break
                    continue
                out = self._out_pool.acquire()
                if self._kernels_ready.is_set():
                    engine.process(frame.image, out.image, out.times, frame.generation)
                else:
                    self._while_preparing(frame.image, out.image)
                if self._preview_asked:   # before the input frame goes back to its pool
                    self._keep_preview(out.image, frame.image)
                out.times["capture"] = frame.times.get("capture", 0.0)
                out.seq, out.t_capture, out.generation = frame.seq, frame.t_capture, frame.generation
                frame.release()
                self._to_output.put(out, wait=not capture.source.live)
        except Exception as exc:
            self.error = f"processing failed: {exc}"
            log.exception("processing failed")
        finally:
            self._to_output.close(drop=False)

    # -- live changes ---------------------------------------------------------------------------
    def update(self, settings: Settings) -> None:
        """Apply new settings while running. Raises :class:`~vcam.VcamError` and keeps the
        current state when a new part cannot be opened."""
        with self._update_lock:
            old = self.settings
            reopen = settings.capture.replace(mirror=old.capture.mirror) != old.capture
            new_source = open_source(settings.capture) if reopen else None
            try:
                self._engine.prepare_update(settings, self.size)
            except BaseException:
                if new_source is not None:
                    new_source.close()
                raise
            if new_source is not None:
                self._capture.switch(new_source)
            self._capture.mirror = settings.capture.mirror
            if settings.output.on_demand != old.output.on_demand:   # the one output setting applied live
                self._set_on_demand(settings.output.on_demand)
            output = dataclasses.replace(old.output, on_demand=settings.output.on_demand)
            if settings.output != output:
                log.warning("output settings change on the next start")
                settings = settings.replace(output=output)
            self.settings = settings

    # -- what the UI and the CLI read -----------------------------------------------------------
    def preview(self, width: int = PREVIEW_WIDTH) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """Copies of the latest (output, input) frames, RGB uint8 scaled down to ``width`` pixels
        wide (never up), or None until the first is made. Each call asks the processing thread to
        make the next one, so nothing is spent on previews while nobody polls for them."""
        if isinstance(width, bool) or not isinstance(width, int) or not 16 <= width <= 7680:
            raise VcamError(f"preview width must be a whole number from 16 to 7680, got {width!r}")
        with self._preview_lock:
            self._preview_width = width
            self._preview_asked = True
            if self._preview is None:
                return None
            return self._preview[0].copy(), self._preview[1].copy()

    def _keep_preview(self, output: np.ndarray, frame: np.ndarray) -> None:
        h, w = output.shape[:2]
        with self._preview_lock:
            pw = min(self._preview_width, w)
            size = (pw, max(1, round(h * pw / w)))
            if self._preview is None or self._preview[0].shape[1::-1] != size:
                self._preview = (np.empty((size[1], size[0], 3), np.uint8), np.empty((size[1], size[0], 3), np.uint8))
            for src, dst in zip((output, frame), self._preview):
                # Bilinear: far cheaper than an area average and good enough for a preview (this
                # runs on the processing thread).
                cv2.resize(src, size, dst=dst, interpolation=cv2.INTER_LINEAR)
            self._preview_asked = False

    @property
    def frames_sent(self) -> int:
        """Frames the sink has been given (new ones; a virtual camera may also get repeats)."""
        return self._publisher.sent if self._publisher is not None else 0

    @property
    def frames_processed(self) -> int:
        """Frames through the engine so far."""
        return self._stats.frames

    @property
    def source_name(self) -> Optional[str]:
        """The name of the source frames come from now (``"demo"``, ``"camera 0"``, a file)."""
        return self._capture.source.name if self._capture is not None else None

    @property
    def camera_error(self) -> Optional[str]:
        """What is wrong with the source now (a camera unplugged: being reconnected), or None."""
        return self._capture.error if self._capture is not None else None

    @property
    def camera_released(self) -> bool:
        """On demand: the camera is closed while no app reads the virtual camera."""
        return self._capture is not None and self._capture.released

    @property
    def alive(self) -> bool:
        """Whether the processing and output threads are running (False before start and after close)."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def stats(self) -> dict:
        snap = self._stats.snapshot()
        snap.update(
            source=self.source_name,
            output=self._publisher.sink.name if self._publisher else None,
            segmenter=self._engine.segmenter.name if self._engine else None,
            # the share of frames the model ran on (the rest carried its matte: vcam.segment.still_gate)
            model_share=self._engine.model_share() if self._engine else None,
            size=list(self.size) if self._capture else None,
            # the camera gives another size or rate than the settings ask (and how to pick one)
            capture_note=self._capture.source.note if self._capture else None,
            # on demand: no app reads the virtual camera, so the camera is closed meanwhile
            camera_released=bool(self._capture and self._capture.released),
            # the image kernels are still being prepared (a first start): effects come on when ready
            preparing=not self._kernels_ready.is_set(),
            dropped=(self._capture.mailbox.dropped if self._capture else 0) + self._to_output.dropped,
            error=self.error or (self._capture.error if self._capture else None)
            or (self._publisher.error if self._publisher else None),
        )
        return snap
