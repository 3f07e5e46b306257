"""Exact money: a ``Decimal`` amount with an ISO 4217 currency.

Rules, chosen so that revenue figures can be trusted to the cent:

* **Exact.** Sums, differences and multiplication by whole or decimal numbers
  are computed without rounding, whatever the size of the numbers (crmcore
  uses its own unbounded-precision decimal context, not the global one).
* **One currency at a time.** Adding, subtracting or comparing amounts in two
  currencies raises [`CurrencyMismatchError`][crmcore.errors.CurrencyMismatchError].
  crmcore never converts currencies for you.
* **No floats.** A ``float`` is not exact (``0.1 + 0.2 != 0.3``), so the
  constructor rejects it with a clear error. When data arrives as floats (a CSV
  read by pandas, say), convert it *explicitly* with
  [`Money.from_float`][crmcore.money.Money.from_float], which goes through the
  float's shortest ``repr`` (``0.1`` becomes ``Decimal('0.1')``, not
  ``Decimal('0.1000000000000000055511151231257827...')``).
* **Rounding on request only.** Amounts keep every digit they were given;
  [`Money.rounded`][crmcore.money.Money.rounded] rounds to the currency's minor
  unit (2 for EUR, 0 for JPY, 3 for KWD) with banker's rounding by default.

Examples:
    >>> from decimal import Decimal
    >>> price = Money("19.99", "EUR")
    >>> price * 3
    Money('59.97', 'EUR')
    >>> sum_money([Money("0.10", "USD"), Money("0.20", "USD")])
    Money('0.30', 'USD')
    >>> (Money("10", "EUR") / 3).rounded()
    Money('3.33', 'EUR')
"""

from __future__ import annotations

import contextlib
import decimal
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import attrs

from crmcore.errors import CurrencyMismatchError, DataError, DataTypeError

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "MAX_DIGITS",
    "Money",
    "check_currency",
    "check_range",
    "divide",
    "exact_arithmetic",
    "round_to",
    "sum_money",
    "to_decimal",
]

MAX_DIGITS: Final = 100
"""Numbers crmcore reads have at most this many digits before the decimal
point and as many after it (amounts, values of rules, JSON numbers)."""
_MAX_INT: Final = 10**MAX_DIGITS
# The context of every calculator (exact_arithmetic): sums and products of
# numbers in range need at most a few hundred digits, so any rounding, or
# any number far out of range, is a signal that stops the calculation
# (a hot loop then explains the record) instead of costing gigabytes.
_SUMS: Final = decimal.Context(
    prec=10 * MAX_DIGITS,
    Emax=10 * MAX_DIGITS,
    Emin=-10 * MAX_DIGITS,
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Underflow,
        decimal.Subnormal,
        decimal.Inexact,
    ],
)
_RANGE: Final = (
    f"a number with at most {MAX_DIGITS} digits before and after the decimal point"
)

# Unbounded precision: addition, subtraction and multiplication of finite
# decimals are then exact, which is what "money sums are exact" promises.
_EXACT: Final = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
# Division cannot be exact in general (1/3); it keeps 28 significant digits,
# Python's default, and says so in the docs.
_DIVISION: Final = decimal.Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero],
)
_ONE: Final = Decimal(1)
_ZERO_INT: Final = Decimal(0)
_ROUNDING: Final = decimal.Context(
    prec=decimal.MAX_PREC,
    rounding=ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation],
)

_TWO = dict.fromkeys(
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV "
    "BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK "
    "DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL "
    "HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL "
    "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO "
    "NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK "
    "SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS "
    "UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG".split(),
    2,
)
_OTHER = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(),
        0,
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}

CURRENCY_MINOR_UNITS: Final[Mapping[str, int]] = {**_TWO, **_OTHER}
"""Active ISO 4217 currency codes and the number of digits of their minor unit."""


