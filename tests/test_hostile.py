"""Hostile input: every case of the issue, with its exact input.

Definitions are untrusted (vendors store JSON their users wrote), so each bad
input must end in a crmcore error naming the path, the value and what was
expected, in time proportional to the input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs
import pytest

from crmcore.conditions import CONDITION_KINDS, Condition, register_condition
from crmcore.errors import DefinitionError, Problem
from crmcore.serialization import structure

# -- linear diagnosis -----------------------------------------------------------
CHECKS: list[int] = []


def _count(_instance: object, _attribute: object, value: int) -> None:
    CHECKS.append(value)
    if value < 0:
        raise ValueError("negative")


@attrs.frozen
class Probe:
    """A vendor leaf whose validator counts how often it runs."""

    kind: ClassVar[str] = "probe"
    n: int = attrs.field(validator=_count)

    def test(self, record: Any, as_of: datetime | None) -> bool:
        return True


def _nested(leaf: dict[str, Any], depth: int) -> dict[str, Any]:
    for level in range(depth):
        if level % 2:
            leaf = {"kind": "not", "condition": leaf}
        else:
            leaf = {"kind": "all", "conditions": [{"kind": "probe", "n": 1}, leaf]}
    return leaf


@pytest.mark.parametrize("depth", [4, 16, 31])
def test_a_bad_definition_deep_down_is_diagnosed_in_linear_work(depth):
    with CONDITION_KINDS.scoped():
        register_condition(Probe)
        CHECKS.clear()
        structure(_nested({"kind": "probe", "n": 1}, depth), Condition)
        good = len(CHECKS)
        CHECKS.clear()
        with pytest.raises(DefinitionError) as raised:
            structure(_nested({"kind": "probe", "n": -1}, depth), Condition)
        bad = len(CHECKS)
    # The one problem, with its whole path.
    (problem,) = raised.value.problems
    assert problem.path.endswith(".n")
    assert problem.path.count("condition") >= depth // 2
    # Each check runs a bounded number of times per level it sits under: the
    # work grows with the depth times the size, never exponentially (the old
    # diagnosis re-structured every level: 2 ** depth).
    assert bad <= 2 * good * (depth + 1), (good, bad)
    assert bad < 2 ** min(depth, 20)


def test_a_validator_reading_a_failed_sibling_never_shows_internals():
    @attrs.frozen
    class Window:
        kind: ClassVar[str] = "window"
        low: int = attrs.field(validator=attrs.validators.instance_of(int))
        high: int = attrs.field()

        @high.validator
        def _above(self, _attribute: object, value: int) -> None:
            if value < self.low:
                raise ValueError("high below low")

        def test(self, record: Any, as_of: datetime | None) -> bool:
            return True

    with CONDITION_KINDS.scoped(Window), pytest.raises(DefinitionError) as raised:
        structure({"kind": "window", "low": "x", "high": 1}, Condition)
    text = str(raised.value)
    assert "$.low" in text
    assert "SimpleNamespace" not in text
    assert "AttributeError" not in text


def test_a_cross_field_rule_alone_still_names_its_field():
    @attrs.frozen
    class Range:
        kind: ClassVar[str] = "range"
        low: int = attrs.field()
        high: int = attrs.field()

        def __attrs_post_init__(self) -> None:
            if self.high < self.low:
                raise DefinitionError(
                    "range", [Problem("$.high", "expected at least low")]
                )

        def test(self, record: Any, as_of: datetime | None) -> bool:
            return True

    with CONDITION_KINDS.scoped(Range), pytest.raises(DefinitionError) as raised:
        structure({"kind": "range", "low": 3, "high": 1}, Condition)
    assert "$.high" in str(raised.value)
