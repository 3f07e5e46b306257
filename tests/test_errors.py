import pickle

import pytest

from crmcore.errors import (
    CrmcoreError,
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    DefinitionError,
    NaiveDatetimeError,
    Problem,
    UnknownKindError,
    describe_value,
    format_path,
)


def test_every_error_is_a_crmcore_error_and_its_builtin():
    assert issubclass(DataError, CrmcoreError)
    assert issubclass(DataError, ValueError)
    assert issubclass(DataTypeError, TypeError)
    assert issubclass(DataTypeError, ValueError)
    assert issubclass(NaiveDatetimeError, TypeError)
    assert issubclass(CurrencyMismatchError, ValueError)
    assert issubclass(UnknownKindError, KeyError)
    assert issubclass(DefinitionError, ValueError)


def test_data_error_names_field_value_type_and_expectation():
    error = DataError(
        "amount", -3, "a non-negative amount", hint="refunds are separate"
    )
    assert str(error) == (
        "amount: expected a non-negative amount, got -3 (int); refunds are separate"
    )
    assert (error.field, error.value, error.expected) == (
        "amount",
        -3,
        "a non-negative amount",
    )


def test_long_values_are_shortened_in_messages():
    text = describe_value("x" * 500)
    assert len(text) < 100
    assert text.endswith("... (str)")


def test_naive_datetime_error_explains_the_fix():
    from datetime import datetime

    error = NaiveDatetimeError("as_of", datetime(2026, 1, 1))
    assert "as_of: expected a timezone-aware datetime" in str(error)
    assert "tzinfo" in str(error)


def test_currency_mismatch_names_both_currencies():
    error = CurrencyMismatchError("addition", "EUR", "USD")
    assert error.currencies == ("EUR", "USD")
    assert "amounts in EUR" in str(error)
    assert "'USD'" in str(error)


def test_unknown_kind_lists_known_kinds_and_path():
    error = UnknownKindError(
        "condition kind", "eqq", ["ne", "eq"], path="$.rules[0].kind"
    )
    assert str(error) == (
        "$.rules[0].kind: unknown condition kind 'eqq' (str); known: eq, ne"
    )
    assert error.known == ("eq", "ne")
    assert "(none registered)" in str(UnknownKindError("scorer", "x", []))


def test_definition_error_reports_all_problems():
    error = DefinitionError(
        "Pipeline",
        [
            Problem("$.stages[0].key", "duplicate key 'new'"),
            Problem("$.won", "missing"),
        ],
    )
    assert str(error).splitlines() == [
        "2 problems in Pipeline:",
        "  $.stages[0].key: duplicate key 'new'",
        "  $.won: missing",
    ]
    one = DefinitionError("Segment", [Problem("$", "empty")])
    assert str(one).startswith("1 problem in Segment:")


def test_definition_error_needs_a_problem():
    with pytest.raises(
        DataError, match=r"problems: expected at least one Problem, got \[\] \(list\)"
    ):
        DefinitionError("X", [])


def test_problem_fields_are_text():
    with pytest.raises(DataTypeError, match="message: expected a string, got 3"):
        Problem("$", 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        DataError("a", 1, "b", hint="c"),
        DataTypeError("a", 1.5, "b"),
        NaiveDatetimeError("at", "x"),
        CurrencyMismatchError("sum", "EUR", "USD"),
        UnknownKindError("kind", "x", ["a"], path="$.k"),
        DefinitionError("X", [Problem("$", "bad")]),
    ],
)
def test_errors_pickle_with_their_message(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_format_path():
    assert format_path(["stages", 2, "exit criteria"]) == "$.stages[2]['exit criteria']"


def test_the_same_problem_raises_the_same_error_everywhere():
    from crmcore.conditions import Count, Duration

    caught = []
    for build in (lambda: Duration(days="3"), lambda: Count("items", at_least="3")):
        with pytest.raises(DataTypeError) as error:
            build()
        caught.append(error.value)
    assert [(e.expected, e.value) for e in caught] == [
        ("a non-negative int", "3"),
        ("a non-negative int", "3"),
    ]
    for build in (lambda: Duration(days=-1), lambda: Count("items", at_least=-1)):
        with pytest.raises(DataError) as out_of_range:
            build()
        assert type(out_of_range.value) is DataError
        assert out_of_range.value.expected == "a non-negative int"
