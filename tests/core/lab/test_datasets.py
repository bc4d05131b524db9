"""Reading the files a batch run labels: every format, encoding and mistake people bring."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core.errors import EngineError
from desktop.core.lab.datasets import (
    CSV,
    JSONL,
    LINES,
    MAX_LINE_CHARS,
    TSV,
    DatasetError,
    DatasetInfo,
    Row,
    count_rows,
    describe_encoding,
    inspect_dataset,
    pasted_rows,
    read_rows,
)

DEV_TSV = Path("/work/shared/eval/reviews/dev.tsv")


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


def rows_of(path: Path, start: int = 0) -> list[Row]:
    return list(read_rows(path, inspect_dataset(path), start=start))


def values_of(path: Path) -> list[dict[str, str]]:
    return [dict(row.values) for row in rows_of(path)]


def message(path: Path) -> str:
    with pytest.raises(DatasetError) as caught:
        info = inspect_dataset(path)
        list(read_rows(path, info))
    return str(caught.value)


# --- Formats --------------------------------------------------------------------------------


def test_a_csv_is_read_with_its_header(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text,label\nGreat food,positive\nCold soup,negative\n")
    info = inspect_dataset(path)
    assert info == DatasetInfo(path, CSV, "utf-8", ("text", "label"), ",")
    assert rows_of(path) == [
        Row(1, {"text": "Great food", "label": "positive"}, None),
        Row(2, {"text": "Cold soup", "label": "negative"}, None),
    ]
    assert count_rows(path, info) == 2


def test_a_tsv_is_read_without_sniffing(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.tsv", "text\tlabel\nGood, cheap; quick\tpositive\n")
    info = inspect_dataset(path)
    assert (info.format, info.delimiter) == (TSV, "\t")
    assert values_of(path) == [{"text": "Good, cheap; quick", "label": "positive"}]


def test_a_tab_file_is_tsv(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.tab", "text\tlabel\nfine\tpositive\n")
    assert inspect_dataset(path).format == TSV


def test_a_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    # What a spreadsheet in a comma-decimal locale saves.
    path = write(tmp_path / "reviews.csv", "text;label;score\nNice, really;positive;4,5\n")
    info = inspect_dataset(path)
    assert (info.format, info.delimiter, info.columns) == (CSV, ";", ("text", "label", "score"))
    assert values_of(path) == [{"text": "Nice, really", "label": "positive", "score": "4,5"}]


def test_a_tab_delimited_csv_is_sniffed_as_tsv(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text\tlabel\nGood, fine\tpositive\nBad\tnegative\n")
    info = inspect_dataset(path)
    assert (info.format, info.delimiter) == (TSV, "\t")


def test_a_one_column_csv_has_one_column(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text\nGreat food\nCold soup\n")
    assert inspect_dataset(path).columns == ("text",)
    assert values_of(path) == [{"text": "Great food"}, {"text": "Cold soup"}]


def test_quoted_fields_may_hold_delimiters_quotes_and_newlines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "reviews.csv",
        'text,label\n"Good, then\nbad: ""meh""",negative\r\n"tab\there",positive\r\n',
    )
    assert values_of(path) == [
        {"text": 'Good, then\nbad: "meh"', "label": "negative"},
        {"text": "tab\there", "label": "positive"},
    ]
    assert count_rows(path, inspect_dataset(path)) == 2


