"""Keeping the downloader close to a plain copy: large socket reads, and sha256 on a helper thread.

On a fast link, the Python work per socket read and the sha256 pass, both on the receiving thread,
held the downloader to about half of ``urllib`` + ``shutil.copyfileobj`` (benchmarks/bench_download.py).
Reading 1 MiB at a time, and hashing on a helper thread (hashlib releases the GIL), bring it level
with the plain copy wherever a second core is free, without giving up the verification.
"""

from __future__ import annotations

import functools
import hashlib
import queue
import ssl
import threading

import httpcore
import httpx

#: Largest socket read; httpcore's default is 64 KiB.
READ_SIZE = 1 << 20


def tune_httpcore() -> None:
    """Let httpcore read up to :data:`READ_SIZE` per socket read.

    httpcore has no per-client setting for it, so this raises its public class attribute, once.
    A read still returns only what the socket holds, so other users of httpx in the process see no
    difference but fewer, larger reads on fast transfers.
    """
    connection = getattr(httpcore, "HTTP11Connection", None)
    if connection is not None and getattr(connection, "READ_NUM_BYTES", READ_SIZE) < READ_SIZE:
        connection.READ_NUM_BYTES = READ_SIZE


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once: loading the CA bundle costs ~20 ms per client."""
    return httpx.create_ssl_context()


class HashingSink:
    """sha256 of the bytes given to :meth:`update`, computed on a thread of its own.

    The queue is bounded, so a hash slower than the network cannot pile the file up in memory.
    The thread starts with the first bytes and ends at :meth:`drain`, so none outlives a download.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=32)
        self._thread: threading.Thread | None = None

    def update(self, data: bytes) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="gptstudio-sha256", daemon=True)
            self._thread.start()
        self._queue.put(data)

    def _work(self) -> None:
        while (data := self._queue.get()) is not None:
            self._sha.update(data)

    def drain(self) -> None:
        """Wait until every byte given so far is in the hash (the thread ends until more come)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def hexdigest(self) -> str:
        self.drain()
        return self._sha.hexdigest()
