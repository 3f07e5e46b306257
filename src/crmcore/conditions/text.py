"""The text form of conditions: one printer and one parser, driven by the registry.

Every kind prints and parses through hooks on its own class, so a kind
registered by a vendor reads and writes text like a built-in:

* ``text_form(self, printer) -> str`` prints the kind (built-ins with an
  operator form such as ``a == 1`` or ``x and y``, or flags such as
  ``ignore_case``, define it);
* ``parse_text(cls, parser, position) -> Condition`` reads the arguments
  after ``kind(`` (the parser has already read the opening parenthesis and
  reads the closing one);
* without them a kind uses the **function form**, derived from its attrs
  fields: ``kind(positional, ..., name=value)``, with the fields that have no
  default in order and the others by name when they differ from it. Field
  paths print bare (``email``), strings quoted, durations as ``30d``,
  instants as ``@2026-01-31T09:00:00+00:00``, sub-conditions as text.

A kind with an operator form sets ``text_operator`` (``"=="``, ``"in"``,
``"and"``...); the parser finds the kinds of its operators in the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, NoReturn, TypeVar

import attrs

from crmcore.calendar import require_aware
from crmcore.conditions.base import CONDITION_KINDS, MAX_DEPTH, Condition
from crmcore.conditions.values import ConditionValue, Duration, _fmt, _fmt_set
from crmcore.errors import (
    CrmcoreError,
    DataError,
    DataTypeError,
    DefinitionError,
    Problem,
)
from crmcore.money import Money, to_decimal
from crmcore.registry import Registry, registry_of

__all__ = ["MAX_TEXT", "TextParser", "TextPrinter", "parse_condition", "to_text"]

_T = TypeVar("_T")


# ---------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------
class TextPrinter:
    """What a kind's ``text_form`` hook is given: prints values and sub-conditions."""

    __slots__ = ()

    def condition(self, condition: Condition) -> str:
        """A sub-condition standing on its own (an argument of a function)."""
        return _text(condition)

    def operand(self, condition: Condition) -> str:
        """A sub-condition joined by ``and`` / ``or``: parenthesized if it needs it."""
        text = _text(condition)
        return f"({text})" if getattr(condition, "text_grouped", False) else text

    def value(self, value: object) -> str:
        """A comparison value, duration or sub-condition as the parser reads it."""
        if isinstance(value, Duration):
            return str(value)
        if CONDITION_KINDS.holds(value):
            return _text(value)
        if isinstance(value, (tuple, list, frozenset, set)):
            return _fmt_set(list(value))
        return _fmt(value)

    def values(self, values: Sequence[ConditionValue]) -> str:
        """A set of values: ``{"DE", "AT"}``."""
        return _fmt_set(values)

    def function(self, condition: Any) -> str:
        """The function form of any kind, from its attrs fields (see the module)."""
        args = []
        for attribute in attrs.fields(type(condition)):
            if not attribute.init:
                continue
            item = getattr(condition, attribute.name)
            text = (
                item
                if attribute.metadata.get("crmcore") == "path"
                else self.value(item)
            )
            if attribute.default is attrs.NOTHING and not attribute.kw_only:
                args.append(text)
            elif attribute.default is attrs.NOTHING or item != attribute.default:
                args.append(f"{attribute.alias}={text}")
        return f"{condition.kind}({', '.join(args)})"


_PRINTER: Final = TextPrinter()


def to_text(condition: Condition) -> str:
    """Render a condition in the readable text form.

    [`parse_condition`][crmcore.conditions.parse_condition] reads it back to an
    equal condition, for built-in and registered kinds alike.

    Examples:
        >>> from crmcore.conditions import any_of, field
        >>> rule = any_of(field("country") == "DE", field("employees").between(10, 50))
        >>> to_text(rule)
        'country == "DE" or between(employees, 10, 50)'
    """
    if registry_of(type(condition)) is None:  # conditions, criteria, vendor kinds
        raise DataTypeError("condition", condition, "a condition")
    return _text(condition)


def _text(condition: Any) -> str:
    hook = getattr(condition, "text_form", None)
    if hook is not None:
        return hook(_PRINTER)  # type: ignore[no-any-return]
    describe = getattr(condition, "describe", None)
    if describe is not None:  # a vendor's own words (not read back)
        return describe()  # type: ignore[no-any-return]
    return _PRINTER.function(condition)


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------
MAX_TEXT: Final = 100_000
"""Longest condition text ``parse_condition`` reads, in characters."""

