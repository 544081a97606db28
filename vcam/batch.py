"""Files through the same engine as live video: pictures, folders of pictures, videos.

Contract (scripts rely on it):
- without an effect named, a picture gives its cut-out and a video its blur
  (``FILE_DEFAULT_EFFECTS``); each job carries its effect (``Job.effect``);
- a matte (8-bit grey PNG) or cut-out (RGBA PNG) of an image is named ``<stem>.png``; other
  effects keep the image's suffix; a video's output in a folder is ``<stem>.mp4``, or for a matte
  or cut-out a folder ``<stem>`` of PNG frames; an input file is never overwritten;
- the images of a folder are independent photos: no temporal state is carried between them;
- a video gives exactly one output per decoded frame, in order (``000000.png``... in a folder, or
  one video file), with the same temporal smoothing as live mode;
- every output is written under a temporary name and renamed when complete and checked (a video
  file is opened again and must hold every frame; a video's frame folder appears whole or not at
  all), so a failure or a signal leaves the finished outputs and nothing partial;
- a video that gives fewer frames than its file says is refused as damaged, unless
  ``allow_short`` keeps what could be read.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Optional

import cv2
import numpy as np

from vcam import jit
from vcam.config import ALPHA_EFFECTS, DEPTH_EFFECT, FILE_DEFAULT_EFFECTS, SegmentSettings, Settings
from vcam.engine import Engine
from vcam.errors import VcamError
from vcam.fileio import animation, pictures, user_paths, video_writer, write_errors
from vcam.fileio.frame_folder import FRAME_NAME, FrameFolder, check_folder
from vcam.fileio.video_reader import VideoReader
from vcam.fileio.video_writer import VideoFormat, VideoWriter
from vcam.segment.build import FileModels
from vcam.system import memory
from vcam.system.resources import IMAGE_SUFFIXES, VIDEO_SUFFIXES

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]   # (done, total, what)
PAGE_MS = 1000   # how long a TIFF page is shown where it becomes an animation's frame


@dataclass(frozen=True)
class Job:
    input: Path
    output: Path          # a file, or for a video's frames a folder
    video: bool
    effect: str           # what it gets: the one named, else its kind's default (FILE_DEFAULT_EFFECTS)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _is_media(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES


def _folder_inputs(folder: Path) -> list[Path]:
    """The pictures and videos in ``folder``, by name. Hidden files (macOS's ``._photo.jpg``,
    partial outputs ``.name.partial-*``) and subfolders are left out, and that is said."""
    found, hidden, subfolders = [], 0, 0
    for entry in user_paths.input_folder_entries(folder, "input folder"):
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError:
            is_dir = is_file = False
        if entry.name.startswith("."):
            hidden += 1
        elif is_dir:
            subfolders += 1
        elif is_file and _is_media(entry.name):
            found.append(folder / entry.name)
    left = [f"{n} {what}{'' if n == 1 else 's'}" for n, what in ((hidden, "hidden file"), (subfolders, "subfolder"))
            if n]
    if left:
        log.warning("%s: left out %s (subfolders are not searched)", folder, " and ".join(left))
    return found


def plan(inputs: list[Path], output: Path, effect: Optional[str], protected: Iterable[Optional[str]] = (),
         fmt: VideoFormat = VideoFormat()) -> list[Job]:
    """Work out every output path before anything is written; raise on any conflict. No output
    may be an input, or one of the ``protected`` files (a background, a model), by any name; a
    video's codec must suit its file (``fmt``). ``effect`` None: each file gets its kind's
    default (``FILE_DEFAULT_EFFECTS``: a picture's cut-out, a video's blur)."""
    files: list[Path] = []
    for given in inputs:
        path = Path(given).expanduser()
        if user_paths.is_folder(path, "input"):
            found = _folder_inputs(path)
            if not found:
                raise VcamError(f"folder {path} holds no pictures or videos",
                                f"expected files ending in {', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)}")
            files += found
        elif _is_media(path.name):
            files.append(user_paths.input_file(path, "input"))
        else:
            user_paths.input_file(path, "input")   # a missing or unreadable path says so first
            raise VcamError(f"input {path} is neither a picture nor a video",
                            f"give files ending in {', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)}")
    output = Path(output).expanduser()
    out_is_folder = user_paths.is_folder(output, "output")
    single_file_out = len(files) == 1 and output.suffix and not out_is_folder
    if len(files) > 1 and not out_is_folder and _is_media(output.name):
        raise VcamError(f"{len(files)} inputs go into a folder, and --output {output} is the name of a file",
                        "give a folder as --output (it is created), e.g. -o out/")
    jobs = []
    for f in files:
        video = not _is_image(f)
        job_effect = effect or FILE_DEFAULT_EFFECTS["video" if video else "picture"]
        frames_as_pictures = job_effect in ALPHA_EFFECTS
        if single_file_out:
            target = output
            if video and frames_as_pictures and _is_image(output):
                raise VcamError(f"the {job_effect} of a video is a video or a folder of PNG pictures",
                                f"give a folder as --output, or a video name such as {output.stem}.webm, not {output}")
            if video:
                video_writer.check(output, fmt, alpha=job_effect == "cutout")
            if not video and not _is_image(output):
                raise VcamError(f"cannot write a picture to {output}", "name it .png or .jpg, or give a folder")
            if not video and job_effect == "cutout" and output.suffix.lower() != ".png" \
                    and animation.frame_count(f) <= 1:
                raise _no_transparency(output, named=effect is not None)
        elif video:
            target = (output if len(files) == 1 else output / f.stem) if frames_as_pictures else output / f"{f.stem}.mp4"
            if not frames_as_pictures:
                video_writer.check(target, fmt, alpha=False)
        else:   # a matte or cut-out is a PNG; of a TIFF with several pages, a TIFF with as many
            pages = frames_as_pictures and animation.KINDS.get(f.suffix.lower()) == "tiff" and animation.frame_count(f) > 1
            target = output / (f"{f.stem}{f.suffix}" if pages else f"{f.stem}.png" if frames_as_pictures else f.name)
        if _frame_folder(video, job_effect, target):
            user_paths.output_folder(target)
            check_folder(target)   # a frame's name taken by a folder: said now, not after the work
        else:
            user_paths.output_file(target, folder_must_exist=False)
        jobs.append(Job(f, target, video, job_effect))
    seen: dict[Path, Path] = {}
    kept = [j.input for j in jobs] + [Path(p).expanduser() for p in protected if p]
    for j in jobs:
        key = j.output.resolve()
        if key in seen:
            raise VcamError(f"{seen[key]} and {j.input} would both be written to {j.output}", "process them separately")
        seen[key] = j.input
        if _frame_folder(j.video, j.effect, j.output):
            for k in kept:   # the frames 000000.png... of a folder that holds an input of that name
                if FRAME_NAME.fullmatch(k.name) and user_paths.same_file(k.parent, j.output):
                    raise VcamError(f"the frames of {j.input} would overwrite the input {k}",
                                    "choose another output folder so nothing is overwritten")
        else:
            for k in kept:
                if user_paths.same_file(j.output, k):
                    raise VcamError(f"output {j.output} is an input file ({k})",
                                    "choose another output folder so nothing is overwritten")
    return jobs


def _no_transparency(output: Path, *, named: bool) -> VcamError:
    """A picture's cut-out asked for in a type without transparency (``.jpg``)."""
    return VcamError(f"a cut-out needs transparency, which a {output.suffix} file cannot hold: cannot write {output}",
                     f"name it {output.stem}.png" + ("" if named else
                                                     ", or choose another effect (--effect blur, replace, ...)"))


