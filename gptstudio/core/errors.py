"""Typed errors whose messages are written for the person using the program.

Every failure a user can cause (a bad file, a wrong mask, a cancelled job, a full disk) is raised
as a :class:`GptStudioError` subclass, so the CLI can print one clear line and the GUI can show a
dialog, while programming errors still surface as ordinary exceptions with tracebacks.
"""

from __future__ import annotations


class GptStudioError(Exception):
    """Base of every error meant to be shown to the user as-is."""

    #: Short category shown before the message (CLI) or as a dialog title (GUI).
    title = "Error"

    def __init__(self, message: str, *, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ImageReadError(GptStudioError):
    """The file is missing, empty, truncated, not an image, or in a format we cannot decode."""

    title = "Cannot open image"


class ImageTooLargeError(ImageReadError):
    """The image is above the decompression-bomb limit (raise it with ``--max-megapixels``)."""

    title = "Image too large"


class ImageWriteError(GptStudioError):
    """The output could not be written (full disk, no permission, unknown extension)."""

    title = "Cannot save image"


class MaskError(GptStudioError):
    """The mask does not fit the image or cannot be read."""

    title = "Invalid mask"


class InvalidRequestError(GptStudioError):
    """A parameter is out of range or the request does not make sense for the task."""

    title = "Invalid settings"


class CancelledError(GptStudioError):
    """The user cancelled the job; nothing was written."""

    title = "Cancelled"

    def __init__(self, message: str = "The job was cancelled.") -> None:
        super().__init__(message)


class ModelError(GptStudioError):
    """A model is unknown, missing, unsafe to load or not usable for the task."""

    title = "Model problem"


class OutOfMemoryError(GptStudioError):
    """The device ran out of memory even after retrying with smaller tiles."""

    title = "Out of memory"


class DownloadError(GptStudioError):
    """A model file could not be fetched: not on the server, refused, damaged, no room, or no network.

    Raised only once retrying cannot help; a partial download is kept wherever a later try can
    resume from it.
    """

    title = "Download failed"
