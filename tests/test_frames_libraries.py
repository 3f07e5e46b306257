"""Frames of both libraries: the columnar path equals the record path.

Each test runs for pandas and for polars (skipped when one is missing): a
KPI over a frame's ``batches`` equals the KPI over its ``records`` and over
the records the frame was built from; instants, numbers and missing values
convert as documented; groups by period come back typed.
"""

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.calendar import Interval, period_of
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import (
    Grouped,
    LeadConversion,
    Mrr,
    OpenPipeline,
    PeriodKey,
    SalesCycle,
    WeightedPipeline,
    WinRate,
    by_period,
    cohort_retention,
    kpi_report,
)
from crmcore.records import Columns
from crmcore.sample import generate_sample, sample_pipeline
from tests.kpi_strategies import deals, leads

frames = pytest.importorskip("crmcore.frames")
pd = pytest.importorskip("pandas")

LIBRARIES = ["pandas", "polars"]
AS_OF = datetime(2026, 4, 15, tzinfo=UTC)
Q1 = period_of(datetime(2026, 2, 1, tzinfo=UTC), "quarter")
DEAL_FIELDS = (
    "id",
    "outcome",
    "created_at",
    "closed_at",
    "amount",
    "currency",
    "stage",
    "owner",
    "probability",
    "lost_reason",
)


def library(name):
    return pytest.importorskip(name)


def frame_of(name, rows, fields):
    """A frame as a user builds it: floats for amounts, UTC timestamps."""
    data = {}
    for field in fields:
        values = [row.get(field) for row in rows]
        if field in ("amount", "probability"):
            values = [None if v is None else float(v) for v in values]
        data[field] = values
    if name == "pandas":
        table = pd.DataFrame(data, columns=list(fields))
        for field in fields:
            if field.endswith("_at"):
                table[field] = pd.to_datetime(table[field], utc=True)
        return table
    pl = library("polars")
    schema = {
        field: (
            pl.Datetime("us", "UTC")
            if field.endswith("_at")
            else pl.Float64
            if field in ("amount", "probability")
            else pl.String
        )
        for field in fields
    }
    return pl.DataFrame(
        {
            f: [v.astimezone(UTC) if isinstance(v, datetime) else v for v in vs]
            for f, vs in data.items()
        },
        schema=schema,
    )


def plain(record):
    return record if isinstance(record, dict) else attrs.asdict(record, recurse=False)


KPIS: dict[str, Callable[[], Any]] = {
    "win_rate": lambda: WinRate(Q1),
    "win_rate_value": lambda: WinRate(measure="value", exclude_reasons={"price"}),
    "cycle": lambda: SalesCycle(basis="closed"),
    "open": lambda: OpenPipeline(as_of=AS_OF),
    "weighted": lambda: WeightedPipeline(sample_pipeline(), as_of=AS_OF),
    "per_month": lambda: Grouped(WinRate(), by_period("month")),
    "per_owner": lambda: Grouped(SalesCycle(), "owner"),
}


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("kpi", sorted(KPIS))
@settings(max_examples=15, deadline=None)
@given(items=st.lists(deals(), max_size=40), chunk=st.integers(1, 50))
def test_a_frame_gives_what_its_records_give(name, kpi, items, chunk):
    library(name)
    rows = [plain(item) for item in items]
    table = frame_of(name, rows, DEAL_FIELDS)
    make = KPIS[kpi]
    on_batches = make()
    for batch in frames.batches(table, chunk=chunk):
        assert isinstance(batch, Columns)
        on_batches.update(batch)
    on_rows = make().update(frames.records(table)).result()
    assert on_batches.result() == on_rows
    # Amounts of at most two places convert exactly: the original records agree.
    assert on_rows == make().update(rows).result()


@pytest.mark.parametrize("name", LIBRARIES)
@settings(max_examples=10, deadline=None)
@given(items=st.lists(leads(), max_size=30))
def test_lead_frames_give_what_their_records_give(name, items):
    library(name)
    rows = [plain(item) for item in items]
    table = frame_of(name, rows, ("id", "created_at", "source", "converted_at"))
    kpi = LeadConversion(Q1, window=timedelta(days=30), as_of=AS_OF)
    expected = kpi.empty().update(rows).result()
    assert frames.kpi_frame(kpi, table, exact=True)["value"][0] == expected.value


