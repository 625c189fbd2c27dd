"""The support log: one rotating file in the platform's log folder.

Why: a double-clicked program has no terminal, so a warning or a traceback written to stderr is
lost; a person reporting a problem attaches the log instead (Help > Open Log Folder in the
editor). The standard library's ``RotatingFileHandler`` does the writing and the rotation (the
file never grows past ``MAX_BYTES``, ``BACKUPS`` older files are kept); this module only decides
where the file lives, attaches the handler once, and sends uncaught exceptions to it.

Where: ``platformdirs.user_log_dir`` (``~/.local/state/gptstudio/log`` on Linux,
``%LOCALAPPDATA%\\gptstudio\\Logs`` on Windows, ``~/Library/Logs/gptstudio`` on macOS) — never the
program's own folder, which may be read-only. ``GPTSTUDIO_LOG_DIR`` moves it; with
``GPTSTUDIO_DATA_DIR`` set (a portable install, the tests) it is ``<data folder>/logs``, so such a
setup keeps everything in one place. ``GPTSTUDIO_LOG_LEVEL=DEBUG`` logs more.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

import platformdirs

from gptstudio import __version__
from gptstudio.core.paths import ENV_DATA_DIR, data_dir

ENV_LOG_DIR = "GPTSTUDIO_LOG_DIR"
ENV_LOG_LEVEL = "GPTSTUDIO_LOG_LEVEL"
LOG_NAME = "gptstudio.log"
MAX_BYTES = 2_000_000
BACKUPS = 4
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"

_log = logging.getLogger("gptstudio")


def log_dir() -> Path:
    """The folder that holds the log files (created on demand)."""
    override = os.environ.get(ENV_LOG_DIR)
    if override:
        root = Path(override)
    elif os.environ.get(ENV_DATA_DIR):
        root = data_dir() / "logs"
    else:
        root = Path(platformdirs.user_log_dir("gptstudio", appauthor=False))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _our_handler() -> RotatingFileHandler | None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RotatingFileHandler) and getattr(handler, "_gptstudio", False):
            return handler
    return None


def start_logging(max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path:
    """Log to ``<log folder>/gptstudio.log`` from now on; returns the file's path.

    Called once at start-up; calling it again (a test with another data folder) moves the log to
    the folder that is current now. Our own messages are logged from INFO up, other libraries'
    from WARNING up.
    """
    path = log_dir() / LOG_NAME
    root = logging.getLogger()
    old = _our_handler()
    if old is not None:
        if Path(old.baseFilename) == path.resolve() or Path(old.baseFilename) == path:
            return path
        root.removeHandler(old)
        old.close()
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler._gptstudio = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    level = logging.getLevelName(os.environ.get(ENV_LOG_LEVEL, "INFO").upper())
    _log.setLevel(level if isinstance(level, int) else logging.INFO)
    _hook_uncaught()
    _give_streams_a_target()
    _log.info(
        "GPT Studio %s (%s) on %s, Python %s; data folder %s",
        __version__,
        "bundle" if getattr(sys, "frozen", False) else "python",
        platform.platform(),
        platform.python_version(),
        data_dir(),
    )
    return path


def stop_logging() -> None:
    """Detach and close the log file (tests, and a clean shutdown)."""
    handler = _our_handler()
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _hook_uncaught() -> None:
    """Uncaught exceptions (a Qt slot, a thread) go into the log, then to the previous hook."""
    if not getattr(sys.excepthook, "_gptstudio", False):
        previous = sys.excepthook

        def excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
            if not issubclass(kind, KeyboardInterrupt):
                _log.error("Uncaught exception", exc_info=(kind, error, tb))
            previous(kind, error, tb)

        excepthook._gptstudio = True  # type: ignore[attr-defined]
        sys.excepthook = excepthook
    if not getattr(threading.excepthook, "_gptstudio", False):
        previous_thread = threading.excepthook

        def thread_hook(args: threading.ExceptHookArgs) -> None:
            name = args.thread.name if args.thread else "?"
            info = (args.exc_type, args.exc_value, args.exc_traceback)
            _log.error("Uncaught exception in thread %s", name, exc_info=info)  # type: ignore[arg-type]
            previous_thread(args)

        thread_hook._gptstudio = True  # type: ignore[attr-defined]
        threading.excepthook = thread_hook


def _give_streams_a_target() -> None:
    """A windowed program on Windows has no stdout/stderr (they are None): writing to them would
    raise, so they get a sink. Output that matters reaches the log through ``logging``."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))


__all__ = ["BACKUPS", "LOG_NAME", "MAX_BYTES", "log_dir", "start_logging", "stop_logging"]
