"""``folio index``, ``library``, ``search`` and ``eval``: the document library without the
window, on the same core and the same data folder.

``folio index`` exits 0 when every file given was indexed (or already was), 1 when some were
and others could not be, and 2 when a path given does not exist (then nothing is indexed) or
when nothing at all could be indexed; each file that was not is named on stderr with why.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from desktop.cli.errors import EXIT_BAD_INPUT, EXIT_FAILED, CommandError, UsageError
from desktop.core.documents.evaluation import QuestionFileError, evaluate_file
from desktop.core.documents.library import (
    DATABASE,
    Library,
    LibraryNotFoundError,
    tidy_library,
)
from desktop.core.documents.records import (
    AddOutcome,
    DocumentRecord,
    DocumentStatus,
    IndexProgress,
    LibraryHit,
)
from desktop.core.documents.relevance import describe
from desktop.core.documents.session import LibrarySession
from desktop.core.errors import EngineError
from desktop.core.formatting import count_text, path_text, terminal_text
from desktop.core.locks import FolderBusyError, WriterLock, is_locked
from desktop.core.paths import AppPaths
from desktop.core.settings.store import load_settings


@contextmanager
def open_library(paths: AppPaths, *, write: bool = False) -> Iterator[Library]:
    """The library, with the embedding model it was indexed with while that file exists: the
    settings may name another (a damaged file reset it), and a CLI run must never cost the
    library its vectors.

    ``write``: the command changes the library, and holds the data folder's writer lock while
    it runs (refused, naming the holder, while the window or another indexer has it).
    Otherwise the library is only read, safely beside a writer, and nothing is written."""
    documents = load_settings(paths.settings_file).settings.documents
    configured = documents.embedding_model
    program: str | None = "“folio index”" if write else None
    if not write:
        _tidy_when_nobody_writes(paths)
        if not (paths.data / "library" / DATABASE).is_file() and not is_locked(paths.data):
            # No library yet, and nobody making one: an empty one is made, as a writer would.
            program, write = "“folio” (making the library)", True
    with writer_lock(paths, program):
        session = LibrarySession(paths.data / "library", paths.cache, writable=write)
        session.configure(documents)
        with _closing(session):
            kept = session.open(Path(configured).expanduser() if configured else None)
            if kept:
                print(
                    f"folio: note: this library was indexed with {kept}; using it (the "
                    "settings name another model; switch models in Settings to index again)",
                    file=sys.stderr,
                )
            library = session.library
            assert library is not None
            yield library


def _tidy_when_nobody_writes(paths: AppPaths) -> None:
    """While nobody writes to the library, a command that only reads it may bring it up to
    date first (a library from an older Folio, a run killed part-way); while another process
    writes, that process has done so, and nothing is touched."""
    try:
        with WriterLock(paths.data, "“folio” (tidying the library)"):
            tidy_library(paths.data / "library")
    except (FolderBusyError, OSError, sqlite3.Error):
        pass  # someone writes, or the folder cannot be written: read it as it is


@contextmanager
def writer_lock(paths: AppPaths, program: str | None) -> Iterator[None]:
    """The data folder's writer lock for ``program`` while the block runs (None: no lock, the
    command only reads)."""
    if program is None:
        yield
        return
    lock = WriterLock(paths.data, program)
    try:
        lock.acquire()
    except FolderBusyError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(
            f"Folio cannot change its data folder {paths.data}: "
            f"{error.strerror or error}. Check that it is writable and the disk is not full."
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _closing(session: LibrarySession) -> Iterator[None]:
    try:
        yield
    finally:
        session.close()


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    # Bad input is refused before the embedder and the vector store are opened.
    if args.command == "search" and not args.query.strip():
        raise UsageError("the query is empty")
    if args.command == "search" and args.k < 1:
        raise UsageError("-k must be at least 1")
    if args.command == "eval" and not args.qa_file.is_file():
        raise UsageError(f"there is no file at {args.qa_file}")
    if args.command == "index":
        missing = [path for path in args.paths if not path.expanduser().exists()]
        if missing:
            return _refuse_missing(missing, args.json)
    try:
        with open_library(paths, write=args.command == "index") as library:
            if args.command == "index":
                return _index(library, args.paths, args.json)
            if args.command == "library":
                return _list(library, args.json)
            if args.command == "search":
                return _search(library, args.query, args.k, args.json)
            if args.command == "eval" and args.answers:
                from desktop.cli.answers import evaluate_answers_command

                return evaluate_answers_command(library, args, paths)
            if args.command == "eval":
                return _evaluate(library, args.qa_file, args.json)
    except LibraryNotFoundError as error:
        if args.command == "library":
            return _print_documents([], args.json)
        if args.command == "search":
            return _print_hits(args.query, [], args.json)
        raise UsageError(str(error)) from None
    except EngineError as error:
        raise UsageError(str(error)) from None
    raise UsageError(f"unknown command {args.command}")


def shown(value: object) -> str:
    """A path, name or message as it may be printed on a terminal (see ``terminal_text``)."""
    return terminal_text(str(value))


def _document_json(record: DocumentRecord) -> dict[str, Any]:
    return {
        "path": path_text(record.path),
        "title": record.display_title,
        "status": str(record.status),
        "pages": record.pages,
        "chunks": record.chunks,
        "error": record.message or None,
    }


def _unindexed_json(path: Path, status: str, reason: str) -> dict[str, Any]:
    """A path given that is not a document of the library (missing, refused or skipped)."""
    return {
        "path": path_text(path),
        "title": None,
        "status": status,
        "pages": 0,
        "chunks": 0,
        "error": reason,
    }


def _refuse_missing(missing: list[Path], as_json: bool) -> int:
    """A path that does not exist is a typo or a stale path: nothing is indexed, so that the
    command can simply be run again once the paths are right."""
    for path in missing:
        print(f"folio: error: there is no file or folder at {shown(path)}", file=sys.stderr)
    summary = (
        f"{len(missing):,} of the paths given {'does' if len(missing) == 1 else 'do'} not "
        "exist; nothing was indexed"
    )
    print(f"folio: error: {summary}", file=sys.stderr)
    if as_json:
        report = [
            _unindexed_json(
                Path(path).expanduser().absolute(),
                "not_found",
                f"There is no file or folder at {path}.",
            )
            for path in missing
        ]
        print(json.dumps({"documents": report, "error": summary}, ensure_ascii=False))
    return EXIT_BAD_INPUT


def _index(library: Library, targets: list[Path], as_json: bool) -> int:
    added = library.add(targets)
    report: list[dict[str, Any]] = []
    # Why each file given (or found in a folder given) was not indexed.
    problems: list[tuple[Path, str]] = []
    for result in added:
        if result.document is None:
            report.append(_unindexed_json(result.path, result.outcome, result.message))
            if result.outcome == AddOutcome.FAILED:
                problems.append((result.path, result.message))
            elif not as_json:
                print(
                    f"{result.outcome:<10} {shown(result.path)}: {shown(result.message)}",
                    flush=True,
                )

    def on_progress(progress: IndexProgress) -> None:
        if not as_json and progress.page == progress.pages:
            left = progress.seconds_left
            print(
                f"  {shown(progress.document.name)}: {count_text(progress.pages, 'page')} "
                f"({progress.pages_per_second:.1f} pages/s"
                + (f", about {left:.0f} s left" if left is not None else "")
                + ")",
                file=sys.stderr,
                flush=True,
            )

    library.index_queued(progress=on_progress)
    _read_headings(library)
    indexed = 0
    for result in added:
        if result.document is None:
            continue
        record = library.document(result.document.id) or result.document
        entry = _document_json(record)
        # Report each file under its own name, also a copy of a document already indexed.
        entry["path"] = path_text(result.path)
        if result.outcome == "unchanged" and record.path != result.path:
            entry["error"] = f"Same content as {record.path.name}, which is already indexed."
        report.append(entry)
        if record.status in (DocumentStatus.READY, DocumentStatus.MISSING):
            indexed += 1
            if not as_json:
                detail = entry["error"] or (
                    f"{count_text(record.pages, 'page')}, {count_text(record.chunks, 'chunk')}"
                )
                print(f"{record.status:<10} {shown(result.path)} ({shown(detail)})", flush=True)
        else:
            problems.append((result.path, record.message or f"It is {record.status}."))
    code, summary = _index_outcome(indexed, problems)
    for path, reason in problems:
        print(f"folio: error: {shown(path)}: {shown(reason)}", file=sys.stderr)
    if summary:
        print(f"folio: error: {summary}", file=sys.stderr)
    if as_json:
        print(json.dumps({"documents": report, "error": summary or None}, ensure_ascii=False))
    return code


def _index_outcome(indexed: int, problems: list[tuple[Path, str]]) -> tuple[int, str]:
    """The exit code, and what went wrong in one line ("" when nothing did)."""
    if not indexed:
        if not problems:
            return EXIT_BAD_INPUT, "there was no PDF, text or Markdown file to index"
        return EXIT_BAD_INPUT, "nothing could be indexed"
    if problems:
        attempted = indexed + len(problems)
        return EXIT_FAILED, f"{len(problems):,} of {attempted:,} documents could not be indexed"
    return 0, ""


def _read_headings(library: Library) -> None:
    """Documents indexed by a Folio from before headings were read get theirs now (their
    first pages are read, nothing is indexed again), so that they are reported by title."""
    while library.read_headings():
        pass


def _list(library: Library, as_json: bool) -> int:
    _read_headings(library)
    return _print_documents(library.documents(), as_json)


def _print_documents(documents: list[DocumentRecord], as_json: bool) -> int:
    if as_json:
        print(json.dumps({"documents": [_document_json(d) for d in documents]}, ensure_ascii=False))
    else:
        for record in documents:
            title = f"  ({record.display_title})" if record.has_title else ""
            print(
                f"{record.status:<10} {record.pages:>5} pages {record.chunks:>6} chunks  "
                f"{shown(record.path)}{shown(title)}"
            )
    return 0


def _search(library: Library, query: str, k: int, as_json: bool) -> int:
    return _print_hits(query, library.search(query, k), as_json)


def _print_hits(query: str, hits: list[LibraryHit], as_json: bool) -> int:
    if as_json:
        print(
            json.dumps(
                {
                    "query": query,
                    "results": [
                        {
                            "file": hit.document.path.name,
                            "path": str(hit.document.path),
                            "page_start": hit.chunk.page_start,
                            "page_end": hit.chunk.page_end,
                            # The one relevance score (0 to 1) the window shows too; the
                            # results are in search order (fused ranks), best first.
                            "relevance": round(float(hit.relevance), 4),
                            "text": hit.chunk.text,
                        }
                        for hit in hits
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        for rank, hit in enumerate(hits, 1):
            snippet = " ".join(hit.chunk.text.split())[:160]
            print(
                f"{rank:>2}. {shown(hit.document.name)} p. {hit.chunk.page_start}"
                f" (label {hit.chunk.page_label}) relevance {describe(hit.relevance)}  {snippet}"
            )
    return 0


def _evaluate(library: Library, qa_file: Path, as_json: bool) -> int:
    try:
        report = evaluate_file(library, qa_file)
    except QuestionFileError as error:
        raise UsageError(str(error)) from None
    if as_json:
        print(json.dumps(report))
    else:
        for name, metrics in [("overall", report["overall"]), *report["by_source"].items()]:
            print(
                f"{name:<18} n={metrics['n']:<3} "
                + " ".join(f"R@{k}={metrics[f'recall@{k}']:.3f}" for k in (1, 3, 5, 10))
                + f" MRR@10={metrics['mrr@10']:.3f}"
            )
    return 0
