"""The bulk kernel behind frames: it counts exactly what the deal loop counts.

The law, for every deal KPI of the law catalogue and both frame libraries:
the kernel counts a frame when, and only when, the record loop accepts its
rows, and then the KPI's result is the loop's, to the last digit and
exponent. A frame the loop refuses is counted by nothing, so ``kpi_frame``
raises the loop's own error.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.calendar import Interval
from crmcore.errors import CrmcoreError, DataError
from crmcore.kpis import (
    Grouped,
    OpenPipeline,
    PipelineVelocity,
    SalesCycle,
    WeightedPipeline,
    WinRate,
    by_period,
    grouped,
)
from crmcore.kpis._deal_facts import DealFacts
from crmcore.pipelines import Pipeline, StageDefinition, TransitionPolicy
from tests.kpi_strategies import deal_rows
from tests.test_frames_libraries import (
    AS_OF,
    DEAL_FIELDS,
    LIBRARIES,
    frame_of,
    library,
)
from tests.test_kpi_laws import CATALOGUE

frames = pytest.importorskip("crmcore.frames")
kernels = pytest.importorskip("crmcore.kpis._arrays")
np = pytest.importorskip("numpy")

DEAL_KPIS = sorted(
    name
    for name, (factory, _) in CATALOGUE.items()
    if type(getattr(factory(), "facts", None)) is DealFacts
    and factory().options.get("where") is None  # type: ignore[attr-defined]
)
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def loop_result(make, table):
    """The record loop's result over the frame's rows, or its error."""
    try:
        return make().update(frames.records(table)).result()
    except CrmcoreError as error:
        return error


def kernel_result(make, table, name):
    """The kernel's result over the frame (or its error), ``None`` if refused."""
    acc = make()
    facts = acc.facts
    counted = frames._count_in_bulk(table, name, {}, facts)
    if not counted:
        return None
    try:
        return acc.result()
    except CrmcoreError as error:
        return error


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("kpi", DEAL_KPIS)
@settings(max_examples=15, deadline=None)
@given(rows=st.lists(deal_rows(), max_size=30))
def test_the_kernel_counts_what_the_loop_counts(name, kpi, rows):
    library(name)
    table = frame_of(name, rows, DEAL_FIELDS)
    make = CATALOGUE[kpi][0]
    expected = loop_result(make, table)
    found = kernel_result(make, table, name)
    if isinstance(expected, CrmcoreError) and isinstance(found, CrmcoreError):
        assert repr(found) == repr(expected)  # the same figures fail alike
        return
    if isinstance(expected, CrmcoreError):
        assert found is None  # refused: kpi_frame runs the loop, which raises
        with pytest.raises(type(expected), match="expected"):
            frames.kpi_frame(make(), table)
        return
    assert found is not None, "a frame the loop accepts is counted in bulk"
    assert found == expected
    assert repr(found) == repr(expected)  # the same digits and exponents


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize(
    "make",
    [
        lambda: Grouped(WinRate(), by_period("month")),
        lambda: Grouped(SalesCycle(basis="closed"), "owner"),
        lambda: Grouped(OpenPipeline(as_of=AS_OF), "stage"),
        lambda: Grouped(WinRate(measure="value", exclude_reasons={"price"}), "owner"),
    ],
)
@settings(max_examples=20, deadline=None)
@given(rows=st.lists(deal_rows(), max_size=30))
def test_grouped_frames_counted_in_bulk_equal_grouped_records(name, make, rows):
    library(name)
    table = frame_of(name, rows, DEAL_FIELDS)
    template = make()
    expected = loop_result(template.empty, table)
    kpi = template._template
    if isinstance(expected, CrmcoreError):
        # Groups are counted in another order than the rows come, so the bad
        # row named first may differ; a crmcore error names one of them.
        with pytest.raises(CrmcoreError, match="expected"):
            frames.kpi_frame(kpi, table, per=template._per)
        return
    out = frames.kpi_frame(kpi, table, per=template._per, exact=True)
    want = frames.to_frame(expected, exact=True, library=name)
    assert out.equals(want)


