"""Nothing is sent anywhere, dependencies included. Imported first by ``vcam/__init__``.

ONNX Runtime's Python package, on import, writes a device id and an events database under
``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` and sends telemetry (the executable's path,
OS, CPU, memory) to Microsoft; ``onnxruntime.disable_telemetry_events()`` does not stop that,
``ORT_DISABLE_TELEMETRY=1`` in the environment before the import does. vcam sets it on its own
import, whatever the user's environment says, and says so when onnxruntime was imported before
vcam (then it is too late: import vcam first).
"""
from __future__ import annotations

import os
import sys

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
ORT_IMPORTED_FIRST = "onnxruntime" in sys.modules   # by the program that imported vcam
_said = False


def onnxruntime_opened(ort) -> None:
    """Called when vcam first uses onnxruntime: its Windows event tracing is turned off too, and
    a telemetry that could not be prevented is said."""
    disable = getattr(ort, "disable_telemetry_events", None)
    if disable is not None:
        disable()
    global _said
    if ORT_IMPORTED_FIRST and not _said:
        import logging

        _said = True

        logging.getLogger(__name__).warning(
            "onnxruntime was imported before vcam, so its telemetry could not be turned off: "
            "import vcam first, or set ORT_DISABLE_TELEMETRY=1 in the environment")
