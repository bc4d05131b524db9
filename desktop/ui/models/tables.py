"""The Models window's two tables: the installed models, and the catalog to download from."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from desktop.core.formatting import parameters_text, size_text
from desktop.core.models.catalog import CatalogEntry, CatalogFit
from desktop.ui.models.folder_scan import InstalledModel
from desktop.ui.models.words import (
    FIT_COLOURS,
    FIT_TEXT,
    describe_catalog_fit,
    describe_memory,
    kind_text,
)
from desktop.ui.widgets.record_table import Column, RecordTableModel, muted

FIT_HEADER_TOOLTIP = "Whether the model fits in the memory free now, at the context length set"


class InstalledModelTable(RecordTableModel[InstalledModel]):
    NAME, KIND, PARAMETERS, QUANTIZATION, SIZE, CONTEXT, FIT = range(7)

    def __init__(self, use_of: Callable[[InstalledModel], str]) -> None:
        """``use_of`` says what a model is in use for (“In use for chat”), or ""."""
        self._use_of = use_of
        tooltip = self._tooltip
        super().__init__(
            [
                Column(
                    "Name",
                    lambda m: m.entry.name,
                    lambda m: m.entry.name.casefold(),
                    tooltip=tooltip,
                    badge=self._badge,
                ),
                Column(
                    "Kind",
                    lambda m: kind_text(m.entry),
                    lambda m: kind_text(m.entry),
                    tooltip=tooltip,
                    colour=muted,
                ),
                Column(
                    "Parameters",
                    lambda m: parameters_text(m.entry.parameters),
                    lambda m: m.entry.parameters,
                    tooltip=tooltip,
                    colour=muted,
                    right_aligned=True,
                ),
                Column(
                    "Quantization",
                    lambda m: m.entry.quantization,
                    lambda m: m.entry.quantization,
                    tooltip=tooltip,
                    colour=muted,
                ),
                Column(
                    "Size",
                    lambda m: size_text(m.entry.size_bytes),
                    lambda m: m.entry.size_bytes,
                    tooltip=tooltip,
                    colour=muted,
                    right_aligned=True,
                ),
                Column(
                    "Context",
                    lambda m: f"{m.entry.context_length:,}" if m.entry.context_length else "–",
                    lambda m: m.entry.context_length or 0,
                    tooltip=tooltip,
                    header_tooltip="The longest context the model was trained for, in tokens",
                    colour=muted,
                    right_aligned=True,
                ),
                Column(
                    "Fit",
                    lambda m: FIT_TEXT[m.entry.fit],
                    # How far the need is over (or under) what is free: the worst fit last.
                    lambda m: m.entry.estimate.required_bytes - m.entry.estimate.available_bytes,
                    tooltip=lambda m: describe_memory(m.entry),
                    header_tooltip=FIT_HEADER_TOOLTIP,
                    colour=lambda m: FIT_COLOURS[m.entry.fit],
                    bold=True,
                ),
            ],
            # Two paths to one file are one model (the scan lists each file once).
            key=lambda model: model.resolved,
        )

    def row_of(self, key: object) -> int | None:
        """The row of a model by the file it is (``resolved``) or by the path it was listed
        under."""
        row = super().row_of(key)
        if row is None and isinstance(key, Path):
            rows = (row for row, model in enumerate(self.records()) if model.path == key)
            row = next(rows, None)
        return row

    def _badge(self, model: InstalledModel) -> tuple[str, str] | None:
        use = self._use_of(model)
        return (use, "accent") if use else None

    def _tooltip(self, model: InstalledModel) -> str:
        lines = [model.path.name, str(model.path.parent)]
        if use := self._use_of(model):
            lines.insert(1, use)
        return "\n".join(lines)


class CatalogTable(RecordTableModel[CatalogEntry]):
    NAME, KIND, SIZE, FIT, LICENCE, DESCRIPTION = range(6)

    def __init__(self, entries: Sequence[CatalogEntry]) -> None:
        self._states: dict[str, tuple[str, str]] = {}
        # Per file name, whether the model would fit; empty until first worked out.
        self._fits: dict[str, CatalogFit] = {}
        super().__init__(
            [
                Column(
                    "Name",
                    lambda e: e.name,
                    lambda e: e.name.casefold(),
                    tooltip=_file_name,
                    badge=lambda e: self._states.get(e.filename),
                ),
                Column(
                    "Kind",
                    lambda e: e.kind.capitalize(),
                    lambda e: e.kind,
                    tooltip=_file_name,
                    colour=muted,
                ),
                Column(
                    "Size",
                    lambda e: size_text(e.size_bytes),
                    lambda e: e.size_bytes,
                    tooltip=_file_name,
                    colour=muted,
                    right_aligned=True,
                ),
                Column(
                    "Fit",
                    self._fit_text,
                    self._fit_sort_key,
                    tooltip=self._fit_tooltip,
                    header_tooltip=f"{FIT_HEADER_TOOLTIP} (an estimate before download)",
                    colour=self._fit_colour,
                    bold=True,
                ),
                Column(
                    "Licence",
                    lambda e: e.licence,
                    lambda e: e.licence.casefold(),
                    tooltip=_file_name,
                    colour=muted,
                ),
                Column(
                    "Description",
                    lambda e: e.description,
                    lambda e: e.description.casefold(),
                    tooltip=lambda e: e.description,
                    colour=muted,
                ),
            ],
            key=_file_name,
        )
        self.set_records(entries)

    def set_states(self, states: Mapping[str, tuple[str, str]]) -> None:
        """Per file name, the badge to show: installed, downloading, or partly downloaded."""
        self._states = dict(states)
        self.refresh()

    def set_fits(self, fits: Mapping[str, CatalogFit]) -> None:
        """Per file name, whether the model would fit in the memory free now."""
        self._fits = dict(fits)
        self.refresh()

    def fit_of(self, entry: CatalogEntry) -> CatalogFit | None:
        """Whether ``entry`` would fit, or None before that is worked out."""
        return self._fits.get(entry.filename)

    def _fit_text(self, entry: CatalogEntry) -> str:
        known = self.fit_of(entry)
        return FIT_TEXT[known.fit] if known is not None else ""

    def _fit_sort_key(self, entry: CatalogEntry) -> int:
        # As on the Installed tab: how far the need is over (or under) what is free.
        known = self.fit_of(entry)
        if known is None:
            return 0
        return known.estimate.required_bytes - known.estimate.available_bytes

    def _fit_tooltip(self, entry: CatalogEntry) -> str:
        known = self.fit_of(entry)
        return describe_catalog_fit(known) if known is not None else "Working out the memory…"

    def _fit_colour(self, entry: CatalogEntry) -> str:
        known = self.fit_of(entry)
        return FIT_COLOURS[known.fit] if known is not None else "muted"


def _file_name(entry: CatalogEntry) -> str:
    return entry.filename
