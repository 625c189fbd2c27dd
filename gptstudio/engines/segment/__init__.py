"""Selecting an object from a prompt (a box, positive and negative clicks).

Two methods answer the same :class:`ObjectPrompt`: OpenCV's GrabCut (:mod:`.grabcut`), which needs
no weights and always works, and Segment Anything models that transformers runs (:mod:`.sam`:
SAM and SAM 2), installed through the model manager. transformers is imported only when a SAM
model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from gptstudio.core.errors import InvalidRequestError

Point = tuple[float, float]


@dataclass(frozen=True)
class ObjectPrompt:
    """What the person showed, in image pixels: a box (x0, y0, x1, y1) around the object and
    clicks on it (positive) or on what is not it (negative)."""

    box: tuple[float, float, float, float] | None = None
    positive: tuple[Point, ...] = ()
    negative: tuple[Point, ...] = ()

    @property
    def empty(self) -> bool:
        return self.box is None and not self.positive and not self.negative

    def clipped(self, width: int, height: int) -> ObjectPrompt:
        """The prompt inside a ``width × height`` image; refuses a box with no area in it."""
        box = None
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            x0, x1 = sorted((min(max(x0, 0.0), width), min(max(x1, 0.0), width)))
            y0, y1 = sorted((min(max(y0, 0.0), height), min(max(y1, 0.0), height)))
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise InvalidRequestError("The box around the object is too small or outside the image.")
            box = (x0, y0, x1, y1)

        def inside(points: tuple[Point, ...]) -> tuple[Point, ...]:
            return tuple((x, y) for x, y in points if 0 <= x < width and 0 <= y < height)

        return ObjectPrompt(box, inside(self.positive), inside(self.negative))

    def with_click(self, x: float, y: float, positive: bool) -> ObjectPrompt:
        if positive:
            return ObjectPrompt(self.box, (*self.positive, (x, y)), self.negative)
        return ObjectPrompt(self.box, self.positive, (*self.negative, (x, y)))


__all__ = ["ObjectPrompt", "Point"]
