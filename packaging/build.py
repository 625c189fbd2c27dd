"""Build the double-click bundle: ``python packaging/build.py``.

Runs PyInstaller on ``packaging/gptstudio.spec`` (one folder: the windowed editor
``gptstudio-gui`` and the CLI ``gptstudio`` sharing one Python), then adds what the spec cannot
express: on Linux the per-user install and uninstall scripts with the desktop entry template and
icons at the top of the folder, and on every platform ``BUILD-INFO.json`` (version, which PyTorch
build went in — that decides the size —, whether prompt generation is included). The bundle is
built against whatever PyTorch the build environment has: install PyTorch's CPU build there first
for the small variant (packaging/README.md says how).

Why a script and not only the spec: the spec is PyInstaller's; staging files next to the
executables (outside ``_internal``) and recording the variant happen after PyInstaller, and the
tests stage the Linux files into a fake bundle with the same function the build uses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "gptstudio.spec"
LINUX = HERE / "linux"
ICONS = ROOT / "gptstudio" / "resources" / "icons"
APP_NAME = "gptstudio"
#: What the Linux install script needs beside the executables.
LINUX_SCRIPTS = ("install.sh", "uninstall.sh")


def stage_linux(bundle: Path) -> list[Path]:
    """Put the install/uninstall scripts, the desktop entry template and the icons into ``bundle``."""
    written = []
    for name in LINUX_SCRIPTS:
        target = bundle / name
        shutil.copyfile(LINUX / name, target)
        target.chmod(0o755)
        written.append(target)
    share = bundle / "share"
    (share / "icons").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LINUX / "gptstudio.desktop.in", share / "gptstudio.desktop.in")
    written.append(share / "gptstudio.desktop.in")
    for icon in sorted(ICONS.iterdir()):
        if icon.suffix in (".png", ".svg"):
            shutil.copyfile(icon, share / "icons" / icon.name)
            written.append(share / "icons" / icon.name)
    return written


def torch_variant() -> str:
    """``cpu``, ``cuda12.8``, ``rocm6.4`` …: which PyTorch build the bundle carries."""
    import torch

    if getattr(torch.version, "hip", None):
        return f"rocm{torch.version.hip.split('-')[0]}"
    if torch.version.cuda:
        return f"cuda{torch.version.cuda}"
    return "cpu"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def write_build_info(bundle: Path, with_generate: bool, seconds: float) -> dict:
    import torch

    import gptstudio

    info = {
        "name": APP_NAME,
        "version": gptstudio.__version__,
        "variant": torch_variant(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "with_generate": with_generate,
        "build_seconds": round(seconds, 1),
        "size_bytes": folder_size(bundle),
    }
    tmp = bundle / ".BUILD-INFO.json.tmp"
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    tmp.replace(bundle / "BUILD-INFO.json")
    return info


def archive(bundle: Path, info: dict) -> Path:
    """A .tar.gz on Linux (keeps the executable bits), a .zip elsewhere, next to the bundle."""
    stem = bundle.parent / f"{APP_NAME}-{info['version']}-{info['platform']}-{info['variant']}"
    if sys.platform.startswith("linux"):
        target = stem.with_suffix(".tar.gz")
        with tarfile.open(target, "w:gz", compresslevel=6) as tar:
            tar.add(bundle, arcname=APP_NAME)
        return target
    return Path(shutil.make_archive(str(stem), "zip", bundle.parent, bundle.name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the GPT Studio bundle with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle folder goes")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller", help="scratch folder")
    parser.add_argument(
        "--no-generate", action="store_true", help="leave out prompt generation (diffusers, transformers)"
    )
    parser.add_argument("--archive", action="store_true", help="also pack the folder for download")
    args = parser.parse_args(argv)
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print('PyInstaller is not installed: pip install -e ".[bundle]"', file=sys.stderr)
        return 2
    with_generate = not args.no_generate
    if with_generate:
        try:
            import diffusers  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            print("diffusers/transformers are not installed; building without prompt generation.")
            with_generate = False
    env = dict(os.environ, GPTSTUDIO_BUNDLE_GENERATE="1" if with_generate else "0")
    start = time.perf_counter()
    command = [
        sys.executable, "-m", "PyInstaller", "--noconfirm",
        "--distpath", str(args.dist), "--workpath", str(args.work), str(SPEC),
    ]  # fmt: skip
    print("+", " ".join(command), flush=True)
    subprocess.run(command, env=env, check=True)
    bundle = args.dist / APP_NAME
    if sys.platform.startswith("linux"):
        stage_linux(bundle)
    info = write_build_info(bundle, with_generate, time.perf_counter() - start)
    print(json.dumps(info, indent=2))
    if args.archive:
        print("archive:", archive(bundle, info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