def to_decimal(value: object, field: str = "amount") -> Decimal:
    """Convert an exact number to a finite ``Decimal`` or raise a crmcore error.

    Accepts ``Decimal``, ``int`` (not ``bool``) and numeric strings. Rejects
    floats, because they are not exact: see the module docs.

    Args:
        value: The value to convert.
        field: The field name used in the error message.

    Returns:
        The value as a finite ``Decimal``.

    Raises:
        DataTypeError: For floats, bools and other types.
        DataError: For strings that are not numbers, and for NaN or infinity.

    Examples:
        >>> to_decimal("12.50")
        Decimal('12.50')
    """
    cls = type(value)
    if cls is Decimal:
        result: Decimal = value  # type: ignore[assignment]
    elif cls is int or (isinstance(value, int) and cls is not bool):
        if not -_MAX_INT < value < _MAX_INT:  # type: ignore[operator]
            raise DataError(field, value, _RANGE)
        return Decimal(value)  # type: ignore[arg-type] # an int in range is in range
    elif isinstance(value, str):
        if len(value) > 4 * MAX_DIGITS:  # longer than any number in range
            raise DataError(field, value, _RANGE)
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise DataError(field, value, "a numeric string like '12.50'") from None
    elif isinstance(value, Decimal):
        result = Decimal(value)
    elif isinstance(value, float):
        raise DataTypeError(
            field,
            value,
            "a Decimal, int or numeric string",
            hint=(
                f"floats are not exact; pass Decimal({str(value)!r}) "
                "or convert explicitly with Money.from_float()"
            ),
        )
    else:
        raise DataTypeError(field, value, "a Decimal, int or numeric string")
    if not result.is_finite():
        raise DataError(field, value, "a finite number")
    return check_range(result, field)


class _ExactArithmetic(contextlib.ContextDecorator):
    """A block (or, decorating, a function) in crmcore's decimal context.

    Decimal contexts are per thread: each block, and each call of a decorated
    function, enters a fresh ``localcontext`` of its own.
    """

    def __init__(self) -> None:
        self._block = decimal.localcontext(_SUMS)

    def _recreate_cm(self) -> _ExactArithmetic:
        return _ExactArithmetic()  # one per call: safe across threads

    def __enter__(self) -> decimal.Context:
        return self._block.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._block.__exit__(*exc)  # type: ignore[arg-type]


def exact_arithmetic() -> _ExactArithmetic:
    """Crmcore's own decimal context, for a block or (as a decorator) a function.

    Every calculator runs its arithmetic inside it, so a caller's changed
    context (``getcontext().prec = 3``) never changes a figure: sums and
    products of numbers in range are exact, and a rounding, an invalid
    operation, a division by zero or an overflow raise instead of giving a
    rounded figure, NaN or Infinity. Division keeps 28 significant digits in
    its own context ([`divide`][crmcore.money.divide]).

    Examples:
        >>> import decimal
        >>> with decimal.localcontext() as caller:
        ...     caller.prec = 3
        ...     with exact_arithmetic():
        ...         Decimal(1000) + Decimal("0.01")
        Decimal('1000.01')
        >>> @exact_arithmetic()
        ... def total(amounts):
        ...     return sum(amounts, Decimal(0))
    """
    return _ExactArithmetic()


def divide(numerator: Decimal | int, denominator: Decimal | int) -> Decimal:
    """The one division of crmcore: 28 significant digits, half-even.

    The denominator must not be zero (a ``decimal.DivisionByZero`` otherwise:
    callers decide what an empty denominator means).

    Whole results show no exponent: 1 / 0.02 is ``Decimal('50')``, not
    ``Decimal('5E+1')`` (the same number, written for people). A whole
    quotient wider than 28 digits is exact when the division is (10**40 / 1
    has its 41 digits) and never raises; every quotient is independent of the
    caller's decimal context.

    Examples:
        >>> divide(1, 3)
        Decimal('0.3333333333333333333333333333')
        >>> divide(1, Decimal("0.02"))
        Decimal('50')
    """
    num, den = Decimal(numerator), Decimal(denominator)
    quotient = _DIVISION.divide(num, den)
    if quotient.adjusted() >= _DIVISION.prec:  # whole, and wider than 28 digits
        with exact_arithmetic() as exact:
            if not exact.remainder(num, den):
                return exact.divide_int(num, den)
    # Adding an exact zero writes a positive exponent out (5E+1 is 50) and
    # changes nothing else: the sum is exact in an unbounded context.
    return _EXACT.add(quotient, _ZERO_INT)


def round_to(number: Decimal, places: int) -> Decimal:
    """``number`` rounded half-even to ``places`` digits after the point.

    The one rounding of crmcore's figures (scores, percentages), in its own
    context: the caller's precision never changes it.

    Examples:
        >>> round_to(Decimal("66.665"), 2)
        Decimal('66.66')
        >>> round_to(Decimal("2.5"), 0)
        Decimal('2')
    """
    if type(places) is not int or not 0 <= places <= MAX_DIGITS:
        raise DataError("places", places, f"an int from 0 to {MAX_DIGITS}")
    if not isinstance(number, Decimal):
        raise DataTypeError("number", number, "a Decimal")
    check_range(number, "number")
    return number.quantize(Decimal((0, (1,), -places)), context=_ROUNDING)


