"""Instants, half-open intervals and calendar periods that are right across DST.

Three rules hold everywhere in crmcore:

1. **Instants are timezone-aware.** Every function that takes a ``datetime``
   rejects a naive one with [`NaiveDatetimeError`][crmcore.errors.NaiveDatetimeError].
   crmcore never assumes a zone for you.
2. **Intervals are half-open**, ``[start, end)``: an instant exactly at a
   period's end belongs to the next period. Consecutive periods therefore tile
   time with no gap and no overlap.
3. **Periods are local calendar periods.** A month in ``Europe/Berlin`` starts
   at local midnight on the 1st, which is 23:00 or 22:00 UTC depending on DST.
   A period is identified by its unit, its first local day and its IANA time
   zone name; [`Period.start`][crmcore.calendar.Period.start] and
   [`Period.end`][crmcore.calendar.Period.end] are the instants it covers.

Units: day, ISO week (Monday to Sunday), month, quarter, year, and fiscal
quarter and fiscal year starting in any month. A fiscal year is named after the
calendar year in which it *ends* (a year starting April 2026 is ``FY2027``);
a fiscal year that starts in January is the calendar year.

Calendar arithmetic uses ``dateutil.relativedelta``: one month after January 31
is the last day of February, at the same local wall-clock time.

Examples:
    >>> from datetime import datetime, timezone
    >>> moment = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)
    >>> period_of(moment, MONTH, tz="Europe/Berlin").label
    '2026-03'
    >>> period_of(moment, fiscal_year(4)).label
    'FY2026'
    >>> [p.label for p in periods_between(moment, moment.replace(month=6), QUARTER)]
    ['2026-Q1', '2026-Q2']
"""

from __future__ import annotations

import decimal
import functools
import re
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Final, Literal, get_args

import attrs
from dateutil.relativedelta import relativedelta

from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError

__all__ = [
    "DAY",
    "MAX_ZONE_NAME",
    "MONTH",
    "QUARTER",
    "WEEK",
    "YEAR",
    "Interval",
    "Period",
    "PeriodUnit",
    "UnitKind",
    "add_calendar",
    "duration_text",
    "fiscal_quarter",
    "fiscal_year",
    "period_of",
    "period_unit",
    "periods_between",
    "require_aware",
    "resolve_zone",
]


UnitKind = Literal[
    "day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"
]
"""The kinds of calendar period crmcore knows."""

_KINDS: Final = frozenset(get_args(UnitKind))

MICROSECOND: Final = timedelta(microseconds=1)
"""Divide a ``timedelta`` by this for exact integer microseconds."""
_MICROSECONDS_PER_DAY: Final = Decimal(86_400_000_000)
# A fixed context, so a caller's changed decimal context never changes a figure.
_EXACT: Final = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)


def days_from_microseconds(microseconds: int | Decimal, per: int = 1) -> Decimal:
    """``microseconds / per`` as days of 24 hours, rounded once (28 digits)."""
    return _EXACT.divide(
        Decimal(microseconds), _EXACT.multiply(_MICROSECONDS_PER_DAY, per)
    )


