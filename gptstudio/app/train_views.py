"""What the training dialog draws: the live loss curve and the validation previews.

The curve is a pyqtgraph plot (fast to redraw thousands of points, log scale, and the mouse pans
and zooms it for free); the previews are the trainer's PNG files, shown a step at a time with
their labels and PSNR, the step chosen on a slider so step 0 stays one drag away.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImageReader, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

THUMB = 180


class LossCurve(pg.PlotWidget):
    """Loss against step, log scale (a loss falls by orders of magnitude early on), with its
    trend: each step's loss is one random batch, noisy enough to hide whether training helps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=None)
        self.setObjectName("lossCurve")
        self.setMinimumHeight(160)
        item = self.getPlotItem()
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        item.getAxis("left").enableAutoSIPrefix(False)  # "loss (x0.001)" over 5·10² reads badly
        item.setLogMode(x=False, y=True)
        item.showGrid(x=True, y=True, alpha=0.2)
        item.hideButtons()
        self.line = item.plot([], [], pen=pg.mkPen((64, 156, 255, 110), width=1))
        self.trend = item.plot([], [], pen=pg.mkPen((64, 156, 255), width=2.5))

    def set_points(self, steps: list[int], losses: list[float]) -> None:
        # log scale: a zero or negative loss (an exact fit, a GAN term) cannot be drawn
        pairs = [(s, v) for s, v in zip(steps, losses, strict=True) if v > 0]
        x = np.array([p[0] for p in pairs], dtype=np.float64)
        y = np.array([p[1] for p in pairs], dtype=np.float64)
        self.line.setData(x, y)
        self.trend.setData(*trend(x, y))

    def point_count(self) -> int:
        x, _y = self.line.getData()
        return 0 if x is None else len(x)


def trend(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The trailing geometric mean of ``y`` over a window of a tenth of the points (at least 5)."""
    window = max(5, len(y) // 10)
    if len(y) < 2 * window:
        return x[:0], y[:0]  # too few points for a trend: the raw curve says it all
    logs = np.concatenate([[0.0], np.cumsum(np.log(y))])
    means = (logs[window:] - logs[:-window]) / window
    return x[window - 1 :], np.exp(means)


class PreviewStrip(QWidget):
    """The validation images of one step (before/after pairs or samples), newest step by default."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewStrip")
        self.title = QLabel(
            "Validation previews appear here as the run makes them.", objectName="previewTitle"
        )
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="previewStep")
        self.slider.setToolTip("Which step's previews to show (step 0 is the model before training)")
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._show_index)
        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.slider, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(head)
        outer.addLayout(self.row)
        self._steps: list[int] = []
        self._previews: dict[int, list[dict[str, Any]]] = {}
        self._shown: tuple[int, int] | None = None  # (step, how many images) on screen
        self.cells: list[QWidget] = []

    def set_previews(self, previews: dict[int, list[dict[str, Any]]]) -> None:
        """Show the newest step unless the person moved the slider back to an older one."""
        steps = sorted(previews)
        following = not self._steps or self.slider.value() == len(self._steps) - 1
        self._previews, self._steps = previews, steps
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(steps) - 1))
        self.slider.setEnabled(len(steps) > 1)
        if following:
            self.slider.setValue(len(steps) - 1)
        self.slider.blockSignals(False)
        self._show_index(self.slider.value())

    def shown_step(self) -> int | None:
        return self._shown[0] if self._shown else None

    def _show_index(self, index: int) -> None:
        if not self._steps:
            self._clear()
            self._shown = None
            return
        step = self._steps[min(index, len(self._steps) - 1)]
        images = self._previews.get(step, [])
        if self._shown == (step, len(images)):
            return
        self._clear()
        for image in images:
            self.cells.append(self._cell(image))
            self.row.addWidget(self.cells[-1])
        self.row.addStretch(1)
        self._shown = (step, len(images))
        what = "before training" if step == 0 else f"after step {step}"
        self.title.setText(f"Validation {what} ({index + 1} of {len(self._steps)})")

    def _cell(self, image: dict[str, Any]) -> QWidget:
        label = str(image.get("label") or "")
        psnr = image.get("psnr")
        caption = label + (f"\n{psnr:.2f} dB" if isinstance(psnr, (int, float)) else "")
        cell = QLabel(objectName="previewCell")
        cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
        reader = QImageReader(str(image.get("path") or ""))
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid() and max(size.width(), size.height()) > THUMB:
            reader.setScaledSize(size.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))
        picture = reader.read()
        if picture.isNull():
            cell.setText(f"(missing picture)\n{caption}")
        else:
            cell.setPixmap(QPixmap.fromImage(picture))
            cell.setToolTip(caption)
        box = QLabel(caption, objectName="previewCaption", wordWrap=True)  # a LoRA sample's prompt
        box.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.setMaximumWidth(THUMB)
        holder = QWidget()  # picture above, caption below
        lay = QVBoxLayout(holder)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(cell)
        lay.addWidget(box)
        lay.addStretch(1)  # the caption stays under its picture, however tall the strip is
        holder.setObjectName("previewItem")
        holder.setProperty("caption", caption)
        return holder

    def _clear(self) -> None:
        while self.row.count():
            item = self.row.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        self.cells = []
