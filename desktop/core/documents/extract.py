"""Opening PDF, text and Markdown files and reading their text one page at a time.

Everything a user might drop on Folio — a scanned contract, a password-protected statement, a
web page saved as ".pdf", a half-downloaded file — either opens or fails with an
``ExtractionError`` whose message names the file and says what to do. Text and Markdown files are
cut into pages of about 3,000 characters so the rest of the pipeline treats every document alike.

Pages are read lazily: pypdf needs a tenth of a second or more for a dense page, so a caller can
report progress and stop between pages instead of waiting for a whole book.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self

from desktop.core.documents.file_kinds import not_a_pdf_message
from desktop.core.documents.titles import (
    HEADING_PAGES,
    Heading,
    looks_like_real_title,
    text_and_heading,
    title_from_file_name,
)

if TYPE_CHECKING:
    # pypdf is imported when a PDF is first opened, not when the window starts (about a
    # tenth of a second of start-up, measured by benchmarks/startup.py).
    from pypdf import PdfReader

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md", ".markdown")
MARKDOWN_SUFFIXES = (".md", ".markdown")

# Readers accept a PDF whose header follows some junk (a mail gateway's banner, a BOM).
PDF_HEADER_WINDOW = 1024
# Where a PDF's end marker is looked for, and the largest file pypdf is left to mend without one.
PDF_TAIL_WINDOW = 1024 * 1024
PDF_RECOVERY_LIMIT = 64_000_000
TEXT_PAGE_CHARS = 3000
# Fewer visible characters than this on every page means a scan: page numbers and stray marks
# from a scanner's text layer are not text worth indexing.
MIN_TEXT_LAYER_CHARS = 20
# A NUL this early in a ".txt" means a binary file; UTF-16 text is recognised by its BOM first.
BINARY_SNIFF_BYTES = 8192


class Problem(StrEnum):
    # Protected with a password the user can give (it opens with the right one).
    PASSWORD = "password"
    # Encrypted in a way this installation cannot decrypt.
    ENCRYPTED = "encrypted"
    NO_TEXT = "no_text"
    CORRUPT = "corrupt"
    NOT_A_DOCUMENT = "not_a_document"
    EMPTY = "empty"
    UNREADABLE = "unreadable"
    UNSUPPORTED = "unsupported"


class ExtractionError(Exception):
    """A document Folio cannot read; ``str(error)`` is the message to show, naming the file."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class PageText:
    number: int
    """1-based physical page index."""
    label: str
    """The printed page label ("iv", "12"), or ``str(number)`` when the document has none."""
    text: str
    """Cleaned text; empty for a page without text."""
    heading: Heading | None = None
    """The page's most title-like heading, looked for on a PDF's first pages only."""


