"""Prompt templates, labels and few-shot examples: what people type, and how they mistype it."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.errors import EngineError
from desktop.core.lab.datasets import DatasetError
from desktop.core.lab.templates import (
    MAX_EXAMPLES,
    Example,
    PromptTemplate,
    PromptTemplateError,
    check_example_labels,
    parse_labels,
    read_examples,
)

REVIEW_PROMPT = "Is this review positive or negative?\nReview: {text}\nAnswer:"


def template_error(text: str, columns: list[str] | None = None) -> str:
    with pytest.raises(PromptTemplateError) as caught:
        PromptTemplate.parse(text, columns)
    return str(caught.value)


# --- Parsing and rendering ------------------------------------------------------------------


def test_a_template_fills_each_placeholder_from_the_row() -> None:
    template = PromptTemplate.parse("{title}: {text} ({title})")
    assert template.placeholders == ("title", "text")
    assert template.render({"title": "Soup", "text": "Cold", "label": "x"}) == "Soup: Cold (Soup)"


def test_double_braces_are_literal_braces() -> None:
    template = PromptTemplate.parse('Reply as JSON, {{"label": "…"}}. {{{text}}} {{text}}')
    assert template.placeholders == ("text",)
    assert template.render({"text": "Nice"}) == 'Reply as JSON, {"label": "…"}. {Nice} {text}'


def test_braces_in_values_are_inserted_verbatim() -> None:
    template = PromptTemplate.parse("Review: {text} / {label}")
    values = {"text": "{label} {0} {text.__class__} }}{{", "label": "%s {"}
    assert template.render(values) == "Review: {label} {0} {text.__class__} }}{{ / %s {"


def test_column_names_may_hold_spaces_hyphens_digits_and_accents() -> None:
    template = PromptTemplate.parse("{review text} {star-rating} {q2_answer} {café} { text }")
    assert template.placeholders == ("review text", "star-rating", "q2_answer", "café", "text")
    template.check_columns(["review text", "star-rating", "q2_answer", "café", "text"])


def test_the_shared_prefix_is_the_text_before_the_first_placeholder() -> None:
    assert PromptTemplate.parse(REVIEW_PROMPT).shared_prefix() == (
        "Is this review positive or negative?\nReview: "
    )
    assert PromptTemplate.parse("{text} is it good?").shared_prefix() == ""
    assert PromptTemplate.parse("Braces {{ kept }}: {text}").shared_prefix() == (
        "Braces { kept }: "
    )


def test_a_template_constructed_directly_works_like_a_parsed_one() -> None:
    template = PromptTemplate(REVIEW_PROMPT, ("text",))
    assert template == PromptTemplate.parse(REVIEW_PROMPT)
    assert template.render({"text": "Good"}).endswith("Review: Good\nAnswer:")
    with pytest.raises(ValueError):
        PromptTemplate(REVIEW_PROMPT, ("label",))


def test_an_unclosed_brace_says_where() -> None:
    text = template_error("Review: {text\nAnswer:")
    assert "never closed" in text and "line 1, column 9" in text
    assert "column 9" in template_error("Review: {text {label}")


def test_a_stray_closing_brace_says_where() -> None:
    text = template_error("Review: {text} }")
    assert "closes no placeholder" in text and "column 16" in text and "}}" in text


def test_an_empty_placeholder() -> None:
    text = template_error("Review: {} {text}")
    assert "empty {}" in text and "column 9" in text


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("{0}", "position"),
        ("{text.upper}", "attributes"),
        ("{text[0]}", "indexes"),
        ("{text!r}", "conversions"),
        ("{text:>9}", "format specifications"),
        ("{text?}", "'?'"),
        ('{"label": "x"}', "'\"'"),
    ],
)
def test_a_placeholder_must_be_a_plain_column_name(placeholder: str, expected: str) -> None:
    text = template_error(f"Review: {placeholder}")
    assert expected in text and placeholder in text and "column 9" in text


def test_a_template_without_placeholders() -> None:
    text = template_error("Is this review positive?")
    assert "no {placeholder}" in text and "same prompt" in text and "{text}" in text
    with_columns = template_error("Is this review positive?", ["review", "label"])
    assert "{review}" in with_columns and "{label}" in with_columns


def test_an_empty_template() -> None:
    assert "empty" in template_error("  \n")


# --- Columns --------------------------------------------------------------------------------


def test_an_unknown_placeholder_is_named_with_the_columns_and_a_suggestion() -> None:
    template = PromptTemplate.parse("Review: {txt}")
    with pytest.raises(PromptTemplateError) as caught:
        template.check_columns(["text", "label"], source="dev.tsv")
    text = str(caught.value)
    assert "{txt}" in text and "dev.tsv" in text and "text, label" in text
    assert "Did you mean {text}?" in text


def test_a_placeholder_differing_in_case_is_suggested() -> None:
    text = template_error("{Review Text}", ["review text", "label"])
    assert "Did you mean {review text}?" in text


def test_several_unknown_placeholders_are_all_named() -> None:
    text = template_error("{txt} {lable} {zzz}", ["text", "label"])
    assert "{txt} and {lable} and {zzz}" in text and "are not columns" in text
    assert "{text} for {txt}" in text and "{label} for {lable}" in text


def test_no_suggestion_when_nothing_is_close() -> None:
    text = template_error("{comment}", ["text", "label"])
    assert "Did you mean" not in text and "text, label" in text


def test_the_answer_column_must_not_be_in_the_prompt() -> None:
    template = PromptTemplate.parse("{text} -> {label}")
    template.check_columns(["text", "label"])
    with pytest.raises(PromptTemplateError, match=r"would be shown each answer"):
        template.check_columns(["text", "label"], answer_column="label")


def test_rendering_a_row_without_a_placeholders_column() -> None:
    with pytest.raises(PromptTemplateError, match=r"no value for \{text\}"):
        PromptTemplate.parse("{text}").render({"review": "x"})


# --- Labels ---------------------------------------------------------------------------------


def test_labels_from_text_or_a_list_keep_their_order() -> None:
    assert parse_labels(" positive, negative ,") == ("positive", "negative")
    assert parse_labels(["b", " a ", "c"]) == ("b", "a", "c")
    assert parse_labels(["very good", "so-so", "bad, really"]) == (
        "very good",
        "so-so",
        "bad, really",
    )


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ("", "no labels"),
        (" , ", "no labels"),
        ([], "no labels"),
        ("positive", "nothing to choose"),
        (["positive"], "at least two"),
        ("positive,negative,positive", "given twice"),
        ("positive,Positive", "differ only in capitals"),
        (["yes", "no\nmaybe"], "line break"),
        ("yes,no\nmaybe", "line break"),
    ],
)
def test_bad_labels(labels: str | list[str], expected: str) -> None:
    with pytest.raises(PromptTemplateError, match=expected):
        parse_labels(labels)


# --- Few-shot examples ----------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_examples_are_read_with_their_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path / "examples.tsv",
        "text\tlabel\tnote\nLovely\tpositive\tx\n\nAwful\t negative \t\n",
    )
    template = PromptTemplate.parse("Review: {text}")
    examples = read_examples(path, template, "label", labels=["positive", "negative"])
    assert examples == (
        Example({"text": "Lovely", "note": "x"}, "positive"),
        Example({"text": "Awful", "note": ""}, "negative"),
    )
    assert template.render(examples[0].values) == "Review: Lovely"


def test_examples_need_the_label_column(tmp_path: Path) -> None:
    path = write(tmp_path / "examples.csv", "text,lable\nLovely,positive\n")
    with pytest.raises(PromptTemplateError) as caught:
        read_examples(path, PromptTemplate.parse("{text}"), "label")
    text = str(caught.value)
    assert "examples.csv" in text and "'label'" in text and "text, lable" in text
    assert "Did you mean 'lable'?" in text


def test_examples_need_the_templates_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "examples.csv", "review,label\nLovely,positive\n")
    with pytest.raises(PromptTemplateError) as caught:
        read_examples(path, PromptTemplate.parse("{text}"), "label")
    assert "{text}" in str(caught.value) and "examples.csv" in str(caught.value)


def test_an_example_without_a_label(tmp_path: Path) -> None:
    path = write(tmp_path / "examples.csv", "text,label\nLovely,positive\nAwful,  \n")
    with pytest.raises(PromptTemplateError, match=r"Example 2 .* has no label"):
        read_examples(path, PromptTemplate.parse("{text}"), "label")


def test_an_example_label_with_a_line_break(tmp_path: Path) -> None:
    path = write(tmp_path / "examples.csv", 'text,label\nLovely,"posi\ntive"\n')
    with pytest.raises(PromptTemplateError, match="line break"):
        read_examples(path, PromptTemplate.parse("{text}"), "label")


def test_a_malformed_example_row(tmp_path: Path) -> None:
    path = write(tmp_path / "examples.csv", "text,label\nGood, cheap,positive\n")
    with pytest.raises(DatasetError, match=r"row 1 .* 3 cells"):
        read_examples(path, PromptTemplate.parse("{text}"), "label")


def test_an_examples_file_without_examples(tmp_path: Path) -> None:
    path = write(tmp_path / "examples.csv", "text,label\n")
    with pytest.raises(PromptTemplateError, match="has no examples"):
        read_examples(path, PromptTemplate.parse("{text}"), "label")


def test_too_many_examples(tmp_path: Path) -> None:
    rows = "".join(f"review {index},positive\n" for index in range(MAX_EXAMPLES))
    path = write(tmp_path / "examples.csv", "text,label\n" + rows)
    assert len(read_examples(path, PromptTemplate.parse("{text}"), "label")) == MAX_EXAMPLES
    write(path, "text,label\n" + rows + "one more,negative\n")
    with pytest.raises(PromptTemplateError, match=f"more than {MAX_EXAMPLES} examples"):
        read_examples(path, PromptTemplate.parse("{text}"), "label")


def test_example_labels_must_be_among_the_labels(tmp_path: Path) -> None:
    examples = (
        Example({"text": "a"}, "positive"),
        Example({"text": "b"}, "Positive"),
        Example({"text": "c"}, "neutral"),
        Example({"text": "d"}, "Positive"),
    )
    check_example_labels(examples[:1], ["positive", "negative"])
    with pytest.raises(PromptTemplateError) as caught:
        check_example_labels(examples, ["positive", "negative"])
    text = str(caught.value)
    assert "'Positive' (examples 2, 4, perhaps 'positive')" in text
    assert "'neutral' (example 3)" in text and "positive, negative" in text

    path = write(tmp_path / "examples.csv", "text,label\na,positive\nc,neutral\n")
    with pytest.raises(PromptTemplateError, match="'neutral'"):
        read_examples(path, PromptTemplate.parse("{text}"), "label", labels=["positive", "no"])


def test_every_template_error_is_an_engine_error() -> None:
    assert issubclass(PromptTemplateError, EngineError)


def test_examples_typed_one_per_line_fill_the_one_placeholder() -> None:
    from desktop.core.lab.templates import parse_example_lines

    template = PromptTemplate.parse("Review: {text}\nSentiment:")
    examples = parse_example_lines(
        "Great => food => positive\n\n  Awful place => negative  \n", template
    )
    assert [(dict(e.values), e.label) for e in examples] == [
        ({"text": "Great => food"}, "positive"),
        ({"text": "Awful place"}, "negative"),
    ]
    assert parse_example_lines("  \n", template) == ()
    with pytest.raises(PromptTemplateError, match="line 2"):
        parse_example_lines("Good => positive\nno arrow here", template)
    with pytest.raises(PromptTemplateError, match="one placeholder"):
        parse_example_lines("a => b", PromptTemplate.parse("{title}: {text}"))
