"""A small PDF written byte by byte: a text layer in Helvetica, one paragraph per page.

For ``folio self-test``, which must index a real PDF on a machine that holds none of the user's
files and may have no network; pypdf reads PDFs but does not lay out text.
"""

from __future__ import annotations

from collections.abc import Sequence

_LINE_HEIGHT = 15
_TOP = 720


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(lines: Sequence[str]) -> bytes:
    drawn = [
        f"BT /F1 12 Tf 72 {_TOP - _LINE_HEIGHT * row} Td ({_escaped(line)}) Tj ET"
        for row, line in enumerate(lines)
    ]
    return "\n".join(drawn).encode("latin-1")


def text_pdf(pages: Sequence[Sequence[str]], title: str) -> bytes:
    """A PDF with one page per item of ``pages`` (its lines, Latin-1 only) and ``title``."""
    font, catalog, tree, info = 1, 2, 3, 4
    bodies: dict[int, bytes] = {
        font: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        catalog: f"<< /Type /Catalog /Pages {tree} 0 R >>".encode(),
        info: f"<< /Title ({_escaped(title)}) >>".encode("latin-1"),
    }
    kids = []
    for index, lines in enumerate(pages):
        page, content = 5 + 2 * index, 6 + 2 * index
        kids.append(f"{page} 0 R")
        stream = _page_stream(lines)
        bodies[page] = (
            f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>"
        ).encode()
        bodies[content] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    bodies[tree] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()

    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(bodies):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, bodies[number])
    start = len(out)
    count = max(bodies) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in range(1, count))
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (count, catalog, info)
    out += b"startxref\n%d\n%%%%EOF\n" % start
    return bytes(out)
