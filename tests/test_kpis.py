"""Worked examples with known answers for every KPI (arithmetic in comments)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crmcore.calendar import Interval, period_of
from crmcore.errors import CurrencyMismatchError, DataError, DataTypeError
from crmcore.kpis import (
    AverageDealSize,
    CohortRetention,
    CustomerRetention,
    Goal,
    GrossRevenueRetention,
    Grouped,
    KpiResult,
    KpiReview,
    LeadConversion,
    LogoChurn,
    MarketingSpend,
    Mrr,
    MrrMovements,
    NetRevenueRetention,
    NewCustomers,
    OpenPipeline,
    PipelineVelocity,
    RevenueChurn,
    ReviewCadence,
    SalesCycle,
    WeightedPipeline,
    WinRate,
    acquisition_cost,
    arpa,
    average_deal_size,
    by_period,
    cac_payback,
    cohort_retention,
    customer_retention,
    discounted_lifetime_value,
    goal_status,
    gross_revenue_retention,
    grouped,
    lead_conversion,
    lifetime_value,
    logo_churn,
    ltv_to_cac,
    marketing_spend,
    mrr,
    mrr_movements,
    net_revenue_retention,
    new_customers,
    open_pipeline,
    pipeline_velocity,
    quick_ratio,
    revenue_churn,
    reviews_due,
    sales_cycle,
    velocity_from,
    weighted_pipeline,
    win_rate,
    wrong_direction,
)
from crmcore.money import Money
from crmcore.pipelines import Pipeline, StageDefinition, TransitionPolicy
from crmcore.records import Lead, Opportunity, Subscription

D = Decimal


def at(year, month, day, hour=0):
    return datetime(year, month, day, hour, tzinfo=UTC)


Q1 = period_of(at(2026, 1, 1), "quarter")
MARCH = period_of(at(2026, 3, 1), "month")


def deal(key, outcome, created, closed, amount, stage="proposal", **kw):
    if outcome != "open":
        stage = "won" if outcome == "won" else "lost"
    return Opportunity(
        key, None, amount, kw.pop("currency", "EUR"), created, stage,
        outcome=outcome, closed_at=closed, **kw,
    )  # fmt: skip


DEALS = [
    deal("d1", "won", at(2026, 1, 1), at(2026, 1, 11), 1000),  # 10 days
    deal("d2", "won", at(2026, 1, 1), at(2026, 1, 21), 3000),  # 20 days
    deal("d3", "lost", at(2026, 2, 1), at(2026, 3, 3), 2000, lost_reason="price"),  # 30
    deal(
        "d4", "lost", at(2026, 2, 1), at(2026, 2, 2), 500, lost_reason="disqualified"
    ),  # 1 day
    deal("d5", "open", at(2026, 3, 1), None, 4000, stage="proposal"),
    deal("d6", "open", at(2026, 3, 10), None, 1000, stage="discovery", probability=D("0.5")),
    deal("d7", "won", at(2025, 11, 1), at(2025, 12, 1), 9000),  # closed before Q1
    deal("d8", "open", at(2026, 4, 10), None, 100, stage="prospecting"),
]  # fmt: skip

PIPELINE = Pipeline(
    "p",
    (
        StageDefinition("prospecting", "Prospecting", probability=D("0.1")),
        StageDefinition("discovery", "Discovery", probability=D("0.2")),
        StageDefinition(
            "proposal", "Proposal", probability=D("0.5"), forecast_category="best_case"
        ),
        StageDefinition("won", "Won", kind="won"),
        StageDefinition("lost", "Lost", kind="lost"),
    ),
    policy=TransitionPolicy(lost_reasons=("price", "disqualified")),
)


# ---------------------------------------------------------------------------
# Deals
# ---------------------------------------------------------------------------
def test_win_rate_by_count_and_value_with_exclusions():
    # Closed in Q1: won d1, d2; lost d3 (price), d4 (disqualified) -> 2 / 4.
    rate = win_rate(DEALS, Q1)
    assert (rate.value, rate.numerator, rate.denominator) == (D("0.5"), 2, 4)
    assert rate.components["excluded"] == 0
    # Disqualified leaves the denominator: 2 / 3.
    rate = win_rate(DEALS, Q1, exclude_reasons={"disqualified"})
    assert (rate.numerator, rate.denominator, rate.components["excluded"]) == (2, 3, 1)
    # By value: won 1000 + 3000 = 4000 of closed 4000 + 2000 + 500 = 6500.
    rate = win_rate(DEALS, Q1, measure="value")
    assert rate.value == D(4000) / D(6500)
    assert rate.numerator == Money(4000, "EUR")
    assert rate.denominator == Money(6500, "EUR")
    # Without the disqualified 500: 4000 / 6000.
    rate = win_rate(DEALS, Q1, measure="value", exclude_reasons=["disqualified"])
    assert rate.value == D(4000) / D(6000)
    # No period: every closed deal, d7 too: won 3 of 5.
    assert win_rate(DEALS).value == D("0.6")


def test_win_rate_when_nothing_closed_is_undefined_with_a_reason():
    empty = period_of(at(2025, 4, 1), "quarter")
    rate = win_rate(DEALS, empty)
    assert rate.value is None and not rate.defined
    assert rate.reason == "no deals closed in the period"
    assert str(rate) == "win_rate 2025-Q2: undefined (no deals closed in the period)"
    only_excluded = win_rate([DEALS[3]], exclude_reasons={"disqualified"})
    assert "besides 1 excluded" in only_excluded.reason
    zero = deal("z", "lost", at(2026, 1, 1), at(2026, 1, 2), 0, lost_reason="price")
    by_value = win_rate([zero], measure="value")
    assert by_value.reason == "the deals closed in the period have a total value of 0"
    assert win_rate([], measure="value").reason == "no deals closed in the period"


def test_one_currency_is_fine_and_two_mixed_are_an_error_for_money():
    usd = deal("u", "won", at(2026, 1, 5), at(2026, 1, 6), 10, currency="USD")
    assert win_rate([*DEALS, usd], Q1).numerator == 3  # counts ignore currency
    with pytest.raises(CurrencyMismatchError, match="EUR"):
        win_rate([*DEALS, usd], Q1, measure="value")
    with pytest.raises(CurrencyMismatchError):
        average_deal_size([*DEALS, usd], Q1)


def test_average_deal_size_and_sales_cycle():
    # Won in Q1: 1000 and 3000 -> 2000.
    size = average_deal_size(DEALS, Q1)
    assert size.value == Money(2000, "EUR")
    assert (size.numerator, size.denominator) == (Money(4000, "EUR"), 2)
    assert average_deal_size([], Q1).reason == "no deals won in the period"
    # Won cycles 10 and 20 days: mean 15, median 15, p90 = rank ceil(1.8) = 2 -> 20.
    cycle = sales_cycle(DEALS, Q1)
    assert cycle.value == 15
    assert cycle.components["median_days"] == 15
    assert cycle.components["p90_days"] == 20
    # All closed: 10, 20, 30, 1 -> mean 61 / 4, median (10 + 20) / 2, p90 rank 4 -> 30.
    closed = sales_cycle(DEALS, Q1, basis="closed")
    assert closed.value == D("15.25")
    assert closed.components["median_days"] == 15
    assert closed.components["p90_days"] == 30
    assert closed.components["deals"] == 4
    # Excluding disqualified drops the 1-day deal: 10, 20, 30.
    trimmed = sales_cycle(DEALS, Q1, basis="closed", exclude_reasons={"disqualified"})
    assert trimmed.value == 20
    assert sales_cycle([], Q1).reason == "no deals won in the period"
    assert sales_cycle([], basis="closed").reason == "no deals closed in the period"


def test_sales_cycle_fractional_days_and_chunked_quantiles():
    from array import array

    from crmcore.kpis._deal_facts import cycle_stats

    # 36 hours = 1.5 days, exactly.
    one = deal("h", "won", at(2026, 1, 1), at(2026, 1, 2, 12), 5)
    assert sales_cycle([one]).value == D("1.5")
    us = 86_400_000_000
    values = array("q", [d * us for d in (5, 1, 4, 2, 3, 9, 7, 8, 6, 10)])
    # Sorted 1..10: mean 5.5, median (5 + 6) / 2, p90 rank 9 -> 9.
    assert cycle_stats(values) == (D("5.5"), D("5.5"), D(9))
    assert cycle_stats(values, chunk=3) == cycle_stats(values)


def test_open_and_weighted_pipeline():
    # Open at the end of Q1 (Apr 1): d5 and d6; d8 was created later.
    assert open_pipeline(DEALS, as_of=Q1.end).value == Money(5000, "EUR")
    assert open_pipeline(DEALS, as_of=Q1.end).components["deals"] == 2
    # A deal closed after the instant was open then: d3 on Feb 15.
    assert open_pipeline(DEALS, as_of=at(2026, 2, 15)).components["deals"] == 1
    # Open now: d5, d6, d8 -> 5100.
    assert open_pipeline(DEALS).value == Money(5100, "EUR")
    assert open_pipeline([]).reason == "no deals at all"
    # d5 proposal 4000 x 0.5 = 2000 (best case), d6 own 0.5: 500, d8 100 x 0.1 = 10.
    forecast = weighted_pipeline(DEALS, PIPELINE)
    assert forecast.value == Money(2510, "EUR")
    assert forecast.components["by_category"] == {
        "best_case": Money(2000, "EUR"),
        "pipeline": Money(510, "EUR"),
    }
    assert forecast.components["open_value"] == Money(5100, "EUR")
    # Created after as_of: d8 left out.
    assert weighted_pipeline(DEALS, PIPELINE, as_of=Q1.end).value == Money(2500, "EUR")
    # No pipeline: only d6 has a probability; d5 and d8 are unweighted, not dropped.
    bare = weighted_pipeline(DEALS)
    assert bare.value == Money(500, "EUR")
    assert bare.components["unweighted_deals"] == 2
    assert bare.components["unweighted_value"] == Money(4100, "EUR")
    assert weighted_pipeline([], PIPELINE).reason == "no open deals"


def test_pipeline_velocity_is_built_from_its_parts():
    # 2 open at Apr 1 x 2000 deal size x 0.5 win rate / 15 days = 133.33.../day.
    velocity = pipeline_velocity(DEALS, Q1)
    assert velocity.unit == "money_per_day"
    assert velocity.value == Money(D(2000) / D(15), "EUR")
    assert velocity.components["open_deals"] == 2
    kpi = PipelineVelocity(Q1).update(DEALS)
    parts = kpi.parts()
    assert (
        velocity_from(
            parts["open_pipeline"],
            parts["average_deal_size"],
            parts["win_rate"],
            parts["sales_cycle"],
        )
        == kpi.result()
    )
    nothing = pipeline_velocity([], Q1)
    assert nothing.reason.startswith("deal_size is undefined")


def test_velocity_from_edge_cases():
    size = KpiResult("average_deal_size", Money(100, "EUR"), "money")
    rate = KpiResult("win_rate", D("0.5"), "ratio")
    zero = KpiResult("sales_cycle", D(0), "days")
    assert (
        velocity_from(3, size, rate, zero).reason == "the average sales cycle is 0 days"
    )
    with pytest.raises(DataTypeError, match="open_deals"):
        velocity_from(-1, size, rate, zero)
    with pytest.raises(DataTypeError, match="win_rate"):
        velocity_from(3, size, "0.5", zero)
    with pytest.raises(DataTypeError, match="deal_size"):
        velocity_from(3, rate, rate, zero)
    with pytest.raises(DataTypeError, match="win_rate"):
        velocity_from(3, size, size, zero)


def test_grouping_by_period_owner_segment_and_function():
    per_month = win_rate(DEALS, per=by_period("month"))
    labels = [getattr(k, "label", k) for k in per_month]
    # Closed months: 2025-12 (d7), 2026-01 (d1, d2), 2026-02 (d4), 2026-03 (d3); open: None.
    assert labels == ["2025-12", "2026-01", "2026-02", "2026-03", None]
    assert per_month[period_of(at(2026, 1, 5), "month")].value == 1
    assert per_month[None].reason == "no deals closed in the period"
    rows = per_month.to_rows()
    assert rows[0]["group"] == "2025-12" and rows[0]["kpi"] == "win_rate"
    assert "<table>" in per_month._repr_html_()
    by_stage = open_pipeline(DEALS, per="stage")
    assert list(by_stage) == ["discovery", "lost", "proposal", "prospecting", "won"]
    by_fn = grouped(WinRate(), DEALS, lambda d: d.amount >= 2000)
    assert list(by_fn) == [False, True]
    with pytest.raises(DataError, match="group"):
        per_month["nope"]
    assert len(per_month) == 5


def test_lead_conversion_cohort_and_period():
    leads = [
        Lead("l1", at(2026, 1, 5), converted_at=at(2026, 1, 20)),  # 15 days: in window
        Lead("l2", at(2026, 2, 1), converted_at=at(2026, 3, 15)),  # 42 days: too late
        Lead("l3", at(2026, 3, 20), converted_at=at(2026, 4, 2)),  # 13 days
        Lead("l4", at(2026, 3, 25)),  # not converted, and younger than the window
        Lead("l5", at(2025, 12, 20), converted_at=at(2026, 1, 3)),  # other cohort
    ]
    as_of = at(2026, 4, 15)
    # Cohort Q1: l1..l4 created; l1 and l3 converted within 30 days -> 2 / 4.
    cohort = lead_conversion(leads, Q1, window=timedelta(days=30), as_of=as_of)
    assert (cohort.numerator, cohort.denominator) == (2, 4)
    # Apr 1 + 30 days > Apr 15: immature; l3 and l4 are younger than 30 days.
    assert cohort.components["immature"] is True
    assert cohort.components["immature_leads"] == 2
    # Period: conversions in Q1 (l1, l2, l5) / leads created in Q1 (4) -> 0.75.
    period = lead_conversion(leads, Q1, method="period")
    assert period.kpi == "lead_conversion_period"
    assert (period.numerator, period.denominator) == (3, 4)
    # It can exceed 1: one lead created, two conversions from older cohorts.
    # January: one lead created (l1), two conversions (l1, and l5 from December).
    jan = period_of(at(2026, 1, 1), "month")
    assert lead_conversion(leads, jan, method="period").value == 2
    # A conversion after as_of does not count yet.
    early = lead_conversion(leads, Q1, as_of=at(2026, 1, 10))
    assert early.numerator == 0
    mature = lead_conversion(leads, Q1, window=timedelta(days=30), as_of=at(2026, 9, 1))
    assert mature.components["immature"] is False
    assert lead_conversion([], Q1).reason == "no leads created in the period"
    everyone = lead_conversion(leads, window=timedelta(days=30), as_of=as_of)
    assert everyone.components["immature"] is True
    # Grouped per quarter, period method: l5 counts in 2025-Q4 (created) and Q1.
    per = lead_conversion(leads, method="period", per=by_period("quarter"))
    assert [str(k) for k in per] == ["2025-Q4", "2026-Q1", "2026-Q2"]
    assert per[period_of(at(2026, 1, 1), "quarter")].numerator == 3
    custom = lead_conversion(
        [{"created_at": at(2026, 1, 1), "fields": {"sql_at": at(2026, 1, 2)}}],
        reached="fields.sql_at",
    )
    assert custom.value == 1


# ---------------------------------------------------------------------------
# Revenue
# ---------------------------------------------------------------------------
def sub(customer, amount, start, end=None, currency="EUR"):
    return Subscription(customer, Money(amount, currency), start, end=end)


SUBS = [
    sub("a", 100, at(2025, 6, 1)),
    sub("a", 50, at(2026, 3, 10)),  # expansion 100 -> 150
    sub("b", 200, at(2025, 1, 1), at(2026, 3, 15)),  # churn 200
    sub("c", 80, at(2025, 1, 1), at(2026, 3, 5)),
    sub("c", 60, at(2026, 3, 5)),  # contraction 80 -> 60
    sub("d", 50, at(2025, 1, 1), at(2025, 10, 1)),
    sub("d", 70, at(2026, 3, 20)),  # reactivation 0 -> 70
    sub("e", 40, at(2026, 3, 3)),  # new 0 -> 40
    sub("f", 30, at(2026, 3, 2), at(2026, 3, 25)),  # joined and churned in March
    sub("g", 90, at(2025, 2, 1)),  # unchanged
]


def test_mrr_movements_bridge():
    moves = mrr_movements(SUBS, MARCH)
    c = moves.components
    # Start: a 100 + b 200 + c 80 + g 90 = 470. End: a 150 + c 60 + d 70 + e 40 + g 90 = 410.
    assert c["start_mrr"] == Money(470, "EUR")
    assert c["end_mrr"] == Money(410, "EUR")
    assert (c["new"], c["reactivation"], c["expansion"]) == (
        Money(40, "EUR"),
        Money(70, "EUR"),
        Money(50, "EUR"),
    )
    assert (c["contraction"], c["churn"]) == (Money(20, "EUR"), Money(200, "EUR"))
    # 470 + 40 + 70 + 50 - 20 - 200 = 410; net change -60, named net new MRR.
    assert moves.value == Money(-60, "EUR")
    assert (moves.kpi, moves.label) == ("net_new_mrr", "Net new MRR")
    assert (c["new_customers"], c["churned_customers"]) == (1, 1)
    assert moves.to_dict()["start_mrr"] == 470


def test_quick_ratio_retention_and_churn():
    # (40 + 70 + 50) / (20 + 200) = 160 / 220.
    assert quick_ratio(SUBS, MARCH).value == D(160) / D(220)
    # Active at start a, b, c, g; at end a, c, d, e, g; retained a, c, g -> 3 / 4.
    retention = customer_retention(SUBS, MARCH)
    assert (retention.numerator, retention.denominator) == (3, 4)
    # Classic: (E - N) / S = (5 - 2) / 4 with N = e and f (first paid in March).
    classic = customer_retention(SUBS, MARCH, method="classic")
    assert (classic.numerator, classic.denominator) == (3, 4)
    assert classic.components["joined"] == 2
    # Logo churn: b -> 1 / 4; f joined and churned inside March, not counted.
    churn = logo_churn(SUBS, MARCH)
    assert churn.value == D("0.25")
    assert churn.components["joined_and_churned"] == 1
    # Gross (200 + 20) / 470; net (220 - expansion 50) / 470 = 170 / 470, which
    # is 1 - NRR (300 / 470) on the same base; with reactivation (170 - 70) / 470.
    assert revenue_churn(SUBS, MARCH).value == D(220) / D(470)
    net = revenue_churn(SUBS, MARCH, kind="net")
    assert net.kpi == "net_revenue_churn"
    assert net.value == D(170) / D(470)
    assert 1 - net.value == net_revenue_retention(SUBS, MARCH).value
    back = revenue_churn(SUBS, MARCH, kind="net_with_reactivation")
    assert back.kpi == "net_revenue_churn_with_reactivation"
    assert back.value == D(100) / D(470)
    assert back.label == "Net revenue churn with reactivation"


def test_nrr_grr_arpa_mrr():
    # Starting cohort a, b, c, g: end 150 + 0 + 60 + 90 = 300 of 470.
    nrr = net_revenue_retention(SUBS, MARCH)
    assert nrr.value == D(300) / D(470)
    # GRR: min(150, 100) + 0 + 60 + 90 = 250 of 470.
    assert GrossRevenueRetention(MARCH).update(SUBS).result().value == D(250) / D(470)
    # The trailing 12 months by default: [2025-04-01, 2026-04-01).
    trailing = net_revenue_retention(SUBS, as_of=at(2026, 4, 1))
    assert trailing.period == Interval(at(2025, 4, 1), at(2026, 4, 1))
    # ARPA at Apr 1: 410 / 5 = 82.
    assert arpa(SUBS, as_of=MARCH.end).value == Money(82, "EUR")
    total = mrr(SUBS, as_of=MARCH.end)
    assert (total.value, total.components["customers"]) == (Money(410, "EUR"), 5)
    assert mrr([], as_of=MARCH.end).reason == "no subscriptions"
    assert arpa([], as_of=MARCH.end).reason == "no customers are active at the instant"
    with pytest.raises(DataError, match="as_of"):
        net_revenue_retention(SUBS)
    with pytest.raises(DataError, match="months"):
        net_revenue_retention(SUBS, as_of=at(2026, 4, 1), months=0)


def test_no_customers_at_the_start_and_zero_churn():
    early = period_of(at(2024, 12, 1), "month")
    for kpi in (CustomerRetention(early), LogoChurn(early), NetRevenueRetention(early)):
        result = kpi.update(SUBS).result()
        assert result.reason == "no customers were active at the start of the period"
    assert revenue_churn(SUBS, early).reason == "no MRR at the start of the period"
    # In April 2026 nobody leaves: churn 0, retention 1, quick ratio undefined.
    april = period_of(at(2026, 4, 1), "month")
    assert logo_churn(SUBS, april).value == 0
    assert customer_retention(SUBS, april).value == 1
    assert quick_ratio(SUBS, april).reason == "no MRR was lost to contraction or churn"


def test_two_currencies_in_revenue_are_an_error():
    mixed = [*SUBS, sub("x", 10, at(2026, 3, 2), currency="USD")]
    with pytest.raises(CurrencyMismatchError):
        mrr_movements(mixed, MARCH)
    # Counts do not need money.
    assert customer_retention(mixed, MARCH).denominator == 4


def test_new_customers_cac_payback_ltv():
    channels = {"e": "paid_search", "f": "organic"}
    joined = new_customers(SUBS, Q1, channels=channels)
    assert joined.value == 2
    assert joined.components["by_channel"] == {"organic": 1, "paid_search": 1}
    assert new_customers(SUBS, Q1).components["by_channel"] == {}
    rows = [
        {"at": at(2026, 1, 5), "amount": 6000, "currency": "EUR", "channel": "paid_search"},
        {"at": at(2026, 2, 5), "amount": D(2000), "currency": "EUR", "channel": "events"},
        {"at": at(2026, 4, 5), "amount": 1000, "currency": "EUR", "channel": "paid_search"},
    ]  # fmt: skip
    spend = marketing_spend(rows, Q1)
    assert spend.value == Money(8000, "EUR")
    assert spend.components["by_channel"]["events"] == Money(2000, "EUR")
    # Blended: 8000 / 2. Paid: 6000 on paid_search / 1 paid_search customer.
    cac = acquisition_cost(spend, joined)
    assert cac.value == Money(4000, "EUR")
    paid = acquisition_cost(spend, joined, paid_channels={"paid_search"})
    assert (paid.kpi, paid.value) == ("paid_cac", Money(6000, "EUR"))
    assert acquisition_cost(spend, 0).reason == "no new customers in the period"
    assert acquisition_cost(marketing_spend([], Q1), 3).reason.startswith(
        "marketing_spend is undefined"
    )
    # Payback: 4000 / (82 x 0.8) months.
    revenue = arpa(SUBS, as_of=MARCH.end)
    payback = cac_payback(cac, revenue, margin=D("0.8"))
    assert payback.value == D(4000) / (D(82) * D("0.8"))
    assert cac_payback(cac, Money(0, "EUR")).reason == "ARPA × margin is 0"
    # LTV: 82 x 0.8 / 0.25 = 262.4; capped at 3 months: 82 x 0.8 x 3 = 196.8.
    churn = logo_churn(SUBS, MARCH)
    ltv = lifetime_value(revenue, churn, margin=D("0.8"))
    assert ltv.value == Money(D("262.4"), "EUR")
    assert lifetime_value(revenue, churn, margin=D("0.8"), max_months=3).value == Money(
        D("196.8"), "EUR"
    )
    assert lifetime_value(revenue, D(0)).reason.startswith("churn is 0")
    assert lifetime_value(revenue, D(0), max_months=24).value == Money(1968, "EUR")
    # LTV:CAC = 262.4 / 4000.
    assert ltv_to_cac(ltv, cac).value == D("0.0656")
    assert ltv_to_cac(ltv, Money(0, "EUR")).reason == "CAC is 0"
    assert ltv_to_cac(KpiResult("ltv", None, "money", reason="x"), cac).reason == (
        "ltv is undefined: x"
    )


def test_discounted_ltv():
    # 100 x 0.9 / (1 + 0.1 - 0.9) = 450; counting the first payment 100 x 1.1 / 0.2.
    m = Money(100, "EUR")
    assert discounted_lifetime_value(m, D("0.9"), D("0.1")).value == Money(450, "EUR")
    first = discounted_lifetime_value(m, D("0.9"), D("0.1"), count_first=True)
    assert first.value == Money(550, "EUR")
    assert discounted_lifetime_value(m, D(1), D(0)).reason.startswith("retention is 1")
    with pytest.raises(DataError, match="retention"):
        discounted_lifetime_value(m, D("1.5"), D(0))


def test_cohort_table():
    subs = [
        sub("x", 10, at(2026, 1, 5)),
        sub("y", 10, at(2026, 1, 9), at(2026, 2, 10)),
        sub("z", 20, at(2026, 2, 3)),
        sub("z", 20, at(2026, 3, 1)),  # expansion at the start of March
        sub("w", 5, at(2025, 12, 1)),  # before the first cohort
    ]
    table = cohort_retention(subs, start=at(2026, 1, 1), as_of=at(2026, 4, 1))
    assert [r.cohort.label for r in table.rows] == ["2026-01", "2026-02", "2026-03"]
    jan, feb, mar = table.rows
    # January: x and y; Feb 1 both, Mar 1 and Apr 1 only x.
    assert (jan.customers, jan.retained, jan.starting_mrr) == (2, (2, 1, 1), D(20))
    assert feb.mrr == (D(40), D(40))  # revenue retention 2.0: expansion
    assert feb.revenue(0) == 2
    assert (mar.customers, mar.logo(0), mar.revenue(0)) == (0, None, None)
    assert jan.logo(5) is None
    # Weighted: k0 (2 + 1 + 0) / (2 + 1 + 0); k1 (1 + 1) / 3; k2 1 / 2.
    assert table.average() == (D(1), D(2) / D(3), D("0.5"))
    # Revenue: k0 (20 + 40) / 40; k1 (10 + 40) / 40; k2 10 / 20.
    assert table.average("revenue") == (D("1.5"), D("1.25"), D("0.5"))
    assert table.before_start == 1
    assert table.matrix()[0] == [D(1), D("0.5"), D("0.5")]
    assert table.matrix("revenue")[1][:2] == [D(2), D(2)]
    assert table.to_rows()[0]["logo_retention"] == 1
    assert "average" in table._repr_html_()
    with pytest.raises(DataError, match="basis"):
        table.average("profit")
    with pytest.raises(DataError, match="basis"):
        table.matrix("profit")
    with pytest.raises(DataError, match="as_of"):
        CohortRetention(start=at(2026, 1, 1), as_of=at(2025, 1, 1))


# ---------------------------------------------------------------------------
# Goals, alerts, reviews
# ---------------------------------------------------------------------------
GOAL = Goal("win_rate", D("0.20"), D("0.30"), at(2026, 1, 1), at(2027, 1, 1))


def test_goal_status_and_projection():
    seen = [(at(2026, 7, 1), D("0.26")), (at(2026, 4, 1), D("0.23"))]
    status = goal_status(GOAL, seen, as_of=at(2026, 7, 2))
    # Progress (0.26 - 0.20) / 0.10 = 0.6 >= expected 182 / 365.
    assert status.status == "on_track"
    assert status.progress == D("0.6")
    assert status.expected_progress == D(182) / D(365)
    # The trend: +0.03 per 91 days, 184 days more to the deadline.
    assert abs(status.projected - (D("0.26") + D("0.03") * 184 / 91)) < D("1e-20")
    assert status.projected_to_reach is True
    assert status.to_dict()["status"] == "on_track"
    assert "on_track" in status._repr_html_()

    def assess(value, when=None):
        when = when or at(2026, 7, 2)
        return goal_status(GOAL, [(at(2026, 7, 1), D(value))], as_of=when)

    assert assess("0.245").status == "at_risk"  # 0.45 >= 0.4986 - 0.1
    assert assess("0.22").status == "off_track"
    assert assess("0.31").status == "achieved"
    assert assess("0.25", at(2027, 2, 1)).status == "missed"
    assert assess("0.25").projected is None
    assert assess("0.25").projected_to_reach is None
    assert goal_status(GOAL, [], as_of=at(2026, 2, 1)).status == "no_data"


def test_goal_down_and_from_kpi_results():
    churn_goal = Goal(
        "logo_churn", D("0.05"), D("0.03"), at(2026, 1, 1), at(2026, 7, 1)
    )
    assert churn_goal.direction == "down"
    observed = [logo_churn(SUBS, MARCH)]  # 0.25 at the end of March: worse
    status = goal_status(churn_goal, observed, as_of=at(2026, 4, 2))
    assert status.status == "off_track"
    assert status.progress == (D("0.25") - D("0.05")) / D("-0.02")
    same_time = [(at(2026, 2, 1), D("0.04")), (at(2026, 2, 1), D("0.05"))]
    assert goal_status(churn_goal, same_time, as_of=at(2026, 3, 1)).projected is None
    with pytest.raises(DataError, match="target"):
        Goal("x", 1, 1, at(2026, 1, 1), at(2026, 2, 1))
    with pytest.raises(DataError, match="deadline"):
        Goal("x", 1, 2, at(2026, 1, 1), at(2025, 2, 1))
    with pytest.raises(DataError, match="tolerance"):
        Goal("x", 1, 2, at(2026, 1, 1), at(2026, 2, 1), tolerance=2)
    with pytest.raises(DataError, match="observations"):
        goal_status(GOAL, [KpiResult("x", D(1), "ratio")], as_of=at(2026, 2, 1))
    with pytest.raises(DataTypeError, match="observations"):
        goal_status(GOAL, [D(1)], as_of=at(2026, 2, 1))
    with pytest.raises(DataError, match="defined"):
        goal_status(GOAL, [win_rate([], Q1)], as_of=at(2026, 5, 1))
    with pytest.raises(DataTypeError, match="goal"):
        goal_status("win_rate", [], as_of=at(2026, 2, 1))
    assert (
        Goal(
            "arpa", Money(80, "EUR"), Money(100, "EUR"), at(2026, 1, 1), at(2026, 2, 1)
        ).target
        == 100
    )


def test_wrong_direction_alerts():
    alert = wrong_direction([30, 28, 27, 25], desired="up", metric="win_rate")
    assert alert.periods == 3 and alert.values == (30, 28, 27, 25)
    assert str(alert) == "win_rate moved down for 3 periods: 30 → 28 → 27 → 25"
    assert wrong_direction([30, 28, 29, 25], desired="up") is None
    assert wrong_direction([30, None, 27, 25], desired="up") is None
    assert wrong_direction([30, 28], desired="up") is None
    assert wrong_direction([1, 2, 3], desired="down", periods=2).values == (1, 2, 3)
    assert wrong_direction([1, 1, 1], desired="down", periods=2) is None
    # Monthly win rates: 2025-12 1, 2026-01 1, 2026-02 0.
    series = list(win_rate(DEALS, per=by_period("month")).groups.values())[:3]
    alert = wrong_direction(series, desired="up", periods=1)
    assert alert.labels == ("2026-01", "2026-02")
    labelled = wrong_direction([("jan", 3), ("feb", 2)], desired="up", periods=1)
    assert labelled.labels == ("jan", "feb")
    with pytest.raises(DataError, match="desired"):
        wrong_direction([1], desired="sideways")
    with pytest.raises(DataError, match="periods"):
        wrong_direction([1], desired="up", periods=0)


def test_reviews_due():
    reviews = [KpiReview("win_rate"), KpiReview("nrr", "strategic", owner="cfo")]
    may = at(2026, 5, 20)
    due = reviews_due(reviews, as_of=may, last_reviewed={"nrr": at(2026, 4, 3)})
    assert [(d.review.metric, d.period.label) for d in due] == [("win_rate", "2026-05")]
    everything = reviews_due(reviews, as_of=may)
    assert [d.period.label for d in everything] == ["2026-05", "2026-Q2"]
    weekly = ReviewCadence(operational="week", strategic="month")
    assert reviews_due(reviews, as_of=may, cadence=weekly)[0].period.label == "2026-W21"
    with pytest.raises(DataError, match="kind"):
        KpiReview("x", "sometimes")
    with pytest.raises(DataTypeError, match="reviews"):
        reviews_due(["win_rate"], as_of=may)


# ---------------------------------------------------------------------------
# Results and accumulators
# ---------------------------------------------------------------------------
def test_results_render_and_convert():
    rate = win_rate(DEALS, Q1)
    assert str(rate) == "win_rate 2026-Q1: 50.00 %"
    row = rate.to_dict()
    assert row["period"] == "2026-Q1" and row["won"] == 2
    assert "<table>" in rate._repr_html_()
    assert str(average_deal_size(DEALS, Q1)) == "average_deal_size 2026-Q1: 2,000 EUR"
    assert rate.currency is None and average_deal_size(DEALS, Q1).currency == "EUR"
    movements = mrr_movements(SUBS, MARCH)
    assert movements.currency == "EUR"
    assert (
        KpiResult(
            "x", None, "ratio", components={"currency": "EUR"}, reason="r"
        ).currency
        == "EUR"
    )
    interval = net_revenue_retention(SUBS, as_of=at(2026, 4, 1)).to_dict()["period"]
    assert interval == "2025-04-01T00:00:00+00:00/2026-04-01T00:00:00+00:00"
    with pytest.raises(DataError, match="reason"):
        KpiResult("x", None, "ratio")
    with pytest.raises(DataError, match="unit"):
        KpiResult("x", D(1), "furlongs")


def test_accumulators_check_their_merge_partner_and_options():
    with pytest.raises(DataError, match="same options"):
        WinRate(Q1).merge(WinRate())
    with pytest.raises(DataError, match="same options"):
        WinRate().merge(SalesCycle())
    with pytest.raises(DataError, match="same key"):
        Grouped(WinRate(), "owner").merge(Grouped(WinRate(), "stage"))
    assert (
        repr(WinRate(Q1))
        == "WinRate(period='2026-Q1', measure='count', exclude_reasons=frozenset())"
    )
    assert WinRate(Q1).options["measure"] == "count"
    with pytest.raises(DataError, match="measure"):
        WinRate(measure="euros")
    with pytest.raises(DataError, match="basis"):
        SalesCycle(basis="open")
    with pytest.raises(DataTypeError, match="period"):
        WinRate("2026-Q1")
    with pytest.raises(DataTypeError, match="exclude_reasons"):
        WinRate(exclude_reasons="price")
    with pytest.raises(DataTypeError, match="exclude_reasons"):
        WinRate(exclude_reasons=[1])
    with pytest.raises(DataTypeError, match="pipeline"):
        WeightedPipeline("p")
    with pytest.raises(DataError, match="method"):
        LeadConversion(method="magic")
    with pytest.raises(DataTypeError, match="window"):
        LeadConversion(window=30)
    with pytest.raises(DataError, match="method"):
        CustomerRetention(MARCH, method="magic")
    with pytest.raises(DataError, match="kind"):
        RevenueChurn(MARCH, kind="magic")
    with pytest.raises(DataError, match="period"):
        MrrMovements(None)
    with pytest.raises(DataError, match="as_of"):
        Mrr(as_of=None)
    with pytest.raises(DataTypeError, match="channels"):
        NewCustomers(MARCH, channels=["e"])
    with pytest.raises(DataTypeError, match="kpi"):
        Grouped(object(), "owner")
    with pytest.raises(DataTypeError, match="per"):
        Grouped(WinRate(), 42)
    with pytest.raises(DataError, match="segment"):
        Grouped(WinRate(), [])
    with pytest.raises(DataError, match="date to group by"):
        Grouped(Mrr(as_of=MARCH.end), by_period())


def test_where_filters_by_condition_or_segment():
    from crmcore.conditions import field
    from crmcore.segments import Segment

    big = field("amount") >= 2000
    assert win_rate(DEALS, Q1, where=big).numerator == 1  # d2 won, d3 lost
    assert win_rate(DEALS, Q1, where=Segment("big", big)).denominator == 2
    segments = [Segment("big", big), Segment("small", field("amount") < 2000)]
    per_segment = win_rate(DEALS, Q1, per=segments)
    assert list(per_segment) == ["big", "small"]
    with pytest.raises(DataTypeError, match="where"):
        WinRate(where="amount > 5")
    recent = field("created_at") > at(2026, 1, 1)
    assert AverageDealSize(Q1, where=recent).update(DEALS).result().reason


def test_bad_records_raise_errors_naming_the_field_and_record():
    good = {"outcome": "won", "created_at": at(2026, 1, 1), "closed_at": at(2026, 1, 2),
            "amount": D(5), "currency": "EUR", "id": "o-9"}  # fmt: skip
    cases = {
        "outcome": ("Won", DataError, r"outcome \(id='o-9'\)"),
        "created_at": (datetime(2026, 1, 1), DataTypeError, "created_at"),
        "amount": (5.0, DataTypeError, "floats are not exact"),
        "currency": ("EURO", DataError, "currency"),
        "closed_at": (None, DataTypeError, "closed_at"),
    }
    for key, (value, error, pattern) in cases.items():
        with pytest.raises(error, match=pattern):
            win_rate([{**good, key: value}])
    with pytest.raises(DataError, match="amount"):
        win_rate([{**good, "amount": D(-1)}])
    with pytest.raises(DataError, match="created_at"):
        win_rate([{**good, "closed_at": at(2025, 1, 1)}])
    with pytest.raises(DataError, match="None while outcome is 'open'"):
        win_rate([{**good, "outcome": "open"}])
    with pytest.raises(DataError, match="'created_at' field"):
        win_rate([{"outcome": "won"}])
    with pytest.raises(DataError, match="probability"):
        weighted_pipeline(
            [{**good, "outcome": "open", "closed_at": None, "probability": D(2)}]
        )
    with pytest.raises(DataTypeError, match="probability"):
        weighted_pipeline(
            [{**good, "outcome": "open", "closed_at": None, "probability": 0.5}]
        )
    with pytest.raises(DataError, match="stage"):
        weighted_pipeline(
            [{**good, "outcome": "open", "closed_at": None, "stage": "x"}], PIPELINE
        )
    lead = {"created_at": at(2026, 1, 2), "converted_at": at(2026, 1, 1), "id": "l"}
    with pytest.raises(DataError, match="converted_at"):
        lead_conversion([lead])
    with pytest.raises(DataTypeError, match="created_at"):
        lead_conversion([{**lead, "created_at": "2026-01-01"}])
    row = {
        "customer_id": "c",
        "mrr": Money(1, "EUR"),
        "start": at(2026, 1, 1),
        "end": None,
    }
    with pytest.raises(DataTypeError, match="mrr"):
        mrr([{**row, "mrr": D(1)}], as_of=MARCH.end)
    with pytest.raises(DataError, match="end"):
        mrr([{**row, "end": at(2025, 1, 1)}], as_of=MARCH.end)
    with pytest.raises(DataTypeError, match="customer_id"):
        mrr([{**row, "customer_id": ["c"]}], as_of=MARCH.end)
    spend = {"at": at(2026, 1, 1), "amount": 1, "currency": "EUR", "channel": 3}
    with pytest.raises(DataTypeError, match="channel"):
        marketing_spend([spend])


def test_marketing_spend_grouping_and_mixed_currencies():
    rows = [
        {"at": at(2026, 1, 5), "amount": 10, "currency": "EUR", "channel": "a"},
        {"at": at(2026, 2, 5), "amount": 20, "currency": "EUR", "channel": "a"},
    ]
    per = marketing_spend(rows, per=by_period("month"))
    assert [r.value for r in per.groups.values()] == [
        Money(10, "EUR"),
        Money(20, "EUR"),
    ]
    with pytest.raises(CurrencyMismatchError):
        marketing_spend([*rows, {**rows[0], "currency": "USD"}])
    assert MarketingSpend(Q1).update([]).result().reason == "no spend in the period"


def test_more_grouping_keys_and_views():
    from crmcore.conditions import field
    from crmcore.segments import Tier, Tiering

    tiers = Tiering("size", (Tier("big", field("amount") >= 2000),), default="small")
    per_tier = win_rate(DEALS, Q1, per=tiers)
    assert [(k, r.denominator) for k, r in per_tier.items()] == [
        ("big", 2),
        ("small", 2),
    ]
    by_created = win_rate(DEALS, per=by_period("quarter", field="created_at"))
    assert [str(k) for k in by_created] == ["2025-Q4", "2026-Q1", "2026-Q2"]
    # Keys that do not compare fall back to ordering by repr.
    odd = grouped(WinRate(), DEALS, lambda d: (1, "a") if d.amount > 1000 else (1, 2))
    assert list(odd) == [(1, "a"), (1, 2)] or list(odd) == [(1, 2), (1, "a")]
    assert win_rate(DEALS, where=field("amount") >= 2000).denominator == 3  # d2 d3 d7
    forecast = weighted_pipeline(DEALS, PIPELINE).to_dict()
    assert forecast["by_category"] == {"best_case": D(2000), "pipeline": D(510)}
    explicit = pipeline_velocity(DEALS, Q1, as_of=at(2026, 3, 5))
    assert explicit.components["open_deals"] == 1  # d5 only
    assert gross_revenue_retention(SUBS, MARCH).value == D(250) / D(470)


def test_stage_without_probability_is_unweighted_with_a_pipeline():
    pipeline = Pipeline(
        "p",
        (
            StageDefinition("new", "New"),
            StageDefinition("won", "Won", kind="won"),
        ),
    )
    open_deal = deal("n", "open", at(2026, 1, 1), None, 700, stage="new")
    result = weighted_pipeline([open_deal], pipeline)
    # No deal has a probability: the forecast is undefined (not 0), and says why.
    assert result.value is None
    assert result.reason == (
        "no open deal has a win probability (its own, or its stage's in the pipeline)"
    )
    assert result.components["unweighted_value"] == Money(700, "EUR")
    # One deal with a probability of 0 is a forecast of 0.
    sure_loss = deal(
        "z", "open", at(2026, 1, 1), None, 7, stage="new", probability=D(0)
    )
    assert weighted_pipeline([sure_loss], pipeline).value == Money(0, "EUR")


def test_composition_inputs_are_checked():
    spend = marketing_spend(
        [{"at": at(2026, 1, 5), "amount": 10, "currency": "EUR", "channel": "a"}]
    )
    with pytest.raises(DataTypeError, match="spend"):
        acquisition_cost(D(10), 2)
    with pytest.raises(DataTypeError, match="spend"):
        acquisition_cost(Money(10, "EUR"), 2, paid_channels={"a"})
    with pytest.raises(DataError, match="channels="):
        acquisition_cost(spend, new_customers(SUBS, Q1), paid_channels={"a"})
    with pytest.raises(DataTypeError, match="new_customers"):
        acquisition_cost(spend, "2")
    undefined_arpa = arpa([], as_of=MARCH.end)
    assert cac_payback(Money(1, "EUR"), undefined_arpa).reason.startswith("arpa is")
    assert lifetime_value(undefined_arpa, D("0.1")).reason.startswith("arpa is")
    assert discounted_lifetime_value(undefined_arpa, D("0.9"), 0).reason
    with pytest.raises(DataError, match="max_months"):
        lifetime_value(Money(1, "EUR"), D("0.1"), max_months=0)
    with pytest.raises(CurrencyMismatchError):
        cac_payback(Money(1, "EUR"), Money(1, "USD"))
    down = Goal("churn", D("0.05"), D("0.03"), at(2026, 1, 1), at(2026, 7, 1))
    seen = [(at(2026, 2, 1), D("0.05")), (at(2026, 3, 1), D("0.04"))]
    assert goal_status(down, seen, as_of=at(2026, 3, 2)).projected_to_reach is True


def test_more_bad_records():
    with pytest.raises(DataTypeError, match="created_at"):
        lead_conversion([{"created_at": datetime(2026, 1, 1), "converted_at": None}])
    row = {"customer_id": "c", "mrr": Money(-1, "EUR"), "start": at(2026, 1, 1)}
    with pytest.raises(DataError, match="non-negative"):
        mrr([row], as_of=MARCH.end)


def test_a_first_deal_without_a_currency_is_refused_not_counted():
    """The loop's currency before the first deal is no value (not None)."""
    from crmcore.records import Columns

    deal = {
        "outcome": "open",
        "created_at": at(2026, 1, 1),
        "closed_at": None,
        "amount": Decimal(5),
        "currency": None,
    }
    for records in ([deal], Columns({k: [v] for k, v in deal.items()})):
        with pytest.raises(DataTypeError, match=r"currency \(dict record\)"):
            OpenPipeline().update(records)


