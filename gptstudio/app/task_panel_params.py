"""The task panel filled back from stored parameters: "Reuse parameters" and the remembered state.

Two things fill the panel from a plain ``dict`` of request parameters rather than from a person's
clicks: an opened image (or saved document) that holds the parameters it was made with (the
banner offers "Reuse parameters"), and the panel's own settings remembered between sessions in
``QSettings``. Both go through :meth:`StoredParams.apply`, so a remembered value and a reused one
are checked and set the same way. ``task_panel.py`` keeps the controls and builds the request; it
asks :meth:`StoredParams.carried_for` for the settings that have no control but still change the
result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from gptstudio.app.task_panel_rows import AUTO_NOISE, SEED_MAX
from gptstudio.core.vocabulary import TASK_LABELS

if TYPE_CHECKING:
    from gptstudio.app.task_panel import TaskPanel

#: Stored settings with no control in the panel that "Reuse parameters" carries into the next run.
CARRIED = ("grow", "tile")
#: Text settings remembered between sessions, and the numbers with the type each is read back as.
_TEXT_KEYS = ("task", "model", "mode", "prompt", "negative_prompt")
_NUMBER_KEYS = (
    ("steps", int),
    ("strength", float),
    ("guidance", float),
    ("feather", float),
    ("scale", float),
    ("noise_level", float),
)


class ParamsBanner(QFrame):
    """The "This image was made with …" line and the Reuse parameters button, over the task panel."""

    reuse_requested = Signal(object)  # the dict as is (a QVariantMap would convert its values)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paramsBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.reuse_button = QPushButton("Reuse parameters")
        self.reuse_button.setObjectName("reuseParameters")
        self.reuse_button.setToolTip("Set the task, model and settings this image was made with")
        layout.addWidget(self.label)
        layout.addWidget(self.reuse_button)
        self.hide()
        self._params: dict[str, Any] = {}
        self.reuse_button.clicked.connect(lambda: self.reuse_requested.emit(self._params))

    def show_params(self, params: dict[str, Any]) -> None:
        """Offer "Reuse parameters" for an opened image that holds our parameters (hide otherwise)."""
        self._params = dict(params)
        if not params or "task" not in params:
            self.hide()
            return
        bits = [TASK_LABELS.get(str(params["task"]), str(params["task"]))]
        if params.get("model"):
            bits.append(str(params["model"]))
        if params.get("seed") is not None:
            bits.append(f"seed {params['seed']}")
        self.label.setText("This image was made with " + ", ".join(bits) + ".")
        self.reuse_button.show()
        self.show()

    def show_missing(self, missing: list[str]) -> None:
        """After Reuse: the settings were set, except these, which are not installed here."""
        self.label.setText(f"Reused the settings, except {', '.join(missing)}: not installed here.")
        self.reuse_button.hide()
        self.show()


class StoredParams:
    """Sets a :class:`~gptstudio.app.task_panel.TaskPanel` from stored parameters, and saves and
    restores its state between sessions."""

    def __init__(self, panel: TaskPanel) -> None:
        self.panel = panel
        self._carried: tuple[str, dict[str, Any]] = ("", {})

    def carried_for(self, task: str) -> dict[str, Any]:
        """The settings without a control that the last reused parameters set for ``task``."""
        carried_task, carried = self._carried
        return dict(carried) if carried_task == task else {}

    def apply(self, params: dict[str, Any]) -> list[str]:
        """Set task, model and settings from stored parameters; returns what could not be applied."""
        p = self.panel
        missing: list[str] = []
        task = params.get("task")
        if task and not p.set_task(str(task)):
            missing.append(f"task {task}")
        model = params.get("model")
        if model and not p.set_model(str(model)):
            missing.append(f"model {model}")
        if "mode" in params:
            index = p.mode_combo.findData(params["mode"])
            if index >= 0:
                p.mode_combo.setCurrentIndex(index)
        if "prompt" in params:
            p.prompt.setPlainText(str(params["prompt"]))
        if "negative_prompt" in params:
            p.negative_prompt.setText(str(params["negative_prompt"]))
        if params.get("seed") is not None:
            p.seed.setValue(int(params["seed"]) % (SEED_MAX + 1))
            p.seed_lock.setChecked(True)
        for key, box in (("steps", p.steps), ("strength", p.strength), ("guidance", p.guidance)):
            if key in params:
                box.setValue(params[key])
        if "feather" in params:
            p.feather.setValue(float(params["feather"]))
        noise = params.get("noise_level")
        p.noise_level.setValue(AUTO_NOISE if noise is None else float(noise))
        if params.get("scale"):
            p.set_scale(float(params["scale"]))
        p.rows.generate.apply(params)
        lora = p.rows.generate.missing_lora(params)
        if lora:
            missing.append(f"LoRA {lora}")
        if "mask_from_alpha" in params and p.fill_transparent.isEnabled():
            p.fill_transparent.setChecked(bool(params["mask_from_alpha"]))
        # Settings the panel shows no control for still change the result: carry them into the
        # next request of the same task, so "Reuse parameters" repeats the job exactly.
        self._carried = (str(task or ""), {k: params[k] for k in CARRIED if params.get(k) is not None})
        p.params_banner.hide()
        return missing

    def save(self, settings: QSettings) -> None:
        """Remember the task, model and settings, so the next start picks up where this one ended."""
        p = self.panel
        settings.setValue("panel/task", p.current_task() or "")
        settings.setValue("panel/model", p.model_combo.currentData() or "")
        values = p.values()
        for key in ("mode", "prompt", "negative_prompt", "steps", "strength", "guidance", "feather", "scale"):
            settings.setValue(f"panel/{key}", values[key])
        noise = values["noise_level"]
        settings.setValue("panel/noise_level", AUTO_NOISE if noise is None else noise)
        settings.setValue("panel/seed", int(p.seed.value()))
        settings.setValue("panel/seed_locked", bool(p.seed_lock.isChecked()))

    def restore(self, settings: QSettings) -> None:
        """Bring back what :meth:`save` stored; a model no longer installed is skipped."""
        params: dict[str, Any] = {}
        for key in _TEXT_KEYS:
            value = settings.value(f"panel/{key}")
            if value:
                params[key] = str(value)
        for key, kind in _NUMBER_KEYS:
            value = settings.value(f"panel/{key}")
            if value is not None:
                try:
                    params[key] = kind(value)
                except (TypeError, ValueError):
                    pass
        self.apply(params)
        p = self.panel
        seed = settings.value("panel/seed")
        if seed is not None:
            p.seed.setValue(int(seed) % (SEED_MAX + 1))
        p.seed_lock.setChecked(str(settings.value("panel/seed_locked", "false")).lower() == "true")
