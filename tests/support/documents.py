"""Documents for the tests: PDFs written byte by byte (text in any size and weight, titles,
page labels, encryption) and the sample pages the library tests index."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdf

from desktop.core.documents.library import DATABASE
from desktop.core.documents.records import DocumentRecord

FILE_ID = bytes(range(16))
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}


def _pdf_string(text: str) -> str:
    # UTF-16 with a byte-order mark is how PDF stores text strings that aren't plain ASCII.
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _label_entry(label: str) -> str:
    if label.isdigit():
        return f"<< /S /D /St {int(label)} >>"
    if label in ROMAN:
        return f"<< /S /r /St {ROMAN[label]} >>"
    return f"<< /P {_pdf_string(label)} >>"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


@dataclass(frozen=True)
class Line:
    """A line of a page as it is printed: a title in 24-point bold, a margin stamp turned on
    its side."""

    text: str
    size: float = 12
    bold: bool = False
    rotated: bool = False
    # Each word placed on its own, without the spaces, as some layout programs draw them.
    word_by_word: bool = False


def _content(page: str | Sequence[Line]) -> bytes:
    if isinstance(page, str):
        return "".join(
            f"BT /F1 12 Tf 72 {720 - 14 * row} Td ({_escape(line)}) Tj ET\n"
            for row, line in enumerate(page.split("\n"))
        ).encode("latin-1")
    drawn, y = [], 740.0
    for line in page:
        y -= max(14.0, line.size * 1.2)
        font = "/F2" if line.bold else "/F1"
        # Turned a quarter to the left, in the left margin, as arXiv stamps its papers.
        place = f"0 1 -1 0 30 {y:g} Tm" if line.rotated else f"72 {y:g} Td"
        if line.word_by_word:
            x = 72.0
            for word in line.text.split():
                drawn.append(f"BT {font} {line.size:g} Tf {x:g} {y:g} Td ({_escape(word)}) Tj ET\n")
                # Helvetica capitals are about 0.7 of the size wide, a space about 0.28.
                x += (len(word) * 0.72 + 0.28) * line.size
            continue
        drawn.append(f"BT {font} {line.size:g} Tf {place} ({_escape(line.text)}) Tj ET\n")
    return "".join(drawn).encode("latin-1")


def pdf_bytes(
    pages: Sequence[str | Sequence[Line]],
    title: str | None = None,
    page_labels: list[str] | None = None,
    encrypt_entry: str | None = None,
    drawings: Sequence[bytes] = (),
) -> bytes:
    """A minimal valid PDF: each page draws its lines in 12-point Helvetica (or as its
    ``Line``s say); "" draws a scanned image. The first page also draws each of ``drawings``
    (content streams, with or without text) as a form XObject of its own."""
    objects: dict[int, bytes] = {
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: (
            b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray"
            b" /BitsPerComponent 8 /Length 4 >>\nstream\n\x80\x40\x40\x80\nendstream"
        ),
    }
    first_page = 5
    bold_font = first_page + 2 * len(pages)
    objects[bold_font] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"
    kids = " ".join(f"{first_page + 2 * index} 0 R" for index in range(len(pages)))
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()
    fonts = f"/Font << /F1 3 0 R /F2 {bold_font} 0 R >>"
    forms = {f"/Fm{index}": bold_font + 1 + index for index in range(len(drawings))}
    for number, drawing in zip(forms.values(), drawings, strict=True):
        objects[number] = (
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << "
            + fonts.encode()
            + b" >> /Length %d >>\nstream\n" % len(drawing)
            + drawing
            + b"\nendstream"
        )
    for index, text in enumerate(pages):
        page_number, content_number = first_page + 2 * index, first_page + 2 * index + 1
        content = _content(text) if text else b"q 400 0 0 600 100 100 cm /Im1 Do Q\n"
        drawn = forms if index == 0 else {}
        content += "".join(f"q {name} Do Q\n" for name in drawn).encode()
        xobjects = " ".join(
            ["/Im1 4 0 R", *(f"{name} {number} 0 R" for name, number in drawn.items())]
        )
        objects[page_number] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << {fonts}"
            f" /XObject << {xobjects} >> >> /Contents {content_number} 0 R >>"
        ).encode()
        objects[content_number] = (
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        )
    labels_entry = ""
    if page_labels is not None:
        nums = " ".join(f"{index} {_label_entry(label)}" for index, label in enumerate(page_labels))
        labels_entry = f" /PageLabels << /Nums [{nums}] >>"
    objects[1] = f"<< /Type /Catalog /Pages 2 0 R{labels_entry} >>".encode()
    trailer_extra = f" /ID [<{FILE_ID.hex()}> <{FILE_ID.hex()}>]"
    if title is not None:
        info_number = max(objects) + 1
        objects[info_number] = f"<< /Title {_pdf_string(title)} >>".encode()
        trailer_extra += f" /Info {info_number} 0 R"
    if encrypt_entry is not None:
        trailer_extra += f" /Encrypt {encrypt_entry}"

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref_offset = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in range(1, size))
    out += f"trailer\n<< /Size {size} /Root 1 0 R{trailer_extra} >>\n".encode()
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def make_pdf(
    path: Path,
    pages: Sequence[str | Sequence[Line]],
    title: str | None = None,
    page_labels: list[str] | None = None,
    drawings: Sequence[bytes] = (),
) -> Path:
    path.write_bytes(pdf_bytes(pages, title=title, page_labels=page_labels, drawings=drawings))
    return path


def encrypt_pdf(path: Path, user_password: str) -> Path:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(path))
    # RC4 works without the optional cryptography package; AES would need it to write.
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    return path


LEASE_PAGES = [
    "RESIDENTIAL LEASE AGREEMENT\n"
    "The tenant shall pay rent of 1,200 dollars on the first day of each month.\n"
    "Late payments incur a fee of 50 dollars after the fifth day.",
    "MAINTENANCE\n"
    "The landlord repairs the heating system and the roof.\n"
    "The tenant keeps the garden tidy and mows the lawn every week.",
]
REPORT_PAGES = [
    "ANNUAL REPORT 2017\n"
    "Net revenue increased 12% to $4.2 billion, driven by cloud subscriptions.\n"
    "Operating margin improved to 18% as data center costs fell.",
    "OUTLOOK\n"
    "We expect to open two new data centers in Europe next year.\n"
    "Hiring will focus on engineers in Dublin and Frankfurt.",
]
NOTES_TEXT = (
    "Biology notes\n\n"
    "Photosynthesis converts light energy into chemical energy stored in glucose.\n"
    "Chlorophyll absorbs mostly blue and red light and reflects green."
)
TRAVEL_PAGES = [
    "DAY ONE\nThe train leaves Vienna at seven and reaches Salzburg before lunch.",
    "DAY TWO\nA guided walk through the old town ends at the fortress on the hill.",
    "DAY THREE\nThe lake cruise departs from the pier in St. Wolfgang at ten.",
]


def by_name(records: list[DocumentRecord]) -> dict[str, DocumentRecord]:
    return {record.name: record for record in records}


def forget_headings(library_folder: Path) -> None:
    """The library file as a Folio from before headings were read left it: no heading
    column, its documents indexed all the same."""
    connection = sqlite3.connect(library_folder / DATABASE)
    try:
        with connection:
            connection.execute("ALTER TABLE documents DROP COLUMN heading")
    finally:
        connection.close()
