import itertools
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.calendar import (
    DAY,
    MONTH,
    QUARTER,
    WEEK,
    YEAR,
    Interval,
    Period,
    PeriodUnit,
    add_calendar,
    fiscal_quarter,
    fiscal_year,
    period_of,
    periods_between,
    require_aware,
    resolve_zone,
)
from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError
from crmcore.testing import (
    DST_TIMEZONES,
    aware_datetimes,
    iana_timezones,
    period_units,
    periods,
)

BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- worked examples ---------------------------------------------------------
@pytest.mark.parametrize(
    ("unit", "day", "first", "label"),
    [
        (DAY, date(2026, 3, 14), date(2026, 3, 14), "2026-03-14"),
        (WEEK, date(2026, 1, 1), date(2025, 12, 29), "2026-W01"),
        (WEEK, date(2027, 1, 3), date(2026, 12, 28), "2026-W53"),
        (MONTH, date(2026, 2, 28), date(2026, 2, 1), "2026-02"),
        (QUARTER, date(2026, 8, 17), date(2026, 7, 1), "2026-Q3"),
        (YEAR, date(2026, 8, 17), date(2026, 1, 1), "2026"),
        (fiscal_year(4), date(2026, 3, 31), date(2025, 4, 1), "FY2026"),
        (fiscal_year(4), date(2026, 4, 1), date(2026, 4, 1), "FY2027"),
        (fiscal_year(1), date(2026, 6, 1), date(2026, 1, 1), "FY2026"),
        (fiscal_quarter(4), date(2026, 1, 15), date(2026, 1, 1), "FY2026-Q4"),
        (fiscal_quarter(4), date(2026, 4, 30), date(2026, 4, 1), "FY2027-Q1"),
        (fiscal_quarter(10), date(2026, 12, 31), date(2026, 10, 1), "FY2027-Q1"),
        (fiscal_quarter(2), date(2026, 1, 31), date(2025, 11, 1), "FY2026-Q4"),
    ],
)
def test_floors_and_labels(unit, day, first, label):
    assert unit.floor(day) == first
    assert Period(unit, first).label == label


def test_period_boundaries_follow_local_midnight_across_dst():
    march = Period(MONTH, date(2026, 3, 1), tz="Europe/Berlin")
    assert march.start == utc(2026, 2, 28, 23)  # CET, +01:00
    assert march.end == utc(2026, 3, 31, 22)  # CEST, +02:00
    assert march.interval.duration == timedelta(days=31) - timedelta(hours=1)
    spring_day = Period(DAY, date(2026, 3, 29), tz="Europe/Berlin")
    assert spring_day.end - spring_day.start == timedelta(hours=23)
    autumn_day = Period(DAY, date(2026, 10, 25), tz="Europe/Berlin")
    assert autumn_day.end - autumn_day.start == timedelta(hours=25)


def test_midnight_in_a_dst_gap_starts_the_day_at_the_transition():
    # Santiago springs forward at 00:00 local on 2025-09-07: midnight never exists.
    day = Period(DAY, date(2025, 9, 7), tz="America/Santiago")
    assert day.start == utc(2025, 9, 7, 4)
    assert day.end - day.start == timedelta(hours=23)


def test_a_skipped_calendar_day_is_an_empty_period():
    # Samoa skipped 2011-12-30 when it moved across the date line.
    skipped = Period(DAY, date(2011, 12, 30), tz="Pacific/Apia")
    assert skipped.start == skipped.end
    instant = skipped.start
    assert period_of(instant, DAY, tz="Pacific/Apia").first_day == date(2011, 12, 31)


def test_the_repeated_hour_before_a_midnight_fall_back_stays_on_its_day():
    # Santiago falls back at 00:00 on 2026-04-05: 23:00-24:00 of April 4 repeats,
    # so April 4 lasts 25 hours and both 23:30s belong to it.
    zone = ZoneInfo("America/Santiago")
    first = datetime(2026, 4, 4, 23, 30, fold=0, tzinfo=zone)
    second = datetime(2026, 4, 4, 23, 30, fold=1, tzinfo=zone)
    for instant in (first, second):
        assert period_of(instant, DAY, tz="America/Santiago").first_day == date(
            2026, 4, 4
        )
    day = Period(DAY, date(2026, 4, 4), tz="America/Santiago")
    assert day.end - day.start == timedelta(hours=25)


