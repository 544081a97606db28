"""The background gallery: thumbnails of the shipped backgrounds and the user's own pictures and
videos; click one to use it; drop files on it to add them. It shows whole thumbnails only: its
columns share its width, and where it scrolls its rows share its height and it scrolls by whole rows."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QScrollBar

from vcam import scaling
from vcam.effects import style
from vcam.errors import VcamError
from vcam.fileio import pictures, user_paths
from vcam.fileio.video_reader import VideoReader
from vcam.system.resources import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

THUMB = QSize(*style.PREVIEW_SIZE)
CELL = QSize(THUMB.width() + 16, THUMB.height() + 30)   # the least room a thumbnail and its name take
PATH_ROLE = Qt.ItemDataRole.UserRole
USER_ROLE = Qt.ItemDataRole.UserRole + 1


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB uint8 array -> a QImage that owns its own copy of the pixels."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def thumbnail(path: Path, size: QSize = THUMB) -> QImage:
    """The picture (or a video's first frame) cover-fitted to ``size``; raises VcamError."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        video = VideoReader(path, "background")
        try:
            rgb = video.frame
        finally:
            video.close()
    else:
        rgb = pictures.load_image(path, "background")
    return rgb_to_qimage(scaling.cover_fit(rgb, size.width(), size.height()))


def snap(bar: QScrollBar, step: Callable[[], int]) -> None:
    """Keep ``bar`` at whole multiples of ``step()`` (the view's row or column): scrolled to part
    of one, the view goes on to the next whole one the way it was going, so it never shows a
    thumbnail cut."""
    last = [bar.value()]

    def whole(value: int) -> None:
        length = step()
        if length > 0 and value % length and value < bar.maximum():
            ahead = value > last[0]
            value = min(bar.maximum(), (value // length + ahead) * length)
            bar.setValue(value)
        last[0] = value
    bar.valueChanged.connect(whole)


def _placeholder(text: str) -> QIcon:
    pix = QPixmap(THUMB)
    pix.fill(QColor(70, 70, 70))
    painter = QPainter(pix)
    painter.setPen(QColor(230, 230, 230))
    painter.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(pix)


class Gallery(QListWidget):
    """``chosen(path)`` when the user picks a background; ``files_dropped(paths)`` for files
    dropped on it. Thumbnails are made once per file (not per frame)."""

    chosen = Signal(Path)
    files_dropped = Signal(list)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(THUMB)
        self.setGridSize(CELL)
        self.setMinimumHeight(CELL.height() + 2 * self.frameWidth())
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        snap(self.verticalScrollBar(), lambda: self.gridSize().height())
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setToolTip("Click a background to use it; drop pictures or videos here to add them")
        self._icons: dict[tuple[str, float], QIcon] = {}
        self._shown: list[tuple[str, bool]] = []
        self.itemClicked.connect(self._picked)
        self.itemActivated.connect(self._picked)

    def _icon(self, path: Path) -> tuple[QIcon, Optional[str]]:
        try:
            st = user_paths.look(path, "background")
        except VcamError as exc:   # a name too long, no permission, a NUL or lone surrogate from ui.json
            return _placeholder("unusable"), str(exc)
        if st is None:
            return _placeholder("missing"), f"{path} is missing"
        key = (str(path), st.st_mtime)
        if key not in self._icons:
            try:
                self._icons[key] = QIcon(QPixmap.fromImage(thumbnail(path)))
            except VcamError as exc:
                return _placeholder("unreadable"), str(exc)
        return self._icons[key], None

    def set_backgrounds(self, shipped: list[Path], user: list[Path]) -> None:
        """Show these backgrounds (rebuilt only when the list changed)."""
        wanted = [(str(p), False) for p in shipped] + [(str(p), True) for p in user]
        if wanted == self._shown:
            return
        self._shown = wanted
        self.clear()
        for text, own in wanted:
            path = Path(text)
            icon, problem = self._icon(path)
            item = QListWidgetItem(icon, path.stem)
            item.setData(PATH_ROLE, text)
            item.setData(USER_ROLE, own)
            item.setToolTip(problem or (f"{path} (yours)" if own else f"{path.name} (comes with vcam)"))
            self.addItem(item)
        self._fit()

    def _fit(self) -> None:
        """Whole thumbnails: as many columns as fit, sharing the width; where there are more rows
        than fit, the rows that fit share the height (and one step of the scroll bar is a row)."""
        frame = 2 * self.frameWidth()
        width, height = self.width() - frame, self.height() - frame
        columns = max(1, width // CELL.width())
        scrolls = -(-self.count() // columns) * CELL.height() > height
        if scrolls:
            width -= self.verticalScrollBar().sizeHint().width()
            columns = max(1, width // CELL.width())
        rows = max(1, height // CELL.height())
        row = height // rows if scrolls else CELL.height()
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn if scrolls
                                        else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # the view as high as its whole rows (the pixels left over as a margin), so its end is a row's
        self.setViewportMargins(0, 0, 0, height - rows * row if scrolls else 0)
        self.setGridSize(QSize((width - 1) // columns, row))   # a row as wide as the view would wrap
        self.verticalScrollBar().setSingleStep(row)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._fit()
        super().resizeEvent(event)

    def paths(self) -> list[Path]:
        return [Path(text) for text, _own in self._shown]

    def path_of(self, item: QListWidgetItem) -> Path:
        """The item's file as it was given: Qt's copy of the text loses a name that is not UTF-8."""
        return Path(self._shown[self.row(item)][0])

    def item_for(self, path: Path) -> Optional[QListWidgetItem]:
        for i, (text, _own) in enumerate(self._shown):
            if text == str(path):
                return self.item(i)
        return None

    def select(self, path: Optional[Path]) -> None:
        """Highlight ``path`` (None: nothing) without emitting ``chosen``."""
        item = self.item_for(path) if path is not None else None
        self.blockSignals(True)
        try:
            self.clearSelection()
            if item is not None:
                self.setCurrentItem(item)
                item.setSelected(True)
        finally:
            self.blockSignals(False)

    def selected_is_user(self) -> bool:
        items = self.selectedItems()
        return bool(items) and bool(items[0].data(USER_ROLE))

    def _picked(self, item: QListWidgetItem) -> None:
        self.chosen.emit(self.path_of(item))

    # -- drag and drop ----------------------------------------------------------------------------
    @staticmethod
    def _files(event) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self._files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        files = self._files(event)
        if files:
            event.acceptProposedAction()
            self.files_dropped.emit(files)
        else:
            event.ignore()
