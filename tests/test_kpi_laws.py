"""Laws every accumulator obeys, tested over every one the public API exports.

KPIs, segment counters, stage analytics, the KPI report and ``Grouped`` all
follow one protocol (``empty``, ``add``, ``update``, ``merge``, ``result``);
a test finds every accumulator class in the public modules' ``__all__`` and
fails if one is missing from the catalogue below, so a new one cannot escape.

* merge is associative and the empty accumulator is an identity;
* any partition of the input, merged, gives exactly the single-pass result;
* input order does not matter; merging never changes its inputs.

Plus the domain invariants: the MRR bridge, GRR <= 1, GRR <= NRR, and
retention and churn in [0, 1].
"""

import decimal
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.calendar import Interval, period_of
from crmcore.conditions import field
from crmcore.kpis import (
    Arpa,
    AverageDealSize,
    CohortRetention,
    CustomerRetention,
    GrossRevenueRetention,
    Grouped,
    HandoffAttainment,
    HandoffBreaches,
    HeadlineKpis,
    LeadConversion,
    LogoChurn,
    MarketingSpend,
    Mrr,
    MrrMovements,
    NetRevenueRetention,
    NewCustomers,
    OpenPipeline,
    PipelineVelocity,
    QuickRatio,
    RevenueChurn,
    SalesCycle,
    TimeToAccept,
    WeightedPipeline,
    WinRate,
    by_period,
)
from crmcore.money import Money
from crmcore.quality import DataRule, DataSpec, DataTrust
from crmcore.records import StageChange
from crmcore.sample import sample_pipeline
from crmcore.scoring import BandConversion, Evaluation, NaiveBayes, NumberBand
from crmcore.segments import Segment, SegmentCounter
from crmcore.stage_analytics import StageAnalytics
from crmcore.testing import condition_records
from tests.kpi_strategies import (
    HANDOFF_CONTRACTS,
    deals,
    handoff_rows,
    leads,
    spend_rows,
    subscriptions,
)

Q1 = period_of(datetime(2026, 2, 1, tzinfo=UTC), "quarter")
MARCH = period_of(datetime(2026, 3, 1, tzinfo=UTC), "month")
AS_OF = datetime(2026, 4, 15, tzinfo=UTC)
HALF = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))

CATALOGUE = {
    "win_rate": (WinRate, deals()),
    "win_rate_q1": (lambda: WinRate(Q1), deals()),
    "win_rate_value": (
        lambda: WinRate(Q1, measure="value", exclude_reasons={"disqualified"}),
        deals(),
    ),
    "deal_size": (lambda: AverageDealSize(Q1), deals()),
    "cycle": (lambda: SalesCycle(Q1), deals()),
    "cycle_closed": (
        lambda: SalesCycle(basis="closed", exclude_reasons={"price"}),
        deals(),
    ),
    "open_now": (OpenPipeline, deals()),
    "open_at": (lambda: OpenPipeline(as_of=AS_OF), deals()),
    "weighted": (lambda: WeightedPipeline(sample_pipeline(), as_of=AS_OF), deals()),
    "weighted_bare": (WeightedPipeline, deals()),
    "velocity": (lambda: PipelineVelocity(Q1), deals()),
    "win_rate_per_month": (
        lambda: Grouped(WinRate(), by_period("month")),
        deals(),
    ),
    "cycle_per_owner": (lambda: Grouped(SalesCycle(), "owner"), deals()),
    "win_rate_where": (
        lambda: WinRate(Q1, where=field("owner").is_in({"ana", "bo"})),
        deals(),
    ),
    "lead_cohort": (
        lambda: LeadConversion(Q1, window=timedelta(days=30), as_of=AS_OF),
        leads(),
    ),
    "lead_period": (lambda: LeadConversion(Q1, method="period"), leads()),
    "lead_per_quarter": (
        lambda: Grouped(LeadConversion(method="period"), by_period("quarter")),
        leads(),
    ),
    "mrr": (lambda: Mrr(as_of=AS_OF), subscriptions()),
    "arpa": (lambda: Arpa(as_of=AS_OF), subscriptions()),
    "movements": (lambda: MrrMovements(MARCH), subscriptions()),
    "quick_ratio": (lambda: QuickRatio(Q1), subscriptions()),
    "retention": (lambda: CustomerRetention(Q1), subscriptions()),
    "retention_classic": (
        lambda: CustomerRetention(Q1, method="classic"),
        subscriptions(),
    ),
    "logo_churn": (lambda: LogoChurn(HALF), subscriptions()),
    "gross_churn": (lambda: RevenueChurn(Q1), subscriptions()),
    "net_churn": (lambda: RevenueChurn(Q1, kind="net"), subscriptions()),
    "nrr": (lambda: NetRevenueRetention(as_of=AS_OF, months=3), subscriptions()),
    "grr": (lambda: GrossRevenueRetention(HALF), subscriptions()),
    "new_customers": (
        lambda: NewCustomers(Q1, channels={"c1": "paid_search", "c2": "events"}),
        subscriptions(),
    ),
    "cohorts": (
        lambda: CohortRetention(start=datetime(2025, 12, 1, tzinfo=UTC), as_of=AS_OF),
        subscriptions(),
    ),
    "spend": (lambda: MarketingSpend(Q1), spend_rows()),
    "handoff_attainment": (
        lambda: HandoffAttainment(HANDOFF_CONTRACTS, as_of=AS_OF),
        handoff_rows(),
    ),
    "handoff_attainment_q1": (
        lambda: HandoffAttainment(HANDOFF_CONTRACTS, Q1),
        handoff_rows(),
    ),
    "time_to_accept": (
        lambda: TimeToAccept(HANDOFF_CONTRACTS, as_of=AS_OF),
        handoff_rows(),
    ),
    "handoff_breaches_per_owner": (
        lambda: Grouped(HandoffBreaches(HANDOFF_CONTRACTS, as_of=AS_OF), "owner"),
        handoff_rows(),
    ),
    "spend_per_channel": (lambda: Grouped(MarketingSpend(), "channel"), spend_rows()),
}