class _ShiftAcrossMidnight(tzinfo):
    """A zone whose clock change straddles midnight (23:30 <-> 00:30 local).

    No common IANA zone does this, but nothing forbids it: the local date and
    the period boundaries then disagree for half an hour.
    """

    def __init__(self, before: timedelta, after: timedelta, at_utc: datetime) -> None:
        self.before, self.after, self.at_utc = before, after, at_utc

    def utcoffset(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        naive = dt.replace(tzinfo=None)
        switch = self.at_utc.replace(tzinfo=None)
        if naive < switch + min(self.before, self.after):
            return self.before
        if naive >= switch + max(self.before, self.after):
            return self.after
        # In a gap fold=0 keeps the old offset; in an overlap fold=0 is the first pass.
        return self.before if dt.fold == 0 else self.after

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "TEST"

    def fromutc(self, dt: datetime) -> datetime:
        naive = dt.replace(tzinfo=None)
        if naive < self.at_utc.replace(tzinfo=None):
            return (naive + self.before).replace(tzinfo=self)
        local = naive + self.after
        fold = (
            1
            if self.after < self.before
            and local < self.at_utc.replace(tzinfo=None) + self.before
            else 0
        )
        return local.replace(tzinfo=self, fold=fold)


@pytest.mark.parametrize(
    ("before", "after", "probe_minutes", "expected_day"),
    [
        # Spring forward 23:30 -> 00:30: the first half hour of local "June 2"
        # lies before June 2's start (its midnight never existed) and belongs to June 1.
        (timedelta(0), timedelta(hours=1), 10, date(2026, 6, 1)),
        # Fall back 00:30 -> 23:30: the second pass of 23:xx on "June 1" comes
        # after June 2 began at the first midnight, so it belongs to June 2.
        (timedelta(hours=1), timedelta(0), 15, date(2026, 6, 2)),
    ],
)
def test_period_of_follows_boundaries_when_a_transition_straddles_midnight(
    monkeypatch, before, after, probe_minutes, expected_day
):
    # The clock changes at 23:30 UTC: local 23:30 -> 00:30 (spring) or
    # local 00:30 -> 23:30 (fall), i.e. across local midnight either way.
    switch = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    zone = _ShiftAcrossMidnight(before, after, switch)
    import crmcore.calendar as calendar

    real = calendar._zone
    monkeypatch.setattr(
        calendar, "_zone", lambda name: zone if name == "Test/Shift" else real(name)
    )
    # Boundaries are cached per zone name; each case uses its own fake zone.
    calendar._bounds.cache_clear()
    instant = switch + timedelta(minutes=probe_minutes)
    period = period_of(instant, DAY, tz="Test/Shift")
    assert period.first_day == expected_day
    assert period.contains(instant)
    assert period.end == period.next().start


def test_period_of_converts_to_the_zone_first():
    assert (
        period_of(utc(2026, 1, 1, 3), "day", tz="America/New_York").label
        == "2025-12-31"
    )
    assert period_of(utc(2026, 1, 1, 3), "month").label == "2026-01"
    assert str(period_of(utc(2026, 1, 1), QUARTER)) == "2026-Q1"
    assert (
        str(period_of(utc(2026, 1, 1), QUARTER, tz="Asia/Tokyo"))
        == "2026-Q1 (Asia/Tokyo)"
    )


def test_periods_between_is_half_open():
    labels = [
        p.label for p in periods_between(utc(2025, 11, 15), utc(2026, 2, 1), MONTH)
    ]
    assert labels == ["2025-11", "2025-12", "2026-01"]
    assert list(periods_between(utc(2026, 2, 1), utc(2026, 2, 1), MONTH)) == []
    assert list(periods_between(utc(2026, 3, 1), utc(2026, 2, 1), MONTH)) == []


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (utc(2026, 1, 31, 12), 1, utc(2026, 2, 28, 12)),
        (utc(2024, 1, 31, 12), 1, utc(2024, 2, 29, 12)),
        (utc(2026, 3, 31), 1, utc(2026, 4, 30)),
        (utc(2026, 12, 31), 2, utc(2027, 2, 28)),
        (utc(2026, 5, 31), -3, utc(2026, 2, 28)),
    ],
)
def test_month_arithmetic_clips_to_month_ends(start, months, expected):
    assert add_calendar(start, months=months) == expected


def test_calendar_arithmetic_keeps_local_time_across_dst():
    before = datetime(2026, 3, 28, 9, tzinfo=BERLIN)
    after = add_calendar(before, days=1, tz="Europe/Berlin")
    assert after.hour == 9
    # Subtract in UTC: Python subtracts wall-clock times within one tzinfo.
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=23)
    # 02:30 does not exist on 2026-03-29 in Berlin: it resolves past the gap.
    moved = add_calendar(
        datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN), days=1, tz="Europe/Berlin"
    )
    assert moved.utcoffset() == timedelta(hours=2)
    assert moved.hour == 3
    assert add_calendar(utc(2026, 1, 1), years=1, weeks=1).date() == date(2027, 1, 8)
    # Without tz= the instant's own zone is the wall clock.
    assert add_calendar(before, days=1) == after
    assert add_calendar(
        utc(2026, 1, 31, 23), months=1, tz="Asia/Tokyo"
    ).isoformat() == (
        "2026-03-01T08:00:00+09:00"  # Feb 1 08:00 Tokyo + 1 month
    )


def test_period_navigation_and_ordering():
    jan = Period(MONTH, date(2026, 1, 1))
    assert jan.next() == Period(MONTH, date(2026, 2, 1))
    assert jan.previous() == Period(MONTH, date(2025, 12, 1))
    assert jan.shift(12).label == "2027-01"
    assert jan < jan.next() and jan <= jan and jan.next() > jan and jan >= jan
    assert jan.end_day == date(2026, 2, 1)
    with pytest.raises(DataError, match="a Period of unit month in zone UTC"):
        jan < Period(QUARTER, date(2026, 1, 1))  # noqa: B015
    with pytest.raises(DataTypeError, match="a Period"):
        jan < "2026-01"  # type: ignore[operator]  # noqa: B015


