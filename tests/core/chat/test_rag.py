"""Grounded answers: numbered sources within the token budget, citations, and honest refusals."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from desktop.cli.main import run_cli
from desktop.core.chat.rag import (
    GROUNDING_INSTRUCTIONS,
    NOT_IN_LIBRARY,
    GroundedQuestion,
    SourceRef,
    cited_numbers,
    ground_in_library,
    ground_question,
    linkify_citations,
    not_indexed_notice,
    source_budget,
    sources_from_meta,
)
from desktop.core.documents.chunking import Chunk
from desktop.core.documents.library import Library
from desktop.core.documents.records import DocumentRecord, DocumentStatus, LibraryHit
from desktop.core.documents.relevance import LIBRARY_COVERS, relevance
from desktop.core.embedding.embedder import Embedder
from tests.support.documents import LEASE_PAGES, REPORT_PAGES, by_name, make_pdf


def hit(text: str, relevance: float, page: int = 3, label: str = "3") -> LibraryHit:
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
    return LibraryHit(document, chunk, score=0.03, similarity=relevance, relevance=relevance)


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
        [hit("Rent is due on the first day.", LIBRARY_COVERS - 0.05)],
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


def test_a_source_saved_with_an_answer_comes_back_whole() -> None:
    import numpy as np

    grounded = ground_question(
        "When is rent due?",
        [hit("Rent is due on the first day of each month.", float(np.float32(0.8123456)), 4, "ii")],
        system_prompt="",
        count_tokens=words,
        token_budget=500,
    )
    ref = SourceRef.from_source(grounded.sources[0])
    meta = json.loads(json.dumps({"sources": [ref.to_meta()]}))  # as the store saves it

    (restored,) = sources_from_meta(meta)
    assert restored == SourceRef(
        number=1,
        document_id="d" * 64,
        file="lease.pdf",
        path=Path("/docs/lease.pdf"),
        page_start=4,
        page_end=4,
        page_label="ii",
        text="Rent is due on the first day of each month.",
        similarity=0.8123,
        relevance=0.8123,
    )
    assert restored.page_text == "page 4 (printed ii)"


def test_malformed_saved_sources_are_skipped_not_fatal() -> None:
    good = {"n": 2, "file": "a.pdf", "path": "/a.pdf", "page_start": 3}
    meta = {"sources": [{"n": "x"}, "not a source", {"file": "a.pdf"}, good]}
    assert [ref.number for ref in sources_from_meta(meta)] == [2]
    assert sources_from_meta({"sources": "nonsense"}) == []
    assert sources_from_meta({}) == []
    spread = SourceRef.from_meta(good | {"page_end": 5})
    assert spread is not None and spread.page_text == "pages 3–5"


def test_citations_become_links_outside_code_tags_and_links() -> None:
    rendered = (
        "<p>Rent is due monthly [1][2], late fees apply [7].</p>"
        "<pre><code>x = a[1]</code></pre>"
        '<p><code>b[2]</code> and <a href="https://example.org/[1]">[1]</a></p>'
    )
    linked = linkify_citations(rendered, [1, 2], lambda n: f"folio:source/5/{n}")

    assert linked.count('href="folio:source/5/1"') == 1
    assert linked.count('href="folio:source/5/2"') == 1
    assert "late fees apply [7]" in linked, "a number with no source stays text"
    assert "<pre><code>x = a[1]</code></pre>" in linked
    assert "<code>b[2]</code>" in linked
    assert 'href="https://example.org/[1]">[1]</a>' in linked
    assert linkify_citations(rendered, [], str) == rendered


def test_the_not_indexed_notice_names_a_few_and_counts_the_rest() -> None:
    assert not_indexed_notice([]) == ""
    assert not_indexed_notice(["a.pdf"]) == (
        "Still being indexed, so passages may be missing: a.pdf."
    )
    assert not_indexed_notice(["a.pdf", "b.pdf", "c.pdf", "d.pdf", "e.pdf"]) == (
        "Still being indexed, so passages may be missing: a.pdf, b.pdf, c.pdf and 2 more."
    )


def test_grounding_in_the_library_notes_what_is_not_indexed_yet(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    library = Library(tmp_path / "library", embedder)
    try:
        library.add([make_pdf(docs / "lease.pdf", LEASE_PAGES)])
        library.index_queued()
        library.add([make_pdf(docs / "report.pdf", REPORT_PAGES)])
        lease_id = by_name(library.documents())["lease.pdf"].id

        def ground(documents: list[str] | None) -> GroundedQuestion:
            return ground_in_library(
                library,
                "How much is the rent?",
                documents=documents,
                system_prompt="Be brief.",
                count_tokens=words,
                token_budget=source_budget(2048, 256, 3),
            )

        everything = ground(None)
        assert everything.relevant and everything.sources[0].hit.document.name == "lease.pdf"
        assert everything.not_indexed == ("report.pdf",)
        only_lease = ground([lease_id])
        assert only_lease.not_indexed == ()
        assert {s.hit.document.name for s in only_lease.sources} == {"lease.pdf"}
    finally:
        library.close()


def test_the_documents_settings_set_how_many_sources_and_how_relevant() -> None:
    passages = [hit(f"Clause {n} of the lease.", 0.5, page=n) for n in range(1, 10)]
    two = ground_question(
        "q", passages, system_prompt="", count_tokens=words, token_budget=5000, sources_wanted=2
    )
    assert [source.number for source in two.sources] == [1, 2]
    nine = ground_question(
        "q", passages, system_prompt="", count_tokens=words, token_budget=5000, sources_wanted=20
    )
    assert len(nine.sources) == 9
    strict = ground_question(
        "q", passages, system_prompt="", count_tokens=words, token_budget=5000, threshold=0.6
    )
    assert not strict.relevant and strict.sources == ()


def test_passages_found_by_their_words_alone_still_answer() -> None:
    # While vectors are being written again, hits come from keywords and have no similarity:
    # their relevance is judged by the words they share with the question.
    keyword_only = hit("Rent is due on the first day of each month.", 0.5)
    keyword_only = LibraryHit(
        keyword_only.document, keyword_only.chunk, 0.02, None, relevance(None, 1.0)
    )
    grounded = ground_question(
        "When is rent due?", [keyword_only], system_prompt="", count_tokens=words, token_budget=500
    )
    assert grounded.relevant and len(grounded.sources) == 1
