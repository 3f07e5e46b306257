"""The rule language: serializable conditions, compiled once, explained on demand.

Segments, stage exit criteria, handoff requirements, scoring rules, routing and
data-quality checks are all built from these conditions. A condition is a
frozen value (so it round-trips through JSON with a ``kind`` tag); it is
**compiled** into plain closures before it meets records, so evaluating it over
a million rows never walks the definition again.

Kinds (each a class below; the guide "The rule language" shows them all):

* comparisons ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``;
* membership ``in``, ``not_in``; text and collections ``contains``,
  ``starts_with``, ``ends_with``; presence ``exists``, ``missing``;
  ranges ``between``;
* time relative to ``as_of``: ``within_last``, ``older_than``; fixed
  instants ``before``, ``after``;
* ``count`` of matching items in a collection field;
* combinators ``all``, ``any``, ``not``, ``at_least``.

**Kinds own everything about themselves.** Each kind is one class with its
evaluation (``bind``), explanation, text form, JSON shape and hypothesis
strategy; the printer, parser, converter and ``crmcore.testing`` read the
[`CONDITION_KINDS`][crmcore.conditions.CONDITION_KINDS] registry. A vendor
kind registered with [`register_condition`][crmcore.conditions.register_condition]
is usable everywhere a built-in is: with ``&``, ``|`` and ``~``, in text, in
JSON, in explanations and in generated tests.

The package's modules, in import order: ``values`` (comparison values,
durations), ``explanation``, ``base`` (protocol, registry, limits, field
reading), ``text`` (printer and parser), ``kinds`` (shared bases), ``leaves``
(one-field kinds), ``fused`` (fast ``all``/``any``), ``combinators``,
``builders`` (``field(...)``) and ``compiled`` (compilation and evaluation).
Users import from ``crmcore.conditions``.

**Missing fields.** A field is *absent* when the record has no such key or
attribute, when the path passes through ``None``, or when its value is
``None``. Every field test on an absent value is **false**, ``ne`` and
``not_in`` included: a missing field never silently equals, or differs from,
anything. Use ``exists`` / ``missing`` to test presence, and ``not`` to invert
a whole test (``not(industry == "saas")`` holds for a missing industry). The
logic stays two-valued, so the boolean laws (De Morgan, absorption) hold.

**Wrong types are errors, not silent misses.** Comparing a string field with
a number, a naive datetime with an aware one, or money in two currencies
raises a crmcore error naming the field path and the value.

Examples:
    >>> from datetime import datetime, timezone
    >>> icp = (field("industry").is_in({"saas", "fintech"})
    ...        & (field("employees") >= 50)
    ...        & field("last_seen").within_last("30d"))
    >>> print(to_text(icp))
    industry in {"fintech", "saas"} and employees >= 50 and within_last(last_seen, 30d)
    >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
    >>> lead = {"industry": "saas", "employees": 120,
    ...         "last_seen": datetime(2026, 2, 20, tzinfo=timezone.utc)}
    >>> matches(icp, lead, as_of=as_of)
    True
    >>> print(explain(icp, {"industry": "retail"}, as_of=as_of))
    ✗ all of 3 (0 held)
      ✗ industry in {"fintech", "saas"}  (actual 'retail')
      ✗ employees >= 50  (missing)
      ✗ within_last(last_seen, 30d)  (missing)
"""

from __future__ import annotations

from typing import Any, TypeVar

from crmcore.conditions.base import (
    CONDITION_KINDS,
    MAX_DEPTH,
    MAX_NODES,
    Condition,
    condition_fields,
)
from crmcore.conditions.builders import FieldRef, field
from crmcore.conditions.combinators import (
    AllOf,
    AnyOf,
    AtLeast,
    Count,
    Not,
    all_of,
    any_of,
    at_least,
    not_,
)
from crmcore.conditions.compiled import (
    CompiledCondition,
    compile_condition,
    explain,
    matches,
    positions_of,
    weights_of,
)
from crmcore.conditions.explanation import Explanation
from crmcore.conditions.kinds import Combinable
from crmcore.conditions.leaves import (
    After,
    Before,
    Between,
    Contains,
    EndsWith,
    Eq,
    Exists,
    Ge,
    Gt,
    IsIn,
    IsMissing,
    Le,
    Lt,
    Ne,
    NotIn,
    OlderThan,
    StartsWith,
    WithinLast,
    is_present,
)
from crmcore.conditions.text import (
    MAX_TEXT,
    TextParser,
    TextPrinter,
    parse_condition,
    to_text,
)
from crmcore.conditions.values import MAX_DURATION_DAYS, ConditionValue, Duration

