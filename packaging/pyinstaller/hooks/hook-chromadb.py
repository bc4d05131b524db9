"""Chroma chooses its parts at run time by dotted name (``chromadb.api.rust.RustBindingsAPI``,
the segment implementations, the telemetry client, read from its Settings), so import analysis
misses them: every submodule is collected but the HTTP server, the CLI and the tests. Its
embedding functions come along as Python only: each imports its SDK (onnxruntime, openai…) when
it is used, Folio passes its own, and the spec excludes those SDKs."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

_NEVER_USED = ("chromadb.server", "chromadb.cli", "chromadb.test", "chromadb.experimental")


def _wanted(name: str) -> bool:
    return not any(name == prefix or name.startswith(prefix + ".") for prefix in _NEVER_USED)


hiddenimports = collect_submodules("chromadb", filter=_wanted, on_error="ignore")
# The Rust bindings: a compiled extension module of their own.
hiddenimports += ["chromadb_rust_bindings"]
datas = collect_data_files("chromadb", excludes=["**/test/**", "**/*.pyi"])
datas += copy_metadata("chromadb")
