"""DataFrames in, DataFrames out: pandas and polars, read column by column.

Install one of the extras: ``pip install "crmcore[pandas]"`` or
``pip install "crmcore[polars]"``. Only this module imports them (lazily,
when a frame of that library arrives or a result is asked for in it);
``import crmcore`` never does.

A frame is read in chunks of rows, each column once per chunk and in bulk,
into [`Columns`][crmcore.records.Columns] batches that every accumulator
takes (the deal KPIs and grouping read the columns directly). The
conversion of each column is explicit and the same for both libraries:

* **instants**: a timezone-aware datetime column becomes integer
  microseconds (UTC) in one vectorised step. A naive datetime column is an
  error unless ``tz=`` names the zone its wall times are in: crmcore never
  guesses a time zone. Text columns named in ``instants=`` are parsed as
  ISO 8601 (``2026-03-01T09:30:00+01:00``, ``...Z``, ``2026-03-01``); text
  without an offset is read in ``tz``, and a wall time that does not exist
  or is ambiguous in that zone is an error naming the column and the value;
* **numbers**: integers stay exact ``int``; a float column becomes exact
  ``Decimal`` at the column's scale, the fewest decimal places (up to 9)
  that hold every value of the chunk exactly (``0.1`` is ``Decimal('0.1')``,
  ``[1200.0, 99.5]`` are ``1200.0`` and ``99.5``), through scaled integers;
  a column no scale holds goes value by value through the shortest repr;
  ``Decimal`` columns (polars) stay as they are; infinities are an error;
* **missing values** (``NaN``, ``NaT``, ``None``, ``pd.NA``, polars nulls)
  become ``None``; categorical columns become their values;
* **money**: ``money={"mrr": "currency"}`` joins an amount column and a
  currency column into [`Money`][crmcore.money.Money] (the default when a
  numeric ``mrr`` and a ``currency`` column exist).

``columns={"outcome": "status"}`` reads crmcore's field ``outcome`` from the
frame's column ``status`` (and so on for every renamed field).

Results come back as frames of the input's library
([`to_frame`][crmcore.frames.to_frame] takes ``library=``): one row per
KPI or group, ``Decimal`` values as floats unless ``exact=True``, and groups
of calendar periods typed as periods (pandas ``Period``; polars: the
period's first instant, with its label in ``group_label``).

Examples:
    >>> import pandas as pd
    >>> from crmcore.kpis import WinRate
    >>> deals = pd.DataFrame({
    ...     "status": ["won", "lost", "won"],
    ...     "created_at": pd.to_datetime(["2026-01-02"] * 3, utc=True),
    ...     "closed_at": pd.to_datetime(["2026-02-01"] * 3, utc=True),
    ...     "amount": [1200.5, 800.0, 99.5],
    ...     "currency": "EUR",
    ...     "owner": ["ana", "ben", "ana"],
    ... })
    >>> kpi_frame(WinRate(), deals, per="owner", columns={"outcome": "status"})[
    ...     ["group", "value"]]
      group  value
    0   ana    1.0
    1   ben    0.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import chain
from typing import Any, Final, Literal, TypeAlias

from crmcore.access import Columns, from_micros, to_micros
from crmcore.calendar import Period, period_of, resolve_zone
from crmcore.errors import DataError, DataTypeError, import_extra
from crmcore.kpis import (
    Accumulator,
    Grouped,
    GroupedResult,
    GroupKey,
    HeadlineKpis,
    PeriodKey,
)
from crmcore.money import Money, exact_arithmetic

__all__ = [
    "Library",
    "batches",
    "cohort_matrix",
    "kpi_frame",
    "records",
    "report_frame",
    "to_frame",
]

Library: TypeAlias = Literal["pandas", "polars"]
"""The frame libraries crmcore reads and writes."""

_CHUNK: Final = 65_536
_AUTO_MONEY: Final = {"mrr": "currency"}
# Fields the KPI loops sum as scaled integers (the deal amount).
_BULK_DECIMALS: Final = frozenset({"amount"})
_MAX_PLACES: Final = 9
# Scaled floats stay below 2**52, so at most one decimal of that many
# places rounds to each float: the scaled integer is the float's decimal.
_EXACT_LIMIT: Final = float(2**52)
# How many of a column's first values are tried at each scale before all.
_PROBE: Final = 1024
_EXTRAS: Final = {"pandas": "pandas", "polars": "polars"}


def _import(library: str) -> Any:
    """The frame library (or numpy), or an error naming the extra to install."""
    return import_extra(library, _EXTRAS.get(library, "polars"))


def _library_of(frame: object, field: str) -> Library:
    """Which library a frame is from (never importing one that is not in use)."""
    module = type(frame).__module__.split(".")[0]
    if module == "pandas" and type(frame).__name__ == "DataFrame":
        return "pandas"
    if module == "polars" and type(frame).__name__ == "DataFrame":
        return "polars"
    if module == "polars" and type(frame).__name__ == "LazyFrame":
        raise DataTypeError(
            field, frame, "a polars DataFrame (collect the LazyFrame first)"
        )
    raise DataTypeError(field, frame, "a pandas or polars DataFrame")


def _check_library(library: object) -> Library:
    if library not in ("pandas", "polars"):
        raise DataError("library", library, "'pandas' or 'polars'")
    return library


# ---------------------------------------------------------------------------
# Reading: one column at a time, in bulk
# ---------------------------------------------------------------------------
def _scaled_floats(values: Any, name: str) -> tuple[Any, Any, int] | None:
    """A float64 array as exact scaled integers, if a scale up to 9 holds it.

    Returns ``(integers, missing, places)`` (numpy arrays; NaN is missing,
    its integer 0), or ``None`` when no scale up to ``_MAX_PLACES`` holds
    every value exactly.
    """
    np = _import("numpy")
    missing = np.isnan(values)
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(name, str(values[infinite.argmax()]), "a finite number or NaN")
    gaps = bool(missing.any())
    present = values[~missing] if gaps else values
    magnitude = float(np.abs(present).max()) if present.size else 0.0
    head = present[:_PROBE]
    for places in range(_MAX_PLACES + 1):
        scale = 10.0**places
        if magnitude * scale >= _EXACT_LIMIT:
            break
        # A scale the first values refute costs no pass over the column.
        if not np.array_equal(np.rint(head * scale) / scale, head):
            continue
        scaled = np.rint(present * scale)
        if np.array_equal(scaled / scale, present):
            if not gaps:
                return scaled.astype(np.int64), missing, places
            full = np.zeros(values.shape, dtype=np.int64)
            full[~missing] = scaled.astype(np.int64)
            return full, missing, places
    return None


def _isnan(values: Any) -> list[bool]:
    """Which values of a float array are NaN."""
    missing: list[bool] = _import("numpy").isnan(values).tolist()
    return missing


def _exact_floats(values: Any, name: str) -> tuple[list[Any], int | None]:
    """A float64 array as exact scaled integers and their places, if one fits.

    Returns ``(integers, places)``, or ``(Decimals, None)`` when no scale up
    to ``_MAX_PLACES`` holds every value (then each goes through its
    shortest repr). NaN becomes ``None``.
    """
    found = _scaled_floats(values, name)
    if found is not None:
        full, missing, places = found
        return _with_none(full.tolist(), missing), places
    return [
        None if gap else Decimal(repr(value))
        for value, gap in zip(values.tolist(), _isnan(values), strict=True)
    ], None


def _decimals(integers: list[Any], places: int) -> list[Any]:
    """Scaled integers as the Decimals rows show."""
    return [None if v is None else Decimal(v).scaleb(-places) for v in integers]


def _parse_instants(values: Sequence[Any], name: str, tz: str | None) -> list[Any]:
    """ISO 8601 texts (or datetimes) as integer microseconds since the epoch."""
    zone = None if tz is None else resolve_zone(tz)
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        if isinstance(value, str):
            text = value.strip()
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise DataError(
                    name, value, "an ISO 8601 instant (2026-03-01T09:30:00+01:00)"
                ) from None
        elif isinstance(value, datetime):
            parsed = value
        else:
            raise DataTypeError(name, value, "an ISO 8601 text or a datetime")
        if parsed.tzinfo is None:
            if zone is None:
                raise DataError(
                    name,
                    value,
                    "an instant with an offset (or give tz= for wall times)",
                )
            parsed = _localize(parsed, zone, name, value)
        out.append(to_micros(parsed))
    return out


def _localize(wall: datetime, zone: Any, name: str, value: object) -> datetime:
    """A wall time in ``zone``; an error when it is skipped or ambiguous."""
    early = wall.replace(tzinfo=zone, fold=0)
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise DataError(name, value, f"a wall time that exists in {zone}")
    if early.utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset():
        raise DataError(name, value, f"a wall time that is not ambiguous in {zone}")
    return early


def _wall_times(
    series: Any, name: str, tz: str | None, localize: Callable[[Any, str], Any]
) -> Any:
    """A naive datetime column read in the zone ``tz`` names (never guessed)."""
    if tz is None:
        raise DataError(
            name,
            str(series.dtype),
            "a timezone-aware datetime column, or tz= naming the zone "
            "of its wall times",
        )
    try:
        return localize(series, tz)
    except Exception as error:  # the frame library raises its own types here
        raise DataError(
            name, str(error), f"wall times that exist once in {tz}"
        ) from None


def _pandas_column(
    series: Any, name: str, *, parse: bool, tz: str | None
) -> tuple[list[Any], str | None, int | None]:
    """One pandas column as (values, bulk form, places)."""
    pd = _import("pandas")
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    kind = dtype.kind
    if kind == "M":
        ints, missing = _pandas_micros(series, name, tz)
        return _with_none(ints.tolist(), missing), "micros", None
    if kind == "f":
        values, places = _exact_floats(series.to_numpy(dtype=float), name)
        return values, None if places is None else "decimals", places
    missing = series.isna().to_numpy()
    if kind == "m":
        return (
            [
                None if gap else value.to_pytimedelta()
                for value, gap in zip(series.tolist(), missing.tolist(), strict=True)
            ],
            None,
            None,
        )
    # Integers and booleans (nullable ones hold pd.NA), objects and strings.
    values = _with_none(series.tolist(), missing)
    if parse and kind not in "iub":
        return _parse_instants(values, name, tz), "micros", None
    return values, None, None


def _pandas_micros(series: Any, name: str, tz: str | None) -> tuple[Any, Any]:
    """A pandas datetime column as int64 microseconds (UTC) and its missing mask.

    Naive wall times are read in ``tz`` (an error without it).
    """
    np = _import("numpy")
    if getattr(series.dtype, "tz", None) is None:
        series = _wall_times(
            series,
            name,
            tz,
            lambda s, zone: s.dt.tz_localize(
                zone, ambiguous="raise", nonexistent="raise"
            ),
        )
    missing = series.isna().to_numpy()
    ints = series.dt.tz_convert("UTC").dt.as_unit("us").array.asi8
    return np.where(missing, 0, ints), missing


def _polars_micros(series: Any, name: str, tz: str | None) -> tuple[Any, Any]:
    """A polars datetime column as int64 microseconds (UTC) and its missing mask."""
    if series.dtype.time_zone is None:
        series = _wall_times(
            series,
            name,
            tz,
            lambda s, zone: s.dt.replace_time_zone(
                zone, ambiguous="raise", non_existent="raise"
            ),
        )
    epoch = series.dt.convert_time_zone("UTC").dt.epoch("us")
    return epoch.fill_null(0).to_numpy(), epoch.is_null().to_numpy()


def _polars_column(
    series: Any, name: str, *, parse: bool, tz: str | None
) -> tuple[list[Any], str | None, int | None]:
    """One polars column as (values, bulk form, places)."""
    pl = _import("polars")
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        ints, missing = _polars_micros(series, name, tz)
        return _with_none(ints.tolist(), missing), "micros", None
    if dtype.is_float():
        np = _import("numpy")
        array = series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        values, places = _exact_floats(np.asarray(array, dtype=float), name)
        return values, None if places is None else "decimals", places
    if isinstance(dtype, pl.Categorical | pl.Enum):
        series = series.cast(pl.String)
    values = series.to_list()
    if parse and series.dtype == pl.String:
        return _parse_instants(values, name, tz), "micros", None
    return values, None, None


def _with_none(values: list[Any], missing: Any) -> list[Any]:
    if missing.any():
        for index in missing.nonzero()[0].tolist():
            values[index] = None
    return values


def _plan(
    frame: Any,
    library: Library,
    columns: Mapping[str, str] | None,
    instants: Iterable[str],
    money: Mapping[str, str] | None,
) -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    """Field name to frame column, the fields to parse, the money pairs."""
    names = list(frame.columns)
    for column in names:
        if not isinstance(column, str):
            raise DataTypeError("frame.columns", column, "a column name (str)")
    if len(set(names)) != len(names):
        raise DataError("frame.columns", names, "unique column names")
    if columns is None:
        columns = {}
    if not isinstance(columns, Mapping):
        raise DataTypeError(
            "columns", columns, "a mapping of crmcore field to frame column"
        )
    renamed = {column: field for field, column in columns.items()}
    for field, column in columns.items():
        if column not in names:
            raise DataError(
                f"columns.{field}", column, f"a column of the frame: {names}"
            )
    fields = {renamed.get(column, column): column for column in names}
    if len(fields) != len(names):
        raise DataError(
            "columns", dict(columns), "renamings that keep field names unique"
        )
    if isinstance(instants, str) or not isinstance(instants, Iterable):
        raise DataTypeError("instants", instants, "a list of field names")
    parse = frozenset(instants)
    for field in sorted(parse, key=str):
        if field not in fields:
            raise DataError("instants", field, f"a field of the frame: {list(fields)}")
    if money is None:
        numeric = _numeric(frame, library)
        pairs = {
            amount: currency
            for amount, currency in _AUTO_MONEY.items()
            if amount in fields and currency in fields and fields[amount] in numeric
        }
    elif not isinstance(money, Mapping):
        raise DataTypeError(
            "money", money, "a mapping of amount field to currency field"
        )
    else:
        for amount, currency in money.items():
            for field in (amount, currency):
                if field not in fields:
                    raise DataError("money", field, "a field of the frame")
        pairs = dict(money)
    return fields, parse, pairs


def _numeric(frame: Any, library: Library) -> set[str]:
    """The columns of numbers (Decimal objects too: pandas from Parquet)."""
    if library == "polars":
        return {c for c in frame.columns if frame[c].dtype.is_numeric()}
    found = set()
    for column in frame.columns:
        series = frame[column]
        if series.dtype.kind in "iuf":
            found.add(column)
        elif series.dtype.kind == "O":
            present = series.dropna()
            if len(present) and isinstance(present.iloc[0], Decimal):
                found.add(column)
    return found


def batches(
    frame: Any,
    *,
    columns: Mapping[str, str] | None = None,
    instants: Iterable[str] = (),
    tz: str | None = None,
    money: Mapping[str, str] | None = None,
    chunk: int = _CHUNK,
    fields: Iterable[str] | None = None,
) -> Iterator[Columns]:
    """Read a pandas or polars frame as [`Columns`][crmcore.records.Columns] batches.

    Each batch holds ``chunk`` rows; each column is converted once per batch
    and in bulk, as the module describes. Pass the batches to any
    accumulator's ``update`` (or to a grouped one); the results equal those
    over the rows of [`records`][crmcore.frames.records].

    Args:
        frame: A pandas or polars DataFrame with string column names.
        columns: crmcore field name to frame column name, for renamed
            fields (``{"outcome": "status"}``).
        instants: Fields (after renaming) holding ISO 8601 texts to parse.
        tz: IANA zone of naive datetimes and of texts without an offset.
        money: Amount field to currency field, for fields that become
            [`Money`][crmcore.money.Money]. Default: ``{"mrr": "currency"}``
            when both exist and ``mrr`` is numeric; ``{}`` turns it off.
        chunk: Rows per batch (memory stays bounded).
        fields: Only the columns of these top-level fields (after renaming)
            are read; ``None`` reads every column. ``kpi_frame`` passes the
            fields its KPI reads (``Kpi.fields``), so wide frames cost only
            the columns a figure needs.

    Raises:
        DataTypeError: For something that is not a frame, or a bad option.
        DataError: For a naive datetime column without ``tz``, an
            unparseable instant, an infinite number, or a renamed or money
            column the frame lacks.
    """
    library = _library_of(frame, "frame")
    if tz is not None:
        resolve_zone(tz)
    found, parse, pairs = _plan(frame, library, columns, instants, money)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise DataError("chunk", chunk, "a positive number of rows")
    if fields is not None:
        if isinstance(fields, str) or not isinstance(fields, Iterable):
            raise DataTypeError("fields", fields, "a collection of field names")
        wanted = set(fields)
        wanted.update(
            part for pair in pairs.items() if pair[0] in wanted for part in pair
        )
        found = {f: c for f, c in found.items() if f.split(".")[0] in wanted}
        pairs = {a: c for a, c in pairs.items() if a in found}
    return _batches(
        frame, library, fields=found, parse=parse, pairs=pairs, tz=tz, chunk=chunk
    )


def _batches(
    frame: Any,
    library: Library,
    *,
    fields: dict[str, str],
    parse: frozenset[str],
    pairs: dict[str, str],
    tz: str | None,
    chunk: int,
) -> Iterator[Columns]:
    convert = _pandas_column if library == "pandas" else _polars_column
    height = len(frame)
    for first in range(0, height, chunk):
        part = (
            frame.iloc[first : first + chunk]
            if library == "pandas"
            else frame.slice(first, chunk)
        )
        data: dict[str, list[Any]] = {}
        micros: list[str] = []
        decimals: dict[str, int] = {}
        for field, column in fields.items():
            values, form, places = convert(
                part[column], field, parse=field in parse, tz=tz
            )
            if form == "decimals" and (field not in _BULK_DECIMALS or field in pairs):
                assert places is not None  # a decimals form always has places
                values, form = _decimals(values, places), None
            if form == "micros":
                micros.append(field)
            elif form == "decimals":
                assert places is not None
                decimals[field] = places
            data[field] = values
        for amount, currency in pairs.items():
            data[amount] = [
                None if value is None else Money(value, code)
                for value, code in zip(data[amount], data[currency], strict=True)
            ]
        yield Columns(
            data, micros=micros, decimals=decimals, length=min(chunk, height - first)
        )


# ---------------------------------------------------------------------------
# Bulk: the deal KPIs from whole arrays
# ---------------------------------------------------------------------------
_BULK_CHUNK: Final = 1 << 20
_OUTCOMES: Final = {"open": 0, "won": 1, "lost": 2}


def _all_missing(series: Any, library: Library) -> bool:
    """Whether every value of a column is missing (its type then says nothing)."""
    if library == "pandas":
        return bool(series.isna().all())
    return bool(series.null_count() == len(series))


def _constant_text(series: Any, library: Library) -> str | None:
    """The one text of a column without missing values that holds only it.

    A cheap first look (a single comparison) before coding a column by its
    distinct values: most currency columns hold one currency. Called after
    ``_all_missing``, so the column has a first value.
    """
    if library == "pandas":
        pd = _import("pandas")
        if isinstance(series.dtype, pd.CategoricalDtype) or series.hasnans:
            return None
        first = series.iloc[0]
    else:
        if series.dtype != _import("polars").String or series.null_count():
            return None
        first = series[0]
    if type(first) is not str or not bool((series == first).all()):
        return None
    return first


def _outcomes(series: Any, library: Library) -> Any:
    """Outcome codes (0 open, 1 won, 2 lost, -1 anything else), or ``None``."""
    np = _import("numpy")
    if library == "polars":
        pl = _import("polars")
        if isinstance(series.dtype, pl.Categorical | pl.Enum):
            series = series.cast(pl.String)
        if series.dtype == pl.String:
            # One expression of three comparisons: cheaper than coding by
            # distinct values.
            value = pl.col("outcome")
            coded = pl.lit(-1, dtype=pl.Int64)
            for label, code in reversed(_OUTCOMES.items()):
                coded = pl.when(value == label).then(code).otherwise(coded)
            found = series.alias("outcome").to_frame().select(coded).to_series()
            return np.asarray(found.to_numpy(), dtype=np.int64)
    coded = _coded(series, library)
    if coded is None:
        return None
    codes, labels = coded
    table = np.array(
        [_OUTCOMES.get(label, -1) for label in labels] + [-1], dtype=np.int64
    )
    return table[codes]


def _coded(series: Any, library: Library) -> Any:
    """A text column as ``(codes, labels)``, or ``None`` for another kind.

    Codes are int64 positions in ``labels``; -1 is a missing value.
    """
    np = _import("numpy")
    if _all_missing(series, library):
        return np.full(len(series), -1, dtype=np.int64), []
    constant = _constant_text(series, library)
    if constant is not None:
        return np.zeros(len(series), dtype=np.int64), [constant]
    if library == "pandas":
        pd = _import("pandas")
        dtype = series.dtype
        if not (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(dtype)
        ):
            return None
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        labels = list(uniques)
        if not all(type(label) is str for label in labels):
            return None  # objects of other kinds: the rows explain them
        return np.asarray(codes, dtype=np.int64), labels
    pl = _import("polars")
    if isinstance(series.dtype, pl.Categorical | pl.Enum):
        series = series.cast(pl.String)
    if series.dtype != pl.String:
        return None
    codes, labels = _polars_codes(pl, np, series)
    if None in labels:
        codes = np.where(codes == labels.index(None), -1, codes)
    return codes, labels


def _instants(
    series: Any, name: str, library: Library, *, parse: bool, tz: str | None
) -> Any:
    """Instants as ``(micros, missing)`` arrays, or ``None`` for another kind."""
    np = _import("numpy")
    if _all_missing(series, library):
        return np.zeros(len(series), np.int64), np.ones(len(series), bool)
    if library == "pandas":
        if series.dtype.kind == "M":
            return _pandas_micros(series, name, tz)
    elif isinstance(series.dtype, _import("polars").Datetime):
        return _polars_micros(series, name, tz)
    if not parse:
        return None
    convert = _pandas_column if library == "pandas" else _polars_column
    values, form, _ = convert(series, name, parse=True, tz=tz)
    if form != "micros":  # integers are never parsed: the rows explain them
        return None
    missing = np.array([v is None for v in values], dtype=bool)
    micros = np.array([0 if v is None else v for v in values], dtype=np.int64)
    return micros, missing


def _scaled(series: Any, name: str, library: Library) -> Any:
    """Exact numbers as ``(units, missing, places)``, or ``None`` for another kind."""
    np = _import("numpy")
    if _all_missing(series, library):
        size = len(series)
        return np.zeros(size, np.int64), np.ones(size, bool), 0
    if library == "pandas":
        kind = series.dtype.kind
        if kind == "f":
            return _scaled_floats(series.to_numpy(dtype=float), name)
        if kind == "i":
            missing = series.isna().to_numpy()
            units = series.to_numpy(dtype=np.int64, na_value=0)
            return units, missing, 0
        return None  # unsigned, booleans, Decimal objects: the rows read them
    pl = _import("polars")
    dtype = series.dtype
    if dtype.is_float():
        array = series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        return _scaled_floats(np.asarray(array, dtype=float), name)
    if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.Int64):
        missing = series.is_null().to_numpy()
        units = series.cast(pl.Int64).fill_null(0).to_numpy()
        return units, missing, 0
    return None


def _deal_arrays(  # noqa: PLR0917 - the reading options, as _count_in_bulk has them
    frame: Any,
    library: Library,
    fields: Mapping[str, str],
    parse: frozenset[str],
    tz: str | None,
    facts: Any,
) -> Any:
    """The deals of a frame as the arrays ``DealFacts.count_arrays`` takes.

    Only the columns ``facts`` reads, each in bulk; ``None`` when a column
    is of a kind the kernel does not read (the record loop reads the rows).
    """
    read = ["outcome", "created_at", "amount", "currency", "closed_at"]
    if facts.forecast:
        read += ["stage", "probability"]
    if facts.exclude:
        read.append("lost_reason")
    if any(f.split(".")[0] in read and "." in f for f in fields) or not all(
        f in fields for f in read[:4]
    ):
        return None  # nested or missing fields: the rows explain them

    def column(field: str) -> Any:
        return frame[fields[field]]

    outcome = _outcomes(column("outcome"), library)
    currency = _coded(column("currency"), library)
    amount = _scaled(column("amount"), "amount", library)
    created = _instants(
        column("created_at"),
        "created_at",
        library,
        parse="created_at" in parse,
        tz=tz,
    )
    optional: dict[str, Any] = {}
    readers: tuple[tuple[str, Callable[[Any, str], Any]], ...] = (
        ("closed_at", lambda s, f: _instants(s, f, library, parse=f in parse, tz=tz)),
        ("stage", lambda s, _: _coded(s, library)),
        ("probability", lambda s, f: _scaled(s, f, library)),
        ("lost_reason", lambda s, _: _coded(s, library)),
    )
    for field, reader in readers:
        if field in read and field in fields:
            optional[field] = reader(column(field), field)
            if optional[field] is None:
                return None
    if outcome is None or currency is None or amount is None or created is None:
        return None
    return {
        "outcome": outcome,
        "created_at": created,
        "amount": amount,
        "currency": currency,
        **optional,
    }


def _bulk_facts(acc: Any) -> Any:
    """The facts of an accumulator that counts arrays in bulk, or ``None``.

    Facts that count arrays (the deal facts) offer ``count_arrays``; an
    accumulator with a ``where`` filter reads rows.
    """
    facts = getattr(acc, "facts", None)
    options = getattr(acc, "options", None)
    if not callable(getattr(facts, "count_arrays", None)) or not isinstance(
        options, Mapping
    ):
        return None
    return None if options.get("where") is not None else facts


def _count_in_bulk(
    frame: Any,
    library: Library,
    reading: Mapping[str, Any],
    template: Any,
    groups: Callable[[int, int], tuple[Any, list[Any]]] | None = None,
) -> bool:
    """Count a frame's deals with the kernel: all of them, or none.

    ``template`` is deal facts with the options of every accumulator the
    deals go to (it says which columns to read); without ``groups`` they
    go to the template itself. The frame is read in chunks of
    ``_BULK_CHUNK`` rows; ``groups(first, size)`` gives each row's group in
    the chunk that begins at row ``first`` and the facts of each group
    (``None`` for a group no row of the chunk has). The chunks are counted
    into fresh facts, added to their owners only when every chunk counted.
    ``False``: nothing changed, and the record loop must run (it explains
    a bad row).
    """
    if set(reading) - {"columns", "instants", "tz", "money", "chunk"}:
        return False  # batches() explains the unknown option
    fields, parse, pairs = _plan(
        frame,
        library,
        reading.get("columns"),
        reading.get("instants", ()),
        reading.get("money"),
    )
    tz = reading.get("tz")
    chunk = reading.get("chunk", _CHUNK)
    if "amount" in pairs or isinstance(chunk, bool) or not isinstance(chunk, int):
        return False  # money amounts are read by the rows; batches() explains
    if chunk < 1:
        return False
    if tz is not None:
        resolve_zone(tz)
    fresh: dict[int, tuple[Any, Any]] = {}

    def held(owner: Any) -> Any:
        if owner is None:
            return None
        found = fresh.get(id(owner))
        if found is None:
            found = fresh[id(owner)] = (owner, owner.cleared())
        return found[1]

    height = len(frame)
    with exact_arithmetic():
        for first in range(0, height, _BULK_CHUNK):
            part = (
                frame.iloc[first : first + _BULK_CHUNK]
                if library == "pandas"
                else frame.slice(first, _BULK_CHUNK)
            )
            arrays = _deal_arrays(part, library, fields, parse, tz, template)
            if arrays is None:
                return False
            if groups is None:
                counted = held(template).count_arrays(arrays)
            else:
                codes, owners = groups(first, len(arrays["outcome"]))
                counted = template.count_arrays(
                    arrays, codes, [held(owner) for owner in owners]
                )
            if not counted:
                return False
        for owner, facts in fresh.values():
            owner.absorb(facts)
    return True


def records(frame: Any, **reading: Any) -> Iterator[dict[str, Any]]:
    """Stream a frame's rows as plain dicts that every KPI reads.

    The rows of [`batches`][crmcore.frames.batches] (same options): instants
    as aware UTC datetimes, exact numbers as ``int`` or ``Decimal``.
    """
    return chain.from_iterable(batches(frame, **reading))


# ---------------------------------------------------------------------------
# Writing: results as frames
# ---------------------------------------------------------------------------
def _plain_cell(value: object, exact: bool) -> object:
    if isinstance(value, Decimal) and not exact:
        return float(value)
    return value


def _rows_of(result: object) -> list[dict[str, Any]]:
    if hasattr(result, "to_rows"):
        rows: list[dict[str, Any]] = result.to_rows()
        return rows
    if hasattr(result, "to_dict"):
        return [result.to_dict()]
    if isinstance(result, Iterable) and not isinstance(result, (str, bytes)):
        items = list(result)
        for index, item in enumerate(items):
            if not hasattr(item, "to_dict"):
                raise DataTypeError(f"result[{index}]", item, "a KpiResult")
        return [item.to_dict() for item in items]
    raise DataTypeError(
        "result", result, "a KpiResult, a list of them, or a grouped result"
    )


# The columns of a result row (KpiResult.to_dict), for a result with no rows.
_RESULT_COLUMNS: Final = (
    "kpi",
    "value",
    "unit",
    "currency",
    "numerator",
    "denominator",
    "period",
    "as_of",
    "reason",
)


def _frame_of(
    rows: list[dict[str, Any]],
    library: Library,
    exact: bool,
    empty: Sequence[str] = (),
) -> Any:
    plain = [{k: _plain_cell(v, exact) for k, v in row.items()} for row in rows]
    if library == "pandas":
        pd = _import("pandas")
        return pd.DataFrame(plain) if plain else pd.DataFrame(columns=list(empty))
    pl = _import("polars")
    names = list(dict.fromkeys(k for row in plain for k in row)) or list(empty)
    return pl.DataFrame(
        {name: [row.get(name) for row in plain] for name in names},
        strict=False,
    )


_FREQUENCIES: Final = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q"}
_MONTHS: Final = "DEC JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV".split()


def _pandas_period(period: Period) -> Any:
    """A crmcore period as the pandas Period of the same days."""
    pd = _import("pandas")
    kind = period.unit.kind
    end_month = _MONTHS[(period.unit.fiscal_start_month - 1) % 12]
    frequency = {
        "year": "Y-DEC",
        "fiscal_year": f"Y-{end_month}",
        "fiscal_quarter": f"Q-{end_month}",
    }.get(kind) or _FREQUENCIES[kind]
    return pd.Period(period.first_day, freq=frequency)


def _typed_groups(table: Any, keys: list[Any], library: Library) -> Any:
    """Replace the group labels of a grouped frame with typed periods."""
    if not any(isinstance(k, Period) for k in keys) or not all(
        isinstance(k, Period) or k is None for k in keys
    ):
        return table
    if library == "pandas":
        pd = _import("pandas")
        periods = [None if k is None else _pandas_period(k) for k in keys]
        frequency = next(p for p in periods if p is not None).freq
        table["group"] = pd.array(
            [pd.NaT if p is None else p for p in periods],
            dtype=pd.PeriodDtype(frequency),
        )
        return table
    pl = _import("polars")
    zone = next(k.tz for k in keys if k is not None)
    starts = [None if k is None else k.start for k in keys]
    return table.with_columns(
        pl.Series("group_label", [None if k is None else k.label for k in keys]),
        pl.Series("group", starts, dtype=pl.Datetime("us", zone)),
    )


def to_frame(
    result: object, *, exact: bool = False, library: Library = "pandas"
) -> Any:
    """Any crmcore result as a DataFrame.

    Takes a [`KpiResult`][crmcore.kpis.KpiResult], a list of them, or
    anything with ``to_rows()`` (grouped results, cohort tables, the KPI
    report) or ``to_dict()`` (goal statuses). A grouped result by period
    has typed period groups.

    Args:
        result: The result(s).
        exact: Keep Decimal cells (object columns) instead of floats.
        library: ``"pandas"`` or ``"polars"``.
    """
    library = _check_library(library)
    rows = _rows_of(result)
    empty = ("group", *_RESULT_COLUMNS) if isinstance(result, GroupedResult) else ()
    table = _frame_of(rows, library, exact, empty)
    if isinstance(result, GroupedResult):
        per_row = [key for key, inner in result.items() for _ in _rows_of(inner)]
        table = _typed_groups(table, per_row, library)
    return table


def kpi_frame(
    kpi: Accumulator[Any],
    frame: Any,
    *,
    per: GroupKey | None = None,
    exact: bool = False,
    **reading: Any,
) -> Any:
    """Run any KPI accumulator over a frame; return its result as a frame.

    ``kpi`` is a template: it is not changed (an empty copy does the work).
    With ``per`` (as for [`grouped`][crmcore.kpis.grouped]) there is one row
    per group. ``reading`` takes the options of
    [`batches`][crmcore.frames.batches] (``columns``, ``instants``, ``tz``,
    ``money``, ``chunk``). The result is a frame of the input's library.
    """
    library = _library_of(frame, "frame")
    if per is None:
        acc: Any = kpi.empty()
        facts = _bulk_facts(acc)
        if facts is None or not _count_in_bulk(frame, library, reading, facts):
            for batch in batches(frame, fields=getattr(acc, "fields", None), **reading):
                acc.update(batch)
        return to_frame(acc.result(), exact=exact, library=library)
    table = Grouped(kpi, per)
    split = _split(frame, library, per, getattr(kpi, "anchors", ()), reading)
    if split is None:
        for batch in batches(frame, fields=table.fields, **reading):
            table.update(batch)
        return to_frame(table.result(), exact=exact, library=library)
    codes, keys = split
    template = _bulk_facts(kpi)
    np = _import("numpy")

    def groups(first: int, size: int) -> tuple[Any, list[Any]]:
        chunk = codes[first : first + size]
        owners: list[Any] = [None] * len(keys)
        # Every group's accumulator is the template's kind: bulk too.
        for code in np.flatnonzero(np.bincount(chunk, minlength=len(keys))).tolist():
            owners[code] = table._accumulator(keys[code]).facts
        return chunk, owners

    if template is None or not _count_in_bulk(
        frame, library, reading, template, groups
    ):
        table = Grouped(kpi, per)
        inner = getattr(kpi, "fields", None)
        for code, rows in _groups_of(codes):
            part = frame.iloc[rows] if library == "pandas" else frame[rows]
            for batch in batches(part, fields=inner, **reading):
                table.update_group(keys[code], batch)
    return to_frame(table.result(), exact=exact, library=library)


def _split(
    frame: Any,
    library: Library,
    per: object,
    anchors: tuple[str, ...],
    reading: Mapping[str, Any],
) -> tuple[Any, list[Any]] | None:
    """The group of every row, found by the frame library, or ``None``.

    Returns ``(codes, keys)``: each row's group is ``keys[codes[row]]``.

    For a period key over one instant field and for a field key over a text,
    integer, boolean or categorical column, the keys are those crmcore's own
    grouping computes: periods from crmcore's calendar (found by a binary
    search of their bounds in numpy), field values as the rows show them.
    Any other key is left to crmcore's grouping (``None``).
    """
    fields, parse, _ = _plan(
        frame,
        library,
        reading.get("columns"),
        reading.get("instants", ()),
        reading.get("money"),
    )
    tz = reading.get("tz")
    if tz is not None:
        resolve_zone(tz)
    if isinstance(per, PeriodKey):
        paths = (per.field,) if per.field is not None else anchors
        if len(paths) != 1 or paths[0] not in fields:
            return None
        path = paths[0]
        found = _instants(
            frame[fields[path]], path, library, parse=path in parse, tz=tz
        )
        if found is None:
            return None
        return _period_codes(found, per)
    if isinstance(per, str) and per in fields:
        return _field_split(frame, library, fields[per])
    return None


def _period_codes(instants: Any, per: PeriodKey) -> tuple[Any, list[Any]] | None:
    """Each instant's period (``None`` for a missing one) as codes and keys."""
    np = _import("numpy")
    micros, missing = instants
    present = micros[~missing]
    periods: list[Any] = []
    if present.size:
        last = int(present.max())
        found = period_of(from_micros(int(present.min())), per.unit, tz=per.tz)
        while to_micros(found.start) <= last:
            periods.append(found)
            if len(periods) > len(micros):  # sparse outliers: crmcore groups it
                return None
            found = found.next()
    starts = np.array([to_micros(p.start) for p in periods], dtype=np.int64)
    codes = _placed(np, micros, starts, to_micros(periods[-1].end) if periods else 0)
    codes[missing] = len(periods)
    return codes, [*periods, None]