SEGMENTS = [
    Segment("big", field("a") >= 2),
    Segment("tagged", field("s").starts_with("a")),
    Segment("recent", field("t").within_last("90d")),
]
STAGE_KEYS = [stage.key for stage in sample_pipeline().stages]


@st.composite
def stage_histories(draw):
    """One deal's stage changes (the accumulator sorts them itself)."""
    deal = draw(st.sampled_from(["o-1", "o-2", "o-3"]))
    steps = draw(st.lists(st.sampled_from(STAGE_KEYS), min_size=1, max_size=5))
    hours = sorted(draw(st.lists(st.integers(0, 24 * 90), min_size=5, max_size=5)))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    changes, before = [], None
    for stage, hour in zip(steps, hours, strict=False):
        changes.append(StageChange(deal, before, stage, start + timedelta(hours=hour)))
        before = stage
    return changes


BAYES = NaiveBayes(
    ["source", NumberBand("n", [1, 3])], stages=["new", "demo", "offer"], team="team"
)
closed_leads = st.fixed_dictionaries(
    {
        "outcome": st.sampled_from(["won", "lost"]),
        "stage": st.sampled_from(["new", "demo", "offer"]),
    },
    optional={
        "source": st.sampled_from(["ads", "referral"]),
        "n": st.integers(0, 4),
        "team": st.sampled_from(["a", "b", None]),
    },
)

tagged = st.one_of(
    deals().map(lambda r: ("deals", r)),
    leads().map(lambda r: ("leads", r)),
    subscriptions().map(lambda r: ("subscriptions", r)),
    spend_rows().map(lambda r: ("spend", r)),
)

TRUST_SPEC = DataSpec(
    "spec",
    "records",
    required=["a", "s"],
    rules=[DataRule("small", field("b") <= 2, when=field("c") >= 1)],
    source="s",
    sources=["a", "b"],
    refreshed="t",
    refresh_every="90d",
    consent=["c"],
)

