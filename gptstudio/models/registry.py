"""The models this installation can use, and loading them with a memory-bounded cache.

Three sources feed one list: built-in engines (classical methods and the weights shipped in the
package, so the app works offline from the first start), the models in the user's store (downloads
and imports), and entries registered at run time (tests, fine-tunes in progress). A
:class:`Registry` is an object so a test or a second window can build its own over its own store;
the module-level functions use one default instance for the CLI, the tasks and the GUI.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.engines.base import TASKS, Engine, EngineInfo
from gptstudio.models.store import Store, StoredModel


@dataclass(frozen=True)
class ModelEntry:
    info: EngineInfo
    factory: Callable[[str], Engine]
    #: Higher wins as the task's default.
    priority: int = 0


#: Downloaded and imported models rank above the classical methods (a LaMa beats Telea, any
#: learned upscaler beats Lanczos) and below the shipped Transformer, which stays the tested default.
STORE_PRIORITY = 5


def builtin_entries() -> list[ModelEntry]:
    """Classical engines and the shipped weights (no file is read until a job loads one).

    Imported here rather than at the top so that importing the registry (the CLI's ``--help``,
    the window's start) does not pay for OpenCV.
    """
    from gptstudio.engines.classical import lanczos, nlm, telea

    found = [
        ModelEntry(nlm.INFO, lambda device: nlm.NonLocalMeans(), priority=0),
        ModelEntry(telea.INFO, lambda device: telea.TeleaInpaint(), priority=0),
        ModelEntry(telea.NS_INFO, lambda device: telea.NavierStokesInpaint(), priority=0),
        ModelEntry(lanczos.INFO, lambda device: lanczos.LanczosUpscale(), priority=0),
    ]
    try:
        from gptstudio.engines.native import shipped
    except ImportError:
        return found
    found += [ModelEntry(e.info, e.factory, e.priority) for e in shipped.entries()]
    return found


def store_entry(model: StoredModel) -> ModelEntry | None:
    """A registry entry for an installed model, or None if no engine family here can run it."""
    if model.engine == "diffusers":
        return _diffusers_entry(model)
    if model.engine == "native":
        return _native_entry(model)
    if model.engine != "spandrel":
        return None
    from gptstudio.engines import spandrel

    detected = spandrel.Detected.from_json(model.detected)
    text = dict(id=model.id, name=model.name, licence=model.licence, description=model.description)
    info = spandrel.engine_info(detected, **text)
    # The catalog may narrow what detection allows (a σ15 denoiser is not offered for "restore").
    narrowed = tuple(t for t in info.tasks if t in model.tasks)
    if narrowed:
        info = dataclasses.replace(info, tasks=narrowed)
    path = model.weights_path()
    return ModelEntry(info, functools.partial(_load_spandrel, path, text), STORE_PRIORITY)


def _native_entry(model: StoredModel) -> ModelEntry | None:
    """A fine-tune of a built-in network (``gptstudio train``): the built-in model's descriptor
    under the fine-tune's id and name, loaded from the store's weight file. Ranked below the
    built-in model, so choosing it is the user's decision, never a new default."""
    from gptstudio.engines.native import shipped

    base = {"native-grt": shipped.INFO, "native-git": shipped.INPAINT_INFO}.get(model.architecture)
    if base is None:
        return None
    info = dataclasses.replace(
        base,
        id=model.id,
        name=model.name,
        description=model.description or base.description,
        licence=model.licence or base.licence,
    )
    return ModelEntry(info, functools.partial(_load_native, model.weights_path(), info), STORE_PRIORITY)


def _load_native(path: Path, info: EngineInfo, device: str) -> Engine:
    if info.architecture == "native-git":
        from gptstudio.engines.native import inpaint_io
        from gptstudio.engines.native.inpaint_engine import GITEngine

        return GITEngine(inpaint_io.load(path)[0], info, device)
    from gptstudio.engines.native import io
    from gptstudio.engines.native.engine import GRTEngine

    return GRTEngine(io.load(path)[0], info, device)


def _diffusers_entry(model: StoredModel) -> ModelEntry:
    """A diffusers folder in the store: described by what detection recorded, loaded on first use."""
    from gptstudio.engines import diffusers

    detected = diffusers.Detected.from_json(model.detected)
    text = dict(id=model.id, name=model.name, licence=model.licence, description=model.description)
    info = diffusers.engine_info(detected, **text)
    narrowed = tuple(t for t in info.tasks if t in model.tasks)
    if narrowed:
        info = dataclasses.replace(info, tasks=narrowed)
    factory = functools.partial(_load_diffusers, model.folder, detected, text)
    return ModelEntry(info, factory, STORE_PRIORITY + _generation_rank(detected))


def _generation_rank(detected: object) -> int:
    """Which generator is the default: aMUSEd where there is no GPU (it is usable on a CPU),
    FLUX.2 klein where a GPU has room for it; the others follow."""
    family = getattr(detected, "family", "")
    gpu = _has_cuda()
    if family == "amused":
        return 1 if gpu else 3
    if family == "flux2-klein":
        return 3 if gpu else 0
    return 2 if gpu else 1


def _has_cuda() -> bool:
    """Whether a CUDA GPU is usable. torch is not imported for this (listing models happens on
    the GUI thread): until something loaded torch, only GPTSTUDIO_DEVICE=cuda says so."""
    import os
    import sys

    wanted = os.environ.get("GPTSTUDIO_DEVICE", "").strip().lower()
    if wanted == "cpu":
        return False
    torch = sys.modules.get("torch")
    if torch is None:
        return wanted.startswith("cuda")
    return bool(torch.cuda.is_available())


def _load_diffusers(folder: Path, detected: object, text: dict[str, str], device: str) -> Engine:
    from gptstudio.engines import diffusers

    return diffusers.load_engine(folder, detected, device=device, **text)  # type: ignore[arg-type]


def _load_spandrel(path: Path, text: dict[str, str], device: str) -> Engine:
    from gptstudio.engines import spandrel

    return spandrel.load_engine(path, device=device, **text)


class _LRU:
    """Keeps recently loaded engines so repeated jobs skip loading weights.

    Bounded by count and by the bytes of the engines' parameters, so three large community
    models (LaMa alone is 200 MB) do not pile up in memory next to the image being edited.
    """

    def __init__(self, size: int = 3, max_bytes: int = 2_000_000_000) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], tuple[Engine, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], make: Callable[[], Engine]) -> Engine:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        engine = make()
        with self._lock:
            self._items[key] = (engine, _engine_bytes(engine))
            while len(self._items) > 1 and (
                len(self._items) > self.size or sum(n for _e, n in self._items.values()) > self.max_bytes
            ):
                self._items.popitem(last=False)
        return engine

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _engine_bytes(engine: object) -> int:
    model = getattr(engine, "model", None)
    params = getattr(model, "parameters", None)
    if params is None:
        return 0
    try:
        return sum(p.numel() * p.element_size() for p in params())
    except Exception:  # an engine's model that is not a torch module
        return 0


