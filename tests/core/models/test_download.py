"""The model downloader against a real HTTP server on loopback that can misbehave on request."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

import gguf
import numpy as np
import pytest

from desktop.cli import models as models_cli
from desktop.cli.main import run_cli
from desktop.core.models import catalog as model_catalog
from desktop.core.models import transfer
from desktop.core.models.catalog import CatalogError, load_catalog
from desktop.core.models.download import (
    DownloadError,
    DownloadPaused,
    DownloadProgress,
    download,
)
from desktop.core.models.registry import scan
from tests.support.cli import REPO_ROOT

MODEL = "tiny-test-model.gguf"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real, complete GGUF of about 2 MB (random weights, so every byte matters)."""
    path = tmp_path_factory.mktemp("served") / MODEL
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Tiny Test Model")
    writer.add_context_length(512)
    rng = np.random.default_rng(7)
    writer.add_tensor("weights", rng.standard_normal((512, 1024)).astype(np.float32))
    writer.add_tensor("bias", rng.standard_normal((1024,)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


class ModelServer:
    """Serves ``files`` with Range support; the switches make it misbehave."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.ranges: list[str | None] = []
        self.user_agents: list[str | None] = []
        self.status: int | None = None
        self.ignore_range = False
        self.tamper = False
        # Send this many bytes of each response, then close the connection; ``drops_left``
        # responses are cut short (-1: every one).
        self.drop_after: int | None = None
        self.drops_left = 0
        # Send this many bytes, then wait for ``release`` before sending the rest.
        self.hold_after: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.model_server = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="model-server")

    def url(self, name: str = MODEL) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{name}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close, so no test leaves one running.
    daemon_threads = False
    model_server: ModelServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        served = self.server.model_server
        served.ranges.append(self.headers.get("Range"))
        served.user_agents.append(self.headers.get("User-Agent"))
        if served.status is not None:
            self.send_error(served.status)
            return
        body = served.files.get(urllib.parse.urlsplit(self.path).path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        if served.tamper:
            body = body[:-64] + bytes(byte ^ 0xFF for byte in body[-64:])
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = 0
        if wanted and not served.ignore_range:
            start = int(wanted.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            if served.drop_after is not None and served.drops_left != 0:
                served.drops_left -= 1 if served.drops_left > 0 else 0
                self.wfile.write(payload[: served.drop_after])
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if served.hold_after is not None:
                self.wfile.write(payload[: served.hold_after])
                served.held.set()
                served.release.wait(60)
                payload = payload[served.hold_after :]
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # The client stopped reading: a pause, which is what some tests ask for.


@pytest.fixture
def server(model_bytes: bytes) -> Iterator[ModelServer]:
    served = ModelServer({MODEL: model_bytes})
    served.start()
    yield served
    served.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "models"


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def partial_of(folder: Path, name: str = MODEL) -> Path:
    return folder / f".{name}.part"


# -- downloads that succeed ----------------------------------------------------------------------


def test_a_download_is_verified_and_renamed_and_leaves_no_part(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    reports: list[DownloadProgress] = []

    path = download(server.url(), folder, sha256=sha256_of(model_bytes), progress=reports.append)

    assert path == folder / MODEL
    assert path.read_bytes() == model_bytes
    assert leftovers(folder) == [MODEL]
    assert server.ranges == [None]
    assert server.user_agents == ["Folio"]
    assert reports[-1].received_bytes == reports[-1].total_bytes == len(model_bytes)
    assert all(report.total_bytes == len(model_bytes) for report in reports)
    models, unusable = scan(folder)
    assert [model.path for model in models] == [path] and unusable == []


def test_the_real_starter_model_downloads_intact(
    server: ModelServer, folder: Path, starter_model: Path
) -> None:
    starter = starter_model.read_bytes()
    server.files[starter_model.name] = starter

    path = download(server.url(starter_model.name), folder, sha256=sha256_of(starter))

    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256_of(starter)
    assert path.name == starter_model.name
    assert leftovers(folder) == [starter_model.name]


def test_pause_keeps_the_part_and_the_next_call_resumes_with_a_range(
    server: ModelServer, folder: Path, model_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every chunk reported, so the pause comes at a known point rather than a timer's.
    monkeypatch.setattr(transfer, "PROGRESS_INTERVAL_S", 0.0)
    stop = threading.Event()

    def pause_after_a_while(report: DownloadProgress) -> None:
        if report.received_bytes >= 300_000:
            stop.set()

    with pytest.raises(DownloadPaused, match="paused"):
        download(
            server.url(),
            folder,
            sha256=sha256_of(model_bytes),
            progress=pause_after_a_while,
            stop=stop,
        )

    part = partial_of(folder)
    kept = part.stat().st_size
    assert 300_000 <= kept < len(model_bytes)
    assert part.read_bytes() == model_bytes[:kept]
    assert not (folder / MODEL).exists()
    assert scan(folder) == ([], [])  # a part is never shown as a model

    path = download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert server.ranges == [None, f"bytes={kept}-" if kept else None]
    assert sha256_of(path.read_bytes()) == sha256_of(model_bytes)
    assert leftovers(folder) == [MODEL]


def test_a_dropped_connection_is_resumed_automatically(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    server.drop_after, server.drops_left = 300_000, 1

    path = download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert server.ranges == [None, "bytes=300000-"]
    assert path.read_bytes() == model_bytes
    assert leftovers(folder) == [MODEL]


def test_a_connection_that_always_drops_gives_up_keeps_the_part_and_resumes_later(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    server.drop_after, server.drops_left = 200_000, -1

    with pytest.raises(DownloadError, match="failed 3 times") as failed:
        download(server.url(), folder, sha256=sha256_of(model_bytes), retries=2)

    assert not isinstance(failed.value, DownloadPaused)
    assert "kept" in str(failed.value)
    assert server.ranges == [None, "bytes=200000-", "bytes=400000-"]
    assert partial_of(folder).read_bytes() == model_bytes[:600_000]
    assert not (folder / MODEL).exists()

    server.drops_left = 0
    path = download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert server.ranges[-1] == "bytes=600000-"
    assert path.read_bytes() == model_bytes
    assert leftovers(folder) == [MODEL]


def test_a_server_that_ignores_range_still_gives_a_correct_file(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    folder.mkdir()
    # A part that does not even match the file: only starting again from zero can be right.
    partial_of(folder).write_bytes(b"\0" * 500_000)
    server.ignore_range = True

    path = download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert server.ranges == ["bytes=500000-"]
    assert path.read_bytes() == model_bytes
    assert leftovers(folder) == [MODEL]


def test_a_part_that_is_already_whole_is_finished_without_downloading_again(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    folder.mkdir()
    partial_of(folder).write_bytes(model_bytes)

    path = download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert server.ranges == [f"bytes={len(model_bytes)}-"]  # answered 416
    assert path.read_bytes() == model_bytes
    assert leftovers(folder) == [MODEL]


def test_an_identical_file_already_there_is_returned_without_a_request(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    folder.mkdir()
    (folder / MODEL).write_bytes(model_bytes)

    path = download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert path == folder / MODEL
    assert server.ranges == []


def test_a_name_can_be_chosen_and_a_name_from_the_url_is_used_otherwise(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    server.files["weights%20v2.gguf"] = model_bytes

    chosen = download(server.url(), folder, filename="mine.gguf")
    from_url = download(server.url("weights%20v2.gguf"), folder)

    assert chosen == folder / "mine.gguf"
    assert from_url == folder / "weights v2.gguf"
    assert chosen.read_bytes() == from_url.read_bytes() == model_bytes


# -- downloads that are refused ------------------------------------------------------------------


def test_a_wrong_checksum_is_refused_and_nothing_is_left(server: ModelServer, folder: Path) -> None:
    with pytest.raises(DownloadError, match="not the one expected: checksum mismatch"):
        download(server.url(), folder, sha256="0" * 64)

    assert leftovers(folder) == []


def test_tampered_bytes_are_refused_and_nothing_is_left(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    server.tamper = True

    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert leftovers(folder) == []


def test_resuming_onto_a_foreign_part_fails_the_checksum(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    folder.mkdir()
    partial_of(folder).write_bytes(b"\0" * 500_000)

    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(server.url(), folder, sha256=sha256_of(model_bytes))

    assert server.ranges == ["bytes=500000-"]
    assert leftovers(folder) == []


def test_a_file_that_is_not_a_gguf_is_refused_even_with_a_matching_checksum(
    server: ModelServer, folder: Path
) -> None:
    page = b"<html><body>Please log in to download this model.</body></html>\n" * 50
    server.files["page.gguf"] = page

    with pytest.raises(DownloadError, match="not a GGUF model file") as refused:
        download(server.url("page.gguf"), folder, sha256=sha256_of(page))

    assert "“page.gguf”" in str(refused.value) and ".part" not in str(refused.value)
    assert leftovers(folder) == []


def test_a_truncated_gguf_is_refused_even_with_a_matching_checksum(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    cut = model_bytes[: len(model_bytes) // 2]
    server.files["cut.gguf"] = cut

    with pytest.raises(DownloadError, match="truncated"):
        download(server.url("cut.gguf"), folder, sha256=sha256_of(cut))

    assert leftovers(folder) == []


def test_an_existing_different_file_of_that_name_is_never_overwritten(
    server: ModelServer, folder: Path, model_bytes: bytes
) -> None:
    folder.mkdir()
    (folder / MODEL).write_bytes(b"someone else's model")

    for checksum in (sha256_of(model_bytes), None):
        with pytest.raises(DownloadError, match=r"already has .*file named"):
            download(server.url(), folder, sha256=checksum)

    assert (folder / MODEL).read_bytes() == b"someone else's model"
    assert server.ranges == []
    assert leftovers(folder) == [MODEL]


def test_too_little_free_space_is_refused_before_anything_is_written(
    server: ModelServer, folder: Path
) -> None:
    with pytest.raises(DownloadError, match=r"needs \d.* MB, and 0\.0 MB is free"):
        download(server.url(), folder, free_space=lambda _: 1000)

    assert leftovers(folder) == []


def test_a_disk_that_fills_up_during_the_download_gives_a_clear_error(
    server: ModelServer, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = transfer._open_part

    class FillingFile:
        def __init__(self, real: BinaryIO) -> None:
            self._real = real
            self._room = 100_000

        def write(self, data: bytes) -> int:
            if len(data) > self._room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self._room -= len(data)
            return self._real.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._real, name)

    monkeypatch.setattr(
        transfer, "_open_part", lambda path, append: FillingFile(real_open(path, append))
    )

    with pytest.raises(DownloadError, match="The disk is full"):
        download(server.url(), folder)

    assert leftovers(folder) == []


@pytest.mark.parametrize(
    ("status", "fragment"),
    [(404, "404 Not Found"), (403, "refused the download"), (500, "had a problem")],
)
def test_http_errors_give_one_clear_error(
    server: ModelServer, folder: Path, status: int, fragment: str
) -> None:
    server.status = status

    with pytest.raises(DownloadError, match=fragment):
        download(server.url(), folder)

    assert server.ranges == [None]  # not retried
    assert leftovers(folder) == []


def test_a_missing_file_is_a_404(server: ModelServer, folder: Path) -> None:
    with pytest.raises(DownloadError, match="There is no file at that address"):
        download(server.url("nothing-here.gguf"), folder)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/model.gguf", "file:///etc/passwd.gguf", "model.gguf", "https:///x.gguf"],
)
def test_only_http_and_https_addresses_are_downloaded(url: str, folder: Path) -> None:
    with pytest.raises(DownloadError, match="not a web address Folio can download from"):
        download(url, folder)
    assert not folder.exists()


def test_a_link_without_a_gguf_name_needs_a_name(server: ModelServer, folder: Path) -> None:
    with pytest.raises(DownloadError, match=r"does not end in \.gguf"):
        download(server.url("model.bin"), folder)
    with pytest.raises(DownloadError, match="plain file name"):
        download(server.url(), folder, filename="../escape.gguf")
    assert server.ranges == []


def test_a_malformed_checksum_is_refused(server: ModelServer, folder: Path) -> None:
    with pytest.raises(DownloadError, match="not a SHA-256 checksum"):
        download(server.url(), folder, sha256="abc123")
    assert server.ranges == []


def test_an_unreachable_server_gives_one_clear_error(folder: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on that port any more.
    with pytest.raises(DownloadError, match="refused the connection"):
        download(f"http://127.0.0.1:{port}/{MODEL}", folder)


# -- the catalog ---------------------------------------------------------------------------------


def test_the_shipped_catalog_is_well_formed() -> None:
    entries = load_catalog()

    assert len(entries) >= 3
    assert {entry.kind for entry in entries} == {"chat", "embedding"}
    for entry in entries:
        assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256), entry.name
        assert entry.url.startswith("https://huggingface.co/"), entry.name
        assert "/resolve/main/" in entry.url, entry.name
        assert entry.url.endswith("/" + entry.filename), entry.name
        assert entry.filename.endswith(".gguf")
        assert entry.size_bytes > 10_000_000
        assert entry.licence and entry.description and entry.name
    assert len({entry.sha256 for entry in entries}) == len(entries)


def catalog_with(tmp_path: Path, models: Any) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": models}), encoding="utf-8")
    return path


GOOD_ENTRY = {
    "name": "Tiny Test Model",
    "filename": MODEL,
    "url": "https://example.org/tiny-test-model.gguf",
    "size_bytes": 2_000_000,
    "sha256": "a" * 64,
    "licence": "MIT",
    "description": "A model for tests.",
    "kind": "chat",
}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"sha256": "abc"}, "“sha256” that is not 64 hexadecimal"),
        ({"url": "ftp://example.org/x.gguf"}, "not an http or https address"),
        ({"kind": "vision"}, "must be one of chat, embedding"),
        ({"size_bytes": "2 GB"}, "“size_bytes” as a positive whole number"),
        ({"filename": "model.bin"}, "does not end in .gguf"),
        ({"filename": "../model.gguf"}, "plain file name"),
        ({"description": ""}, "“description” as a non-empty string"),
    ],
)
def test_a_malformed_catalog_entry_is_named_in_the_error(
    tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    path = catalog_with(tmp_path, [GOOD_ENTRY, {**GOOD_ENTRY, "name": "Second", **change}])

    with pytest.raises(CatalogError, match=re.escape(fragment)) as failed:
        load_catalog(path)

    assert "entry 2 (“Second”)" in str(failed.value)


def test_a_catalog_that_is_not_a_catalog_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text('{"models": [', encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_catalog(path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(CatalogError, match="“models” list"):
        load_catalog(path)
    with pytest.raises(CatalogError, match="twice"):
        load_catalog(catalog_with(tmp_path, [GOOD_ENTRY, {**GOOD_ENTRY, "filename": "b.gguf"}]))
    with pytest.raises(CatalogError, match="missing"):
        load_catalog(tmp_path / "nowhere.json")
    assert load_catalog(catalog_with(tmp_path, [GOOD_ENTRY]))[0].sha256 == "a" * 64


# -- folio models download / catalog -------------------------------------------------------------


def test_cli_downloads_a_link_with_its_checksum(
    server: ModelServer,
    folio_home: Path,
    model_bytes: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(["models", "download", server.url(), "--sha256", sha256_of(model_bytes)])

    captured = capsys.readouterr()
    saved = folio_home / "data" / "models" / MODEL
    assert code == 0, captured.err
    assert captured.out == f"{saved}\n"
    assert saved.read_bytes() == model_bytes
    assert "cannot be verified" not in captured.err
    assert "(100%)" in captured.err  # plain progress lines when stderr is not a terminal


def test_cli_refuses_a_wrong_checksum(
    server: ModelServer, folio_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["models", "download", server.url(), "--sha256", "1" * 64])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("folio: error: The file is not the one expected: checksum mismatch")
    assert leftovers(folio_home / "data" / "models") == []


def test_cli_warns_without_a_checksum_and_names_a_bad_source_in_one_line(
    server: ModelServer, folio_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["models", "download", server.url()]) == 0
    assert "folio: warning: without --sha256 the file cannot be verified" in capsys.readouterr().err

    assert run_cli(["models", "download", server.url("missing.gguf")]) == 2
    assert capsys.readouterr().err.startswith("folio: error: There is no file at that address")

    assert run_cli(["models", "download", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neither a link nor a model in the catalog" in err


def test_cli_downloads_a_catalog_model_by_name_and_lists_the_catalog(
    server: ModelServer,
    folio_home: Path,
    model_bytes: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    entry = {
        **GOOD_ENTRY,
        "url": server.url(),
        "sha256": sha256_of(model_bytes),
        "size_bytes": len(model_bytes),
    }
    catalog = catalog_with(tmp_path, [entry])
    monkeypatch.setattr(model_catalog, "shipped_catalog", lambda: catalog)

    assert run_cli(["models", "catalog", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(item["name"], item["downloaded"]) for item in listed] == [("Tiny Test Model", False)]

    assert run_cli(["models", "download", "tiny test model"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(folio_home / "data" / "models" / MODEL)
    assert "cannot be verified" not in captured.err  # the catalog's checksum was used

    assert run_cli(["models", "catalog"]) == 0
    assert "Tiny Test Model" in capsys.readouterr().out
    assert run_cli(["models", "download", MODEL, "--sha256", "2" * 64]) == 2
    assert "differs from the catalog's checksum" in capsys.readouterr().err


def test_cli_ctrl_c_pauses_with_exit_130_and_the_same_command_resumes(
    server: ModelServer, folio_home: Path, model_bytes: bytes
) -> None:
    command = [
        sys.executable,
        "-m",
        "desktop",
        "models",
        "download",
        server.url(),
        "--sha256",
        sha256_of(model_bytes),
    ]
    env = {**os.environ, "FOLIO_HOME": str(folio_home)}
    env.pop("QT_QPA_PLATFORM", None)
    server.hold_after = 400_000
    models = folio_home / "data" / "models"

    with subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as paused:
        assert server.held.wait(60), "the download never started"
        paused.send_signal(signal.SIGINT)
        assert paused.stderr is not None
        seen = []
        for line in paused.stderr:
            seen.append(line)
            if "pausing" in line:
                break
        server.release.set()
        out, err = paused.communicate(timeout=60)

    assert paused.returncode == 130, "".join(seen) + err
    assert out == ""
    assert "run the same command again to resume" in err
    assert "Traceback" not in "".join(seen) + err
    assert not (models / MODEL).exists()
    # How much arrived before the pause depends on the two processes' timing; the resume
    # asking for exactly that much is tested above, so here it only has to be consistent.
    kept = partial_of(models).stat().st_size if partial_of(models).exists() else 0
    assert kept < len(model_bytes)

    server.hold_after = None
    resumed = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == str(models / MODEL)
    assert server.ranges == [None, f"bytes={kept}-" if kept else None]
    assert (models / MODEL).read_bytes() == model_bytes
    assert leftovers(models) == [MODEL]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_one_line_rewritten_in_place() -> None:
    stream = _Terminal()
    printer = models_cli._ProgressPrinter(stream, ["Downloading tiny"])

    printer(DownloadProgress(0, 2_000_000, 0.0, None))
    printer(DownloadProgress(1_000_000, 2_000_000, 4_000_000.0, 95.0))
    printer.end_line()

    head, progress = stream.getvalue().split("\n", 1)
    assert head == "Downloading tiny"
    assert progress.count("\r") == 2 and progress.count("\n") == 1 and progress.endswith("\n")
    assert "\r1.0 MB of 2.0 MB (50%)  ·  4.0 MB/s  ·  1 min 35 s left" in progress


def test_without_a_terminal_progress_is_a_plain_line_every_tenth() -> None:
    stream = io.StringIO()
    printer = models_cli._ProgressPrinter(stream, [])

    for received in range(0, 2_000_001, 50_000):
        printer(DownloadProgress(received, 2_000_000, 1e6, None))
    printer.end_line()

    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split("(")[1].split(")")[0] for line in lines] == [
        f"{share}%" for share in range(0, 101, 10)
    ]
