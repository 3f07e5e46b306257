"""One configured cattrs converter: crmcore values to JSON-ready dicts and back.

Every public crmcore value (records, money, periods, and the definitions of
later modules) unstructures to plain ``dict`` / ``list`` / ``str`` / ``int`` /
``bool`` / ``None`` data that ``json.dumps`` accepts, and structures back to an
equal value. Conventions:

* ``Decimal`` becomes a string (``"12.50"``): JSON numbers are floats in most
  readers, and crmcore never takes a float as money. Structuring accepts a
  string, an int, or a ``Decimal`` (``json.loads(..., parse_float=Decimal)``,
  which [`from_json`][crmcore.serialization.from_json] uses).
* ``datetime`` becomes ISO 8601 with its UTC offset
  (``"2026-03-01T09:00:00+01:00"``); a string without an offset is rejected.
* ``date`` becomes ``"2026-03-01"``; a working window ``"09:00-12:00"``;
  a ``timedelta`` (elapsed or business time) ``"1h30m"``; an ownership
  asset ``"stage:proposal"``; a calendar unit
  becomes ``"month"`` or, for fiscal units,
  ``{"kind": "fiscal_year", "fiscal_start_month": 4}``.
* Unknown keys are errors (a typo in a definition must not pass silently).

Structuring never raises cattrs' own exceptions: every problem is collected and
raised together in one [`DefinitionError`][crmcore.errors.DefinitionError],
one line per problem with its JSON path::

    2 problems in Opportunity:
      $.amount: expected a Decimal, int or numeric string, got 1.5 (float)
      $.currency: expected an active ISO 4217 currency code ..., got 'eur' (str)

Examples:
    >>> from crmcore.money import Money
    >>> unstructure(Money("12.50", "EUR"))
    {'amount': '12.50', 'currency': 'EUR'}
    >>> structure({"amount": "12.50", "currency": "EUR"}, Money)
    Money('12.50', 'EUR')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import (
    Any,
    Final,
    Literal,
    TypeVar,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    overload,
)

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, override

from crmcore import (
    pipelines,  # noqa: F401 - registers the criterion kinds
    scoring,  # noqa: F401 - registers the rule and decay kinds
)
from crmcore.business_time import WorkingWindow
from crmcore.calendar import PeriodUnit, duration_text, require_aware
from crmcore.conditions import Duration
from crmcore.errors import (
    DataError,
    DataTypeError,
    DefinitionError,
    Problem,
    UnknownKindError,
    describe_value,
)
from crmcore.kpis import GroupedResult
from crmcore.money import MAX_DIGITS, Money, to_decimal
from crmcore.ownership import Asset
from crmcore.records import FrozenMap, Missing
from crmcore.registry import Registry, registries, registry_of, unstructure_kind
from crmcore.validators import check_one_of

__all__ = [
    "MAX_JSON",
    "converter",
    "from_json",
    "from_row",
    "make_converter",
    "parse_json",
    "structure",
    "to_json",
    "to_row",
    "unstructure",
]

T = TypeVar("T")


def _structure_str(value: object, _type: object) -> str:
    if isinstance(value, str):
        return value
    raise DataTypeError("value", value, "a string")


def _structure_int(value: object, _type: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise DataTypeError("value", value, "an integer")


def _structure_bool(value: object, _type: object) -> bool:
    if isinstance(value, bool):
        return value
    raise DataTypeError("value", value, "true or false")


def _structure_literal(value: object, literal: object) -> object:
    """A ``Literal[...]`` choice: the validators' one-of message, not cattrs' own."""
    return check_one_of(value, "value", get_args(literal))


def _structure_decimal(value: object, _type: object) -> Decimal:
    return to_decimal(value, "value")


def _structure_datetime(value: object, _type: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise DataError(
                "value", value, "an ISO 8601 datetime with offset"
            ) from None
        return require_aware(parsed, "value")
    return require_aware(value, "value")


def _structure_date(value: object, _type: object) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise DataError(
                "value", value, "an ISO 8601 date like '2026-03-01'"
            ) from None
    if type(value) is date:
        return value
    raise DataTypeError("value", value, "an ISO 8601 date string")


_ELAPSED: Final = re.compile(
    r"(-)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})(?:\.(\d{1,6}))?s)?", re.ASCII
)
_ELAPSED_WORDS: Final = "a duration such as '4h', '1h30m' or '90s'"


def _structure_timedelta(value: object, _type: object) -> timedelta:
    if type(value) is timedelta:
        return value
    if not isinstance(value, str):
        raise DataTypeError("value", value, _ELAPSED_WORDS)
    found = _ELAPSED.fullmatch(value.strip())
    if found is None or not any(found.group(2, 3, 4)):
        raise DataError("value", value, _ELAPSED_WORDS)
    sign, hours, minutes, seconds, fraction = found.groups()
    amount = timedelta(
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
        microseconds=int((fraction or "").ljust(6, "0")),
    )
    return -amount if sign else amount


def _parsed(cls: Any) -> Callable[[object, object], Any]:
    """The structure hook of a value whose JSON form is its text (``cls.parse``)."""

    def structure_text(value: object, _type: object) -> Any:
        if isinstance(value, cls):
            return value
        try:
            return cls.parse(value)
        except DataError as error:  # the same words, for the field being structured
            raise type(error)("value", value, error.expected, hint=error.hint) from None

    return structure_text


def _unstructure_unit(unit: PeriodUnit) -> object:
    if unit.fiscal_start_month == 1 and not unit.kind.startswith("fiscal"):
        return unit.kind
    return {"kind": unit.kind, "fiscal_start_month": unit.fiscal_start_month}


class _FieldProblemsError(Exception):
    """Every problem of one object, with paths relative to it (``$`` = the object)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


