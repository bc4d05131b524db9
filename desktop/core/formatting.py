"""Sizes, amounts, speeds, durations and counts in words, the same in the window and the CLI.

Sizes are decimal (1 GB = 10⁹ bytes) throughout, as file managers show them, so the weights in
a memory line and a file's size agree.
"""

from __future__ import annotations


def size_text(size: int) -> str:
    """“850 bytes”, “1.5 MB”, “765 KB”, “253 MB”, “4.8 GB”: a size at a glance, in two or three
    figures."""
    if size < 1000:
        return f"{size:,} bytes"
    for scale, unit in ((1e3, "KB"), (1e6, "MB")):
        if size < scale * 1000:
            value = size / scale
            return f"{value:,.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{size / 1e9:,.1f} GB"


def exact_size_text(size: int) -> str:
    """“98.4 MB”, “4.81 GB”: a size to compare with another (a truncated file, free space)."""
    if size >= 1_000_000_000:
        return f"{size / 1e9:,.2f} GB"
    return f"{size / 1e6:,.1f} MB"


def amount_text(received: int, total: int | None) -> str:
    """“312 of 480 MB”: both numbers in the unit of the whole."""
    if not total:
        return size_text(received)
    if total >= 1_000_000_000:
        scale, unit, digits = 1e9, "GB", 1
    elif total >= 10_000_000:
        scale, unit, digits = 1e6, "MB", 0
    else:
        scale, unit, digits = 1e6, "MB", 1
    return f"{received / scale:,.{digits}f} of {total / scale:,.{digits}f} {unit}"


def speed_text(bytes_per_second: float) -> str:
    if bytes_per_second >= 1e6:
        return f"{bytes_per_second / 1e6:,.1f} MB/s"
    return f"{bytes_per_second / 1e3:,.0f} KB/s"


def duration_text(seconds: float) -> str:
    """“40 s”, “5 min 02 s”, “1 h 05 min”."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def time_left_text(seconds: float | None) -> str:
    """“about 40 s left”, “about 5 min left”, “about 1 h 05 min left”: an estimate, rounded."""
    if seconds is None:
        return "estimating time left"
    if seconds < 1:
        return "almost done"
    if seconds < 60:
        return f"about {round(seconds)} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def parameters_text(count: int) -> str:
    """“135 M”, “1.5 B”: a model's size in parameters."""
    if count >= 1_000_000_000:
        return f"{count / 1e9:,.1f} B"
    if count >= 1_000_000:
        return f"{count / 1e6:,.0f} M"
    return f"{count:,}"


def count_text(count: int, noun: str, plural: str = "") -> str:
    """“1 document”, “1,204 documents”."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


# Characters that would move the cursor, end a line, or reorder what follows on a terminal or
# in a table: controls (C0, DEL, C1) and the bidirectional embeddings, overrides and isolates
# (U+202E shows a name backwards, "fdp.exe" as "exe.pdf"). The plain direction marks stay:
# right-to-left text uses them as it should.
_UNSAFE_ON_A_TERMINAL = frozenset(
    [*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def terminal_text(text: str) -> str:
    """``text`` safe to print on one line: unsafe characters written as escapes (``\\n``,
    ``\\u202e``) and bytes that are not UTF-8 (lone surrogates) as ``\\xNN``."""
    if all(ord(character) not in _UNSAFE_ON_A_TERMINAL for character in text):
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    out: list[str] = []
    for character in text:
        code = ord(character)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF or code in _UNSAFE_ON_A_TERMINAL:
            out.append(character.encode("unicode_escape").decode("ascii"))
        else:
            out.append(character)
    return "".join(out)


def path_text(path: object) -> str:
    """A path as text that can be written out (JSON, a log): bytes of its name that are not
    UTF-8 are written as ``\\xNN`` escapes instead of failing the write."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
