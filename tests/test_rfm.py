from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import (
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    NaiveDatetimeError,
)
from crmcore.money import Money
from crmcore.rfm import (
    CalibrationHoldout,
    CustomerSummary,
    RfmScore,
    _scores,
    btyd_summary,
    calibration_holdout,
    rfm_scores,
    rfm_segments,
)
from crmcore.segments import Tiering
from crmcore.serialization import structure, unstructure


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def purchase(who: str, when: datetime, amount: object) -> dict[str, Any]:
    return {"customer_id": who, "at": when, "amount": amount}


# The hand-computed log. A buys twice on Jan 1, on Jan 5 and 10, twice on Jan 20,
# and once after the observation end; B once; C once, late on the end day itself.
LOG = [
    purchase("A", at(1, 1, 10), 10),
    purchase("A", at(1, 1, 15), 5),
    purchase("A", at(1, 5, 9), 20),
    purchase("A", at(1, 10), 30),
    purchase("A", at(1, 20, 8), 40),
    purchase("A", at(1, 20, 18), 2),
    purchase("A", at(2, 15), 100),
    purchase("B", at(1, 20), 50),
    purchase("C", at(1, 31, 23), 7),
]
END = at(1, 31, 12)


def test_btyd_summary_worked_example_by_day():
    summary = btyd_summary(LOG, observation_end=END, amount="amount")
    # A: periods Jan 1 (10 + 5 = 15), Jan 5 (20), Jan 10 (30), Jan 20 (40 + 2 = 42);
    #    Feb 15 is after the end. frequency = 4 - 1 = 3; recency = Jan 20 - Jan 1
    #    = 19 days; T = Jan 31 - Jan 1 = 30; monetary = (20 + 30 + 42) / 3 = 92 / 3.
    assert summary["A"] == CustomerSummary(
        "A", 3, Decimal(19), Decimal(30), Decimal(92) / 3
    )
    # B: one purchase on Jan 20: no repeat, T = Jan 31 - Jan 20 = 11.
    assert summary["B"] == CustomerSummary("B", 0, Decimal(0), Decimal(11), Decimal(0))
    # C: 23:00 on the end day is after the end instant but in the end's period: kept.
    assert summary["C"] == CustomerSummary("C", 0, Decimal(0), Decimal(0), Decimal(0))
    assert list(summary) == ["A", "B", "C"]


def test_include_first_multiplier_and_no_amount():
    first = btyd_summary(LOG, observation_end=END, amount="amount", include_first=True)
    # A: all four periods: frequency 4, monetary (15 + 20 + 30 + 42) / 4 = 26.75.
    assert (first["A"].frequency, first["A"].monetary_value) == (4, Decimal("26.75"))
    assert (first["B"].frequency, first["B"].monetary_value) == (1, Decimal(50))
    weekly = btyd_summary(LOG, observation_end=END, amount="amount", multiplier=7)
    assert (weekly["A"].recency, weekly["A"].T) == (Decimal(19) / 7, Decimal(30) / 7)
    bare = btyd_summary(LOG, observation_end=END)
    assert bare["A"].monetary_value is None and bare["A"].frequency == 3


def test_btyd_summary_worked_example_by_iso_week():
    summary = btyd_summary(LOG, observation_end=END, amount="amount", unit="week")
    # Weeks start on Monday: Jan 1 (Thu) is in the week of Dec 29; Jan 5 (Mon) and
    # Jan 10 (Sat) share the week of Jan 5 (20 + 30 = 50); Jan 20 (Tue) is in the
    # week of Jan 19 (42); the end, Jan 31 (Sat), is in the week of Jan 26.
    # A: frequency 3 - 1 = 2; recency (Jan 19 - Dec 29) / 7 = 3; T = 28 / 7 = 4;
    #    monetary (50 + 42) / 2 = 46.
    assert summary["A"] == CustomerSummary("A", 2, Decimal(3), Decimal(4), Decimal(46))
    assert Decimal(1) == summary["B"].T
    assert Decimal(0) == summary["C"].T


