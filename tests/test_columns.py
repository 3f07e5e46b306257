"""Batches of columns: the columnar path gives exactly the record path's results.

The law, for every accumulator of the catalogue that reads records: a
``Columns`` batch gives the result its own rows give, with instants as
datetimes or as integer microseconds, grouped or not; a bad row raises the
error the record path raises for it.
"""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.calendar import Period, period_of
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import (
    Grouped,
    Mrr,
    OpenPipeline,
    SalesCycle,
    WeightedPipeline,
    WinRate,
    by_period,
    grouped,
)
from crmcore.records import Columns, from_micros, to_micros
from crmcore.sample import sample_pipeline
from crmcore.testing import columns_of
from tests.kpi_strategies import deals
from tests.test_kpi_laws import AS_OF, CATALOGUE, Q1

T0 = datetime(2026, 1, 5, tzinfo=UTC)
INSTANTS = ("created_at", "closed_at", "converted_at", "start", "end", "at", "t")


def names_of(items):
    names: dict[str, None] = {}
    for item in items:
        keys = (
            item.keys()
            if isinstance(item, dict)
            else (a.name for a in attrs.fields(type(item)))
        )
        names.update(dict.fromkeys(keys))
    return list(names)


def as_columns(items, *, micros=False):
    """A batch holding the items' fields; bulk forms for instants and amounts."""
    if micros and "amount" in columns_of(items).names:
        try:
            return columns_of(items, micros=True, decimals=("amount",))
        except DataError:  # amounts that are not exact numbers stay as they are
            pass
    return columns_of(items, micros=micros)


# Accumulators whose input is not one record per item.
NOT_RECORDS = {"report", "evaluation", "band_conversion", "stage_analytics"}
COLUMNAR = sorted(set(CATALOGUE) - NOT_RECORDS)


def outcome(factory, feed):
    try:
        return ("ok", factory().update(feed).result())
    except (DataError, DataTypeError) as error:
        return ("error", type(error), str(error))


@pytest.mark.parametrize("name", COLUMNAR)
@settings(max_examples=20)
@given(data=st.data())
def test_a_batch_gives_what_its_rows_give(name, data):
    factory, records = CATALOGUE[name]
    items = data.draw(st.lists(records, max_size=25))
    micros = data.draw(st.booleans())
    batch = as_columns(items, micros=micros)
    assert outcome(factory, batch) == outcome(factory, list(batch))
    if len({tuple(names_of([item])) for item in items}) <= 1:
        # Records with one set of fields: the batch holds them all exactly.
        assert outcome(factory, batch) == outcome(factory, items)


@pytest.mark.parametrize(
    "kpi",
    [
        WinRate(Q1),
        WinRate(measure="value", exclude_reasons={"disqualified"}),
        SalesCycle(basis="closed"),
        OpenPipeline(as_of=AS_OF),
        WeightedPipeline(sample_pipeline(), as_of=AS_OF),
    ],
    ids=["win_rate_q1", "win_rate_value", "cycle_closed", "open_at", "weighted"],
)
@pytest.mark.parametrize(
    "per",
    [
        by_period("month"),
        by_period("week", tz="America/New_York"),
        by_period("quarter", field="created_at"),
        "owner",
        "stage",
        lambda deal: deal["amount"] > 100,
    ],
    ids=["month", "week_ny", "quarter_created", "owner", "stage", "function"],
)
@settings(max_examples=10)
@given(items=st.lists(deals(), max_size=30), micros=st.booleans())
def test_grouping_a_batch_gives_what_its_rows_give(kpi, per, items, micros):
    batch = as_columns(items, micros=micros)
    if isinstance(per, by_period().__class__) and not kpi.anchors and not per.field:
        return
    assert grouped(kpi, batch, per) == grouped(kpi, list(batch), per)


def test_a_batch_and_records_merge_into_one_pass():
    rows = [
        {
            "outcome": "won" if i % 3 else "lost",
            "created_at": T0,
            "closed_at": T0 + timedelta(days=i),
            "amount": Decimal(i),
            "currency": "EUR",
        }
        for i in range(40)
    ]
    both = WinRate().update(as_columns(rows[:25], micros=True)).update(rows[25:])
    assert both.result() == WinRate().update(rows).result()
    # Worked by hand: 40 closed, won where i % 3 != 0 (26 of them).
    assert both.result().value == Decimal(26) / 40
    table = Grouped(WinRate(), by_period("week"))
    table.update(as_columns(rows, micros=True))
    weeks = table.result()
    assert [type(k) for k in weeks] == [Period] * 6  # Mondays Jan 5 to Feb 9
    assert sum(r.denominator for r in weeks.groups.values()) == 40