# One anchored pattern per token, tried at the current position only: the
# scan is linear, with no backtracking over the input.
_TOKENS: Final = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<instant>@\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?)?)?)
  | (?P<duration>\d+(?:y|mo|w|d|h|m|s)(?:\d+(?:y|mo|w|d|h|m|s))*(?![A-Za-z0-9_]))
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*)
  | (?P<op>==|!=|<=|>=|<|>|=)
  | (?P<punct>[(){},])
    """,
    re.VERBOSE,
)


class TextParser:
    """Recursive descent over the tokens of the text form (see ``parse_condition``).

    A kind's ``parse_text`` hook reads its arguments with the methods below
    (``path``, ``value``, ``condition``, ``comma``, ``flag``...); each fails
    with a [`DefinitionError`][crmcore.errors.DefinitionError] naming the
    column and what was expected.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            match = _TOKENS.match(text, position)
            if match is None:
                self.fail(
                    position, f"an expression, got {text[position : position + 12]!r}"
                )
            kind = match.lastgroup or ""
            if kind != "space":
                self.tokens.append((kind, match.group(), position))
            position = match.end()
        self.tokens.append(("end", "", len(text)))
        self.index = 0
        self.depth = 0
        self.operators = {
            cls.text_operator: cls
            for cls in CONDITION_KINDS.kinds().values()
            if getattr(cls, "text_operator", None)
        }

    # -- helpers ---------------------------------------------------------------
    def fail(self, position: int, expected: str) -> NoReturn:
        """Stop with the column of ``position`` and what was expected there."""
        raise DefinitionError(
            "condition text",
            [Problem("$", f"column {position + 1}: expected {expected}")],
        )

    def peek(self, ahead: int = 0) -> tuple[str, str, int]:
        """The token ``ahead`` of the current one: ``(kind, text, position)``."""
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> tuple[str, str, int]:
        """The current token; moves past it (never past the end)."""
        token = self.tokens[self.index]
        if token[0] != "end":
            self.index += 1
        return token

    def expect(self, value: str) -> None:
        """Read the punctuation or operator ``value``, or fail."""
        kind, text, position = self.take()
        if text != value or kind == "string":
            self.fail(position, f"{value!r}, got {text or 'the end'!r}")

    def at(self, value: str) -> bool:
        """Whether the current token is the punctuation or operator ``value``."""
        kind, text, _ = self.peek()
        return text == value and kind in {"punct", "op"}

    def word(self, value: str) -> bool:
        """Read the bare word ``value`` if it is next; tell whether it was."""
        kind, text, _ = self.peek()
        if kind == "path" and text == value:
            self.index += 1
            return True
        return False

    def keyword(self, *names: str) -> str | None:
        """Read ``name =`` if one of ``names`` is next; return the name read."""
        kind, text, _ = self.peek()
        if kind == "path" and text in names and self.peek(1)[1] == "=":
            self.index += 2
            return text
        return None

    def enter(self) -> None:
        """One level deeper (limited to ``MAX_DEPTH``)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(self.peek()[2], f"at most {MAX_DEPTH} levels of nesting")

    def build(
        self, cls: Callable[..., _T], position: int, *args: Any, **kwargs: Any
    ) -> _T:
        """Call ``cls``; its error becomes a parse error at ``position``.

        A vendor's own validators may raise plain ``TypeError`` or
        ``ValueError`` (attrs' ``instance_of`` does): those become parse
        errors too, never a bare built-in error.
        """
        try:
            return cls(*args, **kwargs)
        except (CrmcoreError, TypeError, ValueError) as error:
            first = error.args[0] if error.args else error
            self.fail(
                position, str(error) if isinstance(error, CrmcoreError) else str(first)
            )

    def comma(self) -> None:
        """Read the ``,`` between arguments."""
        self.expect(",")

    def flag(self, *allowed: str) -> str | None:
        """Read ``, word`` where word is one of ``allowed``; None without a comma."""
        if not self.at(","):
            return None
        self.take()
        kind, text, position = self.take()
        if kind != "path" or text not in allowed:
            self.fail(position, f"one of {', '.join(allowed)}")
        return text

    # -- grammar -----------------------------------------------------------------
    def parse(self) -> Condition:
        """The whole text as one condition."""
        condition = self.condition()
        kind, text, position = self.peek()
        if kind != "end":
            self.fail(position, f"'and', 'or' or the end, got {text!r}")
        return condition

    def parse_kind(self, registry: Registry) -> Any:
        """The whole text as one kind of ``registry`` in its function form."""
        kind, name, position = self.take()
        if kind != "path" or not self.at("("):
            self.fail(position, f"a {registry.what} such as name(...)")
        found = self.call(name, position, registry)
        kind, text, position = self.peek()
        if kind != "end":
            self.fail(position, f"the end, got {text!r}")
        return found

    def condition(self) -> Condition:
        """A condition: ``a or b``, ``a and b``, ``not a``, a comparison, a call."""
        items = [self.conjunction()]
        while self.word("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else self.operators["or"](items)

    def conjunction(self) -> Condition:
        """Terms joined by ``and``."""
        items = [self.negation()]
        while self.word("and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else self.operators["and"](items)

    def negation(self) -> Condition:
        """``not`` a term, or an atom."""
        if self.word("not"):
            self.enter()
            inner = self.negation()
            self.depth -= 1
            return self.operators["not"](inner)  # type: ignore[no-any-return]
        return self.atom()

    def atom(self) -> Condition:
        """A parenthesized condition, ``true``, ``false``, a comparison or a call."""
        kind, text, position = self.peek()
        if text == "(" and kind == "punct":
            self.take()
            self.enter()
            inner = self.condition()
            self.depth -= 1
            self.expect(")")
            return inner
        if kind != "path":
            self.fail(
                position, f"a field, a function or '(', got {text or 'the end'!r}"
            )
        self.take()
        if text == "true":
            return self.operators["and"]([])  # type: ignore[no-any-return]
        if text == "false":
            return self.operators["or"]([])  # type: ignore[no-any-return]
        if self.at("("):
            called: Condition = self.call(text, position)
            return called
        return self.comparison(text, position)

    def comparison(self, path: str, position: int) -> Condition:
        """``path`` followed by an operator and its value."""
        kind, op, op_position = self.take()
        if op == "not" and kind == "path" and self.word("in"):
            op = "not in"
        cls = self.operators.get(op) if kind in {"op", "path"} else None
        if cls is None or op in {"and", "or", "not"}:
            return self.fail(
                op_position,
                f"a comparison (==, !=, <, <=, >, >=, in, not in) after {path!r}",
            )
        value = self.values() if op in {"in", "not in"} else self.value()
        built: Condition = self.build(cls, position, path, value)
        return built

    def call(
        self, name: str, position: int, registry: Registry = CONDITION_KINDS
    ) -> Any:
        """The kind ``name`` of ``registry`` in its function form (or its own hook)."""
        cls = registry.kinds().get(name)
        if cls is None or getattr(cls, "text_operator", None):
            functions = sorted(
                kind
                for kind, known in registry.kinds().items()
                if not getattr(known, "text_operator", None)
            )
            self.fail(
                position,
                f"one of the functions {', '.join(functions)}, got {name!r}",
            )
        self.expect("(")
        self.enter()
        hook = getattr(cls, "parse_text", None)
        built = (
            hook(self, position) if hook is not None else self.function(cls, position)
        )
        self.expect(")")
        self.depth -= 1
        return built

    def function(self, cls: type[Any], position: int) -> Condition:
        """Read the function form of ``cls`` (see the module) up to its ``)``."""
        fields = [a for a in attrs.fields(cls) if a.init]
        positional = [a for a in fields if a.default is attrs.NOTHING and not a.kw_only]
        by_name = {a.alias: a for a in fields}
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        while not self.at(")"):
            if args or kwargs:
                self.comma()
            kind, name, _ = self.peek()
            named = kind == "path" and self.peek(1)[1] == "="
            if named and name in by_name and name not in kwargs:
                self.index += 2
                kwargs[name] = self.argument(by_name[name])
            elif named or kwargs or len(args) == len(positional):
                self.fail(
                    self.peek()[2],
                    f"name=value for one of {', '.join(sorted(by_name))}"
                    if by_name
                    else "')': the function takes no arguments",
                )
            else:
                args.append(self.argument(positional[len(args)]))
        built: Condition = self.build(cls, position, *args, **kwargs)
        return built

    def argument(self, attribute: attrs.Attribute[Any]) -> Any:
        """One argument for a field, read by the field's role."""
        role = attribute.metadata.get("crmcore")
        if role == "path":
            return self.path()
        if role == "duration":
            return self.duration()
        if role == "instant":
            return self.instant()
        if role == "values":
            return self.values()
        if role == "condition":
            return self.condition()
        return self.literal()

    def literal(self) -> Any:
        """Whatever comes: a value, a set of values, a duration or a condition."""
        kind, text, _ = self.peek()
        if kind == "duration":
            return self.duration()
        if kind == "punct" and text == "{":
            return self.values()
        if kind == "path" and text not in {"true", "false"}:
            return self.condition()
        return self.value()

    # -- literals ------------------------------------------------------------------
    def path(self) -> str:
        """A field path."""
        kind, text, position = self.take()
        if kind != "path":
            self.fail(position, f"a field path, got {text or 'the end'!r}")
        return text

    def string(self) -> str:
        """A string in double quotes."""
        kind, text, position = self.take()
        if kind != "string":
            self.fail(position, f"a string in double quotes, got {text or 'the end'!r}")
        return re.sub(r"\\(.)", r"\1", text[1:-1])

    def integer(self) -> int:
        """A whole number."""
        kind, text, position = self.take()
        if kind != "number" or "." in text:
            self.fail(position, f"a whole number, got {text or 'the end'!r}")
        return int(self.number(text, position))

    def duration(self) -> Duration:
        """A duration such as ``30d``."""
        kind, text, position = self.take()
        if kind != "duration":
            self.fail(position, f"a duration such as 30d, got {text or 'the end'!r}")
        try:
            return Duration.parse(text)
        except DataError as error:
            self.fail(position, f"{error.expected}, got {text!r}")

    def number(self, text: str, position: int) -> int | Decimal:
        """A number token as an int or Decimal, in crmcore's range of numbers."""
        try:
            # Checked as a Decimal first: int() of a long string is slow.
            exact = to_decimal(text, "value")
        except DataError as error:
            self.fail(position, f"{error.expected}, got {text[:40]!r}")
        return exact if "." in text else int(exact)

    def instant(self) -> datetime:
        """An aware instant such as ``@2026-01-01T00:00:00+00:00``."""
        position = self.peek()[2]
        value = self.value()
        if not isinstance(value, datetime):
            self.fail(position, "an instant such as @2026-01-01T00:00:00+00:00")
        return value

    def value(self) -> ConditionValue:
        """A comparison value: string, number, money, true/false, @date."""
        kind, text, position = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            number = self.number(text, position)
            currency_kind, currency, _ = self.peek()
            if currency_kind == "path" and re.fullmatch(r"[A-Z]{3}", currency):
                self.take()
                return self.build(Money, position, number, currency)
            return number
        if kind == "path" and text in {"true", "false"}:
            return text == "true"
        if kind == "instant":
            body = text[1:]
            try:
                if "T" in body:
                    return require_aware(datetime.fromisoformat(body), "value")
                return date.fromisoformat(body)
            except (ValueError, CrmcoreError) as error:
                self.fail(position, f"a valid date or aware instant ({error})")
        expected = "a value (string, number, true/false, @date, money)"
        return self.fail(position, f"{expected}, got {text or 'the end'!r}")

    def values(self) -> list[ConditionValue]:
        """A set of values in braces: ``{1, 2}``."""
        self.expect("{")
        items: list[ConditionValue] = []
        if self.peek()[1] == "}":
            self.take()
            return items
        items.append(self.value())
        while self.peek()[1] == ",":
            self.take()
            items.append(self.value())
        self.expect("}")
        return items


