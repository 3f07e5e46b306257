"""The sample CRM's teams: calendars, people, handoff contracts, SLAs, ownership.

Definitions are fixed values; the handoffs and tickets are drawn from the
sample's own leads, deals and customers with ``random.Random`` seeded by a
string, so they never change any other sample value. Re-exported by
[`crmcore.sample`][crmcore.sample].
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from crmcore.business_time import BusinessCalendar
from crmcore.conditions import field
from crmcore.handoffs import HandoffContract, SlaPolicies, SlaPolicy
from crmcore.ownership import STANDARD_TEAMS, OwnershipMap, Responsibility
from crmcore.pipelines import MustHold, RequiredFields
from crmcore.records import Lead, Opportunity, Subscription
from crmcore.routing import ByCapacity, Person, RoundRobin, Router, RoutingRule

__all__ = [
    "sample_calendars",
    "sample_contracts",
    "sample_ownership",
    "sample_people",
    "sample_router",
    "sample_sla_policies",
]

_HOUR: Final = 3600.0


def sample_calendars() -> dict[str, BusinessCalendar]:
    """Each sample team's hours: marketing and sales in Berlin, success in New York.

    Sales works a split shift (08:30-12:30 and 13:30-18:00) with short
    Fridays; success covers the American day.
    """
    return {
        "marketing": BusinessCalendar("Europe/Berlin", hours=["09:00-17:00"]),
        "sales": BusinessCalendar(
            "Europe/Berlin",
            hours=["08:30-12:30", "13:30-18:00"],
            weekday_hours={4: ["08:30-14:00"]},
        ),
        "success": BusinessCalendar("America/New_York", hours=["08:00-17:00"]),
    }


def sample_contracts() -> tuple[HandoffContract, HandoffContract]:
    """Marketing to sales at SQL, and sales to success at a won deal."""
    calendars = sample_calendars()
    return (
        HandoffContract(
            "mql_to_sales",
            "marketing",
            "sales",
            "sql",
            requires=[
                RequiredFields(["industry", "employees", "country", "source"]),
                MustHold(
                    field("employees") >= 10,
                    message="sales works companies of ten people or more",
                ),
            ],
            carries=["source", "industry", "employees"],
            accept_within=timedelta(hours=4),
            calendar=calendars["sales"],
            escalate_to="sales_manager",
            name="Marketing to sales",
        ),
        HandoffContract(
            "won_to_success",
            "sales",
            "success",
            "closed_won",
            requires=[RequiredFields(["account_id", "owner", "amount"])],
            carries=["owner", "amount", "fields.commitments"],
            accept_within=timedelta(hours=8),
            calendar=calendars["success"],
            escalate_to="cs_lead",
            name="Sales to success",
        ),
    )


def sample_sla_policies() -> SlaPolicies:
    """Support SLAs in success's hours: faster for key accounts and urgent tickets."""
    calendar = sample_calendars()["success"]
    waiting = field("status") == "waiting_on_customer"
    return SlaPolicies(
        [
            SlaPolicy(
                "urgent",
                response=timedelta(hours=1),
                resolution=timedelta(hours=8),
                when=field("priority") == "urgent",
                calendar=calendar,
                pause_when=waiting,
            ),
            SlaPolicy(
                "key_account",
                response=timedelta(hours=2),
                resolution=timedelta(hours=16),
                when=field("tier") == "key",
                calendar=calendar,
                pause_when=waiting,
            ),
        ],
        default=SlaPolicy(
            "standard",
            response=timedelta(hours=8),
            resolution=timedelta(hours=40),
            calendar=calendar,
            pause_when=waiting,
        ),
    )


def sample_people() -> tuple[Person, ...]:
    """Twelve people: ten sales reps (two on enterprise) and two in success."""
    calendars = sample_calendars()
    languages = ("en", "de", "fr", "es")
    people = [
        Person(
            f"rep-{n:02d}",
            team="sales",
            skills=[
                languages[n % 4],
                "en",
                ("emea", "amer")[n % 2],
                *(["enterprise"] if n <= 2 else []),
            ],
            calendar=calendars["sales"],
            active=n != 7,
            monthly_capacity=600 if n <= 2 else 900,
        )
        for n in range(1, 11)
    ]
    people += [
        Person(key, team="success", skills=["en"], calendar=calendars["success"])
        for key in ("csm-01", "csm-02")
    ]
    return tuple(people)


def sample_router() -> Router:
    """Enterprise leads by capacity, the rest by language and region, round robin."""
    return Router(
        [
            RoutingRule(
                "enterprise",
                ByCapacity(),
                when=field("employees") >= 1000,
                team="sales",
                needs=["enterprise"],
            ),
            RoutingRule("sales", RoundRobin(), team="sales", prefer=["region"]),
        ],
        sample_people(),
    )


