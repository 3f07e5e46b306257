"""Pipelines and stages: exit criteria, transition rules, self-explaining decisions.

A stage is tied to an action or milestone, not just a label: "Discovery call
completed and needs confirmed" is a stage; "Qualified" is a label. So each
[`StageDefinition`][crmcore.pipelines.StageDefinition] carries its **exit
criteria**: what must be true before a deal may leave it. A
[`Pipeline`][crmcore.pipelines.Pipeline] orders the stages and adds a
[`TransitionPolicy`][crmcore.pipelines.TransitionPolicy].

[`evaluate`][crmcore.pipelines.evaluate] answers "may this deal move to that
stage now?" with a [`StageDecision`][crmcore.pipelines.StageDecision] that
lists **every** unmet criterion (field, expected, actual, message), the fields
a user interface should ask for, and any policy violation, instead of a bare
refusal. [`advance`][crmcore.pipelines.advance] performs the move: a
[`StageMove`][crmcore.pipelines.StageMove] with the fields to write, the
[`StageChange`][crmcore.records.StageChange] event and a copy of the record
(dicts, attrs instances and dataclasses; ORM objects take the fields).

A record whose stage field cannot be read fails closed (an error naming the
field); a stage of ``None`` is a record entering the pipeline, which clears
the exit criteria of every open stage listed before the one it enters.

Which criteria apply to a move:

* **forward** (to a later open stage, or to won): the exit criteria of the
  current stage **and of every open stage skipped** on the way; skipping a
  stage does not skip its requirements;
* **backward** and **to lost**: no exit criteria (a deal can always be lost),
  only the policy, and for lost a reason from the configured list;
* **reopening** a won or lost deal: only the policy (``allow_reopen``).

Examples:
    >>> from datetime import datetime, timezone
    >>> from crmcore.conditions import field
    >>> pipeline = Pipeline("sales", (
    ...     StageDefinition("discovery", "Discovery", exit_criteria=(
    ...         RequiredFields(("budget", "decision_maker")),)),
    ...     StageDefinition("proposal", "Proposal"),
    ...     StageDefinition("won", "Won", kind="won"),
    ...     StageDefinition("lost", "Lost", kind="lost"),
    ... ), policy=TransitionPolicy(lost_reasons=("price", "timing")))
    >>> deal = {"id": "d1", "stage": "discovery", "budget": 50_000}
    >>> decision = evaluate(pipeline, deal, "proposal",
    ...                     as_of=datetime(2026, 3, 1, tzinfo=timezone.utc))
    >>> decision.allowed, decision.prompt_fields
    (False, ('decision_maker',))
"""

from __future__ import annotations

from crmcore.pipelines.criteria import (
    CRITERION_KINDS,
    NEVER_ENTERED,
    Approval,
    CriterionOperators,
    ExitCriterion,
    MustHold,
    RequiredActivity,
    RequiredApproval,
    RequiredFields,
    StageContext,
    UnmetCriterion,
    criterion_kinds,
    parse_criterion,
    register_criterion,
)
from crmcore.pipelines.decisions import (
    StageDecision,
    StageMove,
    StageMoveError,
    advance,
    evaluate,
    exit_condition,
    what_next,
)
from crmcore.pipelines.definitions import (
    ForecastCategory,
    Pipeline,
    StageDefinition,
    StageKind,
    Transition,
    TransitionPolicy,
)

__all__ = [
    "CRITERION_KINDS",
    "NEVER_ENTERED",
    "Approval",
    "CriterionOperators",
    "ExitCriterion",
    "ForecastCategory",
    "MustHold",
    "Pipeline",
    "RequiredActivity",
    "RequiredApproval",
    "RequiredFields",
    "StageContext",
    "StageDecision",
    "StageDefinition",
    "StageKind",
    "StageMove",
    "StageMoveError",
    "Transition",
    "TransitionPolicy",
    "UnmetCriterion",
    "advance",
    "criterion_kinds",
    "evaluate",
    "exit_condition",
    "parse_criterion",
    "register_criterion",
    "what_next",
]
