"""The mask as a semi-transparent overlay the user paints on, and the image layers under it.

The mask lives in one premultiplied ARGB32 QImage the size of the photo: its alpha channel *is* the
mask (255 = change this pixel), its colour is a fixed tint. Brush dabs are painted with QPainter
into that image and only the dirty rectangle is repainted, so one brush event costs the same on a
24-megapixel photo as on a thumbnail. Undo keeps copies of the 256-pixel tiles a stroke touched,
not of the whole mask.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QRadialGradient
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from gptstudio.core.masks import nonzero_box

#: The mask tint (a warm red, readable over most photos) and its opacity on screen.
MASK_COLOR = QColor(255, 48, 64)
MASK_OPACITY = 0.5
TILE = 256

Tiles = dict[tuple[int, int], QImage]


class ImageItem(QGraphicsItem):
    """Draws a QImage, only the exposed part, so zoomed-in repaints of huge photos stay cheap."""

    def __init__(self, image: QImage | None = None) -> None:
        super().__init__()
        self._image = image or QImage()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._clip_x: float | None = None

    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        if image.size() != self._image.size():
            self.prepareGeometryChange()
        self._image = image
        self.update()

    def set_clip_right(self, x: float | None) -> None:
        """Draw only left of ``x`` (the before/after split); None draws everything."""
        self._clip_x = x
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._image.isNull():
            return
        visible = option.exposedRect.intersected(self.boundingRect())  # type: ignore[attr-defined]
        exposed = visible
        if self._clip_x is not None:
            exposed = exposed.intersected(QRectF(0, 0, max(self._clip_x, 0.0), self._image.height()))
        if not exposed.isEmpty():
            rect = exposed.toAlignedRect()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, painter.transform().m11() < 1.0)
            painter.drawImage(QRectF(rect), self._image, QRectF(rect))
        if self._clip_x is not None and visible.left() <= self._clip_x <= visible.right():
            pen = QPen(QColor(255, 255, 255, 220), 2.0)  # the split line between before and after
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawLine(QPointF(self._clip_x, visible.top()), QPointF(self._clip_x, visible.bottom()))


#: Rows written per numpy call by :func:`mask_image`: short steps between which other threads run.
BAND = 256


def _tint_lut() -> np.ndarray:
    """Mask alpha -> premultiplied ARGB32 pixel (0xAARRGGBB as a native uint32)."""
    a = np.arange(256, dtype=np.uint32)
    r, g, b = ((c * a + 127) // 255 for c in (MASK_COLOR.red(), MASK_COLOR.green(), MASK_COLOR.blue()))
    return (a << 24) | (r << 16) | (g << 8) | b


_LUT = _tint_lut()


def mask_image(width: int, height: int, alpha: np.ndarray | None = None) -> QImage:
    """A tinted mask QImage (empty, or from a uint8 array); safe to build on any thread.

    Built with numpy, in bands of rows, not with QImage.fill or QPainter: the loader builds this
    for every opened photo on its thread, and PySide keeps the GIL through a Qt call, so a 24-MP
    fill or paint (40-110 ms) froze the GUI thread for as long. numpy lets go of the GIL while it
    copies, and between bands.
    """
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    if alpha is not None and alpha.shape != (height, width):
        raise ValueError(f"mask shape {alpha.shape} does not match the image {width}×{height}")
    bpl = image.bytesPerLine()
    pixels = np.frombuffer(image.bits(), np.uint32, count=height * bpl // 4).reshape(height, bpl // 4)
    for top in range(0, height, BAND):
        rows = pixels[top : top + BAND, :width]
        if alpha is None:
            rows[...] = 0
        else:
            np.take(_LUT, alpha[top : top + BAND], out=rows)
    return image


def write_alpha(image: QImage, alpha: np.ndarray) -> None:
    """Set a mask QImage from a uint8 array, keeping the tint premultiplied.

    Done by Qt's raster engine rather than numpy lookups: the array is wrapped (no copy) as an
    Alpha8 image, drawn in with the Source mode, and the tint is filled in with SourceIn (colour =
    tint × alpha). On 24 MP that is ~40 ms instead of ~200 ms, which keeps fill, invert, clear and
    their undo under the 100 ms stall limit on the GUI thread.
    """
    h, w = image.height(), image.width()
    if alpha.shape != (h, w):
        raise ValueError(f"mask shape {alpha.shape} does not match the image {w}×{h}")
    a = np.ascontiguousarray(alpha, dtype=np.uint8)
    source = QImage(a.data, w, h, w, QImage.Format.Format_Alpha8)
    painter = QPainter(image)
    try:
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(0, 0, source)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(0, 0, w, h, MASK_COLOR)
    finally:
        painter.end()
    del source  # it borrowed ``a``'s memory: never let it outlive this call


def read_alpha(image: QImage) -> np.ndarray:
    """A mask QImage's alpha as a uint8 ``H×W`` array (a copy), by Qt's converter (~10 ms on 24 MP)."""
    a8 = image.convertToFormat(QImage.Format.Format_Alpha8)
    h, w, bpl = a8.height(), a8.width(), a8.bytesPerLine()
    return np.frombuffer(a8.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)[:, :w].copy()


class MaskItem(ImageItem):
    """The paintable mask overlay.

    It keeps the rectangle where anything may be painted (a superset: erasing does not shrink it,
    only clearing the whole mask does), updated by every write. Why: reading a 24-MP mask costs
    15-30 ms on the GUI thread and Run, an inpaint landing and its undo each read it; a mask
    painted over one object makes those reads a box's worth of work. Code that paints into
    :meth:`image` directly marks the whole mask; :meth:`image_for` marks only its box.
    """

    def __init__(self, width: int, height: int, image: QImage | None = None) -> None:
        fresh = image is None or image.size().width() != width or image.size().height() != height
        if fresh:
            image = mask_image(width, height)
        super().__init__(image)
        self._painted = QRect() if fresh else self._bounds()
        self.setOpacity(MASK_OPACITY)

    # --- where the mask may be painted ----------------------------------------------------------

    def painted_rect(self) -> QRect:
        """Outside this rectangle the mask is empty (inside it may be empty too)."""
        return QRect(self._painted)

    def image(self) -> QImage:
        """The mask image for anyone to paint into: the whole mask counts as painted."""
        self._painted = self._bounds()
        return self._image

    def image_for(self, rect: QRect) -> QImage:
        """The mask image for painting inside ``rect`` only."""
        self._touch(rect)
        return self._image

    def readable(self) -> QImage:
        """The mask image for reading (painting into it would go unnoticed)."""
        return self._image

    def set_image(self, image: QImage) -> None:
        super().set_image(image)
        self._painted = self._bounds()

    def _touch(self, rect: QRect) -> None:
        self._painted = self._painted.united(rect.intersected(self._bounds()))

    # --- reading and writing the whole mask ---------------------------------------------------

    def painted_alpha(self) -> tuple[QRect, np.ndarray]:
        """The painted rectangle and the mask's alpha inside it (uint8, a copy; 0×0 when empty)."""
        r = QRect(self._painted)
        if r.isEmpty():
            return r, np.zeros((0, 0), np.uint8)
        return r, read_alpha(self._image.copy(r))

    def alpha(self) -> np.ndarray:
        """The mask as a uint8 ``H×W`` array (a copy): 255 = change."""
        out = np.zeros((self._image.height(), self._image.width()), np.uint8)
        r, inside = self.painted_alpha()
        out[r.top() : r.top() + inside.shape[0], r.left() : r.left() + inside.shape[1]] = inside
        return out

    def float_mask(self) -> np.ndarray:
        return self.alpha().astype(np.float32) / 255.0

    def is_empty(self) -> bool:
        return not bool(self.painted_alpha()[1].any())

    def set_alpha(self, alpha: np.ndarray) -> None:
        """Replace the whole mask from a uint8 array, keeping the tint premultiplied."""
        write_alpha(self._image, alpha)
        found = nonzero_box(alpha)  # the exact painted box (~5 ms on 24 MP)
        if found is None:
            self._painted = QRect()
        else:
            y0, y1, x0, x1 = found
            self._painted = QRect(x0, y0, x1 - x0, y1 - y0)
        self.update()

    # --- whole-mask operations in place (Qt's raster engine: ~5-15 ms on 24 MP) -----------------

    def fill_all(self) -> None:
        self._image.fill(MASK_COLOR)
        self._painted = self._bounds()
        self.update()

    def clear_all(self) -> None:
        if self._painted == self._bounds():
            self._image.fill(Qt.GlobalColor.transparent)
        elif not self._painted.isEmpty():  # only where something may be painted
            painter = QPainter(self._image)
            try:
                painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
                painter.fillRect(self._painted, Qt.GlobalColor.transparent)
            finally:
                painter.end()
        self._painted = QRect()
        self.update()

    def invert_all(self) -> None:
        """alpha -> 255 - alpha exactly: SourceOut paints the opaque tint where the mask was not."""
        painter = QPainter(self._image)
        try:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOut)
            painter.fillRect(self._bounds(), MASK_COLOR)
        finally:
            painter.end()
        self._painted = self._bounds()
        self.update()

    def alpha_image(self) -> QImage | None:
        """The mask as a compact Alpha8 QImage (1 byte a pixel) for undo; None when it is empty."""
        if self._painted.isEmpty():
            return None
        a8 = self._image.convertToFormat(QImage.Format.Format_Alpha8)
        h, bpl = a8.height(), a8.bytesPerLine()
        if not np.frombuffer(a8.constBits(), np.uint8, count=h * bpl).any():
            return None
        return a8

    def set_alpha_image(self, a8: QImage | None) -> None:
        """Put back what :meth:`alpha_image` returned."""
        if a8 is None:
            self.clear_all()
            return
        painter = QPainter(self._image)
        try:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            painter.drawImage(0, 0, a8)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
            painter.fillRect(self._bounds(), MASK_COLOR)
        finally:
            painter.end()
        self._painted = self._bounds()
        self.update()

    def resize(self, alpha: np.ndarray) -> None:
        """Replace the mask with one of another size (the image was upscaled, or that was undone).

        The item stays the same object, so undo commands that hold it keep working: they run
        only once the stack is back at the size they were made for.
        """
        h, w = alpha.shape
        self.prepareGeometryChange()
        self._image = mask_image(w, h, np.ascontiguousarray(alpha, dtype=np.uint8))
        self._painted = self._bounds()
        self.update()

    # --- painting -----------------------------------------------------------------------------

    def _painter(self, erase: bool) -> QPainter:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        if erase:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOut)
        return painter

    def dab_rect(self, center: QPointF, size: float) -> QRect:
        r = size / 2.0 + 2
        return (
            QRectF(center.x() - r, center.y() - r, 2 * r, 2 * r).toAlignedRect().intersected(self._bounds())
        )

    def paint_dabs(self, centers: list[QPointF], size: float, hardness: float, erase: bool) -> QRect:
        """Stamp round dabs (soft edge by ``hardness`` 0..1); returns the changed rectangle."""
        dirty = QRect()
        if not centers:
            return dirty
        radius = max(size / 2.0, 0.5)
        painter = self._painter(erase)
        try:
            solid = QColor(MASK_COLOR)
            for c in centers:
                if hardness >= 0.99:
                    painter.setBrush(solid)
                else:
                    grad = QRadialGradient(c, radius)
                    clear = QColor(MASK_COLOR)
                    clear.setAlpha(0)
                    grad.setColorAt(0.0, solid)
                    grad.setColorAt(max(0.0, min(hardness, 0.99)), solid)
                    grad.setColorAt(1.0, clear)
                    painter.setBrush(grad)
                painter.drawEllipse(c, radius, radius)
                dirty = dirty.united(self.dab_rect(c, size))
        finally:
            painter.end()
        self._touch(dirty)
        self.update(QRectF(dirty))
        return dirty

    def fill_path(self, path: QPainterPath, erase: bool) -> QRect:
        """Add (or with ``erase`` subtract) a closed shape: the rectangle and lasso tools."""
        painter = self._painter(erase)
        try:
            painter.fillPath(path, MASK_COLOR)
        finally:
            painter.end()
        dirty = path.boundingRect().toAlignedRect().adjusted(-2, -2, 2, 2).intersected(self._bounds())
        self._touch(dirty)
        self.update(QRectF(dirty))
        return dirty

    def _bounds(self) -> QRect:
        return QRect(0, 0, self._image.width(), self._image.height())

    # --- tiles for undo -----------------------------------------------------------------------

    def tiles_in(self, rect: QRect) -> list[tuple[int, int]]:
        rect = rect.intersected(self._bounds())
        if rect.isEmpty():
            return []
        return [
            (tx, ty)
            for ty in range(rect.top() // TILE, rect.bottom() // TILE + 1)
            for tx in range(rect.left() // TILE, rect.right() // TILE + 1)
        ]

    def copy_tiles(self, keys: list[tuple[int, int]] | Tiles) -> Tiles:
        return {key: self._image.copy(self._tile_rect(key)) for key in keys}

    def put_tiles(self, tiles: Tiles) -> None:
        if not tiles:
            return
        painter = QPainter(self._image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        dirty = QRect()
        try:
            for key, tile in tiles.items():
                rect = self._tile_rect(key)
                painter.drawImage(rect.topLeft(), tile)
                dirty = dirty.united(rect)
        finally:
            painter.end()
        self._touch(dirty)
        self.update(QRectF(dirty))

    def _tile_rect(self, key: tuple[int, int]) -> QRect:
        return QRect(key[0] * TILE, key[1] * TILE, TILE, TILE).intersected(self._bounds())