@pytest.mark.parametrize("name", LIBRARIES)
def test_renamed_columns_and_iso_text_instants(name):
    library(name)
    rows = [
        {"status": "won", "opened": "2026-01-05T09:00:00+01:00", "shut": "2026-01-09"},
        {
            "status": "lost",
            "opened": "2026-01-06T10:00:00Z",
            "shut": "2026-02-01T12:00",
        },
        {"status": "open", "opened": "2026-01-07 08:30", "shut": None},
    ]
    data = {
        "status": [r["status"] for r in rows],
        "opened": [r["opened"] for r in rows],
        "shut": [r["shut"] for r in rows],
        "amount": [100, 250, 75],
        "currency": ["EUR"] * 3,
    }
    table = (
        pd.DataFrame(data) if name == "pandas" else library("polars").DataFrame(data)
    )
    mapping = {"outcome": "status", "created_at": "opened", "closed_at": "shut"}
    read = list(
        frames.records(
            table,
            columns=mapping,
            instants=["created_at", "closed_at"],
            tz="Europe/Berlin",
        )
    )
    berlin = timezone(timedelta(hours=1))  # winter: CET
    assert [r["created_at"] for r in read] == [
        datetime(2026, 1, 5, 8, tzinfo=UTC),
        datetime(2026, 1, 6, 10, tzinfo=UTC),
        datetime(2026, 1, 7, 8, 30, tzinfo=berlin),
    ]
    assert read[0]["closed_at"] == datetime(2026, 1, 9, tzinfo=berlin)
    assert read[2]["closed_at"] is None and read[0]["outcome"] == "won"
    assert read[1]["amount"] == 250 and type(read[1]["amount"]) is int
    # Worked by hand: one won of two closed.
    result = frames.kpi_frame(
        WinRate(),
        table,
        columns=mapping,
        instants=["created_at", "closed_at"],
        tz="Europe/Berlin",
        exact=True,
    )
    assert result["value"][0] == Decimal("0.5")


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize(
    ("texts", "options", "match"),
    [
        (["2026-13-01"], {"tz": "UTC"}, "an ISO 8601 instant"),
        (["2026-01-05T09:00"], {}, "an instant with an offset"),
        (["2026-03-29T02:30"], {"tz": "Europe/Berlin"}, "a wall time that exists"),
        (
            ["2026-10-25T02:30"],
            {"tz": "Europe/Berlin"},
            "a wall time that is not ambiguous",
        ),
    ],
)
def test_bad_text_instants_are_named(name, texts, options, match):
    library(name)
    data = {"at": texts}
    table = (
        pd.DataFrame(data) if name == "pandas" else library("polars").DataFrame(data)
    )
    with pytest.raises(DataError, match=f"at: expected {match}"):
        list(frames.records(table, instants=["at"], **options))


@pytest.mark.parametrize("name", LIBRARIES)
def test_naive_datetime_columns_need_a_zone(name):
    wall = [datetime(2026, 7, 1, 9), datetime(2026, 7, 2, 9)]
    table = (
        pd.DataFrame({"at": wall})
        if name == "pandas"
        else library("polars").DataFrame({"at": wall})
    )
    with pytest.raises(DataError, match="at: expected a timezone-aware datetime"):
        list(frames.records(table))
    read = list(frames.records(table, tz="Europe/Berlin"))
    assert read[0]["at"] == datetime(2026, 7, 1, 7, tzinfo=UTC)  # CEST
    skipped = (
        pd.DataFrame({"at": [datetime(2026, 3, 29, 2, 30)]})
        if name == "pandas"
        else library("polars").DataFrame({"at": [datetime(2026, 3, 29, 2, 30)]})
    )
    with pytest.raises(DataError, match="at: expected wall times that exist once"):
        list(frames.records(skipped, tz="Europe/Berlin"))


