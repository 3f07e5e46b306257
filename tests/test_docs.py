"""Run the Python code in README.md and docs/; check ``print(x)  # expected`` lines."""

import contextlib
import linecache
import re
from pathlib import Path

import pytest

from crmcore.registry import registries

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
CHECKED_PRINT = re.compile(r"^(\s*)print\((.*)\)\s+#\s+(.+?)\s*$")


def _check(*values_and_expected: object) -> None:
    # Compare what print() would show; the comment may go on with an
    # explanation after two spaces or a colon.
    *values, expected = values_and_expected
    assert isinstance(expected, str)
    shown = " ".join(str(value) for value in values)
    assert expected == shown or expected.startswith((shown + "  ", shown + ":")), (
        f"printed {shown!r}, the docs say {expected!r}"
    )


def _checked(source: str) -> str:
    lines = []
    for line in source.splitlines():
        match = CHECKED_PRINT.match(line)
        if match:
            indent, expression, expected = match.groups()
            lines.append(f"{indent}__check({expression}, {expected!r})")
        else:
            lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if BLOCK.search(p.read_text())],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_code_in_the_docs_runs_and_prints_what_it_says(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Pages may register kinds of any registry; keep them out of other tests.
    namespace: dict[str, object] = {"__check": _check, "__name__": "__docs__"}
    with contextlib.ExitStack() as stack:
        for registry in registries():
            stack.enter_context(registry.scoped())
        for number, block in enumerate(BLOCK.findall(page.read_text()), 1):
            # Each block under its own name, with its source in linecache, so
            # tracebacks (and hypothesis, which reads a test's source) see it.
            code = _checked(block)
            name = f"<{page.relative_to(ROOT)} block {number}>"
            linecache.cache[name] = (len(code), None, code.splitlines(True), name)
            exec(compile(code, name, "exec"), namespace)


def test_checked_prints_are_really_checked():
    with pytest.raises(AssertionError, match="the docs say"):
        exec(_checked("print(1 + 1)  # 3"), {"__check": _check})
