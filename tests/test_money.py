import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import CurrencyMismatchError, DataError, DataTypeError
from crmcore.money import CURRENCY_MINOR_UNITS, Money, sum_money, to_decimal
from crmcore.testing import currencies, money


def test_construction_converts_exact_numbers():
    assert Money("12.50", "EUR").amount == Decimal("12.50")
    assert Money(12, "EUR").amount == Decimal(12)
    assert Money(Decimal("0.1"), "EUR").amount == Decimal("0.1")
    assert Money(" 3.5 ", "USD").amount == Decimal("3.5")


def test_floats_are_rejected_with_a_way_out():
    with pytest.raises(
        DataTypeError, match=r"amount: expected a Decimal.*got 0\.1 \(float\)"
    ):
        Money(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match=r"Money.from_float"):
        Money(19.99, "EUR")  # type: ignore[arg-type]


def test_from_float_goes_through_the_shortest_repr():
    assert Money.from_float(0.1, "EUR").amount == Decimal("0.1")
    assert Money.from_float(19.99, "EUR").amount == Decimal("19.99")
    assert Money.from_float(7, "EUR").amount == Decimal(7)
    assert Money.from_float(1e-7, "EUR").amount == Decimal("1E-7")
    with pytest.raises(DataError, match="finite"):
        Money.from_float(float("nan"), "EUR")
    with pytest.raises(DataTypeError, match="a float"):
        Money.from_float("1.5", "EUR")  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="a float"):
        Money.from_float(True, "EUR")


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("abc", DataError, "numeric string"),
        ("NaN", DataError, "finite"),
        (Decimal("Infinity"), DataError, "finite"),
        (True, DataTypeError, "got True"),
        (None, DataTypeError, "got None"),
        ([1], DataTypeError, "got"),
    ],
)
def test_bad_amounts(value, error, message):
    with pytest.raises(error, match=message):
        Money(value, "EUR")


def test_decimal_subclasses_and_int_subclasses_are_accepted():
    class MyDecimal(Decimal):
        pass

    class MyInt(int):
        pass

    assert to_decimal(MyDecimal("1.5")) == Decimal("1.5")
    assert to_decimal(MyInt(3)) == Decimal(3)


@pytest.mark.parametrize("currency", ["eur", "EURO", "XYZ", "", 978, None])
def test_bad_currencies_name_the_field(currency):
    with pytest.raises(DataError, match=r"^currency: expected .*ISO 4217"):
        Money(1, currency)  # type: ignore[arg-type]


def test_minor_units():
    assert CURRENCY_MINOR_UNITS["EUR"] == 2
    assert CURRENCY_MINOR_UNITS["JPY"] == 0
    assert CURRENCY_MINOR_UNITS["KWD"] == 3
    assert CURRENCY_MINOR_UNITS["CLF"] == 4
    assert Money(1, "KWD").minor_unit == 3


def test_arithmetic_within_one_currency():
    a, b = Money("10.10", "EUR"), Money("0.20", "EUR")
    assert a + b == Money("10.30", "EUR")
    assert a - b == Money("9.90", "EUR")
    assert -a == Money("-10.10", "EUR")
    assert +a is a
    assert abs(Money(-5, "EUR")) == Money(5, "EUR")
    assert a * 3 == Money("30.30", "EUR")
    assert 3 * a == Money("30.30", "EUR")
    assert a * Decimal("0.5") == Money("5.05", "EUR")
    assert Money(10, "EUR") / 4 == Money("2.5", "EUR")
    assert Money(10, "EUR").ratio(Money(4, "EUR")) == Decimal("2.5")
    assert sum([a, b]) == Money("10.30", "EUR")


def test_division_keeps_28_digits_and_refuses_zero():
    third = Money(1, "EUR") / 3
    assert third.amount == Decimal("0.3333333333333333333333333333")
    with pytest.raises(DataError, match="divisor: expected a non-zero number"):
        Money(1, "EUR") / 0
    with pytest.raises(DataError, match="ratio: expected a non-zero denominator"):
        Money(1, "EUR").ratio(Money(0, "EUR"))


def test_currencies_never_mix():
    eur, usd = Money(1, "EUR"), Money(1, "USD")
    for operation in (
        lambda: eur + usd,
        lambda: eur - usd,
        lambda: eur < usd,
        lambda: eur <= usd,
        lambda: eur > usd,
        lambda: eur >= usd,
        lambda: eur.ratio(usd),
    ):
        with pytest.raises(CurrencyMismatchError):
            operation()
    assert eur != usd


