"""Rule-language benchmarks: a 10-leaf segment over 1,000,000 records.

Run with ``python benchmarks/bench_conditions.py [--rows N]``. The same test is
written once as a crmcore condition and once as the hand-written lambda a user
would otherwise write; both run over the same records (dicts, then attrs
objects) in this process, and the ratio is printed. Target: within 2x.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from _timing import compare

from crmcore import compile_condition, field
from crmcore.conditions import Condition
from crmcore.errors import DefinitionError
from crmcore.serialization import structure

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
INDUSTRIES = ("saas", "fintech", "healthcare", "retail", "manufacturing", "media")
COUNTRIES = ("DE", "US", "GB", "FR", "NL", "JP", "BR")
SOURCES = ("organic", "paid_search", "webinar", "partner", "outbound")
STATUSES = ("new", "mql", "sql", "disqualified")


@attrs.frozen
class LeadRow:
    industry: str
    employees: int
    country: str
    source: str
    email: str | None
    status: str
    score: int
    last_seen: datetime
    annual_revenue: Decimal
    tags: tuple[str, ...]


def make_rows(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [
        {
            "industry": rng.choice(INDUSTRIES),
            "employees": int(rng.lognormvariate(4.0, 1.5)),
            "country": rng.choice(COUNTRIES),
            "source": rng.choice(SOURCES),
            "email": None if rng.random() < 0.1 else "x@example.com",
            "status": rng.choice(STATUSES),
            "score": rng.randrange(100),
            "last_seen": AS_OF - timedelta(days=rng.randrange(365)),
            "annual_revenue": Decimal(rng.randrange(10_000, 50_000_000)),
            "tags": ("vip",) if rng.random() < 0.2 else (),
        }
        for _ in range(count)
    ]


SEGMENT = (
    field("industry").is_in({"saas", "fintech", "healthcare"})
    & (field("employees") >= 20)
    & (field("employees") < 5000)
    & field("country").is_in({"DE", "US", "GB", "FR"})
    & (field("source") != "partner")
    & field("email").exists()
    & field("status").is_in({"mql", "sql"})
    & (field("score") >= 30)
    & field("last_seen").within_last("90d")
    & (field("annual_revenue") >= Decimal(1_000_000))
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--size", type=int, default=0, help="ignored (run.py passes it)"
    )
    args = parser.parse_args()
    print(f"crmcore rule-language benchmarks (python {sys.version.split()[0]})")

    rows = make_rows(args.rows)
    objects = [LeadRow(**row) for row in rows]
    compiled = compile_condition(SEGMENT)
    predicate = compiled.bind(AS_OF)
    since = AS_OF - timedelta(days=90)
    industries = frozenset({"saas", "fintech", "healthcare"})
    countries = frozenset({"DE", "US", "GB", "FR"})
    statuses = frozenset({"mql", "sql"})
    million = Decimal(1_000_000)

    def by_hand_dict(r: dict[str, Any]) -> bool:
        return (
            r["industry"] in industries
            and r["employees"] >= 20
            and r["employees"] < 5000
            and r["country"] in countries
            and r["source"] != "partner"
            and bool(r["email"] and r["email"].strip())
            and r["status"] in statuses
            and r["score"] >= 30
            and since <= r["last_seen"] <= AS_OF
            and r["annual_revenue"] >= million
        )

    def by_hand_object(r: LeadRow) -> bool:
        return (
            r.industry in industries
            and r.employees >= 20
            and r.employees < 5000
            and r.country in countries
            and r.source != "partner"
            and bool(r.email and r.email.strip())
            and r.status in statuses
            and r.score >= 30
            and since <= r.last_seen <= AS_OF
            and r.annual_revenue >= million
        )

    expected = sum(1 for r in rows if by_hand_dict(r))
    assert expected == sum(1 for r in rows if predicate(r)), (
        "crmcore and baseline disagree"
    )
    assert expected == sum(1 for r in objects if predicate(r))
    print(f"segment matches {expected:,} of {len(rows):,} records")
    assert list(compiled.filter(rows, as_of=AS_OF)) == [
        r for r in rows if by_hand_dict(r)
    ]
    assert list(compiled.filter(objects, as_of=AS_OF)) == [
        r for r in objects if by_hand_object(r)
    ]
    print("per-record predicate, bind(as_of)(record):")
    compare(
        f"10-leaf segment over {len(rows):,} dicts",
        lambda: sum(1 for r in rows if predicate(r)),
        lambda: sum(1 for r in rows if by_hand_dict(r)),
        items=len(rows),
    )
    compare(
        f"10-leaf segment over {len(rows):,} attrs objects",
        lambda: sum(1 for r in objects if predicate(r)),
        lambda: sum(1 for r in objects if by_hand_object(r)),
        items=len(rows),
    )
    print("filtering, compiled.filter(records) vs [r for r in records if lambda(r)]:")
    compare(
        f"10-leaf segment filter over {len(rows):,} dicts",
        lambda: list(compiled.filter(rows, as_of=AS_OF)),
        lambda: [r for r in rows if by_hand_dict(r)],
        items=len(rows),
    )
    compare(
        f"10-leaf segment filter over {len(rows):,} attrs objects",
        lambda: list(compiled.filter(objects, as_of=AS_OF)),
        lambda: [r for r in objects if by_hand_object(r)],
        items=len(rows),
    )
    diagnosis()


def _nested(leaf: dict[str, Any], depth: int) -> dict[str, Any]:
    for level in range(depth):
        if level % 2:
            leaf = {"kind": "not", "condition": leaf}
        else:
            sibling = {"kind": "eq", "field": "x", "value": 1}
            leaf = {"kind": "all", "conditions": [sibling, leaf]}
    return leaf


def diagnosis() -> None:
    """Reporting a bad definition costs about what loading a good one does."""
    good = _nested({"kind": "eq", "field": "x", "value": 1}, 31)
    bad = _nested({"kind": "eq", "field": "x", "value": 1.5}, 31)
    structure(good, Condition)

    def refuse() -> None:
        try:
            structure(bad, Condition)
        except DefinitionError:
            return
        raise AssertionError("the bad definition was accepted")  # pragma: no cover

    print("diagnosis, structure(bad) vs structure(good), 31 levels deep:")
    compare(
        "a bad float 31 levels down, reported with its path",
        refuse,
        lambda: structure(good, Condition),
        items=1,
        repeat=20,
    )


if __name__ == "__main__":
    main()
