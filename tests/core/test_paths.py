"""Where Folio keeps its files."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from desktop.core.paths import app_paths


def test_folio_home_holds_everything(tmp_path: Path) -> None:
    home = (tmp_path / "my folio").resolve()
    paths = app_paths({"FOLIO_HOME": str(home)})
    assert paths.data == home / "data"
    assert paths.config == home / "config"
    assert paths.cache == home / "cache"
    assert paths.logs == home / "logs"
    assert paths.settings_file == home / "config" / "settings.toml"
    assert paths.conversations_db == home / "data" / "conversations.sqlite3"
    assert paths.log_file == home / "logs" / "folio.log"
    assert paths.models == home / "data" / "models"


def test_folio_home_from_the_environment_is_used_by_default(folio_home: Path) -> None:
    paths = app_paths()
    for folder in (paths.data, paths.config, paths.cache, paths.logs):
        assert folder.parent == folio_home.resolve()


def test_relative_folio_home_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    paths = app_paths({"FOLIO_HOME": "portable"})
    assert paths.data.is_absolute()
    assert paths.data == tmp_path.resolve() / "portable" / "data"


def test_without_folio_home_the_platform_folders_are_used() -> None:
    for environ in ({}, {"FOLIO_HOME": "   "}):
        paths = app_paths(environ)
        assert paths.data == Path(platformdirs.user_data_dir("Folio", appauthor=False))
        assert paths.config == Path(platformdirs.user_config_dir("Folio", appauthor=False))
        assert paths.cache == Path(platformdirs.user_cache_dir("Folio", appauthor=False))
        assert paths.logs == Path(platformdirs.user_log_dir("Folio", appauthor=False))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders are Linux's")
def test_without_folio_home_linux_follows_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    paths = app_paths({})
    assert paths.data == tmp_path / "xdg-data" / "Folio"
    assert paths.config == tmp_path / "xdg-config" / "Folio"
    assert paths.cache == tmp_path / "xdg-cache" / "Folio"
    assert paths.settings_file == tmp_path / "xdg-config" / "Folio" / "settings.toml"


def test_ensure_creates_the_folders(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    paths = app_paths({"FOLIO_HOME": str(home)})
    assert not home.exists()
    assert paths.ensure() == paths
    for folder in (paths.data, paths.config, paths.cache, paths.logs):
        assert folder.is_dir()
    paths.ensure()  # a second time is harmless
    assert sorted(p.name for p in home.iterdir()) == ["cache", "config", "data", "logs"]