def test_periods_follow_the_calendar_of_tz():
    late = [purchase("A", datetime(2026, 1, 1, 23, 30, tzinfo=UTC), 1)]
    late.append(purchase("A", datetime(2026, 1, 2, 0, 30, tzinfo=UTC), 1))
    utc = btyd_summary(late, observation_end=END)
    berlin = btyd_summary(late, observation_end=END, tz="Europe/Berlin")
    assert utc["A"].frequency == 1  # two UTC days
    assert berlin["A"].frequency == 0  # both on Jan 2 in Berlin


def test_offsets_other_than_the_utc_singleton_are_read_correctly():
    from datetime import timezone

    plus_two = timezone(timedelta(hours=2))
    log = [
        purchase("A", datetime(2026, 1, 2, 1, 0, tzinfo=plus_two), 1)
    ]  # Jan 1 23:00 UTC
    assert Decimal(30) == btyd_summary(log, observation_end=END)["A"].T


def test_calibration_holdout_worked_example():
    split = calibration_holdout(
        LOG, calibration_end=at(1, 15, 0), observation_end=END, amount="amount"
    )
    # Calibration (at or before Jan 15 00:00): A's Jan 1, 5 and 10 periods:
    # frequency 2, recency 9, T = Jan 15 - Jan 1 = 14, monetary (20 + 30) / 2 = 25.
    # Holdout (after Jan 15, at or before Jan 31 12:00): A's two Jan 20 purchases
    # are one period worth 42: frequency 1 and monetary 42 (a mean of per-period
    # sums, as pymc-marketing; lifetimes would average the raw 40 and 2 to 21).
    # B and C first bought in the holdout, so they are not in the result.
    assert split == {
        "A": CalibrationHoldout(
            customer="A",
            frequency_cal=2,
            recency_cal=Decimal(9),
            T_cal=Decimal(14),
            monetary_value_cal=Decimal(25),
            frequency_holdout=1,
            monetary_value_holdout=Decimal(42),
            duration_holdout=Decimal(16),
        )
    }
    quiet = calibration_holdout(
        LOG, calibration_end=at(1, 25), observation_end=END, amount="amount"
    )
    assert quiet["B"].frequency_holdout == 0 and quiet["B"].monetary_value_holdout == 0
    assert (
        calibration_holdout(LOG, calibration_end=at(1, 15, 0), observation_end=END)[
            "A"
        ].monetary_value_holdout
        is None
    )
    scaled = calibration_holdout(
        LOG, calibration_end=at(1, 15, 0), observation_end=END, multiplier=2
    )
    assert (scaled["A"].T_cal, scaled["A"].duration_holdout) == (Decimal(7), Decimal(8))


def test_money_amounts_and_generators():
    log = (purchase("A", at(1, d), Money(d, "EUR")) for d in (1, 2, 3))
    summary = btyd_summary(log, observation_end=END, amount="amount")
    assert summary["A"].monetary_value == Decimal("2.5")


@pytest.mark.parametrize(
    ("log", "kwargs", "error", "message"),
    [
        ([purchase("A", datetime(2026, 1, 1), 1)], {}, NaiveDatetimeError, "at"),
        (
            [purchase("A", "2026-01-01", 1)],
            {},
            DataTypeError,
            "at: expected a timezone-aware datetime",
        ),
        (
            [purchase(None, at(1, 1), 1)],
            {},
            DataError,
            "customer_id: expected a customer",
        ),
        (
            [{"customer_id": "A", "at": at(1, 1)}],
            {"amount": "amount"},
            DataError,
            "amount: expected an amount",
        ),
        (
            [purchase("A", at(1, 1), 1.5)],
            {"amount": "amount"},
            DataTypeError,
            "amount: expected a Decimal",
        ),
        (
            [
                purchase("A", at(1, 1), Money(1, "EUR")),
                purchase("A", at(1, 2), Money(1, "USD")),
            ],
            {"amount": "amount"},
            CurrencyMismatchError,
            "amount",
        ),
        (LOG, {"unit": "month"}, DataError, "unit: expected one of 'day', 'week'"),
        (LOG, {"multiplier": 0}, DataError, "multiplier: expected a positive number"),
        (LOG, {"multiplier": 0.5}, DataTypeError, "multiplier"),
    ],
)
def test_bad_input(log, kwargs, error, message):
    with pytest.raises(error, match=message):
        btyd_summary(log, observation_end=END, **kwargs)