def test_a_worked_forecast_by_hand():
    """Three open deals, two weighted by the stage, one by its own probability."""
    pd = library("pandas")
    pipeline = Pipeline(
        "p",
        [
            StageDefinition("new", "New", probability=Decimal("0.125")),
            StageDefinition(
                "late", "Late", probability=Decimal("0.5"), forecast_category="commit"
            ),
            StageDefinition("odd", "Odd"),
            StageDefinition("won", "Won", kind="won"),
            StageDefinition("lost", "Lost", kind="lost"),
        ],
        policy=TransitionPolicy("free", lost_reasons=("price",)),
    )
    table = pd.DataFrame(
        {
            "outcome": ["open", "open", "open", "open", "won"],
            "created_at": pd.to_datetime([T0] * 5, utc=True),
            "closed_at": pd.to_datetime([None] * 4 + [T0], utc=True),
            "amount": [100.0, 80.5, 10.0, 7.0, 999.0],
            "currency": "EUR",
            "stage": ["new", "late", "late", "odd", "late"],
            "probability": [None, None, 0.25, None, None],
        }
    )
    kpi = WeightedPipeline(pipeline, as_of=T0 + timedelta(days=1))
    facts: Any = kpi.facts
    assert frames._count_in_bulk(table, "pandas", {}, facts)
    # 100 x 0.125 + 80.5 x 0.5 + 10 x 0.25 = 12.5 + 40.25 + 2.5; "odd" has none.
    assert facts.sums["EUR"][5] == Decimal("55.25")
    assert facts.sums["EUR"][4] == Decimal("197.5")  # every forecast deal
    assert facts.sums["EUR"][6] == Decimal("7")  # the one without a weight
    assert (facts.weighted_deals, facts.unweighted) == (3, 1)
    assert facts.categories == {
        ("EUR", "pipeline"): Decimal("12.5"),
        ("EUR", "commit"): Decimal("42.75"),
    }
    # The won deal is checked, but a pipeline reads no closed deal: the
    # kernel leaves it out of the won count the loop keeps.
    assert facts.won == 0
    looped = WeightedPipeline(pipeline, as_of=T0 + timedelta(days=1))
    looped.update(frames.records(table))
    loop_facts: Any = looped.facts
    assert loop_facts.won == 1
    for name in ("weighted_deals", "unweighted", "open_at", "categories"):
        assert getattr(loop_facts, name) == getattr(facts, name), name
    assert loop_facts.sums["EUR"][4:] == facts.sums["EUR"][4:]
    assert looped.result() == kpi.result()


@given(
    values=st.lists(st.integers(0, (1 << 62) - 1), max_size=50),
    data=st.data(),
)
def test_exact_sums_are_the_integer_sums(values, data):
    codes = data.draw(
        st.lists(st.integers(0, 3), min_size=len(values), max_size=len(values))
    )
    found = kernels.exact_sums(
        np.array(codes, dtype=np.int64), np.array(values, dtype=np.int64), 4
    )
    assert found == [
        sum(v for v, c in zip(values, codes, strict=True) if c == k) for k in range(4)
    ]


def test_a_bad_row_in_a_later_chunk_counts_nothing(monkeypatch):
    pd = library("pandas")
    monkeypatch.setattr(frames, "_BULK_CHUNK", 2)
    table = pd.DataFrame(
        {
            "outcome": ["won", "won", "lost", "won", "maybe"],
            "created_at": pd.to_datetime([T0] * 5, utc=True),
            "closed_at": pd.to_datetime([T0] * 5, utc=True),
            "amount": [1.0] * 5,
            "currency": "EUR",
        }
    )
    acc = WinRate()
    facts: Any = acc.facts
    assert not frames._count_in_bulk(table, "pandas", {}, facts)
    assert facts.won == facts.lost == 0
    with pytest.raises(DataError, match=r"outcome \(row 4\)|outcome"):
        frames.kpi_frame(WinRate(), table)
    assert frames.kpi_frame(WinRate(), table.iloc[:4], exact=True)["value"][0] == (
        Decimal("0.75")
    )


@pytest.mark.parametrize("name", LIBRARIES)
def test_columns_the_kernel_does_not_read_go_to_the_loop(name):
    """Decimal objects, unsigned integers, money amounts: the rows read them."""
    pd = library("pandas")
    table = pd.DataFrame(
        {
            "outcome": ["won", "lost"],
            "created_at": pd.to_datetime([T0] * 2, utc=True),
            "closed_at": pd.to_datetime([T0] * 2, utc=True),
            "amount": [Decimal("1.005"), Decimal("2")],
            "currency": "EUR",
        }
    )
    if name == "polars":
        table = library("polars").from_pandas(table.astype({"amount": float}))
    acc = WinRate(measure="value")
    facts = acc.facts
    counted = frames._count_in_bulk(table, name, {}, facts)
    assert counted is (name == "polars")
    out = frames.kpi_frame(WinRate(measure="value"), table, exact=True)
    assert out["value"][0] == Decimal("1.005") / Decimal("3.005")


