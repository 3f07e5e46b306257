"""Data-quality benchmarks: data-trust checks over leads, duplicate detection.

Run with ``python benchmarks/bench_quality.py [--rows N] [--size N]``
(1,000,000 leads and 100,000 contacts by default).

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

**Duplicates.** 100,000 contacts of 2,000 companies (a tenth with a free-mail
address), of which one in ten is a planted duplicate of another: the email
in other case or with a ``+tag`` (Gmail), the phone in national form, the
name with accents or in another order. ``find_duplicates`` runs once for
the time and once under ``tracemalloc`` for the peak memory; the time, the
candidate pairs, the clusters found against the planted ones, and the
memory are printed (a few more are found than planted: two contacts drawn
with the same name and the same random phone number). There is no peer in
the same process to compare with (the libraries that do this, such as
``dedupe``, need training), so this is a report, not a ratio.
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from crmcore.conditions import field
from crmcore.quality import DataRule, DataSpec, DataTrust, find_duplicates

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


FIRST = ("Ada", "Bo", "Chloé", "Dmitri", "Élodie", "Femi", "Grace", "Hiro", "Ines")
LAST = ("Silva", "Chen", "Müller", "O'Brien", "Núñez", "Okafor", "Sato", "Rossi")


def make_contacts(count: int) -> tuple[list[dict[str, Any]], int]:
    """Contacts with one in ten a planted duplicate of an earlier one."""
    rng = random.Random(11)
    contacts: list[dict[str, Any]] = []
    originals: list[dict[str, Any]] = []
    planted = 0
    for index in range(count):
        if originals and rng.random() < 0.1:
            original = rng.choice(originals)
            first, last = original["name"].split(" ", 1)
            twin = dict(original, id=index)
            change = rng.randrange(3)
            if change == 0:
                twin["email"] = original["email"].upper()
            elif change == 1:
                twin["email"] = None
                twin["phone"] = "0" + original["phone"][3:]  # national form, GB
            else:
                twin["name"] = f"{last}, {first}"
            contacts.append(twin)
            planted += 1
            continue
        # Names differ within a company (50 contacts, 72 names), so every
        # duplicate found beyond the planted ones would be a false one.
        company = index % 2000
        combo = (index // 2000) % (len(FIRST) * len(LAST))
        first, last = FIRST[combo % len(FIRST)], LAST[combo // len(FIRST)]
        domain = "gmail.com" if rng.random() < 0.1 else f"company{company}.example"
        contact = {
            "id": index,
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{index}@{domain}",
            "phone": f"+4420{rng.randrange(70_000_000, 80_000_000)}",
            "country": "GB",
        }
        contacts.append(contact)
        originals.append(contact)
    return contacts, planted


def bench_duplicates(count: int) -> None:
    contacts, planted = make_contacts(count)
    began = time.perf_counter()
    report = find_duplicates(contacts)
    seconds = time.perf_counter() - began
    tracemalloc.start()
    find_duplicates(contacts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"find_duplicates: {count:,} contacts in {seconds:.2f} s "
        f"({count / seconds:,.0f}/s); {report.candidates:,} candidate pairs; "
        f"{report.duplicates:,} duplicates found of {planted:,} planted; "
        f"{len(report.ignored):,} keys ignored as too common; peak memory "
        f"{peak / 2**20:,.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    bench_duplicates(args.size)
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
