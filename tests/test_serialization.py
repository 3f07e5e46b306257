import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.calendar import MONTH, Interval, Period, PeriodUnit, fiscal_year
from crmcore.errors import DataError, DataTypeError, DefinitionError, Problem
from crmcore.money import Money
from crmcore.records import (
    Account,
    Contact,
    Opportunity,
    Subscription,
)
from crmcore.serialization import (
    from_json,
    make_converter,
    structure,
    to_json,
    unstructure,
)
from tests.values import ROUND_TRIPS

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _only_json_types(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and _only_json_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_only_json_types(v) for v in value)
    return value is None or isinstance(value, (str, int, bool))


@pytest.mark.parametrize(
    ("cls", "strategy"), ROUND_TRIPS, ids=lambda v: getattr(v, "__name__", "")
)
@given(data=st.data())
def test_every_value_round_trips_through_json_ready_data(cls, strategy, data):
    value = data.draw(strategy)
    plain = unstructure(value)
    assert _only_json_types(plain), plain
    assert structure(plain, cls) == value
    assert structure(json.loads(json.dumps(plain)), cls) == value
    assert from_json(to_json(value), cls) == value


def test_conventions_decimal_as_string_datetime_with_offset():
    berlin = datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=1)))
    o = Opportunity("o", None, "12.50", "EUR", berlin, "new", probability="0.25")
    plain = unstructure(o)
    assert plain["amount"] == "12.50"
    assert plain["probability"] == "0.25"
    assert plain["created_at"] == "2026-03-01T09:00:00+01:00"
    assert unstructure(MONTH) == "month"
    assert unstructure(fiscal_year(4)) == {
        "kind": "fiscal_year",
        "fiscal_start_month": 4,
    }
    assert unstructure(Period(MONTH, date(2026, 1, 1)))["first_day"] == "2026-01-01"


def test_structure_accepts_exact_numbers_in_several_forms():
    assert structure({"amount": 5, "currency": "EUR"}, Money) == Money(5, "EUR")
    assert structure({"amount": Decimal("5.5"), "currency": "EUR"}, Money) == Money(
        "5.5", "EUR"
    )
    assert structure("quarter", PeriodUnit) == PeriodUnit("quarter")
    assert structure(
        {"kind": "fiscal_year", "fiscal_start_month": 7}, PeriodUnit
    ) == fiscal_year(7)
    assert structure({"kind": "year"}, PeriodUnit) == PeriodUnit("year")
    assert structure(
        {"unit": "month", "first_day": date(2026, 1, 1)}, Period
    ) == Period(MONTH, date(2026, 1, 1))
    assert structure({"start": T0, "end": T0}, Interval) == Interval(T0, T0)


def test_from_json_reads_numbers_as_decimals_never_floats():
    assert from_json('{"amount": 0.1, "currency": "EUR"}', Money).amount == Decimal(
        "0.1"
    )


def lines(error: DefinitionError) -> list[str]:
    return [str(p) for p in error.problems]


def test_all_problems_are_reported_at_once_with_paths():
    data = {
        "id": "o",
        "account_id": None,
        "amount": 1.5,
        "currency": "eur",
        "created_at": "2026-01-01T00:00:00",
        "stage": 3,
        "probability": "2",
        "colour": "red",
    }
    with pytest.raises(DefinitionError) as caught:
        structure(data, Opportunity)
    found = lines(caught.value)
    assert found[0].startswith(
        "$.colour: unknown field; expected one of account_id, amount"
    )
    assert any(
        p.startswith(
            "$.amount: expected a Decimal, int or numeric string, got 1.5 (float)"
        )
        for p in found
    )
    assert any(p.startswith("$.currency: expected an active ISO 4217") for p in found)
    assert any(
        p.startswith("$.created_at: expected a timezone-aware datetime") for p in found
    )
    assert "$.stage: expected a string, got 3 (int)" in found
    assert any(
        p.startswith("$.probability: expected a probability between 0 and 1")
        for p in found
    )
    assert len(found) == 6
    assert str(caught.value).startswith("6 problems in Opportunity:\n  $.colour")
    assert isinstance(caught.value, ValueError)


