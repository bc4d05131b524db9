"""``folio ask``: the headless command line, run the way a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest

from desktop import __version__
from desktop.cli.main import run_cli
from tests.support.cli import assert_one_line_error, folio, write_settings

CAPITAL = "What is the capital of France?"
STORY = "Write a long story about a dragon."


def test_ask_json_prints_one_object_with_answer_and_timings(folio_home: Path) -> None:
    run = folio("ask", CAPITAL, "--json", "--temperature", "0", home=folio_home)

    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1
    reply = json.loads(lines[0])
    assert isinstance(reply["answer"], str)
    assert "Paris" in reply["answer"]
    assert reply["model"] == "SmolLM2-135M-Instruct.Q4_1"
    timings = reply["timings"]
    assert isinstance(timings["ttft_s"], float) and timings["ttft_s"] >= 0
    assert isinstance(timings["tokens"], int) and timings["tokens"] > 0
    assert isinstance(timings["tokens_per_s"], float) and timings["tokens_per_s"] > 0
    assert reply["finish_reason"] == "stop"
    assert "Traceback" not in run.stderr
    # The run is logged in FOLIO_HOME, not in the user's real folders.
    assert (folio_home / "logs" / "folio.log").is_file()


def test_ask_streams_plain_text(folio_home: Path) -> None:
    run = folio("ask", CAPITAL, "--temperature", "0", "--max-tokens", "32", home=folio_home)
    assert run.returncode == 0, run.stderr
    assert "Paris" in run.stdout
    assert not run.stdout.lstrip().startswith("{")
    assert run.stdout.endswith("\n")
    assert run.stderr == ""


def test_ask_honours_the_settings_file(folio_home: Path) -> None:
    write_settings(folio_home, "[generation]\ntemperature = 0.0\nmax_tokens = 16\n")
    run = folio("ask", STORY, "--json", home=folio_home)
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout)
    # 16 is the smallest "Maximum answer length" the schema allows.
    assert reply["timings"]["tokens"] == 16
    assert reply["finish_reason"] == "length"
    assert run.stderr == ""


def test_bad_settings_file_value_is_reported_and_options_still_apply(folio_home: Path) -> None:
    write_settings(folio_home, "[generation]\nmax_tokens = 3\n")
    run = folio("ask", STORY, "--json", "--temperature", "0", "--max-tokens", "20", home=folio_home)
    assert run.returncode == 0, run.stderr
    warnings = run.stderr.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("folio: warning: settings file: ")
    assert "Maximum answer length must be at least 16" in warnings[0]
    assert json.loads(run.stdout)["timings"]["tokens"] <= 20


def test_model_without_chat_template_gets_a_note(
    folio_home: Path, templateless_model: Path
) -> None:
    run = folio(
        "ask",
        CAPITAL,
        "--model",
        str(templateless_model),
        "--temperature",
        "0",
        "--max-tokens",
        "24",
        home=folio_home,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
    assert "has no chat template" in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_model_file(folio_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    run = folio("ask", CAPITAL, "--model", str(missing), home=folio_home)
    assert_one_line_error(run, "There is no file at", "no-such-model.gguf")


def test_not_a_gguf_model_file(folio_home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "download.gguf"
    fake.write_text("<html><body>404 Not Found</body></html>\n" * 5)
    run = folio("ask", CAPITAL, "--model", str(fake), home=folio_home)
    assert_one_line_error(run, "“download.gguf”", "not a GGUF model file")


def test_model_of_an_unknown_architecture(folio_home: Path, tmp_path: Path) -> None:
    alien = tmp_path / "alien.gguf"
    writer = gguf.GGUFWriter(str(alien), "notarealarch")
    writer.add_tensor("weights", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    run = folio("ask", CAPITAL, "--model", str(alien), home=folio_home)
    # llama.cpp's own complaints go to the log file, not the terminal.
    assert_one_line_error(run, "“notarealarch”", "cannot run")


def test_empty_question(folio_home: Path) -> None:
    assert_one_line_error(folio("ask", "  ", home=folio_home), "the question is empty")


def test_out_of_range_option(folio_home: Path) -> None:
    run = folio("ask", CAPITAL, "--temperature", "5", home=folio_home)
    assert_one_line_error(run, "Temperature must be at most 2.")


def test_non_numeric_option(folio_home: Path) -> None:
    run = folio("ask", CAPITAL, "--top-k", "many", home=folio_home)
    assert_one_line_error(run, "Top-k must be a number, not “many”.")


def test_version(folio_home: Path) -> None:
    run = folio("--version", home=folio_home)
    assert run.returncode == 0
    assert run.stdout.strip() == f"folio {__version__}"


def test_run_cli_reports_bad_input_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["ask", CAPITAL, "--max-tokens", "3"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == "folio: error: Maximum answer length must be at least 16.\n"
    assert captured.out == ""


def test_ask_help_explains_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cli(["ask", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--temperature" in out
    assert "--max-tokens" in out
    assert "--json" in out
    assert "How adventurous the choice" in out  # the schema's own help text
