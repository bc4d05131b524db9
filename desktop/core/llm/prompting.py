"""Turning a conversation into the exact prompt text a model expects, within its context window.

Folio renders the prompt itself (rather than letting the binding do it) so that it can count the
tokens exactly and decide which earlier turns still fit before generation starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypedDict

import jinja2
import jinja2.sandbox

log = logging.getLogger(__name__)

RoleName = Literal["system", "user", "assistant"]


class ChatMessage(TypedDict):
    role: RoleName
    content: str


class PromptFormat(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def stop_strings(self) -> tuple[str, ...]: ...

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt for ``messages``, ending where the assistant's answer begins."""
        ...


class TemplateError(ValueError):
    """The model's own chat template could not be used; the message is for the user."""


class ChatTemplateFormat:
    """The chat template stored in the GGUF (Jinja2, rendered the way Hugging Face does)."""

    name = "chat template from the model file"

    def __init__(self, template: str, bos_token: str, eos_token: str) -> None:
        environment = jinja2.sandbox.ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True
        )
        environment.globals["raise_exception"] = _raise_template_exception
        environment.globals["strftime_now"] = _strftime_now
        try:
            self._template = environment.from_string(template)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"The model's chat template is invalid: {exc}") from exc
        self._bos_token = bos_token
        self._eos_token = eos_token
        self.stop_strings: tuple[str, ...] = (eos_token,) if eos_token else ()

    def render(self, messages: Sequence[ChatMessage]) -> str:
        try:
            return self._template.render(
                messages=list(messages),
                add_generation_prompt=True,
                bos_token=self._bos_token,
                eos_token=self._eos_token,
            )
        except jinja2.TemplateError as exc:
            raise TemplateError(f"The model's chat template failed: {exc}") from exc


class PlainTranscriptFormat:
    """For models without a chat template (base models): a plain, labelled transcript.

    A base model has never been taught a turn format, so the most robust thing is text it has
    seen countless times on the web: "User:" and "Assistant:" lines. Generation stops as soon as
    the answer's line ends: measured on Gemma 3 270M, what a base model writes after its first
    line is the user's next turn or its own instructions repeated, not more answer.
    """

    name = "plain transcript (the model has no chat template)"
    stop_strings: tuple[str, ...] = ("\n",)

    def render(self, messages: Sequence[ChatMessage]) -> str:
        parts: list[str] = []
        for message in messages:
            content = message["content"].strip()
            if message["role"] == "system":
                parts.append(content + "\n")
            elif message["role"] == "user":
                parts.append(f"User: {content}")
            else:
                parts.append(f"Assistant: {content}\n")
        parts.append("Assistant:")
        return "\n".join(parts)


def _raise_template_exception(message: str) -> None:
    raise TemplateError(f"The model's chat template refused this conversation: {message}")


def _strftime_now(format_string: str) -> str:
    return datetime.now().strftime(format_string)


class QuestionTooLongError(ValueError):
    """The new question alone does not fit; the message is written for the user."""

    def __init__(self, question_tokens: int, fixed_tokens: int, answer_tokens: int, n_ctx: int):
        self.question_tokens = question_tokens
        self.n_ctx = n_ctx
        # Only suggest what can actually help: a shorter answer cannot make room for a message
        # that alone is larger than the window.
        remedies = ["shorten the message"]
        if question_tokens < n_ctx:
            remedies.append("lower the maximum answer length (max_tokens)")
        remedies.append("raise the context length (context_length) if the model allows it")
        super().__init__(
            f"This message is about {question_tokens:,} tokens. With the system prompt and "
            f"room for the answer ({answer_tokens:,} tokens) it needs {fixed_tokens:,} tokens, "
            f"more than the model's context window of {n_ctx:,}. To fix it, "
            + ", or ".join(remedies)
            + "."
        )


@dataclass(frozen=True)
class FittedPrompt:
    messages: tuple[ChatMessage, ...]
    prompt: str
    prompt_tokens: int
    # Earlier messages that were left out of the prompt because the window was full.
    dropped_messages: int


def fit_to_context(
    *,
    system_prompt: str,
    history: Sequence[ChatMessage],
    question: str,
    prompt_format: PromptFormat,
    count_tokens: Callable[[str], int],
    n_ctx: int,
    max_tokens: int,
) -> FittedPrompt:
    """Keep the system prompt and the new question; drop whole earlier turns, oldest first."""
    system: list[ChatMessage] = (
        [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    )
    new_question: ChatMessage = {"role": "user", "content": question}
    budget = n_ctx - max_tokens

    base_prompt = prompt_format.render([*system, new_question])
    base_tokens = count_tokens(base_prompt)
    if base_tokens > budget:
        raise QuestionTooLongError(
            question_tokens=count_tokens(question),
            fixed_tokens=base_tokens + max_tokens,
            answer_tokens=max_tokens,
            n_ctx=n_ctx,
        )

    turns = _group_into_turns(history)
    # A turn's cost is what it adds to the smallest prompt (system + question): rendering it alone
    # would count the template's fixed parts (a default system prompt, the assistant header) once
    # per turn. The real prompt is checked afterwards, since templates need not be additive.
    # Rendering the whole history for every candidate would be quadratic.
    kept: list[list[ChatMessage]] = []
    used = base_tokens
    for turn in reversed(turns):
        cost = count_tokens(prompt_format.render([*system, *turn, new_question])) - base_tokens
        if used + cost > budget:
            break
        kept.insert(0, turn)
        used += cost
    while True:
        messages = [*system, *(m for turn in kept for m in turn), new_question]
        prompt = prompt_format.render(messages)
        tokens = count_tokens(prompt)
        if tokens <= budget or not kept:
            break
        kept.pop(0)
    dropped = len(history) - sum(len(turn) for turn in kept)
    return FittedPrompt(tuple(messages), prompt, tokens, dropped)


def _group_into_turns(history: Sequence[ChatMessage]) -> list[list[ChatMessage]]:
    """A turn is a user message with the answers that follow it, so pairs are dropped together."""
    turns: list[list[ChatMessage]] = []
    for message in history:
        if message["role"] == "system":
            continue
        if message["role"] == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns
