"""Business calendars: worked examples computed by hand, and the laws of business time."""

import pickle
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.business_time import (
    WHOLE_DAY,
    BusinessCalendar,
    WeekdayHours,
    WorkingWindow,
    country_holidays,
)
from crmcore.errors import (
    DataError,
    DataTypeError,
    MissingExtraError,
    NaiveDatetimeError,
)
from crmcore.testing import business_calendars, working_windows

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# 2026-03-02 is a Monday.
SPLIT = BusinessCalendar(hours=["09:00-12:00", "13:00-17:00"])


# -- worked examples -------------------------------------------------------------------
def test_split_shifts_count_only_the_windows():
    # 08:00-18:00 holds 09-12 and 13-17: 3 h + 4 h.
    assert SPLIT.business_time(utc(2026, 3, 2, 8), utc(2026, 3, 2, 18)) == 7 * H
    # 11:00-14:00: 11-12 and 13-14, the lunch hour does not count.
    assert SPLIT.business_time(utc(2026, 3, 2, 11), utc(2026, 3, 2, 14)) == 2 * H
    # Two hours from 11:00: one before lunch, one after it, so 14:00.
    assert SPLIT.add(utc(2026, 3, 2, 11), 2 * H) == utc(2026, 3, 2, 14)
    assert SPLIT.is_working(utc(2026, 3, 2, 9))
    assert not SPLIT.is_working(utc(2026, 3, 2, 12, 30))
    assert not SPLIT.is_working(utc(2026, 3, 2, 17))  # windows are half-open


def test_a_deadline_that_exactly_fills_a_window_lands_at_its_close():
    assert SPLIT.add(utc(2026, 3, 2, 11), H) == utc(2026, 3, 2, 12)  # not 13:00
    assert SPLIT.add(utc(2026, 3, 2, 9), 7 * H) == utc(2026, 3, 2, 17)  # not Tue 9:00
    # One minute more spills into the next working window.
    assert SPLIT.add(utc(2026, 3, 2, 9), 7 * H + M) == utc(2026, 3, 3, 9, 1)
    assert SPLIT.add(utc(2026, 3, 2, 10), timedelta(0)) == utc(2026, 3, 2, 10)


def test_starts_before_opening_and_after_close_start_at_the_next_opening():
    assert SPLIT.add(utc(2026, 3, 2, 7), 30 * M) == utc(2026, 3, 2, 9, 30)
    assert SPLIT.add(utc(2026, 3, 2, 12, 15), 30 * M) == utc(2026, 3, 2, 13, 30)
    assert SPLIT.add(utc(2026, 3, 2, 18), 30 * M) == utc(2026, 3, 3, 9, 30)
    # Friday evening: Monday morning.
    assert SPLIT.add(utc(2026, 3, 6, 18), 30 * M) == utc(2026, 3, 9, 9, 30)
    assert SPLIT.next_working(utc(2026, 3, 6, 18)) == utc(2026, 3, 9, 9)
    assert SPLIT.next_working(utc(2026, 3, 2, 10)) == utc(2026, 3, 2, 10)
    assert SPLIT.next_working(utc(2026, 3, 2, 12)) == utc(2026, 3, 2, 13)


def test_a_holiday_does_not_work_and_an_extra_day_does():
    closed_tuesday = BusinessCalendar(
        hours=["09:00-17:00"], holidays=[date(2026, 3, 3)]
    )
    # Monday 16-17 is one hour, Tuesday is off, Wednesday 9-10 the other.
    assert closed_tuesday.add(utc(2026, 3, 2, 16), 2 * H) == utc(2026, 3, 4, 10)
    assert closed_tuesday.business_time(utc(2026, 3, 2), utc(2026, 3, 5)) == 16 * H
    assert not closed_tuesday.is_business_day(date(2026, 3, 3))
    saturday = BusinessCalendar(
        hours=["09:00-17:00"], extra_workdays=[date(2026, 3, 7)]
    )
    assert saturday.add(utc(2026, 3, 6, 16), 2 * H) == utc(2026, 3, 7, 10)
    assert saturday.is_business_day(date(2026, 3, 7))
    assert not saturday.is_business_day(date(2026, 3, 8))


