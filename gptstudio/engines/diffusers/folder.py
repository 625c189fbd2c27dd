"""What a diffusers folder holds, read from its JSON files and safetensors headers, without loading it.

A folder is what ``save_pretrained`` writes and what other apps keep: ``model_index.json`` naming
the pipeline class and its components, one sub-folder per component with a config and weights.
:func:`detect` turns that into a :class:`Detected` record (family, components, parameter count,
native resolution, size multiple) that the store keeps in model.json, so listing models, the
panel and the memory estimate never open a weight file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gptstudio.core.errors import ModelError
from gptstudio.engines.diffusers import families

MODEL_INDEX = "model_index.json"
#: Files of a component folder that belong to the model (weights, configs, tokenizers).
_SKIP_SUFFIXES = (".part", ".lock", ".incomplete")
#: safetensors' dtype codes, as torch names them.
_DTYPES = {"F32": "float32", "BF16": "bfloat16", "F16": "float16", "F64": "float64"}


@dataclass(frozen=True)
class Detected:
    """A diffusers folder, described."""

    family: str
    pipeline: str
    components: tuple[str, ...]
    parameters: int
    native: int
    multiple: int
    #: dtype the weights are stored in ("float32", "bfloat16", ...), the largest share.
    stored_dtype: str = "float32"

    @property
    def tasks(self) -> tuple[str, ...]:
        return families.get(self.family).tasks

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["components"] = list(self.components)
        data["engine"] = "diffusers"
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Detected:
        try:
            return cls(
                family=str(data["family"]),
                pipeline=str(data["pipeline"]),
                components=tuple(data.get("components", ())),
                parameters=int(data.get("parameters", 0)),
                native=int(data["native"]),
                multiple=int(data["multiple"]),
                stored_dtype=str(data.get("stored_dtype", "float32")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"The stored description of a diffusers model is damaged ({exc}).") from exc


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: this is not a complete diffusers folder.") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} cannot be read ({exc}).") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object.")
    return data


def read_index(folder: Path) -> dict[str, Any]:
    return _json(Path(folder) / MODEL_INDEX)


def components(index: dict[str, Any]) -> tuple[str, ...]:
    """Component names of a model_index.json (entries like ``"vae": ["diffusers", "AutoencoderKL"]``)
    that are present (a ``[null, null]`` entry is an optional part the folder does not have)."""
    out = []
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        if value[0] is None or value[1] is None:
            continue
        out.append(name)
    return tuple(out)


def weight_files(folder: Path, names: tuple[str, ...]) -> list[Path]:
    return [p for name in names for p in sorted((Path(folder) / name).glob("*.safetensors"))]


def _tensor_stats(path: Path) -> Iterator[tuple[int, str]]:
    """(number of elements, dtype) of every tensor in a safetensors file, from its header only."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():
                part = f.get_slice(key)
                n = 1
                for d in part.get_shape():
                    n *= int(d)
                yield n, str(part.get_dtype())
    except Exception as exc:  # a damaged header: safetensors raises its own error types
        raise ModelError(f"{path} is not a readable safetensors file ({exc}).") from exc


def detect(folder: Path, expected_family: str | None = None) -> Detected:
    """Describe the diffusers folder ``folder``; a clear :class:`ModelError` when it is not one we run.

    ``expected_family``: the family a catalog download promises (see
    :attr:`~gptstudio.engines.diffusers.families.Family.shared_index_classes`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder} is not a folder.")
    index = read_index(folder)
    family = families.for_index(index, expected_family)
    names = components(index)
    configs: dict[str, dict[str, Any]] = {}
    for name in names:
        config = folder / name / "config.json"
        if config.is_file():
            configs[name] = _json(config)
    missing = [n for n in ("transformer",) if n not in configs]
    if missing:
        raise ModelError(f"{folder} has no {missing[0]}/config.json; the folder is incomplete.")
    total, by_dtype = 0, {}
    for path in weight_files(folder, names):
        for n, dtype in _tensor_stats(path):
            total += n
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    if total == 0:
        raise ModelError(
            f"{folder} has no .safetensors weights. Save the pipeline with safe_serialization=True, "
            "or convert its .bin files first."
        )
    native, multiple = families.geometry(family, configs)
    stored = max(by_dtype, key=lambda k: by_dtype[k])
    return Detected(
        family=family.key,
        pipeline=str(index.get("_class_name")),
        components=names,
        parameters=total,
        native=native,
        multiple=multiple,
        stored_dtype=_DTYPES.get(stored.upper(), stored.lower()),
    )


def model_files(folder: Path) -> list[Path]:
    """Every file that belongs to the model (relative order stable), for storing and hashing."""
    folder = Path(folder)
    out = [folder / MODEL_INDEX]
    for name in components(read_index(folder)):
        sub = folder / name
        if sub.is_dir():
            out += [p for p in sorted(sub.rglob("*")) if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES)]
    return out