__all__ = [
    "CONDITION_KINDS",
    "MAX_DEPTH",
    "MAX_DURATION_DAYS",
    "MAX_NODES",
    "MAX_TEXT",
    "After",
    "AllOf",
    "AnyOf",
    "AtLeast",
    "Before",
    "Between",
    "Combinable",
    "CompiledCondition",
    "Condition",
    "ConditionValue",
    "Contains",
    "Count",
    "Duration",
    "EndsWith",
    "Eq",
    "Exists",
    "Explanation",
    "FieldRef",
    "Ge",
    "Gt",
    "IsIn",
    "IsMissing",
    "Le",
    "Lt",
    "Ne",
    "Not",
    "NotIn",
    "OlderThan",
    "StartsWith",
    "TextParser",
    "TextPrinter",
    "WithinLast",
    "all_of",
    "any_of",
    "at_least",
    "compile_condition",
    "condition_fields",
    "condition_kinds",
    "explain",
    "field",
    "is_present",
    "load_entry_points",
    "matches",
    "not_",
    "parse_condition",
    "positions_of",
    "register_condition",
    "to_text",
    "weights_of",
]

_K = TypeVar("_K", bound=type)


def register_condition(cls: _K) -> _K:
    """Register a condition kind so definitions, JSON and text can use it.

    The class must be an attrs class with a ``kind`` class variable (a new
    name, lower case) and either

    * ``bind(self, as_of) -> Callable[[record], bool]``, compiled once per
      ``as_of`` (fast), or
    * ``test(self, record, as_of) -> bool``, called per record (simple).

    Registration gives the class ``&``, ``|``, ``~`` and ``str()`` (unless it
    defines them). Everything else is optional and derived from the attrs
    fields when absent: ``explain(self, record, as_of) -> Explanation``; the
    text hooks ``text_form(self, printer)`` and ``parse_text(cls, parser,
    position)`` (see [`TextParser`][crmcore.conditions.TextParser];
    without them the kind reads and writes ``kind(arg, ..., name=value)``);
    ``strategy(cls, draws)`` for
    [`crmcore.testing.conditions`][crmcore.testing.conditions]; a class
    variable ``uses_as_of = True`` when the kind is relative to ``as_of``.
    Field metadata names a field's role for all of them, e.g.
    ``metadata={"crmcore": "path"}`` for a field path (printed bare).

    Use it as a decorator, or list the class under the ``crmcore.conditions``
    entry-point group of your package and call
    [`load_entry_points`][crmcore.conditions.load_entry_points]. In tests,
    ``with CONDITION_KINDS.scoped(MyKind):`` registers it for one block.

    Raises:
        DefinitionError: When the class lacks what is needed or the kind is taken.

    Examples:
        >>> import attrs
        >>> @register_condition
        ... @attrs.frozen
        ... class HasDomain:
        ...     kind = "has_domain"
        ...     domain: str
        ...     def test(self, record, as_of):
        ...         return str(record.get("email", "")).endswith("@" + self.domain)
        >>> rule = HasDomain("acme.example") & (field("employees") >= 50)
        >>> matches(rule, {"email": "ada@acme.example", "employees": 80})
        True
        >>> to_text(rule)
        'has_domain("acme.example") and employees >= 50'
        >>> parse_condition(to_text(rule)) == rule
        True
    """
    return CONDITION_KINDS.register(cls)


def condition_kinds() -> dict[str, type[Any]]:
    """Every registered kind name and its class (a copy)."""
    return CONDITION_KINDS.kinds()


def load_entry_points() -> list[str]:
    """Import the plugins listed under the ``crmcore.conditions`` entry points.

    See [`Registry.load_entry_points`][crmcore.registry.Registry.load_entry_points].

    Returns:
        The names of the kinds that are new, sorted.
    """
    return CONDITION_KINDS.load_entry_points()


for _builtin in (
    Eq, Ne, Lt, Le, Gt, Ge, IsIn, NotIn, Contains, StartsWith, EndsWith, Exists,
    IsMissing, Between, WithinLast, OlderThan, Before, After, Count, AllOf, AnyOf,
    Not, AtLeast,
):  # fmt: skip
    CONDITION_KINDS.register(_builtin)
