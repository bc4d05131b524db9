"""The settings the window runs with: applied, saved, and put back when they cannot work.

A change is validated by the schema, saved to ``settings.toml``, then each changed field's
``Effect`` decides what else happens: the model is loaded again, documents are offered to be
indexed again, the embedding model is switched (after asking), the window is restyled. Model
settings are kept until the model loads with them, so a model that fails to load puts the
previous settings back and the next start does not begin with a model that cannot load.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.core.settings.schema import (
    MODEL,
    SPECS,
    Effect,
    ModelSettings,
    SettingError,
    Settings,
    specs_of,
)
from desktop.core.settings.store import load_settings, update_settings

log = logging.getLogger(__name__)


class SettingsSession(QObject):
    # The settings now, and the keys that changed.
    changed = Signal(object, object)  # Settings, list[str]
    # A change made in the settings dialog was saved (the keys), before its effects begin.
    saved = Signal(object)
    # Load the model again with these settings (reloading ones changed).
    reload_requested = Signal(object)  # ModelSettings
    # The appearance changed: redraw.
    restyle_requested = Signal(object)  # AppearanceSettings
    # The passage size changed: documents indexed before may be indexed again.
    reindex_offered = Signal()
    # Switch the library to this embedding model (None: the built-in one).
    embedder_switch_requested = Signal(object)  # Path | None
    # A setting that was turned down or put back, so an open dialog shows it again.
    value_restored = Signal(str, object)
    save_failed = Signal(str)

    def __init__(
        self,
        settings: Settings,
        settings_file: Path,
        confirm_embedder_switch: Callable[[Settings], bool],
        parent: QObject | None = None,
    ) -> None:
        """``confirm_embedder_switch`` asks the user, with the settings about to be used."""
        super().__init__(parent)
        self._settings = settings
        # What the file held when this window last read or wrote it: only what differs from
        # it goes into the file, so a change made meanwhile by "folio config set" is kept.
        self._written = load_settings(settings_file).settings
        self._file = settings_file
        self._confirm_embedder_switch = confirm_embedder_switch
        # The model settings before a reload, put back if the model does not load.
        self._model_before: ModelSettings | None = None
        # The embedding model setting before a switch, put back if the switch fails.
        self._embedder_before = settings.documents.embedding_model

    @property
    def settings(self) -> Settings:
        return self._settings

    def apply(self, edited: Settings, keys: Sequence[str]) -> list[str]:
        """Take ``keys`` from ``edited`` (only those: a value changed elsewhere meanwhile, a
        model opened, is kept). Returns the keys that changed; ``SettingError`` when the
        values do not go together."""
        previous = self._settings
        chosen = previous.with_values({key: edited.value(key) for key in keys})
        changed = chosen.changed_keys(previous)
        if not changed:
            return []
        for key in [k for k in changed if SPECS[k].effect == Effect.SWITCH_EMBEDDER]:
            if not self._confirm_embedder_switch(chosen):
                chosen = chosen.with_values({key: previous.value(key)})
                changed.remove(key)
                self.value_restored.emit(key, previous.value(key))
        self._settings = chosen
        self._save()
        self.saved.emit(list(changed))
        self.changed.emit(chosen, list(changed))
        effects = {SPECS[key].effect for key in changed}
        for key in changed:
            if SPECS[key].effect == Effect.SWITCH_EMBEDDER:
                self._embedder_before = previous.value(key)
                path = str(chosen.value(key))
                self.embedder_switch_requested.emit(Path(path).expanduser() if path else None)
        if Effect.REINDEX in effects and Effect.SWITCH_EMBEDDER not in effects:
            # A new embedding model indexes everything again anyway.
            self.reindex_offered.emit()
        if Effect.RESTYLE in effects:
            self.restyle_requested.emit(chosen.appearance)
        if Effect.RELOAD_MODEL in effects:
            # Kept until the model loads: if it fails, these settings go back.
            self._model_before = previous.model
            self.reload_requested.emit(chosen.model)
        return changed

    def set_value(self, key: str, value: object) -> None:
        """One value changed by what happened rather than in the dialog (a model opened)."""
        try:
            updated = self._settings.with_values({key: value})
        except SettingError:
            log.exception("the window chose a value the settings refuse")
            return
        if updated != self._settings:
            self._settings = updated
            self._save()
            self.changed.emit(updated, [key])

    def model_loaded(self) -> None:
        """The model loaded with the current settings: they stay."""
        self._model_before = None

    def model_failed(self) -> bool:
        """The model did not load; the model settings from before go back, if they changed.
        True when they did."""
        before = self._model_before
        if before is None:
            return False
        self._model_before = None
        keys = [spec.key for spec in specs_of(MODEL)]
        self._settings = replace(self._settings, model=before)
        self._save()
        for key in keys:
            self.value_restored.emit(key, self._settings.value(key))
        self.changed.emit(self._settings, keys)
        return True

    def embedder_switch_failed(self) -> None:
        """The library kept its embedding model, so the setting goes back to the model in use."""
        key = next(spec.key for spec in SPECS.values() if spec.effect == Effect.SWITCH_EMBEDDER)
        self._settings = self._settings.with_values({key: self._embedder_before})
        self._save()
        self.value_restored.emit(key, self._embedder_before)
        self.changed.emit(self._settings, [key])

    def _save(self) -> None:
        mine = {
            key: self._settings.value(key) for key in self._settings.changed_keys(self._written)
        }
        try:
            update_settings(self._file, lambda current: _merged(current, mine, self._settings))
        except (OSError, TimeoutError) as exc:
            log.exception("could not save settings")
            self.save_failed.emit(f"Settings could not be saved: {exc}")
            return
        self._written = self._settings


def _merged(current: Settings, mine: dict[str, object], fallback: Settings) -> Settings:
    """The file's settings with this window's changes; the window's own settings when the two
    do not go together (a rule between fields broken by the mix)."""
    try:
        return current.with_values(mine)
    except SettingError:
        return fallback
