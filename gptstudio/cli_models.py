"""``gptstudio models list|pull|verify|remove|import|info``: the model manager on the command line.

Kept apart from ``cli.py`` because it is one feature with six commands; ``cli.py`` adds them with
:func:`register`. Every command works offline except ``pull``, which is the only thing in the
program that downloads, and only because the user asked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
TORCHSCRIPT_HELP = (
    "allow opening a TorchScript program (it runs code from the file) once, to copy its weights "
    "into a safetensors file; only for files from a source you trust"
)


def register(sub: Any) -> None:
    """Add ``models`` and its subcommands to the main parser's subparsers."""
    m = sub.add_parser(
        "models",
        help="list, download, import, verify and remove models",
        description="The installed models per task, the catalog of downloadable ones, and the store.",
    )
    m.set_defaults(func=_cmd_list, task=None, available=False)
    msub = m.add_subparsers(dest="models_command", metavar="ACTION")

    ls = msub.add_parser("list", help="installed models per task (--available: the catalog too)")
    ls.add_argument("--task", help="only this task")
    ls.add_argument("--available", action="store_true", help="list the catalog with what is installed")
    ls.set_defaults(func=_cmd_list)

    p = msub.add_parser("pull", help="download a model from the catalog (resumes an unfinished one)")
    p.add_argument("model_ids", nargs="+", metavar="ID", help="catalog ids (see `models list --available`)")
    p.add_argument(
        "--accept-licence",
        action="store_true",
        help="confirm a restricted (e.g. non-commercial) licence after reading it",
    )
    p.add_argument("--allow-torchscript", action="store_true", help=TORCHSCRIPT_HELP)
    p.set_defaults(func=_cmd_pull)

    v = msub.add_parser("verify", help="re-check the sha256 of installed models")
    v.add_argument("model_ids", nargs="*", metavar="ID", help="default: every installed model")
    v.set_defaults(func=_cmd_verify)

    r = msub.add_parser("remove", help="delete an installed model (and any unfinished download)")
    r.add_argument("model_ids", nargs="+", metavar="ID")
    r.set_defaults(func=_cmd_remove)

    i = msub.add_parser("import", help="install a .safetensors, .pth or .ckpt file from this computer")
    i.add_argument("path", type=Path)
    i.add_argument("--id", dest="model_id", help="the id to give it (default: from the file name)")
    i.add_argument("--name", help="the name shown in the editor")
    i.add_argument("--allow-torchscript", action="store_true", help=TORCHSCRIPT_HELP)
    i.set_defaults(func=_cmd_import)

    n = msub.add_parser("info", help="everything known about a model (installed or in the catalog)")
    n.add_argument("model_id", metavar="ID")
    n.set_defaults(func=_cmd_info)


def _store() -> Any:
    from gptstudio.models.store import Store

    return Store()


def _cmd_list(args: argparse.Namespace) -> int:
    from gptstudio.engines.base import TASKS
    from gptstudio.models import registry
    from gptstudio.models.store import human_size

    if args.task is not None and args.task not in TASKS:
        print(f"gptstudio: unknown task '{args.task}'. Use one of: {', '.join(TASKS)}.", file=sys.stderr)
        return EXIT_FAILED
    tasks = [args.task] if args.task else list(TASKS)
    if args.available:
        return _list_catalog(tasks)
    for task in tasks:
        models = registry.models_for(task)
        if not models:
            continue
        print(f"{task}:")
        for k, info in enumerate(models):
            default = "  (default)" if k == 0 else ""
            print(f"  {info.id:<32} {info.name}{default}")
    store = _store()
    print(f"\nStore: {store.root}  ({human_size(store.disk_usage())} on disk)")
    print("More models: gptstudio models list --available")
    return EXIT_OK


def _list_catalog(tasks: list[str]) -> int:
    from gptstudio.models.catalog import load_catalog
    from gptstudio.models.store import human_size

    store = _store()
    catalog = load_catalog()
    for task in tasks:
        entries = catalog.for_task(task)
        if not entries:
            continue
        print(f"{task}:")
        for e in entries:
            if e.is_builtin:
                state = "built in"
            elif store.has(e.id):
                state = "installed"
            elif store.partial_bytes(e.id):
                state = f"partly downloaded ({human_size(store.partial_bytes(e.id))})"
            else:
                state = ("~" if not e.size_exact else "") + human_size(e.download_size)
            flag = "  [restricted licence]" if e.restricted else ""
            print(f"  {e.id:<32} {state:<12} {e.licence:<16} {e.name}{flag}")
    return EXIT_OK


