"""Business calendars: working windows in local time, holidays, business time.

A [`BusinessCalendar`][crmcore.business_time.BusinessCalendar] says when a
team works: which weekdays, which windows of local time on each (split
shifts, a lunch break), which dates are holidays and which extra dates work,
all in one IANA time zone. It answers three questions exactly, across DST
changes, in time proportional to the number of days spanned (a day at a
time, never a second at a time):

* [`business_time(start, end)`][crmcore.business_time.BusinessCalendar.business_time]:
  how much working time lies in ``[start, end)``;
* [`add(start, amount)`][crmcore.business_time.BusinessCalendar.add]: the
  deadline ``amount`` of working time after ``start``;
* [`next_working(instant)`][crmcore.business_time.BusinessCalendar.next_working]:
  the first working instant at or after ``instant``.

Conventions, the same everywhere in crmcore:

1. **Windows are half-open local wall-clock times**, ``[09:00, 12:00)``, and
   lie within one local day (``"24:00"`` closes a window at midnight; a night
   shift is two windows, on both days).
2. **A start outside working time starts the clock at the next opening**:
   ``add`` from Saturday counts from Monday's first window.
3. **A deadline is the earliest instant by which the amount has been
   worked**, so a deadline that exactly fills a window lands at that
   window's close (17:00), not at the next opening; ``add(start, 0)`` is
   ``start``.
4. **DST is exact.** Business time is elapsed time. A window bound that does
   not exist (in the hour skipped in spring) is the first instant after the
   gap; one that exists twice (in the hour repeated in autumn) is its first
   occurrence, so a window over the repeated hour is an hour longer.
5. **Results keep the caller's zone**: a deadline has the ``tzinfo`` of the
   instant it was computed from.

Examples:
    >>> from datetime import datetime, timedelta, timezone
    >>> office = BusinessCalendar(
    ...     "Europe/Berlin", hours=["09:00-12:00", "13:00-17:00"]
    ... )
    >>> friday_4pm = datetime(2026, 3, 6, 15, tzinfo=timezone.utc)
    >>> office.add(friday_4pm, timedelta(hours=2)).isoformat()
    '2026-03-09T09:00:00+00:00'
    >>> office.business_time(friday_4pm, friday_4pm + timedelta(days=3))
    datetime.timedelta(seconds=25200)
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.calendar import (
    MICROSECOND,
    Interval,
    days_from_microseconds,
    require_aware,
    resolve_zone,
)
from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError, import_extra

__all__ = [
    "WHOLE_DAY",
    "BusinessCalendar",
    "WeekdayHours",
    "WorkingWindow",
    "country_holidays",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_DAY: Final = 86_400_000_000  # microseconds
_LAST_ORDINAL: Final = date.max.toordinal()
# The day table of one calendar is memoised; past this many days it starts
# afresh, so a calendar asked about centuries never holds them all.
_CACHE_DAYS: Final = 50_000
_CLOCK: Final = "a local time such as '09:00'"
_WINDOW: Final = "a working window such as '09:00-17:00'"
_WEEKDAYS: Final = "weekday numbers, Monday 0 to Sunday 6"


# ---------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------
def _clock(value: object, field: str, *, closing: bool = False) -> time:
    """A local ``time`` from a ``time`` or ``"HH:MM[:SS]"`` (``"24:00"`` closes)."""
    if isinstance(value, str):
        if closing and value in ("24:00", "24:00:00"):
            return time(0)
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            raise DataError(field, value, _CLOCK) from None
    elif type(value) is time:
        parsed = value
    else:
        raise DataTypeError(field, value, _CLOCK)
    if parsed.tzinfo is not None:
        raise DataError(
            field, value, "a local time without a zone (the calendar's zone applies)"
        )
    return parsed


def _opening(value: object) -> time:
    return _clock(value, "start")


def _closing(value: object) -> time:
    return _clock(value, "end", closing=True)


def _of_day(moment: time) -> int:
    """Microseconds since local midnight."""
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1_000_000 + moment.microsecond


def _text(moment: time, *, closing: bool = False) -> str:
    if closing and moment == time(0):
        return "24:00"
    if moment.microsecond:
        return moment.isoformat()
    return moment.isoformat("seconds" if moment.second else "minutes")


@attrs.frozen
class WorkingWindow:
    """One working window of local wall-clock time, ``[start, end)``.

    Attributes:
        start: When work starts (a ``time`` or ``"09:00"``).
        end: When it stops; ``"24:00"`` (or ``"00:00"``, ``time(0)``) is
            midnight at the end of the day.

    Raises:
        DataTypeError: For a bound that is not a time.
        DataError: For a malformed time, a time with a zone, or an ``end``
            not after ``start``.

    Examples:
        >>> WorkingWindow.parse("13:00-17:30").duration.seconds
        16200
        >>> str(WorkingWindow("22:00", "24:00"))
        '22:00-24:00'
    """

    start: time = attrs.field(converter=_opening)
    end: time = attrs.field(converter=_closing)

    def __attrs_post_init__(self) -> None:
        if self.closes <= self.opens:
            raise DataError(
                "end",
                _text(self.end, closing=True),
                f"a time after start {_text(self.start)}",
            )

    @property
    def opens(self) -> int:
        """The start in microseconds since local midnight."""
        return _of_day(self.start)

    @property
    def closes(self) -> int:
        """The end in microseconds since local midnight (a whole day for 24:00)."""
        return _DAY if self.end == time(0) else _of_day(self.end)

    @property
    def duration(self) -> timedelta:
        """The window's length on the wall clock (a DST day may differ)."""
        return timedelta(microseconds=self.closes - self.opens)

    def __str__(self) -> str:
        return f"{_text(self.start)}-{_text(self.end, closing=True)}"

    @classmethod
    def parse(cls, text: object) -> WorkingWindow:
        """A window from its text form, ``"09:00-12:00"``.

        Raises:
            DataTypeError: When ``text`` is not a string.
            DataError: When it is not two times joined by ``-``.
        """
        if not isinstance(text, str):
            raise DataTypeError("window", text, _WINDOW)
        opens, dash, closes = text.partition("-")
        if not dash:
            raise DataError("window", text, _WINDOW)
        try:
            return cls(opens.strip(), closes.strip())
        except DataError as error:
            raise DataError(
                "window", text, _WINDOW, hint=f"{error.field} {error.expected}"
            ) from None


