import pickle
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType, SimpleNamespace
from typing import Any

import attrs
import pytest
from hypothesis import given

from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError
from crmcore.money import Money
from crmcore.records import (
    MISSING,
    Account,
    Activity,
    Contact,
    FrozenMap,
    Lead,
    Missing,
    Opportunity,
    OpportunityLike,
    StageChange,
    StageChangeLike,
    Subscription,
    SubscriptionLike,
    field_getter,
    get_field,
    parse_path,
)
from crmcore.testing import (
    accounts,
    activities,
    contacts,
    leads,
    opportunities,
    stage_changes,
    subscriptions,
)

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def deal(**changes):
    values: dict[str, Any] = {
        "id": "o-1",
        "account_id": "a-1",
        "amount": "1000",
        "currency": "EUR",
        "created_at": T0,
        "stage": "proposal",
    }
    values.update(changes)
    return Opportunity(**values)


# -- construction and validation ----------------------------------------------
def test_opportunity_defaults_and_derived_values():
    o = deal(fields={"region": "EMEA"})
    assert o.amount == Decimal(1000)
    assert o.outcome == "open" and o.is_open and not o.is_won
    assert o.value == Money(1000, "EUR")
    assert o.fields == {"region": "EMEA"}
    won = deal(outcome="won", closed_at=T0 + timedelta(days=3), stage="closed_won")
    assert won.is_won and not won.is_open


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"id": ""}, DataError, "id: expected a non-empty string id, got ''"),
        (
            {"id": 7},
            DataTypeError,
            r"id: expected a non-empty string id, got 7 \(int\)",
        ),
        (
            {"account_id": 7},
            DataTypeError,
            "account_id: expected a non-empty string id",
        ),
        (
            {"amount": 1.5},
            DataTypeError,
            "amount: expected a Decimal, int or numeric string",
        ),
        ({"amount": "-1"}, DataError, "amount: expected a non-negative amount"),
        ({"currency": "eur"}, DataError, "currency: expected an active ISO 4217"),
        (
            {"created_at": datetime(2026, 1, 1)},
            NaiveDatetimeError,
            "created_at: expected a timezone-aware",
        ),
        (
            {"created_at": "2026-01-01"},
            DataTypeError,
            "created_at: expected a timezone-aware datetime",
        ),
        ({"stage": None}, DataTypeError, "stage: expected a non-empty string id"),
        (
            {"outcome": "pending"},
            DataError,
            "outcome: expected one of 'open', 'won', 'lost'",
        ),
        (
            {"outcome": "won"},
            DataError,
            "closed_at: expected the close instant of a won deal",
        ),
        (
            {"closed_at": T0},
            DataError,
            "closed_at: expected None while outcome is 'open'",
        ),
        (
            {"outcome": "lost", "closed_at": T0 - timedelta(days=1)},
            DataError,
            "closed_at: expected an instant at or after created_at",
        ),
        (
            {"lost_reason": "price"},
            DataError,
            "lost_reason: expected None on a deal whose outcome is 'open'",
        ),
        (
            {"probability": "1.5"},
            DataError,
            "probability: expected a probability between 0 and 1",
        ),
        ({"probability": 0.5}, DataTypeError, "probability: expected a Decimal"),
        ({"owner": 3}, DataTypeError, "owner: expected a string or None"),
        ({"fields": [1]}, DataTypeError, "fields: expected a mapping"),
        ({"fields": {1: "x"}}, DataTypeError, r"fields\[1\]: expected string keys"),
    ],
)
def test_bad_opportunities_get_errors_naming_the_field(changes, error, message):
    with pytest.raises(error, match=message):
        deal(**changes)


