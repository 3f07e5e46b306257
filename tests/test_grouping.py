"""Grouping in one pass: the deal KPIs' own loop with each group's state.

The law, for every deal KPI of the law catalogue, field and period keys and
every kind of record: a grouped KPI counted in one pass over the records
gives what each group's records counted by the KPI's own loop give (the
bucketing path, itself tested against hand-built groups), to the last
digit; a record either refuses, the other refuses too.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType, SimpleNamespace
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.conditions import field
from crmcore.errors import CrmcoreError, DataTypeError, NaiveDatetimeError
from crmcore.kpis import Grouped, PeriodKey, SalesCycle, WinRate, by_period, grouped
from crmcore.kpis._deal_facts import DealFacts
from crmcore.records import FrozenMap
from tests.kpi_strategies import deal_rows
from tests.test_kpi_laws import CATALOGUE

DEAL_KPIS = sorted(
    name
    for name, (factory, _) in CATALOGUE.items()
    if type(getattr(factory(), "facts", None)) is DealFacts
)
KEYS: dict[str, Any] = {
    "owner": "owner",
    "stage": "stage",
    "month closed": by_period("month"),
    "week created, Berlin": by_period("week", field="created_at", tz="Europe/Berlin"),
    "day, New York": by_period("day", tz="America/New_York"),
}


@attrs.define
class Row:
    """A deal as an attrs record of the caller's own (read by attribute)."""

    outcome: Any
    created_at: Any
    amount: Any
    currency: Any
    closed_at: Any = None
    stage: Any = None
    probability: Any = None
    lost_reason: Any = None
    owner: Any = None
    id: Any = None
    account_id: Any = None
    fields: Any = None


KINDS = {
    "dict": dict,
    "attrs": lambda row: Row(**row),
    "mapping": MappingProxyType,
    "namespace": lambda row: SimpleNamespace(**row),
}


def counted(table: Grouped, rows: list[Any], *, one_pass: bool) -> Any:
    """The grouped result (or the crmcore error) of one path."""
    if not one_pass:
        table._fused = False
    try:
        return table.update(rows).result()
    except CrmcoreError as error:
        return error


@pytest.mark.parametrize("key", sorted(KEYS))
@pytest.mark.parametrize("kpi", DEAL_KPIS)
@settings(max_examples=10, deadline=None)
@given(
    rows=st.lists(deal_rows(), max_size=25),
    kind=st.sampled_from(sorted(KINDS)),
)
def test_one_pass_grouping_gives_each_groups_own_count(kpi, key, rows, kind):
    make: Any = CATALOGUE[kpi][0]
    per = KEYS[key]
    if isinstance(per, PeriodKey) and per.field is None and not make().anchors:
        per = attrs.evolve(per, field="created_at")  # an instant KPI: no anchor
    records = [KINDS[kind](row) for row in rows]
    one_pass = Grouped(make(), per)
    assert (
        one_pass._fused
        or make().options.get("where")
        or (
            kpi == "velocity"
            and isinstance(per, PeriodKey)  # its as_of is the period's
        )
    )
    found = counted(one_pass, records, one_pass=True)
    expected = counted(Grouped(make(), per), records, one_pass=False)
    if isinstance(expected, CrmcoreError) or isinstance(found, CrmcoreError):
        # Both refuse (the bucketing path meets the groups in another order,
        # so it may name another bad record first).
        assert isinstance(found, CrmcoreError), found
        assert isinstance(expected, CrmcoreError), expected
        return
    assert found == expected
    assert repr(found) == repr(expected)


@pytest.mark.parametrize("key", sorted(KEYS))
@settings(max_examples=10, deadline=None)
@given(rows=st.lists(deal_rows(), max_size=25), cut=st.integers(0, 25))
def test_one_pass_grouping_in_two_calls_is_one_call(key, rows, cut):
    """The periods found by the first call place the second call's records."""
    make = CATALOGUE["sales_cycle"][0] if "sales_cycle" in CATALOGUE else SalesCycle
    whole = counted(Grouped(make(), KEYS[key]), rows, one_pass=True)
    table = Grouped(make(), KEYS[key])
    try:
        table.update(rows[:cut])
        parts = counted(table, rows[cut:], one_pass=True)
    except CrmcoreError as error:
        parts = error
    if isinstance(whole, CrmcoreError):
        assert type(parts) is type(whole)
        return
    assert parts == whole


T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def deal(outcome: str, days: int, owner: str, amount: int = 10) -> dict[str, Any]:
    closed = None if outcome == "open" else T + timedelta(days=days)
    return {
        "outcome": outcome,
        "created_at": T,
        "closed_at": closed,
        "amount": Decimal(amount),
        "currency": "EUR",
        "owner": owner,
    }


