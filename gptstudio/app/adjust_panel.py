"""The Adjust panel: brightness, contrast, saturation, colour balance, levels, white balance and a
histogram — the controls only; previewing and applying are :mod:`~gptstudio.app.adjust_controller`.

The sliders speak in steps a person can reason about (−100..100) and :meth:`AdjustPanel.adjustments`
turns them into :class:`~gptstudio.core.adjust.Adjustments`, the same values ``gptstudio adjust``
takes, so what the panel applies can be repeated from the command line.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gptstudio.core.adjust import RANGES, Adjustments

BALANCE_AXES = ("Cyan – Red", "Magenta – Green", "Yellow – Blue")


def factor(step: int) -> float:
    """Slider step (−100..100) -> a factor: 0 at −100, 1 at 0, 3 at +100 (contrast, saturation)."""
    return 1.0 + step / 100.0 if step <= 0 else 1.0 + step / 50.0


class Histogram(QWidget):
    """Red, green, blue and luminance counts drawn as curves (square-root scale, so a few very
    common levels do not flatten everything else)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("histogram")
        self.setMinimumHeight(90)
        self.counts: np.ndarray | None = None

    def sizeHint(self) -> QSize:
        return QSize(256, 100)

    def set_counts(self, counts: np.ndarray | None) -> None:
        self.counts = counts
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 30, 32))
        if self.counts is None:
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = self.width(), self.height()
        values = np.sqrt(self.counts.astype(np.float64))
        top = max(float(values.max()), 1.0)
        colours = (
            QColor(255, 80, 80, 200),
            QColor(80, 220, 80, 200),
            QColor(90, 140, 255, 200),
            QColor(235, 235, 235),
        )
        for row, colour in zip(values, colours, strict=True):
            path = QPainterPath(QPointF(0, h))
            for i, v in enumerate(row):
                path.lineTo(QPointF(i * (w - 1) / (len(row) - 1), h - 1 - v / top * (h - 4)))
            pen = QPen(colour, 1.2)
            p.setPen(pen)
            p.drawPath(path)
        p.end()


