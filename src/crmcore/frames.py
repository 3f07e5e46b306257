"""DataFrames in, DataFrames out: the optional pandas bridge.

Install it with ``pip install "crmcore[pandas]"``. Only this module imports
pandas; ``import crmcore`` never does.

Rows go in through [`records`][crmcore.frames.records], which streams plain
dicts in chunks and converts each column *explicitly*: float columns become
exact ``Decimal`` (through the float's shortest repr, so ``0.1`` is
``Decimal('0.1')``), timezone-aware datetime columns become ``datetime``,
numpy integers become ``int``, and missing values (``NaN``, ``NaT``, ``NA``)
become ``None``. A naive datetime column is an error: crmcore never guesses a
time zone. Results come out through [`to_frame`][crmcore.frames.to_frame],
with Decimal columns as floats unless ``exact=True``.

Examples:
    >>> import pandas as pd
    >>> from crmcore.kpis import WinRate
    >>> deals = pd.DataFrame({
    ...     "outcome": ["won", "lost", "won"],
    ...     "created_at": pd.to_datetime(["2026-01-02"] * 3, utc=True),
    ...     "closed_at": pd.to_datetime(["2026-02-01"] * 3, utc=True),
    ...     "amount": [1200.5, 800.0, 99.5],
    ...     "currency": "EUR",
    ...     "owner": ["ana", "ben", "ana"],
    ... })
    >>> kpi_frame(WinRate(), deals, per="owner")[["group", "value"]]
      group  value
    0   ana    1.0
    1   ben    0.0
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

try:
    import pandas as pd
except ImportError as error:
    raise ImportError(
        "crmcore.frames needs pandas: pip install 'crmcore[pandas]'"
    ) from error

from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import Accumulator, GroupKey, grouped
from crmcore.kpis.report import kpi_report
from crmcore.money import Money

__all__ = ["kpi_frame", "records", "report_frame", "to_frame"]

_CHUNK: Final = 65_536
_AUTO_MONEY: Final = {"mrr": "currency"}


def _check_frame(frame: object, field: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataTypeError(field, frame, "a pandas DataFrame")
    for column in frame.columns:
        if not isinstance(column, str):
            raise DataTypeError(f"{field}.columns", column, "a column name (str)")
    if not frame.columns.is_unique:
        raise DataError(f"{field}.columns", list(frame.columns), "unique column names")
    return frame


def _missing_to_none(series: pd.Series, values: list[Any]) -> list[Any]:
    mask = series.isna().to_numpy()
    if mask.any():
        for index in mask.nonzero()[0]:
            values[index] = None
    return values


def _column(series: pd.Series, name: str) -> list[Any]:
    """One column as plain Python values, converted explicitly."""
    kind = series.dtype.kind
    if kind == "M":
        if getattr(series.dtype, "tz", None) is None:
            raise DataError(
                name,
                str(series.dtype),
                "a timezone-aware datetime column "
                "(e.g. frame[col].dt.tz_localize('UTC'))",
            )
        values: list[Any] = list(series.dt.to_pydatetime())
    elif kind == "m":
        return [
            None if value is pd.NaT else value.to_pytimedelta()
            for value in series.tolist()
        ]
    elif kind == "f":
        values = [Decimal(repr(value)) for value in series.tolist()]
        for index, value in enumerate(values):
            if not value.is_finite():
                values[index] = None
                if not value.is_nan():
                    raise DataError(name, str(value), "a finite number or NaN")
        return values
    else:
        values = series.tolist()
    return _missing_to_none(series, values)


def _money_columns(
    frame: pd.DataFrame, money: Mapping[str, str] | None
) -> dict[str, str]:
    if money is None:
        return {
            amount: currency
            for amount, currency in _AUTO_MONEY.items()
            if amount in frame.columns
            and currency in frame.columns
            and frame[amount].dtype.kind in "iuf"
        }
    if not isinstance(money, Mapping):
        raise DataTypeError(
            "money", money, "a mapping of amount column to currency column"
        )
    for amount, currency in money.items():
        for column in (amount, currency):
            if column not in frame.columns:
                raise DataError("money", column, "a column of the frame")
    return dict(money)


def records(
    frame: pd.DataFrame,
    *,
    money: Mapping[str, str] | None = None,
    chunk: int = _CHUNK,
) -> Iterator[dict[str, Any]]:
    """Stream a DataFrame's rows as plain dicts that every KPI reads.

    Args:
        frame: Any DataFrame with string column names.
        money: Amount column to currency column, for columns that become
            [`Money`][crmcore.money.Money] (subscriptions' ``mrr``). Default:
            ``{"mrr": "currency"}`` when both columns exist and ``mrr`` is
            numeric; ``{}`` turns that off.
        chunk: Rows converted at a time (memory stays bounded).

    Raises:
        DataTypeError: For something that is not a DataFrame.
        DataError: For a naive datetime column, an infinite number or a
            ``money`` column the frame lacks.
    """
    frame = _check_frame(frame, "frame")
    pairs = _money_columns(frame, money)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise DataError("chunk", chunk, "a positive number of rows")
    names = list(frame.columns)
    return _rows(frame, names, pairs, chunk)


def _rows(
    frame: pd.DataFrame, names: list[str], pairs: dict[str, str], chunk: int
) -> Iterator[dict[str, Any]]:
    for first in range(0, len(frame), chunk):
        part = frame.iloc[first : first + chunk]
        columns = {name: _column(part[name], name) for name in names}
        for amount, currency in pairs.items():
            columns[amount] = [
                None if value is None else Money(value, code)
                for value, code in zip(columns[amount], columns[currency], strict=True)
            ]
        for values in zip(*columns.values(), strict=True):
            yield dict(zip(names, values, strict=True))


def _plain_cell(value: object, exact: bool) -> object:
    if isinstance(value, Decimal) and not exact:
        return float(value)
    return value


def to_frame(result: object, *, exact: bool = False) -> pd.DataFrame:
    """Any crmcore result as a DataFrame.

    Takes a [`KpiResult`][crmcore.kpis.KpiResult], a list of them, or
    anything with ``to_rows()`` (grouped results, cohort tables, the KPI
    report) or ``to_dict()`` (goal statuses).

    Args:
        result: The result(s).
        exact: Keep Decimal cells (object columns) instead of floats.
    """
    if hasattr(result, "to_rows"):
        rows = result.to_rows()
    elif hasattr(result, "to_dict"):
        rows = [result.to_dict()]
    elif isinstance(result, Iterable) and not isinstance(result, (str, bytes)):
        items = list(result)
        for index, item in enumerate(items):
            if not hasattr(item, "to_dict"):
                raise DataTypeError(f"result[{index}]", item, "a KpiResult")
        rows = [item.to_dict() for item in items]
    else:
        raise DataTypeError(
            "result", result, "a KpiResult, a list of them, or a grouped result"
        )
    return pd.DataFrame(
        [{key: _plain_cell(value, exact) for key, value in row.items()} for row in rows]
    )


def kpi_frame(
    kpi: Accumulator[Any],
    frame: pd.DataFrame,
    *,
    per: GroupKey | None = None,
    money: Mapping[str, str] | None = None,
    exact: bool = False,
) -> pd.DataFrame:
    """Run any KPI accumulator over a DataFrame; return its result as a frame.

    ``kpi`` is a template: it is not changed (an empty copy does the work).
    With ``per`` (as for [`grouped`][crmcore.kpis.grouped]) there is one row
    per group. ``money`` is as for [`records`][crmcore.frames.records].
    """
    rows = records(frame, money=money)
    fresh = kpi.empty()
    result: Any = (
        fresh.update(rows).result() if per is None else grouped(fresh, rows, per)
    )
    return to_frame(result, exact=exact)


def report_frame(
    period: Any,
    *,
    deals: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    subscriptions: pd.DataFrame | None = None,
    spend: pd.DataFrame | None = None,
    exact: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """[`kpi_report`][crmcore.kpis.kpi_report] over DataFrames, as a DataFrame.

    One row per KPI, with its ``section`` and ``key``; ``options`` are those
    of [`kpi_report`][crmcore.kpis.kpi_report].
    """

    def feed(frame: pd.DataFrame | None, name: str) -> Iterator[dict[str, Any]] | None:
        return None if frame is None else records(_check_frame(frame, name))

    report = kpi_report(
        period,
        deals=feed(deals, "deals"),
        leads=feed(leads, "leads"),
        subscriptions=feed(subscriptions, "subscriptions"),
        spend=feed(spend, "spend"),
        **options,
    )
    return to_frame(report, exact=exact)
