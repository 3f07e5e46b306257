"""Deterministic synthetic CRM data for demos, docs, tests and benchmarks.

[`generate_sample`][crmcore.sample.generate_sample] builds a realistic B2B SaaS
CRM from a seed: accounts and contacts, leads with engagement events,
opportunities with their full stage histories (forward moves, skipped stages,
the occasional step back, wins, and losses with reasons), and 24 months of
subscriptions with expansion, contraction, churn and reactivation.

It is pure: the same arguments always give identical data, on every machine
and Python version (each kind of record draws from its own ``random.Random``
seeded with a string, which Python hashes with SHA-512, not with the
per-process ``hash()``). Nothing reads the clock: the simulated window is
``[start, start + months)`` and ``as_of`` is its end.

[`iter_opportunities`][crmcore.sample.iter_opportunities] streams deals with
their histories in constant memory, for benchmarks over tens of millions of
rows.

Examples:
    >>> data = generate_sample(200, seed=7)
    >>> len(data.opportunities)
    200
    >>> data == generate_sample(200, seed=7)
    True
    >>> sorted({o.outcome for o in data.opportunities})
    ['lost', 'open', 'won']
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.calendar import add_calendar, require_aware
from crmcore.errors import DataError, DataTypeError
from crmcore.money import Money, check_currency
from crmcore.pipelines import (
    Pipeline,
    RequiredFields,
    StageDefinition,
    TransitionPolicy,
)
from crmcore.records import (
    Account,
    Activity,
    Contact,
    Lead,
    Opportunity,
    StageChange,
    Subscription,
)
from crmcore.sample._scoring import (
    DECIDED_AFTER,
    lead_rows,
    sample_naive_bayes,
    sample_scoring_model,
)
from crmcore.sample._teams import (
    handoff_rows,
    sample_calendars,
    sample_contracts,
    sample_ownership,
    sample_people,
    sample_router,
    sample_sla_policies,
    ticket_rows,
)
from crmcore.serialization import to_row

__all__ = [
    "DECIDED_AFTER",
    "DEFAULT_START",
    "LOST_REASONS",
    "OPEN_STAGES",
    "PAID_CHANNELS",
    "SampleData",
    "generate_sample",
    "iter_opportunities",
    "sample_calendars",
    "sample_contracts",
    "sample_naive_bayes",
    "sample_ownership",
    "sample_people",
    "sample_pipeline",
    "sample_router",
    "sample_scoring_model",
    "sample_sla_policies",
]

DEFAULT_START: Final = datetime(2024, 1, 1, tzinfo=UTC)
"""Start of the simulated window when none is given (a fixed date, not today)."""

OPEN_STAGES: Final = ("prospecting", "discovery", "proposal", "negotiation")
"""The open stages of the sample pipeline, in order."""
WON_STAGE: Final = "closed_won"
LOST_STAGE: Final = "closed_lost"
LOST_REASONS: Final = (
    "price",
    "competitor",
    "no_decision",
    "timing",
    "no_budget",
    "disqualified",
)
"""The lost reasons the sample uses."""

MAX_OPPORTUNITIES: Final = 50_000_000

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(what, done, total)`` during long generation."""

_DAY: Final = 86_400.0
_PROGRESS_EVERY: Final = 100_000

# Mean days spent in each open stage before the next move.
_STAGE_DAYS: Final = (6.0, 12.0, 10.0, 14.0)
# Chance that a deal still in stage i is lost instead of moving on.
_LOSS_AT: Final = (0.35, 0.30, 0.22, 0.25)
_LOSS_WEIGHTS: Final = (12, 20, 25, 13, 15, 15)

