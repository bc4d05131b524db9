"""The chat engine on the real starter model: answers, streaming, cancelling, limits, bad files."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.errors import EngineError, ModelLoadError, NoModelError
from desktop.core.llm.engine import ChatEngine, ChatRequest, GenerationResult, GenerationSink
from desktop.core.llm.prompting import ChatMessage, FittedPrompt, QuestionTooLongError
from desktop.core.models import memory
from desktop.core.settings.schema import GenerationSettings, ModelSettings
from tests.support.models import write_gguf

SYSTEM = GenerationSettings().system_prompt
CAPITAL = "What is the capital of France?"
COUNT = "Count from 1 to 10, separated by commas."
GREEDY = GenerationSettings(temperature=0.0, max_tokens=64)


def _ask(
    engine: ChatEngine,
    question: str,
    params: GenerationSettings = GREEDY,
    *,
    history: tuple[ChatMessage, ...] = (),
    system_prompt: str = SYSTEM,
    sink: GenerationSink | None = None,
    cancel: threading.Event | None = None,
) -> GenerationResult:
    request = ChatRequest(
        question=question, history=history, system_prompt=system_prompt, params=params
    )
    return engine.generate(request, cancel or threading.Event(), sink).result()


class _Recorder(GenerationSink):
    """Keeps the fitted prompt and every streamed piece."""

    def __init__(self) -> None:
        self.fitted: FittedPrompt | None = None
        self.pieces: list[str] = []

    def prompt_prepared(self, fitted: FittedPrompt) -> None:
        self.fitted = fitted

    def text_received(self, text: str) -> None:
        self.pieces.append(text)


class _CancelAfterFirstPiece(GenerationSink):
    """Presses "Stop" as soon as the first piece of the answer shows up."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.pieces: list[str] = []

    def text_received(self, text: str) -> None:
        self.pieces.append(text)
        self.cancel.set()


@pytest.fixture
def engine() -> Iterator[ChatEngine]:
    """A fresh engine with nothing loaded."""
    fresh = ChatEngine()
    yield fresh
    fresh.close()


@pytest.fixture(scope="module")
def small_engine(starter_model: Path) -> Iterator[ChatEngine]:
    """The starter model with a 512-token window, for the context-window tests."""
    small = ChatEngine()
    small.load(starter_model, ModelSettings(context_length=512)).result()
    yield small
    small.close()


# -- loading ---------------------------------------------------------------------------------------


def test_starter_model_load_info(starter_engine: ChatEngine, starter_model: Path) -> None:
    info = starter_engine.info
    assert info is not None
    assert info.path == starter_model
    assert info.architecture == "llama"
    assert info.has_chat_template is True
    assert info.prompt_format == "chat template from the model file"
    assert info.context_length == 2048
    assert info.trained_context_length == 8192
    assert info.file_size == starter_model.stat().st_size
    assert 130_000_000 < info.parameter_count < 140_000_000
    assert info.threads >= 1
    assert info.memory.fits


def test_context_length_is_capped_at_what_the_model_was_trained_for(
    engine: ChatEngine, starter_model: Path
) -> None:
    info = engine.load(starter_model, ModelSettings(context_length=100_000)).result()
    assert info.context_length == 8192


def test_asking_before_any_model_is_loaded_says_so(engine: ChatEngine) -> None:
    with pytest.raises(NoModelError, match="No model is loaded"):
        _ask(engine, CAPITAL)


def test_templateless_model_answers_through_a_plain_transcript(templateless_model: Path) -> None:
    base = ChatEngine()
    try:
        info = base.load(templateless_model, ModelSettings(context_length=1024)).result()
        assert info.has_chat_template is False
        assert "plain transcript" in info.prompt_format
        result = _ask(base, CAPITAL, GenerationSettings(temperature=0.0, max_tokens=48))
    finally:
        base.close()
    assert result.text.strip()
    assert result.completion_tokens > 0
    # The transcript's stop strings end the answer before the model writes the user's next line.
    assert "User:" not in result.text