CATALOGUE.update(
    {
        "segments": (
            lambda: SegmentCounter.of(SEGMENTS, as_of=AS_OF),
            condition_records(),
        ),
        "segments_per_a": (
            lambda: Grouped(SegmentCounter.of(SEGMENTS, as_of=AS_OF), "c"),
            condition_records().map(lambda r: {**r, "c": r.get("c") or 0}),
        ),
        "stage_analytics": (
            lambda: StageAnalytics.of(sample_pipeline(), as_of=AS_OF),
            stage_histories(),
        ),
        "report": (lambda: HeadlineKpis(Q1, as_of=AS_OF), tagged),
        "naive_bayes": (BAYES.table, closed_leads),
        "evaluation": (
            Evaluation,
            st.tuples(
                st.floats(0, 1) | st.decimals(0, 1, places=2) | st.sampled_from([0, 1]),
                st.booleans(),
            ),
        ),
        "data_trust": (
            lambda: DataTrust(TRUST_SPEC, datetime(2026, 1, 1, tzinfo=UTC)),
            condition_records(),
        ),
        "band_conversion": (
            BandConversion,
            st.tuples(st.sampled_from(["A", "B", None]), st.booleans()),
        ),
    }
)

NAMES = sorted(CATALOGUE)


def _fill(acc, items):
    """Feed records the way each accumulator takes them (the report: by kind)."""
    if isinstance(acc, HeadlineKpis):
        kinds: dict[str, list[object]] = {
            "deals": [],
            "leads": [],
            "subscriptions": [],
            "spend": [],
        }
        for kind, record in items:
            kinds[kind].append(record)
        return acc.update(**kinds)
    return acc.update(items)


@st.composite
def case(draw, name):
    factory, records = CATALOGUE[name]
    items = draw(st.lists(records, max_size=25))
    cuts = sorted(draw(st.lists(st.integers(0, len(items)), max_size=4)))
    parts, last = [], 0
    for cut in [*cuts, len(items)]:
        parts.append(items[last:cut])
        last = cut
    return factory, items, parts


def run(factory, items):
    return _fill(factory(), items).result()


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30)
@given(data=st.data())
def test_any_partition_merged_equals_one_pass(name, data):
    factory, items, parts = data.draw(case(name))
    single = run(factory, items)
    accumulators = [_fill(factory(), part) for part in parts]
    merged = accumulators[0]
    for acc in accumulators[1:]:
        merged = merged.merge(acc)
    assert merged.result() == single
    # Merging in the other direction (a right fold) agrees too.
    folded = accumulators[-1]
    for acc in reversed(accumulators[:-1]):
        folded = acc.merge(folded)
    assert folded.result() == single


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30)
@given(data=st.data())
def test_merge_is_associative_and_leaves_inputs_alone(name, data):
    factory, _, _ = data.draw(case(name))
    records = CATALOGUE[name][1]
    a, b, c = (
        _fill(factory(), data.draw(st.lists(records, max_size=8))) for _ in range(3)
    )
    before = (a.result(), b.result(), c.result())
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    assert left.result() == right.result()
    assert (a.result(), b.result(), c.result()) == before


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30)
@given(data=st.data())
def test_empty_is_an_identity_and_order_does_not_matter(name, data):
    factory, items, _ = data.draw(case(name))
    acc = _fill(factory(), items)
    expected = acc.result()
    assert acc.result() == expected  # result() leaves the accumulator alone
    assert acc.empty().merge(acc).result() == expected
    assert acc.merge(acc.empty()).result() == expected
    assert acc.empty().result() == factory().result()
    shuffled = data.draw(st.permutations(items))
    assert run(factory, shuffled) == expected
    # One record at a time, through add(), is the same as update().
    one_by_one = factory()
    if isinstance(one_by_one, HeadlineKpis):
        return  # records of four kinds: update(deals=..., ...) is its add
    for item in items:
        one_by_one.add(item)
    assert one_by_one.result() == expected


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15)
@given(data=st.data())
def test_accumulators_pickle_for_other_processes(name, data):
    # What a Dask or Spark worker does: build, fill, pickle, merge elsewhere.
    factory, items, parts = data.draw(case(name))
    shipped = [pickle.loads(pickle.dumps(_fill(factory(), p))) for p in parts]
    merged = shipped[0]
    for acc in shipped[1:]:
        merged = merged.merge(acc)
    assert merged.result() == run(factory, items)