def _frame_folder(video: bool, effect: str, output: Path) -> bool:
    """Whether a job writes a video's frames as pictures into the folder ``output``."""
    return video and effect in ALPHA_EFFECTS and output.suffix.lower() not in video_writer.SUFFIXES


def _prepare_folder(folder: Path) -> list[Path]:
    """Make sure ``folder`` exists and is writable; the folders created here, top first."""
    user_paths.output_folder(folder)
    created = user_paths.make_folders(folder)
    probe = folder / f".vcam-write-test-{id(folder)}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        _remove_empty(created)
        raise write_errors.write_error(folder, exc) from None
    return created


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders made for outputs that never came, deepest first, where still empty."""
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()   # only when empty


class Processor:
    """Runs jobs through one :class:`Engine`; reports progress; collects failures."""

    def __init__(self, settings: Settings, progress: Optional[Progress] = None, *, allow_short: bool = False) -> None:
        """``settings.effect`` holds every effect option; each job's ``effect`` says which effect it gets."""
        self.settings = settings
        self.progress = progress or (lambda done, total, what: None)
        self.allow_short = allow_short   # keep what a damaged or cut video gave, with a warning
        jit.warm_up()
        self._engines: dict[tuple[SegmentSettings, str], Engine] = {}   # by model (``auto`` picks one per file) and effect
        self._models = FileModels(self.settings.segment)
        # a bad model or runtime is refused before any file is touched
        self._engine((0, 0), video=False, effect=settings.effect.effect)
        self.failures: list[str] = []
        self.written = 0       # output files finished (a video's frames count one each)
        self.outputs = 0       # outputs finished: pictures, videos, frame folders
        self.where = ""        # what is being worked on, for a message when stopped

    def close(self) -> None:
        engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.close()

    def _engine(self, size: tuple[int, int], video: bool, effect: str) -> Engine:
        """The engine for a file of ``size`` and ``effect``: built the first time its model and
        effect are asked for."""
        segment = self._models.for_file(size, video)
        engine = self._engines.get((segment, effect))
        if engine is None:
            settings = self.settings.replace(segment=segment, effect=replace(self.settings.effect, effect=effect))
            if not any(s == segment for s, _ in self._engines):
                self._models.explain(segment, video)
            engine = self._engines[segment, effect] = Engine(settings)
        return engine

    def __enter__(self) -> "Processor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _render(engine: Engine, rgb: np.ndarray, out: np.ndarray, photo: bool = False,
                own_alpha: Optional[np.ndarray] = None, rgba: Optional[np.ndarray] = None) -> np.ndarray:
        """Composite into ``out`` (RGB) and return the picture to save: ``out``, the grey alpha
        (matte), the grey depth (depth) or RGBA (cut-out, into ``rgba`` where given: a video's frames reuse one).
        ``own_alpha``, the input picture's alpha, is multiplied into a matte or cut-out
        (matte * own / 255, rounded): what the input hides stays hidden."""
        effect = engine.settings.effect.effect
        alpha = engine.process(rgb, out, {}, photo=photo)
        if own_alpha is not None and effect in ALPHA_EFFECTS:
            alpha = cv2.multiply(alpha, own_alpha, scale=1 / 255)
        if effect == "matte":
            return alpha
        if effect == DEPTH_EFFECT:
            return engine.compositor.depth
        if effect != "cutout":
            return out
        if rgba is None:
            rgba = np.empty(out.shape[:2] + (4,), np.uint8)
        return engine.compositor.cutout(out, alpha, rgba)

    def run(self, jobs: list[Job]) -> None:
        created: list[Path] = []
        try:
            for folder in dict.fromkeys(j.output if _frame_folder(j.video, j.effect, j.output) else j.output.parent
                                        for j in jobs):
                created += _prepare_folder(folder)
            self._run(jobs)
        finally:   # a folder made for outputs that never came is not left behind
            _remove_empty(created)

    def _run(self, jobs: list[Job]) -> None:
        images = [j for j in jobs if not j.video]
        if images and self.settings.framing.autoframe:
            log.warning("--autoframe follows a person through a video; the %d picture%s %s kept whole",
                        len(images), "" if len(images) == 1 else "s", "is" if len(images) == 1 else "are")
        for i, job in enumerate(images):
            self._one(self._image, job)
            self.progress(i + 1, len(images), job.input.name)
        for job in (j for j in jobs if j.video):
            self._one(self._video, job)

    def _one(self, work: Callable[[Job], None], job: Job) -> None:
        """One job; its failure is said and counted, and the next job runs. Memory that runs out
        for one (a big file under a limit such as ulimit -v) is such a failure, told as such."""
        try:
            try:
                work(job)
            except Exception as exc:   # noqa: BLE001 - only memory's, in any library's words, is told here
                if not memory.caused(exc):
                    raise
                raise memory.shortage(f"process {job.input}", exc) from None
        except VcamError as exc:
            self.failures.append(str(exc))
            log.error("error: %s", exc)

    def _image(self, job: Job) -> None:
        self.where = str(job.input)
        if animation.frame_count(job.input) > 1:
            self._animation(job)
            return
        if job.effect in ALPHA_EFFECTS:   # what the picture's own alpha hides stays hidden
            rgb, own_alpha = pictures.load_image_alpha(job.input)
        else:
            rgb, own_alpha = pictures.load_image(job.input), None
        if self.settings.capture.mirror:
            rgb = np.ascontiguousarray(rgb[:, ::-1])
            own_alpha = None if own_alpha is None else np.ascontiguousarray(own_alpha[:, ::-1])
        out = np.empty_like(rgb)   # photos are independent: process(photo=True) keeps no state
        if job.effect == "cutout" and job.output.suffix.lower() != ".png":
            raise _no_transparency(job.output, named=True)
        engine = self._engine((rgb.shape[1], rgb.shape[0]), video=False, effect=job.effect)
        pictures.write_image(job.output, self._render(engine, rgb, out, photo=True, own_alpha=own_alpha))
        self.written += 1
        self.outputs += 1

    def _animation(self, job: Job) -> None:
        """An animated WebP or APNG (frames in time, smoothed as a video) or a multi-page TIFF
        (independent pages), written back as the same kind with every frame's duration. A frame
        at a time: each decoded, processed and encoded before the next is decoded, so memory holds
        one frame and the engine's buffers, however many frames there are."""
        if animation.KINDS.get(job.output.suffix.lower()) is None:
            raise VcamError(f"{job.input} holds several frames, and a {job.output.suffix} file holds one",
                            f"name the output {job.output.stem}.png (APNG), .webp or .tif")
        frames = animation.open_animation(job.input)
        pages = frames.kind == "tiff"
        w, h = frames.size
        engine = self._engine(frames.size, video=not pages, effect=job.effect)
        engine.reset()
        timed = [d for d in frames.durations_ms if d > 0]
        engine.prepare(frames.size, 1000 / float(np.median(timed)) if timed else 10.0)
        durations = [max(1, d) for d in frames.durations_ms]
        if pages and animation.KINDS.get(job.output.suffix.lower()) != "tiff":
            durations = [PAGE_MS] * frames.count
            log.info("%s: its pages are shown for %d ms each in %s", job.input, PAGE_MS, job.output)
        cutout = job.effect == "cutout"
        out = np.empty((h, w, 3), np.uint8)
        rgba = np.empty((h, w, 4), np.uint8) if cutout else None
        with animation.AnimationWriter(job.output, durations, frames.loop or 0, alpha=cutout) as writer:
            for i, (rgb, own) in enumerate(frames):
                self.where = f"{job.input}, frame {i + 1} of {frames.count}"
                own = own if job.effect in ALPHA_EFFECTS else None
                if self.settings.capture.mirror:
                    rgb = np.ascontiguousarray(rgb[:, ::-1])
                    own = None if own is None else np.ascontiguousarray(own[:, ::-1])
                picture = self._render(engine, rgb, out, photo=pages, own_alpha=own, rgba=rgba)
                del rgb, own   # the next frame is decoded into memory they leave
                writer.add(cv2.cvtColor(picture, cv2.COLOR_GRAY2RGB, dst=out) if picture.ndim == 2 else picture)
            writer.finish()
        self.written += frames.count
        self.outputs += 1

    def _video(self, job: Job) -> None:
        self.where = str(job.input)
        source = VideoReader(job.input)
        try:
            self._video_from(source, job)
        finally:
            source.close()
        self.outputs += 1

    def _video_from(self, source: VideoReader, job: Job) -> None:
        w, h = source.size
        engine = self._engine((w, h), video=True, effect=job.effect)
        engine.reset()
        engine.prepare((w, h), source.fps)
        rgb = np.empty((h, w, 3), np.uint8)
        out = np.empty_like(rgb)
        # a cut-out's frames are encoded as they come (a video, or PNG pictures): one RGBA buffer
        rgba = np.empty((h, w, 4), np.uint8) if job.effect == "cutout" else None
        # the video's own alpha (a transparent video), mirrored into its own buffer where asked
        mirrored = np.empty((h, w), np.uint8) if source.has_alpha and self.settings.capture.mirror else None
        writer = frames = None
        if job.output.suffix.lower() in video_writer.SUFFIXES:
            out_settings = self.settings.output
            fmt = VideoFormat(codec=out_settings.codec, crf=out_settings.crf, audio=out_settings.audio)
            writer = VideoWriter(job.output, (w, h), source.rate, time_base=source.time_base, fmt=fmt,
                                 alpha=job.effect == "cutout", source=source)
            source.on_packet = writer.copy
        else:
            frames = FrameFolder(job.output)
        expected = source.frames_expected or 0
        n = 0
        try:
            while (frame := source.read()) is not None:
                self.where = f"{job.input}, frame {n + 1}" + (f" of {expected}" if expected else "")
                own = source.alpha if job.effect in ALPHA_EFFECTS else None   # what the video's alpha hides stays hidden
                if self.settings.capture.mirror:
                    frame = cv2.flip(frame, 1, dst=rgb)
                    own = None if own is None else cv2.flip(own, 1, dst=mirrored)
                picture = self._render(engine, frame, out, own_alpha=own, rgba=rgba)
                if writer is not None:   # a matte video is the grey alpha in all three channels
                    writer.write(cv2.cvtColor(picture, cv2.COLOR_GRAY2RGB, dst=out) if picture.ndim == 2 else picture,
                                 source.pts, source.duration)
                else:
                    frames.write(n, picture)
                n += 1
                self.progress(n, max(expected, n), job.input.name)
            if n == 0:
                raise VcamError(f"{job.input} holds no frames that can be decoded", "check that the video plays")
            short = source.shortfall()
            if short and not self.allow_short:
                raise VcamError(f"{job.input}: {short}: the file is damaged or incomplete",
                                f"nothing was written; repair or export it again, or pass --allow-short to keep "
                                f"the {n} frames that could be read")
            if short:
                log.warning("%s: %s: the file is damaged or incomplete; kept the %d frames read (--allow-short)",
                            job.input, short, n)
            if writer is not None:
                writer.close()
            else:
                frames.commit()
        except BaseException:
            if writer is not None:
                writer.close(keep=False)
            else:
                frames.abort()
            raise
        self.written += n
