import json
import pickle
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore import conditions as c
from crmcore.conditions import (
    CONDITION_KINDS,
    MAX_DEPTH,
    MAX_NODES,
    After,
    AllOf,
    AnyOf,
    AtLeast,
    Before,
    Between,
    Condition,
    Contains,
    Count,
    Duration,
    EndsWith,
    Eq,
    Exists,
    Explanation,
    Ge,
    Gt,
    IsIn,
    IsMissing,
    Le,
    Lt,
    Ne,
    Not,
    NotIn,
    OlderThan,
    StartsWith,
    WithinLast,
    all_of,
    any_of,
    at_least,
    compile_condition,
    condition_kinds,
    explain,
    field,
    fused,
    matches,
    not_,
    positions_of,
    register_condition,
    to_text,
    weights_of,
)
from crmcore.errors import (
    CrmcoreError,
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    DefinitionError,
    NaiveDatetimeError,
    UnknownKindError,
)
from crmcore.money import Money
from crmcore.records import MISSING, Opportunity
from crmcore.serialization import from_json, structure, to_json, unstructure
from crmcore.testing import condition_records, conditions

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Unsized:
    """A collection that can be iterated but has no len()."""

    def __iter__(self):
        return iter([1, 2])


def day(n: int) -> datetime:
    return AS_OF - timedelta(days=n)


# -- worked examples, kind by kind ---------------------------------------------
@pytest.mark.parametrize(
    ("condition", "record", "expected"),
    [
        (Eq("a", 1), {"a": 1}, True),
        (Eq("a", 1), {"a": 2}, False),
        (Eq("a", 1), {}, False),
        (Eq("a", 1), {"a": None}, False),
        (Eq("a", Decimal("1.0")), {"a": 1}, True),
        (Ne("a", 1), {"a": 2}, True),
        (Ne("a", 1), {"a": 1}, False),
        (Ne("a", 1), {}, False),  # missing never differs either
        (Ne("a", 1), {"a": None}, False),
        (Lt("a", 5), {"a": 4}, True),
        (Lt("a", 5), {"a": 5}, False),
        (Le("a", 5), {"a": 5}, True),
        (Gt("a", 5), {"a": 6}, True),
        (Gt("a", 5), {}, False),
        (Ge("a", 5), {"a": None}, False),
        (Ge("a.b", 5), {"a": {"b": 5}}, True),
        (Ge("a.b", 5), {"a": None}, False),
        (Eq("a.b", 5), {"a": {"b": 5}}, True),
        (Ne("a.b", 5), {"a": {"b": 4}}, True),
        (IsIn("a", ["x", "y"]), {"a": "y"}, True),
        (IsIn("a", ["x", "y"]), {"a": "z"}, False),
        (IsIn("a", ["x", "y"]), {}, False),
        (NotIn("a", ["x"]), {"a": "z"}, True),
        (NotIn("a", ["x"]), {"a": "x"}, False),
        (NotIn("a", ["x"]), {}, False),
        (NotIn("a", ["x"]), {"a": None}, False),
        (Contains("a", "cm"), {"a": "acme"}, True),
        (Contains("a", "CM"), {"a": "acme"}, False),
        (Contains("a", "CM", case_sensitive=False), {"a": "acme"}, True),
        (Contains("a", "vip"), {"a": ["vip"]}, True),
        (Contains("a", "VIP", case_sensitive=False), {"a": ["vip", 3]}, True),
        (Contains("a", 3), {"a": (1, 2, 3)}, True),
        (Contains("a", 3, case_sensitive=False), {"a": (1, 2, 3)}, True),
        (Contains("a", "x"), {}, False),
        (StartsWith("a", "in"), {"a": "info@x"}, True),
        (StartsWith("a", "IN", case_sensitive=False), {"a": "info@x"}, True),
        (EndsWith("a", "@acme.example"), {"a": "ada@acme.example"}, True),
        (EndsWith("a", "x"), {"a": None}, False),
        (Exists("a"), {"a": "x"}, True),
        (Exists("a"), {"a": " "}, False),
        (Exists("a"), {"a": []}, False),
        (Exists("a"), {"a": 0}, True),
        (Exists("a"), {"a": False}, True),
        (Exists("a"), {"a": Money(0, "EUR")}, True),
        (Exists("a"), {}, False),
        (IsMissing("a"), {}, True),
        (IsMissing("a"), {"a": {}}, True),
        (IsMissing("a"), {"a": "x"}, False),
        (Between("a", 1, 3), {"a": 1}, True),
        (Between("a", 1, 3), {"a": 3}, True),
        (Between("a", 1, 3, inclusive="neither"), {"a": 1}, False),
        (Between("a", 1, 3, inclusive="neither"), {"a": 2}, True),
        (Between("a", 1, 3, inclusive="left"), {"a": 3}, False),
        (Between("a", 1, 3, inclusive="right"), {"a": 1}, False),
        (Between("a", 1, 3, inclusive="right"), {"a": 3}, True),
        (Between("a", 1, 3), {}, False),
        (WithinLast("t", "30d"), {"t": day(30)}, True),
        (WithinLast("t", "30d"), {"t": day(30) - timedelta(seconds=1)}, False),
        (WithinLast("t", "30d"), {"t": AS_OF + timedelta(seconds=1)}, False),
        (WithinLast("t", "30d"), {}, False),
        (OlderThan("t", "30d"), {"t": day(31)}, True),
        (OlderThan("t", "30d"), {"t": day(30)}, False),
        (Before("t", AS_OF), {"t": day(1)}, True),
        (Before("t", AS_OF), {"t": AS_OF}, False),
        (After("t", AS_OF), {"t": AS_OF}, True),
        (After("t", AS_OF), {"t": day(1)}, False),
        (After("t", AS_OF), {"t": None}, False),
        (Count("xs"), {"xs": [1]}, True),
        (Count("xs"), {"xs": []}, False),
        (Count("xs", at_least=0, at_most=0), {}, True),
        (Count("xs", Eq("k", "m"), at_least=2), {"xs": [{"k": "m"}, {"k": "m"}]}, True),
        (
            Count("xs", Eq("k", "m"), at_least=1, at_most=1),
            {"xs": [{"k": "m"}] * 2},
            False,
        ),
        (Count("xs"), {"xs": Unsized()}, True),
        (AllOf([]), {}, True),
        (AnyOf([]), {}, False),
        (AllOf([Eq("a", 1), Eq("b", 2)]), {"a": 1, "b": 2}, True),
        (
            AllOf([Eq("a", 1), Eq("b", 2), Eq("c", 3), Eq("d", 4)]),
            {"a": 1, "b": 2, "c": 3, "d": 4},
            True,
        ),
        (
            AllOf([Eq("a", 1), Eq("b", 2), Eq("c", 3), Eq("d", 4)]),
            {"a": 1, "b": 2, "c": 3},
            False,
        ),
        (AnyOf([Eq("a", 1), Eq("b", 2), Eq("c", 3)]), {"c": 3}, True),
        (AnyOf([Eq("a", 1), Eq("b", 2), Eq("c", 3)]), {}, False),
        (AnyOf([Eq("a", 1), Eq("b", 2)]), {"b": 2}, True),
        (Not(Eq("a", 1)), {}, True),
        (AtLeast(2, [Eq("a", 1), Eq("b", 2), Eq("c", 3)]), {"a": 1, "c": 3}, True),
        (AtLeast(2, [Eq("a", 1), Eq("b", 2), Eq("c", 3)]), {"a": 1}, False),
        (AtLeast(0, []), {}, True),
    ],
    ids=lambda v: to_text(v) if hasattr(v, "kind") else "",
)
def test_each_kind(condition, record, expected):
    assert matches(condition, record, as_of=AS_OF) is expected
    assert explain(condition, record, as_of=AS_OF).holds is expected


