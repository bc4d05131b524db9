"""llama.cpp's own ``llama-bench``, built from the llama.cpp source that llama-cpp-python vendors.

The binary is built once per llama-cpp-python version and kept in Folio's cache folder
(``bench/llama.cpp-VERSION``), so the reference runs exactly the C++ the binding compiled. The
source comes from the llama-cpp-python sdist of the installed version: ``FOLIO_LLAMA_CPP_SDIST``
may name a downloaded ``llama_cpp_python-VERSION.tar.gz``; otherwise pip fetches it (once, and
only here: this is a build step of the benchmarks, never of the app).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

from benchmarks.common import ReferenceUnavailableError

# Options llama-cpp-python's own build also sets, so the two compile the same kernels; the
# rest of llama.cpp (server, examples, tests) is not needed for the one tool.
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    # The instruction set Folio's own build uses (README, .ci/run): the same kernels, or the
    # comparison would measure the compiler flags.
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
)


@dataclass(frozen=True)
class LlamaBenchRun:
    """One test of llama-bench: ``pp`` (prompt tokens in one batch) or ``tg`` (generated)."""

    prompt_tokens: int
    generated_tokens: int
    tokens_per_s: float
    stddev: float


def binding_version() -> str:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        raise ReferenceUnavailableError("llama-cpp-python is not installed") from None


def cache_dir() -> Path:
    return Path(user_cache_dir("folio")) / "bench" / f"llama.cpp-{binding_version()}"


def llama_bench_path(log: bool = True) -> Path:
    """The cached llama-bench binary, building it first when it is not there (~4 minutes)."""
    folder = cache_dir()
    binary = folder / "build" / "bin" / "llama-bench"
    if binary.is_file():
        return binary
    cmake = shutil.which("cmake")
    compiler = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if cmake is None or compiler is None:
        missing = "cmake" if cmake is None else "a C++ compiler"
        raise ReferenceUnavailableError(
            f"building llama-bench needs {missing}; install the bench extra "
            "(pip install -e '.[bench]') and a C++ compiler"
        )
    source = _vendored_source(folder, log)
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    build = folder / "build"
    if log:
        print(f"folio bench: building llama-bench in {build} (once)…", file=sys.stderr)
    steps = (
        [cmake, "-S", str(source), "-B", str(build), *generator, *CMAKE_OPTIONS],
        [cmake, "--build", str(build), "--target", "llama-bench", "-j", str(os.cpu_count() or 1)],
    )
    for step in steps:
        completed = subprocess.run(step, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.splitlines()[-15:])
            raise ReferenceUnavailableError(f"building llama-bench failed:\n{tail}")
    if not binary.is_file():
        raise ReferenceUnavailableError(f"the build did not produce {binary}")
    return binary


def _vendored_source(folder: Path, log: bool) -> Path:
    source = folder / "llama.cpp"
    if (source / "CMakeLists.txt").is_file():
        return source
    version = binding_version()
    sdist = os.environ.get("FOLIO_LLAMA_CPP_SDIST")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        if sdist:
            archive = Path(sdist)
        else:
            if log:
                print(
                    f"folio bench: fetching the llama-cpp-python {version} source (once)…",
                    file=sys.stderr,
                )
            fetched = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "-d",
                    scratch,
                    f"llama-cpp-python=={version}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            archives = sorted(Path(scratch).glob("llama_cpp_python-*.tar.gz"))
            if fetched.returncode != 0 or not archives:
                tail = "\n".join(fetched.stderr.splitlines()[-5:])
                raise ReferenceUnavailableError(
                    f"could not fetch the llama-cpp-python {version} source to build llama-bench "
                    f"(set FOLIO_LLAMA_CPP_SDIST to a downloaded sdist):\n{tail}"
                )
            archive = archives[0]
        prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
        unpacked = Path(scratch) / "unpacked"
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            if not members:
                raise ReferenceUnavailableError(f"{archive.name} has no vendored llama.cpp")
            try:
                tar.extractall(unpacked, members=members, filter="data")
            except TypeError:  # Python before 3.11.4 has no extraction filters
                tar.extractall(unpacked, members=members)
        (unpacked / prefix).rename(source)
    return source


def run_llama_bench(
    binary: Path,
    model: Path,
    *,
    threads: int,
    prompt_tokens: int,
    generated_tokens: int,
    batch_size: int,
    repetitions: int = 5,
) -> list[LlamaBenchRun]:
    """Runs llama-bench's prefill (pp) and decode (tg) tests; their mean rates and spread."""
    command = [
        str(binary),
        "-m", str(model),
        "-t", str(threads),
        "-p", str(prompt_tokens),
        "-n", str(generated_tokens),
        "-b", str(batch_size),
        "-ub", str(batch_size),
        "-r", str(repetitions),
        "-o", "json",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.splitlines()[-10:])
        raise ReferenceUnavailableError(f"llama-bench failed on {model.name}:\n{tail}")
    rows = json.loads(completed.stdout)
    return [
        LlamaBenchRun(
            prompt_tokens=int(row["n_prompt"]),
            generated_tokens=int(row["n_gen"]),
            tokens_per_s=float(row["avg_ts"]),
            stddev=float(row["stddev_ts"]),
        )
        for row in rows
    ]