def test_other_records_validate_their_fields():
    with pytest.raises(DataTypeError, match="name: expected a string"):
        Account("a", None)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="employees: expected a non-negative int"):
        Account("a", "A", employees=-1)
    with pytest.raises(DataTypeError, match="employees: expected a non-negative int"):
        Account("a", "A", employees="10")  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="annual_revenue: expected Money"):
        Account("a", "A", annual_revenue=Decimal(1))  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError, match="created_at"):
        Contact("c", created_at=datetime(2026, 1, 1))
    with pytest.raises(
        DataError, match="converted_at: expected an instant at or after created_at"
    ):
        Lead("l", T0, converted_at=T0 - timedelta(seconds=1))
    with pytest.raises(DataTypeError, match=r"properties: expected a mapping"):
        Activity("o", "meeting", T0, properties="done")  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match=r"properties\[2\]: expected string keys"):
        Activity("o", "meeting", T0, properties={2: "x"})  # type: ignore[dict-item]
    with pytest.raises(DataError, match="mrr: expected a non-negative amount"):
        Subscription("c", Money(-1, "EUR"), T0)
    with pytest.raises(DataError, match="end: expected an instant after start"):
        Subscription("c", Money(1, "EUR"), T0, end=T0)
    with pytest.raises(DataTypeError, match="mrr: expected Money"):
        Subscription("c", 10, T0)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="to_stage"):
        StageChange("o", None, "", T0)


def test_records_are_frozen_and_fields_are_read_only():
    o = deal(fields={"a": 1})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        o.amount = Decimal(1)  # type: ignore[misc]
    for mutate in (
        lambda: o.fields.__setitem__("a", 2),
        lambda: o.fields.__delitem__("a"),
        lambda: o.fields.update(b=1),
        lambda: o.fields.pop("a"),
        o.fields.clear,
        lambda: o.fields.setdefault("c", 1),
        o.fields.popitem,
    ):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    assert attrs.evolve(o, fields={"a": 2}).fields == {"a": 2}
    assert repr(FrozenMap({"a": 1})) == "FrozenMap({'a': 1})"
    assert FrozenMap([("a", 1)], b=2) == {"a": 1, "b": 2}
    with pytest.raises(
        DataTypeError, match="FrozenMap: expected a mapping or key/value pairs, got 5"
    ):
        FrozenMap(5)  # type: ignore[call-overload]
    with pytest.raises(DataTypeError, match="FrozenMap: expected a mapping"):
        FrozenMap(["ab", "c"])


def test_fields_accept_any_mapping_and_copy_it():
    source = {"a": 1}
    o = deal(fields=source)
    source["a"] = 2
    assert o.fields == {"a": 1}
    assert deal(fields=MappingProxyType({"b": 2})).fields == {"b": 2}
    assert deal(fields=OrderedDict()).fields == {}
    same = FrozenMap({"x": 1})
    assert deal(fields=same).fields is same


def test_records_hash_and_compare_by_value_ignoring_nothing_but_hash_of_fields():
    assert deal(fields={"a": 1}) == deal(fields={"a": 1})
    assert deal(fields={"a": 1}) != deal(fields={"a": 2})
    assert hash(deal(fields={"a": 1})) == hash(deal(fields={"a": 2}))


def test_subscription_activity_window_is_half_open():
    sub = Subscription("c", Money(10, "EUR"), T0, end=T0 + timedelta(days=30))
    assert sub.is_active(T0)
    assert not sub.is_active(T0 + timedelta(days=30))
    assert not sub.is_active(T0 - timedelta(seconds=1))
    assert Subscription("c", Money(10, "EUR"), T0).is_active(T0 + timedelta(days=9999))
    with pytest.raises(NaiveDatetimeError):
        sub.is_active(datetime(2026, 1, 1))


@given(opportunities())
def test_generated_opportunities_keep_their_invariants(o):
    assert (o.closed_at is None) == (o.outcome == "open")
    assert o.closed_at is None or o.closed_at >= o.created_at
    assert o.lost_reason is None or o.outcome == "lost"


@pytest.mark.parametrize(
    "strategy",
    [
        accounts(),
        contacts(),
        leads(),
        opportunities(),
        stage_changes(),
        activities(),
        subscriptions(),
    ],
)
@given(data=__import__("hypothesis").strategies.data())
def test_records_pickle(strategy, data):
    record = data.draw(strategy)
    assert pickle.loads(pickle.dumps(record)) == record


# -- field access --------------------------------------------------------------
@dataclass
class DjangoLikeModel:
    amount: int
    account: object = None