def sample_ownership() -> OwnershipMap:
    """The sample company's ownership map, with the gaps a young CRM has.

    Operations administers the tool and sales owns the process, but nobody
    is the CRM owner or the data steward, and the pipeline, the fields and
    the handoff into success have no accountable role.
    """
    roles = {
        "marketing": ["executive_sponsor"],
        "sales": ["process_owner"],
        "operations": ["tool_admin"],
    }
    teams = [
        attrs.evolve(team, roles=roles.get(team.key, [])) for team in STANDARD_TEAMS
    ]
    stages = ("prospecting", "discovery", "proposal", "negotiation")
    return OwnershipMap(
        teams,
        [
            *(Responsibility(f"stage:{stage}", "process_owner") for stage in stages),
            Responsibility("stage:closed_won", "process_owner"),
            Responsibility("stage:closed_lost", "process_owner", "responsible"),
            Responsibility("handoff:mql_to_sales", "process_owner"),
            Responsibility("kpi:win_rate", "executive_sponsor"),
            Responsibility("kpi:handoff_attainment", "process_owner"),
            Responsibility("integration:email_sync", "tool_admin", "responsible"),
        ],
    )


def handoff_rows(
    leads: Sequence[Lead],
    deals: Sequence[Opportunity],
    *,
    seed: int,
    as_of: datetime,
) -> list[dict[str, Any]]:
    """One handoff per converted lead and per won deal, accepted after a while.

    The receiving team accepts after a number of its own business hours
    (three on average, sometimes a day or two); a few handed over in the
    last week are still waiting.
    """
    rng = random.Random(f"crmcore-sample:{seed}:handoffs")
    contracts = {contract.key: contract for contract in sample_contracts()}
    handed: list[tuple[str, str, datetime]] = [
        ("mql_to_sales", lead.id, lead.converted_at)
        for lead in leads
        if lead.converted_at is not None
    ]
    handed += [
        ("won_to_success", deal.id, deal.closed_at)
        for deal in deals
        if deal.outcome == "won" and deal.closed_at is not None
    ]
    rows: list[dict[str, Any]] = []
    for key, record, at in handed:
        contract = contracts[key]
        hours = rng.expovariate(1 / 3)
        accepted = contract.calendar.add(at, timedelta(seconds=int(hours * _HOUR)))
        waiting = as_of - at < timedelta(days=7) and rng.random() < 0.04
        rows.append(
            {
                "id": f"ho-{record}",
                "contract": key,
                "record": record,
                "from_team": contract.from_team,
                "to_team": contract.to_team,
                "handed_at": at,
                "accepted_at": None if waiting or accepted >= as_of else accepted,
            }
        )
    return rows


def ticket_rows(
    subscriptions: Sequence[Subscription], *, seed: int, as_of: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Support tickets of customers and their status events.

    Success replies and resolves after some of its business hours; a
    customer takes a day or so (of any hours) to answer.
    """
    rng = random.Random(f"crmcore-sample:{seed}:tickets")
    calendar = sample_calendars()["success"]
    tickets: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for sub in subscriptions:
        end = min(as_of, sub.end) if sub.end is not None else as_of
        span = (end - sub.start).total_seconds()
        if span <= 0:
            continue
        for _ in range(int(rng.random() * 3)):
            created = sub.start + timedelta(seconds=int(rng.random() * span))
            ticket_id = f"tic-{len(tickets) + 1:07d}"
            tickets.append(
                {
                    "id": ticket_id,
                    "customer_id": sub.customer_id,
                    "created_at": created,
                    "priority": "urgent" if rng.random() < 0.1 else "normal",
                    "tier": "key" if sub.mrr.amount >= 2000 else "standard",
                }
            )
            moment = created
            for status in _ticket_path(rng):
                if status == "open":  # the customer answers, in their own time
                    moment += timedelta(seconds=int(rng.expovariate(1 / (20 * _HOUR))))
                else:
                    hours = rng.expovariate(1 / (2 if status == "responded" else 9))
                    moment = calendar.add(moment, timedelta(seconds=int(hours * _HOUR)))
                if moment >= as_of:
                    break
                events.append({"ticket_id": ticket_id, "at": moment, "status": status})
    return tickets, events


def _ticket_path(rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.3:
        return ["responded", "waiting_on_customer", "open", "resolved"]
    if roll < 0.9:
        return ["responded", "resolved"]
    return ["responded", "resolved", "open", "resolved"]
