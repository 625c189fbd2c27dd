"""The task panel's setting rows, which rows each task has, and a combo box that never cuts names.

Why a task dimension beside ``EngineInfo.uses``: a model that can both denoise and restore uses
"mode" when it restores, yet Denoise has no modes — one model, two tasks, two panels. A row is
shown when the task has it and (for model settings) the model uses it; "feather", "scale" and
"fill transparent" belong to the task itself, whatever the model.
"""

from __future__ import annotations

import os
import random

from PySide6.QtCore import Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QToolButton,
    QWidget,
)

from gptstudio.core.vocabulary import MODE_LABELS, RESTORE_MODES

SEED_MAX = 2**31 - 1
#: The noise-level box's value that means "estimate it" (shown as "Auto").
AUTO_NOISE = -1.0
#: The upscale factors offered in one click; "Custom" shows a box for any other factor.
SCALE_CHOICES = (2.0, 3.0, 4.0)
MAX_SCALE = 16.0
#: Settings a model may use, in display order; each maps to a row of the form.
PARAMETERS = ("mode", "prompt", "negative_prompt", "seed", "steps", "strength", "noise_level", "guidance")
#: The rows each task has: model settings (shown when the model uses them too) and its own.
TASK_PARAMETERS: dict[str, frozenset[str]] = {
    "inpaint": frozenset({"prompt", "negative_prompt", "seed", "steps", "strength", "guidance"}),
    "restore": frozenset({"mode", "strength", "noise_level"}),
    "denoise": frozenset({"strength", "noise_level"}),
    "upscale": frozenset(),
    "generate": frozenset(
        {"prompt", "negative_prompt", "seed", "steps", "strength", "guidance", "size", "variation"}
    ),
}
TASK_OWN_ROWS: dict[str, frozenset[str]] = {
    "inpaint": frozenset({"feather", "fill_transparent"}),
    "restore": frozenset({"applies_to"}),
    "denoise": frozenset({"applies_to"}),
    "upscale": frozenset({"scale", "applies_to"}),
    "generate": frozenset({"lora", "memory"}),
}
#: Tasks a painted mask limits to the masked area (inpaint *fills* it instead).
MASKED_FILTERS = ("denoise", "restore", "upscale")
LABELS = {
    "mode": "Repair",
    "prompt": "Prompt",
    "negative_prompt": "Negative",
    "seed": "Seed",
    "steps": "Steps",
    "strength": "Strength",
    "noise_level": "Noise level",
    "guidance": "Guidance",
    "feather": "Feather",
    "scale": "Scale",
    "fill_transparent": "",
    "applies_to": "Applies to",
    "size": "Size",
    "variation": "",
    "lora": "LoRA",
    "memory": "",
}


def rows_for(task: str | None, uses: frozenset[str], masked: bool = False) -> set[str]:
    """The rows a person sees for ``task`` with a model that uses ``uses``; a filter's feather
    only while a mask is painted (without one it acts on the whole image, nothing to soften)."""
    if task is None:
        return set()
    rows = set(TASK_PARAMETERS.get(task, frozenset()) & uses) | set(TASK_OWN_ROWS.get(task, frozenset()))
    if masked and task in MASKED_FILTERS:
        rows.add("feather")
    return rows


