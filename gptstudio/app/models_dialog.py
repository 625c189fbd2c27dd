"""Models: what is installed for each task, with description and licence (the registry's view).

Downloads come with the model manager in a later version; this dialog says so rather than
pretending to offer them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gptstudio.engines.base import TASKS
from gptstudio.models import registry

TASK_LABELS = {"inpaint": "Inpaint", "restore": "Restore", "denoise": "Denoise", "generate": "Generate"}


class ModelsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, task: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsDialog")
        self.setWindowTitle("Models")
        self.resize(760, 380)
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Model", "Id", "Licence", "Description"])
        self.tree.setWordWrap(True)
        self.tree.setRootIsDecorated(True)
        for name in TASKS:
            models = registry.models_for(name)
            top = QTreeWidgetItem([f"{TASK_LABELS.get(name, name)} ({len(models)} installed)"])
            top.setFirstColumnSpanned(True)
            self.tree.addTopLevelItem(top)
            for info in models:
                child = QTreeWidgetItem([info.name, info.id, info.licence or "—", info.description])
                child.setToolTip(3, info.description)
                top.addChild(child)
            if not models:
                none = QTreeWidgetItem(["No model installed for this task yet."])
                none.setFirstColumnSpanned(True)
                none.setFlags(Qt.ItemFlag.NoItemFlags)
                top.addChild(none)
            top.setExpanded(task is None or task == name)
        for col, width in enumerate((260, 140, 150)):
            self.tree.setColumnWidth(col, width)
        layout.addWidget(self.tree)
        note = QLabel(
            "Downloading community models and installing your own fine-tunes arrives with the model "
            "manager in a later version."
        )
        note.setWordWrap(True)
        note.setEnabled(False)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