def test_calendar_durations_count_back_on_the_wall_clock():
    as_of = datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert Duration.parse("1mo").before(as_of) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert Duration.parse("1y2mo3w4d5h6m7s").before(as_of) == datetime(
        2025, 1, 6, 3, 53, 53, tzinfo=UTC
    )
    assert str(Duration.parse(" 2w 3d ")) == "2w3d"


@pytest.mark.parametrize("text", ["", "30", "d30", "3x", "1d1d", "-1d", "1.5d"])
def test_bad_durations(text):
    with pytest.raises(DataError, match="duration"):
        Duration.parse(text)


def test_duration_validation():
    with pytest.raises(DataError, match="a positive duration"):
        Duration()
    with pytest.raises(DataError, match="days: expected a non-negative int"):
        Duration(days=-1)
    with pytest.raises(DataTypeError, match="days: expected a non-negative int"):
        Duration(days=1.5)  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="duration: expected a duration"):
        Duration.parse(30)  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="duration: expected a Duration"):
        WithinLast("t", 30)  # type: ignore[arg-type]
    assert WithinLast("t", Duration(days=30)) == WithinLast("t", "30d")


# -- records of every shape -------------------------------------------------------
@dataclass
class Row:
    industry: str | None
    employees: int


def test_conditions_read_objects_attrs_records_and_mappings():
    deal = Opportunity(
        "o", "a", "5000", "EUR", AS_OF, "proposal", fields={"region": "EMEA"}
    )
    assert matches(field("fields.region") == "EMEA", deal)
    assert matches(field("value") >= Money(5000, "EUR"), deal)
    assert matches(field("amount") > 4999, deal)
    assert matches(field("industry") == "saas", Row("saas", 10))
    assert not matches(field("industry") == "saas", Row(None, 10))
    assert not matches(field("nope") == 1, Row("saas", 10))