def test_a_worked_win_rate_per_month_by_hand():
    """March: won 10 of 10 + 30 (1 of 2 deals); April: won 40 of 40 (1 of 1)."""
    rows = [
        deal("won", 1, "ana", 10),
        deal("lost", 10, "bo", 30),
        deal("won", 35, "ana", 40),
        deal("open", 0, "cy"),
    ]
    by_count = grouped(WinRate(), rows, by_period("month"))
    by_value = grouped(WinRate(measure="value"), rows, by_period("month"))
    assert [p.label if p else p for p in by_count.groups] == [
        "2026-03",
        "2026-04",
        None,
    ]
    assert [r.value for r in by_count.groups.values()][:2] == [Decimal("0.5"), 1]
    assert [r.value for r in by_value.groups.values()][:2] == [Decimal("0.25"), 1]
    # The open deal has no closing month: the group of no period, no rate.
    assert by_count.groups[None].value is None


def test_a_worked_sales_cycle_per_owner_by_hand():
    """ana's deals took 1 and 35 days (mean 18), bo's lost deal does not count."""
    rows = [deal("won", 1, "ana"), deal("lost", 10, "bo"), deal("won", 35, "ana")]
    table = grouped(SalesCycle(), rows, "owner")
    assert list(table.groups) == ["ana", "bo"]
    assert table.groups["ana"].value == Decimal(18)
    assert table.groups["bo"].value is None


def test_the_first_bad_record_in_order_is_the_one_explained():
    rows = [deal("won", 1, "ana"), {**deal("won", 2, "bo"), "amount": Decimal(-1)}]
    rows.append({**deal("won", 3, "cy"), "currency": "eur"})
    with pytest.raises(CrmcoreError, match=r"amount .*-1"):
        grouped(WinRate(), rows, "owner")
    with pytest.raises(CrmcoreError, match=r"amount .*-1"):
        grouped(WinRate(), rows, by_period("month"))


def test_one_pass_keys_are_checked_like_the_bucketing_keys():
    with pytest.raises(DataTypeError, match="per: expected a hashable group key"):
        grouped(WinRate(), [{**deal("won", 1, "ana"), "owner": ["a"]}], "owner")
    naive = {**deal("won", 1, "ana"), "closed_at": datetime(2026, 3, 9)}
    with pytest.raises(NaiveDatetimeError, match="closed_at"):
        grouped(WinRate(), [deal("won", 1, "ana"), naive], by_period("month"))
    # A frozen mapping and a field that is not a period anchor: read by the
    # record reader, as bucketing reads them.
    rows = [FrozenMap(deal("won", 1, "ana")), FrozenMap(deal("lost", 2, "bo"))]
    assert list(grouped(WinRate(), rows, "owner").groups) == ["ana", "bo"]
    weekly = grouped(WinRate(), rows, by_period("week", field="created_at"))
    assert [p.label for p in weekly.groups] == ["2026-W10"]


def test_a_kpi_with_where_groups_through_its_own_filter():
    rows = [deal("won", 1, "ana"), deal("lost", 2, "bo")]
    kpi = WinRate(where=field("owner") == "ana")
    table = Grouped(kpi, "owner")
    assert not table._fused
    # bo's deal makes its group, then the filter leaves it out of the count.
    result = table.update(rows).result()
    assert [r.value for r in result.groups.values()] == [1, None]


def test_an_open_deal_with_a_naive_creation_is_explained_in_one_pass():
    naive = {**deal("open", 0, "ana"), "created_at": datetime(2026, 3, 2)}
    with pytest.raises(NaiveDatetimeError, match="created_at"):
        grouped(WinRate(), [deal("won", 1, "bo"), naive], "owner")


def test_keys_the_bucketing_path_refuses_are_crmcore_errors():
    """A KPI with ``where`` buckets its records: the same key errors."""
    kpi = WinRate(where=field("owner") == "ana")
    with pytest.raises(DataTypeError, match="per: expected a hashable group key"):
        grouped(kpi, [{**deal("won", 1, "ana"), "owner": ["a"]}], "owner")
    naive = {**deal("won", 1, "ana"), "closed_at": datetime(2026, 3, 9)}
    with pytest.raises(NaiveDatetimeError, match="closed_at"):
        grouped(kpi, [deal("won", 1, "ana"), naive], by_period("month"))


def test_a_record_without_the_key_field_is_in_the_group_none_on_both_paths():
    rows = [FrozenMap({k: v for k, v in deal("won", 1, "ana").items() if k != "owner"})]
    kpi = WinRate(where=field("outcome") == "won")
    assert list(grouped(kpi, rows, "owner").groups) == [None]
    assert list(grouped(WinRate(), rows, "owner").groups) == [None]