def duration_text(value: timedelta) -> str:
    """Elapsed time as hours, minutes and seconds: ``"1h30m"``, ``"0.25s"``.

    The text form crmcore writes for business-time targets in JSON and in
    explanations; a day is 24h.

    Examples:
        >>> duration_text(timedelta(hours=36, minutes=5))
        '36h5m'
        >>> duration_text(timedelta(seconds=30))
        '30s'
    """
    sign, value = ("-", -value) if value < timedelta(0) else ("", value)
    micro = value // MICROSECOND
    seconds, fraction = divmod(micro, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    if seconds or fraction or not (hours or minutes):
        decimals = f".{fraction:06d}".rstrip("0") if fraction else ""
        parts.append(f"{seconds}{decimals}s")
    return sign + "".join(parts)


def require_aware(value: object, field: str) -> datetime:
    """Return ``value`` if it is a timezone-aware ``datetime``, else raise.

    Args:
        value: The value to check.
        field: The field or argument name used in the error message.

    Raises:
        NaiveDatetimeError: For a ``datetime`` without a usable ``tzinfo``.
        DataTypeError: For anything that is not a ``datetime`` (a ``date`` too).

    Examples:
        >>> from datetime import datetime, timezone
        >>> require_aware(datetime(2026, 1, 1, tzinfo=timezone.utc), "as_of").year
        2026
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(field, value)
        return value
    raise DataTypeError(field, value, "a timezone-aware datetime")


MAX_ZONE_NAME: Final = 64
"""The longest time-zone name accepted (IANA's longest is 32 characters)."""
_ZONE_NAME: Final = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    expected = "an IANA time zone name such as 'UTC' or 'Europe/Berlin'"
    # Checked before the zone database is asked: a name is never a file path.
    if len(name) > MAX_ZONE_NAME or not _ZONE_NAME.fullmatch(name):
        raise DataError("tz", name, expected)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise DataError("tz", name, expected) from None


def resolve_zone(name: object) -> tzinfo:
    """Return the ``tzinfo`` for an IANA time zone name (``"UTC"`` is built in).

    Raises:
        DataTypeError: When ``name`` is not a string.
        DataError: When no such zone exists.

    Examples:
        >>> resolve_zone("Europe/Berlin")
        zoneinfo.ZoneInfo(key='Europe/Berlin')
    """
    if not isinstance(name, str):
        raise DataTypeError(
            "tz", name, "an IANA time zone name such as 'Europe/Berlin'"
        )
    return _zone(name)


def _check_kind(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str) or value not in _KINDS:
        raise DataError("kind", value, f"one of {sorted(_KINDS)}")


def _check_month(_instance: object, _attribute: object, value: object) -> None:
    if type(value) is not int:
        raise DataTypeError("fiscal_start_month", value, "an int from 1 to 12")
    if not 1 <= value <= 12:
        raise DataError("fiscal_start_month", value, "an int from 1 to 12")


# Hashes cached: periods are dict keys in every grouped KPI's hot loop.
@attrs.frozen(cache_hash=True)
class PeriodUnit:
    """A kind of calendar period: day, ISO week, month, quarter, year or fiscal.

    Use the constants [`DAY`][crmcore.calendar.DAY], [`WEEK`][crmcore.calendar.WEEK],
    [`MONTH`][crmcore.calendar.MONTH], [`QUARTER`][crmcore.calendar.QUARTER],
    [`YEAR`][crmcore.calendar.YEAR] and the factories
    [`fiscal_year`][crmcore.calendar.fiscal_year] and
    [`fiscal_quarter`][crmcore.calendar.fiscal_quarter].

    Attributes:
        kind: One of ``day``, ``week``, ``month``, ``quarter``, ``year``,
            ``fiscal_quarter``, ``fiscal_year``.
        fiscal_start_month: First month (1-12) of the fiscal year; only
            meaningful for the fiscal kinds, and must be 1 for the others.
    """

    kind: UnitKind = attrs.field(validator=_check_kind)
    fiscal_start_month: int = attrs.field(
        default=1, validator=_check_month, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if self.fiscal_start_month != 1 and not self.kind.startswith("fiscal"):
            raise DataError(
                "fiscal_start_month",
                self.fiscal_start_month,
                f"1 for the non-fiscal unit {self.kind!r}",
            )

    def __str__(self) -> str:
        if self.kind.startswith("fiscal"):
            return f"{self.kind}(start_month={self.fiscal_start_month})"
        return self.kind

    def floor(self, day: date) -> date:
        """Return the first day of the period of this unit containing ``day``.

        Examples:
            >>> QUARTER.floor(date(2026, 8, 17))
            datetime.date(2026, 7, 1)
            >>> fiscal_year(4).floor(date(2026, 2, 1))
            datetime.date(2025, 4, 1)
        """
        kind = self.kind
        if kind == "day":
            return day
        if kind == "week":
            return day - timedelta(days=day.weekday())
        if kind == "month":
            return day.replace(day=1)
        if kind == "quarter":
            return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        if kind == "year":
            return date(day.year, 1, 1)
        # Months since the fiscal year (or fiscal quarter) began.
        back = (day.month - self.fiscal_start_month) % 12
        if kind == "fiscal_quarter":
            back %= 3
        month_index = day.year * 12 + day.month - 1 - back
        return date(month_index // 12, month_index % 12 + 1, 1)

    def step(self, count: int = 1) -> relativedelta:
        """Return the calendar step of ``count`` periods of this unit."""
        kind = self.kind
        if kind == "day":
            return relativedelta(days=count)
        if kind == "week":
            return relativedelta(weeks=count)
        if kind in {"quarter", "fiscal_quarter"}:
            return relativedelta(months=3 * count)
        if kind == "month":
            return relativedelta(months=count)
        return relativedelta(years=count)

    def is_aligned(self, day: date) -> bool:
        """Say whether ``day`` is the first day of a period of this unit."""
        return self.floor(day) == day


DAY: Final = PeriodUnit("day")
"""Calendar days, local midnight to local midnight."""
WEEK: Final = PeriodUnit("week")
"""ISO weeks, Monday to Sunday, labelled ``2026-W05`` by ISO week-year."""
MONTH: Final = PeriodUnit("month")
"""Calendar months."""
QUARTER: Final = PeriodUnit("quarter")
"""Calendar quarters (January, April, July, October)."""
YEAR: Final = PeriodUnit("year")
"""Calendar years."""


def fiscal_year(start_month: int) -> PeriodUnit:
    """Return the unit of fiscal years starting on the 1st of ``start_month``.

    A fiscal year is named after the calendar year in which it ends.

    Examples:
        >>> fiscal_year(10).floor(date(2026, 11, 23))
        datetime.date(2026, 10, 1)
    """
    return PeriodUnit("fiscal_year", fiscal_start_month=start_month)


def fiscal_quarter(start_month: int) -> PeriodUnit:
    """Return the unit of fiscal quarters of fiscal years starting in ``start_month``.

    Examples:
        >>> fiscal_quarter(4).floor(date(2026, 3, 31))
        datetime.date(2026, 1, 1)
    """
    return PeriodUnit("fiscal_quarter", fiscal_start_month=start_month)


def period_unit(unit: object) -> PeriodUnit:
    """A [`PeriodUnit`][crmcore.calendar.PeriodUnit] from itself or a unit's name.

    Examples:
        >>> period_unit("month") == MONTH
        True
        >>> period_unit(fiscal_year(4)).kind
        'fiscal_year'
    """
    if isinstance(unit, PeriodUnit):
        return unit
    if isinstance(unit, str) and unit in _KINDS and not unit.startswith("fiscal"):
        return PeriodUnit(unit)  # type: ignore[arg-type]
    raise DataError(
        "unit",
        unit,
        "a PeriodUnit or one of 'day', 'week', 'month', 'quarter', 'year' "
        "(use fiscal_year(m) / fiscal_quarter(m) for fiscal units)",
    )


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    # fold=0 resolves a midnight that falls in a DST gap to the transition
    # instant and an ambiguous one to its first occurrence; both are
    # monotone in ``day``, which is what makes consecutive periods tile.
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _check_first_day(
    instance: Period, _attribute: attrs.Attribute[Any], value: object
) -> None:
    if type(value) is not date:
        raise DataTypeError("first_day", value, "a datetime.date")
    if not instance.unit.is_aligned(value):
        raise DataError(
            "first_day",
            value,
            f"the first day of a {instance.unit} period "
            f"(here {instance.unit.floor(value).isoformat()})",
        )


def _check_tz(_instance: object, _attribute: object, value: object) -> None:
    resolve_zone(value)


def _check_unit(
    _instance: object, _attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, PeriodUnit):
        raise DataTypeError("unit", value, "a PeriodUnit")


@attrs.frozen(order=False, cache_hash=True)
class Period:
    """One calendar period, e.g. March 2026 in Europe/Berlin.

    Periods are values: equal when unit, first day and zone are equal; ordered
    by first day within one unit and zone. Build them with
    [`period_of`][crmcore.calendar.period_of] or step with
    [`next`][crmcore.calendar.Period.next] and
    [`previous`][crmcore.calendar.Period.previous].

    Attributes:
        unit: The kind of period.
        first_day: The local calendar date the period starts on (aligned to the
            unit: the 1st of a month, a Monday for weeks...).
        tz: IANA name of the time zone whose calendar defines the period.
    """

    unit: PeriodUnit = attrs.field(validator=_check_unit)
    first_day: date = attrs.field(validator=_check_first_day)
    tz: str = attrs.field(default="UTC", validator=_check_tz, kw_only=True)

    @property
    def end_day(self) -> date:
        """The first local day *after* the period (exclusive end)."""
        return self.first_day + self.unit.step()

    @property
    def start(self) -> datetime:
        """The instant the period begins, in UTC (inclusive)."""
        return _bounds(self.unit, self.first_day, self.tz)[0]

    @property
    def end(self) -> datetime:
        """The instant the next period begins, in UTC (exclusive)."""
        return _bounds(self.unit, self.first_day, self.tz)[1]

    @property
    def interval(self) -> Interval:
        """The half-open interval ``[start, end)`` of instants in the period."""
        return Interval(self.start, self.end)

    @property
    def label(self) -> str:
        """A short human label: ``2026-03-14``, ``2026-W11``, ``2026-03``, ``2026-Q1``,
        ``2026``, ``FY2027-Q1`` or ``FY2027``.
        """  # noqa: D205
        day, kind = self.first_day, self.unit.kind
        if kind == "day":
            return day.isoformat()
        if kind == "week":
            iso_year, iso_week, _ = day.isocalendar()
            return f"{iso_year}-W{iso_week:02d}"
        if kind == "month":
            return f"{day.year}-{day.month:02d}"
        if kind == "quarter":
            return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        if kind == "year":
            return str(day.year)
        start = self.unit.fiscal_start_month
        fy_first = fiscal_year(start).floor(day)
        name = f"FY{fy_first.year + (0 if start == 1 else 1)}"
        if kind == "fiscal_year":
            return name
        return f"{name}-Q{(day.month - start) % 12 // 3 + 1}"

    def __str__(self) -> str:
        return self.label if self.tz == "UTC" else f"{self.label} ({self.tz})"

    def contains(self, instant: datetime) -> bool:
        """Say whether ``instant`` lies in ``[start, end)``.

        Raises:
            NaiveDatetimeError: For a naive ``instant``.
        """
        require_aware(instant, "instant")
        return self.start <= instant < self.end

    def shift(self, count: int) -> Period:
        """Return the period ``count`` steps later (earlier when negative)."""
        return Period(self.unit, self.first_day + self.unit.step(count), tz=self.tz)

    def next(self) -> Period:
        """Return the period right after this one."""
        return self.shift(1)

    def previous(self) -> Period:
        """Return the period right before this one."""
        return self.shift(-1)

    def _comparable(self, other: object) -> Period:
        if not isinstance(other, Period):
            raise DataTypeError("other", other, "a Period")
        if (other.unit, other.tz) != (self.unit, self.tz):
            raise DataError(
                "other", other, f"a Period of unit {self.unit} in zone {self.tz}"
            )
        return other

    def __lt__(self, other: Period) -> bool:
        return self.first_day < self._comparable(other).first_day

    def __le__(self, other: Period) -> bool:
        return self.first_day <= self._comparable(other).first_day

    def __gt__(self, other: Period) -> bool:
        return self.first_day > self._comparable(other).first_day

    def __ge__(self, other: Period) -> bool:
        return self.first_day >= self._comparable(other).first_day


# Grouping millions of records by period meets the same few hundred periods
# over and over: cache the (immutable) values and their boundary instants.
@functools.lru_cache(maxsize=16_384)
def _period(unit: PeriodUnit, first_day: date, tz: str) -> Period:
    return Period(unit, first_day, tz=tz)


@functools.lru_cache(maxsize=16_384)
def _bounds(unit: PeriodUnit, first_day: date, tz: str) -> tuple[datetime, datetime]:
    zone = _zone(tz)
    try:
        end_day = first_day + unit.step()
        return _local_midnight(first_day, zone), _local_midnight(end_day, zone)
    except (OverflowError, ValueError):  # the period ends after year 9999
        raise DataError(
            "period", first_day, f"a {unit} that ends by the end of year 9999"
        ) from None


def period_of(
    instant: datetime, unit: PeriodUnit | str = "month", *, tz: str = "UTC"
) -> Period:
    """Return the period of ``unit`` in zone ``tz`` that contains ``instant``.

    Every aware instant lies in exactly one period of each unit and zone, also
    in the hour repeated when clocks go back and around days that a zone
    skipped.

    Args:
        instant: A timezone-aware datetime.
        unit: A [`PeriodUnit`][crmcore.calendar.PeriodUnit] or the name of a
            calendar unit (``"day"``, ``"week"``, ``"month"``, ``"quarter"``,
            ``"year"``).
        tz: IANA name of the zone whose calendar is used.

    Raises:
        NaiveDatetimeError: For a naive ``instant``.
        DataError: For an unknown unit or zone.

    Examples:
        >>> from datetime import datetime, timezone
        >>> period_of(datetime(2026, 1, 1, 3, tzinfo=timezone.utc), "day",
        ...           tz="America/New_York").label
        '2025-12-31'
    """
    if type(instant) is not datetime or instant.tzinfo is None:
        require_aware(instant, "instant")
    if not isinstance(unit, PeriodUnit):
        unit = period_unit(unit)
    zone = resolve_zone(tz)
    try:
        return _containing(instant, unit, zone, tz)
    except (OverflowError, ValueError):  # a period reaching past year 9999 or 1
        raise DataError(
            "instant",
            instant,
            f"an instant whose {unit} lies within years 1 to 9999",
        ) from None


def _containing(instant: datetime, unit: PeriodUnit, zone: tzinfo, tz: str) -> Period:
    period = _period(unit, unit.floor(instant.astimezone(zone).date()), tz)
    # The local date can disagree with the boundaries only when a clock change
    # straddles midnight; step to the period whose instants contain ``instant``.
    start, end = _bounds(unit, period.first_day, tz)
    while instant < start:
        period = period.previous()
        start = period.start
    while instant >= end:
        period = period.next()
        end = period.end
    return period


def periods_between(
    start: datetime, end: datetime, unit: PeriodUnit | str = "month", *, tz: str = "UTC"
) -> Iterator[Period]:
    """Yield the consecutive periods that overlap the half-open ``[start, end)``.

    The first period contains ``start``; the last is the one whose start is
    before ``end``. Nothing is yielded when ``end <= start``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> a = datetime(2025, 11, 15, tzinfo=timezone.utc)
        >>> b = datetime(2026, 2, 1, tzinfo=timezone.utc)
        >>> [p.label for p in periods_between(a, b, "month")]
        ['2025-11', '2025-12', '2026-01']
    """
    require_aware(end, "end")
    first = period_of(start, unit, tz=tz)
    return _periods_until(first, start, end)


def _periods_until(period: Period, start: datetime, end: datetime) -> Iterator[Period]:
    if end <= start:
        return
    while period.start < end:
        yield period
        period = period.next()


def add_calendar(
    instant: datetime,
    *,
    years: int = 0,
    months: int = 0,
    weeks: int = 0,
    days: int = 0,
    tz: str | None = None,
) -> datetime:
    """Move an instant by calendar units on a local wall clock.

    The wall clock is the instant's own time zone, or ``tz`` when given.
    Month arithmetic clips to the end of shorter months (January 31 plus one
    month is February 28 or 29) and the local time of day is kept across DST
    changes. A local time that does not exist on the target day (it falls in a
    spring-forward gap) resolves with the offset from before the gap, i.e.
    later on the wall clock by the size of the gap.

    Returns:
        An aware datetime in the zone whose wall clock was used.

    Examples:
        >>> from datetime import datetime, timezone
        >>> jan_31 = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
        >>> add_calendar(jan_31, months=1).date()
        datetime.date(2026, 2, 28)
    """
    require_aware(instant, "instant")
    steps = {"years": years, "months": months, "weeks": weeks, "days": days}
    for name, value in steps.items():
        if type(value) is not int:
            raise DataTypeError(name, value, "an int")
    zone = instant.tzinfo if tz is None else resolve_zone(tz)
    try:
        local = instant.astimezone(zone).replace(tzinfo=None)
        moved = local + relativedelta(
            years=years, months=months, weeks=weeks, days=days
        )
        return moved.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    except (OverflowError, ValueError):
        moved_by = ", ".join(f"{k}={v}" for k, v in steps.items() if v)
        where = f"moved by {moved_by}" if moved_by else f"read in {zone}"
        raise DataError(
            "instant",
            instant,
            f"an instant that {where} stays within years 1 to 9999",
        ) from None


def _check_interval_bound(
    _instance: object, attribute: attrs.Attribute[datetime], value: object
) -> None:
    require_aware(value, attribute.name)


@attrs.frozen
class Interval:
    """A half-open interval of instants ``[start, end)``.

    Raises:
        NaiveDatetimeError: When a bound is naive.
        DataError: When ``end`` is before ``start``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> a = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> b = datetime(2026, 1, 2, tzinfo=timezone.utc)
        >>> Interval(a, b).contains(b)
        False
    """

    start: datetime = attrs.field(validator=_check_interval_bound)
    end: datetime = attrs.field(validator=_check_interval_bound)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise DataError(
                "end", self.end, f"an instant at or after start {self.start}"
            )

    @property
    def duration(self) -> timedelta:
        """The elapsed (absolute) time from start to end."""
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        """Say whether ``start <= instant < end``."""
        require_aware(instant, "instant")
        return self.start <= instant < self.end

    def overlaps(self, other: Interval) -> bool:
        """Say whether the two intervals share at least one instant."""
        return self.start < other.end and other.start < self.end

    def intersection(self, other: Interval) -> Interval | None:
        """Return the shared part of both intervals, or ``None`` when disjoint."""
        if not self.overlaps(other):
            return None
        return Interval(max(self.start, other.start), min(self.end, other.end))
