"""``folio index|library|search|eval``: the library's headless commands, run in-process."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.cli.main import run_cli
from desktop.core.models.starter import starter_embedder_target
from tests.support.documents import REPORT_PAGES, forget_headings, make_pdf

DOCUMENT_KEYS = {"path", "title", "status", "pages", "chunks", "error"}
RESULT_KEYS = {"file", "path", "page_start", "page_end", "relevance", "text"}
METRIC_KEYS = {"n", "recall@1", "recall@3", "recall@5", "recall@10", "mrr@10"}

TRIP_PAGES = [
    "DAY ONE\nThe train leaves Vienna at seven and reaches Salzburg before lunch.",
    "DAY TWO\nA guided walk through the old town ends at the fortress on the hill.",
    "DAY THREE\nThe lake cruise departs from the pier in St. Wolfgang at ten.",
]


class Folio:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        self._capsys.readouterr()
        code = run_cli([str(arg) for arg in args])
        captured = self._capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.out, captured.err

    def json(self, *args: str | Path) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        assert err.count("folio: error:") == 0, err
        lines = out.strip().splitlines()
        assert len(lines) == 1, out
        return json.loads(lines[0])


@pytest.fixture
def folio(capsys: pytest.CaptureFixture[str]) -> Folio:
    return Folio(capsys)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    make_pdf(folder / "salzburg trip.pdf", TRIP_PAGES)
    make_pdf(folder / "report.pdf", REPORT_PAGES)
    return folder


@pytest.fixture
def indexed(folio: Folio, docs: Path) -> Path:
    report = folio.json("index", docs)
    assert {entry["status"] for entry in report["documents"]} == {"ready"}
    return docs


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("folio: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("folio: error: ")]


def test_index_reports_every_file_and_exits_one_when_some_fail(
    folio: Folio, docs: Path, tmp_path: Path, folio_home: Path
) -> None:
    (docs / "fake.pdf").write_bytes(random.Random(3).randbytes(2048))
    memo = tmp_path / "memo.docx"
    memo.write_bytes(b"PK\x03\x04" + bytes(100))

    code, out, err = folio("index", docs, memo, "--json")

    assert code == 1, "some indexed, some not: the command did only part of its work"
    report = json.loads(out)
    assert set(report) == {"documents", "error"}
    assert report["error"] == "2 of 4 documents could not be indexed"
    entries = {Path(entry["path"]).name: entry for entry in report["documents"]}
    assert sorted(entries) == ["fake.pdf", "memo.docx", "report.pdf", "salzburg trip.pdf"]
    for entry in entries.values():
        assert set(entry) == DOCUMENT_KEYS
        assert Path(entry["path"]).is_absolute()
    trip = entries["salzburg trip.pdf"]
    assert (trip["status"], trip["pages"], trip["error"]) == ("ready", 3, None)
    assert trip["chunks"] >= 3
    assert trip["title"] == "DAY ONE", "its first heading, the file name being no title"
    assert entries["report.pdf"]["status"] == "ready"
    assert entries["report.pdf"]["pages"] == 2
    fake = entries["fake.pdf"]
    assert (fake["status"], fake["pages"], fake["chunks"]) == ("failed", 0, 0)
    assert "fake.pdf" in fake["error"]
    unsupported = entries["memo.docx"]
    assert unsupported["status"] == "failed"
    assert "memo.docx" in unsupported["error"]
    # Each file that was not indexed is named on stderr with why, then the outcome.
    errors = error_lines(err)
    assert len(errors) == 3, err
    assert any(str(docs / "fake.pdf") in line and "isn't a PDF" in line for line in errors)
    assert any(str(memo) in line and "not a document" in line for line in errors)
    assert errors[-1] == "folio: error: 2 of 4 documents could not be indexed"
    # The library lives in FOLIO_HOME; the starter embedder is Folio's own file, so nothing
    # was converted into its cache.
    assert (folio_home / "data" / "library" / "library.sqlite3").is_file()
    assert not list((folio_home / "cache").glob("models/*.gguf"))


def test_a_path_that_does_not_exist_indexes_nothing_and_exits_two(
    folio: Folio, docs: Path, tmp_path: Path, folio_home: Path
) -> None:
    nowhere, gone = tmp_path / "nowhere.pdf", tmp_path / "gone"

    code, out, err = folio("index", docs, nowhere, gone, "--json")

    assert code == 2
    report = json.loads(out)
    assert report["error"] == "2 of the paths given do not exist; nothing was indexed"
    assert [(entry["path"], entry["status"]) for entry in report["documents"]] == [
        (str(nowhere), "not_found"),
        (str(gone), "not_found"),
    ]
    assert all(set(entry) == DOCUMENT_KEYS for entry in report["documents"])
    assert error_lines(err) == [
        f"folio: error: there is no file or folder at {nowhere}",
        f"folio: error: there is no file or folder at {gone}",
        "folio: error: 2 of the paths given do not exist; nothing was indexed",
    ]
    assert not (folio_home / "data" / "library").exists(), "refused before the library opened"

    code, out, err = folio("index", nowhere)
    assert (code, out) == (2, "")
    assert f"there is no file or folder at {nowhere}" in err


def test_index_exits_two_when_nothing_could_be_indexed(folio: Folio, tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    scan = make_pdf(tmp_path / "scan.pdf", ["", ""])

    code, out, err = folio("index", tmp_path / "empty.pdf", scan, "--json")

    assert code == 2
    report = json.loads(out)
    assert report["error"] == "nothing could be indexed"
    statuses = {Path(entry["path"]).name: entry["status"] for entry in report["documents"]}
    assert statuses == {"empty.pdf": "failed", "scan.pdf": "needs_attention"}
    errors = error_lines(err)
    assert any("empty.pdf" in line and "0 bytes" in line for line in errors)
    assert any("scan.pdf" in line and "no text layer" in line for line in errors)
    assert errors[-1] == "folio: error: nothing could be indexed"


def test_a_nearly_empty_note_is_said_to_hold_no_text_not_to_look_scanned(
    folio: Folio, tmp_path: Path
) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("The ferry leaves at noon.\n", encoding="utf-8")

    code, _out, err = folio("index", note)

    assert code == 2
    (line, *_rest) = error_lines(err)
    assert "notes.txt" in line and "almost no text" in line
    assert "scanned" not in err


def test_a_folder_of_only_broken_files_exits_two_naming_each(folio: Folio, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "fake.pdf").write_bytes(random.Random(5).randbytes(1024))
    make_pdf(folder / "scan.pdf", ["", ""])

    code, out, err = folio("index", folder)

    assert code == 2
    assert out == "", "nothing was indexed: nothing to list on stdout"
    errors = error_lines(err)
    assert [line for line in errors if str(folder) in line] == errors[:3]
    for name, why in [
        ("empty.pdf", "0 bytes"),
        ("fake.pdf", "isn't a PDF"),
        ("scan.pdf", "no text"),
    ]:
        assert any(f"{folder / name}: " in line and why in line for line in errors), (name, err)
    assert errors[-1] == "folio: error: nothing could be indexed"

    code, out, _ = folio("index", folder, "--json")
    report = json.loads(out)
    assert code == 2 and report["error"] == "nothing could be indexed"
    assert {entry["status"] for entry in report["documents"]} == {"failed", "needs_attention"}


def test_a_library_from_before_titles_lists_them_without_indexing_again(
    folio: Folio, indexed: Path, folio_home: Path
) -> None:
    forget_headings(folio_home / "data" / "library")

    listed = folio.json("library")

    titles = {Path(entry["path"]).name: entry["title"] for entry in listed["documents"]}
    assert titles == {"report.pdf": "ANNUAL REPORT 2017", "salzburg trip.pdf": "DAY ONE"}
    assert {entry["status"] for entry in listed["documents"]} == {"ready"}
    code, out, _ = folio("library")
    assert code == 0
    assert any(line.endswith("report.pdf  (ANNUAL REPORT 2017)") for line in out.splitlines())


def test_a_folder_without_documents_is_nothing_to_index(folio: Folio, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(b"\xff\xd8\xff")

    code, out, err = folio("index", folder, "--json")

    assert code == 2
    report = json.loads(out)
    assert report["error"] == "there was no PDF, text or Markdown file to index"
    assert [entry["status"] for entry in report["documents"]] == ["skipped"]
    assert error_lines(err) == ["folio: error: there was no PDF, text or Markdown file to index"]


def test_index_without_json_prints_one_line_per_document(
    folio: Folio, docs: Path, tmp_path: Path
) -> None:
    (docs / "empty.pdf").write_bytes(b"")

    code, out, err = folio("index", docs)

    assert code == 1, err
    lines = out.strip().splitlines()
    assert len(lines) == 2, "what was indexed goes to stdout"
    trip = next(line for line in lines if "trip" in line)
    assert trip.startswith("ready")
    assert "3 pages" in trip
    assert "salzburg trip.pdf: 3 pages" in err, "progress goes to stderr"
    empty = next(line for line in error_lines(err) if "empty.pdf" in line)
    assert "0 bytes" in empty, "what was not goes to stderr, with why"


def test_the_help_of_index_tells_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli(["index", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 when every file given was indexed" in help_text
    assert "1 when some were and others could not be read" in help_text
    assert "2 when a path given does not exist" in help_text


def test_indexing_again_keeps_one_copy_of_each_document(folio: Folio, indexed: Path) -> None:
    again = folio.json("index", indexed)

    assert {entry["status"] for entry in again["documents"]} == {"ready"}
    listed = folio.json("library")["documents"]
    assert len(listed) == 2


def test_index_reports_a_copy_under_its_own_name(folio: Folio, docs: Path) -> None:
    shutil.copyfile(docs / "report.pdf", docs / "report copy.pdf")

    report = folio.json("index", docs)

    names = sorted(Path(entry["path"]).name for entry in report["documents"])
    assert names == ["report copy.pdf", "report.pdf", "salzburg trip.pdf"]


def test_library_lists_the_indexed_documents(folio: Folio, indexed: Path) -> None:
    (indexed / "report.pdf").unlink()

    listed = folio.json("library")

    assert set(listed) == {"documents"}
    entries = {Path(entry["path"]).name: entry for entry in listed["documents"]}
    assert sorted(entries) == ["report.pdf", "salzburg trip.pdf"]
    for entry in entries.values():
        assert set(entry) == DOCUMENT_KEYS
    assert entries["salzburg trip.pdf"]["status"] == "ready"
    assert entries["salzburg trip.pdf"]["pages"] == 3
    assert entries["salzburg trip.pdf"]["error"] is None
    missing = entries["report.pdf"]
    assert missing["status"] == "missing"
    assert "report.pdf" in missing["error"]

    code, out, _ = folio("library")
    assert code == 0
    assert len(out.strip().splitlines()) == 2
    assert "salzburg trip.pdf" in out


def test_an_empty_library_lists_nothing(folio: Folio) -> None:
    assert folio.json("library") == {"documents": []}


def test_search_prints_the_best_passages_with_their_pages(folio: Folio, indexed: Path) -> None:
    question = "When does the boat on the lake depart?"

    reply = folio.json("search", question, "-k", "3")

    assert set(reply) == {"query", "results"}
    assert reply["query"] == question
    results = reply["results"]
    assert len(results) == 3
    for result in results:
        assert set(result) == RESULT_KEYS
        assert isinstance(result["relevance"], float) and 0 <= result["relevance"] <= 1
        assert 1 <= result["page_start"] <= result["page_end"]
        assert Path(result["path"]).name == result["file"]
        assert Path(result["path"]).parent == indexed
    best = results[0]
    # The passage that answers is the most relevant, on the scale the window shows.
    assert best["relevance"] == max(r["relevance"] for r in results) and best["relevance"] > 0.25
    assert (best["file"], best["page_start"], best["page_end"]) == ("salzburg trip.pdf", 3, 3)
    assert "lake cruise" in best["text"]


def test_search_without_json_prints_ranked_lines(folio: Folio, indexed: Path) -> None:
    code, out, err = folio("search", "engineers in Dublin", "-k", "2")

    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].strip().startswith("1. report.pdf p. 2 (label 2)")


def test_searching_an_empty_library_finds_nothing(folio: Folio) -> None:
    assert folio.json("search", "When is the rent due?") == {
        "query": "When is the rent due?",
        "results": [],
    }


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_search_is_bad_input(folio: Folio, query: str) -> None:
    assert_one_line_error(*folio("search", query, "--json"), "empty")


def test_asking_for_no_results_is_bad_input(folio: Folio) -> None:
    assert_one_line_error(*folio("search", "rent", "-k", "0"), "-k")


def qa_line(
    identifier: str, question: str, answer: str, file: str, pages: list[int], source: str
) -> str:
    return json.dumps(
        {
            "id": identifier,
            "question": question,
            "answer": answer,
            "file": file,
            "pages": pages,
            "source": source,
        }
    )


def test_eval_reports_recall_and_mrr_overall_and_by_source(
    folio: Folio, indexed: Path, tmp_path: Path
) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        "\n".join(
            [
                qa_line(
                    "trip-1",
                    "When does the lake cruise depart?",
                    "At ten, from the pier in St. Wolfgang.",
                    "salzburg trip.pdf",
                    [3],
                    "travel",
                ),
                qa_line(
                    "fin-1",
                    "How much did net revenue grow in 2017?",
                    "12%, to $4.2 billion.",
                    "report.pdf",
                    [1],
                    "finance",
                ),
                qa_line(
                    "fin-2",
                    "Where will the company hire engineers?",
                    "Dublin and Frankfurt.",
                    "report.pdf",
                    [2],
                    "finance",
                ),
                "",
                qa_line(
                    "atlas-1",
                    "What is the capital of Peru?",
                    "Lima.",
                    "atlas.pdf",
                    [12],
                    "not-in-library",
                ),
            ]
        )
        + "\n",
        encoding="utf-8",
    )

    report = folio.json("eval", qa)

    assert set(report) == {"overall", "by_source"}
    assert set(report["by_source"]) == {"finance", "not-in-library", "travel"}
    for metrics in [report["overall"], *report["by_source"].values()]:
        assert set(metrics) == METRIC_KEYS
        recalls = [metrics[f"recall@{k}"] for k in (1, 3, 5, 10)]
        assert recalls == sorted(recalls), "recall never drops as k grows"
        assert all(0.0 <= value <= 1.0 for value in recalls)
        assert recalls[0] <= metrics["mrr@10"] <= recalls[-1]
    overall = report["overall"]
    assert overall["n"] == 4
    assert overall["recall@10"] == 0.75
    assert report["by_source"]["finance"]["n"] == 2
    assert report["by_source"]["finance"]["recall@10"] == 1.0
    assert report["by_source"]["travel"]["recall@10"] == 1.0
    assert report["by_source"]["travel"]["mrr@10"] > 0.3
    absent = report["by_source"]["not-in-library"]
    assert (absent["n"], absent["recall@10"], absent["mrr@10"]) == (1, 0.0, 0.0)

    code, out, _ = folio("eval", qa)
    assert code == 0
    assert out.splitlines()[0].startswith("overall")
    assert "R@10=0.750" in out.splitlines()[0]


def test_eval_of_a_missing_question_file_is_bad_input(folio: Folio, tmp_path: Path) -> None:
    assert_one_line_error(*folio("eval", tmp_path / "nope.jsonl", "--json"), "nope.jsonl")


@pytest.mark.parametrize(
    "line", ["this is not json", json.dumps({"id": "q1", "question": "Where?"})]
)
def test_a_malformed_question_file_is_bad_input(folio: Folio, tmp_path: Path, line: str) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text(line + "\n", encoding="utf-8")

    assert_one_line_error(*folio("eval", qa, "--json"), "qa.jsonl")


def test_settings_naming_another_embedder_never_cost_the_library_its_vectors(
    folio: Folio, indexed: Path, tmp_path: Path, folio_home: Path
) -> None:
    converted = starter_embedder_target(folio_home / "cache")
    other = tmp_path / "another-embedder.gguf"
    other.write_bytes(converted.read_bytes())
    code, _out, err = folio("config", "set", f"embedding_model={other}")
    assert code == 0, err
    code, out, err = folio("search", "When does the boat on the lake leave?", "-k", "1")
    assert code == 0
    assert "indexed with all-MiniLM-L6-v2" in err
    assert "salzburg trip.pdf" in out
    listing = folio.json("library")
    assert {document["status"] for document in listing["documents"]} == {"ready"}
