"""Dense record strategies for KPI tests: few customers, a narrow time range.

Wide random data would almost never fall in a KPI's window; these records
crowd around the first half of 2026 so every branch of every KPI is hit.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from crmcore.business_time import BusinessCalendar
from crmcore.calendar import Interval
from crmcore.handoffs import HandoffContract
from crmcore.money import Money
from crmcore.records import Lead, Opportunity, Subscription
from crmcore.testing import spend_rows as public_spend_rows

START = datetime(2025, 12, 1, tzinfo=UTC)
END = datetime(2026, 8, 1, tzinfo=UTC)
STAGES = ("prospecting", "discovery", "proposal", "negotiation")
REASONS = ("price", "timing", "disqualified")
CHANNELS = ("paid_search", "events", "organic")


def instants() -> st.SearchStrategy[datetime]:
    zones = st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]
    )
    return st.builds(
        lambda seconds, zone: (START + timedelta(seconds=seconds)).astimezone(zone),
        st.integers(0, int((END - START).total_seconds())),
        zones,
    )


def amounts(maximum: int = 50_000) -> st.SearchStrategy[Decimal]:
    return st.builds(
        lambda n, places: Decimal(n).scaleb(-places),
        st.integers(0, maximum),
        st.integers(0, 2),
    )


def _as_dict(record: object) -> dict[str, object]:
    return attrs.asdict(record, recurse=False)  # type: ignore[arg-type]


@st.composite
def deals(draw: st.DrawFn, currency: str = "EUR") -> object:
    outcome = draw(st.sampled_from(["open", "won", "lost"]))
    created = draw(instants())
    closed = None
    stage = draw(st.sampled_from(STAGES))
    if outcome != "open":
        closed = created + draw(st.timedeltas(timedelta(0), timedelta(days=120)))
        stage = "closed_won" if outcome == "won" else "closed_lost"
    deal = Opportunity(
        f"o{draw(st.integers(0, 10**6))}",
        None,
        draw(amounts()),
        currency,
        created,
        stage,
        outcome=outcome,
        closed_at=closed,
        lost_reason=draw(st.sampled_from(REASONS)) if outcome == "lost" else None,
        owner=draw(st.sampled_from(["ana", "bo", "cy"])),
        probability=draw(st.none() | st.integers(0, 10).map(lambda p: Decimal(p) / 10)),
    )
    return _as_dict(deal) if draw(st.booleans()) else deal


# One change that makes a valid deal one the loop refuses.
BREAKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "outcome": lambda row: {**row, "outcome": "maybe"},
    "no outcome": lambda row: {**row, "outcome": None},
    "no amount": lambda row: {**row, "amount": None},
    "negative amount": lambda row: {**row, "amount": Decimal("-1")},
    "no created_at": lambda row: {**row, "created_at": None},
    "closed before created": lambda row: {
        **row,
        "outcome": "won",
        "closed_at": row["created_at"] - timedelta(days=1),
    },
    "open and closed": lambda row: {
        **row,
        "outcome": "open",
        "closed_at": row["created_at"],
    },
    "closed without closed_at": lambda row: {
        **row,
        "outcome": "lost",
        "closed_at": None,
    },
    "unknown stage": lambda row: {**row, "stage": "limbo"},
    "no stage": lambda row: {**row, "stage": None},
    "probability above 1": lambda row: {**row, "probability": Decimal("1.5")},
    "negative probability": lambda row: {**row, "probability": Decimal("-0.5")},
    "bad currency": lambda row: {**row, "currency": "eur"},
    "no currency": lambda row: {**row, "currency": None},
}


@st.composite
def deal_rows(draw: st.DrawFn) -> dict[str, object]:
    """Deals in one or two currencies, some of them broken."""
    currency = draw(st.sampled_from(["EUR", "USD"]))
    row = draw(deals(currency))
    row = row if isinstance(row, dict) else _as_dict(row)
    if draw(st.integers(0, 9)) == 0:
        row = BREAKS[draw(st.sampled_from(sorted(BREAKS)))](row)
    return row


@st.composite
def subscriptions(draw: st.DrawFn, currency: str = "EUR") -> object:
    start = draw(instants())
    length = draw(st.none() | st.timedeltas(timedelta(hours=1), timedelta(days=200)))
    sub = Subscription(
        draw(st.sampled_from(["c1", "c2", "c3", "c4", "c5", "c6"])),
        Money(draw(amounts(500)), currency),
        start,
        end=None if length is None else start + length,
    )
    return _as_dict(sub) if draw(st.booleans()) else sub


@st.composite
def leads(draw: st.DrawFn) -> object:
    created = draw(instants())
    delay = draw(st.none() | st.timedeltas(timedelta(0), timedelta(days=90)))
    lead = Lead(
        f"l{draw(st.integers(0, 10**6))}",
        created,
        source=draw(st.sampled_from(CHANNELS)),
        converted_at=None if delay is None else created + delay,
    )
    return _as_dict(lead) if draw(st.booleans()) else lead


def spend_rows(currency: str = "EUR") -> st.SearchStrategy[dict[str, object]]:
    # The public strategy, crowded into the same months as the other records.
    return public_spend_rows(
        currency=currency,
        within=Interval(START, END),
        channels=st.sampled_from(CHANNELS),
    )


# Two contracts with calendars in different zones, for the handoff KPIs.
HANDOFF_CONTRACTS = (
    HandoffContract(
        "to_sales",
        "marketing",
        "sales",
        "sql",
        accept_within=timedelta(hours=4),
        calendar=BusinessCalendar(
            "Europe/Berlin", hours=["09:00-12:00", "13:00-17:00"]
        ),
    ),
    HandoffContract(
        "to_success",
        "sales",
        "success",
        "won",
        accept_within=timedelta(hours=8),
        calendar=BusinessCalendar("America/New_York", hours=["08:00-16:00"]),
    ),
)


@st.composite
def handoff_rows(draw: st.DrawFn) -> dict[str, object]:
    """Handoffs of both contracts: accepted (on time or late) or still open."""
    handed = draw(instants())
    delay = draw(
        st.none() | st.integers(0, 96 * 60).map(lambda m: timedelta(minutes=m))
    )
    return {
        "contract": draw(st.sampled_from(["to_sales", "to_success"])),
        "handed_at": handed,
        "accepted_at": None if delay is None else handed + delay,
        "owner": draw(st.sampled_from(["ana", "bo"])),
    }
