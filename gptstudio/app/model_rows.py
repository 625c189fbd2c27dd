"""What the Models dialog lists: the catalog, the store and the built-in engines merged into rows.

Kept apart from the widgets (and free of Qt) because the merge has rules worth reading on their
own: a catalog entry is *installed* when the store has its folder, *partly downloaded* when the
store holds unfinished bytes for it, *available* otherwise; an imported model that no catalog knows
still gets a row (from its model.json); an engine registered in the program (the classical methods,
the shipped weights) is *built in* even when the catalog does not name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from gptstudio.models.store import Store, StoredModel, human_size

BUILTIN, INSTALLED, PARTIAL, AVAILABLE = "builtin", "installed", "partial", "available"
STATE_LABELS = {
    BUILTIN: "Built in",
    INSTALLED: "Installed",
    PARTIAL: "Partly downloaded",
    AVAILABLE: "Available",
}
#: The dialog's "Show" filter: which states each choice keeps.
STATE_FILTERS = {
    "all": (BUILTIN, INSTALLED, PARTIAL, AVAILABLE),
    "installed": (BUILTIN, INSTALLED),
    "available": (PARTIAL, AVAILABLE),
}


@dataclass(frozen=True)
class ModelRow:
    id: str
    name: str
    tasks: tuple[str, ...]
    state: str
    description: str = ""
    architecture: str = ""
    licence: str = ""
    licence_url: str = ""
    restricted: bool = False
    source: str = ""
    #: Bytes to download (catalog) or on disk (installed); None for built-in engines.
    size: int | None = None
    memory_mb: int | None = None
    partial_bytes: int = 0
    #: The catalog entry to download, when there is one.
    entry: Any = None
    stored: StoredModel | None = None

    @property
    def downloadable(self) -> bool:
        return self.entry is not None and not getattr(self.entry, "is_builtin", False)

    @property
    def removable(self) -> bool:
        return self.state in (INSTALLED, PARTIAL)

    def matches(self, task: str | None, show: str, text: str) -> bool:
        """The dialog's filters: a task (None = all), a state choice and free text."""
        if task and task not in self.tasks:
            return False
        if self.state not in STATE_FILTERS.get(show, STATE_FILTERS["all"]):
            return False
        needle = text.strip().lower()
        hay = " ".join((self.id, self.name, self.architecture, self.licence, self.description)).lower()
        return not needle or all(word in hay for word in needle.split())


def build_rows(catalog: Any, store: Store, builtins: list[Any]) -> list[ModelRow]:
    """Rows in catalog order, then imported models, then built-in engines the catalog lacks.

    ``builtins`` are the registry's ``EngineInfo`` objects (everything the program can run now).
    """
    rows: list[ModelRow] = []
    seen: set[str] = set()
    installed = {m.id: m for m in store.list()}
    for entry in getattr(catalog, "entries", ()) or ():
        stored = installed.get(entry.id)
        partial = 0 if stored or entry.is_builtin else store.partial_bytes(entry.id)
        if entry.is_builtin:
            state = BUILTIN
        elif stored is not None:
            state = INSTALLED
        else:
            state = PARTIAL if partial > 0 else AVAILABLE
        rows.append(
            ModelRow(
                id=entry.id,
                name=entry.name,
                tasks=tuple(entry.tasks),
                state=state,
                description=entry.description,
                architecture=entry.architecture,
                licence=entry.licence,
                licence_url=entry.licence_url,
                restricted=entry.restricted,
                source=entry.source,
                size=stored.size if stored else (entry.download_size or None),
                memory_mb=entry.memory_mb,
                partial_bytes=partial,
                entry=entry,
                stored=stored,
            )
        )
        seen.add(entry.id)
    for model in installed.values():
        if model.id in seen:
            continue
        rows.append(
            ModelRow(
                id=model.id,
                name=model.name,
                tasks=model.tasks,
                state=INSTALLED,
                description=model.description,
                architecture=model.architecture,
                licence=model.licence,
                licence_url=model.licence_url,
                restricted=model.restricted,
                source=model.source,
                size=model.size,
                stored=model,
            )
        )
        seen.add(model.id)
    for info in builtins:
        if info.id in seen:
            continue
        rows.append(
            ModelRow(
                id=info.id,
                name=info.name,
                tasks=tuple(info.tasks),
                state=BUILTIN,
                description=info.description,
                architecture=info.architecture,
                licence=info.licence,
            )
        )
        seen.add(info.id)
    return rows


