"""Reading the data files a batch run labels, row by row, whatever people bring.

A batch run labels every row of a file the user chose: CSV or TSV from a spreadsheet, JSON Lines
from a script, or a plain list of items (pasted, or one per line in a .txt file). Those files
come from everywhere, so this module is defensive about what they hold and frugal in reading:

* nothing is loaded whole: :func:`read_rows` is a lazy iterator and :func:`count_rows` streams,
  so a 100,000-row file costs kilobytes, and no single line may exceed ``MAX_LINE_CHARS``;
* the encoding is decided from the first megabyte (UTF-8 with or without a BOM, UTF-16 or
  UTF-32 with a BOM, else Windows-1252, else Latin-1) and recorded, so the window can say what
  it assumed (:func:`describe_encoding`);
* every problem a person can fix is a :class:`DatasetError` naming the file and the line, while
  one malformed row (more cells than the header, a JSON line that is no object) is reported on
  that row (:attr:`Row.problem`) so that one bad row does not stop a run of thousands.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from io import BufferedReader, TextIOWrapper
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.errors import EngineError

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

CSV = "csv"
TSV = "tsv"
JSONL = "jsonl"
# One item per line, no header: pasted text, or a .txt file without delimiters.
LINES = "lines"
# The one column of a LINES dataset.
TEXT_COLUMN = "text"

# A suffix maps to its format; None means "sniff": a .csv may use commas, semicolons or tabs, and
# a .txt may be a delimited table or just one item per line.
_SUFFIX_FORMATS: dict[str, str | None] = {
    ".csv": None,
    ".txt": None,
    ".tsv": TSV,
    ".tab": TSV,
    ".jsonl": JSONL,
    ".ndjson": JSONL,
}
_DELIMITERS = ",\t;"
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}

# The encoding is decided from this much of the file: enough to meet the first accented word of
# nearly any real file, little enough to decide at once. A later undecodable byte is an error.
ENCODING_PROBE_BYTES = 1 << 20
_PROBE_CHUNK_BYTES = 64 * 1024
# The delimiter is sniffed from the first lines, up to this many characters.
_SNIFF_CHARS = 32 * 1024
_SNIFF_LINES = 50
# One value, and one physical line, may be this long: far beyond any real review or document
# row, yet a bound, so a file with no line breaks (a JSON array on one line) is never read whole.
MAX_LINE_CHARS = 16 * 1024 * 1024
_MAX_LINE_WORDS = "16 million characters"

# Byte-order marks, the longest first: UTF-32-LE's begins with UTF-16-LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with a byte-order mark)",
    "utf-16": "UTF-16",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
_SAVE_AS_TEXT = "save it as CSV (UTF-8), TSV or JSON Lines and open that file instead"


class DatasetError(EngineError):
    """A data file cannot be read; the message names the file (and line) and says what to do."""


@dataclass(frozen=True)
class DatasetInfo:
    """What :func:`inspect_dataset` learnt from a file's start: enough to read all its rows."""

    # None for pasted text.
    path: Path | None
    # CSV, TSV, JSONL or LINES.
    format: str
    # The codec the file is read with (see describe_encoding for a person's name for it).
    encoding: str
    columns: tuple[str, ...]
    # The cell delimiter of CSV and TSV; None for JSONL and LINES.
    delimiter: str | None


@dataclass(frozen=True)
class Row:
    """One data row: ``values`` has every column (missing cells are ""); ``problem`` says why the
    row cannot be used as it stands (shown as that row's error), or is None."""

    # 1-based, counting data rows only: not the header, not blank lines.
    number: int
    values: Mapping[str, str]
    problem: str | None


def describe_encoding(encoding: str) -> str:
    """A person's name for a codec of DatasetInfo.encoding, e.g. "Windows-1252"."""
    return _ENCODING_NAMES.get(encoding, encoding)