class ElidingComboBox(QComboBox):
    """A combo box that shows a long name elided in the middle ("Lanczos re…(classical)"), keeps
    the full name as its tooltip and opens a list wide enough for the longest name.

    Why the middle: model names differ at both ends ("Real-ESRGAN ×4 (anime)" vs "… (photo)").
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(10)
        self.currentIndexChanged.connect(lambda _i: self.setToolTip(self.currentText()))

    def _label_width(self) -> int:
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        rect = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        return rect.width()

    def displayed_text(self) -> str:
        """What the closed box shows: the current name, elided in the middle when it does not fit."""
        return self.fontMetrics().elidedText(
            self.currentText(), Qt.TextElideMode.ElideMiddle, self._label_width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        opt.currentText = self.displayed_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)

    def popup_width(self) -> int:
        """Wide enough for the longest name, never narrower than the box."""
        metrics = self.view().fontMetrics()
        longest = max((metrics.horizontalAdvance(self.itemText(i)) for i in range(self.count())), default=0)
        scroll = self.view().verticalScrollBar().sizeHint().width()
        return max(self.width(), longest + scroll + 32)

    def showPopup(self) -> None:
        self.view().setMinimumWidth(self.popup_width())
        super().showPopup()


class ParameterRows:
    """The widgets of every setting row; the panel places them and reads their values."""

    def __init__(self) -> None:
        self.mode_combo = ElidingComboBox()
        self.mode_combo.setObjectName("modeCombo")
        for mode in RESTORE_MODES:
            self.mode_combo.addItem(MODE_LABELS.get(mode, mode), mode)
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("prompt")
        self.prompt.setPlaceholderText("What should appear…")
        self.prompt.setFixedHeight(70)
        self.negative_prompt = QLineEdit()
        self.negative_prompt.setObjectName("negativePrompt")
        self.negative_prompt.setPlaceholderText("What to avoid")
        self.seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setObjectName("seed")
        self.seed.setRange(0, SEED_MAX)
        #: The panel's own generator: the worker reseeds the process-wide one for every seeded job,
        #: so drawing from it would make the next "random" seed a function of the last job's seed.
        self.rng = random.Random(int.from_bytes(os.urandom(16), "little"))
        self.seed.setValue(self.rng.randrange(SEED_MAX))
        self.randomise = QToolButton()
        self.randomise.setText("Randomise")
        self.randomise.setToolTip("Pick a new random seed")
        self.seed_lock = QCheckBox("Lock")
        self.seed_lock.setObjectName("seedLock")
        self.seed_lock.setToolTip("Keep this seed for every run (otherwise each run draws a new one)")
        self.seed_row.addWidget(self.seed, 1)
        self.seed_row.addWidget(self.randomise)
        self.seed_row.addWidget(self.seed_lock)
        self.steps = QSpinBox()
        self.steps.setObjectName("steps")
        self.steps.setRange(1, 200)
        self.steps.setValue(12)
        self.strength = _spin("strength", 0.0, 1.0, 0.05, 1.0)
        self.guidance = _spin("guidance", 0.0, 30.0, 0.5, 4.0)
        # -1 shows as "Auto": the model estimates the noise; a number is σ in 8-bit levels.
        self.noise_level = _spin("noiseLevel", AUTO_NOISE, 100.0, 1.0, AUTO_NOISE)
        self.noise_level.setDecimals(0)
        self.noise_level.setSpecialValueText("Auto")
        self.noise_level.setToolTip(
            "How noisy the photo is (σ in 8-bit levels). Auto estimates it; raise it when grain "
            "survives, lower it to keep fine texture"
        )
        self.feather = _spin("feather", 0.0, 256.0, 1.0, 4.0)
        self.feather.setSuffix(" px")
        self.feather.setToolTip("Soften the mask edge so the result blends in")
        self.scale_row = QHBoxLayout()
        self.scale_combo = ElidingComboBox()
        self.scale_combo.setObjectName("scaleCombo")
        for factor in SCALE_CHOICES:
            self.scale_combo.addItem(f"×{factor:g}", factor)
        self.scale_combo.addItem("Custom", None)
        self.scale_custom = _spin("scaleCustom", 1.1, MAX_SCALE, 0.5, 1.5)
        self.scale_custom.setDecimals(2)
        self.scale_custom.setPrefix("×")
        self.scale_custom.setVisible(False)
        self.scale_combo.currentIndexChanged.connect(
            lambda: self.scale_custom.setVisible(self.scale_combo.currentData() is None)
        )
        self.scale_row.addWidget(self.scale_combo, 1)
        self.scale_row.addWidget(self.scale_custom, 1)
        self.fill_transparent = QCheckBox("Fill the transparent area")
        self.fill_transparent.setObjectName("fillTransparent")
        self.fill_transparent.setToolTip(
            "Inpaint where the image is transparent (as well as where the mask is painted); "
            "the filled area becomes opaque"
        )
        self.applies_to = QLabel("the whole image")
        self.applies_to.setObjectName("appliesTo")
        self.applies_to.setWordWrap(True)
        self.applies_to.setToolTip("Paint a mask to limit this task to part of the image, like a selection")
        self.rows: dict[str, QWidget | QHBoxLayout] = {
            "mode": self.mode_combo,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed_row,
            "steps": self.steps,
            "strength": self.strength,
            "noise_level": self.noise_level,
            "guidance": self.guidance,
            "feather": self.feather,
            "scale": self.scale_row,
            "fill_transparent": self.fill_transparent,
            "applies_to": self.applies_to,
        }
        from gptstudio.app.task_panel_generate import GenerateRows

        self.generate = GenerateRows()
        gen = self.generate
        self.rows.update(size=gen.size_row, variation=gen.vary, lora=gen.lora_row, memory=gen.memory)

    def set_applies_to(self, masked: bool) -> None:
        """Say where a filter acts: the painted mask (feathered) or, with none, the whole image."""
        feather = self.feather.value()
        self.applies_to.setText(
            f"the masked area (feathered {feather:g} px)" if masked else "the whole image"
        )


def _spin(name: str, low: float, high: float, step: float, value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    return box
