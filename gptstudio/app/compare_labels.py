"""The "Before" / "After" captions of the compare view, drawn over the canvas in screen pixels.

Without them a user sees two halves of a photo and cannot tell which is the original (people
coming from other editors expect the labels). They are drawn in viewport coordinates, so they keep
their size at any zoom, and as white text on a translucent dark backing with a thin outline, so
they read on a white sky as well as on a night shot.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

MARGIN = 10.0  # from the image's top edge (or the view's, when the image's is scrolled away)
GAP = 8.0  # from the split line
PAD_X, PAD_Y = 8.0, 3.0


@dataclass(frozen=True)
class Caption:
    text: str
    rect: QRectF  # in viewport pixels


def _font(base: QFont) -> QFont:
    font = QFont(base)
    font.setBold(True)
    return font


def layout(
    base_font: QFont, viewport: QRectF, image: QRectF, split_x: float | None, holding: bool
) -> list[Caption]:
    """Where the captions go: ``image`` is the picture's rectangle on screen, ``split_x`` the split
    line's x on screen (None without a split), ``holding`` whether the compare key is held."""
    if image.isEmpty() or not (holding or split_x is not None):
        return []
    visible = image.intersected(viewport)
    if visible.isEmpty():
        return []
    metrics = QFontMetricsF(_font(base_font))
    height = metrics.height() + 2 * PAD_Y

    def box(text: str) -> QRectF:
        return QRectF(0, 0, metrics.horizontalAdvance(text) + 2 * PAD_X, height)

    top = visible.top() + MARGIN
    if holding:
        r = box("Before")
        r.moveTopLeft(QPointF(visible.left() + MARGIN, top))
        return [Caption("Before", r)]
    assert split_x is not None
    before, after = box("Before"), box("After")
    x = min(max(split_x, visible.left()), visible.right())
    before.moveTopRight(QPointF(x - GAP, top))
    after.moveTopLeft(QPointF(x + GAP, top))
    # a side scrolled (or split) out of sight has no caption; one squeezed against an edge moves in
    out: list[Caption] = []
    if before.left() >= visible.left() - 1:
        out.append(Caption("Before", before))
    elif x - visible.left() > 2 * GAP:
        before.moveTopLeft(QPointF(visible.left() + GAP, top))
        out.append(Caption("Before", before))
    if after.right() <= visible.right() + 1:
        out.append(Caption("After", after))
    elif visible.right() - x > 2 * GAP:
        after.moveTopRight(QPointF(visible.right() - GAP, top))
        out.append(Caption("After", after))
    return out


def paint(painter: QPainter, base_font: QFont, captions: list[Caption]) -> None:
    if not captions:
        return
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setFont(_font(base_font))
    for caption in captions:
        painter.setPen(QPen(QColor(255, 255, 255, 90), 1.0))
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(caption.rect, 4, 4)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(caption.rect, Qt.AlignmentFlag.AlignCenter, caption.text)
    painter.restore()
