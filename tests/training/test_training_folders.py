"""A user's training folder: recursion, skips with reasons, captions, pairs, a fixed split, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gptstudio.core.errors import InvalidRequestError
from gptstudio.training.folders import require_captions, scan_folder


def _save(path: Path, seed: int, size: tuple[int, int] = (80, 96)) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(img).save(path)
    return img


def test_recursive_folder_with_skips_captions_and_a_repeatable_split(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for i in range(6):
        _save(root / ("trip" if i % 2 else "") / f"p{i}.png", i)
    (root / "p0.txt").write_text("a red barn\n")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    (root / "tiny.png").parent.mkdir(exist_ok=True)
    _save(root / "tiny.png", 9, (20, 20))
    (root / "notes.pdf").write_bytes(b"%PDF")
    (root / ".thumbs" / "x.png").parent.mkdir()
    _save(root / ".thumbs" / "x.png", 3)
    data = scan_folder(root, captions=True, seed=5)
    s = data.summary()
    assert s["images"] == 6 and s["train"] + s["val"] == 6 and s["val"] == 1
    reasons = dict(data.skipped)
    assert set(reasons) == {"broken.jpg", "tiny.png", "notes.pdf"}
    assert "cannot be read" in reasons["broken.jpg"] and "smaller than 64" in reasons["tiny.png"]
    assert s["sizes"] == {"min": [80, 96], "max": [80, 96]}
    assert {it.rel for it in data.items} >= {"trip/p1.png", "p0.png"}
    assert next(it for it in data.items if it.rel == "p0.png").caption == "a red barn"
    again = scan_folder(root, captions=True, seed=5)
    assert [it.rel for it in again.val] == [it.rel for it in data.val]
    assert "skipped 3 file(s)" in data.describe()


def test_pairs_are_matched_by_relative_path_and_mismatches_are_listed(tmp_path: Path) -> None:
    clean, bad = tmp_path / "clean", tmp_path / "bad"
    a = _save(clean / "a.png", 1)
    _save(clean / "sub" / "b.png", 2)
    _save(clean / "c.png", 3)
    _save(bad / "a.jpg", 4)  # another file type: still the partner of a.png
    _save(bad / "sub" / "b.png", 5, (64, 64))  # another size
    data = scan_folder(clean, damaged=bad)
    assert [it.rel for it in data.items] == ["a.png"]
    assert data.items[0].damaged is not None and data.items[0].damaged.shape == a.shape
    reasons = dict(data.skipped)
    assert "not 80×96" in reasons["sub/b.png"] and "no damaged picture" in reasons["c.png"]


def test_bad_folders_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="does not exist"):
        scan_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidRequestError, match="has no pictures"):
        scan_folder(tmp_path / "empty")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for i in range(3):
        (corrupt / f"{i}.jpg").write_bytes(b"garbage")
    with pytest.raises(InvalidRequestError, match="None of the 3 file"):
        scan_folder(corrupt)


def test_a_prompt_recipe_needs_captions_or_a_trigger_word(tmp_path: Path) -> None:
    root = tmp_path / "dog"
    _save(root / "1.png", 1)
    _save(root / "2.png", 2)
    (root / "1.txt").write_text("my dog on the beach")
    data = scan_folder(root, captions=True)
    with pytest.raises(InvalidRequestError, match="1 of 2 pictures have no caption"):
        require_captions(data, None)
    require_captions(data, "sks dog")
