"""Starting the app (panel, tray, one exception hook), and the screenshot mode."""
from __future__ import annotations

import ctypes.util
import logging
import os
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon, QWidget

from vcam.config import CaptureSettings, Settings
from vcam.errors import VcamError
from vcam.fileio import atomic, user_paths, write_errors
from vcam.system.qtenv import undo_opencv_qt_paths
from vcam.ui.controller import Controller
from vcam.ui.panel import Panel
from vcam.ui.tray import Tray

log = logging.getLogger(__name__)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        undo_opencv_qt_paths()
        app = QApplication([sys.argv[0] if sys.argv else "vcam"])
    app.setApplicationName("vcam")
    app.setApplicationDisplayName("vcam")
    return app


def dispose(*objects: Optional[QObject]) -> None:
    """Delete Qt objects now, while the application still exists. (Left to Python's garbage
    collector, a window can outlive the application and crash the interpreter's exit.)"""
    for obj in objects:
        if obj is not None:
            obj.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


class ExceptionHook:
    """The one place unexpected exceptions end up: logged with their traceback, shown in the
    status area, and in at most one dialog per session (none when ``dialogs`` is False)."""

    def __init__(self, controller: Controller, parent: Optional[QWidget], *, dialogs: bool) -> None:
        self.controller = controller
        self.parent = parent
        self.dialogs = dialogs
        self.shown = False
        self._previous = None

    def __call__(self, kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error("unexpected error", exc_info=(kind, value, tb))
        self.controller.problems["unexpected"] = f"unexpected error: {value!r} (the log has the details)"
        self.controller.changed.emit()
        if self.dialogs and not self.shown:
            self.shown = True
            QMessageBox.critical(self.parent, "vcam",
                                 f"Something went wrong: {value}\n\nvcam goes on running; the log has the details. "
                                 "Further errors are shown in the panel's status area only.")

    def __enter__(self) -> "ExceptionHook":
        self._previous, sys.excepthook = sys.excepthook, self
        return self

    def __exit__(self, *exc) -> None:
        sys.excepthook = self._previous


@contextmanager
def _quit_on_signals(app: QApplication):
    """Ctrl-C and SIGTERM quit cleanly; a timer lets Python see them while Qt waits."""
    previous = {sig: signal.signal(sig, lambda *_: app.quit()) for sig in (signal.SIGINT, signal.SIGTERM)}
    tick = QTimer(interval=250)
    tick.timeout.connect(lambda: None)
    tick.start()
    try:
        yield
    finally:
        tick.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# The libraries Qt's X11 plugin loads beyond libxcb itself, with their Debian/Ubuntu packages.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0", "xcb-render-util": "libxcb-render-util0", "xcb-shape": "libxcb-shape0",
    "xcb-randr": "libxcb-randr0", "xcb-xkb": "libxcb-xkb1", "xkbcommon-x11": "libxkbcommon-x11-0",
}


def check_display() -> None:
    """On Linux, refuse early (instead of Qt aborting) when there is no desktop to show on."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise VcamError("no desktop to show the control panel on (neither DISPLAY nor WAYLAND_DISPLAY is set)",
                        "use `vcam run` for the virtual camera without a panel")
    missing = [pkg for lib, pkg in XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]
    if not os.environ.get("WAYLAND_DISPLAY") and missing:
        # Qt aborts the whole process without them, before Python could catch anything.
        raise VcamError("Qt needs X11 libraries that are not installed to open its window",
                        f"on Debian/Ubuntu: sudo apt install {' '.join(missing)} (other systems: the "
                        "xcb-util packages); or use `vcam run` without a panel")


def run(config_dir: Optional[Path] = None, *, session: Optional[dict[str, dict]] = None) -> int:
    """The app: panel and (where the desktop has one) tray icon over one pipeline, with the
    settings of ``config_dir`` (default: the user's config folder) and ``session``'s for this
    session only (``vcam ui --source demo``: see :class:`Controller`). Returns the exit code."""
    check_display()
    app = application()
    controller = Controller(config_dir, session=session)
    panel = Panel(controller)
    tray = None
    if QSystemTrayIcon.isSystemTrayAvailable():
        def show_panel() -> None:
            panel.showNormal()
            panel.raise_()
            panel.activateWindow()
        tray = Tray(controller, show_panel, app.quit)
        tray.show()
        panel.hide_on_close = True      # closing the panel leaves vcam in the tray
        app.setQuitOnLastWindowClosed(False)
    try:
        with ExceptionHook(controller, panel, dialogs=True), _quit_on_signals(app):
            panel.show()
            QTimer.singleShot(0, controller.start)   # the window first; the model loads after
            return app.exec()
    finally:
        if tray is not None:
            tray.hide()
        controller.close()
        dispose(tray, panel, controller)


def _wait(app: QApplication, done: Callable[[], bool], timeout: float) -> bool:
    """Run Qt's event loop until ``done()`` or ``timeout`` seconds; True if done."""
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    check = QTimer(interval=50)
    check.timeout.connect(lambda: (done() or time.monotonic() > deadline) and loop.quit())
    check.start()
    if not done():
        loop.exec()
    check.stop()
    return done()


def screenshot(path: Path, *, timeout: float = 180.0, session: Optional[dict[str, dict]] = None) -> tuple[int, int, int]:
    """Render the panel at its default size with the demo source running (default settings and
    ``session``'s, a ``--source`` say, nothing saved, no dialogs: problems go to the status area)
    and save it as PNG ``path``.
    Returns (width, height, preview frames shown before the picture was taken)."""
    path = user_paths.output_file(path, "screenshot")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # a picture needs no window on screen
    app = application()
    with tempfile.TemporaryDirectory(prefix="vcam-screenshot-") as tmp:
        controller = Controller(Path(tmp), initial=Settings(capture=CaptureSettings(source="demo")), session=session,
                                persist=False)
        panel = Panel(controller, dialogs=False)
        try:
            with ExceptionHook(controller, panel, dialogs=False):
                panel.resize(panel.sizeHint())
                panel.show()
                controller.start()
                # The effects ready (a first start compiles them), and long enough for the rate
                # and stage timings to settle.
                _wait(app, lambda: not controller.running or (
                    not (controller.stats() or {}).get("preparing", True)
                    and panel.output_view.frames >= 20 and controller.stats().get("frames", 0) >= 45), timeout)
                panel.refresh_stats()
                app.processEvents()
                pixmap = panel.grab()
                frames = panel.output_view.frames
        finally:
            controller.close()
            panel.close()
            dispose(panel, controller)
    tmp = atomic.partial_name(Path(path))
    try:   # written whole under a partial name, then renamed: an earlier picture stays until then
        if not pixmap.save(str(tmp), "PNG", 0):   # 0: the smallest file (zlib level 9)
            reason = "the disk is full" if write_errors.disk_full(Path(path).parent) else "Qt could not write it there"
            raise VcamError(f"cannot write {path}: {reason}", "choose a writable .png path with free space")
        atomic.install(tmp, path)
    except OSError as exc:
        raise write_errors.write_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
    return pixmap.width(), pixmap.height(), frames