def test_unknown_stage_with_own_probability_is_still_an_error():
    row = {"outcome": "open", "created_at": at(2026, 1, 1), "amount": 1,
           "currency": "EUR", "stage": "ghost", "probability": D("0.5")}  # fmt: skip
    with pytest.raises(DataError, match="a stage of the pipeline"):
        weighted_pipeline([row], PIPELINE)


def test_spend_rows_missing_a_field_are_explained():
    row = {"at": at(2026, 1, 5), "amount": 100, "currency": "EUR"}
    with pytest.raises(DataError, match="channel: expected a record with a 'channel'"):
        marketing_spend([row])

    class Row:
        def __init__(self):
            self.at, self.amount, self.currency = at(2026, 1, 5), 100, "EUR"
            self.channel = "events"

    assert marketing_spend([Row()]).value == Money(100, "EUR")


def test_the_deal_fast_path_refuses_what_the_explained_path_refuses():
    good = {"outcome": "won", "created_at": at(2026, 1, 1), "closed_at": at(2026, 1, 2),
            "amount": D(5), "currency": "EUR", "id": "o-1"}  # fmt: skip
    refused: dict[str, list[object]] = {
        "amount": [True, D("Infinity"), D("-Infinity"), D("NaN"), D("-1"), "5"],
        "closed_at": [datetime(2026, 1, 2), "2026-01-02"],
        "created_at": [datetime(2026, 1, 1)],
    }
    for key, values in refused.items():
        for value in values:
            with pytest.raises((DataError, DataTypeError), match=key):
                win_rate([{**good, key: value}])
    # Both instants naive: the comparison with the period still refuses them.
    naive = {"created_at": datetime(2026, 1, 1), "closed_at": datetime(2026, 1, 2)}
    with pytest.raises(DataTypeError, match="created_at"):
        win_rate([{**good, **naive}], Q1)
    opened = {**good, "outcome": "open", "closed_at": None}
    with pytest.raises(DataTypeError, match="created_at"):
        open_pipeline([{**opened, "created_at": datetime(2026, 1, 1)}])
    with pytest.raises(DataTypeError, match="probability"):
        weighted_pipeline([{**opened, "probability": True}])
    # Ints are exact: as amounts and as probabilities (0 or 1). -0 is 0.
    assert win_rate([{**good, "amount": 5}]).value == 1
    assert average_deal_size([{**good, "amount": D("-0")}]).value == Money(0, "EUR")
    spend = {"at": at(2026, 1, 1), "amount": D("-0"), "currency": "EUR", "channel": "x"}
    assert marketing_spend([spend]).value == Money(0, "EUR")
    for amount in (D("NaN"), D("-2"), True):
        with pytest.raises((DataError, DataTypeError), match="amount"):
            marketing_spend([{**spend, "amount": amount}])
    assert weighted_pipeline([{**opened, "probability": 1}]).value == Money(5, "EUR")


