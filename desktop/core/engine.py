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
import os
import queue
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from desktop.core import llama_logging, sampling
from desktop.core.config import GenerationSettings, ModelSettings
from desktop.core.gguf_file import GGUFError, GGUFInfo, read_gguf_info
from desktop.core.memory import MemoryEstimate, estimate_memory
from desktop.core.owner_thread import OwnerThread
from desktop.core.prompting import (
    ChatMessage,
    ChatTemplateFormat,
    FittedPrompt,
    PlainTranscriptFormat,
    PromptFormat,
    TemplateError,
    fit_to_context,
)

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)

FinishReason = Literal["stop", "length", "cancelled"]


class EngineError(Exception):
    """Something the user can act on; ``str(error)`` is the message to show."""


class ModelLoadError(EngineError):
    pass


class NoModelError(EngineError):
    def __init__(self) -> None:
        super().__init__("No model is loaded yet. Open a GGUF model file first.")


@dataclass(frozen=True)
class LoadOptions:
    context_length: int = 4096
    threads: int = 0
    batch_size: int = 512
    gpu_layers: int = 0

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> LoadOptions:
        return cls(
            context_length=settings.context_length,
            threads=settings.threads,
            batch_size=settings.batch_size,
            gpu_layers=settings.gpu_layers,
        )


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    max_tokens: int = 512
    seed: int = -1
    stop: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: GenerationSettings) -> SamplingParams:
        return cls(
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            min_p=settings.min_p,
            repeat_penalty=settings.repeat_penalty,
            presence_penalty=settings.presence_penalty,
            frequency_penalty=settings.frequency_penalty,
            max_tokens=settings.max_tokens,
            seed=settings.seed,
            stop=settings.stop,
        )


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


@dataclass(frozen=True)
class ChatRequest:
    question: str
    history: Sequence[ChatMessage] = ()
    system_prompt: str = ""
    params: SamplingParams = field(default_factory=SamplingParams)


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