@pytest.mark.parametrize("name", LIBRARIES)
def test_numbers_convert_exactly_at_the_column_scale(name):
    library(name)
    data = {
        "tenths": [0.1, 0.2, None],
        "third": [1 / 3, 1.0, 2.0],
        "huge": [1e20, 1.0, 2.0],
        "whole": [1200.0, 99.5, 3.0],
    }
    if name == "pandas":
        table = pd.DataFrame(data)
    else:
        table = library("polars").DataFrame(data)
    read = list(frames.records(table))
    assert [r["tenths"] for r in read] == [Decimal("0.1"), Decimal("0.2"), None]
    assert str(read[0]["third"]) == repr(1 / 3)  # no scale holds it: shortest repr
    assert read[0]["huge"] == Decimal("1E+20")
    assert [str(r["whole"]) for r in read] == ["1200.0", "99.5", "3.0"]
    batch = next(
        frames.batches(
            table.rename({"whole": "amount"})
            if name == "polars"
            else table.rename(columns={"whole": "amount"})
        )
    )
    assert batch.decimals == {"amount": 1} and list(batch["amount"]) == [12000, 995, 30]
    bad = {"x": [float("inf")]}
    table = pd.DataFrame(bad) if name == "pandas" else library("polars").DataFrame(bad)
    with pytest.raises(DataError, match="x: expected a finite number"):
        list(frames.records(table))


def test_polars_types_convert_to_plain_values():
    pl = library("polars")
    table = pl.DataFrame(
        {
            "price": pl.Series([Decimal("1.25"), None], dtype=pl.Decimal(10, 2)),
            "tier": pl.Series(["a", None], dtype=pl.Categorical),
            "n": pl.Series([1, None], dtype=pl.Int64),
            "f": pl.Series([float("nan"), None], dtype=pl.Float64),
            "wait": pl.Series([timedelta(hours=2), None]),
        }
    )
    read = list(frames.records(table))
    assert read == [
        {
            "price": Decimal("1.25"),
            "tier": "a",
            "n": 1,
            "f": None,
            "wait": timedelta(hours=2),
        },
        {"price": None, "tier": None, "n": None, "f": None, "wait": None},
    ]
    with pytest.raises(DataTypeError, match="collect the LazyFrame"):
        frames.records(table.lazy())


@pytest.fixture(scope="module")
def sample():
    return generate_sample(1_500, seed=4)


@pytest.mark.parametrize("name", LIBRARIES)
def test_period_groups_come_back_typed(name, sample):
    library(name)
    rows = [plain(o) for o in sample.opportunities]
    table = frame_of(name, rows, DEAL_FIELDS)
    monthly = frames.kpi_frame(WinRate(), table, per=by_period("month"))
    expected = Grouped(WinRate(), by_period("month")).update(rows).result()
    labels = [None if k is None else k.label for k in expected]
    assert labels[-1] is None  # the open deals, without a closing date
    if name == "pandas":
        assert str(monthly["group"].dtype) == "period[M]"
        assert [None if p is pd.NaT else str(p) for p in monthly["group"]] == labels
    else:
        pl = library("polars")
        assert monthly["group"].dtype == pl.Datetime("us", "UTC")
        assert monthly["group_label"].to_list() == labels
        assert monthly["group"].to_list()[0] == next(iter(expected)).start
    values = list(monthly["value"])[:-1]
    assert values == [float(r.value) for r in list(expected.groups.values())[:-1]]


@pytest.mark.parametrize(
    ("unit", "frequency"),
    [
        (by_period("quarter"), "Q-DEC"),
        (by_period("week"), "W-SUN"),
        (by_period("year"), "Y-DEC"),
        (by_period("day"), "D"),
    ],
)
def test_pandas_periods_match_crmcore_periods(sample, unit, frequency):
    rows = [plain(o) for o in sample.opportunities]
    out = frames.kpi_frame(WinRate(), frame_of("pandas", rows, DEAL_FIELDS), per=unit)
    expected = Grouped(WinRate(), unit).update(rows).result()
    assert out["group"].dtype == pd.PeriodDtype(frequency)
    for period, key in zip(out["group"], expected, strict=True):
        assert period.start_time.date() == key.first_day if key else period is pd.NaT


