"""Scoring benchmarks: a 20-rule model, a naive Bayes table, the AUC.

Run with ``python benchmarks/bench_scoring.py [--rows N]`` (1,000,000 by
default, for each of the three).

**Rule-based scores.**
The model has a fit group of 14 record rules (industry, size, country,
title, source, a student penalty...) with a cap, and an engagement group of
6 per-event rules (page views capped, form fills, demo requests, a webinar,
an unsubscribe penalty), counted over a 90-day window. Each lead is a dict
with 0 to 6 events.

The baseline is the function a developer would write by hand for the same
rules: ``if`` after ``if`` with integer points, a loop over the events, the
same caps. Both run interleaved in the same process; the time of each and
the ratio are printed, and every score is checked to be equal.

**The naive Bayes table** over 1,000,000 closed leads (source, industry,
a size band, team, and a stage of four): crmcore's ``FrequencyTable``
against a hand-written ``Counter`` of the same (team, feature, value,
outcome) keys. The time of each, the ratio, and that the counts agree.

**ROC AUC** over 1,000,000 (probability, outcome) pairs with ties (scores
rounded to three decimals): crmcore's ``Evaluation`` (counts, then the exact
Mann-Whitney U) against ``sklearn.metrics.roc_auc_score`` on numpy arrays,
the peer a data scientist would pick. Both times, the ratio and the two
values.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from crmcore.conditions import field
from crmcore.scoring import (
    DecayWindow,
    Evaluation,
    EventRule,
    NaiveBayes,
    NumberBand,
    Rule,
    RuleGroup,
    ScoringModel,
)

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
INDUSTRIES = ("saas", "fintech", "retail", "health", "education", "media")
COUNTRIES = ("DE", "US", "GB", "FR", "IN", "BR")
TITLES = ("CEO", "VP Sales", "Head of Ops", "Engineer", "student", "Analyst")
SOURCES = ("webinar", "paid_search", "referral", "organic", "event")
EVENTS = (
    "page_view",
    "page_view",
    "email_open",
    "form_fill",
    "demo_request",
    "webinar",
    "unsubscribe",
)

MODEL = ScoringModel(
    "benchmark",
    (
        RuleGroup(
            "fit",
            (
                Rule("saas", field("industry") == "saas", 20),
                Rule("fintech", field("industry") == "fintech", 15),
                Rule("education", field("industry") == "education", -10),
                Rule("mid_market", field("employees") >= 100, 10),
                Rule("enterprise", field("employees") >= 1000, 15),
                Rule("tiny", field("employees") < 10, -15),
                Rule("dach", field("country").is_in({"DE", "AT", "CH"}), 10),
                Rule("us", field("country") == "US", 8),
                Rule("ceo", field("title") == "CEO", 15),
                Rule("vp", field("title") == "VP Sales", 12),
                Rule("student", field("title") == "student", -25),
                Rule("referral", field("source") == "referral", 10),
                Rule("webinar_source", field("source") == "webinar", 5),
                Rule("budget", field("budget_known") == True, 10),  # noqa: E712
            ),
            cap=60,
        ),
        RuleGroup(
            "engagement",
            (
                EventRule("visits", field("kind") == "page_view", 2, cap=20),
                EventRule("opens", field("kind") == "email_open", 1, cap=5),
                EventRule("forms", field("kind") == "form_fill", 10),
                EventRule("demo", field("kind") == "demo_request", 30),
                EventRule("webinar", field("kind") == "webinar", 8),
                EventRule("unsubscribe", field("kind") == "unsubscribe", -20),
            ),
            cap=80,
            decay=DecayWindow("90d"),
        ),
    ),
)
FIT = {
    "industry": {"saas": 20, "fintech": 15, "education": -10},
    "title": {"CEO": 15, "VP Sales": 12, "student": -25},
    "source": {"referral": 10, "webinar": 5},
}
CAPS = {"page_view": 20, "email_open": 5}
POINTS = {
    "page_view": 2,
    "email_open": 1,
    "form_fill": 10,
    "demo_request": 30,
    "webinar": 8,
    "unsubscribe": -20,
}


def make_leads(count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    leads = []
    for n in range(count):
        events = [
            {
                "kind": rng.choice(EVENTS),
                "at": AS_OF - timedelta(days=rng.randrange(0, 150)),
            }
            for _ in range(rng.randrange(0, 7))
        ]
        leads.append(
            {
                "id": f"lead-{n:07d}",
                "industry": rng.choice(INDUSTRIES),
                "employees": rng.choice((3, 40, 250, 1500, 9000)),
                "country": rng.choice(COUNTRIES),
                "title": rng.choice(TITLES),
                "source": rng.choice(SOURCES),
                "budget_known": rng.random() < 0.3,
                "activities": events,
            }
        )
    return leads


def hand_written(leads: list[dict[str, Any]]) -> list[int]:
    """The function a developer writes for the same rules: ifs and a loop."""
    start = AS_OF - timedelta(days=90)
    industry, title, source = FIT["industry"], FIT["title"], FIT["source"]
    scores = []
    for lead in leads:
        fit = industry.get(lead["industry"], 0)
        employees = lead["employees"]
        if employees >= 100:
            fit += 10
        if employees >= 1000:
            fit += 15
        if employees < 10:
            fit -= 15
        country = lead["country"]
        if country in {"DE", "AT", "CH"}:
            fit += 10
        if country == "US":
            fit += 8
        fit += title.get(lead["title"], 0) + source.get(lead["source"], 0)
        if lead["budget_known"]:
            fit += 10
        fit = min(fit, 60)
        sums: dict[str, int] = {}
        for event in lead["activities"]:
            if start <= event["at"] <= AS_OF:
                kind = event["kind"]
                sums[kind] = sums.get(kind, 0) + POINTS[kind]
        engagement = 0
        for kind, points in sums.items():
            cap = CAPS.get(kind)
            engagement += points if cap is None else max(-cap, min(points, cap))
        scores.append(fit + min(engagement, 80))
    return scores


STAGES = ("new", "qualified", "proposal", "negotiation")
BAYES = NaiveBayes(
    ["source", "industry", NumberBand("employees", [50, 250, 1000], name="size")],
    stages=STAGES,
)


def make_closed(count: int) -> list[dict[str, Any]]:
    rng = random.Random(9)
    return [
        {
            "source": rng.choice(SOURCES),
            "industry": rng.choice(INDUSTRIES),
            "employees": rng.choice((3, 40, 250, 1500, 9000)),
            "team": rng.choice(("emea", "amer", "apac")),
            "stage": rng.choice(STAGES),
            "outcome": "won" if rng.random() < 0.2 else "lost",
        }
        for _ in range(count)
    ]


def hand_counts(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """The counts a developer writes by hand: one Counter, a loop."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        team, outcome = row["team"], row["outcome"]
        counts[(team, "source", row["source"], outcome)] += 1
        counts[(team, "industry", row["industry"], outcome)] += 1
        employees = row["employees"]
        size = (
            "<50"
            if employees < 50
            else "50-250"
            if employees < 250
            else "250-1000"
            if employees < 1000
            else ">=1000"
        )
        counts[(team, "size", size, outcome)] += 1
    return counts


