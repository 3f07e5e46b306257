"""The crmcore error family.

Every error crmcore raises derives from [`CrmcoreError`][crmcore.errors.CrmcoreError]
*and* from the built-in exception it stands for, so ``except ValueError`` in
existing code keeps working. Each message names the field or path, shows the
offending value with its type, and says what was expected::

    amount: expected a Decimal, int or numeric string, got 1.5 (float);
    floats are not exact, pass Decimal('1.5') or use Money.from_float()

Definitions (pipelines, segments, scoring models) are validated as a whole:
[`DefinitionError`][crmcore.errors.DefinitionError] carries *every* problem
found, each with a JSON path such as ``$.stages[2].exit_criteria[0].field``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from types import ModuleType

import attrs

__all__ = [
    "CrmcoreError",
    "CurrencyMismatchError",
    "DataError",
    "DataTypeError",
    "DefinitionError",
    "MissingExtraError",
    "NaiveDatetimeError",
    "Problem",
    "UnknownKindError",
    "describe_value",
    "format_path",
    "import_extra",
]

_MAX_REPR = 80


def describe_value(value: object) -> str:
    """Render a value and its type for an error message, shortened if long.

    Examples:
        >>> describe_value(1.5)
        '1.5 (float)'
        >>> describe_value("x" * 100)[:12]
        "'xxxxxxxxxxx"
        >>> describe_value(10 ** 5000)
        'an int of about 5,001 digits (int)'
    """
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value.bit_length() > _MAX_REPR * 3
    ):
        # repr() of a huge int is slow, and refused past 4,300 digits.
        digits = int(value.bit_length() * 0.30103) + 1
        return f"an int of about {digits:,} digits (int)"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the error it describes
        text = f"<a {type(value).__name__} that cannot be shown>"
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 3] + "..."
    return f"{text} ({type(value).__name__})"


def format_path(parts: Iterable[str | int]) -> str:
    """Render path parts as a JSON path: strings as ``.name``, ints as ``[i]``.

    Examples:
        >>> format_path(["stages", 2, "exit_criteria", 0, "field"])
        '$.stages[2].exit_criteria[0].field'
        >>> format_path([])
        '$'
    """
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


class CrmcoreError(Exception):
    """Root of every error crmcore raises on purpose.

    Catch this to handle any crmcore failure; catch the built-in (``ValueError``,
    ``TypeError``, ``KeyError``) to treat crmcore like any other library.
    """


class DataError(CrmcoreError, ValueError):
    """A record or argument holds a value crmcore cannot accept.

    Attributes:
        field: The field or argument name (a dotted path for nested values).
        value: The offending value.
        expected: What would have been accepted, in words.
        hint: Optional advice on how to fix it.
    """

    def __init__(
        self, field: str, value: object, expected: str, *, hint: str | None = None
    ) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.hint = hint
        message = f"{field}: expected {expected}, got {describe_value(value)}"
        if hint:
            message = f"{message}; {hint}"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_data_error, (type(self), self.__dict__.copy(), str(self)))


def _rebuild_data_error(
    cls: type[DataError], state: dict[str, object], message: str
) -> DataError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class DataTypeError(DataError, TypeError):
    """A record or argument has a value of the wrong type (e.g. a float as money)."""


class NaiveDatetimeError(DataTypeError):
    """A datetime without a time zone reached a boundary that needs an instant.

    crmcore never guesses a time zone: attach one (``tzinfo=ZoneInfo("UTC")``)
    before passing the value in.
    """

    def __init__(self, field: str, value: object) -> None:
        super().__init__(
            field,
            value,
            "a timezone-aware datetime",
            hint="attach a tzinfo, e.g. value.replace(tzinfo=ZoneInfo('UTC'))",
        )


class CurrencyMismatchError(DataError):
    """Two amounts in different currencies met in one operation.

    crmcore never converts currencies silently; convert explicitly first.

    Attributes:
        currencies: The currencies that met, in the order seen.
    """

    def __init__(self, field: str, expected_currency: str, got_currency: str) -> None:
        super().__init__(
            field,
            got_currency,
            f"amounts in {expected_currency}",
            hint="crmcore never mixes currencies; convert amounts explicitly first",
        )
        self.currencies = (expected_currency, got_currency)


class MissingExtraError(CrmcoreError, ImportError):
    """An optional integration was used without the package it needs.

    Attributes:
        extra: The crmcore extra that installs it, e.g. ``"holidays"``.
    """

    def __init__(self, module: str, extra: str) -> None:
        self.extra = extra
        super().__init__(
            f"this needs the {module!r} package: pip install 'crmcore[{extra}]'",
            name=module,
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (MissingExtraError, (self.name, self.extra))


def import_extra(module: str, extra: str) -> ModuleType:
    """Import an optional package when it is first needed, or say which extra installs it.

    Raises:
        MissingExtraError: When ``module`` cannot be imported.

    Examples:
        >>> import_extra("json", "none").dumps([])
        '[]'
        >>> import_extra("not_a_real_module", "demo")
        Traceback (most recent call last):
        ...
        crmcore.errors.MissingExtraError: this needs the 'not_a_real_module' package: pip install 'crmcore[demo]'
    """  # noqa: E501
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, extra) from None


class UnknownKindError(CrmcoreError, KeyError):
    """A definition names a kind (of condition, criterion, unit...) nobody registered.

    Attributes:
        kind: The unknown name.
        known: The kinds that are registered, sorted.
        what: What sort of kind was looked up, e.g. ``"condition kind"``.
        path: Where in the definition the name appeared, if known.
    """

    def __init__(
        self, what: str, kind: object, known: Iterable[str], *, path: str = "$"
    ) -> None:
        self.what = what
        self.kind = kind
        self.known = tuple(sorted(known))
        self.path = path
        super().__init__(kind)

    @property
    def message(self) -> str:
        """The message without the path: what was unknown and what is known."""
        known = ", ".join(self.known) if self.known else "(none registered)"
        return f"unknown {self.what} {describe_value(self.kind)}; known: {known}"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_unknown_kind,
            (self.what, self.kind, self.known, self.path),
        )


def _rebuild_unknown_kind(
    what: str, kind: object, known: tuple[str, ...], path: str
) -> UnknownKindError:
    return UnknownKindError(what, kind, known, path=path)


def _text(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise DataTypeError(attribute.name, value, "a string")


@attrs.frozen
class Problem:
    """One problem found while validating a definition.

    Attributes:
        path: JSON path of the offending value, e.g. ``$.stages[2].key``.
        message: What is wrong and what was expected.
    """

    path: str = attrs.field(validator=_text)
    message: str = attrs.field(validator=_text)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(CrmcoreError, ValueError):
    """A definition (or a structured value) has one or more problems.

    All problems are collected before raising, so a user fixes a definition in
    one round trip instead of one error at a time.

    Attributes:
        what: What was being loaded, e.g. ``"Pipeline"``.
        problems: Every problem found, in document order.
    """

    def __init__(self, what: str, problems: Sequence[Problem]) -> None:
        if not problems:
            raise DataError("problems", problems, "at least one Problem")
        self.what = what
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{count} {noun} in {what}:\n{lines}")

    def __reduce__(self) -> tuple[object, ...]:
        return (DefinitionError, (self.what, self.problems))
