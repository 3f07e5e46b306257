"""Decay of event points: how much an event still counts at ``as_of``.

A decay kind turns an event's age into a factor from 0 to 1 that multiplies
the event's points. The built-ins, for an event at ``t`` scored at ``as_of``
(``n`` is the number of whole periods from ``t`` to ``as_of``):

* [`LinearDecay`][crmcore.scoring.LinearDecay]: ``max(0, 1 − p × n)``, lose
  ``p`` of the points per period until nothing is left;
* [`CompoundDecay`][crmcore.scoring.CompoundDecay]: ``(1 − p) ^ n``, lose
  ``p`` of what is left each period;
* [`HalfLife`][crmcore.scoring.HalfLife]: ``2 ^ (−age / h)``, continuous;
* [`DecayWindow`][crmcore.scoring.DecayWindow]: 1 while the event is within
  the window, then 0.

Decay kinds are kinds of the [`DECAY_KINDS`][crmcore.scoring.DECAY_KINDS]
registry: a vendor registers its own like a condition kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Context, Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, runtime_checkable

import attrs

from crmcore.calendar import add_calendar, require_aware
from crmcore.conditions import Duration
from crmcore.conditions.values import DURATION
from crmcore.errors import DataError
from crmcore.money import exact_arithmetic, to_decimal
from crmcore.registry import Registry

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from crmcore.registry import KindDraws

__all__ = [
    "DECAY_KINDS",
    "CompoundDecay",
    "Decay",
    "DecayWindow",
    "HalfLife",
    "LinearDecay",
    "whole_periods",
]

_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
# Compound factors are rounded to 28 significant digits (an exact power of
# 0.75 to the 1,000th has a thousand digits and changes no rounded score).
_POWER: Final = Context(prec=28)
# Half-life factors: the double's value rounded half-even to 28 digits.
_FLOAT: Final = Context(prec=28)


@runtime_checkable
class Decay(Protocol):
    """What a decay kind does: the share of an event's points left at ``as_of``.

    ``bind(as_of)`` returns the fast ``at -> factor`` function a compiled
    model calls for every event (work that depends on ``as_of`` alone, such
    as the start of a window, is done once there); ``describe()`` says the
    decay in words.
    """

    kind: ClassVar[str]

    def bind(self, as_of: datetime) -> Callable[[datetime], Decimal]:
        """A function from an event's instant (not after ``as_of``) to 0..1."""
        ...  # pragma: no cover - a protocol

    def describe(self) -> str:
        """The decay in words, for explanations."""
        ...  # pragma: no cover - a protocol


DECAY_KINDS: Final = Registry(
    "decay kind",
    group="crmcore.decay",
    protocol=Decay,
    methods=(("bind", "describe"),),
    needs="bind(as_of) and describe() methods",
)
"""The registry of decay kinds: the built-ins and every registered one."""


def _duration(value: object, field: str = "every") -> Duration:
    return Duration.of(value, field)


def _window(value: object) -> Duration:
    return _duration(value, "within")


def _percent(value: object) -> Decimal:
    number = to_decimal(value, "percent")
    exponent = number.as_tuple().exponent
    if not _ZERO < number <= _HUNDRED or not isinstance(exponent, int) or exponent < -4:
        raise DataError(
            "percent", value, "a percentage above 0 and at most 100 (4 decimals)"
        )
    return number


def _fixed(value: object) -> Duration:
    duration = _duration(value, "half_life")
    if duration.years or duration.months:
        raise DataError(
            "half_life",
            str(duration),
            "a half-life in weeks, days, hours, minutes or seconds "
            "(a month or a year has no fixed length)",
        )
    return duration


def _seconds(duration: Duration) -> int:
    return (
        (duration.weeks * 7 + duration.days) * 86_400
        + duration.hours * 3600
        + duration.minutes * 60
        + duration.seconds
    )


def _utc(instant: datetime) -> datetime:
    """The instant in UTC: what event times are compared with and subtracted from.

    Two times in the same zone compare and subtract on their wall clocks in
    Python (an hour off across a DST change); against UTC they are exact.
    """
    return instant.astimezone(UTC)


def _back(every: Duration, count: int, as_of: datetime) -> datetime | None:
    """``count × every`` before ``as_of``, or ``None`` before year 1."""
    try:
        calendar = add_calendar(
            as_of,
            years=-every.years * count,
            months=-every.months * count,
            weeks=-every.weeks * count,
            days=-every.days * count,
        )
        return calendar - timedelta(
            hours=every.hours * count,
            minutes=every.minutes * count,
            seconds=every.seconds * count,
        )
    except (OverflowError, ValueError):
        return None


