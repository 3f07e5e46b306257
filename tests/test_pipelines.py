import dataclasses
import json
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore import pipelines as pl
from crmcore.conditions import field
from crmcore.errors import DataError, DataTypeError, DefinitionError, NaiveDatetimeError
from crmcore.pipelines import (
    Approval,
    MustHold,
    Pipeline,
    RequiredActivity,
    RequiredApproval,
    RequiredFields,
    StageContext,
    StageDecision,
    StageDefinition,
    StageMoveError,
    Transition,
    TransitionPolicy,
    UnmetCriterion,
    advance,
    criterion_kinds,
    evaluate,
    register_criterion,
    what_next,
)
from crmcore.records import MISSING, Activity, Opportunity, StageChange
from crmcore.serialization import structure, to_json, unstructure

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return AS_OF - timedelta(days=n)


def b2b(policy: TransitionPolicy | None = None) -> Pipeline:
    return Pipeline(
        "b2b",
        (
            StageDefinition(
                "discovery",
                "Discovery call held",
                probability="0.1",
                owner="sdr",
                exit_criteria=(
                    RequiredFields(("budget", "decision_maker")),
                    RequiredActivity(
                        "meeting", where=field("properties.status") == "completed"
                    ),
                ),
                rotting_days=14,
            ),
            StageDefinition(
                "proposal",
                "Proposal sent",
                probability="0.4",
                forecast_category="best_case",
                exit_criteria=(
                    MustHold(
                        field("amount") >= 1000, message="amount of 1,000 or more"
                    ),
                ),
            ),
            StageDefinition(
                "negotiation",
                "Terms agreed in principle",
                probability="0.7",
                forecast_category="commit",
                exit_criteria=(RequiredApproval("discount", roles=("sales_manager",)),),
            ),
            StageDefinition("won", "Closed won", kind="won"),
            StageDefinition("lost", "Closed lost", kind="lost"),
        ),
        policy=policy
        or TransitionPolicy(lost_reasons=("price", "timing", "competitor")),
    )


MEETING = Activity("d1", "meeting", days_ago(1), properties={"status": "completed"})
APPROVAL = Approval("discount", "maria", days_ago(1), role="sales_manager")


def ready(stage: str = "discovery", **changes: Any) -> dict[str, Any]:
    deal = {
        "id": "d1",
        "stage": stage,
        "budget": 10_000,
        "decision_maker": "CFO",
        "amount": 5000,
    }
    deal.update(changes)
    return deal


def decide(
    pipeline: Pipeline, deal: object, target: str, **kwargs: Any
) -> StageDecision:
    kwargs.setdefault("entered_at", days_ago(3))
    kwargs.setdefault("activities", [MEETING])
    kwargs.setdefault("approvals", [APPROVAL])
    return evaluate(pipeline, deal, target, as_of=AS_OF, **kwargs)