def test_bad_split_input():
    with pytest.raises(NaiveDatetimeError, match="observation_end"):
        btyd_summary(LOG, observation_end=datetime(2026, 1, 1))
    with pytest.raises(
        DataError,
        match="observation_end: expected an instant at or after calibration_end",
    ):
        calibration_holdout(LOG, calibration_end=END, observation_end=at(1, 1))
    with pytest.raises(DataError, match="at least one purchase at or before"):
        calibration_holdout(LOG, calibration_end=at(1, 1, 0), observation_end=END)
    with pytest.raises(DataError, match="customer_id"):
        calibration_holdout(
            [purchase(None, at(1, 1), 1)], calibration_end=END, observation_end=END
        )


def test_nested_field_paths_work():
    log = [{"who": {"id": "A"}, "when": at(1, 1), "money": {"value": 3}}]
    summary = btyd_summary(
        log, observation_end=END, customer="who.id", at="when", amount="money.value"
    )
    assert summary["A"].monetary_value == 0  # no repeat
    tupled = btyd_summary(
        log, observation_end=END, customer=("who", "id"), at=("when",)
    )
    assert Decimal(30) == tupled["A"].T


# -- laws ------------------------------------------------------------------------------------------
logs = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 90 * 24),  # hours after Jan 1
        st.integers(0, 500),
    ),
    max_size=40,
).map(
    lambda rows: [
        purchase(w, at(1, 1, 0) + timedelta(hours=h), amount) for w, h, amount in rows
    ]
)
ends = st.integers(0, 100).map(lambda d: at(1, 1, 0) + timedelta(days=d))


@given(logs, ends, st.sampled_from(["day", "week"]), st.booleans())
def test_summary_invariants(log, end, unit, include_first):
    for row in btyd_summary(
        log,
        observation_end=end,
        amount="amount",
        unit=unit,
        include_first=include_first,
    ).values():
        assert 0 <= row.recency <= row.T
        if not include_first:
            if row.frequency == 0:
                assert row.recency == 0 and row.monetary_value == 0
            assert (
                row.frequency <= row.recency
            )  # multiplier 1: one repeat per period at most
        else:
            assert row.frequency >= 1


@given(logs, ends, st.randoms(use_true_random=False))
def test_summary_is_independent_of_order(log, end, rnd):
    shuffled = list(log)
    rnd.shuffle(shuffled)
    assert btyd_summary(shuffled, observation_end=end, amount="amount") == btyd_summary(
        log, observation_end=end, amount="amount"
    )


@given(logs, ends, st.integers(1, 40))
def test_calibration_part_equals_the_summary_of_the_calibration_window(log, end, days):
    calibration_end = at(1, 1, 0) + timedelta(days=days)
    if end < calibration_end or not any(p["at"] <= calibration_end for p in log):
        return
    split = calibration_holdout(
        log, calibration_end=calibration_end, observation_end=end, amount="amount"
    )
    summary = btyd_summary(
        [p for p in log if p["at"] <= calibration_end],
        observation_end=calibration_end,
        amount="amount",
    )
    assert {
        k: (v.frequency_cal, v.recency_cal, v.T_cal, v.monetary_value_cal)
        for k, v in split.items()
    } == {
        k: (v.frequency, v.recency, v.T, v.monetary_value) for k, v in summary.items()
    }
    for row in split.values():
        assert row.frequency_holdout >= 0 and row.duration_holdout >= 0


