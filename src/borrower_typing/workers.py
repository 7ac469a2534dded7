"""Worker processes that do not outlive the run, and SIGTERM handled like Ctrl-C.

A worker of ``score --jobs N`` holds a model (hundreds of MB). If the parent is killed with SIGKILL it
cannot stop them, so each worker arranges its own end when it starts:

- Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ctypes (no Python binding exists): the kernel kills the
  worker the moment the process that started it dies;
- everywhere: a daemon thread that checks once a second whether the parent's id is still the worker's
  parent, and ends the worker when it is not (covers systems without prctl, and the parent dying before
  prctl took effect).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Iterator

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0


def init_worker(parent_pid: int) -> None:
    """Initializer of every worker process: die with ``parent_pid``."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl: nothing would signal us
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    stop = threading.Event()
    while not stop.wait(WATCH_SECONDS):
        if os.getppid() != parent_pid:
            os._exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM received: unwinds like Ctrl-C, so every ``finally`` and ``__exit__`` runs."""

    exit_code = 143


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated``; the previous handler is restored afterwards.

    The exception can land inside library code that turns it into another one (a worker pool being torn down
    mid-start); whatever leaves the block after a SIGTERM leaves it as ``Terminated``, so the run still ends
    as terminated (exit 143), not as a crash."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except Exception as exc:
        if received:
            raise Terminated(f"signal {received[0]}") from exc
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