# -- stages ---------------------------------------------------------------------------------------
def test_stage_defaults_and_derived_values():
    pipeline = b2b()
    discovery, proposal, _, won, lost = pipeline.stages
    assert (discovery.category, proposal.category, won.category, lost.category) == (
        "pipeline",
        "best_case",
        "closed",
        "omitted",
    )
    assert (discovery.win_probability, won.win_probability, lost.win_probability) == (
        Decimal("0.1"),
        Decimal(1),
        Decimal(0),
    )
    assert StageDefinition("x", "X").win_probability is None
    assert pipeline.stage("won") is won
    assert [s.key for s in pipeline.open_stages] == [
        "discovery",
        "proposal",
        "negotiation",
    ]
    assert pipeline.position("proposal") == 1 and pipeline.position("won") == -1
    with pytest.raises(DataError, match="stage: expected one of discovery, proposal"):
        pipeline.stage("demo")


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: StageDefinition("", "X"),
            DataTypeError,
            "key: expected a non-empty name",
        ),
        (
            lambda: StageDefinition("x", "X", kind="closed"),
            DataError,
            "kind: expected one of 'open', 'won', 'lost'",
        ),
        (
            lambda: StageDefinition("x", "X", probability="1.5"),
            DataError,
            "probability: expected a probability between 0 and 1",
        ),
        (
            lambda: StageDefinition("x", "X", probability=0.5),
            DataTypeError,
            "probability",
        ),
        (
            lambda: StageDefinition("x", "X", forecast_category="maybe"),
            DataError,
            "forecast_category",
        ),
        (
            lambda: StageDefinition("x", "X", rotting_days=0),
            DataError,
            "rotting_days: expected a positive number of days",
        ),
        (
            lambda: StageDefinition("x", "X", exit_criteria=["budget"]),
            DataTypeError,
            r"exit_criteria\[0\]: expected a registered exit criterion",
        ),
        (
            lambda: StageDefinition("x", "X", exit_criteria="budget"),
            DataTypeError,
            "exit_criteria: expected a list",
        ),
        (
            lambda: StageDefinition("x", "X", guidance=3),
            DataTypeError,
            "guidance: expected a string",
        ),
        (
            lambda: RequiredFields(()),
            DataError,
            "fields: expected at least one field path",
        ),
        (
            lambda: RequiredFields("budget"),
            DataTypeError,
            "fields: expected a list of field paths",
        ),
        (
            lambda: RequiredFields(("a..b",)),
            DataError,
            r"fields\[0\]: expected a dotted field path",
        ),
        (
            lambda: RequiredFields((3,)),
            DataTypeError,
            r"fields\[0\]: expected a field path",
        ),
        (
            lambda: MustHold("amount > 5"),
            DataTypeError,
            "condition: expected a condition",
        ),
        (
            lambda: RequiredActivity("meeting", count=0),
            DataError,
            "count: expected a positive int",
        ),
        (
            lambda: RequiredActivity("meeting", since=30),
            DataTypeError,
            "since: expected 'stage_entry' or a duration",
        ),
        (
            lambda: RequiredActivity("meeting", where="x"),
            DataTypeError,
            "where: expected a condition",
        ),
        (
            lambda: RequiredApproval("discount", roles="manager"),
            DataTypeError,
            "roles: expected a list",
        ),
        (
            lambda: RequiredApproval("discount", roles=[""]),
            DataTypeError,
            r"roles\[0\]",
        ),
        (
            lambda: TransitionPolicy("sideways"),
            DataError,
            "mode: expected one of 'free'",
        ),
        (
            lambda: TransitionPolicy(allow_reopen="yes"),
            DataTypeError,
            "allow_reopen: expected true or false",
        ),
        (
            lambda: TransitionPolicy(won_from="negotiation"),
            DataTypeError,
            "stages: expected a list of stage keys",
        ),
        (
            lambda: TransitionPolicy(lost_reasons=[""]),
            DataTypeError,
            r"\[0\]: expected a stage key",
        ),
        (
            lambda: TransitionPolicy(transitions=[("a", "b")]),
            DataTypeError,
            r"transitions\[0\]: expected a Transition",
        ),
        (
            lambda: TransitionPolicy(transitions="a->b"),
            DataTypeError,
            "transitions: expected a list",
        ),
        (
            lambda: Pipeline("p", "stages"),
            DataTypeError,
            "stages: expected a list of StageDefinition",
        ),
        (
            lambda: Pipeline("p", ["discovery"]),
            DataTypeError,
            r"stages\[0\]: expected a StageDefinition",
        ),
        (
            lambda: Pipeline(
                "p",
                [StageDefinition("a", "A"), StageDefinition("w", "W", kind="won")],
                stage_field=3,
            ),
            DataTypeError,
            "stage_field: expected a field path",
        ),
        (
            lambda: Approval("discount", "maria", datetime(2026, 1, 1)),
            NaiveDatetimeError,
            "at",
        ),
    ],
)
def test_bad_definitions(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_every_pipeline_problem_is_reported_at_once():
    with pytest.raises(DefinitionError) as caught:
        Pipeline(
            "broken",
            (
                StageDefinition("a", "A"),
                StageDefinition("a", "A again"),
                StageDefinition("l", "L", kind="lost", probability="0.5"),
                StageDefinition("w", "W", kind="won", probability="0.9"),
            ),
            policy=TransitionPolicy(
                "graph",
                won_from=("zz",),
                lost_from=("w",),
                transitions=[Transition("a", "q"), Transition("a", "w")],
            ),
        )
    assert [str(p) for p in caught.value.problems] == [
        "$.stages[1].key: duplicate stage key 'a'",
        "$.stages[2].probability: a lost stage has probability 0",
        "$.stages[3].probability: a won stage has probability 1",
        "$.policy.won_from[0]: 'zz' is not an open stage",
        "$.policy.lost_from[0]: 'w' is not an open stage",
        "$.policy.transitions[0].to_stage: unknown stage 'q'",
        "$.policy.lost_reasons: a pipeline with a lost stage needs lost reasons",
        "$.stages[2]: 'l' is unreachable from 'a'",
    ]
    with pytest.raises(DefinitionError) as caught:
        Pipeline(
            "empty",
            (StageDefinition("l", "L", kind="lost"),),
            policy=TransitionPolicy(lost_reasons=("x",)),
        )
    assert [p.message for p in caught.value.problems] == [
        "at least one open stage is needed",
        "a won stage is needed",
    ]


def test_pipelines_round_trip_and_load_errors_have_paths():
    pipeline = b2b(
        TransitionPolicy(
            "graph",
            lost_reasons=("price",),
            transitions=[
                Transition("discovery", "proposal"),
                Transition("proposal", "negotiation"),
                Transition("negotiation", "won"),
                Transition("negotiation", "lost"),
            ],
        )
    )
    data = json.loads(json.dumps(unstructure(pipeline)))
    assert structure(data, Pipeline) == pipeline
    activity = data["stages"][0]["exit_criteria"][1]
    assert activity == {
        "kind": "required_activity",
        "activity_kind": "meeting",
        "where": {"kind": "eq", "field": "properties.status", "value": "completed"},
    }
    data["stages"][1]["probability"] = "2"
    data["stages"][2]["exit_criteria"][0]["kind"] = "signature"
    data["policy"]["transitions"][0]["to_stage"] = "demo"
    with pytest.raises(DefinitionError) as caught:
        structure(data, Pipeline)
    found = [str(p) for p in caught.value.problems]
    assert found[0] == (
        "$.stages[1].probability: expected a probability between 0 and 1, or None, got Decimal('2') (Decimal)"
    )
    assert found[1].startswith(
        "$.stages[2].exit_criteria[0].kind: unknown exit criterion kind 'signature' (str); known: must_hold"
    )
    data["stages"][1]["probability"] = "0.4"
    data["stages"][2]["exit_criteria"][0]["kind"] = "required_approval"
    with pytest.raises(DefinitionError) as caught:
        structure(data, Pipeline)
    # With the first edge gone, every later stage is unreachable: all are reported.
    assert [str(p) for p in caught.value.problems] == [
        "$.policy.transitions[0].to_stage: unknown stage 'demo'",
        "$.stages[1]: 'proposal' is unreachable from 'discovery'",
        "$.stages[2]: 'negotiation' is unreachable from 'discovery'",
        "$.stages[3]: 'won' is unreachable from 'discovery'",
        "$.stages[4]: 'lost' is unreachable from 'discovery'",
    ]
    with pytest.raises(DefinitionError, match="an exit criterion object"):
        structure(5, pl.ExitCriterion)
    since = RequiredActivity("call", since="30d", count=2)
    assert unstructure(since) == {
        "kind": "required_activity",
        "activity_kind": "call",
        "count": 2,
        "since": "30d",
    }
    assert structure(unstructure(since), pl.ExitCriterion) == since


# -- criteria ---------------------------------------------------------------------------------------
def test_required_fields_report_each_missing_field():
    context = StageContext({"budget": " ", "owners": []}, AS_OF)
    unmet = RequiredFields(
        ("budget", "owners", "timeline"), message="qualify first"
    ).check(context, "discovery")
    assert [(u.field, u.actual) for u in unmet] == [
        ("budget", " "),
        ("owners", []),
        ("timeline", MISSING),
    ]
    assert {u.message for u in unmet} == {"qualify first"}
    assert (
        str(unmet[2])
        == "[discovery] qualify first (timeline: expected present and non-empty, got missing)"
    )
    assert (
        RequiredFields(("budget",)).check(StageContext({"budget": 0}, AS_OF), "s") == ()
    )


def test_must_hold_reports_unmet_leaves_or_the_whole_rule():
    rule = MustHold((field("amount") >= 1000) & field("close_date").exists())
    unmet = rule.check(StageContext({"amount": 10}, AS_OF), "proposal")
    assert [(u.field, u.expected) for u in unmet] == [
        ("amount", ">= 1000"),
        ("close_date", "present and non-empty"),
    ]
    assert unmet[0].message == "amount >= 1000 and exists(close_date) must hold"
    negated = MustHold(~(field("country") == "US"), message="no US deals yet")
    (whole,) = negated.check(StageContext({"country": "US"}, AS_OF), "proposal")
    assert whole.field is None and str(whole) == "[proposal] no US deals yet"
    assert (
        rule.check(StageContext({"amount": 2000, "close_date": AS_OF}, AS_OF), "p")
        == ()
    )


def test_required_activity_counts_matching_events_in_the_window():
    rule = RequiredActivity(
        "meeting", count=2, where=field("properties.status") == "completed"
    )
    events = [
        Activity("d1", "meeting", days_ago(1), properties={"status": "completed"}),
        Activity("d1", "meeting", days_ago(2), properties={"status": "planned"}),
        Activity("d1", "call", days_ago(1)),
        Activity(
            "d1", "meeting", days_ago(10), properties={"status": "completed"}
        ),  # before entry
        Activity(
            "d1",
            "meeting",
            AS_OF + timedelta(days=1),
            properties={"status": "completed"},
        ),
        {"kind": "call", "at": "yesterday"},  # another kind: not read further
    ]
    (unmet,) = rule.check(
        StageContext({}, AS_OF, days_ago(5), tuple(events)), "discovery"
    )
    assert unmet.actual == 1
    assert unmet.message == "needs 2 meeting activities since entering the stage"
    recent = RequiredActivity("meeting", since="14d")
    assert recent.check(StageContext({}, AS_OF, None, tuple(events)), "s") == ()
    (old,) = RequiredActivity("demo", since="7d").check(StageContext({}, AS_OF), "s")
    assert old.expected == "at least 1 demo activity in the last 7d"
    with pytest.raises(DataError, match="history: expected the stage history"):
        RequiredActivity("meeting").check(StageContext({}, AS_OF), "discovery")
    # An activity of the kind asked for must say when it happened: never
    # dropped in silence.
    unreadable = (*events, {"kind": "meeting", "at": "yesterday"})
    with pytest.raises(DataTypeError, match=r"activities\[6\].at"):
        rule.check(StageContext({}, AS_OF, days_ago(5), unreadable), "discovery")
    naive = ({"kind": "meeting", "at": datetime(2026, 1, 1)},)
    with pytest.raises(NaiveDatetimeError, match=r"activities\[0\].at"):
        rule.check(StageContext({}, AS_OF, days_ago(5), naive), "discovery")


def test_required_approval_by_role_before_as_of():
    rule = RequiredApproval("discount", roles=("sales_manager", "vp_sales"))
    later = Approval(
        "discount", "maria", AS_OF + timedelta(hours=1), role="sales_manager"
    )
    wrong_role = Approval("discount", "sam", days_ago(1), role="rep")
    other = Approval("legal", "lee", days_ago(1), role="sales_manager")
    (unmet,) = rule.check(
        StageContext({}, AS_OF, approvals=(later, wrong_role, other)), "negotiation"
    )
    assert (
        unmet.message
        == "needs the 'discount' approval by one of sales_manager, vp_sales"
    )
    assert rule.check(StageContext({}, AS_OF, approvals=(APPROVAL,)), "n") == ()
    anyone = RequiredApproval("discount")
    assert anyone.check(StageContext({}, AS_OF, approvals=(wrong_role,)), "n") == ()


def test_approvals_are_read_like_any_record_and_must_say_when():
    rule = RequiredApproval("discount", roles=("cfo",))
    row = {"name": "discount", "by": "ida", "at": days_ago(1), "role": "cfo"}
    assert rule.check(StageContext({}, AS_OF, approvals=(row,)), "n") == ()
    # Approvals of other names are not read further; the one asked for must
    # carry an aware instant.
    other = {"name": "legal"}
    assert len(rule.check(StageContext({}, AS_OF, approvals=(other,)), "n")) == 1
    naive = {**row, "at": datetime(2026, 1, 1)}
    with pytest.raises(NaiveDatetimeError, match=r"approvals\[1\].at"):
        rule.check(StageContext({}, AS_OF, approvals=(other, naive)), "n")
    with pytest.raises(DataTypeError, match=r"approvals\[0\].at"):
        rule.check(StageContext({}, AS_OF, approvals=({"name": "discount"},)), "n")


# -- decisions -----------------------------------------------------------------------------------------
def test_a_ready_deal_may_move_forward():
    decision = decide(b2b(), ready(), "proposal")
    assert decision.allowed and decision.unmet == () and decision.violations == ()
    assert str(decision) == "discovery -> proposal: allowed"


def test_decision_lists_every_unmet_criterion_and_the_fields_to_ask_for():
    deal = ready(decision_maker=None, amount=10)
    decision = decide(b2b(), deal, "negotiation", activities=[])
    assert not decision.allowed
    assert [(u.stage, u.criterion, u.field) for u in decision.unmet] == [
        ("discovery", "required_fields", "decision_maker"),
        ("discovery", "required_activity", None),
        ("proposal", "must_hold", "amount"),  # a skipped stage's criteria apply too
    ]
    assert decision.prompt_fields == ("decision_maker", "amount")
    assert str(decision).splitlines()[-1] == "  ask for: decision_maker, amount"


def test_won_needs_every_remaining_stage_cleared():
    decision = decide(b2b(), ready(), "won", approvals=[])
    assert [u.criterion for u in decision.unmet] == ["required_approval"]


def test_backward_and_lost_moves_need_no_exit_criteria():
    deal = ready("proposal", amount=1)
    assert decide(b2b(), deal, "discovery").allowed
    lost = decide(b2b(), deal, "lost", lost_reason="price")
    assert lost.allowed
    no_reason = decide(b2b(), deal, "lost")
    assert no_reason.violations == (
        "losing needs a reason, one of price, timing, competitor",
    )
    assert no_reason.prompt_fields == ("lost_reason",)
    bad = decide(b2b(), {**deal, "lost_reason": "weather"}, "lost")
    assert bad.violations == (
        "losing needs a reason, one of price, timing, competitor (got 'weather')",
    )
    assert decide(b2b(), {**deal, "lost_reason": "timing"}, "lost").allowed


@pytest.mark.parametrize(
    ("policy", "current", "target", "violation"),
    [
        (
            TransitionPolicy(lost_reasons=("price",)),
            "proposal",
            "proposal",
            "the record is already in 'proposal'",
        ),
        (
            TransitionPolicy(
                "forward_only", allow_backward=False, lost_reasons=("price",)
            ),
            "proposal",
            "discovery",
            "moving back from 'proposal' to 'discovery' is not allowed",
        ),
        (
            TransitionPolicy("no_skip", lost_reasons=("price",)),
            "discovery",
            "negotiation",
            "'negotiation' skips stages after 'discovery'; move one stage at a time",
        ),
        (
            TransitionPolicy(won_from=("negotiation",), lost_reasons=("price",)),
            "proposal",
            "won",
            "won can only be reached from negotiation",
        ),
        (
            TransitionPolicy(lost_from=("discovery",), lost_reasons=("price",)),
            "proposal",
            "lost",
            "lost can only be reached from discovery",
        ),
        (
            TransitionPolicy(lost_reasons=("price",)),
            "won",
            "proposal",
            "'won' is closed; reopening is not allowed",
        ),
        (
            TransitionPolicy(lost_reasons=("price",)),
            "won",
            "lost",
            "'won' is closed; it cannot move to 'lost'",
        ),
        (
            TransitionPolicy(
                "graph",
                lost_reasons=("price",),
                transitions=[
                    Transition("discovery", "proposal"),
                    Transition("proposal", "negotiation"),
                    Transition("negotiation", "won"),
                    Transition("negotiation", "lost"),
                ],
            ),
            "discovery",
            "negotiation",
            "no transition from 'discovery' to 'negotiation' is defined",
        ),
    ],
)
def test_policy_violations(policy, current, target, violation):
    decision = decide(b2b(policy), ready(current, lost_reason="price"), target)
    assert violation in decision.violations
    assert not decision.allowed


def test_policies_that_allow():
    assert decide(
        b2b(TransitionPolicy("no_skip", lost_reasons=("x",))),
        ready("proposal"),
        "discovery",
    ).allowed
    assert decide(
        b2b(TransitionPolicy("forward_only", lost_reasons=("x",))),
        ready(),
        "negotiation",
    ).allowed
    reopen = TransitionPolicy(allow_reopen=True, lost_reasons=("x",))
    assert decide(b2b(reopen), ready("lost"), "proposal").allowed
    graph = TransitionPolicy(
        "graph",
        lost_reasons=("x",),
        transitions=[
            Transition("discovery", "proposal"),
            Transition("proposal", "negotiation"),
            Transition("negotiation", "won"),
            Transition("won", "lost"),
        ],
    )
    assert decide(b2b(graph), ready(), "proposal").allowed
    assert decide(
        b2b(), {"id": "new", "stage": None}, "discovery"
    ).allowed  # a record with no stage yet


def test_entry_time_comes_from_history():
    history = [
        StageChange("d1", None, "discovery", days_ago(30)),
        StageChange("d1", "discovery", "proposal", days_ago(20)),
        StageChange(
            "d1", "proposal", "discovery", days_ago(5)
        ),  # back again: the latest entry counts
        StageChange("other", None, "discovery", days_ago(1)),
        {"record_id": "d1", "to_stage": "discovery", "at": None},
    ]
    old_meeting = Activity(
        "d1", "meeting", days_ago(10), properties={"status": "completed"}
    )
    decision = evaluate(
        b2b(),
        ready(),
        "proposal",
        as_of=AS_OF,
        history=history,
        activities=[old_meeting],
    )
    assert [u.criterion for u in decision.unmet] == ["required_activity"]
    assert evaluate(
        b2b(), ready(), "proposal", as_of=AS_OF, history=history, activities=[MEETING]
    ).allowed


def test_what_next_lists_the_current_stage_only():
    todo = what_next(
        b2b(),
        ready(decision_maker=""),
        as_of=AS_OF,
        entered_at=days_ago(3),
        activities=[MEETING],
    )
    assert [u.field for u in todo] == ["decision_maker"]
    history = [StageChange("d1", None, "discovery", days_ago(2))]
    assert [
        u.criterion for u in what_next(b2b(), ready(), as_of=AS_OF, history=history)
    ] == ["required_activity"]
    assert what_next(b2b(), ready("won"), as_of=AS_OF) == ()
    with pytest.raises(NaiveDatetimeError):
        what_next(b2b(), ready(), as_of=datetime(2026, 1, 1))


def test_unknown_stages_and_naive_times_are_errors():
    with pytest.raises(DataError, match="stage: expected one of"):
        decide(b2b(), ready(), "demo")
    with pytest.raises(DataError, match="stage: expected one of"):
        decide(b2b(), ready("qualification"), "proposal")
    with pytest.raises(NaiveDatetimeError, match="as_of"):
        evaluate(b2b(), ready(), "proposal", as_of=datetime(2026, 1, 1))


# -- advance ---------------------------------------------------------------------------------------------
def test_advance_returns_a_new_record_and_the_event():
    deal = ready()
    move = advance(
        b2b(),
        deal,
        "proposal",
        as_of=AS_OF,
        by="rep-7",
        entered_at=days_ago(3),
        activities=[MEETING],
    )
    assert move.record == {**deal, "stage": "proposal"} and deal["stage"] == "discovery"
    assert move.change == StageChange("d1", "discovery", "proposal", AS_OF, by="rep-7")
    assert dict(move.updates) == {"stage": "proposal"}
    assert move.decision.allowed and move.decision.from_stage == "discovery"


def test_advance_closes_and_reopens_opportunities():
    pipeline = b2b(TransitionPolicy(allow_reopen=True, lost_reasons=("price",)))
    deal = Opportunity("o1", "a1", "5000", "EUR", days_ago(40), "negotiation")
    won = advance(pipeline, deal, "won", as_of=AS_OF, approvals=[APPROVAL]).record
    assert (won.stage, won.outcome, won.closed_at, won.lost_reason) == (
        "won",
        "won",
        AS_OF,
        None,
    )
    lost = advance(pipeline, deal, "lost", as_of=AS_OF, lost_reason="price").record
    assert (lost.outcome, lost.lost_reason) == ("lost", "price")
    reopen = advance(pipeline, lost, "proposal", as_of=AS_OF + timedelta(days=1))
    assert (reopen.record.outcome, reopen.record.closed_at) == ("open", None)
    assert reopen.record.lost_reason is None
    assert reopen.change.from_stage == "lost"


def test_advance_refuses_with_the_decision():
    with pytest.raises(StageMoveError) as caught:
        advance(
            b2b(),
            ready(budget=None),
            "proposal",
            as_of=AS_OF,
            entered_at=days_ago(1),
            activities=[MEETING],
        )
    decision = caught.value.decision
    assert decision.prompt_fields == ("budget",)
    assert isinstance(caught.value, ValueError)
    assert "discovery -> proposal: not allowed" in str(caught.value)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.decision == decision


@dataclasses.dataclass(frozen=True)
class DataclassDeal:
    id: str
    stage: str
    amount: int
    outcome: str = "open"
    closed_at: datetime | None = None


class OrmDeal:
    """The shape of an ORM model: plain attributes, not copyable by crmcore."""

    stage: str | None
    lost_reason: str | None

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)


