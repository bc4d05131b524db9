"""The chat engine: one llama.cpp model, one owner thread, streamed and cancellable answers.

A ``Llama`` is not thread-safe, so every call into it runs on a single worker thread that the
engine owns (a one-worker executor, the shape Anki uses for its collection). Callers on any thread
submit work and get futures back; streamed text reaches them through callbacks run on the owner
thread. Generation stops cooperatively: a ``threading.Event`` is checked before every token and the
token generator is then closed, never killed.
"""

from __future__ import annotations

import codecs
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from desktop.core.errors import EngineError, ModelLoadError, NoModelError
from desktop.core.llm import binding, llama_log, sampling
from desktop.core.llm.adapters import apply_lora
from desktop.core.llm.inspection import PromptInspection, inspect_prompt
from desktop.core.llm.load_failures import explain_load_failure
from desktop.core.llm.owner_thread import OwnerThread
from desktop.core.llm.probabilities import TokenProbabilities
from desktop.core.llm.prompting import (
    ChatMessage,
    ChatTemplateFormat,
    FittedPrompt,
    PlainTranscriptFormat,
    PromptFormat,
    TemplateError,
    fit_to_context,
)
from desktop.core.llm.recording import ProbabilityRecorder
from desktop.core.llm.repetition import RepetitionGuard, without_repeats
from desktop.core.llm.scoring import PrefixScorer
from desktop.core.models.checks import check_chat_model_file
from desktop.core.models.gguf import GGUFInfo
from desktop.core.models.memory import MemoryEstimate, estimate_memory
from desktop.core.platform import default_threads
from desktop.core.settings.schema import GenerationSettings, ModelSettings, binding_arguments

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)

T = TypeVar("T")
FinishReason = Literal["stop", "length", "cancelled", "repetition"]
# A prompt is read in slices of this many tokens when it is longer, so its progress can be shown
# (benchmarks/ttft.py measures what the slices cost against one pass).
PREFILL_SLICE_TOKENS = 128


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    name: str
    architecture: str
    context_length: int
    trained_context_length: int | None
    has_chat_template: bool
    prompt_format: str
    parameter_count: int
    file_size: int
    threads: int
    memory: MemoryEstimate
    # The LoRA adapter applied ("" for none) and its scale; why the one asked for was not.
    lora: str = ""
    lora_scale: float = 0.0
    lora_problem: str = ""

    @property
    def identity(self) -> str:
        """The model as what it writes depends on: its name, and its adapter at its scale."""
        return self.name + (f" + LoRA {self.lora} ×{self.lora_scale:g}" if self.lora else "")


@dataclass(frozen=True)
class ChatRequest:
    question: str
    history: Sequence[ChatMessage] = ()
    system_prompt: str = ""
    # Sampling, answer length, seed and stop texts; its own system prompt is not used (the
    # request's is: documents questions add their instructions to it).
    params: GenerationSettings = field(default_factory=GenerationSettings)
    # Continue: the beginning of the answer, already written. The prompt ends inside the
    # assistant's turn, with this text, and the model carries on from its last character; the
    # result's text is only what it adds.
    continue_from: str = ""
    # Show probabilities: this many alternatives are recorded for every generated token (0 for
    # none; recording them costs a pass over the vocabulary per token).
    logprobs: int = 0


@dataclass(frozen=True)
class GenerationResult:
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float
    tokens_per_s: float
    total_s: float
    seed: int
    dropped_messages: int
    model: str
    # One entry per generated token when the request asked for ``logprobs``.
    probabilities: tuple[TokenProbabilities, ...] = ()
    # The exact prompt read, taken apart (see ``inspection``).
    prompt: PromptInspection | None = None

    def stats(self) -> dict[str, Any]:
        """Plain JSON-ready figures, as stored with the message."""
        return {
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "ttft_s": round(float(self.ttft_s), 4),
            "tokens_per_s": round(float(self.tokens_per_s), 2),
            "total_s": round(float(self.total_s), 3),
            "seed": self.seed,
            "dropped_messages": self.dropped_messages,
            "finish_reason": self.finish_reason,
        }


