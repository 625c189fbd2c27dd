"""One task vocabulary: the CLI, the network's mode embedding and training agree on names and order.

The shipped GRT weights learnt one bias per restore mode, indexed by position. If the order moved,
"jpeg" would silently run with the "deblur" bias: these tests fail first.
"""

from __future__ import annotations

from gptstudio.cli import build_parser
from gptstudio.core import vocabulary
from gptstudio.engines import base
from gptstudio.engines.native import arch, shipped
from gptstudio.engines.native.io import load
from gptstudio.training import degrade

#: The order the shipped weights were trained with (engines/native/weights/grt-restoration-v3.md).
TRAINED_ORDER = ("all", "jpeg", "deblur", "denoise")


def test_restore_mode_order_is_the_order_the_shipped_weights_learnt() -> None:
    assert vocabulary.RESTORE_MODES == TRAINED_ORDER
    assert arch.MODES == vocabulary.RESTORE_MODES
    assert base.RESTORE_MODES is vocabulary.RESTORE_MODES and base.TASKS is vocabulary.TASKS
    model, _ = load(shipped.WEIGHTS_FILE)
    assert model.mode_embed.weight.shape[0] == len(arch.MODES)  # one learnt bias per mode


def test_training_draws_the_same_mode_indices() -> None:
    indices = (degrade.MODE_ALL, degrade.MODE_JPEG, degrade.MODE_DEBLUR, degrade.MODE_DENOISE)
    assert [arch.MODES[i] for i in indices] == list(TRAINED_ORDER)


def test_the_cli_offers_the_vocabulary_modes_in_order() -> None:
    parser = build_parser(restore_available=True)
    restore = parser._subparsers._group_actions[0].choices["restore"]  # type: ignore[union-attr]
    mode = next(a for a in restore._actions if a.dest == "mode")
    assert tuple(mode.choices) == vocabulary.RESTORE_MODES


def test_every_task_and_mode_has_a_label() -> None:
    assert set(vocabulary.TASK_LABELS) == set(vocabulary.TASKS)
    assert set(vocabulary.MODE_LABELS) == set(vocabulary.RESTORE_MODES)
