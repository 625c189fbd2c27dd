"""The training dialog's form: folder, task, base model, preset, steps, name and the task's own
few settings (the kind of damage, or a folder of real damaged copies, for restoration; the trigger
word for a LoRA, whose captions are the ``photo.txt`` files beside the photos); whatever else a
recipe has comes from the preset, so it is not shown.

The folder is listed on a background thread as soon as it is chosen or typed (listing only, no
image is opened), so a wrong folder is said at once, before anything starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
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
from gptstudio.app.train_settings import (
    DAMAGE_LABELS,
    PRESET_LABELS,
    TRAIN_TASKS,
    Settings,
    shown_settings,
)
from gptstudio.batch.discovery import IMAGE_EXTENSIONS
from gptstudio.core.errors import InvalidRequestError
from gptstudio.models import registry


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
        self.folder_edit.setToolTip("The folder of photos to train on (sub-folders too)")
        folder_row = _with_picker(self.folder_edit, lambda: self._pick(self.folder_edit))
        self.folder_note = QLabel(objectName="trainFolderNote", wordWrap=True)
        self.task_combo = QComboBox(objectName="trainTask")
        for task, label in TRAIN_TASKS.items():
            self.task_combo.addItem(label, task)
        self.base_combo = QComboBox(objectName="trainBase")
        self.base_combo.setToolTip("The installed model the fine-tune starts from")
        self.preset_combo = QComboBox(objectName="trainPreset")
        for preset, label in PRESET_LABELS.items():
            self.preset_combo.addItem(label, preset)
        self.preset_combo.setCurrentIndex(1)
        self.steps_spin = QSpinBox(objectName="trainSteps", minimum=0, maximum=1_000_000, singleStep=100)
        self.steps_spin.setSpecialValueText("As the preset says")
        self.steps_spin.setToolTip("How many training steps (0: the preset's number)")
        self.name_edit = QLineEdit(objectName="trainName", placeholderText="e.g. my-camera-denoiser")
        self.name_edit.setToolTip("Names the new model and its run folder")

        # the task's own settings: only the current task's rows are visible
        self.damage_combo = QComboBox(objectName="trainDamage")
        for name, label in DAMAGE_LABELS.items():
            self.damage_combo.addItem(label, name)
        self.damage_combo.setToolTip("The damage the photos are taught to remove, made up on the fly")
        self.damaged_edit = QLineEdit(objectName="trainDamaged", placeholderText="optional")
        self.damaged_edit.setToolTip(
            "Real pairs instead: a folder of damaged copies, matched to the photos by relative path"
        )
        damaged_row = QWidget()
        damaged_row.setLayout(_with_picker(self.damaged_edit, lambda: self._pick(self.damaged_edit)))
        self.trigger_edit = QLineEdit(objectName="trainTrigger", placeholderText="e.g. sks dog")
        self.trigger_edit.setToolTip("Stands for your subject in prompts; used for photos without a caption")
        self.captions_note = QLabel(
            "Captions: photo.txt beside photo.jpg. Photos without one use the trigger word.",
            objectName="trainCaptionsNote",
            wordWrap=True,
        )
        self.task_box = QGroupBox(objectName="trainTaskBox")
        self.task_rows = QFormLayout(self.task_box)
        #: setting -> (label, widget); a task shows the rows of its settings
        self._option_rows: dict[str, tuple[tuple[str, QWidget], ...]] = {
            "damage": (("Damage", self.damage_combo), ("Or real pairs", damaged_row)),
            "trigger": (("Trigger word", self.trigger_edit), ("", self.captions_note)),
        }
        for rows in self._option_rows.values():
            for label, widget in rows:
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
        self._task_changed()

    # --- the folder ---------------------------------------------------------------------------------

    def _pick(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, edit.toolTip() or "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

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
        shown = set(shown_settings(task))
        for key, rows in self._option_rows.items():
            for _label, widget in rows:
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
            models = registry.models_for(self.task())
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

    # --- settings in and out ------------------------------------------------------------------------

    def settings(self) -> Settings:
        task = self.task()
        shown = shown_settings(task)
        return Settings(
            task=task,
            data=self.folder_edit.text().strip(),
            name=self.name_edit.text().strip(),
            base=str(self.base_combo.currentData() or "") or None,
            preset=str(self.preset_combo.currentData()),
            steps=self.steps_spin.value() or None,
            damage=str(self.damage_combo.currentData()),
            damaged=(self.damaged_edit.text().strip() or None) if "damage" in shown else None,
            trigger=(self.trigger_edit.text().strip() or None) if "trigger" in shown else None,
        )

    def set_settings(self, settings: Settings) -> None:
        """Show ``settings``; what the form does not show (crop, learning rate…) is not kept."""
        self.task_combo.setCurrentIndex(max(self.task_combo.findData(settings.task), 0))
        base = self.base_combo.findData(settings.base or "")
        if base >= 0:
            self.base_combo.setCurrentIndex(base)
        self.preset_combo.setCurrentIndex(max(self.preset_combo.findData(settings.preset), 0))
        self.steps_spin.setValue(settings.steps or 0)
        self.name_edit.setText(settings.name)
        self.name_edit.setModified(True)  # a loaded name is the person's choice: keep it
        self.damage_combo.setCurrentIndex(max(self.damage_combo.findData(settings.damage), 0))
        self.damaged_edit.setText(settings.damaged or "")
        self.trigger_edit.setText(settings.trigger or "")
        self.folder_edit.setText(settings.data)


def _with_picker(edit: QLineEdit, pick: object) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    button = QToolButton(text="…", objectName=f"{edit.objectName()}Pick", toolTip="Choose a folder")
    button.clicked.connect(pick)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row
