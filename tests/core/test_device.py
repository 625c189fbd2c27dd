"""Device, dtype and seeds: the user's choice wins, missing hardware is a clear error, runs repeat."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from gptstudio.core import device
from gptstudio.core.device import ENV_DEVICE, choose_device, choose_dtype, seed_everything
from gptstudio.core.errors import InvalidRequestError


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A computer without CUDA or Metal, whatever this test machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch, no_gpu: None) -> None:
    monkeypatch.delenv(ENV_DEVICE, raising=False)
    assert choose_device() == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert choose_device() == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device("auto") == "cuda"


def test_environment_variable_and_option_override(monkeypatch: pytest.MonkeyPatch, fake_cuda: None) -> None:
    monkeypatch.setenv(ENV_DEVICE, "cpu")
    assert choose_device() == "cpu"  # the environment beats automatic CUDA
    assert choose_device("cuda") == "cuda"  # an explicit option beats the environment
    assert choose_device("CUDA:0") == "cuda:0"
    monkeypatch.setenv(ENV_DEVICE, "cuda")
    assert choose_device("cpu") == "cpu"


def test_unknown_device_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidRequestError, match=r"Unknown device 'tpu'.*cpu"):
        choose_device("tpu")
    with pytest.raises(InvalidRequestError, match="Unknown device"):
        choose_device("cpu:1")
    monkeypatch.setenv(ENV_DEVICE, "gpu")
    with pytest.raises(InvalidRequestError, match=f"'gpu' \\(set in {ENV_DEVICE}\\)"):
        choose_device()


def test_cuda_requested_without_cuda(monkeypatch: pytest.MonkeyPatch, no_gpu: None) -> None:
    with pytest.raises(InvalidRequestError, match=r"'cuda'.*not available.*'cpu'"):
        choose_device("cuda")
    with pytest.raises(InvalidRequestError, match="mps"):
        choose_device("mps")
    monkeypatch.setenv(ENV_DEVICE, "cuda")
    with pytest.raises(InvalidRequestError, match=ENV_DEVICE):
        choose_device()


def test_missing_gpu_index(fake_cuda: None) -> None:
    with pytest.raises(InvalidRequestError, match=r"cuda:3.*1 CUDA GPU"):
        choose_device("cuda:3")


def test_half_precision_only_on_gpu_and_where_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert choose_dtype("cpu", supports_half=True, supports_bf16=True) == torch.float32
    assert choose_dtype("cuda", supports_half=False) == torch.float32
    assert choose_dtype("cuda", supports_half=True) == torch.float16
    assert choose_dtype("cuda:0", supports_half=False, supports_bf16=True) == torch.float32
    assert choose_dtype("mps", supports_half=True) == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert choose_dtype("cuda", supports_half=True, supports_bf16=True) == torch.bfloat16


def test_seeds_make_runs_repeat() -> None:
    def draw() -> tuple[float, float, list[float]]:
        return random.random(), float(np.random.rand()), torch.rand(3).tolist()

    assert seed_everything(1234) == 1234
    first = draw()
    seed_everything(1234)
    assert draw() == first
    seed_everything(1235)
    assert draw() != first


def test_no_seed_picks_one_and_reports_it() -> None:
    seed = seed_everything(None)
    assert 0 <= seed < 2**31
    first = float(np.random.rand())
    seed_everything(seed)
    assert float(np.random.rand()) == first
    assert seed_everything(-1) >= 0


def test_describe_device() -> None:
    assert device.describe_device("cpu").startswith("CPU (")
    assert "Metal" in device.describe_device("mps")
