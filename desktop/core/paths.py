"""Where Folio keeps its files.

Everything lives in the platform's usual places (platformdirs), unless ``FOLIO_HOME`` is set: then
data, config, cache and logs all go under that one folder, which is how tests and benchmarks keep
a run isolated from the user's real library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_DIR_NAME = "Folio"
HOME_ENV = "FOLIO_HOME"


@dataclass(frozen=True)
class AppPaths:
    data: Path
    config: Path
    cache: Path
    logs: Path

    @property
    def conversations_db(self) -> Path:
        return self.data / "conversations.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.toml"

    @property
    def presets_file(self) -> Path:
        return self.config / "presets.toml"

    @property
    def log_file(self) -> Path:
        return self.logs / "folio.log"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def lab_runs(self) -> Path:
        """The prompt lab's batch runs, one folder each: what was asked, and the results so
        far (a run resumes from them)."""
        return self.data / "lab" / "runs"

    def ensure(self) -> AppPaths:
        for folder in (self.data, self.config, self.cache, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(environ: dict[str, str] | None = None) -> AppPaths:
    """The folders for this run; ``FOLIO_HOME`` (if set and non-empty) overrides all of them."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV, "").strip()
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(
            data=root / "data", config=root / "config", cache=root / "cache", logs=root / "logs"
        )
    return AppPaths(
        data=Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)),
        config=Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_DIR_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_DIR_NAME, appauthor=False)),
    )
