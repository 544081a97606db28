"""The signals that stop vcam, in one place. SIGTERM (a service stopped), SIGHUP (the terminal
closed) and SIGQUIT (Ctrl-\\) all stop it as Ctrl-C does: the recording or the output in progress
is finished or removed cleanly, never left half-written."""
from __future__ import annotations

import contextlib
import signal
from typing import Callable, Iterator

STOPS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


def name(signum: int) -> str:
    return signal.Signals(signum).name


def exit_code(signum: int) -> int:
    """What a shell reports for a process ended by ``signum``: 128 + its number."""
    return 128 + int(signum)


@contextlib.contextmanager
def stopping(handler: Callable[[int], None]) -> Iterator[None]:
    """Run ``handler(signum)`` on each stopping signal while the block runs; the previous
    handlers come back after it."""
    previous = {s: signal.signal(s, lambda signum, _frame: handler(signum)) for s in STOPS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
