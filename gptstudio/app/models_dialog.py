"""Models: what is installed for each task, with description and licence (the registry's view).

Downloads come with the model manager in a later version; this dialog says so rather than
pretending to offer them.
"""

from __future__ import annotations

from html import escape

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
        self.resize(1000, 420)
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
        for col, width in enumerate((330, 150, 170)):
            self.tree.setColumnWidth(col, width)
        self.tree.header().setStretchLastSection(True)
        layout.addWidget(self.tree, 1)
        self.details = QLabel()
        self.details.setObjectName("modelDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setMinimumHeight(60)
        layout.addWidget(self.details)
        self.tree.currentItemChanged.connect(self._show_details)
        first = next((top.child(0) for top in self._tops() if top.isExpanded() and top.childCount()), None)
        if first is not None and first.text(1):
            self.tree.setCurrentItem(first)
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

    def _tops(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def _show_details(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None = None) -> None:
        """The full description (the table truncates it) and which settings the model uses."""
        if item is None or not item.text(1):
            self.details.clear()
            return
        info = registry.info(item.text(1))
        uses = ", ".join(sorted(info.uses)) or "none (no settings to tune)"
        self.details.setText(
            f"<b>{escape(info.name)}</b> — {escape(info.description)}<br>"
            f"Tasks: {escape(', '.join(info.tasks))}. Settings it uses: {escape(uses)}. "
            f"Licence: {escape(info.licence or 'not stated')}."
        )
