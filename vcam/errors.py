"""The one error type a user sees: what is wrong and how to fix it."""
from __future__ import annotations


class VcamError(Exception):
    """A problem the user can fix. ``str()`` is one line: the problem, then the fix."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}: {fix}" if fix else problem)