@pytest.fixture(scope="module")
def broken_files(tmp_path_factory: pytest.TempPathFactory, starter_model: Path) -> Path:
    folder = tmp_path_factory.mktemp("broken")
    (folder / "notes.gguf").write_text("These are my shopping notes, not a model.\n" * 3)
    (folder / "empty.gguf").write_bytes(b"")
    data = starter_model.read_bytes()
    (folder / "header-cut.gguf").write_bytes(data[:1_000_000])
    (folder / "data-cut.gguf").write_bytes(data[:60_000_000])
    (folder / "a-folder.gguf").mkdir()
    write_gguf(folder / "alien.gguf", "notarealarch")
    write_gguf(folder / "embedder.gguf", "bert")
    return folder


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("notes.gguf", ["“notes.gguf”", "not a GGUF model file"]),
        ("empty.gguf", ["“empty.gguf”", "not a GGUF model file", "0 bytes"]),
        ("header-cut.gguf", ["“header-cut.gguf”", "truncated"]),
        ("data-cut.gguf", ["“data-cut.gguf”", "truncated", "60.0 MB", "98.4 MB"]),
        ("a-folder.gguf", ["a-folder.gguf", "is a folder, not a model file"]),
        ("missing.gguf", ["There is no file at", "missing.gguf"]),
        ("embedder.gguf", ["“embedder.gguf”", "embedding model", "bert", "cannot chat"]),
        (
            "alien.gguf",
            ["“alien.gguf”", "“notarealarch”", "architecture", "llama.cpp cannot run"],
        ),
    ],
)
def test_unusable_model_files_are_refused_with_a_clear_message(
    engine: ChatEngine, broken_files: Path, file_name: str, expected: list[str]
) -> None:
    with pytest.raises(ModelLoadError) as raised:
        engine.load(broken_files / file_name).result()
    message = str(raised.value)
    for fragment in expected:
        assert fragment in message
    assert "Traceback" not in message
    assert engine.info is None


def test_model_that_does_not_fit_in_memory_is_refused(
    engine: ChatEngine, starter_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "available_memory_bytes", lambda *args: 10 * 1024 * 1024)
    with pytest.raises(ModelLoadError) as raised:
        engine.load(starter_model, ModelSettings(context_length=512)).result()
    message = str(raised.value)
    assert "memory" in message
    assert starter_model.name in message
    assert engine.info is None


def test_refused_file_leaves_the_loaded_model_usable(
    engine: ChatEngine, starter_model: Path, tmp_path: Path
) -> None:
    engine.load(starter_model, ModelSettings(context_length=512)).result()
    not_a_model = tmp_path / "holiday-photos.gguf"
    not_a_model.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))

    with pytest.raises(ModelLoadError, match="not a GGUF model file"):
        engine.load(not_a_model).result()

    assert engine.info is not None
    assert engine.info.path == starter_model
    assert "Paris" in _ask(engine, CAPITAL).text


def test_a_model_llama_cpp_cannot_build_leaves_the_previous_model_loaded(
    engine: ChatEngine, starter_model: Path, broken_files: Path
) -> None:
    engine.load(starter_model, ModelSettings(context_length=512)).result()

    with pytest.raises(ModelLoadError) as raised:
        engine.load(broken_files / "alien.gguf").result()

    assert "previous model is still loaded" in str(raised.value)
    assert engine.info is not None and engine.info.path == starter_model
    assert "Paris" in _ask(engine, CAPITAL).text