def test_fiscal_periods_as_pandas_periods():
    from crmcore.calendar import Period, fiscal_quarter, fiscal_year

    quarter = Period(fiscal_quarter(4), datetime(2026, 4, 1).date())
    year = Period(fiscal_year(10), datetime(2025, 10, 1).date())
    assert str(frames._pandas_period(quarter)) == "2027Q1"
    assert frames._pandas_period(quarter).start_time.date() == quarter.first_day
    assert frames._pandas_period(year).start_time.date() == year.first_day


@pytest.mark.parametrize("name", LIBRARIES)
def test_cohort_matrix_is_wide(name, sample):
    library(name)
    table = cohort_retention(
        sample.subscriptions, start=sample.start, as_of=sample.as_of, unit="quarter"
    )
    wide = frames.cohort_matrix(table, library=name, exact=True)
    assert list(wide.columns) == [
        "cohort",
        "customers",
        *(str(k) for k in range(table.ages)),
    ]
    assert len(wide) == len(table.rows)
    first = table.matrix()[0]
    assert wide["0"][0] == first[0]
    revenue = frames.cohort_matrix(table, basis="revenue", library=name)
    assert list(revenue["cohort"]) == [row.cohort.label for row in table.rows]
    with pytest.raises(DataTypeError, match="table: expected a CohortTable"):
        frames.cohort_matrix([1])


@pytest.mark.parametrize("name", LIBRARIES)
def test_report_from_frames_equals_the_report(name, sample):
    library(name)
    period = Interval(sample.as_of - timedelta(days=365), sample.as_of)
    rows = [plain(o) for o in sample.opportunities]
    table = frame_of(name, rows, DEAL_FIELDS)
    subs = [
        {
            "customer_id": s.customer_id,
            "mrr": s.mrr.amount,
            "currency": s.mrr.currency,
            "start": s.start,
            "end": s.end,
        }
        for s in sample.subscriptions
    ]
    if name == "pandas":
        subs_table = pd.DataFrame(subs)
        subs_table["mrr"] = subs_table["mrr"].astype(float)
        for column in ("start", "end"):
            subs_table[column] = pd.to_datetime(subs_table[column], utc=True)
    else:
        pl = library("polars")
        subs_table = pl.DataFrame(
            subs,
            schema={
                "customer_id": pl.String,
                "mrr": pl.Float64,
                "currency": pl.String,
                "start": pl.Datetime("us", "UTC"),
                "end": pl.Datetime("us", "UTC"),
            },
        )
    out = frames.report_frame(
        period,
        deals=table,
        subscriptions=subs_table,
        pipeline=sample_pipeline(),
        exact=True,
    )
    report = kpi_report(
        period,
        deals=rows,
        subscriptions=sample.subscriptions,
        pipeline=sample_pipeline(),
    )
    assert list(out["key"]) == list(report)
    assert list(out["value"]) == list(report.to_dict().values())
    assert type(out).__module__.split(".")[0] == name
    snapshot = frames.kpi_frame(Mrr(as_of=sample.as_of), subs_table, exact=True)
    assert snapshot["value"][0] == report["mrr"].value.amount


def test_bad_reading_options_are_named():
    table = pd.DataFrame({"a": [1]})
    with pytest.raises(DataTypeError, match="columns: expected a mapping"):
        frames.batches(table, columns=["a"])
    with pytest.raises(DataError, match=r"columns\.outcome: expected a column"):
        frames.batches(table, columns={"outcome": "status"})
    with pytest.raises(DataError, match="renamings that keep field names unique"):
        frames.batches(pd.DataFrame({"a": [1], "b": [2]}), columns={"a": "b"})
    with pytest.raises(DataTypeError, match="instants: expected a list"):
        frames.batches(table, instants="a")
    with pytest.raises(DataError, match="instants: expected a field of the frame"):
        frames.batches(table, instants=["b"])
    with pytest.raises(DataError, match="tz"):
        frames.batches(table, tz="Mars/Olympus")
    with pytest.raises(DataTypeError, match="columns: expected a mapping of data set"):
        frames.report_frame(Q1, deals=table, columns=["x"])
    with pytest.raises(DataTypeError, match="an ISO 8601 text or a datetime"):
        list(frames.records(pd.DataFrame({"a": [object()]}), instants=["a"]))


