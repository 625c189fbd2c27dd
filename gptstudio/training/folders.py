"""A user's folder of photos as a training set: recursive, captions, pairs, skips, a fixed split.

Fine-tuning takes whatever a photographer has: folders inside folders, a few files that are not
pictures or are damaged, captions written beside some photos (``photo.txt`` next to
``photo.jpg``), or two folders of the same pictures before and after damage (matched by their
path relative to each folder, whatever the file type). Nothing here refuses the whole folder for
one bad file: it is skipped and listed, with the reason, in the summary the user sees before
training starts. Only a folder with nothing usable is an error.

The images are decoded once into memory, as ``data.load_folder`` does for the shipped recipes;
clean photos for self-supervised training are shrunk to ``max_side`` with area averaging first
(a 24-megapixel photo is mostly a source of 256 px crops, and 500 of them would not fit in RAM),
pairs are kept at full size so their damage is exactly the photographer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gptstudio.core.errors import InvalidRequestError
from gptstudio.training.data import IMAGE_SUFFIXES, downscale

#: Files that sit beside photos on purpose and are not "skipped" (captions, editor sidecars).
SIDECAR_SUFFIXES = (".txt", ".caption", ".json", ".xmp")


@dataclass
class Item:
    """One usable training picture (and its damaged partner or caption when there is one)."""

    path: Path
    rel: str
    image: np.ndarray
    damaged: np.ndarray | None = None
    caption: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass
class Dataset:
    root: Path
    train: list[Item]
    val: list[Item]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Original sizes (before any shrinking), as [width, height].
    sizes: list[tuple[int, int]] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return self.train + self.val

    def summary(self) -> dict[str, Any]:
        """The ``data`` event's fields (see ``gptstudio.training.events``)."""
        areas = [w * h for w, h in self.sizes]
        small = self.sizes[int(np.argmin(areas))] if areas else (0, 0)
        large = self.sizes[int(np.argmax(areas))] if areas else (0, 0)
        return {
            "images": len(self.items),
            "train": len(self.train),
            "val": len(self.val),
            "skipped": [list(s) for s in self.skipped],
            "sizes": {"min": list(small), "max": list(large)},
        }

    def describe(self) -> str:
        """The summary as the CLI prints it before training."""
        s = self.summary()
        lines = [
            f"{s['images']} images in {self.root} ({s['train']} for training, {s['val']} held out "
            f"for validation); sizes from {s['sizes']['min'][0]}×{s['sizes']['min'][1]} to "
            f"{s['sizes']['max'][0]}×{s['sizes']['max'][1]}"
        ]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s):")
            lines += [f"  {path}: {reason}" for path, reason in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  … and {len(self.skipped) - 20} more")
        return "\n".join(lines)


def _files(root: Path) -> list[Path]:
    """Every file under ``root``, sorted by relative path, hidden files and folders left out."""
    out = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        out.append(path)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def _decode(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.array(im.convert("RGB"), dtype=np.uint8)  # a writable copy (torch warns on views)


def _caption(path: Path) -> str | None:
    for suffix in (".txt", ".caption"):
        side = path.with_suffix(suffix)
        if side.is_file():
            text = side.read_text(encoding="utf-8", errors="replace").strip()
            return text or None
    return None


def _partners(folder: Path) -> dict[str, Path]:
    """Images of the damaged folder by relative path without the file type."""
    return {
        p.relative_to(folder).with_suffix("").as_posix(): p
        for p in _files(folder)
        if p.suffix.lower() in IMAGE_SUFFIXES
    }


def scan_folder(
    root: str | Path,
    *,
    damaged: str | Path | None = None,
    captions: bool = False,
    min_side: int = 64,
    max_side: int | None = 2048,
    val_fraction: float = 0.1,
    max_val: int = 16,
    seed: int = 0,
) -> Dataset:
    """Read a training folder; see the module docstring.

    ``damaged``: a second folder of the same pictures with their damage (pairs). ``captions``: read
    sidecar captions. The split is a permutation by ``seed``, so the same folder always gives the
    same validation pictures; a folder of one picture has no validation set.
    """
    root = Path(root)
    if not root.is_dir():
        raise InvalidRequestError(f"The training folder {root} does not exist or is not a folder.")
    partner_folder = Path(damaged) if damaged is not None else None
    if partner_folder is not None and not partner_folder.is_dir():
        raise InvalidRequestError(f"The folder of damaged pictures {partner_folder} does not exist.")
    partners = _partners(partner_folder) if partner_folder is not None else {}
    items: list[Item] = []
    skipped: list[tuple[str, str]] = []
    sizes: list[tuple[int, int]] = []
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            if path.suffix.lower() not in SIDECAR_SUFFIXES:
                skipped.append((rel, "not an image file"))
            continue
        try:
            image = _decode(path)
        except Exception as exc:
            skipped.append((rel, f"cannot be read ({type(exc).__name__}: {exc})"))
            continue
        h, w = image.shape[:2]
        if min(h, w) < min_side:
            skipped.append((rel, f"smaller than {min_side} px ({w}×{h})"))
            continue
        item = Item(path, rel, image, caption=_caption(path) if captions else None)
        if partner_folder is not None:
            key = path.relative_to(root).with_suffix("").as_posix()
            other = partners.get(key)
            if other is None:
                skipped.append((rel, f"no damaged picture with this name in {partner_folder}"))
                continue
            try:
                item.damaged = _decode(other)
            except Exception as exc:
                skipped.append((rel, f"its damaged picture cannot be read ({exc})"))
                continue
            if item.damaged.shape != image.shape:
                dw, dh = item.damaged.shape[1], item.damaged.shape[0]
                skipped.append((rel, f"its damaged picture is {dw}×{dh}, not {w}×{h}"))
                continue
        elif max_side and max(h, w) > max_side:
            item.image = downscale(image, max_side / max(h, w))
        sizes.append((w, h))
        items.append(item)
    if not items:
        if skipped:
            raise InvalidRequestError(
                f"None of the {len(skipped)} file(s) in {root} can be used for training; the first: "
                f"{skipped[0][0]}: {skipped[0][1]}."
            )
        raise InvalidRequestError(f"The training folder {root} has no pictures in it.")
    order = np.random.default_rng(seed).permutation(len(items))
    n_val = min(max_val, round(len(items) * val_fraction)) if len(items) > 1 else 0
    n_val = max(n_val, 1) if len(items) > 1 else 0
    val_idx = set(order[:n_val].tolist())
    train = [it for i, it in enumerate(items) if i not in val_idx]
    val = [it for i, it in enumerate(items) if i in val_idx]
    return Dataset(root, train, val, skipped, sizes)


def require_captions(data: Dataset, trigger: str | None) -> None:
    """A prompt recipe needs a caption for every picture, unless a trigger word stands in for all."""
    if trigger:
        return
    missing = [it.rel for it in data.items if not it.caption]
    if missing:
        raise InvalidRequestError(
            f"{len(missing)} of {len(data.items)} pictures have no caption (a .txt file with the same "
            f"name beside the picture), e.g. {missing[0]}. Write captions or give a trigger word "
            "(--trigger) for all pictures."
        )
