"""Seed the database with crmcore's sample data (``python -m examples.app seed``).

Rows are written with SQLAlchemy's bulk ``INSERT`` (``executemany``), in
batches, so a million opportunities go in without a million ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from crmcore import unstructure
from crmcore.sample import (
    SampleData,
    generate_sample,
    iter_opportunities,
    sample_people,
    sample_pipeline,
)

from .models import (
    Account,
    Activity,
    Base,
    Contact,
    Handoff,
    Lead,
    MarketingSpend,
    Opportunity,
    Person,
    StageHistory,
    Subscription,
)

__all__ = ["seed", "seed_opportunities"]

BATCH = 5_000


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _write(session: Session, model: type[Base], rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    for batch in _batches(rows):
        session.execute(insert(model), batch)
        count += len(batch)
    return count


def _deal_row(deal: Any, pipeline: str) -> dict[str, Any]:
    return {
        "id": deal.id,
        "pipeline": pipeline,
        "account_id": deal.account_id,
        "amount": deal.amount,
        "currency": deal.currency,
        "created_at": deal.created_at,
        "stage": deal.stage,
        "outcome": deal.outcome,
        "closed_at": deal.closed_at,
        "lost_reason": deal.lost_reason,
        "owner": deal.owner,
        "probability": deal.probability,
        "fields": dict(deal.fields),
        "version": 1,
    }


def _change_row(change: Any) -> dict[str, Any]:
    return {
        "record_id": change.record_id,
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "at": change.at,
        "by": change.by,
    }


def seed(session: Session, data: SampleData | None = None) -> dict[str, int]:
    """Write a sample data set (default: ``generate_sample()``); counts per table.

    The caller commits: the whole seed is one transaction.
    """
    data = generate_sample() if data is None else data
    channels = data.acquisition_channels()
    pipeline = sample_pipeline().key
    return {
        "accounts": _write(
            session,
            Account,
            (
                {
                    "id": a.id,
                    "name": a.name,
                    "industry": a.industry,
                    "employees": a.employees,
                    "country": a.country,
                    "owner": a.owner,
                    "channel": channels.get(a.id),
                    "created_at": a.created_at,
                    "revenue_amount": None
                    if a.annual_revenue is None
                    else a.annual_revenue.amount,
                    "revenue_currency": None
                    if a.annual_revenue is None
                    else a.annual_revenue.currency,
                    "fields": dict(a.fields),
                }
                for a in data.accounts
            ),
        ),
        "contacts": _write(
            session,
            Contact,
            (
                {
                    "id": c.id,
                    "account_id": c.account_id,
                    "name": c.name,
                    "email": c.email,
                    "title": c.title,
                    "created_at": c.created_at,
                    "fields": dict(c.fields),
                }
                for c in data.contacts
            ),
        ),
        "leads": _write(
            session,
            Lead,
            (
                {
                    **{
                        name: getattr(lead, name)
                        for name in (
                            "id",
                            "created_at",
                            "source",
                            "status",
                            "owner",
                            "email",
                            "company",
                            "industry",
                            "employees",
                            "country",
                            "account_id",
                            "contact_id",
                            "converted_at",
                        )
                    },
                    "fields": dict(lead.fields),
                }
                for lead in data.leads
            ),
        ),
        "activities": _write(
            session,
            Activity,
            (
                {
                    "record_id": a.record_id,
                    "kind": a.kind,
                    "at": a.at,
                    "by": a.by,
                    "properties": dict(a.properties),
                }
                for a in data.activities
            ),
        ),
        "opportunities": _write(
            session, Opportunity, (_deal_row(d, pipeline) for d in data.opportunities)
        ),
        "stage_changes": _write(
            session, StageHistory, (_change_row(c) for c in data.stage_changes)
        ),
        "subscriptions": _write(
            session,
            Subscription,
            (
                {
                    "customer_id": s.customer_id,
                    "mrr_amount": s.mrr.amount,
                    "currency": s.mrr.currency,
                    "start": s.start,
                    "end": s.end,
                    "plan": s.plan,
                }
                for s in data.subscriptions
            ),
        ),
        "marketing_spend": _write(session, MarketingSpend, data.marketing_spend()),
        "people": _write(
            session,
            Person,
            (
                {
                    "key": p.key,
                    "email": f"{p.key}@example.com",
                    "definition": unstructure(p),
                    "_api_token": f"token-{p.key}",
                }
                for p in sample_people()
            ),
        ),
        "handoffs": _write(session, Handoff, data.handoffs()),
    }


def seed_opportunities(session: Session, count: int, *, seed: int = 0) -> int:
    """Write ``count`` sample deals and their histories, streamed (for benchmarks).

    The deals are those of ``generate_sample(count, seed=seed)``, generated
    one at a time; their accounts are written as bare rows (an id and a
    name), enough for the foreign keys.
    """
    accounts = max(5, count // 20)  # as many as the sample generator draws from
    _write(
        session,
        Account,
        (
            {"id": f"acc-{i:06d}", "name": f"Account {i}"}
            for i in range(1, accounts + 1)
        ),
    )
    pipeline = sample_pipeline().key
    written = 0
    deals: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for deal, history in iter_opportunities(count, seed=seed):
        deals.append(_deal_row(deal, pipeline))
        changes.extend(_change_row(c) for c in history)
        if len(deals) >= BATCH:
            written += _write(session, Opportunity, deals)
            _write(session, StageHistory, changes)
            deals, changes = [], []
    written += _write(session, Opportunity, deals)
    _write(session, StageHistory, changes)
    return written