_INDUSTRIES: Final = (
    "saas",
    "fintech",
    "healthcare",
    "retail",
    "manufacturing",
    "education",
    "logistics",
    "media",
)
_INDUSTRY_WEIGHTS: Final = (24, 14, 12, 12, 11, 9, 10, 8)
_COUNTRIES: Final = ("DE", "US", "GB", "FR", "NL", "SE", "ES", "IN", "BR", "JP")
_COUNTRY_WEIGHTS: Final = (18, 30, 14, 9, 6, 4, 6, 6, 4, 3)
_SOURCES: Final = (
    "organic",
    "paid_search",
    "webinar",
    "referral",
    "outbound",
    "event",
    "partner",
)
_SOURCE_WEIGHTS: Final = (26, 20, 12, 10, 16, 8, 8)
# What a lead from each source costs the sample company, in whole currency
# units: content for organic leads, ads, events, partner fees, the SDR team.
_COST_PER_LEAD: Final = (50, 300, 150, 100, 350, 500, 200)
PAID_CHANNELS: Final = ("paid_search", "event", "partner")
"""The sample's paid acquisition channels (for paid CAC)."""
# Golden-ratio steps spread account numbers evenly over [0, 1) without a draw.
_GOLDEN: Final = 0.6180339887498949
_ACTIVITY_KINDS: Final = (
    "email_open",
    "page_view",
    "form_submit",
    "webinar",
    "meeting",
    "call",
)
_ACTIVITY_WEIGHTS: Final = (30, 34, 10, 8, 10, 8)
_PREFIXES: Final = (
    "Nord",
    "Blue",
    "Bright",
    "Iron",
    "Silver",
    "Quant",
    "Terra",
    "Lumen",
    "Apex",
    "Vela",
    "Oak",
    "Polar",
)
_SUFFIXES: Final = (
    "wind",
    "stone",
    "path",
    "field",
    "works",
    "ware",
    "labs",
    "grid",
    "line",
    "forge",
)
_KINDS: Final = (
    "Analytics",
    "Systems",
    "Health",
    "Retail",
    "Logistics",
    "Media",
    "Bank",
    "Robotics",
)
_FIRST: Final = (
    "Ada",
    "Ben",
    "Chen",
    "Dana",
    "Eva",
    "Femi",
    "Gita",
    "Hugo",
    "Ines",
    "Jonas",
    "Kai",
    "Lea",
)
_LAST: Final = (
    "Meyer",
    "Okafor",
    "Silva",
    "Tanaka",
    "Nowak",
    "Larsen",
    "Rossi",
    "Patel",
    "Kim",
    "Dubois",
)
_TITLES: Final = (
    "CEO",
    "CFO",
    "VP Sales",
    "Head of Ops",
    "IT Manager",
    "Analyst",
    "CTO",
)


def sample_pipeline() -> Pipeline:
    """The pipeline the sample's deals move through, with rotting thresholds.

    Its stage keys are [`OPEN_STAGES`][crmcore.sample.OPEN_STAGES] then
    ``closed_won`` and ``closed_lost``; losing needs one of
    [`LOST_REASONS`][crmcore.sample.LOST_REASONS]. The exit criteria read
    fields every sample deal has (so the sample's moves are all allowed);
    real pipelines ask for more.
    """
    rotting = {"prospecting": 14, "discovery": 30, "proposal": 30, "negotiation": 45}
    names = {
        "prospecting": "First contact made",
        "discovery": "Discovery call held",
        "proposal": "Proposal sent",
        "negotiation": "Terms negotiated",
    }
    probabilities = {
        "prospecting": "0.1",
        "discovery": "0.2",
        "proposal": "0.45",
        "negotiation": "0.7",
    }
    return Pipeline(
        "sample_new_business",
        (
            *(
                StageDefinition(
                    key,
                    names[key],
                    probability=probabilities[key],
                    owner="sales",
                    rotting_days=rotting[key],
                    exit_criteria=(RequiredFields(("account_id", "owner")),),
                )
                for key in OPEN_STAGES
            ),
            StageDefinition(WON_STAGE, "Closed won", kind="won"),
            StageDefinition(LOST_STAGE, "Closed lost", kind="lost"),
        ),
        policy=TransitionPolicy("free", lost_reasons=LOST_REASONS),
    )


