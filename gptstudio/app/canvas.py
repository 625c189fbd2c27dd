"""The canvas: the photo, the mask overlay, zoom and pan, before/after comparison.

A QGraphicsView over a scene with three layers: the "before" image (shown while comparing), the
current image and the mask. Zoom keeps the point under the cursor still; space-drag or the middle
button pans; the brush outline follows the cursor at the real brush size. What a press and drag
*does* with the tool in use (strokes, shapes, region tools, the grey-point picker) is in
``canvas_gestures.py``: this module is the view, that one the edits made through it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QResizeEvent,
    QTransform,
    QUndoStack,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from gptstudio.app import compare_labels
from gptstudio.app.canvas_gestures import BrushOutline, ToolGestures
from gptstudio.app.mask_layer import ImageItem, MaskItem
from gptstudio.app.tools import Tool, ToolSettings

MIN_ZOOM, MAX_ZOOM = 1 / 64, 32.0
ZOOM_STEP = 1.25
#: Hold this key to see the image as it was opened.
COMPARE_KEY = Qt.Key.Key_Backslash


def _checker_brush() -> QBrush:
    """The usual grey checkerboard behind transparent pixels."""
    tile = QPixmap(16, 16)
    tile.fill(QColor(58, 58, 58))
    p = QPainter(tile)
    p.fillRect(0, 0, 8, 8, QColor(72, 72, 72))
    p.fillRect(8, 8, 8, 8, QColor(72, 72, 72))
    p.end()
    return QBrush(tile)


class Canvas(QGraphicsView):
    """The editing surface. Mask edits go onto ``undo_stack``; everything else is view state."""

    zoom_changed = Signal(float)
    cursor_moved = Signal(int, int)
    selection_changed = Signal(bool)

    def __init__(self, tools: ToolSettings, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.undo_stack = undo_stack
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(40, 40, 43))
        self._checker = _checker_brush()
        self._transparent = False
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # the main window takes dropped files
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.before_item = ImageItem()
        self.image_item = ImageItem()
        self._original = QImage()
        self.mask_item: MaskItem | None = None
        self.outline = BrushOutline()
        self.outline.setVisible(False)
        self.selection_item = QGraphicsPathItem()
        pen = QPen(QColor(255, 255, 255), 1.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.selection_item.setPen(pen)
        self.selection_item.setZValue(90)
        self.before_item.setZValue(1)
        self.image_item.setZValue(0)
        for item in (self.image_item, self.before_item, self.outline, self.selection_item):
            self.scene().addItem(item)
        self.before_item.setVisible(False)
        #: What presses and drags do with the tool in use (strokes, shapes, region tools, picker).
        self.gestures = ToolGestures(self, pen)
        self._pan_from: QPoint | None = None
        self._space = False
        self._mask_visible = True
        self._split: float | None = None
        self._fitted = False
        self._holding_compare = False
        self.selection = QPainterPath()
        tools.changed.connect(self._tools_changed)
        self._tools_changed()

    # --- content ------------------------------------------------------------------------------

    def has_image(self) -> bool:
        return self.mask_item is not None

    def set_images(
        self, image: QImage, original: QImage, mask: QImage | None = None, transparent: bool = False
    ) -> None:
        """A new document: its pixels, its original (for compare), its mask (empty if None), and
        whether it has transparent pixels (shown over a checkerboard)."""
        if self.mask_item is not None:
            self.scene().removeItem(self.mask_item)
        self.image_item.set_image(image)
        self.before_item.set_image(original)
        self._original = original
        self._transparent = transparent
        self.mask_item = MaskItem(image.width(), image.height(), mask)
        self.mask_item.setZValue(10)
        self.mask_item.setVisible(self._mask_visible)
        self.scene().addItem(self.mask_item)
        self.scene().setSceneRect(QRectF(0, 0, image.width(), image.height()))
        self.set_selection(QPainterPath())
        self.fit()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        """The dark surround, and a checkerboard behind images with transparent pixels."""
        super().drawBackground(painter, rect)
        if self._transparent and self.has_image():
            zoom = self.zoom() or 1.0
            brush = QBrush(self._checker)
            brush.setTransform(QTransform.fromScale(1 / zoom, 1 / zoom))  # same size at any zoom
            painter.fillRect(rect.intersected(self.sceneRect()), brush)

    def set_image(self, image: QImage) -> None:
        """New pixels for the current document (a result, undo or redo), same size."""
        self.image_item.set_image(image)

    def resize_image(self, image: QImage, mask: np.ndarray) -> None:
        """New pixels of another size (an upscale, or undoing one) with the mask at that size.

        The original shown by Compare is stretched to the new size, and the view keeps showing
        the same part of the picture at the same size on screen (or stays fitted).
        """
        old_w = max(self.image_size()[0], 1)
        w, h = image.width(), image.height()
        centre = self.mapToScene(self.viewport().rect().center())
        self.image_item.set_image(image)
        self.before_item.set_image(
            self._original.scaled(
                w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )
        if self.mask_item is not None:
            self.mask_item.resize(mask)
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self.set_selection(QPainterPath())
        self._update_compare()
        if self._fitted:
            self.fit()
        else:
            factor = old_w / w
            self.set_zoom(self.zoom() * factor)
            self.centerOn(centre / factor)
            self._fitted = False

    def image_size(self) -> tuple[int, int]:
        img = self.image_item.image()
        return img.width(), img.height()

    # --- view -----------------------------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor_view: QPoint | None = None) -> None:
        """Zoom to ``factor`` keeping ``anchor_view`` (a viewport point) still."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        self._fitted = False
        anchor_view = anchor_view if anchor_view is not None else self.viewport().rect().center()
        scene_pt = self.mapToScene(anchor_view)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setTransform(self.transform().fromScale(factor, factor))
        # put the scene point back under the anchor
        delta = self.mapFromScene(scene_pt) - anchor_view
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._update_outline_size()
        self.zoom_changed.emit(self.zoom())

    def _cursor_anchor(self) -> QPoint | None:
        pos = self.viewport().mapFromGlobal(self.cursor().pos())
        return pos if self.viewport().rect().contains(pos) else None

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * ZOOM_STEP, self._cursor_anchor())

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / ZOOM_STEP, self._cursor_anchor())

    def actual_size(self) -> None:
        self.set_zoom(1.0, self._cursor_anchor())

    def fit(self) -> None:
        if not self.has_image():
            return
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:  # small images are shown at 100 %, not blown up
            self.setTransform(self.transform().fromScale(1.0, 1.0))
            self.centerOn(self.sceneRect().center())
        self._fitted = True
        self._update_outline_size()
        self.zoom_changed.emit(self.zoom())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A fitted image stays fitted when the window is resized or maximised."""
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def set_mask_visible(self, visible: bool) -> None:
        self._mask_visible = visible
        if self.mask_item is not None:
            self.mask_item.setVisible(visible and not self._holding_compare)

    def set_split(self, fraction: float | None) -> None:
        """Compare with a split: the original left of ``fraction`` of the width; None turns it off."""
        self._split = fraction
        self._update_compare()

    def _update_compare(self) -> None:
        w = self.image_size()[0]
        if self._holding_compare:
            self.before_item.set_clip_right(None)
            self.before_item.setVisible(True)
        elif self._split is not None:
            self.before_item.set_clip_right(w * self._split)
            self.before_item.setVisible(True)
        else:
            self.before_item.setVisible(False)
        if self.mask_item is not None:
            self.mask_item.setVisible(self._mask_visible and not self._holding_compare)
        self.viewport().update()  # the captions move with the split

    def showing_before(self) -> bool:
        return self.before_item.isVisible()

    def hold_compare(self, on: bool) -> None:
        """The compare key held (True) or let go: the whole original, captioned "Before"."""
        if on != self._holding_compare and (self.has_image() or not on):
            self._holding_compare = on
            self._update_compare()

    def compare_captions(self) -> list[compare_labels.Caption]:
        """The "Before"/"After" captions shown now, in viewport pixels (none when not comparing)."""
        if not self.has_image() or not self.showing_before():
            return []
        w, h = self.image_size()
        image = self.mapFromScene(QRectF(0, 0, w, h)).boundingRect()
        split_x = None
        if self._split is not None:
            split_x = float(self.mapFromScene(QPointF(w * self._split, 0)).x())
        return compare_labels.layout(
            self.font(), QRectF(self.viewport().rect()), QRectF(image), split_x, self._holding_compare
        )

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """Over everything, in screen pixels: the compare captions."""
        super().drawForeground(painter, rect)
        captions = self.compare_captions()
        if captions:
            painter.save()
            painter.resetTransform()
            compare_labels.paint(painter, self.font(), captions)
            painter.restore()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self.showing_before():  # the captions stay put on screen: repaint, do not scroll them
            self.viewport().update()

    # --- selection --------------------------------------------------------------------------

    def set_selection(self, path: QPainterPath) -> None:
        self.selection = QPainterPath(path)
        self.selection_item.setPath(self.selection)
        self.selection_changed.emit(not self.selection.isEmpty())

    # --- events ---------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom() * (ZOOM_STEP**steps), event.position().toPoint())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            self.outline.setVisible(False)
        elif key == COMPARE_KEY and not event.isAutoRepeat():
            self.hold_compare(True)
        elif key == Qt.Key.Key_Escape and self.gestures.shaping():
            self.gestures.cancel_shape()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space:
            self._space = False
            self._pan_from = None
            self._tools_changed()
        elif event.key() == COMPARE_KEY:
            self.hold_compare(False)
        else:
            super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        pos = self.mapToScene(event.position().toPoint())
        if not self.gestures.press(event, pos):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        view_pos = event.position().toPoint()
        pos = self.mapToScene(view_pos)
        if self._pan_from is not None:
            delta = view_pos - self._pan_from
            self._pan_from = view_pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        self.outline.setPos(pos)
        self.cursor_moved.emit(int(pos.x()), int(pos.y()))
        self.gestures.move(event, pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self._tools_changed()
            event.accept()
            return
        pos = self.mapToScene(event.position().toPoint())
        if not self.gestures.release(event, pos):
            super().mouseReleaseEvent(event)

    def enterEvent(self, event: object) -> None:
        self._tools_changed()
        super().enterEvent(event)  # type: ignore[arg-type]

    def leaveEvent(self, event: object) -> None:
        self.outline.setVisible(False)
        super().leaveEvent(event)  # type: ignore[arg-type]

    def focusOutEvent(self, event: object) -> None:
        # a key released while another widget had focus must not leave us panning or comparing
        self._space = False
        self.hold_compare(False)
        super().focusOutEvent(event)  # type: ignore[arg-type]

    def _tools_changed(self) -> None:
        painting = self.tools.tool in (Tool.BRUSH, Tool.ERASER)
        self.outline.setVisible(painting and self.has_image() and self.underMouse() and not self._space)
        self._update_outline_size()
        if not self._space:  # the outline shows the brush; the cross marks its centre
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def _update_outline_size(self) -> None:
        self.outline.set_radius(self.tools.size / 2.0)
