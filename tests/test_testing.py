"""The public strategies' KPI options: records crowd where they are asked to."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from crmcore.calendar import Interval, period_of
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import HeadlineKpis, KpiLabel, MarketingSpend, MrrMovements
from crmcore.money import Money
from crmcore.testing import (
    column_batches,
    columns_of,
    kpi_labels,
    leads,
    opportunities,
    spend_rows,
    subscriptions,
)

YEAR = period_of(datetime(2026, 1, 1, tzinfo=UTC), "year")
SPAN = Interval(YEAR.start - timedelta(days=31), YEAR.end + timedelta(days=31))
LENGTH = SPAN.end - SPAN.start
# Finding an example is enough: no shrinking, no example database. The rarest
# find (a reactivation) takes about 400 examples on average.
FIND = settings(max_examples=5000, phases=(Phase.generate,), database=None)


def _inside(instant: datetime) -> bool:
    return SPAN.start <= instant < SPAN.end


@given(opportunities(within=SPAN, currency="EUR"))
def test_deals_are_created_within_and_close_at_most_its_length_after(deal):
    assert _inside(deal.created_at)
    assert deal.closed_at is None or deal.closed_at - deal.created_at <= LENGTH


@given(leads(within=SPAN))
def test_leads_are_created_within_and_convert_at_most_its_length_after(lead):
    assert _inside(lead.created_at)
    assert lead.converted_at is None or lead.converted_at - lead.created_at <= LENGTH


@given(subscriptions(within=SPAN, currency="USD", customers=st.just("c1")))
def test_subscriptions_start_within_for_the_customers_given(sub):
    assert _inside(sub.start) and sub.customer_id == "c1"
    assert sub.mrr.currency == "USD"
    assert sub.end is None or timedelta(0) < sub.end - sub.start <= LENGTH


@given(st.lists(spend_rows(within=SPAN, currency="EUR"), max_size=20))
def test_spend_rows_are_valid_input_of_marketing_spend(rows):
    assert all(_inside(row["at"]) for row in rows)
    result = MarketingSpend(YEAR).update(rows).result()
    in_year = [r["amount"] for r in rows if YEAR.start <= r["at"] < YEAR.end]
    if in_year:
        assert result.value == Money(sum(in_year, Decimal(0)), "EUR")
    else:
        assert result.value is None and result.reason == "no spend in the period"


@given(spend_rows(channels=st.just("events")))
def test_spend_rows_take_the_channels_and_any_currency(row):
    assert row["channel"] == "events" and len(row["currency"]) == 3
    assert row["amount"] >= 0 and row["at"].tzinfo is not None


@given(
    st.lists(opportunities(within=SPAN, currency="EUR"), max_size=15),
    st.lists(leads(within=SPAN), max_size=15),
    st.lists(
        subscriptions(
            within=SPAN, currency="EUR", customers=st.sampled_from(["c1", "c2", "c3"])
        ),
        max_size=15,
    ),
    st.lists(spend_rows(within=SPAN, currency="EUR"), max_size=5),
)
def test_dense_inputs_feed_the_whole_report(deals, leads_, subs, spend):
    report = HeadlineKpis(YEAR).update(
        deals=deals, leads=leads_, subscriptions=subs, spend=spend
    )
    assert set(report.result().to_dict()) >= {"win_rate", "mrr", "cac"}


@pytest.mark.parametrize(
    "movement", ["new", "expansion", "contraction", "churn", "reactivation"]
)
def test_dense_subscriptions_reach_every_movement(movement):
    # Two customers, a few subscriptions and half a year of history before
    # the window (for reactivations): hypothesis soon finds each movement.
    history = Interval(YEAR.start - timedelta(days=183), SPAN.end)
    histories = st.lists(
        subscriptions(within=history, currency="EUR", customers=st.sampled_from("ab")),
        min_size=1,
        max_size=8,
    )

    def moves(subs):
        result = MrrMovements(YEAR).update(subs).result()
        return result.components[movement].amount > 0

    assert moves(find(histories, moves, settings=FIND))


@pytest.mark.parametrize(
    ("within", "error"),
    [
        ("2026", DataTypeError),
        (Interval(YEAR.start, YEAR.start), DataError),
    ],
)
def test_within_must_be_an_interval_of_a_second_or_more(within, error):
    with pytest.raises(error, match="within"):
        opportunities(within=within).example()


@settings(max_examples=30)
@given(batch=column_batches(opportunities(currency="EUR")))
def test_column_batches_give_what_their_rows_give(batch):
    from crmcore.kpis import OpenPipeline, SalesCycle, WinRate

    for make in (WinRate, SalesCycle, OpenPipeline):
        assert make().update(batch).result() == make().update(list(batch)).result()


def test_columns_of_holds_the_fields_and_the_bulk_forms_by_hand():
    t = datetime(2026, 3, 1, 9, tzinfo=UTC)
    rows = [
        {"id": "a", "at": t, "amount": Decimal("12.5")},
        {"id": "b", "amount": 3},
    ]
    batch = columns_of(rows, micros=True, decimals=["amount"])
    assert batch.names == ("id", "at", "amount")
    assert batch.micros == {"at"}
    assert list(batch["at"]) == [1772355600000000, None]
    assert batch.decimals == {"amount": 1}
    assert list(batch["amount"]) == [125, 30]
    assert list(batch) == [
        {"id": "a", "at": t, "amount": Decimal("12.5")},
        {"id": "b", "at": None, "amount": Decimal("3.0")},
    ]
    assert columns_of(rows).micros == frozenset()
    with pytest.raises(DataError, match="decimals: expected one of the fields"):
        columns_of(rows, decimals=["price"])
    with pytest.raises(DataError, match=r"decimals\.id: expected exact numbers"):
        columns_of(rows, decimals=["id"])
    tiny = [{"amount": Decimal("1E-10")}]
    with pytest.raises(DataError, match="at most 9 decimal places"):
        columns_of(tiny, decimals=["amount"])
    deal = find(opportunities(), lambda d: True)
    assert columns_of([deal]).row(0)["id"] == deal.id


@given(label=kpi_labels())
def test_kpi_labels_are_labels_with_text(label):
    assert isinstance(label, KpiLabel)
    assert label.label
    assert label.definition
