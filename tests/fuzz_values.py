"""Hostile values for the fuzz suite: what untrusted data and careless callers send.

Every strategy here draws small inputs (a few records, short texts), so any
call that takes long on them grows faster than its input explains.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import islice
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from crmcore.calendar import Interval, Period, period_of
from crmcore.errors import CrmcoreError
from crmcore.money import Money
from crmcore.sample import generate_sample
from crmcore.serialization import to_json

# A call on these inputs taking longer than this grows faster than its input.
BUDGET_SECONDS = 2.0

_EDGE_INTS = [0, 1, -1, 2, 7, 12, 13, 2**31, 2**63, -(2**63), 10**30, -(10**30)]
_EDGE_DECIMALS = [
    "0",
    "-0",
    "0.5",
    "-5",
    "1E+999999999",
    "1E-999999999",
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1" * 120,
]
_EDGE_STRINGS = [
    "",
    " ",
    "EUR",
    "USD",
    "eur",
    "month",
    "week",
    "quarter",
    "30d",
    "6mo",
    "-1d",
    "99999999999d",
    "won",
    "lost",
    "open",
    "discovery",
    "id",
    "stage",
    "amount",
    "__class__",
    "_secret",
    "a.b.c",
    "a..b",
    "Europe/Berlin",
    "Not/AZone",
    "é" * 3,
    "\x00",
    "x" * 2000,
]
_EDGE_INSTANTS = [
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2026, 1, 1),  # naive
    datetime(2026, 6, 1, tzinfo=timezone(timedelta(hours=14))),
]


@functools.cache
def _unsafe() -> st.SearchStrategy[Any]:
    return st.sampled_from([object(), object, len, lambda: 1, math, iter([1])])


# Typed values crmcore reads (instants, money, periods), drawn once: sampling
# them is cheap, so the long profile's 10,000 examples per entry point fit in
# a run of minutes, not hours.
_PRECOMPUTED: Final = [
    *(
        datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=d, hours=h)
        for d in (0, 40, 400)
        for h in (0, 13)
    ),
    datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2025, 11, 2, 1, 30, tzinfo=ZoneInfo("America/New_York")),
    date(2026, 1, 1),
    timedelta(days=-1),
    timedelta(days=10**6),
    timedelta(0),
    Money("19.99", "EUR"),
    Money(0, "EUR"),
    Money(-5, "EUR"),
    Money(5, "USD"),
    Money("0.001", "KWD"),
    Money(10**90, "JPY"),
    period_of(datetime(2026, 1, 15, tzinfo=UTC), "month"),
    period_of(datetime(2025, 5, 15, tzinfo=UTC), "quarter"),
    period_of(datetime(2024, 2, 29, tzinfo=UTC), "day"),
    Interval(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
]


@functools.cache
def scalars() -> st.SearchStrategy[Any]:
    """One hostile scalar of any type crmcore might be handed."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(_EDGE_INTS),
        st.integers(-3, 60),
        st.sampled_from(_EDGE_DECIMALS).map(Decimal),
        st.decimals(allow_nan=False, allow_infinity=False, places=2),
        st.floats(),
        st.sampled_from(_EDGE_STRINGS),
        st.text(max_size=12),
        st.sampled_from(_EDGE_INSTANTS),
        st.sampled_from(_PRECOMPUTED),
        _unsafe(),
    )


@functools.cache
def anything() -> st.SearchStrategy[Any]:
    """A hostile value: a scalar or a small container of them."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.lists(inner, max_size=3).map(tuple),
            st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3),
        ),
        max_leaves=6,
    )


FIELDS = [
    "id",
    "stage",
    "amount",
    "currency",
    "created_at",
    "closed_at",
    "outcome",
    "lost_reason",
    "probability",
    "owner_id",
    "account_id",
    "customer_id",
    "at",
    "mrr",
    "start",
    "end",
    "channel",
    "source",
    "status",
    "converted_at",
    "record_id",
    "from_stage",
    "to_stage",
    "kind",
    "contract",
    "handed_at",
    "accepted_at",
    "tier",
    "x",
    "items",
    "_private",
]


@functools.cache
def _hostile_dict() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELDS), anything(), max_size=8)


class Attributes:
    """A record of plain attributes (the shape of an ORM object)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"Attributes({self.__dict__!r})"


# Valid records, drawn cheaply: a small deterministic sample CRM (drawing
# them with crmcore.testing for every example would dominate the run).
_SAMPLE = generate_sample(40, seed=11)
_POOLS: dict[str, list[Any]] = {
    "deals": list(_SAMPLE.opportunities),
    "leads": list(_SAMPLE.leads),
    "subscriptions": list(_SAMPLE.subscriptions),
    "changes": list(_SAMPLE.stage_changes),
    "activities": list(_SAMPLE.activities),
    "accounts": list(_SAMPLE.accounts),
    "purchases": list(_SAMPLE.purchases()),
    "spend": list(_SAMPLE.marketing_spend()),
    "handoffs": _SAMPLE.handoffs(),
    "tickets": _SAMPLE.tickets()[0],
    "ticket_events": _SAMPLE.tickets()[1],
}
_VALID = [record for pool in _POOLS.values() for record in pool]


