"""The styles as choices in the panel: one thumbnail per style, each the picture it would paint (the
chosen background picture, or the room the camera sees for a blur effect) painted in that style.
Painted once per picture at thumbnail size, never per frame. The strip shows whole thumbnails: where
they do not all fit, the ones that do share its width, and it scrolls by whole thumbnails."""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Hashable, Optional

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem

from vcam.effects import style
from vcam.ui.gallery import CELL, THUMB, rgb_to_qimage, snap

log = logging.getLogger(__name__)

NAME_ROLE = Qt.ItemDataRole.UserRole


def style_label(name: str) -> str:
    return "None" if name == "none" else name.replace("-", " ").capitalize()


class StyleStrip(QListWidget):
    """``chosen(name)`` when the user picks a style. :meth:`show_picture` paints the previews."""

    chosen = Signal(str)

    def __init__(self, names: tuple[str, ...], parent=None) -> None:
        super().__init__(parent)
        self.names = names
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(THUMB)
        self.setGridSize(CELL)
        self.setFixedHeight(CELL.height() + self.horizontalScrollBar().sizeHint().height() + 2 * self.frameWidth())
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        snap(self.horizontalScrollBar(), lambda: self.gridSize().width())
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        blank = QPixmap(THUMB)
        blank.fill(QColor(70, 70, 70))
        self._blank = QIcon(blank)   # until a picture is painted (Qt sizes each item by its first icon)
        for name in names:
            item = QListWidgetItem(self._blank, style_label(name))
            item.setData(NAME_ROLE, name)
            item.setToolTip(f"Paint the background in the {style_label(name).lower()} style" if name != "none"
                            else "No style")
            self.addItem(item)
        self.shown: Optional[Hashable] = None     # what the previews are (being) painted from
        self.painted: Optional[Hashable] = None   # ... and what the icons show
        # Painting threads never touch Qt: they put (key, thumbnails or None) here, and a timer of
        # this widget (which dies with it) takes them on the panel's thread. A thread emitting a
        # signal on the widget raced the widget's deletion when the panel closed (a segfault).
        self._painted: queue.SimpleQueue = queue.SimpleQueue()
        self._painting = 0
        self._take = QTimer(self)
        self._take.setInterval(50)
        self._take.timeout.connect(self._take_painted)
        self.itemClicked.connect(self._picked)
        self.itemActivated.connect(self._picked)

    def _fit(self) -> None:
        width = self.width() - 2 * self.frameWidth()
        fits = max(1, width // CELL.width())
        scrolls = self.count() > fits
        cell = width // fits if scrolls else CELL.width()
        self.setViewportMargins(0, 0, width - fits * cell if scrolls else 0, 0)   # its end is a thumbnail's
        self.setGridSize(QSize(cell, CELL.height()))
        self.horizontalScrollBar().setSingleStep(cell)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._fit()
        super().resizeEvent(event)

    def show_picture(self, key: Hashable, make: Callable[[], Optional[np.ndarray]]) -> None:
        """Paint each style's preview from the picture ``make()`` gives (RGB uint8, any size;
        None: no picture, the previews are cleared); nothing is done again for the ``key``
        already shown. The painting runs on a thread of its own (26 neural styles take a second
        or two): the panel never waits; ``painted`` becomes ``key`` once the previews are in."""
        if key == self.shown:
            return
        self.shown = key
        # the picture is read (a photo may be large) and painted off the panel's thread
        self._painting += 1
        self._take.start()
        threading.Thread(target=_paint, args=(key, make, self.names, self._painted), name="style-previews",
                         daemon=True).start()

    def _take_painted(self) -> None:
        while not self._painted.empty():
            self._painting -= 1
            self._show_painted(*self._painted.get())
        if self._painting == 0:
            self._take.stop()

    def _show_painted(self, key: Hashable, thumbs: Optional[list]) -> None:
        if key != self.shown:   # a picture chosen since: its own previews are on their way
            return
        for i in range(self.count()):   # None: no picture, the previews cleared
            icon = self._blank if thumbs is None else QIcon(QPixmap.fromImage(rgb_to_qimage(thumbs[i])))
            self.item(i).setIcon(icon)
        self.painted = key

    def select(self, name: str) -> None:
        """Highlight ``name`` without emitting ``chosen``."""
        self.blockSignals(True)
        try:
            self.clearSelection()
            if name in self.names:
                item = self.item(self.names.index(name))
                self.setCurrentItem(item)
                item.setSelected(True)
        finally:
            self.blockSignals(False)

    def selected(self) -> Optional[str]:
        items = self.selectedItems()
        return items[0].data(NAME_ROLE) if items else None

    def _picked(self, item: QListWidgetItem) -> None:
        self.chosen.emit(item.data(NAME_ROLE))


def _paint(key: Hashable, make: Callable[[], Optional[np.ndarray]], names: tuple[str, ...],
           painted: queue.SimpleQueue) -> None:
    """On a painting thread: the previews of ``make()``'s picture (None: no picture) into
    ``painted``, with ``key``. Touches nothing of Qt."""
    thumbs = None
    try:
        rgb = make()
        thumbs = None if rgb is None else style.previews(rgb, names)
    except Exception:   # a picture gone or unreadable meanwhile: no previews, the strip goes on
        log.exception("the style previews could not be painted")
    finally:
        painted.put((key, thumbs))
