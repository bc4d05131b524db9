"""llama-cpp-python loads libllama and the ggml libraries with ctypes from ``llama_cpp/lib``
beside its own modules, so PyInstaller's import analysis never sees them: they are collected
as binaries into that same folder."""

from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = collect_dynamic_libs("llama_cpp")
# The server, its FastAPI stack and the LLaVA chat handlers are never imported by Folio.
excludedimports = ["llama_cpp.server", "uvicorn", "fastapi", "sse_starlette", "starlette_context"]