def test_advance_works_on_dataclasses():
    deal = DataclassDeal("d1", "negotiation", 5000)
    move = advance(b2b(), deal, "won", as_of=AS_OF, approvals=[APPROVAL])
    assert move.record == DataclassDeal("d1", "won", 5000, "won", AS_OF)
    assert deal.stage == "negotiation"
    assert dict(move.updates) == {"stage": "won", "outcome": "won", "closed_at": AS_OF}


def test_advance_on_an_orm_object_returns_the_updates_to_write():
    deal = OrmDeal(id=7, stage="negotiation", outcome="open", closed_at=None)
    deal.lost_reason = None
    move = advance(b2b(), deal, "lost", as_of=AS_OF, lost_reason="price", by="rep")
    assert move.record is None  # crmcore never mutates; the app writes these
    assert dict(move.updates) == {
        "stage": "lost",
        "outcome": "lost",
        "closed_at": AS_OF,
        "lost_reason": "price",
    }
    assert move.change == StageChange("7", "negotiation", "lost", AS_OF, by="rep")
    assert deal.stage == "negotiation"


@pytest.mark.parametrize("deal", [{"stage": "discovery"}, {"id": None, "stage": "x"}])
def test_advance_needs_an_id_for_its_stage_change(deal):
    # It used to emit StageChange(record_id='MISSING').
    with pytest.raises(DataError, match=r"^id: expected the record's id"):
        advance(b2b(), deal, "lost", as_of=AS_OF, lost_reason="price")