def deal_table(**changes):
    """Four deals as a pandas frame: a won, a lost, two open; then ``changes``."""
    pd = library("pandas")
    data = {
        "outcome": ["won", "lost", "open", "open"],
        "created_at": pd.to_datetime([T0] * 4, utc=True),
        "closed_at": pd.to_datetime([T0, T0, None, None], utc=True),
        "amount": [10.0, 20.0, 30.0, 40.0],
        "currency": "EUR",
        "stage": ["won", "lost", "new", "late"],
    }
    data.update(changes)
    return pd.DataFrame({k: v for k, v in data.items() if v is not None})


PIPELINE = Pipeline(
    "p",
    [
        StageDefinition("new", "New", probability=Decimal("0.125")),
        StageDefinition("late", "Late", probability=Decimal("0.5")),
        StageDefinition("won", "Won", kind="won"),
        StageDefinition("lost", "Lost", kind="lost"),
    ],
    policy=TransitionPolicy("free", lost_reasons=("price",)),
)


def in_bulk(kpi, table, name="pandas", **reading):
    """Whether the kernel counts the frame (and kpi_frame equals the loop)."""
    facts: Any = kpi.facts
    counted = frames._count_in_bulk(table, name, reading, facts)
    if counted:
        rows = kpi.empty().update(frames.records(table, **reading))
        assert kpi.result() == rows.result()
    return counted


def test_columns_of_other_kinds_are_left_to_the_loop():
    pd = library("pandas")
    at = T0 + timedelta(days=1)
    weighted = lambda: WeightedPipeline(PIPELINE, as_of=at)  # noqa: E731
    assert in_bulk(WinRate(), deal_table())
    # Outcomes, currencies and stages that are not text; amounts not numbers.
    assert not in_bulk(WinRate(), deal_table(outcome=[1, 2, 0, 0]))
    assert not in_bulk(WinRate(), deal_table(currency=[1, 1, 1, 1]))
    assert not in_bulk(WinRate(), deal_table(currency=["EUR", 1, "EUR", "EUR"]))
    assert not in_bulk(weighted(), deal_table(stage=[1, 2, 3, 4]))
    assert not in_bulk(WinRate(), deal_table(amount=["1", "2", "3", "4"]))
    # Instants that are objects, and nested or missing fields.
    objects = library("pandas").Series([T0] * 4, dtype=object)
    assert not in_bulk(WinRate(), deal_table(created_at=objects))
    assert not in_bulk(WinRate(), deal_table(**{"amount.net": [1, 2, 3, 4]}))
    numbers = deal_table(created_at=[1, 2, 3, 4])
    assert not in_bulk(WinRate(), numbers, instants=["created_at"])
    assert not in_bulk(WinRate(), deal_table(currency=None))
    # Reading options the loop explains or reads itself.
    assert not in_bulk(WinRate(), deal_table(), money={"amount": "currency"})
    assert not in_bulk(WinRate(), deal_table(), chunk=0)
    assert not in_bulk(WinRate(), deal_table(), chunk=True)
    assert not in_bulk(WinRate(), deal_table(), fields=["outcome"])
    with pytest.raises(DataError, match="chunk"):
        frames.kpi_frame(WinRate(), deal_table(), chunk=0)
    # Text instants are parsed; integer amounts are exact as they are.
    texts = deal_table(
        created_at=["2026-03-02T09:00:00Z"] * 4,
        closed_at=["2026-03-02T09:00:00Z"] * 2 + [None, None],
        amount=[10, 20, 30, 40],
    )
    assert in_bulk(
        WinRate(measure="value"), texts, instants=["created_at", "closed_at"]
    )
    nullable = deal_table(amount=pd.array([10, 20, None, 40], dtype="Int64"))
    assert not in_bulk(OpenPipeline(), nullable)  # a missing amount: the loop says
    assert in_bulk(WinRate(), deal_table(amount=pd.array([1, 2, 3, 4], dtype="Int64")))


