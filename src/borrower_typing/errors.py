"""The errors a user can fix, each ending a command with one line and exit code 2 (kept import-free)."""

from __future__ import annotations


class DataError(ValueError):
    """A file that cannot be used as given; the message names the file and the line, column or field."""


class ModelLoadError(Exception):
    """An anticipated failure to load a model (unknown registry name or alias, a folder that is not a model,
    a file the loader refuses, a folder that does not match its manifest): one line naming the path or URI."""
