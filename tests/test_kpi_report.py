"""The KPI report: the same figures as the single KPIs, merged exactly."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.calendar import Interval, add_calendar, period_of
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import (
    REPORT_KPIS,
    HeadlineKpis,
    KpiReport,
    acquisition_cost,
    arpa,
    average_deal_size,
    cac_payback,
    customer_retention,
    gross_revenue_retention,
    kpi_report,
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
    quotient,
    revenue_churn,
    sales_cycle,
    weighted_pipeline,
    win_rate,
)
from crmcore.money import Money
from crmcore.records import Subscription
from crmcore.sample import PAID_CHANNELS, generate_sample, sample_pipeline
from tests.kpi_strategies import deals, leads, spend_rows, subscriptions

D = Decimal
Q1 = period_of(datetime(2026, 2, 1, tzinfo=UTC), "quarter")


def at(year, month, day):
    return datetime(year, month, day, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample():
    return generate_sample(3_000, seed=5)


def full_report(data, period, **options):
    return kpi_report(
        period,
        deals=data.opportunities,
        leads=data.leads,
        subscriptions=data.subscriptions,
        spend=data.marketing_spend(),
        pipeline=sample_pipeline(),
        channels=data.acquisition_channels(),
        paid_channels=PAID_CHANNELS,
        margin=D("0.8"),
        **options,
    )


def test_the_catalogue_of_report_kpis_is_what_a_full_report_holds(sample):
    report = full_report(sample, period_of(at(2025, 6, 1), "year"))
    assert dict(report.sections) == dict(REPORT_KPIS)


def test_every_figure_equals_its_own_kpi(sample):
    # The report reads each data set once; each figure must equal the KPI
    # computed on its own with the same options.
    data = sample
    year = period_of(at(2025, 6, 1), "year")
    report = full_report(data, year)
    deals_, subs = data.opportunities, data.subscriptions
    end = year.end
    expected = {
        "win_rate": win_rate(deals_, year),
        "win_rate_by_value": win_rate(deals_, year, measure="value"),
        "average_deal_size": average_deal_size(deals_, year),
        "sales_cycle": sales_cycle(deals_, year),
        "open_pipeline": open_pipeline(deals_, as_of=end),
        "weighted_pipeline": weighted_pipeline(deals_, sample_pipeline(), as_of=end),
        "pipeline_velocity": pipeline_velocity(deals_, year),
        "lead_conversion": lead_conversion(data.leads, year, as_of=end),
        "lead_conversion_period": lead_conversion(
            data.leads, year, method="period", as_of=end
        ),
        "mrr": mrr(subs, as_of=end),
        "arpa": arpa(subs, as_of=end),
        "net_new_mrr": mrr_movements(subs, year),
        "quick_ratio": quick_ratio(subs, year),
        "customer_retention": customer_retention(subs, year),
        "logo_churn": logo_churn(subs, year),
        "monthly_logo_churn": logo_churn(
            subs, Interval(add_calendar(end, months=-1), end)
        ),
        "gross_revenue_churn": revenue_churn(subs, year),
        "net_revenue_churn": revenue_churn(subs, year, kind="net"),
        "net_revenue_retention": net_revenue_retention(subs, as_of=end),
        "gross_revenue_retention": gross_revenue_retention(subs, as_of=end),
        "marketing_spend": marketing_spend(data.marketing_spend(), year),
    }
    for key, result in expected.items():
        assert report[key] == result, key
    new = new_customers(subs, year, channels=data.acquisition_channels())
    assert report["new_customers"] == new
    cac = acquisition_cost(expected["marketing_spend"], new)
    assert report["cac"] == cac
    assert report["paid_cac"] == acquisition_cost(
        expected["marketing_spend"], new, paid_channels=PAID_CHANNELS
    )
    assert report["cac_payback"] == cac_payback(cac, expected["arpa"], margin=D("0.8"))
    ltv = lifetime_value(
        expected["arpa"], expected["monthly_logo_churn"], margin=D("0.8")
    )
    assert report["ltv"] == ltv
    assert report["ltv_to_cac"] == ltv_to_cac(ltv, cac)
    # Every figure of the sample year is defined.
    assert all(result.defined for result in report.results.values())
    assert list(report.sections) == ["sales", "leads", "revenue", "economics"]
    assert len(report) == sum(len(keys) for keys in report.sections.values())


def test_worked_example_by_hand():
    # Q1 2026. Deals: won 4,000 (20 days), won 2,000 (40 days), lost 3,000;
    # one open 5,000 deal in proposal (probability 0.45 in the sample pipeline).
    def deal(outcome, amount, created, closed, stage="proposal"):
        return {
            "outcome": outcome,
            "amount": amount,
            "currency": "EUR",
            "created_at": created,
            "closed_at": closed,
            "stage": stage,
        }

    deals_ = [
        deal("won", 4000, at(2026, 1, 1), at(2026, 1, 21), "closed_won"),
        deal("won", 2000, at(2026, 1, 10), at(2026, 2, 19), "closed_won"),
        deal("lost", 3000, at(2026, 1, 5), at(2026, 2, 1), "closed_lost"),
        deal("open", 5000, at(2026, 2, 1), None),
    ]
    # Subscriptions: a pays 100 all along; b pays 50 from 1 Dec 2025 and
    # churns on 1 Mar 2026; c is new on 15 Jan at 200.
    subs = [
        Subscription("a", Money(100, "EUR"), at(2025, 1, 1)),
        Subscription("b", Money(50, "EUR"), at(2025, 12, 1), end=at(2026, 3, 1)),
        Subscription("c", Money(200, "EUR"), at(2026, 1, 15)),
    ]
    spend = [{"at": at(2026, 1, 3), "amount": 600, "currency": "EUR", "channel": "x"}]
    report = kpi_report(
        Q1, deals=deals_, subscriptions=subs, spend=spend, pipeline=sample_pipeline()
    )
    # win rate 2 / 3; by value 6,000 / 9,000; deal size 6,000 / 2 = 3,000.
    assert (report["win_rate"].numerator, report["win_rate"].denominator) == (2, 3)
    assert report["win_rate_by_value"].value == D(6000) / D(9000)
    assert report["average_deal_size"].value == Money(3000, "EUR")
    # cycle: (20 + 40) / 2 = 30 days.
    assert report["sales_cycle"].value == 30
    # open at 1 April: 5,000; weighted 5,000 × 0.45 = 2,250.
    assert report["open_pipeline"].value == Money(5000, "EUR")
    assert report["weighted_pipeline"].value == Money(2250, "EUR")
    # velocity: 1 × 3,000 × 2/3 / 30 = 66.67 EUR a day.
    assert report["pipeline_velocity"].value.rounded() == Money("66.67", "EUR")
    # MRR at 1 April: a 100 + c 200 = 300 over 2 customers: ARPA 150.
    assert report["mrr"].value == Money(300, "EUR")
    assert report["arpa"].value == Money(150, "EUR")
    # Bridge: start 150 (a, b), new 200 (c), churn 50 (b): end 300; quick
    # ratio 200 / 50 = 4; logo churn 1 / 2; gross revenue churn 50 / 150.
    moves = report["net_new_mrr"].components
    assert (moves["new"], moves["churn"]) == (Money(200, "EUR"), Money(50, "EUR"))
    assert report["quick_ratio"].value == 4
    assert report["logo_churn"].value == D("0.5")
    assert report["gross_revenue_churn"].value == D(50) / D(150)
    # Monthly churn (March): b churned on 1 March, so was not active at the
    # start of March: 0 of 2 churned, LTV unbounded without a cap.
    assert report["monthly_logo_churn"].value == 0
    assert not report["ltv"].defined and "max_months" in report["ltv"].reason
    # CAC: 600 spend / 1 new customer; payback 600 / 150 = 4 months.
    assert report["cac"].value == Money(600, "EUR")
    assert report["cac_payback"].value == 4
    assert not report["ltv_to_cac"].defined
    assert "leads" not in report.sections and "paid_cac" not in report
    capped = kpi_report(Q1, subscriptions=subs, spend=spend, max_lifetime_months=24)
    # LTV with a 24-month cap: 150 × 24 = 3,600; LTV:CAC 3,600 / 600 = 6.
    assert capped["ltv"].value == Money(3600, "EUR")
    assert capped["ltv_to_cac"].value == 6


def test_as_of_inside_the_period_cuts_the_window():
    # A quarter-to-date report on 15 Feb: the deal won on 19 Feb is not in it.
    deals_ = [
        {
            "outcome": "won",
            "amount": 100,
            "currency": "EUR",
            "created_at": at(2026, 1, 1),
            "closed_at": closed,
        }
        for closed in (at(2026, 1, 20), at(2026, 2, 19))
    ]
    report = kpi_report(Q1, deals=deals_, as_of=at(2026, 2, 15))
    assert report.window == Interval(Q1.start, at(2026, 2, 15))
    assert report.period == Q1 and report.as_of == at(2026, 2, 15)
    assert report["win_rate"].components["won"] == 1
    later = kpi_report(Q1, deals=deals_, as_of=at(2026, 5, 1))
    assert later.window == Q1 and later["win_rate"].components["won"] == 2


def test_sections_follow_the_data_sets_fed():
    report = kpi_report(Q1, leads=[])
    assert list(report.sections) == ["leads"]
    assert not report["lead_conversion"].defined
    # Spend without subscriptions has no unit economics (CAC needs customers).
    assert list(kpi_report(Q1, spend=[]).sections) == []
    assert list(kpi_report(Q1, subscriptions=[]).sections) == ["revenue"]


def test_rendering_rows_and_dicts(sample):
    report = full_report(sample, period_of(at(2025, 6, 1), "year"))
    assert isinstance(report, KpiReport)
    text = str(report)
    assert text.startswith("KPI report 2025 (as of 2026-01-01T00:00:00+00:00)")
    for title in ("Sales", "Leads", "Recurring revenue", "Unit economics"):
        assert f"\n{title}\n" in text
    assert " %  " in text and " EUR/day" in text and " months" in text
    assert " days" in text and "x  " in text
    rows = report.to_rows()
    assert [r["key"] for r in rows] == list(report)
    assert {r["section"] for r in rows} == set(report.sections)
    plain = report.to_dict()
    assert plain["average_deal_size"] == report["average_deal_size"].value.amount
    assert plain["win_rate"] == report["win_rate"].value
    html = report._repr_html_()
    assert html.startswith("<table") and "Unit economics" in html
    assert "win_rate" in report and "nope" not in report
    with pytest.raises(
        DataError, match=r"key: expected a KPI in the report.*got 'nope'"
    ):
        report["nope"]


def test_undefined_figures_say_why_in_text():
    text = str(kpi_report(Q1, deals=[], subscriptions=[], spend=[]))
    assert "Win rate           undefined (no deals closed in the period)" in text
    assert "undefined (marketing_spend is undefined: no spend" in text


REPORT_OPTIONS = {
    "as_of": datetime(2026, 3, 20, tzinfo=UTC),
    "pipeline": sample_pipeline(),
    "exclude_reasons": {"disqualified"},
    "lead_window": timedelta(days=30),
    "channels": {},
    "paid_channels": {"paid_search"},
}


@st.composite
def feeds(draw):
    """Records of the four kinds, each cut into the same number of parts."""
    parts = draw(st.integers(1, 3))
    feed = {}
    for kind, strategy in (
        ("deals", deals()),
        ("leads", leads()),
        ("subscriptions", subscriptions()),
        ("spend", spend_rows()),
    ):
        items = draw(st.lists(strategy, max_size=12))
        cuts = sorted(draw(st.lists(st.integers(0, len(items)), max_size=parts - 1)))
        bounds = [0, *cuts, *[len(items)] * (parts - len(cuts))]
        feed[kind] = (items, [items[a:b] for a, b in itertools.pairwise(bounds)])
    return feed


@settings(max_examples=40)
@given(feed=feeds())
def test_any_partition_merged_equals_one_pass(feed):
    single = HeadlineKpis(Q1, **REPORT_OPTIONS).update(
        **{kind: items for kind, (items, _) in feed.items()}
    )
    template = HeadlineKpis(Q1, **REPORT_OPTIONS)
    count = len(feed["deals"][1])
    pieces = [
        template.empty().update(**{k: parts[i] for k, (_, parts) in feed.items()})
        for i in range(count)
    ]
    merged = template.empty()
    for piece in pieces:
        merged = merged.merge(piece)
    assert merged.result() == single.result()
    # The empty accumulator is an identity, on either side.
    assert template.merge(single).result() == single.result()
    assert single.merge(template).result() == single.result()


def test_accumulator_details():
    acc = HeadlineKpis(Q1, channels={"a": "x"}, paid_channels=["x"])
    assert repr(acc) == "HeadlineKpis(2026-Q1, fed: nothing yet)"
    acc.update(deals=[], spend=[])
    assert repr(acc) == "HeadlineKpis(2026-Q1, fed: deals, spend)"
    assert acc.options["paid_channels"] == frozenset({"x"})
    assert acc.options["window"] == Q1
    assert list(acc.empty().result().sections) == []
    with pytest.raises(DataError, match=r"other: .*same options"):
        acc.merge(HeadlineKpis(Q1))
    with pytest.raises(DataError, match=r"other: .*same options"):
        acc.merge(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"period": None},
            DataError,
            "period: expected a Period or an Interval.*got None",
        ),
        ({"as_of": at(2025, 12, 31)}, DataError, r"as_of: .*an instant after"),
        ({"as_of": "today"}, DataTypeError, "as_of"),
        ({"channels": ["a"]}, DataTypeError, r"channels: .*mapping"),
        ({"paid_channels": ["x"]}, DataError, r"paid_channels: .*channels="),
        (
            {"retention_months": 0},
            DataError,
            "retention_months: expected a positive number.*got 0",
        ),
        (
            {"max_lifetime_months": True},
            DataError,
            "max_lifetime_months: expected a positive.*got True",
        ),
        ({"margin": D(2)}, DataError, "margin"),
        ({"lead_window": 3}, DataTypeError, "window"),
    ],
)
def test_bad_options_are_explained(kwargs, error, match):
    options = {"period": Q1, **kwargs}
    with pytest.raises(error, match=match):
        HeadlineKpis(options.pop("period"), **options)


# -- one pass, several KPIs: result_from ---------------------------------------
def _deal(outcome, days, amount, reason=None):
    t = datetime(2026, 1, 5, tzinfo=UTC)
    return {
        "outcome": outcome,
        "created_at": t,
        "closed_at": t + timedelta(days=days),
        "amount": amount,
        "currency": "EUR",
        "lost_reason": reason,
    }


def test_result_from_reads_facts_that_cover_the_kpi():
    from crmcore.kpis import AverageDealSize, PipelineVelocity, SalesCycle, WinRate

    january = period_of(datetime(2026, 1, 10, tzinfo=UTC), "month")
    deals = [_deal("won", 4, 100), _deal("lost", 2, 50, "price"), _deal("won", 8, 300)]
    velocity = PipelineVelocity(january).update(deals)
    # Velocity gathers cycles and open deals; win rate, deal size and cycle
    # read its facts and agree with their own single passes (by hand: 2 of 3
    # won; (100 + 300) / 2 = 200; (4 + 8) / 2 = 6 days).
    assert WinRate(january).result_from(velocity.facts).value == Decimal(2) / 3
    assert AverageDealSize(january).result_from(velocity.facts).value == Money(
        200, "EUR"
    )
    assert SalesCycle(january).result_from(velocity.facts).value == 6
    for kpi in (WinRate(january), AverageDealSize(january), SalesCycle(january)):
        alone = kpi.empty().update(deals).result()
        assert kpi.result_from(velocity.facts) == alone
    # The accumulator that owns the facts is unchanged by being read.
    assert velocity.result() == PipelineVelocity(january).update(deals).result()


def test_result_from_refuses_facts_that_do_not_cover_the_kpi():
    from crmcore.conditions import field
    from crmcore.kpis import LeadConversion, SalesCycle, WinRate

    january = period_of(datetime(2026, 1, 10, tzinfo=UTC), "month")
    with pytest.raises(DataTypeError, match="facts: expected DealFacts facts"):
        WinRate().result_from(LeadConversion().facts)
    with pytest.raises(DataError, match="facts that cover SalesCycle"):
        SalesCycle().result_from(WinRate().facts)  # no cycles gathered
    with pytest.raises(DataError, match="facts that cover WinRate"):
        WinRate(january).result_from(WinRate().facts)  # another window
    with pytest.raises(DataError, match="facts that cover WinRate"):
        WinRate(exclude_reasons={"price"}).result_from(WinRate().facts)
    with pytest.raises(DataError, match="without where"):
        WinRate(where=field("outcome") == "won").result_from(WinRate().facts)


def test_result_from_checks_the_instant_stages_and_cohort_window():
    from crmcore.kpis import LeadConversion, OpenPipeline, WeightedPipeline
    from crmcore.sample import sample_pipeline

    end = datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(DataError, match="facts that cover OpenPipeline"):
        OpenPipeline(as_of=end).result_from(OpenPipeline().facts)  # another instant
    with pytest.raises(DataError, match="facts that cover WeightedPipeline"):
        WeightedPipeline(sample_pipeline(), as_of=end).result_from(
            WeightedPipeline(None, as_of=end).facts  # other stages
        )
    with pytest.raises(DataError, match="facts that cover WeightedPipeline"):
        WeightedPipeline(None, as_of=end).result_from(
            OpenPipeline(as_of=end).facts  # no forecast gathered
        )
    month = timedelta(days=30)
    with pytest.raises(DataError, match="facts that cover LeadConversion"):
        LeadConversion(window=month).result_from(LeadConversion().facts)
    # The period method does not read the window, so any window serves it.
    period = LeadConversion(method="period")
    assert period.result_from(LeadConversion(window=month).facts) == period.result()


def test_quotient_builds_a_rate_from_counts_and_checks_them():
    rate = quotient("share", 1, 3, reason="nothing counted", components={"n": 3})
    assert (rate.value, rate.numerator, rate.denominator) == (
        Decimal(1) / 3,
        1,
        3,
    )
    assert rate.components == {"n": 3}
    money = quotient("cac", 100, 4, reason="none", unit="money", currency="EUR")
    assert money.numerator == Money(100, "EUR")
    with pytest.raises(DataTypeError, match="numerator: expected an int or a finite"):
        quotient("share", 1.5, 3, reason="x")
    with pytest.raises(DataTypeError, match="denominator: expected an int or a finite"):
        quotient("share", 1, Decimal("NaN"), reason="x")
    with pytest.raises(DataTypeError, match="reason: expected a non-empty text"):
        quotient("share", 1, 3, reason="")
    with pytest.raises(DataTypeError, match="components: expected a mapping"):
        quotient("share", 1, 3, reason="x", components=[1])
    with pytest.raises(DataError, match="as_of"):
        quotient("share", 1, 3, reason="x", as_of=datetime(2026, 1, 1))
    with pytest.raises(DataError, match="numerator: expected a number with at most"):
        quotient("share", 10**5000, 3, reason="x")


def test_every_figure_has_a_human_label_and_a_definition():
    from crmcore.kpis import KPI_LABELS, REPORT_KPIS, KpiLabel, kpi_label

    for key in (k for keys in REPORT_KPIS.values() for k in keys):
        label = KPI_LABELS[key]
        assert isinstance(label, KpiLabel) and label.label and label.definition
        assert label.label != key and "_" not in label.label
    labels = [v.label for v in KPI_LABELS.values()]
    assert len(labels) == len(set(labels)), "labels are unique"
    assert kpi_label("my_kpi") == KpiLabel("My kpi", "")
    with pytest.raises(DataTypeError, match="name: expected a KPI name"):
        kpi_label(["win_rate"])  # type: ignore[arg-type]


def test_report_rows_are_unique_and_labelled(sample):
    period = Interval(add_calendar(sample.as_of, months=-12), sample.as_of)
    report = kpi_report(period, deals=sample.opportunities, pipeline=sample_pipeline())
    rows = report.to_rows()
    assert len({row["key"] for row in rows}) == len(rows)
    assert rows[0]["label"] == "Win rate"
    assert rows[1]["label"] == "Win rate by value"
    assert "Deals won over deals closed" in rows[0]["definition"]
    html = report._repr_html_()
    assert "Win rate by value" in html and "Amount won over amount closed." in html
    result_html = report["win_rate"]._repr_html_()
    assert "Win rate" in result_html and "Deals won over" in result_html
