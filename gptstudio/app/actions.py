"""The window's actions, menus and toolbars: what the user can do and where it is offered.

Built as plain functions over the window so the action objects keep their names on it
(``window.act_run`` and so on: the help table, the tests and the benchmark use them); the slots
they call live on the controllers the window wires together.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar

from gptstudio.app.tool_options import ToolOptionsBar
from gptstudio.app.tools import Tool


def _action(
    w: Any, text: str, slot: Any = None, shortcut: Any = None, tip: str = "", checkable: bool = False
) -> QAction:
    action = QAction(text, w)
    if shortcut is not None:
        if isinstance(shortcut, list):
            action.setShortcuts(shortcut)
        else:
            action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    action.setCheckable(checkable)
    if slot is not None:
        action.triggered.connect(slot)
    w.addAction(action)
    return action


def build_actions(w: Any) -> None:
    SK = QKeySequence.StandardKey
    w.act_open = _action(w, "&Open…", w.session.open_dialog, SK.Open, "Open an image")
    w.act_save = _action(
        w,
        "&Save",
        w.session.save,
        SK.Save,
        "Save the document (image, original, mask, history) as OpenRaster",
    )
    w.act_save_as = _action(w, "Save &As…", w.session.save_as, SK.SaveAs, "Save under a new name")
    w.act_export = _action(
        w, "&Export…", w.session.export_dialog, "Ctrl+E", "Write a copy as PNG, JPEG, WebP or TIFF"
    )
    w.act_load_mask = _action(
        w, "Load &Mask…", w.load_mask_dialog, None, "Load a mask image (white = change)"
    )
    w.act_quit = _action(w, "&Quit", w.close, SK.Quit, "Close GPT Studio")
    w.act_undo = w.undo_stack.createUndoAction(w, "&Undo")
    w.act_undo.setShortcuts(SK.Undo)
    w.act_redo = w.undo_stack.createRedoAction(w, "&Redo")
    w.act_redo.setShortcuts([QKeySequence(SK.Redo), QKeySequence("Ctrl+Y")])
    w.addAction(w.act_undo)
    w.addAction(w.act_redo)
    # Toolbar twins with a fixed label, so the toolbar does not jump as "Undo <what>" changes.
    w.tool_undo = QAction("Undo", w)
    w.tool_undo.triggered.connect(w.undo_stack.undo)
    w.undo_stack.canUndoChanged.connect(w.tool_undo.setEnabled)
    w.undo_stack.undoTextChanged.connect(w._undo_tip)
    w.tool_redo = QAction("Redo", w)
    w.tool_redo.triggered.connect(w.undo_stack.redo)
    w.undo_stack.canRedoChanged.connect(w.tool_redo.setEnabled)
    w.undo_stack.redoTextChanged.connect(w._undo_tip)
    undo_tip(w)
    w.act_clear_mask = _action(
        w, "&Clear Mask", w.masks.clear, "Ctrl+Shift+Backspace", "Remove the whole mask"
    )
    w.act_fill_mask = _action(w, "&Fill Mask", w.masks.fill, "Ctrl+Shift+F", "Mask the whole image")
    w.act_invert_mask = _action(w, "&Invert Mask", w.masks.invert, "Ctrl+I", "Swap masked and unmasked")
    w.act_mask_from_selection = _action(
        w, "Mask from &Selection", w.masks.from_selection, "Ctrl+Shift+M", "Make the selection the mask"
    )
    w.act_deselect = _action(w, "&Deselect", w.masks.deselect, "Ctrl+D", "Drop the selection")
    w.act_grow_mask = _action(
        w, "&Grow Mask…", lambda: w.regions.ask_morph("grow"), None, "Grow the masked area by N pixels"
    )
    w.act_shrink_mask = _action(
        w, "S&hrink Mask…", lambda: w.regions.ask_morph("shrink"), None, "Shrink the masked area by N pixels"
    )
    w.act_feather_mask = _action(
        w,
        "Feat&her Mask…",
        lambda: w.regions.ask_morph("feather"),
        None,
        "Soften the mask's edge by N pixels",
    )
    w.act_zoom_in = _action(
        w, "Zoom &In", w.canvas.zoom_in, [QKeySequence(SK.ZoomIn), QKeySequence("Ctrl+=")]
    )
    w.act_zoom_out = _action(w, "Zoom &Out", w.canvas.zoom_out, SK.ZoomOut)
    w.act_fit = _action(w, "&Fit to Window", w.canvas.fit, "Ctrl+0")
    w.act_actual = _action(w, "&100 %", w.canvas.actual_size, "Ctrl+1")
    w.act_show_mask = _action(w, "Show &Mask", w.canvas.set_mask_visible, "H", checkable=True)
    w.act_show_mask.setChecked(True)
    w.act_compare = _action(
        w,
        "&Compare Before/After",
        w._toggle_compare,
        "Y",
        "Split view with the original; hold \\ to flip",
        True,
    )
    w.act_run = _action(w, "&Run Task", w.jobs.run, "Ctrl+Return", "Run the chosen task")
    w.act_cancel = _action(w, "&Cancel Jobs", w.jobs.cancel_all, "Ctrl+.", "Stop the running job")
    w.act_models = _action(
        w,
        "&Models…",
        lambda: w.show_models(w.panel.current_task()),
        None,
        "Download, import and remove models for each task",
    )
    w.act_batch = _action(
        w, "&Batch…", w.show_batch, None, "Run a task on every image of a folder (resumable)"
    )
    w.act_train = _action(
        w,
        "&Train…",
        w.show_train,
        None,
        "Fine-tune a denoiser, restorer, inpainter or a LoRA on a folder of your own photos",
    )
    w.act_extend_canvas = _action(
        w,
        "E&xtend Canvas…",
        lambda: w.extend_canvas.ask(w),
        None,
        "Add a border on any side; it becomes the mask, and Run with Inpaint fills it (outpainting)",
    )
    w.act_adjust = _action(
        w,
        "&Adjust…",
        w.show_adjust,
        "Ctrl+Shift+A",
        "Brightness, contrast, colour, levels and white balance, with a live preview",
    )
    w.act_about = _action(w, "&About GPT Studio", w.show_about)
    w.act_open_logs = _action(
        w, "Open &Log Folder", w.open_log_folder, None, "Show the log files (to attach to a problem report)"
    )
    w.act_shortcuts = _action(w, "&Keyboard Shortcuts", w.show_shortcuts, SK.HelpContents)
    w.tool_group = QActionGroup(w)
    w.tool_actions: dict[Tool, QAction] = {}
    tool_keys = (
        (Tool.BRUSH, "B"), (Tool.ERASER, "E"), (Tool.RECT, "M"), (Tool.LASSO, "L"), (Tool.OBJECT, "O"),
        (Tool.WAND, "W"),
    )  # fmt: skip
    for tool, key in tool_keys:
        act = _action(
            w,
            tool.label,
            lambda _c=False, t=tool: w.tools.set_tool(t),
            key,
            f"{tool.label} ({key})",
            True,
        )
        act.setObjectName(f"tool_{tool.value}")
        w.tool_group.addAction(act)
        w.tool_actions[tool] = act
    w.tool_actions[Tool.BRUSH].setChecked(True)
    w.act_bigger = _action(w, "Bigger Brush", lambda: w.tools.grow(1.15), "]")
    w.act_smaller = _action(w, "Smaller Brush", lambda: w.tools.grow(1 / 1.15), "[")


def undo_tip(w: Any) -> None:
    w.tool_undo.setEnabled(w.undo_stack.canUndo())
    w.tool_redo.setEnabled(w.undo_stack.canRedo())
    w.tool_undo.setToolTip(w.act_undo.text().replace("&", "") + f" ({w.act_undo.shortcut().toString()})")
    w.tool_redo.setToolTip(w.act_redo.text().replace("&", "") + f" ({w.act_redo.shortcut().toString()})")


def build_menus(w: Any) -> None:
    bar = w.menuBar()
    file = bar.addMenu("&File")
    file.addAction(w.act_open)
    w.recent_menu = file.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w._fill_recent_menu)
    w._fill_recent_menu()
    file.addSeparator()
    for act in (w.act_save, w.act_save_as, w.act_export):
        file.addAction(act)
    file.addSeparator()
    file.addAction(w.act_load_mask)
    file.addSeparator()
    file.addAction(w.act_quit)
    edit = bar.addMenu("&Edit")
    edit.addAction(w.act_undo)
    edit.addAction(w.act_redo)
    edit.addSeparator()
    for act in (
        w.act_clear_mask,
        w.act_fill_mask,
        w.act_invert_mask,
        w.act_mask_from_selection,
        w.act_deselect,
        None,
        w.act_grow_mask,
        w.act_shrink_mask,
        w.act_feather_mask,
        None,
        w.act_extend_canvas,
    ):
        if act is None:
            edit.addSeparator()
        else:
            edit.addAction(act)
    view = bar.addMenu("&View")
    for act in (w.act_zoom_in, w.act_zoom_out, w.act_fit, w.act_actual):
        view.addAction(act)
    view.addSeparator()
    view.addAction(w.act_show_mask)
    view.addAction(w.act_compare)
    view.addSeparator()
    panel_toggle = w.task_dock.toggleViewAction()
    panel_toggle.setText("&Task Panel")
    panel_toggle.setStatusTip("Show or hide the task panel (remembered for the next start)")
    view.addAction(panel_toggle)
    w.view_menu = view  # the Theme submenu goes here (appearance.py)
    models = bar.addMenu("&Models")
    models.addAction(w.act_models)
    tools = bar.addMenu("&Tools")
    tools.setToolTipsVisible(True)
    for act in w.tool_actions.values():
        tools.addAction(act)
    tools.addSeparator()
    tools.addAction(w.act_run)
    tools.addAction(w.act_cancel)
    tools.addSeparator()
    tools.addAction(w.act_adjust)
    tools.addAction(w.act_batch)
    tools.addAction(w.act_train)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(w.act_shortcuts)
    help_menu.addAction(w.act_open_logs)
    help_menu.addSeparator()
    help_menu.addAction(w.act_about)


def build_toolbars(w: Any) -> None:
    main = QToolBar("Main")
    main.setObjectName("mainToolbar")
    main.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for act in (
        w.act_open,
        w.act_save,
        None,
        w.tool_undo,
        w.tool_redo,
        None,
        w.act_fit,
        w.act_actual,
        None,
        w.act_show_mask,
        w.act_compare,
    ):
        if act is None:
            main.addSeparator()
        else:
            main.addAction(act)
    w.addToolBar(main)
    opts = ToolOptionsBar(w.tools, w.tool_actions, w)
    w.size_box, w.hardness_box = opts.size_box, opts.hardness_box
    w.shape_combo, w.split_slider = opts.shape_combo, opts.split_slider
    w.split_slider.valueChanged.connect(w._split_moved)
    w.addToolBarBreak()
    w.addToolBar(opts)


def update_enabled(w: Any) -> None:
    """Document actions are offered only while a document is open."""
    has = w.document is not None
    for act in (
        w.act_save,
        w.act_save_as,
        w.act_export,
        w.act_load_mask,
        w.act_clear_mask,
        w.act_fill_mask,
        w.act_invert_mask,
        w.act_grow_mask,
        w.act_shrink_mask,
        w.act_feather_mask,
        w.act_compare,
        w.act_extend_canvas,
    ):
        act.setEnabled(has)
    # Generate needs no open picture: on an empty window it makes a new one
    w.act_run.setEnabled(has or w.panel.current_task() == "generate")
    w.act_mask_from_selection.setEnabled(has and not w.canvas.selection.isEmpty())