class GenerationSink:
    """Receives a generation's progress on the engine's owner thread; override what you need."""

    def prompt_prepared(self, fitted: FittedPrompt) -> None:
        """The prompt is built; ``fitted.dropped_messages`` earlier messages did not fit."""

    def text_received(self, text: str) -> None:
        """A new piece of the answer (one or more tokens, never half a character)."""

    def token_scored(self, step: TokenProbabilities) -> None:
        """The probabilities of the token just generated (``logprobs`` requests only); sent
        before the text it adds."""

    def prefill_progressed(self, done: int, total: int) -> None:
        """``done`` of the prompt's ``total`` tokens are read (a long prompt only, per slice;
        ``done`` starts at what the previous answer left cached)."""


class ChatEngine(OwnerThread):
    """Owns one chat ``Llama``; all public methods may be called from any thread."""

    def __init__(self) -> None:
        super().__init__("folio-chat-engine", EngineError("The engine has been shut down."))
        self._llama: Llama | None = None
        self._format: PromptFormat | None = None
        self._info: ModelInfo | None = None
        self._add_bos = False
        self._bos_text = ""
        self._loaded_with: tuple[Path, ModelSettings] | None = None
        self._prefill_abort: binding.PrefillAbort | None = None
        self._chain_hooks: sampling.ChainHooks | None = None
        self._scorer: PrefixScorer | None = None
        self._lora: binding.LoraAdapter | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo | None:
        return self._info

    @property
    def loaded_with(self) -> tuple[Path, ModelSettings] | None:
        return self._loaded_with

    def load(self, path: Path | str, options: ModelSettings | None = None) -> Future[ModelInfo]:
        """Load ``path`` with the model-loading settings ``options`` (their ``model_path`` is
        not read: the file to load is ``path``)."""
        return self._submit(self._load, Path(path), options or ModelSettings())

    def unload(self) -> Future[None]:
        return self._submit(self._unload)

    # -- work for other threads -----------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the loaded model (blocks until the owner thread answers)."""
        count: int = self._submit(self._count_tokens, text).result()
        return count

    def generate(
        self,
        request: ChatRequest,
        cancel: threading.Event,
        sink: GenerationSink | None = None,
    ) -> Future[GenerationResult]:
        return self._submit(self._generate, request, cancel, sink or GenerationSink())

    def run_on_model(self, job: Callable[[PrefixScorer], T]) -> Future[T]:
        """Run ``job`` on the owner thread with a scorer over the loaded model (the prompt lab's
        batch items, the settings' preview), between answers, never during one."""
        return self._submit(self._run_on_model, job)

    def stream(self, request: ChatRequest, cancel: threading.Event | None = None) -> TextStream:
        """Iterate over the answer's text as it is generated (for the CLI and tests)."""
        return TextStream(self, request, cancel or threading.Event())

    # -- owner thread only ----------------------------------------------------------------------

    def _load(self, path: Path, options: ModelSettings) -> ModelInfo:
        header = check_chat_model_file(path)
        n_ctx = options.context_length
        if header.context_length:
            n_ctx = min(n_ctx, header.context_length)
        # The current model's cache and buffers are freed before the new one is built.
        current = self._info.memory if self._info is not None else None
        freed = current.kv_cache_bytes + current.overhead_bytes if current is not None else 0
        memory = estimate_memory(header, n_ctx, freed_first=freed)
        if not memory.fits:
            raise ModelLoadError(
                f"“{path.name}” needs about {memory.required_gb:.1f} GB of memory with a "
                f"{n_ctx:,}-token context, but only {memory.available_gb:.1f} GB is free. "
                "Choose a smaller model or quantization, or lower the context length."
            )

        previous = self._loaded_with
        # Two models at once could double the memory needed, so the old one goes first and comes
        # back if the new one cannot be built.
        self._unload()
        try:
            return self._open(path, header, n_ctx, options, memory)
        except ModelLoadError as failure:
            if previous is None:
                raise
            try:
                self._load(*previous)
            except EngineError:
                log.exception("could not reload the previous model %s", previous[0])
                raise failure from None
            raise ModelLoadError(f"{failure} The previous model is still loaded.") from failure

    def _open(
        self,
        path: Path,
        header: GGUFInfo,
        n_ctx: int,
        options: ModelSettings,
        memory: MemoryEstimate,
    ) -> ModelInfo:
        threads = options.threads or default_threads()
        arguments = binding_arguments(options) | {
            # The settings' values, where Folio decides more than llama.cpp would: the context
            # within what the model was trained for, automatic threads, and no batch larger
            # than the context.
            "n_ctx": n_ctx,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_batch": min(options.batch_size, n_ctx),
        }
        llama_log.install()
        started = time.perf_counter()
        with llama_log.capture_errors() as errors:
            try:
                llama = binding.open_llama(
                    model_path=str(path),
                    # llama.cpp's own tools default to flash attention where the backend has
                    # it; the binding turns it off. Measured on CPU: about 10 % faster decode
                    # and 8 % faster prefill on the starter model (benchmarks/generation.py).
                    flash_attn=True,
                    logits_all=False,
                    **arguments,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelLoadError(explain_load_failure(header, errors.lines, exc)) from exc
        log.info(
            "loaded %s (%s, n_ctx=%d, threads=%d) in %.2fs",
            path.name,
            header.architecture,
            n_ctx,
            threads,
            time.perf_counter() - started,
        )
        self._chain_hooks = sampling.install(llama)
        self._llama = llama
        self._loaded_with = (path, options)
        self._prefill_abort = binding.PrefillAbort(llama)
        self._format = self._choose_format(llama, header)
        self._add_bos = binding.adds_bos(llama)
        self._bos_text = binding.token_text(llama, llama.token_bos())
        self._info = ModelInfo(
            path=path,
            name=path.stem,
            architecture=header.architecture,
            context_length=n_ctx,
            trained_context_length=header.context_length,
            has_chat_template=header.chat_template is not None,
            prompt_format=self._format.name,
            parameter_count=header.parameter_count,
            file_size=header.file_size,
            threads=threads,
            memory=memory,
        )
        if options.lora_path:
            self._info = self._with_lora(llama, header, options)
        return self._info

    def _with_lora(self, llama: Llama, header: GGUFInfo, options: ModelSettings) -> ModelInfo:
        assert self._info is not None
        applied = apply_lora(llama, header, Path(options.lora_path), options.lora_scale)
        self._lora = applied.adapter
        return replace(
            self._info, lora=applied.name, lora_scale=applied.scale, lora_problem=applied.problem
        )

    def _choose_format(self, llama: Llama, header: GGUFInfo) -> PromptFormat:
        template = header.chat_template
        if template is None:
            log.info("%s has no chat template; using a plain transcript", header.path.name)
            return PlainTranscriptFormat()
        try:
            chat_format = ChatTemplateFormat(
                template,
                bos_token=binding.token_text(llama, llama.token_bos()),
                eos_token=binding.token_text(llama, llama.token_eos()),
            )
            chat_format.render([{"role": "user", "content": "Hello"}])
        except TemplateError:
            log.warning("chat template of %s unusable; using a plain transcript", header.path.name)
            return PlainTranscriptFormat()
        return chat_format

    def _unload(self) -> None:
        if self._lora is not None:
            self._lora.close()
            self._lora = None
        if self._llama is not None:
            self._llama.close()
        self._llama = None
        self._prefill_abort = None
        self._chain_hooks = None
        self._scorer = None
        self._loaded_with = None
        self._format = None
        self._info = None

    def _require(self) -> tuple[Llama, PromptFormat, ModelInfo]:
        if self._llama is None or self._format is None or self._info is None:
            raise NoModelError()
        return self._llama, self._format, self._info

    def _tokenize(self, text: str) -> list[int]:
        llama, _, _ = self._require()
        add_bos = self._add_bos and not (self._bos_text and text.startswith(self._bos_text))
        tokens: list[int] = llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    def _run_on_model(self, job: Callable[[PrefixScorer], T]) -> T:
        llama, prompt_format, info = self._require()
        if self._scorer is None:
            self._scorer = PrefixScorer(
                llama, prompt_format, info.context_length, info.identity, self._tokenize
            )
        return job(self._scorer)

    def _count_tokens(self, text: str) -> int:
        return len(self._tokenize(text))

    def _count_plain(self, text: str) -> int:
        """Tokens of ``text`` inside a prompt: no BOS of its own."""
        llama, _, _ = self._require()
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _generate(
        self, request: ChatRequest, cancel: threading.Event, sink: GenerationSink
    ) -> GenerationResult:
        llama, prompt_format, info = self._require()
        if self._scorer is not None:
            self._scorer.invalidate()
        params = request.params
        started = time.perf_counter()
        if not request.question.strip():
            raise EngineError("The message is empty.")
        continued = request.continue_from
        fitted = fit_to_context(
            system_prompt=request.system_prompt,
            history=request.history,
            question=request.question,
            prompt_format=prompt_format,
            count_tokens=self._count_tokens,
            n_ctx=info.context_length,
            # The answer so far is part of the prompt: room is kept for it and for what follows.
            max_tokens=params.max_tokens + (self._count_tokens(continued) if continued else 0),
        )
        sink.prompt_prepared(fitted)
        prompt_tokens = self._tokenize(fitted.prompt + _within_answer(fitted.prompt, continued))

        seed = params.seed if params.seed >= 0 else random.randrange(2**31)
        llama.set_seed(seed)
        if params.seed >= 0 or params.temperature == 0:
            # Reusing the cached prefix decodes fewer tokens in a different batch shape, which
            # changes the logits slightly; a fixed seed or greedy decoding promises the same
            # answer to the same prompt, so those start from a clean state.
            llama.reset()  # type: ignore[no-untyped-call]  # unannotated in the binding
        vocab = binding.vocabulary(llama)
        pieces_of = binding.TokenPieces(llama)
        stops = tuple(s for s in (*params.stop, *prompt_format.stop_strings) if s)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        held = ""
        pieces: list[str] = []
        produced = 0
        first_token_at: float | None = None
        last_token_at = 0.0
        finish: FinishReason = "length"

        def emit(text: str) -> None:
            if not pieces and not continued:
                # Answers often begin with the space or newline that followed "Assistant:".
                text = text.lstrip()
            if text:
                pieces.append(text)
                sink.text_received(text)

        guard = RepetitionGuard()
        recorder = self._recorder(request, params, pieces_of)
        prefill_abort = self._prefill_abort
        if prefill_abort is not None:
            prefill_abort.arm(cancel)
        # Every sampling setting, under the name llama.cpp gives it (the schema says which).
        tokens = llama.generate(prompt_tokens, reset=True, **binding_arguments(params))
        try:
            if len(prompt_tokens) > 2 * PREFILL_SLICE_TOKENS:
                binding.read_prompt_in_slices(
                    llama,
                    prompt_tokens,
                    PREFILL_SLICE_TOKENS,
                    sink.prefill_progressed,
                    cancel.is_set,
                )
            for token in tokens:
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                    if prefill_abort is not None:
                        # From here on the per-token check below is enough, and cheaper.
                        prefill_abort.disarm()
                if cancel.is_set():
                    finish = "cancelled"
                    break
                if binding.ends_generation(vocab, token):
                    finish = "stop"
                    break
                if guard.add_token(token):
                    finish = "repetition"
                    break
                produced += 1
                last_token_at = time.perf_counter()
                piece = decoder.decode(pieces_of(token))
                if recorder is not None:
                    sink.token_scored(recorder.record(llama, token, piece))
                held += piece
                cut = _find_stop(held, stops)
                if cut is not None:
                    emit(held[:cut])
                    held = ""
                    finish = "stop"
                    break
                keep = _stop_prefix_length(held, stops)
                emit(held[: len(held) - keep])
                held = held[len(held) - keep :]
                if _ends_sentence(pieces) and guard.add_text("".join(pieces)):
                    finish = "repetition"
                    break
                if produced >= params.max_tokens:
                    break
        except RuntimeError as exc:
            # llama_decode returns an error when the abort callback stopped the prompt.
            llama.reset()  # type: ignore[no-untyped-call]  # unannotated in the binding
            if not cancel.is_set():
                log.error("generation failed", exc_info=exc)
                raise EngineError(f"llama.cpp could not continue the answer: {exc}") from exc
            finish = "cancelled"
        finally:
            if prefill_abort is not None:
                prefill_abort.disarm()
            tokens.close()
            if self._chain_hooks is not None:
                self._chain_hooks.observer = None
        if finish != "stop" or held:
            emit(held + decoder.decode(b"", final=True))
        if finish == "length" and cancel.is_set():
            finish = "cancelled"

        text = "".join(pieces)
        if finish == "repetition":
            # The loop's copies after the first say nothing new; the answer keeps one.
            log.info("stopped a repeating answer: %s", guard.reason)
            text = without_repeats(text)
        finished_at = time.perf_counter()
        ttft = (first_token_at or finished_at) - started
        # Decode speed: the tokens after the first over the time they took (the first token's
        # time is prefill, reported as time to first token).
        decode_time = last_token_at - first_token_at if first_token_at else 0.0
        return GenerationResult(
            text=text,
            finish_reason=finish,
            prompt_tokens=len(prompt_tokens),
            completion_tokens=produced,
            ttft_s=ttft,
            tokens_per_s=(produced - 1) / decode_time if produced > 1 and decode_time > 0 else 0.0,
            total_s=finished_at - started,
            seed=seed,
            dropped_messages=fitted.dropped_messages,
            # With its adapter and scale: the answer's words depend on both.
            model=info.identity,
            probabilities=tuple(recorder.steps) if recorder is not None else (),
            prompt=inspect_prompt(
                fitted,
                _within_answer(fitted.prompt, continued),
                len(prompt_tokens),
                self._count_plain,
                prompt_format.name,
                request.history,
            ),
        )

    def _recorder(
        self, request: ChatRequest, params: GenerationSettings, pieces_of: binding.TokenPieces
    ) -> ProbabilityRecorder | None:
        if request.logprobs <= 0:
            return None
        observer = None
        if params.temperature > 0 and self._chain_hooks is not None:
            observer = sampling.KeptObserver()
            self._chain_hooks.observer = observer
        return ProbabilityRecorder(request.logprobs, observer, pieces_of, params.temperature)


class TextStream(GenerationSink):
    """An iterator over an answer's text; ``result`` is set once iteration ends."""

    _DONE = object()

    def __init__(self, engine: ChatEngine, request: ChatRequest, cancel: threading.Event):
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.cancel = cancel
        self.result: GenerationResult | None = None
        self.fitted: FittedPrompt | None = None
        self._future = engine.generate(request, cancel, self)
        self._future.add_done_callback(lambda _future: self._queue.put(self._DONE))

    def prompt_prepared(self, fitted: FittedPrompt) -> None:
        self.fitted = fitted

    def text_received(self, text: str) -> None:
        self._queue.put(text)

    def wait(self, timeout: float | None = None) -> GenerationResult:
        """The generation's result, once it has ended (also after leaving the loop early)."""
        return self._future.result(timeout=timeout)

    def __iter__(self) -> Iterator[str]:
        try:
            while (item := self._queue.get()) is not self._DONE:
                assert isinstance(item, str)
                yield item
        finally:
            # Leaving the loop early (break, exception) stops the generation too.
            self.cancel.set()
        self.result = self._future.result()


def _within_answer(prompt: str, answer: str) -> str:
    """``answer`` as the text that follows ``prompt`` inside the assistant's turn. A prompt that
    ends in a word ("Assistant:", "[/INST]") was followed by a space the answer lost when its
    leading whitespace was stripped."""
    if answer and prompt and not prompt[-1].isspace() and not answer[0].isspace():
        return " " + answer
    return answer


def _ends_sentence(pieces: Sequence[str]) -> bool:
    """Whether the newest piece ends a sentence or line: only then is the text looked over."""
    return bool(pieces) and any(mark in pieces[-1] for mark in ".!?\n")


def _find_stop(text: str, stops: Sequence[str]) -> int | None:
    positions = [index for stop in stops if (index := text.find(stop)) >= 0]
    return min(positions) if positions else None


def _stop_prefix_length(text: str, stops: Sequence[str]) -> int:
    """How much of the end of ``text`` could be the beginning of a stop string."""
    longest = 0
    for stop in stops:
        for length in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:length]):
                longest = length
                break
    return longest
