"""Live video: three threads joined by one-frame mailboxes, newest frame wins.

:mod:`~vcam.live.pipeline` runs capture (:mod:`~vcam.live.capture` over a
:mod:`~vcam.live.sources` source; cameras listed by :mod:`~vcam.live.devices`) -> the engine ->
the publisher (:mod:`~vcam.live.publisher`, feeding a :mod:`~vcam.live.sinks` sink: the virtual
camera, a recording, nothing). :mod:`~vcam.live.mailbox` holds the hand-offs and frame pools,
:mod:`~vcam.live.stats` the timings, :mod:`~vcam.live.camera_readers` who is watching the virtual
camera. Settings: :class:`vcam.config.CaptureSettings`, :class:`vcam.config.OutputSettings`.
"""