def test_a_bad_row_is_named_as_on_the_record_path():
    rows = [
        {
            "outcome": "won",
            "created_at": T0,
            "closed_at": T0,
            "amount": Decimal(1),
            "currency": "EUR",
            "id": f"d{i}",
        }
        for i in range(3)
    ]
    rows[2] = {**rows[2], "amount": Decimal(-4)}
    for micros in (False, True):
        with pytest.raises(DataError) as on_columns:
            WinRate().update(as_columns(rows, micros=micros))
        with pytest.raises(DataError) as on_rows:
            WinRate().update(rows)
        assert str(on_columns.value) == str(on_rows.value)
        assert "id='d2'" in str(on_columns.value)
    batch = Columns({"outcome": ["won"], "created_at": [T0], "amount": [1]})
    with pytest.raises(DataError, match="a record with a 'currency' field"):
        WinRate().update(batch)


def test_columns_validates_its_input():
    with pytest.raises(DataTypeError, match="a mapping of field name"):
        Columns([("a", [1])])  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="a field name"):
        Columns({1: [1]})  # type: ignore[dict-item]
    with pytest.raises(DataTypeError, match="a sequence of values"):
        Columns({"a": "abc"})
    with pytest.raises(DataError, match="2 values, as many as the other"):
        Columns({"a": [1, 2], "b": [1]})
    with pytest.raises(DataError, match="3 values, as many as length"):
        Columns({"a": [1]}, length=3)
    with pytest.raises(DataTypeError, match="a number of rows"):
        Columns({}, length=-1)
    assert list(Columns({}, length=2)) == [{}, {}]
    with pytest.raises(DataTypeError, match="a list of column names"):
        Columns({"a": [1]}, micros="a")
    with pytest.raises(DataError, match="one of the columns"):
        Columns({"a": [1]}, micros=["b"])
    with pytest.raises(DataTypeError, match="micros: expected a column name"):
        Columns({"a": [1]}, micros=[[]])
    with pytest.raises(DataTypeError, match="decimals: expected a column name"):
        Columns({"a": [1]}, decimals={1: 2})  # type: ignore[dict-item]
    with pytest.raises(DataTypeError, match="integer microseconds"):
        Columns({"a": [1, T0]}, micros=["a"])
    with pytest.raises(DataTypeError, match="integer microseconds"):
        Columns({"a": [True]}, micros=["a"])
    with pytest.raises(DataTypeError, match="an integer of scaled units"):
        Columns({"a": [Decimal(1)]}, decimals={"a": 2})
    with pytest.raises(DataError, match="decimal places from 0 to 18"):
        Columns({"a": [1]}, decimals={"a": 19})
    with pytest.raises(DataTypeError, match="a mapping of column name"):
        Columns({"a": [1]}, decimals=["a"])  # type: ignore[arg-type]
    with pytest.raises(DataError, match="a column that is not in micros"):
        Columns({"a": [1]}, micros=["a"], decimals={"a": 0})
    with pytest.raises(DataError, match="one of the columns"):
        Columns({"a": [1]}, decimals={"b": 0})
    with pytest.raises(DataError, match=r"columns\.a: expected microseconds from"):
        Columns({"a": [0, 1 << 62]}, micros=["a"])
    with pytest.raises(DataError, match=r"got -4611686018427387904"):
        Columns({"a": [-(1 << 62), None]}, micros=["a"])
    with pytest.raises(DataError, match="a row index from 0 to 0"):
        Columns({"a": [1]}).row(1)
    with pytest.raises(DataError, match="one of \\['a'\\]"):
        Columns({"a": [1]})["b"]


def test_columns_show_rows_as_records():
    zone = timezone(timedelta(hours=2))
    at = datetime(2026, 3, 1, 12, tzinfo=zone)
    batch = Columns(
        {
            "id": ["a", "b"],
            "account.region": ["emea", None],
            "at": [to_micros(at), None],
        },
        micros=["at"],
    )
    assert len(batch) == 2 and "id" in batch and "x" not in batch
    assert batch.names == ("id", "account.region", "at")
    assert batch.get("x") is None and batch["id"] == ["a", "b"]
    assert list(batch) == [
        {"id": "a", "account": {"region": "emea"}, "at": at.astimezone(UTC)},
        {"id": "b", "account": {"region": None}, "at": None},
    ]
    assert batch.row(1) == list(batch)[1]
    assert [row["id"] for row in batch.take([1, 0, 1])] == ["b", "a", "b"]
    assert len(batch.take([])) == 0 and len(Columns({})) == 0
    assert repr(batch) == "Columns(2 rows: id, account.region, at)"
    cents = Columns({"amount": [1250, None, -3]}, decimals={"amount": 2})
    assert cents.values("amount") == [Decimal("12.50"), None, Decimal("-0.03")]
    assert str(cents.row(0)["amount"]) == "12.50"
    assert from_micros(to_micros(at)) == at
    assert to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000