class Registry:
    """Which models exist for which task, and loading them (cached)."""

    def __init__(self, store: Store | None = None, *, builtins: bool = True) -> None:
        self.store = store if store is not None else Store()
        self._builtins = builtins
        self._base: list[ModelEntry] | None = None
        self._stored: list[ModelEntry] | None = None
        self._extra: list[ModelEntry] = []
        self._cache = _LRU()
        self._lock = threading.Lock()

    # --- what exists ----------------------------------------------------------------------------

    def entries(self) -> list[ModelEntry]:
        with self._lock:
            if self._base is None:
                self._base = builtin_entries() if self._builtins else []
            if self._stored is None:
                self._stored = []
                for model in self.store.list():
                    try:
                        entry = store_entry(model)
                    except ModelError:
                        continue  # a damaged model.json: `models verify` reports it
                    if entry is not None:
                        self._stored.append(entry)
            extra_ids = {e.info.id for e in self._extra}
            rest = [e for e in self._base + self._stored if e.info.id not in extra_ids]
            return rest + list(self._extra)

    def register(self, entry: ModelEntry) -> None:
        """Add a model at run time (it replaces one with the same id)."""
        with self._lock:
            self._extra = [e for e in self._extra if e.info.id != entry.info.id] + [entry]
        self.clear_cache()

    def refresh(self) -> None:
        """Re-read the store (a model was downloaded, imported or removed)."""
        with self._lock:
            self._stored = None
        self.clear_cache()

    def models_for(self, task: str) -> list[EngineInfo]:
        """Installed models that can do ``task``, best default first."""
        if task not in TASKS:
            raise InvalidRequestError(f"Unknown task '{task}'. Use one of: {', '.join(TASKS)}.")
        found = [e for e in self.entries() if task in e.info.tasks]
        found.sort(key=lambda e: -e.priority)
        return [e.info for e in found]

    def default_model(self, task: str) -> str:
        models = self.models_for(task)
        if not models:
            raise ModelError(f"No installed model can do '{task}'. See `gptstudio models list --available`.")
        return models[0].id

    def info(self, model_id: str) -> EngineInfo:
        return self._entry(model_id).info

    def _entry(self, model_id: str) -> ModelEntry:
        entries = self.entries()
        for e in entries:
            if e.info.id == model_id:
                return e
        known = ", ".join(e.info.id for e in entries)
        raise ModelError(f"Unknown model '{model_id}'. Installed models: {known}.")

    # --- loading --------------------------------------------------------------------------------

    def load(self, model_id: str, device: str = "cpu") -> Engine:
        """Return a ready engine for ``model_id`` on ``device`` (cached between jobs)."""
        entry = self._entry(model_id)
        return self._cache.get((model_id, device), functools.partial(entry.factory, device))

    def clear_cache(self) -> None:
        self._cache.clear()


_default: Registry | None = None
_default_lock = threading.Lock()


def default() -> Registry:
    """The registry the CLI, tasks and GUI share (over the user's store)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry()
        return _default


def set_default(registry: Registry | None) -> Registry | None:
    """Replace the shared registry (tests); returns the previous one. None rebuilds it lazily."""
    global _default
    with _default_lock:
        previous, _default = _default, registry
    return previous


# Module-level shortcuts over the default registry, used throughout the program.


def register(entry: ModelEntry) -> None:
    default().register(entry)


def refresh() -> None:
    default().refresh()


def entries() -> list[ModelEntry]:
    return default().entries()


def models_for(task: str) -> list[EngineInfo]:
    return default().models_for(task)


def default_model(task: str) -> str:
    return default().default_model(task)


def info(model_id: str) -> EngineInfo:
    return default().info(model_id)


def load(model_id: str, device: str = "cpu") -> Engine:
    return default().load(model_id, device)


def clear_cache() -> None:
    default().clear_cache()
