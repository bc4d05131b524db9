"""The settings dialog, generated from the one schema (desktop.core.config.SCHEMA).

Every field gets an editor that suits its type (slider and spin box for a number in a range, a
list for choices, a file chooser for a model file), its title, and its help text beside it. The
same dialog edits the global settings or, limited to Generation, one chat's own settings.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from string import Template
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.settings.presets import Preset, PresetError, PresetLibrary, matching_preset
from desktop.core.settings.schema import (
    GENERATION,
    GROUP_NOTES,
    GROUP_TITLES,
    GROUPS,
    SCHEMA,
    SPECS,
    SettingError,
    Settings,
)
from desktop.ui.appearance import colors
from desktop.ui.errors import show_error
from desktop.ui.settings.editors import FieldEditor
from desktop.ui.tasks import Tasks

CUSTOM_PRESET = "Custom"
# The lane on which chosen model files are read.
SETTINGS_FILES = "settings-files"

DIALOG_STYLE = Template(
    """
#settingsGroups { border: none; font-size: 10.5pt; padding-top: 8px; outline: 0; }
#settingsGroups::item { padding: 8px 14px; border-radius: 6px; color: palette(text); }
#settingsGroups::item:selected { background: palette(highlight); color: palette(highlighted-text); }
#fieldTitle { font-weight: 600; }
#fieldHelp { color: palette(placeholder-text); }
#fieldError { color: $danger; }
#groupNote { padding: 8px 10px; border-radius: 6px; background: palette(alternate-base); }
#reloadNotice { color: $warning_text; }
"""
)


class SettingsDialog(QDialog):
    """Edit ``settings``; ``applied`` carries the new settings on Apply and OK.

    With ``chat_title`` the dialog edits one chat: Generation only, a preset choice that belongs
    to that chat, and "Use global settings" in place of Restore defaults.
    """

    # The settings in the dialog, and the keys the user changed since the last Apply (only
    # those are applied, so a change made elsewhere meanwhile, a model opened, is kept).
    applied = Signal(object, object)  # Settings, list[str]

    def __init__(
        self,
        settings: Settings,
        presets: PresetLibrary,
        parent: QWidget | None = None,
        *,
        defaults: Settings | None = None,
        chat_title: str | None = None,
        chat_preset: str = "",
        groups: Sequence[str] = GROUPS,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setStyleSheet(DIALOG_STYLE.substitute(colors()))
        self._settings = settings
        self._presets = presets
        self._chat_mode = chat_title is not None
        self._defaults = defaults if defaults is not None else Settings()
        self._groups = [GENERATION] if self._chat_mode else list(groups)
        self._editors: dict[str, FieldEditor] = {}
        self._errors: dict[str, QLabel] = {}
        self._pages: dict[str, int] = {}
        self._filling = False
        self._tasks = Tasks(self)
        self._preview_box = QVBoxLayout()
        self.setWindowTitle(f"Settings for “{chat_title}”" if chat_title else "Settings")
        self._chat_heading = f"Settings for “{chat_title}”" if chat_title else ""
        self.resize(980, 680)
        self._build()
        self._fill(settings)
        self._select_preset_for(settings, chat_preset)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            # The theme changed while the dialog is open: its own colours follow.
            self.setStyleSheet(DIALOG_STYLE.substitute(colors()))

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.group_list = QListWidget()
        self.group_list.setObjectName("settingsGroups")
        self.group_list.setFixedWidth(170)
        self.pages = QStackedWidget()
        for group in self._groups:
            self._pages[group] = self.pages.addWidget(self._build_page(group))
            self.group_list.addItem(GROUP_TITLES[group])
        self.group_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.group_list.setCurrentRow(0)
        if len(self._groups) == 1:
            self.group_list.hide()

        self.reload_notice = QLabel("")
        self.reload_notice.setObjectName("reloadNotice")
        self.reload_notice.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        restore = self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.setText("Use global settings" if self._chat_mode else "Restore defaults")
        restore.setToolTip(
            "Forget this chat's own settings"
            if self._chat_mode
            else "Put every setting back to Folio's default (nothing is saved until Apply or OK)"
        )
        self.buttons.clicked.connect(self._on_button_clicked)
        self.buttons.rejected.connect(self.reject)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.group_list)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.reload_notice)
        layout.addWidget(self.buttons)
        QShortcut(QKeySequence.StandardKey.Save, self, self._on_ok)

    def _build_page(self, group: str) -> QWidget:
        content = QWidget()
        grid = QGridLayout(content)
        grid.setContentsMargins(18, 12, 18, 18)
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(0, 5)
        grid.setColumnStretch(1, 6)
        row = 0
        heading = QLabel(self._chat_heading or GROUP_TITLES[group])
        heading.setStyleSheet("font-size: 13pt; font-weight: 600;")
        grid.addWidget(heading, row, 0, 1, 2)
        row += 1
        if self._chat_heading:
            scope = QLabel(
                "These values apply to this chat only, from its next answer; other chats keep "
                "theirs. Values you do not change follow the global settings."
            )
            scope.setObjectName("fieldHelp")
            scope.setWordWrap(True)
            grid.addWidget(scope, row, 0, 1, 2)
            row += 1
        note = GROUP_NOTES[group]
        if group == GENERATION:
            grid.addWidget(self._build_preset_row(), row, 0, 1, 2)
            grid.addLayout(self._preview_box, row + 1, 0, 1, 2)
            row += 2
        elif note:
            label = QLabel(note)
            label.setObjectName("groupNote")
            label.setWordWrap(True)
            grid.addWidget(label, row, 0, 1, 2)
            row += 1
        for spec in SCHEMA:
            if spec.group != group:
                continue
            title = QLabel(spec.title)
            title.setObjectName("fieldTitle")
            editor = FieldEditor(spec)
            editor.setObjectName(f"field_{spec.key}")
            editor.changed.connect(self._on_field_changed)
            error = QLabel("")
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            help_label = QLabel(spec.help)
            help_label.setObjectName("fieldHelp")
            help_label.setWordWrap(True)
            help_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            left = QVBoxLayout()
            left.setSpacing(4)
            left.addWidget(title)
            left.addWidget(editor)
            left.addWidget(error)
            grid.addLayout(left, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(help_label, row, 1)
            row += 1
            separator = QFrame()
            separator.setFrameShape(QFrame.Shape.HLine)
            separator.setStyleSheet("color: palette(midlight);")
            grid.addWidget(separator, row, 0, 1, 2)
            row += 1
            self._editors[spec.key] = editor
            self._errors[spec.key] = error
        grid.setRowStretch(row, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        return scroll

    def _build_preset_row(self) -> QWidget:
        box = QWidget()
        box.setObjectName("groupNote")
        layout = QHBoxLayout(box)
        layout.setContentsMargins(10, 8, 10, 8)
        label = QLabel("Preset for this chat:" if self._chat_mode else "Start from a preset:")
        self.preset_combo = QComboBox()
        self.preset_combo.setMinimumWidth(170)
        self.preset_description = QLabel("")
        self.preset_description.setObjectName("fieldHelp")
        self.preset_description.setWordWrap(True)
        self.save_preset_button = QPushButton("Save as preset…")
        self.delete_preset_button = QPushButton("Delete preset")
        layout.addWidget(label)
        layout.addWidget(self.preset_combo)
        layout.addWidget(self.preset_description, 1)
        layout.addWidget(self.save_preset_button)
        layout.addWidget(self.delete_preset_button)
        self._reload_presets()
        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.save_preset_button.clicked.connect(self._on_save_preset)
        self.delete_preset_button.clicked.connect(self._on_delete_preset)
        return box

    def _reload_presets(self, select: str = "") -> None:
        combo = self.preset_combo
        combo.blockSignals(True)
        combo.clear()
        if self._chat_mode:
            combo.addItem("Global settings", "")
        for preset in self._presets.all():
            combo.addItem(preset.name, preset.name)
        combo.addItem(CUSTOM_PRESET, None)
        combo.blockSignals(False)
        if select:
            combo.setCurrentIndex(max(combo.findData(select), 0))

    # -- values ---------------------------------------------------------------------------------

    def _fill(self, settings: Settings) -> None:
        self._filling = True
        try:
            for key, editor in self._editors.items():
                editor.set_value(settings.value(key))
        finally:
            self._filling = False
        self._clear_errors()
        self._update_notices()

    def collected(self) -> Settings | None:
        """The settings in the editors, or None after showing, in place, what is wrong. (The
        files a model setting names are checked by ``apply``, off the GUI thread.)"""
        self._clear_errors()
        values = {key: editor.value() for key, editor in self._editors.items()}
        settings = self._settings
        first_error: SettingError | None = None
        for key, raw in values.items():
            try:
                settings = settings.with_values({key: raw})
            except SettingError as error:
                # A rule between two fields (overlap < size) may pass once both are read.
                if SPECS[error.key].group == SPECS[key].group and error.key != key:
                    continue
                self._show_error(error)
                first_error = first_error or error
        if first_error is None:
            try:
                settings = self._settings.with_values(values)
            except SettingError as error:
                self._show_error(error)
                first_error = error
        if first_error is not None:
            self._reveal(first_error.key)
            return None
        return settings

    def editor(self, key: str) -> FieldEditor:
        return self._editors[key]

    def keys(self) -> list[str]:
        return list(self._editors)

    def error_text(self, key: str) -> str:
        label = self._errors[key]
        return label.text() if not label.isHidden() else ""

    def chosen_preset(self) -> str:
        """The chat's preset as chosen in the dialog ("" for the global settings)."""
        if not self._chat_mode:
            return ""
        data = self.preset_combo.currentData()
        return data if isinstance(data, str) else self._chat_preset_base

    def _show_error(self, error: SettingError) -> None:
        label = self._errors.get(error.key)
        if label is not None:
            label.setText(str(error))
            label.show()

    def _clear_errors(self) -> None:
        for label in self._errors.values():
            label.hide()

    def _reveal(self, key: str) -> None:
        group = SPECS[key].group
        if group in self._pages:
            self.group_list.setCurrentRow(self._groups.index(group))
        self._editors[key].focus_editor()

    def _select_preset_for(self, settings: Settings, chat_preset: str = "") -> None:
        self._chat_preset_base = chat_preset
        if not hasattr(self, "preset_combo"):
            return
        if self._chat_mode and chat_preset and self._presets.get(chat_preset) is not None:
            # The chat's preset stays chosen even when the chat changed a value on top.
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(chat_preset))
        else:
            self._show_matching_preset(settings)
        self._describe_preset()

    def _show_matching_preset(self, settings: Settings) -> None:
        candidates = self._presets.all()
        match: Preset | None
        if self._chat_mode and settings.changed_keys(self._defaults) == []:
            self.preset_combo.setCurrentIndex(0)
            return
        match = matching_preset(settings, candidates)
        name = match.name if match is not None else None
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(name))

    def _describe_preset(self) -> None:
        data = self.preset_combo.currentData()
        preset = self._presets.get(data) if isinstance(data, str) and data else None
        if preset is not None:
            text = preset.description or "Your saved preset."
        elif data == "":
            text = "The values set in Settings for every chat."
        else:
            text = "Values of your own."
        self.preset_description.setText(text)
        self.delete_preset_button.setEnabled(preset is not None and not preset.builtin)

    def _update_notices(self) -> None:
        current = {key: editor.value() for key, editor in self._editors.items()}
        reloads = [
            SPECS[key].title.lower()
            for key, raw in current.items()
            if SPECS[key].reloads_model and _differs(raw, self._settings.value(key))
        ]
        reindexes = [
            SPECS[key].title.lower()
            for key, raw in current.items()
            if SPECS[key].reindexes and _differs(raw, self._settings.value(key))
        ]
        notes = []
        if reloads:
            notes.append(f"Applying reloads the model (changed: {', '.join(reloads)}).")
        if reindexes:
            notes.append(
                f"Changed: {', '.join(reindexes)}. Folio will offer to index your documents again."
            )
        self.reload_notice.setText(" ".join(notes))
        self.reload_notice.setVisible(bool(notes))

    # -- slots ----------------------------------------------------------------------------------

    @Slot()
    def add_preview(self, preview: QWidget) -> None:
        """A widget shown under the presets on the Generation page (the sampler's preview)."""
        self._preview_box.addWidget(preview)

    def _on_field_changed(self) -> None:
        if self._filling:
            return
        self._update_notices()
        if hasattr(self, "preset_combo"):
            data = self.preset_combo.currentData()
            if not self._chat_mode or data is None:
                collected = self._quiet_collect()
                if collected is not None:
                    self._show_matching_preset(collected)
                    self._describe_preset()

    def _quiet_collect(self) -> Settings | None:
        try:
            return self._settings.with_values(
                {key: editor.value() for key, editor in self._editors.items()}
            )
        except SettingError:
            return None

    @Slot(int)
    def _on_preset_chosen(self, _index: int) -> None:
        data = self.preset_combo.currentData()
        if data is None:
            self._describe_preset()
            return
        base = self._defaults if self._chat_mode else self._quiet_collect() or self._settings
        preset = self._presets.get(data) if data else None
        chosen = base.with_values(preset.values) if preset is not None else self._defaults
        self._filling = True
        try:
            for key in preset.values if preset is not None else self._editors:
                if key in self._editors:
                    self._editors[key].set_value(chosen.value(key))
        finally:
            self._filling = False
        self._describe_preset()
        self._update_notices()

    @Slot()
    def _on_save_preset(self) -> None:
        name, accepted = QInputDialog.getText(
            self, "Save as preset", "Name for these generation settings:"
        )
        if not accepted:
            return
        existing = self._presets.get(" ".join(name.split()))
        if existing is not None and not existing.builtin:
            answer = QMessageBox.question(
                self,
                "Replace the preset?",
                f"You already have a preset called “{existing.name}”. Replace its values with "
                "these?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        collected = self.collected()
        if collected is None:
            return
        values = {
            key: collected.value(key)
            for key in self._editors
            if SPECS[key].group == GENERATION and SPECS[key].in_presets
        }
        try:
            preset = self._presets.save(name, values)
        except PresetError as error:
            show_error(self, str(error))
            return
        self._reload_presets(select=preset.name)
        self._describe_preset()

    @Slot()
    def _on_delete_preset(self) -> None:
        data = self.preset_combo.currentData()
        if not isinstance(data, str) or not data:
            return
        try:
            self._presets.delete(data)
        except PresetError as error:
            show_error(self, str(error))
            return
        self._reload_presets()
        collected = self._quiet_collect()
        if collected is not None:
            self._show_matching_preset(collected)
        self._describe_preset()

    @Slot(QAbstractButton)
    def _on_button_clicked(self, button: QAbstractButton) -> None:
        role = self.buttons.standardButton(button)
        if role == QDialogButtonBox.StandardButton.Ok:
            self._on_ok()
        elif role == QDialogButtonBox.StandardButton.Apply:
            self.apply()
        elif role == QDialogButtonBox.StandardButton.RestoreDefaults:
            self.restore_defaults()

    def restore_defaults(self) -> None:
        """Every value back to its default, except the model files: going back to the
        starter models is a choice of model, made on its own."""
        target = self._defaults
        self._filling = True
        try:
            for key, editor in self._editors.items():
                if SPECS[key].file_filter and not self._chat_mode:
                    continue
                editor.set_value(target.value(key))
        finally:
            self._filling = False
        self._clear_errors()
        self._update_notices()
        if hasattr(self, "preset_combo"):
            self._show_matching_preset(target)
            self._describe_preset()

    def apply(self, then_close: bool = False) -> bool:
        """Apply what is in the editors; False when something is wrong (shown in place). A
        model file that changed is read first, off the GUI thread: then True means the values
        are being checked, and the dialog applies them (and closes, with ``then_close``) once
        the file turns out usable."""
        collected = self.collected()
        if collected is None:
            return False
        changed = collected.changed_keys(self._settings)
        files = [key for key in changed if SPECS[key].check is not None]
        if not files:
            self._commit(collected, changed, then_close)
            return True
        self.buttons.setEnabled(False)
        self.reload_notice.setText("Checking the model file…")
        self.reload_notice.show()
        self._tasks.run(
            SETTINGS_FILES,
            lambda _context: collected.file_problems(files),
            done=functools.partial(self._on_files_checked, collected, changed, then_close),
            failed=self._on_files_check_failed,
        )
        return True

    def _on_files_checked(
        self,
        collected: Settings,
        changed: list[str],
        then_close: bool,
        problems: list[SettingError],
    ) -> None:
        self.buttons.setEnabled(True)
        self._update_notices()
        for problem in problems:
            self._show_error(problem)
        if problems:
            self._reveal(problems[0].key)
            return
        self._commit(collected, changed, then_close)

    def _on_files_check_failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        self._update_notices()
        show_error(self, f"The model file could not be checked: {error}")

    def _commit(self, collected: Settings, changed: list[str], then_close: bool) -> None:
        self._settings = collected
        self._update_notices()
        self.applied.emit(collected, changed)
        if then_close:
            self.accept()

    def done(self, result: int) -> None:
        # Closed while a model file is being read: that check's answer is dropped (nothing is
        # applied after Cancel), and the dialog does not wait for it.
        self._tasks.shutdown(wait=False)
        super().done(result)

    def set_value(self, key: str, value: Any) -> None:
        """Show ``value`` for ``key`` as the applied value (a change that was turned down)."""
        self._settings = self._settings.with_values({key: value})
        self._editors[key].set_value(value)
        self._update_notices()

    @Slot()
    def _on_ok(self) -> None:
        self.apply(then_close=True)


def _differs(raw: Any, value: Any) -> bool:
    if isinstance(value, tuple):
        return tuple(raw) != value
    if isinstance(value, float) and isinstance(raw, int | float):
        return not math.isclose(raw, value, abs_tol=1e-9)
    return bool(raw != value)
