"""The training dialog's form: folder, task, base model, preset, steps, name and the task's own
few settings (noise and JPEG strength for restoration, trigger word and captions for a LoRA);
whatever else a recipe has comes from the preset, so it is not shown.

The folder is listed on a background thread as soon as it is chosen or typed (listing only, no
image is opened), so a wrong folder is said at once, before anything starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from gptstudio.app.background import BackgroundRunner
from gptstudio.app.train_settings import BASE_TASK, PRESETS, TRAIN_TASKS, TrainSettings
from gptstudio.batch.discovery import IMAGE_EXTENSIONS
from gptstudio.core.errors import InvalidRequestError
from gptstudio.models import registry

NOISE_KINDS = {"gaussian": "Gaussian", "camera": "Camera-like (brighter = noisier)"}


def count_images(folder: str) -> tuple[int, int]:
    """(images, sub-folders holding some) under ``folder``, recursively; listing only."""
    root = Path(folder)
    if not folder:
        raise InvalidRequestError("Choose the folder of images to train on.")
    if not root.is_dir():
        raise InvalidRequestError(f"The folder {folder} does not exist.")
    count, dirs = 0, set()
    for here, _subdirs, files in os.walk(root):
        found = sum(1 for f in files if Path(f).suffix.lower() in IMAGE_EXTENSIONS)
        if found:
            count += found
            dirs.add(here)
    if not count:
        raise InvalidRequestError(f"There are no images (PNG, JPEG, WebP, TIFF, BMP) in {folder}.")
    return count, len(dirs)


def trainable(architecture: str) -> bool:
    """Classical OpenCV methods have nothing to train; every learned model does."""
    return not architecture.startswith("opencv-")


class TrainForm(QWidget):
    #: The folder check finished: (ok, message).
    folder_checked = Signal(bool, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder_edit = QLineEdit(objectName="trainFolder", placeholderText="A folder of your photos")
        pick = QToolButton(text="…", objectName="trainFolderPick", toolTip="Choose the folder")
        pick.clicked.connect(self._pick_folder)
        folder_row = QHBoxLayout()
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(pick)
        self.folder_note = QLabel(objectName="trainFolderNote", wordWrap=True)
        self.task_combo = QComboBox(objectName="trainTask")
        for task, label in TRAIN_TASKS.items():
            self.task_combo.addItem(label, task)
        self.base_combo = QComboBox(objectName="trainBase")
        self.base_combo.setToolTip("The installed model the fine-tune starts from")
        self.preset_combo = QComboBox(objectName="trainPreset")
        for preset, label in PRESETS.items():
            self.preset_combo.addItem(label, preset)
        self.preset_combo.setCurrentIndex(1)
        self.steps_spin = QSpinBox(objectName="trainSteps", minimum=0, maximum=1_000_000, singleStep=100)
        self.steps_spin.setSpecialValueText("As the preset says")
        self.steps_spin.setToolTip("How many training steps (0: the preset's number)")
        self.name_edit = QLineEdit(objectName="trainName", placeholderText="e.g. my-camera-denoiser")
        self.name_edit.setToolTip("Names the new model and its run folder")

        # the task's own settings: only the current task's rows are visible
        self.noise_combo = QComboBox(objectName="trainNoise")
        for kind, label in NOISE_KINDS.items():
            self.noise_combo.addItem(label, kind)
        self.noise_spin = QDoubleSpinBox(objectName="trainNoiseStrength", minimum=1, maximum=75, decimals=0)
        self.noise_spin.setToolTip("How strong the synthetic noise is (σ on the 0–255 scale)")
        self.jpeg_spin = QSpinBox(objectName="trainJpegQuality", minimum=5, maximum=95)
        self.jpeg_spin.setToolTip("Lowest JPEG quality the degradations use: lower = heavier artefacts")
        self.trigger_edit = QLineEdit(objectName="trainTrigger", placeholderText="e.g. sks dog")
        self.trigger_edit.setToolTip(
            "A word that calls up what you trained, used for images without a caption"
        )
        self.captions_check = QCheckBox(
            "Use captions beside the images (photo.txt)", objectName="trainCaptions"
        )
        self.task_box = QGroupBox(objectName="trainTaskBox")
        self.task_rows = QFormLayout(self.task_box)
        self._option_rows = {
            "noise": ("Noise", self.noise_combo),
            "noise_strength": ("Noise strength", self.noise_spin),
            "jpeg_quality": ("JPEG quality", self.jpeg_spin),
            "trigger": ("Trigger word", self.trigger_edit),
            "captions": ("", self.captions_check),
        }
        for label, widget in self._option_rows.values():
            self.task_rows.addRow(label, widget)

        form = QFormLayout(self)
        form.addRow("Folder", folder_row)
        form.addRow("", self.folder_note)
        form.addRow("Task", self.task_combo)
        form.addRow("Start from", self.base_combo)
        form.addRow("Preset", self.preset_combo)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Name", self.name_edit)
        form.addRow(self.task_box)

        self.scanner = BackgroundRunner("train-folder", self)
        self.scanner.done.connect(self._scanned)
        self.scanner.failed.connect(self._scan_failed)
        self._scan_timer = QTimer(self, singleShot=True, interval=300)
        self._scan_timer.timeout.connect(self.check_folder)
        self._scanned_folder: str | None = None
        self.folder_ok = False
        self.folder_edit.textChanged.connect(self._folder_typed)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self._set_defaults("denoise")
        self._task_changed()

    # --- the folder ---------------------------------------------------------------------------------

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Folder of images to train on", self.folder_edit.text()
        )
        if folder:
            self.folder_edit.setText(folder)

    def _folder_typed(self) -> None:
        self.folder_ok = False
        self.folder_note.setText("Looking at the folder…" if self.folder_edit.text() else "")
        if not self.name_edit.isModified() and self.folder_edit.text():
            self.name_edit.setText(self._suggested_name())
        self._scan_timer.start()

    def check_folder(self) -> None:
        """List the folder on the background thread (again once a listing in progress ends)."""
        folder = self.folder_edit.text().strip()
        if not self.scanner.start(lambda: (folder, count_images(folder))):
            self._scan_timer.start()

    def _scanned(self, value: tuple[str, tuple[int, int]]) -> None:
        folder, (count, dirs) = value
        if folder != self.folder_edit.text().strip():
            return  # typed on meanwhile: its own check follows
        self.folder_ok = True
        where = f" in {dirs} folders" if dirs > 1 else ""
        text = f"{count} image{'s' * (count != 1)}{where}. The trainer keeps a few aside to validate."
        self.folder_note.setStyleSheet("")
        self.folder_note.setText(text)
        self.folder_checked.emit(True, text)

    def _scan_failed(self, exc: object) -> None:
        text = exc.message if isinstance(exc, InvalidRequestError) else f"Cannot read the folder: {exc}"
        self.folder_ok = False
        self.folder_note.setStyleSheet("color: #d9534f;")
        self.folder_note.setText(text)
        self.folder_checked.emit(False, text)

    def checking(self) -> bool:
        return self.scanner.is_busy() or self._scan_timer.isActive()

    # --- the task -----------------------------------------------------------------------------------

    def task(self) -> str:
        return str(self.task_combo.currentData())

    def _task_changed(self) -> None:
        task = self.task()
        self.refresh_models()
        shown = set(TrainSettings(task=task).task_options())
        for key, (_label, widget) in self._option_rows.items():
            self.task_rows.setRowVisible(widget, key in shown)
        self.task_box.setVisible(bool(shown))
        self.task_box.setTitle(f"{TRAIN_TASKS[task].split(' (')[0]} settings")
        if not self.name_edit.isModified() and self.folder_edit.text():
            self.name_edit.setText(self._suggested_name())

    def refresh_models(self) -> None:
        """The installed models this task can start from (a model may have arrived since)."""
        current = self.base_combo.currentData()
        self.base_combo.clear()
        try:
            models = registry.models_for(BASE_TASK[self.task()])
        except InvalidRequestError:
            models = []
        for info in models:
            if trainable(info.architecture):
                self.base_combo.addItem(info.name, info.id)
        if not self.base_combo.count():
            self.base_combo.addItem("No model installed for this task (Models…)", "")
        index = self.base_combo.findData(current)
        self.base_combo.setCurrentIndex(max(index, 0))

    def _suggested_name(self) -> str:
        folder = Path(self.folder_edit.text().strip()).name or "photos"
        safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in folder).strip("-.") or "photos"
        return f"{self.task()}-{safe}"[:64]

    def _set_defaults(self, task: str) -> None:
        defaults = TrainSettings(task=task).task_options()
        for key, value in TrainSettings(task="denoise").task_options().items():
            defaults.setdefault(key, value)
        for key, value in TrainSettings(task="restore").task_options().items():
            defaults.setdefault(key, value)
        for key, value in TrainSettings(task="lora").task_options().items():
            defaults.setdefault(key, value)
        self._set_options(defaults)

    def _set_options(self, options: dict[str, object]) -> None:
        if "noise" in options:
            index = self.noise_combo.findData(options["noise"])
            self.noise_combo.setCurrentIndex(max(index, 0))
        if "noise_strength" in options:
            self.noise_spin.setValue(float(options["noise_strength"]))  # type: ignore[arg-type]
        if "jpeg_quality" in options:
            self.jpeg_spin.setValue(int(options["jpeg_quality"]))  # type: ignore[call-overload]
        if "trigger" in options:
            self.trigger_edit.setText(str(options["trigger"]))
        if "captions" in options:
            self.captions_check.setChecked(bool(options["captions"]))

    # --- settings in and out ------------------------------------------------------------------------

    def settings(self) -> TrainSettings:
        options = {
            "noise": self.noise_combo.currentData(),
            "noise_strength": self.noise_spin.value(),
            "jpeg_quality": self.jpeg_spin.value(),
            "trigger": self.trigger_edit.text().strip(),
            "captions": self.captions_check.isChecked(),
        }
        result = TrainSettings(
            task=self.task(),
            data=self.folder_edit.text().strip(),
            base=str(self.base_combo.currentData() or ""),
            preset=str(self.preset_combo.currentData()),
            steps=self.steps_spin.value(),
            name=self.name_edit.text().strip(),
            options=options,
        )
        result.options = result.task_options()
        return result

    def set_settings(self, settings: TrainSettings) -> None:
        index = self.task_combo.findData(settings.task)
        self.task_combo.setCurrentIndex(max(index, 0))
        base = self.base_combo.findData(settings.base)
        if base >= 0:
            self.base_combo.setCurrentIndex(base)
        self.preset_combo.setCurrentIndex(max(self.preset_combo.findData(settings.preset), 0))
        self.steps_spin.setValue(settings.steps)
        self.name_edit.setText(settings.name)
        self.name_edit.setModified(True)  # a loaded name is the person's choice: keep it
        self._set_options(settings.task_options())
        self.folder_edit.setText(settings.data)