def test_a_decision_and_a_move_are_plain_json():
    deal = {"id": "d1", "stage": "discovery", "budget": None}  # no decision maker
    refused = decide(b2b(), deal, "proposal", activities=[])
    data = json.loads(to_json(refused))
    assert data["allowed"] is False
    unmet = [(u["field"], u["actual"]) for u in data["unmet"]]
    # MISSING (no decision_maker key) is null, like the budget's None.
    assert unmet == [("budget", None), ("decision_maker", None), (None, 0)]
    move = advance(
        b2b(),
        OrmDeal(id="d1", stage="negotiation"),
        "won",
        as_of=AS_OF,
        approvals=[APPROVAL],
    )
    data = json.loads(to_json(move))
    assert data["updates"] == {"stage": "won"} and data["record"] is None
    assert data["change"]["at"] == "2026-03-01T12:00:00+00:00"


# -- failing closed ------------------------------------------------------------
@pytest.mark.parametrize(
    "deal",
    [
        {"id": "d1", "Stage": "negotiation"},  # a typo
        {"id": "d1", "deal_stage": "negotiation"},  # another column name
        OrmDeal(id="d1", status="negotiation"),
    ],
)
def test_a_record_without_a_readable_stage_is_an_error_naming_the_field(deal):
    # These used to move straight to won with no exit criterion checked.
    expected = r"^stage: expected the record's current stage \(Pipeline.stage_field"
    with pytest.raises(DataError, match=expected):
        evaluate(b2b(), deal, "won", as_of=AS_OF)
    with pytest.raises(DataError, match=expected):
        advance(b2b(), deal, "won", as_of=AS_OF)
    with pytest.raises(DataError, match=expected):
        what_next(b2b(), deal, as_of=AS_OF)


