import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crmcore.lifecycle import (
    b2b_deal_pipeline,
    b2c_deal_pipeline,
    customer_lifecycle,
    intervention_moments,
)
from crmcore.pipelines import Approval, Pipeline, evaluate
from crmcore.records import Activity
from crmcore.segments import Segment
from crmcore.serialization import structure, unstructure

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)


def days_ago(n: int) -> datetime:
    return AS_OF - timedelta(days=n)


@pytest.mark.parametrize(
    "build", [customer_lifecycle, b2b_deal_pipeline, b2c_deal_pipeline]
)
def test_presets_are_valid_data_that_round_trips(build):
    pipeline = build()
    assert (
        structure(json.loads(json.dumps(unstructure(pipeline))), Pipeline) == pipeline
    )
    assert all(stage.name for stage in pipeline.stages)


def test_customer_lifecycle_walks_forward_with_its_exit_criteria():
    lifecycle = customer_lifecycle()
    assert [s.key for s in lifecycle.stages] == [
        "subscriber",
        "lead",
        "mql",
        "sql",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ]
    person = {"id": "p1", "stage": "lead", "email": "ada@acme.example"}
    blocked = evaluate(lifecycle, person, "mql", as_of=AS_OF)
    assert blocked.prompt_fields == ("company", "score")
    qualified = {**person, "company": "Acme", "score": 72}
    assert evaluate(lifecycle, qualified, "mql", as_of=AS_OF).allowed
    assert not evaluate(
        lifecycle, {**qualified, "stage": "mql"}, "sql", as_of=AS_OF
    ).allowed
    accepted = {**qualified, "stage": "mql", "sales_accepted": True}
    assert evaluate(lifecycle, accepted, "sql", as_of=AS_OF).allowed
    met = Activity("p1", "meeting", days_ago(1))
    sql = {**accepted, "stage": "sql"}
    assert evaluate(
        lifecycle,
        sql,
        "opportunity",
        as_of=AS_OF,
        entered_at=days_ago(3),
        activities=[met],
    ).allowed
    assert evaluate(
        lifecycle, {**sql, "stage": "customer"}, "evangelist", as_of=AS_OF
    ).allowed


def test_customer_lifecycle_recycles_and_parks_contacts_in_other():
    lifecycle = customer_lifecycle()
    assert evaluate(lifecycle, {"id": "p", "stage": "sql"}, "lead", as_of=AS_OF).allowed
    assert evaluate(
        lifecycle, {"id": "p", "stage": "opportunity"}, "mql", as_of=AS_OF
    ).allowed
    assert evaluate(
        lifecycle, {"id": "p", "stage": "customer"}, "other", as_of=AS_OF
    ).allowed
    assert evaluate(
        lifecycle, {"id": "p", "stage": "other"}, "lead", as_of=AS_OF
    ).allowed
    # Skipping forward passes sql, whose activity rule needs the entry time.
    skip = evaluate(
        lifecycle,
        {"id": "p", "stage": "lead"},
        "opportunity",
        as_of=AS_OF,
        entered_at=days_ago(1),
    )
    assert "no transition from 'lead' to 'opportunity' is defined" in skip.violations
    # A subscriber may qualify straight to MQL, but must meet the lead's criteria too.
    shortcut = evaluate(
        lifecycle,
        {"id": "p", "stage": "subscriber", "email": "x@y"},
        "mql",
        as_of=AS_OF,
    )
    assert shortcut.prompt_fields == ("company", "score")


def test_b2b_deal_pipeline():
    pipeline = b2b_deal_pipeline()
    deal = {
        "id": "d",
        "stage": "qualification",
        "budget": 50_000,
        "decision_maker": "CFO",
        "need": "reporting",
    }
    assert evaluate(pipeline, deal, "discovery", as_of=AS_OF).prompt_fields == (
        "timeline",
    )
    negotiation = {"id": "d", "stage": "negotiation", "discount": Decimal("0.2")}
    decision = evaluate(pipeline, negotiation, "won", as_of=AS_OF)
    assert [u.message for u in decision.unmet] == ["a discount of at most 15 %"] * 2
    assert evaluate(
        pipeline, {**negotiation, "discount": Decimal("0.1")}, "won", as_of=AS_OF
    ).allowed
    early = evaluate(
        pipeline,
        {"id": "d", "stage": "proposal", "amount": 1, "close_date": AS_OF},
        "won",
        as_of=AS_OF,
    )
    assert early.violations == ("won can only be reached from negotiation",)
    assert evaluate(
        pipeline,
        {"id": "d", "stage": "proposal"},
        "lost",
        as_of=AS_OF,
        lost_reason="no_budget",
    ).allowed
    assert [s.category for s in pipeline.stages] == [
        "pipeline",
        "pipeline",
        "pipeline",
        "best_case",
        "commit",
        "closed",
        "omitted",
    ]


def test_b2c_deal_pipeline():
    pipeline = b2c_deal_pipeline()
    cart = {
        "id": "o",
        "stage": "cart",
        "items": ["sku-1"],
        "email": "a@b",
        "delivery_address": "Main St 1",
    }
    paid = Approval("payment", "psp", days_ago(0), role="gateway")
    assert not evaluate(pipeline, cart, "won", as_of=AS_OF).allowed
    assert evaluate(pipeline, cart, "won", as_of=AS_OF, approvals=[paid]).allowed
    assert evaluate(pipeline, {**cart, "items": []}, "checkout", as_of=AS_OF).unmet[
        0
    ].message == ("at least one item in the cart")


def test_intervention_moments():
    moments = {m.name: m for m in intervention_moments()}
    assert list(moments) == [
        "conversion",
        "onboarding",
        "activation",
        "risk",
        "expansion",
    ]
    new = {"converted_at": days_ago(2), "customer_since": days_ago(2)}
    assert {n for n, m in moments.items() if m.matches(new, as_of=AS_OF)} == {
        "conversion",
        "onboarding",
    }
    active = {
        "customer_since": days_ago(60),
        "activated_at": days_ago(5),
        "last_active_at": days_ago(1),
        "health_score": 85,
        "usage_ratio": Decimal("0.95"),
    }
    assert {n for n, m in moments.items() if m.matches(active, as_of=AS_OF)} == {
        "activation",
        "expansion",
    }
    quiet = {
        "customer_since": days_ago(300),
        "last_active_at": days_ago(45),
        "health_score": 70,
    }
    assert {n for n, m in moments.items() if m.matches(quiet, as_of=AS_OF)} == {"risk"}
    assert all(m.description for m in moments.values())
    assert structure(unstructure(list(moments.values())), list[Segment]) == list(
        moments.values()
    )