# -- errors instead of silent misses ---------------------------------------------------
def test_type_mismatches_name_the_field():
    with pytest.raises(
        DataTypeError,
        match=r"employees: expected a value comparable with 50, got 'many' \(str\)",
    ):
        matches(field("employees") >= 50, {"employees": "many"})
    with pytest.raises(DataTypeError, match=r"a\.b: expected a value comparable"):
        matches(Gt("a.b", 1), {"a": {"b": "x"}})
    with pytest.raises(NaiveDatetimeError, match="seen"):
        matches(field("seen") >= AS_OF, {"seen": datetime(2026, 1, 1)})
    with pytest.raises(NaiveDatetimeError, match="seen"):
        matches(field("seen") == AS_OF, {"seen": datetime(2026, 1, 1)})
    assert matches(
        field("seen") == AS_OF, {"seen": AS_OF.astimezone(timezone(timedelta(hours=2)))}
    )
    with pytest.raises(CurrencyMismatchError, match="arr"):
        matches(field("arr") >= Money(1, "EUR"), {"arr": Money(5, "USD")})
    with pytest.raises(DataTypeError, match="arr"):
        matches(field("arr") >= Money(1, "EUR"), {"arr": Decimal(5)})
    with pytest.raises(DataTypeError, match="size: expected a value comparable"):
        matches(field("size").between(1, 5), {"size": "big"})
    with pytest.raises(DataTypeError, match="tags: expected a single value"):
        matches(field("tags").is_in(["a"]), {"tags": ["a"]})
    with pytest.raises(DataTypeError, match="tags: expected a single value"):
        matches(field("tags").not_in(["a"]), {"tags": ["a"]})
    with pytest.raises(DataTypeError, match="n: expected a string or a collection"):
        matches(field("n").contains("a"), {"n": 5})
    with pytest.raises(
        DataTypeError, match="name: expected a collection that may hold 5"
    ):
        matches(field("name").contains(5), {"name": "acme"})
    with pytest.raises(DataTypeError, match="email: expected a string"):
        matches(field("email").starts_with("a"), {"email": 5})
    with pytest.raises(DataTypeError, match="t: expected a timezone-aware datetime"):
        matches(field("t").within_last("1d"), {"t": "yesterday"}, as_of=AS_OF)
    with pytest.raises(NaiveDatetimeError, match="t"):
        matches(field("t").before(AS_OF), {"t": datetime(2026, 1, 1)})
    with pytest.raises(DataTypeError, match="xs: expected a collection of items"):
        matches(Count("xs"), {"xs": "abc"})


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: Eq("a", 1.5),
            DataTypeError,
            r"value: expected an exact value.*Decimal\('1.5'\)",
        ),
        (lambda: Eq("a", None), DataTypeError, "test absence with exists/missing"),
        (lambda: Eq("a", [1]), DataTypeError, "value: expected a str, int"),
        (lambda: Eq("a", datetime(2026, 1, 1)), NaiveDatetimeError, "value"),
        (lambda: Eq("", 1), DataError, "field: expected a dotted field path"),
        (lambda: Eq("a..b", 1), DataError, "field: expected a dotted field path"),
        (lambda: Eq(5, 1), DataTypeError, "field: expected a dotted field path"),
        (lambda: IsIn("a", "abc"), DataTypeError, "values: expected a list or set"),
        (lambda: IsIn("a", [1, 2.5]), DataTypeError, r"values\[1\]"),
        (
            lambda: Contains("a", "x", case_sensitive="no"),
            DataTypeError,
            "case_sensitive",
        ),
        (lambda: StartsWith("a", 5), DataTypeError, "affix: expected a string"),
        (
            lambda: Between("a", 5, 1),
            DataError,
            r"high: expected a value at or above low \(5\)",
        ),
        (
            lambda: Between("a", 1, "z"),
            DataTypeError,
            "high: expected a value comparable with low",
        ),
        (lambda: Between("a", 1, 5, inclusive="both-ish"), DataError, "inclusive"),
        (lambda: Before("t", datetime(2026, 1, 1)), NaiveDatetimeError, "instant"),
        (
            lambda: AllOf("abc"),
            DataTypeError,
            "conditions: expected a list of conditions",
        ),
        (
            lambda: AllOf([Eq("a", 1), "b == 2"]),
            DataTypeError,
            r"conditions\[1\]: expected a condition",
        ),
        (lambda: Not("a"), DataTypeError, "condition: expected a condition"),
        (
            lambda: AtLeast(3, [Eq("a", 1)]),
            DataError,
            r"n: expected at most the number of conditions \(1\)",
        ),
        (lambda: AtLeast(-1, []), DataError, "n: expected a non-negative int"),
        (lambda: Count("xs", at_least=3, at_most=2), DataError, "at_most"),
        (
            lambda: Count("xs", where="x"),
            DataTypeError,
            "where: expected a condition or None",
        ),
        (
            lambda: Count("xs", at_most=-1),
            DataError,
            "at_most: expected a non-negative int",
        ),
        (
            lambda: Eq("a", {"decimal": "x"}),
            DataError,
            "value: expected a numeric string",
        ),
        (lambda: Eq("a", {"weird": 1}), DataError, "value: expected a tagged value"),
        (
            lambda: Eq("a", {"date": "2026-13-01"}),
            DataError,
            "value: expected a valid tagged value",
        ),
    ],
)
def test_bad_definitions(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_time_relative_kinds_need_as_of():
    with pytest.raises(
        DataError, match="as_of: expected an aware datetime: within_last"
    ):
        matches(field("t").within_last("7d"), {"t": AS_OF})
    with pytest.raises(DataError, match="older_than"):
        explain(field("t").older_than("7d"), {"t": AS_OF})
    with pytest.raises(NaiveDatetimeError, match="as_of"):
        matches(field("t").within_last("7d"), {"t": AS_OF}, as_of=datetime(2026, 1, 1))


# -- builders and text form -------------------------------------------------------------------
def test_builders_and_operators():
    a, b = field("a") == 1, field("b") == 2
    assert (a & b) == AllOf([a, b])
    assert (a & b & a) == AllOf([a, b, a])  # flattened
    assert (a | b | a) == AnyOf([a, b, a])
    assert ~a == Not(a) == not_(a)
    assert at_least(1, a, b) == AtLeast(1, [a, b])
    assert (field("a") != 1) == Ne("a", 1)
    assert (field("a") < 1, field("a") <= 1, field("a") > 1, field("a") >= 1) == (
        Lt("a", 1),
        Le("a", 1),
        Gt("a", 1),
        Ge("a", 1),
    )
    assert field("a").not_in([1]) == NotIn("a", [1])
    assert field("a").exists() == Exists("a")
    assert field("a").missing() == IsMissing("a")
    assert field("a").ends_with("x") == EndsWith("a", "x")
    assert field("t").older_than("1d") == OlderThan("t", "1d")
    assert field("t").after(AS_OF) == After("t", AS_OF)
    assert field("xs").count(a, at_least=2) == Count("xs", a, at_least=2)
    assert str(a) == "a == 1"


def test_sets_are_stored_in_a_stable_order():
    assert IsIn("a", {"b", "a", "c"}).values == ("a", "b", "c")
    assert IsIn("a", ["b", "a"]).values == ("b", "a")  # lists keep their order


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (Eq("a", 'x"y'), 'a == "x\\"y"'),
        (Eq("a", True), "a == true"),
        (Eq("a", False), "a == false"),
        (Eq("a", Decimal("1.50")), "a == 1.50"),
        (Eq("a", date(2026, 1, 2)), "a == @2026-01-02"),
        (Eq("a", AS_OF), "a == @2026-03-01T12:00:00+00:00"),
        (Ge("a", Money("10", "EUR")), "a >= 10 EUR"),
        (NotIn("a", [1, 2]), "a not in {1, 2}"),
        (Contains("a", "x", case_sensitive=False), 'contains(a, "x", ignore_case)'),
        (StartsWith("a", "x"), 'starts_with(a, "x")'),
        (IsMissing("a"), "missing(a)"),
        (Between("a", 1, 2, inclusive="left"), "between(a, 1, 2, left)"),
        (OlderThan("a", "1y"), "older_than(a, 1y)"),
        (Before("a", AS_OF), "before(a, @2026-03-01T12:00:00+00:00)"),
        (AllOf([]), "true"),
        (AnyOf([]), "false"),
        (AnyOf([Eq("a", 1)]), "a == 1"),
        (
            AllOf([AnyOf([Eq("a", 1), Eq("b", 1)]), Eq("c", 1)]),
            "(a == 1 or b == 1) and c == 1",
        ),
        (AtLeast(1, [Eq("a", 1), Eq("b", 2)]), "at_least(1, a == 1, b == 2)"),
        (Count("xs", at_least=2, at_most=3), "count(xs, at_least=2, at_most=3)"),
    ],
)
def test_text_form(condition, text):
    assert to_text(condition) == text


# -- explanations -----------------------------------------------------------------------------
def test_explanation_tree_lists_every_leaf_with_actual_and_expected():
    condition = all_of(
        field("industry").is_in({"saas", "fintech"}),
        field("employees") >= 50,
        any_of(field("country") == "DE", field("country") == "AT"),
    )
    result = explain(condition, {"industry": "saas", "employees": 12, "country": "FR"})
    assert not result.holds
    assert str(result).splitlines() == [
        "✗ all of 3 (1 held)",
        '  ✓ industry in {"fintech", "saas"}  (actual \'saas\')',
        "  ✗ employees >= 50  (actual 12)",
        "  ✗ any of 2 (0 held)",
        "    ✗ country == \"DE\"  (actual 'FR')",
        "    ✗ country == \"AT\"  (actual 'FR')",
    ]
    unmet = result.unmet()
    assert [(leaf.field, leaf.actual, leaf.expected) for leaf in unmet] == [
        ("employees", 12, ">= 50"),
        ("country", "FR", '== "DE"'),
        ("country", "FR", '== "AT"'),
    ]
    data = result.to_dict()
    assert data["children"][1] == {
        "holds": False,
        "kind": "ge",
        "text": "employees >= 50",
        "field": "employees",
        "actual": "12",
        "missing": False,
        "expected": ">= 50",
    }
    json.dumps(data)  # JSON-ready


