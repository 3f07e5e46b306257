"""Business-time benchmarks: SLA deadlines and business-time differences of tickets.

Run with ``python benchmarks/bench_business_time.py [--rows N]`` (default
1,000,000 tickets).

One calendar for everybody: Berlin, Monday to Friday 09:00-12:00 and
13:00-17:00, with Germany's 2026 holidays. Each ticket has a creation
instant somewhere in 2026 (UTC) and a resolution up to five days later.

* **Deadlines**: the instant four business hours after creation.
* **Differences**: the business time from creation to resolution.

Each is timed against the hand-written loop a user would write (walk the
local days, clip each window; target: crmcore within 2x) and against
``businesstimedelta`` (the peer library; the ``bench`` extra), which is
timed on a sample of the tickets and compared per ticket (target: crmcore
faster). Runs interleave crmcore and the baseline in the same process; the
answers are compared too, and disagreements are counted (``businesstimedelta``
is not exact across DST and takes holidays as whole days).
"""

from __future__ import annotations

import argparse
import random
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crmcore.business_time import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
WINDOWS = ((time(9), time(12)), (time(13), time(17)))
HOLIDAYS = (
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 14),
    date(2026, 5, 25),
    date(2026, 10, 3),
    date(2026, 12, 25),
    date(2026, 12, 26),
    date(2027, 1, 1),
)
TARGET = timedelta(hours=4)
CALENDAR = BusinessCalendar(
    "Europe/Berlin", holidays=HOLIDAYS, hours=["09:00-12:00", "13:00-17:00"]
)


def make_tickets(count: int) -> list[tuple[datetime, datetime]]:
    rng = random.Random(13)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    tickets = []
    for _ in range(count):
        created = start + timedelta(seconds=rng.randrange(360 * 86_400))
        tickets.append(
            (created, created + timedelta(seconds=rng.randrange(5 * 86_400)))
        )
    return tickets


# -- the hand-written loop -----------------------------------------------------------
_HOLIDAY_SET = frozenset(HOLIDAYS)


def loop_deadline(start: datetime, amount: timedelta) -> datetime:
    """Walk the local days from ``start``, consuming each window's time."""
    moment = start.astimezone(BERLIN)
    day = moment.date()
    while True:
        if day.weekday() < 5 and day not in _HOLIDAY_SET:
            for opens, closes in WINDOWS:
                window_end = datetime.combine(day, closes, BERLIN)
                if window_end <= moment:
                    continue
                begin = max(datetime.combine(day, opens, BERLIN), moment)
                if amount <= window_end - begin:
                    return (begin + amount).astimezone(UTC)
                amount -= window_end - begin
        day += timedelta(days=1)
        moment = datetime.combine(day, time(0), BERLIN)


def loop_between(start: datetime, end: datetime) -> timedelta:
    """Sum the overlap of ``[start, end)`` with each window of each local day."""
    first, last = start.astimezone(BERLIN), end.astimezone(BERLIN)
    day, total = first.date(), timedelta(0)
    while day <= last.date():
        if day.weekday() < 5 and day not in _HOLIDAY_SET:
            for opens, closes in WINDOWS:
                begin = max(datetime.combine(day, opens, BERLIN), first)
                finish = min(datetime.combine(day, closes, BERLIN), last)
                if finish > begin:
                    total += finish - begin
        day += timedelta(days=1)
    return total


# -- the peer library -----------------------------------------------------------------
def peer() -> tuple[Callable[..., datetime], Callable[..., timedelta]] | None:
    try:
        import businesstimedelta  # type: ignore[import-untyped]  # noqa: PLC0415 - the optional peer
        import pytz  # type: ignore[import-untyped]  # noqa: PLC0415 - the optional peer
    except ImportError:
        return None
    zone = pytz.timezone("Europe/Berlin")
    week = [0, 1, 2, 3, 4]
    rules = businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=time(9), end_time=time(17), working_days=week, tz=zone
            ),
            businesstimedelta.LunchTimeRule(
                start_time=time(12), end_time=time(13), working_days=week, tz=zone
            ),
            # Its holiday search gives up (and fails) when no holiday lies in
            # the next five years: a far one keeps it going.
            businesstimedelta.HolidayRule([*HOLIDAYS, date(2031, 1, 1)], tz=zone),
        ]
    )
    delta = businesstimedelta.BusinessTimeDelta(rules, hours=4)

    def deadline(start: datetime, _amount: timedelta) -> datetime:
        moment: datetime = start + delta
        return moment.astimezone(UTC)

    def between(start: datetime, end: datetime) -> timedelta:
        difference = rules.difference(start, end)
        return timedelta(hours=difference.hours, seconds=difference.seconds)

    return deadline, between


def timed(function: Callable[[], list[object]]) -> tuple[float, list[object]]:
    began = clock.perf_counter()
    answers = function()
    return clock.perf_counter() - began, answers


def race(
    title: str,
    ours: Callable[[], list[object]],
    theirs: Callable[[], list[object]],
    *,
    items: int,
    their_items: int | None = None,
    repeat: int = 3,
) -> None:
    """Interleave the two, keep each one's best, print the ratio per ticket."""
    best_ours = best_theirs = float("inf")
    for _ in range(repeat):
        seconds, mine = timed(ours)
        best_ours = min(best_ours, seconds)
        seconds, other = timed(theirs)
        best_theirs = min(best_theirs, seconds)
    per_ours = best_ours / items
    per_theirs = best_theirs / (their_items or items)
    differ = sum(a != b for a, b in zip(mine, other, strict=False))
    print(
        f"{title:<46} crmcore {best_ours:7.3f} s ({items / best_ours:>10,.0f}/s)  "
        f"baseline {per_theirs * 1e6:8.2f} us/ticket  "
        f"ratio {per_ours / per_theirs:6.3f}x  ({differ} answers differ)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=None, help="ignored")
    args = parser.parse_args()
    tickets = make_tickets(args.rows)
    sample = tickets[: max(1, len(tickets) // 50)]
    add, between = CALENDAR.add, CALENDAR.business_time
    print(f"{len(tickets):,} tickets; businesstimedelta on {len(sample):,} of them")

    def our_deadlines(rows: list[tuple[datetime, datetime]] = tickets) -> list[object]:
        return [add(created, TARGET) for created, _ in rows]

    def our_differences(
        rows: list[tuple[datetime, datetime]] = tickets,
    ) -> list[object]:
        return [between(created, resolved) for created, resolved in rows]

    race(
        "deadlines vs hand-written loop",
        our_deadlines,
        lambda: [loop_deadline(created, TARGET) for created, _ in tickets],
        items=len(tickets),
    )
    race(
        "differences vs hand-written loop",
        our_differences,
        lambda: [loop_between(created, resolved) for created, resolved in tickets],
        items=len(tickets),
    )
    library = peer()
    if library is None:
        print("businesstimedelta is not installed (pip install 'crmcore[bench]')")
        return
    peer_deadline, peer_between = library
    race(
        "deadlines vs businesstimedelta",
        lambda: our_deadlines(sample),
        lambda: [peer_deadline(created, TARGET) for created, _ in sample],
        items=len(sample),
        repeat=1,
    )
    race(
        "differences vs businesstimedelta",
        lambda: our_differences(sample),
        lambda: [peer_between(created, resolved) for created, resolved in sample],
        items=len(sample),
        repeat=1,
    )


if __name__ == "__main__":
    main()
