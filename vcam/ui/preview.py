"""The panel's live pictures: the output (and, to compare, the original beside or above it), each
as large as its space allows at the picture's own aspect ratio, in a frame of the picture's shape
(no bars inside it). The window's other parts never change their size, so changing tab or effect
never moves them. Nothing here touches a full-size frame: the pipeline makes the small previews."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from vcam.ui.gallery import rgb_to_qimage

PREVIEW_MAX_WIDTH = 960   # the processing thread scales previews down to this at most
SPACING = 6               # between the output and the original
MIN_WIDTH = 240           # the least a picture is given, however small the window


def fit(area: QSize, aspect: float, count: int, spacing: int = SPACING) -> list[QRect]:
    """Where ``count`` (1 or 2) pictures of ``aspect`` (width / height) go in ``area``: each as
    large as it can be, two side by side or one above the other (whichever makes them larger),
    centred across and at the top."""
    w, h = area.width(), area.height()
    if count == 1:
        across = down = (min(w, h * aspect), 0.0)
    else:
        across = (min((w - spacing) / 2, h * aspect), 0.0)   # side by side
        down = (min(w, (h - spacing) / 2 * aspect), 1.0)     # one above the other
    width, stacked = max(across, down)
    width = max(1, int(width))
    height = max(1, round(width / aspect))
    if count == 1:
        return [QRect((w - width) // 2, 0, width, height)]
    if stacked:
        left = (w - width) // 2
        return [QRect(left, 0, width, height), QRect(left, height + spacing, width, height)]
    left = (w - 2 * width - spacing) // 2
    return [QRect(left, 0, width, height), QRect(left + width + spacing, 0, width, height)]


def height_wanted(width: int, aspect: float, count: int, spacing: int = SPACING) -> int:
    """The height past which more height no longer makes the pictures larger at ``width``."""
    one = round(width / aspect)
    return one if count == 1 else 2 * one + spacing


class PreviewView(QLabel):
    """One small frame, drawn to fill the view (which :class:`PreviewArea` gives the picture's
    shape), or a line of text (paused, not running). ``frames``: how many were shown."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.title = title
        self.captioned = False   # the title in a corner: while the two pictures are compared
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setStyleSheet("background: #111; color: #bbb;")
        self._picture: Optional[QPixmap] = None
        self.aspect = 16 / 9
        self.frames = 0

    def wanted_width(self) -> int:
        """The preview width worth asking the pipeline for: this view's, within the pipeline's cap."""
        return max(16, min(PREVIEW_MAX_WIDTH, self.width()))

    def show_frame(self, rgb) -> None:
        h, w = rgb.shape[:2]
        aspect = w / h
        self._picture = QPixmap.fromImage(rgb_to_qimage(rgb))
        if self.text():
            self.setText("")
        self.frames += 1
        if abs(aspect - self.aspect) > 1e-3:   # another camera or size: the frames are laid out again
            self.aspect = aspect
            parent = self.parentWidget()
            if isinstance(parent, PreviewArea):
                parent.arrange()
        self.update()

    def show_text(self, text: str) -> None:
        if self._picture is not None or self.text() != text:
            self._picture = None
            self.setText(text)

    def showing_picture(self) -> bool:
        return self._picture is not None

    def picture_rect(self) -> QRect:
        """Where the picture is drawn, in this view's coordinates (empty while it shows text)."""
        if self._picture is None:
            return QRect()
        size = self._picture.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRect((self.width() - size.width()) // 2, (self.height() - size.height()) // 2,
                     size.width(), size.height())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._picture is None:
            super().paintEvent(event)
        else:
            painter = QPainter(self)
            painter.fillRect(self.rect(), QColor(17, 17, 17))
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(self.picture_rect(), self._picture)
            painter.end()
        if self.captioned:
            painter = QPainter(self)
            box = painter.fontMetrics().boundingRect(self.title).adjusted(-6, -3, 6, 3)
            box.moveTopLeft(QPoint(6, 6))
            painter.fillRect(box, QColor(0, 0, 0, 150))
            painter.setPen(QColor(235, 235, 235))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.title)
            painter.end()


class PreviewArea(QWidget):
    """The output view, and the original's while comparing (:meth:`set_compare`), laid out by
    :func:`fit`. It asks for no more height than its pictures can use at its width, so what
    comes below it sits right under them."""

    def __init__(self) -> None:
        super().__init__()
        self.output_view = PreviewView("Output")
        self.input_view = PreviewView("Original")
        for view in (self.output_view, self.input_view):
            view.setParent(self)
        self.compare = False
        self.input_view.hide()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(MIN_WIDTH, round(MIN_WIDTH * 9 / 16))

    def set_compare(self, on: bool) -> None:
        self.compare = on
        self.input_view.setVisible(on)
        for view in (self.output_view, self.input_view):
            view.captioned = on
            view.update()
        self.arrange()

    def views(self) -> list[PreviewView]:
        return [self.output_view, self.input_view] if self.compare else [self.output_view]

    def arrange(self) -> None:
        views = self.views()
        aspect = self.output_view.aspect
        for view, rect in zip(views, fit(self.size(), aspect, len(views))):
            view.setGeometry(rect)
        self.setMaximumHeight(max(self.minimumHeight(), height_wanted(self.width(), aspect, len(views))))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(640, 360)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.arrange()
