"""LoRA adapters for the generate task: which installed ones a model can apply, and the file of one.

Why apart from the task: the editor's Generate panel lists the LoRAs that fit the chosen model
(a LoRA trained for SD3 cannot be applied by PixArt), and the task resolves the one a request
names; both read the same store records and the adapter's own metadata, so they agree on what fits.
A LoRA is a store entry with engine ``lora`` (see ``training/finetune_lora.py``) whose ``detected``
holds the family it was trained for; it is never a model of its own.
"""

from __future__ import annotations

from gptstudio.core.errors import InvalidRequestError


def model_family(model_id: str | None) -> str | None:
    """The diffusers family of an installed generator (``sd3``, ``z-image`` …), or None."""
    from gptstudio.models import registry

    store = registry.default().store
    if not model_id or not store.has(model_id):
        return None
    model = store.get(model_id)
    family = model.detected.get("family") if model.engine == "diffusers" else None
    return str(family) if family else None


def loras_for(model_id: str | None) -> list[tuple[str, str]]:
    """(id, name) of the installed LoRAs that ``model_id`` can apply: those trained for its family.

    Reads only the store's small JSON records, so the panel can call it when a model is picked."""
    family = model_family(model_id)
    if family is None:
        return []
    from gptstudio.models import registry

    return sorted(
        (m.id, m.name)
        for m in registry.default().store.list()
        if m.engine == "lora" and m.detected.get("family") == family
    )


def resolve_lora(lora: str | None, family: str | None) -> tuple[str, str] | None:
    """(name, adapter file) of a LoRA given by store id or file; it must fit the model's family."""
    if not lora:
        return None
    from pathlib import Path

    from safetensors import safe_open

    from gptstudio.models import registry

    store = registry.default().store
    if Path(lora).suffix == ".safetensors" and Path(lora).is_file():
        path, name = Path(lora), Path(lora).stem
    elif store.has(lora) and store.get(lora).engine == "lora":
        path, name = store.get(lora).weights_path(), lora
    else:
        raise InvalidRequestError(
            f"There is no LoRA '{lora}': give the id of a trained LoRA or its .safetensors."
        )
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata() or {})
    if meta.get("format") != "gptstudio-lora":
        raise InvalidRequestError(f"{path.name} is not a LoRA made by `gptstudio train --task generate`.")
    if family is None or meta.get("family") != family:
        raise InvalidRequestError(
            f"The LoRA '{name}' was trained for a {meta.get('family')} model; this model cannot apply it."
        )
    return name, str(path)