class _Unchecked(Exception):  # noqa: N818 - a signal, never seen by users
    """A validator read a field that failed itself (its problem is reported)."""


class _Checked:
    """The fields checked so far, as a validator's ``instance`` sees them."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise _Unchecked(name)


def _known_failures(failure: BaseException) -> dict[str, BaseException]:
    """The fields whose structuring failed, by name, from cattrs' own error."""
    # cattrs' detailed validation wraps every failure of a class (a field's,
    # an unknown key, the constructor's) in one ClassValidationError.
    if not isinstance(failure, ClassValidationError):  # pragma: no cover
        return {}
    with_notes, _ = failure.group_exceptions()
    return {note.name: sub for sub, note in with_notes}


def _diagnose(
    conv: cattrs.Converter,
    cls: type[Any],
    value: Mapping[str, Any],
    passthrough: frozenset[str],
    failure: BaseException,
) -> list[Problem]:
    """Check each field of ``cls`` on its own so that all problems are found.

    Runs only after structuring failed: attrs stops at the first failing
    validator, but a user fixing a definition wants to see every problem.
    ``passthrough`` names the fields whose raw value goes straight to the
    attrs converter. A field whose structuring already failed in ``failure``
    is not structured again (a nested definition that failed has diagnosed
    itself): the cost stays linear in the size of the definition.
    """
    known = _known_failures(failure)
    fields = attrs.fields(cls)
    problems: list[Problem] = []
    names = [a.alias for a in fields if a.init]
    expected = f"unknown field; expected one of {', '.join(sorted(names))}"
    problems.extend(
        Problem(_join("$", key), expected) for key in value if key not in names
    )
    seen: dict[str, Any] = {}
    for field in fields:
        if not field.init:
            continue
        key = field.alias
        if key not in value:
            if field.default is attrs.NOTHING:
                problems.append(Problem(_join("$", key), "required field is missing"))
            continue
        if field.name in known:
            problems.extend(
                _problems(known[field.name], _join("$", key), relative=True)
            )
            continue
        try:
            raw = value[key]
            direct = field.converter is not None and field.name in passthrough
            if direct:
                converted = field.converter(raw)
            else:
                converted = conv.structure(raw, field.type)
                if field.converter is not None:
                    converted = field.converter(converted)
            if field.validator is not None:
                field.validator(_Checked(seen), field, converted)
            seen[field.name] = converted
        except _Unchecked:
            continue  # it depends on a field whose problem is reported
        except Exception as error:
            problems.extend(_problems(error, _join("$", key), relative=True))
    return problems