class OpenedDocument:
    """An open document whose pages are read on demand; close it, or use it in a ``with``."""

    def __init__(
        self,
        *,
        path: Path,
        kind: str,
        title: str,
        labels: Sequence[str],
        read_page: Callable[[int], str],
        release: Callable[[], None] | None = None,
        read_heading: Callable[[int], Heading | None] | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.title = title
        self._labels = list(labels)
        self._read_page = read_page
        # Asked after ``read_page``, for the heading found while that page was read.
        self._read_heading = read_heading
        self._release = release
        self._closed = False
        # Pages whose content would expand past pypdf's limits (a decompression bomb): read
        # as empty, and said so, rather than taken for scanned pages.
        self.over_limit: list[int] = []

    @property
    def page_count(self) -> int:
        return len(self._labels)

    def pages(self) -> Iterator[PageText]:
        """Each page in order, extracted only when the caller asks for it."""
        for index, label in enumerate(self._labels):
            if self._closed:
                raise ValueError(f"{self.path.name} was closed while its pages were being read")
            text = self._read_page(index)
            heading = self._read_heading(index) if self._read_heading is not None else None
            yield PageText(number=index + 1, label=label, text=text, heading=heading)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._release is not None:
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OpenedDocument({self.path.name!r}, kind={self.kind!r}, pages={self.page_count})"


def open_document(path: Path, password: str | None = None) -> OpenedDocument:
    """Open ``path`` for reading page by page, or raise ``ExtractionError`` saying why not.

    An encrypted PDF is tried with ``password``, or with the empty password when none is given:
    many PDFs are encrypted only to restrict printing or editing and open without one.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ExtractionError(
            Problem.UNSUPPORTED,
            f"Folio can't read “{path.name}”: it only reads PDF, plain-text (.txt) and "
            "Markdown (.md) files. Save the document as a PDF and add that instead.",
        )
    try:
        handle = path.open("rb")
    except OSError as error:
        raise _unreadable(path, error) from error
    try:
        if _file_size(path, handle) == 0:
            raise ExtractionError(
                Problem.EMPTY,
                f"“{path.name}” is empty (0 bytes), perhaps because it didn't finish "
                "downloading or copying. Get a complete copy and add it again.",
            )
        if suffix == ".pdf":
            return _open_pdf(path, handle, password)
        data = _read_all(path, handle)
    except BaseException:
        handle.close()
        raise
    handle.close()
    return _open_text(path, data, kind="markdown" if suffix in MARKDOWN_SUFFIXES else "text")


def has_text_layer(pages: Sequence[PageText]) -> bool:
    """Whether any page has real text; False for a scan without OCR."""
    return any(
        sum(not character.isspace() for character in page.text) >= MIN_TEXT_LAYER_CHARS
        for page in pages
    )


_LINE_BREAKS = re.compile(r"\r\n|[\r\f\v\x85\u2028\u2029]")
# C0 and C1 controls other than tab and newline, which the chunker relies on.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Soft hyphens and stray byte-order marks are invisible in the PDF but break words in search.
_INVISIBLE_CHARACTERS = re.compile("[\u00ad\ufeff]")
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_TRAILING_SPACE = re.compile(r" +$", re.MULTILINE)
_LINE_END_HYPHEN = re.compile(r"(?<=[^\W\d_])-\n ?(?=([^\W\d_]))")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")
_LETTER_TOKEN = re.compile(r"(?<!\w)[^\W\d_]{6,}(?!\w)")


def clean_page_text(text: str) -> str:
    """Normalise extracted text for chunking and search, keeping its line structure."""
    text = unicodedata.normalize("NFC", text)
    # A lone surrogate (from a broken font map) would make the text impossible to store as UTF-8.
    text = _LONE_SURROGATES.sub("\ufffd", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL_CHARACTERS.sub(" ", text)
    text = _INVISIBLE_CHARACTERS.sub("", text)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _LINE_END_HYPHEN.sub(_join_hyphenated_word, text)
    text = _EXTRA_BLANK_LINES.sub("\n\n", text)
    text = _LETTER_TOKEN.sub(_collapse_repeated_letters, text)
    return text.strip()


def _join_hyphenated_word(match: re.Match[str]) -> str:
    # "inter-\nnational" is one word; "Smith-\nJones" keeps its hyphen.
    return "" if match.group(1).islower() else match.group(0)


def _collapse_repeated_letters(match: re.Match[str]) -> str:
    # pypdf renders some display titles (bold faked by overprinting) with every letter repeated:
    # "NNNEEEBBBRRRAAASSSKKKAAA". Cutting into equal groups keeps real double letters ("BOOK").
    token = match.group(0)
    for repeat in (3, 2):
        if len(token) % repeat:
            continue
        groups = [token[start : start + repeat] for start in range(0, len(token), repeat)]
        if all(group == group[0] * repeat for group in groups):
            collapsed = "".join(group[0] for group in groups)
            if len(set(collapsed)) > 1:  # "zzzzzz" is a word, not an artefact
                return collapsed
    return token


# PDF


def _open_pdf(path: Path, handle: BinaryIO, password: str | None) -> OpenedDocument:
    header = handle.read(PDF_HEADER_WINDOW)
    if b"%PDF-" not in header:
        raise ExtractionError(Problem.NOT_A_DOCUMENT, not_a_pdf_message(path, header))
    if _looks_unfinished(handle, _file_size(path, handle)):
        raise ExtractionError(
            Problem.CORRUPT,
            f"“{path.name}” stops before its end (its last part is empty or it lacks the "
            "marker a complete PDF ends with): it looks like an unfinished download or copy. "
            "Get a complete copy and add it again.",
        )
    handle.seek(0)
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        with _quiet_pypdf():
            # The reader keeps the handle and seeks to each object when it is needed, so a large
            # book is not loaded into memory up front.
            reader = PdfReader(handle, strict=False)
            if reader.is_encrypted:
                _unlock(reader, path, password)
            page_count = len(reader.pages)
            labels = _page_labels(reader, path, page_count)
            title = _pdf_title(reader)
    except ExtractionError:
        raise
    except DependencyError as error:
        raise _aes_unsupported(path) from error
    except OSError as error:
        raise _unreadable(path, error) from error
    except Exception as error:
        log.warning("pypdf could not parse %s", path, exc_info=True)
        raise ExtractionError(
            Problem.CORRUPT,
            f"“{path.name}” is damaged and Folio couldn't read it; it may be incomplete. "
            "Download or copy it again, or open it in a PDF viewer and save a new copy.",
        ) from error
    if page_count == 0:
        raise ExtractionError(
            Problem.EMPTY,
            f"“{path.name}” has no pages. Check that it is the document you meant to add.",
        )
    headings: dict[int, Heading | None] = {}
    over_limit: list[int] = []
    opened = OpenedDocument(
        path=path,
        kind="pdf",
        title=title or title_from_file_name(path),
        labels=labels,
        read_page=lambda index: _read_pdf_page(reader, path, index, headings, over_limit),
        release=handle.close,
        read_heading=lambda index: headings.pop(index, None),
    )
    opened.over_limit = over_limit
    return opened


def _looks_unfinished(handle: BinaryIO, size: int) -> bool:
    """A PDF ends with ``%%EOF``. pypdf looks for it backwards through the whole file, which
    for a preallocated download (a header, then zeros) cost 4.3 GB for 2 GiB: a tail of zeros,
    or a large file with no marker near its end, is refused before that. A small file without
    the marker is left to pypdf, which often recovers one cut short."""
    tail = min(size, PDF_TAIL_WINDOW)
    handle.seek(size - tail)
    ending = handle.read(tail)
    if b"%%EOF" in ending:
        return False
    return not ending.strip(b"\x00") or size > PDF_RECOVERY_LIMIT


def _unlock(reader: PdfReader, path: Path, password: str | None) -> None:
    from pypdf import PasswordType
    from pypdf.errors import DependencyError

    if reader.decrypt(password if password is not None else "") == PasswordType.NOT_DECRYPTED:
        if password is None:
            message = (
                f"“{path.name}” is protected with a password. "
                "Enter the document's password to add it."
            )
        else:
            message = f"The password for “{path.name}” is wrong. Check it and try again."
        raise ExtractionError(Problem.PASSWORD, message)
    if len(reader.pages) == 0:
        return
    # AES-128 passes the password check without the cryptography package but then fails on
    # every page, which would look like a scan; find out now. Other faults stay per page.
    try:
        reader.pages[0].get_contents()
    except DependencyError:
        raise
    except Exception:
        log.debug("first page of %s did not decode while probing encryption", path, exc_info=True)


def _aes_unsupported(path: Path) -> ExtractionError:
    return ExtractionError(
        Problem.ENCRYPTED,
        f"“{path.name}” uses AES encryption, which this installation of Folio can't decrypt "
        "(the “cryptography” package is missing). Save an unprotected copy from a PDF viewer "
        "and add that instead.",
    )


def _page_labels(reader: PdfReader, path: Path, page_count: int) -> list[str]:
    numbers = [str(index + 1) for index in range(page_count)]
    try:
        labels = list(reader.page_labels)
    except Exception:
        # Broken label trees are common in scanned books; physical numbers are still right.
        log.info("page labels of %s are unreadable; using page numbers", path, exc_info=True)
        return numbers
    if len(labels) != page_count:
        return numbers
    return [
        label.strip() if isinstance(label, str) and label.strip() else number
        for label, number in zip(labels, numbers, strict=True)
    ]


def _pdf_title(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        raw_title = metadata.title if metadata is not None else None
    except Exception:
        log.debug("unreadable document information dictionary", exc_info=True)
        return None
    if not isinstance(raw_title, str):
        return None
    title = " ".join(clean_page_text(raw_title).split())
    # Judged before cleaning too: cleaning mends overprinted letters ("NNNEEEBBB" → "NEB"),
    # which in a title field are junk, not a heading pypdf misread.
    return title if looks_like_real_title(raw_title) and looks_like_real_title(title) else None


def _read_pdf_page(
    reader: PdfReader,
    path: Path,
    index: int,
    headings: dict[int, Heading | None],
    over_limit: list[int],
) -> str:
    """The page's text; on the first pages, its heading goes into ``headings`` too (found in
    the same pass, from the size each line is printed in). A page past pypdf's limits is
    counted in ``over_limit``."""
    from pypdf.errors import LimitReachedError

    try:
        with _quiet_pypdf():
            page = reader.pages[index]
            if index < HEADING_PAGES:
                raw, headings[index] = text_and_heading(page, clean_page_text)
            else:
                raw = page.extract_text()
    except LimitReachedError:
        log.warning("page %d of %s expands past the reading limits", index + 1, path)
        over_limit.append(index + 1)
        return ""
    except Exception:
        # One bad page (a broken font, an odd content stream) must not lose the whole book.
        log.warning("could not extract page %d of %s", index + 1, path, exc_info=True)
        return ""
    return clean_page_text(raw)


class _PypdfQuiet:
    """Silences pypdf's warnings and log chatter while any thread is extracting.

    pypdf warns through both ``warnings`` and ``logging`` about every oddity it repairs; those
    are noise for the user and, under a strict warnings filter, errors. Both switches are
    process-wide, so concurrent extractions share one reference-counted silence instead of each
    restoring the state another one saved.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._catcher: warnings.catch_warnings[None] | None = None
        self._saved_level = logging.NOTSET
        self._logger = logging.getLogger("pypdf")

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._catcher = warnings.catch_warnings()
                self._catcher.__enter__()
                warnings.simplefilter("ignore")
                self._saved_level = self._logger.level
                self._logger.setLevel(logging.ERROR)
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._logger.setLevel(self._saved_level)
                    if self._catcher is not None:
                        self._catcher.__exit__(None, None, None)
                        self._catcher = None