def test_polars_columns_of_other_kinds_are_left_to_the_loop():
    pl = library("polars")
    table = pl.from_pandas(deal_table())
    assert in_bulk(WinRate(), table, "polars")
    categorical = table.with_columns(
        pl.col("outcome").cast(pl.Categorical), pl.col("currency").cast(pl.Categorical)
    )
    assert in_bulk(WinRate(), categorical, "polars")
    assert not in_bulk(
        WinRate(), table.with_columns(pl.lit(1).alias("currency")), "polars"
    )
    assert not in_bulk(
        WinRate(), table.with_columns(pl.lit("1").alias("amount")), "polars"
    )
    assert not in_bulk(
        WinRate(), table.with_columns(pl.Series("outcome", [1, 2, 0, 0])), "polars"
    )
    texts = table.with_columns(pl.lit("2026-03-02T09:00:00Z").alias("created_at"))
    assert not in_bulk(WinRate(), texts, "polars")
    assert in_bulk(WinRate(), texts, "polars", instants=["created_at"])
    gaps = table.with_columns(pl.Series("amount", [10, 20, None, 40]))
    assert not in_bulk(OpenPipeline(), gaps, "polars")  # the loop explains
    ints = table.with_columns(pl.Series("amount", [10, 20, 30, 40]))
    assert in_bulk(WinRate(measure="value"), ints, "polars")
    # Grouping a polars frame by an integer column codes it by a join.
    grouped_ints = table.with_columns(pl.Series("team", [1, 2, 1, None]))
    out = frames.kpi_frame(OpenPipeline(), grouped_ints, per="team", exact=True)
    assert out["value"].to_list() == [Decimal("30"), Decimal("0"), Decimal("40")]


def test_kernel_refusals_and_edges_by_hand():
    at = T0 + timedelta(days=1)
    weighted = lambda: WeightedPipeline(PIPELINE, as_of=at)  # noqa: E731
    assert in_bulk(weighted(), deal_table())
    # A probability outside [0, 1] on a forecast deal; a pipeline's stage
    # column missing; a stage the pipeline lacks on a closed deal only.
    assert not in_bulk(weighted(), deal_table(probability=[None, None, 1.5, None]))
    assert not in_bulk(weighted(), deal_table(stage=None))
    assert in_bulk(weighted(), deal_table(stage=["x", "y", "new", "late"]))
    assert not in_bulk(weighted(), deal_table(stage=["won", "lost", "x", "late"]))
    # No open deal counted: no stage column is needed.
    closed_only = deal_table(
        outcome=["won", "lost", "won", "lost"],
        closed_at=[pd_time(T0)] * 4,
        stage=None,
    )
    assert in_bulk(weighted(), closed_only)
    # Without closed_at: closed deals are refused, open deals counted.
    assert not in_bulk(WinRate(), deal_table(closed_at=None))
    opens = deal_table(outcome=["open"] * 4, closed_at=None)
    assert in_bulk(OpenPipeline(), opens)
    # An empty frame counts nothing, exactly; so do empty arrays.
    assert in_bulk(WinRate(), deal_table().iloc[:0])
    empty = deal_table().iloc[:0]
    fields, parse, _ = frames._plan(empty, "pandas", None, (), None)
    facts: Any = WinRate().facts
    arrays = frames._deal_arrays(empty, "pandas", fields, parse, None, facts)
    assert facts.count_arrays(arrays)
    assert facts.won == 0
    # Naive wall times read in the zone given.
    naive = deal_table(
        created_at=library("pandas").to_datetime(["2026-03-02 10:00"] * 4),
        closed_at=library("pandas").to_datetime(["2026-03-02 11:00"] * 2 + [None] * 2),
    )
    assert in_bulk(WinRate(), naive, tz="Europe/Berlin")
    # Amounts too large for exact products are left to the loop.
    huge = deal_table(amount=[10, 20, 2**61, 1])
    assert not in_bulk(weighted(), huge)
    assert in_bulk(OpenPipeline(), huge)