def _as_dict(record: Any) -> Any:
    return attrs.asdict(record, recurse=False) if attrs.has(type(record)) else record


@functools.cache
def _valid(pool: str | None = None) -> st.SearchStrategy[Any]:
    """A valid record (of one pool, or of any), as itself or as a dict row."""
    records = st.sampled_from(_VALID if pool is None else _POOLS[pool])
    return st.one_of(records, records.map(_as_dict))


@functools.cache
def records() -> st.SearchStrategy[Any]:
    """One record: a valid crmcore record or dict row, a hostile dict, an object."""
    return st.one_of(
        _valid(),
        _hostile_dict(),
        _hostile_dict().map(lambda d: Attributes(**d)),
        scalars(),
    )


@functools.cache
def record_lists() -> st.SearchStrategy[Any]:
    """What a caller passes where records are expected (mostly lists)."""
    kinds = [st.lists(_valid(pool), max_size=8) for pool in _POOLS]
    return st.one_of(
        st.lists(records(), max_size=6),
        *kinds,
        st.lists(st.one_of(_valid(), records()), max_size=8),
        st.lists(st.lists(_valid("changes"), max_size=4), max_size=3),
        scalars(),
    )


@functools.cache
def json_values() -> st.SearchStrategy[Any]:
    """Any JSON document."""
    return st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from(_EDGE_STRINGS),
            st.text(max_size=8),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(
                st.one_of(st.sampled_from([*FIELDS, "kind", "stages"]), st.text()),
                inner,
                max_size=4,
            ),
        ),
        max_leaves=20,
    )


# -- the oracle --------------------------------------------------------------------
_EXCEPTION_BASES = (ValueError, TypeError, LookupError, ArithmeticError)


def outcome(call: Callable[[], Any], *, computed: bool = True) -> Any:
    """Run ``call``: its result, or ``None`` when it raised a crmcore error.

    Any other exception propagates (the fuzz test fails and hypothesis
    shrinks the input); a crmcore error must also be a built-in error of the
    matching kind; a result must be finite, exact and plain JSON; and the
    call must finish within the budget. A constructor's result holds what it
    was given (``computed=False``): only its JSON form is checked.
    """
    # CPU time of this process: other workers on the machine do not count.
    started = time.process_time()
    raised: CrmcoreError | None = None
    try:
        result = call()
        result = _drain(result)
    except CrmcoreError as error:
        raised, result = error, None
    if raised is not None:
        assert isinstance(raised, _EXCEPTION_BASES), type(raised).__mro__
        str(raised)  # the message itself never fails
    elapsed = time.process_time() - started
    assert elapsed < BUDGET_SECONDS, f"took {elapsed:.2f} s of CPU on a small input"
    if result is not None:
        if computed:
            check_finite(result)
        check_json(result)
    return result


def _drain(result: Any) -> Any:
    """Iterators are consumed (at most 1,000 items) so their errors surface."""
    if isinstance(result, Iterator):
        return list(islice(result, 1000))
    return result


def check_finite(value: Any, depth: int = 0) -> None:
    """No NaN or infinite Decimal anywhere in a result."""
    if depth > 40:
        return
    if isinstance(value, Decimal):
        assert value.is_finite(), value
    elif isinstance(value, Money):
        assert value.amount.is_finite(), value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_finite(key, depth + 1)
            check_finite(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_finite(item, depth + 1)
    elif attrs.has(type(value)):
        for attribute in attrs.fields(type(value)):
            # An explanation's ``actual`` and a move's copied ``record`` hold
            # the record's own values, echoed.
            if attribute.name not in {"actual", "record"}:
                check_finite(getattr(value, attribute.name), depth + 1)


def check_json(value: Any) -> None:
    """A crmcore result is plain JSON, or to_json says (a crmcore error) why not."""
    raised: CrmcoreError | None = None
    try:
        to_json(value)
    except CrmcoreError as error:
        raised = error
    assert raised is None or isinstance(raised, _EXCEPTION_BASES)


AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
DAY = date(2026, 1, 1)
__all__ = [
    "AS_OF",
    "BUDGET_SECONDS",
    "DAY",
    "FIELDS",
    "Attributes",
    "Interval",
    "Period",
    "anything",
    "check_finite",
    "check_json",
    "json_values",
    "outcome",
    "record_lists",
    "records",
    "scalars",
]
