"""One output file, written whole or not at all, and never over a file another run wrote meanwhile.

The data goes to a temporary file created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``) under a unique
name in the output's folder, so two runs never share it and a link planted there is never followed. The
finished file is published without replacing anything unless ``overwrite``:

1. ``renameat2(..., RENAME_NOREPLACE)`` (Linux 3.15+, glibc 2.28+, called through ctypes because Python has
   no binding): one system call, atomic, and the output never has two names;
2. where that is missing or the file system refuses it: ``link(tmp, out)`` (fails if ``out`` exists, also
   atomic) then ``unlink(tmp)``.

A run that loses the race gets a ``DataError`` and its temporary file is removed. Every failure path
(exception, Ctrl-C, SIGTERM) removes the temporary file; only SIGKILL cannot, so the name carries the host
and process id and the next run to the same output removes temporary files whose process is gone.

Why own code and not ``tempfile.mkstemp``: mkstemp creates mode 0600; an output should get the permissions
the user's umask gives any other file, which ``os.open(..., 0o666)`` does.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import secrets
import shutil
import socket
import stat
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from .formats import DataError, os_error_line

RENAME_NOREPLACE = 1
AT_FDCWD = -100
SUFFIX = ".partial"
# What a dead run leaves: its temporary file, and the folder the Spark engine's task writes beside it.
STALE_ENDINGS = (SUFFIX, f"{SUFFIX}.d")


def _host() -> str:
    return "".join(ch for ch in socket.gethostname() if ch.isalnum() or ch in "-_")[:40] or "host"


def temp_prefix(path: Path) -> str:
    return f".{path.name}.{_host()}-"


class AtomicFile:
    """A unique temporary sibling of ``path``; ``publish`` gives it the final name, ``discard`` removes it."""

    def __init__(self, path: str | Path, overwrite: bool = False):
        self.path = Path(path)
        self.overwrite = overwrite
        if not overwrite and os.path.lexists(self.path):  # early, friendly; publish() checks again atomically
            raise DataError(f"{self.path}: already exists; pass --overwrite to replace it")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(os_error_line(self.path.parent, exc, "create the folder")) from exc
        sweep_stale(self.path)
        self.tmp, fd = self._create()
        self.handle: BinaryIO | None = os.fdopen(fd, "wb")

    def _create(self) -> tuple[Path, int]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for _ in range(100):
            tmp = self.path.with_name(f"{temp_prefix(self.path)}{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}")
            try:
                return tmp, os.open(tmp, flags, 0o666)
            except FileExistsError:  # taken (or a planted link): another name, never the existing one
                continue
            except OSError as exc:
                raise DataError(os_error_line(self.path, exc, "create a file next to it")) from exc
        raise DataError(f"{self.path}: cannot create a unique temporary file next to it")

    def publish(self) -> Path:
        """Close and give the file its final name; refuses an existing one unless ``overwrite``."""
        self._close()
        try:
            if self.overwrite:
                os.replace(self.tmp, self.path)  # rename(2) replaces a link itself, never its target
            else:
                _publish_noreplace(self.tmp, self.path)
        except FileExistsError:
            self.discard()
            raise DataError(
                f"{self.path}: another run wrote this file while this one was scoring; nothing of this run was"
                " kept (pass --overwrite to replace it)"
            ) from None
        except OSError as exc:
            self.discard()
            raise DataError(os_error_line(self.path, exc, "write")) from exc
        return self.path

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)

    def _close(self) -> None:
        if self.handle is not None:
            handle, self.handle = self.handle, None
            handle.close()


def _publish_noreplace(src: Path, dst: Path) -> None:
    renameat2 = _renameat2()
    if renameat2 is not None:
        if renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(err, os.strerror(err), str(dst))
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(dst))
    os.link(src, dst)  # FileExistsError if dst appeared; atomic on every POSIX file system with hard links
    os.unlink(src)


@lru_cache(maxsize=1)
def _renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def sweep_stale(path: Path) -> list[Path]:
    """Remove this host's temporary files (and Spark working folders) for ``path`` whose process is gone (left
    by a SIGKILL). Only this user's; a link is removed as a link, never followed."""
    removed = []
    prefix = temp_prefix(path)
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix) and n.endswith(STALE_ENDINGS)]
    except OSError:
        return removed
    for name in names:
        pid = name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        stale = path.parent / name
        try:
            info = stale.lstat()
            if info.st_uid != os.getuid():
                continue
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(stale)
            else:
                stale.unlink()
            removed.append(stale)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
