"""The task panel: what to run (task, model), with which settings, and the Run/Cancel controls.

Only tasks with an installed model are offered, and only the settings the chosen model uses are
shown (from ``EngineInfo.uses``), so nobody tunes a slider that does nothing. The panel turns its
state into a frozen request for the worker. Filling it back from stored parameters ("Reuse
parameters" for an opened file, the state remembered between sessions) is ``task_panel_params.py``;
the rows are ``task_panel_rows.py``, Run/Cancel and progress ``task_progress.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gptstudio.app.task_panel_params import ParamsBanner, StoredParams
from gptstudio.app.task_panel_rows import (
    LABELS,
    MASKED_FILTERS,
    PARAMETERS,
    SEED_MAX,
    ElidingComboBox,
    ParameterRows,
    rows_for,
)
from gptstudio.app.task_progress import RunBox
from gptstudio.core.imageio import ImageData
from gptstudio.core.vocabulary import TASK_LABELS
from gptstudio.engines.base import EngineInfo
from gptstudio.models import registry
from gptstudio.tasks import requests

#: The task-specific rows visible_parameters reports besides the model's PARAMETERS.
PANEL_OWN = ("feather", "scale", "size", "variation", "lora")
#: The order the task list shows (the vocabulary itself lives in core.vocabulary).
TASK_ORDER = ("inpaint", "restore", "denoise", "upscale", "generate")
__all__ = ["SEED_MAX", "TASK_LABELS", "TaskPanel", "available_tasks", "request_types"]


def request_types() -> dict[str, type]:
    """Task name -> request class, for the tasks the engine API can run today."""
    found = {
        "denoise": requests.DenoiseRequest,
        "restore": requests.RestoreRequest,
        "inpaint": requests.InpaintRequest,
    }
    for task, name in (("upscale", "UpscaleRequest"), ("generate", "GenerateRequest")):
        cls = getattr(requests, name, None)
        if cls is not None:
            found[task] = cls
    return found


def available_tasks() -> list[str]:
    """Tasks to offer: those with a request type and at least one installed model."""
    types = request_types()
    return [t for t in TASK_ORDER if t in types and registry.models_for(t)]


class TaskPanel(QWidget):
    run_clicked = Signal()
    cancel_clicked = Signal()
    get_more_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("taskPanel")
        self.setMinimumWidth(330)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.setSpacing(8)

        self.params_banner = ParamsBanner()
        self.params_label, self.reuse_button = self.params_banner.label, self.params_banner.reuse_button
        self.params_banner.reuse_requested.connect(self._reuse)
        self.stored = StoredParams(self)
        outer.addWidget(self.params_banner)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form = form
        self.task_combo = ElidingComboBox()
        self.task_combo.setObjectName("taskCombo")
        form.addRow("Task", self.task_combo)

        model_row = QHBoxLayout()
        self.model_combo = ElidingComboBox()
        self.model_combo.setObjectName("modelCombo")
        self.get_more = QToolButton()
        self.get_more.setText("Get more…")
        self.get_more.setToolTip("Download, import or remove models for this task")
        self.get_more.clicked.connect(lambda: self.get_more_clicked.emit(self.current_task() or ""))
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.get_more)
        form.addRow("Model", model_row)
        self.model_description = QLabel()
        self.model_description.setWordWrap(True)
        self.model_description.setEnabled(False)
        form.addRow("", self.model_description)

        rows = ParameterRows()
        self.rows = rows
        # the rows' widgets are the panel's attributes too: the window, its tests and the help use them
        self.mode_combo, self.prompt, self.negative_prompt = (
            rows.mode_combo,
            rows.prompt,
            rows.negative_prompt,
        )
        self.seed, self.randomise, self.seed_lock, self._rng = (
            rows.seed,
            rows.randomise,
            rows.seed_lock,
            rows.rng,
        )
        self.randomise.clicked.connect(self.randomise_seed)
        self.steps, self.strength, self.guidance = rows.steps, rows.strength, rows.guidance
        self.noise_level = rows.noise_level
        self.feather = rows.feather
        self.scale_combo, self.scale_custom = rows.scale_combo, rows.scale_custom
        self.fill_transparent, self.applies_to = rows.fill_transparent, rows.applies_to
        self._masked = False
        generate = rows.generate
        generate.vary.toggled.connect(self._model_changed)
        for box in (generate.width, generate.height):
            box.valueChanged.connect(lambda _v: self.rows.generate.update_memory(self.current_model()))
        self.feather.valueChanged.connect(lambda: self.rows.set_applies_to(self._masked))
        self._rows = rows.rows
        for key, widget in self._rows.items():
            form.addRow(LABELS[key], widget)
        outer.addLayout(form)

        self.run_box = RunBox()
        box = self.run_box
        self.run_button, self.cancel_button, self.progress = box.run_button, box.cancel_button, box.progress
        self.status, self.preview, self.queue_label = box.status, box.preview, box.queue_label
        self.run_button.clicked.connect(self.run_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        outer.addWidget(box)
        outer.addStretch(1)

        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.refresh_tasks()

    # --- tasks and models ---------------------------------------------------------------------

    def refresh_tasks(self) -> None:
        """Re-read the registry (a model was installed, imported or removed); keeps the choice."""
        current = self.current_task()
        model = self.model_combo.currentData()
        self.task_combo.blockSignals(True)
        self.task_combo.clear()
        for task in available_tasks():
            self.task_combo.addItem(TASK_LABELS[task], task)
        self.task_combo.blockSignals(False)
        index = self.task_combo.findData(current) if current else -1
        self.task_combo.setCurrentIndex(max(index, 0))
        self._task_changed()
        if model:
            self.set_model(model)

    def current_task(self) -> str | None:
        return self.task_combo.currentData()

    def set_task(self, task: str) -> bool:
        index = self.task_combo.findData(task)
        if index >= 0:
            self.task_combo.setCurrentIndex(index)
        return index >= 0

    def current_model(self) -> EngineInfo | None:
        model_id = self.model_combo.currentData()
        if not model_id:
            return None
        try:
            return registry.info(model_id)
        except Exception:
            return None

    def set_model(self, model_id: str) -> bool:
        index = self.model_combo.findData(model_id)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        return index >= 0

    def _task_changed(self) -> None:
        task = self.current_task()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for info in registry.models_for(task) if task else []:
            self.model_combo.addItem(info.name, info.id)
            self.model_combo.setItemData(
                self.model_combo.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole
            )
        self.model_combo.blockSignals(False)
        self._model_changed()

    def _model_changed(self) -> None:
        info = self.current_model()
        task = self.current_task()
        self.model_description.setText(info.description if info else "No model installed for this task.")
        shown = rows_for(task, info.uses if info else frozenset(), self._masked)
        if task == "generate":  # Strength is how much a variation changes: only with one
            self.rows.generate.set_model(info)
            if not self.rows.generate.varies():
                shown.discard("strength")
            if not self.rows.generate.has_loras():
                shown.discard("lora")
        for key, row in self._rows.items():
            self.form.setRowVisible(row, key in shown)  # type: ignore[arg-type]
        # showing the row shows every widget in it; the custom box only goes with "Custom"
        self.scale_custom.setVisible("scale" in shown and self.scale_combo.currentData() is None)
        native = info.scale if info else 1
        self.scale_combo.setToolTip(
            f"This model enlarges ×{native}; other factors are reached with a final Lanczos resize."
            if native > 1
            else "How many times larger the result is"
        )
        self.model_combo.setToolTip(self.model_combo.currentText())
        self.run_button.setEnabled(info is not None)

    def set_masked(self, masked: bool) -> None:
        """The mask became empty or painted: say where Denoise, Restore and Upscale will act."""
        changed = masked != self._masked
        self._masked = masked
        self.rows.set_applies_to(masked)
        if changed:
            self._model_changed()

    def set_document_alpha(self, has_alpha: bool) -> None:
        """The "Fill the transparent area" box is offered only for an image that has transparency."""
        self.fill_transparent.setEnabled(has_alpha)
        if not has_alpha:
            self.fill_transparent.setChecked(False)

    def fills_transparent(self) -> bool:
        fill = self.fill_transparent
        return self.current_task() == "inpaint" and fill.isChecked() and fill.isEnabled()

    def uses_mask(self) -> bool:
        """Whether the current task takes the painted mask (inpaint fills it, filters are limited to it)."""
        return self.current_task() in ("inpaint", "generate", *MASKED_FILTERS)

    def visible_parameters(self) -> set[str]:
        """Which setting rows a person sees now (for tests and the shortcuts help)."""
        return {
            key
            for key, row in self._rows.items()
            if key in (*PARAMETERS, *PANEL_OWN) and self.form.isRowVisible(row)  # type: ignore[arg-type]
        }

    def scale(self) -> float:
        """The upscale factor chosen: one of the presets, or the custom box."""
        factor = self.scale_combo.currentData()
        return float(factor if factor is not None else self.scale_custom.value())

    def set_scale(self, factor: float) -> None:
        index = self.scale_combo.findData(float(factor))
        if index < 0:
            index = self.scale_combo.count() - 1
            self.scale_custom.setValue(float(factor))
        self.scale_combo.setCurrentIndex(index)

    # --- seed -------------------------------------------------------------------------------

    def randomise_seed(self) -> None:
        self.seed.setValue(self._rng.randrange(SEED_MAX))

    # --- requests -----------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        return {
            "mode": self.mode_combo.currentData(),
            "prompt": self.prompt.toPlainText().strip(),
            "negative_prompt": self.negative_prompt.text().strip(),
            "seed": int(self.seed.value()),
            "steps": int(self.steps.value()),
            "strength": float(self.strength.value()),
            "noise_level": None if self.noise_level.value() < 0 else float(self.noise_level.value()),
            "guidance": float(self.guidance.value()),
            "feather": float(self.feather.value()),
            "scale": self.scale(),
        }

    def build_request(self, image: ImageData, mask: np.ndarray | None) -> requests.Request:
        """A frozen request from the panel; a fresh seed per run unless the seed is locked."""
        task = self.current_task()
        info = self.current_model()
        if task is None or info is None:
            from gptstudio.core.errors import ModelError

            raise ModelError("No installed model can do this task yet.")
        if "seed" in info.uses and not self.seed_lock.isChecked():
            self.randomise_seed()
        cls = request_types()[task]
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        kwargs: dict[str, Any] = {"image": image, "model": info.id}
        values = self.values()
        for key, value in values.items():
            if key in names and (key in info.uses or key in ("feather", "scale")):
                kwargs[key] = value
        kwargs.update({k: v for k, v in self.stored.carried_for(task).items() if k in names})
        if task == "generate":
            kwargs.update(self.rows.generate.request_values(self.strength.value()))
        if "mask" in names:
            kwargs["mask"] = mask
        if "mask_from_alpha" in names:
            kwargs["mask_from_alpha"] = self.fills_transparent()
        return cls(**kwargs)

    # --- stored parameters (task_panel_params.py) ---------------------------------------------

    def show_file_params(self, params: dict[str, Any]) -> None:
        """Offer "Reuse parameters" for an opened image that holds our parameters."""
        self.params_banner.show_params(params)

    def apply_params(self, params: dict[str, Any]) -> list[str]:
        """Set task, model and settings from stored parameters; returns what could not be applied."""
        return self.stored.apply(params)

    def _reuse(self, params: dict[str, Any]) -> None:
        """Reuse parameters pressed: apply them, and say what this installation lacks (a removed
        model or LoRA) rather than quietly running without it."""
        missing = self.apply_params(params)
        if missing:
            self.params_banner.show_missing(missing)

    def save_state(self, settings: QSettings) -> None:
        """Remember the task, model and settings, so the next start picks up where this one ended."""
        self.stored.save(settings)

    def restore_state(self, settings: QSettings) -> None:
        """Bring back what :meth:`save_state` stored; a model no longer installed is skipped."""
        self.stored.restore(settings)

    # --- running ------------------------------------------------------------------------------

    def set_running(self, running: bool) -> None:
        self.run_box.set_running(running)

    def set_progress(self, fraction: float, message: str) -> None:
        self.run_box.set_progress(fraction, message)

    def set_preview(self, image: QImage) -> None:
        self.run_box.set_preview(image)
