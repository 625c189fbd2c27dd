"""Keep Python's cyclic garbage collector from freezing the window after torch is imported.

Why: a full collection walks every tracked object while holding the GIL, from whichever thread
triggered it. Importing torch (the worker does it to name the device, and for the first job)
takes the process from ~30 000 to ~190 000 tracked objects, after which every full collection
stalls the GUI thread ~200 ms on a 2-core machine — measured as the autosave, result-landing and
undo stalls over 100 ms in ``benchmarks/bench_gui.py`` — and the import itself runs a dozen of
them as its object count grows. Module objects live as long as the process, so they need no
collecting: :func:`heavy_imports` switches collection off while a batch of imports runs and then
moves everything alive into the permanent generation (:func:`gc.freeze`), which later
collections skip. Only garbage cycles that exist at that moment are never collected; the few an
import leaves are small.
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def heavy_imports() -> Iterator[None]:
    """Run a block of big imports without collections, then freeze what it left alive."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def preload_torch_libraries() -> None:
    """Map torch's shared libraries with the GIL released, before ``import torch`` maps them with it held.

    Why: the import machinery (and torch's own ``ctypes.CDLL`` of its global deps) call dlopen
    holding the GIL, and mapping and relocating libtorch (with CUDA: over a gigabyte of libraries)
    and running its static initialisers froze the window 300-800 ms at a time. A foreign call
    through ``ctypes.CDLL`` releases the GIL, so dlopen-ing the same files here first leaves the
    later import only a reference-count bump. Same flags as the import will use, so nothing is
    relocated twice; any failure is ignored and the import then does the work as before.
    """
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations or not sys.platform.startswith("linux"):
        return
    root = Path(next(iter(spec.submodule_search_locations)))
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return
    libc.dlopen.restype = ctypes.c_void_p
    libc.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    global_deps = root / "lib" / "libtorch_global_deps.so"
    if global_deps.is_file():  # torch loads it RTLD_GLOBAL itself, first
        libc.dlopen(os.fsencode(global_deps), os.RTLD_NOW | os.RTLD_GLOBAL)
    for ext in sorted(root.glob("_C.*.so")):
        libc.dlopen(os.fsencode(ext), sys.getdlopenflags())
