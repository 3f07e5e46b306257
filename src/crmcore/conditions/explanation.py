"""Explanations: why a condition held or not for one record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from crmcore.records import MISSING

__all__ = ["Explanation"]


@attrs.frozen
class Explanation:
    """Why a condition held or not for one record: a tree mirroring the definition.

    Attributes:
        holds: The verdict, identical to the compiled predicate's.
        kind: The condition's kind.
        text: The condition in text form.
        field: The field path a leaf read, if any.
        actual: The value seen ([`MISSING`][crmcore.records.MISSING] when absent).
        expected: What the leaf needed, in words.
        note: Extra detail, e.g. ``"2 of 3 held; needs 2"``.
        children: Explanations of sub-conditions, for combinators.
    """

    holds: bool
    kind: str
    text: str
    field: str | None = None
    actual: object = attrs.field(default=MISSING, eq=False)
    expected: str | None = None
    note: str | None = None
    children: tuple[Explanation, ...] = ()

    def leaves(self) -> Iterator[Explanation]:
        """Yield every leaf of the tree, depth first."""
        if not self.children:
            yield self
        for child in self.children:
            yield from child.leaves()

    def unmet(self) -> list[Explanation]:
        """The leaves that did not hold (what a user would need to change)."""
        return [leaf for leaf in self.leaves() if not leaf.holds]

    def lines(self, indent: int = 0) -> list[str]:
        """The tree as indented lines, ``✓`` for held and ``✗`` for not."""
        mark = "✓" if self.holds else "✗"
        detail = ""
        if self.field is not None:
            detail = (
                "  (missing)"
                if self.actual is MISSING
                else f"  (actual {self.actual!r})"
            )
        if self.note:
            detail += f"  [{self.note}]"
        out = [f"{'  ' * indent}{mark} {self.text}{detail}"]
        for child in self.children:
            out.extend(child.lines(indent + 1))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for user interfaces (values shown as their repr)."""
        data: dict[str, Any] = {
            "holds": self.holds,
            "kind": self.kind,
            "text": self.text,
        }
        if self.field is not None:
            data["field"] = self.field
            data["actual"] = None if self.actual is MISSING else repr(self.actual)
            data["missing"] = self.actual is MISSING
        if self.expected is not None:
            data["expected"] = self.expected
        if self.note is not None:
            data["note"] = self.note
        if self.children:
            data["children"] = [child.to_dict() for child in self.children]
        return data
