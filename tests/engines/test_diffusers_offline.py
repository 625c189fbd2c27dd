"""Nothing contacts a hub: import, load and a whole generation run with every socket blocked.

Runs in a fresh interpreter without any HF_* variable set, so it is GPT Studio itself that puts
the Hugging Face libraries offline; every attempt to open a connection (or resolve a host name)
is recorded and refused, and the test fails if there was even one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import diffusers_tiny as tiny
import pytest
from diffusers_tiny import one_torch_thread  # noqa: F401  (autouse fixture)

pytest.importorskip("diffusers")

CHILD = textwrap.dedent(
    """
    import json, socket, sys
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network blocked by the test")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from gptstudio.cli import main

    code = main(sys.argv[1:])
    print("RESULT" + json.dumps({"code": code, "attempts": attempts}))
    """
)


def test_generate_runs_with_the_network_blocked(tmp_path: Path) -> None:
    tiny.install("sd3", "offline-sd3")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "HUGGINGFACE"))}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # an empty cache: nothing to fall back on
    env["OMP_NUM_THREADS"] = "1"  # tiny networks: see diffusers_tiny.one_torch_thread
    out = tmp_path / "fox.png"
    args = ["generate", "--prompt", "a fox", "--model", "offline-sd3", "--size", "32x32", "--steps", "2"]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *args, "--seed", "3", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next((s for s in proc.stdout.splitlines() if s.startswith("RESULT")), None)
    assert line is not None, proc.stderr[-2000:]
    result = json.loads(line[len("RESULT") :])
    assert result["attempts"] == []
    assert result["code"] == 0, proc.stderr[-2000:]
    assert out.is_file()