def test_quoted_tsv_fields_may_hold_tabs_and_newlines(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.tsv", 'text\tlabel\n"one\ttwo\nthree"\tpositive\n')
    assert values_of(path) == [{"text": "one\ttwo\nthree", "label": "positive"}]


def test_jsonl_takes_its_columns_from_the_first_object(tmp_path: Path) -> None:
    lines = [
        {"text": "Great", "label": "positive", "stars": 5},
        {"text": "Awful", "label": "negative", "stars": 1.5, "extra": "ignored"},
        {"text": "No label", "stars": None},
        {"text": {"nested": [1, "é"]}, "label": True, "stars": False},
    ]
    path = write(tmp_path / "reviews.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    info = inspect_dataset(path)
    assert (info.format, info.columns, info.delimiter) == (JSONL, ("text", "label", "stars"), None)
    assert values_of(path) == [
        {"text": "Great", "label": "positive", "stars": "5"},
        {"text": "Awful", "label": "negative", "stars": "1.5"},
        {"text": "No label", "label": "", "stars": ""},
        {"text": '{"nested": [1, "é"]}', "label": "true", "stars": "false"},
    ]
    assert count_rows(path, info) == 4


def test_ndjson_is_jsonl(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.ndjson", '{"text": "fine"}\n')
    assert inspect_dataset(path).format == JSONL


def test_a_later_jsonl_line_that_is_not_an_object_is_that_rows_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.jsonl", '{"text": "a"}\n[1, 2]\n{"text": \n{"text": "d"}\n')
    rows = rows_of(path)
    assert [row.number for row in rows] == [1, 2, 3, 4]
    assert rows[0].problem is None and rows[3].problem is None
    assert rows[1].problem is not None and "line 2" in rows[1].problem
    assert "array" in rows[1].problem
    assert rows[2].problem is not None and "line 3" in rows[2].problem
    assert "not valid JSON" in rows[2].problem
    assert rows[1].values == {"text": ""}


def test_a_txt_without_delimiters_is_one_item_per_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "reviews.txt", "I loved it, really.\n\nBad food, bad service, never again\n"
    )
    info = inspect_dataset(path)
    assert (info.format, info.columns, info.delimiter) == (LINES, ("text",), None)
    assert values_of(path) == [
        {"text": "I loved it, really."},
        {"text": "Bad food, bad service, never again"},
    ]
    assert count_rows(path, info) == 2


def test_a_delimited_txt_is_a_table(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.txt", "text\tlabel\nfine\tpositive\nbad\tnegative\n")
    info = inspect_dataset(path)
    assert (info.format, info.columns) == (TSV, ("text", "label"))


def test_pasted_lines_become_rows_of_text() -> None:
    info, rows = pasted_rows("  Great food \n\n\r\nCold soup\r\n")
    assert (info.path, info.format, info.columns) == (None, LINES, ("text",))
    assert rows == [Row(1, {"text": "Great food"}, None), Row(2, {"text": "Cold soup"}, None)]


def test_nothing_pasted_is_an_error() -> None:
    with pytest.raises(DatasetError, match="paste one item per line"):
        pasted_rows(" \n\n")


def test_blank_lines_are_skipped_and_not_numbered(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "\ntext,label\n\na,positive\n  \n,\nb,negative\n\n")
    rows = rows_of(path)
    assert [(row.number, row.values["text"]) for row in rows] == [(1, "a"), (2, "b")]
    assert count_rows(path, inspect_dataset(path)) == 2


def test_the_real_review_sentences() -> None:
    if not DEV_TSV.exists():
        pytest.skip(f"{DEV_TSV} is not on this machine")
    info = inspect_dataset(DEV_TSV)
    assert (info.format, info.columns, info.encoding) == (TSV, ("text", "label"), "utf-8")
    rows = list(read_rows(DEV_TSV, info))
    assert len(rows) == 200 == count_rows(DEV_TSV, info)
    assert {row.values["label"] for row in rows} == {"positive", "negative"}
    assert all(row.problem is None and row.values["text"] for row in rows)


# --- Encodings ------------------------------------------------------------------------------


def test_a_windows_1252_file_is_read_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text,label\ncafé – “good”,positive\n", "cp1252")
    info = inspect_dataset(path)
    assert info.encoding == "cp1252"
    assert describe_encoding(info.encoding) == "Windows-1252"
    assert values_of(path) == [{"text": "café – “good”", "label": "positive"}]


def test_a_file_that_is_not_even_windows_1252_is_latin_1(tmp_path: Path) -> None:
    # 0x81 is undefined in Windows-1252.
    path = write(tmp_path / "reviews.csv", b"text\ncaf\xe9 \x81\n")
    info = inspect_dataset(path)
    assert info.encoding == "latin-1"
    assert values_of(path) == [{"text": "café \x81"}]


def test_a_utf8_bom_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "\ufefftext,label\ncafé,positive\n")
    info = inspect_dataset(path)
    assert info.encoding == "utf-8-sig"
    assert info.columns == ("text", "label")
    assert values_of(path) == [{"text": "café", "label": "positive"}]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom(tmp_path: Path, encoding: str) -> None:
    content = "text\tlabel\ncafé\tpositive\n日本\tnegative\n"
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + content.encode(encoding)
    else:
        raw = content.encode(encoding)
    path = write(tmp_path / "reviews.tsv", raw)
    info = inspect_dataset(path)
    assert info.encoding in ("utf-16", "utf-32")
    assert info.columns == ("text", "label")
    assert values_of(path) == [
        {"text": "café", "label": "positive"},
        {"text": "日本", "label": "negative"},
    ]
    assert count_rows(path, info) == 2


def test_a_bad_byte_after_the_probed_start_names_its_line(tmp_path: Path) -> None:
    # Over a megabyte of plain ASCII, so UTF-8 is chosen, then Windows-1252 on line 40,002.
    rows = "".join(
        f"review number {index:08d} padding padding,positive\n" for index in range(40_000)
    )
    path = write(tmp_path / "reviews.csv", b"text,label\n" + rows.encode() + b"caf\xe9,negative\n")
    info = inspect_dataset(path)
    assert info.encoding == "utf-8"
    with pytest.raises(DatasetError) as caught:
        list(read_rows(path, info))
    assert "line 40,002" in str(caught.value)
    assert "UTF-8" in str(caught.value)
    with pytest.raises(DatasetError, match="line 40,002"):
        count_rows(path, info)


# --- Ragged rows and resuming ---------------------------------------------------------------


def test_a_short_row_is_padded_with_empty_values(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text,label,note\nonly text\na,b\n")
    assert rows_of(path) == [
        Row(1, {"text": "only text", "label": "", "note": ""}, None),
        Row(2, {"text": "a", "label": "b", "note": ""}, None),
    ]


def test_a_long_row_has_a_problem_and_reading_goes_on(tmp_path: Path) -> None:
    lines = ["text,label"] + [f"r{index},positive" for index in range(1, 17)]
    lines += ["Good, cheap, fast,positive", "last,negative"]
    path = write(tmp_path / "reviews.csv", "\n".join(lines) + "\n")
    rows = rows_of(path)
    assert len(rows) == 18
    problem = rows[16].problem
    assert problem is not None
    assert "row 17" in problem and "4 cells" in problem and "2 columns" in problem
    assert "line 18" in problem and "text, label" in problem
    assert rows[16].values == {"text": "Good", "label": " cheap"}
    assert rows[17] == Row(18, {"text": "last", "label": "negative"}, None)


def test_trailing_empty_cells_are_no_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text,label\nfine,positive,,\n")
    assert rows_of(path) == [Row(1, {"text": "fine", "label": "positive"}, None)]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".txt"])
def test_reading_resumes_after_start_rows(tmp_path: Path, suffix: str) -> None:
    items = [f"item {index}" for index in range(1, 11)]
    if suffix == ".csv":
        content = "text\n" + "\n\n".join(f'"{item}\nmore"' for item in items) + "\n"
        expected = [f"{item}\nmore" for item in items[6:]]
    elif suffix == ".jsonl":
        content = "\n".join(json.dumps({"text": item}) for item in items) + "\n"
        expected = items[6:]
    else:
        content = "\n".join(items) + "\n"
        expected = items[6:]
    path = write(tmp_path / f"items{suffix}", content)
    rows = rows_of(path, start=6)
    assert [row.number for row in rows] == [7, 8, 9, 10]
    assert [row.values["text"] for row in rows] == expected
    assert rows_of(path, start=10) == []
    assert rows_of(path, start=99) == []


def test_a_negative_start_is_a_mistake(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text\na\n")
    with pytest.raises(ValueError):
        read_rows(path, start=-1)


def test_read_rows_inspects_the_file_when_not_given_its_info(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text\na\n")
    assert [row.values for row in read_rows(path)] == [{"text": "a"}]
    assert count_rows(path) == 1


def test_a_file_changed_since_it_was_inspected(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text,label\na,b\n")
    info = inspect_dataset(path)
    write(path, "review,label\na,b\n")
    with pytest.raises(DatasetError, match="changed since it was opened"):
        list(read_rows(path, info))


# --- Big files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_tsv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.tsv"
    filler = "The food was fine and the service was friendly enough, " * 2
    with path.open("w", encoding="utf-8") as file:
        file.write("text\tlabel\n")
        for index in range(100_000):
            file.write(f"Review {index}: {filler}\t{'positive' if index % 2 else 'negative'}\n")
    return path


def test_a_100000_row_file_is_streamed(big_tsv: Path) -> None:
    assert big_tsv.stat().st_size > 10_000_000
    info = inspect_dataset(big_tsv)
    tracemalloc.start()
    try:
        rows = read_rows(big_tsv, info)
        assert isinstance(rows, Iterator)
        first = list(itertools.islice(rows, 10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [row.number for row in first] == list(range(1, 11))
    assert first[9].values["text"].startswith("Review 9: ")
    assert peak < 5_000_000


def test_a_100000_row_file_is_counted(big_tsv: Path) -> None:
    assert count_rows(big_tsv, inspect_dataset(big_tsv)) == 100_000


def test_resuming_near_the_end_keeps_none_of_the_skipped_rows(big_tsv: Path) -> None:
    info = inspect_dataset(big_tsv)
    tracemalloc.start()
    try:
        last = list(read_rows(big_tsv, info, start=99_998))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [row.number for row in last] == [99_999, 100_000]
    assert last[1].values["text"].startswith("Review 99999: ")
    assert peak < 5_000_000


def test_a_huge_quoted_field_is_read(tmp_path: Path) -> None:
    # Beyond the csv module's default 128 KiB field limit.
    text = "word " * 100_000
    path = write(tmp_path / "long.csv", f'text,label\n"{text}",positive\n')
    assert values_of(path) == [{"text": text, "label": "positive"}]


def test_an_unclosed_quote_that_runs_away_names_the_line(tmp_path: Path) -> None:
    rows = "".join(f"review {index} is fine,positive\n" for index in range(800_000))
    path = write(tmp_path / "runaway.csv", 'text,label\nok,negative\n"oops,negative\n' + rows)
    with pytest.raises(DatasetError) as caught:
        list(read_rows(path))
    assert "runaway.csv, line" in str(caught.value)
    assert "quote" in str(caught.value)


def test_a_line_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "array.jsonl", "[" + '{"text": "x"},' * (MAX_LINE_CHARS // 14 + 1))
    with pytest.raises(DatasetError) as caught:
        inspect_dataset(path)
    assert "line 1" in str(caught.value) and "one JSON object per line" in str(caught.value)


# --- Files that cannot be read --------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.csv"
    for attempt in (inspect_dataset, read_rows, count_rows):
        with pytest.raises(DatasetError, match=r"no file at .*gone\.csv"):
            attempt(path)


def test_a_missing_file_with_info(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", "text\na\n")
    info = inspect_dataset(path)
    path.unlink()
    with pytest.raises(DatasetError, match="no file at"):
        read_rows(path, info)
    with pytest.raises(DatasetError, match="no file at"):
        count_rows(path, info)


def test_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(DatasetError, match="is a folder"):
        inspect_dataset(folder)


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "secret.csv", "text\na\n")
    opening = Path.open

    def refused(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return opening(self, *args, **kwargs)

    # Not chmod: the tests may run as root, whom permissions do not stop.
    monkeypatch.setattr(Path, "open", refused)
    with pytest.raises(DatasetError, match=r"not allowed to read .*secret\.csv"):
        inspect_dataset(path)


def test_a_file_that_fails_to_open_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "remote.csv", "text\na\n")

    def failing(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise OSError(5, "Input/output error", str(self))

    monkeypatch.setattr(Path, "open", failing)
    with pytest.raises(DatasetError, match=r"remote\.csv could not be read \(Input/output error\)"):
        inspect_dataset(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("reviews.xlsx", "spreadsheet"),
        ("reviews.json", ".jsonl"),
        ("reviews.pdf", "Folio reads CSV"),
        ("reviews", "without a suffix"),
    ],
)
def test_an_unsupported_kind_of_file(tmp_path: Path, name: str, expected: str) -> None:
    path = write(tmp_path / name, "text\na\n")
    with pytest.raises(DatasetError, match=expected):
        inspect_dataset(path)


def test_an_empty_file(tmp_path: Path) -> None:
    assert "empty" in message(write(tmp_path / "reviews.csv", b""))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_file_of_blank_lines(tmp_path: Path, suffix: str) -> None:
    assert "only blank lines" in message(write(tmp_path / f"reviews{suffix}", "\n  \n\n"))


def test_a_binary_file(tmp_path: Path) -> None:
    text = message(write(tmp_path / "reviews.csv", b"text,label\n\x00\x01\x02\x03,\xff\n"))
    assert "binary" in text and "reviews.csv" in text


def test_an_excel_workbook_renamed_to_csv(tmp_path: Path) -> None:
    text = message(write(tmp_path / "reviews.csv", b"PK\x03\x04\x14\x00\x06\x00" + b"x" * 100))
    assert "Excel" in text and "CSV" in text


def test_a_header_with_an_empty_column_name(tmp_path: Path) -> None:
    text = message(write(tmp_path / "reviews.csv", "text,,label\na,b,c\n"))
    assert "line 1" in text and "column 2" in text and "no name" in text


def test_a_header_with_a_repeated_column_name(tmp_path: Path) -> None:
    text = message(write(tmp_path / "reviews.tsv", "text\tlabel\t text \na\tb\tc\n"))
    assert "'text' twice" in text and "columns 1 and 3" in text


def test_column_names_are_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", " review text , label\na,b\n")
    assert inspect_dataset(path).columns == ("review text", "label")
    assert values_of(path) == [{"review text": "a", "label": "b"}]


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        ('["text", "label"]', "array"),
        ('"just a string"', "string"),
        ("42", "number"),
        ('{"text": ', "not valid JSON"),
        ("{}", "empty object"),
        ('{"": "x"}', "no name"),
    ],
)
def test_a_first_jsonl_line_that_names_no_columns(
    tmp_path: Path, first_line: str, expected: str
) -> None:
    text = message(write(tmp_path / "reviews.jsonl", f"\n{first_line}\n" + '{"text": "a"}\n'))
    assert "line 2" in text and expected in text


def test_every_dataset_error_is_an_engine_error() -> None:
    assert issubclass(DatasetError, EngineError)


def test_pasted_lines_become_a_file_named_by_its_content(tmp_path: Path) -> None:
    from desktop.core.lab.pasted import save_pasted_lines

    first = save_pasted_lines("Great food!\n\n  Cold soup, {rude} staff  \n", tmp_path)
    again = save_pasted_lines("Great food!\nCold soup, {rude} staff\n", tmp_path)
    assert first == again
    info = inspect_dataset(first)
    assert info.columns == ("text",)
    assert [row.values["text"] for row in read_rows(first, info)] == [
        "Great food!",
        "Cold soup, {rude} staff",
    ]
    with pytest.raises(DatasetError, match="nothing to label"):
        save_pasted_lines(" \n\n", tmp_path)
