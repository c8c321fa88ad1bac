"""One exception tree. Every error says where (a location) and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, and optionally a line (1-based) or record position."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


class LannerError(Exception):
    """Base of all errors Lanner reports to users: one readable line, no traceback."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InputError(LannerError):
    """A file or path the user gave cannot be read as logs."""


class RuleError(LannerError):
    """A rule file is invalid; `location` points at the file and line."""


class LakeError(LannerError):
    """The lake directory is missing, unreadable or inconsistent."""