WHOLE_DAY: Final = WorkingWindow(time(0), time(0))
"""The window of a whole local day, ``00:00-24:00`` (the default hours)."""


def _window(value: object, field: str) -> WorkingWindow:
    if isinstance(value, WorkingWindow):
        return value
    if isinstance(value, str):
        try:
            return WorkingWindow.parse(value)
        except DataError as error:
            raise DataError(field, value, _WINDOW, hint=error.hint) from None
    raise DataTypeError(field, value, _WINDOW)


def _windows(values: object, field: str) -> tuple[WorkingWindow, ...]:
    """Windows in order of time, none overlapping another."""
    listed = _v.list_of(
        values, field, "a list of working windows such as '09:00-17:00'"
    )
    items = [_window(item, f"{field}[{index}]") for index, item in enumerate(listed)]
    if not items:
        raise DataError(
            field, (), "at least one window (leave the weekday out of workdays)"
        )
    ordered = sorted(items, key=lambda w: w.opens)
    for before, after in itertools.pairwise(ordered):
        if after.opens < before.closes:
            raise DataError(
                field,
                [str(w) for w in items],
                "windows that do not overlap",
                hint=f"{before} and {after} overlap",
            )
    return tuple(ordered)


def _hours(values: object) -> tuple[WorkingWindow, ...]:
    return _windows(values, "hours")


