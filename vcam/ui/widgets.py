"""Small pieces the panel's tabs share: a slider with its value beside it, showing or hiding a
form's row, choosing a combo box's text, and setting widgets without their signals firing."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Optional

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QWidget


def slider(lo: int, hi: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setTracking(True)
    return s


def with_value(slider: QSlider, value: QLabel) -> QHBoxLayout:
    row = QHBoxLayout()
    value.setMinimumWidth(34)
    row.addWidget(slider, 1)
    row.addWidget(value)
    return row


def slider_row(form: QFormLayout, title: str, lo: int, hi: int, changed: Callable[[int], object], *,
               tip: Optional[str] = None) -> tuple[QSlider, QLabel]:
    """A row of ``form``: ``title``, a slider from ``lo`` to ``hi`` that calls ``changed`` with its
    value, and a label for the value (its owner writes it). Returns (slider, label)."""
    s = slider(lo, hi)
    if tip is not None:
        s.setToolTip(tip)
    s.valueChanged.connect(changed)
    value = QLabel()
    form.addRow(title, with_value(s, value))
    return s, value


def show_row(form: QFormLayout, field: QWidget, on: bool) -> None:
    """Show or hide, title and all, the row of ``form`` that holds ``field`` (as its field, or in
    its field's layout)."""
    for row in range(form.rowCount()):
        for role in (QFormLayout.ItemRole.FieldRole, QFormLayout.ItemRole.SpanningRole):
            item = form.itemAt(row, role)
            if item is not None and (item.widget() is field or (item.layout() is not None
                                                                and item.layout().indexOf(field) >= 0)):
                form.setRowVisible(row, on)
                return
    raise ValueError(f"{field!r} is in no row of the form")


def select_text(combo: QComboBox, text: str) -> None:
    """Show ``text`` in ``combo``, added as a choice if it is not one yet."""
    index = combo.findText(text)
    if index < 0:
        combo.addItem(text)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


@contextmanager
def signals_blocked(widgets: Iterable[QObject]) -> Iterator[None]:
    """Set widgets from the settings without their signals calling the controller back."""
    widgets = tuple(widgets)
    for w in widgets:
        w.blockSignals(True)
    try:
        yield
    finally:
        for w in widgets:
            w.blockSignals(False)