def test_stop_interrupts_a_long_prompt_before_the_first_token(
    starter_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class StopAsSoonAsThePromptIsReady(GenerationSink):
        def __init__(self, cancel: threading.Event) -> None:
            self.cancel = cancel

        def prompt_prepared(self, fitted: FittedPrompt) -> None:
            self.cancel.set()

    long_engine = ChatEngine()
    try:
        long_engine.load(starter_model, ModelSettings(context_length=8192)).result()
        cancel = threading.Event()
        question = "Summarise: " + "the quick brown fox jumps over the lazy dog. " * 600
        with caplog.at_level("ERROR", logger="folio.llama"):
            result = _ask(
                long_engine,
                question,
                GenerationSettings(max_tokens=16),
                sink=StopAsSoonAsThePromptIsReady(cancel),
                cancel=cancel,
            )
        assert result.finish_reason == "cancelled"
        assert result.completion_tokens == 0 and result.text == ""
        # llama.cpp reports that it abandoned the prompt part-way, rather than finishing it.
        assert any("decode" in record.getMessage() for record in caplog.records)
        # The engine is clean afterwards.
        assert "Paris" in _ask(long_engine, CAPITAL).text
    finally:
        long_engine.close()


def test_a_closed_engine_refuses_new_work() -> None:
    closed = ChatEngine()
    closed.close()
    with pytest.raises(EngineError, match="shut down"):
        closed.count_tokens("hello")


# -- answering -------------------------------------------------------------------------------------


def test_greedy_answer_streams_the_capital(starter_engine: ChatEngine) -> None:
    request = ChatRequest(question=CAPITAL, system_prompt=SYSTEM, params=GREEDY)
    stream = starter_engine.stream(request)
    pieces = list(stream)

    result = stream.result
    assert result is not None
    assert "Paris" in result.text
    assert "".join(pieces) == result.text
    assert len(pieces) > 1
    assert result.finish_reason == "stop"
    assert result.completion_tokens > 0
    assert result.prompt_tokens > 0
    assert result.tokens_per_s > 0
    assert result.model == "SmolLM2-135M-Instruct.Q4_1"
    assert stream.fitted is not None
    assert CAPITAL in stream.fitted.prompt
    stats = json.loads(json.dumps(result.stats()))
    assert stats["finish_reason"] == "stop"
    assert stats["completion_tokens"] == result.completion_tokens


def test_multibyte_characters_are_never_split_between_pieces(starter_engine: ChatEngine) -> None:
    recorder = _Recorder()
    result = _ask(starter_engine, "Reply with three emoji.", system_prompt="", sink=recorder)
    assert any(ord(char) > 0xFFFF for char in result.text)  # the emoji themselves
    # Each emoji takes several tokens; each streamed piece is still whole characters.
    assert result.completion_tokens > len(recorder.pieces)
    assert all("\ufffd" not in piece for piece in recorder.pieces)
    assert "".join(recorder.pieces) == result.text


def test_cancel_from_the_sink_stops_the_answer_and_the_engine_keeps_working(
    starter_engine: ChatEngine,
) -> None:
    cancel = threading.Event()
    sink = _CancelAfterFirstPiece(cancel)

    result = _ask(
        starter_engine,
        "Write a long story about a dragon.",
        GenerationSettings(temperature=0.0, max_tokens=400),
        sink=sink,
        cancel=cancel,
    )

    assert result.finish_reason == "cancelled"
    assert 0 < result.completion_tokens < 10
    assert result.text == "".join(sink.pieces)
    after = _ask(starter_engine, CAPITAL)
    assert after.finish_reason == "stop"
    assert "Paris" in after.text


def test_breaking_out_of_a_text_stream_cancels_the_generation(starter_engine: ChatEngine) -> None:
    request = ChatRequest(
        question="Write a long story about a dragon.",
        system_prompt=SYSTEM,
        params=GenerationSettings(temperature=0.0, max_tokens=400),
    )
    stream = starter_engine.stream(request)
    for _piece in stream:
        break

    assert stream.cancel.is_set()
    cancelled = stream.wait(timeout=60)
    assert cancelled.finish_reason == "cancelled"
    assert cancelled.completion_tokens < 400
    assert "Paris" in _ask(starter_engine, CAPITAL).text


def test_max_tokens_cuts_the_answer_at_that_length(starter_engine: ChatEngine) -> None:
    result = _ask(
        starter_engine,
        "Write a long story about a dragon.",
        GenerationSettings(temperature=0.0, max_tokens=5),
    )
    assert result.completion_tokens == 5
    assert result.finish_reason == "length"
    assert result.text.strip()


def _stop_text_in(answer: str, length: int) -> str:
    """A piece of ``answer`` from its middle that first appears there: what the model wrote on
    this machine, not words assumed from another (the same model and seed write otherwise on
    another CPU)."""
    for start in range(len(answer) // 3, len(answer) - length):
        candidate = answer[start : start + length]
        if candidate.strip() and answer.find(candidate) == start:
            return candidate
    raise AssertionError(f"no usable stop text in {answer!r}")


def test_user_stop_sequence_ends_the_answer_and_is_not_shown(starter_engine: ChatEngine) -> None:
    # Greedy decoding from a clean state writes the same answer twice on one machine; a stop
    # text only ends it sooner.
    unstopped = _ask(starter_engine, COUNT).text
    assert len(unstopped) >= 12, unstopped
    stop = _stop_text_in(unstopped, 1)

    recorder = _Recorder()
    stopped = _ask(
        starter_engine,
        COUNT,
        GenerationSettings(temperature=0.0, max_tokens=64, stop=(stop,)),
        sink=recorder,
    )
    assert stopped.finish_reason == "stop"
    assert stopped.text == unstopped[: unstopped.find(stop)]
    assert stop not in stopped.text
    assert stop not in "".join(recorder.pieces)


def test_stop_sequence_spanning_several_tokens_is_held_back(starter_engine: ChatEngine) -> None:
    unstopped = _ask(starter_engine, COUNT).text
    stop = _stop_text_in(unstopped, 5)
    assert starter_engine.count_tokens(stop) - starter_engine.count_tokens("") >= 2, stop

    recorder = _Recorder()
    stopped = _ask(
        starter_engine,
        COUNT,
        GenerationSettings(temperature=0.0, max_tokens=64, stop=(stop,)),
        sink=recorder,
    )
    assert stopped.finish_reason == "stop"
    assert stopped.text == unstopped[: unstopped.find(stop)]
    # Nothing of the stop text was streamed before it was recognised.
    assert "".join(recorder.pieces) == stopped.text


def test_same_seed_gives_the_same_answer(starter_engine: ChatEngine) -> None:
    params = GenerationSettings(temperature=1.0, max_tokens=32, seed=1234)
    first = _ask(starter_engine, "Write a short poem about the sea.", params)
    second = _ask(starter_engine, "Write a short poem about the sea.", params)
    assert first.text.strip()
    assert first.text == second.text
    assert first.seed == second.seed == 1234


def test_a_random_seed_is_reported_and_differs_between_answers(starter_engine: ChatEngine) -> None:
    question = "Write a short poem about the sea."
    params = GenerationSettings(temperature=1.0, max_tokens=16, seed=-1)
    first = _ask(starter_engine, question, params)
    second = _ask(starter_engine, question, params)
    assert first.seed >= 0 and second.seed >= 0
    assert first.seed != second.seed
    # Fixing the reported seed makes that answer repeatable from then on.
    fixed = GenerationSettings(temperature=1.0, max_tokens=16, seed=second.seed)
    assert _ask(starter_engine, question, fixed).text == _ask(starter_engine, question, fixed).text


@pytest.mark.parametrize(
    ("question", "params"),
    [
        (COUNT, GenerationSettings(temperature=0.0, max_tokens=64)),
        (
            "Write a short poem about the sea.",
            GenerationSettings(temperature=1.0, max_tokens=48, seed=7),
        ),
    ],
    ids=["greedy", "fixed-seed"],
)
def test_asking_the_same_question_again_gives_the_same_answer(
    starter_engine: ChatEngine, question: str, params: GenerationSettings
) -> None:
    # What "Regenerate" does: the very same request again, right after the first answer.
    first = _ask(starter_engine, question, params)
    again = _ask(starter_engine, question, params)
    assert again.text == first.text


def test_count_tokens_grows_with_the_text(starter_engine: ChatEngine) -> None:
    short = starter_engine.count_tokens("Hello")
    longer = starter_engine.count_tokens("Hello, how are you doing on this fine morning?")
    assert short > 0
    assert longer > short


@pytest.mark.parametrize("question", ["", "   \n\t "], ids=["empty", "blank"])
def test_empty_question_is_refused(starter_engine: ChatEngine, question: str) -> None:
    with pytest.raises(EngineError, match="empty"):
        _ask(starter_engine, question)


# -- the context window ----------------------------------------------------------------------------


def test_question_longer_than_the_context_window_is_refused(small_engine: ChatEngine) -> None:
    question = " ".join(["The quick brown fox jumps over the lazy dog."] * 330)  # ~3000 words
    with pytest.raises(QuestionTooLongError) as raised:
        _ask(small_engine, question, GenerationSettings(temperature=0.0, max_tokens=64))
    message = str(raised.value)
    assert "context window" in message
    assert "512" in message
    # The refusal did not break the engine.
    assert _ask(small_engine, CAPITAL, GenerationSettings(temperature=0.0, max_tokens=16)).text


def test_long_history_is_trimmed_oldest_turns_first(small_engine: ChatEngine) -> None:
    filler = " ".join(["word"] * 75)
    history: list[ChatMessage] = []
    for turn in range(12):
        history.append({"role": "user", "content": f"Turn {turn:02d} question: {filler}"})
        history.append({"role": "assistant", "content": f"Turn {turn:02d} answer: {filler}"})
    system = "You are a terse geography tutor."
    recorder = _Recorder()

    result = _ask(
        small_engine,
        CAPITAL,
        GenerationSettings(temperature=0.0, max_tokens=16),
        history=tuple(history),
        system_prompt=system,
        sink=recorder,
    )

    fitted = recorder.fitted
    assert fitted is not None
    assert result.dropped_messages == fitted.dropped_messages
    assert result.dropped_messages > 0
    assert result.dropped_messages % 2 == 0  # whole turns, never half of one
    assert fitted.messages[0] == {"role": "system", "content": system}
    assert fitted.messages[-1] == {"role": "user", "content": CAPITAL}
    assert fitted.prompt.index(system) < fitted.prompt.index(CAPITAL)
    assert "Turn 00" not in fitted.prompt
    assert "Turn 11 answer" in fitted.prompt  # the latest turn is what is kept
    assert fitted.prompt_tokens + 16 <= 512
    assert result.prompt_tokens == fitted.prompt_tokens
    assert result.completion_tokens > 0


def test_history_that_fits_the_window_is_kept_whole(
    starter_engine: ChatEngine, small_engine: ChatEngine
) -> None:
    history: list[ChatMessage] = []
    for turn in range(8):
        history.append({"role": "user", "content": f"What is {turn} plus {turn}?"})
        history.append({"role": "assistant", "content": f"{turn} plus {turn} is {2 * turn}."})

    def ask(engine: ChatEngine, max_tokens: int, sink: GenerationSink | None = None) -> int:
        result = _ask(
            engine,
            "And 9 plus 9?",
            GenerationSettings(temperature=0.0, max_tokens=max_tokens),
            history=tuple(history),
            system_prompt="You are a helpful assistant.",
            sink=sink,
        )
        return result.dropped_messages

    # The whole conversation's prompt, measured where the window has plenty of room.
    roomy = _Recorder()
    assert ask(starter_engine, 8, roomy) == 0
    assert roomy.fitted is not None
    full_prompt_tokens = roomy.fitted.prompt_tokens
    assert full_prompt_tokens < 400

    # In a 512-token window, reserve exactly the rest for the answer: everything still fits.
    assert ask(small_engine, 512 - full_prompt_tokens) == 0
