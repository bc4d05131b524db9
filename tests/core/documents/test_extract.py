"""Opening real files the way a user's library holds them: good, odd, protected and broken."""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest

from desktop.core.documents.extract import (
    SUPPORTED_SUFFIXES,
    ExtractionError,
    OpenedDocument,
    PageText,
    Problem,
    clean_page_text,
    has_text_layer,
    open_document,
)
from tests.support.documents import FILE_ID, encrypt_pdf, make_pdf, pdf_bytes


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    i = j = 0
    out = bytearray()
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def aes128_empty_password_entry() -> str:
    """An /Encrypt dictionary (PDF 1.6, AESV2) whose user password is empty.

    The password check for this revision is MD5 and RC4 (PDF 1.7 algorithms 2 and 5), so pypdf
    accepts the empty password; only decrypting the page contents needs AES.
    """
    padding = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    owner = bytes(32)
    permissions = -4
    key = hashlib.md5(padding + owner + struct.pack("<i", permissions) + FILE_ID).digest()
    for _ in range(50):
        key = hashlib.md5(key).digest()
    user = _rc4(key, hashlib.md5(padding + FILE_ID).digest())
    for round_number in range(1, 20):
        user = _rc4(bytes(byte ^ round_number for byte in key), user)
    user += bytes(16)
    return (
        f"<< /Filter /Standard /V 4 /R 4 /Length 128 /P {permissions} /O <{owner.hex()}>"
        f" /U <{user.hex()}> /CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >>"
        " /StmF /StdCF /StrF /StdCF >>"
    )


def aes256_entry() -> str:
    """An /Encrypt dictionary for AES-256 (PDF 2.0): even checking a password needs AES."""
    return (
        f"<< /Filter /Standard /V 5 /R 6 /Length 256 /P -4 /O <{'11' * 48}> /U <{'22' * 48}>"
        f" /OE <{'33' * 32}> /UE <{'44' * 32}> /Perms <{'55' * 16}>"
        " /CF << /StdCF << /CFM /AESV3 /AuthEvent /DocOpen /Length 32 >> >>"
        " /StmF /StdCF /StrF /StdCF >>"
    )


def read_all(path: Path, password: str | None = None) -> tuple[OpenedDocument, list[PageText]]:
    with open_document(path, password) as document:
        return document, list(document.pages())


def extraction_error(path: Path, password: str | None = None) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        open_document(path, password)
    assert path.name in str(caught.value), "every message names the file"
    return caught.value


