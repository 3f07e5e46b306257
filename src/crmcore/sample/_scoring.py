"""The sample CRM's lead scores: a rule-based model and a naive Bayes model.

Fixed definitions, written the way a marketing team would start, and the
lead rows they read (each lead with its events and its outcome).
Re-exported by [`crmcore.sample`][crmcore.sample].
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from crmcore.conditions import field
from crmcore.records import Activity, Lead
from crmcore.scoring import (
    Band,
    DecayWindow,
    EventRule,
    Holds,
    NaiveBayes,
    NumberBand,
    Rule,
    RuleGroup,
    ScoringModel,
)

__all__ = ["DECIDED_AFTER", "lead_rows", "sample_naive_bayes", "sample_scoring_model"]

DECIDED_AFTER: Final = timedelta(days=60)
"""A sample lead not converted this long after creation counts as lost."""


def sample_scoring_model() -> ScoringModel:
    """The sample's lead score: fit (who) and engagement (what they did).

    Fit rewards the industries, sizes and sources that buy; engagement
    counts the lead's events of the last 90 days, meetings most. The label
    joins the fit letter (A to D) and the engagement band (1 to 4): ``"A1"``
    is the lead to call first; ``mql`` from 40 points, ``sql`` from 70.
    """
    return ScoringModel(
        "sample_leads",
        (
            RuleGroup(
                "fit",
                (
                    Rule("saas", field("industry") == "saas", 15),
                    Rule("fintech", field("industry") == "fintech", 10),
                    Rule("education", field("industry") == "education", -10),
                    Rule("mid_market", field("employees").between(50, 999), 10),
                    Rule("enterprise", field("employees") >= 1000, 15),
                    Rule("core_market", field("country").is_in({"US", "DE", "GB"}), 5),
                    Rule("referral", field("source") == "referral", 10),
                    Rule("webinar", field("source") == "webinar", 5),
                ),
                cap=40,
                bands=(Band("A", 30), Band("B", 20), Band("C", 10), Band("D")),
                description="Who the lead is: industry, size, market, source.",
            ),
            RuleGroup(
                "engagement",
                (
                    EventRule("meetings", field("kind") == "meeting", 20),
                    EventRule("calls", field("kind") == "call", 10, cap=20),
                    EventRule("webinars", field("kind") == "webinar", 8, cap=16),
                    EventRule("forms", field("kind") == "form_submit", 8, cap=16),
                    EventRule("visits", field("kind") == "page_view", 2, cap=10),
                    EventRule("opens", field("kind") == "email_open", 1, cap=5),
                ),
                cap=60,
                decay=DecayWindow("90d"),
                bands=(Band("1", 40), Band("2", 20), Band("3", 5), Band("4")),
                description="What the lead did in the last 90 days.",
            ),
        ),
        cap=100,
        floor=0,
        bands=(Band("sql", 70), Band("mql", 40)),
        label=("fit", "engagement"),
    )


def sample_naive_bayes() -> NaiveBayes:
    """The sample's predictive score: naive Bayes over source, size and activity.

    It reads [`lead_rows`][crmcore.sample.SampleData.lead_rows]. A sample
    lead's status is only known at the end (a converted lead's status before
    it converted is not), so the model leaves the stage out rather than
    learn from the outcome itself.
    """
    return NaiveBayes(
        [
            "source",
            "industry",
            NumberBand("employees", [50, 250, 1000], name="size"),
            Holds("engaged", field("activities").count(at_least=4)),
            Holds("met", field("activities").count(field("kind") == "meeting")),
        ],
        team=None,
    )


def lead_rows(
    leads: Sequence[Lead], activities: Sequence[Activity], as_of: datetime
) -> list[dict[str, Any]]:
    """Each lead as a row with its events and outcome (see ``SampleData``)."""
    events: dict[str, list[dict[str, Any]]] = {}
    for activity in activities:
        events.setdefault(activity.record_id, []).append(
            {"kind": activity.kind, "at": activity.at}
        )
    rows = []
    for lead in leads:
        if lead.converted_at is not None:
            outcome, closed_at = "won", lead.converted_at
        elif lead.status == "disqualified" or lead.created_at + DECIDED_AFTER <= as_of:
            # Lost when the window ran out (a disqualified lead: when it was
            # found out, at the latest now).
            outcome, closed_at = "lost", min(lead.created_at + DECIDED_AFTER, as_of)
        else:
            outcome, closed_at = "open", None
        rows.append(
            {
                "id": lead.id,
                "created_at": lead.created_at,
                "source": lead.source,
                "industry": lead.industry,
                "employees": lead.employees,
                "country": lead.country,
                "status": lead.status,
                "activities": events.get(lead.id, []),
                "outcome": outcome,
                "closed_at": closed_at,
            }
        )
    return rows
