import itertools
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError
from crmcore.pipelines import Pipeline, StageDefinition, TransitionPolicy
from crmcore.records import StageChange
from crmcore.stage_analytics import (
    StageAnalytics,
    StuckDeal,
    group_histories,
    stage_analytics,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AS_OF = T0 + timedelta(days=30)

PIPELINE = Pipeline(
    "b2b",
    (
        StageDefinition("qualify", "Qualified", rotting_days=14),
        StageDefinition("discover", "Discovery held", rotting_days=21),
        StageDefinition("propose", "Proposal sent", rotting_days=21),
        StageDefinition("negotiate", "Negotiating", rotting_days=14),
        StageDefinition("won", "Won", kind="won"),
        StageDefinition("lost", "Lost", kind="lost"),
    ),
    policy=TransitionPolicy(lost_reasons=("price",)),
)

# A dozen deals, as (stage, day) steps from T0.
DEALS = {
    "D1": [
        ("qualify", 0),
        ("discover", 2),
        ("propose", 5),
        ("negotiate", 9),
        ("won", 14),
    ],
    "D2": [("qualify", 0), ("discover", 1), ("propose", 4), ("lost", 10)],
    "D3": [("qualify", 0), ("lost", 3)],
    "D4": [
        ("qualify", 0),
        ("discover", 3),
        ("qualify", 5),
        ("discover", 6),
        ("propose", 10),
        ("negotiate", 12),
        ("won", 20),
    ],
    "D5": [("qualify", 0), ("propose", 4), ("negotiate", 8), ("won", 11)],
    "D6": [("qualify", 0), ("discover", 2)],
    "D7": [
        ("qualify", 0),
        ("discover", 2),
        ("propose", 3),
        ("negotiate", 6),
        ("lost", 9),
    ],
    "D8": [("qualify", 0), ("won", 5)],
    "D9": [("qualify", 0)],
    "D10": [("qualify", 0), ("discover", 4), ("propose", 7)],
    "D11": [("qualify", 0), ("discover", 1), ("lost", 2)],
    "D12": [
        ("qualify", 0),
        ("discover", 2),
        ("propose", 6),
        ("negotiate", 7),
        ("won", 8),
    ],
}


def history(deal: str, steps: list[tuple[str, float]]) -> list[StageChange]:
    changes, previous = [], None
    for stage, day in steps:
        changes.append(StageChange(deal, previous, stage, T0 + timedelta(days=day)))
        previous = stage
    return changes


CHANGES = [change for deal, steps in DEALS.items() for change in history(deal, steps)]


def test_worked_example():
    report = stage_analytics(PIPELINE, CHANGES, as_of=AS_OF)
    assert (report.deals, report.won, report.lost) == (
        12,
        5,
        4,
    )  # D1 D4 D5 D8 D12 won; D2 D3 D7 D11 lost
    assert report.backward_moves == 1  # D4 discover -> qualify
    assert report.skips == 2  # D5 qualify -> propose, D8 qualify -> won
    assert report.funnel == (
        ("qualify", 12),
        ("discover", 8),
        ("propose", 7),
        ("negotiate", 5),
        ("won", 5),
    )

    qualify = report.stage("qualify")
    # 13 visits (D4 twice); completed: 2 1 3 3+1 4 2 2 5 4 1 2 (D9 still there)
    # sum 30 over 12 -> 2.5; sorted 1 1 1 2 2 2 2 3 3 4 4 5: median 2, p90 = 11th = 4.
    assert (qualify.visits, qualify.deals, qualify.completed, qualify.current) == (
        13,
        12,
        12,
        1,
    )
    assert (qualify.mean_days, qualify.median_days, qualify.p90_days) == (
        Decimal("2.5"),
        Decimal(2),
        Decimal(4),
    )
    # Reached beyond: all but D3 and D9 -> 10/12. Next move to discover: 8 of 12.
    assert qualify.conversion == Decimal(10) / 12
    assert qualify.next_stage_conversion == Decimal(8) / 12

    discover = report.stage("discover")
    # Visits D1 D2 D4 D4 D6 D7 D10 D11 D12; completed 3 3 2 4 1 3 1 4 (D6 running)
    # sum 21 / 8 = 2.625; sorted 1 1 2 3 3 3 4 4: median 3, p90 = 8th = 4.
    assert (discover.visits, discover.deals, discover.completed, discover.current) == (
        9,
        8,
        8,
        1,
    )
    assert (discover.mean_days, discover.median_days, discover.p90_days) == (
        Decimal("2.625"),
        Decimal(3),
        Decimal(4),
    )
    # Beyond: D1 D2 D4 D7 D10 D12 of 8. Next to propose: D1 D2 D7 D10 D12 (D4 went back).
    assert (discover.conversion, discover.next_stage_conversion) == (
        Decimal("0.75"),
        Decimal("0.625"),
    )

    propose = report.stage("propose")
    # Completed 4 6 2 4 3 1 (D10 running): mean 20/6, sorted 1 2 3 4 4 6: median 3.5, p90 = 6th = 6.
    assert (propose.deals, propose.completed, propose.current) == (7, 6, 1)
    assert (propose.mean_days, propose.median_days, propose.p90_days) == (
        Decimal(20) / 6,
        Decimal("3.5"),
        Decimal(6),
    )
    assert propose.conversion == propose.next_stage_conversion == Decimal(5) / 7

    negotiate = report.stage("negotiate")
    # Completed 5 8 3 3 1: mean 4, median 3, p90 = 5th = 8. Won 4 of 5 (D7 lost).
    assert (negotiate.mean_days, negotiate.median_days, negotiate.p90_days) == (
        Decimal(4),
        Decimal(3),
        Decimal(8),
    )
    assert negotiate.conversion == negotiate.next_stage_conversion == Decimal("0.8")
    assert negotiate.current == 0

    # Stuck as of day 30: D9 30 days in qualify (> 14), D6 28 in discover (> 21), D10 23 in propose (> 21).
    assert [(s.record_id, s.stage, s.days_in_stage) for s in report.stuck] == [
        ("D9", "qualify", Decimal(30)),
        ("D6", "discover", Decimal(28)),
        ("D10", "propose", Decimal(23)),
    ]
    assert report.stuck[0] == StuckDeal("D9", "qualify", T0, Decimal(30), 14)


def test_undefined_figures_and_rows():
    report = stage_analytics(PIPELINE, history("only", [("qualify", 0)]), as_of=AS_OF)
    negotiate = report.stage("negotiate")
    assert negotiate.mean_days is negotiate.median_days is negotiate.p90_days is None
    assert negotiate.conversion is negotiate.next_stage_conversion is None
    rows = report.to_rows()
    assert rows[0]["stage"] == "qualify" and rows[0]["current"] == 1
    assert "<table>" in report._repr_html_()
    with pytest.raises(DataError, match="stage: expected one of qualify"):
        report.stage("won")


def test_changes_after_as_of_are_ignored():
    # As of day 1 (inclusive): only D2's and D11's moves to discover have happened.
    early = stage_analytics(PIPELINE, CHANGES, as_of=T0 + timedelta(days=1))
    assert early.won == 0 and early.stage("qualify").current == 10
    assert early.stage("discover").current == 2
    assert stage_analytics(PIPELINE, CHANGES, as_of=T0 - timedelta(days=1)).deals == 0


def test_an_empty_stream_has_no_histories():
    assert list(group_histories([])) == []
    assert stage_analytics(PIPELINE, [], as_of=AS_OF).deals == 0


def test_bad_input():
    with pytest.raises(
        DataError,
        match="record_id: expected all changes of one record next to each other",
    ):
        list(
            group_histories(
                [
                    *history("A", [("qualify", 0)]),
                    *history("B", [("qualify", 0)]),
                    *history("A", [("discover", 1)]),
                ]
            )
        )
    with pytest.raises(DataError, match="stage: expected one of"):
        stage_analytics(PIPELINE, [StageChange("A", None, "demo", T0)], as_of=AS_OF)
    with pytest.raises(NaiveDatetimeError, match="at"):
        stage_analytics(
            PIPELINE,
            [{"record_id": "A", "to_stage": "qualify", "at": datetime(2026, 1, 1)}],
            as_of=AS_OF,
        )
    with pytest.raises(DataTypeError, match="at: expected a timezone-aware datetime"):
        stage_analytics(
            PIPELINE,
            [{"record_id": "A", "to_stage": "qualify", "at": "2026-01-01"}],
            as_of=AS_OF,
        )
    with pytest.raises(DataTypeError, match="pipeline: expected a Pipeline"):
        StageAnalytics.of("b2b", as_of=AS_OF)
    with pytest.raises(NaiveDatetimeError, match="as_of"):
        StageAnalytics.of(PIPELINE, as_of=datetime(2026, 1, 1))
    with pytest.raises(
        DataError,
        match="other: expected StageAnalytics of the same pipeline, as_of and calendar",
    ):
        StageAnalytics.of(PIPELINE, as_of=AS_OF).merge(
            StageAnalytics.of(PIPELINE, as_of=T0)
        )


# -- laws ----------------------------------------------------------------------------------------------
STAGES = ["qualify", "discover", "propose", "negotiate", "won", "lost"]
paths = st.lists(
    st.tuples(st.sampled_from(STAGES), st.integers(0, 40 * 24)), min_size=1, max_size=8
).map(
    lambda steps: [
        (stage, hours / 24) for stage, hours in sorted(steps, key=lambda s: s[1])
    ]
)
deal_sets = st.lists(paths, max_size=12).map(
    lambda all_steps: [history(f"D{i}", steps) for i, steps in enumerate(all_steps)]
)


@given(deal_sets, st.data())
def test_merged_partitions_equal_the_single_pass_in_any_order(histories, data):
    single = StageAnalytics.of(PIPELINE, as_of=AS_OF).update(histories).result()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(histories)), max_size=3)))
    merged = StageAnalytics.of(PIPELINE, as_of=AS_OF)
    for start, end in zip([0, *cuts], [*cuts, len(histories)], strict=True):
        merged = merged.merge(
            StageAnalytics.of(PIPELINE, as_of=AS_OF).update(histories[start:end])
        )
    assert merged.result() == single
    shuffled = [
        random.Random(data.draw(st.integers(0, 99))).sample(h, len(h))
        for h in reversed(histories)
    ]
    assert StageAnalytics.of(PIPELINE, as_of=AS_OF).update(shuffled).result() == single