def whole_periods(every: Duration, at: datetime, as_of: datetime) -> int:
    """How many whole ``every`` periods lie between ``at`` and ``as_of``.

    The largest ``n`` such that ``n × every`` before ``as_of`` is still at or
    after ``at``: periods are counted back from ``as_of`` on its wall clock,
    as [`within_last`][crmcore.conditions.WithinLast] counts, so "1mo" is a
    calendar month and "1d" a calendar day across a DST change. A count that
    would reach before year 1 does not fit. An event at or after ``as_of`` is
    0 periods old.

    Examples:
        >>> from datetime import datetime, timezone
        >>> as_of = datetime(2026, 3, 31, tzinfo=timezone.utc)
        >>> whole_periods(Duration(months=1), datetime(2026, 1, 31, tzinfo=timezone.utc), as_of)
        2
        >>> whole_periods(Duration(days=7), datetime(2026, 3, 24, 1, tzinfo=timezone.utc), as_of)
        0
    """  # noqa: E501
    every = _duration(every)
    require_aware(at, "at")
    require_aware(as_of, "as_of")
    return _period_counter(every, as_of)(at)


def _period_counter(every: Duration, as_of: datetime) -> Callable[[datetime], int]:
    """``whole_periods(every, at, as_of)`` as a function of ``at``.

    Instants are compared and subtracted in UTC: Python compares two times of
    the same zone on their wall clocks, which is off by the DST shift.
    """
    seconds = _seconds(every)
    now = _utc(as_of)
    if not (every.years or every.months) and (
        not (every.weeks or every.days) or isinstance(as_of.tzinfo, timezone)
    ):  # fixed-length periods: whole multiples of elapsed time
        period = timedelta(seconds=seconds)
        return lambda at: (now - at) // period if at < now else 0
    nominal = every.years * 31_556_952 + every.months * 2_629_746 + seconds

    def fits(n: int, at: datetime) -> bool:
        start = _back(every, n, as_of)
        return start is not None and _utc(start) >= at

    def count(at: datetime) -> int:
        if at >= now:
            return 0
        found = int((now - at).total_seconds() // nominal)
        while found > 0 and not fits(found, at):
            found -= 1
        while fits(found + 1, at):
            found += 1
        return found

    return count


class _Factor:
    """``factor(at, as_of)``: one event's factor, for explanations and tests."""

    __slots__ = ()

    def bind(self, as_of: datetime) -> Callable[[datetime], Decimal]:
        raise NotImplementedError  # pragma: no cover - every kind defines it

    def factor(self, at: datetime, as_of: datetime) -> Decimal:
        """The factor of one event at ``at`` scored at ``as_of``."""
        return self.bind(require_aware(as_of, "as_of"))(require_aware(at, "at"))


def _power(kept: Decimal, periods: int) -> Decimal:
    if kept == _ZERO:
        return _ZERO
    # Below 1e-40 no rounded score changes: stop before the power underflows.
    if periods * kept.ln(_POWER) < -92:  # e^-92 < 1e-40
        return _ZERO
    return _POWER.power(kept, periods)


@DECAY_KINDS.register
@attrs.frozen(cache_hash=True)
class LinearDecay(_Factor):
    """Lose ``percent`` of the points per whole period, down to nothing.

    ``factor = max(0, 1 − percent / 100 × n)`` with ``n`` the whole periods
    of ``every`` since the event ([`whole_periods`][crmcore.scoring.whole_periods]).

    Examples:
        >>> from datetime import datetime, timezone
        >>> decay = LinearDecay(25, "30d")
        >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> decay.factor(datetime(2026, 1, 15, tzinfo=timezone.utc), as_of)
        Decimal('0.75')
    """

    percent: Decimal = attrs.field(converter=_percent)
    every: Duration = attrs.field(converter=_duration, metadata=DURATION)

    kind: ClassVar[str] = "linear"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A percentage per drawn duration."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, st.integers(1, 100), draws.durations)

    def bind(self, as_of: datetime) -> Callable[[datetime], Decimal]:
        """``at -> max(0, 1 − percent / 100 × n)``."""
        periods = _period_counter(self.every, as_of)
        with exact_arithmetic():
            step = self.percent / _HUNDRED
        known: dict[int, Decimal] = {}

        def factor(at: datetime) -> Decimal:
            n = periods(at)
            left = known.get(n)
            if left is None:
                with exact_arithmetic():
                    left = max(_ONE - step * n, _ZERO)
                known[n] = left
            return left

        return factor

    def describe(self) -> str:
        """``"-25% per 30d"``."""
        return f"-{self.percent}% per {self.every}"


@DECAY_KINDS.register
@attrs.frozen(cache_hash=True)
class CompoundDecay(_Factor):
    """Lose ``percent`` of what is left per whole period.

    ``factor = (1 − percent / 100) ^ n`` with ``n`` the whole periods of
    ``every`` since the event, rounded to 28 significant digits.

    Examples:
        >>> from datetime import datetime, timezone
        >>> decay = CompoundDecay(50, "1w")
        >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> decay.factor(datetime(2026, 2, 14, tzinfo=timezone.utc), as_of)
        Decimal('0.25')
    """

    percent: Decimal = attrs.field(converter=_percent)
    every: Duration = attrs.field(converter=_duration, metadata=DURATION)

    kind: ClassVar[str] = "compound"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A percentage per drawn duration."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, st.integers(1, 100), draws.durations)

    def bind(self, as_of: datetime) -> Callable[[datetime], Decimal]:
        """``at -> (1 − percent / 100) ^ n``."""
        periods = _period_counter(self.every, as_of)
        with exact_arithmetic():
            kept = _ONE - self.percent / _HUNDRED
        known: dict[int, Decimal] = {0: _ONE}

        def factor(at: datetime) -> Decimal:
            n = periods(at)
            left = known.get(n)
            if left is None:
                left = _power(kept, n)
                known[n] = left
            return left

        return factor

    def describe(self) -> str:
        """``"-50% of what is left per 1w"``."""
        return f"-{self.percent}% of what is left per {self.every}"


@DECAY_KINDS.register
@attrs.frozen(cache_hash=True)
class HalfLife(_Factor):
    """Halve the points every ``half_life``, continuously.

    ``factor = 2 ^ (−age / half_life)``, ages in elapsed seconds (a day is
    24 hours here, and an age is measured in UTC, so a DST change never
    shortens or lengthens it). The factor is computed in binary floating point (IEEE 754
    double), exact for whole multiples of the half-life, and kept to 28
    significant digits; scores round it away (to two decimals). Past 64
    half-lives (a factor below 5.5e-20) it is 0.

    Examples:
        >>> from datetime import datetime, timezone
        >>> decay = HalfLife("14d")
        >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> decay.factor(datetime(2026, 2, 1, tzinfo=timezone.utc), as_of)
        Decimal('0.25')
    """

    half_life: Duration = attrs.field(converter=_fixed, metadata=DURATION)

    kind: ClassVar[str] = "half_life"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A half-life of 1 to 90 days or 1 to 48 hours."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls,
            st.builds(lambda d: Duration(days=d), st.integers(1, 90))
            | st.builds(lambda h: Duration(hours=h), st.integers(1, 48)),
        )

    def bind(self, as_of: datetime) -> Callable[[datetime], Decimal]:
        """``at -> 2 ^ (−age / half_life)``."""
        half = timedelta(seconds=_seconds(self.half_life))
        now = _utc(as_of)

        def factor(at: datetime) -> Decimal:
            if at >= now:
                return _ONE
            halves = (now - at) / half
            if halves > 64:  # below 5.5e-20: no rounded score changes
                return _ZERO
            return _FLOAT.create_decimal_from_float(2.0**-halves)

        return factor

    def describe(self) -> str:
        """``"half-life 14d"``."""
        return f"half-life {self.half_life}"


@DECAY_KINDS.register
@attrs.frozen(cache_hash=True)
class DecayWindow(_Factor):
    """Points count in full while the event is within ``within``, then vanish.

    ``factor = 1`` when ``within.before(as_of) <= at``, else 0: the window of
    [`within_last`][crmcore.conditions.WithinLast].

    Examples:
        >>> from datetime import datetime, timezone
        >>> window = DecayWindow("90d")
        >>> as_of = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> window.factor(datetime(2025, 11, 1, tzinfo=timezone.utc), as_of)
        Decimal('0')
    """

    within: Duration = attrs.field(converter=_window, metadata=DURATION)

    kind: ClassVar[str] = "window"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A drawn duration."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.durations)

    def bind(self, as_of: datetime) -> Callable[[datetime], Decimal]:
        """``at -> 1`` inside the window, 0 before it."""
        start = _utc(self.within.before(as_of))
        return lambda at: _ONE if at >= start else _ZERO

    def describe(self) -> str:
        """``"counts for 90d"``."""
        return f"counts for {self.within}"
