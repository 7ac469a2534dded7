"""The errors a user can fix, each ending a command with one line and exit code 2 (kept import-free)."""

from __future__ import annotations


class DataError(ValueError):
    """A file that cannot be used as given; the message names the file and the line, column or field."""