def test_get_field_reads_mappings_objects_and_attrs_alike():
    o = deal(fields={"region": "EMEA", "nested": {"x": 1}})
    assert get_field(o, "amount") == Decimal(1000)
    assert get_field(o, "fields.region") == "EMEA"
    assert get_field(o, "fields.nested.x") == 1
    assert get_field({"amount": 5}, "amount") == 5
    assert get_field(DjangoLikeModel(5), "amount") == 5
    assert get_field(SimpleNamespace(a=SimpleNamespace(b=2)), "a.b") == 2
    assert get_field(MappingProxyType({"a": {"b": 3}}), "a.b") == 3
    assert get_field(OrderedDict(a=1), "a") == 1


def test_missing_fields_are_missing_not_errors():
    assert get_field({}, "amount") is MISSING
    assert get_field(DjangoLikeModel(1), "nope") is MISSING
    assert get_field(DjangoLikeModel(1), "account.industry") is MISSING  # through None
    assert get_field({"a": None}, "a.b.c") is MISSING
    assert get_field(MappingProxyType({}), "a") is MISSING
    assert get_field({}, "a", default=0) == 0
    assert get_field({"a": None}, "a") is None  # None is a value, not missing
    assert get_field(5, "real") == 5  # attributes of any object


def test_row_like_objects_and_sequences():
    connection = sqlite3.connect(":memory:")
    connection.row_factory = sqlite3.Row
    row = connection.execute("select 1 as amount, 'EUR' as currency").fetchone()
    assert get_field(row, "amount") == 1
    assert get_field(row, "missing") is MISSING
    assert get_field({"contacts": [{"email": "a@x"}]}, "contacts.0.email") == "a@x"
    assert get_field({"contacts": []}, "contacts.0.email") is MISSING
    assert get_field({"name": "abc"}, "name.x") is MISSING
    connection.close()


def test_row_like_objects_prefer_attributes_then_items():
    class Series:
        """Like a pandas row: attributes for columns, and [] too."""

        kind = "row"  # the class's own data, never a column of the row

        def __init__(self) -> None:
            self.industry = "saas"

        def __getitem__(self, key: str) -> object:
            return {"employees": 12}[key]

    assert get_field(Series(), "industry") == "saas"
    assert get_field(Series(), "employees") == 12
    assert get_field(Series(), "country") is MISSING
    assert get_field(Series(), "kind") is MISSING


def test_field_getter_is_compiled_once_per_path():
    one, two, three = field_getter("a"), field_getter("a.b"), field_getter("a.b.c")
    record = {"a": {"b": {"c": 1}}}
    assert three(record) == 1
    assert two(record) == {"c": 1}
    assert one(SimpleNamespace(a=4)) == 4
    assert (
        field_getter(("fields", "utm.source"))({"fields": {"utm.source": "ads"}})
        == "ads"
    )


@pytest.mark.parametrize("path", ["", "a..b", ".a", (), ("a", ""), ("a", 1)])
def test_bad_paths_are_rejected(path):
    with pytest.raises(DataError, match="path: expected a non-empty dotted path"):
        parse_path(path)


def test_path_must_be_text():
    with pytest.raises(DataTypeError, match="path: expected a dotted string"):
        parse_path(5)  # type: ignore[arg-type]


def test_missing_is_a_falsy_singleton():
    assert Missing() is MISSING
    assert not MISSING
    assert repr(MISSING) == "MISSING"
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING


def test_protocols_accept_our_records_and_plain_objects():
    def total(deals: list[OpportunityLike]) -> Decimal:
        return sum((d.amount for d in deals), Decimal(0))

    @dataclass
    class MyDeal:
        id: str
        amount: Decimal
        currency: str
        created_at: datetime
        closed_at: datetime | None
        stage: str
        outcome: str

    mine = MyDeal("x", Decimal(5), "EUR", T0, None, "new", "open")
    assert total([deal(), mine]) == Decimal(1005)

    def moved(change: StageChangeLike) -> str:
        return change.to_stage

    def mrr(sub: SubscriptionLike) -> Money:
        return sub.mrr

    assert moved(StageChange("o", "a", "b", T0)) == "b"
    assert mrr(Subscription("c", Money(1, "EUR"), T0)) == Money(1, "EUR")
