"""A finished fine-tune goes into the model store with its model card, like any installed model.

The weights and ``card.md`` are written into the store's incoming folder and installed with one
rename (``Store.install``), so the editor, the CLI and batch find the new model by its id at once
(``registry.refresh``). The card's numbers are also kept in ``model.json`` (``extra["card"]``) so
the model manager can show them without parsing markdown. A fine-tune may replace an earlier
fine-tune of the same name, never a downloaded or imported model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gptstudio.core.atomic import atomic_write_bytes
from gptstudio.core.errors import ModelError
from gptstudio.models.store import Store, StoredFile, StoredModel, file_sha256
from gptstudio.training.plan import Export

CARD = "card.md"


def check_name_free(store: Store, model_id: str) -> None:
    """Refuse a name that belongs to a model the user did not make by fine-tuning."""
    if store.has(model_id) and "card" not in store.get(model_id).extra:
        raise ModelError(
            f"A model '{model_id}' is already installed and is not a fine-tune; choose another --name."
        )


def card_markdown(name: str, card: dict[str, Any]) -> str:
    """The model card a person reads: where it came from, how it was trained, how well it does."""
    lines = [f"# {name}", "", f"Fine-tuned from **{card['base']}** by `gptstudio train`.", ""]
    lines += ["| | |", "|---|---|"]
    for key in ("task", "recipe", "preset", "data", "images", "steps", "seconds", "hardware", "precision"):
        lines.append(f"| {key} | {card.get(key)} |")
    val = card.get("validation", {})
    if val:
        lines += [
            "",
            "## Validation (held-out pictures, fixed damage or masks)",
            "",
            "| | base | fine-tuned |",
            "|---|---|---|",
        ]
        before, after = val.get("base", {}), val.get("final", {})
        for key in sorted(set(before) | set(after)):
            b, a = before.get(key), after.get(key)
            lines.append(f"| {key} | {_num(b)} | {_num(a)} |")
    lines += ["", "## Settings", "", "```json", json.dumps(card.get("settings", {}), indent=2), "```", ""]
    lines += ["Command:", "", f"    {card.get('command', '')}", ""]
    return "\n".join(lines)


def _num(v: object) -> str:
    return f"{v:.2f}" if isinstance(v, float) else ("" if v is None else str(v))


def install(
    store: Store,
    model_id: str,
    name: str,
    write: Callable[[Path], Export],
    card: dict[str, Any],
) -> tuple[StoredModel, Path]:
    """Write the weights (``write(folder)``) and the card, install as ``model_id``; returns the
    installed model and the card's path."""
    check_name_free(store, model_id)
    incoming = store.incoming(model_id)
    try:
        export = write(incoming)
        atomic_write_bytes(incoming / CARD, card_markdown(name, card).encode())
        files = tuple(
            StoredFile(f, (incoming / f).stat().st_size, file_sha256(incoming / f))
            for f in (export.file, CARD)
        )
        model = StoredModel(
            id=model_id,
            name=name,
            tasks=export.tasks,
            engine=export.engine,
            architecture=export.architecture,
            files=files,
            source=f"fine-tune:{card['data']}",
            licence=f"yours (fine-tuned from {card['base']}; its licence applies to the base weights)",
            description=export.description,
            detected=export.detected,
            extra={"card": card},
        )
        installed = store.install(model, incoming)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return installed, installed.folder / CARD


def hardware(device: str) -> str:
    from gptstudio.core.device import cpu_name

    if device.startswith("cuda"):
        return f"GPU: {torch.cuda.get_device_name(torch.device(device))}"
    return f"CPU: {cpu_name()}, {torch.get_num_threads()} threads"
