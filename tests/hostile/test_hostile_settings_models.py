"""Bad settings files, bad model files, a read-only data folder and two setters at once: each
gets one clear line, a working command, and nothing already saved is lost."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.models.gguf import GGUFError, read_gguf_info
from desktop.core.settings.schema import SPECS
from desktop.core.settings.store import load_settings, update_settings, write_text_atomically
from tests.support.cli import REPO_ROOT, folio, write_settings
from tests.support.models import write_gguf


def _one_clear_line(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in run.stderr, run.stderr


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[generation]\nmax_tokens = " + "9" * 400 + "\n", "far too large"),
        ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "nests too deeply"),
        ("[generation\n", "could not be used"),
    ],
    ids=["400-digit-number", "nested-100k-deep", "broken-toml"],
)
def test_a_damaged_settings_file_is_reported_backed_up_once_and_commands_work(
    folio_home: Path, text: str, said: str
) -> None:
    write_settings(folio_home, text)
    for _ in range(3):
        run = folio("config", "show", home=folio_home)
        assert run.returncode == 0, run.stderr
        _one_clear_line(run)
        assert said in run.stderr
    backups = list((folio_home / "config").glob("settings.toml.bad-*"))
    assert len(backups) == 1, "one copy per damaged content, not one per command"
    assert backups[0].read_text(encoding="utf-8") == text


@pytest.mark.parametrize("kind", ["folder", "pipe"])
def test_settings_that_are_not_a_file_never_hang_or_crash_a_command(
    folio_home: Path, kind: str
) -> None:
    settings = folio_home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    if kind == "folder":
        settings.mkdir()
    else:
        os.mkfifo(settings)

    run = folio("config", "show", home=folio_home)  # a pipe read would block past the timeout

    assert run.returncode == 0, run.stderr
    _one_clear_line(run)
    assert ("a folder" if kind == "folder" else "not a regular file") in run.stderr


def test_two_setters_side_by_side_keep_both_changes(folio_home: Path) -> None:
    keys = ["max_tokens", "temperature", "top_k", "seed"]
    values = {"max_tokens": "321", "temperature": "0.55", "top_k": "17", "seed": "4242"}
    for round_ in range(3):
        setters = [
            subprocess.Popen(
                [sys.executable, "-m", "desktop", "config", "set", f"{key}={values[key]}"],
                cwd=REPO_ROOT,
                env={**os.environ, "FOLIO_HOME": str(folio_home)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for key in keys
        ]
        for setter in setters:
            _, err = setter.communicate(timeout=120)
            assert setter.returncode == 0, err
        settings = load_settings(folio_home / "config" / "settings.toml").settings
        assert {key: str(settings.value(key)) for key in keys} == values, f"round {round_}"
        values = {**values, "max_tokens": str(322 + round_), "seed": str(4243 + round_)}
    leftovers = [p.name for p in (folio_home / "config").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.toml"
    target.write_text("[generation]\nmax_tokens = 100\n", encoding="utf-8")

    def disk_full(_descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_text_atomically(target, "[generation]\nmax_tokens = 200\n")
    monkeypatch.undo()

    assert target.read_text(encoding="utf-8") == "[generation]\nmax_tokens = 100\n"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]


def test_a_locked_update_reads_what_another_wrote(tmp_path: Path) -> None:
    target = tmp_path / "settings.toml"
    update_settings(target, lambda s: s.with_values({"max_tokens": 111}))
    update_settings(target, lambda s: s.with_values({"top_k": 7}))
    settings = load_settings(target).settings
    assert (settings.value("max_tokens"), settings.value("top_k")) == (111, 7)
    assert SPECS["top_k"].group == "generation"


def _gguf_header(kv: bytes, kv_count: int = 1) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, 0, kv_count) + kv


def _key(name: str) -> bytes:
    return struct.pack("<Q", len(name)) + name.encode()


@pytest.mark.parametrize(
    "header",
    [
        # A string whose length field says 2^64 - 1.
        _gguf_header(_key("general.name") + struct.pack("<I", 8) + struct.pack("<Q", 2**64 - 1)),
        # A key whose name is 2^64 - 1 long, in the tensor table's place.
        b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + struct.pack("<Q", 2**64 - 1),
        # Arrays nested 5,000 deep.
        _gguf_header(
            _key("nest")
            + struct.pack("<I", 9)
            + (struct.pack("<I", 9) + struct.pack("<Q", 1)) * 5000
            + struct.pack("<I", 4)
            + struct.pack("<Q", 0)
        ),
        # An array of 2^64 - 1 numbers.
        _gguf_header(_key("many") + struct.pack("<I", 9) + struct.pack("<IQ", 4, 2**64 - 1)),
    ],
    ids=["string-length", "tensor-name-length", "nested-5000", "array-length"],
)
def test_a_hostile_model_header_is_refused_with_a_message(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / "hostile.gguf"
    path.write_bytes(header + bytes(64))

    with pytest.raises(GGUFError) as refused:
        read_gguf_info(path)

    assert "hostile.gguf" in str(refused.value)


def test_one_hostile_model_does_not_break_the_models_list(folio_home: Path) -> None:
    models = folio_home / "data" / "models"
    models.mkdir(parents=True)
    write_gguf(models / "fine.gguf", "llama")
    (models / "hostile.gguf").write_bytes(
        _gguf_header(_key("general.name") + struct.pack("<IQ", 8, 2**64 - 1)) + bytes(64)
    )
    os.mkfifo(models / "pipe.gguf")

    run = folio("models", "list", home=folio_home)

    assert run.returncode == 0, run.stderr
    _one_clear_line(run)
    assert "fine.gguf" in run.stdout
    assert "hostile.gguf" in run.stderr and "corrupt header" in run.stderr


def _mount_read_only(source: Path, target: Path) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    bind = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True)
    if bind.returncode != 0:
        return False
    subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
    return True


def test_a_read_only_data_folder_still_lists_and_searches(tmp_path: Path) -> None:
    home = tmp_path / "home"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The harbour budget was approved after a long debate.")
    assert folio("index", str(docs), home=home).returncode == 0
    read_only = tmp_path / "read-only-home"
    if not _mount_read_only(home, read_only):
        pytest.skip("this machine cannot mount a read-only folder")
    try:
        listed = folio("library", home=read_only)
        found = folio("search", "harbour budget", home=read_only)
        refused = folio("index", str(docs), home=read_only)
    finally:
        subprocess.run(["umount", str(read_only)], check=True)
    assert listed.returncode == 0, listed.stderr
    assert "notes.txt" in listed.stdout
    assert found.returncode == 0, found.stderr
    assert "notes.txt" in found.stdout
    assert refused.returncode == 1
    _one_clear_line(refused)
    assert "writable" in refused.stderr
