"""The one module that touches llama-cpp-python past its high-level API.

Folio needs a few things the binding keeps to itself: the model's vocabulary and BOS rule, the
context pointer (for the abort callback and thread counts), a token's exact bytes, and the hook
where ``Llama.generate`` builds its sampler chain. Every such access is here, and
``pyproject.toml`` pins the binding to the version the tests prove; the test that Folio's chain
draws the same tokens as the binding's fails first if an upgrade moves any of them.

``llama_cpp`` costs about 0.2 s to import, so it is imported when a model is first opened, not
when the window starts.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from llama_cpp import Llama


@functools.cache
def llama_cpp() -> ModuleType:
    import llama_cpp as binding

    return binding


def open_llama(**arguments: Any) -> Llama:
    """A new ``Llama``; llama.cpp's own messages go to Folio's log, not the terminal."""
    return llama_cpp().Llama(**arguments, verbose=False)  # type: ignore[no-any-return]


def adds_bos(llama: Llama) -> bool:
    """Whether the model's tokenizer starts every text with its BOS token."""
    return bool(llama._model.add_bos_token())


def token_text(llama: Llama, token: int) -> str:
    """The text of a special token (BOS, EOS) as the chat template writes it."""
    return str(llama._model.token_get_text(token)) if token >= 0 else ""


def vocabulary(llama: Llama) -> Any:
    return llama._model.vocab


def ends_generation(vocab: Any, token: int) -> bool:
    """End of turn, end of text, or any other token the model ends a generation with."""
    return bool(llama_cpp().llama_vocab_is_eog(vocab, token))


def last_logits(llama: Llama) -> npt.NDArray[np.float32]:
    """A copy of the logits llama.cpp holds for the last token of the latest decode: the
    distribution the next token is drawn from (one float32 per word of the vocabulary)."""
    pointer = llama_cpp().llama_get_logits_ith(llama._ctx.ctx, -1)
    logits: npt.NDArray[np.float32] = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),))
    return logits.copy()


def candidate_arrays(candidates_pointer: Any) -> tuple[Any, Any]:
    """The ids and logits of a sampler stage's candidates (a ``llama_token_data_array``), as
    numpy copies."""
    candidates = candidates_pointer.contents
    size = int(candidates.size)
    if size == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    entries = np.ctypeslib.as_array(candidates.data, shape=(size,))
    return entries["id"].astype(np.int32), entries["logit"].astype(np.float32)


class LoraAdapter:
    """A LoRA adapter loaded for one model; freed with ``close`` (or with the model)."""

    def __init__(self, llama: Llama, path: str) -> None:
        binding = llama_cpp()
        self._llama = llama
        self.pointer = binding.llama_adapter_lora_init(llama._model.model, path.encode("utf-8"))
        if not self.pointer:
            raise ValueError(f"llama.cpp could not load the adapter {path}")

    def apply(self, scale: float) -> None:
        """Use this adapter alone, at ``scale``, from the next decode on (freed if it cannot
        be)."""
        binding = llama_cpp()
        adapters = (binding.llama_adapter_lora_p_ctypes * 1)(self.pointer)
        scales = (ctypes.c_float * 1)(scale)
        if binding.llama_set_adapters_lora(self._llama._ctx.ctx, adapters, 1, scales):
            self.close()
            raise ValueError("llama.cpp could not apply the adapter")

    def close(self) -> None:
        binding = llama_cpp()
        if self.pointer:
            binding.llama_set_adapters_lora(self._llama._ctx.ctx, None, 0, None)
            binding.llama_adapter_lora_free(self.pointer)
            self.pointer = None


def set_threads(llama: Llama, threads: int) -> None:
    """Use ``threads`` for the next decode (generation and prompt alike)."""
    llama_cpp().llama_set_n_threads(llama._ctx.ctx, threads, threads)


class TokenPieces:
    """Token id -> the bytes it stands for, looked up once per id in the vocabulary.

    The binding's own per-token helper returns a fixed 32-byte buffer padded with NULs, and its
    detokenizer strips a leading space meant for the first token of a prompt, so Folio asks
    llama.cpp directly and remembers the answer (a chat reuses the same few thousand tokens).
    """

    def __init__(self, llama: Llama) -> None:
        self._vocab = vocabulary(llama)
        self._buffer = ctypes.create_string_buffer(64)
        self._cache: dict[int, bytes] = {}

    def __call__(self, token: int) -> bytes:
        piece = self._cache.get(token)
        if piece is None:
            piece = self._lookup(token)
            self._cache[token] = piece
        return piece

    def _lookup(self, token: int) -> bytes:
        to_piece = llama_cpp().llama_token_to_piece
        length = to_piece(self._vocab, token, self._buffer, len(self._buffer), 0, False)
        if length < 0:
            # A negative answer is the size the piece needs.
            self._buffer = ctypes.create_string_buffer(-length)
            length = to_piece(self._vocab, token, self._buffer, -length, 0, False)
        return bytes(self._buffer.raw[: max(length, 0)])


