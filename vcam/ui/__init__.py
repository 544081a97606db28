"""The control panel and tray (PySide6): a thin shell over one :class:`~vcam.live.pipeline.Pipeline`.

It builds :class:`~vcam.config.Settings`, hands them to ``Pipeline.update()``, and reads
``Pipeline.stats()`` and ``Pipeline.preview()`` on timers; it never works on frames itself.
Only this package imports Qt; ``vcam.ui.app`` has the entry points (``run``, ``screenshot``).
"""
