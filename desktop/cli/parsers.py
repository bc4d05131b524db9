"""What each command takes: one parser per command, built without importing the commands
themselves, so that ``folio --help`` or a mistyped option answers at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.cli.errors import CliParser
from desktop.cli.options import add_setting_options

# In the order they run: the quick ones first.
BENCHMARKS = (
    "startup",
    "retrieval",
    "download",
    "generation",
    "ttft",
    "embed",
    "ingest",
    "ui",
    "lab",
    "packaging",
)


def add_ask(commands: Any) -> None:
    ask = commands.add_parser(
        "ask", help="Ask the model one question and stream the answer to stdout."
    )
    ask.add_argument("question", help="The question (use quotes).")
    ask.add_argument(
        "--json",
        action="store_true",
        help='Print one JSON object {"answer", "model", "timings": {"ttft_s", "tokens", '
        '"tokens_per_s"}} at the end instead of streaming text.',
    )
    ask.add_argument(
        "--docs",
        nargs="?",
        const="all",
        default="off",
        choices=("auto", "all", "off"),
        help="Where the answer comes from: 'all' (the default when --docs is given alone) "
        "answers only from the document library, quoting the sentences that answer and citing "
        "the passages as [n] with file and page; 'auto' answers from the library when it covers "
        "the question and from the model alone otherwise, as the window does; 'off' (without "
        '--docs) asks the model alone. --json adds "grounded" (whether the answer came from '
        'the documents), "quotes" and "citations".',
    )
    ask.add_argument(
        "--logprobs",
        type=int,
        default=0,
        metavar="N",
        help="Show each answer token's log-probability with the N likeliest alternatives at "
        'its position; --json adds "logprobs": [{"token", "logprob", "top": [...]}] and '
        '"total_logprob", "perplexity".',
    )
    ask.add_argument(
        "--show-prompt",
        action="store_true",
        help="After the answer, print the exact prompt the model read (chat template, special "
        'tokens and all) with each part\'s token count; --json adds "prompt".',
    )
    add_setting_options(ask)


def add_documents(commands: Any) -> None:
    index = commands.add_parser(
        "index",
        help="Add files or folders to the document library and index them.",
        epilog="Exit status: 0 when every file given was indexed (or already was); 1 when some "
        "were and others could not be read; 2 when a path given does not exist (nothing is "
        "indexed then) or nothing at all could be indexed. Each file not indexed is named on "
        'stderr with the reason; --json has it too, as "error" of its entry, and the outcome '
        'as the report\'s "error" (null when all went well).',
    )
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    index.add_argument("--json", action="store_true", help="Print one JSON report at the end.")

    library = commands.add_parser("library", help="List the documents in the library.")
    library.add_argument("--json", action="store_true")

    search = commands.add_parser(
        "search", help="Search the library; best passages first, each with its relevance (0 to 1)."
    )
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="How many passages (default 10).")
    search.add_argument("--json", action="store_true")

    evaluate = commands.add_parser(
        "eval", help="Page-level recall@1/3/5/10 and MRR@10 of library search on a QA file."
    )
    evaluate.add_argument("qa_file", type=Path, metavar="QA.jsonl")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument(
        "--answers",
        action="store_true",
        help="Also ask each question with documents (greedy, the settings' model) and report "
        "how often the answer, and separately the quoted evidence, contains the reference "
        'answer; lines with "answerable": false (no file or pages needed) give the refusal '
        "rate on questions the library cannot answer. Retrieval metrics stay beside it.",
    )
    evaluate.add_argument(
        "--sources",
        type=int,
        metavar="N",
        help="With --answers: passages per question instead of the settings' value.",
    )
    add_setting_options(evaluate)


def add_config(commands: Any) -> None:
    config = commands.add_parser(
        "config", help="Show or change the settings (the same file the window uses)."
    )
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", parser_class=CliParser)
    show = actions.add_parser("show", help="Every setting with its value, default and range.")
    show.add_argument("--json", action="store_true")
    change = actions.add_parser(
        "set",
        help="Change settings: KEY=VALUE ... (a list setting such as stop takes the key again "
        "for each item; KEY= resets it to nothing).",
    )
    change.add_argument("assignments", nargs="+", metavar="KEY=VALUE")


def add_models(commands: Any) -> None:
    models = commands.add_parser(
        "models",
        help="List the models (the models folder and the starter models), import or download one.",
    )
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", parser_class=CliParser)
    listing = actions.add_parser(
        "list", help="Each model's architecture, size, quantization and memory fit."
    )
    listing.add_argument("--json", action="store_true")
    importing = actions.add_parser("import", help="Copy a GGUF file into the models folder.")
    importing.add_argument("path", type=Path, metavar="PATH")
    importing.add_argument(
        "--link", action="store_true", help="Link to the file where it is instead of copying it."
    )
    catalog = actions.add_parser("catalog", help="The models Folio offers to download.")
    catalog.add_argument("--json", action="store_true")
    fetching = actions.add_parser(
        "download",
        help="Download a model into the models folder: a catalog name or a link to a .gguf file. "
        "Ctrl+C pauses; the same command again resumes.",
    )
    fetching.add_argument(
        "source",
        metavar="URL_OR_CATALOG_NAME",
        help="A link (https://…/model.gguf) or a name or file name from “folio models catalog”.",
    )
    fetching.add_argument(
        "--sha256",
        metavar="HEX",
        help="The file's SHA-256 checksum (Hugging Face shows it on the file's page); the "
        "download is refused if it differs.",
    )
    fetching.add_argument(
        "--name", metavar="FILENAME", help="Save the model under this file name (ends in .gguf)."
    )


def add_bench(commands: Any) -> None:
    bench = commands.add_parser(
        "bench",
        help="Run benchmarks, each against a reference measured in the same run.",
    )
    bench.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"Which to run (default: all): {', '.join(BENCHMARKS)}.",
    )
    bench.add_argument("--json", action="store_true", help="Print the results as one JSON list.")
    bench.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Where each NAME.json goes (default: benchmarks/results in the checkout).",
    )


def add_self_test(commands: Any) -> None:
    commands.add_parser(
        "self-test",
        help="Check that this install works, offline: the starter models load, a PDF is "
        "indexed and a question about it answered with its page cited, and the window opens "
        "(offscreen). Uses a temporary folder, never your data. Prints a JSON report; exit 1 "
        "names the check that failed.",
    )


def add_batch(commands: Any) -> None:
    batch = commands.add_parser(
        "batch",
        help="Run one prompt over every row of a CSV, TSV or JSONL file: label it, score it "
        "against a reference column, and keep the results (a stopped run resumes).",
        epilog="Example: folio batch reviews.tsv --template 'Classify the sentiment of this "
        "review: {text}' --labels positive,negative --mode likelihood --reference label --json. "
        "Running the same command again continues an unfinished run from where it stopped.",
    )
    batch.add_argument("data", type=Path, metavar="FILE", help="CSV, TSV or JSONL; a header row.")
    batch.add_argument(
        "--template",
        required=True,
        help="The prompt for each row, with {column} placeholders; {{ and }} are braces, \\n a "
        "line break.",
    )
    batch.add_argument(
        "--labels",
        default="",
        help="Comma-separated labels the answer must be one of (constrained and likelihood).",
    )
    batch.add_argument(
        "--mode",
        choices=("free", "constrained", "likelihood"),
        default="likelihood",
        help="free: the model writes, the first label named is taken; constrained: the model "
        "can only write a label; likelihood (default): the label the model finds most probable, "
        "with its probability.",
    )
    batch.add_argument(
        "--reference", metavar="COLUMN", help="The column holding the right answer, to score."
    )
    batch.add_argument(
        "--examples",
        type=Path,
        metavar="FILE",
        help="Few-shot examples: a file with the data's columns and the --reference column "
        "(or 'label'), shown to the model before each row.",
    )
    batch.add_argument(
        "--no-calibration",
        action="store_true",
        help="Do not divide out the labels' bias measured on empty inputs (likelihood and "
        "constrained modes).",
    )
    batch.add_argument(
        "--prompt-style",
        choices=("chat", "completion"),
        help="completion (the default for labels): the template's text is the prompt the model "
        "continues, examples before it; chat (the default for free answers): each row is a "
        "message through the model's chat template.",
    )
    batch.add_argument("--limit", type=int, metavar="N", help="Stop after N rows (this session).")
    batch.add_argument("--fresh", action="store_true", help="Start over instead of resuming.")
    batch.add_argument("--export", type=Path, metavar="CSV", help="Write the results as CSV.")
    batch.add_argument(
        "--json",
        action="store_true",
        help='Print one JSON object: {"items", "accuracy", "per_label", "confusion", '
        '"items_per_s", "results_path", ...}.',
    )
    add_setting_options(batch)
