"""A stored rule reads mapping keys and public data attributes, nothing else.

Rules are untrusted input (vendors store definitions their users wrote), so
field access is safe by construction: a path part starting with ``_`` is
refused when the rule is built, and callables, modules, classes, frames and
the like are never reached, neither as a value nor as a step.
"""

import dataclasses
import functools
import os
import sys
import types
import typing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.calendar import Interval
from crmcore.conditions import (
    Condition,
    IsMissing,
    compile_condition,
    field,
    parse_condition,
)
from crmcore.errors import CrmcoreError, DataError, DataTypeError, DefinitionError
from crmcore.records import MISSING, Opportunity, field_getter, get_field, parse_path
from crmcore.serialization import structure

T = datetime(2026, 1, 5, tzinfo=UTC)
SECRET = "s3cr3t-token"


def _opportunity():
    return Opportunity(
        "o-1", "a-1", Decimal(1000), "EUR", T, "discovery", fields={"region": "EMEA"}
    )


# -- the attack of the issue ---------------------------------------------------
ATTACK = "__class__.__init__.__globals__._compat.inspect.os.environ.API_TOKEN"


def test_the_globals_walk_is_refused_when_the_rule_is_built():
    with pytest.raises(DefinitionError, match="'_'"):
        parse_condition(f"exists({ATTACK})")
    with pytest.raises(DataError, match="_"):
        field(ATTACK).exists()
    with pytest.raises(DefinitionError, match=r"\$\.field"):
        structure({"kind": "exists", "field": ATTACK}, Condition)
    with pytest.raises(DataError, match="_"):
        field_getter(ATTACK)


@pytest.mark.parametrize(
    "path",
    ["_private", "__class__", "a.__dict__", "fields._secret", "a._b.c", "__init__"],
)
def test_every_underscore_part_is_refused(path):
    with pytest.raises(DataError) as raised:
        parse_path(path)
    assert "_" in str(raised.value)
    assert path in str(raised.value) or repr(path) in str(raised.value)


def test_public_names_and_digits_still_parse():
    assert parse_path("fields.region") == ("fields", "region")
    assert parse_path("items.0.name") == ("items", "0", "name")
    assert parse_path("a_b.c_") == ("a_b", "c_")


# -- callables, modules and classes are never reached ----------------------------
@attrs.frozen
class Holder:
    """A record whose public attributes hold everything but data."""

    name: str = "ok"
    module: object = os
    cls: object = Opportunity
    function: object = print
    lambda_: object = attrs.field(default=lambda: SECRET)
    partial: object = functools.partial(print, SECRET)
    frame: object = attrs.field(factory=sys._getframe)
    code: object = attrs.field(factory=lambda: (lambda: SECRET).__code__)
    generator: object = attrs.field(factory=lambda: (x for x in [SECRET]))

    def method(self):
        return SECRET

    @property
    def prop(self):
        return "public data"


UNSAFE = (
    "module",
    "cls",
    "function",
    "lambda_",
    "partial",
    "frame",
    "code",
    "generator",
    "method",
)


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_values_read_as_missing(name):
    holder = Holder()
    assert get_field(holder, name) is MISSING
    assert field_getter(name)(holder) is MISSING
    # and no step goes through them
    for inner in ("environ", "f_globals", "co_consts", "gi_frame", "args", "path"):
        assert get_field(holder, f"{name}.{inner}") is MISSING


def test_data_attributes_and_properties_are_read():
    holder = Holder()
    assert get_field(holder, "name") == "ok"
    assert get_field(holder, "prop") == "public data"
    assert get_field(_opportunity(), "fields.region") == "EMEA"
    assert get_field(_opportunity(), "currency") == "EUR"


def test_the_environment_is_unreachable_through_a_module_held_in_a_dict():
    record = {"os": os, "env": os.environ, "f": print}
    assert get_field(record, "os.environ") is MISSING
    assert get_field(record, "f.args") is MISSING