def _checked_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise DataTypeError("text", text, f"{what} text")
    if len(text) > MAX_TEXT:
        raise DefinitionError(
            f"{what} text",
            [Problem("$", f"at most {MAX_TEXT} characters, got {len(text)}")],
        )
    return text


def parse_kind(text: str, registry: Registry) -> Any:
    """Read the function form of one kind of ``registry`` (e.g. an exit criterion).

    Raises:
        DefinitionError: With the column of the first problem.
    """
    what = registry.what.removesuffix(" kind")
    return TextParser(_checked_text(text, what)).parse_kind(registry)


def parse_condition(text: str) -> Condition:
    r"""Read the text form of a condition.

    The text form is what [`to_text`][crmcore.conditions.to_text] prints.

    The grammar: comparisons ``field == value`` (``!=``, ``<``, ``<=``, ``>``,
    ``>=``), ``field in {v, ...}`` and ``field not in {...}``; the functions
    ``contains``, ``starts_with``, ``ends_with``, ``exists``, ``missing``,
    ``between``, ``within_last``, ``older_than``, ``before``, ``after``,
    ``count`` and ``at_least``, and every registered kind in its function
    form (see [`TextParser`][crmcore.conditions.TextParser]);
    ``and``, ``or``, ``not`` and parentheses;
    ``true`` and ``false``. Values are ``"strings"`` (with ``\\"`` escapes),
    numbers (a decimal point makes a ``Decimal``), ``true`` / ``false``,
    ``@2026-01-31`` dates, ``@2026-01-31T09:00:00+01:00`` instants and money
    such as ``10000 EUR``.

    The parser never evaluates code: it scans tokens with anchored patterns and
    builds condition values. Text longer than ``MAX_TEXT`` characters or nested
    deeper than ``MAX_DEPTH`` is rejected.

    Raises:
        DefinitionError: With the column of the first problem.

    Examples:
        >>> from crmcore.conditions import matches
        >>> rule = parse_condition('industry in {"saas"} and employees >= 50')
        >>> matches(rule, {"industry": "saas", "employees": 80})
        True
        >>> to_text(parse_condition("not (exists(email)) or within_last(seen, 30d)"))
        'not (exists(email)) or within_last(seen, 30d)'
    """
    return TextParser(_checked_text(text, "condition")).parse()
