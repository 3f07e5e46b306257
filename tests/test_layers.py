"""The architecture's layers hold: no module imports from a later one.

The table in docs/concepts/architecture.md lists the modules layer by layer;
within a row, a module may import those listed before it. Imports inside
functions (lazy ones) and under ``TYPE_CHECKING`` do not count: they run
after every module is loaded.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "crmcore"
TABLE = ROOT / "docs" / "concepts" / "architecture.md"


def _order() -> dict[str, tuple[int, int]]:
    """Each top-level module or package: (layer, position in its row)."""
    order = {}
    for line in TABLE.read_text().splitlines():
        found = re.match(r"\| (\d+) \| (.+?) \|", line)
        if found:
            names = re.findall(r"`([\w_]+)/?`", found[2])
            for position, name in enumerate(names):
                order[name] = (int(found[1]), position)
    return order


def _unit(module: str) -> str:
    """The top-level module or package of ``crmcore.x.y`` (``__init__`` for crmcore)."""
    return module.split(".")[1] if module.count(".") else "__init__"


def _import_time_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in [node, *(ast.walk(node) if isinstance(node, ast.Try) else [])]:
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module == "crmcore":
                    found.extend(f"crmcore.{alias.name}" for alias in child.names)
                elif child.module.startswith("crmcore."):
                    found.append(child.module)
            elif isinstance(child, ast.Import):
                found.extend(
                    a.name for a in child.names if a.name.startswith("crmcore.")
                )
    return found


def test_every_module_is_in_the_table():
    order = _order()
    units = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
        and p.stem not in {"_version"}
    }
    assert units - set(order) == set(), "modules missing from the architecture table"


def test_no_module_imports_from_a_later_layer():
    order = _order()
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts)
        source = _unit(module)
        for target in _import_time_imports(path):
            unit = _unit(target)
            if unit in (source, "_version") or unit not in order:
                continue
            if order[unit] > order[source]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, wrong
