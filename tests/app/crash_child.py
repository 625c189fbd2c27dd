"""Child process for the crash-recovery test: edit like a user, autosave, then die by SIGKILL."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtWidgets import QApplication


def main(image: str) -> None:
    import fake_engines
    from gui_helpers import drag

    from gptstudio.app.main_window import MainWindow
    from gptstudio.models import registry

    registry.register(fake_engines.fill_entry())
    app = QApplication([])
    window = MainWindow()
    window.show()
    window.open_path(image)
    window.tools.set_size(20)
    window.tools.set_hardness(1.0)
    drag(window, [(100, 120), (200, 120)])
    window.panel.set_task("inpaint")
    window.panel.set_model("test-green-fill")
    window.run_task()
    while window.undo_stack.count() < 2:
        app.processEvents()
    assert window.autosaver.save_now()
    assert window.autosaver.wait(60)
    print("AUTOSAVED", window.autosaver.folder, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1])
