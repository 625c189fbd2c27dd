"""The model store: one folder per installed model under ``<user data>/models``, with a model.json.

Why a folder per model with its own ``model.json`` (and no central index file): a folder can be
copied between machines, deleted by hand or backed up, and the store stays correct, because the
listing is simply "every folder that has a readable model.json". A download that has not finished
lives in ``.incoming/<id>/`` (its ``.part`` files are what a later pull resumes from); it becomes a
model only by one directory rename, so a half-downloaded model is never listed or loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from gptstudio.core import paths
from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import ModelError

MODEL_JSON = "model.json"
INCOMING = ".incoming"
#: Bumped when model.json changes in a way older versions cannot read.
FORMAT = 1


@dataclass(frozen=True)
class StoredFile:
    """One weight file of an installed model."""

    name: str
    size: int
    sha256: str
    #: True when the hash matched one the model's publisher gave; False when no hash was published
    #: and this is the hash computed on the first download (or of the imported file).
    published_hash: bool = False


@dataclass(frozen=True)
class StoredModel:
    """What model.json says about an installed model (everything but the weights)."""

    id: str
    name: str
    tasks: tuple[str, ...]
    engine: str
    architecture: str
    files: tuple[StoredFile, ...]
    #: Where it came from: the catalog entry's release page, or ``file:`` and the imported path.
    source: str = ""
    licence: str = ""
    licence_url: str = ""
    restricted: bool = False
    description: str = ""
    #: ISO date and time of installation (UTC).
    installed: str = ""
    #: What the weights said about themselves when they were detected (architecture, purpose,
    #: scale, size requirements, dtypes); written by the engine family that loads them.
    detected: dict[str, Any] = field(default_factory=dict)
    #: Free-form extras (a fine-tune's model card, the catalog id it was pulled from).
    extra: dict[str, Any] = field(default_factory=dict)
    folder: Path = Path()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def weights_path(self) -> Path:
        """The main weight file (the first one listed)."""
        if not self.files:
            raise ModelError(f"The model '{self.id}' has no weight files recorded in its model.json.")
        return self.folder / self.files[0].name

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("folder")
        data["tasks"] = list(self.tasks)
        data["files"] = [asdict(f) for f in self.files]
        data["format"] = FORMAT
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], folder: Path) -> StoredModel:
        try:
            files = tuple(StoredFile(**f) for f in data.get("files", ()))
            return cls(
                id=str(data["id"]),
                name=str(data.get("name") or data["id"]),
                tasks=tuple(data["tasks"]),
                engine=str(data["engine"]),
                architecture=str(data.get("architecture", "")),
                files=files,
                source=str(data.get("source", "")),
                licence=str(data.get("licence", "")),
                licence_url=str(data.get("licence_url", "")),
                restricted=bool(data.get("restricted", False)),
                description=str(data.get("description", "")),
                installed=str(data.get("installed", "")),
                detected=dict(data.get("detected", {})),
                extra=dict(data.get("extra", {})),
                folder=folder,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{folder / MODEL_JSON} is damaged ({exc}); remove the model and install it again."
            ) from exc


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Store:
    """The installed models under one root folder (default: ``<user data>/models``)."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = Path(root) if root is not None else None

    @property
    def root(self) -> Path:
        root = self._root if self._root is not None else paths.models_dir()
        root.mkdir(parents=True, exist_ok=True)
        return root

    def folder(self, model_id: str) -> Path:
        check_id(model_id)
        return self.root / model_id

    def incoming(self, model_id: str) -> Path:
        """Where a download of ``model_id`` collects its files (kept across restarts to resume)."""
        check_id(model_id)
        path = self.root / INCOMING / model_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def free_id(self, base: str) -> str:
        """``base`` if no model has that id yet, else ``base-2``, ``base-3``… (imports never replace)."""
        check_id(base)
        if not self.has(base):
            return base
        n = 2
        while self.has(f"{base}-{n}"):
            n += 1
        return f"{base}-{n}"

    def has(self, model_id: str) -> bool:
        return (self.folder(model_id) / MODEL_JSON).is_file()

    def get(self, model_id: str) -> StoredModel:
        folder = self.folder(model_id)
        try:
            data = json.loads((folder / MODEL_JSON).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"The model '{model_id}' is not installed.") from None
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{folder / MODEL_JSON} cannot be read ({exc}); remove the model and install it again."
            ) from exc
        return StoredModel.from_json(data, folder)

    def list(self) -> list[StoredModel]:
        """Every installed model, sorted by id. A damaged folder is skipped (see :meth:`problems`)."""
        found = []
        for folder in self._model_folders():
            try:
                found.append(self.get(folder.name))
            except ModelError:
                continue
        return found

    def problems(self) -> list[str]:
        """Folders that look like models but cannot be read, for ``models verify`` and the dialog."""
        out = []
        for folder in self._model_folders():
            try:
                self.get(folder.name)
            except ModelError as exc:
                out.append(str(exc))
        return out

    def _model_folders(self) -> Iterable[Path]:
        root = self.root
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.name.startswith(".") and (child / MODEL_JSON).exists():
                yield child

    def install(self, model: StoredModel, source_dir: Path) -> StoredModel:
        """Make the files in ``source_dir`` the installed model ``model.id``, in one rename.

        The model.json is written into ``source_dir`` first, then the folder is renamed into place,
        so other processes see either no model or a complete one. A model already installed under
        that id is replaced only after the new one is complete.
        """
        check_id(model.id)
        for f in model.files:
            if not (source_dir / f.name).is_file():
                raise ModelError(f"Cannot install '{model.id}': {f.name} is missing.")
        for leftover in source_dir.glob("*.part*"):
            leftover.unlink()
        stamped = replace(model, installed=model.installed or now_iso(), folder=self.folder(model.id))
        atomic_write_bytes(
            source_dir / MODEL_JSON, json.dumps(stamped.to_json(), indent=2, ensure_ascii=False).encode()
        )
        target = self.folder(model.id)
        old = None
        if target.exists():
            old = self.root / INCOMING / f"{model.id}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(source_dir, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return stamped

    def remove(self, model_id: str) -> None:
        """Delete an installed model and any unfinished download of it."""
        folder = self.folder(model_id)
        if not folder.exists() and not (self.root / INCOMING / model_id).exists():
            raise ModelError(f"The model '{model_id}' is not installed.")
        # Rename first so a half-deleted folder never looks like an installed model.
        if folder.exists():
            trash = self.root / INCOMING / f"{model_id}.removing-{os.getpid()}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(self.root / INCOMING / model_id, ignore_errors=True)

    def partial_bytes(self, model_id: str) -> int:
        """Bytes already downloaded for an unfinished pull (0 if none)."""
        folder = self.root / INCOMING / model_id
        if not folder.is_dir():
            return 0
        return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())

    def disk_usage(self) -> int:
        """Bytes used by installed models and unfinished downloads."""
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_size
                except OSError:
                    continue
        return total


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 8 MiB blocks (a model file can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def check_id(model_id: str) -> None:
    """Model ids name folders: lowercase letters, digits, dots, dashes and underscores only."""
    ok = model_id and len(model_id) <= 100 and model_id[0].isalnum()
    ok = ok and all(c.isdigit() or (c.isascii() and c.islower()) or c in "-_." for c in model_id)
    if not ok:
        raise ModelError(
            f"'{model_id}' is not a valid model id: use lowercase letters, digits, '-', '_' and '.'."
        )


def slug(text: str) -> str:
    """A model id made from a file name or title: ``4x-UltraSharp.pth`` -> ``4x-ultrasharp``."""
    out = []
    for c in text.lower():
        out.append(c if (c.isascii() and c.isalnum()) or c in "-_." else "-")
    s = "".join(out).strip("-._")
    while "--" in s:
        s = s.replace("--", "-")
    return s[:100] or "model"


def human_size(n: float) -> str:
    """``1536`` -> ``1.5 KB``; sizes as people read them in a file manager (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
