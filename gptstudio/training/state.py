"""What of a module goes into a checkpoint: everything, or only what trains.

A LoRA trains a few thousand adapter weights inside a Transformer of billions; copying the frozen
base into every checkpoint would make each one as large as the model. So a module with frozen
parameters is saved without them, and loading accepts either form (the frozen weights are what
the base model file already holds).
"""

from __future__ import annotations

import torch

from gptstudio.core.errors import InvalidRequestError


def trainable_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The module's state, without frozen parameters when it has some (a LoRA's base model is not
    copied into every checkpoint); :func:`load_trainable_state` reads either form."""
    frozen = {n for n, p in module.named_parameters() if not p.requires_grad}
    if not frozen or len(frozen) == len(list(module.parameters())):
        return module.state_dict()
    return {k: v for k, v in module.state_dict().items() if k not in frozen}


def load_trainable_state(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    full = module.state_dict()
    if set(state) == set(full):
        module.load_state_dict(state)
        return
    unexpected = set(state) - set(full)
    if unexpected:
        raise InvalidRequestError(f"The checkpoint does not match the network: {sorted(unexpected)[:3]}")
    module.load_state_dict(state, strict=False)