def test_an_unknown_current_stage_names_the_stage_field():
    pipeline = attrs.evolve(b2b(), stage_field="deal_stage")
    with pytest.raises(DataError, match=r"^deal_stage: expected one of discovery"):
        evaluate(pipeline, {"deal_stage": "nope"}, "won", as_of=AS_OF)


def test_a_record_with_no_stage_cannot_be_closed_on_entry():
    decision = decide(b2b(), {"id": "n", "stage": None}, "won")
    assert not decision.allowed
    assert decision.violations == (
        "a record with no stage enters the pipeline at an open stage; "
        "it cannot be closed as 'won'",
    )
    with pytest.raises(DataError, match="current stage"):
        what_next(b2b(), {"id": "n", "stage": None}, as_of=AS_OF)


def test_entering_later_clears_every_earlier_open_stage():
    # Entering at negotiation: discovery's fields and meeting and proposal's
    # amount are all required, as if the deal had walked through them.
    newcomer = {"id": "d1", "stage": None, "amount": 10}
    decision = decide(b2b(), newcomer, "negotiation", activities=[])
    assert [(u.stage, u.criterion) for u in decision.unmet] == [
        ("discovery", "required_fields"),
        ("discovery", "required_fields"),
        ("discovery", "required_activity"),
        ("proposal", "must_hold"),
    ]
    assert decide(b2b(), {**ready(), "stage": None}, "negotiation").allowed


