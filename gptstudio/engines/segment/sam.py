"""Segment Anything (SAM, SAM 2) through transformers: an image embedding once, then cheap clicks.

A SAM model has a heavy image encoder (a ViT; seconds on a CPU) and a light prompt decoder
(milliseconds). :meth:`SamSegmenter.embed` runs the encoder once per image and returns an
:class:`Embedding`; :meth:`SamSegmenter.predict` answers each box or click from it. The encoder
sees the photo shrunk to its input size (1024 px) whatever the photo's size, so the work copy is
made here with OpenCV's area filter rather than handing 24 MP to the processor.

Models load only from a folder in the store (``config.json`` + ``model.safetensors`` and, for SAM,
``preprocessor_config.json``), never from the hub, and only safetensors weights are read. The
family comes from the config's ``model_type``; SAM 2 is used when the installed transformers
has it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gptstudio.core.errors import InvalidRequestError, ModelError
from gptstudio.core.progress import TaskState
from gptstudio.engines.segment import ObjectPrompt

#: config.json ``model_type`` -> (model class, image processor class) names in transformers.
FAMILIES = {
    "sam": ("SamModel", "SamImageProcessor"),
    "sam2": ("Sam2Model", "Sam2ImageProcessor"),
}


@dataclass(eq=False)
class Embedding:
    """One image's encoder output, and the sizes needed to map prompts and masks."""

    features: Any
    #: (height, width) of the full image and of the copy the encoder saw.
    full_size: tuple[int, int]
    work_size: tuple[int, int]


def read_family(folder: Path) -> str:
    """The SAM family of a model folder, from its config.json (ModelError if it is not one)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder} has no readable config.json: {exc}") from exc
    family = str(config.get("model_type", ""))
    if family not in FAMILIES:
        raise ModelError(
            f"{folder.name} is a '{family}' model, not one of the Segment Anything families "
            f"({', '.join(FAMILIES)})."
        )
    return family


class SamSegmenter:
    """A loaded SAM or SAM 2 model and its image processor."""

    def __init__(self, model: Any, processor: Any, family: str, device: str = "cpu") -> None:
        self.model, self.processor, self.family, self.device = model, processor, family, device

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> SamSegmenter:
        folder = Path(folder)
        family = read_family(folder)
        import transformers

        model_name, processor_name = FAMILIES[family]
        model_cls = getattr(transformers, model_name, None)
        processor_cls = getattr(transformers, processor_name, None)
        if model_cls is None or processor_cls is None:
            raise ModelError(
                f"This model needs a newer transformers (it has no {model_name}); "
                "run: pip install -U transformers"
            )
        if not (folder / "model.safetensors").is_file():
            raise ModelError(f"{folder.name} has no model.safetensors; only safetensors weights are loaded.")
        model = model_cls.from_pretrained(folder, local_files_only=True, use_safetensors=True)
        if (folder / "preprocessor_config.json").is_file():
            processor = processor_cls.from_pretrained(folder, local_files_only=True)
        else:  # SAM 2's published folders carry no processor file; its defaults are the model's
            processor = processor_cls()
        return cls(model.eval().to(device), processor, family, device)

    # --- sizes ----------------------------------------------------------------------------------

    def _input_side(self) -> int:
        size = self.processor.size
        return int(size.get("longest_edge") or max(size.get("height", 0), size.get("width", 0)) or 1024)

    def _model_scale(self, work_h: int, work_w: int) -> tuple[float, float]:
        """Work-copy pixels -> the model's prompt frame (what the processor's coordinate
        normalisation does): SAM keeps the aspect ratio to a longest side, SAM 2 squeezes the
        image into a square."""
        side = self._input_side()
        if self.family == "sam2":
            size = self.processor.size
            return size.get("width", side) / work_w, size.get("height", side) / work_h
        s = side / max(work_h, work_w)
        return int(work_w * s + 0.5) / work_w, int(work_h * s + 0.5) / work_h

    # --- the two steps --------------------------------------------------------------------------

    def embed(self, rgb8: np.ndarray, state: TaskState | None = None) -> Embedding:
        """Run the image encoder once for this image (uint8 ``H×W×3``)."""
        import torch

        state = state or TaskState()
        h, w = rgb8.shape[:2]
        scale = min(1.0, self._input_side() / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            work = cv2.resize(rgb8, size, interpolation=cv2.INTER_AREA)
        else:
            work = np.ascontiguousarray(rgb8)
        state.report(0.1, "Reading the image (Segment Anything)")
        inputs = self.processor(images=work, return_tensors="pt")
        with torch.inference_mode():
            features = self.model.get_image_embeddings(inputs["pixel_values"].to(self.device))
        state.report(1.0, "Ready")
        return Embedding(features, (h, w), work.shape[:2])

    def predict(self, emb: Embedding, prompt: ObjectPrompt) -> np.ndarray:
        """The object's probability (float32, the work copy's size) for a prompt in image pixels."""
        import torch

        fh, fw = emb.full_size
        prompt = prompt.clipped(fw, fh)
        if prompt.empty:
            raise InvalidRequestError("Drag a box around the object or click on it first.")
        wh, ww = emb.work_size
        mx, my = self._model_scale(wh, ww)
        to_model = np.array([ww / fw * mx, wh / fh * my], np.float32)
        kwargs: dict[str, Any] = {}
        points = [*prompt.positive, *prompt.negative]
        if points:
            xy = np.asarray(points, np.float32) * to_model
            labels = [1] * len(prompt.positive) + [0] * len(prompt.negative)
            kwargs["input_points"] = torch.from_numpy(xy)[None, None].to(self.device)
            kwargs["input_labels"] = torch.tensor([[labels]], device=self.device)
        if prompt.box is not None:
            box = np.asarray(prompt.box, np.float32).reshape(2, 2) * to_model
            kwargs["input_boxes"] = torch.from_numpy(box.reshape(1, 1, 4)).to(self.device)
        with torch.inference_mode():
            out = self.model(image_embeddings=emb.features, multimask_output=False, **kwargs)
        logits = self._postprocess(out.pred_masks.float().cpu(), wh, ww)
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)

    def _postprocess(self, pred_masks: Any, wh: int, ww: int) -> np.ndarray:
        """Low-resolution mask logits -> logits at the work copy's size, through the processor's
        own post-processing (it knows how its padding was laid out)."""
        import torch

        original = torch.tensor([[wh, ww]])
        post = self.processor.post_process_masks
        if self.family == "sam":
            mx, my = self._model_scale(wh, ww)
            reshaped = torch.tensor([[round(wh * my), round(ww * mx)]])
            masks = post(pred_masks, original, reshaped, binarize=False)
        else:
            masks = post(pred_masks, original, binarize=False)
        return masks[0][0, 0].numpy().astype(np.float32)
