"""Models: the catalog and what is installed, with download, resume, cancel, remove and import.

The dialog is a view over three things it does not own: the catalog (what could be downloaded),
the store (what is on disk) and the :class:`ModelDownloads` controller (what is being fetched). The
controller belongs to the main window, so closing the dialog never stops a download; reopening it
shows the progress again. Every install, import or removal re-reads the registry and fires
``ModelDownloads.models_changed``, which the task panel listens to.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gptstudio.app import model_rows
from gptstudio.app.error_dialog import error_dialog
from gptstudio.app.model_downloads import ModelDownloads, ModelJob
from gptstudio.app.model_prompts import ask_download, ask_remove
from gptstudio.app.model_rows import ModelRow
from gptstudio.core.errors import GptStudioError
from gptstudio.core.vocabulary import TASK_LABELS
from gptstudio.engines.base import TASKS
from gptstudio.models import registry
from gptstudio.models.catalog import Catalog, load_catalog
from gptstudio.models.store import human_size

IMPORT_SUFFIXES = (".safetensors", ".pth", ".ckpt")
IMPORT_FILTER = "Model weights (*.safetensors *.pth *.ckpt)"
COLUMNS = ("Model", "Tasks", "Size", "Licence", "Memory", "State")
SHOW_CHOICES = (("all", "All models"), ("installed", "Installed"), ("available", "Not installed"))
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
#: Restricted licences (non-commercial, research only) stand out in the table.
RESTRICTED_COLOUR = QColor(230, 150, 60)


def _dropped_weights(event: QDragEnterEvent | QDropEvent) -> list[str]:
    return [
        url.toLocalFile()
        for url in event.mimeData().urls()
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMPORT_SUFFIXES
    ]


class ModelsDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        task: str | None = None,
        *,
        downloads: ModelDownloads | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelsDialog")
        self.setWindowTitle("Models")
        self.setAcceptDrops(True)
        screen = self.screen().availableGeometry()  # never larger than a laptop's screen
        self.resize(min(1320, int(screen.width() * 0.95)), min(640, int(screen.height() * 0.9)))
        self._owns_downloads = downloads is None
        self.downloads = downloads if downloads is not None else ModelDownloads(parent=self)
        self.store = self.downloads.store
        self._catalog_error: GptStudioError | None = None
        try:
            self.catalog: Catalog | None = catalog if catalog is not None else load_catalog()
        except GptStudioError as exc:  # a broken catalog must not hide the installed models
            self.catalog, self._catalog_error = None, exc
        self.rows: dict[str, ModelRow] = {}
        self._items: dict[str, QTreeWidgetItem] = {}
        self._build(task)
        d = self.downloads
        d.queued.connect(self._job_changed)
        d.started.connect(self._job_changed)
        d.progress.connect(self._job_changed)
        d.cancelled.connect(self._job_cancelled)
        d.finished.connect(self._job_finished)
        d.failed.connect(self._job_failed)
        d.models_changed.connect(self.reload)
        self.reload()

    # --- construction -------------------------------------------------------------------------

    def _build(self, task: str | None) -> None:
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.task_filter = QComboBox()
        self.task_filter.setObjectName("taskFilter")
        self.task_filter.addItem("All tasks", "")
        for name in TASKS:
            self.task_filter.addItem(TASK_LABELS.get(name, name.capitalize()), name)
        self.show_filter = QComboBox()
        self.show_filter.setObjectName("stateFilter")
        for key, label in SHOW_CHOICES:
            self.show_filter.addItem(label, key)
        self.search = QLineEdit()
        self.search.setObjectName("modelSearch")
        self.search.setPlaceholderText("Search name, architecture, licence…")
        self.search.setClearButtonEnabled(True)
        for label, widget in (("Task", self.task_filter), ("Show", self.show_filter)):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget)
        filters.addWidget(self.search, 1)
        layout.addLayout(filters)

        self.tree = QTreeWidget()
        self.tree.setObjectName("modelTable")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)
        for col, width in ((1, 118), (2, 76), (3, 136), (4, 76), (5, 168)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.tree.setColumnWidth(col, width)
        for col in (2, 4):  # numbers line up on the right, their headings with them
            self.tree.headerItem().setTextAlignment(col, RIGHT)
        self.details = QTextBrowser()
        self.details.setObjectName("modelDetails")
        self.details.setOpenExternalLinks(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setRange(0, 1000)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("downloadStatus")
        self.progress_label.setWordWrap(True)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.details, 1)
        side_layout.addWidget(self.progress)
        side_layout.addWidget(self.progress_label)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([920, 400])
        layout.addWidget(split, 1)

        buttons = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadButton")
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setObjectName("cancelDownload")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeModel")
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("importModel")
        self.import_button.setToolTip("Add a .safetensors, .pth or .ckpt file (or drop files on this window)")
        self.folder_button = QPushButton("Open folder")
        self.folder_button.setObjectName("openModelsFolder")
        self.usage = QLabel()
        self.usage.setObjectName("diskUsage")
        close = QPushButton("Close")
        for widget in (self.download_button, self.cancel_button, self.remove_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        for widget in (self.import_button, self.folder_button, self.usage, close):
            buttons.addWidget(widget)
        layout.addLayout(buttons)
        hint = QLabel("Drop .safetensors, .pth or .ckpt files on this window to import them.")
        hint.setEnabled(False)
        layout.addWidget(hint)

        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button.clicked.connect(self.import_dialog)
        self.folder_button.clicked.connect(self.open_folder)
        close.clicked.connect(self.close)
        self.tree.currentItemChanged.connect(lambda *_: self._selected_changed())
        self.task_filter.currentIndexChanged.connect(self.apply_filters)
        self.show_filter.currentIndexChanged.connect(self.apply_filters)
        self.search.textChanged.connect(self.apply_filters)
        self.set_task_filter(task)

    # --- rows ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the catalog's state from the store (after an install, import or removal)."""
        current = self.selected_id()
        rows = model_rows.build_rows(self.catalog, self.store, [e.info for e in registry.entries()])
        self.rows = {r.id: r for r in rows}
        self.tree.clear()
        self._items = {}
        for row in rows:
            item = QTreeWidgetItem([row.name, ", ".join(TASK_LABELS.get(t, t) for t in row.tasks)])
            item.setData(0, Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(0, f"{row.name} ({row.id})")
            item.setText(2, model_rows.size_text(row))
            item.setText(3, row.licence)
            item.setToolTip(3, row.licence)
            if row.restricted:
                item.setForeground(3, RESTRICTED_COLOUR)
                item.setToolTip(
                    3, f"{row.licence}: a restricted licence (for example non-commercial use only)"
                )
            item.setText(4, model_rows.memory_text(row.memory_mb))
            for col in (2, 4):
                item.setTextAlignment(col, RIGHT)
            self.tree.addTopLevelItem(item)
            self._items[row.id] = item
            self._update_state(row.id)
        if self._catalog_error is not None:
            self.progress_label.setText(f"The catalog could not be read: {self._catalog_error}")
        self.usage.setText(f"Models use {human_size(self.store.disk_usage())}")
        self.apply_filters()
        if current:
            self.select(current)

    def _update_state(self, model_id: str) -> None:
        item, row = self._items.get(model_id), self.rows.get(model_id)
        if item is None or row is None:
            return
        job = self.downloads.job_for(model_id)
        if job is None:
            text, tip = model_rows.state_text(row), ""
        elif job.state.cancelled:
            text, tip = "Cancelling…", job.message
        elif job.running:
            text, tip = f"Downloading {int(job.fraction * 100)} %", job.message  # as the bar rounds
        else:
            text, tip = "Queued", "Waits for the download before it"
        item.setText(5, text)
        item.setToolTip(5, tip)

    def apply_filters(self) -> None:
        task = self.task_filter.currentData() or None
        show = self.show_filter.currentData() or "all"
        text = self.search.text()
        first_visible = None
        for model_id, item in self._items.items():
            hidden = not self.rows[model_id].matches(task, show, text)
            item.setHidden(hidden)
            if not hidden and first_visible is None:
                first_visible = item
        current = self.tree.currentItem()
        if (current is None or current.isHidden()) and first_visible is not None:
            self.tree.setCurrentItem(first_visible)
        self._selected_changed()

    def visible_ids(self) -> list[str]:
        return [mid for mid, item in self._items.items() if not item.isHidden()]

    def set_task_filter(self, task: str | None) -> None:
        self.task_filter.setCurrentIndex(max(self.task_filter.findData(task or ""), 0))

    def select(self, model_id: str) -> bool:
        item = self._items.get(model_id)
        if item is None or item.isHidden():
            return False
        self.tree.setCurrentItem(item)
        return True

    def selected_id(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None or item.isHidden() else item.data(0, Qt.ItemDataRole.UserRole)

    def selected_row(self) -> ModelRow | None:
        model_id = self.selected_id()
        return self.rows.get(model_id) if model_id else None

    def _selected_changed(self) -> None:
        row = self.selected_row()
        self.details.setHtml(model_rows.details_html(row, TASK_LABELS) if row else "")
        job = self.downloads.job_for(row.id) if row else None
        self.download_button.setText("Resume" if row and row.state == model_rows.PARTIAL else "Download")
        self.download_button.setEnabled(
            bool(row and row.downloadable and row.state in (model_rows.AVAILABLE, model_rows.PARTIAL))
            and job is None
        )
        self.cancel_button.setEnabled(job is not None and not job.state.cancelled)
        self.remove_button.setEnabled(bool(row and row.removable) and job is None)
        self.progress.setVisible(job is not None)
        if job is not None:
            self.progress.setValue(round(job.fraction * 1000))
            self.progress_label.setText(job.message)
        elif self._catalog_error is None:
            self.progress_label.clear()

    # --- jobs -----------------------------------------------------------------------------------

    def _job_changed(self, job: ModelJob) -> None:
        self._update_state(job.model_id)
        if job.model_id == self.selected_id():
            self._selected_changed()
        elif job.is_import:
            self.progress_label.setText(job.message)

    def _job_cancelled(self, _job: ModelJob) -> None:
        self.reload()  # the bytes kept on disk make it "partly downloaded"

    def _job_finished(self, job: ModelJob, model: object) -> None:
        verb = "Imported" if job.is_import else "Installed"
        self.progress_label.setText(f"{verb} {getattr(model, 'name', job.label)}.")
        if job.is_import:
            self.set_task_filter(None)
            self.show_filter.setCurrentIndex(0)
            self.select(job.model_id)

    def _job_failed(self, job: ModelJob, error: GptStudioError) -> None:
        self._job_changed(job)
        self.reload()  # a failed download may have left resumable bytes (Resume) or none
        error_dialog(self, error)

    # --- buttons ----------------------------------------------------------------------------

    def download_selected(self) -> None:
        """Show the licence (and ask where a yes is needed); the download starts after."""
        row = self.selected_row()
        if row is None or not row.downloadable or self.downloads.job_for(row.id):
            return
        entry = row.entry

        def start(accept_licence: bool, allow_torchscript: bool) -> None:
            self.downloads.download(entry, accept_licence=accept_licence, allow_torchscript=allow_torchscript)

        ask_download(self, entry, row.partial_bytes, start)

    def cancel_selected(self) -> None:
        row = self.selected_row()
        job = self.downloads.job_for(row.id) if row else None
        if job is not None:
            self.downloads.cancel(job.id)
            self._job_changed(job)

    def remove_selected(self) -> None:
        row = self.selected_row()
        if row is None or not row.removable:
            return
        if row.state == model_rows.PARTIAL:
            text = f"Discard the partly downloaded {row.name} ({human_size(row.partial_bytes)})?"
        else:
            text = f"Remove {row.name}? This frees {model_rows.size_text(row)} on disk."

        def remove() -> None:
            try:
                self.downloads.remove(row.id)
            except GptStudioError as exc:
                error_dialog(self, exc)

        ask_remove(self, text, remove)

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import model weights", "", IMPORT_FILTER)
        if path:
            self.import_paths([path])

    def import_paths(self, paths: list[str]) -> None:
        for path in paths:
            self.downloads.import_file(path)

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.root)))

    # --- drag and drop ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_weights(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _dropped_weights(event)
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    # --- closing --------------------------------------------------------------------------------

    def done(self, result: int) -> None:
        """A dialog opened without the main window's controller stops its own downloads."""
        if self._owns_downloads:
            self.downloads.shutdown()
        super().done(result)
