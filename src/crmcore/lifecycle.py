"""Ready-made lifecycle models and pipelines: definitions to copy and edit.

Customer journeys are rarely linear: prospects go back and forth between
stages, and different segments follow different paths. These presets are
ordinary [`Pipeline`][crmcore.pipelines.Pipeline] and
[`Segment`][crmcore.segments.Segment] values: serialize one, edit the JSON,
load it back.

* [`customer_lifecycle`][crmcore.lifecycle.customer_lifecycle]: subscriber →
  lead → MQL → SQL → opportunity → customer → evangelist, plus "other", with
  the usual recycling paths back;
* [`b2b_deal_pipeline`][crmcore.lifecycle.b2b_deal_pipeline] and
  [`b2c_deal_pipeline`][crmcore.lifecycle.b2c_deal_pipeline]: deal stages tied
  to actions, with exit criteria;
* [`intervention_moments`][crmcore.lifecycle.intervention_moments]: when to
  intervene (conversion, onboarding, activation, risk, expansion) as named
  conditions.

Examples:
    >>> [s.key for s in customer_lifecycle().stages][:4]
    ['subscriber', 'lead', 'mql', 'sql']
    >>> [m.name for m in intervention_moments()]
    ['conversion', 'onboarding', 'activation', 'risk', 'expansion']
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from crmcore.conditions import field
from crmcore.pipelines import (
    MustHold,
    Pipeline,
    RequiredActivity,
    RequiredApproval,
    RequiredFields,
    StageDefinition,
    Transition,
    TransitionPolicy,
)
from crmcore.segments import Segment

__all__ = [
    "b2b_deal_pipeline",
    "b2c_deal_pipeline",
    "customer_lifecycle",
    "intervention_moments",
]

_LIFECYCLE_PATH = (
    "subscriber",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
    "evangelist",
)


def customer_lifecycle() -> Pipeline:
    """The customer lifecycle as a graph: forward one step, recycling back, or "other".

    Exit criteria say what it takes to move on: an e-mail to leave
    ``subscriber``; a company and a lead score of 60+ to become an MQL; sales
    acceptance to become an SQL; a first meeting to become an opportunity.

    ``customer`` is the won milestone; ``evangelist`` follows it. Leads that
    sales rejects go back to ``lead`` (recycled), lost opportunities back to
    ``sql`` or ``mql``; any stage may move to ``other`` (partners, vendors,
    employees: contacts outside the journey) and back to ``lead``.
    """
    forward = [Transition(a, b) for a, b in pairwise(_LIFECYCLE_PATH)]
    recycling = [
        Transition("mql", "lead"),
        Transition("sql", "lead"),
        Transition("sql", "mql"),
        Transition("opportunity", "sql"),
        Transition("opportunity", "mql"),
        Transition("subscriber", "mql"),  # a subscriber can qualify straight away
    ]
    other = [Transition(stage, "other") for stage in _LIFECYCLE_PATH] + [
        Transition("other", "lead")
    ]
    return Pipeline(
        "customer_lifecycle",
        (
            StageDefinition(
                "subscriber",
                "Subscriber",
                owner="marketing",
                guidance="Opted in to content; nurture with relevant material.",
                exit_criteria=(RequiredFields(("email",)),),
            ),
            StageDefinition(
                "lead",
                "Lead",
                owner="marketing",
                guidance="Showed interest beyond a subscription; score and enrich.",
                exit_criteria=(
                    RequiredFields(("email", "company")),
                    MustHold(
                        field("score") >= 60, message="a lead score of 60 or more"
                    ),
                ),
            ),
            StageDefinition(
                "mql",
                "Marketing qualified lead",
                owner="marketing",
                guidance="Fits the ICP and engaged enough for sales to look.",
                exit_criteria=(
                    MustHold(
                        field("sales_accepted") == True,  # noqa: E712 - a condition
                        message="sales accepted the lead",
                    ),
                ),
            ),
            StageDefinition(
                "sql",
                "Sales qualified lead",
                owner="sales",
                guidance="Sales accepted the lead and plans a first conversation.",
                exit_criteria=(
                    RequiredActivity(
                        "meeting", message="a first meeting since acceptance"
                    ),
                ),
            ),
            StageDefinition(
                "opportunity",
                "Opportunity",
                owner="sales",
                guidance="A deal is open; work the deal pipeline.",
            ),
            StageDefinition(
                "customer",
                "Customer",
                kind="won",
                owner="customer_success",
                guidance="Onboard, activate, retain and expand.",
            ),
            StageDefinition(
                "evangelist",
                "Evangelist",
                owner="customer_success",
                guidance="Refers, reviews or speaks for us; keep them close.",
            ),
            StageDefinition(
                "other",
                "Other",
                guidance="Contacts outside the journey: partners, vendors, staff.",
            ),
        ),
        policy=TransitionPolicy("graph", transitions=(*forward, *recycling, *other)),
    )


_B2B_LOST = (
    "no_budget",
    "no_decision",
    "competitor",
    "price",
    "timing",
    "disqualified",
)


def b2b_deal_pipeline() -> Pipeline:
    """A B2B deal pipeline whose stages are tied to actions, with exit criteria.

    Forward only (skipping allowed, but a skipped stage's criteria still
    apply), with moves back allowed; won only from negotiation.
    """
    return Pipeline(
        "b2b_deals",
        (
            StageDefinition(
                "qualification",
                "Qualified: budget, authority, need and timeline known",
                probability="0.1",
                owner="sdr",
                rotting_days=14,
                exit_criteria=(
                    RequiredFields(("budget", "decision_maker", "need", "timeline")),
                ),
            ),
            StageDefinition(
                "discovery",
                "Discovery call held and needs confirmed",
                probability="0.2",
                owner="account_executive",
                rotting_days=21,
                exit_criteria=(
                    RequiredActivity(
                        "meeting",
                        where=field("properties.status") == "completed",
                        message="a completed discovery meeting",
                    ),
                ),
            ),
            StageDefinition(
                "solution",
                "Solution demonstrated to the buying committee",
                probability="0.4",
                owner="account_executive",
                rotting_days=21,
                exit_criteria=(
                    RequiredActivity("demo"),
                    MustHold(
                        field("contacts").count(at_least=2),
                        message="two or more contacts engaged",
                    ),
                ),
            ),
            StageDefinition(
                "proposal",
                "Proposal sent with price and close date",
                probability="0.6",
                forecast_category="best_case",
                owner="account_executive",
                rotting_days=30,
                exit_criteria=(
                    RequiredFields(("amount", "close_date")),
                    MustHold(field("amount") > 0, message="a positive amount"),
                ),
            ),
            StageDefinition(
                "negotiation",
                "Terms agreed in principle",
                probability="0.8",
                forecast_category="commit",
                owner="account_executive",
                rotting_days=21,
                exit_criteria=(
                    MustHold(
                        (field("discount") <= Decimal("0.15"))
                        | field("discount").missing(),
                        message="a discount of at most 15 %",
                    ),
                ),
            ),
            StageDefinition("won", "Closed won", kind="won", owner="customer_success"),
            StageDefinition("lost", "Closed lost", kind="lost"),
        ),
        policy=TransitionPolicy(
            "forward_only",
            allow_backward=True,
            won_from=("negotiation",),
            lost_reasons=_B2B_LOST,
        ),
    )


def b2c_deal_pipeline() -> Pipeline:
    """A short B2C purchase pipeline: interest, cart, checkout, then won or lost."""
    return Pipeline(
        "b2c_orders",
        (
            StageDefinition(
                "interest",
                "Interested: viewed products or asked a question",
                probability="0.05",
                owner="marketing",
                rotting_days=7,
            ),
            StageDefinition(
                "cart",
                "Items in cart",
                probability="0.3",
                owner="marketing",
                rotting_days=3,
                exit_criteria=(
                    MustHold(
                        field("items").count(), message="at least one item in the cart"
                    ),
                ),
            ),
            StageDefinition(
                "checkout",
                "Checkout started with contact and delivery details",
                probability="0.7",
                forecast_category="commit",
                rotting_days=1,
                exit_criteria=(
                    RequiredFields(("email", "delivery_address")),
                    RequiredApproval("payment", message="payment authorized"),
                ),
            ),
            StageDefinition("won", "Order placed", kind="won"),
            StageDefinition("lost", "Abandoned", kind="lost"),
        ),
        policy=TransitionPolicy(
            "free",
            lost_reasons=("abandoned_cart", "payment_failed", "out_of_stock", "price"),
        ),
    )


def intervention_moments() -> tuple[Segment, ...]:
    """When to intervene: conversion, onboarding, activation, risk and expansion.

    Each moment is a [`Segment`][crmcore.segments.Segment] over customer-like
    records, relative to ``as_of``: ``converted_at``, ``customer_since``,
    ``activated_at`` and ``last_active_at`` (aware datetimes),
    ``health_score`` (0-100) and ``usage_ratio`` (share of the plan used).
    """
    return (
        Segment(
            "conversion",
            field("converted_at").within_last("7d"),
            description="Became a customer this week: hand over to onboarding.",
        ),
        Segment(
            "onboarding",
            field("customer_since").within_last("30d")
            & field("activated_at").missing(),
            description="New and not yet activated: guide the first steps.",
        ),
        Segment(
            "activation",
            field("activated_at").within_last("14d"),
            description="Just reached the first value: reinforce the habit.",
        ),
        Segment(
            "risk",
            field("customer_since").exists()
            & (
                field("last_active_at").older_than("30d") | (field("health_score") < 40)
            ),
            description="Inactive for 30 days or unhealthy: customer success calls.",
        ),
        Segment(
            "expansion",
            (field("usage_ratio") >= Decimal("0.9")) & (field("health_score") >= 70),
            description="Healthy and near the plan limit: offer the next plan.",
        ),
    )