def test_period_validation_names_the_field():
    with pytest.raises(
        DataError,
        match=r"first_day: expected the first day of a month period \(here 2026-01-01\)",
    ):
        Period(MONTH, date(2026, 1, 2))
    with pytest.raises(DataTypeError, match=r"first_day: expected a datetime\.date"):
        Period(MONTH, datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(DataError, match="tz: expected an IANA time zone name"):
        Period(MONTH, date(2026, 1, 1), tz="Mars/Olympus")
    with pytest.raises(DataTypeError, match="unit: expected a PeriodUnit"):
        Period("month", date(2026, 1, 1))  # type: ignore[arg-type]


def test_unit_validation():
    with pytest.raises(DataError, match="kind: expected one of"):
        PeriodUnit("fortnight")  # type: ignore[arg-type]
    with pytest.raises(
        DataError, match="fiscal_start_month: expected an int from 1 to 12"
    ):
        fiscal_year(13)
    with pytest.raises(DataTypeError, match="fiscal_start_month"):
        fiscal_year("4")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="1 for the non-fiscal unit 'month'"):
        PeriodUnit("month", fiscal_start_month=4)
    with pytest.raises(DataError, match="unit: expected a PeriodUnit or one of"):
        period_of(utc(2026, 1, 1), "fiscal_year")
    assert str(fiscal_year(4)) == "fiscal_year(start_month=4)"
    assert str(MONTH) == "month"


def test_naive_datetimes_are_rejected_everywhere():
    naive = datetime(2026, 1, 1)
    for call in (
        lambda: period_of(naive, MONTH),
        lambda: Period(MONTH, date(2026, 1, 1)).contains(naive),
        lambda: add_calendar(naive, days=1),
        lambda: periods_between(utc(2026, 1, 1), naive),
        lambda: Interval(naive, utc(2026, 1, 1)),
        lambda: require_aware(naive, "as_of"),
    ):
        with pytest.raises(NaiveDatetimeError):
            call()
    with pytest.raises(
        DataTypeError, match="as_of: expected a timezone-aware datetime"
    ):
        require_aware(date(2026, 1, 1), "as_of")


def test_resolve_zone():
    assert resolve_zone("UTC") is UTC
    assert resolve_zone("Europe/Berlin") == BERLIN
    with pytest.raises(DataTypeError, match="tz"):
        resolve_zone(1)
    with pytest.raises(DataError, match="tz"):
        resolve_zone("../etc/passwd")


def test_intervals():
    a = Interval(utc(2026, 1, 1), utc(2026, 1, 10))
    b = Interval(utc(2026, 1, 5), utc(2026, 1, 20))
    c = Interval(utc(2026, 1, 10), utc(2026, 1, 11))
    assert a.contains(utc(2026, 1, 1)) and not a.contains(utc(2026, 1, 10))
    assert a.overlaps(b) and not a.overlaps(c)
    assert a.intersection(b) == Interval(utc(2026, 1, 5), utc(2026, 1, 10))
    assert a.intersection(c) is None
    assert a.duration == timedelta(days=9)
    with pytest.raises(DataError, match="end: expected an instant at or after start"):
        Interval(utc(2026, 1, 2), utc(2026, 1, 1))


# -- laws ----------------------------------------------------------------------
zoned_instants = aware_datetimes(timezones=iana_timezones())


@given(zoned_instants, period_units(), st.sampled_from(DST_TIMEZONES))
def test_every_instant_lies_in_exactly_one_period(instant, unit, tz):
    period = period_of(instant, unit, tz=tz)
    assert period.contains(instant)
    assert not period.previous().contains(instant)
    assert not period.next().contains(instant)


@given(periods())
def test_consecutive_periods_tile_time(period):
    following = period.next()
    assert period.end == following.start
    assert period.start <= period.end
    assert following.previous() == period
    assert period.unit.is_aligned(period.first_day)


@given(
    zoned_instants, st.integers(0, 400), period_units(), st.sampled_from(DST_TIMEZONES)
)
def test_periods_between_covers_the_interval_without_gaps(start, hours, unit, tz):
    end = start + timedelta(hours=hours * 7)
    covering = list(periods_between(start, end, unit, tz=tz))
    if end <= start:
        assert covering == []
        return
    assert covering[0].contains(start)
    assert covering[-1].start < end <= covering[-1].end or covering[-1].end >= end
    for left, right in itertools.pairwise(covering):
        assert left.end == right.start


@given(aware_datetimes(timezones=iana_timezones()), st.integers(-30, 30))
def test_month_shifts_land_on_a_real_day_at_most_the_original_day(instant, months):
    moved = add_calendar(instant, months=months, tz="Europe/Berlin")
    local = instant.astimezone(BERLIN)
    assert moved.day <= local.day
    assert (moved.year * 12 + moved.month) - (local.year * 12 + local.month) == months