def test_stage_defaults_of_many_places_are_left_to_the_loop():
    fine = Decimal("0.1234567890123456789")  # 19 places
    pipeline = Pipeline(
        "p",
        [
            StageDefinition("new", "New", probability=fine),
            StageDefinition("won", "Won", kind="won"),
            StageDefinition("lost", "Lost", kind="lost"),
        ],
        policy=TransitionPolicy("free", lost_reasons=("price",)),
    )
    table = deal_table(stage=["won", "lost", "new", "new"])
    kpi = WeightedPipeline(pipeline, as_of=T0 + timedelta(days=1))
    assert not in_bulk(kpi, table)
    out = frames.kpi_frame(kpi, table, exact=True)
    assert out["value"][0] == 70 * fine


def test_a_scale_the_first_values_allow_but_a_later_one_refutes():
    values = [1.0] * (frames._PROBE + 5) + [0.5]
    found = frames._scaled_floats(np.array(values), "x")
    assert found is not None
    assert found[2] == 1
    assert found[0][-1] == 5


def test_a_grouped_kpi_the_kernel_does_not_count_over_an_empty_frame():
    pd = library("pandas")
    from crmcore.kpis import LeadConversion

    leads = pd.DataFrame(
        {
            "id": pd.Series([], dtype=str),
            "created_at": pd.to_datetime([], utc=True),
            "converted_at": pd.to_datetime([], utc=True),
        }
    )
    out = frames.kpi_frame(LeadConversion(), leads, per=by_period("month"))
    assert len(out) == 0


def pd_time(instant):
    return library("pandas").Timestamp(instant)


def test_durations_counted_in_bulk_stay_sorted_until_records_come():
    """The kernel sorts the durations; the figures then skip sorting them."""
    pd = library("pandas")
    days = [5, 1, 3]
    table = pd.DataFrame(
        {
            "outcome": ["won", "won", "lost"],
            "created_at": pd.to_datetime([T0] * 3, utc=True),
            "closed_at": pd.to_datetime(
                [T0 + timedelta(days=d) for d in days], utc=True
            ),
            "amount": [1.0] * 3,
            "currency": "EUR",
        }
    )
    kpi = SalesCycle(basis="closed")
    facts: Any = kpi.facts
    assert frames._count_in_bulk(table, "pandas", {}, facts)
    assert facts.ordered
    assert list(facts.cycles) == [86_400_000_000, 5 * 86_400_000_000]
    # Won (1, 5) and lost (3) days: mean 3, median 3, p90 5.
    result = kpi.result()
    assert (result.value, result.components["median_days"]) == (Decimal(3), Decimal(3))
    assert result.components["p90_days"] == 5
    # Two sorted runs are not one: merged facts sort again, as records do.
    merged = facts.merged(facts)
    assert not merged.ordered
    assert merged.merged(facts.cleared()).ordered is False
    looped = SalesCycle(basis="closed").update(frames.records(table))
    assert not looped.facts.ordered  # type: ignore[attr-defined]
    assert looped.result() == result
    assert facts.cleared().merged(facts).ordered


def test_groups_with_other_options_are_left_to_the_loop():
    """A velocity per month takes each month's end as its instant: the kernel
    counts no groups that differ in more than their window."""
    pd = library("pandas")
    table = deal_table()
    facts: Any = PipelineVelocity().facts
    groups = [
        PipelineVelocity(Interval(T0, T0 + timedelta(days=d))).facts for d in (1, 2)
    ]
    codes = np.array([0, 1, 0, 1])
    arrays = frames._deal_arrays(
        table, "pandas", {f: f for f in table.columns}, frozenset(), None, facts
    )
    assert not facts.count_arrays(arrays, codes, groups)
    out = frames.kpi_frame(
        PipelineVelocity(),
        table,
        per=by_period("month", field="created_at"),
        exact=True,
    )
    want = grouped(
        PipelineVelocity(),
        frames.records(table),
        by_period("month", field="created_at"),
    )
    assert out.equals(frames.to_frame(want, exact=True, library="pandas"))
    assert pd is not None


def test_instants_in_periods_of_very_unlike_lengths_are_found_by_a_search():
    starts = np.array([0, 1, 10_000], dtype=np.int64)
    micros = np.array([0, 1, 5, 9_999, 10_000, 19_999], dtype=np.int64)
    assert frames._placed(np, micros, starts, 20_000).tolist() == [0, 1, 1, 1, 2, 2]
    even = np.array([0, 100, 200], dtype=np.int64)
    inside = np.array([0, 99, 100, 299], dtype=np.int64)
    assert frames._placed(np, inside, even, 300).tolist() == [0, 0, 1, 2]