def inspect_dataset(path: Path) -> DatasetInfo:
    """The format, encoding and columns of ``path``, from its first lines only.

    Raises DatasetError for anything that keeps the file from being read: no such file, an
    unsupported kind of file, a binary file, no header, an empty or repeated column name.
    """
    _check_is_file(path)
    suffix_format = _format_for_suffix(path)
    encoding = _detect_encoding(path)
    with closing(_text_lines(path, encoding)) as lines:
        if suffix_format == JSONL:
            return DatasetInfo(path, JSONL, encoding, _jsonl_columns(path, lines), None)
        delimiter = "\t"
        sample: list[str] = []
        if suffix_format is None:
            sample = _sample_lines(lines)
            sniffed = _sniff_delimiter(sample, allow_lines=path.suffix.lower() == ".txt")
            if sniffed is None:
                return DatasetInfo(path, LINES, encoding, (TEXT_COLUMN,), None)
            delimiter = sniffed
        reader = _csv_reader(chain(sample, lines), delimiter)
        try:
            header = _first_row(reader)
        except csv.Error as exc:
            raise _csv_error(path, reader.line_num, exc) from None
        if header is None:
            raise DatasetError(
                f"{path.name} holds only blank lines: its first line should name the columns "
                "(for example text and label), with one row per line below it."
            )
        columns = _header_columns(path, header, reader.line_num)
    return DatasetInfo(path, TSV if delimiter == "\t" else CSV, encoding, columns, delimiter)


def read_rows(path: Path, info: DatasetInfo | None = None, start: int = 0) -> Iterator[Row]:
    """The data rows of ``path``, one at a time, skipping the first ``start`` (to resume).

    ``info`` is what inspect_dataset(path) returned (it is inspected again when None). Skipped
    rows are read past, never kept. A DatasetError may come mid-way: a byte that does not decode,
    an unclosed quote running past MAX_LINE_CHARS, or a file changed since it was inspected.
    """
    if start < 0:
        raise ValueError(f"start must be 0 or more, not {start}")
    if info is None:
        info = inspect_dataset(path)
    else:
        _check_is_file(path)
    if info.format in (CSV, TSV):
        return _csv_rows(path, info, start)
    if info.format == JSONL:
        return _jsonl_rows(path, info, start)
    if info.format == LINES:
        return _plain_rows(path, info, start)
    raise ValueError(f"unknown dataset format {info.format!r}")


def count_rows(path: Path, info: DatasetInfo | None = None) -> int:
    """How many rows read_rows(path, info) yields, counted by streaming the file once."""
    if info is None:
        info = inspect_dataset(path)
    else:
        _check_is_file(path)
    with closing(_text_lines(path, info.encoding)) as lines:
        if info.format not in (CSV, TSV):
            return sum(1 for line in lines if not line.isspace())
        _allow_large_fields()
        reader = _csv_reader(lines, info.delimiter or ",")
        try:
            # Minus the header.
            return max(0, sum(1 for cells in reader if _has_content(cells)) - 1)
        except csv.Error as exc:
            raise _csv_error(path, reader.line_num, exc) from None


def pasted_rows(text: str) -> tuple[DatasetInfo, list[Row]]:
    """Pasted text as a LINES dataset: one row per non-blank line, in the column ``text``."""
    items = [line.strip() for line in text.splitlines()]
    rows = [
        Row(number, {TEXT_COLUMN: item}, None)
        for number, item in enumerate((item for item in items if item), start=1)
    ]
    if not rows:
        raise DatasetError(
            "There is nothing to label: paste one item per line (for example one review per line)."
        )
    # Pasted text is already Unicode; UTF-8 is what it would be saved as.
    return DatasetInfo(None, LINES, "utf-8", (TEXT_COLUMN,), None), rows


# --- Opening, encodings and lines -----------------------------------------------------------


