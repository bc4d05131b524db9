"""What a file that is not the PDF its name says is, told from its first bytes."""

from __future__ import annotations

from pathlib import Path

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (Word and PowerPoint files are ZIP archives too)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Microsoft Office file"),
    (b"{\\rtf", "an RTF document"),
)


def not_a_pdf_message(path: Path, header: bytes) -> str:
    start = header.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return (
            f"“{path.name}” isn't a PDF but a web page saved with a .pdf name, which usually "
            "means the download failed. Download the document again."
        )
    for signature, description in _SIGNATURES:
        if header.startswith(signature):
            return (
                f"“{path.name}” isn't a PDF: it is {description} with a .pdf name. Open it in "
                "the app it came from and export it as a PDF."
            )
    return (
        f"“{path.name}” isn't a PDF, although its name ends in .pdf. It may be damaged or "
        "another kind of file; open it in the app it came from and export it as a PDF."
    )
