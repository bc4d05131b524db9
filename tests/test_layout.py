"""The shape of the package: what is shipped, where modules live, how large they grow."""

from __future__ import annotations

import ast
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
# What llama-cpp-python keeps to itself, reached only through desktop/core/llm/binding.py.
BINDING_PRIVATES = {"_model", "_ctx", "_init_sampler", "_sampler", "_candidates", "_batch"}
BINDING_FENCE = ROOT / "desktop" / "core" / "llm" / "binding.py"


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


def _imports_binding_at_run_time(tree: ast.Module) -> bool:
    """An ``import llama_cpp`` outside ``if TYPE_CHECKING:`` (type names only are allowed)."""
    checking = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and ast.unparse(branch.test).endswith("TYPE_CHECKING")
        for statement in branch.body
        for node in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in checking:
            continue
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "llama_cpp" for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "llama_cpp":
            return True
    return False


def test_only_the_binding_module_reaches_past_the_binding_s_public_api() -> None:
    trespassers: dict[str, list[str]] = {}
    for path in (ROOT / "desktop").rglob("*.py"):
        if path == BINDING_FENCE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = sorted(
            {
                node.attr
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)
                and node.attr in BINDING_PRIVATES
                # A class's own attribute of the same name is its own business.
                and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
            }
        )
        if _imports_binding_at_run_time(tree):
            found.append("import llama_cpp")
        if found:
            trespassers[str(path.relative_to(ROOT))] = found
    assert not trespassers, f"move these into core/llm/binding.py: {trespassers}"
