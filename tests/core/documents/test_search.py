"""Finding passages again: keyword search (SQLite FTS5), vectors (Chroma) and their fusion."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from desktop.core.documents.chunking import Chunk
from desktop.core.documents.keyword_index import KeywordIndex, query_terms, reference_phrases
from desktop.core.documents.search import RRF_K, HybridSearch, reciprocal_rank_fusion
from desktop.core.documents.vector_index import VectorIndex
from desktop.core.embedding.embedder import Embedder

LEASE = "lease-document"
REPORT = "report-document"
SCIENCE = "science-document"

PASSAGES: list[tuple[str, str, str, str]] = [
    # (chunk id, document id, context, text)
    (
        "lease:1:0",
        LEASE,
        "Apartment Lease — Payment Terms",
        "The tenant shall pay rent on the first day of each month by bank transfer.",
    ),
    (
        "lease:2:0",
        LEASE,
        "Apartment Lease — Maintenance",
        "The landlord repairs the heating system; the tenant keeps the garden tidy.",
    ),
    (
        "report:1:0",
        REPORT,
        "ACME 2017 Annual Report — Results of Operations",
        "Net revenue increased 12% to $4.2 billion in 2017, driven by cloud subscriptions.",
    ),
    (
        "report:2:0",
        REPORT,
        "ACME 2017 Annual Report — Outlook",
        "We expect to open two new data centers in Europe during 2018.",
    ),
    (
        "science:1:0",
        SCIENCE,
        "Biology Notes — Plants",
        "Photosynthesis converts light energy into chemical energy stored in glucose.",
    ),
    (
        "science:2:0",
        SCIENCE,
        "Biology Notes — Museum Visit",
        "The natural history museum is closed on Mondays and public holidays.",
    ),
]


def make_chunk(chunk_id: str, document_id: str, context: str, text: str) -> Chunk:
    page = int(chunk_id.split(":")[1])
    return Chunk(
        id=chunk_id,
        document_id=document_id,
        page_start=page,
        page_end=page,
        page_label=str(page),
        char_start=0,
        char_end=len(text),
        section=context.split(" — ")[-1],
        text=text,
        context=context,
    )


CHUNKS = [make_chunk(*passage) for passage in PASSAGES]


@pytest.fixture
def keywords() -> Iterator[KeywordIndex]:
    connection = sqlite3.connect(":memory:")
    index = KeywordIndex(connection)
    index.add(CHUNKS)
    yield index
    connection.close()


def embed_query(embedder: Embedder, text: str) -> npt.NDArray[np.float32]:
    vector: npt.NDArray[np.float32] = embedder.embed([text], kind="query")[0]
    return vector


def open_vectors(folder: Path, embedder: Embedder) -> VectorIndex:
    return VectorIndex(folder, lambda text: embed_query(embedder, text))


def add_vectors(vectors: VectorIndex, embedder: Embedder, chunks: list[Chunk]) -> None:
    vectors.add(
        [chunk.id for chunk in chunks],
        [chunk.document_id for chunk in chunks],
        embedder.embed([chunk.embedding_text for chunk in chunks], kind="document"),
    )


@pytest.fixture
def hybrid(keywords: KeywordIndex, embedder: Embedder, tmp_path: Path) -> HybridSearch:
    vectors = open_vectors(tmp_path / "vectors", embedder)
    add_vectors(vectors, embedder, CHUNKS)
    return HybridSearch(keywords, vectors)


# Query terms


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("What was the net revenue in 2017?", ["net", "revenue", "2017"]),
        ("Revenue rose to $4.2 billion.", ["revenue", "rose", "$4.2", "billion"]),
        ("Why did margins reach 50%?", ["margins", "reach", "50%"]),
        ("According to the lease, when is RENT due?!", ["lease", "rent", "due"]),
        ("rent, rent; RENT... rent", ["rent"]),
        ("the of and to a", []),
        ("?!,;:()", []),
    ],
)
def test_query_terms_keep_words_and_numbers_but_not_stopwords_or_punctuation(
    query: str, terms: list[str]
) -> None:
    assert query_terms(query) == terms


# Rank fusion


def test_a_passage_both_rankings_put_first_beats_ones_only_one_ranks_first() -> None:
    fused = reciprocal_rank_fusion(
        {"keyword": ["both", "keyword-only"], "vector": ["both", "vector-only"]},
        {"keyword": 1.0, "vector": 1.0},
    )

    assert fused[0][0] == "both"
    scores = dict(fused)
    assert scores["both"] == pytest.approx(2 / (RRF_K + 1))
    assert scores["keyword-only"] == pytest.approx(scores["vector-only"])
    assert [score for _, score in fused] == sorted(scores.values(), reverse=True)


def test_a_heavier_ranking_wins_a_tie_between_first_places() -> None:
    rankings = {"keyword": ["k1", "shared"], "vector": ["v1", "shared"]}

    fused = reciprocal_rank_fusion(rankings, {"keyword": 1.0, "vector": 2.0})

    assert [item for item, _ in fused] == ["shared", "v1", "k1"]
    assert dict(fused)["v1"] == pytest.approx(2 * dict(fused)["k1"])


def test_fusion_of_nothing_is_nothing() -> None:
    assert reciprocal_rank_fusion({"keyword": [], "vector": []}, {}) == []


# Keyword index


def test_keyword_search_finds_exact_numbers_and_names(keywords: KeywordIndex) -> None:
    assert keywords.search("$4.2 billion", 5)[0] == "report:1:0"
    assert keywords.search("2018", 5) == ["report:2:0"]
    assert keywords.search("Photosynthesis", 5) == ["science:1:0"]


def test_keyword_search_matches_the_context_line_too(keywords: KeywordIndex) -> None:
    # "Maintenance" is only in the section heading, not in the passage.
    assert keywords.search("maintenance", 5) == ["lease:2:0"]


def test_keyword_search_ignores_case_and_accents(keywords: KeywordIndex) -> None:
    keywords.add([make_chunk("cafe:1:0", "cafe", "Menu", "Crème brûlée at the Café Lumière.")])

    assert keywords.search("CREME BRULEE", 5) == ["cafe:1:0"]
    assert keywords.search("café", 5) == ["cafe:1:0"]


def test_keyword_search_can_be_limited_to_some_documents(keywords: KeywordIndex) -> None:
    assert set(keywords.search("tenant rent revenue", 10)) == {
        "lease:1:0",
        "lease:2:0",
        "report:1:0",
    }
    assert keywords.search("tenant rent revenue", 10, documents=[REPORT]) == ["report:1:0"]
    assert keywords.search("tenant rent revenue", 10, documents=[SCIENCE]) == []
    assert keywords.search("tenant rent revenue", 10, documents=[]) == []


def test_keyword_search_respects_the_limit(keywords: KeywordIndex) -> None:
    assert len(keywords.search("tenant landlord revenue museum", 2)) == 2


def test_removing_a_document_removes_its_passages_from_keyword_search(
    keywords: KeywordIndex,
) -> None:
    removed = keywords.remove_document(LEASE)

    assert sorted(removed) == ["lease:1:0", "lease:2:0"]
    assert keywords.search("tenant rent landlord", 10) == []
    assert keywords.count(LEASE) == 0
    assert keywords.count(REPORT) == 2
    assert keywords.chunks(["lease:1:0", "report:1:0"]).keys() == {"report:1:0"}
    assert keywords.remove_document(LEASE) == []


def test_stored_passages_come_back_as_they_were_added(keywords: KeywordIndex) -> None:
    stored = keywords.chunks(["report:1:0"])["report:1:0"]

    original = CHUNKS[2]
    assert (stored.id, stored.document_id, stored.text, stored.context, stored.section) == (
        original.id,
        original.document_id,
        original.text,
        original.context,
        original.section,
    )
    assert (stored.page_start, stored.page_end, stored.page_label) == (1, 1, "1")
    assert keywords.chunks([]) == {}


def test_passages_wait_for_vectors_until_marked_embedded(keywords: KeywordIndex) -> None:
    assert [chunk.id for chunk in keywords.unembedded(LEASE)] == ["lease:1:0", "lease:2:0"]

    keywords.mark_embedded(["lease:1:0"])

    assert [chunk.id for chunk in keywords.unembedded(LEASE)] == ["lease:2:0"]


@pytest.mark.parametrize(
    "query",
    [
        "c++",
        '"',
        '"unbalanced quote',
        "'single'",
        "NEAR(rent tenant)",
        "rent*",
        "AND OR NOT",
        "text:rent",
        "context:Lease",
        "^rent",
        "()",
        "-rent",
        "the of and",
        "",
        "   ",
        "💡 ≠ ∑",
        "rent\x00tenant",
        "契約書",
    ],
)
def test_odd_queries_never_raise_or_log_errors(
    keywords: KeywordIndex, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        results = keywords.search(query, 5)

    assert isinstance(results, list)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("query", ["text:rent", "NEAR(rent tenant)", "rent*", '"rent"'])
def test_query_syntax_characters_are_searched_as_plain_words(
    keywords: KeywordIndex, query: str
) -> None:
    assert keywords.search(query, 5)[0] == "lease:1:0"


def test_re_adding_a_passage_forgets_its_old_words() -> None:
    connection = sqlite3.connect(":memory:")
    try:
        index = KeywordIndex(connection)
        index.add([make_chunk("a:1:0", "a", "Fruit", "An apple orchard in autumn.")])
        index.add([make_chunk("a:1:0", "a", "Fruit", "A banana plantation.")])
        index.remove_document("a")
        index.add([make_chunk("b:1:0", "b", "Boats", "A sailing regatta on the lake.")])

        assert index.search("apple orchard", 5) == []
    finally:
        connection.close()


# Vectors and hybrid search


def test_a_paraphrased_question_finds_the_passage_without_shared_words(
    hybrid: HybridSearch, keywords: KeywordIndex
) -> None:
    question = "When must the monthly housing cost be settled?"
    assert keywords.search(question, 10) == [], "no word of the question is in any passage"

    hits = hybrid.search(question, k=3)

    assert hits[0].chunk.id == "lease:1:0"
    assert hits[0].keyword_rank is None
    assert hits[0].vector_rank == 0
    assert hits[0].similarity is not None and 0.3 < hits[0].similarity <= 1.0


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How much did sales grow in 2017?", "report:1:0"),
        ("How do plants turn sunlight into sugar?", "science:1:0"),
        ("Which days can I not visit the exhibition?", "science:2:0"),
        ("Who fixes the radiators?", "lease:2:0"),
    ],
)
def test_questions_find_the_passage_that_answers_them(
    hybrid: HybridSearch, question: str, expected: str
) -> None:
    hits = hybrid.search(question, k=3)

    assert hits[0].chunk.id == expected
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_hybrid_search_returns_at_most_k_passages_each_once(hybrid: HybridSearch) -> None:
    hits = hybrid.search("rent revenue museum energy", k=4)

    assert len(hits) == 4
    assert len({hit.chunk.id for hit in hits}) == 4


def test_a_passage_found_by_both_words_and_meaning_ranks_first(hybrid: HybridSearch) -> None:
    hits = hybrid.search("rent tenant first day of the month", k=3)

    assert hits[0].chunk.id == "lease:1:0"
    assert hits[0].keyword_rank == 0 and hits[0].vector_rank == 0


def test_hybrid_search_can_be_limited_to_some_documents(hybrid: HybridSearch) -> None:
    hits = hybrid.search("When is the rent due?", k=5, documents=[SCIENCE, REPORT])

    assert hits
    assert {hit.chunk.document_id for hit in hits} <= {SCIENCE, REPORT}
    assert hybrid.search("When is the rent due?", k=5, documents=[]) == []


def test_removed_passages_are_no_longer_found_by_meaning(
    embedder: Embedder, keywords: KeywordIndex, tmp_path: Path
) -> None:
    vectors = open_vectors(tmp_path / "vectors", embedder)
    add_vectors(vectors, embedder, CHUNKS)
    question = "When is the rent due?"
    assert vectors.search(question, 3)[0][0] == "lease:1:0"

    vectors.remove(keywords.remove_document(LEASE))

    assert vectors.count() == len(CHUNKS) - 2
    found = [chunk_id for chunk_id, _ in vectors.search(question, 10)]
    assert found and not {"lease:1:0", "lease:2:0"} & set(found)
    hits = HybridSearch(keywords, vectors).search(question, k=10)
    assert hits and all(hit.chunk.document_id != LEASE for hit in hits)


def test_vectors_survive_reopening_the_folder(embedder: Embedder, tmp_path: Path) -> None:
    first = open_vectors(tmp_path / "vectors", embedder)
    add_vectors(first, embedder, CHUNKS[:3])
    del first

    reopened = open_vectors(tmp_path / "vectors", embedder)

    assert reopened.count() == 3
    assert reopened.search("When is the rent due?", 1)[0][0] == "lease:1:0"


def test_an_empty_vector_index_finds_nothing(embedder: Embedder, tmp_path: Path) -> None:
    vectors = open_vectors(tmp_path / "vectors", embedder)

    assert vectors.count() == 0
    assert vectors.search("anything at all", 5) == []
    vectors.remove([])
    vectors.add([], [], np.zeros((0, 384), dtype=np.float32))
    assert vectors.count() == 0


# References to labelled parts


@pytest.mark.parametrize(
    ("query", "phrases"),
    [
        ("According to table II, which datasets?", ["table ii"]),
        ("What does Figure 3 show, and fig. 4b?", ["figure 3", "fig 3", "figure 4b", "fig 4b"]),
        (
            "Summarise Item 7A and Note 11 and section 4.2.1",
            ["item 7a", "note 11", "section 4.2.1"],
        ),
        ("What is on the table in the kitchen?", []),
        ("Which item costs most?", []),
    ],
)
def test_labelled_references_are_read_from_questions(query: str, phrases: list[str]) -> None:
    assert reference_phrases(query) == phrases


def test_a_question_naming_a_table_finds_the_passage_with_that_label(
    embedder: Embedder, tmp_path: Path
) -> None:
    # Many passages talk about tables and datasets; one is Table II itself.
    chunks = [
        make_chunk(
            f"paper:{n}:0",
            SCIENCE,
            "Survey of Retrieval",
            f"Table {roman} summarises the datasets used for retrieval evaluation in part {n}.",
        )
        for n, roman in enumerate(["I", "III", "IV", "V", "VI", "VII"], start=1)
    ]
    chunks.append(
        make_chunk(
            "paper:9:0",
            SCIENCE,
            "Survey of Retrieval",
            "TABLE II DOWNSTREAM TASKS AND DATASETS OF RAG. Task QA with PopQA and MS MARCO.",
        )
    )
    connection = sqlite3.connect(":memory:")
    keywords = KeywordIndex(connection)
    keywords.add(chunks)
    vectors = open_vectors(tmp_path / "vectors", embedder)
    add_vectors(vectors, embedder, chunks)

    assert keywords.search_references("According to table II, which datasets?", 5) == ["paper:9:0"]
    hits = HybridSearch(keywords, vectors).search("According to table II, which datasets?", k=3)
    assert hits[0].chunk.id == "paper:9:0"
    assert keywords.search_references("Which datasets are used?", 5) == []
    connection.close()


# Questions that name a document

FILINGS = [
    make_chunk(
        "acme:40:0",
        "acme-filing",
        "ACME_2022_10K — Results of Operations",
        "Our cost structure changed during the year as we moved production to new plants.",
    ),
    make_chunk(
        "acme:41:0",
        "acme-filing",
        "ACME_2022_10K — Employees",
        "Acme employed 12,000 people at the end of the year.",
    ),
    make_chunk(
        "globex:12:0",
        "globex-filing",
        "BESTBUY_2022_10K — Results of Operations",
        "Gross margin improved to 24% as net revenue increased and the cost of sales fell.",
    ),
    make_chunk(
        "globex:13:0",
        "globex-filing",
        "BESTBUY_2022_10K — Stores",
        "We operated 1,000 stores at the end of the year.",
    ),
]
FILING_NAMES = {"acme-filing": "ACME_2022_10K Annual Report", "globex-filing": "BESTBUY_2022_10K"}


@pytest.fixture
def filings(embedder: Embedder, tmp_path: Path) -> Iterator[HybridSearch]:
    connection = sqlite3.connect(":memory:")
    keywords = KeywordIndex(connection)
    keywords.add(FILINGS)
    vectors = open_vectors(tmp_path / "vectors", embedder)
    add_vectors(vectors, embedder, FILINGS)
    yield HybridSearch(keywords, vectors)
    connection.close()


def test_a_question_naming_a_company_gets_its_filing_first(filings: HybridSearch) -> None:
    question = "Did Acme's gross margin improve in 2022?"
    unnamed = filings.search(question, k=4)
    assert unnamed[0].chunk.document_id == "globex-filing"  # the generic wording wins alone

    hits = filings.search(question, k=4, names=FILING_NAMES)

    assert [hit.chunk.document_id for hit in hits[:2]] == ["acme-filing"] * 2
    assert hits[2].chunk.document_id == "globex-filing"  # the rest still follow


def test_a_name_written_apart_matches_the_squashed_file_name(filings: HybridSearch) -> None:
    assert filings.named_documents("How many stores does Best Buy run?", FILING_NAMES) == [
        "globex-filing"
    ]


def test_words_every_document_uses_name_no_document(filings: HybridSearch) -> None:
    names = {"acme-filing": "Acme year report", "globex-filing": "Globex year report"}

    assert filings.named_documents("What happened during the year?", names) == []
    assert filings.named_documents("What did the report say about the year?", names) == []
    # One document in scope: there is nothing to choose between.
    assert filings.named_documents("Acme results", names, documents=["acme-filing"]) == []


def test_words_in_most_passages_are_left_out_without_changing_the_order() -> None:
    # BM25 gives a word used by more than half the passages no weight; matching it anyway
    # makes every search score the whole library.
    connection = sqlite3.connect(":memory:")
    index = KeywordIndex(connection)
    chunks = [
        Chunk(
            f"c{n}",
            f"d{n % 10}",
            1,
            1,
            "1",
            0,
            10,
            "",
            f"Quarterly revenue note {n}."
            + (" The turbine warranty lapses." if n % 97 == 0 else ""),
            "",
        )
        for n in range(1200)
    ]
    index.add(chunks)
    index.mark_embedded([chunk.id for chunk in chunks])
    assert list(index._passage_counts(["revenue", "turbine"])[0]) == ["turbine"]
    found = index.search("revenue turbine", 20)
    assert set(found) == {f"c{n}" for n in range(0, 1200, 97)}
    # A question made only of common words still finds passages.
    assert len(index.search("quarterly revenue", 5)) == 5
    # Limited to some documents, the same holds.
    limited = index.search("revenue turbine", 20, documents=["d0"])
    assert limited and all(int(chunk_id[1:]) % 10 == 0 for chunk_id in limited)
    connection.close()


def _zipf_library(size: int) -> KeywordIndex:
    """Passages of words with Zipf-like frequencies: a few everywhere, most rare."""
    import random

    rng = random.Random(5)
    words = [f"w{rank}" for rank in range(3000)]
    connection = sqlite3.connect(":memory:")
    index = KeywordIndex(connection)
    chunks = [
        Chunk(
            f"c{n}",
            f"d{n % 7}",
            1,
            1,
            "1",
            0,
            10,
            "",
            " ".join(words[int(len(words) ** rng.random()) - 1] for _ in range(40)),
            f"Report {n % 7}",
        )
        for n in range(size)
    ]
    index.add(chunks)
    return index


def test_scoring_the_rarer_terms_first_gives_the_full_ranking() -> None:
    index = _zipf_library(6000)
    taken = 0
    # Word w{r} is in about 1 - exp(-5 / r) of the passages: w8 in 46 %, w300 in 1.7 %.
    questions = ("w12 w25 w600", "w15 w40 w900", "w8 w300 w1500", "w20 w50 w350 w1200")
    for question in questions:
        for documents in (None, ["d1", "d3"]):
            counts, passages = index._passage_counts(question.split())
            match = " OR ".join(f'"{term}"' for term in counts)
            full = index._ranked(match, 30, documents, question)
            first = index._ranked_by_rare_terms(match, counts, passages, 30, documents)
            if first is not None:
                taken += 1
                assert first == full
            assert index.search(question, 30, documents) == full
    # The shortcut really ran for most of these questions (else this test proves nothing).
    assert taken >= 4


def test_when_common_terms_could_still_win_every_match_is_scored() -> None:
    index = _zipf_library(6000)
    counts, passages = index._passage_counts(["w6", "w9", "w2500"])
    match = " OR ".join(f'"{term}"' for term in counts)
    # The one rare word is in a dozen passages: more are wanted, so no shortcut.
    assert counts["w2500"] < 30
    assert index._ranked_by_rare_terms(match, counts, passages, 30, None) is None
    found = index.search("w6 w9 w2500", 30)
    assert len(found) == 30
    assert found == index._ranked(match, 30, None, "w6 w9 w2500")
