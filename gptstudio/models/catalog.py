"""The model catalog: every model the program can offer, read from ``gptstudio/resources/catalog.json``.

The catalog is data, not code, so adding a model is a reviewed edit of one JSON file; this module
turns it into frozen objects and refuses a broken file with an error that names the entry and the
field, because a typo in a URL or a hash would otherwise surface only as a failed download on a
user's machine. Built-in engines (classical methods, the shipped Transformer) are listed too, with
``engine: "builtin"`` and no files, so the Models dialog and ``gptstudio models list`` show one list.

Where the numbers come from:

- ``url`` and ``sha256`` are taken only from the model's own release page or from its OpenModelDB
  record (``source`` names the page that was used). ``sha256`` is ``null`` where neither publishes
  one: the first download computes it and the store records it as unverified. A hash found only
  on a mirror or in someone else's code is not used, because it would vouch for the mirror's copy.
- ``size`` is a number somebody published for that file where one exists. Where the release page
  gives no byte count it comes from a listing of the same file (a Hugging Face LFS pointer,
  another project's pinned manifest). Where only a rounded figure is published ("69.4 MB"), the
  catalog stores that figure in bytes and marks the file ``"size_exact": false``. For the three
  SCUNet σ15/25/50 files and SwinIR σ50 nobody publishes a size at all; they hold the same network
  as a sibling file whose size is published (``scunet_color_real_psnr.pth``, 71,982,841 bytes;
  SwinIR σ15/25, 122.9 MB), so that size, rounded, is given and marked approximate. An
  approximate size is shown to the user (as "about ...") and used for the free-disk-space check,
  whose margin absorbs the rounding; the download itself then trusts the server's Content-Length
  instead (the manager hands the downloader no size), so a rounded figure can never fail or
  truncate a download.
- ``memory_mb`` is an estimate, not a measurement: RAM or VRAM to run one 512×512 tile in fp32,
  i.e. the weights (about the file size) plus the largest feature maps alive at once, worked out
  from the architecture and rounded up to 100 MB. Convolutional U-Nets (SCUNet, DRUNet, LaMa) keep
  around ten 64-channel full-resolution maps (67 MB each at 512²); Swin-style Transformers (SwinIR,
  Swin2SR, DAT) add window attention (heads × 64² scores per 8×8 window) and wide MLP maps; ×4
  upscalers are dominated by their 64-channel maps at the output size (2048² × 64 × 4 B ≈ 1.1 GB
  each). It is meant for the dialog's "memory" column and a first tile choice; the task layer's
  out-of-memory fallback still decides.
- A file with ``"format": "torchscript"`` is a compiled TorchScript program rather than plain
  weights (LaMa's community file is one). The safe reader refuses such files, so installing one
  needs the explicit conversion the issue allows; the flag says so up front.
- An ``architecture`` in :data:`EXTRA_ARCHITECTURES` (MAT) is not in spandrel itself but in the
  opt-in ``spandrel-extra-arches`` package, kept optional because its architectures carry
  non-commercial licences. Such an entry can be downloaded, but runs only once that package is
  installed; :attr:`CatalogEntry.needs_extra_architectures` lets the manager and the dialog say so.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.engines.base import TASKS

#: Engine families a catalog entry may name.
#: "transformers": Segment Anything models for the Select Object tool (task "segment").
ENGINES = ("spandrel", "builtin", "diffusers", "transformers")
#: What a diffusers entry's ``pipelines`` names, one pipeline class (or null) per mode.
PIPELINE_MODES = ("text_to_image", "image_to_image", "inpainting")
#: What a file holds: plain weights (state dict / safetensors) or a TorchScript program.
FILE_FORMATS = ("weights", "torchscript")
#: Architectures that only the opt-in ``spandrel-extra-arches`` package provides (non-commercial).
EXTRA_ARCHITECTURES = frozenset({"MAT"})
CATALOG_VERSION = 1

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_KEYS = frozenset(
    {
        "id", "name", "tasks", "engine", "architecture", "scale", "description", "licence",
        "licence_url", "restricted", "source", "memory_mb", "files",
    }
)  # fmt: skip
#: Fields only a diffusers entry has (and must have).
_DIFFUSERS_KEYS = frozenset({"pipelines", "revision"})
_FILE_KEYS = frozenset({"name", "url", "size", "sha256", "format", "size_exact", "folder"})
_FOLDER = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class CatalogFile:
    """One file of a catalog model; the fields the downloader's ``FileSpec`` takes, plus its format."""

    name: str
    url: str
    size: int  # bytes; only the published rounded figure when size_exact is False
    sha256: str | None
    format: str = "weights"
    size_exact: bool = True
    #: Sub-folder of the model the file goes to (a diffusers component: "transformer", "vae"...).
    folder: str = ""

    @property
    def path(self) -> str:
        """The file's place inside the model folder, e.g. ``transformer/config.json``."""
        return f"{self.folder}/{self.name}" if self.folder else self.name


