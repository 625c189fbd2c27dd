"""One adapter for every diffusers pipeline: generate, vary and inpaint through the family table.

The pipeline is loaded once, only from the local folder (``local_files_only``, safetensors only,
the hub offline), placed by :mod:`~gptstudio.engines.diffusers.memory` (bf16/fp16 on a GPU, model
CPU offload when its memory is short, fp32 on the CPU unless the weights would not fit), and the
image-to-image and inpainting pipelines of its family share its components (``from_pipe``: no
second copy of the weights).

Every step reports progress and is a cancellation point: the step callback calls
:meth:`TaskState.report`, which raises :class:`CancelledError` out of the pipeline when the user
cancelled — diffusers' own interrupt flag would still decode and return a half-done image. Families
that ignore ``callback_on_step_end`` (aMUSEd, PixArt-Σ) get the legacy ``callback``. A preview of
the current latents (:mod:`~gptstudio.engines.diffusers.preview`) is shown at most every
:data:`PREVIEW_EVERY_S` seconds, and only when someone listens.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

import numpy as np

from gptstudio.core.errors import ModelError
from gptstudio.core.progress import TaskState
from gptstudio.core.tiling import SizeRequirements
from gptstudio.engines.base import EngineInfo, GenerateEngine, InpaintEngine
from gptstudio.engines.diffusers import families, memory
from gptstudio.engines.diffusers.folder import Detected
from gptstudio.engines.diffusers.offline import go_offline
from gptstudio.engines.diffusers.preview import LatentPreview

PREVIEW_EVERY_S = 0.25


def engine_info(
    detected: Detected, *, id: str, name: str, licence: str = "", description: str = ""
) -> EngineInfo:
    """The descriptor of a stored diffusers model, from what detection found (nothing is loaded)."""
    family = families.get(detected.family)
    return EngineInfo(
        id=id,
        name=name,
        tasks=family.tasks,
        architecture=f"diffusers-{family.key}",
        description=description or f"{family.label}, run through diffusers.",
        size=SizeRequirements(minimum=detected.multiple, multiple_of=detected.multiple),
        supports_half=family.supports_half,
        supports_bf16=family.supports_bf16,
        tile=0,
        overlap=0,
        uses=family.uses(),
        licence=licence,
        native=detected.native,
        parameters=detected.parameters,
    )


def _pil(rgb: np.ndarray) -> Any:
    from PIL import Image

    from gptstudio.core.imagedata import to_uint8

    return Image.fromarray(to_uint8(rgb))


def _mask_pil(mask: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray((np.clip(mask, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), mode="L")


class DiffusersEngine(GenerateEngine, InpaintEngine):
    """A loaded diffusers pipeline of one family, with its image-to-image and inpainting siblings."""

    def __init__(self, folder: Path, detected: Detected, info: EngineInfo, device: str = "cpu") -> None:
        go_offline()
        import diffusers

        self.info = info
        self.detected = detected
        self.family = families.get(detected.family)
        self.placement = memory.choose(self.family, device, detected.parameters, detected.native)
        cls = getattr(diffusers, str(self.family.pipelines["text_to_image"]))
        try:
            pipe = cls.from_pretrained(
                str(folder),
                dtype=memory.torch_dtype(self.placement.dtype),
                local_files_only=True,
                use_safetensors=True,
            )
        except (OSError, ValueError) as exc:
            raise ModelError(f"The model '{info.id}' in {folder} could not be loaded: {exc}") from exc
        pipe.set_progress_bar_config(disable=True)
        self._place(pipe, self.placement.offload)
        self.pipe = pipe
        self._siblings: dict[str, Any] = {"text_to_image": pipe}
        self._preview = LatentPreview(pipe, self.family.latents, detected.multiple)
        #: The torch module the registry's cache counts bytes of.
        self.model = pipe.transformer
        #: LoRA adapter files loaded into the Transformer (path -> adapter name).
        self._loras: dict[str, str] = {}

    # --- placement ----------------------------------------------------------------------------------

    def _place(self, pipe: Any, offload: bool) -> None:
        device = self.placement.device
        if offload:
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)

    @property
    def offloaded(self) -> bool:
        return self.placement.offload

    def enable_offload(self) -> bool:
        """Switch to model CPU offload after a GPU out-of-memory error; False if it cannot help."""
        if self.placement.offload or not self.placement.device.startswith("cuda"):
            return False
        import dataclasses

        self.pipe.to("cpu")
        self.placement = dataclasses.replace(
            self.placement, offload=True, note="model CPU offload after running out of GPU memory"
        )
        self._place(self.pipe, True)
        self._siblings = {"text_to_image": self.pipe}
        return True

    def _pipeline(self, mode: str) -> Any:
        if mode not in self._siblings:
            name = self.family.pipelines.get(mode)
            if not name:
                raise ModelError(f"{self.info.name} has no {mode.replace('_', '-')} pipeline.")
            import diffusers

            sibling = getattr(diffusers, name).from_pipe(self.pipe)
            sibling.set_progress_bar_config(disable=True)
            self._siblings[mode] = sibling
        return self._siblings[mode]

    # --- LoRA adapters (``gptstudio train --task generate``) ---------------------------------------

    def set_lora(self, lora: tuple[str, float] | None) -> None:
        """Apply the adapter file at this strength to the Transformer, or (None) switch adapters off.

        Each file is loaded once (kept by path) and switched on or off per job, so a LoRA can be
        tried at several strengths and removed without reloading the model.
        """
        transformer = self.pipe.transformer
        loaded = self._loras
        if lora is None:
            if loaded:
                transformer.disable_lora()
            return
        path, strength = lora
        if path not in loaded:
            from safetensors.torch import load_file

            name = f"lora{len(loaded)}"
            transformer.load_lora_adapter(load_file(path), adapter_name=name, prefix=None)
            loaded[path] = name
        transformer.enable_lora()
        transformer.set_adapters([loaded[path]], weights=[float(strength)])

    # --- the two interfaces -------------------------------------------------------------------------

    def generate(
        self,
        *,
        prompt: str,
        negative_prompt: str,
        width: int,
        height: int,
        seed: int,
        steps: int,
        guidance: float,
        state: TaskState,
        init: np.ndarray | None = None,
        strength: float = 1.0,
        lora: tuple[str, float] | None = None,
    ) -> np.ndarray:
        self.set_lora(lora)
        if init is None:
            return self._run(
                "text_to_image", prompt, negative_prompt, width, height, seed, steps, guidance, state
            )
        if self.family.variation_via_inpaint:
            mask = np.ones(init.shape[:2], np.float32)
            return self._run(
                "image_to_image", prompt, negative_prompt, width, height, seed, steps, guidance, state,
                image=init, mask=mask, strength=strength,
            )  # fmt: skip
        return self._run(
            "image_to_image", prompt, negative_prompt, width, height, seed, steps, guidance, state,
            image=init, strength=strength,
        )  # fmt: skip

    def inpaint(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        *,
        prompt: str,
        negative_prompt: str,
        seed: int,
        steps: int,
        guidance: float,
        strength: float,
        state: TaskState,
    ) -> np.ndarray:
        h, w = rgb.shape[:2]
        return self._run(
            "inpainting", prompt, negative_prompt, w, h, seed, steps, guidance, state,
            image=rgb, mask=mask, strength=strength,
        )  # fmt: skip

    # --- one call of a pipeline ---------------------------------------------------------------------

    def _run(
        self,
        mode: str,
        prompt: str,
        negative_prompt: str,
        width: int,
        height: int,
        seed: int,
        steps: int,
        guidance: float,
        state: TaskState,
        *,
        image: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        strength: float = 1.0,
    ) -> np.ndarray:
        import torch

        pipe = self._pipeline(mode)
        accepted = set(inspect.signature(pipe.__call__).parameters)
        total = steps if image is None else max(1, int(steps * strength))
        kwargs: dict[str, Any] = {
            "prompt": prompt,
            "num_inference_steps": steps,
            # a CPU generator: the same seed gives the same start noise on every device
            "generator": torch.Generator("cpu").manual_seed(int(seed)),
            "output_type": "np",
            "height": height,
            "width": width,
            **self.family.call_kwargs,
        }
        if self.family.negative_prompt and negative_prompt:
            kwargs["negative_prompt"] = negative_prompt
        if self.family.guidance:
            kwargs["guidance_scale"] = float(guidance)
        if image is not None:
            kwargs["image"] = _pil(image)
            kwargs["strength"] = float(strength)
        if mask is not None:
            kwargs["mask_image"] = _mask_pil(mask)
        kwargs.update(self._callbacks(state, total, height, width))
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        state.report(0.0, f"Step 0 of {total}")
        with torch.inference_mode():
            out = pipe(**kwargs).images
        rgb = np.asarray(out[0], dtype=np.float32)
        if rgb.shape[:2] != (height, width):
            from gptstudio.engines.classical.lanczos import resize

            rgb = resize(rgb, width, height)
        return np.clip(rgb, 0.0, 1.0).astype(np.float32)

    def _callbacks(self, state: TaskState, total: int, height: int, width: int) -> dict[str, Any]:
        """The step callback in the form this family's pipelines call: progress, preview, cancel."""
        last = [0.0]

        def on_step(step: int, latents: Any) -> None:
            state.report(min((step + 1) / total, 1.0), f"Step {min(step + 1, total)} of {total}")
            now = time.monotonic()
            if state.preview is not None and latents is not None and now - last[0] >= PREVIEW_EVERY_S:
                last[0] = now
                state.show_preview(self._preview(latents, height, width))

        if self.family.legacy_callback:
            return {"callback": lambda step, _t, latents: on_step(step, latents), "callback_steps": 1}

        def on_step_end(_pipe: Any, step: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            on_step(step, tensors.get("latents"))
            return tensors

        return {"callback_on_step_end": on_step_end, "callback_on_step_end_tensor_inputs": ["latents"]}


def load_engine(
    folder: Path,
    detected: Detected,
    *,
    id: str,
    name: str,
    device: str = "cpu",
    licence: str = "",
    description: str = "",
) -> DiffusersEngine:
    info = engine_info(detected, id=id, name=name, licence=licence, description=description)
    return DiffusersEngine(Path(folder), detected, info, device)
