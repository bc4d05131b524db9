"""Markdown answers to the HTML subset Qt's rich text understands, with code blocks kept apart.

Model output is untrusted text: raw HTML in it is shown as text, never interpreted, and images are
not loaded (a model could otherwise make the chat read arbitrary local files).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

import markdown

_LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.S)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_CODE_BLOCK = re.compile(r"<pre><code(?: class=\"language-([\w+#.-]+)\")?>(.*?)</code></pre>", re.S)


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    code_blocks: tuple[str, ...]


def _converter() -> markdown.Markdown:
    converter = markdown.Markdown(
        extensions=["fenced_code", "tables", "sane_lists", "nl2br"], output_format="html"
    )
    # Treat HTML and images in model output as plain text.
    for name in ("html_block",):
        if name in converter.preprocessors:
            converter.preprocessors.deregister(name)
    for name in ("html", "image_link", "image_reference", "short_image_ref"):
        if name in converter.inlinePatterns:
            converter.inlinePatterns.deregister(name)
    return converter


@lru_cache(maxsize=1)
def _shared_converter() -> markdown.Markdown:
    return _converter()


def render_markdown(text: str, code_link_prefix: str = "") -> RenderedMarkdown:
    """Render ``text``; when ``code_link_prefix`` is given each code block gets a copy link
    ``{prefix}{index}`` above it."""
    converter = _shared_converter()
    converter.reset()
    # Only web and mail links survive: the window's own actions are links too, and a model must
    # not be able to write one (a “Regenerate” link in an answer would delete the chat's tail).
    body = _LINK.sub(_keep_safe_link, converter.convert(text))
    blocks: list[str] = []

    def decorate(match: re.Match[str]) -> str:
        language = match.group(1) or ""
        code = html.unescape(match.group(2))
        index = len(blocks)
        blocks.append(code.rstrip("\n"))
        label = html.escape(language) + " · " if language else ""
        bar = (
            f'<p class="codebar">{label}<a href="{code_link_prefix}{index}">Copy code</a></p>'
            if code_link_prefix
            else ""
        )
        return f"{bar}<pre>{match.group(2)}</pre>"

    body = _CODE_BLOCK.sub(decorate, body)
    return RenderedMarkdown(body, tuple(blocks))


def _keep_safe_link(match: re.Match[str]) -> str:
    href = html.unescape(match.group(1)).strip().lower()
    return match.group(0) if href.startswith(_SAFE_SCHEMES) else match.group(2)


def plain_to_html(text: str) -> str:
    """Text shown as typed (user messages, a streaming answer): escaped, line breaks kept."""
    return html.escape(text).replace("\n", "<br>")