class ChatEngine(OwnerThread):
    """Owns one chat ``Llama``; all public methods may be called from any thread."""

    def __init__(self) -> None:
        super().__init__("folio-chat-engine", EngineError("The engine has been shut down."))
        self._llama: Llama | None = None
        self._format: PromptFormat | None = None
        self._info: ModelInfo | None = None
        self._add_bos = False
        self._bos_text = ""
        self._loaded_with: tuple[Path, LoadOptions] | None = None
        self._prefill_abort: _PrefillAbort | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo | None:
        return self._info

    def load(self, path: Path | str, options: LoadOptions | None = None) -> Future[ModelInfo]:
        return self._submit(self._load, Path(path), options or LoadOptions())

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

    def stream(self, request: ChatRequest, cancel: threading.Event | None = None) -> TextStream:
        """Iterate over the answer's text as it is generated (for the CLI and tests)."""
        return TextStream(self, request, cancel or threading.Event())

    # -- owner thread only ----------------------------------------------------------------------

    def _load(self, path: Path, options: LoadOptions) -> ModelInfo:
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
        options: LoadOptions,
        memory: MemoryEstimate,
    ) -> ModelInfo:
        threads = options.threads or default_threads()
        llama_logging.install()
        started = time.perf_counter()
        with llama_logging.capture_errors() as errors:
            try:
                from llama_cpp import Llama

                llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_batch=min(options.batch_size, n_ctx),
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_gpu_layers=options.gpu_layers,
                    # llama.cpp's own tools default to flash attention where the backend has
                    # it; the binding turns it off. Measured on CPU: about 10 % faster decode
                    # and 8 % faster prefill on the starter model (benchmarks/generation.py).
                    flash_attn=True,
                    logits_all=False,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelLoadError(_explain_load_failure(header, errors.lines, exc)) from exc
        log.info(
            "loaded %s (%s, n_ctx=%d, threads=%d) in %.2fs",
            path.name,
            header.architecture,
            n_ctx,
            threads,
            time.perf_counter() - started,
        )
        sampling.install(llama)
        self._llama = llama
        self._loaded_with = (path, options)
        self._prefill_abort = _PrefillAbort(llama)
        self._format = self._choose_format(llama, header)
        self._add_bos = bool(llama._model.add_bos_token())
        bos = llama.token_bos()
        self._bos_text = llama._model.token_get_text(bos) if bos >= 0 else ""
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
        return self._info

    def _choose_format(self, llama: Llama, header: GGUFInfo) -> PromptFormat:
        template = header.chat_template
        if template is None:
            log.info("%s has no chat template; using a plain transcript", header.path.name)
            return PlainTranscriptFormat()
        model = llama._model
        bos, eos = llama.token_bos(), llama.token_eos()
        try:
            chat_format = ChatTemplateFormat(
                template,
                bos_token=model.token_get_text(bos) if bos >= 0 else "",
                eos_token=model.token_get_text(eos) if eos >= 0 else "",
            )
            chat_format.render([{"role": "user", "content": "Hello"}])
        except TemplateError:
            log.warning("chat template of %s unusable; using a plain transcript", header.path.name)
            return PlainTranscriptFormat()
        return chat_format

    def _unload(self) -> None:
        if self._llama is not None:
            self._llama.close()
        self._llama = None
        self._prefill_abort = None
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

    def _count_tokens(self, text: str) -> int:
        return len(self._tokenize(text))

    def _generate(
        self, request: ChatRequest, cancel: threading.Event, sink: GenerationSink
    ) -> GenerationResult:
        import llama_cpp

        llama, prompt_format, info = self._require()
        params = request.params
        started = time.perf_counter()
        if not request.question.strip():
            raise EngineError("The message is empty.")
        fitted = fit_to_context(
            system_prompt=request.system_prompt,
            history=request.history,
            question=request.question,
            prompt_format=prompt_format,
            count_tokens=self._count_tokens,
            n_ctx=info.context_length,
            max_tokens=params.max_tokens,
        )
        sink.prompt_prepared(fitted)
        prompt_tokens = self._tokenize(fitted.prompt)

        seed = params.seed if params.seed >= 0 else random.randrange(2**31)
        llama.set_seed(seed)
        if params.seed >= 0 or params.temperature == 0:
            # Reusing the cached prefix decodes fewer tokens in a different batch shape, which
            # changes the logits slightly; a fixed seed or greedy decoding promises the same
            # answer to the same prompt, so those start from a clean state.
            llama.reset()  # type: ignore[no-untyped-call]  # unannotated in the binding
        vocab = llama._model.vocab
        pieces_of = _PieceCache(vocab)
        stops = tuple(s for s in (*params.stop, *prompt_format.stop_strings) if s)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        held = ""
        pieces: list[str] = []
        produced = 0
        first_token_at: float | None = None
        last_token_at = 0.0
        finish: FinishReason = "length"

        def emit(text: str) -> None:
            if not pieces:
                # Answers often begin with the space or newline that followed "Assistant:".
                text = text.lstrip()
            if text:
                pieces.append(text)
                sink.text_received(text)

        tokens = llama.generate(
            prompt_tokens,
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            temp=params.temperature,
            repeat_penalty=params.repeat_penalty,
            presence_penalty=params.presence_penalty,
            frequency_penalty=params.frequency_penalty,
            reset=True,
        )
        prefill_abort = self._prefill_abort
        if prefill_abort is not None:
            prefill_abort.arm(cancel)
        try:
            for token in tokens:
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                    if prefill_abort is not None:
                        # From here on the per-token check below is enough, and cheaper.
                        prefill_abort.disarm()
                if cancel.is_set():
                    finish = "cancelled"
                    break
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = "stop"
                    break
                produced += 1
                last_token_at = time.perf_counter()
                held += decoder.decode(pieces_of(token))
                cut = _find_stop(held, stops)
                if cut is not None:
                    emit(held[:cut])
                    held = ""
                    finish = "stop"
                    break
                keep = _stop_prefix_length(held, stops)
                emit(held[: len(held) - keep])
                held = held[len(held) - keep :]
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
        if finish != "stop" or held:
            emit(held + decoder.decode(b"", final=True))
        if finish == "length" and cancel.is_set():
            finish = "cancelled"

        finished_at = time.perf_counter()
        ttft = (first_token_at or finished_at) - started
        # Decode speed: the tokens after the first over the time they took (the first token's
        # time is prefill, reported as time to first token).
        decode_time = last_token_at - first_token_at if first_token_at else 0.0
        return GenerationResult(
            text="".join(pieces),
            finish_reason=finish,
            prompt_tokens=len(prompt_tokens),
            completion_tokens=produced,
            ttft_s=ttft,
            tokens_per_s=(produced - 1) / decode_time if produced > 1 and decode_time > 0 else 0.0,
            total_s=finished_at - started,
            seed=seed,
            dropped_messages=fitted.dropped_messages,
            model=info.name,
        )


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

    def __iter__(self) -> Iterator[str]:
        try:
            while (item := self._queue.get()) is not self._DONE:
                assert isinstance(item, str)
                yield item
        finally:
            # Leaving the loop early (break, exception) stops the generation too.
            self.cancel.set()
        self.result = self._future.result()