# Strictly increasing times: ties (ordered by the accumulator) are covered by
# the order-independence law above.
distinct_paths = st.lists(
    st.tuples(st.sampled_from(STAGES), st.integers(0, 40 * 24)),
    min_size=1,
    max_size=8,
    unique_by=lambda s: s[1],
).map(
    lambda steps: [
        (stage, hours / 24) for stage, hours in sorted(steps, key=lambda s: s[1])
    ]
)


@given(distinct_paths)
def test_time_in_stages_adds_up_to_the_lifetime(steps):
    changes = [c for c in history("D", steps) if c.at <= AS_OF]
    accumulator = StageAnalytics.of(PIPELINE, as_of=AS_OF)
    accumulator.add(changes)
    if not changes:
        return
    spent = sum(sum(values) for values in accumulator.durations.values())
    last = changes[-1]
    end = last.at if last.to_stage in {"won", "lost"} else AS_OF
    running = (
        0
        if last.to_stage in {"won", "lost"}
        else (AS_OF - last.at) // timedelta(microseconds=1)
    )
    # Visits of closed stages (a move out of won or lost) have no duration.
    closed_gaps = sum(
        (b.at - a.at) // timedelta(microseconds=1)
        for a, b in itertools.pairwise(changes)
        if a.to_stage in {"won", "lost"}
    )
    assert spent + running + closed_gaps == (end - changes[0].at) // timedelta(
        microseconds=1
    )


