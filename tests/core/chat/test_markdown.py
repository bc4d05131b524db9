"""Rendering model answers: Markdown to safe HTML, with code blocks kept apart for copying."""

from __future__ import annotations

import pytest

from desktop.core.chat.markdown import plain_to_html, render_markdown


@pytest.mark.parametrize(
    "answer",
    [
        "Try this: <script>alert('hi')</script> and see.",
        "<script>\nalert('hi')\n</script>",
    ],
    ids=["inline", "block"],
)
def test_raw_html_in_an_answer_is_shown_as_text(answer: str) -> None:
    html = render_markdown(answer).html
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;/script&gt;" in html


def test_html_tags_with_attributes_are_not_interpreted() -> None:
    html = render_markdown('<img src="x" onerror="alert(1)"> <b>bold?</b>').html
    assert "<img" not in html
    assert "<b>" not in html
    assert "&lt;img" in html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "answer",
    [
        "Look: ![secret](file:///etc/passwd)",
        "Look: ![secret][pic]\n\n[pic]: file:///etc/passwd",
        '![remote](https://example.com/track.png "title")',
    ],
    ids=["inline", "reference", "remote"],
)
def test_images_are_never_loaded(answer: str) -> None:
    html = render_markdown(answer).html
    assert "<img" not in html
    assert "secret" in html or "remote" in html  # the text itself is still shown


def test_markdown_formatting_still_works() -> None:
    html = render_markdown("Some **bold** and *italic* text.\n\n- one\n- two").html
    assert "<strong>bold</strong>" in html
    assert "<em>italic</em>" in html
    assert "<li>one</li>" in html and "<li>two</li>" in html


def test_code_blocks_are_extracted_verbatim_with_copy_links() -> None:
    first = "if a < b and c > d:\n    print('&amp; <tag>')"
    second = "echo \"done\" | grep -v '<none>'"
    answer = f"Here:\n\n```python\n{first}\n```\n\nAnd then:\n\n```bash\n{second}\n```\n"

    rendered = render_markdown(answer, code_link_prefix="copy-code:")

    assert rendered.code_blocks == (first, second)
    assert '<a href="copy-code:0">Copy code</a>' in rendered.html
    assert '<a href="copy-code:1">Copy code</a>' in rendered.html
    assert "python · " in rendered.html
    assert "bash · " in rendered.html
    # Shown escaped in the page, so the code's own "<tag>" is text, not markup.
    assert "<tag>" not in rendered.html
    assert "&lt;tag&gt;" in rendered.html
    assert rendered.html.count("<pre>") == 2


def test_code_block_without_prefix_has_no_copy_link() -> None:
    rendered = render_markdown("```\nx = 1\n```")
    assert rendered.code_blocks == ("x = 1",)
    assert "Copy code" not in rendered.html
    assert "<pre>x = 1" in rendered.html


def test_indented_code_is_a_code_block_too() -> None:
    rendered = render_markdown("Example:\n\n    x = 1 < 2\n", code_link_prefix="c:")
    assert rendered.code_blocks == ("x = 1 < 2",)
    assert '<a href="c:0">' in rendered.html


def test_text_without_code_has_no_code_blocks() -> None:
    assert render_markdown("Just a sentence with `inline code`.").code_blocks == ()


def test_tables_render_as_tables() -> None:
    html = render_markdown("| City | Country |\n|------|---------|\n| Paris | France |\n").html
    assert "<table>" in html
    assert "<th>City</th>" in html
    assert "<td>Paris</td>" in html


def test_single_line_breaks_are_kept() -> None:
    html = render_markdown("Roses are red\nViolets are blue").html
    assert "<br" in html


def test_each_render_starts_fresh() -> None:
    # The converter is shared; reference links from one answer must not leak into the next.
    render_markdown("[site][ref]\n\n[ref]: https://example.com")
    html = render_markdown("[site][ref]").html
    assert "example.com" not in html


def test_plain_text_is_escaped_and_keeps_line_breaks() -> None:
    assert plain_to_html("a < b\n<i>c</i> & d") == "a &lt; b<br>&lt;i&gt;c&lt;/i&gt; &amp; d"


def test_only_web_and_mail_links_survive() -> None:
    rendered = render_markdown(
        "[regen](folio:regenerate/3) [file](file:///etc/passwd) [web](https://example.org) "
        "[mail](mailto:a@b.c) [js](javascript:alert(1))"
    )
    assert "folio:" not in rendered.html
    assert "file://" not in rendered.html
    assert "javascript:" not in rendered.html
    assert '<a href="https://example.org">web</a>' in rendered.html
    assert '<a href="mailto:a@b.c">mail</a>' in rendered.html
    assert "regen" in rendered.html and "file" in rendered.html
