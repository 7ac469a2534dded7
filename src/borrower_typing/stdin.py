"""``predict -``: notes from a stream, one JSON line out per line in, in order, whatever the length.

A stable interface for scripts: line N of the output answers line N of the input. A blank line is a note
too (it comes out as a review row, reason ``empty``), so nothing shifts. The stream is read and scored in
chunks, so a file of millions of lines never sits in memory at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import IO, TYPE_CHECKING

from .errors import DataError

if TYPE_CHECKING:
    from .model import TypingModel

CHUNK_LINES = 2_000


def read_lines(stream: IO[str] | IO[bytes]) -> Iterator[str]:
    """The lines of ``stream`` without their line ending (``\\n`` or ``\\r\\n``), split on ``\\n`` only:
    ``str.splitlines`` would also split inside a line at U+2028 and other separators, shifting the output.
    Bytes are read as UTF-8 (a byte-order mark at the start is dropped); a line that is not UTF-8 stops the
    stream with the line's number rather than being changed."""
    raw = getattr(stream, "buffer", stream)
    for number, line in enumerate(raw, start=1):
        if isinstance(line, bytes):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"standard input line {number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
        yield line.removesuffix("\n").removesuffix("\r")


def predict_lines(
    model: TypingModel, stream: IO[str] | IO[bytes], out: IO[str], evidence: int = 5, chunk_lines: int = CHUNK_LINES
) -> int:
    """Write one JSON object per line of ``stream`` to ``out``, in order; returns the number of lines."""
    lines = read_lines(stream)
    done = 0
    while chunk := list(islice(lines, chunk_lines)):
        preds = model.predict(chunk, evidence=evidence)
        out.write("".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in preds))
        out.flush()  # a script reading the other end of a pipe gets each chunk as soon as it is scored
        done += len(chunk)
    return done