def test_deals_without_the_optional_attributes_read_them_as_none():
    class Bare:
        """A deal object with only the fields every deal needs."""

        def __init__(self, outcome, closed, amount):
            self.outcome, self.created_at, self.closed_at = (
                outcome,
                at(2026, 1, 1),
                closed,
            )
            self.amount, self.currency = D(amount), "EUR"

    bare = [Bare("won", at(2026, 1, 9), 10), Bare("lost", at(2026, 1, 3), 30),
            Bare("open", None, 50)]  # fmt: skip
    # No lost_reason: nothing is excluded. 1 won of 2 closed.
    assert win_rate(bare, exclude_reasons={"duplicate"}).value == D("0.5")
    # No probability and no stage: the open deal is unweighted.
    forecast = weighted_pipeline(bare)
    assert forecast.value is None and forecast.components["unweighted_deals"] == 1
    assert forecast.components["unweighted_value"] == Money(50, "EUR")
    # Lost reasons are read from objects and mappings alike.
    lost = deal("x", "lost", at(2026, 1, 1), at(2026, 1, 5), 100, lost_reason="dup")
    excluded = win_rate([*bare, lost], exclude_reasons={"dup"})
    assert excluded.denominator == 2  # the won and the bare lost deal
    assert excluded.components["excluded"] == 1
    row = {"outcome": "lost", "created_at": at(2026, 1, 1), "closed_at": at(2026, 1, 2),
           "amount": 1, "currency": "EUR", "lost_reason": "dup"}  # fmt: skip
    assert (
        "1 excluded by lost reason" in win_rate([row], exclude_reasons={"dup"}).reason
    )


