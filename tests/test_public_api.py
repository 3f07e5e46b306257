"""The public API is deliberate: __all__ and the reference agree, core stays pure."""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import crmcore

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
PUBLIC_MODULES = [
    "errors",
    "registry",
    "validators",
    "money",
    "calendar",
    "business_time",
    "conditions",
    "segments",
    "rfm",
    "pipelines",
    "lifecycle",
    "stage_analytics",
    "handoffs",
    "routing",
    "scoring",
    "ownership",
    "strategy",
    "kpis",
    "quality",
    "playbook",
    "frames",
    "plots",
    "records",
    "serialization",
    "sample",
    "testing",
]


def documented() -> set[str]:
    names = set()
    for page in REFERENCE.glob("*.md"):
        names |= set(re.findall(r"^::: (crmcore\.[\w.]+)$", page.read_text(), re.M))
    return names


def module_exports() -> dict[str, str]:
    """Map every public name of every public module to its documented path."""
    exports = {}
    for module in PUBLIC_MODULES:
        for name in importlib.import_module(f"crmcore.{module}").__all__:
            exports[name] = f"crmcore.{module}.{name}"
    return exports


def test_every_public_module_name_is_in_the_reference():
    missing = set(module_exports().values()) - documented()
    assert not missing, f"not in docs/reference: {sorted(missing)}"


def test_the_reference_documents_nothing_that_is_not_public():
    allowed = set(module_exports().values()) | {f"crmcore.{m}" for m in PUBLIC_MODULES}
    stale = documented() - allowed
    assert not stale, f"documented but not public: {sorted(stale)}"


def test_every_top_level_name_is_a_documented_module_name():
    exports = module_exports()
    for name in crmcore.__all__:
        if name == "__version__":
            continue
        assert name in exports, f"crmcore.{name} is not exported by any public module"
        path = exports[name]
        module_name, _, attribute = path.rpartition(".")
        assert getattr(crmcore, name) is getattr(
            importlib.import_module(module_name), attribute
        )


def test_all_is_sorted_and_unique():
    assert len(set(crmcore.__all__)) == len(crmcore.__all__)
    for module in PUBLIC_MODULES:
        exported = importlib.import_module(f"crmcore.{module}").__all__
        assert len(set(exported)) == len(exported), module


def test_lazy_names_load_on_access_and_unknown_names_fail():
    assert (
        crmcore.generate_sample
        is importlib.import_module("crmcore.sample").generate_sample
    )
    assert "structure" in dir(crmcore)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        crmcore.nope  # noqa: B018


def test_version_is_exposed():
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", crmcore.__version__)


def test_import_does_not_load_heavy_modules():
    code = "import sys, crmcore; print(sorted(m for m in sys.modules if m.startswith(('cattrs', 'crmcore.sample'))))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


FORBIDDEN = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("os", "environ"),
    ("os", "getenv"),
    ("random", "random"),
    ("random", "choice"),
    ("random", "shuffle"),
    ("random", "randint"),
    ("random", "seed"),
}
FORBIDDEN_CALLS = {"open", "print", "eval", "exec", "input", "__import__"}


@pytest.mark.parametrize(
    "path",
    sorted(
        p for p in (ROOT / "src" / "crmcore").rglob("*.py") if p.name != "__main__.py"
    ),
    ids=lambda p: p.name,
)
def test_the_core_is_pure(path):
    """No clock, environment, global randomness, I/O or eval outside the shell."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in FORBIDDEN, (
                f"{path.name}:{node.lineno}"
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno}"


def test_nothing_imports_the_shell():
    for path in (ROOT / "src" / "crmcore").rglob("*.py"):
        if path.name != "__main__.py":
            assert "crmcore.__main__" not in path.read_text(), path


# -- the layout: one-way imports, no private names across packages ---------------
def _package(module: str) -> str:
    """The package a module belongs to: crmcore.conditions for its submodules."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def _private_imports() -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / "src" / "crmcore").rglob("*.py"):
        parts = path.relative_to(ROOT / "src").with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if path.name == "__init__.py":
            module = ".".join(parts[:-1]) + ".__init__"
        here = _package(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module):
                continue
            if (
                not node.module.startswith("crmcore")
                or node.module == "crmcore._version"
            ):
                continue
            there = _package(node.module + ".x")
            private_module = any(p.startswith("_") for p in node.module.split(".")[1:])
            for alias in node.names:
                if (alias.name.startswith("_") or private_module) and there != here:
                    found.add((module, f"{node.module}.{alias.name}"))
    return found


def test_no_private_names_cross_packages():
    """A helper several packages need is a name of a documented module."""
    found = _private_imports()
    assert not found, f"private names imported across packages: {sorted(found)}"