def check_range(number: Decimal, field: str = "amount") -> Decimal:
    """``number`` if it has at most ``MAX_DIGITS`` digits on each side of the point.

    Exact sums of numbers in this range stay small, so nothing crmcore adds
    up can cost more memory than its input explains (``1E+999999999`` is a
    valid Decimal of one digit whose sum with 1 has a billion).

    Examples:
        >>> check_range(Decimal("12.50"))
        Decimal('12.50')
        >>> check_range(Decimal("1E+999999999"))
        Traceback (most recent call last):
        ...
        crmcore.errors.DataError: amount: expected a number with at most 100 digits before and after the decimal point, got Decimal('1E+999999999') (Decimal)
    """  # noqa: E501
    if not number.is_finite():
        raise DataError(field, number, "a finite number")
    exponent = number.as_tuple().exponent
    if number.adjusted() < MAX_DIGITS and exponent >= -MAX_DIGITS:  # type: ignore[operator]
        return number
    raise DataError(field, number, _RANGE)


def check_currency(value: object, field: str = "currency") -> str:
    """``value`` if it is an active ISO 4217 code, else an error naming ``field``.

    A non-string is a [`DataTypeError`][crmcore.errors.DataTypeError], an
    unknown or lower-case code a [`DataError`][crmcore.errors.DataError].

    Examples:
        >>> check_currency("EUR")
        'EUR'
        >>> check_currency("eur", "deal.currency")
        Traceback (most recent call last):
        ...
        crmcore.errors.DataError: deal.currency: expected an active ISO 4217 currency code such as 'EUR' or 'USD' (upper case), got 'eur' (str)
    """  # noqa: E501
    if type(value) is str and value in CURRENCY_MINOR_UNITS:
        return value
    if not isinstance(value, str):
        raise DataTypeError(field, value, "an ISO 4217 currency code such as 'EUR'")
    raise DataError(
        field,
        value,
        "an active ISO 4217 currency code such as 'EUR' or 'USD' (upper case)",
    )


def _amount_converter(value: Decimal | int | str) -> Decimal:
    return to_decimal(value, "amount")


