"""Resumable, verified downloads of model files, one at a time or through a :class:`DownloadQueue`.

Written for this program rather than taken from ``huggingface_hub``: most community weights are
GitHub release assets or OpenModelDB links, which the Hub client does not fetch; it does not check a
sha256 published by a model's author; and resuming after the app or the CLI was killed has to be a
property we can test, so here the ``<name>.part`` file on disk *is* the download's state.

How a file arrives (:func:`download_file`):

* bytes stream into ``<dest>/<name>.part``, with a sidecar saying which file they belong to
  (:mod:`~gptstudio.models.download_part`); a .part that is not this file's is thrown away;
* an existing .part is hashed (the resumed prefix counts towards the sha256) and continued with
  ``Range: bytes=N-`` and ``If-Range``, so a server whose file changed since sends the whole new file
  instead of a tail that does not fit; a server that ignores Range (200) restarts from 0;
* dropped connections, 5xx, 429 and stalls (no byte for ``stall_timeout``) are retried with
  exponential back-off. ``retries`` counts consecutive attempts that brought no new byte, so a long
  download over a flaky link is not abandoned while it still makes progress; 404/403 fail at once;
* free space is checked against the bytes still to come before they are requested (the catalog's
  size until the server announces its own; a different size is not an error by itself, the sha256
  decides);
* the sha256 is checked, a mismatch deletes the .part, and the finished file is fsynced and renamed
  into place atomically, so ``<dest>/<name>`` only ever exists complete;
* cancelling (``TaskState``) keeps the .part for the next try;
* progress goes to a callback and the ``TaskState`` ten times a second at most
  (:mod:`~gptstudio.models.download_progress`); hashing runs on a helper thread so the downloader
  keeps up with a plain copy (:mod:`~gptstudio.models.download_io`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from gptstudio import __version__
from gptstudio.core.errors import DownloadError
from gptstudio.core.progress import TaskState
from gptstudio.models.download_io import ssl_context, tune_httpcore
from gptstudio.models.download_part import PartFile
from gptstudio.models.download_progress import DownloadProgress, ProgressMeter
from gptstudio.models.store import file_sha256

ENV_BASE_URL = "GPTSTUDIO_DOWNLOAD_BASE_URL"
#: Longest wait between retries.
MAX_BACKOFF = 60.0
#: Room left on the disk after the download, so a model never fills it to the last byte.
FREE_SPACE_MARGIN = 16 << 20
#: A transfer that receives nothing wakes up this often to notice a cancel (it is not a stall yet).
CANCEL_POLL = 2.0
_REFUSED = {401: "refused to send", 403: "refused to send", 404: "does not have", 410: "does not have"}


def effective_url(url: str) -> str:
    """``url`` with scheme and host (and port) replaced by ``$GPTSTUDIO_DOWNLOAD_BASE_URL``, if set.

    The path is kept, after the override's own path, so a mirror may live under a prefix: with
    ``http://127.0.0.1:8000/mirror``, ``https://github.com/a/b.pth`` becomes
    ``http://127.0.0.1:8000/mirror/a/b.pth``. Tests and air-gapped sites use it.
    """
    base = os.environ.get(ENV_BASE_URL, "").strip()
    if not base:
        return url
    override, original = urlsplit(base), urlsplit(url)
    if override.scheme not in ("http", "https") or not override.netloc:
        raise DownloadError(f"{ENV_BASE_URL} must be a URL such as http://127.0.0.1:8000, not {base!r}.")
    path = override.path.rstrip("/") + original.path
    return urlunsplit((override.scheme, override.netloc, path, original.query, ""))


def free_disk_space(path: Path) -> int:
    """Free bytes on the disk holding ``path``; a module function so tests can fake a full disk."""
    return shutil.disk_usage(path).free


@dataclass(frozen=True)
class FileSpec:
    """One file of a catalog entry."""

    name: str  # file name inside the model folder
    url: str  # https URL on the model's own release page / OpenModelDB record
    size: int | None  # bytes, when the host publishes it
    sha256: str | None  # lowercase hex, when the host publishes it


@dataclass(frozen=True)
class DownloadedFile:
    path: Path
    size: int
    sha256: str
    verified: bool  # False when no hash was published: the hash was computed on first download


class _Retry(Exception):
    """An attempt failed in a way that trying again may fix; the message says why, for users."""


def _check_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or Path(name).name != name:
        raise DownloadError(f"Refusing to save a download as {name!r}: it is not a plain file name.")
    return name


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes 100-199/1000`` -> (100, 1000); ``bytes */1000`` -> (None, 1000); ``/*`` -> total None."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    start = int(span.split("-")[0]) if span[:1].isdigit() else None
    return start, int(total) if total.isdigit() else None


class _Transfer:
    """One :func:`download_file` call: HTTP requests, retries and progress around a :class:`PartFile`."""

    def __init__(
        self,
        spec: FileSpec,
        dest_dir: Path,
        state: TaskState | None,
        on_progress: Callable[[DownloadProgress], None] | None,
        stall_timeout: float,
    ) -> None:
        self.spec, self.name, self.state = spec, _check_name(spec.name), state
        self.url = effective_url(spec.url)
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise DownloadError(f"Cannot download {self.name}: {self.url!r} is not an http(s) address.")
        self.dest_dir = dest_dir
        self.part = PartFile(dest_dir, self.name, {"url": spec.url, "sha256": spec.sha256, "size": spec.size})
        self.stall_timeout = stall_timeout
        self.meter = ProgressMeter(self.name, state, on_progress)
        self.total: int | None = spec.size
        self.last_byte = time.monotonic()

    def check(self) -> None:
        if self.state is not None:
            self.state.check()

    def ensure_space(self, remaining: int | None) -> None:
        if not remaining or remaining <= 0:
            return
        free = free_disk_space(self.dest_dir)
        if free < remaining + FREE_SPACE_MARGIN:
            raise DownloadError(
                f"Not enough free disk space to download {self.name}: it needs {remaining / 1e6:.1f} MB "
                f"and {self.dest_dir} has {free / 1e6:.1f} MB free."
            )

    def restart(self) -> None:
        self.part.restart()
        self.meter.reset(0)

    # --- one HTTP request ---------------------------------------------------------------------
    def attempt(self, client: httpx.Client) -> bool:
        """One GET from the current offset; True once the whole file is in the .part."""
        part, headers = self.part, {}
        if part.done:
            headers["Range"] = f"bytes={part.done}-"
            if part.validator:
                headers["If-Range"] = part.validator
        with client.stream("GET", self.url, headers=headers) as resp:
            code = resp.status_code
            if code in _REFUSED:
                raise DownloadError(
                    f"The server {_REFUSED[code]} {self.name} ({self.url} answered {code} "
                    f"{resp.reason_phrase}). The catalog entry may be out of date."
                )
            start, total = _content_range(resp.headers.get("content-range"))
            if code == 416 and part.done:
                if total is not None and total == part.done:  # complete already: killed before the rename
                    self.total = total
                    return True
                self.restart()
                raise _Retry("the server could not continue the partial download, so it starts again")
            if code >= 500 or code in (408, 429):
                raise _Retry(f"the server answered {code} {resp.reason_phrase}")
            if code not in (200, 206):
                reason = f"{code} {resp.reason_phrase}"
                raise DownloadError(f"Cannot download {self.name}: the server answered {reason}.")
            if code == 200:
                length = resp.headers.get("content-length", "")
                total = int(length) if length.isdigit() else None
                if part.done:
                    self.restart()  # the server ignored Range, or If-Range said the file changed
            else:
                etag, known = resp.headers.get("etag"), part.meta.get("etag")
                if (
                    start != part.done
                    or (known and etag and etag != known)
                    or (part.total and total and total != part.total)
                ):
                    self.restart()
                    raise _Retry("the file on the server changed, so the download starts again")
            if part.done == 0:
                part.remember(resp.headers.get("etag"), resp.headers.get("last-modified"), total)
            self.total = total if total is not None else self.total
            self.ensure_space(self.total - part.done if self.total else None)
            self.receive(resp)
        if self.total is None:
            return True  # no length announced: a body that ended cleanly is the whole file
        if part.done > self.total:
            self.restart()
            raise _Retry("the server sent more bytes than it announced, so the download starts again")
        return part.done == self.total

    def receive(self, resp: httpx.Response) -> None:
        self.meter.update(self.part.done, self.total, force=True)
        # One chunk per socket read: a re-chunking buffer would lose what it holds when the
        # connection drops, and the resume would not start where the bytes stopped.
        for chunk in resp.iter_raw():
            self.part.write(chunk)
            self.last_byte = time.monotonic()
            self.check()
            self.meter.update(self.part.done, self.total)

    # --- the whole file -----------------------------------------------------------------------
    def run(self, retries: int, backoff: float) -> DownloadedFile:
        kept = self.part.inspect()
        self.total = self.part.total or self.spec.size
        if self.total is not None:  # refuse before creating or requesting anything
            self.ensure_space(self.total - kept)
        self.part.open(self.check)
        if self.total is not None and self.part.done > self.total:
            self.part.restart()
        self.meter.reset(self.part.done)
        if not (self.part.total and self.part.done == self.part.total):  # else complete: only verify
            self.fetch(retries, backoff)
        self.check()
        self.meter.update(self.part.done, self.part.done, force=True)
        digest = self.part.install(self.spec.sha256)
        return DownloadedFile(self.part.final, self.part.done, digest, verified=bool(self.spec.sha256))

    def fetch(self, retries: int, backoff: float) -> None:
        timeout = httpx.Timeout(min(self.stall_timeout, CANCEL_POLL), connect=self.stall_timeout)
        headers = {"Accept-Encoding": "identity", "User-Agent": f"gptstudio/{__version__}"}
        failures = 0
        client = httpx.Client(follow_redirects=True, timeout=timeout, headers=headers, verify=ssl_context())
        with client:
            while True:
                self.check()
                before = self.part.done
                try:
                    if self.attempt(client):
                        return
                    reason = "the connection ended before the whole file arrived"
                except _Retry as exc:
                    reason = str(exc)
                except httpx.ReadTimeout:
                    self.check()
                    if time.monotonic() - self.last_byte < self.stall_timeout:
                        continue  # quiet but not stalled yet: it woke up only to look for a cancel
                    reason = f"no data arrived for {self.stall_timeout:g} s"
                except httpx.UnsupportedProtocol as exc:
                    raise DownloadError(f"Cannot download {self.name}: {exc}.") from exc
                except httpx.TransportError as exc:
                    reason = f"the connection failed ({exc or type(exc).__name__})"
                except httpx.HTTPError as exc:  # too many redirects, an invalid URL: retrying cannot help
                    raise DownloadError(f"Cannot download {self.name}: {exc}.") from exc
                failures = 1 if self.part.done > before else failures + 1
                if failures > retries:
                    raise DownloadError(
                        f"Could not download {self.name}: {reason}. Gave up after {failures} tries; "
                        f"the {self.part.done / 1e6:.1f} MB received are kept and the next try resumes."
                    )
                self.sleep(min(backoff * 2 ** (failures - 1), MAX_BACKOFF))
                self.last_byte = time.monotonic()

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.check()
            time.sleep(min(left, 0.05))


def _already_there(spec: FileSpec, final: Path) -> DownloadedFile | None:
    """The installed file, when it is there and matches the published sha256: nothing to fetch."""
    if not spec.sha256 or not final.is_file():
        return None
    digest = file_sha256(final)
    if digest != spec.sha256.lower():
        return None
    return DownloadedFile(final, final.stat().st_size, digest, verified=True)


def download_file(
    spec: FileSpec,
    dest_dir: Path,
    *,
    state: TaskState | None = None,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    retries: int = 5,
    stall_timeout: float = 30.0,
    backoff: float = 1.0,
) -> DownloadedFile:
    """Download ``spec`` to ``dest_dir/spec.name``, resuming a .part left by an earlier try.

    ``on_progress`` and ``state`` get at most ~10 reports a second; ``state`` also cancels (the
    .part is kept). Raises :class:`DownloadError` when retrying cannot help, saying why. A file
    already installed with the published sha256 is returned without touching the network.
    """
    dest_dir = Path(dest_dir)
    found = _already_there(spec, dest_dir / _check_name(spec.name))
    if found is not None:
        return found
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"Cannot create the folder {dest_dir}: {exc.strerror or exc}.") from exc
    tune_httpcore()
    transfer = _Transfer(spec, dest_dir, state, on_progress, stall_timeout)
    try:
        return transfer.run(retries, backoff)
    finally:
        transfer.part.close()


from gptstudio.models.download_queue import DownloadJob, DownloadQueue  # noqa: E402 - re-exported

__all__ = [
    "ENV_BASE_URL",
    "DownloadError",
    "DownloadJob",
    "DownloadProgress",
    "DownloadQueue",
    "DownloadedFile",
    "FileSpec",
    "download_file",
    "effective_url",
    "free_disk_space",
]