def _placed(np: Any, micros: Any, starts: Any, end: int) -> Any:
    """Each instant's period: its position in ``starts`` (contiguous periods).

    ``starts`` are sorted and the last period ends at ``end``; an instant
    outside them has any position.

    The instants are cut into buckets of a power of two microseconds no
    longer than the shortest period, so a bucket holds at most one period's
    start: a bucket's first period, plus one past that start. Periods too
    unlike in length for few buckets are found by a binary search.
    """
    if not starts.size:
        return np.zeros(micros.size, dtype=np.int64)
    bounds = np.append(starts, end)
    shortest = int(np.diff(bounds).min())
    shift = shortest.bit_length() - 1
    first = int(starts[0])
    buckets = ((end - 1 - first) >> shift) + 1
    if buckets > 4 * starts.size + 16:
        found: Any = np.searchsorted(starts, micros, side="right") - 1
        return found
    edges = first + (np.arange(buckets, dtype=np.int64) << shift)
    base = np.searchsorted(starts, edges, side="right") - 1
    after = bounds[base + 1]
    slot = np.clip((micros - first) >> shift, 0, buckets - 1)
    return base[slot] + (micros >= after[slot])


def _field_split(
    frame: Any, library: Library, column: str
) -> tuple[Any, list[Any]] | None:
    np = _import("numpy")
    series = frame[column]
    if library == "pandas":
        pd = _import("pandas")
        dtype = series.dtype
        if not (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_integer_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
        ):
            return None
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        keys = [_python(k) for k in list(uniques)]
        if pd.api.types.is_object_dtype(dtype) and not all(
            isinstance(k, str) for k in keys
        ):
            return None  # objects of mixed kinds: crmcore reads them itself
        codes = np.where(codes < 0, len(keys), codes)
        return codes, [*keys, None]
    pl = _import("polars")
    dtype = series.dtype
    if not (
        dtype in (pl.String, pl.Boolean)
        or dtype.is_integer()
        or isinstance(dtype, pl.Categorical | pl.Enum)
    ):
        return None
    if isinstance(dtype, pl.Categorical | pl.Enum):
        series = series.cast(pl.String)
    return _polars_codes(pl, np, series)