@pytest.mark.parametrize("name", UNSAFE)
def test_conditions_on_unsafe_values_see_them_as_absent(name):
    holder = Holder()
    for rule in (
        field(name).exists(),
        field(name).missing(),
        field(name) != "x",
        field(name).not_in(["x"]),
        field(name) == SECRET,
        field(name).contains("s"),
    ):
        expected = isinstance(rule, IsMissing)
        assert compile_condition(rule).bind(T)(holder) is expected, rule
        assert rule.explain(holder, T).holds is expected
        assert rule.explain(holder, T).actual is MISSING
    # fused (combinators read fields themselves) agree with the leaves
    both = field(name).exists() | (field(name) != "x")
    assert compile_condition(both).bind(T)(holder) is False
    assert (
        compile_condition(field("name").exists() & field(name).exists()).bind(T)(holder)
        is False
    )


# -- the law: a rule observes only what mapping keys and public data reach -------
_PLAIN = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "a", "b"])
)
_UNSAFE_VALUES = st.sampled_from(
    [
        os,
        Opportunity,
        print,
        len,
        lambda: 1,
        functools.partial(len, "x"),
        types.SimpleNamespace,
        sys,
    ]
)
_NAMES = st.sampled_from(["a", "b", "c"])


class _Classy(types.SimpleNamespace):
    """An object whose class holds data too (as an ORM model's ``metadata``)."""

    c = "a"  # the class's, never the record's: reads as MISSING unless set


def _records():
    leaves = st.one_of(_PLAIN, _UNSAFE_VALUES)

    def nest(children):
        return st.one_of(
            st.dictionaries(_NAMES, children, max_size=3),
            st.dictionaries(_NAMES, children, max_size=3).map(
                lambda d: types.SimpleNamespace(**d)
            ),
            st.dictionaries(_NAMES, children, max_size=3).map(lambda d: _Classy(**d)),
        )

    return st.recursive(leaves, nest, max_leaves=8)


def _reference(record, parts):
    """What a rule may see: mapping keys and public non-callable attributes.

    An object's attributes are its instance's own (``vars``): data its class
    holds is not the record's.
    """
    value = record
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part, MISSING)  # a mapping's values as they are
        elif isinstance(value, types.SimpleNamespace):
            value = vars(value).get(part, MISSING)
            if callable(value) or isinstance(value, types.ModuleType):
                return MISSING  # an attribute that is not data
        else:
            return MISSING  # nothing is read through what is not data
    return value


@given(
    _records(),
    st.lists(_NAMES, min_size=1, max_size=3),
    st.sampled_from(["exists", "is_missing", "ne", "eq", "not_in"]),
)
def test_a_rule_never_observes_what_is_not_public_data(record, parts, kind):
    path = ".".join(parts)
    assert get_field(record, path) == _reference(record, parts) or (
        get_field(record, path) is _reference(record, parts)
    )
    rule = {
        "exists": field(path).exists(),
        "is_missing": field(path).missing(),
        "ne": field(path) != "a",
        "eq": field(path) == "a",
        "not_in": field(path).not_in(["a"]),
    }[kind]
    seen = _reference(record, parts)
    reference = {"a": {"x": seen}}
    moved = {
        "exists": field("a.x").exists(),
        "is_missing": field("a.x").missing(),
        "ne": field("a.x") != "a",
        "eq": field("a.x") == "a",
        "not_in": field("a.x").not_in(["a"]),
    }[kind]
    if seen is MISSING:
        reference = {"a": {}}
    try:
        expected = compile_condition(moved).bind(T)(reference)
    except CrmcoreError:
        return
    assert compile_condition(rule).bind(T)(record) is expected
    # the fused path (a combinator reading its children's fields) agrees
    fused = compile_condition(rule & field(path).exists()).bind(T)(record)
    assert fused is compile_condition(moved & field("a.x").exists()).bind(T)(reference)


# -- data held by the class, not the record ---------------------------------------
class _Registry:
    """Stands for an ORM's metadata: reachable from every model, not row data."""

    def __init__(self) -> None:
        self.tables = {"people": {"password": SECRET}}


class _Model:
    """Like a SQLAlchemy model: class-level machinery beside per-row columns."""

    metadata = _Registry()
    kind = "model"
    default_region = "EMEA"

    def __init__(self, name: str) -> None:
        self.name = name
        self.default_region = "APAC"  # an instance's own value wins

    @property
    def label(self) -> str:
        return self.name.upper()