@pytest.fixture
def count_extractions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The page numbers pypdf has been asked to extract, in order."""
    calls: list[int] = []
    real_extract = pypdf.PageObject.extract_text

    def counting_extract(self: pypdf.PageObject, *args: Any, **kwargs: Any) -> str:
        calls.append(self.page_number + 1 if self.page_number is not None else -1)
        return real_extract(self, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", counting_extract)
    yield calls


# PDFs that open


def test_multi_page_pdf_gives_each_page_with_its_printed_label(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "report.pdf",
        ["Preface text", "Contents list", "Chapter one begins\nSecond line", "The end"],
        page_labels=["i", "ii", "1", "2"],
    )

    document, pages = read_all(path)

    assert document.kind == "pdf"
    assert document.page_count == 4
    assert [(page.number, page.label) for page in pages] == [
        (1, "i"),
        (2, "ii"),
        (3, "1"),
        (4, "2"),
    ]
    assert [page.text for page in pages] == [
        "Preface text",
        "Contents list",
        "Chapter one begins\nSecond line",
        "The end",
    ]
    assert has_text_layer(pages)


def test_pdf_without_labels_is_labelled_with_page_numbers(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "plain.pdf", ["one", "two", "three"])

    _, pages = read_all(path)

    assert [page.label for page in pages] == ["1", "2", "3"]


def test_title_comes_from_the_pdf_metadata(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "q3_final-v2.pdf", ["Body"], title="Quarterly Report — Q3 2024")

    with open_document(path) as document:
        assert document.title == "Quarterly Report — Q3 2024"


@pytest.mark.parametrize(
    "junk_title",
    [
        "",
        "   ",
        "untitled",
        "Untitled-1",
        "Microsoft Word - draft.docx",
        "scan0001.pdf",
        "20240131",
    ],
)
def test_junk_metadata_title_falls_back_to_the_file_name(tmp_path: Path, junk_title: str) -> None:
    path = make_pdf(tmp_path / "annual_report-2023.pdf", ["Body"], title=junk_title)

    with open_document(path) as document:
        assert document.title == "annual report 2023"


def test_pages_are_read_one_at_a_time_as_the_caller_asks(
    tmp_path: Path, count_extractions: list[int]
) -> None:
    path = make_pdf(tmp_path / "long.pdf", [f"Page number {n}" for n in range(1, 41)])

    with open_document(path) as document:
        assert document.page_count == 40
        assert count_extractions == [], "opening extracts nothing"
        pages = document.pages()
        first = next(pages)
        assert first.text == "Page number 1"
        assert count_extractions == [1]
        second = next(pages)
        assert second.text == "Page number 2"
        assert count_extractions == [1, 2]


def test_thousand_page_pdf_opens_without_extracting_every_page(
    tmp_path: Path, count_extractions: list[int]
) -> None:
    path = make_pdf(tmp_path / "book.pdf", [f"Text of page {n}" for n in range(1, 1001)])

    with open_document(path) as document:
        assert document.page_count == 1000
        first = next(document.pages())

    assert (first.number, first.label, first.text) == (1, "1", "Text of page 1")
    assert count_extractions == [1]


def test_a_page_that_fails_to_extract_is_blank_and_the_rest_still_come(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_pdf(tmp_path / "flaky.pdf", ["first", "second", "third"])
    real_extract = pypdf.PageObject.extract_text

    def failing_on_page_two(self: pypdf.PageObject, *args: Any, **kwargs: Any) -> str:
        if self.page_number == 1:
            raise KeyError("/Font")
        return real_extract(self, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", failing_on_page_two)

    with caplog.at_level(logging.WARNING, logger="desktop.core.documents.extract"):
        _, pages = read_all(path)

    assert [page.text for page in pages] == ["first", "", "third"]
    assert any("page 2" in record.getMessage() for record in caplog.records)


def test_closed_document_stops_giving_pages(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "closing.pdf", ["one", "two"])
    document = open_document(path)
    pages = document.pages()
    assert next(pages).text == "one"

    document.close()
    document.close()  # closing twice is harmless

    with pytest.raises(ValueError, match=r"closing\.pdf"):
        next(pages)


def test_image_only_pdf_has_blank_pages_and_no_text_layer(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", ["", ""])

    _, pages = read_all(path)

    assert [page.text for page in pages] == ["", ""]
    assert not has_text_layer(pages)


def test_unicode_file_name_opens_and_gives_the_title(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "Ünïcödé — 契約書 (final).pdf", ["Contract terms"])

    document, pages = read_all(path)

    assert document.title == "Ünïcödé — 契約書 (final)"
    assert pages[0].text == "Contract terms"


def test_upper_case_pdf_suffix_is_accepted(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "SCAN.PDF", ["Shouting file name"])

    _, pages = read_all(path)

    assert pages[0].text == "Shouting file name"


def test_pdf_header_after_leading_junk_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "mailed.pdf"
    path.write_bytes(b"X-Gateway: scanned\r\n\r\n" + pdf_bytes(["After the banner"]))

    _, pages = read_all(path)

    assert pages[0].text == "After the banner"


# Encrypted PDFs


def test_password_protected_pdf_asks_for_its_password(tmp_path: Path) -> None:
    path = encrypt_pdf(make_pdf(tmp_path / "statement.pdf", ["Balance 100"]), "secret")

    error = extraction_error(path)

    assert error.problem is Problem.PASSWORD
    assert "password" in str(error)


def test_wrong_password_is_reported_as_wrong(tmp_path: Path) -> None:
    path = encrypt_pdf(make_pdf(tmp_path / "statement.pdf", ["Balance 100"]), "secret")

    error = extraction_error(path, password="guess")

    assert error.problem is Problem.PASSWORD
    assert "wrong" in str(error)


def test_right_password_opens_the_pdf(tmp_path: Path) -> None:
    path = encrypt_pdf(make_pdf(tmp_path / "statement.pdf", ["Balance 100"]), "secret")

    _, pages = read_all(path, password="secret")

    assert [page.text for page in pages] == ["Balance 100"]


def test_pdf_encrypted_with_an_empty_password_opens_without_one(tmp_path: Path) -> None:
    path = encrypt_pdf(make_pdf(tmp_path / "locked-for-editing.pdf", ["Readable"]), "")

    _, pages = read_all(path)

    assert [page.text for page in pages] == ["Readable"]


@pytest.fixture
def without_aes(monkeypatch: pytest.MonkeyPatch) -> None:
    """pypdf as it is installed without the optional cryptography package: its fallback
    provider does RC4 and refuses AES. (Folio depends on cryptography, so this is what a broken
    or trimmed install looks like.)"""
    from pypdf import _encryption
    from pypdf._crypt_providers import _fallback

    for name in ("CryptAES", "aes_cbc_decrypt", "aes_cbc_encrypt", "aes_ecb_decrypt"):
        monkeypatch.setattr(_encryption, name, getattr(_fallback, name))
    monkeypatch.setattr(_encryption, "aes_ecb_encrypt", _fallback.aes_ecb_encrypt)


@pytest.mark.usefixtures("without_aes")
@pytest.mark.parametrize(
    "entry", [aes128_empty_password_entry(), aes256_entry()], ids=["128", "256"]
)
def test_aes_pdf_without_aes_support_says_so_instead_of_looking_scanned(
    tmp_path: Path, entry: str
) -> None:
    path = tmp_path / "bank statement.pdf"
    path.write_bytes(pdf_bytes(["Balance 100"], encrypt_entry=entry))

    error = extraction_error(path)

    assert error.problem is Problem.ENCRYPTED
    assert "AES" in str(error)


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
def test_aes_encrypted_pdfs_open_with_an_empty_password_or_the_right_one(
    tmp_path: Path, algorithm: str
) -> None:
    # Many official documents are AES-encrypted with an empty user password (to restrict
    # editing or printing, not reading): they must read like any other PDF.
    source = make_pdf(tmp_path / "filing.pdf", ["Net revenue 4.2 billion"])
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
    open_to_all = tmp_path / "open-to-all.pdf"
    writer.write(open_to_all)
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm=algorithm)
    locked = tmp_path / "locked.pdf"
    writer.write(locked)

    assert [page.text for page in read_all(open_to_all)[1]] == ["Net revenue 4.2 billion"]
    assert [page.text for page in read_all(locked, password="secret")[1]] == [
        "Net revenue 4.2 billion"
    ]
    error = extraction_error(locked)
    assert error.problem is Problem.PASSWORD and "password" in str(error)


# Files that are not readable PDFs


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    whole = pdf_bytes([f"Page {n} of a download" for n in range(1, 11)])
    path = tmp_path / "half-downloaded.pdf"
    path.write_bytes(whole[: len(whole) // 2])

    error = extraction_error(path)

    assert error.problem is Problem.CORRUPT


def test_reading_a_damaged_pdf_leaves_logging_and_warning_filters_as_they_were(
    tmp_path: Path,
) -> None:
    whole = pdf_bytes(["Some text"])
    path = tmp_path / "damaged.pdf"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.setLevel(logging.INFO)
    filters_before = list(warnings.filters)
    try:
        extraction_error(path)
        assert pypdf_logger.level == logging.INFO
        assert warnings.filters == filters_before
    finally:
        pypdf_logger.setLevel(logging.NOTSET)


def test_random_bytes_named_pdf_are_not_a_document(tmp_path: Path) -> None:
    path = tmp_path / "noise.pdf"
    path.write_bytes(bytes((n * 7919 + 13) % 256 for n in range(5000)).replace(b"%", b"."))

    error = extraction_error(path)

    assert error.problem is Problem.NOT_A_DOCUMENT


def test_png_named_pdf_is_not_a_document_and_says_it_is_an_image(tmp_path: Path) -> None:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))

    error = extraction_error(path)

    assert error.problem is Problem.NOT_A_DOCUMENT
    assert "PNG image" in str(error)


def test_web_page_saved_as_pdf_suggests_downloading_again(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_text("<!DOCTYPE html>\n<html><body>Access denied</body></html>", encoding="utf-8")

    error = extraction_error(path)

    assert error.problem is Problem.NOT_A_DOCUMENT
    assert "Download the document again" in str(error)


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "nothing.pdf"
    path.write_bytes(b"")

    assert extraction_error(path).problem is Problem.EMPTY


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    error = extraction_error(tmp_path / "moved away.pdf")

    assert error.problem is Problem.UNREADABLE
    assert "couldn't find" in str(error)


def test_folder_named_like_a_pdf_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "archive.pdf"
    path.mkdir()

    error = extraction_error(path)

    assert error.problem is Problem.UNREADABLE
    assert "folder" in str(error)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_file_without_read_permission_is_unreadable(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "private.pdf", ["Secret"])
    path.chmod(0)
    try:
        error = extraction_error(path)
    finally:
        path.chmod(0o644)

    assert error.problem is Problem.UNREADABLE
    assert "allowed" in str(error)


def test_file_the_system_refuses_to_open_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chmod test above cannot run as root; this keeps the message checked everywhere.
    path = make_pdf(tmp_path / "locked by policy.pdf", ["Secret"])

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)

    error = extraction_error(path)

    assert error.problem is Problem.UNREADABLE
    assert "allowed" in str(error)


@pytest.mark.parametrize("name", ["letter.docx", "slides.pptx", "README"])
def test_unsupported_file_types_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 not really an office file")

    error = extraction_error(path)

    assert error.problem is Problem.UNSUPPORTED
    assert "PDF" in str(error)


def test_supported_suffixes_are_the_ones_open_document_reads() -> None:
    assert SUPPORTED_SUFFIXES == (".pdf", ".txt", ".md", ".markdown")


def test_unicode_file_name_appears_in_error_messages(tmp_path: Path) -> None:
    path = tmp_path / "Ünïcödé — 契約書 (final).pdf"
    path.write_bytes(b"\xff\xd8\xff\xe0 jpeg data")

    error = extraction_error(path)

    assert "“Ünïcödé — 契約書 (final).pdf”" in str(error)
    assert "JPEG image" in str(error)


# Text and Markdown files


def test_text_file_becomes_pages_cut_between_paragraphs(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 150 for n in range(1, 21)]
    path = tmp_path / "notes_2024.txt"
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")

    document, pages = read_all(path)

    assert document.kind == "text"
    assert document.title == "notes 2024"
    assert document.page_count == len(pages) > 1
    assert [page.number for page in pages] == list(range(1, len(pages) + 1))
    assert [page.label for page in pages] == [str(page.number) for page in pages]
    assert all(len(page.text) <= 3000 for page in pages)
    assert all(page.text.startswith("Paragraph ") for page in pages), "no paragraph is split"
    rejoined = "\n\n".join(page.text for page in pages)
    assert rejoined == "\n\n".join(paragraph.strip() for paragraph in paragraphs)


def test_one_enormous_paragraph_is_still_paged_without_losing_text(tmp_path: Path) -> None:
    text = " ".join(f"w{n}" for n in range(4000))
    path = tmp_path / "wall.txt"
    path.write_text(text, encoding="utf-8")

    _, pages = read_all(path)

    assert len(pages) > 1
    assert all(len(page.text) <= 3000 for page in pages)
    assert " ".join(page.text for page in pages) == text


def test_windows_text_file_in_cp1252_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_bytes("Café “quoted” – 50€\r\nSecond line".encode("cp1252"))

    _, pages = read_all(path)

    assert pages[0].text == "Café “quoted” – 50€\nSecond line"


def test_bytes_undefined_in_cp1252_fall_back_to_latin_1(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"Caf\xe9 \x81 bar")

    _, pages = read_all(path)

    assert pages[0].text == "Café bar"


def test_utf8_with_byte_order_mark_loses_the_mark(tmp_path: Path) -> None:
    path = tmp_path / "excel export.txt"
    path.write_bytes(b"\xef\xbb\xbfName\tAmount\nZo\xc3\xab\t12")

    _, pages = read_all(path)

    assert pages[0].text == "Name Amount\nZoë 12"


def test_utf16_text_from_notepad_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "notepad.txt"
    path.write_bytes("Grüße aus Köln".encode("utf-16"))

    _, pages = read_all(path)

    assert pages[0].text == "Grüße aus Köln"


def test_binary_file_named_txt_is_not_a_document(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"\x00\x01\x02binary\x00\x00" * 50)

    assert extraction_error(path).problem is Problem.NOT_A_DOCUMENT


def test_blank_text_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\n\t\n", encoding="utf-8")

    assert extraction_error(path).problem is Problem.EMPTY


def test_markdown_title_is_its_first_top_level_heading(tmp_path: Path) -> None:
    path = tmp_path / "setup-guide.md"
    path.write_text(
        "Intro line\n\n```bash\n# not a heading\n```\n\n## Sub\n\n# Setting Up Folio\n\nText\n",
        encoding="utf-8",
    )

    document, pages = read_all(path)

    assert document.kind == "markdown"
    assert document.title == "Setting Up Folio"
    assert "# Setting Up Folio" in pages[0].text


def test_markdown_without_heading_is_titled_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "meeting_notes.markdown"
    path.write_text("Just some notes.\n", encoding="utf-8")

    with open_document(path) as document:
        assert (document.kind, document.title) == ("markdown", "meeting notes")


# Cleaning extracted text


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("inter-\nnational", "international"),
        ("inter- \n national law", "international law"),
        ("Smith-\nJones", "Smith-\nJones"),
        ("COVID-\n19", "COVID-\n19"),
        ("well-known", "well-known"),
    ],
)
def test_clean_joins_words_hyphenated_across_lines(raw: str, cleaned: str) -> None:
    assert clean_page_text(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("NNNEEEBBBRRRAAASSSKKKAAA", "NEBRASKA"),
        ("State of NNNEEEBBBRRRAAASSSKKKAAA\nbody", "State of NEBRASKA\nbody"),
        ("BBBOOOOOOKKK", "BOOK"),
        ("TTOOTTAALL", "TOTAL"),
        ("AAABBB", "AB"),
        ("AABB", "AABB"),
        ("bookkeeper", "bookkeeper"),
        ("Mississippi", "Mississippi"),
        ("zzzzzz", "zzzzzz"),
        ("NNNEEEBBB123", "NNNEEEBBB123"),
    ],
)
def test_clean_collapses_letters_pypdf_repeated(raw: str, cleaned: str) -> None:
    assert clean_page_text(raw) == cleaned


def test_clean_replaces_control_characters_but_keeps_line_breaks() -> None:
    assert clean_page_text("a\x00b\x07c\td\ne\x1bf\x9fg") == "a b c d\ne f g"


def test_clean_collapses_spaces_and_blank_lines_but_keeps_line_breaks() -> None:
    raw = "Heading  \n\n\n\n\nRow   1 \t  2   \nRow 3\u00a0\u00a04\r\nEnd\n\n"

    assert clean_page_text(raw) == "Heading\n\nRow 1 2\nRow 3 4\nEnd"


def test_clean_normalises_unicode_and_drops_invisible_marks() -> None:
    assert clean_page_text("Cafe\u0301 co\u00adoperate \ufeffstart") == "Café cooperate start"


def test_clean_replaces_lone_surrogates_so_the_text_can_be_stored() -> None:
    cleaned = clean_page_text("broken \ud835 glyph")

    assert cleaned == "broken \ufffd glyph"
    cleaned.encode("utf-8")


def test_has_text_layer_ignores_stray_marks_on_scanned_pages() -> None:
    scanned = [PageText(1, "1", "12"), PageText(2, "2", "  -  ~ . "), PageText(3, "3", "")]
    real = [*scanned, PageText(4, "4", "A sentence with enough characters.")]

    assert not has_text_layer(scanned)
    assert has_text_layer(real)
    assert not has_text_layer([])