# -- RFM scores ------------------------------------------------------------------------------------
def test_rfm_scores_worked_example():
    log = [
        purchase("a", at(1, 1), 10),
        purchase("a", at(1, 20), 30),
        purchase("b", at(1, 5), 5),
        purchase("c", at(1, 28), 200),
        purchase("c", at(2, 10), 999),  # after as_of: ignored
    ]
    scores = rfm_scores(log, as_of=at(2, 1))
    # Recency ranks (most recent best): b, a, c -> mid-rank percentiles 1/6, 3/6, 5/6
    # -> scores 1 + floor(5p) = 1, 3, 5. Frequency: b and c tie with 1 purchase
    # (percentile 2/6 -> 2), a has 2 (5/6 -> 5). Money: 5, 40, 200 -> 1, 3, 5.
    assert scores["a"] == RfmScore("a", Decimal(12), 2, Decimal(40), 3, 5, 3)
    assert scores["b"].cell == "121"
    assert scores["c"].cell == "525"
    assert scores["c"].monetary == 200


def test_score_tie_rule():
    assert _scores({"x": 1}, 5) == {"x": 3}
    assert _scores(dict.fromkeys("abcd", 7), 5) == dict.fromkeys("abcd", 3)
    assert _scores(dict(zip("abcde", range(5), strict=True)), 5) == {
        "a": 1,
        "b": 2,
        "c": 3,
        "d": 4,
        "e": 5,
    }
    assert _scores({"a": 1, "b": 1, "c": 2}, 3) == {"a": 2, "b": 2, "c": 3}


@given(
    st.dictionaries(st.text(max_size=3), st.integers(0, 10), min_size=1, max_size=30),
    st.integers(2, 10),
    st.randoms(use_true_random=False),
)
def test_scores_are_bounded_monotone_and_order_free(values, bins, rnd):
    scores = _scores(values, bins)
    assert all(1 <= s <= bins for s in scores.values())
    for a in values:
        for b in values:
            if values[a] < values[b]:
                assert scores[a] <= scores[b]
            if values[a] == values[b]:
                assert scores[a] == scores[b]
    items = list(values.items())
    rnd.shuffle(items)
    assert _scores(dict(items), bins) == scores


def test_rfm_score_errors():
    with pytest.raises(DataError, match="bins: expected an int of at least 2"):
        rfm_scores(LOG, as_of=END, bins=1)
    with pytest.raises(DataError, match="transactions: expected at least one purchase"):
        rfm_scores(LOG, as_of=at(1, 1, 0))
    with pytest.raises(NaiveDatetimeError, match="at"):
        rfm_scores([purchase("a", datetime(2026, 1, 1), 1)], as_of=END)
    with pytest.raises(DataError, match="customer_id"):
        rfm_scores([purchase(None, at(1, 1), 1)], as_of=END)


def test_named_rfm_segments_cover_every_cell_exactly_once():
    tiers = rfm_segments()
    cells = [
        {"r": r, "f": f, "m": m}
        for r in range(1, 6)
        for f in range(1, 6)
        for m in range(1, 6)
    ]
    assigned = [tiers.assign(cell) for cell in cells]
    assert "unclassified" not in assigned
    assert set(assigned) == {t.name for t in tiers.tiers}
    assert tiers.assign({"r": 5, "f": 1, "m": 1}) == "new_customers"
    assert tiers.assign({"r": 1, "f": 1, "m": 5}) == "lost"
    assert structure(unstructure(tiers), Tiering) == tiers


def test_rfm_segments_read_scores_directly():
    scores = rfm_scores(LOG, as_of=END)
    # Unlike the BTYD summary, RFM scores cut at the as_of *instant*: C's purchase
    # at 23:00 on the end day is after as_of, so C is not scored. With two
    # customers, A (more recent, 6 purchases, 107) scores 4/4/4, B 2/2/2.
    assert "C" not in scores
    assert {key: rfm_segments().assign(score) for key, score in scores.items()} == {
        "A": "champions",
        "B": "about_to_sleep",
    }


def test_decimal_amounts_are_read_as_they_are():
    log = [purchase("A", at(1, d), Decimal("0.10")) for d in (1, 2, 3)]
    assert btyd_summary(log, observation_end=END, amount="amount")[
        "A"
    ].monetary_value == Decimal("0.10")