def test_weekday_hours_replace_the_hours_of_one_weekday():
    short_friday = BusinessCalendar(
        hours=["09:00-17:00"], weekday_hours={4: ["09:00-13:00"]}
    )
    assert short_friday.weekday_hours == (
        WeekdayHours(4, [WorkingWindow("09:00", "13:00")]),
    )
    assert short_friday.business_time(utc(2026, 3, 6), utc(2026, 3, 7)) == 4 * H
    assert short_friday.business_time(utc(2026, 3, 5), utc(2026, 3, 6)) == 8 * H
    # Friday 12:00 plus two hours: one on Friday, one on Monday.
    assert short_friday.add(utc(2026, 3, 6, 12), 2 * H) == utc(2026, 3, 9, 10)


def test_a_calendar_in_another_zone_than_the_instants():
    office = BusinessCalendar("Europe/Berlin", hours=["09:00-17:00"])
    # 02:00 in New York (EDT, -4) is 06:00 UTC, 08:00 in Berlin (CEST, +2):
    # the clock starts at 09:00 Berlin, two hours later is 11:00 Berlin,
    # which is 05:00 in New York. The deadline keeps the caller's zone.
    start = datetime(2026, 7, 1, 2, tzinfo=NEW_YORK)
    deadline = office.add(start, 2 * H)
    assert deadline == datetime(2026, 7, 1, 5, tzinfo=NEW_YORK)
    assert deadline.tzinfo is NEW_YORK
    assert office.business_time(start, datetime(2026, 7, 1, 12, tzinfo=NEW_YORK)) == (
        8 * H  # 08:00-18:00 Berlin holds the whole 09-17 window
    )
    # The windows of a Berlin day in UTC: 07:00-15:00 in summer, 08:00-16:00 in winter.
    (summer,) = office.working_windows(date(2026, 7, 1))
    (winter,) = office.working_windows(date(2026, 1, 7))
    assert (summer.start, summer.end) == (utc(2026, 7, 1, 7), utc(2026, 7, 1, 15))
    assert (winter.start, winter.end) == (utc(2026, 1, 7, 8), utc(2026, 1, 7, 16))


def test_spring_forward_the_skipped_hour_is_not_worked():
    # 29 March 2026, a Sunday: Berlin's clocks jump from 02:00 to 03:00.
    night = BusinessCalendar("Europe/Berlin", workdays=[6], hours=["01:00-05:00"])
    # 01:00 CET is 00:00 UTC; 05:00 CEST is 03:00 UTC: three hours, not four.
    assert night.business_time(utc(2026, 3, 28), utc(2026, 3, 30)) == 3 * H
    assert night.add(utc(2026, 3, 28, 12), 3 * H) == utc(2026, 3, 29, 3)
    assert night.add(berlin(2026, 3, 29, 1, 30), H) == berlin(2026, 3, 29, 3, 30)
    # A window starting in the gap starts when the clock jumps (03:00 CEST).
    late = BusinessCalendar("Europe/Berlin", workdays=[6], hours=["02:30-04:00"])
    assert late.working_windows(date(2026, 3, 29))[0].start == utc(2026, 3, 29, 1)
    assert late.business_time(utc(2026, 3, 28), utc(2026, 3, 30)) == H
    # A window wholly inside the gap does not exist that day.
    gone = BusinessCalendar("Europe/Berlin", workdays=[6], hours=["02:15-02:45"])
    assert gone.working_windows(date(2026, 3, 29)) == ()
    assert gone.business_time(utc(2026, 3, 28), utc(2026, 3, 30)) == timedelta(0)
    assert gone.next_working(utc(2026, 3, 29)) == utc(2026, 4, 5, 0, 15)
    # The whole day lasts 23 hours.
    sundays = BusinessCalendar("Europe/Berlin", workdays=[6])
    assert sundays.business_time(utc(2026, 3, 28), utc(2026, 3, 31)) == 23 * H


