"""``folio batch`` and ``folio ask --logprobs``, run the way a user runs them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, folio

DATA = "text\tlabel\nLovely food.\tpositive\nAwful, cold and late.\tnegative\nSo good!\tpositive\n"
TEMPLATE = "Review: {text}\nSentiment:"


@pytest.fixture
def reviews(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.tsv"
    path.write_text(DATA, encoding="utf-8")
    return path


def test_batch_json_reports_the_scores_and_the_results_file(
    folio_home: Path, reviews: Path, tmp_path: Path
) -> None:
    export = tmp_path / "out.csv"
    run = folio(
        "batch",
        str(reviews),
        "--template",
        TEMPLATE,
        "--labels",
        "positive,negative",
        "--mode",
        "constrained",
        "--reference",
        "label",
        "--export",
        str(export),
        "--json",
        home=folio_home,
    )
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout)
    assert reply["items"] == 3 and reply["state"] == "finished"
    assert 0.0 <= reply["accuracy"] <= 1.0
    assert set(reply["per_label"]) == {"positive", "negative"}
    assert sum(map(sum, reply["confusion"])) == 3
    assert reply["items_per_s"] > 0
    assert sum(reply["counts"].values()) == 3
    results = Path(reply["results_path"])
    assert results.is_file() and len(results.read_text("utf-8").splitlines()) == 3
    assert export.read_text("utf-8").startswith("text,label,output")


def test_a_stopped_batch_resumes_from_where_it_was(folio_home: Path, reviews: Path) -> None:
    arguments = ["batch", str(reviews), "--template", TEMPLATE, "--labels", "positive,negative"]
    first = folio(*arguments, "--limit", "2", "--json", home=folio_home)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["done"] == 2
    # The same template typed with a shell's \n is the same run, so it resumes.
    typed = ["batch", str(reviews), "--template", TEMPLATE.replace("\n", "\\n")]
    again = folio(*typed, "--labels", "positive,negative", home=folio_home)
    assert again.returncode == 0, again.stderr
    assert "Resuming: 2 rows were done before." in again.stderr
    assert "3 of 3 rows finished" in again.stdout


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--template", "Review: {txt}", "--labels", "a,b"], ["{txt}", "Did you mean {text}?"]),
        (["--template", "Review: {text", "--labels", "a,b"], ["{"]),
        (["--template", TEMPLATE, "--labels", "positive"], ["at least two"]),
        (["--template", TEMPLATE, "--labels", "positive,Positive"], ["Positive"]),
        (
            ["--template", TEMPLATE, "--labels", "a,b", "--reference", "stars"],
            ["stars", "text, label"],
        ),
    ],
    ids=["unknown placeholder", "unclosed brace", "one label", "duplicate labels", "no column"],
)
def test_bad_batch_input_gets_one_clear_line(
    folio_home: Path, reviews: Path, arguments: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(folio("batch", str(reviews), *arguments, home=folio_home), *fragments)


def test_a_missing_data_file_is_named(folio_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    run = folio("batch", str(missing), "--template", TEMPLATE, "--labels", "a,b", home=folio_home)
    assert_one_line_error(run, "nowhere.csv")


def test_ask_logprobs_json_gives_plain_numbers_per_token(folio_home: Path) -> None:
    run = folio(
        "ask", "The sky is", "--logprobs", "3", "--temperature", "0", "--json", home=folio_home
    )
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout)
    steps = reply["logprobs"]
    assert len(steps) == reply["timings"]["tokens"]
    for step in steps:
        assert type(step["logprob"]) is float and step["logprob"] <= 0.0
        assert len(step["top"]) == 3
        assert step["top"][0]["logprob"] >= step["top"][-1]["logprob"]
        assert sum(math.exp(item["logprob"]) for item in step["top"]) <= 1.0 + 1e-6
        # Greedy: the token written is the model's favourite.
        assert step["rank"] == 1
    total = sum(step["logprob"] for step in steps)
    assert reply["total_logprob"] == pytest.approx(total, abs=1e-3)
    assert reply["perplexity"] == pytest.approx(math.exp(-total / len(steps)), rel=1e-3)


def test_ask_logprobs_out_of_range_is_refused(folio_home: Path) -> None:
    assert_one_line_error(folio("ask", "Hi", "--logprobs", "99", home=folio_home), "0 to 20")


def test_ask_show_prompt_gives_the_parts_adding_up_to_the_prompt(folio_home: Path) -> None:
    run = folio(
        "ask", "What is a token?", "--show-prompt", "--max-tokens", "16", "--json", home=folio_home
    )
    assert run.returncode == 0, run.stderr
    prompt = json.loads(run.stdout)["prompt"]
    assert "What is a token?" in prompt["text"]
    assert sum(part["tokens"] for part in prompt["parts"]) == prompt["tokens"]
    kinds = [part["kind"] for part in prompt["parts"]]
    assert kinds[-2:] == ["question", "template"]
    plain = folio("ask", "What is a token?", "--show-prompt", "--max-tokens", "16", home=folio_home)
    assert "The prompt the model read:" in plain.stdout
    assert "What is a token?" in plain.stdout.split("The prompt the model read:")[1]


def test_ask_with_a_lora_adapter_and_with_a_wrong_one(
    folio_home: Path, tmp_path: Path, starter_model: Path
) -> None:
    from tests.support.lora import write_lora

    good = write_lora(tmp_path / "style.gguf", starter_model)
    run = folio(
        "ask", "Hi", "--lora", str(good), "--lora-scale", "0.5", "--max-tokens", "16",
        "--json", home=folio_home,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    wrong = write_lora(tmp_path / "other.gguf", starter_model, architecture="gemma3")
    refused = folio("ask", "Hi", "--lora", str(wrong), home=folio_home)
    assert_one_line_error(refused, "other.gguf", "gemma3")