def test_explanations_of_every_kind_say_what_was_expected():
    record = {"t": day(3), "xs": [1, 2]}
    expectations = {
        Exists("m"): "present and non-empty",
        IsMissing("m"): "absent or empty",
        NotIn("m", [1]): "none of {1}",
        Contains("m", "x", case_sensitive=False): 'contains "x" (ignoring case)',
        EndsWith("m", "x"): 'ends with "x"',
        Between("m", 1, 2, inclusive="neither"): "in (1, 2)",
        WithinLast("t", "1d"): "at or after 2026-02-28T12:00:00+00:00",
        OlderThan("t", "1d"): "before 2026-02-28T12:00:00+00:00",
        Before("t", AS_OF): "before 2026-03-01T12:00:00+00:00",
        After("t", AS_OF): "at or after 2026-03-01T12:00:00+00:00",
        Count("xs", at_least=1, at_most=1): "at least 1 and at most 1 matching items",
    }
    for condition, expected in expectations.items():
        explanation = explain(condition, record, as_of=AS_OF)
        assert explanation.expected == expected, condition
    assert explain(Exists("m"), record).actual is MISSING
    assert "(missing)" in str(explain(Exists("m"), record))
    assert explain(Count("xs"), record).actual == 2
    lines = str(explain(at_least(1, Exists("m"), Exists("t")), record)).splitlines()
    assert lines[0] == "✓ at least 1 of 2 (1 held)"
    assert (
        str(explain(not_(Exists("m")), record)).splitlines()[0] == "✓ not (exists(m))"
    )


def test_explanation_note_is_shown():
    note = Explanation(holds=False, kind="x", text="x", note="2 of 3")
    assert str(note) == "✗ x  [2 of 3]"
    assert note.to_dict()["note"] == "2 of 3"


# -- compiled evaluation ---------------------------------------------------------------------
def test_compiled_conditions_bind_once_per_as_of():
    static = compile_condition(field("a") == 1)
    assert not static.uses_as_of
    assert static.bind() is static.bind(AS_OF)
    timed = compile_condition(field("t").within_last("1d"))
    assert timed.uses_as_of
    assert timed.bind(AS_OF) is timed.bind(AS_OF)
    assert list(timed.filter([{"t": day(0)}, {"t": day(2)}], as_of=AS_OF)) == [
        {"t": day(0)}
    ]
    assert timed.explain({"t": day(0)}, as_of=AS_OF).holds
    assert compile_condition(Not(field("t").within_last("1d"))).uses_as_of
    assert compile_condition(Count("xs", field("t").within_last("1d"))).uses_as_of
    assert not compile_condition(Count("xs")).uses_as_of
    assert compile_condition(AtLeast(1, [field("t").within_last("1d")])).uses_as_of
    with pytest.raises(DataTypeError, match="condition: expected a condition"):
        compile_condition("a == 1")  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="condition: expected a condition"):
        explain("a == 1", {})  # type: ignore[arg-type]


# -- laws -------------------------------------------------------------------------------------
# Well-typed records for the laws: a, b, c hold small ints or None or are
# missing; d holds {"e": ...}, {}, None or is missing; s a short string, t an
# instant, items a list of item records (crmcore.testing.condition_records).
# (Type errors are tested separately: explain() evaluates every branch, the
# predicate short-circuits.)
records = condition_records()


def verdict(condition, record):
    return matches(condition, record, as_of=AS_OF)


@given(conditions(), conditions(), records)
def test_de_morgan(p, q, record):
    assert verdict(Not(AllOf([p, q])), record) == verdict(
        AnyOf([Not(p), Not(q)]), record
    )
    assert verdict(Not(AnyOf([p, q])), record) == verdict(
        AllOf([Not(p), Not(q)]), record
    )


@given(conditions(), conditions(), records)
def test_identity_absorption_and_double_negation(p, q, record):
    value = verdict(p, record)
    assert verdict(AllOf([p, AllOf([])]), record) == value
    assert verdict(AnyOf([p, AnyOf([])]), record) == value
    assert verdict(Not(Not(p)), record) == value
    assert verdict(AllOf([p, AnyOf([p, q])]), record) == value
    assert verdict(AnyOf([p, AllOf([p, q])]), record) == value
    assert verdict(AtLeast(1, [p, q]), record) == verdict(AnyOf([p, q]), record)
    assert verdict(AtLeast(2, [p, q]), record) == verdict(AllOf([p, q]), record)
    assert verdict(AnyOf([p, Not(p)]), record) is True
    assert verdict(AllOf([p, Not(p)]), record) is False


@given(conditions(), records)
def test_compiled_verdict_equals_explanation_verdict(p, record):
    explanation = explain(p, record, as_of=AS_OF)
    assert explanation.holds is compile_condition(p).matches(record, as_of=AS_OF)
    for leaf in explanation.leaves():
        assert isinstance(leaf.holds, bool)


@given(conditions(), records)
def test_round_trip_keeps_behaviour(p, record):
    data = json.loads(json.dumps(unstructure(p)))
    again = structure(data, Condition)
    assert again == p
    assert verdict(again, record) == verdict(p, record)
    assert from_json(to_json(p), Condition) == p


@given(conditions(), st.lists(records, max_size=20))
def test_filtering_a_stream_equals_filtering_a_list(p, rows):
    compiled = compile_condition(p)
    expected = [r for r in rows if compiled.matches(r, as_of=AS_OF)]
    assert list(compiled.filter(iter(rows), as_of=AS_OF)) == expected
    assert list(compiled.filter((r for r in rows), as_of=AS_OF)) == expected


def outcome_of(function, *args):
    """The result of a call, or its error as (type, message)."""
    try:
        return function(*args)
    except CrmcoreError as error:
        return type(error), str(error)


# Records whose fields hold ints, strings or None: comparisons may raise.
mixed_records = condition_records(
    values=st.integers(0, 3) | st.sampled_from(["x", "y"])
)


@attrs.frozen
class Pair:
    a: Any = None
    b: Any = None


def as_rows(rows):
    return [Pair(r.get("a"), r.get("b")) for r in rows]


@given(conditions(), st.lists(mixed_records, max_size=12), st.booleans())
def test_a_mask_is_the_predicate_on_each_record(p, rows, objects):
    rows = as_rows(rows) if objects else rows
    compiled = compile_condition(p)
    predicate = compiled.bind(AS_OF)
    expected = outcome_of(lambda: [bool(predicate(r)) for r in rows])
    assert outcome_of(lambda: compiled.mask(rows, as_of=AS_OF)) == expected
    assert outcome_of(lambda: compiled.masker(AS_OF)(iter(rows))) == expected


@given(
    st.lists(
        conditions(max_leaves=3)
        | st.builds(Eq, st.just("a"), st.integers(0, 3))
        | st.builds(IsIn, st.just("a"), st.lists(st.integers(0, 3), max_size=2)),
        max_size=5,
    ),
    st.lists(mixed_records, max_size=12),
    st.booleans(),
)
def test_positions_and_weights_are_the_predicates_on_each_record(ps, rows, objects):
    rows = as_rows(rows) if objects else rows
    predicates = [compile_condition(p).bind(AS_OF) for p in ps]
    weights = list(range(1, len(ps) + 1))

    def exact_positions():
        verdicts = [[bool(t(r)) for t in predicates] for r in rows]
        return [[i for i, v in enumerate(verdicts) if v[n]] for n in range(len(ps))]

    def exact_weights():
        return [
            sum(w for t, w in zip(predicates, weights, strict=True) if t(r))
            for r in rows
        ]

    expected = outcome_of(exact_positions)
    found = outcome_of(positions_of(ps, as_of=AS_OF), rows)
    if isinstance(expected, list):
        assert found == expected
        assert outcome_of(
            weights_of(list(zip(ps, weights, strict=True)), as_of=AS_OF), rows
        ) == (exact_weights())
    else:  # the same kind of error (which condition fails first may differ)
        assert isinstance(found, tuple) and found[0] is expected[0]
        summed = weights_of(list(zip(ps, weights, strict=True)), as_of=AS_OF)
        assert isinstance(outcome_of(summed, rows), tuple)