def _polars_codes(pl: Any, np: Any, series: Any) -> tuple[Any, list[Any]]:
    """Codes (positions in ``keys``) of a polars column's values.

    A missing value's key is ``None`` (the last key). Text is coded by a
    cast to an enum of its values; other kinds by a join with their keys.
    """
    uniques = series.unique(maintain_order=True)
    if series.dtype == pl.String:
        labels = uniques.drop_nulls()
        physical = series.cast(pl.Enum(labels)).to_physical()
        keys: list[Any] = labels.to_list()
        if physical.null_count():
            physical = physical.fill_null(len(keys))
            keys.append(None)
        return np.asarray(physical.to_numpy(), dtype=np.int64), keys
    keys = uniques.to_list()
    lookup = pl.DataFrame(
        {"key": pl.Series(keys, dtype=series.dtype), "code": range(len(keys))}
    )
    codes = (
        series.to_frame("key")
        .join(lookup, on="key", how="left", nulls_equal=True, maintain_order="left")
        .get_column("code")
        .to_numpy()
    )
    return np.asarray(codes, dtype=np.int64), keys


def _python(value: Any) -> Any:
    """A key from a frame library as the plain Python value rows show."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _groups_of(codes: Any) -> Iterator[tuple[int, Any]]:
    """Each code with the positions that have it, in their order."""
    np = _import("numpy")
    # Few groups sort as 16-bit integers: numpy's radix sort, in linear time.
    narrow = codes.astype(np.int16) if codes.size and codes.max() < 1 << 15 else codes
    order = np.argsort(narrow, kind="stable")
    ordered = codes[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    for rows in np.split(order, cuts) if order.size else []:
        yield int(codes[rows[0]]), rows


def report_frame(
    period: Any,
    *,
    deals: Any = None,
    leads: Any = None,
    subscriptions: Any = None,
    spend: Any = None,
    exact: bool = False,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    instants: Mapping[str, Iterable[str]] | None = None,
    tz: str | None = None,
    **options: Any,
) -> Any:
    """[`kpi_report`][crmcore.kpis.kpi_report] over frames, as a frame.

    One row per KPI, with its ``section`` and ``key``; ``options`` are those
    of [`HeadlineKpis`][crmcore.kpis.HeadlineKpis] (as for ``kpi_report``).
    ``columns`` renames fields per data set (``{"deals": {"outcome":
    "status"}}``), ``instants`` names the text instants to parse per data
    set (``{"deals": ["created_at", "closed_at"]}``) and ``tz`` is the zone
    of naive datetimes and of text without an offset. The result is a frame
    of the first data set's library.
    """
    renames = {} if columns is None else columns
    if not isinstance(renames, Mapping):
        raise DataTypeError("columns", renames, "a mapping of data set to renamings")
    parse = {} if instants is None else instants
    if not isinstance(parse, Mapping):
        raise DataTypeError("instants", parse, "a mapping of data set to fields")
    given = {
        name: frame
        for name, frame in (
            ("deals", deals),
            ("leads", leads),
            ("subscriptions", subscriptions),
            ("spend", spend),
        )
        if frame is not None
    }
    library: Library = "pandas"
    for number, (name, frame) in enumerate(given.items()):
        found = _library_of(frame, name)
        if number == 0:
            library = found

    report = HeadlineKpis(period, **options)
    for name, frame in given.items():
        fields = parse.get(name, ())
        for batch in batches(frame, columns=renames.get(name), instants=fields, tz=tz):
            report.update(**{name: batch})
    return to_frame(report.result(), exact=exact, library=library)


def cohort_matrix(
    table: Any,
    *,
    basis: Literal["logo", "revenue"] = "logo",
    exact: bool = False,
    library: Library = "pandas",
) -> Any:
    """A cohort table as the wide matrix people plot: a cohort per row.

    One row per cohort (``cohort``, its label, and ``customers``), then one
    column per period since the cohort started (``"0"``, ``"1"``...) holding
    the retention (``None``/``NaN`` where the period has not happened yet).

    Args:
        table: A [`CohortTable`][crmcore.kpis.CohortTable] (from
            [`cohort_retention`][crmcore.kpis.cohort_retention]).
        basis: ``"logo"`` (customers) or ``"revenue"`` (MRR) retention.
        exact: Keep Decimal cells instead of floats.
        library: ``"pandas"`` or ``"polars"``.

    Raises:
        DataTypeError: For something that is not a cohort table.
    """
    library = _check_library(library)
    matrix = getattr(table, "matrix", None)
    if matrix is None or not hasattr(table, "rows"):
        raise DataTypeError("table", table, "a CohortTable")
    rows = [
        {
            "cohort": row.cohort.label,
            "customers": row.customers,
            **{str(k): rate for k, rate in enumerate(rates)},
        }
        for row, rates in zip(table.rows, matrix(basis), strict=True)
    ]
    return _frame_of(rows, library, exact)
