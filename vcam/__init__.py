"""vcam: a real-time virtual camera that blurs or replaces the background behind a person."""
from vcam import private  # noqa: F401 - first of all: no dependency may phone home
from vcam import quiet  # noqa: F401 - first: FFmpeg's log level is set before OpenCV uses it
from vcam.config import Settings
from vcam.errors import VcamError

__version__ = "0.1.0"
__all__ = ["Settings", "VcamError", "__version__"]