@attrs.frozen
class WeekdayHours:
    """The windows of one weekday, when it differs from the calendar's hours.

    Attributes:
        weekday: Monday 0 to Sunday 6.
        hours: Its working windows (``"09:00-13:00"`` or ``WorkingWindow`` values).
    """

    weekday: int = attrs.field()
    hours: tuple[WorkingWindow, ...] = attrs.field(converter=_hours)

    @weekday.validator
    def _check_weekday(self, _attribute: object, value: object) -> None:
        if type(value) is not int:
            raise DataTypeError(
                "weekday", value, "a weekday number, Monday 0 to Sunday 6"
            )
        if not 0 <= value <= 6:
            raise DataError("weekday", value, "a weekday number, Monday 0 to Sunday 6")


# ---------------------------------------------------------------------------
# The calendar's fields
# ---------------------------------------------------------------------------
def _workdays(values: object) -> tuple[int, ...]:
    items = _v.list_of(values, "workdays", _WEEKDAYS)
    for index, day in enumerate(items):
        if type(day) is not int:
            raise DataTypeError(f"workdays[{index}]", day, _WEEKDAYS)
        if not 0 <= day <= 6:
            raise DataError(f"workdays[{index}]", day, _WEEKDAYS)
    if not items:
        raise DataError("workdays", items, f"at least one weekday: {_WEEKDAYS}")
    return tuple(sorted(set(items)))


def _holidays(values: object) -> tuple[date, ...]:
    return _v.dates(values, "holidays")


def _extra_workdays(values: object) -> tuple[date, ...]:
    return _v.dates(values, "extra_workdays")


def _weekday_hours(values: object) -> tuple[WeekdayHours, ...]:
    if isinstance(values, Mapping):
        values = [WeekdayHours(day, hours) for day, hours in values.items()]
    items: tuple[WeekdayHours, ...] = _v.tuple_of(
        values, WeekdayHours, "weekday_hours", item="a WeekdayHours"
    )
    seen: set[int] = set()
    for index, item in enumerate(items):
        if item.weekday in seen:
            raise DataError(
                f"weekday_hours[{index}].weekday", item.weekday, "each weekday once"
            )
        seen.add(item.weekday)
    return tuple(sorted(items, key=lambda item: item.weekday))


def _check_tz(_instance: object, _attribute: object, value: object) -> None:
    resolve_zone(value)


_Pairs = tuple[tuple[int, int], ...]
# One local day: its midnight, its working intervals and their total, all in
# microseconds since the Unix epoch (UTC).
_Day = tuple[int, _Pairs, int]