def size_text(row: ModelRow) -> str:
    if row.size:
        # A catalog size that is only a rounded published figure is shown as such until installed.
        approximate = row.state != INSTALLED and not getattr(row.entry, "size_exact", True)
        return ("about " if approximate else "") + human_size(row.size)
    return "included" if row.state == BUILTIN else "—"


def memory_text(mb: int | None) -> str:
    if not mb:
        return "—"
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb} MB"


def state_text(row: ModelRow) -> str:
    if row.state == PARTIAL:
        total = getattr(row.entry, "download_size", 0)
        if total:
            return f"Partly downloaded, {min(row.partial_bytes / total, 0.99) * 100:.0f} %"
        return f"Partly downloaded ({human_size(row.partial_bytes)})"
    return STATE_LABELS[row.state]


def hash_note(row: ModelRow) -> str:
    """Whether the weights are checked against a hash their author published (the issue asks the
    dialog to say so visibly when the hash was only computed on the first download)."""
    if row.stored is not None:
        if row.stored.source.startswith("file:"):
            return "Imported from a file on this computer: its sha256 was computed when it was imported."
        if row.stored.files and all(f.published_hash for f in row.stored.files):
            return "Verified: the download matched the sha256 its author published."
        return (
            "Not verified against the author: no sha256 was published, so it was computed on the first "
            "download and recorded; later checks compare against that."
        )
    if row.state == BUILTIN:
        return "Ships with GPT Studio."
    files = getattr(row.entry, "files", ()) or ()
    if files and all(getattr(f, "sha256", None) for f in files):
        return "The author published a sha256: the download is checked against it."
    return (
        "No sha256 was published for this model: the first download computes it and records it, "
        "but cannot check it against the author's."
    )


def details_html(row: ModelRow, task_labels: dict[str, str]) -> str:
    """The details pane: everything the table shortens, with the source and licence as links."""
    tasks = ", ".join(task_labels.get(t, t) for t in row.tasks)
    parts = [f"<h3 style='margin:0'>{escape(row.name)}</h3>"]
    if row.description:
        parts.append(f"<p>{escape(row.description)}</p>")
    facts = [f"<b>Tasks:</b> {escape(tasks)}"]
    if row.architecture:
        facts.append(f"<b>Architecture:</b> {escape(row.architecture)}")
    facts.append(f"<b>Size:</b> {escape(size_text(row))}")
    if row.memory_mb:
        facts.append(f"<b>Memory needed:</b> about {escape(memory_text(row.memory_mb))} (512×512 tile)")
    parts.append("<br>".join(facts))
    licence = escape(row.licence or "not stated")
    if row.licence_url:
        licence = f"<a href='{escape(row.licence_url, quote=True)}'>{licence}</a>"
    line = f"<p><b>Licence:</b> {licence}"
    if row.restricted:
        line += " — <b style='color:#d08030'>restricted</b> (for example: non-commercial use only)"
    parts.append(line + "</p>")
    if row.source.startswith("http"):
        src = escape(row.source, quote=True)
        parts.append(f"<p><b>Source:</b> <a href='{src}'>{escape(row.source)}</a></p>")
    elif row.source:
        parts.append(f"<p><b>Source:</b> {escape(row.source.removeprefix('file:'))}</p>")
    parts.append(f"<p><b>Checksum:</b> {escape(hash_note(row))}</p>")
    return "".join(parts)
