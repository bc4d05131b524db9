"""``folio models``: the models Folio can use, what their headers say, and whether they fit."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop.core.config import load_settings
from desktop.core.model_registry import ModelEntry, ModelImportError, import_model, scan
from desktop.core.paths import AppPaths


def add_parser(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    models = commands.add_parser(
        "models", help="List the models (the models folder and the starter models), or import one."
    )
    actions = models.add_subparsers(
        dest="models_command", metavar="ACTION", parser_class=parser_class
    )
    listing = actions.add_parser(
        "list", help="Each model's architecture, size, quantization and memory fit."
    )
    listing.add_argument("--json", action="store_true")
    importing = actions.add_parser("import", help="Copy a GGUF file into the models folder.")
    importing.add_argument("path", type=Path, metavar="PATH")
    importing.add_argument(
        "--link", action="store_true", help="Link to the file where it is instead of copying it."
    )


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    from desktop.cli import UsageError

    if args.models_command == "list":
        return _list(paths, args.json)
    if args.models_command == "import":
        try:
            target = import_model(args.path, paths.models, link=args.link)
        except ModelImportError as error:
            raise UsageError(str(error)) from None
        print(f"{'linked' if args.link else 'imported'}: {target}")
        return 0
    raise UsageError("say what to do: “folio models list” or “folio models import PATH”")


def _known_files(paths: AppPaths, model_path: str) -> list[Path]:
    from desktop.core.embedder import STARTER_EMBEDDER_FILE
    from desktop.core.models import starter_model_path

    files = [starter_model_path(), paths.cache / "models" / STARTER_EMBEDDER_FILE]
    if model_path:
        chosen = Path(model_path).expanduser()
        if not chosen.is_file():
            print(
                f"folio: warning: the chat model in the settings is not at {chosen}; "
                "the window will use the starter model until you choose another",
                file=sys.stderr,
            )
        files.append(chosen)
    return [path for path in files if path is not None and path.is_file()]


def _list(paths: AppPaths, as_json: bool) -> int:
    settings = load_settings(paths.settings_file).settings
    context = int(settings.value("context_length"))
    models, unusable = scan(
        paths.models, _known_files(paths, str(settings.value("model_path"))), context
    )
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
        f"{model.name}  ·  {model.architecture}, {_parameters(model.parameters)} parameters, "
        f"{model.quantization}, {model.size_bytes / 1e6:,.0f} MB, {kind}\n"
        f"    {fit}: needs {model.estimate.required_gb:.1f} GB at "
        f"{model.context_for_estimate:,} tokens of context, "
        f"{model.estimate.available_gb:.1f} GB free  ·  {model.path}"
    )


def _parameters(count: int) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.1f}B"
    return f"{count / 1e6:.0f}M"
