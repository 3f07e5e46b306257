"""Data-quality benchmarks: data-trust checks over leads.

Run with ``python benchmarks/bench_quality.py [--rows N]`` (1,000,000 by
default).

**Data trust.** A lead spec of four required fields (email, company,
country, owner), two validity rules (an email with an ``@``, a size of at
least one employee, each applying where its field is filled), freshness
(updated within 90 days), an allow-list of five sources and one consent
field. Each lead is a dict; about a tenth miss or break something.

The baseline is the loop a data engineer would write by hand for the same
checks: ``dict.get`` and ``if`` per check, counters per check, and a
trusted count. Both run interleaved in the same process (best of three);
the time of each and the ratio are printed, and the counts are checked to
agree.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from crmcore.conditions import field
from crmcore.quality import DataRule, DataSpec, DataTrust

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
SOURCES = ("web", "event", "referral", "partner", "paid_search")
REQUIRED = ("email", "company", "country", "owner")
SPEC = DataSpec(
    "lead_data",
    "leads",
    required=REQUIRED,
    rules=[
        DataRule("email_format", field("email").contains("@")),
        DataRule("size", field("employees") >= 1),
    ],
    sources=SOURCES,
    refreshed="updated_at",
    refresh_every="90d",
    consent=["email_opt_in"],
)


def make_leads(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    leads = []
    for index in range(count):
        lead: dict[str, Any] = {
            "id": index,
            "email": f"user{index}@example.com" if rng.random() > 0.03 else "bad",
            "company": f"Company {index % 5000}",
            "country": rng.choice(("DE", "US", "GB", "FR")),
            "owner": f"rep-{index % 40}",
            "employees": rng.randrange(0, 5000),
            "source": rng.choice(SOURCES) if rng.random() > 0.02 else "list_buy",
            "updated_at": AS_OF - timedelta(days=rng.randrange(0, 120)),
            "email_opt_in": rng.random() > 0.05,
        }
        if rng.random() < 0.03:
            lead["company"] = ""
        if rng.random() < 0.02:
            del lead["owner"]
        leads.append(lead)
    return leads


def hand_written(leads: list[dict[str, Any]]) -> tuple[int, int, Counter[str]]:
    since = AS_OF - timedelta(days=90)
    allowed = set(SOURCES)
    failed: Counter[str] = Counter()
    trusted = 0
    for lead in leads:
        ok = True
        for name in REQUIRED:
            value = lead.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                failed[name] += 1
                ok = False
        email = lead.get("email")
        if email is not None and email != "" and "@" not in email:
            failed["email_format"] += 1
            ok = False
        employees = lead.get("employees")
        if employees is not None and employees < 1:
            failed["size"] += 1
            ok = False
        updated = lead.get("updated_at")
        if updated is None or not since <= updated <= AS_OF:
            failed["fresh"] += 1
            ok = False
        if lead.get("source") not in allowed:
            failed["source"] += 1
            ok = False
        if lead.get("email_opt_in") is None:
            failed["consent"] += 1
            ok = False
        trusted += ok
    return len(leads), trusted, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    leads = make_leads(args.rows)
    best_ours = best_theirs = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        report = DataTrust(SPEC, AS_OF).update(leads).result()
        best_ours = min(best_ours, time.perf_counter() - began)
        began = time.perf_counter()
        count, trusted, failed = hand_written(leads)
        best_theirs = min(best_theirs, time.perf_counter() - began)
    assert (report.count, report.trusted) == (count, trusted), (report, trusted)
    for name in REQUIRED:
        assert report[f"required:{name}"].failed == failed[name]
    assert report["rule:email_format"].failed == failed["email_format"]
    assert report["rule:size"].failed == failed["size"]
    assert report["fresh"].failed == failed["fresh"]
    assert report["source"].failed == failed["source"]
    assert report["consent:email_opt_in"].failed == failed["consent"]
    print(
        f"DataTrust: {count:,} leads, 9 checks, in {best_ours:.3f} s "
        f"({count / best_ours:,.0f}/s); hand-written loop {best_theirs:.3f} s; "
        f"ratio {best_ours / best_theirs:.2f}x; trust score "
        f"{report.score.value:.4f}, every count equal"
    )


if __name__ == "__main__":
    main()