def test_value_tables_decide_what_equality_decides():
    where = positions_of(
        [field("a") == 1, field("a") == True, field("a").is_in({1, "x"})]  # noqa: E712
    )
    rows = [{"a": 1}, {"a": True}, {"a": 1.0}, {"a": Decimal(1)}, {"a": "x"}, {}]
    assert where(rows) == [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3, 4]]
    weights = weights_of([(field("a") == "x", 2), (field("a").is_in({"x", "y"}), 3)])
    assert weights([{"a": "x"}, {"a": "y"}, {"a": None}, {}]) == [5, 3, 0, 0]
    # A list equals no value (the table cannot look it up: the tests decide).
    equal = weights_of([(field("a") == "x", 2), (field("a") == "y", 3)])
    assert equal([{"a": ["x"]}, {"a": "y"}]) == [0, 3]
    tabled = positions_of([field("a").is_in({"x"}), field("a").is_in({"y"})])
    with pytest.raises(DataTypeError, match="a single value"):
        tabled([{"a": ["x"]}])
    assert positions_of([field("d.e") == 1, field("d.e") == 2])(
        ({"d": {"e": 2}}, {"d": None})
    ) == [[], [0]]
    assert positions_of([field("a") == "x", field("a") == "y"])(
        [{"a": ["x"]}, {"a": "y"}]
    ) == [[], [1]]
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    dated = positions_of([field("a") == instant, field("a") == Money("1", "EUR")])
    assert dated(iter([{"a": instant}, {"a": Money("1", "EUR")}])) == [[0], [1]]
    big = weights_of([(field("a") >= 1, 1), (field("a") >= 2, 10)])
    assert big([{"a": 1}, {"a": 3}, {"a": 0}]) == [1, 11, 0]
    # Row-like records (no mapping, no attributes) are read one by one.
    assert compile_condition(field("a") == 1).mask([["a"], ["a", 1]]) == [False, False]
    assert weights_of([(field("a") >= 1, 0), (field("a") >= 1, 2)])(
        iter([{"a": 1}, {"a": 0}])
    ) == [2, 0]


def test_values_of_every_type_round_trip():
    for value in (
        "x",
        3,
        True,
        Decimal("1.25"),
        AS_OF,
        date(2026, 1, 2),
        Money("9.99", "EUR"),
    ):
        condition = Eq("a", value)
        data = json.loads(json.dumps(unstructure(condition)))
        assert structure(data, Condition) == condition
    assert unstructure(Eq("a", Decimal("1.5")))["value"] == {"decimal": "1.5"}
    timed = Count("xs", WithinLast("at", "30d"), at_least=2)
    assert structure(unstructure(timed), Condition) == timed
    assert unstructure(Contains("a", "x")) == {
        "kind": "contains",
        "field": "a",
        "value": "x",
    }


def test_conditions_pickle():
    condition = all_of(field("a") == 1, field("t").within_last("1d"))
    assert pickle.loads(pickle.dumps(condition)) == condition


# -- structuring errors, limits -----------------------------------------------------------------
def test_all_problems_in_a_definition_are_reported_with_paths():
    bad = {
        "kind": "all",
        "conditions": [
            {"kind": "eqq", "field": "a", "value": 1},
            {"kind": "ge", "field": "a", "value": 1.5},
            {"kind": "in", "field": "", "values": [1]},
            {"kind": "between", "field": "a", "low": 1, "high": 2, "colour": "red"},
            "a == 1",
        ],
    }
    with pytest.raises(DefinitionError) as caught:
        structure(bad, Condition)
    found = [str(p) for p in caught.value.problems]
    assert found[0].startswith(
        "$.conditions[0].kind: unknown condition kind 'eqq' (str); known: after, all, any"
    )
    assert found[1].startswith("$.conditions[1].value: expected an exact value")
    assert (
        found[2]
        == "$.conditions[2].field: expected a dotted field path like 'account.industry', got '' (str)"
    )
    assert found[3].startswith("$.conditions[3].colour: unknown field; expected one of")
    assert (
        found[4]
        == "$.conditions[4]: expected a condition object with a 'kind', got 'a == 1' (str)"
    )


def test_a_problem_beside_valid_nested_conditions_is_reported_alone():
    data = {
        "kind": "all",
        "conditions": [{"kind": "exists", "field": "a"}],
        "colour": 1,
    }
    with pytest.raises(DefinitionError) as caught:
        structure(data, Condition)
    assert [p.path for p in caught.value.problems] == ["$.colour"]


def test_depth_limit_for_built_definitions():
    condition: Condition = Eq("a", 1)
    for _ in range(MAX_DEPTH - 1):
        condition = Not(condition)
    assert matches(condition, {"a": 2}) is (MAX_DEPTH % 2 == 0)  # odd number of nots
    with pytest.raises(DataError, match=f"at most {MAX_DEPTH} levels of nesting"):
        Not(condition)


def test_size_limit_for_built_definitions():
    leaves = [Eq("a", i) for i in range(MAX_NODES - 1)]
    assert len(AnyOf(leaves).conditions) == MAX_NODES - 1
    with pytest.raises(DataError, match=f"at most {MAX_NODES} conditions"):
        AnyOf([*leaves, Eq("b", 1)])


def test_hostile_json_is_rejected_without_recursion_error():
    deep: dict[str, Any] = {"kind": "eq", "field": "a", "value": 1}
    for _ in range(sys.getrecursionlimit() * 2):
        deep = {"kind": "not", "condition": deep}
    with pytest.raises(DefinitionError, match=f"nested deeper than {MAX_DEPTH} levels"):
        structure(deep, Condition)
    wide = {
        "kind": "any",
        "conditions": [
            {"kind": "eq", "field": "a", "value": i} for i in range(MAX_NODES + 1)
        ],
    }
    with pytest.raises(DefinitionError, match=f"more than {MAX_NODES} conditions"):
        structure(wide, Condition)
    where = {"kind": "count", "field": "xs", "where": {"kind": "exists", "field": "a"}}
    assert structure(where, Condition) == Count("xs", Exists("a"))


# -- extension --------------------------------------------------------------------------------
@attrs.frozen
class SignedNda:
    """A vendor kind: the record has an NDA document on file."""

    kind: ClassVar[str] = "signed_nda"
    document: str = "nda"

    def test(self, record: Any, as_of: datetime | None) -> bool:
        return self.document in (record.get("documents") or [])

    def describe(self) -> str:
        return f"{self.document} on file"