_quiet_pypdf = _PypdfQuiet()


# Text and Markdown


def _open_text(path: Path, data: bytes, *, kind: str) -> OpenedDocument:
    has_utf16_bom = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not has_utf16_bom and b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise ExtractionError(
            Problem.NOT_A_DOCUMENT,
            f"“{path.name}” isn't a text file, although its name says so. Open it in the app "
            "it came from and save it as plain text or PDF.",
        )
    text = clean_page_text(_decode_text(data))
    if not text:
        raise ExtractionError(
            Problem.EMPTY,
            f"“{path.name}” has no text in it, only blank space. Add a file with some text.",
        )
    pages = _split_into_pages(text, TEXT_PAGE_CHARS)
    title = _markdown_title(text) if kind == "markdown" else None
    return OpenedDocument(
        path=path,
        kind=kind,
        title=title or title_from_file_name(path),
        labels=[str(number) for number in range(1, len(pages) + 1)],
        read_page=pages.__getitem__,
    )


def _decode_text(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Text written on Windows is usually cp1252; latin-1 decodes any byte, so it cannot fail.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split_into_pages(text: str, page_chars: int) -> list[str]:
    """Pages of at most about ``page_chars``, cut between paragraphs where possible."""
    pages: list[str] = []
    current = ""
    for separator, piece in _page_pieces(text, page_chars):
        if current and len(current) + len(separator) + len(piece) > page_chars:
            pages.append(current)
            current = piece
        else:
            current = f"{current}{separator}{piece}" if current else piece
    if current:
        pages.append(current)
    return pages


def _page_pieces(text: str, page_chars: int) -> Iterator[tuple[str, str]]:
    """Paragraphs, with any longer than a page cut at a line break, a space, or anywhere.

    Each piece comes with the separator that preceded it, so pieces that end up on the same
    page are joined exactly as they were in the file.
    """
    for paragraph in text.split("\n\n"):
        separator = "\n\n"
        remaining = paragraph
        while len(remaining) > page_chars:
            cut = remaining.rfind("\n", 0, page_chars)
            if cut <= page_chars // 2:
                cut = remaining.rfind(" ", 0, page_chars)
            if cut <= page_chars // 2:
                yield separator, remaining[:page_chars]
                separator, remaining = "", remaining[page_chars:]
            else:
                yield separator, remaining[:cut]
                separator, remaining = remaining[cut], remaining[cut + 1 :]
        if remaining:
            yield separator, remaining


_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ATX_TITLE = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")


def _markdown_title(text: str) -> str | None:
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence  # a "# comment" in a shell example is not the title
            continue
        match = None if in_fence else _ATX_TITLE.match(line)
        if match:
            return match.group(1).strip() or None
    return None


# Shared


def _file_size(path: Path, handle: BinaryIO) -> int:
    try:
        return os.fstat(handle.fileno()).st_size
    except OSError as error:
        raise _unreadable(path, error) from error


def _read_all(path: Path, handle: BinaryIO) -> bytes:
    try:
        return handle.read()
    except OSError as error:
        raise _unreadable(path, error) from error


def _unreadable(path: Path, error: OSError) -> ExtractionError:
    name = path.name
    if isinstance(error, FileNotFoundError | NotADirectoryError):
        message = (
            f"Folio couldn't find “{name}”. It may have been moved, renamed or deleted; "
            "add it again from where it is now."
        )
    elif isinstance(error, IsADirectoryError):
        message = f"“{name}” is a folder, not a file. Add the documents inside it instead."
    elif isinstance(error, PermissionError):
        message = (
            f"Folio isn't allowed to read “{name}”. Check the file's permissions, or copy it "
            "to a folder you own, and add it again."
        )
    else:
        reason = error.strerror or str(error)
        message = (
            f"Folio couldn't read “{name}” ({reason}). If it is on an external or network "
            "drive, check that the drive is connected and try again."
        )
    log.info("cannot read %s: %s", path, error)
    return ExtractionError(Problem.UNREADABLE, message)
