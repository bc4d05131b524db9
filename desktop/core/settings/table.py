"""The README's settings table, written from the schema.

A test fails when the README and the schema disagree; ``python -m desktop.core.settings.table
README.md`` writes the table into the README again after a setting was added or changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from desktop.core.settings.schema import GROUP_TITLES, SCHEMA, display_value, format_number

README_TABLE_START = "<!-- settings table: generated from desktop/core/settings/schema.py -->"
README_TABLE_END = "<!-- end of settings table -->"


def settings_table_markdown() -> str:
    rows = [
        "| setting | group | default | range | what it does |",
        "|---|---|---|---|---|",
    ]
    for spec in SCHEMA:
        if spec.choices:
            span = " / ".join(spec.choices)
        elif spec.minimum is not None and spec.maximum is not None:
            span = f"{format_number(spec.minimum)} – {format_number(spec.maximum)}"
            if spec.unit:
                span += f" {spec.unit}"
        else:
            span = ""
        default = display_value(spec.default)
        if spec.file_filter and not spec.default:
            default = "built-in"
        elif isinstance(spec.default, str) and len(default) > 24:
            default = default[:22] + '…"'
        notes = []
        if spec.reloads_model:
            notes.append("reloads the model")
        if spec.reindexes:
            notes.append("offers to re-index")
        summary = _first_sentence(spec.help)
        if notes:
            summary += f" ({', '.join(notes)})"
        rows.append(
            f"| `{spec.key}` | {GROUP_TITLES[spec.group]} | {default} | {span} | "
            f"{summary.replace('|', '/')} |"
        )
    return "\n".join(rows)


def with_table(readme: str) -> str:
    """``readme`` with the text between the table markers replaced by the current table."""
    before, start, rest = readme.partition(README_TABLE_START)
    _, end, after = rest.partition(README_TABLE_END)
    if not start or not end:
        raise ValueError("the README has no settings table markers")
    return f"{before}{start}\n{settings_table_markdown()}\n{end}{after}"


def _first_sentence(text: str) -> str:
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    target.write_text(with_table(target.read_text(encoding="utf-8")), encoding="utf-8")