def _attrs_structure_factory(conv: cattrs.Converter) -> Callable[[type[Any]], Any]:
    def factory(cls: type[Any]) -> Callable[[object, type[Any]], Any]:
        attrs.resolve_types(cls)
        # Every field is structured by its type, then checked again by its
        # attrs converter and validators. Fields marked in their metadata
        # (comparison values, durations) take raw JSON: their converters
        # decode the tagged forms themselves.
        passthrough = frozenset(
            a.name for a in attrs.fields(cls) if a.metadata.get("crmcore_raw")
        )
        overrides: dict[str, Any] = {
            name: override(struct_hook=_raw) for name in passthrough
        }
        inner = make_dict_structure_fn(
            cls,
            conv,
            _cattrs_forbid_extra_keys=True,
            _cattrs_prefer_attrib_converters=False,
            _cattrs_detailed_validation=True,
            **overrides,
        )
        name = cls.__name__
        # A registered kind carries its ``kind`` tag in JSON: accept it (and
        # only its own name) whether it arrives through its family or directly.
        kind = getattr(cls, "kind", None) if registry_of(cls) is not None else None

        def structure_attrs(value: object, cl: type[Any]) -> Any:
            if not isinstance(value, Mapping):
                raise DataTypeError(
                    "value", value, f"an object with the fields of {name}"
                )
            if kind is not None and "kind" in value:
                if value["kind"] != kind:
                    raise _FieldProblemsError(
                        [
                            Problem(
                                "$.kind",
                                f"expected {kind!r}, got "
                                f"{describe_value(value['kind'])}",
                            )
                        ]
                    )
                value = {k: v for k, v in value.items() if k != "kind"}
            try:
                return inner(value, cl)
            except Exception as failure:
                problems = _diagnose(conv, cls, value, passthrough, failure)
                if problems:
                    raise _FieldProblemsError(problems) from None
                # Only a cross-field rule failed; its error names the field.
                raise

        return structure_attrs

    return factory


def _raw(value: object, _type: object) -> object:
    return value


def _family(cls: object) -> Registry | None:
    """The registry whose family type (e.g. ``Condition``) ``cls`` is."""
    for registry in registries():
        if registry.protocol is cls:
            return registry
    return None


def _structure_kind(
    conv: cattrs.Converter,
) -> Callable[[object, type[Any]], Any]:
    def structure_kind(data: object, family: type[Any]) -> Any:
        registry = _family(family)
        assert registry is not None  # the hook's predicate chose it
        return registry.structure(data, conv.structure)

    return structure_kind


def _structure_unit(value: object, _type: object) -> PeriodUnit:
    if isinstance(value, str):
        return PeriodUnit(value)  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        extra = set(value) - {"kind", "fiscal_start_month"}
        if extra or "kind" not in value:
            raise DataError(
                "value", value, "a unit name or {'kind': ..., 'fiscal_start_month': m}"
            )
        return PeriodUnit(
            value["kind"], fiscal_start_month=value.get("fiscal_start_month", 1)
        )
    raise DataTypeError("value", value, "a unit name like 'month'")