def test_the_core_never_imports_a_frame_library():
    import subprocess
    import sys

    code = (
        "import sys, crmcore, crmcore.kpis, crmcore.frames; "
        "assert not {'pandas', 'polars', 'numpy'} & set(sys.modules), sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert importlib.import_module("crmcore.frames").Library is not None


def test_pandas_categoricals_and_datetime_objects_in_text_columns():
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    table = pd.DataFrame(
        {
            "tier": pd.Categorical(["gold", None, "gold"]),
            "at": pd.Series(["2026-03-01T09:00:00Z", at, None], dtype=object),
        }
    )
    read = list(frames.records(table, instants=["at"]))
    assert [r["tier"] for r in read] == ["gold", None, "gold"]
    assert [r["at"] for r in read] == [at, at, None]


def cells(column):
    """A result column's cells, with the NaN pandas puts for None as None."""
    return [None if isinstance(v, float) and v != v else v for v in column]


GROUPINGS = {
    "month": by_period("month"),
    "week_berlin": by_period("week", tz="Europe/Berlin"),
    "created_quarter": by_period("quarter", field="created_at"),
    "owner": "owner",
    "stage": "stage",
    "function": lambda deal: deal["amount"] > 1000,
}


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("per", sorted(GROUPINGS))
@settings(max_examples=10, deadline=None)
@given(items=st.lists(deals(), max_size=40))
def test_a_grouped_frame_gives_what_grouped_records_give(name, per, items):
    """The frame library's group-by gives crmcore's groups, exactly."""
    library(name)
    rows = [plain(item) for item in items]
    table = frame_of(name, rows, DEAL_FIELDS)
    key = GROUPINGS[per]
    for kpi in (WinRate(), OpenPipeline(as_of=AS_OF)):
        if not isinstance(key, PeriodKey) or key.field or kpi.anchors:
            out = frames.kpi_frame(kpi, table, per=key, exact=True)
            expected = Grouped(kpi, key).update(frames.records(table)).result()
            assert out.shape[0] == len(expected.to_rows())
            assert cells(out["value"]) == [r["value"] for r in expected.to_rows()]
            assert cells(out["reason"]) == [r["reason"] for r in expected.to_rows()]


def test_sparse_instants_are_grouped_by_crmcore():
    """Two deals 8,000 years apart by day: not 3 million empty periods."""
    rows = [
        {"outcome": "won", "created_at": t, "closed_at": t, "amount": 1.0,
         "currency": "EUR"}
        for t in (datetime(1, 1, 2, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))
    ]  # fmt: skip
    table = frame_of(
        "pandas", rows, ("outcome", "created_at", "closed_at", "amount", "currency")
    )
    out = frames.kpi_frame(WinRate(), table, per=by_period("day"))
    assert list(out["value"]) == [1.0, 1.0]


SAMPLE_INSTANTS = {
    "deals": ["created_at", "closed_at"],
    "leads": ["created_at", "converted_at"],
    "subscriptions": ["start", "end"],
    "spend": ["at"],
}
FILES = {
    "deals": "opportunities",
    "leads": "leads",
    "subscriptions": "subscriptions",
    "spend": "marketing_spend",
}


def read(name, form, path):
    if name == "pandas":
        if form == "jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_csv(path) if form == "csv" else pd.read_parquet(path)
    pl = library("polars")
    if form == "jsonl":
        return pl.read_ndjson(path)
    return pl.read_csv(path) if form == "csv" else pl.read_parquet(path)


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("form", ["jsonl", "csv", "parquet"])
def test_sample_exports_load_back_into_every_kpi(tmp_path, name, form):
    """crmcore sample, then read_json/read_csv/read_parquet, then the report."""
    library(name)
    if form == "parquet":
        pytest.importorskip("pyarrow")
    from crmcore.__main__ import main
    from crmcore.sample import PAID_CHANNELS

    assert main(["sample", "--out", str(tmp_path), "--format", form,
                 "--opportunities", "600", "--seed", "5"]) == 0  # fmt: skip
    data = generate_sample(600, seed=5)
    period = Interval(data.as_of - timedelta(days=365), data.as_of)
    options = {
        "pipeline": sample_pipeline(),
        "channels": data.acquisition_channels(),
        "paid_channels": PAID_CHANNELS,
        "margin": Decimal("0.8"),
    }
    tables = {
        kind: read(name, form, tmp_path / f"{file}.{form}")
        for kind, file in FILES.items()
    }
    out = frames.report_frame(
        period, exact=True, instants=SAMPLE_INSTANTS, **tables, **options
    )
    report = kpi_report(
        period,
        deals=data.opportunities,
        leads=data.leads,
        subscriptions=data.subscriptions,
        spend=data.marketing_spend(),
        **options,
    )
    assert list(out["key"]) == list(report)
    assert cells(out["value"]) == list(report.to_dict().values())


def test_groupings_the_frame_library_cannot_do_fall_back_to_crmcore(sample):
    """Each key crmcore groups itself gives the same groups as its rows."""
    rows = [plain(o) for o in sample.opportunities[:300]]
    table = frame_of("pandas", rows, DEAL_FIELDS)
    table["tag"] = [1 if i % 2 else "x" for i in range(len(table))]  # mixed objects
    table["score"] = [float(i % 3) for i in range(len(table))]  # floats
    texts = table.assign(
        created_at=table["created_at"].map(lambda t: t.isoformat()),
        closed_at=table["closed_at"].map(
            lambda t: None if t is pd.NaT else t.isoformat()
        ),
    )
    cases = [
        (table, "tag", {}),
        (table, "score", {}),
        (table, by_period("month", field="missing_field"), {}),
        (table, by_period("month", field="owner"), {}),
        (
            texts,
            by_period("month"),
            {"instants": ["created_at", "closed_at"], "tz": "UTC"},
        ),
    ]
    for frame, per, reading in cases:
        kpi = WinRate()
        if per == "score" or per == "tag" or getattr(per, "field", "") != "owner":
            out = frames.kpi_frame(kpi, frame, per=per, exact=True, **reading)
            expected = Grouped(kpi, per).update(frames.records(frame, **reading))
            assert cells(out["value"]) == [
                r["value"] for r in expected.result().to_rows()
            ]
        else:
            with pytest.raises(DataError, match="owner"):
                frames.kpi_frame(kpi, frame, per=per, **reading)
    pl = library("polars")
    polars_table = pl.from_pandas(table.drop(columns=["tag"])).with_columns(
        pl.col("owner").cast(pl.Categorical), pl.col("created_at").alias("when")
    )
    for per in ("owner", "score", "when"):
        out = frames.kpi_frame(WinRate(), polars_table, per=per, exact=True)
        expected = Grouped(WinRate(), per).update(frames.records(polars_table))
        assert cells(out["value"]) == [r["value"] for r in expected.result().to_rows()]


def test_report_frame_checks_its_instants_option():
    with pytest.raises(DataTypeError, match="instants: expected a mapping of data set"):
        frames.report_frame(Q1, deals=pd.DataFrame({"a": [1]}), instants=["a"])


def test_only_the_fields_a_kpi_reads_are_read(sample):
    from crmcore.conditions import field

    deal = frozenset({"id", "outcome", "created_at", "amount", "currency", "closed_at"})
    assert WinRate().fields == deal
    assert WinRate(exclude_reasons={"price"}).fields == deal | {"lost_reason"}
    assert WeightedPipeline().fields == deal | {"stage", "probability"}
    segment = WinRate(where=field("fields.region") == "emea")
    assert {"fields", "outcome"} <= segment.fields
    assert Grouped(WinRate(), by_period("month")).fields == WinRate().fields
    assert "owner" in Grouped(WinRate(), "owner").fields
    assert Grouped(WinRate(), lambda d: 1).fields is None
    assert Mrr(as_of=AS_OF).fields is None  # reads any field: every column
    rows = [plain(o) for o in sample.opportunities[:200]]
    table = frame_of("pandas", rows, DEAL_FIELDS)
    batch = next(frames.batches(table, fields=["outcome", "amount"]))
    assert batch.names == ("outcome", "amount")
    where = WinRate(where=field("owner") == rows[0]["owner"])
    out = frames.kpi_frame(where, table, exact=True)
    assert out["value"][0] == where.empty().update(frames.records(table)).result().value
    with pytest.raises(DataTypeError, match="fields: expected a collection"):
        frames.batches(table, fields="outcome")