@given(st.integers(-(10**15), 10**16))
def test_micros_round_trip(value):
    assert to_micros(from_micros(value)) == value


def test_period_keys_of_micros_in_any_order():
    instants = [T0 + timedelta(days=d) for d in (40, 1, 70, 3, 39, 100, 2)]
    rows = [
        {
            "outcome": "won",
            "created_at": T0,
            "closed_at": t,
            "amount": 1,
            "currency": "EUR",
        }
        for t in instants
    ]
    table = grouped(WinRate(), as_columns(rows, micros=True), by_period("month"))
    months = [period_of(t, "month") for t in instants]
    assert list(table) == sorted(set(months), key=lambda p: p.start)
    assert [r.denominator for r in table.groups.values()] == [3, 2, 1, 1]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"amount": Decimal(-4)}, "a finite, non-negative amount"),
        ({"amount": Decimal("NaN")}, "a finite, non-negative amount"),
        ({"outcome": "pending"}, "'open', 'won' or 'lost'"),
        (
            {"outcome": "open", "closed_at": None, "created_at": datetime(2026, 1, 5)},
            "timezone-aware",
        ),
        ({"currency": "euro"}, "currency"),
        ({"closed_at": T0 - timedelta(days=1)}, "an instant at or after created_at"),
    ],
)
@pytest.mark.parametrize("micros", [False, True])
def test_every_bad_row_fails_as_on_the_record_path(change, match, micros):
    rows = [
        {
            "outcome": outcome,
            "created_at": T0,
            "closed_at": None if outcome == "open" else T0,
            "amount": Decimal("2.50"),
            "currency": currency,
            "id": f"d{i}",
        }
        for i, (outcome, currency) in enumerate(
            [("won", "EUR"), ("open", "USD"), ("lost", "EUR"), ("won", "USD")]
        )
    ]
    rows.append({**rows[0], "id": "bad", **change})
    batch = as_columns(rows, micros=micros and "created_at" not in change)
    with pytest.raises((DataError, DataTypeError), match=match) as on_columns:
        OpenPipeline().update(batch)
    with pytest.raises((DataError, DataTypeError)) as on_rows:
        OpenPipeline().update(list(batch))
    assert str(on_columns.value) == str(on_rows.value)
    assert "id='bad'" in str(on_columns.value)


def test_grouping_a_batch_names_an_unhashable_key():
    batch = as_columns(
        [
            {
                "outcome": "won",
                "created_at": T0,
                "closed_at": T0,
                "amount": 1,
                "currency": "EUR",
            }
        ]
    )
    with pytest.raises(DataTypeError, match="per: expected a hashable group key"):
        grouped(WinRate(), batch, lambda deal: [deal["outcome"]])  # type: ignore[arg-type, return-value]


def test_an_instant_kpi_has_no_period():
    with pytest.raises(DataError, match="no period: OpenPipeline has as_of"):
        OpenPipeline().for_period(Q1)


def test_update_group_counts_records_in_a_given_group():
    table = Grouped(WinRate(), "owner")
    row = {"outcome": "won", "created_at": T0, "closed_at": T0, "amount": 1,
           "currency": "EUR"}  # fmt: skip
    table.update_group("ana", [row]).update_group("ana", [row])
    assert table.result()["ana"].denominator == 2
    with pytest.raises(DataTypeError, match="key: expected a hashable group key"):
        table.update_group(["ana"], [row])


def test_batches_after_the_first_add_to_the_groups_they_found():
    rows = [
        {"outcome": o, "created_at": T0, "closed_at": T0, "amount": 1,
         "currency": "EUR", "owner": who}
        for o, who in [("won", "ana"), ("lost", "ana"), ("won", "bo")]
    ]  # fmt: skip
    table = Grouped(WinRate(), "owner")
    table.update(as_columns(rows[:2])).update(as_columns(rows[2:] + rows[:1]))
    result = table.result()
    # ana: won, lost, won = 2 of 3; bo: 1 of 1.
    assert (result["ana"].numerator, result["ana"].denominator) == (2, 3)
    assert result["bo"].value == 1
    assert Grouped(Mrr(as_of=T0), "customer_id").fields is None