class AdjustPanel(QWidget):
    """Emits ``changed`` whenever a value changes; ``apply_clicked``, ``auto_levels_clicked`` and
    ``pick_grey_clicked`` for its buttons."""

    changed = Signal()
    apply_clicked = Signal()
    auto_levels_clicked = Signal()
    pick_grey_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adjustPanel")
        self._balance = {name: [0, 0, 0] for name in RANGES}
        self._wb = (1.0, 1.0, 1.0)
        self._auto = False
        layout = QVBoxLayout(self)
        self.histogram = Histogram()
        layout.addWidget(self.histogram)
        tone = QFormLayout()
        self.brightness = self._slider("brightness", "Brightness: added to every pixel")
        self.contrast = self._slider("contrast", "Contrast around mid-grey (−100 = flat grey)")
        self.saturation = self._slider("saturation", "Saturation (−100 = black and white)")
        for label, slider in (
            ("Brightness", self.brightness),
            ("Contrast", self.contrast),
            ("Saturation", self.saturation),
        ):
            tone.addRow(label, slider)
        layout.addLayout(tone)
        layout.addWidget(self._levels_box())
        layout.addWidget(self._balance_box())
        layout.addWidget(self._white_box())
        buttons = QHBoxLayout()
        self.preview_box = QCheckBox("Preview")
        self.preview_box.setObjectName("adjustPreview")
        self.preview_box.setChecked(True)
        self.preview_box.toggled.connect(self.changed)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("adjustReset")
        self.reset_button.clicked.connect(self.reset)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("adjustApply")
        self.apply_button.setToolTip(
            "Apply to the masked area (feathered) or, with no mask, to the whole image"
        )
        self.apply_button.clicked.connect(self.apply_clicked)
        for widget in (self.preview_box, self.reset_button, self.apply_button):
            buttons.addWidget(widget)
        layout.addLayout(buttons)
        self.status = QLabel("")
        self.status.setObjectName("adjustStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)

    # --- building ---------------------------------------------------------------------------------

    def _slider(self, name: str, tip: str) -> QSlider:
        s = QSlider(Qt.Orientation.Horizontal)
        s.setObjectName(f"adjust_{name}")
        s.setRange(-100, 100)
        s.setToolTip(tip)
        s.valueChanged.connect(self.changed)
        return s

    def _levels_box(self) -> QGroupBox:
        box = QGroupBox("Levels")
        row = QHBoxLayout(box)
        self.black = QSpinBox()
        self.black.setObjectName("levelsBlack")
        self.black.setRange(0, 254)
        self.black.setToolTip("Input black point: this level and darker become black")
        self.white = QSpinBox()
        self.white.setObjectName("levelsWhite")
        self.white.setRange(1, 255)
        self.white.setValue(255)
        self.white.setToolTip("Input white point: this level and brighter become white")
        self.gamma = QDoubleSpinBox()
        self.gamma.setObjectName("levelsGamma")
        self.gamma.setRange(0.1, 10.0)
        self.gamma.setSingleStep(0.05)
        self.gamma.setValue(1.0)
        self.gamma.setToolTip("Midtones: above 1 lighter, below 1 darker")
        for w in (self.black, self.white, self.gamma):
            w.valueChanged.connect(self._levels_edited)
        self.auto_button = QPushButton("Auto")
        self.auto_button.setObjectName("autoLevels")
        self.auto_button.setToolTip("Stretch the luminance to the full range (0.1 % clipped each side)")
        self.auto_button.clicked.connect(self.auto_levels_clicked)
        for label, w in (("Black", self.black), ("White", self.white), ("Gamma", self.gamma)):
            row.addWidget(QLabel(label))
            row.addWidget(w)
        row.addWidget(self.auto_button)
        return box

    def _balance_box(self) -> QGroupBox:
        box = QGroupBox("Colour balance")
        form = QFormLayout(box)
        self.range_combo = QComboBox()
        self.range_combo.setObjectName("balanceRange")
        for name in RANGES:
            self.range_combo.addItem(name.capitalize(), name)
        self.range_combo.setCurrentIndex(1)
        self.range_combo.currentIndexChanged.connect(self._show_range)
        form.addRow("Tones", self.range_combo)
        self.axes: list[QSlider] = []
        for i, label in enumerate(BALANCE_AXES):
            s = QSlider(Qt.Orientation.Horizontal)
            s.setObjectName(f"balance{i}")
            s.setRange(-100, 100)
            s.valueChanged.connect(lambda v, i=i: self._axis_edited(i, v))
            self.axes.append(s)
            form.addRow(label, s)
        return box

    def _white_box(self) -> QGroupBox:
        box = QGroupBox("White balance")
        row = QHBoxLayout(box)
        self.pick_button = QPushButton("Pick grey point")
        self.pick_button.setObjectName("pickGrey")
        self.pick_button.setToolTip("Then click a pixel of the photo that should be neutral grey")
        self.pick_button.clicked.connect(self.pick_grey_clicked)
        self.wb_label = QLabel("neutral")
        self.wb_label.setObjectName("wbGains")
        row.addWidget(self.pick_button)
        row.addWidget(self.wb_label, 1)
        return box

    # --- values -----------------------------------------------------------------------------------

    def _levels_edited(self, *_: object) -> None:
        self._auto = False
        self.changed.emit()

    def _axis_edited(self, axis: int, value: int) -> None:
        self._balance[self.range_combo.currentData()][axis] = value
        self.changed.emit()

    def _show_range(self, _index: int) -> None:
        for s, v in zip(self.axes, self._balance[self.range_combo.currentData()], strict=True):
            s.blockSignals(True)
            s.setValue(v)
            s.blockSignals(False)

    def adjustments(self) -> Adjustments:
        """The panel's values as adjustments (a white point at or below the black one is moved
        just above it, as a person dragging them expects)."""
        black = self.black.value() / 255.0
        white = max(self.white.value(), self.black.value() + 1) / 255.0
        balance = {name: tuple(v / 100.0 for v in values) for name, values in self._balance.items()}
        return Adjustments(
            brightness=self.brightness.value() / 200.0,
            contrast=factor(self.contrast.value()),
            saturation=factor(self.saturation.value()),
            black=black,
            white=white,
            gamma=float(self.gamma.value()),
            wb_gains=self._wb,
            auto_levels=self._auto,
            **balance,  # type: ignore[arg-type]
        )

    def previewing(self) -> bool:
        return self.preview_box.isChecked()

    def set_levels(self, black: float, white: float, auto: bool = True) -> None:
        """Show measured points (auto levels); one ``changed`` for both."""
        for box, value in ((self.black, black), (self.white, white)):
            box.blockSignals(True)
            box.setValue(round(value * 255))
            box.blockSignals(False)
        self._auto = auto
        self.changed.emit()

    def set_wb_gains(self, gains: tuple[float, float, float]) -> None:
        self._wb = gains
        neutral = gains == (1.0, 1.0, 1.0)
        self.wb_label.setText("neutral" if neutral else "gains " + " / ".join(f"{g:.2f}" for g in gains))
        self.changed.emit()

    def reset(self) -> None:
        """Every control back to "no change"."""
        widgets = (
            self.brightness,
            self.contrast,
            self.saturation,
            self.black,
            self.white,
            self.gamma,
            *self.axes,
        )
        for w in widgets:
            w.blockSignals(True)
        for s in (self.brightness, self.contrast, self.saturation, *self.axes):
            s.setValue(0)
        self.black.setValue(0)
        self.white.setValue(255)
        self.gamma.setValue(1.0)
        for w in widgets:
            w.blockSignals(False)
        self._balance = {name: [0, 0, 0] for name in RANGES}
        self._auto = False
        self._wb = (1.0, 1.0, 1.0)
        self.wb_label.setText("neutral")
        self.changed.emit()