def make_converter() -> cattrs.Converter:
    """Build a new converter configured with crmcore's conventions.

    Use it to add hooks for your own types without touching the shared
    [`converter`][crmcore.serialization.converter]; later crmcore modules
    register their definition types on the shared one when imported.

    Examples:
        >>> from crmcore.money import Money
        >>> make_converter().unstructure(Money(5, "USD"))
        {'amount': '5', 'currency': 'USD'}
    """
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook_func(
        lambda t: get_origin(t) is cast(Any, Literal), _structure_literal
    )
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(date, _structure_date)
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_structure_hook(PeriodUnit, _structure_unit)
    conv.register_structure_hook_func(
        lambda t: t == Mapping[str, Any], lambda value, _t: FrozenMap.of(value)
    )
    conv.register_unstructure_hook(PeriodUnit, _unstructure_unit)
    # Elapsed time (an SLA target) is its text form, "4h" or "1h30m".
    conv.register_structure_hook(timedelta, _structure_timedelta)
    conv.register_unstructure_hook(timedelta, duration_text)
    # An ownership asset is its text form, "stage:proposal".
    conv.register_structure_hook(Asset, _parsed(Asset))
    conv.register_unstructure_hook(Asset, str)
    # A calendar duration (a refresh cadence) is its text form, "90d" or "1y6mo".
    conv.register_structure_hook(Duration, _parsed(Duration))
    conv.register_unstructure_hook(Duration, str)
    # A working window is its text form, "09:00-17:00".
    conv.register_structure_hook(WorkingWindow, _parsed(WorkingWindow))
    conv.register_unstructure_hook(WorkingWindow, str)
    # MISSING (a field the record does not have) is null in JSON.
    conv.register_unstructure_hook(Missing, lambda _missing: None)
    # Fields typed ``object`` (an explanation's actual value, a criterion's
    # actual) unstructure by the value's own type, like ``Any``.
    conv.register_unstructure_hook_func(
        lambda t: t is object,
        lambda value: value if type(value) is object else conv.unstructure(value),
    )
    conv.register_unstructure_hook(
        FrozenMap, lambda m: {k: conv.unstructure(v) for k, v in m.items()}
    )
    # Group keys may be periods, intervals or None: a list of pairs (in key
    # order) is the JSON shape every key fits.
    conv.register_unstructure_hook(
        GroupedResult,
        lambda grouped: {
            "groups": [
                {"group": conv.unstructure(key), "result": conv.unstructure(result)}
                for key, result in grouped.items()
            ]
        },
    )
    conv.register_structure_hook_factory(attrs.has, _attrs_structure_factory(conv))
    # Every family of kinds (conditions, exit criteria, and those of later
    # modules and vendors): the family type structures by the ``kind`` tag,
    # and every registered class unstructures with its tag first.
    conv.register_structure_hook_func(
        lambda cls: _family(cls) is not None, _structure_kind(conv)
    )
    conv.register_unstructure_hook_func(
        lambda cls: _family(cls) is not None or registry_of(cls) is not None,
        lambda value: unstructure_kind(value, conv.unstructure),
    )
    return conv


converter: Final[cattrs.Converter] = make_converter()
"""The shared converter. crmcore modules register their definition types here."""


def unstructure(value: object) -> Any:
    """Turn a crmcore value into JSON-ready data (dicts, lists, strings...).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.records import StageChange
        >>> unstructure(StageChange("o-1", None, "new",
        ...     datetime(2026, 1, 1, tzinfo=timezone.utc)))["at"]
        '2026-01-01T00:00:00+00:00'
    """
    return converter.unstructure(value)


@overload
def structure(data: object, cls: type[T]) -> T: ...
@overload
def structure(data: object, cls: object) -> Any: ...
def structure(data: object, cls: Any) -> Any:
    """Build a crmcore value of type ``cls`` from JSON-ready data.

    Raises:
        DefinitionError: With every problem found, each with its ``$.path``.

    Examples:
        >>> from crmcore.money import Money
        >>> structure({"amount": 5, "currency": "EUR"}, Money)
        Money('5', 'EUR')
    """
    if not isinstance(cls, type) and get_origin(cls) is None:
        raise DataTypeError("cls", cls, "a type to structure into, such as Pipeline")
    try:
        return converter.structure(data, cls)
    except Exception as error:
        problems = _problems(error, "$")
        if not problems:  # pragma: no cover - every error yields a line
            raise
        raise DefinitionError(getattr(cls, "__name__", str(cls)), problems) from None


def to_json(value: object, *, indent: int | None = None) -> str:
    """Serialize a crmcore value to a JSON string.

    Raises:
        DataTypeError: For a value with no JSON form (an arbitrary object, a
            float NaN or infinity, a cycle), naming what was found, and for
            an ``indent`` other than ``None`` or 0 to 16.

    Examples:
        >>> from crmcore.money import Money
        >>> to_json(Money("1.50", "EUR"))
        '{"amount": "1.50", "currency": "EUR"}'
    """
    if indent is not None and type(indent) is not int:
        raise DataTypeError("indent", indent, "None or an int from 0 to 16")
    if indent is not None and not 0 <= indent <= 16:
        raise DataError("indent", indent, "None or an int from 0 to 16")
    try:
        return json.dumps(
            unstructure(value), indent=indent, ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError, RecursionError) as error:
        # A value holding something JSON has no form for (an object, a float
        # NaN, a cycle): say what, never write invalid JSON.
        raise DataTypeError(
            "value",
            value,
            f"a value that unstructures to plain JSON ({error})",
        ) from None


