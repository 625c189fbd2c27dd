"""The models this installation can use, and loading them with a small cache.

Built-in engines (classical methods, and the weights we ship inside the package) are always here,
so the app works offline from the first start. Later the model manager adds downloaded and
fine-tuned models to the same list.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.engines.base import TASKS, Engine, EngineInfo
from gptstudio.engines.classical import nlm, telea


@dataclass(frozen=True)
class ModelEntry:
    info: EngineInfo
    factory: Callable[[str], Engine]
    #: Higher wins as the task's default.
    priority: int = 0


_BUILTIN: list[ModelEntry] = [
    ModelEntry(nlm.INFO, lambda device: nlm.NonLocalMeans(), priority=0),
    ModelEntry(telea.INFO, lambda device: telea.TeleaInpaint(), priority=0),
]
_EXTRA: list[ModelEntry] = []


def register(entry: ModelEntry) -> None:
    """Add a model (the shipped Transformer, a download, a fine-tune) to the registry."""
    global _EXTRA
    _EXTRA = [e for e in _EXTRA if e.info.id != entry.info.id] + [entry]
    clear_cache()


def entries() -> list[ModelEntry]:
    _register_shipped()
    return _BUILTIN + _EXTRA


def models_for(task: str) -> list[EngineInfo]:
    """Installed models that can do ``task``, best default first."""
    if task not in TASKS:
        raise InvalidRequestError(f"Unknown task '{task}'. Use one of: {', '.join(TASKS)}.")
    found = [e for e in entries() if task in e.info.tasks]
    found.sort(key=lambda e: -e.priority)
    return [e.info for e in found]


def default_model(task: str) -> str:
    models = models_for(task)
    if not models:
        raise ModelError(f"No installed model can do '{task}'.")
    return models[0].id


def info(model_id: str) -> EngineInfo:
    for e in entries():
        if e.info.id == model_id:
            return e.info
    known = ", ".join(e.info.id for e in entries())
    raise ModelError(f"Unknown model '{model_id}'. Installed models: {known}.")


class _LRU:
    """Keeps the last few loaded engines so repeated jobs skip loading weights."""

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], Engine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], make: Callable[[], Engine]) -> Engine:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        engine = make()
        with self._lock:
            self._items[key] = engine
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return engine

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _LRU()


def clear_cache() -> None:
    _CACHE.clear()


def load(model_id: str, device: str = "cpu") -> Engine:
    """Return a ready engine for ``model_id`` on ``device`` (cached between jobs)."""
    for entry in entries():
        if entry.info.id == model_id:
            return _CACHE.get((model_id, device), functools.partial(entry.factory, device))
    info(model_id)  # raises the clear "unknown model" error
    raise AssertionError("unreachable")


_shipped_done = False


def _register_shipped() -> None:
    """Register the weights shipped in the package, once, without loading them."""
    global _shipped_done
    if _shipped_done:
        return
    _shipped_done = True
    try:
        from gptstudio.engines.native import shipped
    except ImportError:
        return
    for entry in shipped.entries():
        _EXTRA.append(ModelEntry(entry.info, entry.factory, entry.priority))
