"""Prompt building: which turns fit the window, and how chat templates are rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.llm.prompting import (
    ChatMessage,
    ChatTemplateFormat,
    PlainTranscriptFormat,
    QuestionTooLongError,
    TemplateError,
    fit_to_context,
)
from desktop.core.models.gguf import read_gguf_info


def words(text: str) -> int:
    """A stand-in tokenizer: one token per word."""
    return len(text.split())


def turn(number: int, size: int = 10) -> list[ChatMessage]:
    """A question and its answer, each ``size`` words, tagged with the turn number."""
    filler = " ".join(["blah"] * (size - 1))
    return [
        {"role": "user", "content": f"q{number} {filler}"},
        {"role": "assistant", "content": f"a{number} {filler}"},
    ]


PLAIN = PlainTranscriptFormat()
SYSTEM = "Be brief."
QUESTION = "What now?"


def fit(history: list[ChatMessage], n_ctx: int, max_tokens: int = 10, system: str = SYSTEM):
    return fit_to_context(
        system_prompt=system,
        history=history,
        question=QUESTION,
        prompt_format=PLAIN,
        count_tokens=words,
        n_ctx=n_ctx,
        max_tokens=max_tokens,
    )


@pytest.fixture(scope="module")
def smollm_template(starter_model: Path) -> str:
    template = read_gguf_info(starter_model).chat_template
    assert template is not None
    return template


# -- fitting the window ----------------------------------------------------------------------------


def test_everything_is_kept_when_there_is_room() -> None:
    history = turn(1) + turn(2)
    fitted = fit(history, n_ctx=1000)
    assert fitted.dropped_messages == 0
    assert list(fitted.messages) == [
        {"role": "system", "content": SYSTEM},
        *history,
        {"role": "user", "content": QUESTION},
    ]
    assert fitted.prompt == PLAIN.render(fitted.messages)
    assert fitted.prompt_tokens == words(fitted.prompt)


def test_oldest_whole_turns_are_dropped_first() -> None:
    history = turn(1) + turn(2) + turn(3) + turn(4)
    full = fit(history, n_ctx=1000).prompt_tokens
    # Room for everything but about one and a half turns.
    fitted = fit(history, n_ctx=full + 10 - 30)

    assert fitted.dropped_messages == 4
    contents = [message["content"].split()[0] for message in fitted.messages]
    assert contents == [SYSTEM.split()[0], "q3", "a3", "q4", "a4", "What"]
    assert "q1" not in fitted.prompt and "a2" not in fitted.prompt
    assert fitted.prompt_tokens <= full + 10 - 30 - 10


def test_a_question_is_never_kept_without_its_answer() -> None:
    # A question answered twice (a regenerated answer kept alongside) is one turn.
    history: list[ChatMessage] = [
        *turn(1),
        {"role": "user", "content": "q2 tell me more"},
        {"role": "assistant", "content": "a2 first try " + "blah " * 5},
        {"role": "assistant", "content": "a2 second try " + "blah " * 5},
        *turn(3),
    ]
    for n_ctx in range(30, 200):
        fitted = fit(history, n_ctx=n_ctx)
        kept = list(fitted.messages[1:-1])
        assert kept == history[len(history) - len(kept) :]  # a suffix of the history...
        assert not kept or kept[0]["role"] == "user"  # ...that starts at a question
        assert fitted.dropped_messages == len(history) - len(kept)
        assert fitted.prompt_tokens <= n_ctx - 10


def test_system_prompt_and_question_are_always_kept() -> None:
    history = turn(1, size=50) + turn(2, size=50)
    fitted = fit(history, n_ctx=30)
    assert fitted.dropped_messages == 4
    assert list(fitted.messages) == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION},
    ]
    assert fitted.prompt.startswith(SYSTEM)
    assert fitted.prompt.rstrip().endswith("Assistant:")


def test_blank_system_prompt_is_left_out() -> None:
    fitted = fit(turn(1), n_ctx=1000, system="   ")
    assert fitted.messages[0]["role"] == "user"
    assert all(message["role"] != "system" for message in fitted.messages)


def test_question_that_fits_exactly_is_accepted() -> None:
    needed = words(
        PLAIN.render([{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}])
    )
    fitted = fit([], n_ctx=needed + 10, max_tokens=10)
    assert fitted.prompt_tokens == needed


def test_question_too_long_for_the_window_is_refused() -> None:
    long_question = " ".join(["word"] * 200)
    with pytest.raises(QuestionTooLongError) as raised:
        fit_to_context(
            system_prompt=SYSTEM,
            history=turn(1),
            question=long_question,
            prompt_format=PLAIN,
            count_tokens=words,
            n_ctx=256,
            max_tokens=64,
        )
    error = raised.value
    assert error.question_tokens == 200
    assert error.n_ctx == 256
    message = str(error)
    assert "200 tokens" in message
    assert "context window of 256" in message
    assert "(64 tokens)" in message
    assert "maximum answer length" in message


def test_a_question_bigger_than_the_whole_window_gets_only_advice_that_helps() -> None:
    with pytest.raises(QuestionTooLongError) as raised:
        fit_to_context(
            system_prompt=SYSTEM,
            history=(),
            question=" ".join(["word"] * 300),
            prompt_format=PLAIN,
            count_tokens=words,
            n_ctx=256,
            max_tokens=64,
        )
    message = str(raised.value)
    assert "shorten the message" in message
    assert "maximum answer length" not in message


def test_room_for_the_answer_counts_against_the_window() -> None:
    needed = words(
        PLAIN.render([{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}])
    )
    # The question alone fits, but not with the answer's reserved room.
    with pytest.raises(QuestionTooLongError):
        fit([], n_ctx=needed + 10, max_tokens=11)


@pytest.mark.parametrize("template", ["plain", "smollm"])
def test_history_that_exactly_fits_is_not_dropped(template: str, request: pytest.FixtureRequest):
    prompt_format: PlainTranscriptFormat | ChatTemplateFormat = PLAIN
    if template == "smollm":
        source = request.getfixturevalue("smollm_template")
        prompt_format = ChatTemplateFormat(source, bos_token="", eos_token="<|im_end|>")
    history = turn(1) + turn(2) + turn(3)
    messages: list[ChatMessage] = [
        {"role": "system", "content": SYSTEM},
        *history,
        {"role": "user", "content": QUESTION},
    ]
    full = words(prompt_format.render(messages))
    fitted = fit_to_context(
        system_prompt=SYSTEM,
        history=history,
        question=QUESTION,
        prompt_format=prompt_format,
        count_tokens=words,
        n_ctx=full + 10,
        max_tokens=10,
    )
    assert fitted.dropped_messages == 0


# -- formats ---------------------------------------------------------------------------------------


def test_smollm_chat_template_renders_chatml(smollm_template: str) -> None:
    chat = ChatTemplateFormat(smollm_template, bos_token="", eos_token="<|im_end|>")
    prompt = chat.render(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Capital of France?"},
        ]
    )
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nCapital of France?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert chat.stop_strings == ("<|im_end|>",)


def test_smollm_template_adds_its_own_system_prompt_when_none_is_given(
    smollm_template: str,
) -> None:
    chat = ChatTemplateFormat(smollm_template, bos_token="", eos_token="<|im_end|>")
    prompt = chat.render([{"role": "user", "content": "Hi"}])
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert prompt.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_template_that_raises_gives_a_template_error() -> None:
    template = (
        "{% for message in messages %}"
        "{% if message['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}"
        "{% endif %}{{ message['content'] }}{% endfor %}"
    )
    chat = ChatTemplateFormat(template, bos_token="<s>", eos_token="</s>")
    assert chat.render([{"role": "user", "content": "Hi"}]) == "Hi"
    with pytest.raises(TemplateError, match="System role not supported"):
        chat.render([{"role": "system", "content": "Be brief."}])


def test_broken_template_syntax_gives_a_template_error() -> None:
    with pytest.raises(TemplateError, match="invalid"):
        ChatTemplateFormat("{% for message in messages %}", bos_token="", eos_token="")


def test_template_cannot_reach_outside_its_sandbox() -> None:
    sneaky = "{{ messages.__class__.__mro__[1].__subclasses__() }}"
    chat = ChatTemplateFormat(sneaky, bos_token="", eos_token="")
    with pytest.raises(TemplateError):
        chat.render([{"role": "user", "content": "Hi"}])


def test_template_gets_bos_token_and_the_date_helper() -> None:
    template = "{{ bos_token }}{{ strftime_now('%Y') | length }}{{ messages[0]['content'] }}"
    chat = ChatTemplateFormat(template, bos_token="<s>", eos_token="</s>")
    assert chat.render([{"role": "user", "content": "Hi"}]) == "<s>4Hi"


def test_plain_transcript_labels_each_turn() -> None:
    prompt = PLAIN.render(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Capital of France?  "},
        ]
    )
    lines = prompt.splitlines()
    assert lines[0] == "Be brief."
    assert "User: Hi" in lines
    assert "Assistant: Hello!" in lines
    assert "User: Capital of France?" in lines
    assert prompt.endswith("\nAssistant:")
    assert lines.index("User: Hi") < lines.index("Assistant: Hello!")


def test_plain_transcript_answers_end_with_their_line() -> None:
    # Whatever a base model writes next ("User: ...", its instructions again) starts on a new line.
    assert PLAIN.stop_strings == ("\n",)
    assert "plain transcript" in PLAIN.name