@overload
def from_json(text: str | bytes, cls: type[T]) -> T: ...
@overload
def from_json(text: str | bytes, cls: object) -> Any: ...
def from_json(text: str | bytes, cls: Any) -> Any:
    """Parse JSON text into a crmcore value; JSON numbers with a fraction become
    ``Decimal``, never ``float``.

    The input is untrusted: at most ``MAX_JSON`` characters (or bytes, which
    must be UTF-8), numbers in crmcore's range (``money.MAX_DIGITS`` digits
    on each side of the point) and nesting a parser can follow; every breach
    is a ``DefinitionError`` naming what was refused.

    Raises:
        DefinitionError: For invalid or oversized JSON or any structuring
            problem.
    """  # noqa: D205
    return structure(parse_json(text, what=getattr(cls, "__name__", str(cls))), cls)


def parse_json(text: str | bytes, *, what: str = "JSON") -> Any:
    """Parse untrusted JSON text into plain data, as ``from_json`` does.

    The limits of [`from_json`][crmcore.serialization.from_json] hold (size,
    UTF-8, digits, nesting), and fractions become ``Decimal``. Use it to look
    at a document before structuring it (a playbook's ``version``).

    Raises:
        DefinitionError: For invalid or oversized JSON, naming ``what``.

    Examples:
        >>> parse_json('{"amount": 1.50}')
        {'amount': Decimal('1.50')}
    """

    def refuse(message: str) -> DefinitionError:
        return DefinitionError(what, [Problem("$", message)])

    if not isinstance(text, str | bytes | bytearray):
        raise DataTypeError("text", text, "a JSON document (str or bytes)")
    if len(text) > MAX_JSON:
        raise refuse(f"JSON of at most {MAX_JSON:,} characters, got {len(text):,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise refuse(f"UTF-8 text; byte {error.start} is not UTF-8") from None
    try:
        return json.loads(text, parse_float=_json_decimal, parse_int=_json_int)
    except json.JSONDecodeError as error:
        raise refuse(
            f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except DataError as error:
        raise refuse(_message(error)) from None
    except RecursionError:
        raise refuse("JSON nested too deeply to read") from None


MAX_JSON: Final = 10_000_000
"""The largest JSON text ``from_json`` reads, in characters (or bytes)."""


def _json_int(text: str) -> int:
    # Checked on the digits: int() of a long string is quadratic and refused
    # past 4,300 digits.
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise DataError("value", text, f"an integer of at most {MAX_DIGITS} digits")
    return int(text)


def _json_decimal(text: str) -> Decimal:
    return to_decimal(text, "value")


# ---------------------------------------------------------------------------
# Rendering cattrs' exception groups as ``$.path: message`` problems
# ---------------------------------------------------------------------------
def _join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    if name.isidentifier() or _RELATIVE_PATH.fullmatch(name):
        # A name, or a path below it that a cross-field check reported
        # (``weekday_hours[0].weekday``).
        return f"{path}.{name}"
    return f"{path}[{name!r}]"


_RELATIVE_PATH: Final = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*")


def _message(error: BaseException) -> str:
    if isinstance(error, DataError):
        message = f"expected {error.expected}, got {describe_value(error.value)}"
        return f"{message}; {error.hint}" if error.hint else message
    # A user's own validator may raise anything; keep its type in the message.
    return f"{type(error).__name__}: {error}"


def _problems(
    error: BaseException, path: str, *, relative: bool = False
) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(error, (ClassValidationError, IterableValidationError)):
        with_notes, without = error.group_exceptions()
        for sub, note in with_notes:
            key = note.name if isinstance(error, ClassValidationError) else note.index  # type: ignore[union-attr]
            problems.extend(_problems(sub, _join(path, cast(str | int, key))))
        for sub in without:
            problems.extend(_problems(sub, path))
    elif isinstance(error, UnknownKindError):
        problems.append(Problem(path + error.path[1:], error.message))
    elif isinstance(error, DefinitionError):
        # A value validated as a whole (a pipeline): its problems, under our path.
        problems.extend(Problem(path + p.path[1:], p.message) for p in error.problems)
    elif isinstance(error, _FieldProblemsError):
        problems.extend(Problem(path + p.path[1:], p.message) for p in error.problems)
    elif isinstance(error, DataError) and error.field != "value" and not relative:
        # Raised by a constructor's own validation: the field is relative to
        # the object being built at ``path``.
        problems.append(Problem(_join(path, error.field), _message(error)))
    else:
        problems.append(Problem(path, _message(error)))
    return problems


# ---------------------------------------------------------------------------
# Flat rows: what CSV files and DataFrames hold
# ---------------------------------------------------------------------------
def _currency_column(name: str, names: Collection[str]) -> str:
    """Where a money field's currency goes in a flat row."""
    return "currency" if "currency" not in names else f"{name}_currency"


def to_row(record: object) -> dict[str, Any]:
    """A record as one flat row of plain values: a CSV line, a DataFrame row.

    Money becomes its amount plus a ``currency`` column
    (``<field>_currency`` when the record has a ``currency`` of its own),
    a mapping (custom ``fields``, ``properties``) becomes dotted columns
    (``fields.region``); every other value stays as it is (aware datetimes,
    ``Decimal`` amounts). [`from_row`][crmcore.serialization.from_row]
    reads it back.

    Raises:
        DataTypeError: For something that is not an attrs record.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.money import Money
        >>> from crmcore.records import Subscription
        >>> sub = Subscription("c1", Money("99.50", "EUR"),
        ...                    datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> row = to_row(sub)
        >>> row["mrr"], row["currency"]
        (Decimal('99.50'), 'EUR')
        >>> from_row(row, Subscription) == sub
        True
    """
    if not attrs.has(type(record)):
        raise DataTypeError("record", record, "an attrs record (an Opportunity...)")
    fields = attrs.fields(type(record))  # type: ignore[arg-type]
    names = {field.name for field in fields}
    row: dict[str, Any] = {}
    for field in fields:
        value = getattr(record, field.name)
        if isinstance(value, Money):
            row[field.name] = value.amount
            row[_currency_column(field.name, names)] = value.currency
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                row[f"{field.name}.{key}"] = inner
        else:
            row[field.name] = value
    return row


def from_row(row: Mapping[str, Any], cls: type[T]) -> T:
    """The record of a flat row: what [`to_row`][crmcore.serialization.to_row] made.

    Dotted columns nest, an amount and its currency column join into
    ``Money``, and the result is structured as
    [`structure`][crmcore.serialization.structure] does (values may be
    JSON-ready text or native datetimes and Decimals). A row that already
    nests (``{"mrr": {"amount": ..., "currency": ...}}``) reads as it is.

    Raises:
        DataTypeError: For a row that is not a mapping or a class that is not
            an attrs record.
        DefinitionError: With every problem of the row, each with its path.
    """
    if not isinstance(row, Mapping):
        raise DataTypeError("row", row, "a mapping of column to value")
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise DataTypeError("cls", cls, "an attrs record class (Opportunity...)")
    nested: dict[str, Any] = {}
    for column, value in row.items():
        if not isinstance(column, str):
            raise DataTypeError("row", column, "a column name (str)")
        *parents, last = column.split(".")
        target = nested
        for part in parents:
            inner = target.setdefault(part, {})
            if not isinstance(inner, dict):
                raise DataError(column, value, f"a column outside the value {part!r}")
            target = inner
        if isinstance(target.get(last), dict) and not isinstance(value, Mapping):
            raise DataError(column, value, "a value without columns inside it")
        target[last] = value
    fields = attrs.fields(cls)
    names = {field.name for field in fields}
    hints = get_type_hints(cls)
    for field in fields:
        hint = hints.get(field.name)
        options = get_args(hint) or (hint,)
        amount = nested.get(field.name)
        if Money not in options or amount is None or isinstance(amount, Mapping):
            continue
        currency = _currency_column(field.name, names)
        nested[field.name] = {"amount": amount, "currency": nested.pop(currency, None)}
    return cast(T, structure(nested, cls))