def _accumulator_classes():
    """Every class the public modules export that accumulates (merge + result)."""
    from tests.test_public_api import PUBLIC_MODULES

    found = set()
    for module in PUBLIC_MODULES:
        if module in {"testing"}:
            continue
        namespace = __import__(f"crmcore.{module}", fromlist=["__all__"])
        for name in namespace.__all__:
            value = getattr(namespace, name)
            is_protocol = getattr(value, "_is_protocol", False)
            if (
                isinstance(value, type)
                and not is_protocol
                and all(
                    callable(getattr(value, method, None))
                    for method in ("update", "merge", "empty", "result")
                )
            ):
                found.add(value)
    return found


def _catalogued(acc):
    inner = getattr(acc, "_template", None)
    return {type(acc)} | (set() if inner is None else _catalogued(inner))


def test_the_laws_cover_every_accumulator_in_the_public_api():
    covered = set()
    for factory, _ in CATALOGUE.values():
        covered |= _catalogued(factory())
    exported = _accumulator_classes()
    assert {SegmentCounter, StageAnalytics, HeadlineKpis, Grouped} <= exported
    missing = {cls.__name__ for cls in exported} - {cls.__name__ for cls in covered}
    assert not missing, f"accumulators without laws: {sorted(missing)}"


# ---------------------------------------------------------------------------
# Domain invariants on random subscription histories
# ---------------------------------------------------------------------------
def _mrr_at(subs, instant):
    total: dict[str, Decimal] = {}
    for sub in subs:
        customer = sub["customer_id"] if isinstance(sub, dict) else sub.customer_id
        mrr = sub["mrr"] if isinstance(sub, dict) else sub.mrr
        start = sub["start"] if isinstance(sub, dict) else sub.start
        end = sub["end"] if isinstance(sub, dict) else sub.end
        if start <= instant and (end is None or instant < end):
            total[customer] = total.get(customer, 0) + mrr.amount
    return total


@given(st.lists(subscriptions(), max_size=30))
def test_mrr_bridge_identity_and_ranges(subs):
    moves = MrrMovements(MARCH).update(subs).result().components
    start, end = _mrr_at(subs, MARCH.start), _mrr_at(subs, MARCH.end)
    start_mrr = sum(start.values(), 0)
    end_mrr = sum(end.values(), 0)
    if start_mrr or end_mrr:
        assert moves["start_mrr"].amount == start_mrr
        assert moves["end_mrr"].amount == end_mrr
        bridge = (
            moves["start_mrr"]
            + moves["new"]
            + moves["reactivation"]
            + moves["expansion"]
            - moves["contraction"]
            - moves["churn"]
        )
        assert bridge == moves["end_mrr"]
    nrr = NetRevenueRetention(MARCH).update(subs).result()
    grr = GrossRevenueRetention(MARCH).update(subs).result()
    if grr.defined:
        assert 0 <= grr.value <= 1
        assert grr.value <= nrr.value
    retention = CustomerRetention(MARCH).update(subs).result()
    churn = LogoChurn(MARCH).update(subs).result()
    assert retention.defined == churn.defined
    if retention.defined:
        assert 0 <= retention.value <= 1
        assert 0 <= churn.value <= 1
        assert retention.value + churn.value == 1
    gross = RevenueChurn(MARCH).update(subs).result()
    if gross.defined:
        assert 0 <= gross.value <= 1


@given(st.lists(deals(), max_size=30))
def test_win_rate_lies_in_zero_one_and_weighted_never_exceeds_open(items):
    for measure in ("count", "value"):
        rate = WinRate(measure=measure).update(items).result()
        if rate.defined:
            assert 0 <= rate.value <= 1
    forecast = WeightedPipeline(sample_pipeline()).update(items).result()
    if forecast.defined:
        assert forecast.value <= forecast.components["open_value"]
        assert (
            sum(forecast.components["by_category"].values(), Money(0, "EUR"))
            == forecast.value
        )


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15)
@given(data=st.data())
def test_the_callers_decimal_context_changes_nothing(name, data):
    """Every figure is computed in crmcore's own context (exact sums, 28-digit
    quotients), so a caller's three-digit, truncating context changes nothing."""
    factory, items, _ = data.draw(case(name))
    expected = run(factory, items)
    with decimal.localcontext() as caller:
        caller.prec = 3
        caller.rounding = decimal.ROUND_DOWN
        caller.traps[decimal.Inexact] = False
        assert run(factory, items) == expected
