"""Which files a batch processes, where each result goes, and which mask belongs to which image.

Planning reads only folder listings (no image is opened), so a folder of 10,000 photos is planned
in a moment and problems that need no decoding — no matching mask, two inputs that would write the
same output, an output that would land on an input — are known before the model starts. Those
files are planned with a ``problem`` and reported as failed; nothing is guessed.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gptstudio.batch.options import FORMAT_EXTENSIONS, BatchOptions
from gptstudio.core.imageio import SAVE_FORMATS

#: Extensions treated as images (case-insensitive). A file with one of these that is not an image
#: (a renamed text file) is still planned, and fails with its reason when decoded.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
#: The manifest's name in the output folder.
MANIFEST_NAME = "gptstudio-batch.jsonl"


@dataclass(frozen=True)
class PlannedFile:
    """One input and where its result goes; ``problem`` says why it cannot run (else None)."""

    rel: str  # path relative to the input folder, with "/" on every system
    source: Path
    output: Path
    output_rel: str  # path relative to the output folder, as the manifest records it
    mask: Path | None = None
    problem: str | None = None


def matches(rel: str, patterns: Iterable[str]) -> bool:
    """True if the relative path matches any glob; a pattern without "/" also tries the name.

    ``fnmatch``'s ``*`` crosses "/", so ``raw/*`` selects a whole subtree and ``*.jpg`` any JPEG
    at any depth, which is what people type.
    """
    name = PurePosixPath(rel).name
    for pattern in patterns:
        pat = pattern.replace("\\", "/")
        if fnmatch.fnmatchcase(rel, pat) or ("/" not in pat and fnmatch.fnmatchcase(name, pat)):
            return True
    return False


def _walk(root: Path, recursive: bool, skip_dirs: set[Path]) -> Iterator[Path]:
    """Image files under ``root`` in a stable order; hidden files and folders are left out.

    Hidden names cover our own unfinished ``.name.tmp`` writes, macOS ``._`` companions and
    ``.git``; ``skip_dirs`` keeps an output or mask folder inside the input out of the inputs.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in skip_dirs
        )
        if not recursive:
            dirnames[:] = []
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                yield here / name


def output_path(options: BatchOptions, rel: str) -> Path:
    """Where the result of the input at ``rel`` goes: the same sub-folder under the output folder."""
    pure = PurePosixPath(rel)
    if options.format == "same":
        ext = pure.suffix if pure.suffix.lower() in SAVE_FORMATS else ".png"
    else:
        ext = FORMAT_EXTENSIONS[options.format]
    return options.output_dir.joinpath(*pure.parent.parts, f"{pure.stem}{options.suffix}{ext}")


class MaskIndex:
    """The mask folder listed once, looked up by (relative sub-folder, stem)."""

    def __init__(self, mask_dir: Path) -> None:
        self._by_key: dict[tuple[str, str], list[Path]] = {}
        for path in _walk(mask_dir, True, set()):
            rel = PurePosixPath(path.relative_to(mask_dir).as_posix())
            self._by_key.setdefault((str(rel.parent), rel.stem), []).append(path)

    def find(self, rel: str) -> tuple[Path | None, str | None]:
        """(mask, None), or (None, why there is no single mask for this image)."""
        pure = PurePosixPath(rel)
        found = self._by_key.get((str(pure.parent), pure.stem), [])
        if not found:
            return None, f"no matching mask (looked for {pure.parent / pure.stem}.* in the mask folder)"
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            return None, f"several masks match ({names}); keep only one"
        return found[0], None


def plan(options: BatchOptions, previous_outputs: frozenset[str] = frozenset()) -> list[PlannedFile]:
    """The batch's files in a stable order, each with its output, mask and any known problem.

    ``previous_outputs`` are output paths (relative to the output folder) an earlier run wrote;
    when the output folder is inside the input folder or the same, they are not inputs.
    """
    in_root = options.input_dir.resolve()
    out_root = options.output_dir.resolve()
    skip = {out_root} if out_root != in_root else set()
    if options.mask_dir is not None:
        skip.add(options.mask_dir.resolve())
    masks = MaskIndex(options.mask_dir) if options.mask_dir is not None else None
    planned: list[PlannedFile] = []
    claimed: dict[Path, str] = {}
    sources: list[tuple[str, Path]] = []
    for path in _walk(options.input_dir, options.recursive, skip):
        rel = path.relative_to(options.input_dir).as_posix()
        if options.include and not matches(rel, options.include):
            continue
        if options.exclude and matches(rel, options.exclude):
            continue
        if out_root == in_root and rel in previous_outputs:
            continue  # a result of an earlier run into the same folder
        sources.append((rel, path))
    input_paths = {p.resolve() for _rel, p in sources}
    for rel, path in sources:
        out = output_path(options, rel)
        problem = None
        mask = options.mask_file
        if out.resolve() in input_paths:
            problem = "its output would replace an input file; use --suffix or another output folder"
        elif out in claimed:
            problem = (
                f"{claimed[out]} is written to the same output name; use --format same to keep "
                "each input's extension"
            )
        elif masks is not None:
            mask, problem = masks.find(rel)
        if problem is None:
            claimed[out] = rel
        out_rel = out.relative_to(options.output_dir).as_posix()
        planned.append(PlannedFile(rel, path, out, out_rel, mask=mask, problem=problem))
    return planned