@attrs.frozen
class ActiveSince:
    """A fast vendor kind relative to as_of, with its own explanation."""

    kind: ClassVar[str] = "active_since"
    uses_as_of: ClassVar[bool] = True
    days: int

    def bind(self, as_of: datetime | None) -> Any:
        cutoff = (as_of or AS_OF) - timedelta(days=self.days)
        return lambda record: record["active_at"] >= cutoff

    def explain(self, record: Any, as_of: datetime | None) -> Explanation:
        return Explanation(
            holds=self.bind(as_of)(record), kind=self.kind, text="active"
        )


@pytest.fixture
def vendor_kinds():
    with CONDITION_KINDS.scoped(SignedNda, ActiveSince):
        yield


@pytest.mark.usefixtures("vendor_kinds")
def test_registered_kinds_work_in_json_evaluation_and_explanations():
    rule = all_of(field("stage") == "proposal", SignedNda())
    assert matches(rule, {"stage": "proposal", "documents": ["nda"]})
    assert not matches(rule, {"stage": "proposal", "documents": []})
    data = unstructure(rule)
    assert data["conditions"][1] == {"kind": "signed_nda"}
    assert structure(data, Condition) == rule
    assert structure({"kind": "signed_nda", "document": "msa"}, Condition) == SignedNda(
        "msa"
    )
    explanation = explain(rule, {"stage": "proposal"})
    assert str(explanation).splitlines()[-1] == "  ✗ nda on file"
    assert to_text(rule) == 'stage == "proposal" and nda on file'
    fast = ActiveSince(7)
    assert matches(fast, {"active_at": AS_OF}, as_of=AS_OF)
    assert compile_condition(all_of(fast)).uses_as_of
    assert (
        str(explain(Not(fast), {"active_at": AS_OF}, as_of=AS_OF)).splitlines()[1]
        == "  ✓ active"
    )
    assert "signed_nda" in condition_kinds()
    with pytest.raises(
        DefinitionError, match=r"unknown condition kind 'signed_ndaa'.*signed_nda"
    ):
        structure({"kind": "signed_ndaa"}, Condition)
    with pytest.raises(UnknownKindError) as caught:
        CONDITION_KINDS.lookup("signed_ndaa")
    assert "signed_nda" in caught.value.known


def test_unknown_kinds_list_the_known_ones():
    with pytest.raises(DefinitionError) as caught:
        structure({"kind": "regex", "field": "a", "pattern": ".*"}, Condition)
    assert "unknown condition kind 'regex'" in str(caught.value)
    assert "starts_with" in str(caught.value)


def test_registration_is_validated_all_at_once():
    class NotAttrs:
        kind = "Bad Kind"

    with pytest.raises(DefinitionError) as caught:
        register_condition(NotAttrs)
    assert [p.message for p in caught.value.problems] == [
        "a lower-case name such as 'signed_nda' is needed",
        "the class must be an attrs class (@attrs.frozen)",
        "the class needs a bind(as_of) or test(record, as_of) method",
    ]

    @attrs.frozen
    class Clash:
        kind: ClassVar[str] = "eq"

        def test(self, record: Any, as_of: datetime | None) -> bool:
            return True

    with pytest.raises(DefinitionError, match="'eq' is already registered"):
        register_condition(Clash)
    assert register_condition(Eq) is Eq  # registering the same class again is harmless


def test_unhashable_vendor_conditions_still_evaluate(vendor_kinds):
    @attrs.define
    class Mutable:
        kind: ClassVar[str] = "mutable_kind"
        items: list[str]

        def test(self, record: Any, as_of: datetime | None) -> bool:
            return record in self.items

    with CONDITION_KINDS.scoped(Mutable):
        assert matches(Mutable(["x"]), "x")
        assert explain(Mutable(["x"]), "y").text == 'mutable_kind({"x"})'


def test_entry_points_register_plugin_kinds(monkeypatch):
    @attrs.frozen
    class FromPlugin:
        kind: ClassVar[str] = "from_plugin"

        def test(self, record: Any, as_of: datetime | None) -> bool:
            return True

    class Entry:
        def __init__(self, value: object) -> None:
            self.value = value

        def load(self) -> object:
            return self.value

    import importlib.metadata

    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group: (
            [Entry(FromPlugin), Entry(Eq), Entry(sys)]
            if group == "crmcore.conditions"
            else []
        ),
    )
    with CONDITION_KINDS.scoped():
        assert c.load_entry_points() == ["from_plugin"]
        assert c.load_entry_points() == []
    assert "from_plugin" not in CONDITION_KINDS


# -- the fast paths agree with the exact path ---------------------------------------------
@dataclass
class Obj:
    """An attribute record with the law fields (missing ones are absent)."""

    a: Any = None
    b: Any = None
    c: Any = None


@dataclass
class SimpleRecord:
    a: int
    b: int
    c: int
    d: int
    e: int


