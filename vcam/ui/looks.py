"""The styles as choices in the panel: one thumbnail per style, each the picture it would paint (the
chosen background picture, or the room the camera sees for a blur effect) painted in that style.
Painted once per picture at thumbnail size, never per frame."""
from __future__ import annotations

import logging
from typing import Callable, Hashable, Optional

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem

from vcam import media, style
from vcam.errors import VcamError
from vcam.ui.gallery import THUMB, rgb_to_qimage

log = logging.getLogger(__name__)

NAME_ROLE = Qt.ItemDataRole.UserRole
PAINT_SCALE = 3   # previews are painted at this many times the thumbnail's size


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
        self.setGridSize(QSize(THUMB.width() + 16, THUMB.height() + 30))
        self.setFixedHeight(THUMB.height() + 30 + self.horizontalScrollBar().sizeHint().height() + 8)
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
        self.shown: Optional[Hashable] = None   # what the previews were painted from
        self.itemClicked.connect(self._picked)
        self.itemActivated.connect(self._picked)

    def show_picture(self, key: Hashable, make: Callable[[], Optional[np.ndarray]]) -> None:
        """Paint each style's preview from the picture ``make()`` gives (RGB uint8, any size;
        None: no picture, the previews are cleared); nothing is done again for the ``key``
        already shown."""
        if key == self.shown:
            return
        self.shown = key
        rgb = make()
        if rgb is None:
            for i in range(self.count()):
                self.item(i).setIcon(self._blank)
            return
        # painted at a few times the thumbnail's size, then reduced: a style's strokes are made
        # for a picture, not for a stamp
        big = media.cover_fit(rgb, PAINT_SCALE * THUMB.width(), PAINT_SCALE * THUMB.height())
        try:
            painted = style.paint_all(big, self.names)
        except VcamError as exc:   # a damaged style model: the classical ones still shown
            log.warning("the style previews could not be painted: %s", exc)
            painted = [style.stylize(big, n) if n in ("none",) + style.CLASSICAL_STYLES else big for n in self.names]
        for i, picture in enumerate(painted):
            thumb = cv2.resize(picture, (THUMB.width(), THUMB.height()), interpolation=cv2.INTER_AREA)
            self.item(i).setIcon(QIcon(QPixmap.fromImage(rgb_to_qimage(thumb))))

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
