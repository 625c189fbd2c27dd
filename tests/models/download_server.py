"""A misbehaving HTTP file server on 127.0.0.1 for the downloader's tests and benchmark.

Each file can be told to drop the connection mid-body, serve one wrong byte, answer an error status
a few times, redirect, stall, ignore Range or If-Range, or trickle at a set rate. Every request is
recorded with its Range header and the byte range actually sent, so a test proves a resume by what
the server served rather than by trusting the client.

Every loop is bounded in time (socket timeout, stall length, per-response deadline), so a broken
client cannot hang the test run. ``python tests/models/download_server.py FILE`` serves one file
with ``sendfile`` (no behaviours) and prints its URL: the benchmark runs it in its own process.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

PIECE = 16 * 1024
RESPONSE_DEADLINE = 30.0


@dataclass
class Behaviour:
    drop_after: int | None = None  # close the connection after this many body bytes...
    drop_times: int = 0  # ...on the first this-many requests
    corrupt_at: int | None = None  # serve the byte at this file offset flipped
    fail_status: int | None = None  # answer this status...
    fail_times: int = 0  # ...on the first this-many requests (-1: always)
    redirect_to: str | None = None  # answer 302 to this path
    stall: float = 0.0  # on the first request, go silent this long after stall_after bytes, then close
    stall_after: int = 0
    ignore_range: bool = False  # answer 200 with the whole file whatever the Range
    honour_if_range: bool = True  # with If-Range not matching the ETag, send the whole file (RFC 9110)
    rate: float | None = None  # bytes per second (read live, so a test can lift it mid-transfer)
    etag: str | None = '"v1"'


@dataclass
class Served:
    """One request as the server saw it and answered it."""

    path: str
    range: str | None
    if_range: str | None
    status: int = 0
    start: int = 0  # file offset of the first body byte sent
    sent: int = 0  # body bytes written to the socket


@dataclass
class _Entry:
    data: bytes | Path
    behaviour: Behaviour
    count: int = 0

    @property
    def size(self) -> int:
        return self.data.stat().st_size if isinstance(self.data, Path) else len(self.data)


@dataclass
class FileServer:
    """``with FileServer() as server: url = server.add("/m/a.bin", data, drop_after=1000, drop_times=1)``."""

    entries: dict[str, _Entry] = field(default_factory=dict)
    requests: list[Served] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, data: bytes | Path, **behaviour: object) -> str:
        with self.lock:
            self.entries[path] = _Entry(data, Behaviour(**behaviour))  # type: ignore[arg-type]
        return self.url(path)

    def change(self, path: str, data: bytes | None = None, **behaviour: object) -> None:
        """Change a file's content or behaviour while the server runs."""
        with self.lock:
            entry = self.entries[path]
            if data is not None:
                entry.data = data
            for key, value in behaviour.items():
                setattr(entry.behaviour, key, value)

    def served(self, path: str | None = None) -> list[Served]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still stalling must not hold up the end of a test
    owner: FileServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # socket timeout: a vanished client ends the handler
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet tests
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        record = Served(path, self.headers.get("Range"), self.headers.get("If-Range"))
        with owner.lock:
            owner.requests.append(record)
            entry = owner.entries.get(path)
            n = entry.count if entry else 0
            if entry:
                entry.count += 1
        if entry is None:
            return self._empty(record, 404)
        b = entry.behaviour
        if b.fail_status and (b.fail_times < 0 or n < b.fail_times):
            return self._empty(record, b.fail_status)
        if b.redirect_to:
            return self._empty(record, 302, {"Location": b.redirect_to})
        size, start, status = entry.size, 0, 200
        wants_range = record.range and not b.ignore_range
        if wants_range and record.if_range and b.honour_if_range and record.if_range != b.etag:
            wants_range = False
        if wants_range:
            match = re.fullmatch(r"bytes=(\d+)-", record.range or "")
            assert match, f"unexpected Range {record.range!r}"
            start, status = int(match[1]), 206
            if start >= size:
                return self._empty(record, 416, {"Content-Range": f"bytes */{size}"})
        headers = {"Content-Length": str(size - start), "Accept-Ranges": "bytes"}
        if b.etag:
            headers["ETag"] = b.etag
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        self._head(record, status, headers)
        record.start = start
        try:
            if isinstance(entry.data, Path):
                with open(entry.data, "rb") as handle:
                    record.sent = self.connection.sendfile(handle, start, size - start)
            else:
                self._trickle(entry, record, start, n)
        except OSError:
            pass  # the client went away (killed, cancelled, timed out): that is the point of most tests
        self.close_connection = True

    def _trickle(self, entry: _Entry, record: Served, start: int, n: int) -> None:
        b, data = entry.behaviour, entry.data
        assert isinstance(data, bytes)
        end = len(data)
        if b.drop_after is not None and n < b.drop_times:
            end = min(end, start + b.drop_after)
        deadline = time.monotonic() + RESPONSE_DEADLINE
        pos = start
        began = time.monotonic()
        while pos < end and time.monotonic() < deadline:
            if b.stall and n == 0 and pos - start >= b.stall_after:
                time.sleep(b.stall)
                return
            stop = min(end, pos + PIECE)
            if b.stall and n == 0 and pos - start < b.stall_after:
                stop = min(stop, start + b.stall_after)
            piece = bytearray(data[pos:stop])
            if b.corrupt_at is not None and pos <= b.corrupt_at < stop:
                piece[b.corrupt_at - pos] ^= 0xFF
            self.wfile.write(piece)
            pos = stop
            record.sent = pos - start
            if b.rate:
                ahead = record.sent / b.rate - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(min(ahead, 0.5))
        self.wfile.flush()

    def _head(self, record: Served, status: int, headers: dict[str, str]) -> None:
        record.status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def _empty(self, record: Served, status: int, headers: dict[str, str] | None = None) -> None:
        self._head(record, status, {**(headers or {}), "Content-Length": "0"})
        self.close_connection = True


def main() -> None:
    """Serve one file at /<its name> until killed (at most ten minutes) and print its URL."""
    path = Path(sys.argv[1]).resolve()
    with FileServer() as server:
        print(server.add("/" + path.name, path, etag=None), flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
