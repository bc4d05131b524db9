"""The shape of the package: what is shipped, where modules live, how large they grow."""

from __future__ import annotations

import importlib.metadata
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import desktop
from desktop.core.models.catalog import load_catalog
from desktop.core.resources import resource, resource_path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
# "No module over about 600 lines": a little room for a docstring, none for a second job.
MAX_MODULE_LINES = 620


def test_every_package_is_shipped() -> None:
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "desktop").rglob("__init__.py")
    }
    listed = set(SETUPTOOLS["packages"])
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert SETUPTOOLS["package-dir"]["desktop.resources"] == "resources"


def test_the_assets_are_package_data_found_through_importlib_resources() -> None:
    data = SETUPTOOLS["package-data"]
    shipped = [
        path.relative_to(ROOT / "resources").as_posix()
        for path in (ROOT / "resources").rglob("*")
        if path.is_file()
        and path.suffix in (".json", ".svg", ".png")
        and "screenshots" not in path.parts
    ]
    for name in shipped:
        package, _, file = name.rpartition("/")
        patterns = data["desktop.resources" + ("." + package.replace("/", ".") if package else "")]
        assert any(fnmatch(file, pattern) for pattern in patterns), name
    assert resource("catalog.json").is_file()
    assert resource_path("icons", "folio.svg") is not None
    assert load_catalog(), "the shipped catalog is read from the package"


def test_the_version_is_declared_once() -> None:
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert "version" not in PYPROJECT["project"]
    assert importlib.metadata.version("folio") == desktop.__version__


def test_no_module_grows_past_about_600_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "desktop").rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these by responsibility: {long}"


def test_the_binding_is_pinned_to_the_version_the_tests_prove() -> None:
    pinned = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("llama-cpp"))
    assert pinned == f"llama-cpp-python=={importlib.metadata.version('llama-cpp-python')}"