def test_sales_cycle_over_closed_deals_merges_lost_durations():
    # Won after 8 days and lost after 2 days: mean (8 + 2) / 2 = 5 days.
    deals = [deal("w", "won", at(2026, 1, 1), at(2026, 1, 9), 10),
             deal("l", "lost", at(2026, 1, 1), at(2026, 1, 3), 10)]  # fmt: skip
    left = SalesCycle(basis="closed").update(deals[:1])
    right = SalesCycle(basis="closed").update(deals[1:])
    assert left.merge(right).result().value == D(5)
    assert SalesCycle().update(deals).result().value == D(8)


def test_leads_with_naive_conversion_instants_are_refused():
    lead = {
        "id": "l",
        "created_at": at(2026, 1, 1),
        "converted_at": datetime(2026, 2, 1),
    }
    with pytest.raises(DataTypeError, match="converted_at"):
        lead_conversion([lead])


def test_mrr_at_an_instant_agrees_with_a_remembered_bridge():
    from crmcore.kpis.revenue import CustomerFacts

    facts = CustomerFacts((MARCH.start, MARCH.end))
    facts.update(SUBS)
    computed = facts.at(MARCH.end)  # no bridge yet: summed from the customers
    facts.bridge(MARCH.start, MARCH.start)  # remembered, but ends elsewhere
    assert facts.at(MARCH.end) == computed
    bridge = facts.bridge(MARCH.start, MARCH.end)
    assert facts.at(MARCH.end) == computed == (bridge["end_mrr"], bridge["active_end"])


