"""``folio models``: the models Folio can use, what their headers say, and whether they fit;
the catalog of models to download, and the download itself."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from desktop.cli.errors import EXIT_INTERRUPTED, UsageError
from desktop.core.formatting import (
    duration_text,
    exact_size_text,
    parameters_text,
    size_text,
    speed_text,
)
from desktop.core.models.catalog import CatalogEntry, CatalogError, load_catalog
from desktop.core.models.download import (
    DownloadError,
    DownloadPaused,
    DownloadProgress,
    DownloadRequest,
    download,
    download_request,
)
from desktop.core.models.registry import (
    ModelEntry,
    ModelImportError,
    import_model,
    known_model_files,
    scan,
)
from desktop.core.paths import AppPaths
from desktop.core.settings.schema import Settings
from desktop.core.settings.store import load_settings

# Without a terminal (a log, a pipe) progress is a plain line at every tenth of the file.
PLAIN_PROGRESS_STEPS = 10
# When the server does not say how large the file is, a plain line every this many bytes.
PLAIN_PROGRESS_BYTES = 100_000_000


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    if args.models_command == "list":
        return _list(paths, args.json)
    if args.models_command == "import":
        try:
            target = import_model(args.path, paths.models, link=args.link)
        except ModelImportError as error:
            raise UsageError(str(error)) from None
        print(f"{'linked' if args.link else 'imported'}: {target}")
        return 0
    if args.models_command == "catalog":
        return _catalog(paths, args.json)
    if args.models_command == "download":
        return _download(paths, args.source, args.sha256, args.name)
    raise UsageError(
        "say what to do: “folio models list”, “folio models import PATH”, "
        "“folio models catalog” or “folio models download URL_OR_CATALOG_NAME”"
    )


def _known_files(paths: AppPaths, settings: Settings) -> list[Path]:
    model_path = settings.model.model_path
    if model_path and not Path(model_path).expanduser().is_file():
        print(
            f"folio: warning: the chat model in the settings is not at "
            f"{Path(model_path).expanduser()}; the window will use the starter model until you "
            "choose another",
            file=sys.stderr,
        )
    return known_model_files(paths.cache, [model_path, settings.documents.embedding_model])


def _list(paths: AppPaths, as_json: bool) -> int:
    settings = load_settings(paths.settings_file).settings
    context = int(settings.value("context_length"))
    models, unusable = scan(paths.models, _known_files(paths, settings), context)
    for problem in unusable:
        print(f"folio: warning: {problem.reason}", file=sys.stderr)
    if as_json:
        print(json.dumps([_entry_json(model) for model in models], indent=2))
        return 0
    if not models:
        print(f"No models yet. Put GGUF files in {paths.models} or use “folio models import”.")
    for model in models:
        print(_entry_line(model))
    return 0


def _entry_json(model: ModelEntry) -> dict[str, Any]:
    return {
        "name": model.name,
        "path": str(model.path),
        "architecture": model.architecture,
        "parameters": model.parameters,
        "quantization": model.quantization,
        "context_length": model.context_length,
        "has_chat_template": model.has_chat_template,
        "embedding_model": model.is_embedding_model,
        "size_bytes": model.size_bytes,
        "licence": model.licence or None,
        "fit": str(model.fit),
        "memory": {
            "context": model.context_for_estimate,
            "weights_bytes": model.estimate.weights_bytes,
            "kv_cache_bytes": model.estimate.kv_cache_bytes,
            "overhead_bytes": model.estimate.overhead_bytes,
            "required_bytes": model.estimate.required_bytes,
            "available_bytes": model.estimate.available_bytes,
        },
    }


def _entry_line(model: ModelEntry) -> str:
    kind = (
        "embedding"
        if model.is_embedding_model
        else ("chat" if model.has_chat_template else "base (no chat template)")
    )
    fit = {"fits": "Fits", "tight": "Tight", "wont_fit": "Won't fit"}[str(model.fit)]
    return (
        f"{model.name}  ·  {model.architecture}, {parameters_text(model.parameters)} parameters, "
        f"{model.quantization}, {size_text(model.size_bytes)}, {kind}\n"
        f"    {fit}: needs {model.estimate.required_gb:.1f} GB at "
        f"{model.context_for_estimate:,} tokens of context, "
        f"{model.estimate.available_gb:.1f} GB free  ·  {model.path}"
    )


def _load_catalog() -> list[CatalogEntry]:
    try:
        return load_catalog()
    except CatalogError as error:
        raise UsageError(str(error)) from None


def _catalog(paths: AppPaths, as_json: bool) -> int:
    entries = _load_catalog()
    if as_json:
        listed = [
            {**asdict(entry), "downloaded": (paths.models / entry.filename).is_file()}
            for entry in entries
        ]
        print(json.dumps(listed, indent=2, ensure_ascii=False))
        return 0
    for entry in entries:
        downloaded = "  ·  downloaded" if (paths.models / entry.filename).is_file() else ""
        print(
            f"{entry.name}  ·  {entry.kind}, {exact_size_text(entry.size_bytes)}, {entry.licence}"
            f"{downloaded}\n    {entry.description}\n    folio models download {entry.filename}"
        )
    return 0


def _find_in_catalog(source: str) -> CatalogEntry | None:
    wanted = source.strip().casefold()
    for entry in _load_catalog():
        if wanted in (entry.name.casefold(), entry.filename.casefold()):
            return entry
    return None


def _download(paths: AppPaths, source: str, sha256: str | None, name: str | None) -> int:
    request = _request(source, sha256, name)
    notes: list[str] = []
    if request.sha256 is None:
        notes.append(
            "folio: warning: without --sha256 the file cannot be verified; it is only "
            "checked to be a whole GGUF model"
        )
    sized = f" ({exact_size_text(request.size_bytes)})" if request.size_bytes else ""
    notes.append(f"Downloading {request.filename}{sized} into {paths.models}")

    # The notes wait for the server's first answer, so a bad link ends in one line.
    printer = _ProgressPrinter(sys.stderr, notes)
    stop = threading.Event()
    outcome: dict[str, Path | BaseException] = {}

    done = threading.Event()

    def fetch() -> None:
        try:
            outcome["path"] = download(
                request.url,
                paths.models,
                sha256=request.sha256,
                filename=request.filename,
                progress=printer,
                stop=stop,
            )
        except BaseException as error:
            outcome["error"] = error
        finally:
            done.set()

    # The download runs beside the main thread so that Ctrl+C reaches the main thread at once
    # and stops the transfer cleanly between two chunks, keeping what has arrived. The wait is
    # on an event rather than on join(), which an interrupt can leave in a confused state.
    worker = threading.Thread(target=fetch, name="folio-download", daemon=True)
    try:
        worker.start()
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop.set()
        printer.end_line()
        sys.stderr.write("folio: pausing the download…\n")
        sys.stderr.flush()
        done.wait()
    worker.join()
    printer.end_line()

    error = outcome.get("error")
    if isinstance(error, DownloadPaused):
        amount = exact_size_text(error.kept_bytes)
        if error.total_bytes:
            amount += f" of {exact_size_text(error.total_bytes)}"
        print(
            f"folio: paused with {amount} kept in {paths.models}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if isinstance(error, DownloadError):
        raise UsageError(str(error))
    if isinstance(error, BaseException):
        raise error
    print(outcome["path"])
    return 0


def _request(source: str, sha256: str | None, name: str | None) -> DownloadRequest:
    """A link, or a model of the catalog by its name or file name, checked before it starts."""
    try:
        if "://" in source:
            return download_request(source, sha256=sha256, filename=name)
        entry = _find_in_catalog(source)
        if entry is None:
            raise UsageError(
                f"“{source}” is neither a link nor a model in the catalog; "
                "“folio models catalog” lists the models by name"
            )
        if sha256 is not None and sha256.strip().lower() != entry.sha256:
            raise UsageError(
                f"--sha256 differs from the catalog's checksum for “{entry.name}”; "
                "leave it out to use the catalog's"
            )
        return entry.request(filename=name)
    except DownloadError as error:
        raise UsageError(str(error)) from None


class _ProgressPrinter:
    """One line rewritten in place on a terminal; occasional plain lines anywhere else."""

    def __init__(self, stream: TextIO, notes: list[str]) -> None:
        self._stream = stream
        self._notes = notes
        self._interactive = stream.isatty()
        self._width = 0
        self._printed_step = -1

    def __call__(self, progress: DownloadProgress) -> None:
        # Whole lines in one write each: the main thread may write to the stream meanwhile.
        for note in self._notes:
            self._write(note + "\n")
        self._notes = []
        line = _progress_line(progress)
        if self._interactive:
            padding = " " * max(self._width - len(line), 0)
            self._write(f"\r{line}{padding}")
            self._width = len(line)
            return
        if progress.total_bytes:
            step = progress.received_bytes * PLAIN_PROGRESS_STEPS // progress.total_bytes
        else:
            step = progress.received_bytes // PLAIN_PROGRESS_BYTES
        if step > self._printed_step:
            self._printed_step = step
            self._write(line + "\n")

    def end_line(self) -> None:
        if self._interactive and self._width:
            self._write("\n")
            self._width = 0

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _progress_line(progress: DownloadProgress) -> str:
    received = exact_size_text(progress.received_bytes)
    if progress.total_bytes:
        share = progress.received_bytes / progress.total_bytes
        amount = f"{received} of {exact_size_text(progress.total_bytes)} ({share:.0%})"
    else:
        amount = received
    parts = [amount]
    if progress.bytes_per_second > 0:
        parts.append(speed_text(progress.bytes_per_second))
    if progress.seconds_left is not None:
        parts.append(f"{duration_text(progress.seconds_left)} left")
    return "  ·  ".join(parts)
