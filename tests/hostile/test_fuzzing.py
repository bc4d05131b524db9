"""Property-based fuzzing of extraction and chunking: whatever bytes a file holds, reading it
ends in pages of text or one ``ExtractionError`` with a message, and chunking any pages gives
passages that stay within their pages and their size. ``-m slow`` runs over 10,000 cases."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.core.documents.chunking import chunk_pages
from desktop.core.documents.extract import ExtractionError, PageText, open_document
from tests.support.documents import pdf_bytes
from tests.support.hostile import GOOD_TEXT

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
FULL = settings(max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck))
_SEED = pdf_bytes([GOOD_TEXT, "The ferry timetable changes in May.", ""], title="Harbour")


@st.composite
def damaged_pdfs(draw: st.DrawFn) -> bytes:
    """A real PDF with bytes flipped, cut, spliced or inserted at drawn places."""
    data = bytearray(_SEED)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "splice"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            start = draw(st.integers(0, len(_SEED) - 1))
            data[at:at] = _SEED[start : start + draw(st.integers(1, 300))]
    return bytes(data)


def _read(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzzed{suffix}"
        path.write_bytes(data)
        try:
            with open_document(path) as opened:
                pages = list(opened.pages())
        except ExtractionError as error:
            assert str(error) and "fuzzed" in str(error)
            return
        assert len(pages) == opened.page_count >= 1
        assert all(isinstance(page.text, str) for page in pages)


def _pdf_property(data: bytes) -> None:
    _read(data, ".pdf")


def _text_property(data: bytes) -> None:
    _read(data, ".txt")


pages_strategy = st.lists(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=2_000), min_size=1, max_size=12
)


def _chunk_property(texts: list[str], target: int) -> None:
    pages = [PageText(number=n, label=str(n), text=t) for n, t in enumerate(texts, 1)]
    chunks = list(
        chunk_pages(
            iter(pages),
            document_id="doc",
            document_name="doc.pdf",
            title="Doc",
            target_chars=target,
            overlap_chars=target // 5,
        )
    )
    for chunk in chunks:
        assert 1 <= chunk.page_start <= chunk.page_end <= len(pages)
        assert chunk.text.strip()
    assert len({chunk.id for chunk in chunks}) == len(chunks)


@FAST
@given(damaged_pdfs())
def test_a_damaged_pdf_reads_or_says_why(data: bytes) -> None:
    _pdf_property(data)


@FAST
@given(st.binary(max_size=4_000))
def test_any_bytes_as_text_read_or_say_why(data: bytes) -> None:
    _text_property(data)


@FAST
@given(pages_strategy, st.integers(200, 3_000))
def test_chunking_any_pages_keeps_passages_in_their_pages(texts: list[str], target: int) -> None:
    _chunk_property(texts, target)


@pytest.mark.slow
@FULL
@given(damaged_pdfs())
def test_many_damaged_pdfs_read_or_say_why(data: bytes) -> None:
    _pdf_property(data)


@pytest.mark.slow
@FULL
@given(st.binary(max_size=20_000))
def test_many_byte_strings_as_pdf_and_text_read_or_say_why(data: bytes) -> None:
    _pdf_property(b"%PDF-1.4\n" + data)
    _text_property(data)


@pytest.mark.slow
@FULL
@given(pages_strategy, st.integers(200, 3_000))
def test_chunking_many_page_sets(texts: list[str], target: int) -> None:
    _chunk_property(texts, target)