def test_reviews_due_takes_only_a_review_cadence():
    with pytest.raises(DataTypeError, match="cadence: expected a ReviewCadence"):
        reviews_due([], as_of=datetime(2026, 1, 1, tzinfo=UTC), cadence="monthly")


def test_inline_grouping_reads_every_kind_of_record_like_the_reader():
    """Dicts, attrs records, other mappings and nested paths: the same groups."""
    from types import SimpleNamespace

    from crmcore.records import FrozenMap

    t = at(2026, 3, 5)
    rows = [
        {
            "outcome": o,
            "created_at": t,
            "closed_at": t + timedelta(days=d),
            "amount": Decimal(10),
            "currency": "EUR",
            "owner": who,
            "account": {"region": who.upper()},
        }
        for o, who, d in [("won", "ana", 1), ("lost", "bo", 40), ("won", "ana", 40)]
    ]
    expected = grouped(WinRate(), rows, by_period("month"))
    assert grouped(WinRate(), [FrozenMap(r) for r in rows], by_period("month")) == (
        expected
    )
    assert [str(r.value) for r in expected.groups.values()] == ["1", "0.5"]
    by_region = grouped(WinRate(), rows, "account.region")
    assert list(by_region.groups) == ["ANA", "BO"]
    # An attribute that is not data (a function) is no group key: the group
    # of records without one.
    odd = SimpleNamespace(**{**rows[0], "owner": print})
    table = grouped(WinRate(), [odd, rows[1]], "owner")
    assert list(table.groups) == ["bo", None]
    with pytest.raises(DataTypeError, match="per: expected a hashable group key"):
        grouped(WinRate(), [{**rows[0], "owner": ["a"]}], "owner")
