"""The mask tools: brush and eraser (size, hardness), rectangle and lasso (add, subtract, select),
and the region tools' settings (select object, magic wand: their work is in ``region_tools``).

A :class:`Stroke` follows one drag: it stamps evenly spaced dabs between mouse events, copies each
256-pixel tile the first time it is touched (so undo costs memory only where the user painted) and
turns into one undo command when the button is released.
"""

from __future__ import annotations

import math
from enum import Enum

from PySide6.QtCore import QObject, QPointF, QRect, Signal
from PySide6.QtGui import QPainterPath

from gptstudio.app.mask_layer import MaskItem, Tiles
from gptstudio.app.undo_commands import MaskTilesCommand

MIN_SIZE, MAX_SIZE = 1, 2000


class Tool(Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    RECT = "rect"
    LASSO = "lasso"
    #: Drag a box around an object, then click to add (or Alt-click to take away) parts.
    OBJECT = "object"
    #: Click a colour: the pixels like it (tolerance), connected or anywhere.
    WAND = "wand"

    @property
    def label(self) -> str:
        return _LABELS[self.value]

    @property
    def is_region(self) -> bool:
        """Tools whose work runs on the region thread (see :mod:`~gptstudio.app.region_tools`)."""
        return self in (Tool.OBJECT, Tool.WAND)


_LABELS = {
    "brush": "Brush",
    "eraser": "Eraser",
    "rect": "Rectangle",
    "lasso": "Lasso",
    "object": "Select Object",
    "wand": "Magic Wand",
}


class ShapeMode(Enum):
    """What the rectangle and lasso do with their shape."""

    ADD = "add"
    SUBTRACT = "subtract"
    SELECT = "select"


class ToolSettings(QObject):
    """The current tool and its options; the canvas and the toolbar both watch it."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.tool = Tool.BRUSH
        self.size = 48.0
        self.hardness = 0.7
        self.shape_mode = ShapeMode.ADD
        #: The magic wand: tolerance in levels (of 255, per channel) and contiguous or global.
        self.tolerance = 32
        self.contiguous = True
        #: "Select object" method: "grabcut" or the id of an installed Segment Anything model.
        self.segmenter = "grabcut"

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self.changed.emit()

    def set_size(self, size: float) -> None:
        self.size = float(min(max(size, MIN_SIZE), MAX_SIZE))
        self.changed.emit()

    def grow(self, factor: float) -> None:
        """The bracket keys: a step proportional to the size, at least one pixel."""
        step = max(1.0, self.size * abs(factor - 1.0))
        self.set_size(self.size + step if factor > 1 else self.size - step)

    def set_hardness(self, hardness: float) -> None:
        self.hardness = float(min(max(hardness, 0.0), 1.0))
        self.changed.emit()

    def set_shape_mode(self, mode: ShapeMode) -> None:
        self.shape_mode = mode
        self.changed.emit()

    def set_tolerance(self, tolerance: int) -> None:
        self.tolerance = int(min(max(tolerance, 0), 255))
        self.changed.emit()

    def set_contiguous(self, contiguous: bool) -> None:
        self.contiguous = bool(contiguous)
        self.changed.emit()

    def set_segmenter(self, segmenter: str) -> None:
        self.segmenter = segmenter
        self.changed.emit()


class Stroke:
    """One brush or eraser drag on the mask."""

    def __init__(self, mask: MaskItem, size: float, hardness: float, erase: bool) -> None:
        self.mask, self.size, self.hardness, self.erase = mask, size, hardness, erase
        self._before: Tiles = {}
        self._last: QPointF | None = None
        self._carry = 0.0
        self.dirty = QRect()

    @property
    def spacing(self) -> float:
        return max(1.0, self.size * 0.15)

    def _backup(self, rect: QRect) -> None:
        new = [k for k in self.mask.tiles_in(rect) if k not in self._before]
        if new:
            self._before.update(self.mask.copy_tiles(new))

    def move_to(self, point: QPointF) -> QRect:
        """Stamp dabs from the previous point to ``point``; returns the rectangle repainted."""
        if self._last is None:
            centers = [point]
        else:
            dx, dy = point.x() - self._last.x(), point.y() - self._last.y()
            dist = math.hypot(dx, dy)
            centers = []
            t = self.spacing - self._carry
            while t <= dist:
                f = t / dist
                centers.append(QPointF(self._last.x() + dx * f, self._last.y() + dy * f))
                t += self.spacing
            self._carry = dist - (t - self.spacing) if centers else self._carry + dist
        self._last = point
        if not centers:
            return QRect()
        area = QRect()
        for c in centers:
            area = area.united(self.mask.dab_rect(c, self.size))
        self._backup(area)
        changed = self.mask.paint_dabs(centers, self.size, self.hardness, self.erase)
        self.dirty = self.dirty.united(changed)
        return changed

    def finish(self) -> MaskTilesCommand | None:
        if not self._before:
            return None
        after = self.mask.copy_tiles(self._before)
        text = "Erase mask" if self.erase else "Paint mask"
        return MaskTilesCommand(self.mask, self._before, after, text)


def apply_shape(mask: MaskItem, path: QPainterPath, subtract: bool) -> MaskTilesCommand | None:
    """Add or subtract a closed shape as one undoable edit."""
    rect = path.boundingRect().toAlignedRect().adjusted(-2, -2, 2, 2)
    keys = mask.tiles_in(rect)
    if not keys:
        return None
    before = mask.copy_tiles(keys)
    mask.fill_path(path, erase=subtract)
    after = mask.copy_tiles(keys)
    return MaskTilesCommand(mask, before, after, "Subtract from mask" if subtract else "Add to mask")
