"""Scale-out: KPIs over Dask partitions give exactly the single-pass result.

Dask is an optional test extra; without it these tests are skipped. The
recipe is the one in docs/kpis/at-scale.md: fill one accumulator per
partition, merge them all.
"""

import functools
from datetime import UTC, datetime

import pytest

from crmcore.calendar import Interval, add_calendar, period_of
from crmcore.kpis import (
    CohortRetention,
    Grouped,
    HeadlineKpis,
    MrrMovements,
    NetRevenueRetention,
    SalesCycle,
    WinRate,
    by_period,
)
from crmcore.sample import generate_sample, sample_pipeline

dask = pytest.importorskip("dask")
db = pytest.importorskip("dask.bag")


def fill(template, part):
    return template.empty().update(part)


def combine(template, parts):
    return functools.reduce(lambda a, b: a.merge(b), parts, template.empty())


def fill_report(template, deals, subscriptions):
    return template.empty().update(deals=deals, subscriptions=subscriptions)


def on_dask(template, records, partitions, scheduler):
    bag = db.from_sequence(records, npartitions=partitions)
    reduction = bag.reduction(
        functools.partial(fill, template), functools.partial(combine, template)
    )
    return reduction.compute(scheduler=scheduler)


@pytest.fixture(scope="module")
def data():
    return generate_sample(6_000, seed=9)


YEAR = period_of(datetime(2025, 3, 1, tzinfo=UTC), "year")


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_deal_kpis_on_dask_equal_one_pass(data, scheduler):
    for template in (
        WinRate(YEAR, measure="value", exclude_reasons={"disqualified"}),
        SalesCycle(YEAR),
        Grouped(WinRate(), by_period("quarter")),
    ):
        merged = on_dask(template, data.opportunities, 7, scheduler)
        single = template.empty().update(data.opportunities)
        assert merged.result() == single.result()


def test_revenue_kpis_with_customers_split_across_partitions(data):
    # One customer's subscriptions land in different partitions: the per
    # customer facts still merge exactly.
    subs = sorted(data.subscriptions, key=lambda s: s.start)
    for template in (
        MrrMovements(YEAR),
        NetRevenueRetention(as_of=data.as_of),
        CohortRetention(start=data.start, as_of=data.as_of, unit="quarter"),
    ):
        merged = on_dask(template, subs, 5, "threads")
        assert merged.result() == template.empty().update(subs).result()


def test_the_kpi_report_on_dask(data):
    # The report accumulator is fed by kind; each partition gets deals and
    # subscriptions, and the merged report is the single-pass report.
    period = Interval(add_calendar(data.as_of, months=-12), data.as_of)
    template = HeadlineKpis(period, pipeline=sample_pipeline())
    deals, subs = data.opportunities, data.subscriptions
    parts = [
        dask.delayed(fill_report)(template, deals[i::4], subs[i::4]) for i in range(4)
    ]
    merged = dask.delayed(functools.partial(combine, template))(parts)
    report = merged.compute(scheduler="threads").result()
    single = template.empty().update(
        deals=data.opportunities, subscriptions=data.subscriptions
    )
    assert report == single.result()