@attrs.frozen
class BusinessCalendar:
    """When a team works: weekdays, local windows, holidays, in one time zone.

    Attributes:
        tz: The IANA zone whose wall clock the windows and dates follow.
        workdays: Working weekdays, Monday 0 to Sunday 6 (Monday to Friday
            by default).
        hours: The windows of every working day (default the whole day,
            ``00:00-24:00``); several windows make a split shift.
        weekday_hours: Windows for particular weekdays instead of ``hours``
            (Friday ``09:00-13:00``); a list of ``WeekdayHours`` or a map of
            weekday to windows. Each must be a working weekday.
        holidays: Dates that do not work.
        extra_workdays: Dates that work although their weekday does not
            (a Saturday before a bridge day), with ``hours``.

    Raises:
        DataTypeError: For a field of the wrong type.
        DataError: For an unknown zone, a bad weekday, windows that overlap,
            hours for a weekday that does not work, or a date that is both a
            holiday and an extra working day.

    Examples:
        >>> from datetime import datetime, timezone
        >>> week = BusinessCalendar()
        >>> friday_noon = datetime(2026, 3, 6, 12, tzinfo=timezone.utc)
        >>> week.business_days(friday_noon, friday_noon + timedelta(days=3))
        Decimal('1')
    """

    tz: str = attrs.field(default="UTC", validator=_check_tz)
    workdays: tuple[int, ...] = attrs.field(
        default=(0, 1, 2, 3, 4), converter=_workdays
    )
    holidays: tuple[date, ...] = attrs.field(default=(), converter=_holidays)
    hours: tuple[WorkingWindow, ...] = attrs.field(
        default=(WHOLE_DAY,), converter=_hours, kw_only=True
    )
    weekday_hours: tuple[WeekdayHours, ...] = attrs.field(
        default=(), converter=_weekday_hours, kw_only=True
    )
    extra_workdays: tuple[date, ...] = attrs.field(
        default=(), converter=_extra_workdays, kw_only=True
    )
    # Derived once: the windows of each weekday in microseconds of the day,
    # the dates as ordinals, the zone (and its offset, when it is fixed).
    _week: tuple[tuple[tuple[int, int], ...], ...] = attrs.field(
        init=False, repr=False, eq=False
    )
    _off: frozenset[int] = attrs.field(init=False, repr=False, eq=False)
    _extra: frozenset[int] = attrs.field(init=False, repr=False, eq=False)
    _zone: tzinfo = attrs.field(init=False, repr=False, eq=False)
    _fixed: int | None = attrs.field(init=False, repr=False, eq=False)
    _days: dict[int, _Day] = attrs.field(init=False, repr=False, eq=False)
    _most: tuple[int, int, int] = attrs.field(init=False, repr=False, eq=False)
    _dated: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        special = {item.weekday: item.hours for item in self.weekday_hours}
        for index, item in enumerate(self.weekday_hours):
            if item.weekday not in self.workdays:
                raise DataError(
                    f"weekday_hours[{index}].weekday",
                    item.weekday,
                    f"one of the workdays {list(self.workdays)}",
                    hint="add the weekday to workdays to give it hours",
                )
        both = sorted(set(self.holidays) & set(self.extra_workdays))
        if both:
            raise DataError(
                "extra_workdays",
                both[0].isoformat(),
                "dates that are not holidays as well",
            )

        def spans(windows: tuple[WorkingWindow, ...]) -> tuple[tuple[int, int], ...]:
            return tuple((w.opens, w.closes) for w in windows)

        week = tuple(
            spans(special.get(day, self.hours)) if day in self.workdays else ()
            for day in range(7)
        )
        zone = resolve_zone(self.tz)
        set_ = object.__setattr__
        set_(self, "_week", (*week, spans(self.hours)))  # [7]: extra days
        set_(self, "_off", frozenset(d.toordinal() for d in self.holidays))
        set_(self, "_extra", frozenset(d.toordinal() for d in self.extra_workdays))
        set_(self, "_zone", zone)
        set_(self, "_fixed", 0 if zone is UTC else None)  # UTC needs no zone rules
        set_(self, "_days", {})
        # The usual week's working time (wall clock), and an upper bound of
        # a week's and of the extra days': a DST change adds at most two
        # hours, at most once a week.
        slack = 2 * 3_600_000_000
        usual = sum(closes - opens for spans in week for opens, closes in spans)
        extra = sum(closes - opens for opens, closes in self._week[7]) + slack
        set_(self, "_most", (usual + slack, len(self.extra_workdays) * extra, usual))
        set_(
            self,
            "_dated",
            tuple(
                sorted(d.toordinal() for d in (*self.holidays, *self.extra_workdays))
            ),
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the definition only: the day table is rebuilt as needed."""
        return {
            a.name: getattr(self, a.name) for a in attrs.fields(type(self)) if a.init
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        fresh = type(self)(**state)
        for attribute in attrs.fields(type(self)):
            object.__setattr__(self, attribute.name, getattr(fresh, attribute.name))

    # -- days -----------------------------------------------------------------
    def is_business_day(self, day: date) -> bool:
        """Whether a local calendar date has working time."""
        if type(day) is not date:
            raise DataTypeError("day", day, "a datetime.date")
        return bool(self._windows_of(day.toordinal()))

    def _windows_of(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        if ordinal in self._extra:
            return self._week[7]
        if ordinal in self._off:
            return ()
        return self._week[(ordinal + 6) % 7]  # ordinal 1 was a Monday

    def _instant(self, ordinal: int, of_day: int) -> int:
        """The epoch microsecond of local wall-clock time ``of_day`` on a day."""
        if self._fixed is not None:
            return (ordinal - _EPOCH_ORDINAL) * _DAY + of_day - self._fixed
        if of_day == _DAY:
            ordinal, of_day = ordinal + 1, 0
        wall = datetime.fromordinal(ordinal) + timedelta(microseconds=of_day)
        instant = (wall.replace(tzinfo=self._zone) - _EPOCH) // MICROSECOND
        if self._wall(instant) == wall:
            return instant  # it exists (first occurrence when repeated)
        # In the gap of a DST change: the first instant whose wall clock is
        # past ``wall`` is the change itself; find it by bisection.
        low, high = instant - _DAY, instant
        while high - low > 1:
            middle = (low + high) // 2
            if self._wall(middle) > wall:
                high = middle
            else:
                low = middle
        return high

    def _wall(self, instant: int) -> datetime:
        moment = _EPOCH + timedelta(microseconds=instant)
        return moment.astimezone(self._zone).replace(tzinfo=None)

    def _day(self, ordinal: int) -> _Day:
        """The local day ``ordinal``: midnight, working intervals, their total."""
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached
        _check_day(ordinal, _LAST_ORDINAL - 1)
        pairs: list[tuple[int, int]] = []
        reached = midnight = self._instant(ordinal, 0)
        for opens, closes in self._windows_of(ordinal):
            # Bounds in a DST gap may meet or cross: never count time twice.
            start = max(self._instant(ordinal, opens), reached)
            end = self._instant(ordinal, closes)
            if end > start:
                pairs.append((start, end))
                reached = end
        day = (midnight, tuple(pairs), sum(end - start for start, end in pairs))
        if len(self._days) >= _CACHE_DAYS:
            self._days.clear()
        self._days[ordinal] = day
        return day

    def _ordinal(self, instant: int) -> int:
        """The local day an epoch microsecond falls on."""
        if self._fixed is not None:
            return (instant + self._fixed) // _DAY + _EPOCH_ORDINAL
        ordinal = instant // _DAY + _EPOCH_ORDINAL  # its UTC day: local is +-1
        if instant < self._midnight(ordinal):
            return ordinal - 1
        if instant >= self._midnight(ordinal + 1):
            return ordinal + 1
        return ordinal

    def _midnight(self, ordinal: int) -> int:
        """The local midnight starting day ``ordinal`` (its table when cached)."""
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached[0]
        _check_day(ordinal, _LAST_ORDINAL)
        return self._instant(ordinal, 0)

    def working_windows(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of a local date, as instants in UTC.

        Examples:
            >>> lunch = BusinessCalendar("Europe/Berlin", hours=["09:00-12:00", "13:00-17:00"])
            >>> [str(w.start.time()) for w in lunch.working_windows(date(2026, 7, 1))]
            ['07:00:00', '11:00:00']
        """  # noqa: E501
        if type(day) is not date:
            raise DataTypeError("day", day, "a datetime.date")
        return tuple(
            Interval(_out(start, UTC), _out(end, UTC))
            for start, end in self._day(day.toordinal())[1]
        )

    # -- instants -------------------------------------------------------------
    def is_working(self, instant: datetime) -> bool:
        """Whether ``instant`` falls inside a working window."""
        moment = _in(instant, "instant")
        return any(
            start <= moment < end for start, end in self._day(self._ordinal(moment))[1]
        )

    def next_working(self, instant: datetime) -> datetime:
        """The first working instant at or after ``instant`` (itself when working).

        Raises:
            NaiveDatetimeError: For a naive instant.
            DataError: When no working time is left before year 9999.
        """
        moment = _in(instant, "instant")
        ordinal = self._ordinal(moment)
        for start, end in self._day(ordinal)[1]:
            if end > moment:
                return _out(max(start, moment), instant.tzinfo)
        while True:
            ordinal += 1
            pairs = self._day(ordinal)[1]
            if pairs:
                return _out(pairs[0][0], instant.tzinfo)

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """The working time within ``[start, end)``.

        Raises:
            NaiveDatetimeError: For a naive bound.
            DataError: When ``end`` is before ``start``.
        """
        first = _in(start, "start")
        last = _in(end, "end")
        if last < first:
            raise DataError(
                "end", end, f"an instant at or after start ({start.isoformat()})"
            )
        return timedelta(microseconds=self._between(first, last))

    def _between(self, first: int, last: int) -> int:
        """Working microseconds in ``[first, last)`` (``first <= last``)."""
        day_of, ordinal_of = self._day, self._ordinal
        low, high = ordinal_of(first), ordinal_of(last)
        if low == high:
            return sum(
                min(end, last) - max(start, first)
                for start, end in day_of(low)[1]
                if end > first and start < last
            )
        total = sum(
            end - max(start, first) for start, end in day_of(low)[1] if end > first
        )
        total += sum(
            min(end, last) - start for start, end in day_of(high)[1] if start < last
        )
        ordinal = low + 1
        while ordinal < high:
            if high - ordinal >= 7:
                week = self._plain_week(ordinal)
                if week is not None:
                    total += week
                    ordinal += 7
                    continue
            total += day_of(ordinal)[2]
            ordinal += 1
        return total

    def _plain_week(self, ordinal: int) -> int | None:
        """The working time of the 7 days from ``ordinal`` when it is the usual one.

        The usual week's when no holiday, extra day or change of UTC offset
        falls in it (checked at each local midnight): long spans skip such
        weeks whole instead of walking their days. ``None`` otherwise, and
        when the days' table is at hand (it is faster to read).
        """
        if ordinal + 6 in self._days or ordinal + 7 >= _LAST_ORDINAL:
            return None
        dated = self._dated
        if dated:
            index = bisect.bisect_left(dated, ordinal)
            if index < len(dated) and dated[index] < ordinal + 7:
                return None
        if self._fixed is None:
            offset = self._zone.utcoffset
            first = offset(datetime.fromordinal(ordinal))
            for day in range(ordinal + 1, ordinal + 8):
                if offset(datetime.fromordinal(day)) != first:
                    return None
        return self._most[2]

    def _most_work(self, ordinal: int) -> int:
        """More working microseconds than the days from ``ordinal`` on can hold."""
        weeks = (_LAST_ORDINAL - ordinal) // 7 + 1
        week, extra, _usual = self._most
        return weeks * week + extra

    def business_days(self, start: datetime, end: datetime) -> Decimal:
        """The business time between two instants, in days of 24 hours."""
        return days_from_microseconds(self.business_time(start, end) // MICROSECOND)

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The deadline: the earliest instant by which ``amount`` has been worked.

        A start outside working time starts the clock at the next opening; a
        deadline that exactly fills a window is that window's close. The
        result has ``start``'s ``tzinfo``.

        Raises:
            NaiveDatetimeError: For a naive ``start``.
            DataTypeError: When ``amount`` is not a ``timedelta``.
            DataError: For a negative amount, or a deadline after year 9999
                (an amount no calendar could work by then fails at once).
        """
        moment = _in(start, "start")
        if type(amount) is not timedelta:
            raise DataTypeError("amount", amount, "a timedelta of business time")
        if amount < timedelta(0):
            raise DataError("amount", amount, "a timedelta of zero or more")
        return _out(self._add(moment, amount // MICROSECOND), start.tzinfo)

    def _add(self, moment: int, left: int) -> int:
        """The epoch microsecond ``left`` working microseconds after ``moment``."""
        if left == 0:
            return moment
        day_of = self._day
        ordinal = self._ordinal(moment)
        amount = timedelta(microseconds=left)
        words = "business time that ends before year 9999 in this calendar"
        if left > self._most_work(ordinal):
            # Refused at once: walking to year 9999 to find out takes seconds.
            raise DataError("amount", amount, words)
        for opens, end in day_of(ordinal)[1]:
            if end > moment:
                start = max(opens, moment)
                if left <= end - start:
                    return start + left
                left -= end - start
        while True:
            ordinal += 1
            if left > self._most[2]:
                week = self._plain_week(ordinal)
                if week is not None:
                    left -= week
                    ordinal += 6
                    continue
            if ordinal >= _LAST_ORDINAL:  # the amount runs past the last day
                raise DataError("amount", amount, words)
            _midnight, pairs, total = day_of(ordinal)
            if left > total:
                left -= total
                continue
            # ``0 < left <= total``: the day's last window holds the deadline.
            for start, end in pairs[:-1]:
                if left <= end - start:
                    return start + left
                left -= end - start
            return pairs[-1][0] + left


def _check_day(ordinal: int, last: int) -> None:
    """Days from 0001-01-02 to ``last``: every instant of them exists in UTC."""
    if not 2 <= ordinal <= last:
        raise DataError(
            "instant",
            date.fromordinal(min(max(ordinal, 1), _LAST_ORDINAL)).isoformat(),
            "a day after 0001-01-01 and before 9999-12-31 in the calendar's zone",
        )


def _in(instant: datetime, field: str) -> int:
    """An aware instant as microseconds since the Unix epoch."""
    if type(instant) is not datetime or instant.tzinfo is None:
        require_aware(instant, field)
    try:
        return (instant - _EPOCH) // MICROSECOND
    except TypeError:  # a tzinfo whose utcoffset() is None
        raise NaiveDatetimeError(field, instant) from None


def _out(instant: int, zone: tzinfo | None) -> datetime:
    """An epoch microsecond as an aware ``datetime`` in ``zone``.

    Every working day ends by 9999-12-31 in UTC, but the same instant may
    be past year 9999 on the wall clock of the caller's zone.
    """
    moment = _EPOCH + timedelta(microseconds=instant)
    if zone is UTC:
        return moment
    try:
        return moment.astimezone(zone)
    except OverflowError:
        raise DataError(
            "deadline",
            moment,
            "an instant before year 10000 in the zone of the instant given",
        ) from None


@functools.lru_cache(maxsize=128)
def _country(
    country: str, years: tuple[int, ...], subdiv: str | None
) -> tuple[date, ...]:
    module = import_extra("holidays", "holidays")
    try:
        table = module.country_holidays(country, subdiv=subdiv, years=years)
    except NotImplementedError as error:
        if subdiv is not None and "subdivision" in str(error):
            raise DataError(
                "subdiv", subdiv, f"a region of {country} the holidays package knows"
            ) from None
        raise DataError(
            "country", country, "a country code the holidays package knows, e.g. 'DE'"
        ) from None
    return tuple(sorted(table))


def country_holidays(
    country: str, years: Iterable[int], *, subdiv: str | None = None
) -> tuple[date, ...]:
    """The public holidays of a country (and region) from the ``holidays`` package.

    Needs the ``holidays`` extra (``pip install 'crmcore[holidays]'``); the
    rest of crmcore works without it. The years are explicit, so the result
    never depends on today's date.

    Args:
        country: An ISO 3166 country code, e.g. ``"DE"``.
        years: The years to list.
        subdiv: A region code, e.g. ``"BY"`` for Bavaria.

    Raises:
        MissingExtraError: When the ``holidays`` package is not installed.
        DataError: For an unknown country or region, or a bad year.

    Examples:
        >>> berlin = BusinessCalendar(
        ...     "Europe/Berlin", holidays=country_holidays("DE", [2026], subdiv="BE")
        ... )
        >>> berlin.is_business_day(date(2026, 12, 25))
        False
    """
    expected = "an ISO 3166 country code such as 'DE'"
    if not isinstance(country, str):
        raise DataTypeError("country", country, expected)
    if not country.isalpha() or not 2 <= len(country) <= 3:
        raise DataError("country", country, expected)
    if subdiv is not None and (not isinstance(subdiv, str) or len(subdiv) > 10):
        raise DataError("subdiv", subdiv, "a region code such as 'BY', or None")
    listed = _v.list_of(years, "years", "a list of years")
    for index, year in enumerate(listed):
        if type(year) is not int:
            raise DataTypeError(f"years[{index}]", year, "a year from 1 to 9999")
        if not 1 <= year <= 9999:
            raise DataError(f"years[{index}]", year, "a year from 1 to 9999")
    return _country(country.upper(), tuple(sorted(set(listed))), subdiv)
