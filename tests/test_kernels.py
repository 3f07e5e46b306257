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

from crmcore.errors import CrmcoreError, DataError
from crmcore.kpis import (
    Grouped,
    OpenPipeline,
    SalesCycle,
    WeightedPipeline,
    WinRate,
    by_period,
)
from crmcore.kpis._deal_facts import DealFacts
from crmcore.pipelines import Pipeline, StageDefinition, TransitionPolicy
from tests.kpi_strategies import deals
from tests.test_frames_libraries import (
    AS_OF,
    DEAL_FIELDS,
    LIBRARIES,
    frame_of,
    library,
    plain,
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

# One change that makes a valid deal one the loop refuses.
BREAKS = {
    "outcome": lambda row: {**row, "outcome": "maybe"},
    "no outcome": lambda row: {**row, "outcome": None},
    "no amount": lambda row: {**row, "amount": None},
    "negative amount": lambda row: {**row, "amount": Decimal("-1")},
    "no created_at": lambda row: {**row, "created_at": None},
    "closed before created": lambda row: {
        **row,
        "outcome": "won",
        "closed_at": row["created_at"] - timedelta(days=1),
    },
    "open and closed": lambda row: {
        **row,
        "outcome": "open",
        "closed_at": row["created_at"],
    },
    "closed without closed_at": lambda row: {
        **row,
        "outcome": "lost",
        "closed_at": None,
    },
    "unknown stage": lambda row: {**row, "stage": "limbo"},
    "no stage": lambda row: {**row, "stage": None},
    "probability above 1": lambda row: {**row, "probability": Decimal("1.5")},
    "negative probability": lambda row: {**row, "probability": Decimal("-0.5")},
    "bad currency": lambda row: {**row, "currency": "eur"},
    "no currency": lambda row: {**row, "currency": None},
}


@st.composite
def deal_rows(draw):
    """Deals in one or two currencies, some of them broken."""
    currency = draw(st.sampled_from(["EUR", "USD"]))
    row = plain(draw(deals(currency)))
    if draw(st.integers(0, 9)) == 0:
        row = BREAKS[draw(st.sampled_from(sorted(BREAKS)))](row)
    return row


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
    counted = frames._count_in_bulk(
        table, name, {}, facts, lambda _, __: ((None, facts),)
    )
    if not counted:
        return None
    try:
        return acc.result()
    except CrmcoreError as error:
        return error


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("kpi", DEAL_KPIS)
@settings(max_examples=30, deadline=None)
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
    assert frames._count_in_bulk(
        table, "pandas", {}, facts, lambda _, __: ((None, facts),)
    )
    # 100 x 0.125 + 80.5 x 0.5 + 10 x 0.25 = 12.5 + 40.25 + 2.5; "odd" has none.
    assert facts.sums["EUR"][5] == Decimal("55.25")
    assert facts.sums["EUR"][4] == Decimal("197.5")  # every forecast deal
    assert facts.sums["EUR"][6] == Decimal("7")  # the one without a weight
    assert (facts.weighted_deals, facts.unweighted) == (3, 1)
    assert facts.categories == {
        ("EUR", "pipeline"): Decimal("12.5"),
        ("EUR", "commit"): Decimal("42.75"),
    }
    # No window: the won deal is closed in it (so the loop counts it too).
    assert facts.won == 1
    looped = WeightedPipeline(pipeline, as_of=T0 + timedelta(days=1))
    looped.update(frames.records(table))
    for name in ("won", "lost", "open_at", "sums", "categories", "cycles"):
        assert getattr(looped.facts, name) == getattr(facts, name), name


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
    assert not frames._count_in_bulk(
        table, "pandas", {}, facts, lambda _, __: ((None, facts),)
    )
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
    counted = frames._count_in_bulk(
        table, name, {}, facts, lambda _, __: ((None, facts),)
    )
    assert counted is (name == "polars")
    out = frames.kpi_frame(WinRate(measure="value"), table, exact=True)
    assert out["value"][0] == Decimal("1.005") / Decimal("3.005")
