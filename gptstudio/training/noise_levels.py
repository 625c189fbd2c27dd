"""The noise level a training patch is labelled with, for GRT's noise-level input.

At run time the level comes from a blind estimate of the photo (``estimate_noise_sigma``), which
the user can raise or lower. So the network learns from both kinds of label: the true strength of
the damage (the standard deviation of damaged − clean, jittered, so a user's number means "this much
noise") and the estimator's reading of the damaged patch (so the default works as the estimator
reads photos, including its bias on JPEG, blur and correlated camera noise), and sometimes no
label at all, which keeps the blind model working.
"""

from __future__ import annotations

import numpy as np
import torch

from gptstudio.core.noise_estimate import estimate_noise_sigma

#: Shares of (true level, estimated level, unknown) labels.
LABEL_SHARES = (0.4, 0.4, 0.2)
#: The true level is multiplied by a factor in this range, so a label near the truth is enough.
JITTER = (0.85, 1.15)


def label_noise_levels(noisy: torch.Tensor, clean: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """One σ (8-bit levels) per patch of the N×3×H×W 0..1 batch; −1 means "unknown"."""
    true = ((noisy - clean).flatten(1).std(dim=1) * 255.0).numpy()
    kinds = rng.choice(3, size=len(true), p=LABEL_SHARES)
    out = np.full(len(true), -1.0, dtype=np.float32)
    for i, kind in enumerate(kinds):
        if kind == 0:
            out[i] = true[i] * rng.uniform(*JITTER)
        elif kind == 1:
            out[i] = estimate_noise_sigma(noisy[i].permute(1, 2, 0).numpy())
    return torch.from_numpy(out)