def test_fall_back_the_repeated_hour_is_worked_twice():
    # 25 October 2026, a Sunday: Berlin's clocks go back from 03:00 to 02:00.
    night = BusinessCalendar("Europe/Berlin", workdays=[6], hours=["01:00-05:00"])
    # 01:00 CEST is 23:00 UTC the day before; 05:00 CET is 04:00 UTC: five hours.
    assert night.business_time(utc(2026, 10, 24), utc(2026, 10, 26)) == 5 * H
    assert night.add(utc(2026, 10, 24, 12), 5 * H) == utc(2026, 10, 25, 4)
    # A bound in the repeated hour is its first occurrence (02:30 CEST, 00:30
    # UTC); 03:30 CET is 02:30 UTC.
    repeated = BusinessCalendar("Europe/Berlin", workdays=[6], hours=["02:30-03:30"])
    (window,) = repeated.working_windows(date(2026, 10, 25))
    assert (window.start, window.end) == (
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 2, 30),
    )
    sundays = BusinessCalendar("Europe/Berlin", workdays=[6])
    assert sundays.business_time(utc(2026, 10, 24), utc(2026, 10, 27)) == 25 * H


def test_a_midnight_in_a_dst_gap_starts_the_day_at_the_jump():
    # Santiago skips 00:00-01:00 on 6 September 2026: the day starts at 01:00
    # local (04:00 UTC) and lasts 23 hours.
    chile = BusinessCalendar("America/Santiago", workdays=[6])
    (day,) = chile.working_windows(date(2026, 9, 6))
    assert day.start == utc(2026, 9, 6, 4)
    assert day.duration == 23 * H


def test_whole_days_by_default():
    week = BusinessCalendar()
    friday_noon = utc(2026, 3, 6, 12)
    # Half of Friday and half of Monday.
    assert week.business_days(friday_noon, friday_noon + timedelta(days=3)) == 1
    assert week.business_days(friday_noon, friday_noon) == 0
    assert week.business_time(utc(2026, 3, 7), utc(2026, 3, 9)) == timedelta(0)
    assert week.business_days(utc(2026, 3, 2), utc(2026, 3, 30)) == 20
    holidays = BusinessCalendar(holidays=[date(2026, 3, 10), date(2026, 3, 14)])
    assert holidays.business_days(friday_noon, friday_noon + timedelta(days=10)) == 5
    # Berlin: Friday 13:00 local to midnight is 11 hours; Monday is a holiday.
    closed_monday = BusinessCalendar("Europe/Berlin", holidays=[date(2026, 3, 9)])
    assert (
        closed_monday.business_time(friday_noon, friday_noon + timedelta(days=3))
        == 11 * H
    )
    assert BusinessCalendar(workdays=[4, 0, 0]).workdays == (0, 4)
    assert week.hours == (WHOLE_DAY,)


def test_windows_parse_print_and_close_at_midnight():
    assert WorkingWindow.parse(" 09:00 - 12:30 ") == WorkingWindow(
        time(9), time(12, 30)
    )
    assert str(WorkingWindow("22:00", "24:00")) == "22:00-24:00"
    assert str(WorkingWindow("08:00:30", "09:00")) == "08:00:30-09:00"
    assert str(WorkingWindow(time(8, 0, 0, 5), time(9))) == "08:00:00.000005-09:00"
    assert WorkingWindow("22:00", "24:00").duration == 2 * H
    assert str(WHOLE_DAY) == "00:00-24:00"
    late = BusinessCalendar(hours=["20:00-24:00"])
    assert late.add(utc(2026, 3, 2, 23), H) == utc(2026, 3, 3)
    assert late.add(utc(2026, 3, 2, 23), 2 * H) == utc(2026, 3, 3, 21)


def test_a_calendar_pickles_compares_and_hashes_by_its_definition():
    office = BusinessCalendar("Europe/Berlin", hours=["09:00-17:00"])
    office.business_time(utc(2026, 1, 1), utc(2026, 2, 1))  # fills its day table
    copy = pickle.loads(pickle.dumps(office))
    assert copy == office and hash(copy) == hash(office)
    # The day table does not travel: a pickle is the definition only.
    assert len(pickle.dumps(office)) == len(
        pickle.dumps(BusinessCalendar("Europe/Berlin", hours=["09:00-17:00"]))
    )
    assert copy.add(utc(2026, 1, 5), H) == office.add(utc(2026, 1, 5), H)
    assert office != BusinessCalendar("Europe/Berlin", hours=["09:00-18:00"])


