"""Comparison values and durations: what conditions compare fields with.

Values are exact and storable (``str``, ``int``, ``bool``, ``Decimal``, aware
``datetime``, ``date``, [`Money`][crmcore.money.Money]); their JSON form tags
the types JSON lacks (``{"decimal": "1.5"}``); their text form is what
[`to_text`][crmcore.conditions.to_text] prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeAlias

import attrs

from crmcore import validators as _v
from crmcore.calendar import add_calendar, require_aware
from crmcore.errors import CrmcoreError, DataError, DataTypeError
from crmcore.money import Money, to_decimal

__all__ = ["ConditionValue", "Duration"]

ConditionValue: TypeAlias = str | int | bool | Decimal | datetime | date | Money
"""Values conditions compare with: exact and storable (no float, no ``None``)."""


_non_negative = _v.non_negative_int()


def _value(value: ConditionValue) -> ConditionValue:
    """The attrs converter of comparison values (typed for users' type checkers)."""
    return _to_value(value)


def _to_value(value: object, name: str = "value") -> ConditionValue:
    """Validate (and decode from JSON form) one comparison value."""
    if isinstance(value, (bool, str, Money, date)):
        if isinstance(value, datetime):
            return require_aware(value, name)
        return value
    if isinstance(value, int):
        to_decimal(value, name)  # in crmcore's range of numbers
        return value
    if isinstance(value, Decimal):
        return to_decimal(value, name)
    if isinstance(value, Mapping):
        return _decode_value(value, name)
    if isinstance(value, float):
        raise DataTypeError(
            name,
            value,
            "an exact value (str, int, bool, Decimal, datetime, date or Money)",
            hint=f"floats are not exact; use Decimal({str(value)!r})",
        )
    if value is None:
        raise DataTypeError(
            name,
            value,
            "a value to compare with",
            hint="test absence with exists/missing",
        )
    raise DataTypeError(
        name, value, "a str, int, bool, Decimal, datetime, date or Money"
    )


def _decode_value(value: Mapping[str, Any], name: str) -> ConditionValue:
    """Read the JSON forms of non-JSON values: ``{"decimal": "1.5"}`` and friends."""
    keys = set(value)
    try:
        if keys == {"decimal"}:
            return to_decimal(value["decimal"], name)
        if keys == {"datetime"} and isinstance(value["datetime"], str):
            return require_aware(datetime.fromisoformat(value["datetime"]), name)
        if keys == {"date"} and isinstance(value["date"], str):
            return date.fromisoformat(value["date"])
        if keys == {"amount", "currency"}:
            return Money(value["amount"], value["currency"])
    except ValueError as error:
        if isinstance(error, CrmcoreError):
            raise
        raise DataError(name, value, "a valid tagged value") from None
    raise DataError(
        name,
        value,
        "a tagged value: {'decimal': '1.5'}, {'datetime': '...+00:00'}, "
        "{'date': '2026-01-01'} or {'amount': '10', 'currency': 'EUR'}",
    )


def _encode_value(value: ConditionValue) -> object:
    """The JSON form of a comparison value (inverse of ``_to_value``)."""
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return {"amount": str(value.amount), "currency": value.currency}


def _to_values(values: object) -> tuple[ConditionValue, ...]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise DataTypeError("values", values, "a list or set of values")
    items = [_to_value(v, f"values[{i}]") for i, v in enumerate(values)]
    # Sets have no order; sort so that equal definitions serialize equally.
    if isinstance(values, (set, frozenset)):
        items.sort(key=lambda v: (type(v).__name__, repr(v)))
    return tuple(items)


_DURATION_PART: Final = re.compile(r"(\d+)(y|mo|w|d|h|m|s)")
_DURATION_UNITS: Final = (
    ("years", "y"),
    ("months", "mo"),
    ("weeks", "w"),
    ("days", "d"),
    ("hours", "h"),
    ("minutes", "m"),
    ("seconds", "s"),
)


MAX_DURATION_DAYS: Final = 3_660_000
"""The longest duration, in days (about 10,000 years: what a datetime spans)."""
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)