EDGES = (
    Transition("discovery", "proposal"),
    Transition("proposal", "negotiation"),
    Transition("negotiation", "won"),
    Transition("negotiation", "lost"),
)


@pytest.mark.parametrize("mode", ["no_skip", "graph"])
def test_entering_without_skipping_starts_at_the_first_open_stage(mode):
    edges = EDGES if mode == "graph" else ()
    pipeline = b2b(TransitionPolicy(mode, lost_reasons=("x",), transitions=edges))
    newcomer = {**ready(), "stage": None}
    assert decide(pipeline, newcomer, "discovery").allowed
    decision = decide(pipeline, newcomer, "proposal")
    assert decision.violations == (
        "a record with no stage enters the pipeline at 'discovery'",
    )


# -- extension ------------------------------------------------------------------------------------------------
@attrs.frozen
class SignedNda:
    kind: ClassVar[str] = "signed_nda"

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        if "nda" in (field_value := context.record.get("documents", [])):  # type: ignore[attr-defined]
            return ()
        return (
            UnmetCriterion(
                self.kind,
                stage,
                "a signed NDA must be on file",
                field="documents",
                expected="contains 'nda'",
                actual=field_value,
            ),
        )


def test_registered_criteria_work_in_pipelines_and_json():
    with CRITERION_KINDS.scoped(SignedNda):
        pipeline = Pipeline(
            "nda_first",
            (
                StageDefinition("intro", "Intro", exit_criteria=(SignedNda(),)),
                StageDefinition("won", "Won", kind="won"),
            ),
        )
        stored = json.loads(json.dumps(unstructure(pipeline)))
        assert stored["stages"][0]["exit_criteria"] == [{"kind": "signed_nda"}]
        loaded = structure(stored, Pipeline)
        decision = evaluate(
            loaded, {"id": "x", "stage": "intro", "documents": []}, "won", as_of=AS_OF
        )
        assert decision.prompt_fields == ("documents",)
        assert evaluate(
            loaded,
            {"id": "x", "stage": "intro", "documents": ["nda"]},
            "won",
            as_of=AS_OF,
        ).allowed
        assert "signed_nda" in criterion_kinds()
    assert "signed_nda" not in criterion_kinds()