def bench_bayes(count: int) -> None:
    rows = make_closed(count)
    best_ours = best_theirs = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        table = BAYES.table().update(rows)
        best_ours = min(best_ours, time.perf_counter() - began)
        began = time.perf_counter()
        counts = hand_counts(rows)
        best_theirs = min(best_theirs, time.perf_counter() - began)
    began = time.perf_counter()
    table.result()
    scoring_table = time.perf_counter() - began
    same = dict(table.values) == dict(counts)
    print(
        f"FrequencyTable: {count:,} closed leads, 3 features and 4 stages, in "
        f"{best_ours:.3f} s ({count / best_ours:,.0f}/s); hand-written Counter "
        f"{best_theirs:.3f} s; ratio {best_ours / best_theirs:.2f}x; result() "
        f"{scoring_table:.3f} s; counts {'agree' if same else 'DIFFER'}"
    )
    if not same:
        raise SystemExit("the counts differ")


def bench_auc(count: int) -> None:
    try:
        import numpy as np  # noqa: PLC0415 - the peer, when installed
        from sklearn.metrics import roc_auc_score  # noqa: PLC0415
    except ImportError:
        print("ROC AUC: scikit-learn is not installed (pip install scikit-learn)")
        return
    rng = random.Random(13)
    labels = [rng.random() < 0.3 for _ in range(count)]
    scores = [
        round(min(1.0, max(0.0, rng.gauss(0.6 if y else 0.4, 0.2))), 3) for y in labels
    ]
    pairs = list(zip(scores, labels, strict=True))
    y, p = np.array(labels), np.array(scores)
    best_ours = best_theirs = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        ours = Evaluation().update(pairs).result().auc
        best_ours = min(best_ours, time.perf_counter() - began)
        began = time.perf_counter()
        theirs = roc_auc_score(y, p)
        best_theirs = min(best_theirs, time.perf_counter() - began)
    assert ours is not None
    print(
        f"ROC AUC: {count:,} pairs in {best_ours:.3f} s; sklearn.metrics."
        f"roc_auc_score {best_theirs:.3f} s; ratio {best_ours / best_theirs:.2f}x; "
        f"crmcore {float(ours):.12f}, scikit-learn {theirs:.12f}"
    )
    if abs(float(ours) - theirs) > 1e-9:
        raise SystemExit("the AUCs differ")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=None, help="ignored")
    args = parser.parse_args()
    leads = make_leads(args.rows)
    compiled = MODEL.compile(as_of=AS_OF)
    best_ours = best_theirs = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        ours = compiled.totals(leads)
        best_ours = min(best_ours, time.perf_counter() - began)
        began = time.perf_counter()
        theirs = hand_written(leads)
        best_theirs = min(best_theirs, time.perf_counter() - began)
    same = sum(1 for a, b in zip(ours, theirs, strict=True) if a == Decimal(b))
    print(
        f"ScoringModel.totals: {len(leads):,} leads, 20 rules, in {best_ours:.3f} s "
        f"({len(leads) / best_ours:,.0f}/s); hand-written {best_theirs:.3f} s; "
        f"ratio {best_ours / best_theirs:.2f}x; {same:,} of {len(leads):,} scores equal"
    )
    if same != len(leads):
        raise SystemExit("the scores differ")
    del leads, ours, theirs
    bench_bayes(args.rows)
    bench_auc(args.rows)


if __name__ == "__main__":
    main()