class _PrefillAbort:
    """Lets Stop interrupt llama.cpp while it is still reading a long prompt.

    ggml asks the abort callback after every graph node; that costs nothing next to a prompt's
    work but is measurable per generated token, so it is armed only until the first token.
    """

    def __init__(self, llama: Llama) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self._context = llama._ctx.ctx
        self._event: threading.Event | None = None
        # The ctypes wrappers must outlive every call llama.cpp may make to them.
        self._callback = llama_cpp.ggml_abort_callback(self._should_abort)
        self._no_callback = llama_cpp.ggml_abort_callback()

    def _should_abort(self, _data: Any) -> bool:
        event = self._event
        return event is not None and event.is_set()

    def arm(self, event: threading.Event) -> None:
        self._event = event
        self._llama_cpp.llama_set_abort_callback(self._context, self._callback, None)

    def disarm(self) -> None:
        self._event = None
        self._llama_cpp.llama_set_abort_callback(self._context, self._no_callback, None)


class _PieceCache:
    """Token id -> the bytes it stands for, looked up once per id in the vocabulary.

    The binding's own per-token helper returns a fixed 32-byte buffer padded with NULs, and its
    detokenizer strips a leading space meant for the first token of a prompt, so Folio asks
    llama.cpp directly and remembers the answer (a chat reuses the same few thousand tokens).
    """

    def __init__(self, vocab: Any) -> None:
        import ctypes

        import llama_cpp

        self._vocab = vocab
        self._llama_cpp = llama_cpp
        self._buffer = ctypes.create_string_buffer(64)
        self._cache: dict[int, bytes] = {}

    def __call__(self, token: int) -> bytes:
        piece = self._cache.get(token)
        if piece is None:
            piece = self._lookup(token)
            self._cache[token] = piece
        return piece

    def _lookup(self, token: int) -> bytes:
        import ctypes

        size = len(self._buffer)
        length = self._llama_cpp.llama_token_to_piece(
            self._vocab, token, self._buffer, size, 0, False
        )
        if length < 0:
            # A negative answer is the size the piece needs.
            self._buffer = ctypes.create_string_buffer(-length)
            length = self._llama_cpp.llama_token_to_piece(
                self._vocab, token, self._buffer, -length, 0, False
            )
        return bytes(self._buffer.raw[: max(length, 0)])


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


def default_threads() -> int:
    """Physical cores minus one, at least one.

    llama.cpp's threads meet at a barrier after every layer, so if one of them is preempted the
    others spin until it runs again. Using every core leaves none for the window (and the OS):
    measured on a 2-core machine, 2 threads fell from ~120 to under 4 tokens/s while the window
    was busy, where 1 thread held ~85.
    """
    return max(1, physical_cores() - 1)


def physical_cores(cpuinfo: Path = Path("/proc/cpuinfo")) -> int:
    logical = os.cpu_count() or 1
    try:
        text = cpuinfo.read_text()
    except OSError:
        return logical
    cores: set[tuple[str, str]] = set()
    physical_id = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical_id = value.strip()
        elif key == "core id":
            cores.add((physical_id, value.strip()))
    return min(len(cores), logical) if cores else logical


def check_chat_model_file(path: Path) -> GGUFInfo:
    """The header of a file that is to be the chat model, or ``ModelLoadError`` saying why not."""
    try:
        header = read_gguf_info(path)
    except GGUFError as exc:
        raise ModelLoadError(str(exc)) from exc
    if header.is_embedding_only:
        raise ModelLoadError(
            f"“{path.name}” is an embedding model ({header.architecture}); it turns text "
            "into vectors for document search and cannot chat. Choose a chat (instruct) model."
        )
    return header


def _explain_load_failure(header: GGUFInfo, errors: Sequence[str], exc: Exception) -> str:
    detail = " ".join(line.strip() for line in errors if line.strip())
    name = header.path.name
    if "unknown model architecture" in detail or "unknown architecture" in detail:
        return (
            f"“{name}” is a “{header.architecture}” model, an architecture this version of "
            "llama.cpp cannot run. Choose a model of a supported family (Llama, Qwen, Mistral, "
            "Gemma, Phi, SmolLM…)."
        )
    if "failed to allocate" in detail or "out of memory" in detail.lower():
        return f"There is not enough memory to load “{name}”. Choose a smaller model."
    if detail:
        return f"llama.cpp could not load “{name}”: {detail[-400:]}"
    return f"llama.cpp could not load “{name}” ({exc})."
