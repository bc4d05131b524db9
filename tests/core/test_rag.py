"""Grounded answers: numbered sources within the token budget, citations, and honest refusals."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from desktop.cli import run_cli
from desktop.core.documents.chunking import Chunk
from desktop.core.documents.library import DocumentRecord, DocumentStatus, LibraryHit
from desktop.core.rag import (
    GROUNDING_INSTRUCTIONS,
    NOT_IN_LIBRARY,
    RELEVANCE_THRESHOLD,
    cited_numbers,
    ground_question,
)
from tests.core.test_extract import make_pdf
from tests.core.test_library import LEASE_PAGES, REPORT_PAGES


def hit(text: str, similarity: float, page: int = 3, label: str = "3") -> LibraryHit:
    document = DocumentRecord(
        id="d" * 64,
        path=Path("/docs/lease.pdf"),
        name="lease.pdf",
        title="Lease",
        size=1,
        pages=9,
        chunks=9,
        status=DocumentStatus.READY,
        message="",
        added_at=time.time(),
        indexed_at=time.time(),
    )
    chunk = Chunk(
        id=f"{'d' * 16}:{page}:0",
        document_id="d" * 64,
        page_start=page,
        page_end=page,
        page_label=label,
        char_start=0,
        char_end=len(text),
        section="",
        text=text,
        context="",
    )
    return LibraryHit(document, chunk, score=0.03, similarity=similarity)


def words(text: str) -> int:
    return len(text.split())


def test_sources_are_numbered_labelled_and_put_before_the_question() -> None:
    grounded = ground_question(
        "When is rent due?",
        [hit("Rent is due on the first day.", 0.7), hit("Pets are allowed.", 0.4, 7, "vii")],
        system_prompt="Be brief.",
        count_tokens=words,
        token_budget=500,
    )
    assert grounded.relevant
    assert [source.number for source in grounded.sources] == [1, 2]
    assert "[1] lease.pdf, page 3:\nRent is due on the first day." in grounded.prompt
    assert "[2] lease.pdf, page 7 (printed vii):" in grounded.prompt
    assert grounded.prompt.endswith("Question: When is rent due?")
    assert grounded.system_prompt.startswith("Be brief.")
    assert GROUNDING_INSTRUCTIONS in grounded.system_prompt


def test_sources_stop_where_the_token_budget_ends() -> None:
    passages = [hit(" ".join(["word"] * 40), 0.6, page) for page in range(1, 7)]
    grounded = ground_question(
        "q", passages, system_prompt="", count_tokens=words, token_budget=100
    )
    assert 1 <= len(grounded.sources) < len(passages)
    assert words(grounded.prompt) <= 100


def test_unrelated_questions_are_not_sent_to_the_model_with_sources() -> None:
    grounded = ground_question(
        "How do I bake bread?",
        [hit("Rent is due on the first day.", RELEVANCE_THRESHOLD - 0.05)],
        system_prompt="",
        count_tokens=words,
        token_budget=500,
    )
    assert not grounded.relevant and grounded.sources == ()
    empty = ground_question("q", [], system_prompt="", count_tokens=words, token_budget=500)
    assert not empty.relevant


def test_citations_are_read_from_the_answer_in_order_and_invented_ones_ignored() -> None:
    grounded = ground_question(
        "q",
        [hit("a", 0.6, 1), hit("b", 0.6, 2)],
        system_prompt="",
        count_tokens=words,
        token_budget=500,
    )
    answer = "Rent is due monthly [2]. Late fees apply [1][2]. Pets too [7]."
    assert cited_numbers(answer, (s.number for s in grounded.sources)) == [2, 1]


@pytest.mark.usefixtures("folio_home")
def test_ask_with_docs_cites_the_page_and_refuses_what_the_library_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "lease.pdf", LEASE_PAGES)
    make_pdf(docs / "report.pdf", REPORT_PAGES)
    assert run_cli(["index", str(docs), "--json"]) == 0
    capsys.readouterr()

    code = run_cli(
        [
            "ask",
            "How much rent does the tenant pay each month?",
            "--docs",
            "--json",
            "--temperature",
            "0",
            "--max-tokens",
            "40",
        ]
    )
    reply = json.loads(capsys.readouterr().out)
    assert code == 0
    assert reply["answer"]
    first = reply["citations"][0]
    assert (first["n"], first["file"], first["page_start"], first["page_end"]) == (
        1,
        "lease.pdf",
        1,
        1,
    )
    assert all(isinstance(citation["cited"], bool) for citation in reply["citations"])

    code = run_cli(["ask", "How do I bake sourdough bread?", "--docs", "--json"])
    reply = json.loads(capsys.readouterr().out)
    assert code == 0
    assert reply["answer"] == NOT_IN_LIBRARY
    assert reply["citations"] == []
