"""The Batch dialog's file list: each planned file, its status, the reason it failed or was skipped
(as a tooltip) and a thumbnail of its result.

A list of its own so the dialog only says *what happened* (a file started, a record arrived) and
this widget decides how that looks; the rows are keyed by the path relative to the input folder,
the key the batch engine and its manifest use.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from gptstudio.app.batch_worker import THUMB, Preview

COL_FILE, COL_STATUS, COL_RESULT = range(3)
#: Readable on the light and the dark theme.
FAILED_COLOUR = "#e0443e"


class BatchFileList(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchFiles")
        self.setHeaderLabels(["File", "Status", "Result"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setColumnWidth(COL_FILE, 260)
        self.setColumnWidth(COL_STATUS, 110)
        self.rows: dict[str, QTreeWidgetItem] = {}

    def statuses(self) -> dict[str, str]:
        return {rel: row.text(COL_STATUS) for rel, row in self.rows.items()}

    def show_plan(self, plan: Preview, keep: bool) -> None:
        """List the planned files; ``keep`` leaves a finished run's rows (failures, thumbnails) as
        they are when the same files are planned again, marking only what is now done."""
        if keep and set(self.rows) == {item.rel for item in plan.items}:
            for rel in plan.already_done:
                if self.rows[rel].text(COL_STATUS) in ("waiting", "not started"):
                    self.rows[rel].setText(COL_STATUS, "done earlier")
            return
        self.clear_rows()
        for item in plan.items:
            done = item.rel in plan.already_done
            row = QTreeWidgetItem([item.rel, "done earlier" if done else "waiting", ""])
            if item.problem:
                row.setText(COL_STATUS, "will fail")
                row.setToolTip(COL_STATUS, item.problem)
            self.rows[item.rel] = row
        self.addTopLevelItems(list(self.rows.values()))

    def clear_rows(self) -> None:
        self.clear()
        self.rows.clear()

    def row(self, rel: str) -> QTreeWidgetItem:
        row = self.rows.get(rel)
        if row is None:  # not planned here (the folder changed since): shown all the same
            row = self.rows[rel] = QTreeWidgetItem([rel, "", ""])
            self.addTopLevelItem(row)
        return row

    def file_started(self, rel: str) -> None:
        row = self.row(rel)
        row.setText(COL_STATUS, "running")
        self.scrollToItem(row)

    def file_recorded(self, record: dict[str, Any]) -> None:
        row = self.row(str(record.get("path")))
        status = str(record.get("status"))
        row.setText(COL_STATUS, status)
        row.setToolTip(COL_STATUS, str(record.get("reason") or ""))
        if status == "failed":  # the one status a person must not miss in a long list
            row.setForeground(COL_STATUS, QBrush(QColor(FAILED_COLOUR)))
        row.setToolTip(COL_FILE, f"{record.get('path')} → {record.get('output')}")

    def thumbnail(self, rel: str, image: QImage) -> None:
        self.row(rel).setIcon(COL_RESULT, QIcon(QPixmap.fromImage(image)))

    def mark_not_started(self) -> None:
        for row in self.rows.values():
            if row.text(COL_STATUS) in ("waiting", "running"):
                row.setText(COL_STATUS, "not started")