def _chooser(values: Sequence[str], weights: Sequence[int]) -> Callable[[float], str]:
    """Weighted choice from one uniform draw (faster than ``Random.choices``)."""
    total = sum(weights)
    cumulative = list(itertools.accumulate(w / total for w in weights))
    cumulative[-1] = 1.0
    last = len(values) - 1

    def choose(u: float) -> str:
        return values[min(bisect.bisect_right(cumulative, u), last)]

    return choose


_industry = _chooser(_INDUSTRIES, _INDUSTRY_WEIGHTS)
_country = _chooser(_COUNTRIES, _COUNTRY_WEIGHTS)
_source = _chooser(_SOURCES, _SOURCE_WEIGHTS)
_activity = _chooser(_ACTIVITY_KINDS, _ACTIVITY_WEIGHTS)
_lost_reason = _chooser(LOST_REASONS, _LOSS_WEIGHTS)


def _records_of(kind: type[object]) -> Any:
    """A tuple field whose items must all be ``kind``; repr shows the count."""

    def check(
        _instance: object, attribute: attrs.Attribute[Any], value: object
    ) -> None:
        if type(value) is not tuple:
            raise DataTypeError(attribute.name, value, f"a tuple of {kind.__name__}")
        for index, item in enumerate(value):
            if not isinstance(item, kind):
                raise DataTypeError(f"{attribute.name}[{index}]", item, kind.__name__)

    return attrs.field(validator=check, repr=lambda v: f"<{len(v)} {kind.__name__}>")


