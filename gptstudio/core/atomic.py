"""Atomic file writes: write a temporary file beside the target, then rename over it.

A crash, a full disk or a cancelled job therefore never leaves a half-written output, and an
existing file is only replaced once the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from gptstudio.core.errors import ImageWriteError


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """Create a new hidden temporary file beside the target, with the usual permissions.

    ``tempfile.mkstemp`` would create it readable by the owner only (0600), and the rename would
    give the finished image those permissions; ``os.open`` with 0666 lets the umask decide, as
    for any other file the user saves.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not create a temporary file in {directory}")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file for binary writing that replaces ``path`` only on success.

    On any failure (including cancellation inside the ``with`` block) the temporary file is
    removed and ``path`` is left exactly as it was. A replaced file keeps its permissions.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(directory, target.name)
    except OSError as exc:
        raise ImageWriteError(f"Cannot write to {directory}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            with contextlib.suppress(OSError):
                shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: str | os.PathLike[str], writer: Callable[[BinaryIO], None]) -> None:
    """Call ``writer(handle)`` on a temporary file and move it over ``path`` when it succeeds.

    ``OSError`` (full disk, permission) becomes an :class:`ImageWriteError` with a clear message.
    """
    try:
        with atomic_open(path) as handle:
            writer(handle)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImageWriteError(f"Could not write {path}: {reason}. Nothing was changed.") from exc


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda handle: handle.write(data))