def test_country_holidays_come_from_the_holidays_package():
    pytest.importorskip("holidays")
    german = country_holidays("DE", [2026], subdiv="BE")
    assert date(2026, 12, 25) in german and date(2026, 3, 8) in german  # Women's Day
    assert country_holidays("de", range(2026, 2027), subdiv="BE") == german
    assert german == tuple(sorted(german))
    with pytest.raises(
        DataError, match="country: expected a country code the holidays"
    ):
        country_holidays("XX", [2026])
    with pytest.raises(DataError, match="country"):
        country_holidays("Germany", [2026])
    with pytest.raises(DataTypeError, match="country"):
        country_holidays(49, [2026])
    with pytest.raises(DataError, match=r"years\[0\]: expected a year from 1 to 9999"):
        country_holidays("DE", [0])
    with pytest.raises(DataTypeError, match="years: expected a list of years"):
        country_holidays("DE", 2026)
    with pytest.raises(DataError, match="subdiv"):
        country_holidays("DE", [2026], subdiv=7)
    with pytest.raises(DataError, match="subdiv: expected a region of DE"):
        country_holidays("DE", [2026], subdiv="XX")
    with pytest.raises(DataTypeError, match=r"years\[1\]: expected a year"):
        country_holidays("DE", [2026, "2027"])
    with pytest.raises(DataTypeError, match=r"years\[0\]"):
        country_holidays("DE", [[2026]])