def _seed(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int:
        raise DataTypeError(attribute.name, value, "an int")


_aware = _v.aware_instant()


def _currency_field(
    _instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    check_currency(value, attribute.name)


@attrs.frozen(eq=True)
class SampleData:
    """A complete synthetic CRM.

    Made by [`generate_sample`][crmcore.sample.generate_sample].

    Attributes:
        seed: The seed it was generated from.
        start: Start of the simulated window.
        as_of: End of the simulated window: "now" for the sample's reports.
        currency: The currency of every amount.
        stages: The pipeline's stage keys in order, open stages first, then
            ``closed_won`` and ``closed_lost``.
        accounts: Companies, one in twenty opportunities' worth.
        contacts: People at the accounts.
        leads: Leads created during the window.
        activities: Engagement events of the leads.
        opportunities: Deals, open, won and lost.
        stage_changes: Every deal's stage history, in deal order then time.
        subscriptions: Recurring revenue of accounts that won deals.
    """

    seed: int = attrs.field(validator=_seed)
    start: datetime = attrs.field(validator=_aware)
    as_of: datetime = attrs.field(validator=_aware)
    currency: str = attrs.field(validator=_currency_field)
    stages: tuple[str, ...] = _records_of(str)
    accounts: tuple[Account, ...] = _records_of(Account)
    contacts: tuple[Contact, ...] = _records_of(Contact)
    leads: tuple[Lead, ...] = _records_of(Lead)
    activities: tuple[Activity, ...] = _records_of(Activity)
    opportunities: tuple[Opportunity, ...] = _records_of(Opportunity)
    stage_changes: tuple[StageChange, ...] = _records_of(StageChange)
    subscriptions: tuple[Subscription, ...] = _records_of(Subscription)

    def account_profiles(self) -> list[dict[str, Any]]:
        """Accounts as plain rows enriched for segmentation, one per account.

        Each row has the account's fields (``annual_revenue`` as a Decimal in
        the sample currency) plus ``segment`` (from its custom
        fields), ``contacts`` (list of ``{"title": ...}``), ``open_deals``,
        ``won_deals``, ``won_amount`` (Decimal), ``customer_since`` (first
        subscription start, or ``None``) and ``mrr`` (Decimal, as of
        ``as_of``). The B2B starter segments read exactly these names.
        """
        contacts: dict[str, list[dict[str, Any]]] = {}
        for contact in self.contacts:
            contacts.setdefault(contact.account_id or "", []).append(
                {"title": contact.title}
            )
        open_deals: dict[str, int] = {}
        won: dict[str, list[Decimal]] = {}
        for deal in self.opportunities:
            key = deal.account_id or ""
            if deal.outcome == "open":
                open_deals[key] = open_deals.get(key, 0) + 1
            elif deal.outcome == "won":
                won.setdefault(key, []).append(deal.amount)
        since: dict[str, datetime] = {}
        mrr: dict[str, Decimal] = {}
        for sub in self.subscriptions:
            first = since.get(sub.customer_id)
            if first is None or sub.start < first:
                since[sub.customer_id] = sub.start
            if sub.start <= self.as_of and (sub.end is None or self.as_of < sub.end):
                mrr[sub.customer_id] = (
                    mrr.get(sub.customer_id, Decimal(0)) + sub.mrr.amount
                )
        return [
            {
                "id": account.id,
                "name": account.name,
                "industry": account.industry,
                "employees": account.employees,
                "annual_revenue": None
                if account.annual_revenue is None
                else account.annual_revenue.amount,
                "country": account.country,
                "owner": account.owner,
                "segment": account.fields.get("segment"),
                "contacts": contacts.get(account.id, []),
                "open_deals": open_deals.get(account.id, 0),
                "won_deals": len(won.get(account.id, [])),
                "won_amount": sum(won.get(account.id, []), Decimal(0)),
                "customer_since": since.get(account.id),
                "mrr": mrr.get(account.id, Decimal(0)),
            }
            for account in self.accounts
        ]

    def purchases(self) -> list[dict[str, Any]]:
        """Won deals as a transaction log: ``customer_id``, ``at``, ``amount``.

        The input [`btyd_summary`][crmcore.rfm.btyd_summary] and
        [`rfm_scores`][crmcore.rfm.rfm_scores] expect by default.
        """
        return [
            {
                "customer_id": deal.account_id,
                "at": deal.closed_at,
                "amount": deal.amount,
            }
            for deal in self.opportunities
            if deal.outcome == "won"
        ]

    def marketing_spend(self) -> list[dict[str, Any]]:
        """Monthly sales and marketing spend per channel, from the leads.

        One row per calendar month of the window and lead source that
        produced leads that month: ``at`` (the month's first instant),
        ``amount`` (leads × the source's fixed cost per lead, a Decimal),
        ``currency`` and ``channel`` (the source). It draws nothing random,
        so it changes no other sample value. The input of
        [`MarketingSpend`][crmcore.kpis.MarketingSpend].

        Examples:
            >>> rows = generate_sample(200).marketing_spend()
            >>> sorted(rows[0])
            ['amount', 'at', 'channel', 'currency']
        """
        cost = dict(zip(_SOURCES, _COST_PER_LEAD, strict=True))
        counts: dict[tuple[datetime, str], int] = {}
        for lead in self.leads:
            created = lead.created_at
            month = created.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            key = (month, lead.source or "organic")
            counts[key] = counts.get(key, 0) + 1
        return [
            {
                "at": month,
                "amount": Decimal(count * cost[channel]),
                "currency": self.currency,
                "channel": channel,
            }
            for (month, channel), count in sorted(counts.items())
        ]

    def acquisition_channels(self) -> dict[str, str]:
        """The channel that brought each account, by account id.

        Spread over the lead sources in their proportions, without a random
        draw; pass it as ``channels=`` to
        [`NewCustomers`][crmcore.kpis.NewCustomers] for paid CAC.

        Examples:
            >>> generate_sample(100).acquisition_channels()["acc-000001"]
            'referral'
        """
        return {
            account.id: _source((number * _GOLDEN) % 1.0)
            for number, account in enumerate(self.accounts, start=1)
        }

    def handoffs(self) -> list[dict[str, Any]]:
        """Handoffs between teams: each converted lead to sales, each won deal to success.

        Rows of ``id``, ``contract`` (a key of
        [`sample_contracts`][crmcore.sample.sample_contracts]), ``record``
        (the lead or deal), ``from_team``, ``to_team``, ``handed_at`` and
        ``accepted_at`` (``None`` while waiting): the input of the handoff
        KPIs. Drawn from their own seed, so no other sample value changes.

        Examples:
            >>> rows = generate_sample(200).handoffs()
            >>> sorted({row["contract"] for row in rows})
            ['mql_to_sales', 'won_to_success']
        """  # noqa: E501
        return handoff_rows(
            self.leads, self.opportunities, seed=self.seed, as_of=self.as_of
        )

    def lead_rows(self) -> list[dict[str, Any]]:
        """Each lead as a plain row with its events and its outcome: scoring input.

        Rows have the lead's ``id``, ``created_at``, ``source``,
        ``industry``, ``employees``, ``country`` and ``status``, its
        ``activities`` (``kind`` and ``at``), an ``outcome`` (``"won"`` when it
        converted; ``"lost"`` when disqualified, or not converted
        [`DECIDED_AFTER`][crmcore.sample.DECIDED_AFTER] (60 days) after it
        was created; else ``"open"``) and ``closed_at`` (when it converted,
        or when it counted as lost; ``None`` while open).

        Examples:
            >>> rows = generate_sample(400).lead_rows()
            >>> sorted({row["outcome"] for row in rows})
            ['lost', 'open', 'won']
        """
        return lead_rows(self.leads, self.activities, self.as_of)

    def tickets(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Support tickets of the customers, and their status events.

        Tickets have ``id``, ``customer_id``, ``created_at``, ``priority``
        and ``tier``; events ``ticket_id``, ``at`` and ``status``
        (``responded``, ``waiting_on_customer``, ``open``, ``resolved``):
        the input of [`sla_status`][crmcore.handoffs.sla_status] with
        [`sample_sla_policies`][crmcore.sample.sample_sla_policies].
        """
        return ticket_rows(self.subscriptions, seed=self.seed, as_of=self.as_of)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every data set as flat rows: what a CSV file or a DataFrame holds.

        The record collections, the marketing spend and the handoffs, each
        record as one row of plain values: money becomes its amount and a
        ``currency`` column (``<field>_currency`` when the record has its
        own ``currency``), custom fields become dotted columns
        (``fields.region``); instants stay aware datetimes and amounts
        ``Decimal`` (see [`to_row`][crmcore.serialization.to_row]).
        ``crmcore sample --format csv|jsonl|parquet`` writes these rows, and
        ``crmcore.frames`` reads them back into every KPI.

        Examples:
            >>> rows = generate_sample(40).tables()["subscriptions"]
            >>> sorted(rows[0])
            ['currency', 'customer_id', 'end', 'id', 'mrr', 'plan', 'start']
        """
        tables = {
            name: [to_row(record) for record in records]
            for name, records in self.collections().items()
        }
        tables["marketing_spend"] = self.marketing_spend()
        tables["handoffs"] = self.handoffs()
        return tables

    def collections(self) -> dict[str, tuple[object, ...]]:
        """Every collection of records by name, in a fixed order.

        Examples:
            >>> data = generate_sample(40)
            >>> {name: len(rows) for name, rows in data.collections().items()}
            ... # doctest: +NORMALIZE_WHITESPACE
            {'accounts': 5, 'contacts': 8, 'leads': 20, 'activities': 28,
             'opportunities': 40, 'stage_changes': 137, 'subscriptions': 7}
        """
        return {
            "accounts": self.accounts,
            "contacts": self.contacts,
            "leads": self.leads,
            "activities": self.activities,
            "opportunities": self.opportunities,
            "stage_changes": self.stage_changes,
            "subscriptions": self.subscriptions,
        }


def _check_size(value: object, field: str, minimum: int, maximum: int) -> int:
    if type(value) is not int:
        raise DataTypeError(field, value, f"an int from {minimum} to {maximum}")
    if not minimum <= value <= maximum:
        raise DataError(field, value, f"an int from {minimum} to {maximum}")
    return value


# Revenue per employee for the sample's annual revenue (no random draw, so
# adding it changed no other sample value).
_REVENUE_PER_EMPLOYEE: Final = 140_000


def _accounts(
    count: int, seed: int, start: datetime, span: float, currency: str
) -> list[Account]:
    rng = random.Random(f"crmcore-sample:{seed}:accounts")
    draw = rng.random
    accounts = []
    for index in range(count):
        employees = max(1, int(rng.lognormvariate(4.2, 1.4)))
        segment = (
            "enterprise"
            if employees >= 1000
            else "mid_market"
            if employees >= 100
            else "smb"
        )
        name = (
            f"{_PREFIXES[int(draw() * len(_PREFIXES))]}"
            f"{_SUFFIXES[int(draw() * len(_SUFFIXES))]} "
            f"{_KINDS[int(draw() * len(_KINDS))]}"
        )
        accounts.append(
            Account(
                f"acc-{index + 1:06d}",
                name,
                industry=_industry(draw()),
                employees=employees,
                annual_revenue=Money(employees * _REVENUE_PER_EMPLOYEE, currency),
                country=_country(draw()),
                owner=f"rep-{int(draw() * 25) + 1:02d}",
                created_at=start + timedelta(seconds=int(draw() * span * 0.5)),
                fields={"segment": segment},
            )
        )
    return accounts


def _contacts(accounts: Sequence[Account], seed: int) -> list[Contact]:
    rng = random.Random(f"crmcore-sample:{seed}:contacts")
    draw = rng.random
    contacts: list[Contact] = []
    for account in accounts:
        for _ in range(1 + int(draw() * 3)):
            first = _FIRST[int(draw() * len(_FIRST))]
            last = _LAST[int(draw() * len(_LAST))]
            contacts.append(
                Contact(
                    f"con-{len(contacts) + 1:07d}",
                    account_id=account.id,
                    name=f"{first} {last}",
                    email=f"{first.lower()}.{last.lower()}@{account.id}.example",
                    title=_TITLES[int(draw() * len(_TITLES))],
                    created_at=account.created_at,
                )
            )
    return contacts


def _leads(
    count: int, seed: int, start: datetime, as_of: datetime, span: float
) -> tuple[list[Lead], list[Activity]]:
    rng = random.Random(f"crmcore-sample:{seed}:leads")
    draw = rng.random
    leads: list[Lead] = []
    activities: list[Activity] = []
    for index in range(count):
        lead_id = f"lead-{index + 1:07d}"
        created = start + timedelta(seconds=int(draw() * span))
        engagement = int(draw() * draw() * 9)
        last_seen = created
        for _ in range(engagement):
            at = created + timedelta(seconds=int(draw() * 45 * _DAY))
            if at >= as_of:
                continue
            last_seen = max(last_seen, at)
            activities.append(Activity(lead_id, _activity(draw()), at))
        roll = draw()
        converted_at = None
        if engagement >= 4 and roll < 0.45:
            status = "converted"
            converted_at = last_seen + timedelta(seconds=int(draw() * 7 * _DAY))
            if converted_at >= as_of:
                converted_at, status = None, "sql"
        elif engagement >= 3:
            status = "mql" if roll < 0.7 else "sql"
        elif roll < 0.15:
            status = "disqualified"
        else:
            status = "new"
        leads.append(
            Lead(
                lead_id,
                created,
                source=_source(draw()),
                status=status,
                industry=_industry(draw()),
                employees=max(1, int(rng.lognormvariate(3.8, 1.3))),
                country=_country(draw()),
                converted_at=converted_at,
            )
        )
    return leads, activities


def _deal_stream(  # noqa: PLR0917 - private, called from two places
    count: int,
    seed: int,
    start: datetime,
    as_of: datetime,
    currency: str,
    accounts: int,
) -> Iterator[tuple[Opportunity, tuple[StageChange, ...]]]:
    rng = random.Random(f"crmcore-sample:{seed}:opportunities")
    draw = rng.random
    expo = rng.expovariate
    span = (as_of - start).total_seconds()
    rates = [1.0 / (days * _DAY) for days in _STAGE_DAYS]
    last_stage = len(OPEN_STAGES) - 1
    for index in range(count):
        deal_id = f"opp-{index + 1:07d}"
        account_id = f"acc-{int(draw() * accounts) + 1:06d}"
        owner = f"rep-{int(draw() * 25) + 1:02d}"
        offset = draw() * span
        created = start + timedelta(seconds=int(offset))
        amount = Decimal(max(500, int(rng.lognormvariate(9.4, 0.8)) // 100 * 100))
        # About one deal in eight drags: every stage takes four times as long.
        pace = 4.0 if draw() < 0.125 else 1.0
        at = created
        stage = 0
        history = [StageChange(deal_id, None, OPEN_STAGES[0], created, by=owner)]
        outcome = "open"
        closed_at = None
        reason = None
        while True:
            at = at + timedelta(seconds=int(expo(rates[stage]) * pace) + 60)
            if at >= as_of:
                break
            roll = draw()
            if roll < _LOSS_AT[stage]:
                outcome, reason = "lost", _lost_reason(draw())
                history.append(
                    StageChange(deal_id, OPEN_STAGES[stage], LOST_STAGE, at, by=owner)
                )
                break
            if stage == last_stage:
                outcome = "won"
                history.append(
                    StageChange(deal_id, OPEN_STAGES[stage], WON_STAGE, at, by=owner)
                )
                break
            step = draw()
            if step < 0.06 and stage > 0:
                target = stage - 1  # a step back, e.g. proposal back to discovery
            elif step < 0.14 and stage + 2 <= last_stage:
                target = stage + 2  # a skipped stage
            else:
                target = stage + 1
            history.append(
                StageChange(
                    deal_id, OPEN_STAGES[stage], OPEN_STAGES[target], at, by=owner
                )
            )
            stage = target
        if outcome != "open":
            closed_at = at
        yield (
            Opportunity(
                deal_id,
                account_id,
                amount,
                currency,
                created,
                history[-1].to_stage,
                outcome=outcome,  # type: ignore[arg-type]
                closed_at=closed_at,
                lost_reason=reason,
                owner=owner,
            ),
            tuple(history),
        )


def iter_opportunities(
    count: int,
    *,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    months: int = 24,
    currency: str = "EUR",
) -> Iterator[tuple[Opportunity, tuple[StageChange, ...]]]:
    """Stream ``count`` deals with their stage histories, in constant memory.

    Yields exactly the deals that [`generate_sample`][crmcore.sample.generate_sample]
    with the same arguments returns, in the same order.

    Examples:
        >>> deal, history = next(iter_opportunities(10, seed=1))
        >>> history[0].from_stage is None and history[-1].to_stage == deal.stage
        True
    """
    _check_size(count, "count", 0, MAX_OPPORTUNITIES)
    _check_size(months, "months", 1, 600)
    require_aware(start, "start")
    check_currency(currency)
    as_of = add_calendar(start, months=months)
    return _deal_stream(count, seed, start, as_of, currency, max(1, count // 20))


def _subscriptions(
    first_wins: dict[str, tuple[datetime, Decimal]],
    seed: int,
    as_of: datetime,
    currency: str,
) -> list[Subscription]:
    rng = random.Random(f"crmcore-sample:{seed}:subscriptions")
    draw = rng.random
    month = 30.44 * _DAY
    subscriptions: list[Subscription] = []
    for customer in sorted(first_wins):
        since, amount = first_wins[customer]
        # Annual contract value spread over twelve months, in whole cents.
        cents = max(1000, int(amount * 100 / 12))
        active = True
        at = since
        while True:
            at = at + timedelta(seconds=int(month * (0.6 + draw() * 0.8)))
            if at >= as_of:
                if active:
                    subscriptions.append(_sub(customer, cents, currency, since, None))
                break
            roll = draw()
            if active:
                if roll < 0.025:  # churn
                    subscriptions.append(_sub(customer, cents, currency, since, at))
                    active = False
                elif roll < 0.07:  # expansion
                    subscriptions.append(_sub(customer, cents, currency, since, at))
                    cents = int(cents * (1.1 + draw() * 0.4))
                    since = at
                elif roll < 0.085:  # contraction
                    subscriptions.append(_sub(customer, cents, currency, since, at))
                    cents = max(500, int(cents * (0.6 + draw() * 0.3)))
                    since = at
            elif roll < 0.06:  # reactivation
                active, since = True, at
    return subscriptions


def _sub(
    customer: str, cents: int, currency: str, start: datetime, end: datetime | None
) -> Subscription:
    return Subscription(
        customer,
        Money(Decimal(cents).scaleb(-2), currency),
        start,
        end=end,
        plan="standard",
    )


def generate_sample(
    opportunities: int = 1_000,
    *,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    months: int = 24,
    currency: str = "EUR",
    progress: ProgressCallback | None = None,
) -> SampleData:
    """Generate a deterministic synthetic CRM of the given size.

    Sizes scale with ``opportunities``: one account per twenty deals (at least
    five), one to three contacts per account, one lead per two deals with up
    to eight engagement events each, and a subscription history for every
    account that won a deal. One million deals take well under a minute.

    Args:
        opportunities: Number of deals, from 0 to 50,000,000.
        seed: Any int; the same seed always gives identical data.
        start: Start of the simulated window (aware).
        months: Length of the window in calendar months.
        currency: ISO 4217 currency of every amount.
        progress: Optional callback ``progress(what, done, total)`` called
            every 100,000 deals and once per phase; the command line uses it
            to report progress on stderr.

    Returns:
        A [`SampleData`][crmcore.sample.SampleData].

    Raises:
        DataError: For sizes out of range or an unknown currency.
        NaiveDatetimeError: For a naive ``start``.

    Examples:
        >>> data = generate_sample(100, seed=3)
        >>> {c.currency for c in data.opportunities}
        {'EUR'}
    """
    _check_size(opportunities, "opportunities", 0, MAX_OPPORTUNITIES)
    _check_size(months, "months", 1, 600)
    if type(seed) is not int:
        raise DataTypeError("seed", seed, "an int")
    require_aware(start, "start")
    check_currency(currency)
    if progress is not None and not callable(progress):
        raise DataTypeError("progress", progress, "a function (what, done, total)")
    as_of = add_calendar(start, months=months)
    span = (as_of - start).total_seconds()
    n_accounts = max(5, opportunities // 20)

    def report(what: str, done: int, total: int) -> None:
        if progress is not None:
            progress(what, done, total)

    accounts = _accounts(n_accounts, seed, start, span, currency)
    report("accounts", n_accounts, n_accounts)
    contacts = _contacts(accounts, seed)
    report("contacts", len(contacts), len(contacts))
    leads, activities = _leads(opportunities // 2, seed, start, as_of, span)
    report("leads", len(leads), len(leads))

    deals: list[Opportunity] = []
    changes: list[StageChange] = []
    first_wins: dict[str, tuple[datetime, Decimal]] = {}
    for done, (deal, history) in enumerate(
        _deal_stream(opportunities, seed, start, as_of, currency, n_accounts), start=1
    ):
        deals.append(deal)
        changes.extend(history)
        closed_at = deal.closed_at
        if deal.outcome == "won" and deal.account_id and closed_at:
            known = first_wins.get(deal.account_id)
            if known is None or closed_at < known[0]:
                first_wins[deal.account_id] = (closed_at, deal.amount)
        if done % _PROGRESS_EVERY == 0:
            report("opportunities", done, opportunities)
    report("opportunities", opportunities, opportunities)
    subscriptions = _subscriptions(first_wins, seed, as_of, currency)
    report("subscriptions", len(subscriptions), len(subscriptions))
    return SampleData(
        seed=seed,
        start=start,
        as_of=as_of,
        currency=currency,
        stages=(*OPEN_STAGES, WON_STAGE, LOST_STAGE),
        accounts=tuple(accounts),
        contacts=tuple(contacts),
        leads=tuple(leads),
        activities=tuple(activities),
        opportunities=tuple(deals),
        stage_changes=tuple(changes),
        subscriptions=tuple(subscriptions),
    )
