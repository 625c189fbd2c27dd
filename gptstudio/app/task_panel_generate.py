"""The task panel's Generate rows: picture size with presets, "vary the open picture", a LoRA with
its strength, and the memory needed.

Why their own module: Generate has settings no other task has — a size (presets from the model's
native resolution, or any width and height), the choice between a new picture and a variation of
the open one (only offered where the model has an image-to-image pipeline), the LoRAs trained with
Tools > Train… for the chosen model's family (the row shows only when there is one to pick), and
the memory the run will need at that size, shown before Run is pressed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox

from gptstudio.app.task_panel_rows import ElidingComboBox
from gptstudio.engines.base import EngineInfo

#: (label, width, height) offered in one click; "native" is the model's own resolution.
PRESETS = (
    ("Square 512", 512, 512),
    ("Square 768", 768, 768),
    ("Square 1024", 1024, 1024),
    ("Landscape 3:2", 768, 512),
    ("Portrait 2:3", 512, 768),
)

VARY_TIP = "Make a variation of the open picture (Strength: how much changes) instead of a new picture"


def _spin(name: str, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(16, 4096)
    box.setSingleStep(64)
    box.setSuffix(" px")
    box.setValue(value)
    return box


def fill_loras(combo: QComboBox, model_id: str | None) -> None:
    """ "No LoRA" and the LoRAs ``model_id`` can apply, keeping the one picked when it is still
    offered (the Generate panel and the Batch dialog list them alike)."""
    from gptstudio.tasks.loras import loras_for

    picked = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem("No LoRA", None)
    for lora_id, name in loras_for(model_id):
        combo.addItem(name if name == lora_id else f"{name} ({lora_id})", lora_id)
    combo.setCurrentIndex(max(combo.findData(picked) if picked is not None else 0, 0))
    combo.blockSignals(False)


class GenerateRows:
    """The widgets of the Generate-only rows; the panel places them and asks them for values."""

    def __init__(self) -> None:
        self.size_row = QHBoxLayout()
        self.size_combo = ElidingComboBox()
        self.size_combo.setObjectName("sizeCombo")
        self.size_combo.addItem("Model's own size", None)
        for label, w, h in PRESETS:
            self.size_combo.addItem(f"{label} ({w}×{h})", (w, h))
        self.width, self.height = _spin("genWidth", 512), _spin("genHeight", 512)
        self.size_row.addWidget(self.size_combo, 2)
        self.size_row.addWidget(self.width, 1)
        self.size_row.addWidget(QLabel("×"))
        self.size_row.addWidget(self.height, 1)
        self.size_combo.currentIndexChanged.connect(self._preset)
        self.vary = QCheckBox("Vary the open picture")
        self.vary.setObjectName("varyPicture")
        self.vary.setToolTip(VARY_TIP)
        self.lora_row = QHBoxLayout()
        self.lora = ElidingComboBox()
        self.lora.setObjectName("loraCombo")
        self.lora.setToolTip("A LoRA you trained (Tools > Train…): the model learns your subject or style")
        self.lora_strength = QDoubleSpinBox()
        self.lora_strength.setObjectName("loraStrength")
        self.lora_strength.setRange(0.0, 2.0)
        self.lora_strength.setSingleStep(0.1)
        self.lora_strength.setValue(1.0)
        self.lora_strength.setToolTip("How strongly the LoRA applies: 0 not at all, 1 as trained")
        self.lora_row.addWidget(self.lora, 2)
        self.lora_row.addWidget(self.lora_strength, 1)
        self.lora.currentIndexChanged.connect(self._lora_chosen)
        self._fill_loras(None)
        self.memory = QLabel()
        self.memory.setObjectName("generateMemory")
        self.memory.setWordWrap(True)
        self._native = 512
        self._info: EngineInfo | None = None
        #: Whether a picture is open to vary (with none, Run makes a new untitled document).
        self._has_document = True

    def _preset(self) -> None:
        size = self.size_combo.currentData()
        w, h = size if size is not None else (self._native, self._native)
        self.width.setValue(w)
        self.height.setValue(h)

    def set_model(self, info: EngineInfo | None) -> None:
        """A model was chosen: its native size for the first preset, variation where it can vary."""
        self._info = info
        self._native = info.native if info is not None and info.native else 512
        if self.size_combo.currentData() is None:
            self._preset()
        self._offer_variation()
        self._fill_loras(info.id if info is not None else None)
        self.update_memory(info)

    def _fill_loras(self, model_id: str | None) -> None:
        fill_loras(self.lora, model_id)
        self._lora_chosen()

    def _lora_chosen(self) -> None:
        self.lora_strength.setEnabled(self.lora.currentData() is not None)

    def has_loras(self) -> bool:
        """Whether the chosen model has any LoRA to pick (the panel hides the row otherwise)."""
        return self.lora.count() > 1

    def set_document(self, has_document: bool) -> None:
        """A picture was opened or closed: a variation needs one."""
        self._has_document = has_document
        self._offer_variation()

    def _offer_variation(self) -> None:
        info = self._info
        model_can = info is not None and "variation" in info.uses
        can_vary = model_can and self._has_document
        self.vary.setEnabled(can_vary)
        if model_can and not self._has_document:
            self.vary.setToolTip("Open a picture to vary it; with none open, Run makes a new picture")
        else:
            self.vary.setToolTip(VARY_TIP)
        if not can_vary:
            self.vary.setChecked(False)

    def update_memory(self, info: EngineInfo | None, device: str = "cpu") -> None:
        if info is None or not info.parameters:
            self.memory.setText("")
            return
        from gptstudio.engines.diffusers.memory import describe_bytes, estimate_for

        w, h = self.width.value(), self.height.value()
        run_w, run_h = min(w, info.native or w), min(h, info.native or h)
        need = estimate_for(info.parameters, info.supports_bf16, run_w, run_h, device)
        self.memory.setText(f"Needs {describe_bytes(need)} of memory at {w}×{h}.")

    def varies(self) -> bool:
        return self.vary.isChecked() and self.vary.isEnabled()

    def request_values(self, strength: float) -> dict[str, Any]:
        """What a GenerateRequest takes from these rows: the size, and the strength of a variation
        (1 for a new picture: nothing of the open one is kept)."""
        values: dict[str, Any] = {
            "width": int(self.width.value()),
            "height": int(self.height.value()),
            "strength": float(strength) if self.varies() else 1.0,
        }
        lora = self.lora.currentData()
        if lora is not None:
            values.update(lora=str(lora), lora_strength=float(self.lora_strength.value()))
        return values

    def apply(self, params: dict[str, Any]) -> None:
        """Reuse parameters: the size and whether it was a variation."""
        if params.get("task") != "generate":
            return
        if params.get("width") and params.get("height"):
            self.size_combo.setCurrentIndex(self.size_combo.count() - 1)  # any preset; the spins win
            self.size_combo.blockSignals(True)
            index = self.size_combo.findData((int(params["width"]), int(params["height"])))
            self.size_combo.setCurrentIndex(index if index >= 0 else 0)
            self.size_combo.blockSignals(False)
            self.width.setValue(int(params["width"]))
            self.height.setValue(int(params["height"]))
        if "variation" in params and self.vary.isEnabled():
            self.vary.setChecked(bool(params["variation"]))
        index = self.lora.findData(params["lora"]) if params.get("lora") else 0
        self.lora.setCurrentIndex(max(index, 0))  # a LoRA no longer installed: none
        if params.get("lora_strength") is not None:
            self.lora_strength.setValue(float(params["lora_strength"]))

    def missing_lora(self, params: dict[str, Any]) -> str | None:
        """The LoRA stored parameters name that this model cannot apply here (removed, or another
        family), for Reuse parameters to say so instead of silently running without it."""
        lora = params.get("lora")
        return str(lora) if lora and self.lora.findData(lora) < 0 else None
