"""Files in and out, for pictures, animations and videos, where nothing a user had is ever lost.

Reading: :mod:`~vcam.fileio.pictures` (any picture to RGB), :mod:`~vcam.fileio.animation`
(animated WebP, APNG, TIFF pages), :mod:`~vcam.fileio.video_reader` (PyAV). Writing: the same
modules, :mod:`~vcam.fileio.video_writer` and :mod:`~vcam.fileio.frame_folder`, all through
:mod:`~vcam.fileio.atomic` (a partial name, checked, then renamed; videos checked by
:mod:`~vcam.fileio.video_check`), with :mod:`~vcam.fileio.write_errors` telling why a write failed.
Every path a user gives is looked at first by :mod:`~vcam.fileio.user_paths`;
:mod:`~vcam.fileio.file_names` and :mod:`~vcam.fileio.pyav` keep native libraries' quirks in one
place.
"""