@dataclass(frozen=True)
class CatalogEntry:
    """A model the user can download (or that is built in), as described by the catalog."""

    id: str
    name: str
    tasks: tuple[str, ...]
    engine: str
    architecture: str
    scale: int
    description: str
    licence: str
    licence_url: str
    restricted: bool
    source: str
    memory_mb: int
    files: tuple[CatalogFile, ...]
    #: diffusers only: the pipeline class for each of :data:`PIPELINE_MODES`, None where it lacks one.
    pipelines: tuple[tuple[str, str | None], ...] = ()
    #: diffusers only: the repository revision the files are pinned to (a commit), or None.
    revision: str | None = None

    def pipeline(self, mode: str) -> str | None:
        return dict(self.pipelines).get(mode)

    @property
    def download_size(self) -> int:
        """Bytes to download for the whole model (0 for a built-in); approximate unless :attr:`size_exact`."""
        return sum(f.size for f in self.files)

    @property
    def size_exact(self) -> bool:
        """False when any file's size is a rounded published figure, so the UI shows "about"."""
        return all(f.size_exact for f in self.files)

    @property
    def needs_extra_architectures(self) -> bool:
        """True when running the model needs the optional ``spandrel-extra-arches`` package."""
        return self.engine == "spandrel" and self.architecture in EXTRA_ARCHITECTURES

    @property
    def is_builtin(self) -> bool:
        """True for engines that ship with the program and need no download."""
        return self.engine == "builtin"


class Catalog:
    """The validated catalog: look models up by id or by task."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries: tuple[CatalogEntry, ...] = tuple(entries)
        self._by_id = {e.id: e for e in self.entries}
        if len(self._by_id) != len(self.entries):
            dup = next(i for i, n in Counter(e.id for e in self.entries).items() if n > 1)
            raise _invalid(dup, "id", "appears more than once in the catalog")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def get(self, model_id: str) -> CatalogEntry:
        """The entry for ``model_id``; :class:`ModelError` listing the known ids if there is none."""
        try:
            return self._by_id[model_id]
        except KeyError:
            known = ", ".join(self.ids)
            raise ModelError(f"'{model_id}' is not in the model catalog. Known models: {known}.") from None

    def for_task(self, task: str) -> list[CatalogEntry]:
        """Entries that can do ``task``, in catalog order."""
        if task not in TASKS:
            raise InvalidRequestError(f"Unknown task '{task}'. Use one of: {', '.join(TASKS)}.")
        return [e for e in self.entries if task in e.tasks]


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog: the packaged one by default (read once), or ``path``."""
    if path is None:
        return _packaged_catalog()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"The model catalog {path} cannot be read: {exc.strerror or exc}.") from exc
    return parse_catalog(_json(text, str(path)))


@functools.cache
def _packaged_catalog() -> Catalog:
    text = resources.files("gptstudio.resources").joinpath("catalog.json").read_text(encoding="utf-8")
    return parse_catalog(_json(text, "catalog.json"))


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"line {exc.lineno}: {exc.msg}"
        raise ModelError(f"The model catalog {where} is not valid JSON ({problem}).") from exc


def parse_catalog(data: Any) -> Catalog:
    """Validate the decoded JSON and build the :class:`Catalog`; the first problem raises."""
    if not isinstance(data, Mapping) or data.get("version") != CATALOG_VERSION:
        raise ModelError(f'The model catalog must be an object with "version": {CATALOG_VERSION}.')
    models = data.get("models")
    if not isinstance(models, list):
        raise ModelError('The model catalog needs a "models" list.')
    return Catalog(_entry(raw, i) for i, raw in enumerate(models))


def _invalid(entry_id: str, field: str, problem: str) -> ModelError:
    return ModelError(f"Catalog entry '{entry_id}', field '{field}': {problem}.")