def read_prompt_in_slices(
    llama: Llama,
    tokens: Sequence[int],
    slice_tokens: int,
    on_progress: Callable[[int, int], None],
    cancelled: Callable[[], bool],
) -> None:
    """Evaluate all of ``tokens`` but the last, ``slice_tokens`` at a time, reporting (tokens
    read, prompt length) after each slice, so a long prompt shows its progress.

    What the context already holds of the prompt (the previous answer's prefix) is kept, as
    ``Llama.generate`` would keep it. The last token is left for ``generate``, which then finds
    the rest cached and decodes only that one token before sampling: the prompt is read once.
    Returns early, leaving the context consistent, when ``cancelled()`` turns true.
    """
    total = len(tokens)
    held = llama.input_ids[: llama.n_tokens]
    reused = 0
    for old, new in zip(held, tokens[: total - 1], strict=False):
        if int(old) != new:
            break
        reused += 1
    # ``eval`` drops what the context holds past ``n_tokens`` before decoding more.
    llama.n_tokens = reused
    done = reused
    on_progress(done, total)
    while done < total - 1:
        if cancelled():
            return
        batch = list(tokens[done : min(done + slice_tokens, total - 1)])
        llama.eval(batch)
        done += len(batch)
        on_progress(done, total)


class PrefillAbort:
    """Lets Stop interrupt llama.cpp while it is still reading a long prompt.

    ggml asks the abort callback after every graph node; that costs nothing next to a prompt's
    work but is measurable per generated token, so it is armed only until the first token.
    """

    def __init__(self, llama: Llama) -> None:
        binding = llama_cpp()
        self._set_callback = binding.llama_set_abort_callback
        self._context = llama._ctx.ctx
        self._event: threading.Event | None = None
        # The ctypes wrappers must outlive every call llama.cpp may make to them.
        self._callback = binding.ggml_abort_callback(self._should_abort)
        self._no_callback = binding.ggml_abort_callback()

    def _should_abort(self, _data: Any) -> bool:
        event = self._event
        return event is not None and event.is_set()

    def arm(self, event: threading.Event) -> None:
        self._event = event
        self._set_callback(self._context, self._callback, None)

    def disarm(self) -> None:
        self._event = None
        self._set_callback(self._context, self._no_callback, None)


class CustomSampler:
    """A sampler stage written in Python, in the shape llama.cpp's sampler chain calls.

    ``apply`` gets a pointer to the candidates (``llama_token_data_array``), ``accept`` each
    token drawn, ``reset`` the start of a new generation.
    """

    def __init__(
        self,
        apply: Callable[[Any], None],
        accept: Callable[[int], None],
        reset: Callable[[], None],
    ) -> None:
        binding = llama_cpp()
        # The ctypes wrappers must live as long as llama.cpp may call them.
        self._apply = binding.llama_sampler_i_apply(lambda _sampler, array: apply(array))
        self._accept = binding.llama_sampler_i_accept(lambda _sampler, token: accept(token))
        self._reset = binding.llama_sampler_i_reset(lambda _sampler: reset())
        interface = binding.llama_sampler_i()
        interface.name = binding.llama_sampler_i_name(0)
        interface.accept = self._accept
        interface.apply = self._apply
        interface.reset = self._reset
        interface.clone = binding.llama_sampler_i_clone(0)
        interface.free = binding.llama_sampler_i_free(0)
        self._interface = interface
        self._sampler = binding.llama_sampler()
        self._sampler.iface = ctypes.pointer(interface)
        self._sampler.ctx = None

    def pointer(self) -> Any:
        return ctypes.pointer(self._sampler)


def new_chain() -> Any:
    """An empty ``LlamaSampler`` chain, with the binding's helpers to add its own stages."""
    return llama_cpp()._internals.LlamaSampler()


def add_custom(chain: Any, stage: CustomSampler) -> None:
    binding = llama_cpp()
    binding.llama_sampler_chain_add(chain.sampler, stage.pointer())
    # The chain must hand Python-owned samplers back before it is freed.
    index = binding.llama_sampler_chain_n(chain.sampler) - 1
    chain.custom_samplers.append((index, stage))


SamplerArguments = dict[str, Any]


def replace_sampler_chain(
    llama: Llama, build: Callable[[Llama, SamplerArguments], Any | None]
) -> None:
    """Makes ``llama.generate`` build its sampler chain with ``build``, which returns None for
    what it does not cover: the binding's own chain is built then.

    The binding builds its chain in ``Llama._init_sampler`` at the start of every ``generate``;
    an instance attribute of that name takes its place.
    """
    binding_chain = type(llama)._init_sampler

    def chain(**arguments: Any) -> Any:
        built = build(llama, arguments)
        return built if built is not None else binding_chain(llama, **arguments)

    llama._init_sampler = chain  # type: ignore[method-assign, assignment]


def restore_sampler_chain(llama: Llama) -> None:
    """The binding's own chain again (tests compare the two)."""
    llama.__dict__.pop("_init_sampler", None)


def seed_of(llama: Llama) -> int:
    """The seed ``set_seed`` gave the next generation."""
    return int(llama._seed)


def install_log_callback(on_line: Callable[[int, bytes | None, Any], None]) -> Any:
    """Route llama.cpp's log lines to ``on_line``; keep the returned wrapper referenced for as
    long as C may call it."""
    binding = llama_cpp()
    callback = binding.llama_log_callback(on_line)
    binding.llama_log_set(callback, ctypes.c_void_p(0))
    return callback