def test_nested_paths_and_list_indices():
    with pytest.raises(DefinitionError) as caught:
        structure(
            [
                {"amount": "1", "currency": "EUR"},
                {"amount": "x", "currency": "EUR"},
                {"currency": "EUR"},
                7,
            ],
            list[Money],
        )
    assert lines(caught.value) == [
        "$[1].amount: expected a numeric string like '12.50', got 'x' (str)",
        "$[2].amount: required field is missing",
        "$[3]: expected an object with the fields of Money, got 7 (int)",
    ]
    sub = {
        "customer_id": "c",
        "mrr": {"amount": "1", "currency": "XXX"},
        "start": T0.isoformat(),
    }
    with pytest.raises(DefinitionError) as caught:
        structure({"a": sub}, dict[str, Subscription])
    assert lines(caught.value) == [
        "$.a.mrr.currency: expected an active ISO 4217 currency code such as 'EUR' "
        "or 'USD' (upper case), got 'XXX' (str)"
    ]


def test_cross_field_rules_are_reported_at_the_field():
    data = unstructure(Opportunity("o", None, "1", "EUR", T0, "new"))
    data["closed_at"] = T0.isoformat()
    with pytest.raises(DefinitionError) as caught:
        structure({"deals": [data]}, dict[str, list[Opportunity]])
    assert lines(caught.value) == [
        "$.deals[0].closed_at: expected None while outcome is 'open', "
        "got datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.timezone.utc) (datetime)"
    ]


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        (
            {"id": "a", "name": "A", "employees": True},
            Account,
            "$.employees: expected an integer, got True (bool)",
        ),
        (
            {"id": "a", "name": "A", "employees": 1.0},
            Account,
            "$.employees: expected an integer, got 1.0 (float)",
        ),
        (
            {"id": "c", "fields": []},
            Contact,
            "$.fields: expected a mapping of names to values, got [] (list)",
        ),
        (
            {"unit": "month", "first_day": "2026-13-01"},
            Period,
            "$.first_day: expected an ISO 8601 date like '2026-03-01', got '2026-13-01' (str)",
        ),
        (
            {"unit": "month", "first_day": 20260101},
            Period,
            "$.first_day: expected an ISO 8601 date string, got 20260101 (int)",
        ),
        (
            {"unit": 5, "first_day": "2026-01-01"},
            Period,
            "$.unit: expected a unit name like 'month', got 5 (int)",
        ),
        (
            {"unit": {"kind": "month", "x": 1}, "first_day": "2026-01-01"},
            Period,
            "$.unit: expected a unit name or {'kind': ..., 'fiscal_start_month': m}, got {'kind': 'month', 'x': 1} (dict)",
        ),
        (
            {"unit": "fortnight", "first_day": "2026-01-01"},
            Period,
            "$.unit: expected one of ['day', 'fiscal_quarter', 'fiscal_year', 'month', 'quarter', 'week', 'year'], got 'fortnight' (str)",
        ),
        (
            {"start": "yesterday", "end": T0.isoformat()},
            Interval,
            "$.start: expected an ISO 8601 datetime with offset, got 'yesterday' (str)",
        ),
    ],
)
def test_type_problems_are_strict_and_named(data, cls, expected):
    with pytest.raises(DefinitionError) as caught:
        structure(data, cls)
    assert expected in lines(caught.value)


def test_bool_fields_are_strict():
    import attrs

    @attrs.frozen
    class Flag:
        on: bool

    conv = make_converter()
    assert conv.structure({"on": True}, Flag) == Flag(True)
    with pytest.raises(Exception, match="true or false"):
        conv.structure({"on": "yes"}, Flag)


def test_invalid_json_is_a_definition_error():
    with pytest.raises(DefinitionError) as caught:
        from_json("{not json", Money)
    assert caught.value.problems[0].path == "$"
    assert "invalid JSON at line 1 column 2" in caught.value.problems[0].message


def test_problem_renders_as_path_and_message():
    assert str(Problem("$.a", "bad")) == "$.a: bad"


def test_to_json_indent():
    assert (
        to_json(Money(1, "EUR"), indent=2)
        == '{\n  "amount": "1",\n  "currency": "EUR"\n}'
    )


