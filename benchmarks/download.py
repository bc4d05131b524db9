"""Folio's model download against a plain copy of the same bytes, on loopback, in one run.

    python -m benchmarks.download [--file PATH] [--rounds 3] [--json]

A loopback server sends a real GGUF (the template-less test model by default). Folio's
``download`` (resumable writing, SHA-256 of every byte, GGUF header check, rename) is timed
against a bare ``urllib`` read-and-write of the same response, interleaved A B A B, medians.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BenchResult,
    ReferenceUnavailableError,
    interleaved,
    median,
)
from desktop.core.models.download import download
from desktop.core.models.starter import templateless_model_path


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *_args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _plain_copy(url: str, target: Path, hashed: bool = False) -> None:
    digest = hashlib.sha256()
    with urllib.request.urlopen(url) as response, target.open("wb") as out:
        while block := response.read(1 << 20):
            out.write(block)
            if hashed:
                digest.update(block)
        if hashed:
            # Folio makes the file durable before renaming it into place; so does the fair
            # reference.
            out.flush()
            os.fsync(out.fileno())


def run(rounds: int = 5, file: Path | None = None) -> BenchResult:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = file or templateless_model_path(root / "cache")
        if source is None:
            raise ReferenceUnavailableError("no model file to serve; pass --file")
        served = root / "served"
        served.mkdir()
        shutil.copyfile(source, served / source.name)
        digest = hashlib.sha256((served / source.name).read_bytes()).hexdigest()
        size = (served / source.name).stat().st_size
        server, base = _serve(served)
        url = f"{base}/{source.name}"
        counter = iter(range(10 * rounds))

        def folio() -> float:
            folder = root / f"folio-{next(counter)}"
            started = time.perf_counter()
            download(url, folder, sha256=digest)
            elapsed = time.perf_counter() - started
            shutil.rmtree(folder)
            return elapsed

        def copy(hashed: bool) -> float:
            target = root / f"copy-{next(counter)}.gguf"
            started = time.perf_counter()
            _plain_copy(url, target, hashed=hashed)
            elapsed = time.perf_counter() - started
            target.unlink()
            return elapsed

        try:
            folio_times, plain_times, hashed_times = interleaved(
                rounds, folio, lambda: copy(False), lambda: copy(True)
            )
        finally:
            server.shutdown()
    folio_s, plain, hashed = median(folio_times), median(plain_times), median(hashed_times)
    result = BenchResult("download")
    result.figures = {
        "file_bytes": size,
        "folio_mb_per_s": round(size / folio_s / 1e6, 1),
        "plain_copy_mb_per_s": round(size / plain / 1e6, 1),
        "hashed_copy_mb_per_s": round(size / hashed / 1e6, 1),
        "rounds": rounds,
    }
    result.ratios = {
        "folio_vs_plain_copy": plain / folio_s,
        # The fair reference: a copy that also computes the SHA-256 and syncs to disk, as
        # Folio has to.
        "folio_vs_hashed_copy": hashed / folio_s,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        result = run(args.rounds, args.file)
    except ReferenceUnavailableError as exc:
        print(f"download: {exc}", file=sys.stderr)
        return 4
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        figures, ratios = result.figures, result.ratios
        print(
            f"{figures['file_bytes'] / 1e6:.0f} MB on loopback: Folio "
            f"{figures['folio_mb_per_s']} MB/s (checked); plain copy "
            f"{figures['plain_copy_mb_per_s']} MB/s, copy + SHA-256 + fsync "
            f"{figures['hashed_copy_mb_per_s']} MB/s; Folio vs copy + SHA-256 + fsync "
            f"{ratios['folio_vs_hashed_copy']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
