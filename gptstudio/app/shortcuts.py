"""Keyboard routing for the main window: the one-key shortcuts work wherever the focus is, except
in a field the user types text into.

Why a filter and not only QAction shortcuts: a QAction shortcut is skipped when the focus widget
accepts the key's ShortcutOverride, and number boxes (the brush size, the seed) accept every
printable key although "B" or "[" can never be part of a number; and the compare key is *held*
(press shows the original, release the result), which a shortcut cannot express. So this filter
lets the one-key shortcuts through number boxes, turns the compare key's press and release into
``hold_compare`` on the canvas from anywhere in the window, and hands the focus back to the
canvas when the focused button is disabled (Cancel at the end of a job), instead of letting Qt
move it along the tab chain into the brush-size box, where the next key would be typed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from gptstudio.app.canvas import COMPARE_KEY

_KEY_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride)


def is_text_field(widget: QWidget | None) -> bool:
    """Fields where a letter is text the user is typing (a prompt, a file name), not a command.

    Number boxes are not text fields here: no one-key shortcut is a digit, a sign or a point.
    """
    if widget is None:
        return False
    if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QAbstractSpinBox):
        return False  # the editor inside a number box
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit))


def _plain_key(event: QKeyEvent) -> int | None:
    """The key as a one-key shortcut would see it, or None when a modifier other than Shift is held."""
    mods = event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier)
    if mods != Qt.KeyboardModifier.NoModifier:
        return None
    return int(event.key())


class KeyRouter(QObject):
    """Installed on the application for one main window ``window`` (with ``canvas`` and actions)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.keys = self._one_key_shortcuts()
        self._attached = True
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        app.installEventFilter(self)
        app.focusChanged.connect(self._focus_changed)

    def detach(self) -> None:
        """Stop routing (the window is closing); the application may outlive it (tests)."""
        app = QApplication.instance()
        if self._attached and isinstance(app, QApplication):
            self._attached = False
            app.removeEventFilter(self)
            app.focusChanged.disconnect(self._focus_changed)

    def _one_key_shortcuts(self) -> set[int]:
        keys = {int(COMPARE_KEY)}
        for action in self.window.actions():
            for seq in action.shortcuts():
                if seq.count() == 1:
                    combo = seq[0]
                    if combo.keyboardModifiers() == Qt.KeyboardModifier.NoModifier:
                        keys.add(int(combo.key()))
        return keys

    def _ours(self) -> QWidget | None:
        """The focus widget when it lies in our window and is not a text field; else None."""
        focus = QApplication.focusWidget()
        if focus is None or focus.window() is not self.window or is_text_field(focus):
            return None
        return focus

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() not in _KEY_EVENTS or not isinstance(event, QKeyEvent):
            return False
        key = _plain_key(event)
        if key is None or key not in self.keys or watched is not QApplication.focusWidget():
            return False
        if self._ours() is None:
            if key == int(COMPARE_KEY) and event.type() == QEvent.Type.KeyRelease:
                self.window.canvas.hold_compare(False)  # pressed elsewhere, let go in a text field
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            # not delivered, so a number box cannot claim the key: the shortcut runs
            return isinstance(watched, (QAbstractSpinBox, QComboBox)) or key == int(COMPARE_KEY)
        if key != int(COMPARE_KEY):
            return False
        if not event.isAutoRepeat():
            self.window.canvas.hold_compare(event.type() == QEvent.Type.KeyPress)
        return True

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if old is None or new is None:
            return
        try:
            disabled = not old.isEnabled() and old.window() is self.window
        except RuntimeError:  # the old widget is being deleted
            return
        if disabled and new is not self.window.canvas and not is_text_field(new):
            self.window.canvas.setFocus(Qt.FocusReason.OtherFocusReason)
