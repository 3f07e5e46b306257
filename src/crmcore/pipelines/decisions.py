"""Stage decisions: may this record move to that stage now, and the move itself."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.access import iterate
from crmcore.calendar import require_aware
from crmcore.conditions import (
    AllOf,
    Condition,
    all_of,
)
from crmcore.errors import (
    CrmcoreError,
    DataError,
)
from crmcore.pipelines.criteria import (
    NEVER_ENTERED,
    Approval,
    StageContext,
    UnmetCriterion,
)
from crmcore.pipelines.definitions import (
    Pipeline,
    StageDefinition,
)
from crmcore.records import (
    MISSING,
    FrozenMap,
    StageChange,
    field_getter,
)


# ---------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------
def _unmet(values: object) -> tuple[UnmetCriterion, ...]:
    if values == ():
        return ()  # the common case, at once
    return _v.tuple_of(values, UnmetCriterion, "unmet", item="an UnmetCriterion")


def _texts(values: object) -> tuple[str, ...]:
    if values == ():
        return ()
    return _v.names(values, "violations", plural="a list of texts", item="a text")


def _fields(values: object) -> tuple[str, ...]:
    if values == ():
        return ()
    return _v.names(
        values, "prompt_fields", plural="a list of field paths", item="a field path"
    )


@attrs.frozen
class StageDecision:
    """The answer to "may this record move to that stage now?", with every reason.

    Attributes:
        allowed: Whether the move may happen now.
        from_stage: The record's current stage (``None`` if it has none).
        to_stage: The stage asked for.
        unmet: Every unmet exit criterion of the stages being left or skipped.
        violations: Every transition-policy rule the move breaks.
        prompt_fields: The fields a user interface should ask for (the fields
            of unmet criteria, plus the lost reason when one is needed).
    """

    allowed: bool = attrs.field(validator=_v.boolean())
    from_stage: str | None = attrs.field(validator=_v.optional(_v.name()))
    to_stage: str = attrs.field(validator=_v.name())
    unmet: tuple[UnmetCriterion, ...] = attrs.field(default=(), converter=_unmet)
    violations: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    prompt_fields: tuple[str, ...] = attrs.field(default=(), converter=_fields)

    def __str__(self) -> str:
        verdict = "allowed" if self.allowed else "not allowed"
        lines = [f"{self.from_stage} -> {self.to_stage}: {verdict}"]
        lines.extend(f"  policy: {v}" for v in self.violations)
        lines.extend(f"  unmet: {u}" for u in self.unmet)
        if self.prompt_fields:
            lines.append(f"  ask for: {', '.join(self.prompt_fields)}")
        return "\n".join(lines)


class StageMoveError(CrmcoreError, ValueError):
    """A stage move that is not allowed; ``decision`` says why."""

    def __init__(self, decision: StageDecision) -> None:
        self.decision = decision
        super().__init__(str(decision))

    def __reduce__(self) -> tuple[object, ...]:
        return (StageMoveError, (self.decision,))


# Decisions read the same few fields (the stage field, id, the history's
# fields) of every record: their readers are built once per path.
_reader: Final = functools.lru_cache(maxsize=256)(field_getter)


def _current_stage(
    pipeline: Pipeline, record: object, *, entering: bool
) -> StageDefinition | None:
    """The record's current stage; ``None`` only for a record entering the pipeline.

    A record whose stage field cannot be read (a typo, another column name)
    fails closed: it is an error naming the field, never a record "without a
    stage" that may move anywhere.
    """
    field_name = pipeline.stage_field
    key = _reader(field_name)(record)
    if key is None and entering:
        return None
    if key is MISSING or key is None:
        raise DataError(
            field_name,
            key,
            "the record's current stage "
            f"(Pipeline.stage_field is {field_name!r}: does this record name it "
            "differently?)",
        )
    try:
        return pipeline.stage(key)
    except DataError as error:
        raise DataError(field_name, key, error.expected) from None


def _entered_at(
    record_id: object, stage: str | None, history: Iterable[Any]
) -> datetime | None:
    entered = None
    for change in history:
        if _reader("record_id")(change) != record_id:
            continue
        if _reader("to_stage")(change) == stage:
            at = _reader("at")(change)
            if isinstance(at, datetime) and (entered is None or at > entered):
                entered = at
    return entered


def _policy_violations(
    pipeline: Pipeline, current: StageDefinition | None, target: StageDefinition
) -> list[str]:
    policy = pipeline.policy
    if current is None:
        return _entry_violations(pipeline, target)
    if current.key == target.key:
        return [f"the record is already in {target.key!r}"]
    if policy.mode == "graph":
        edges = {(t.from_stage, t.to_stage) for t in policy.transitions}
        if (current.key, target.key) not in edges:
            return [f"no transition from {current.key!r} to {target.key!r} is defined"]
        return []
    if current.kind != "open":
        if target.kind == "open" and policy.allow_reopen:
            return []
        return [
            f"{current.key!r} is closed; reopening is not allowed"
            if target.kind == "open"
            else f"{current.key!r} is closed; it cannot move to {target.key!r}"
        ]
    if target.kind == "won":
        if policy.won_from and current.key not in policy.won_from:
            return [f"won can only be reached from {', '.join(policy.won_from)}"]
        return []
    if target.kind == "lost":
        if policy.lost_from and current.key not in policy.lost_from:
            return [f"lost can only be reached from {', '.join(policy.lost_from)}"]
        return []
    step = pipeline.position(target.key) - pipeline.position(current.key)
    if step < 0:
        if policy.mode in {"forward_only", "no_skip"} and not policy.allow_backward:
            return [
                f"moving back from {current.key!r} to {target.key!r} is not allowed"
            ]
        return []
    if policy.mode == "no_skip" and step > 1:
        return [
            f"{target.key!r} skips stages after {current.key!r}; "
            "move one stage at a time"
        ]
    return []


def _entry_violations(pipeline: Pipeline, target: StageDefinition) -> list[str]:
    """Where a record with no stage may enter the pipeline.

    At an open stage: the first one when stages may not be skipped or only
    listed moves are allowed.
    """
    first = pipeline.open_stages[0].key
    if target.kind != "open":
        return [
            f"a record with no stage enters the pipeline at an open stage; "
            f"it cannot be closed as {target.key!r}"
        ]
    if pipeline.policy.mode in {"no_skip", "graph"} and target.key != first:
        return [f"a record with no stage enters the pipeline at {first!r}"]
    return []


def _stages_to_clear(
    pipeline: Pipeline, current: StageDefinition | None, target: StageDefinition
) -> list[StageDefinition]:
    """The open stages whose exit criteria a move must meet (see module docs).

    For a forward move: the current stage and every open stage listed between
    it and the target. Stages listed after the target (an open "evangelist"
    stage after a won "customer" stage) never gate it. A record entering the
    pipeline clears every open stage listed before the one it enters.
    """
    order = [s.key for s in pipeline.stages]
    if current is None:
        end = order.index(target.key)
        return [s for s in pipeline.stages[:end] if s.kind == "open"]
    if current.kind != "open" or target.kind == "lost":
        return []
    start, end = order.index(current.key), order.index(target.key)
    if end <= start:
        return []
    return [s for s in pipeline.stages[start:end] if s.kind == "open"]


def evaluate(
    pipeline: Pipeline,
    record: object,
    to_stage: str,
    *,
    as_of: datetime,
    history: Iterable[Any] = (),
    entered_at: datetime | None = None,
    activities: Iterable[Any] = (),
    approvals: Iterable[Approval] = (),
    lost_reason: str | None = None,
) -> StageDecision:
    """Decide whether ``record`` may move to ``to_stage`` now, with every reason.

    Args:
        pipeline: The pipeline the record is in.
        record: The deal: any object or mapping with the pipeline's
            ``stage_field`` (and an ``id`` to match history and activities).
            A stage of ``None`` is a record entering the pipeline: it may
            enter at an open stage (the first one in ``no_skip`` and
            ``graph`` mode) once the exit criteria of every open stage
            listed before it are met.
        to_stage: The key of the stage asked for.
        as_of: The moment of the decision (aware).
        history: The record's stage changes, to know when it entered its stage.
        entered_at: When it entered its stage (overrides ``history``).
        activities: Its engagement events, for activity criteria.
        approvals: Its approvals, for approval criteria.
        lost_reason: The reason, when moving to lost (else read from the
            record's ``lost_reason_field``).

    Raises:
        DataError: For an unknown ``to_stage`` or current stage, and for a
            record whose stage field cannot be read (the error names the
            field: a record is never moved without its criteria checked).
        NaiveDatetimeError: For a naive ``as_of``.
    """
    require_aware(as_of, "as_of")
    if entered_at is not None:
        require_aware(entered_at, "entered_at")
    history = iterate(history, "history")
    activities = tuple(iterate(activities, "activities"))
    approvals = tuple(iterate(approvals, "approvals"))
    target = pipeline.stage(to_stage)
    current = _current_stage(pipeline, record, entering=True)
    violations = _policy_violations(pipeline, current, target)
    prompt: list[str] = []
    if target.kind == "lost":
        reason = (
            lost_reason
            if lost_reason is not None
            else _reader(pipeline.lost_reason_field)(record)
        )
        if reason not in pipeline.policy.lost_reasons:
            violations.append(
                "losing needs a reason, one of "
                f"{', '.join(pipeline.policy.lost_reasons)}"
                + ("" if reason in (MISSING, None) else f" (got {reason!r})")
            )
            prompt.append(pipeline.lost_reason_field)
    to_clear = _stages_to_clear(pipeline, current, target)
    unmet: list[UnmetCriterion] = []
    if to_clear:
        if entered_at is None:
            entered_at = (
                NEVER_ENTERED  # entering: every stage it skips counts all activity
                if current is None
                else _entered_at(_reader("id")(record), current.key, history)
            )
        context = StageContext(record, as_of, entered_at, activities, approvals)
        for stage in to_clear:
            for criterion in stage.exit_criteria:
                unmet.extend(criterion.check(context, stage.key))
    for item in unmet:
        if item.field is not None and item.field not in prompt:
            prompt.append(item.field)
    return StageDecision(
        allowed=not violations and not unmet,
        from_stage=None if current is None else current.key,
        to_stage=target.key,
        unmet=tuple(unmet),
        violations=tuple(violations),
        prompt_fields=tuple(prompt),
    )


def exit_condition(pipeline: Pipeline, stage: str) -> Condition:
    """A stage's exit criteria as one condition, to check many deals fast.

    Compile it once (``compile_condition(...)``) and test or filter millions
    of records with the rule language's fused, column-wise evaluation; use
    [`evaluate`][crmcore.pipelines.evaluate] for the explained decision on one
    deal. Works when every criterion reads only the record (required fields,
    conditions, and registered kinds with an ``as_condition()`` method).

    Raises:
        DataError: For an unknown stage, or a criterion that needs activities
            or approvals.

    Examples:
        >>> from crmcore.conditions import field, to_text
        >>> stage = StageDefinition("proposal", "Proposal", exit_criteria=(
        ...     RequiredFields(("amount",)), MustHold(field("amount") > 0)))
        >>> pipeline = Pipeline("p", (stage, StageDefinition("won", "Won", kind="won")))
        >>> to_text(exit_condition(pipeline, "proposal"))
        'exists(amount) and amount > 0'
    """
    parts = []
    for criterion in pipeline.stage(stage).exit_criteria:
        as_condition = getattr(criterion, "as_condition", None)
        if as_condition is None:
            raise DataError(
                "stage",
                stage,
                f"a stage whose exit criteria read only the record; {criterion.kind!r} "
                "needs activities or approvals (use evaluate())",
            )
        parts.append(as_condition())
    return all_of(*parts) if parts else AllOf([])


def what_next(
    pipeline: Pipeline,
    record: object,
    *,
    as_of: datetime,
    history: Iterable[Any] = (),
    entered_at: datetime | None = None,
    activities: Iterable[Any] = (),
    approvals: Iterable[Approval] = (),
) -> tuple[UnmetCriterion, ...]:
    """The exit criteria of the record's current stage that are still unmet.

    Empty when the stage can be left (or the record is closed).
    """
    require_aware(as_of, "as_of")
    if entered_at is not None:
        require_aware(entered_at, "entered_at")
    history = iterate(history, "history")
    activities = tuple(iterate(activities, "activities"))
    approvals = tuple(iterate(approvals, "approvals"))
    current = _current_stage(pipeline, record, entering=False)
    assert current is not None  # not entering: a missing stage raised
    if current.kind != "open":
        return ()
    if entered_at is None:
        entered_at = _entered_at(_reader("id")(record), current.key, history)
    context = StageContext(record, as_of, entered_at, activities, approvals)
    return tuple(
        u for c in current.exit_criteria for u in c.check(context, current.key)
    )


@attrs.frozen
class StageMove:
    """A move that happened: what to write, on any shape of record.

    Attributes:
        decision: The decision that allowed it.
        change: The stage-change event to record.
        updates: The fields to write and their new values: the stage field,
            and, where the record has them, ``outcome`` / ``closed_at`` and
            the lost reason.
        record: A new record with the updates (dicts, attrs instances and
            dataclasses are copied; nothing is mutated), or ``None`` when
            crmcore cannot copy it with every update applied (an ORM object,
            a nested ``stage_field``, a field its constructor does not take):
            write ``updates`` to it in your own transaction.
    """

    decision: StageDecision
    change: StageChange
    updates: Mapping[str, Any] = attrs.field(converter=FrozenMap)
    record: Any = attrs.field(default=None, eq=False)


def advance(
    pipeline: Pipeline,
    record: Any,
    to_stage: str,
    *,
    as_of: datetime,
    by: str | None = None,
    history: Iterable[Any] = (),
    entered_at: datetime | None = None,
    activities: Iterable[Any] = (),
    approvals: Iterable[Approval] = (),
    lost_reason: str | None = None,
) -> StageMove:
    """Move a record to ``to_stage``: the fields to write and the stage-change event.

    Nothing is mutated. The move's ``updates`` hold the new stage; for crmcore
    [`Opportunity`][crmcore.records.Opportunity] records (and any record
    with ``outcome`` / ``closed_at`` fields) closing sets the outcome and close
    time, and reopening clears them. Dicts, attrs instances and dataclasses
    are copied with the updates (``move.record``); for any other object (an
    ORM model) write ``move.updates`` to it yourself.

    Raises:
        StageMoveError: When [`evaluate`][crmcore.pipelines.evaluate] does not
            allow the move; the error carries the decision.
        DataError: When the record has no ``id`` for its stage change, or its
            stage field cannot be read.
    """
    record_id = _reader("id")(record)
    if record_id is MISSING or record_id is None:
        raise DataError("id", record_id, "the record's id, for its StageChange")
    decision = evaluate(
        pipeline,
        record,
        to_stage,
        as_of=as_of,
        history=history,
        entered_at=entered_at,
        activities=activities,
        approvals=approvals,
        lost_reason=lost_reason,
    )
    if not decision.allowed:
        raise StageMoveError(decision)
    target = pipeline.stage(to_stage)
    updates: dict[str, Any] = {pipeline.stage_field: to_stage}
    if _has(record, "outcome"):
        updates["outcome"] = target.kind
        updates["closed_at"] = None if target.kind == "open" else as_of
    if _has(record, pipeline.lost_reason_field):
        reason = (
            lost_reason
            if lost_reason is not None
            else _reader(pipeline.lost_reason_field)(record)
        )
        updates[pipeline.lost_reason_field] = reason if target.kind == "lost" else None
    event = StageChange(str(record_id), decision.from_stage, to_stage, as_of, by=by)
    return StageMove(decision, event, updates, _updated(record, updates))


def _has(record: object, name: str) -> bool:
    return _reader(name)(record) is not MISSING


def _updated(record: Any, updates: dict[str, Any]) -> Any:
    """A copy with every update applied, or ``None`` when one cannot be.

    Never a copy that silently misses an update: a nested path
    (``props.stage``), a field the constructor does not take (``init=False``,
    a property over a private field) leave the copying to the application.
    """
    if any("." in name for name in updates):
        return None
    if isinstance(record, Mapping):
        return {**record, **updates}
    cls = type(record)
    if attrs.has(cls):
        names = {a.name for a in attrs.fields(cls) if a.init and a.alias == a.name}
        return attrs.evolve(record, **updates) if set(updates) <= names else None
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        names = {f.name for f in dataclasses.fields(record) if f.init}
        if set(updates) <= names:
            return dataclasses.replace(record, **updates)
    return None