def _cmd_pull(args: argparse.Namespace) -> int:
    from gptstudio.models import registry
    from gptstudio.models.catalog import load_catalog
    from gptstudio.models.manager import licence_notice, pull
    from gptstudio.models.store import human_size

    store = _store()
    catalog = load_catalog()
    entries = [catalog.get(i) for i in args.model_ids]  # unknown ids fail before any download
    for entry in entries:
        if store.has(entry.id):
            print(f"{entry.id}: already installed (`gptstudio models verify {entry.id}` checks it).")
            continue
        print(licence_notice(entry), file=sys.stderr)
        with _ByteBar(entry.id, entry.download_size) as bar:
            model = pull(
                entry,
                store,
                accept_licence=args.accept_licence,
                allow_torchscript=args.allow_torchscript,
                state=bar.state,
                on_progress=bar.update,
            )
        unverified = [f.name for f in model.files if not f.published_hash]
        print(f"{model.id}: installed ({human_size(model.size)}) in {model.folder}")
        if unverified:
            print(
                f"{model.id}: no sha256 is published for {', '.join(unverified)}; the hash computed now "
                "is recorded, and `models verify` checks against it from now on.",
                file=sys.stderr,
            )
    registry.refresh()
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from gptstudio.models.manager import verify

    store = _store()
    ids = args.model_ids or [m.id for m in store.list()]
    failed = 0
    for problem in store.problems() if not args.model_ids else []:
        print(f"damaged: {problem}")
        failed += 1
    if not ids and not failed:
        print("No downloaded or imported models are installed.")
    for model_id in ids:
        report = verify(store, model_id)
        if report.ok:
            print(f"{model_id}: ok")
        else:
            failed += 1
            print(f"{model_id}: FAILED: {'; '.join(report.problems)}")
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_remove(args: argparse.Namespace) -> int:
    from gptstudio.models import registry

    store = _store()
    for model_id in args.model_ids:
        store.remove(model_id)
        print(f"{model_id}: removed")
    registry.refresh()
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from gptstudio.models import registry
    from gptstudio.models.importer import import_file

    model = import_file(
        args.path, _store(), model_id=args.model_id, name=args.name, allow_torchscript=args.allow_torchscript
    )
    registry.refresh()
    scale = model.detected.get("scale", 1)
    print(
        f"{model.id}: imported as {model.architecture}"
        + (f" ×{scale}" if scale and scale > 1 else "")
        + f", for {', '.join(model.tasks)}. Use it with --model {model.id}."
    )
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    from gptstudio.core.errors import ModelError
    from gptstudio.models import registry
    from gptstudio.models.catalog import load_catalog
    from gptstudio.models.store import human_size

    store = _store()
    rows: list[tuple[str, str]] = []
    if store.has(args.model_id):
        m = store.get(args.model_id)
        rows += [
            ("id", m.id),
            ("name", m.name),
            ("tasks", ", ".join(m.tasks)),
            ("architecture", m.architecture),
        ]
        rows += [("licence", f"{m.licence} {m.licence_url}".strip()), ("source", m.source)]
        rows += [("installed", m.installed), ("folder", str(m.folder)), ("size", human_size(m.size))]
        for f in m.files:
            how = "published" if f.published_hash else "computed on first download"
            rows.append((f"file {f.name}", f"{human_size(f.size)}, sha256 {f.sha256} ({how})"))
        for key, value in sorted(m.detected.items()):
            rows.append((f"detected {key}", str(value)))
    else:
        try:
            e = load_catalog().get(args.model_id)
        except ModelError:
            info = registry.info(args.model_id)  # built in or registered: raises the clear error
            rows += [("id", info.id), ("name", info.name), ("tasks", ", ".join(info.tasks))]
            rows += [("architecture", info.architecture), ("licence", info.licence), ("status", "built in")]
        else:
            rows += [("id", e.id), ("name", e.name), ("tasks", ", ".join(e.tasks))]
            rows += [("architecture", e.architecture), ("licence", f"{e.licence} {e.licence_url}")]
            rows += [("source", e.source), ("memory", f"about {e.memory_mb} MB")]
            status = (
                "built in" if e.is_builtin else f"not installed ({human_size(e.download_size)} to download)"
            )
            rows.append(("status", status))
            if e.restricted:
                rows.append(("note", "restricted licence: pulling it needs --accept-licence"))
            rows.append(("description", e.description))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return EXIT_OK


class _ByteBar:
    """A tqdm bar in bytes (with speed and time left) fed by the downloader's progress."""

    def __init__(self, label: str, total: int) -> None:
        from tqdm import tqdm

        from gptstudio.core.progress import TaskState

        self._bar = tqdm(
            total=total or None,
            desc=label,
            unit="B",
            unit_scale=True,
            unit_divisor=1000,
            file=sys.stderr,
            leave=False,
            disable=None,
        )
        self._done: dict[str, int] = {}
        self.state = TaskState()

    def update(self, progress: Any) -> None:
        self._done[progress.file] = progress.done
        self._bar.n = sum(self._done.values())
        self._bar.refresh()

    def __enter__(self) -> _ByteBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
