"""Prompt templates for batch runs, the labels to choose among, and few-shot examples.

A template is the prompt with ``{column}`` placeholders that each row fills in, as in
"Is this review positive or negative? {text}"; ``{{`` and ``}}`` are literal braces, as in
str.format. The template is parsed here rather than handed to str.format, because people type
it: str.format would accept ``{0}``, ``{text.upper}``, ``{text[0]}`` and ``{text:>9}`` and fail
(or do something surprising) mid-run, whereas this parser allows only column names, which may
hold spaces and hyphens as real headers do, and says where a mistake is and how to fix it.
A row's values are inserted verbatim: braces in a review are never interpreted.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import EngineError
from desktop.core.lab.datasets import DatasetError, inspect_dataset, read_rows

# Each example is repeated in every row's prompt, so a handful is what helps; beyond this many a
# prompt is mostly examples and every row slows down.
MAX_EXAMPLES = 64

_NAME_PUNCTUATION = frozenset("_- ")
_LITERAL_BRACES = "for a literal brace write {{ or }}"
_FORMAT_SYNTAX = {
    ".": "attributes ({a.b})",
    "[": "indexes ({a[0]})",
    "!": "conversions ({a!r})",
    ":": "format specifications ({a:>9})",
}


class PromptTemplateError(EngineError):
    """A prompt template, its labels or its examples cannot be used; the message says why."""


# A piece of a parsed template: literal text, or the name of a placeholder.
@dataclass(frozen=True)
class _Piece:
    text: str
    is_placeholder: bool


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt with ``{column}`` placeholders; build it with :meth:`parse`."""

    text: str
    # Each placeholder's column name once, in order of first use.
    placeholders: tuple[str, ...]
    _pieces: tuple[_Piece, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        # Constructed directly rather than through parse(): parse and check now.
        if not self._pieces:
            parsed = PromptTemplate.parse(self.text)
            if parsed.placeholders != self.placeholders:
                raise ValueError(
                    f"placeholders {self.placeholders} differ from the text's {parsed.placeholders}"
                )
            object.__setattr__(self, "_pieces", parsed._pieces)

    @classmethod
    def parse(cls, text: str, columns: Sequence[str] | None = None) -> PromptTemplate:
        """The template ``text``, checked against ``columns`` too when they are given.

        Raises PromptTemplateError for an unclosed ``{``, a stray ``}``, an empty ``{}``, a
        placeholder that is no column name, or a template without any placeholder.
        """
        if not text.strip():
            raise PromptTemplateError(
                "The prompt template is empty: write the prompt, with "
                f"{_placeholder_hint(columns)} where each row's value should go."
            )
        pieces = _parse_pieces(text)
        placeholders = tuple(dict.fromkeys(p.text for p in pieces if p.is_placeholder))
        if not placeholders:
            raise PromptTemplateError(
                "The template has no {placeholder}, so every row would get the same prompt: add "
                f"{_placeholder_hint(columns)} where each row's value should go."
            )
        template = cls(text, placeholders, pieces)
        if columns is not None:
            template.check_columns(columns)
        return template

    def check_columns(
        self,
        columns: Sequence[str],
        *,
        source: str | None = None,
        answer_column: str | None = None,
    ) -> None:
        """Raises PromptTemplateError if a placeholder is none of ``columns`` (the columns of the
        file named ``source``), suggesting the closest column, or if the template shows the
        model ``answer_column``, the column holding the expected labels."""
        where = source or "the data"
        listed = ", ".join(columns) if columns else "none"
        unknown = [name for name in self.placeholders if name not in columns]
        if unknown:
            used = " and ".join(f"{{{name}}}" for name in unknown)
            what = "is not a column" if len(unknown) == 1 else "are not columns"
            message = (
                f"The template uses {used}, which {what} of {where} (its columns are {listed})."
            )
            matches = {name: _closest(name, columns) for name in unknown}
            hints = [f"{{{match}}} for {{{name}}}" for name, match in matches.items() if match]
            if len(unknown) == 1 and hints:
                message += f" Did you mean {{{matches[unknown[0]]}}}?"
            elif hints:
                message += f" Did you mean {', '.join(hints)}?"
            raise PromptTemplateError(message)
        if answer_column is not None and answer_column in self.placeholders:
            raise PromptTemplateError(
                f"The template uses {{{answer_column}}}, the column of {where} that holds the "
                "expected labels, so the model would be shown each answer: remove "
                f"{{{answer_column}}} from the template."
            )

    def render(self, values: Mapping[str, str]) -> str:
        """The prompt for one row: each placeholder replaced by its value, verbatim."""
        try:
            return "".join(
                values[piece.text] if piece.is_placeholder else piece.text for piece in self._pieces
            )
        except KeyError as exc:
            raise PromptTemplateError(
                f"The row has no value for {{{exc.args[0]}}}: its columns are {', '.join(values)}."
            ) from None

    def shared_prefix(self) -> str:
        """The literal text before the first placeholder, the same in every row's prompt."""
        first = self._pieces[0]
        return "" if first.is_placeholder else first.text


def _placeholder_hint(columns: Sequence[str] | None) -> str:
    if not columns:
        return "{text}"
    others = ", ".join(f"{{{column}}}" for column in columns)
    return f"a placeholder such as {{{columns[0]}}} (the columns are {others})"


def _closest(name: str, columns: Sequence[str]) -> str | None:
    by_lower = {column.casefold(): column for column in columns}
    if name.casefold() in by_lower:
        return by_lower[name.casefold()]
    matches = difflib.get_close_matches(name.casefold(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def _where(text: str, index: int) -> str:
    """Where ``index`` is in ``text``, 1-based: "column 7", or "line 2, column 7"."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}" if "\n" in text else f"column {column}"


def _parse_pieces(text: str) -> tuple[_Piece, ...]:
    pieces: list[_Piece] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "{}" and text.startswith(char * 2, index):
            literal.append(char)
            index += 2
        elif char == "{":
            end = text.find("}", index + 1)
            nested = text.find("{", index + 1)
            if end == -1 or -1 < nested < end:
                raise PromptTemplateError(
                    f"The template's {{ at {_where(text, index)} is never closed: end the "
                    f"placeholder with }}, as in {{text}} ({_LITERAL_BRACES})."
                )
            name = _checked_name(text[index + 1 : end], text, index)
            if literal:
                pieces.append(_Piece("".join(literal), False))
                literal = []
            pieces.append(_Piece(name, True))
            index = end + 1
        elif char == "}":
            raise PromptTemplateError(
                f"The template has a }} at {_where(text, index)} that closes no placeholder: "
                f"remove it ({_LITERAL_BRACES})."
            )
        else:
            literal.append(char)
            index += 1
    if literal:
        pieces.append(_Piece("".join(literal), False))
    return tuple(pieces)


def _checked_name(raw: str, text: str, index: int) -> str:
    # Headers are read with their whitespace stripped, so "{ text }" can only mean {text}.
    name = raw.strip()
    where = _where(text, index)
    if not name:
        raise PromptTemplateError(
            f"The template has an empty {{}} at {where}: put a column name inside, as in "
            f"{{text}} ({_LITERAL_BRACES})."
        )
    if name.isdigit():
        raise PromptTemplateError(
            f"The template's {{{raw}}} at {where} is a position, not a column name: name the "
            "column instead, as in {text}."
        )
    bad = next((char for char in name if not (char.isalnum() or char in _NAME_PUNCTUATION)), None)
    if bad in _FORMAT_SYNTAX:
        # Written as str.format would take it: {a.b}, {a[0]}, {a!r}, {a:>9}.
        raise PromptTemplateError(
            f"The template's {{{raw}}} at {where} is not a plain column name: placeholders "
            f"cannot use {_FORMAT_SYNTAX[bad]}. Write the column's name alone, as in {{text}} "
            f"({_LITERAL_BRACES})."
        )
    if bad is not None:
        raise PromptTemplateError(
            f"The template's {{{raw}}} at {where} contains {bad!r}, which a placeholder "
            "cannot: a placeholder is a column name of letters, digits, spaces, _ and - "
            f"({_LITERAL_BRACES})."
        )
    return name


# --- Labels and examples --------------------------------------------------------------------


def parse_labels(text_or_items: str | Sequence[str]) -> tuple[str, ...]:
    """The labels to choose among, in order, from "positive, negative" or a list of them.

    Whitespace around each label and empty entries (a trailing comma) are dropped. Raises
    PromptTemplateError for fewer than two labels, a repeat (also one differing only in case,
    which a model's answer could not tell apart), or a label holding a line break.
    """
    if isinstance(text_or_items, str):
        items: Sequence[str] = text_or_items.split(",")
        how = "separated by commas"
    else:
        items = text_or_items
        how = "one per entry"
    labels = tuple(item.strip() for item in items if item.strip())
    if not labels:
        raise PromptTemplateError(
            f"There are no labels: give at least two, {how}, for example positive, negative."
        )
    if len(labels) == 1:
        raise PromptTemplateError(
            f"The only label is {labels[0]!r}, and one label leaves nothing to choose: give at "
            "least two, for example positive, negative."
        )
    for label in labels:
        if "\n" in label or "\r" in label:
            raise PromptTemplateError(
                f"The label {label!r} holds a line break: a label must be on one line "
                f"(give the labels {how})."
            )
    first_by_case: dict[str, str] = {}
    for label in labels:
        earlier = first_by_case.setdefault(label.casefold(), label)
        if earlier is label:
            continue
        if earlier == label:
            raise PromptTemplateError(f"The label {label!r} is given twice: list it once.")
        raise PromptTemplateError(
            f"The labels {earlier!r} and {label!r} differ only in capitals, so an answer "
            "could not tell them apart: keep one of them."
        )
    return labels


@dataclass(frozen=True)
class Example:
    """A few-shot example: a row's values (every column but the label column) and its label."""

    values: Mapping[str, str]
    label: str


def read_examples(
    path: Path,
    template: PromptTemplate,
    label_column: str,
    *,
    labels: Sequence[str] | None = None,
) -> tuple[Example, ...]:
    """The few-shot examples in ``path``, a data file with the template's columns and the label
    column ``label_column``; checked against ``labels`` when given (check_example_labels).

    Raises DatasetError if the file cannot be read or a row is malformed, and
    PromptTemplateError if the columns do not fit the template, a label is missing, or there
    are none or more than MAX_EXAMPLES examples.
    """
    info = inspect_dataset(path)
    if label_column not in info.columns:
        closest = _closest(label_column, info.columns)
        raise PromptTemplateError(
            f"The examples file {path.name} has no column {label_column!r} for the labels (its "
            f"columns are {', '.join(info.columns)})."
            + (f" Did you mean {closest!r}?" if closest else "")
        )
    template.check_columns(info.columns, source=path.name, answer_column=label_column)
    examples: list[Example] = []
    for row in read_rows(path, info):
        # Stops reading at the first example too many: the file may be a whole dataset.
        if len(examples) == MAX_EXAMPLES:
            raise PromptTemplateError(
                f"{path.name} has more than {MAX_EXAMPLES} examples. Every example is repeated "
                "in every row's prompt, so a few good ones help most: keep at most "
                f"{MAX_EXAMPLES} (five to twenty is typical)."
            )
        if row.problem is not None:
            raise DatasetError(f"The examples cannot be used: {row.problem}")
        label = row.values[label_column].strip()
        if not label:
            raise PromptTemplateError(
                f"Example {row.number} in {path.name} has no label: fill in its "
                f"{label_column!r} column, or delete the row."
            )
        if "\n" in label or "\r" in label:
            raise PromptTemplateError(
                f"Example {row.number} in {path.name} has a label with a line break: a label "
                "must be on one line."
            )
        values = {name: value for name, value in row.values.items() if name != label_column}
        examples.append(Example(values, label))
    if not examples:
        raise PromptTemplateError(
            f"{path.name} has no examples: below its header, add rows that each hold an "
            f"example's {', '.join(template.placeholders)} and its {label_column!r}."
        )
    result = tuple(examples)
    if labels is not None:
        check_example_labels(result, labels)
    return result


def check_example_labels(examples: Sequence[Example], labels: Sequence[str]) -> None:
    """Raises PromptTemplateError if an example's label is none of ``labels``: such an example
    would teach the model an answer it may not give."""
    unknown: dict[str, list[int]] = {}
    for number, example in enumerate(examples, start=1):
        if example.label not in labels:
            unknown.setdefault(example.label, []).append(number)
    if not unknown:
        return
    parts = []
    for label, numbers in unknown.items():
        shown = ", ".join(str(number) for number in numbers[:5])
        more = f" and {len(numbers) - 5} more" if len(numbers) > 5 else ""
        noun = "example" if len(numbers) == 1 else "examples"
        closest = _closest(label, labels)
        hint = f", perhaps {closest!r}" if closest else ""
        parts.append(f"{label!r} ({noun} {shown}{more}{hint})")
    raise PromptTemplateError(
        f"Some examples are labelled with something that is not a label: {'; '.join(parts)}. "
        f"The labels are {', '.join(labels)}: correct those examples or add their label."
    )


EXAMPLE_ARROW = "=>"


def parse_example_lines(text: str, template: PromptTemplate) -> tuple[Example, ...]:
    """Examples typed one per line, ``the item's text => its label``, for a template with one
    placeholder (the lab window's examples box; a file serves templates with more)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ()
    if len(template.placeholders) != 1:
        raise PromptTemplateError(
            "Examples typed as “text => label” fill a template with one placeholder; this one "
            f"has {len(template.placeholders)}. Write the examples into the template instead."
        )
    if len(lines) > MAX_EXAMPLES:
        raise PromptTemplateError(f"Keep at most {MAX_EXAMPLES} examples.")
    column = template.placeholders[0]
    examples: list[Example] = []
    for number, line in enumerate(lines, start=1):
        item, arrow, label = line.rpartition(EXAMPLE_ARROW)
        if not arrow or not item.strip() or not label.strip():
            raise PromptTemplateError(
                f"Example line {number} needs the text, then “{EXAMPLE_ARROW}”, then its label "
                f"(for example: Great food! {EXAMPLE_ARROW} positive)."
            )
        examples.append(Example({column: item.strip()}, label.strip()))
    return tuple(examples)