class _Special(_Model):
    @property
    def kind(self) -> str:  # type: ignore[override]  # shadows the constant
        return "special"


@attrs.define
class _Defaults:
    region: str = "EMEA"  # a field with a default is instance data


@dataclasses.dataclass
class _DataclassDefaults:
    region: str = "EMEA"  # the class holds the default; each instance its value


def test_a_class_s_own_data_is_never_read_from_a_record():
    from crmcore.records import column_getter

    model = _Model("ada")
    assert get_field(model, "metadata") is MISSING
    assert get_field(model, "metadata.tables.people.password") is MISSING
    assert get_field(model, "kind") is MISSING
    assert (get_field(model, "name"), get_field(model, "label")) == ("ada", "ADA")
    assert get_field(model, "default_region") == "APAC"
    assert get_field(_Special("x"), "kind") == "special"
    assert get_field(_Defaults(), "region") == "EMEA"
    assert get_field(_DataclassDefaults("APAC"), "region") == "APAC"
    assert field("region").exists().explain(_DataclassDefaults(), T).holds
    assert column_getter("kind")([model, model]) == [MISSING, MISSING]
    assert column_getter("name")([model, _Model("bo")]) == ["ada", "bo"]
    # every evaluation path agrees: the fast loops fall back to the exact one
    for rule in (field("kind") == "model", field("metadata").exists()):
        compiled = compile_condition(rule & field("name").exists())
        assert compiled.bind(T)(model) is False
        assert compiled.mask([model, model]) == [False, False]
        assert list(compiled.filter([model])) == []
        assert rule.explain(model, T).actual is MISSING


class _Raising:
    @property
    def score(self) -> int:
        raise RuntimeError("the session is closed")


class _RaisingModel(_Raising):
    kind = "model"  # class data: read through the guarded path


class _Row:
    """A row whose ``[]`` refuses text keys with an error of its own."""

    region = "EMEA"

    def __init__(self) -> None:
        self.industry = "saas"

    def __getitem__(self, key: object) -> object:
        raise NotImplementedError("getitem is not supported")


def test_an_attribute_that_raises_is_an_error_naming_it():
    with pytest.raises(DataError, match=r"score: .*raised RuntimeError$") as raised:
        get_field(_Raising(), "score")
    # the error's own text (it may hold a database's statement) stays in the cause
    assert "session" not in str(raised.value)
    assert isinstance(raised.value.__cause__, RuntimeError)
    with pytest.raises(DataError, match="score"):
        compile_condition(field("score") > 1).bind(T)(_Raising())
    with pytest.raises(DataError, match=r"score: .*raised RuntimeError$"):
        get_field(_RaisingModel(), "score")
    # a row's own error from [] means "not an item": its attributes are read
    assert get_field(_Row(), "industry") == "saas"
    assert get_field(_Row(), "region") is MISSING
    assert get_field(_Row(), "nope") is MISSING


@dataclasses.dataclass
class _WithClassVar:
    TENANT: typing.ClassVar[str] = "acme"  # the class's, not a field
    region: str = "EMEA"


class _Deal:
    """A plain deal whose class holds a default currency (class data)."""

    currency = "USD"

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def test_a_dataclass_class_var_is_class_data():
    assert get_field(_WithClassVar(), "TENANT") is MISSING
    assert get_field(_WithClassVar(), "region") == "EMEA"


def test_the_kpi_loops_read_only_what_field_access_reads():
    from crmcore.access import Reader
    from crmcore.kpis import WinRate

    reader = Reader(("id", "currency"))
    with pytest.raises(DataError, match="currency"):
        reader.read(_Deal(id="d1"))  # the class's USD is not the deal's currency
    assert reader.read(_Deal(id="d2", currency="EUR")) == ("d2", "EUR")
    assert reader.getter(_Deal) == reader.slow
    region = Reader(("id", "region"))
    assert region.getter(_Deal) is region._attr  # no class data among the names
    # a dotted name never goes through attrgetter's own walk
    model = _Model("m")
    model.id = "m1"  # type: ignore[attr-defined]
    dotted = Reader(("id",), ("metadata.tables",))
    assert dotted.getter(_Model) == dotted.slow
    assert dotted.read(model) == ("m1", None)
    with pytest.raises(DataError, match="metadata"):
        Reader(("id", "metadata")).read(model)
    closed = _Deal(id="d3", outcome="won", created_at=T, closed_at=T, amount=Decimal(5))
    with pytest.raises(DataError, match="currency"):
        WinRate().update([closed])
    # a raising property on a KPI path is an explained error, never a bare one
    with pytest.raises(DataError, match="score"):
        Reader(("score", "id")).read(_Raising())
    # the grouped one-pass loop and the lead loop read such records field by field
    from crmcore.kpis import grouped, lead_conversion

    own = _Deal(
        id="d4",
        outcome="won",
        created_at=T,
        closed_at=T,
        amount=Decimal(5),
        currency="EUR",
        owner="ana",
    )
    assert grouped(WinRate(), [own], "owner").groups["ana"].value == 1
    with pytest.raises(DataError, match="currency"):
        grouped(WinRate(), [closed], "owner")

    class _Lead:
        converted_at = None  # class data: not the lead's

        def __init__(self) -> None:
            self.id, self.created_at = "l1", T

    result = lead_conversion([_Lead()], Interval(T, T + timedelta(days=1)))
    assert result.components["leads"] == 1


def test_a_path_is_bounded():
    assert len(parse_path("a." * 499 + "b")) == 500
    with pytest.raises(DataError, match="at most 1000 characters"):
        parse_path("a" * 1001)


def test_a_mapping_value_is_returned_but_never_stepped_through():
    # A key's value is the caller's own data; nothing is read *through* it.
    assert get_field({"a": {"b": print}}, "a.b") is print
    assert get_field({"a": {"b": print}}, "a.b.c") is MISSING
    assert get_field({"a": {"b": "ok"}}, "a.b") == "ok"
    # and no rule sees it as present
    assert not compile_condition(field("a.b").exists()).bind(T)({"a": {"b": print}})


# -- whole columns ---------------------------------------------------------------------
@attrs.frozen
class _Plain:
    industry: Any = None


class _Methods:
    def __init__(self, industry: Any) -> None:
        self.industry = industry

    def region(self) -> str:  # a method is not data: it reads as MISSING
        return "emea"


def test_a_column_is_what_field_getter_reads_from_each_record():
    from types import MappingProxyType

    from crmcore.records import MISSING, column_getter, field_getter

    cases: list[list[Any]] = [
        [{"industry": "saas"}, {}, {"industry": None}],
        [MappingProxyType({"industry": "saas"}), MappingProxyType({})],
        [_Plain("saas"), _Plain()],
        [_Methods("saas"), _Methods("retail")],
        [{"industry": "saas"}, _Plain("retail")],  # mixed types: one by one
        [["saas"], ["retail"]],  # row-like: one by one
        [],
    ]
    for path in ("industry", "region", "industry.name"):
        read, one = column_getter(path), field_getter(path)
        for records in cases:
            assert read(records) == [one(r) for r in records], (path, records)
    assert column_getter("region")([_Methods("saas")]) == [MISSING]
    assert column_getter("missing")([_Plain()]) == [MISSING]


def test_a_dataframe_is_not_an_iterable_of_records():
    pd = pytest.importorskip("pandas")
    from crmcore.records import iterate

    with pytest.raises(DataTypeError, match=r"crmcore\.frames\.records"):
        iterate(pd.DataFrame({"a": [1, 2]}), "deals")


def test_a_row_reads_a_column_named_like_one_of_its_attributes():
    pd = pytest.importorskip("pandas")
    from collections import namedtuple

    from crmcore.records import MISSING, get_field

    row = pd.DataFrame({"industry": ["saas"], "size": [500]}).iloc[0]
    assert (get_field(row, "size"), get_field(row, "industry")) == (500, "saas")
    assert get_field(row, "nope") is MISSING
    Pair = namedtuple("Pair", "a b")
    assert (get_field(Pair(1, 2), "a"), get_field([5, 6], "1")) == (1, 6)
