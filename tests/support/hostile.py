"""Hostile files, generated (never fetched): damaged, deceptive and resource-hungry PDFs, and
odd file names and folder entries. Each is what a real user's folder may hold, by accident
(an unfinished download) or by design (a decompression bomb)."""

from __future__ import annotations

import os
import random
import zlib
from pathlib import Path

from tests.support.documents import encrypt_pdf, pdf_bytes

GOOD_TEXT = "The committee approved the harbour budget for the coming year after a long debate."


def latin1_name(folder: Path, name: bytes) -> Path:
    """A path whose name is bytes that are not UTF-8, as Python hands it over (lone
    surrogates), the way a file copied from an old Latin-1 system is named."""
    return folder / os.fsdecode(name)


def raw_pdf(objects: dict[int, bytes], root: int = 1) -> bytes:
    """A PDF of exactly these objects, with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets.get(number, 0) for number in range(1, size))
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref)
    return bytes(out)


def _one_page(content_object: bytes) -> dict[int, bytes]:
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
            b"<< /F1 5 0 R >> >> /Contents 4 0 R >>"
        ),
        4: content_object,
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }


def decompression_bomb(expanded: int = 200_000_000) -> bytes:
    """One page whose content stream, 0.2 MB on disk, inflates to ``expanded`` bytes."""
    compressor = zlib.compressobj(9)
    block = b" " * 1_000_000
    packed = b"".join(compressor.compress(block) for _ in range(expanded // len(block)))
    packed += compressor.flush()
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
    return raw_pdf(_one_page(stream + packed + b"\nendstream"))


def deeply_nested(depth: int = 100_000) -> bytes:
    """A page whose resources nest arrays ``depth`` deep."""
    objects = _one_page(b"<< /Length 0 >>\nstream\n\nendstream")
    objects[3] = objects[3].replace(b">> >>", b">> /Nest " + b"[" * depth + b"]" * depth + b" >>")
    return raw_pdf(objects)


def page_tree_cycle() -> bytes:
    """A page tree whose node lists itself among its kids."""
    objects = _one_page(b"<< /Length 0 >>\nstream\n\nendstream")
    objects[2] = b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"
    return raw_pdf(objects)


def broken_xref() -> bytes:
    """A readable PDF whose cross-reference offsets all point at the wrong place."""
    good = pdf_bytes([GOOD_TEXT])
    head, _, tail = good.partition(b"xref\n")
    lines = tail.split(b"\n")
    lines[2:] = [line.replace(b"0000000", b"0000001", 1) for line in lines[2:]]
    return head + b"xref\n" + b"\n".join(lines)


def zero_tail(size: int) -> bytes:
    """A PDF header, then zeros: a preallocated download that never finished."""
    return b"%PDF-1.7\n" + bytes(size - 9)


def random_bytes(seed: int, size: int = 20_000, header: bool = False) -> bytes:
    rng = random.Random(seed)
    data = rng.randbytes(size)
    return b"%PDF-1.4\n" + data if header else data


def many_pages(count: int) -> bytes:
    return pdf_bytes([f"Page {n}: {GOOD_TEXT}" for n in range(1, count + 1)])


def corpus(folder: Path, truncations: int = 12) -> None:
    """Write the hostile corpus into ``folder``: one good PDF among files damaged, deceptive,
    resource-hungry or oddly named, links that loop or lead nowhere, a pipe, a folder named
    like a PDF, and a name that is not UTF-8."""
    folder.mkdir(parents=True, exist_ok=True)
    good = pdf_bytes([GOOD_TEXT, "A second page about the ferry timetable and its fares."])
    files: dict[str, bytes] = {
        "good.pdf": good,
        "zero-bytes.pdf": b"",
        "random.pdf": random_bytes(1),
        "random-with-header.pdf": random_bytes(2, header=True),
        "no-text-layer.pdf": pdf_bytes([""]),
        "decompression-bomb.pdf": decompression_bomb(),
        "deeply-nested.pdf": deeply_nested(),
        "page-tree-cycle.pdf": page_tree_cycle(),
        "broken-xref.pdf": broken_xref(),
        "unfinished-download.pdf": zero_tail(2_000_000),
        "html-saved-as.pdf": b"<!DOCTYPE html><html><body>Not found</body></html>",
        "binary.txt": b"\x00\x01\x02" * 1000,
        "Ünïcödé 文書 📄.pdf": good.replace(b"harbour", b"harbor "),
        ("x" * 246) + ".pdf": good.replace(b"ferry", b"train"),
        "line\nbreak.txt": b"A text file whose name holds a newline, about the harbour.",
        "right-to-left-\u202eftp.txt": b"A name with a right-to-left override, about ferries.",
    }
    for cut in range(1, truncations + 1):
        offset = len(good) * cut // (truncations + 1)
        files[f"truncated-at-{offset}.pdf"] = good[:offset]
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "folder-named-x.pdf").mkdir()
    (folder / "folder-named-x.pdf" / "inside.txt").write_bytes(
        b"A file inside a folder named like a PDF, about the harbour."
    )
    (folder / "loop-a.pdf").symlink_to("loop-b.pdf")
    (folder / "loop-b.pdf").symlink_to("loop-a.pdf")
    (folder / "dangling.pdf").symlink_to("nowhere.pdf")
    os.mkfifo(folder / "pipe.pdf")
    latin1_name(folder, b"caf\xe9-latin1.pdf").write_bytes(good.replace(b"harbour", b"port   "))
    encrypted = folder / "encrypted-known.pdf"
    encrypted.write_bytes(good.replace(b"ferry", b"ferri"))
    encrypt_pdf(encrypted, "secret")