@attrs.frozen
class Duration:
    """A span of time for recency conditions, e.g. ``30d`` or ``1y6mo``.

    Years, months, weeks and days are **calendar** units counted back on the
    wall clock of ``as_of`` (so "1mo" before March 31 is the last day of
    February, and "1d" is one calendar day across a DST change); hours,
    minutes and seconds are elapsed time.

    The text form joins ``<n><unit>`` parts, largest first: ``y``, ``mo``,
    ``w``, ``d``, ``h``, ``m``, ``s`` (``"1y2mo"``, ``"90d"``, ``"36h"``).

    Examples:
        >>> Duration.parse("1y2mo").months
        2
        >>> str(Duration(days=30))
        '30d'
    """

    years: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    months: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    weeks: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    days: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    hours: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    minutes: int = attrs.field(default=0, validator=_non_negative, kw_only=True)
    seconds: int = attrs.field(default=0, validator=_non_negative, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not any(getattr(self, name) for name, _ in _DURATION_UNITS):
            raise DataError("duration", str(self), "a positive duration such as '30d'")
        days = (
            self.years * 366
            + self.months * 31
            + self.weeks * 7
            + self.days
            + (self.hours * 3600 + self.minutes * 60 + self.seconds) / 86400
        )
        if days > MAX_DURATION_DAYS:
            raise DataError(
                "duration",
                str(self),
                "a duration of at most 10,000 years (what a datetime spans)",
            )

    @classmethod
    def of(cls, value: object, field: str = "duration") -> Duration:
        """A duration from itself or its text form, errors naming ``field``.

        The one converter of every duration a definition holds (a refresh
        cadence, a decay period, a window).

        Examples:
            >>> Duration.of("90d", "refresh_every")
            Duration(years=0, months=0, weeks=0, days=90, hours=0, minutes=0, seconds=0)
        """
        if isinstance(value, Duration):
            return value
        if not isinstance(value, str):
            raise DataTypeError(field, value, "a Duration or a text such as '30d'")
        try:
            return cls.parse(value)
        except DataError as error:
            raise type(error)(field, value, error.expected) from None

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read the text form, e.g. ``"30d"``, ``"1y6mo"``, ``"2w3d"``.

        Raises:
            DataError: When the text is not a duration.
        """
        if not isinstance(text, str):
            raise DataTypeError("duration", text, "a duration such as '30d'")
        compact = text.strip().replace(" ", "")
        parts = _DURATION_PART.findall(compact)
        if not parts or "".join(n + u for n, u in parts) != compact:
            raise DataError(
                "duration", text, "a duration such as '30d', '2w', '6mo' or '1y'"
            )
        by_unit = {unit: name for name, unit in _DURATION_UNITS}
        values: dict[str, int] = {}
        for number, unit in parts:
            if len(number) > 9:  # int() of a long string is slow; no span needs it
                raise DataError("duration", text, "a duration of at most 10,000 years")
            if by_unit[unit] in values:
                raise DataError("duration", text, f"each unit once (repeated {unit!r})")
            values[by_unit[unit]] = int(number)
        return cls(**values)

    def __str__(self) -> str:
        return "".join(
            f"{getattr(self, name)}{unit}"
            for name, unit in _DURATION_UNITS
            if getattr(self, name)
        )

    def before(self, instant: datetime) -> datetime:
        """Return the instant this duration before ``instant`` (see the class docs).

        A span reaching before year 1 gives the earliest instant a datetime
        holds: "within the last 9,000 years" is then everything until
        ``instant``.
        """
        try:
            calendar = add_calendar(
                instant,
                years=-self.years,
                months=-self.months,
                weeks=-self.weeks,
                days=-self.days,
            )
            return calendar - _elapsed(self)
        except (OverflowError, ValueError):
            return _EARLIEST


def _elapsed(duration: Duration) -> timedelta:
    return timedelta(
        hours=duration.hours, minutes=duration.minutes, seconds=duration.seconds
    )


def _to_duration(value: Duration | str) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration.parse(value)
    raise DataTypeError("duration", value, "a Duration or a string such as '30d'")


def _fmt(value: object) -> str:
    """Text form of a value (what to_text prints)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, datetime):
        return f"@{value.isoformat()}"
    if isinstance(value, date):
        return f"@{value.isoformat()}"
    if isinstance(value, Money):
        return f"{value.amount} {value.currency}"
    return str(value)


def _fmt_set(values: Sequence[ConditionValue]) -> str:
    return "{" + ", ".join(_fmt(v) for v in values) + "}"


# Field roles: how the converter, the printer, the parser and the strategies
# treat a field of a kind (attrs metadata, so that a kind's class says it all).
PATH: Final = {"crmcore": "path"}
"""A field path read from the record (printed bare: ``email``)."""
VALUE: Final = {
    "crmcore": "value",
    "crmcore_raw": True,
    "crmcore_encode": _encode_value,
}
"""One comparison value (JSON: tagged where JSON has no such type)."""
VALUES: Final = {
    "crmcore": "values",
    "crmcore_raw": True,
    "crmcore_encode": lambda values: [_encode_value(v) for v in values],
}
"""A set of comparison values."""
DURATION: Final = {"crmcore": "duration", "crmcore_raw": True, "crmcore_encode": str}
"""A [`Duration`][crmcore.conditions.Duration] (JSON and text: ``"30d"``)."""
CONDITION: Final = {"crmcore": "condition"}
"""One sub-condition (or ``None``)."""
ITEM_CONDITION: Final = {"crmcore": "condition", "crmcore_items": True}
"""A sub-condition on each item of the kind's collection field (``count``)."""
CONDITIONS: Final = {"crmcore": "conditions"}
"""A list of sub-conditions."""
INSTANT: Final = {"crmcore": "instant"}
"""A fixed, aware instant (text: ``@2026-01-31T09:00:00+00:00``)."""
