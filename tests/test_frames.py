"""The optional frame bridge: pandas and polars, tested whenever installed."""

import importlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from crmcore.calendar import Interval, add_calendar, period_of
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import (
    CohortRetention,
    KpiReport,
    Mrr,
    WinRate,
    cohort_retention,
    kpi_report,
    mrr,
    win_rate,
)
from crmcore.money import Money
from crmcore.sample import generate_sample, sample_pipeline

pd = pytest.importorskip("pandas")
frames = importlib.import_module("crmcore.frames")

D = Decimal
T = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample():
    return generate_sample(2_000, seed=2)


def deal_frame(data, *, floats=True):
    rows = [attrs.asdict(o, recurse=False) for o in data.opportunities]
    frame = pd.DataFrame(rows).drop(columns=["fields"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["closed_at"] = pd.to_datetime(frame["closed_at"], utc=True)
    if floats:
        frame["amount"] = frame["amount"].astype(float)
    return frame


def test_records_convert_every_column_explicitly():
    frame = pd.DataFrame(
        {
            "amount": [0.1, float("nan"), 2.5],
            "count": [1, 2, 3],
            "flag": [True, False, True],
            "at": pd.to_datetime(["2026-01-05", None, "2026-02-01"], utc=True),
            "name": ["a", None, "c"],
            "label": pd.Series(["x", None, "z"], dtype="string"),
            "wait": pd.to_timedelta(["1 day", None, "2 hours"]),
            "nullable": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    rows = list(frames.records(frame))
    assert rows[0] == {
        "amount": D("0.1"),
        "count": 1,
        "flag": True,
        "at": T,
        "name": "a",
        "label": "x",
        "wait": timedelta(days=1),
        "nullable": 1,
    }
    assert type(rows[0]["at"]) is datetime and type(rows[0]["count"]) is int
    assert type(rows[0]["amount"]) is Decimal
    assert rows[1] == dict.fromkeys(rows[1]) | {"count": 2, "flag": False}
    assert rows[2]["amount"] == D("2.5") and rows[2]["wait"] == timedelta(hours=2)


def test_records_stream_in_chunks_keeping_order():
    frame = pd.DataFrame({"n": range(7), "x": [float(i) / 2 for i in range(7)]})
    rows = list(frames.records(frame, chunk=3))
    assert [r["n"] for r in rows] == list(range(7))
    assert rows[5]["x"] == D("2.5")
    assert list(frames.records(frame.iloc[:0])) == []


def test_money_columns_auto_explicit_and_off():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "mrr": [99.9, 10.0],
            "fee": [1.0, None],
            "currency": ["EUR", "EUR"],
            "start": pd.to_datetime(["2025-12-01"] * 2, utc=True),
        }
    )
    rows = list(frames.records(frame))
    assert rows[0]["mrr"] == Money("99.9", "EUR") and rows[0]["fee"] == D(1)
    rows = list(frames.records(frame, money={"fee": "currency"}))
    assert rows[0]["fee"] == Money(1, "EUR") and rows[1]["fee"] is None
    assert rows[0]["mrr"] == D("99.9")
    assert next(iter(frames.records(frame, money={})))["mrr"] == D("99.9")
    # MRR over a frame equals MRR over the records it came from.
    assert frames.to_frame(mrr(frames.records(frame), as_of=T))["value"][0] == 109.9


@pytest.mark.parametrize(
    ("build", "kwargs", "error", "match"),
    [
        (
            lambda: [{"a": 1}],
            {},
            DataTypeError,
            "frame: expected a pandas or polars DataFrame",
        ),
        (lambda: pd.DataFrame({0: [1]}), {}, DataTypeError, r"frame\.columns: .*str"),
        (
            lambda: pd.DataFrame([[1, 2]], columns=["a", "a"]),
            {},
            DataError,
            "unique column names",
        ),
        (
            lambda: pd.DataFrame({"at": pd.to_datetime(["2026-01-01"])}),
            {},
            DataError,
            "at: expected a timezone-aware datetime column",
        ),
        (
            lambda: pd.DataFrame({"x": [float("inf")]}),
            {},
            DataError,
            "x: expected a finite number",
        ),
        (lambda: pd.DataFrame({"x": [1]}), {"chunk": 0}, DataError, "chunk"),
        (lambda: pd.DataFrame({"x": [1]}), {"money": ["x"]}, DataTypeError, "money"),
        (
            lambda: pd.DataFrame({"x": [1]}),
            {"money": {"x": "currency"}},
            DataError,
            "money: expected a field of the frame, got 'currency'",
        ),
    ],
)
def test_bad_frames_are_explained(build, kwargs, error, match):
    with pytest.raises(error, match=match):
        list(frames.records(build(), **kwargs))


def test_kpi_frame_equals_the_pure_kpi(sample):
    frame = deal_frame(sample)
    template = WinRate(measure="value")
    out = frames.kpi_frame(template, frame, per="owner")
    expected = win_rate(sample.opportunities, measure="value", per="owner")
    assert list(out["group"]) == list(expected.groups)
    assert list(out["value"]) == [float(r.value) for r in expected.groups.values()]
    # Whole-number float amounts convert exactly, so exact mode is equal too.
    exact = frames.kpi_frame(template, frame, exact=True)
    assert exact["value"][0] == win_rate(sample.opportunities, measure="value").value
    # The template accumulator is left empty.
    assert not template.result().defined


def test_to_frame_takes_every_kind_of_result(sample):
    result = win_rate(sample.opportunities)
    one = frames.to_frame(result)
    assert one.loc[0, "kpi"] == "win_rate" and one.loc[0, "value"] == float(
        result.value
    )
    two = frames.to_frame([result, win_rate(sample.opportunities, measure="value")])
    assert list(two["value"]) == [
        float(result.value),
        float(win_rate(sample.opportunities, measure="value").value),
    ]
    table = cohort_retention(
        sample.subscriptions, start=sample.start, as_of=sample.as_of, unit="quarter"
    )
    cohorts = frames.to_frame(table)
    assert len(cohorts) == len(table.to_rows())
    with pytest.raises(DataTypeError, match=r"result\[1\]: expected a KpiResult"):
        frames.to_frame([result, 3])
    with pytest.raises(DataTypeError, match="result: expected a KpiResult"):
        frames.to_frame(3)


def test_report_frame_equals_the_report(sample):
    period = Interval(add_calendar(sample.as_of, months=-12), sample.as_of)
    subs = pd.DataFrame(
        [
            {
                "customer_id": s.customer_id,
                "mrr": float(s.mrr.amount),
                "currency": s.mrr.currency,
                "start": s.start,
                "end": s.end,
            }
            for s in sample.subscriptions
        ]
    )
    subs["start"] = pd.to_datetime(subs["start"], utc=True)
    subs["end"] = pd.to_datetime(subs["end"], utc=True)
    out = frames.report_frame(
        period,
        deals=deal_frame(sample),
        subscriptions=subs,
        pipeline=sample_pipeline(),
        exact=True,
    )
    report = kpi_report(
        period,
        deals=sample.opportunities,
        subscriptions=sample.subscriptions,
        pipeline=sample_pipeline(),
    )
    assert isinstance(report, KpiReport)
    assert list(out["key"]) == list(report)
    assert list(out["value"]) == list(report.to_dict().values())
    with pytest.raises(DataTypeError, match="leads: expected a pandas or polars"):
        frames.report_frame(period, leads=[])


def test_the_core_never_imports_pandas():
    code = (
        "import sys, crmcore, crmcore.kpis, crmcore.segments, crmcore.pipelines, "
        "crmcore.rfm, crmcore.stage_analytics, crmcore.sample, crmcore.__main__; "
        "assert 'pandas' not in sys.modules, 'pandas imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_a_library_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match=r"pip install 'crmcore\[polars\]'"):
        frames.to_frame(win_rate([]), library="polars")
    with pytest.raises(DataError, match="library: expected 'pandas' or 'polars'"):
        frames.to_frame(win_rate([]), library="arrow")


def test_cohort_and_mrr_accumulators_run_on_frames(sample):
    subs = pd.DataFrame(
        [
            {
                "customer_id": s.customer_id,
                "mrr": float(s.mrr.amount),
                "currency": "EUR",
                "start": s.start,
                "end": s.end,
            }
            for s in sample.subscriptions
        ]
    )
    for column in ("start", "end"):
        subs[column] = pd.to_datetime(subs[column], utc=True)
    snapshot = frames.kpi_frame(Mrr(as_of=sample.as_of), subs, exact=True)
    expected = mrr(sample.subscriptions, as_of=sample.as_of).value
    assert snapshot["value"][0] == expected.amount
    quarter = period_of(sample.start, "quarter")
    cohorts = frames.kpi_frame(
        CohortRetention(start=quarter.start, as_of=sample.as_of, unit="quarter"), subs
    )
    assert len(cohorts) > 0