@attrs.frozen(repr=False, order=False)
class Money:
    """An exact amount of one currency.

    Attributes:
        amount: The exact amount. Built from a ``Decimal``, ``int`` or numeric
            string; floats are rejected (see
            [`from_float`][crmcore.money.Money.from_float]).
        currency: An active ISO 4217 code, upper case (``"EUR"``).

    Raises:
        DataTypeError: When the amount is a float or not a number at all.
        DataError: When the currency is not an ISO 4217 code, or the amount
            is NaN or infinite.

    Examples:
        >>> Money("12.50", "EUR") + Money(5, "EUR")
        Money('17.50', 'EUR')
        >>> str(Money("1234.5", "USD"))
        '1234.5 USD'
    """

    amount: Decimal = attrs.field(converter=_amount_converter)
    currency: str = attrs.field(validator=lambda _i, _a, v: check_currency(v))

    # -- construction ------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in ``currency``.

        Examples:
            >>> Money.zero("JPY")
            Money('0', 'JPY')
        """
        return cls(Decimal(0), currency)

    @classmethod
    def from_float(cls, value: float, currency: str) -> Money:
        """Convert a float exactly through its shortest ``repr``.

        ``Money.from_float(0.1, "EUR")`` is ``Money('0.1', 'EUR')``: the
        digits you see when you print the float, nothing more.

        Raises:
            DataTypeError: When ``value`` is not a float or int.
            DataError: When ``value`` is NaN or infinite.

        Examples:
            >>> Money.from_float(19.99, "EUR")
            Money('19.99', 'EUR')
        """
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            raise DataTypeError("amount", value, "a float")
        return cls(
            to_decimal(repr(value) if isinstance(value, float) else value), currency
        )

    # -- presentation --------------------------------------------------------
    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    @property
    def minor_unit(self) -> int:
        """Digits after the decimal point of this currency's minor unit."""
        return CURRENCY_MINOR_UNITS[self.currency]

    def rounded(self, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Round to the currency's minor unit (cents, yen, fils...).

        Args:
            rounding: A ``decimal`` rounding mode; banker's rounding
                (``ROUND_HALF_EVEN``) by default.

        Examples:
            >>> Money("2.675", "EUR").rounded()
            Money('2.68', 'EUR')
            >>> Money("2.665", "EUR").rounded()
            Money('2.66', 'EUR')
            >>> Money("1234.5", "JPY").rounded()
            Money('1234', 'JPY')
        """
        exponent = Decimal(1).scaleb(-self.minor_unit)
        return Money(
            self.amount.quantize(exponent, rounding=rounding, context=_EXACT),
            self.currency,
        )

    # -- arithmetic ----------------------------------------------------------
    def _same(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(operation, self.currency, other.currency)

    def _money_operand(self, other: object, operation: str) -> Money:
        if isinstance(other, Money):
            self._same(other, operation)
            return other
        raise DataTypeError(operation, other, f"Money in {self.currency}")

    def __add__(self, other: Money) -> Money:
        other = self._money_operand(other, "addition")
        return Money(_EXACT.add(self.amount, other.amount), self.currency)

    def __radd__(self, other: object) -> Money:
        # Lets the built-in sum() start from its default 0.
        if type(other) is int and other == 0:
            return self
        return self._money_operand(other, "addition") + self

    def __sub__(self, other: Money) -> Money:
        other = self._money_operand(other, "subtraction")
        return Money(_EXACT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(_EXACT.minus(self.amount), self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(_EXACT.abs(self.amount), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        number = to_decimal(factor, "factor")
        return Money(_EXACT.multiply(self.amount, number), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: int | Decimal) -> Money:
        """Divide by a number, keeping 28 significant digits.

        Dividing money by money is deliberately not an operator: use
        [`ratio`][crmcore.money.Money.ratio] so the intent is explicit.
        """
        number = to_decimal(divisor, "divisor")
        if number == 0:
            raise DataError("divisor", divisor, "a non-zero number")
        return Money(_DIVISION.divide(self.amount, number), self.currency)

    def ratio(self, other: Money) -> Decimal:
        """Return ``self / other`` as a ``Decimal`` (28 significant digits).

        Raises:
            CurrencyMismatchError: When the currencies differ.
            DataError: When ``other`` is zero.

        Examples:
            >>> Money("110", "EUR").ratio(Money("100", "EUR"))
            Decimal('1.1')
        """
        other = self._money_operand(other, "ratio")
        if other.amount == 0:
            raise DataError("ratio", other, "a non-zero denominator")
        return _DIVISION.divide(self.amount, other.amount)

    def __bool__(self) -> bool:
        return bool(self.amount)

    # -- ordering --------------------------------------------------------------
    def __lt__(self, other: Money) -> bool:
        return self.amount < self._money_operand(other, "comparison").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._money_operand(other, "comparison").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._money_operand(other, "comparison").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._money_operand(other, "comparison").amount


def sum_money(amounts: Iterable[Money], *, currency: str | None = None) -> Money:
    """Add up amounts of one currency exactly, in one streaming pass.

    Args:
        amounts: Any iterable of [`Money`][crmcore.money.Money], including a
            generator.
        currency: The expected currency. Required when ``amounts`` may be
            empty, because an empty sum has no currency of its own.

    Returns:
        The exact total.

    Raises:
        CurrencyMismatchError: When two currencies meet (or an amount is not in
            ``currency``).
        DataError: When ``amounts`` is empty and no ``currency`` was given.
        DataTypeError: When an item is not ``Money``.

    Examples:
        >>> sum_money([Money("0.1", "EUR")] * 3)
        Money('0.3', 'EUR')
        >>> sum_money([], currency="EUR")
        Money('0', 'EUR')
    """
    if currency is not None:
        check_currency(currency)
    if isinstance(amounts, str | bytes | Mapping) or not isinstance(amounts, Iterable):
        raise DataTypeError("amounts", amounts, "an iterable of Money")
    total = Decimal(0)
    # ``+=`` inside the exact context is faster than calling _EXACT.add per item.
    with decimal.localcontext(_EXACT):
        for index, item in enumerate(amounts):
            if type(item) is not Money and not isinstance(item, Money):
                raise DataTypeError(f"amounts[{index}]", item, "Money")
            if currency is None:
                currency = item.currency
            elif item.currency != currency:
                raise CurrencyMismatchError(
                    f"amounts[{index}]", currency, item.currency
                )
            total += item.amount
    if currency is None:
        raise DataError(
            "amounts",
            [],
            "at least one amount, or currency= for an empty sum",
        )
    return Money(total, currency)
