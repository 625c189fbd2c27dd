"""What a press, drag and release on the canvas does with the tool in use.

The canvas (``canvas.py``) is the view: it pans, zooms, compares and shows the layers. Everything a
mouse or pen gesture *changes* goes through :class:`ToolGestures` instead, so the view does not grow
with every tool: brush and eraser strokes and rectangle/lasso shapes become one undo command each on
release (or the selection, in Select mode); the region tools (Select Object, Magic Wand; see
``region_tools.py``) and a one-shot picker (the adjustments' grey point) are handed the press and
the drag that follows. The brush outline (the brush's cursor, at its real size) lives here too;
the canvas places it. Panning with space or the middle button stays in the canvas: it moves the
view, not the document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from gptstudio.app.tools import ShapeMode, Stroke, Tool, apply_shape

if TYPE_CHECKING:
    from gptstudio.app.canvas import Canvas


class BrushOutline(QGraphicsItem):
    """A black-and-white circle the size of the brush, visible on light and dark pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.radius = 10.0
        self.setZValue(100)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_radius(self, radius: float) -> None:
        if radius != self.radius:
            self.prepareGeometryChange()
            self.radius = radius

    def boundingRect(self) -> QRectF:
        r = self.radius + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for color, style in (
            (QColor(0, 0, 0, 200), Qt.PenStyle.SolidLine),
            (QColor(255, 255, 255), Qt.PenStyle.DashLine),
        ):
            pen = QPen(color, 1.0, style)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawEllipse(QPointF(0, 0), self.radius, self.radius)


class RegionHandler(Protocol):
    """A region tool's side of a drag on the canvas (``region_tools.RegionTools``)."""

    def press(self, event: QMouseEvent, pos: QPointF) -> None: ...

    def move(self, event: QMouseEvent, pos: QPointF) -> None: ...

    def release(self, event: QMouseEvent, pos: QPointF) -> None: ...


class ToolGestures:
    """One gesture of the current tool at a time, fed by the canvas's mouse events in scene points.

    ``press`` and ``release`` return True when they took the event (and accepted it); the canvas
    hands the rest to ``QGraphicsView``.
    """

    def __init__(self, canvas: Canvas, pen: QPen) -> None:
        self.canvas = canvas
        #: The region tools' handler, set once by ``region_tools.RegionTools``.
        self.region_handler: RegionHandler | None = None
        #: A one-shot picker (the adjustments' grey point): it takes the next left click.
        self.pick_handler: Callable[[QPointF], None] | None = None
        self._stroke: Stroke | None = None
        self._shape_start: QPointF | None = None
        self._lasso: QPainterPath | None = None
        self._region_drag = False
        self._preview = QGraphicsPathItem()  # the rectangle or lasso while it is dragged
        self._preview.setPen(pen)
        self._preview.setZValue(95)
        canvas.scene().addItem(self._preview)

    def shaping(self) -> bool:
        """A rectangle or lasso is being dragged (Escape cancels it)."""
        return self._lasso is not None or self._shape_start is not None

    def press(self, event: QMouseEvent, pos: QPointF) -> bool:
        mask = self.canvas.mask_item
        if mask is None:
            return False
        if self._hand_over(event, pos):
            return True
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        tools = self.canvas.tools
        tool = tools.tool
        if tool in (Tool.BRUSH, Tool.ERASER):
            self._stroke = Stroke(mask, tools.size, tools.hardness, tool is Tool.ERASER)
            self._stroke.move_to(pos)
        elif tool is Tool.RECT:
            self._shape_start = pos
        elif tool is Tool.LASSO:
            self._lasso = QPainterPath(pos)
        event.accept()
        return True

    def move(self, event: QMouseEvent, pos: QPointF) -> None:
        if self._region_drag:
            assert self.region_handler is not None
            self.region_handler.move(event, pos)
        elif self._stroke is not None:
            self._stroke.move_to(pos)
        elif self._shape_start is not None:
            path = QPainterPath()
            path.addRect(QRectF(self._shape_start, pos).normalized())
            self._preview.setPath(path)
        elif self._lasso is not None:
            self._lasso.lineTo(pos)
            self._preview.setPath(self._lasso)

    def release(self, event: QMouseEvent, pos: QPointF) -> bool:
        if self._region_drag:
            self._region_drag = False
            assert self.region_handler is not None
            self.region_handler.release(event, pos)
            event.accept()
            return True
        if event.button() != Qt.MouseButton.LeftButton or self.canvas.mask_item is None:
            return False
        if self._stroke is not None:
            self._stroke.move_to(pos)
            command = self._stroke.finish()
            self._stroke = None
            if command is not None:
                self.canvas.undo_stack.push(command)
        elif self._shape_start is not None:
            path = QPainterPath()
            rect = QRectF(self._shape_start, pos).normalized()
            if rect.width() >= 1 and rect.height() >= 1:
                path.addRect(rect)
                self._finish_shape(path)
            self.cancel_shape()
        elif self._lasso is not None:
            self._lasso.lineTo(pos)
            self._lasso.closeSubpath()
            if self._lasso.boundingRect().width() >= 1 and self._lasso.boundingRect().height() >= 1:
                self._finish_shape(self._lasso)
            self.cancel_shape()
        event.accept()
        return True

    def cancel_shape(self) -> None:
        self._shape_start = None
        self._lasso = None
        self._preview.setPath(QPainterPath())

    def _hand_over(self, event: QMouseEvent, pos: QPointF) -> bool:
        """A press the grey-point picker or a region tool takes (left, or right for a region
        tool's "not this part"); True when it was taken."""
        left = event.button() == Qt.MouseButton.LeftButton
        if left and self.pick_handler is not None:
            pick, self.pick_handler = self.pick_handler, None
            pick(pos)
        elif (
            self.canvas.tools.tool.is_region
            and self.region_handler is not None
            and (left or event.button() == Qt.MouseButton.RightButton)
        ):
            self._region_drag = True
            self.region_handler.press(event, pos)
        else:
            return False
        event.accept()
        return True

    def _finish_shape(self, path: QPainterPath) -> None:
        mask = self.canvas.mask_item
        assert mask is not None
        mode = self.canvas.tools.shape_mode
        if mode is ShapeMode.SELECT:
            self.canvas.set_selection(path)
            return
        command = apply_shape(mask, path, subtract=mode is ShapeMode.SUBTRACT)
        if command is not None:
            self.canvas.undo_stack.push(command)