def _check_is_file(path: Path) -> None:
    if path.is_dir():
        raise DatasetError(
            f"{path} is a folder, not a file: choose a .csv, .tsv, .jsonl or .txt file in it."
        )
    if not path.exists():
        raise DatasetError(
            f"There is no file at {path}: it may have been moved, renamed or deleted. "
            "Choose the file again."
        )


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turns the OSError of opening ``path`` into a DatasetError saying what to do."""
    try:
        yield
    except PermissionError:
        raise DatasetError(
            f"Folio is not allowed to read {path} (permission denied): change the file's "
            "permissions, or copy it to a folder of yours and open the copy."
        ) from None
    except OSError as exc:
        raise DatasetError(
            f"{path} could not be read ({exc.strerror or exc}). Check the file and try again."
        ) from None


def _open_binary(path: Path) -> BufferedReader:
    with _readable(path):
        return path.open("rb")


def _open_text(path: Path, encoding: str) -> TextIOWrapper:
    # newline="": line endings reach the csv module untouched, as it requires.
    with _readable(path):
        return path.open(encoding=encoding, errors="strict", newline="")


def _format_for_suffix(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    readable = (
        "Folio reads CSV (.csv), TSV (.tsv, .tab), JSON Lines (.jsonl, .ndjson) and plain text "
        "(.txt, one item per line)"
    )
    if suffix == ".json":
        advice = (
            "A .json file is one document that would have to be loaded whole: write one JSON "
            "object per line instead and name the file .jsonl."
        )
    elif suffix in (".xlsx", ".xls", ".xlsm", ".ods", ".numbers"):
        advice = f"This is a spreadsheet: in your spreadsheet program, {_SAVE_AS_TEXT}."
    else:
        advice = "Save the data in one of those formats, or rename the file if it is one."
    kind = f"a {suffix} file" if suffix else "a file without a suffix"
    raise DatasetError(f"{path.name} is {kind}. {readable}. {advice}")


def _detect_encoding(path: Path) -> str:
    """The codec for ``path``: its BOM's, else UTF-8, else Windows-1252, else Latin-1 (which
    decodes anything), whichever first decodes the first ENCODING_PROBE_BYTES strictly."""
    with _open_binary(path) as binary:
        head = binary.read(4)
        if not head:
            raise DatasetError(
                f"{path.name} is empty: its first line should name the columns (for example "
                "text and label), with one row per line below it."
            )
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                if not _prefix_decodes(binary, encoding, path):
                    raise _decode_error(path, encoding, 0)
                return encoding
        _reject_known_binary(path, head)
        for encoding in ("utf-8", "cp1252"):
            if _prefix_decodes(binary, encoding, path):
                return encoding
    return "latin-1"


def _prefix_decodes(binary: BufferedReader, encoding: str, path: Path) -> bool:
    # In chunks, so that probing a megabyte never holds a megabyte.
    binary.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    probed = 0
    check_nul = not encoding.startswith(("utf-16", "utf-32"))
    while probed < ENCODING_PROBE_BYTES:
        chunk = binary.read(_PROBE_CHUNK_BYTES)
        if check_nul and b"\x00" in chunk:
            raise DatasetError(
                f"{path.name} contains NUL bytes, so it is a binary file rather than text: "
                f"{_SAVE_AS_TEXT}."
            )
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            return False
        if not chunk:
            break
        probed += len(chunk)
    return True


def _reject_known_binary(path: Path, head: bytes) -> None:
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        kind = "an Excel workbook or another packed (zip or Office) file"
    elif head.startswith(b"%PDF"):
        kind = "a PDF document"
    else:
        return
    raise DatasetError(f"{path.name} is {kind}, not a text file: {_SAVE_AS_TEXT}.")


def _text_lines(path: Path, encoding: str) -> Generator[str, None, None]:
    """Each physical line of ``path``, its line ending kept (as the csv module wants it)."""
    with _open_text(path, encoding) as file:
        lines_read = 0
        while True:
            try:
                line = file.readline(MAX_LINE_CHARS)
            except UnicodeDecodeError:
                raise _decode_error(path, encoding, lines_read) from None
            if not line:
                return
            if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                raise DatasetError(
                    f"{path.name}, line {lines_read + 1:,} is longer than {_MAX_LINE_WORDS}: "
                    "every row must be on its own line. If this is one big JSON document, "
                    "write one JSON object per line instead (JSON Lines)."
                )
            lines_read += 1
            yield line


def _decode_error(path: Path, encoding: str, lines_read: int) -> DatasetError:
    exact = _undecodable_line(path, encoding)
    where = f"line {exact:,}" if exact is not None else f"near line {lines_read + 1:,}"
    return DatasetError(
        f"{path.name}, {where} is not valid {describe_encoding(encoding)}, although the start "
        "of the file is, so part of the file was saved in another encoding. Save the whole "
        "file again as UTF-8 (in a spreadsheet: CSV UTF-8) and open it again."
    )


def _undecodable_line(path: Path, encoding: str) -> int | None:
    # Exact for the encodings in which the byte 0x0A is always a line feed; UTF-16 and UTF-32
    # are not among them, and for those the caller says "near".
    if encoding.startswith(("utf-16", "utf-32")):
        return None
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    number = 1
    with _open_binary(path) as binary:
        while chunk := binary.readline(MAX_LINE_CHARS):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return number
            number += chunk.endswith(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return number
    return None


# --- CSV and TSV ----------------------------------------------------------------------------


def _sample_lines(lines: Iterator[str]) -> list[str]:
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if size >= _SNIFF_CHARS or len(sample) >= _SNIFF_LINES:
            break
    return sample


def _sniff_delimiter(sample: list[str], *, allow_lines: bool) -> str | None:
    """The delimiter of a .csv or .txt, or None for a .txt that holds one item per line.

    csv.Sniffer judges by how consistently a character recurs across lines, but it must also
    appear in the header (a semicolon recurring inside the texts of a one-column file is no
    delimiter). Failing that, a .csv uses the candidate its header holds most (a comma if none:
    one column); a .txt becomes one item per line, since prose is full of commas.
    """
    content = [line for line in sample if not line.isspace()]
    if not content:
        return None if allow_lines else ","
    header = content[0]
    try:
        sniffed: str | None = csv.Sniffer().sniff("".join(content), _DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is not None and sniffed in header and (len(content) > 1 or not allow_lines):
        return sniffed
    if allow_lines:
        return None
    counts = {delimiter: header.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _csv_reader(lines: Iterable[str], delimiter: str) -> CsvReader:
    # Quoting stays on for TSV too: spreadsheets quote a TSV value holding a tab or a newline.
    return csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True)


def _allow_large_fields() -> None:
    # The csv module's default limit (128 KiB) is below what a long document row can hold. The
    # limit is process-wide, so it is only ever raised.
    if csv.field_size_limit() < MAX_LINE_CHARS:
        csv.field_size_limit(MAX_LINE_CHARS)


def _has_content(cells: list[str]) -> bool:
    return any(cell.strip() for cell in cells)


def _first_row(reader: CsvReader) -> list[str] | None:
    _allow_large_fields()
    for cells in reader:
        if _has_content(cells):
            return cells
    return None


def _strip_names(cells: list[str]) -> list[str]:
    # A BOM can survive inside a name when a file was concatenated from BOM-marked parts.
    return [cell.strip().strip("\ufeff").strip() for cell in cells]


def _header_columns(path: Path, cells: list[str], line: int) -> tuple[str, ...]:
    names = _strip_names(cells)
    first_index: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if not name:
            raise DatasetError(
                f"{path.name}, line {line}: column {index} of the header has no name. Give "
                "every column a name in the header (or delete the empty column), then open the "
                "file again."
            )
        if name in first_index:
            raise DatasetError(
                f"{path.name}, line {line}: the header names the column {name!r} twice "
                f"(columns {first_index[name]} and {index}). Rename one of them, then open the "
                "file again."
            )
        first_index[name] = index
    return tuple(names)


def _csv_error(path: Path, line: int, exc: csv.Error) -> DatasetError:
    if "field larger than field limit" in str(exc):
        return DatasetError(
            f"{path.name}, line {line:,}: a value runs past {_MAX_LINE_WORDS}. Usually a "
            'double quote (") opens a value and is never closed: look for a stray quote '
            'before this line, double it ("") or put the value in quotes.'
        )
    return DatasetError(f"{path.name}, line {line:,} cannot be read: {exc}.")


def _csv_rows(path: Path, info: DatasetInfo, start: int) -> Iterator[Row]:
    delimiter = info.delimiter or ","
    width = len(info.columns)
    with closing(_text_lines(path, info.encoding)) as lines:
        reader = _csv_reader(lines, delimiter)
        try:
            header = _first_row(reader)
            if header is None or tuple(_strip_names(header)) != info.columns:
                raise DatasetError(
                    f"{path.name} has changed since it was opened (its header is no longer "
                    f"{', '.join(info.columns)}): open the file again."
                )
            number = 0
            row_start_line = reader.line_num + 1
            for cells in reader:
                first_line, row_start_line = row_start_line, reader.line_num + 1
                if not _has_content(cells):
                    continue
                number += 1
                if number <= start:
                    continue
                problem = None
                if len(cells) > width and _has_content(cells[width:]):
                    problem = (
                        f"row {number} (line {first_line:,} of {path.name}) has {len(cells)} "
                        f"cells but the header names {width} columns ({', '.join(info.columns)})"
                        f": put a value holding a {_DELIMITER_NAMES.get(delimiter, delimiter)} "
                        'in double quotes ("…").'
                    )
                elif len(cells) < width:
                    cells = cells + [""] * (width - len(cells))
                yield Row(number, dict(zip(info.columns, cells, strict=False)), problem)
        except csv.Error as exc:
            raise _csv_error(path, reader.line_num, exc) from None


# --- JSON Lines and plain lines -------------------------------------------------------------


def _jsonl_columns(path: Path, lines: Iterator[str]) -> tuple[str, ...]:
    for number, line in enumerate(lines, start=1):
        if line.isspace():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise DatasetError(
                f"{path.name}, line {number} is not valid JSON ({_json_reason(exc)}): a JSON "
                'Lines file holds one JSON object per line, such as {"text": "…", "label": "…"}.'
            ) from None
        if not isinstance(value, dict):
            raise DatasetError(
                f"{path.name}, line {number} holds {_json_kind(value)}, not an object: a JSON "
                'Lines file holds one JSON object per line, such as {"text": "…", "label": "…"}.'
            )
        if not value:
            raise DatasetError(
                f"{path.name}, line {number} is an empty object ({{}}): the first object's "
                'keys name the columns, such as {"text": "…", "label": "…"}.'
            )
        return _header_columns(path, list(value), number)
    raise DatasetError(
        f"{path.name} holds only blank lines: write one JSON object per line, such as "
        '{"text": "…", "label": "…"}.'
    )


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return str(exc)


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return "a number"


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def _jsonl_rows(path: Path, info: DatasetInfo, start: int) -> Iterator[Row]:
    wanted = frozenset(info.columns)
    with closing(_text_lines(path, info.encoding)) as lines:
        number = 0
        for line_number, line in enumerate(lines, start=1):
            if line.isspace():
                continue
            number += 1
            if number <= start:
                continue
            values = dict.fromkeys(info.columns, "")
            problem = None
            try:
                parsed = json.loads(line)
            except ValueError as exc:
                parsed = None
                problem = (
                    f"line {line_number:,} of {path.name} is not valid JSON ({_json_reason(exc)})"
                )
            else:
                if isinstance(parsed, dict):
                    for key, value in parsed.items():
                        name = key.strip()
                        if name in wanted:
                            values[name] = _json_text(value)
                else:
                    problem = (
                        f"line {line_number:,} of {path.name} holds {_json_kind(parsed)} where "
                        "a JSON object is expected"
                    )
            yield Row(number, values, problem)


def _plain_rows(path: Path, info: DatasetInfo, start: int) -> Iterator[Row]:
    with closing(_text_lines(path, info.encoding)) as lines:
        number = 0
        for line in lines:
            item = line.strip()
            if not item:
                continue
            number += 1
            if number > start:
                yield Row(number, {TEXT_COLUMN: item}, None)