class RowLike:
    """A row that supports [key] but is not a Mapping (like sqlite3.Row)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]


def shapes(record: dict[str, Any]) -> list[object]:
    from types import MappingProxyType

    flat = {k: v for k, v in record.items() if k in "abc"}
    return [
        record,
        MappingProxyType(record),
        Obj(**flat),
        RowLike(record),
    ]


def reference(condition: Any, record: object) -> bool:
    """The exact evaluation: explain() walks every leaf with its exact test."""
    return explain(condition, record, as_of=AS_OF).holds


flat_conditions = conditions(fields=("a", "b", "c"))


@given(flat_conditions, records)
def test_fused_predicates_equal_the_exact_path_on_every_record_shape(p, record):
    predicate = compile_condition(p).bind(AS_OF)
    for shape in shapes(record):
        assert predicate(shape) == reference(p, shape), shape


@given(
    st.lists(flat_conditions, min_size=2, max_size=5), st.lists(records, max_size=12)
)
def test_column_filter_equals_per_record_filter(children, rows):
    for combined in (AllOf(children), AnyOf(children)):
        compiled = compile_condition(combined)
        for shape_index in range(4):
            shaped = [shapes(r)[shape_index] for r in rows]
            expected = [r for r in shaped if reference(combined, r)]
            assert list(compiled.filter(shaped, as_of=AS_OF)) == expected


def test_column_filter_falls_back_per_chunk_and_streams(monkeypatch):
    monkeypatch.setattr(fused, "_CHUNK", 3)
    rule = (field("a") >= 1) & (field("b") == 2)
    rows: list[Any] = [
        {"a": 1, "b": 2},
        {"a": 0, "b": 2},
        {"b": 2},  # missing a: this chunk goes record by record
        Obj(a=5, b=2),
        {"a": 3, "b": 2},  # mixed types in one chunk
        Obj(a=None, b=2),
        RowLike({"a": 1, "b": 2}),
    ]
    expected = [r for r in rows if reference(rule, r)]
    assert expected == [rows[0], rows[3], rows[4], rows[6]]
    assert list(compile_condition(rule).filter(iter(rows))) == expected
    empty_early = (field("a") >= 100) & (field("b") == 2)
    assert list(compile_condition(empty_early).filter(rows[:2])) == []


def test_errors_surface_the_same_way_in_every_path():
    rule = (field("a") >= 1) & (field("b") == 2)
    bad = [{"a": 1, "b": 2}, {"a": "x", "b": 2}]
    compiled = compile_condition(rule)
    with pytest.raises(DataTypeError, match="a: expected a value comparable with 1"):
        list(compiled.filter(bad))
    with pytest.raises(DataTypeError, match="a: expected a value comparable with 1"):
        compiled.matches(Obj(a="x", b=2))
    either = (field("a") >= 1) | (field("b") == 2)
    with pytest.raises(DataTypeError, match="a: expected a value comparable with 1"):
        compile_condition(either).matches(Obj(a="x", b=3))


def test_long_all_groups_decide_on_later_children_too():
    rule = AllOf([field(name) == 1 for name in ("a", "b", "c", "d", "e")])
    for failing in ("a", "d", "e", None):
        record = {name: 0 if name == failing else 1 for name in "abcde"}
        expected = failing is None
        assert matches(rule, record) is expected
        assert matches(rule, SimpleRecord(**record)) is expected
        assert matches(rule, MappingProxyType(record)) is expected


def test_mixed_combinators_read_fields_and_nested_conditions():
    nested = AllOf(
        [field("a") >= 1, AnyOf([field("b") == 1, field("c") == 1]), field("d.e") == 1]
    )
    alternatives = AnyOf([field("a") >= 5, AllOf([field("b") == 1, field("c") == 1])])
    for condition in (nested, alternatives):
        predicate = compile_condition(condition).bind()
        for record in (
            {"a": 1, "b": 1, "d": {"e": 1}},
            {"a": 5},
            {"b": 1, "c": 1},
            {"a": 1, "c": 1, "d": {"e": 2}},
            {},
        ):
            for shape in shapes(record):
                assert predicate(shape) == reference(condition, shape)


def test_numpy_style_booleans_are_tested_for_truth():
    class Truthy:
        """Like numpy.bool_: truthy or falsy, but not the bool singletons."""

        def __init__(self, value: bool) -> None:
            self.value = value

        def __bool__(self) -> bool:
            return self.value

    @attrs.frozen
    class Flag:
        kind: ClassVar[str] = "flag_kind"
        name: str

        def bind(self, as_of: datetime | None) -> Any:
            return lambda record: Truthy(bool(record.get(self.name)))

    with CONDITION_KINDS.scoped(Flag):
        rule = AllOf([field("a") == 1, Flag("x")])
        assert not matches(rule, {"a": 1, "x": False})
        assert matches(rule, {"a": 1, "x": True})
        assert matches(AnyOf([field("a") == 1, Flag("x")]), {"a": 0, "x": True})
        assert not matches(AnyOf([field("a") == 1, Flag("x")]), {"a": 0, "x": False})


def test_any_over_other_mappings_decides_both_ways():
    from types import MappingProxyType

    rule = AnyOf([field("a") == 1, field("b") == 2])
    assert matches(rule, MappingProxyType({"a": 0, "b": 2}))
    assert not matches(rule, MappingProxyType({"a": 0, "b": 0}))


# -- the text form -----------------------------------------------------------------------------
from crmcore.conditions import MAX_TEXT, parse_condition  # noqa: E402


@given(conditions(), records)
def test_text_round_trip_keeps_text_and_behaviour(p, record):
    text = to_text(p)
    again = parse_condition(text)
    assert to_text(again) == text
    assert matches(again, record, as_of=AS_OF) == matches(p, record, as_of=AS_OF)


text_values = st.one_of(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8
    ),
    st.integers(-1000, 1000),
    st.booleans(),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.builds(Money, st.integers(0, 10**6), st.sampled_from(["EUR", "USD", "JPY"])),
)


@given(text_values, st.sampled_from(["eq", "ne", "lt", "ge"]))
def test_every_value_type_survives_the_text_form(value, kind):
    cls = {"eq": Eq, "ne": Ne, "lt": Lt, "ge": Ge}[kind]
    condition = cls("some.path", value)
    assert parse_condition(to_text(condition)) == condition


@pytest.mark.parametrize(
    "text",
    [
        'contains(tags, "vip", ignore_case)',
        'starts_with(email, "info@", ignore_case)',
        'ends_with(email, "@acme.example")',
        "missing(phone)",
        'country not in {"US", "CA"}',
        "a in {}",
        "between(employees, 10, 50, neither)",
        "older_than(last_seen, 1y6mo)",
        "after(created_at, @2026-01-01T00:00:00+01:00)",
        "count(activities)",
        'count(activities, kind == "meeting", at_least=2, at_most=5)',
        "at_least(1, a == 1, b == 2)",
        "not (a == 1 and b == 2)",
        "false",
        'contacts.0.email == "a@b"',
    ],
)
def test_text_forms_parse_back_to_the_same_text(text):
    assert to_text(parse_condition(text)) == text


def test_text_normalizes_what_it_can():
    assert parse_condition("not not a == 1") == Not(Not(Eq("a", 1)))
    assert parse_condition("((a == 1))") == Eq("a", 1)
    assert parse_condition('a == "x" and (b == 1 and c == 2)') == AllOf(
        [Eq("a", "x"), AllOf([Eq("b", 1), Eq("c", 2)])]
    )
    assert parse_condition("x == -5") == Eq("x", -5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a ==", "column 5: expected a value"),
        ("a = 1", "column 3: expected a comparison"),
        ("foo(x)", "column 1: expected one of the functions after, at_least, before"),
        ("a == 1.5.5", "column 9: expected an expression"),
        ("(a == 1", r"column 8: expected '\)'"),
        ("a == 1 b", "column 8: expected 'and', 'or' or the end"),
        ("between(a, 5, 1)", "expected a value at or above low"),
        ("within_last(a, 30)", "column 16: expected a duration such as 30d"),
        ("x == @2026-13-01", "expected a valid date or aware instant"),
        ("x == @2026-01-01T00:00:00", "expected a timezone-aware datetime"),
        ('"x"', r"column 1: expected a field, a function or '\('"),
        ("a in {1,}", "column 9: expected a value"),
        ("a in 1", "expected '{'"),
        ("exists(5)", "expected a field path"),
        ("starts_with(a, 5)", "expected a string in double quotes"),
        ("between(a, 1, 2, sideways)", "one of both, neither, left, right"),
        ("before(t, 5)", "an instant such as"),
        ("at_least(x, a == 1)", "a whole number"),
        ("count(xs, at_least=2, a == 1)", "at_least=N or at_most=N"),
        ("count(xs, at_least=1.5)", "a whole number"),
        ("x == 5 XXX", "expected an active ISO 4217"),
        ("a == b", "expected a value"),
        ("a ~ 1", "expected an expression"),
    ],
)
def test_parse_errors_point_at_the_column(text, message):
    with pytest.raises(DefinitionError, match=message):
        parse_condition(text)


def test_hostile_text_is_rejected_cleanly():
    with pytest.raises(DefinitionError, match=f"at most {MAX_DEPTH} levels of nesting"):
        parse_condition("(" * 5000 + "a == 1" + ")" * 5000)
    with pytest.raises(DefinitionError, match=f"at most {MAX_DEPTH} levels of nesting"):
        parse_condition("not " * 5000 + "a == 1")
    with pytest.raises(DefinitionError, match=f"at most {MAX_TEXT} characters"):
        parse_condition("a == 1 or " * (MAX_TEXT // 10 + 1) + "a == 1")
    with pytest.raises(DataTypeError, match="text: expected condition text"):
        parse_condition(5)  # type: ignore[arg-type]
    # A long but flat text parses in linear time.
    flat = " or ".join(f"a == {i}" for i in range(2000))
    assert len(parse_condition(flat).conditions) == 2000  # type: ignore[attr-defined]


def test_long_groups_of_nested_paths_use_the_plain_loops():
    nested = AllOf([Eq("x.a", 1), Eq("x.b", 2), Eq("x.c", 3), Eq("x.d", 4)])
    record = {"x": {"a": 1, "b": 2, "c": 3, "d": 4}}
    assert matches(nested, record)
    assert not matches(nested, {"x": {**record["x"], "d": 0}})
    either = AnyOf([Eq("x.a", 0), Eq("x.b", 0), Eq("x.c", 3)])
    assert matches(either, record) and not matches(either, {"x": {}})


class CountedEquality:
    """A field value that counts how often it is compared."""

    def __init__(self) -> None:
        self.calls = 0

    def __eq__(self, other: object) -> bool:
        self.calls += 1
        return True

    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize("children", [2, 3, 4])
def test_fused_all_tests_each_child_once(children):
    names = "abcd"[:children]
    rule = AllOf([field(name) == 1 for name in names])
    predicate = compile_condition(rule).bind()
    values = {name: CountedEquality() for name in names}
    assert predicate(values)
    assert [value.calls for value in values.values()] == [1] * children
    objects = Obj(**{name: CountedEquality() for name in names if name in "abc"})
    if children <= 3:
        assert predicate(objects)
        assert [objects.a.calls, objects.b.calls] == [1, 1]


def test_fused_paths_decide_plain_records_deterministically():
    either = AnyOf([field("a") == 1, field("b") == 2])
    assert not matches(either, {"a": 0, "b": 0})
    assert matches(either, {"a": 0, "b": 2})
    both = AllOf([field("a") >= 0, field("b") >= 0])
    rows = [{"a": 1, "b": 1}, {"a": -1, "b": 1}, {"a": 2, "b": 3}]
    assert list(compile_condition(both).filter(rows)) == [rows[0], rows[2]]
    objects = [Obj(a=1, b=1), Obj(a=1, b=-1)]
    assert list(compile_condition(both).filter(objects)) == [objects[0]]
    for verdict, row in ((True, {"a": 1, "b": 1}), (False, {"a": 1, "b": -1})):
        assert matches(both, MappingProxyType(row)) is verdict
        assert matches(both, Obj(**row)) is verdict


TEXTS = st.text(alphabet="aAbB ", max_size=4)


@attrs.frozen
class Text:
    s: Any = None


@given(
    st.sampled_from(["contains", "starts_with", "ends_with"]),
    st.text(alphabet="aAbB", min_size=1, max_size=2) | st.integers(0, 2),
    st.booleans(),
    st.lists(TEXTS, max_size=8)
    | st.lists(TEXTS | st.none() | st.just(["a"]), max_size=8),
    st.booleans(),
)
def test_whole_column_text_tests_give_the_exact_verdicts(
    kind, needle, sensitive, values, as_objects
):
    builder = getattr(field("s"), kind)
    if kind != "contains" and not isinstance(needle, str):
        needle = str(needle)
    condition = builder(needle, case_sensitive=sensitive)
    rows: list[Any] = [Text(v) if as_objects else {"s": v} for v in values]
    compiled = compile_condition(condition)
    predicate = compiled.bind(None)
    expected = outcome_of(lambda: [bool(predicate(r)) for r in rows])
    assert outcome_of(lambda: compiled.mask(rows)) == expected


@given(
    st.lists(
        TEXTS | st.none() | st.just(MISSING) | st.integers() | st.just([]), max_size=10
    )
)
def test_whole_column_presence_is_is_present(values):
    rows = [{"s": value} for value in values]
    for condition in (field("s").exists(), field("s").missing()):
        compiled = compile_condition(condition)
        assert compiled.mask(rows) == [compiled.bind(None)(r) for r in rows]


def test_contains_refuses_bytes_as_a_collection():
    with pytest.raises(DataTypeError, match="s: expected a string or a collection"):
        matches(field("s").contains("@"), {"s": b"a@b"})


def test_case_insensitive_contains_tests_a_column_of_texts_at_once():
    rows = [{"s": "ACME Corp"}, {"s": "globex"}, {"s": "Acme"}]
    compiled = compile_condition(Contains("s", "acme", case_sensitive=False))
    assert compiled.mask(rows) == [True, False, True]
    sensitive = compile_condition(Contains("s", "acme"))
    assert sensitive.mask(rows) == [False, False, False]


def test_pandas_missing_values_are_named_not_a_bare_type_error():
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    rows = [{"x": np.int64(5), "y": 1}, {"x": pd.NA, "y": 1}]
    for condition in (field("x") > 3, field("x") == 5, field("x") != 3):
        compiled = compile_condition(condition)
        assert compiled.bind(None)(rows[0]) is True
        both = compile_condition(condition & (field("y") == 1))
        for run in (
            lambda c=compiled: c.bind(None)(rows[1]),
            lambda c=compiled: c.mask(rows),
            lambda c=both: c.bind(None)(rows[1]),
            lambda c=both: c.mask(rows),
            lambda c=compiled: c.column_test()[1]([v["x"] for v in rows]),
        ):
            with pytest.raises(DataTypeError, match="x: expected a value comparable"):
                run()


def test_affixes_over_a_column_ignoring_case_by_hand():
    rows = [{"a": "Acme Corp"}, {"a": "acme"}, {"a": "ACMEcorp"}, {"a": "beta"}]
    starts = compile_condition(StartsWith("a", "acme", case_sensitive=False))
    assert starts.mask(rows) == [True, True, True, False]
    ends = compile_condition(EndsWith("a", "CORP", case_sensitive=False))
    assert ends.mask(rows) == [True, False, True, False]
    assert compile_condition(EndsWith("a", "CORP")).mask(rows) == [False] * 4