def test_criterion_registration_is_validated():
    class Bad:
        kind = "Bad"

    with pytest.raises(DefinitionError) as caught:
        register_criterion(Bad)
    assert len(caught.value.problems) == 3

    @attrs.frozen
    class Clash:
        kind: ClassVar[str] = "must_hold"

        def check(
            self, context: StageContext, stage: str
        ) -> tuple[UnmetCriterion, ...]:
            return ()

    with pytest.raises(DefinitionError, match="'must_hold' is already registered"):
        register_criterion(Clash)
    assert register_criterion(MustHold) is MustHold


# -- laws -----------------------------------------------------------------------------------------------------
deals = st.fixed_dictionaries(
    {
        "id": st.just("d1"),
        "stage": st.sampled_from(
            ["discovery", "proposal", "negotiation", "won", "lost"]
        ),
    },
    optional={
        "budget": st.one_of(st.none(), st.integers(0, 10)),
        "decision_maker": st.sampled_from(["", "CFO"]),
        "amount": st.integers(0, 3000),
        "lost_reason": st.sampled_from(["price", "weather"]),
    },
)
targets = st.sampled_from(["discovery", "proposal", "negotiation", "won", "lost"])
policies = st.builds(
    TransitionPolicy,
    st.sampled_from(["free", "forward_only", "no_skip"]),
    allow_backward=st.booleans(),
    allow_reopen=st.booleans(),
    lost_reasons=st.just(("price", "timing")),
)


@given(deals, targets, policies, st.booleans(), st.booleans())
def test_advance_succeeds_exactly_when_evaluate_allows(
    deal, target, policy, met_activity, approved
):
    pipeline = b2b(policy)
    kwargs = {
        "entered_at": days_ago(3),
        "activities": [MEETING] if met_activity else [],
        "approvals": [APPROVAL] if approved else [],
    }
    decision = evaluate(pipeline, deal, target, as_of=AS_OF, **kwargs)
    if not decision.allowed:
        with pytest.raises(StageMoveError) as caught:
            advance(pipeline, deal, target, as_of=AS_OF, **kwargs)
        assert caught.value.decision == decision
    else:
        move = advance(pipeline, deal, target, as_of=AS_OF, **kwargs)
        assert move.record["stage"] == target and move.change.to_stage == target
        assert move.updates["stage"] == target
    assert decision.allowed == (not decision.unmet and not decision.violations)