def _entry(raw: Any, index: int) -> CatalogEntry:
    if not isinstance(raw, Mapping):
        raise ModelError(f"Catalog entry #{index + 1} is not an object.")
    eid = raw.get("id")
    if not isinstance(eid, str) or not _ID.match(eid):
        raise _invalid(f"#{index + 1}", "id", "must be lowercase letters, digits and single hyphens")
    unknown = set(raw) - _ENTRY_KEYS - (_DIFFUSERS_KEYS if raw.get("engine") == "diffusers" else set())
    if unknown:
        raise _invalid(eid, sorted(unknown)[0], "is not a catalog field")
    missing = _ENTRY_KEYS - set(raw)
    if missing:
        raise _invalid(eid, sorted(missing)[0], "is missing")

    def text(field: str) -> str:
        value = raw[field]
        if not isinstance(value, str) or not value.strip():
            raise _invalid(eid, field, "must be a non-empty text")
        return value

    tasks = raw["tasks"]
    if not isinstance(tasks, list) or not tasks or len(set(map(str, tasks))) != len(tasks):
        raise _invalid(eid, "tasks", "must be a non-empty list without repeats")
    for task in tasks:
        if task not in TASKS:
            raise _invalid(eid, "tasks", f"unknown task '{task}' (known: {', '.join(TASKS)})")
    engine = raw["engine"]
    if engine not in ENGINES:
        raise _invalid(eid, "engine", f"unknown engine '{engine}' (known: {', '.join(ENGINES)})")
    builtin = engine == "builtin"
    licence_url, source = text("licence_url"), raw["source"]
    _require_https(eid, "licence_url", licence_url)
    if not (builtin and source == ""):  # a built-in may have no page; everything downloaded must
        _require_https(eid, "source", source)
    if not isinstance(raw["restricted"], bool):
        raise _invalid(eid, "restricted", "must be true or false")
    scale, memory = raw["scale"], raw["memory_mb"]
    if not _positive_int(scale):
        raise _invalid(eid, "scale", "must be a whole number of at least 1")
    if not _positive_int(memory):
        raise _invalid(eid, "memory_mb", "must be a whole number of megabytes above 0")
    if not isinstance(raw["files"], list):
        raise _invalid(eid, "files", "must be a list")
    files = tuple(_file(eid, i, f) for i, f in enumerate(raw["files"]))
    if builtin and files:
        raise _invalid(eid, "files", "a built-in engine has nothing to download")
    if not builtin and not files:
        raise _invalid(eid, "files", "a downloadable model needs at least one file")
    if len({f.path for f in files}) != len(files):
        raise _invalid(eid, "files", "two files have the same name")
    pipelines, revision = _diffusers_fields(eid, raw, tasks) if engine == "diffusers" else ((), None)
    return CatalogEntry(
        id=eid,
        name=text("name"),
        tasks=tuple(tasks),
        engine=engine,
        architecture=text("architecture"),
        scale=scale,
        description=text("description"),
        licence=text("licence"),
        licence_url=licence_url,
        restricted=raw["restricted"],
        source=source,
        memory_mb=memory,
        files=files,
        pipelines=pipelines,
        revision=revision,
    )


def _diffusers_fields(eid: str, raw: Mapping[str, Any], tasks: list[str]) -> tuple[tuple, str | None]:
    """A diffusers entry names its pipeline per mode (null where it has none) and its revision;
    its tasks must be what those pipelines allow, so the panel never offers what the model lacks."""
    pipes, revision = raw.get("pipelines"), raw.get("revision")
    if not isinstance(pipes, Mapping) or set(pipes) != set(PIPELINE_MODES):
        modes = ", ".join(PIPELINE_MODES)
        raise _invalid(eid, "pipelines", f"must name a pipeline class (or null) for each of {modes}")
    for mode, name in pipes.items():
        if name is not None and (not isinstance(name, str) or not name.endswith("Pipeline")):
            raise _invalid(eid, f"pipelines.{mode}", "must be a diffusers pipeline class name or null")
    allowed = {"generate"} if pipes["text_to_image"] else set()
    if pipes["inpainting"]:
        allowed.add("inpaint")
    if set(tasks) != allowed:
        names = ", ".join(sorted(allowed)) or "none"
        raise _invalid(eid, "tasks", f"must be what the pipelines allow: {names}")
    if revision is not None and (not isinstance(revision, str) or not re.match(r"^[0-9a-f]{40}$", revision)):
        raise _invalid(eid, "revision", "must be a 40-digit commit hash, or null when none is pinned")
    return tuple((m, pipes[m]) for m in PIPELINE_MODES), revision


def _file(eid: str, i: int, raw: Any) -> CatalogFile:
    where = f"files[{i}]"
    if not isinstance(raw, Mapping):
        raise _invalid(eid, where, "must be an object")
    unknown = set(raw) - _FILE_KEYS
    if unknown:
        raise _invalid(eid, f"{where}.{sorted(unknown)[0]}", "is not a file field")
    name, url, size = raw.get("name"), raw.get("url"), raw.get("size")
    sha, fmt, exact = raw.get("sha256"), raw.get("format", "weights"), raw.get("size_exact", True)
    folder = raw.get("folder", "")
    if not isinstance(folder, str) or (folder and (not _FOLDER.match(folder) or folder in (".", ".."))):
        raise _invalid(eid, f"{where}.folder", "must be a plain folder name (a pipeline component)")
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise _invalid(eid, f"{where}.name", "must be a plain file name")
    _require_https(eid, f"{where}.url", url)
    if not _positive_int(size):
        raise _invalid(eid, f"{where}.size", "must be the file size in bytes, above 0")
    if not isinstance(exact, bool):
        raise _invalid(eid, f"{where}.size_exact", "must be true or false (false: a rounded published size)")
    if sha is not None and (not isinstance(sha, str) or not _SHA256.match(sha)):
        raise _invalid(eid, f"{where}.sha256", "must be 64 lowercase hex digits, or null when not published")
    if fmt not in FILE_FORMATS:
        raise _invalid(eid, f"{where}.format", f"must be one of: {', '.join(FILE_FORMATS)}")
    return CatalogFile(name=name, url=url, size=size, sha256=sha, format=fmt, size_exact=exact, folder=folder)


def _require_https(eid: str, field: str, value: Any) -> None:
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme != "https" or not parsed.netloc:
        raise _invalid(eid, field, f"must be an https:// address (got {value!r})")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