@given(deal_sets)
def test_report_invariants(histories):
    report = StageAnalytics.of(PIPELINE, as_of=AS_OF).update(histories).result()
    assert (
        report.won + report.lost + sum(s.current for s in report.stages) == report.deals
    )
    for stats in report.stages:
        assert stats.completed + stats.current <= stats.visits
        assert stats.deals <= stats.visits
        for share in (stats.conversion, stats.next_stage_conversion):
            assert share is None or Decimal(0) <= share <= Decimal(1)
        if stats.mean_days is not None:
            assert stats.median_days is not None and stats.p90_days is not None
            assert Decimal(0) <= stats.median_days <= stats.p90_days


def test_time_in_stage_in_business_days():
    from crmcore.business_time import BusinessCalendar

    # 2026-01-01 is a Thursday. qualify Thu 00:00 -> discover Mon 00:00: two business
    # days (Thu, Fri); discover Mon -> won the next Mon: five.
    changes = history("B", [("qualify", 0), ("discover", 4), ("won", 11)])
    calendar = BusinessCalendar()
    report = stage_analytics(PIPELINE, changes, as_of=AS_OF, calendar=calendar)
    assert report.stage("qualify").mean_days == 2
    assert report.stage("discover").mean_days == 5
    assert (
        stage_analytics(PIPELINE, changes, as_of=AS_OF).stage("discover").mean_days == 7
    )
    # Stuck in business days: from Thursday noon to day 30 is half a Thursday, a
    # Friday and four whole weeks: 21.5 business days, over discover's 21.
    waiting = history("W", [("qualify", 0), ("discover", 0.5)])
    (stuck,) = stage_analytics(PIPELINE, waiting, as_of=AS_OF, calendar=calendar).stuck
    assert stuck.days_in_stage == Decimal("21.5")
    (elapsed,) = stage_analytics(PIPELINE, waiting, as_of=AS_OF).stuck
    assert elapsed.days_in_stage == Decimal("29.5")
    # With New Year's Day a holiday it is exactly 21: not stuck.
    new_year = BusinessCalendar(holidays=[date(2026, 1, 1)])
    assert (
        stage_analytics(PIPELINE, waiting, as_of=AS_OF, calendar=new_year).stuck == ()
    )
    with pytest.raises(
        DataTypeError, match="calendar: expected a BusinessCalendar or None"
    ):
        StageAnalytics.of(PIPELINE, as_of=AS_OF, calendar="weekdays")
    with pytest.raises(DataError, match="same pipeline, as_of and calendar"):
        StageAnalytics.of(PIPELINE, as_of=AS_OF).merge(
            StageAnalytics.of(PIPELINE, as_of=AS_OF, calendar=calendar)
        )
    left = StageAnalytics.of(PIPELINE, as_of=AS_OF, calendar=calendar).update([changes])
    right = StageAnalytics.of(PIPELINE, as_of=AS_OF, calendar=calendar).update(
        [waiting]
    )
    assert (
        left.merge(right).result()
        == StageAnalytics.of(PIPELINE, as_of=AS_OF, calendar=calendar)
        .update([changes, waiting])
        .result()
    )
