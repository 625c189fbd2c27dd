"""The tool options bar: which mask tool, its size and hardness, what shapes do, the region tools'
options (Select Object's method, the wand's tolerance), the compare split.

It mirrors :class:`~gptstudio.app.tools.ToolSettings` both ways, so the bracket keys, the settings
restored at start and the spin boxes always agree.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QSlider,
    QSpinBox,
    QToolBar,
    QWidget,
)

from gptstudio.app.tools import MAX_SIZE, MIN_SIZE, ShapeMode, Tool, ToolSettings

SHAPE_MODES = (
    (ShapeMode.ADD, "Add to mask"),
    (ShapeMode.SUBTRACT, "Subtract from mask"),
    (ShapeMode.SELECT, "Select"),
)


class ToolOptionsBar(QToolBar):
    def __init__(
        self, tools: ToolSettings, tool_actions: dict[Tool, QAction], parent: QWidget | None = None
    ) -> None:
        super().__init__("Tool options", parent)
        self.setObjectName("toolOptions")
        # icons only: with the size, hardness, shape and split controls it must fit a laptop screen
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.tools, self.tool_actions = tools, tool_actions
        for act in tool_actions.values():
            self.addAction(act)
        self.addSeparator()
        self.addWidget(QLabel(" Size "))
        self.size_box = QSpinBox()
        self.size_box.setObjectName("brushSize")
        self.size_box.setRange(MIN_SIZE, MAX_SIZE)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush size ([ and ] change it)")
        self.size_box.valueChanged.connect(self._size_edited)
        self.addWidget(self.size_box)
        self.addWidget(QLabel(" Hardness "))
        self.hardness_box = QDoubleSpinBox()
        self.hardness_box.setObjectName("brushHardness")
        self.hardness_box.setRange(0.0, 1.0)
        self.hardness_box.setSingleStep(0.1)
        self.hardness_box.setToolTip("Soft (0) to hard (1) brush edge")
        self.hardness_box.valueChanged.connect(tools.set_hardness)
        self.addWidget(self.hardness_box)
        self.addWidget(QLabel(" Shape "))
        self.shape_combo = QComboBox()
        self.shape_combo.setObjectName("shapeMode")
        for mode, text in SHAPE_MODES:
            self.shape_combo.addItem(text, mode)
        self.shape_combo.setToolTip(
            "What the rectangle, lasso, Select Object and the wand do (Select: they replace the mask)"
        )
        self.shape_combo.currentIndexChanged.connect(self._shape_edited)
        self.addWidget(self.shape_combo)
        self._region_actions = self._region_widgets()
        self.addSeparator()
        self.addWidget(QLabel(" Split "))
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.split_slider.setObjectName("splitSlider")
        self.split_slider.setRange(0, 100)
        self.split_slider.setValue(50)
        self.split_slider.setFixedWidth(120)
        self.split_slider.setEnabled(False)
        self.split_slider.setToolTip("Original on the left, result on the right")
        self.addWidget(self.split_slider)
        self._shown_tool: Tool | None = None
        tools.changed.connect(self.sync)
        self.sync()

    def _region_widgets(self) -> dict[Tool, list[QAction]]:
        """Select Object's method (GrabCut or an installed Segment Anything model) and the wand's
        tolerance and contiguity, each shown only with its tool."""
        self.segmenter_combo = QComboBox()
        self.segmenter_combo.setObjectName("segmenter")
        self.segmenter_combo.setToolTip(
            "How Select Object finds the object: GrabCut works offline; Segment Anything models "
            "(Models… > Select object) follow outlines better"
        )
        self.segmenter_combo.currentIndexChanged.connect(self._segmenter_edited)
        self.tolerance_box = QSpinBox()
        self.tolerance_box.setObjectName("wandTolerance")
        self.tolerance_box.setRange(0, 255)
        self.tolerance_box.setToolTip(
            "A pixel is taken when each of its channels is within this many levels of the clicked colour"
        )
        self.tolerance_box.valueChanged.connect(self.tools.set_tolerance)
        self.contiguous_box = QCheckBox("Contiguous")
        self.contiguous_box.setObjectName("wandContiguous")
        self.contiguous_box.setToolTip("Only pixels connected to the click (off: like pixels anywhere)")
        self.contiguous_box.toggled.connect(self.tools.set_contiguous)
        return {
            Tool.OBJECT: [self.addWidget(QLabel(" Method ")), self.addWidget(self.segmenter_combo)],
            Tool.WAND: [
                self.addWidget(QLabel(" Tolerance ")),
                self.addWidget(self.tolerance_box),
                self.addWidget(self.contiguous_box),
            ],
        }

    def refresh_segmenters(self) -> None:
        """List GrabCut and the Segment Anything models installed now."""
        from gptstudio.core.errors import ModelError
        from gptstudio.tasks.regions import GRABCUT, installed_segmenters

        try:
            models = installed_segmenters()
        except ModelError:
            models = []
        combo = self.segmenter_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("GrabCut (offline)", GRABCUT)
        for m in models:
            combo.addItem(m.name, m.id)
        index = combo.findData(self.tools.segmenter)
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        if index < 0:
            self.tools.set_segmenter(GRABCUT)

    def _segmenter_edited(self, _index: int) -> None:
        if self.segmenter_combo.currentData() is not None:
            self.tools.set_segmenter(self.segmenter_combo.currentData())

    def _size_edited(self, value: int) -> None:
        if value != round(self.tools.size):
            self.tools.set_size(value)

    def _shape_edited(self, _index: int) -> None:
        self.tools.set_shape_mode(self.shape_combo.currentData())

    def sync(self) -> None:
        """Show the tool settings as they are now (after keys, restore or code changed them)."""
        for box, value in ((self.size_box, round(self.tools.size)), (self.hardness_box, self.tools.hardness)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.tool_actions[self.tools.tool].setChecked(True)
        for widget, value in (
            (self.tolerance_box, self.tools.tolerance),
            (self.contiguous_box, self.tools.contiguous),
        ):
            widget.blockSignals(True)
            if isinstance(widget, QSpinBox):
                widget.setValue(int(value))
            else:
                widget.setChecked(bool(value))
            widget.blockSignals(False)
        tool = self.tools.tool
        if tool is Tool.OBJECT and tool is not self._shown_tool:
            self.refresh_segmenters()  # a model may have been downloaded since
        self._shown_tool = tool
        for owner, actions in self._region_actions.items():
            for action in actions:
                action.setVisible(owner is tool)