def test_decimal_fields_without_converters_use_the_strict_hook():
    import attrs

    @attrs.frozen
    class Rate:
        value: Decimal

    assert structure({"value": "0.25"}, Rate) == Rate(Decimal("0.25"))
    with pytest.raises(DefinitionError) as caught:
        structure({"value": 0.25}, Rate)
    assert lines(caught.value)[0].startswith(
        "$.value: expected a Decimal, int or numeric string, got 0.25 (float)"
    )


def test_errors_from_user_validators_keep_their_type_in_the_message():
    import attrs

    from crmcore.errors import UnknownKindError

    def known_kind(_instance, _attribute, value):
        if value != "eq":
            raise UnknownKindError("condition kind", value, ["eq"])

    def positive(_instance, _attribute, value):
        if value <= 0:
            raise ValueError("must be positive")

    def parsable(_instance, _attribute, value):
        if "(" in value:
            raise DefinitionError(
                "Expression", [Problem("$", "unbalanced parenthesis")]
            )

    @attrs.frozen
    class Rule:
        kind: str = attrs.field(validator=known_kind)
        weight: int = attrs.field(validator=positive)
        text: str = attrs.field(default="", validator=parsable)

    with pytest.raises(DefinitionError) as caught:
        structure({"kind": "eqq", "weight": 0, "text": "(a"}, Rule)
    assert lines(caught.value) == [
        "$.kind: unknown condition kind 'eqq' (str); known: eq",
        "$.weight: ValueError: must be positive",
        "$.text: unbalanced parenthesis",
    ]


def test_durations_and_working_windows_have_text_forms():
    from datetime import timedelta

    from crmcore.business_time import WorkingWindow

    for amount, text in [
        (timedelta(0), "0s"),
        (timedelta(hours=36, seconds=1, microseconds=500_000), "36h1.5s"),
        (-timedelta(minutes=5), "-5m"),
        (timedelta(microseconds=1), "0.000001s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
    ]:
        assert unstructure(amount) == text
        assert structure(text, timedelta) == amount
    assert structure(timedelta(hours=2), timedelta) == timedelta(hours=2)
    with pytest.raises(DefinitionError, match="expected a duration such as '4h'"):
        structure(3600, timedelta)
    with pytest.raises(DefinitionError, match="expected a duration such as '4h'"):
        structure("4 hours", timedelta)
    with pytest.raises(DefinitionError, match="expected a duration"):
        structure("s", timedelta)
    with pytest.raises(DefinitionError, match="expected a duration"):
        structure("\u0664h", timedelta)  # an Arabic-Indic four is not a digit here
    window = WorkingWindow("09:00", "12:00")
    assert unstructure(window) == "09:00-12:00"
    assert structure(window, WorkingWindow) is window
    with pytest.raises(DefinitionError, match="expected a working window"):
        structure("9 to 5", WorkingWindow)


def test_flat_rows_round_trip_and_name_their_problems():
    from crmcore.money import Money
    from crmcore.records import Account, Opportunity, Subscription
    from crmcore.sample import generate_sample
    from crmcore.serialization import from_row, to_row

    data = generate_sample(60)
    for records, cls in (
        (data.accounts, Account),
        (data.opportunities, Opportunity),
        (data.subscriptions, Subscription),
    ):
        assert [from_row(to_row(r), cls) for r in records] == list(records)
    account = to_row(data.accounts[0])
    assert "fields.segment" in account and "currency" in account
    # A row that nests already reads as it is.
    nested = {"customer_id": "c", "mrr": {"amount": "5", "currency": "EUR"},
              "start": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    assert from_row(nested, Subscription).mrr == Money(5, "EUR")
    with pytest.raises(DataTypeError, match="record: expected an attrs record"):
        to_row({"id": 1})
    with pytest.raises(DataTypeError, match="row: expected a mapping"):
        from_row([1], Subscription)  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="cls: expected an attrs record class"):
        from_row({}, dict)
    with pytest.raises(DataTypeError, match="row: expected a column name"):
        from_row({1: "x"}, Subscription)  # type: ignore[dict-item]
    with pytest.raises(DataError, match="a column outside the value 'fields'"):
        from_row({"fields": 3, "fields.a": 1}, Opportunity)
    with pytest.raises(DataError, match="a value without columns inside it"):
        from_row({"fields.a": 1, "fields": 3}, Opportunity)
