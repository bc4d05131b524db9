"""An answer as the transcript shows it: where it came from, the quoted evidence, the model's
text with every source marker (written by the model, or matched by Folio), and its sources.

Pure functions from a saved message to HTML, so the view only places the result. Attribution is
worked out from the saved text and sources each time the answer is drawn: older answers get it
too, and nothing about it can go stale in the store.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from desktop.core.chat.evidence import MATCHED_MARK, Attribution, Quote, attribute
from desktop.core.chat.markdown import render_markdown
from desktop.core.chat.messages import Message
from desktop.core.chat.rag import (
    NOT_FROM_DOCUMENTS,
    REPETITION_NOTICE,
    SourceRef,
    evidence_source,
    linkify_citations,
    listing_order,
    not_indexed_notice,
    quotes_from_meta,
    sources_from_meta,
)
from desktop.core.documents.relevance import EXPLANATION, describe

SNIPPET_CHARS = 160

# How an answer's origin is saved in its meta ("origin"), set by the answer writer.
FROM_DOCUMENTS = "documents"
FROM_MODEL_NOT_COVERED = "model_not_covered"  # automatic mode: the library did not cover it
NOT_COVERED = "not_covered"  # documents-only mode: declined

STYLE = """
.origin { color: $muted; font-size: small; margin-bottom: 4px; }
.evidence-title { color: $secondary; font-size: small; font-weight: 600; margin-bottom: 2px; }
.quote { margin-left: 8px; margin-bottom: 2px; }
.quote-where { color: $muted; font-size: small; margin-left: 8px; margin-bottom: 6px; }
.matched { color: $muted; }
.markers { color: $muted; font-size: small; }
.score { color: $muted; }
"""


def preface_html(message_id: int, meta: Mapping[str, Any], offer_links: bool = True) -> str:
    """What comes above the model's text: where the answer comes from, and the quoted
    evidence. Shown as soon as it is known, while the model is still reading."""
    parts: list[str] = []
    if meta.get("origin") == FROM_MODEL_NOT_COVERED:
        link = (
            f' <a href="folio:search-anyway/{message_id}">Search the documents anyway</a>'
            if offer_links
            else ""
        )
        parts.append(f'<p class="origin">{html.escape(NOT_FROM_DOCUMENTS)}{link}</p>')
    quotes = quotes_from_meta(meta)
    if quotes:
        by_number = {source.number: source for source in sources_from_meta(meta)}
        parts.append(_quotes_html(message_id, quotes, by_number))
    return "".join(parts)


def answer_html(message: Message) -> tuple[str, tuple[str, ...]]:
    """The body of an assistant message (between its header and footer), and its code blocks."""
    meta = message.meta
    origin = meta.get("origin")
    sources = sources_from_meta(meta)
    parts: list[str] = [preface_html(message.id, meta)]
    quotes = quotes_from_meta(meta)
    attribution = attribute(message.content, [evidence_source(s) for s in sources])
    text = attribution.text if sources else message.content
    rendered = render_markdown(text, f"folio:code/{message.id}/")
    body = rendered.html or ("" if quotes else "<p><i>(no answer)</i></p>")
    if sources:
        numbers = [source.number for source in sources]
        body = linkify_citations(body, numbers, lambda n: f"folio:source/{message.id}/{n}")
        body = _mark_matched(body)
    if body and quotes:
        body = '<p class="evidence-title">The model’s answer</p>' + body
    parts.append(body)
    if origin == NOT_COVERED:
        parts.append(
            f'<p class="origin"><a href="folio:answer-plain/{message.id}">'
            "Answer without documents</a></p>"
        )
    if meta.get("finish_reason") == "repetition":
        parts.append(f'<p class="notice">{html.escape(REPETITION_NOTICE)}</p>')
    if sources:
        parts.append(_markers_html(attribution))
        quoted = tuple(quote.source for quote in quotes)
        parts.append(sources_html(message.id, sources, attribution, quoted))
    pending = meta.get("not_indexed")
    if isinstance(pending, list) and pending:
        notice = not_indexed_notice([str(name) for name in pending])
        parts.append(f'<p class="notice">{html.escape(notice)}</p>')
    return "".join(parts), rendered.code_blocks


def _quotes_html(message_id: int, quotes: list[Quote], by_number: dict[int, SourceRef]) -> str:
    lines = ['<p class="evidence-title">From your documents</p>']
    for index, quote in enumerate(quotes):
        source = by_number.get(quote.source)
        # The quote's own link: its page opens with the quoted sentence highlighted.
        link = f'<a href="folio:quote/{message_id}/{index}">[{quote.source}]</a>'
        lines.append(f'<p class="quote">“{html.escape(quote.text)}” {link}</p>')
        where = []
        if source is not None:
            where.append(f"{source.file}, {source.page_text}")
        if quote.table:
            where.append(quote.table)
        if where:
            lines.append(f'<p class="quote-where">{html.escape(" — ".join(where))}</p>')
    return "".join(lines)


_MATCHED_LINK = re.compile(re.escape(MATCHED_MARK) + r"\s*<a href=")


def _mark_matched(body: str) -> str:
    """Markers Folio matched, in a quieter colour than those the model wrote."""
    return _MATCHED_LINK.sub('<a class="matched" href=', body).replace(MATCHED_MARK, "")


def _markers_html(attribution: Attribution) -> str:
    """“[1] written by the model · [2] matched by Folio (repeats “815”)”."""
    parts = [f"[{n}] written by the model" for n in attribution.written]
    parts += [
        f"[{n}] matched by Folio ({attribution.reasons.get(n, 'same wording')})"
        for n in attribution.matched
    ]
    if not parts:
        return '<p class="markers">No sentence of the answer could be tied to a source.</p>'
    return f'<p class="markers">{html.escape(" · ".join(parts))}</p>'


def sources_html(
    message_id: int,
    sources: list[SourceRef],
    attribution: Attribution,
    quoted: tuple[int, ...] = (),
) -> str:
    """Sources cited (quoted as evidence, cited by the model, matched by Folio) first, then by
    relevance; each with the one relevance score, explained on hover."""
    cited = list(dict.fromkeys([*quoted, *attribution.written, *attribution.matched]))
    ordered = listing_order(sources, cited)
    lines = ['<p class="sources">Sources</p>']
    for source in ordered:
        snippet = " ".join(source.text.split())
        if len(snippet) > SNIPPET_CHARS:
            snippet = snippet[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
        score = ""
        if source.relevance is not None:
            score = (
                f' · <span class="score" title="{html.escape(EXPLANATION)}">'
                f"relevance {describe(source.relevance)}</span>"
            )
        link = (
            f'<a href="folio:source/{message_id}/{source.number}">[{source.number}] '
            f"{html.escape(source.file)}, {html.escape(source.page_text)}</a>"
        )
        css = "source" if source.number in cited or not cited else "source uncited"
        lines.append(
            f'<p class="{css}">{link}{score}'
            f'<span class="snippet"> — “{html.escape(snippet)}”</span></p>'
        )
    return "".join(lines)
