"""The one object the panel and the tray talk to: it owns the pipeline and the saved settings.

Every change builds a new :class:`~vcam.config.Settings` and hands it to ``Pipeline.update()``;
when that raises (a bad background, a camera that cannot be opened), the running pipeline keeps
what it had, the settings stay as they were, and the problem is shown. Problems are kept by topic
(``problems``: topic -> one line saying what is wrong and how to fix it; ``errors``: topic -> the
:class:`VcamError` it came as, where it did, its problem and fix apart) for the status area.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable, Optional, Union

from PySide6.QtCore import QObject, QTimer, Signal

from vcam import segment
from vcam.config import EffectSettings, OutputSettings, Settings
from vcam.effects import background, style
from vcam.errors import VcamError
from vcam.live.pipeline import Pipeline
from vcam.live.sinks import recording_file
from vcam.live.sources import open_source
from vcam.system import resources
from vcam.ui.settings_store import Store, UiState, default_config_dir

log = logging.getLogger(__name__)

BACKGROUND_SUFFIXES = resources.IMAGE_SUFFIXES + resources.VIDEO_SUFFIXES
NO_CAMERA = "no camera found, showing the demo portrait: connect a camera and pick it under Camera"

# What a successful change of each stage clears from the status area.
_CLEARS = {
    "effect": ("effect", "background"),
    "background": ("effect", "background"),
    "camera": ("camera", "pipeline"),
    "segment": ("segment", "pipeline"),
    "matte": ("matte",),
}


class Controller(QObject):
    """``Controller(config_dir)`` loads what was saved there (default: the user's config folder);
    ``start()`` runs the pipeline. ``initial`` replaces the saved settings for this session;
    ``session`` ({section: {name: value}}, ``vcam ui --source demo``) sets some of them for this
    session only: the saved ones are saved again in their place, until the user picks another
    value in the panel. ``persist=False`` saves nothing. ``changed`` fires when settings, state
    or problems change."""

    changed = Signal()

    def __init__(self, config_dir: Optional[Path] = None, *, initial: Optional[Settings] = None,
                 session: Optional[dict[str, dict]] = None, persist: bool = True,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.store = Store(Path(config_dir) if config_dir is not None else default_config_dir())
        self.persist = persist
        self.problems: dict[str, str] = {}
        self.errors: dict[str, VcamError] = {}
        settings, warning = self.store.load_settings()
        if warning:
            self.problems["settings"] = warning
        self.ui, warning = self.store.load_ui()
        if warning:
            self.problems["gallery"] = warning
        self._saved = settings   # what a session-only setting saves in its place
        self.session = {section: dict(values) for section, values in (session or {}).items() if values}
        self.settings: Settings = _with(initial if initial is not None else settings, self.session)
        self.pipeline: Optional[Pipeline] = None
        self.paused = False
        self._closed = False
        self._save_timer = QTimer(self, singleShot=True, interval=400)
        self._save_timer.timeout.connect(self.save)
        self._watch = QTimer(self, interval=1000)   # notices a pipeline that stopped on its own
        self._watch.timeout.connect(self.poll)

    # -- problems ---------------------------------------------------------------------------------
    def _problem(self, topic: str, problem: Union[str, Exception]) -> None:
        text = str(problem)
        if self.problems.get(topic) != text:
            log.warning("%s", text)
        self.problems[topic] = text
        if isinstance(problem, VcamError):
            self.errors[topic] = problem
        else:
            self.errors.pop(topic, None)

    def _clear(self, *topics: str) -> None:
        for topic in topics:
            self.problems.pop(topic, None)
            self.errors.pop(topic, None)

    def dismiss(self, topic: str) -> None:
        self._clear(topic)
        self.changed.emit()

    # -- running ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.pipeline is not None and not self.pipeline.wait(0)

    @property
    def state(self) -> str:
        """``paused``, ``stopped`` (not running, see problems), ``live`` (publishing to the
        virtual camera), ``preview`` (running, but the virtual camera asked for is missing, or
        the recording was refused) or ``running`` (to another output the settings chose)."""
        if self.paused:
            return "paused"
        if not self.running:
            return "stopped"
        asked, got = self.settings.output.target, self.pipeline.settings.output.target
        if asked == "virtual":
            return "live" if got == "virtual" else "preview"
        return "preview" if got == "null" and asked != "null" else "running"

    def start(self) -> bool:
        """(Re)start the pipeline with the current settings. A saved camera or background that
        cannot be opened is replaced (first camera or demo; blur) and a missing virtual camera
        means running without one; each such problem is shown. True if it runs."""
        self._close_pipeline()
        self.paused = False
        self._clear("pipeline", "output", "recording")
        self.settings = self._usable(self.settings)
        try:
            self._open(self.settings)
        except Exception as exc:   # noqa: BLE001 - anything at all: shown, never a crash
            if not isinstance(exc, VcamError):
                log.exception("cannot start")
            self._problem("pipeline", exc if isinstance(exc, VcamError) else f"cannot start: {exc}")
        self._note_demo_fallback()
        self._note_capture_mode()
        if not self._watch.isActive():
            self._watch.start()
        self.changed.emit()
        return self.running

    def _usable(self, s: Settings) -> Settings:
        if s.capture.source not in ("auto", "demo"):
            try:
                open_source(s.capture).close()
            except VcamError as exc:
                self._problem("camera", f"{exc} (using the first camera, or the demo portrait)")
                s = s.replace(capture=s.capture.replace(source="auto"))
        try:
            self._check_effect(s.effect)
        except VcamError as exc:
            self._problem("background", f"{exc} (using blur)")
            s = s.replace(effect=dataclasses.replace(s.effect, effect="blur"))
        return s

    def _open(self, s: Settings) -> None:
        """Start a pipeline for ``s``; without a virtual camera, or with a recording that is
        refused, start one that outputs nothing and show why. Raises what the last try raised."""
        # The panel can switch backends live: import them all before publishing starts.
        preload = segment.backends()
        s = self._recording(s)
        try:
            self.pipeline = Pipeline(s, preload=preload, kernels_in_background=True).start()
            return
        except VcamError as exc:
            if s.output.target != "virtual":
                raise
            self._problem("output", exc)
        try:
            self.pipeline = Pipeline(s.replace(output=OutputSettings(target="null")), preload=preload,
                                     kernels_in_background=True).start()
        except BaseException:
            self._clear("output")   # it was not (only) the virtual camera: the caller shows why
            raise

    def _recording(self, s: Settings) -> Settings:
        """``s`` to run, its recording file checked as ``vcam run`` checks its ``--output``
        (:func:`vcam.live.sinks.recording_file`): one that would write over the source, the
        background or the model, or cannot be written, is refused and shown, and the preview runs
        without recording; an existing file is never replaced (the target is a setting from an
        earlier session, and that session's recording is the user's): the recording goes to the
        next free name beside it, and the status says so."""
        try:
            path = recording_file(s, "recording", replace=False)
        except VcamError as exc:
            self._problem("output", f"{exc} (not recording: the preview runs)")
            return s.replace(output=OutputSettings(target="null"))
        if path is not None and path != Path(s.output.target).expanduser():
            self._problem("recording", f"{s.output.target} exists and is kept: recording to {path}")
            return s.replace(output=dataclasses.replace(s.output, target=str(path)))
        return s

    def _note_demo_fallback(self) -> None:
        p = self.pipeline
        if (self.running and self.settings.capture.source == "auto"
                and p.source_name == "demo"):
            self.problems.setdefault("camera", NO_CAMERA)
        elif self.problems.get("camera") == NO_CAMERA:
            self._clear("camera")

    def _note_capture_mode(self) -> None:
        """The camera gives another size or rate than asked: say what it gives and how to pick."""
        note = self.pipeline.stats().get("capture_note") if self.running else None
        if note:
            self.problems["mode"] = note
        else:
            self._clear("mode")

    def _close_pipeline(self) -> None:
        self._clear("capture")
        if self.pipeline is not None:
            self.pipeline.close()
            self.pipeline = None

    def pause(self) -> None:
        """Stop the pipeline, releasing the camera and the virtual camera, until :meth:`resume`."""
        self._close_pipeline()
        self.paused = True
        self.changed.emit()

    def resume(self) -> bool:
        return self.start()

    def restart(self) -> bool:
        return self.start()

    def poll(self) -> None:
        """Called every second: a pipeline that stopped by itself (camera unplugged) is closed
        and its error shown."""
        p = self.pipeline
        if p is not None and p.wait(0) and not self.paused:
            error = p.stats().get("error") or "the pipeline stopped"
            self._close_pipeline()
            self._problem("pipeline", f"{error}: pick another camera, or press Restart")
            self.changed.emit()
        elif p is not None and not self.paused:   # a camera unplugged: shown while it reconnects
            error = p.camera_error
            if error != self.problems.get("capture"):
                if error:
                    self._problem("capture", error)
                else:
                    self._clear("capture")
                self.changed.emit()

    def stats(self) -> Optional[dict]:
        return self.pipeline.stats() if self.pipeline is not None else None

    def preview(self, width: int):
        """(output, input) small RGB frames, or None (paused, stopped, or none made yet)."""
        return self.pipeline.preview(width) if self.running else None

    # -- changes ----------------------------------------------------------------------------------
    def apply(self, new: Settings, topic: str) -> bool:
        """Make ``new`` the settings, live. On failure the pipeline and the settings stay as they
        were, the problem is shown under ``topic``, and False is returned."""
        if new == self.settings:
            return True
        try:
            if self.paused:
                if new.effect != self.settings.effect:
                    self._check_effect(new.effect)
            elif self.running:
                # only on_demand of the output applies live (the pipeline may run with a stand-in output)
                output = dataclasses.replace(self.pipeline.settings.output, on_demand=new.output.on_demand)
                self.pipeline.update(new.replace(output=output))
            else:   # it never started, or stopped: start afresh with the new settings
                self._close_pipeline()
                self._clear("output", "recording")
                self._open(new)
        except VcamError as exc:
            self._problem(topic, exc)
            self.changed.emit()
            return False
        self.settings = new
        self._clear(*_CLEARS.get(topic, (topic,)))
        self._note_demo_fallback()
        self._note_capture_mode()
        self._save_soon()
        self.changed.emit()
        return True

    def _change(self, topic: str, make: Callable[[Settings], Settings]) -> bool:
        try:
            new = make(self.settings)   # the settings' own checks may refuse it
        except VcamError as exc:
            self._problem(topic, exc)
            self.changed.emit()
            return False
        return self.apply(new, topic)

    def set_effect(self, name: str) -> bool:
        """Switch effect; ``replace`` with no background chosen yet takes the gallery's first."""
        def make(s: Settings) -> Settings:
            background = s.effect.background
            if name == "replace" and not background and self.gallery():
                background = str(self.gallery()[0])
            return s.replace(effect=dataclasses.replace(s.effect, effect=name, background=background))
        return self._change("effect", make)

    def set_background(self, path: Union[str, Path]) -> bool:
        """A picture or video, or the name of a background that comes with vcam (``seaside``),
        kept as its file: the gallery and the tray know backgrounds by their files."""
        return self._change("background", lambda s: s.replace(
            effect=dataclasses.replace(s.effect, effect="replace", background=resources.background(str(path)))))

    def set_color(self, rgb: tuple[int, int, int]) -> bool:
        return self._change("effect", lambda s: s.replace(
            effect=dataclasses.replace(s.effect, effect="color", color=tuple(int(c) for c in rgb))))

    def set_effect_option(self, **changes) -> bool:
        """Any of the effect's settings but the effect itself (``shadow``, ``shadow_angle`` ...)."""
        return self._change("effect", lambda s: s.replace(effect=dataclasses.replace(s.effect, **changes)))

    def set_gradient(self, **changes) -> bool:
        """The colour background's gradient: ``color_to`` (a second colour, or None for a plain
        colour), ``gradient`` (linear or radial), ``gradient_angle`` (degrees, as CSS)."""
        return self._change("effect", lambda s: s.replace(
            effect=dataclasses.replace(s.effect, effect="color", **changes)))

    def set_blur(self, strength: float) -> bool:
        return self._change("effect", lambda s: s.replace(effect=dataclasses.replace(s.effect, blur=float(strength))))

    def set_halo_free(self, on: bool) -> bool:
        return self._change("effect", lambda s: s.replace(effect=dataclasses.replace(s.effect, halo_free=bool(on))))

    def set_clean_edges(self, on: bool) -> bool:
        return self._change("effect", lambda s: s.replace(effect=dataclasses.replace(s.effect, clean_edges=bool(on))))

    def set_light_wrap(self, strength: float) -> bool:
        return self._change("effect", lambda s: s.replace(
            effect=dataclasses.replace(s.effect, light_wrap=float(strength))))

    def set_harmonize(self, strength: float) -> bool:
        return self._change("effect", lambda s: s.replace(
            effect=dataclasses.replace(s.effect, harmonize=float(strength))))

    def set_capture(self, **changes) -> bool:
        """``source``, ``width``, ``height``, ``fps``, ``mirror``: a camera that cannot be opened
        keeps the previous one. A value picked here is saved, a session-only one included."""
        return self._own("capture", changes, self._change(
            "camera", lambda s: s.replace(capture=s.capture.replace(**changes))))

    def set_output(self, **changes) -> bool:
        """``on_demand``: release the camera while no app reads the virtual camera (applies at
        once); other output settings apply at the next start."""
        return self._own("output", changes, self._change(
            "on_demand", lambda s: s.replace(output=dataclasses.replace(s.output, **changes))))

    def _own(self, section: str, changes: dict, done: bool) -> bool:
        """The user chose ``changes`` in the panel: they are saved from now on."""
        if done:
            for name in changes:
                self.session.get(section, {}).pop(name, None)
        return done

    def set_segment(self, **changes) -> bool:
        return self._change("segment", lambda s: s.replace(segment=dataclasses.replace(s.segment, **changes)))

    def set_matte(self, **changes) -> bool:
        return self._change("matte", lambda s: s.replace(matte=dataclasses.replace(s.matte, **changes)))

    def set_light(self, **changes) -> bool:
        """``low_light``, ``key_light``, ``denoise``, ``relight`` (0 to 1, 0 off), ``key_angle`` (-90 to 90)."""
        return self._change("light", lambda s: s.replace(light=dataclasses.replace(s.light, **changes)))

    def set_framing(self, **changes) -> bool:
        """``autoframe`` (on or off), ``zoom`` (1 to 4)."""
        return self._change("framing", lambda s: s.replace(framing=dataclasses.replace(s.framing, **changes)))

    @staticmethod
    def _check_effect(effect: EffectSettings) -> None:
        """Open a replacement background (small) to find a bad file, or a style that cannot be
        painted, before it is used."""
        if effect.effect == "replace":
            background.check(effect.background)
            if effect.style != "none":
                style.check(effect.style)
                if Path(resources.background(effect.background)).suffix.lower() in resources.VIDEO_SUFFIXES:
                    raise style.video_refused(effect.style)

    # -- gallery ----------------------------------------------------------------------------------
    def shipped_backgrounds(self) -> list[Path]:
        try:
            return resources.backgrounds()
        except FileNotFoundError as exc:
            self._problem("gallery", exc)
            return []

    def user_backgrounds(self) -> list[Path]:
        return [Path(p) for p in self.ui.backgrounds]

    def gallery(self) -> list[Path]:
        return self.shipped_backgrounds() + self.user_backgrounds()

    def add_backgrounds(self, paths) -> list[Path]:
        """Check each picture or video, keep the good ones in the gallery (saved), and switch to
        the last one. A bad file is refused with its problem shown; the background stays."""
        good = []
        for path in (Path(p).expanduser().absolute() for p in paths):
            try:
                if path.suffix.lower() not in BACKGROUND_SUFFIXES:
                    raise VcamError(f"background {path} is neither a picture nor a video",
                                    "give a " + ", ".join(s.lstrip(".") for s in BACKGROUND_SUFFIXES) + " file")
                self._check_effect(EffectSettings("replace", background=str(path)))
            except VcamError as exc:
                self._problem("background", exc)
                continue
            good.append(path)
            if path not in self.gallery():
                self.ui.backgrounds.append(str(path))
        if good:
            self._save_ui()
            self.set_background(good[-1])
        self.changed.emit()
        return good

    def remove_background(self, path: Union[str, Path]) -> None:
        """Forget a user-added background (the file itself is left alone)."""
        if str(path) in self.ui.backgrounds:
            self.ui.backgrounds.remove(str(path))
            self._save_ui()
            self.changed.emit()

    def set_compare(self, on: bool) -> None:
        if self.ui.compare != on:
            self.ui.compare = on
            self._save_ui()

    # -- saving -----------------------------------------------------------------------------------
    def _save_soon(self) -> None:
        if self.persist:
            self._save_timer.start()   # a slider being dragged saves once, when it rests

    def save(self) -> None:
        self._save_timer.stop()
        if not self.persist:
            return
        try:
            self.store.save_settings(_with(self.settings, {
                section: {name: getattr(getattr(self._saved, section), name) for name in values}
                for section, values in self.session.items()}))
            self._clear("save")
        except VcamError as exc:
            self._problem("save", exc)
            self.changed.emit()

    def _save_ui(self) -> None:
        if not self.persist:
            return
        try:
            self.store.save_ui(UiState(backgrounds=list(self.ui.backgrounds), compare=self.ui.compare))
        except VcamError as exc:
            self._problem("save", exc)

    def close(self) -> None:
        """Save what is pending and stop the pipeline; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._watch.stop()
        if self._save_timer.isActive():
            self.save()
        self._close_pipeline()


def _with(settings: Settings, values: dict[str, dict]) -> Settings:
    """``settings`` with ``values`` ({section: {name: value}}) put in."""
    for section, changes in values.items():
        settings = settings.replace(**{section: dataclasses.replace(getattr(settings, section), **changes)})
    return settings