def test_country_holidays_without_the_extra_names_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(MissingExtraError, match=r"crmcore\[holidays\]") as caught:
        country_holidays("FR", [2031])
    assert isinstance(caught.value, ImportError)
    assert pickle.loads(pickle.dumps(caught.value)).extra == "holidays"


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: BusinessCalendar(workdays=[]),
            DataError,
            "workdays: expected at least one",
        ),
        (lambda: BusinessCalendar(workdays=[7]), DataError, r"workdays\[0\]"),
        (lambda: BusinessCalendar(workdays=["1"]), DataTypeError, r"workdays\[0\]"),
        (
            lambda: BusinessCalendar(workdays="Mon"),
            DataTypeError,
            "workdays: expected weekday",
        ),
        (
            lambda: BusinessCalendar(holidays="2026-12-25"),
            DataTypeError,
            "holidays: expected a list",
        ),
        (
            lambda: BusinessCalendar(holidays=[utc(2026, 12, 25)]),
            DataTypeError,
            r"holidays\[0\]: expected a datetime.date",
        ),
        (lambda: BusinessCalendar("Mars/Base"), DataError, "tz"),
        (
            lambda: BusinessCalendar(hours=[]),
            DataError,
            "hours: expected at least one window",
        ),
        (
            lambda: BusinessCalendar(hours="09:00-17:00"),
            DataTypeError,
            "hours: expected a list",
        ),
        (
            lambda: BusinessCalendar(hours=[9]),
            DataTypeError,
            r"hours\[0\]: expected a working window",
        ),
        (
            lambda: BusinessCalendar(hours=["9 to 5"]),
            DataError,
            r"hours\[0\]: expected a working window",
        ),
        (
            lambda: BusinessCalendar(hours=["09:00-13:00", "12:00-17:00"]),
            DataError,
            "windows that do not overlap.*09:00-13:00 and 12:00-17:00 overlap",
        ),
        (
            lambda: WorkingWindow("17:00", "09:00"),
            DataError,
            "end: expected a time after start 17:00",
        ),
        (lambda: WorkingWindow("09:00", "09:00"), DataError, "end"),
        (
            lambda: WorkingWindow("24:00", "24:00"),
            DataError,
            "start: expected a local time",
        ),
        (
            lambda: WorkingWindow("25:00", "26:00"),
            DataError,
            "start: expected a local time",
        ),
        (lambda: WorkingWindow(9, 17), DataTypeError, "start: expected a local time"),
        (
            lambda: WorkingWindow("09:00+01:00", "17:00"),
            DataError,
            "a local time without a zone",
        ),
        (lambda: WorkingWindow.parse(9), DataTypeError, "window"),
        (
            lambda: WorkingWindow.parse("0900"),
            DataError,
            "window: expected a working window",
        ),
        (
            lambda: WorkingWindow.parse("9-5"),
            DataError,
            "window: expected a working window .*; start a local time such as '09:00'",
        ),
        (
            lambda: BusinessCalendar(weekday_hours={5: ["09:00-12:00"]}),
            DataError,
            r"weekday_hours\[0\].weekday: expected one of the workdays",
        ),
        (
            lambda: BusinessCalendar(
                weekday_hours=[
                    WeekdayHours(4, ["09:00-12:00"]),
                    WeekdayHours(4, ["09:00-11:00"]),
                ]
            ),
            DataError,
            r"weekday_hours\[1\].weekday: expected each weekday once",
        ),
        (lambda: BusinessCalendar(weekday_hours="fri"), DataTypeError, "weekday_hours"),
        (
            lambda: BusinessCalendar(weekday_hours=[4]),
            DataTypeError,
            r"weekday_hours\[0\]",
        ),
        (lambda: WeekdayHours(7, ["09:00-12:00"]), DataError, "weekday"),
        (lambda: WeekdayHours("4", ["09:00-12:00"]), DataTypeError, "weekday"),
        (
            lambda: BusinessCalendar(
                holidays=[date(2026, 3, 7)], extra_workdays=[date(2026, 3, 7)]
            ),
            DataError,
            "extra_workdays: expected dates that are not holidays",
        ),
        (
            lambda: SPLIT.business_time(utc(2026, 1, 2), utc(2026, 1, 1)),
            DataError,
            "end: expected an instant at or after start",
        ),
        (
            lambda: SPLIT.business_time(datetime(2026, 1, 1), utc(2026, 1, 1)),
            NaiveDatetimeError,
            "start",
        ),
        (
            lambda: SPLIT.add(utc(2026, 1, 1), 3600),
            DataTypeError,
            "amount: expected a timedelta",
        ),
        (
            lambda: SPLIT.add(utc(2026, 1, 1), -H),
            DataError,
            "amount: expected a timedelta of zero",
        ),
        (lambda: SPLIT.add("2026-01-01", H), DataTypeError, "start"),
        (lambda: SPLIT.is_working(date(2026, 1, 1)), DataTypeError, "instant"),
        (
            lambda: SPLIT.next_working(datetime(2026, 1, 1)),
            NaiveDatetimeError,
            "instant",
        ),
        (lambda: SPLIT.is_business_day(utc(2026, 1, 1)), DataTypeError, "day"),
        (lambda: SPLIT.working_windows("2026-01-01"), DataTypeError, "day"),
        (
            lambda: SPLIT.add(
                datetime.max.replace(tzinfo=UTC) - timedelta(hours=12), H
            ),
            DataError,
            "instant: expected a day after 0001-01-01 and before 9999-12-31",
        ),
        (
            lambda: SPLIT.add(utc(2026, 1, 1), timedelta.max),
            DataError,
            "amount: expected business time that ends before year 9999",
        ),
        (
            lambda: SPLIT.next_working(datetime.max.replace(tzinfo=UTC)),
            DataError,
            "instant",
        ),
    ],
)
def test_bad_input_is_a_crmcore_error_naming_the_field(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_a_long_span_walks_every_day_once_and_agrees_with_counting_weekdays():
    # 150 years: more days than the calendar's day table keeps at once.
    week = BusinessCalendar()
    start, end = utc(1900, 1, 1), utc(2050, 1, 1)
    days = (end - start).days
    weekdays = sum(1 for n in range(days) if (start + timedelta(days=n)).weekday() < 5)
    assert week.business_time(start, end) == timedelta(days=weekdays)
    # 31 December 2049 is a Friday: its close is midnight.
    assert week.add(start, timedelta(days=weekdays)) == utc(2050, 1, 1)
    # With a holiday every week no week is skipped: the day table fills and
    # starts afresh, and the answer is the same.
    mondays = [date(1900, 1, 1) + timedelta(weeks=n) for n in range(days // 7 + 1)]
    busy = BusinessCalendar(holidays=mondays)
    assert busy.business_time(start, end) == timedelta(
        days=weekdays - sum(1 for d in mondays if d < end.date())
    )


def test_instants_at_the_ends_of_time_are_data_errors_in_every_zone():
    berlin, tokyo = BusinessCalendar("Europe/Berlin"), BusinessCalendar("Asia/Tokyo")
    first = datetime(1, 1, 1, 12, tzinfo=UTC)
    with pytest.raises(DataError, match="instant: expected a day after 0001-01-01"):
        berlin.business_time(first, first + timedelta(days=3))
    with pytest.raises(DataError, match="instant"):
        berlin.working_windows(date(1, 1, 1))
    with pytest.raises(DataError, match="instant"):
        tokyo.is_working(first)
    # The day before the last is fine in Berlin as in UTC.
    late = datetime(9999, 12, 30, 12, tzinfo=UTC)
    assert berlin.is_working(late) is (late.weekday() < 5)
    assert berlin.business_time(late - timedelta(days=1), late) <= timedelta(days=1)


class NoOffset(tzinfo):
    """A tzinfo that does not know its offset (what ``require_aware`` refuses)."""

    def utcoffset(self, dt):
        return None

    def dst(self, dt):
        return None

    def tzname(self, dt):
        return "?"


def test_a_tzinfo_without_an_offset_is_naive():
    odd = datetime(2026, 3, 2, 9, tzinfo=NoOffset())
    with pytest.raises(NaiveDatetimeError, match="start"):
        SPLIT.add(odd, H)
    with pytest.raises(NaiveDatetimeError, match="instant"):
        SPLIT.is_working(odd)


def test_a_deadline_past_the_last_instant_is_a_data_error():
    # The last working window ends where datetime does: the deadline cannot be shown.
    last = BusinessCalendar(workdays=list(range(7)))
    with pytest.raises(
        DataError, match="amount: expected business time that ends before"
    ):
        last.add(datetime(9999, 12, 29, tzinfo=UTC), timedelta(days=3))
    # A deadline that exists in UTC but is past year 9999 in the caller's zone.
    minus_twelve = BusinessCalendar("Etc/GMT+12", workdays=list(range(7)))
    start = datetime(9999, 12, 30, 12, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    with pytest.raises(
        DataError, match="deadline: expected an instant before year 10000"
    ):
        minus_twelve.add(start, timedelta(hours=36))
    # Two days exactly fill the 29th and the 30th.
    assert last.add(datetime(9999, 12, 29, tzinfo=UTC), timedelta(days=2)) == datetime(
        9999, 12, 31, tzinfo=UTC
    )


# -- laws ------------------------------------------------------------------------------
def wall_reference(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> timedelta:
    """Minute by minute: a minute works when it lies in a window of its local day.

    A window bound is the first minute whose local wall clock shows that
    time or later (the documented DST convention), found by scanning.
    """
    zone = UTC if calendar.tz == "UTC" else ZoneInfo(calendar.tz)
    bounds: dict[tuple[date, int], datetime] = {}

    def bound(day: date, minute_of_day: int) -> datetime:
        key = (day, minute_of_day)
        if key not in bounds:
            wall = datetime.combine(day, time(0)) + timedelta(minutes=minute_of_day)
            moment = (wall - timedelta(hours=30)).replace(tzinfo=UTC)
            while moment.astimezone(zone).replace(tzinfo=None) < wall:
                moment += M
            bounds[key] = moment
        return bounds[key]

    def windows(day: date) -> list[tuple[int, int]]:
        if day in calendar.extra_workdays:
            chosen = calendar.hours
        elif day in calendar.holidays or day.weekday() not in calendar.workdays:
            return []
        else:
            special = {w.weekday: w.hours for w in calendar.weekday_hours}
            chosen = special.get(day.weekday(), calendar.hours)
        return [(w.opens // 60_000_000, w.closes // 60_000_000) for w in chosen]

    total, moment = timedelta(0), start
    while moment < end:
        day = moment.astimezone(zone).date()
        if any(bound(day, a) <= moment < bound(day, b) for a, b in windows(day)):
            total += M
        moment += M
    return total


minutes = st.integers(0, 2 * 24 * 60)
origins = st.sampled_from(
    [
        utc(2026, 3, 27),
        utc(2026, 10, 23),
        utc(2026, 9, 4),
        utc(2026, 4, 1),
        utc(2026, 11, 1),
    ]
)


@given(business_calendars(), origins, minutes, minutes)
def test_business_time_is_the_working_minutes_on_the_wall_clock(calendar, origin, a, b):
    # Windows on whole minutes, instants on whole minutes: minute counting is exact.
    start, end = origin + a * M, origin + (a + b) * M
    assert calendar.business_time(start, end) == wall_reference(calendar, start, end)


@given(business_calendars(), origins, minutes, minutes, minutes)
def test_business_time_is_additive_and_never_exceeds_elapsed_time(
    calendar, origin, a, b, c
):
    start, middle, end = sorted(origin + x * M for x in (a, a + b, a + b + c))
    whole = calendar.business_time(start, end)
    assert whole == calendar.business_time(start, middle) + calendar.business_time(
        middle, end
    )
    assert timedelta(0) <= whole <= end - start


amounts = st.integers(0, 10 * 24 * 60 * 60 * 1_000_000).map(
    lambda us: timedelta(microseconds=us)
)
instants = st.integers(0, 400 * 24 * 60 * 60 * 1_000_000).map(
    lambda us: utc(2026, 1, 1) + timedelta(microseconds=us)
)


@given(business_calendars(), instants, amounts)
def test_adding_then_measuring_gives_the_amount_and_the_deadline_is_the_earliest(
    calendar, start, amount
):
    deadline = calendar.add(start, amount)
    assert deadline >= start
    assert calendar.business_time(start, deadline) == amount
    if amount:
        assert calendar.is_working(deadline - timedelta(microseconds=1))
        assert (
            calendar.business_time(start, deadline - timedelta(microseconds=1)) < amount
        )


@given(business_calendars(), instants, amounts, amounts)
def test_a_deadline_is_monotonic_in_the_amount(calendar, start, a, b):
    low, high = sorted((a, b))
    assert calendar.add(start, low) <= calendar.add(start, high)


@given(business_calendars(), instants, instants, amounts)
def test_a_deadline_is_monotonic_in_the_start(calendar, a, b, amount):
    early, late = sorted((a, b))
    assert calendar.add(early, amount) <= calendar.add(late, amount)


@given(business_calendars(), instants)
def test_next_working_is_the_first_working_instant(calendar, instant):
    opening = calendar.next_working(instant)
    assert opening >= instant
    assert calendar.is_working(opening)
    assert calendar.business_time(instant, opening) == timedelta(0)
    assert calendar.add(instant, timedelta(microseconds=1)) == opening + timedelta(
        microseconds=1
    )


@given(working_windows())
def test_windows_round_trip_through_their_text(windows):
    for window in windows:
        assert WorkingWindow.parse(str(window)) == window


long_amounts = st.integers(0, 400 * 24 * 60).map(lambda m: timedelta(minutes=m))
long_spans = st.integers(0, 3 * 365 * 24).map(lambda h: timedelta(hours=h))


@given(business_calendars(), instants, long_spans)
def test_long_spans_equal_the_sum_of_their_days(calendar, start, span):
    # Whole weeks are skipped when nothing unusual falls in them; the sum of
    # each local day's windows is the reference.
    end = start + span
    zone = UTC if calendar.tz == "UTC" else ZoneInfo(calendar.tz)
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    total = timedelta(0)
    while day <= last:
        for window in calendar.working_windows(day):
            overlap = min(window.end, end) - max(window.start, start)
            total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    assert calendar.business_time(start, end) == total


@given(business_calendars(), instants, long_amounts)
def test_long_deadlines_add_up(calendar, start, amount):
    deadline = calendar.add(start, amount)
    assert calendar.business_time(start, deadline) == amount
    if amount:
        assert calendar.is_working(deadline - timedelta(microseconds=1))
