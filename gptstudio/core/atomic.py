"""Atomic file writes: write a temporary file beside the target, then rename over it.

A crash, a full disk or a cancelled job therefore never leaves a half-written output, and an
existing file is only replaced once the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from gptstudio.core.errors import ImageWriteError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file for binary writing that replaces ``path`` only on success."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ImageWriteError(f"Cannot write to {directory}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
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
    atomic_write(path, lambda handle: handle.write(data))