def test_operands_must_be_money_or_exact_numbers():
    eur = Money(1, "EUR")
    with pytest.raises(DataTypeError, match="addition: expected Money in EUR"):
        eur + 1  # type: ignore[operator]
    with pytest.raises(DataTypeError, match="addition: expected Money in EUR"):
        2 + eur  # type: ignore[operator]
    with pytest.raises(DataTypeError, match="factor"):
        eur * 1.5  # type: ignore[operator]
    with pytest.raises(DataTypeError, match="comparison"):
        eur < 3  # type: ignore[operator]  # noqa: B015


def test_ordering_and_truthiness():
    small, big = Money(1, "EUR"), Money(2, "EUR")
    assert small < big and small <= big and big > small and big >= small
    assert not Money(0, "EUR")
    assert Money("0.01", "EUR")
    assert Money("1.0", "EUR") == Money("1.00", "EUR")
    assert hash(Money("1.0", "EUR")) == hash(Money("1.00", "EUR"))


def test_presentation():
    assert repr(Money("1.50", "EUR")) == "Money('1.50', 'EUR')"
    assert str(Money("1.50", "EUR")) == "1.50 EUR"
    assert Money.zero("JPY") == Money(0, "JPY")


def test_rounding_to_the_minor_unit():
    assert Money("2.675", "EUR").rounded() == Money("2.68", "EUR")
    assert Money("2.665", "EUR").rounded() == Money("2.66", "EUR")
    assert Money("2.665", "EUR").rounded(ROUND_HALF_UP) == Money("2.67", "EUR")
    assert str(Money("1234.5", "JPY").rounded().amount) == "1234"
    assert str(Money("1.23456", "KWD").rounded().amount) == "1.235"


def test_sum_money_edge_cases():
    assert sum_money([], currency="EUR") == Money(0, "EUR")
    with pytest.raises(DataError, match="currency= for an empty sum"):
        sum_money([])
    with pytest.raises(CurrencyMismatchError, match=r"amounts\[1\]"):
        sum_money([Money(1, "EUR"), Money(1, "USD")])
    with pytest.raises(CurrencyMismatchError, match=r"amounts\[0\]"):
        sum_money([Money(1, "USD")], currency="EUR")
    with pytest.raises(DataTypeError, match=r"amounts\[0\]: expected Money"):
        sum_money([1])  # type: ignore[list-item]
    with pytest.raises(DataError, match="currency"):
        sum_money([], currency="eur")
    assert sum_money(Money(1, "EUR") for _ in range(3)) == Money(3, "EUR")


def test_sums_are_exact_beyond_default_decimal_precision():
    huge = Money(Decimal(10) ** 40, "EUR")
    cent = Money("0.01", "EUR")
    assert (huge + cent - huge) == cent
    assert sum_money([huge, cent, -huge]) == cent
    assert (huge * Decimal("1.000000000000000000000000000001")).amount == Decimal(
        "10000000000000000000000000000010000000000.000000000000000000000000000000"
    )


@given(st.lists(money("EUR"), max_size=40), st.randoms(use_true_random=False))
def test_money_sums_are_exact_and_independent_of_order(amounts, rnd: random.Random):
    expected = sum((m.amount for m in amounts), Decimal(0))  # exact: integers scaled
    shuffled = list(amounts)
    rnd.shuffle(shuffled)
    assert sum_money(amounts, currency="EUR").amount == expected
    assert sum_money(shuffled, currency="EUR") == sum_money(amounts, currency="EUR")


@given(st.lists(money("USD"), min_size=1, max_size=20), st.integers(0, 20))
def test_sum_of_parts_equals_sum_of_whole(amounts, cut):
    left = sum_money(amounts[:cut], currency="USD")
    right = sum_money(amounts[cut:], currency="USD")
    assert left + right == sum_money(amounts)


@given(money(), money())
def test_addition_then_subtraction_is_identity(a, b):
    if a.currency != b.currency:
        with pytest.raises(CurrencyMismatchError):
            a + b
    else:
        assert (a + b) - b == a


@given(currencies(), st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_rounding_is_idempotent_and_within_half_a_minor_unit(currency, amount):
    value = Money(amount, currency)
    once = value.rounded()
    assert once.rounded() == once
    assert abs(once.amount - value.amount) <= Decimal(1).scaleb(-value.minor_unit) / 2


def test_negation_and_abs_are_exact_for_huge_amounts():
    big = Money("123456789012345678901234567890.123456789", "EUR")
    assert (-big).amount == Decimal("-123456789012345678901234567890.123456789")
    assert abs(-big) == big
    assert Money("99999999999999999999999999.995", "EUR").rounded().amount == Decimal(
        "100000000000000000000000000.00"
    )
