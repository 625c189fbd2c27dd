"""The Batch dialog's settings form: folders, task, model and its settings, and how outputs are written.

Kept apart from the dialog (which runs the batch) so each stays readable. The form offers what
``gptstudio batch`` offers and turns itself into one :class:`~gptstudio.batch.BatchOptions`, so
the dialog and the command line run exactly the same batch. As in the task panel, only the
settings the chosen task and model use are shown.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from gptstudio.app.task_panel_generate import fill_loras
from gptstudio.app.task_panel_rows import SEED_MAX, TASK_PARAMETERS, ElidingComboBox
from gptstudio.batch import BATCH_TASKS, BatchOptions
from gptstudio.batch.options import VARIATION_STRENGTH
from gptstudio.batch.session import batch_models
from gptstudio.core.errors import InvalidRequestError
from gptstudio.core.vocabulary import MODE_LABELS, RESTORE_MODES, TASK_LABELS
from gptstudio.models import registry

FORMAT_LABELS = {
    "png": "PNG",
    "jpg": "JPEG",
    "webp": "WebP",
    "tiff": "TIFF",
    "same": "Same as input",
}
#: Model settings a batch passes on (a row shows when the task has it and the model uses it).
MODEL_ROWS = ("strength", "mode", "prompt", "seed")
#: Rows that belong to the task whatever the model.
TASK_ROWS = {"upscale": {"scale"}, "inpaint": {"feather", "mask"}, "generate": {"lora"}}
PROMPT_HINTS = {"inpaint": "What to put in the masked area", "generate": "What each picture becomes"}
SETTINGS_GROUP = "batch"


def split_patterns(text: str) -> tuple[str, ...]:
    """``*.jpg; raw/*`` -> ("*.jpg", "raw/*"): patterns are separated by ``;`` or ``,``."""
    return tuple(p.strip() for p in re.split(r"[;,]", text) if p.strip())


def _edit(name: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    return edit


def _folder_row(edit: QLineEdit, pick: Any) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    button = QToolButton()
    button.setText("…")
    button.setObjectName(f"{edit.objectName()}Pick")
    button.setToolTip("Choose")
    button.clicked.connect(pick)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class BatchForm(QWidget):
    """Every choice of a batch; ``changed`` fires when what would be planned may differ."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form = form
        self.input_edit = _edit("batchInput", "Folder of images (never written)")
        form.addRow("Input folder", _folder_row(self.input_edit, self._pick_input))
        self.recursive = QCheckBox("Include sub-folders", objectName="batchRecursive", checked=True)
        form.addRow("", self.recursive)
        self.include_edit = _edit("batchInclude", "all images, or e.g. *.jpg; raw/*")
        self.exclude_edit = _edit("batchExclude", "e.g. *_small.*")
        form.addRow("Only", self.include_edit)
        form.addRow("Leave out", self.exclude_edit)
        self.output_edit = _edit("batchOutput", "Results mirror the sub-folders here")
        form.addRow("Output folder", _folder_row(self.output_edit, self._pick_output))

        self.task_combo = QComboBox(objectName="batchTask")
        for task in BATCH_TASKS:
            self.task_combo.addItem(TASK_LABELS[task], task)
        form.addRow("Task", self.task_combo)
        self.model_combo = ElidingComboBox()
        self.model_combo.setObjectName("batchModel")
        form.addRow("Model", self.model_combo)
        self.strength = QDoubleSpinBox(objectName="batchStrength", minimum=0.0, maximum=1.0, singleStep=0.05)
        self.strength.setValue(1.0)
        self.mode_combo = QComboBox(objectName="batchMode")
        for mode in RESTORE_MODES:
            self.mode_combo.addItem(MODE_LABELS[mode], mode)
        self.scale = QDoubleSpinBox(objectName="batchScale", minimum=1.1, maximum=16.0, singleStep=0.5)
        self.scale.setValue(4.0)
        self.scale.setPrefix("×")
        self.prompt = _edit("batchPrompt", "What to put in the masked area")
        self.seed = QSpinBox(objectName="batchSeed", minimum=-1, maximum=SEED_MAX)
        self.seed.setSpecialValueText("Random (one for the batch)")
        self.seed.setValue(-1)
        self.feather = QDoubleSpinBox(objectName="batchFeather", minimum=0.0, maximum=256.0, suffix=" px")
        self.feather.setValue(4.0)
        lora_row = QHBoxLayout()
        self.lora = ElidingComboBox()
        self.lora.setObjectName("batchLora")
        self.lora_strength = QDoubleSpinBox(
            objectName="batchLoraStrength", minimum=0.0, maximum=2.0, singleStep=0.1
        )
        self.lora_strength.setValue(1.0)
        self.lora_strength.setToolTip("How strongly the LoRA applies: 0 not at all, 1 as trained")
        lora_row.addWidget(self.lora, 2)
        lora_row.addWidget(self.lora_strength, 1)
        self.lora.currentIndexChanged.connect(self._lora_chosen)
        mask_row = QHBoxLayout()
        self.mask_kind = QComboBox(objectName="batchMaskKind")
        self.mask_kind.addItem("Mask folder", "dir")
        self.mask_kind.addItem("One mask for all", "file")
        self.mask_edit = _edit("batchMask", "Masks matched by sub-folder and name")
        mask_row.addWidget(self.mask_kind)
        mask_row.addLayout(_folder_row(self.mask_edit, self._pick_mask), 1)
        self._rows: dict[str, Any] = {
            "strength": self.strength,
            "mode": self.mode_combo,
            "scale": self.scale,
            "prompt": self.prompt,
            "seed": self.seed,
            "feather": self.feather,
            "mask": mask_row,
            "lora": lora_row,
        }
        labels = {"mode": "Repair", "mask": "Masks", "lora": "LoRA"}
        for key, widget in self._rows.items():
            form.addRow(labels.get(key, key.capitalize()), widget)

        out_row = QHBoxLayout()
        self.format_combo = QComboBox(objectName="batchFormat")
        for fmt, label in FORMAT_LABELS.items():
            self.format_combo.addItem(label, fmt)
        self.quality = QSpinBox(objectName="batchQuality", minimum=1, maximum=100, prefix="quality ")
        self.quality.setValue(95)
        out_row.addWidget(self.format_combo, 1)
        out_row.addWidget(self.quality)
        form.addRow("Format", out_row)
        self.suffix = _edit("batchSuffix", "e.g. -clean (added to each name)")
        form.addRow("Name suffix", self.suffix)
        self.overwrite = QCheckBox("Replace outputs that already exist", objectName="batchOverwrite")
        form.addRow("", self.overwrite)

        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self.model_combo.currentIndexChanged.connect(self._update_rows)
        self.format_combo.currentIndexChanged.connect(self._update_rows)
        self.mask_kind.currentIndexChanged.connect(self._mask_kind_changed)
        for edit in (self.input_edit, self.output_edit, self.include_edit, self.exclude_edit, self.suffix):
            edit.textChanged.connect(self.changed)
        self.mask_edit.textChanged.connect(self.changed)
        for box in (self.recursive, self.overwrite):
            box.toggled.connect(self.changed)
        self._task_changed()

    # --- task, model and the rows they use --------------------------------------------------------

    def task(self) -> str:
        return str(self.task_combo.currentData())

    def set_task(self, task: str) -> None:
        self.task_combo.setCurrentIndex(max(self.task_combo.findData(task), 0))

    def set_model(self, model_id: str) -> bool:
        index = self.model_combo.findData(model_id)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        return index >= 0

    def _task_changed(self) -> None:
        task = self.task()
        self.prompt.setPlaceholderText(PROMPT_HINTS.get(task, ""))
        if task == "generate" and self.strength.value() >= 1.0:  # a variation must keep some
            self.strength.setValue(VARIATION_STRENGTH)
        self.refresh_models()

    def refresh_models(self) -> None:
        """Re-read the task's installed models (one may have been downloaded); keeps the choice."""
        current = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for info in batch_models(self.task()):
            self.model_combo.addItem(info.name, info.id)
        if current:
            self.model_combo.setCurrentIndex(max(self.model_combo.findData(current), 0))
        self.model_combo.blockSignals(False)
        self._update_rows()

    def shown_rows(self) -> set[str]:
        task, model_id = self.task(), self.model_combo.currentData()
        uses = registry.info(model_id).uses if model_id else frozenset()
        rows = {r for r in MODEL_ROWS if r in TASK_PARAMETERS.get(task, frozenset()) and r in uses}
        rows |= TASK_ROWS.get(task, set())
        if self.lora.count() < 2:  # no LoRA for this model: nothing to choose
            rows.discard("lora")
        return rows

    def _update_rows(self) -> None:
        fill_loras(self.lora, self.model_combo.currentData() if self.task() == "generate" else None)
        self._lora_chosen()
        shown = self.shown_rows()
        for key, row in self._rows.items():
            self.form.setRowVisible(row, key in shown)
        self.quality.setVisible(self.format_combo.currentData() in ("jpg", "webp", "same"))
        self.changed.emit()

    def _lora_chosen(self) -> None:
        self.lora_strength.setEnabled(self.lora.currentData() is not None)  # no strength without one

    def _mask_kind_changed(self) -> None:
        one = self.mask_kind.currentData() == "file"
        self.mask_edit.setPlaceholderText("White = fill" if one else "Masks matched by sub-folder and name")
        self.changed.emit()

    # --- choosing folders ---------------------------------------------------------------------------

    def _pick_dir(self, edit: QLineEdit, title: str) -> None:
        path = QFileDialog.getExistingDirectory(self, title, edit.text())
        if path:
            edit.setText(path)

    def _pick_input(self) -> None:
        self._pick_dir(self.input_edit, "Folder of images")

    def _pick_output(self) -> None:
        self._pick_dir(self.output_edit, "Folder for the results")

    def _pick_mask(self) -> None:
        if self.mask_kind.currentData() == "dir":
            self._pick_dir(self.mask_edit, "Folder of masks")
            return
        path, _ = QFileDialog.getOpenFileName(self, "One mask for every image", self.mask_edit.text())
        if path:
            self.mask_edit.setText(path)

    # --- the options ----------------------------------------------------------------------------------

    def options(self) -> BatchOptions:
        """The batch these choices describe; raises InvalidRequestError for a missing folder."""
        task = self.task()
        if not self.input_edit.text().strip():
            raise InvalidRequestError("Choose the folder of images to process.")
        if not self.output_edit.text().strip():
            raise InvalidRequestError("Choose a folder for the results.")
        mask = self.mask_edit.text().strip()
        one_mask = self.mask_kind.currentData() == "file"
        use_mask = task == "inpaint" and bool(mask)
        return BatchOptions(
            task=task,
            input_dir=Path(self.input_edit.text().strip()),
            output_dir=Path(self.output_edit.text().strip()),
            recursive=self.recursive.isChecked(),
            include=split_patterns(self.include_edit.text()),
            exclude=split_patterns(self.exclude_edit.text()),
            mask_dir=Path(mask) if use_mask and not one_mask else None,
            mask_file=Path(mask) if use_mask and one_mask else None,
            model=self.model_combo.currentData() or None,
            strength=self.strength.value(),
            mode=str(self.mode_combo.currentData()),
            scale=self.scale.value(),
            prompt=self.prompt.text(),
            seed=None if self.seed.value() < 0 else self.seed.value(),
            feather=self.feather.value(),
            lora=self.lora.currentData() if task == "generate" else None,
            lora_strength=self.lora_strength.value(),
            format=str(self.format_combo.currentData()),
            quality=self.quality.value(),
            suffix=self.suffix.text(),
            overwrite=self.overwrite.isChecked(),
        )

    # --- remembered between sessions ------------------------------------------------------------------

    def save_settings(self, s: QSettings) -> None:
        values: dict[str, Any] = {
            "input": self.input_edit.text(),
            "output": self.output_edit.text(),
            "recursive": self.recursive.isChecked(),
            "include": self.include_edit.text(),
            "exclude": self.exclude_edit.text(),
            "task": self.task(),
            "model": self.model_combo.currentData() or "",
            "strength": self.strength.value(),
            "mode": self.mode_combo.currentData(),
            "scale": self.scale.value(),
            "prompt": self.prompt.text(),
            "seed": self.seed.value(),
            "feather": self.feather.value(),
            "mask_kind": self.mask_kind.currentData(),
            "mask": self.mask_edit.text(),
            "lora": self.lora.currentData() or "",
            "lora_strength": self.lora_strength.value(),
            "format": self.format_combo.currentData(),
            "quality": self.quality.value(),
            "suffix": self.suffix.text(),
        }  # overwrite is never remembered: replacing outputs is asked for each time
        for key, value in values.items():
            s.setValue(f"{SETTINGS_GROUP}/{key}", value)

    def restore_settings(self, s: QSettings) -> None:
        def get(key: str, default: Any, kind: type = str) -> Any:
            value = s.value(f"{SETTINGS_GROUP}/{key}", default)
            try:
                return value in (True, "true", "1") if kind is bool else kind(value)
            except (TypeError, ValueError):
                return default

        self.input_edit.setText(get("input", ""))
        self.output_edit.setText(get("output", ""))
        self.recursive.setChecked(get("recursive", True, bool))
        self.include_edit.setText(get("include", ""))
        self.exclude_edit.setText(get("exclude", ""))
        self.set_task(get("task", BATCH_TASKS[0]))
        self.set_model(get("model", ""))
        self.strength.setValue(get("strength", 1.0, float))
        self.mode_combo.setCurrentIndex(max(self.mode_combo.findData(get("mode", "all")), 0))
        self.scale.setValue(get("scale", 4.0, float))
        self.prompt.setText(get("prompt", ""))
        self.seed.setValue(get("seed", -1, int))
        self.feather.setValue(get("feather", 4.0, float))
        self.mask_kind.setCurrentIndex(max(self.mask_kind.findData(get("mask_kind", "dir")), 0))
        self.mask_edit.setText(get("mask", ""))
        self.lora.setCurrentIndex(max(self.lora.findData(get("lora", "")), 0))
        self.lora_strength.setValue(get("lora_strength", 1.0, float))
        self.format_combo.setCurrentIndex(max(self.format_combo.findData(get("format", "png")), 0))
        self.quality.setValue(get("quality", 95, int))
        self.suffix.setText(get("suffix", ""))
