"""`folio ask --docs auto|all|off` and `folio eval --answers` on a small real library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.cli.main import run_cli
from tests.support.documents import LEASE_PAGES, REPORT_PAGES, make_pdf

GREEDY = ["--temperature", "0", "--max-tokens", "24"]


@pytest.fixture
def indexed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "lease.pdf", LEASE_PAGES)
    make_pdf(docs / "report.pdf", REPORT_PAGES)
    assert run_cli(["index", str(docs), "--json"]) == 0
    capsys.readouterr()
    return docs


def ask(capsys: pytest.CaptureFixture[str], *arguments: str) -> dict[str, object]:
    assert run_cli(["ask", *arguments, "--json", *GREEDY]) == 0
    reply: dict[str, object] = json.loads(capsys.readouterr().out)
    return reply


def test_automatic_mode_answers_library_questions_from_it_and_the_rest_from_the_model(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    covered = ask(capsys, "How much rent does the tenant pay each month?", "--docs", "auto")
    assert covered["grounded"] is True
    quotes = covered["quotes"]
    assert isinstance(quotes, list) and "1,200 dollars" in quotes[0]["text"]
    citations = covered["citations"]
    assert isinstance(citations, list) and citations[0]["file"] == "lease.pdf"
    assert all(0 <= citation["relevance"] <= 1 for citation in citations)
    assert all(citation["cited_by"] in ("model", "folio", None) for citation in citations)

    poem = ask(capsys, "Write a haiku about autumn.", "--docs", "auto")
    assert poem["grounded"] is False and poem["answer"]
    assert poem["citations"] == [] and poem["quotes"] == []
    assert isinstance(poem["best_relevance"], float) and poem["best_relevance"] < 0.25


def test_documents_only_declines_and_off_never_searches(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    declined = ask(capsys, "Write a haiku about autumn.", "--docs", "all")
    assert declined["grounded"] is False and declined["citations"] == []
    assert "does not seem to contain" in str(declined["answer"])

    plain = ask(capsys, "Write a haiku about autumn.")
    assert "grounded" not in plain and plain["answer"]


def test_eval_answers_reports_answers_quotes_and_refusals(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "qa.jsonl"
    lines = [
        {
            "question": "How much rent does the tenant pay each month?",
            "answer": "1,200 dollars",
            "file": "lease.pdf",
            "pages": [1],
            "source": "lease",
        },
        {"question": "Write a haiku about autumn.", "answerable": False},
    ]
    questions.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")

    assert run_cli(["eval", str(questions), "--answers", "--json", "--max-tokens", "24"]) == 0
    report = json.loads(capsys.readouterr().out)

    answers = report["answers"]
    assert answers["n"] == 1 and answers["unanswerable"] == 1
    # The quoted evidence does not depend on the model's words.
    assert answers["quote_contains_reference"] == 1.0
    assert answers["refusal_rate_unanswerable"] == 1.0
    assert 0.0 <= answers["answer_contains_reference"] <= 1.0
    assert report["retrieval"]["overall"]["recall@1"] == 1.0


def test_eval_answers_refuses_a_question_file_without_references(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "bad.jsonl"
    questions.write_text('{"question": "How much is the rent?"}\n', encoding="utf-8")

    assert run_cli(["eval", str(questions), "--answers"]) == 2
    assert "no reference answer" in capsys.readouterr().err
