"""The ``<name>.part`` file on disk as the whole state of an unfinished download.

Nothing about a download lives only in memory, so a download killed with the app or the CLI resumes
where its bytes stopped. Beside the .part, a ``<name>.part.json`` sidecar (written atomically, before
the first byte) records which file the bytes belong to (catalog URL, sha256, size) and what the server
said about it (strong ETag or Last-Modified, length). Without that, a .part left by an older catalog
entry, another program or a server that has since replaced the file would be continued with a tail
that does not fit; with it, such a .part is thrown away, and the validators go out as ``If-Range``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from gptstudio.core.atomic import atomic_open
from gptstudio.core.errors import DownloadError, GptStudioError
from gptstudio.models.download_io import HashingSink

_BLOCK = 8 << 20
#: Start writing to disk every this many bytes, so the final fsync has little left to do.
_WRITEBACK = 32 << 20
_IDENTITY = ("url", "sha256", "size")


class PartFile:
    """``dest_dir/<name>.part`` and its sidecar: the bytes so far, their running sha256, the validators."""

    def __init__(self, dest_dir: Path, name: str, identity: dict[str, Any]) -> None:
        self.dest_dir, self.name = dest_dir, name
        self.final = dest_dir / name
        self.path, self.sidecar = dest_dir / f"{name}.part", dest_dir / f"{name}.part.json"
        self.identity = {k: identity.get(k) for k in _IDENTITY}
        self.meta: dict[str, Any] = dict(self.identity)
        self.resumable = False
        self.done = 0
        self.hasher = HashingSink()
        self.handle: BinaryIO | None = None
        self._flushed_to = 0

    def inspect(self) -> int:
        """Read the sidecar; the bytes a resume would keep (0 when the .part is not this file's)."""
        meta = None
        if self.path.exists():
            with contextlib.suppress(OSError, ValueError):
                meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
        self.resumable = isinstance(meta, dict) and all(meta.get(k) == v for k, v in self.identity.items())
        if not self.resumable:
            return 0
        self.meta = meta  # type: ignore[assignment]
        return self.path.stat().st_size

    @property
    def total(self) -> int | None:
        """The length the server announced when the .part was started, if it did."""
        return self.meta.get("total")

    @property
    def validator(self) -> str | None:
        """What to send as ``If-Range``: the strong ETag, else the Last-Modified date."""
        return self.meta.get("etag") or self.meta.get("last_modified")

    def open(self, check: Callable[[], None]) -> None:
        """Continue this file's .part, hashing what it holds (``check`` may cancel), or start afresh."""
        if not self.resumable:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.meta = dict(self.identity)
            self._save()
        try:
            self.handle = open(self.path, "ab")  # closed by close()
            with open(self.path, "rb") as prefix:
                while block := prefix.read(_BLOCK):
                    self.hasher.update(block)
                    self.done += len(block)
                    check()
        except OSError as exc:
            raise DownloadError(f"Cannot write to {self.dest_dir}: {exc.strerror or exc}.") from exc

    def remember(self, etag: str | None, last_modified: str | None, total: int | None) -> None:
        """Record the server's validators for the bytes that follow (If-Range takes only strong ETags)."""
        self.meta["etag"] = etag if etag and not etag.startswith("W/") else None
        self.meta["last_modified"] = last_modified
        self.meta["total"] = total
        self._save()

    def write(self, chunk: bytes) -> None:
        try:
            self.handle.write(chunk)  # type: ignore[union-attr]
        except OSError as exc:
            raise DownloadError(
                f"Could not write {self.path}: {exc.strerror or exc}. The {self.done / 1e6:.1f} MB "
                "downloaded so far are kept; the next try resumes from there."
            ) from exc
        self.hasher.update(chunk)
        self.done += len(chunk)
        if self.done - self._flushed_to >= _WRITEBACK:
            self._start_writeback()

    def _start_writeback(self) -> None:
        """Ask the OS to start writing what arrived so far, without waiting for it.

        The fsync before the rename (so an installed model survives a power cut) would otherwise
        write the whole file to disk at the end, after the network is done; started early, the
        disk works while the bytes still arrive. On Linux, POSIX_FADV_DONTNEED on dirty pages
        starts their writeback and then drops them from the cache (the page cache need not hold
        a 200 MB model we will not read again soon). Elsewhere this is a no-op.
        """
        advise = getattr(os, "posix_fadvise", None)
        if advise is None or self.handle is None:
            return
        with contextlib.suppress(OSError):
            self.handle.flush()
            advise(
                self.handle.fileno(), self._flushed_to, self.done - self._flushed_to, os.POSIX_FADV_DONTNEED
            )
        self._flushed_to = self.done

    def restart(self) -> None:
        """Throw away what the .part holds: the server sends the whole file (again)."""
        assert self.handle is not None
        self.hasher.drain()
        self.handle.truncate(0)
        self.hasher, self.done, self._flushed_to = HashingSink(), 0, 0
        self.meta = dict(self.identity)

    def install(self, sha256: str | None) -> str:
        """Flush, verify against ``sha256`` (if published) and rename into place; the file's sha256.

        A mismatch deletes the .part and its sidecar: those bytes can never become the right file.
        """
        assert self.handle is not None
        digest = self.hasher.hexdigest()
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as exc:
            raise DownloadError(f"Could not write {self.path}: {exc.strerror or exc}.") from exc
        self.close()
        if sha256 and digest != sha256.lower():
            self.discard()
            raise DownloadError(
                f"{self.name} arrived damaged or is not the file the catalog describes (its checksum "
                "does not match), so it was deleted. Try again; if it happens again, the file on the "
                "server has changed."
            )
        try:
            os.replace(self.path, self.final)
        except OSError as exc:
            raise DownloadError(f"Could not save {self.final}: {exc.strerror or exc}.") from exc
        with contextlib.suppress(OSError):
            self.sidecar.unlink()
        return digest

    def discard(self) -> None:
        for path in (self.path, self.sidecar):
            with contextlib.suppress(OSError):
                path.unlink()

    def close(self) -> None:
        self.hasher.drain()
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.close()
            self.handle = None

    def _save(self) -> None:
        try:
            with atomic_open(self.sidecar) as handle:
                handle.write(json.dumps(self.meta, indent=1).encode())
        except (OSError, GptStudioError) as exc:
            raise DownloadError(f"Cannot write to {self.dest_dir}: {exc}.") from exc
