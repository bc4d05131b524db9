"""What a document is called: the title it gives itself, when that is a real title; else the first
heading printed on its first pages; else its file name, cleaned up.

Titles in PDF metadata are often not chosen by anyone: authoring tools write the file name, a
placeholder, a path or an accession number. Headings are found by how they are printed — larger
than the body text, or (when everything is one size) a first line in capitals or bold — and
are refused when they are the parts every document of a kind has ("Table of Contents", "FORM
10-K", a letterhead, a filing stamp, a running header) rather than the name of this one.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pypdf import PageObject

log = logging.getLogger(__name__)

# Headings are looked for on this many first pages (a cover may be an image).
HEADING_PAGES = 2
# A title longer than this is a paragraph pasted into the title field, not a title.
MAX_TITLE_CHARS = 200
MAX_TITLE_WORDS = 30
# Type this much larger than the body text stands out as a heading.
PROMINENT_SCALE = 1.15
# A page with fewer characters than this is a cover: its largest type is its title, even when
# the title is most of what the page says.
COVER_PAGE_CHARS = 400
# A heading printed at body size must be this short to pass for a title.
MAX_PLAIN_HEADING_WORDS = 12

_OFFICE_FILE_NAME = re.compile(r"^microsoft (word|powerpoint|excel)\b", re.IGNORECASE)
_FILE_NAME_LIKE = re.compile(
    r"\.(pdf|docx?|rtf|odt|pptx?|xlsx?|txt|md|tex|dvi|ps|eps|indd|qxd|html?|pages|key)$",
    re.IGNORECASE,
)
_PLACEHOLDER_TITLE = re.compile(
    r"^(untitled|untitled document|document|new document|title|no title|none|null|unknown|"
    r"default|blank|template|slide|presentation|powerpoint presentation|doc|book|sheet|pdf|"
    r"layout|page)([\s_-]*\d+)?$",
    re.IGNORECASE,
)
# A path or a web address: no spaces, and two slashes or more ("C:/Users/ann", "~/x/y",
# "http://…"); "AC/DC" is a name.
_PATH_LIKE = re.compile(r"^\S*/\S*/\S*$")
_DRIVE_PATH = re.compile(r"^[a-z]:[\\/]", re.IGNORECASE)
# Letters printed three times over, which is how pypdf reads bold faked by overprinting
# ("NNNEEEBBB"); three triples in a row, so that "III" in "Part III" is not one.
_OVERPRINTED = re.compile(r"((\w)\2\2){3,}")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{12,}$", re.IGNORECASE)
# Words joined by underscores are a file name ("Business_Plan_v2"): people type spaces.
_JOINED_BY_UNDERSCORES = re.compile(r"[^\W_]_+[^\W_]")
# Parts of a document, or the name of a kind of document, rather than the name of this one.
_GENERIC_HEADING = re.compile(
    r"^(table of contents|contents|index|abstract|summary|executive summary|introduction|"
    r"preface|foreword|acknowledge?ments?|references|bibliography|glossary|"
    r"confidential|draft|(appendix|annex|exhibit|schedule|chapter|part|section|page|form|"
    r"article|item)(\s+[\w.-]+)?|(page\s+)?\d+\s*(of|/)\s*\d+|"
    r"united states securities and exchange commission)$",
    re.IGNORECASE,
)
_MONTH = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?)\.?"
)
_DATE_OR_TIME = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(st|nd|rd|th)?,?\s+\d{{4}}\b"  # March 3, 2020
    rf"|\b\d{{1,2}}(st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}\b"  # 3 March 2020
    r"|\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"  # 2020-03-03
    r"|\b\d{1,2}:\d{2}(:\d{2})?\s*([ap]\.?m\.?)?",  # 09:42AM
    re.IGNORECASE,
)
# A date or a clock time taking more than this share of a heading makes it a stamp.
MAX_DATE_SHARE = 0.4
# "Washington, D.C. 20549", "Seattle, WA 98109-5210": the line under a letterhead.
_ADDRESS_LINE = re.compile(r",\s*[A-Z][A-Za-z.]*(\s+[A-Z][A-Za-z.]*)?\s+\d{5}(-\d{4})?\b")
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_SENTENCE_END = (".", ",", ";", ":")


def looks_like_real_title(title: str) -> bool:
    """Whether ``title`` names the document, rather than being something an authoring tool
    wrote by itself (a placeholder, a file name or path, an identifier, a date, a paragraph)."""
    title = " ".join(title.split())
    if not title or "\ufffd" in title or len(title) > MAX_TITLE_CHARS:
        return False
    letters = sum(character.isalpha() for character in title)
    digits = sum(character.isdigit() for character in title)
    return (
        letters > 0
        # Mostly digits: an accession number, a docket number, "2312.10997v5".
        and digits <= letters
        and len(title.split()) <= MAX_TITLE_WORDS
        and "\\" not in title
        and not title.startswith("/")
        and not _DRIVE_PATH.match(title)
        and not _PATH_LIKE.match(title)
        and not _OFFICE_FILE_NAME.match(title)
        and not _FILE_NAME_LIKE.search(title)
        and not _PLACEHOLDER_TITLE.match(title)
        and not _OVERPRINTED.search(title)
        and not _HEX_DIGEST.match(title)
        and not _JOINED_BY_UNDERSCORES.search(title)
        and not _GENERIC_HEADING.match(title.rstrip(".:"))
        and _date_share(title) <= MAX_DATE_SHARE
    )


def title_from_file_name(path: Path | str) -> str:
    """The file name without its extension, separators as spaces (“annual report 2023”)."""
    path = Path(path)
    # File names from macOS arrive decomposed; titles are compared and displayed composed.
    stem = unicodedata.normalize("NFC", path.stem)
    title = " ".join(re.sub(r"[_-]+", " ", stem).split())
    return title or unicodedata.normalize("NFC", path.name)


def display_title(title: str, heading: str, file_name: str) -> str:
    """What the library calls a document: ``title`` (its metadata's, as stored) when that is a
    real title and not just the file name again, else its first ``heading``, else the file
    name cleaned up. Judged when shown, so that a library indexed before a kind of junk was
    recognised shows the better name too."""
    from_file_name = title_from_file_name(file_name)
    if title and title != from_file_name and looks_like_real_title(title):
        return title
    return heading or from_file_name


# Headings


@dataclass(frozen=True)
class PrintedLine:
    """A line of a page as it is printed: its text, type size, weight and height on the page."""

    text: str
    size: float
    bold: bool = False
    # The baseline's distance from the bottom of the page, in points.
    y: float = 0.0


@dataclass(frozen=True)
class Heading:
    """The most title-like heading of a page."""

    text: str
    # How many times larger than the page's body text it is printed; 1.0 when it stands out
    # only by being in capitals or bold.
    scale: float


class LineCollector:
    """Gathers a page's lines with their type size, as pypdf's text visitor reports them:
    pass ``visit`` as ``visitor_text`` to ``PageObject.extract_text``."""

    def __init__(self) -> None:
        self._lines: list[PrintedLine] = []
        # Set when a piece could not be understood: what was gathered is then not trusted.
        self.failed = False
        # The line being gathered: its pieces as (text, size, bold), and its baseline.
        self._pieces: list[tuple[str, float, bool]] = []
        self._y = math.nan

    def visit(
        self,
        text: str,
        user_matrix: Sequence[float],
        text_matrix: Sequence[float],
        font: Any,
        font_size: float,
    ) -> None:
        if self.failed or not isinstance(text, str) or not text.strip():
            return
        try:
            self._add(text, user_matrix, text_matrix, font, font_size)
        except Exception:
            # Called from inside pypdf's extraction: whatever goes wrong here must not cost the
            # page its text.
            log.debug("a text piece's position could not be read", exc_info=True)
            self.failed = True

    def _add(
        self,
        text: str,
        user_matrix: Sequence[float],
        text_matrix: Sequence[float],
        font: Any,
        font_size: float,
    ) -> None:
        try:
            a, b, c, d, e, f = (float(value) for value in text_matrix[:6])
            ua, ub, uc, ud, _, uf = (float(value) for value in user_matrix[:6])
            size = float(font_size)
        except (TypeError, ValueError):
            return
        # The text matrix times the user space matrix: where and how large the text is drawn.
        scale_x, shear_x = a * ua + b * uc, a * ub + b * ud
        shear_y, scale_y = c * ua + d * uc, c * ub + d * ud
        if abs(shear_x) > 0.2 * abs(scale_x) or abs(shear_y) > 0.2 * abs(scale_y):
            return  # rotated text: a margin stamp ("arXiv:2312.10997v5 [cs.CL]"), not a heading
        size *= math.hypot(shear_y, scale_y)
        y = e * ub + f * ud + uf
        if size <= 0:
            return
        if self._pieces and abs(y - self._y) > 0.5 * min(size, self._pieces[-1][1]):
            self._end_line()
        if not self._pieces:
            self._y = y
        name = font.get("/BaseFont", "") if hasattr(font, "get") else ""
        bold = bool(_BOLD_FONT.search(str(name)))
        self._pieces.append((text.replace("\n", " "), size, bold))

    def lines(self) -> list[PrintedLine]:
        self._end_line()
        return list(self._lines)

    def _end_line(self) -> None:
        if not self._pieces:
            return
        text = " ".join("".join(piece for piece, _, _ in self._pieces).split())
        weights: dict[float, int] = {}
        bold_characters = 0
        for piece, size, bold in self._pieces:
            visible = len(piece.strip())
            weights[round(size, 1)] = weights.get(round(size, 1), 0) + visible
            bold_characters += visible if bold else 0
        # The size of most of its characters: a drop cap or a small-caps title keeps its line's
        # size.
        size = max(weights, key=lambda candidate: (weights[candidate], candidate))
        total = sum(weights.values())
        self._lines.append(PrintedLine(text, size, bold_characters * 2 > total, self._y))
        self._pieces = []


def text_and_heading(page: PageObject, clean: Callable[[str], str]) -> tuple[str, Heading | None]:
    """The page's text as ``page.extract_text()`` gives it, and its heading, in one pass.

    ``clean`` is applied to each printed line as it is to the page's text, so that the heading
    reads as the passages do.
    """
    collector = LineCollector()
    text = _without_drawings(page).extract_text(visitor_text=collector.visit)
    if collector.failed:
        return text, None
    try:
        page_text = clean(text)
        lines = [
            replace(line, text=_spaced_like(" ".join(clean(line.text).split()), page_text))
            for line in collector.lines()
        ]
        return text, heading_of_page(lines)
    except Exception:
        # A heading is a nicety: odd type metrics must never cost the page its text.
        log.info("no heading read on page %s", page.page_number, exc_info=True)
        return text, None


def heading_of_page(lines: Sequence[PrintedLine]) -> Heading | None:
    """The page's most title-like heading: its largest type that names the document, or a
    first line in capitals or bold when all of it is printed alike."""
    lines = [line for line in lines if line.text]
    if not lines:
        return None
    body = _body_size(lines)
    blocks = _blocks(lines)
    prominent = [block for block in blocks if block.size >= body * PROMINENT_SCALE]
    if not prominent and sum(len(line.text) for line in lines) < COVER_PAGE_CHARS:
        largest = max(block.size for block in blocks)
        if largest > min(line.size for line in lines) * PROMINENT_SCALE:
            prominent = [block for block in blocks if block.size == largest]
    for block in sorted(prominent, key=lambda block: -block.size):
        if _names_the_document(block, lines):
            return Heading(_without_open_aside(block.text), round(block.size / body, 2))
    first = next((line for line in lines if _has_words(line.text)), None)
    if first is not None and _plain_heading(first):
        return Heading(first.text, 1.0)
    return None


class PageWithHeading(Protocol):
    """A page as extraction gives it (``extract.PageText`` is one)."""

    @property
    def text(self) -> str: ...

    @property
    def heading(self) -> Heading | None: ...


def first_heading(pages: Sequence[PageWithHeading]) -> str:
    """The first pages' title-like heading, or "" when they have none.

    A heading printed at body size that comes back on the next page is a running header
    ("Published as a conference paper at ICLR 2024"), not the title; a larger one is kept even
    then, since papers repeat their title at the top of every page.
    """
    pages = list(pages[:HEADING_PAGES])
    for index, page in enumerate(pages):
        heading = page.heading
        if heading is None:
            continue
        if heading.scale < PROMINENT_SCALE and any(
            _repeats_on(heading.text, later.text) for later in pages[index + 1 :]
        ):
            continue
        return heading.text
    return ""


@dataclass(frozen=True)
class _Block:
    """Lines printed together at one size: a heading broken over lines is one heading."""

    lines: tuple[int, ...]  # indexes into the page's lines
    text: str
    size: float


def _blocks(lines: Sequence[PrintedLine]) -> list[_Block]:
    blocks: list[_Block] = []
    start = 0
    for index in range(1, len(lines) + 1):
        if index < len(lines):
            previous, line = lines[index - 1], lines[index]
            same_size = abs(line.size - previous.size) <= 0.1 * max(line.size, previous.size)
            close = abs(previous.y - line.y) <= 1.8 * max(line.size, previous.size)
            if same_size and close:
                continue
        members = lines[start:index]
        blocks.append(
            _Block(
                tuple(range(start, index)),
                " ".join(line.text for line in members),
                max(line.size for line in members),
            )
        )
        start = index
    return blocks


def _body_size(lines: Sequence[PrintedLine]) -> float:
    """The size most of the page's characters are printed in."""
    weights: dict[float, int] = {}
    for line in lines:
        size = round(line.size * 2) / 2
        weights[size] = weights.get(size, 0) + len(line.text)
    return max(weights, key=lambda size: (weights[size], -size))


def _names_the_document(block: _Block, lines: Sequence[PrintedLine]) -> bool:
    if not _has_words(block.text) or not looks_like_real_title(block.text):
        return False
    # A filing stamp or a docket number on a line of its own makes the block a stamp.
    if not all(_line_could_be_in_a_title(lines[index].text) for index in block.lines):
        return False
    # A letterhead: the authority a form is filed with, with its address on the next line.
    after = block.lines[-1] + 1
    return not (after < len(lines) and _ADDRESS_LINE.search(lines[after].text))


def _without_open_aside(text: str) -> str:
    """A heading cut off inside a parenthesis keeps what came before it ("BUSINESS
    MANAGEMENT (Articulated course with" → "BUSINESS MANAGEMENT")."""
    opening = text.rfind("(")
    if opening > 0 and ")" not in text[opening:]:
        before = text[:opening].rstrip(" -–—:,")
        if _has_words(before):
            return before
    return text


def _line_could_be_in_a_title(text: str) -> bool:
    letters = sum(character.isalpha() for character in text)
    digits = sum(character.isdigit() for character in text)
    return digits <= letters and _date_share(text) <= MAX_DATE_SHARE


def _plain_heading(line: PrintedLine) -> bool:
    text = line.text
    letters = [character for character in text if character.isalpha()]
    in_capitals = len(letters) >= 4 and all(character.isupper() for character in letters)
    return (
        (in_capitals or line.bold)
        and len(text.split()) <= MAX_PLAIN_HEADING_WORDS
        and not text.endswith(_SENTENCE_END)
        and looks_like_real_title(text)
    )


def _has_words(text: str) -> bool:
    """At least three letters in a row: not a page number, a dingbat or a drop cap."""
    return re.search(r"[^\W\d_]{3}", text) is not None


def _repeats_on(heading: str, page_text: str) -> bool:
    wanted = _folded(heading)
    lines = page_text.splitlines()
    return any(_folded(line) == wanted for line in lines[:3] + lines[-3:])


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _date_share(text: str) -> float:
    compact = " ".join(text.split())
    if not compact:
        return 0.0
    dated = sum(len(match.group(0)) for match in _DATE_OR_TIME.finditer(compact))
    return dated / len(compact)


def _spaced_like(line: str, page_text: str) -> str:
    """``line`` with the spaces the page's text has: pypdf's visitor hands over words drawn
    one by one without the spaces between them, which its text has worked out."""
    wanted = "".join(line.split())
    if not wanted:
        return line
    positions = [index for index, character in enumerate(page_text) if not character.isspace()]
    squeezed = "".join(page_text[index] for index in positions)
    found = squeezed.find(wanted)
    if found < 0:
        return line
    start, end = positions[found], positions[found + len(wanted) - 1] + 1
    return " ".join(page_text[start:end].split())


# Operators that show text, or draw another form that may.
_TEXT_OR_FORM_OPERATOR = re.compile(rb"\bT[Jj]\b|['\"]|\bDo\b")


def _without_drawings(page: PageObject) -> PageObject:
    """The page without the drawings (form XObjects) that show no text.

    With a visitor, pypdf parses every form a page draws, text or not: a map drawn as a
    2.5-MB form took 3.5 s to read instead of 0.1 s. Text comes only from forms that show
    text, or draw other forms, so leaving the others out changes nothing in the text.
    """
    try:
        from pypdf import PageObject
        from pypdf.generic import DictionaryObject, NameObject

        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else None
        if not isinstance(resources, dict):
            return page
        forms = resources.get("/XObject")
        forms = forms.get_object() if forms is not None else None
        if not isinstance(forms, dict):
            return page
        kept = DictionaryObject()
        for name, reference in forms.items():
            form = reference.get_object()
            if form.get("/Subtype") == "/Form" and not _TEXT_OR_FORM_OPERATOR.search(
                form.get_data()
            ):
                continue
            kept[NameObject(name)] = reference
        if len(kept) == len(forms):
            return page
        lean_resources = DictionaryObject(resources)
        lean_resources[NameObject("/XObject")] = kept
        lean = PageObject(page.pdf, page.indirect_reference)
        lean.update(page)
        lean[NameObject("/Resources")] = lean_resources
        return lean
    except Exception:
        log.debug("the page's drawings could not be told apart; reading all", exc_info=True)
        return page