@given(deals, targets)
def test_satisfied_criteria_do_not_change_the_verdict_and_each_unmet_one_counts_once(
    deal, target
):
    base = b2b()
    decision = decide(base, deal, target)
    # Adding a criterion that every record meets changes nothing.
    always = MustHold(field("id") == "d1")
    stages = list(base.stages)
    stages[0] = attrs.evolve(
        stages[0], exit_criteria=(*stages[0].exit_criteria, always)
    )
    widened = attrs.evolve(base, stages=tuple(stages))
    assert decide(widened, deal, target) == decision
    # Removing one unmet criterion shortens the list by exactly its items.
    for stage_index, stage in enumerate(base.stages):
        for criterion_index, criterion in enumerate(stage.exit_criteria):
            own = [
                u
                for u in decision.unmet
                if u.stage == stage.key and u.criterion == criterion.kind
            ]
            if not own:
                continue
            trimmed_stage = attrs.evolve(
                stage,
                exit_criteria=stage.exit_criteria[:criterion_index]
                + stage.exit_criteria[criterion_index + 1 :],
            )
            stages = list(base.stages)
            stages[stage_index] = trimmed_stage
            trimmed = decide(attrs.evolve(base, stages=tuple(stages)), deal, target)
            assert len(trimmed.unmet) == len(decision.unmet) - len(own)


@given(deals, targets, policies)
def test_json_round_trip_gives_identical_decisions(deal, target, policy):
    pipeline = b2b(policy)
    again = structure(json.loads(json.dumps(unstructure(pipeline))), Pipeline)
    assert again == pipeline
    assert decide(again, deal, target) == decide(pipeline, deal, target)


def test_since_accepts_a_duration_and_graphs_may_join():
    from crmcore.conditions import Duration

    assert RequiredActivity("call", since=Duration(days=3)).since == Duration(days=3)
    diamond = TransitionPolicy(
        "graph",
        lost_reasons=("x",),
        transitions=[
            Transition("discovery", "proposal"),
            Transition("discovery", "negotiation"),
            Transition("proposal", "negotiation"),
            Transition("negotiation", "won"),
            Transition("negotiation", "lost"),
            Transition("negotiation", "discovery"),
        ],
    )
    # Skipping proposal still needs proposal's criterion (amount >= 1000).
    assert decide(b2b(diamond), ready(amount=1), "negotiation").allowed is False
    assert decide(b2b(diamond), ready(), "negotiation").allowed


def test_stages_listed_after_the_target_never_gate_it():
    pipeline = Pipeline(
        "lifecycle",
        (
            StageDefinition("opportunity", "Opportunity"),
            StageDefinition("customer", "Customer", kind="won"),
            StageDefinition(
                "evangelist", "Evangelist", exit_criteria=(RequiredFields(("nps",)),)
            ),
        ),
        policy=TransitionPolicy(
            "graph",
            transitions=[
                Transition("opportunity", "customer"),
                Transition("customer", "evangelist"),
            ],
        ),
    )
    assert evaluate(
        pipeline, {"id": "c", "stage": "opportunity"}, "customer", as_of=AS_OF
    ).allowed
    assert evaluate(
        pipeline, {"id": "c", "stage": "customer"}, "evangelist", as_of=AS_OF
    ).allowed


# -- exit conditions for fast checks over many deals ----------------------------------------------------
from crmcore.conditions import AllOf, compile_condition, matches  # noqa: E402
from crmcore.pipelines import CRITERION_KINDS, exit_condition  # noqa: E402


@given(deals)
def test_exit_condition_agrees_with_the_criteria(deal):
    pipeline = b2b()
    condition = exit_condition(pipeline, "proposal")
    stage = pipeline.stage("proposal")
    context = StageContext(deal, AS_OF)
    met = not [u for c in stage.exit_criteria for u in c.check(context, "proposal")]
    assert matches(condition, deal, as_of=AS_OF) is met
    fields_only = Pipeline(
        "f",
        (
            StageDefinition(
                "a", "A", exit_criteria=(RequiredFields(("budget", "amount")),)
            ),
            StageDefinition("w", "W", kind="won"),
        ),
    )
    a_met = not RequiredFields(("budget", "amount")).check(context, "a")
    assert compile_condition(exit_condition(fields_only, "a")).matches(deal) is a_met


def test_exit_condition_refuses_context_criteria():
    assert exit_condition(b2b(), "won") == AllOf([])
    with pytest.raises(
        DataError, match="'required_activity' needs activities or approvals"
    ):
        exit_condition(b2b(), "discovery")
    with pytest.raises(DataError, match="stage: expected one of"):
        exit_condition(b2b(), "demo")


@dataclasses.dataclass
class DerivedOutcome:
    id: str
    stage: str
    outcome: str = dataclasses.field(default="open", init=False)


def test_a_copy_never_misses_an_update():
    # A field the constructor does not take, or a nested stage field, cannot
    # be copied with every update: record is None and updates say what to write.
    move = advance(
        b2b(),
        DerivedOutcome("d1", "negotiation"),
        "won",
        as_of=AS_OF,
        approvals=[APPROVAL],
    )
    assert move.record is None
    assert dict(move.updates) == {"stage": "won", "outcome": "won", "closed_at": AS_OF}
    nested = attrs.evolve(b2b(), stage_field="props.stage")
    deal = {"id": "d1", "props": {"stage": "negotiation"}}
    move = advance(nested, deal, "won", as_of=AS_OF, approvals=[APPROVAL])
    assert move.record is None and dict(move.updates) == {"props.stage": "won"}
