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
refusal. [`advance`][crmcore.pipelines.advance] performs the move on a copy of
the record and returns the [`StageChange`][crmcore.records.StageChange] event.

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

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Final,
    Literal,
    Protocol,
    TypeAlias,
    TypeVar,
)

import attrs

from crmcore import validators as _v
from crmcore.calendar import require_aware
from crmcore.conditions import (
    CONDITION_KINDS,
    AllOf,
    Condition,
    Duration,
    Exists,
    all_of,
    compile_condition,
    is_present,
    to_text,
)
from crmcore.conditions.text import parse_kind
from crmcore.conditions.values import CONDITION, DURATION
from crmcore.errors import (
    CrmcoreError,
    DataError,
    DataTypeError,
    DefinitionError,
    Problem,
)
from crmcore.records import (
    MISSING,
    StageChange,
    field_getter,
    parse_path,
)
from crmcore.registry import Registry

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from crmcore.registry import KindDraws

__all__ = [
    "CRITERION_KINDS",
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

StageKind: TypeAlias = Literal["open", "won", "lost"]
"""What a stage means for the deal: still ``open``, or closed ``won`` / ``lost``."""
ForecastCategory: TypeAlias = Literal[
    "pipeline", "best_case", "commit", "closed", "omitted"
]
"""Forecast categories, as in Salesforce: closed won is ``closed``, lost ``omitted``."""

_KINDS: Final = ("open", "won", "lost")
_CATEGORIES: Final = ("pipeline", "best_case", "commit", "closed", "omitted")
_DEFAULT_CATEGORY: Final = {"open": "pipeline", "won": "closed", "lost": "omitted"}


_name = _v.name()
_text = _v.text()
_opt_name = _v.optional(_name)
_condition = _v.kind_of(CONDITION_KINDS, "a condition")
_opt_condition = _v.optional(_condition)
_positive = _v.positive_int()
_opt_category = _v.optional(_v.one_of(*_CATEGORIES))
_opt_days = _v.optional(_v.positive_int(expected="a positive number of days"))
_flag = _v.boolean()
_path = _v.field_path(expected="a field path")


# ---------------------------------------------------------------------------
# What criteria see and say
# ---------------------------------------------------------------------------
@attrs.frozen
class Approval:
    """A recorded approval, e.g. a discount signed off by a sales manager.

    Attributes:
        name: What was approved, e.g. ``"discount"``.
        by: Who approved it.
        at: When (aware).
        role: The approver's role, e.g. ``"sales_manager"``.
    """

    name: str = attrs.field(validator=_name)
    by: str = attrs.field(validator=_name)
    at: datetime = attrs.field(validator=lambda _i, a, v: require_aware(v, a.name))
    role: str | None = attrs.field(default=None, validator=_opt_name, kw_only=True)


@attrs.frozen
class StageContext:
    """Everything an exit criterion may look at for one record.

    Attributes:
        record: The deal (any object or mapping).
        as_of: The moment of the decision (aware).
        entered_at: When the record entered its current stage, if known.
        activities: The record's engagement events.
        approvals: The record's approvals.
    """

    record: object
    as_of: datetime
    entered_at: datetime | None = None
    activities: tuple[Any, ...] = ()
    approvals: tuple[Approval, ...] = ()


@attrs.frozen
class UnmetCriterion:
    """One reason a move is not allowed yet, in terms a user can act on.

    Attributes:
        criterion: The kind of criterion, e.g. ``"required_fields"``.
        stage: The stage whose exit criterion it is.
        message: What is needed, in words.
        field: The field to fill in, when the fix is a field value.
        expected: What the field needs.
        actual: What the field holds ([`MISSING`][crmcore.records.MISSING] when absent).
    """

    criterion: str
    stage: str
    message: str
    field: str | None = None
    expected: str | None = None
    actual: object = attrs.field(default=MISSING, eq=False)

    def __str__(self) -> str:
        if self.field is None:
            return f"[{self.stage}] {self.message}"
        seen = "missing" if self.actual is MISSING else repr(self.actual)
        detail = f"{self.field}: expected {self.expected}, got {seen}"
        return f"[{self.stage}] {self.message} ({detail})"


class CriterionOperators:
    """``a & b`` lists exit criteria that must all hold; ``str(a)`` is the text form.

    The built-in criteria inherit these; registering a vendor criterion gives
    it the ones it does not define. A stage's criteria always must all hold,
    so ``&`` (a tuple for ``exit_criteria``) is their only operator.

    Examples:
        >>> both = RequiredFields(("budget",)) & RequiredApproval("discount")
        >>> [str(criterion) for criterion in both]
        ['required_fields({"budget"})', 'required_approval("discount")']
    """

    __slots__ = ()

    def __and__(self, other: object) -> tuple[Any, ...]:
        if isinstance(other, tuple):
            return (self, *other)
        return (self, other)

    def __rand__(self, other: object) -> tuple[Any, ...]:
        if isinstance(other, tuple):
            return (*other, self)
        return NotImplemented

    def __str__(self) -> str:
        return to_text(self)  # type: ignore[arg-type]


class ExitCriterion(Protocol):
    """What every exit-criterion kind provides (built-in and registered alike).

    A kind is a frozen attrs class with a ``kind`` name and a
    ``check(context, stage) -> tuple[UnmetCriterion, ...]`` method that returns
    nothing when the criterion is met.
    """

    kind: ClassVar[str]

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        """The unmet parts of this criterion for one record (empty when met)."""
        ...


# ---------------------------------------------------------------------------
# Built-in criterion kinds
# ---------------------------------------------------------------------------
def _paths(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise DataTypeError("fields", values, "a list of field paths")
    items = tuple(values)
    if not items:
        raise DataError("fields", items, "at least one field path")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise DataTypeError(f"fields[{index}]", item, "a field path")
        try:
            parse_path(item)
        except DataError:
            raise DataError(f"fields[{index}]", item, "a dotted field path") from None
    return items


@attrs.frozen
class RequiredFields(CriterionOperators):
    """Fields that must be present and non-empty before the stage can be left.

    Examples:
        >>> from datetime import datetime, timezone
        >>> as_of = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> context = StageContext({"budget": 10}, as_of)
        >>> rule = RequiredFields(("budget", "timeline"))
        >>> [u.field for u in rule.check(context, "discovery")]
        ['timeline']
    """

    kind: ClassVar[str] = "required_fields"
    fields: tuple[str, ...] = attrs.field(converter=_paths)
    message: str = attrs.field(default="", validator=_text, kw_only=True)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """One to three drawn fields."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, st.lists(draws.any_paths, min_size=1, max_size=3))

    def as_condition(self) -> Condition:
        """The same test as a condition: every field exists."""
        return all_of(*(Exists(path) for path in self.fields))

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        """One unmet item per missing field."""
        unmet = []
        for path in self.fields:
            value = field_getter(path)(context.record)
            if not is_present(value):
                unmet.append(
                    UnmetCriterion(
                        self.kind,
                        stage,
                        self.message or f"{path} is required",
                        field=path,
                        expected="present and non-empty",
                        actual=value,
                    )
                )
        return tuple(unmet)


@attrs.frozen
class MustHold(CriterionOperators):
    """Any condition of the rule language, with a message for when it does not hold.

    Every unmet leaf of the condition becomes an unmet item with its field,
    expected and actual value, so a user interface can prompt for each.
    """

    kind: ClassVar[str] = "must_hold"
    condition: Condition = attrs.field(validator=_condition, metadata=CONDITION)
    message: str = attrs.field(default="", validator=_text, kw_only=True)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A drawn condition."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.children)

    def as_condition(self) -> Condition:
        """The condition itself."""
        return self.condition

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        """The unmet leaves of the condition (nothing when it holds)."""
        compiled = compile_condition(self.condition)
        if compiled.matches(context.record, as_of=context.as_of):
            return ()  # the fast path; explain only what fails
        explanation = compiled.explain(context.record, as_of=context.as_of)
        message = self.message or f"{to_text(self.condition)} must hold"
        leaves = [leaf for leaf in explanation.unmet() if leaf.field is not None]
        if not leaves:  # an unmet 'not' or vendor kind: report the whole rule
            return (UnmetCriterion(self.kind, stage, message),)
        return tuple(
            UnmetCriterion(
                self.kind,
                stage,
                message,
                field=leaf.field,
                expected=leaf.expected,
                actual=leaf.actual,
            )
            for leaf in leaves
        )


def _since(value: Duration | str | None) -> Duration | Literal["stage_entry"] | None:
    if value is None or value == "stage_entry":
        return "stage_entry"
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration.parse(value)
    raise DataTypeError("since", value, "'stage_entry' or a duration such as '30d'")


@attrs.frozen
class RequiredActivity(CriterionOperators):
    """At least ``count`` activities of ``activity_kind`` since the stage was entered.

    ``where`` narrows the activities further (e.g. only completed meetings:
    ``field("properties.status") == "completed"``). ``since`` is
    ``"stage_entry"`` (default) or a duration before ``as_of`` such as ``"30d"``.
    Counting since stage entry needs to know when the record entered its
    stage: pass its stage ``history`` (or ``entered_at``) to the decision.
    """

    kind: ClassVar[str] = "required_activity"
    activity_kind: str = attrs.field(validator=_name)
    count: int = attrs.field(default=1, validator=_positive, kw_only=True)
    where: Condition | None = attrs.field(
        default=None, validator=_opt_condition, kw_only=True, metadata=CONDITION
    )
    since: Duration | Literal["stage_entry"] = attrs.field(
        default="stage_entry",
        converter=_since,
        metadata=DURATION,
        kw_only=True,
    )
    message: str = attrs.field(default="", validator=_text, kw_only=True)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A meeting or call count, narrowed or not, since entry or a duration."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls,
            st.sampled_from(["meeting", "call"]),
            count=st.integers(1, 3),
            where=st.none() | draws.items,
            since=st.just("stage_entry") | draws.durations,
        )

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        """One unmet item when fewer activities than ``count`` were found."""
        if self.since == "stage_entry":
            since = context.entered_at
            if since is None:
                raise DataError(
                    "history",
                    None,
                    "the stage history (or entered_at=) to count "
                    f"{self.activity_kind!r} "
                    f"activities since the record entered {stage!r}",
                )
            window = "since entering the stage"
        else:
            assert isinstance(self.since, Duration)  # narrowed by the converter
            since = self.since.before(context.as_of)
            window = f"in the last {self.since}"
        where = (
            None
            if self.where is None
            else compile_condition(self.where).bind(context.as_of)
        )
        found = 0
        for activity in context.activities:
            at = field_getter("at")(activity)
            if field_getter("kind")(activity) != self.activity_kind or not isinstance(
                at, datetime
            ):
                continue
            if since <= at <= context.as_of and (where is None or where(activity)):
                found += 1
        if found >= self.count:
            return ()
        noun = "activity" if self.count == 1 else "activities"
        what = f"{self.count} {self.activity_kind} {noun}"
        return (
            UnmetCriterion(
                self.kind,
                stage,
                self.message or f"needs {what} {window}",
                expected=f"at least {what} {window}",
                actual=found,
            ),
        )


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return _v.names(
        values, "roles", plural="a list of role names", item="a non-empty role name"
    )


@attrs.frozen
class RequiredApproval(CriterionOperators):
    """An approval named ``approval`` must be on record, by one of ``roles`` if any."""

    kind: ClassVar[str] = "required_approval"
    approval: str = attrs.field(validator=_name)
    roles: tuple[str, ...] = attrs.field(default=(), converter=_names, kw_only=True)
    message: str = attrs.field(default="", validator=_text, kw_only=True)

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A discount or legal approval, by any role or a drawn one."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls,
            st.sampled_from(["discount", "legal"]),
            roles=st.lists(st.sampled_from(["cfo", "sales_manager"]), max_size=2),
        )

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        """One unmet item when no matching approval is on record."""
        for approval in context.approvals:
            in_time = approval.name == self.approval and approval.at <= context.as_of
            if in_time and (not self.roles or approval.role in self.roles):
                return ()
        by = f" by one of {', '.join(self.roles)}" if self.roles else ""
        return (
            UnmetCriterion(
                self.kind,
                stage,
                self.message or f"needs the {self.approval!r} approval{by}",
                expected=f"approval {self.approval!r}{by}",
                actual=None,
            ),
        )


# ---------------------------------------------------------------------------
# Registry of criterion kinds
# ---------------------------------------------------------------------------
CRITERION_KINDS: Final = Registry(
    "exit criterion kind",
    group="crmcore.criteria",
    protocol=ExitCriterion,
    methods=(("check",),),
    needs="a check(context, stage) method",
    operators=lambda: CriterionOperators,
)
"""The registry of exit-criterion kinds: the built-ins and every registered one."""

_K = TypeVar("_K", bound=type)


def register_criterion(cls: _K) -> _K:
    """Register an exit-criterion kind so pipelines (and their JSON) can use it.

    The class must be an attrs class with a lower-case ``kind`` class variable
    and a ``check(self, context, stage) -> tuple[UnmetCriterion, ...]``
    method. Use it as a decorator, or list it under the ``crmcore.criteria``
    entry-point group and call ``CRITERION_KINDS.load_entry_points()``; in
    tests, ``with CRITERION_KINDS.scoped(MyCriterion):`` registers it for one
    block.

    Raises:
        DefinitionError: When the class lacks what is needed or the kind is taken.
    """
    return CRITERION_KINDS.register(cls)


for _builtin in (RequiredFields, MustHold, RequiredActivity, RequiredApproval):
    CRITERION_KINDS.register(_builtin)


def parse_criterion(text: str) -> ExitCriterion:
    """Read an exit criterion's text form (what ``str(criterion)`` prints).

    Every kind, built-in or registered, reads and writes its function form
    (see [`TextParser`][crmcore.conditions.TextParser]).

    Raises:
        DefinitionError: With the column of the first problem.

    Examples:
        >>> from crmcore.conditions import field
        >>> rule = MustHold(field("amount") > 0, message="price it")
        >>> str(rule)
        'must_hold(amount > 0, message="price it")'
        >>> parse_criterion(str(rule)) == rule
        True
    """
    found: ExitCriterion = parse_kind(text, CRITERION_KINDS)
    return found


def criterion_kinds() -> dict[str, type[Any]]:
    """Every registered exit-criterion kind and its class (a copy)."""
    return CRITERION_KINDS.kinds()


def _is_criterion(value: object) -> bool:
    return CRITERION_KINDS.holds(value)


# ---------------------------------------------------------------------------
# Stages, policy, pipeline
# ---------------------------------------------------------------------------
def _criteria(values: Iterable[Any]) -> tuple[Any, ...]:
    if isinstance(values, (str, Mapping)) or not isinstance(values, Iterable):
        raise DataTypeError("exit_criteria", values, "a list of exit criteria")
    items = tuple(values)
    for index, item in enumerate(items):
        if not _is_criterion(item):
            raise DataTypeError(
                f"exit_criteria[{index}]", item, "a registered exit criterion"
            )
    return items


@attrs.frozen
class StageDefinition:
    """One stage of a pipeline, tied to an action or milestone.

    Attributes:
        key: Identifier stored on records, e.g. ``"discovery"``.
        name: Display name, e.g. ``"Discovery call held, needs confirmed"``.
        kind: ``"open"``, ``"won"`` or ``"lost"``.
        probability: Default win probability (0-1) for weighted pipeline;
            ``None`` means won 1, lost 0, open unknown.
        forecast_category: ``pipeline``, ``best_case``, ``commit``, ``closed``
            or ``omitted``; ``None`` uses the kind's default (see
            [`category`][crmcore.pipelines.StageDefinition.category]).
        owner: The role or team that owns deals in this stage.
        guidance: What to do in this stage, for the people doing it.
        exit_criteria: What must hold before a deal may leave the stage.
        rotting_days: Most days a deal is expected to stay; longer is stuck.
    """

    key: str = attrs.field(validator=_name)
    name: str = attrs.field(validator=_name)
    kind: StageKind = attrs.field(
        default="open", validator=_v.one_of(*_KINDS), kw_only=True
    )
    probability: Decimal | None = attrs.field(
        default=None, converter=_v.probability, kw_only=True
    )
    forecast_category: ForecastCategory | None = attrs.field(
        default=None, validator=_opt_category, kw_only=True
    )
    owner: str | None = attrs.field(default=None, validator=_opt_name, kw_only=True)
    guidance: str = attrs.field(default="", validator=_text, kw_only=True)
    exit_criteria: tuple[ExitCriterion, ...] = attrs.field(
        default=(), converter=_criteria, kw_only=True
    )
    rotting_days: int | None = attrs.field(
        default=None, validator=_opt_days, kw_only=True
    )

    @property
    def category(self) -> str:
        """The forecast category as set, else ``pipeline``, ``closed``, ``omitted``."""
        return self.forecast_category or _DEFAULT_CATEGORY[self.kind]

    @property
    def win_probability(self) -> Decimal | None:
        """The probability as set, else 1 for won, 0 for lost, ``None`` for open."""
        if self.probability is not None:
            return self.probability
        return {"won": Decimal(1), "lost": Decimal(0)}.get(self.kind)


@attrs.frozen
class Transition:
    """An allowed move in a ``graph`` policy: from one stage key to another."""

    from_stage: str = attrs.field(validator=_name)
    to_stage: str = attrs.field(validator=_name)


def _keys(values: Iterable[str]) -> tuple[str, ...]:
    return _v.names(values, "stages", plural="a list of stage keys", item="a stage key")


def _transitions(values: Iterable[Transition]) -> tuple[Transition, ...]:
    return _v.tuple_of(values, Transition, "transitions", item="a Transition")


@attrs.frozen
class TransitionPolicy:
    """Which moves between stages a pipeline allows.

    Attributes:
        mode: ``"free"`` (any open stage), ``"forward_only"`` (later open
            stages, skipping allowed), ``"no_skip"`` (only the next open
            stage) or ``"graph"`` (only the listed ``transitions``).
        allow_backward: In ``forward_only`` and ``no_skip``, also allow moves
            back to earlier open stages.
        allow_reopen: Allow moving a won or lost deal back to an open stage.
        won_from: Open stages from which won may be reached (empty: any).
        lost_from: Open stages from which lost may be reached (empty: any).
        lost_reasons: The reasons a deal may be lost for; a pipeline with a
            lost stage must list at least one, and losing needs one of them.
        transitions: The allowed moves in ``graph`` mode (won and lost too).
    """

    mode: Literal["free", "forward_only", "no_skip", "graph"] = attrs.field(
        default="free", validator=_v.one_of("free", "forward_only", "no_skip", "graph")
    )
    allow_backward: bool = attrs.field(default=True, validator=_flag, kw_only=True)
    allow_reopen: bool = attrs.field(default=False, validator=_flag, kw_only=True)
    won_from: tuple[str, ...] = attrs.field(default=(), converter=_keys, kw_only=True)
    lost_from: tuple[str, ...] = attrs.field(default=(), converter=_keys, kw_only=True)
    lost_reasons: tuple[str, ...] = attrs.field(
        default=(), converter=_keys, kw_only=True
    )
    transitions: tuple[Transition, ...] = attrs.field(
        default=(), converter=_transitions, kw_only=True
    )


def _stages(values: Iterable[StageDefinition]) -> tuple[StageDefinition, ...]:
    return _v.tuple_of(values, StageDefinition, "stages", item="a StageDefinition")


def _policy(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, TransitionPolicy):
        raise DataTypeError(attribute.name, value, "a TransitionPolicy")


@attrs.frozen
class Pipeline:
    """Ordered stages and the policy for moving between them.

    Open stages come in the order listed; won and lost stages may be listed
    anywhere (conventionally last). A pipeline is validated as a whole, and
    every problem is reported at once with its path: duplicate keys, unknown
    stages in the policy, no open or no won stage, unreachable stages, won or
    lost probabilities that contradict their kind, and a lost stage without
    lost reasons.

    Attributes:
        key: Identifier, e.g. ``"new_business"``.
        stages: The stages.
        policy: The transition policy.
        stage_field: Where records keep their current stage key.
        lost_reason_field: Where records keep why they were lost.
    """

    key: str = attrs.field(validator=_name)
    stages: tuple[StageDefinition, ...] = attrs.field(converter=_stages)
    policy: TransitionPolicy = attrs.field(
        factory=TransitionPolicy, validator=_policy, kw_only=True
    )
    stage_field: str = attrs.field(default="stage", validator=_path, kw_only=True)
    lost_reason_field: str = attrs.field(
        default="lost_reason", validator=_path, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise DefinitionError("Pipeline", problems)

    def stage(self, key: object) -> StageDefinition:
        """The stage with this key.

        Raises:
            DataError: For an unknown key, listing the known ones.
        """
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise DataError("stage", key, f"one of {', '.join(s.key for s in self.stages)}")

    @property
    def open_stages(self) -> tuple[StageDefinition, ...]:
        """The open stages, in order."""
        return tuple(s for s in self.stages if s.kind == "open")

    def position(self, key: str) -> int:
        """Index of an open stage among the open stages (-1 for won / lost)."""
        keys = [s.key for s in self.open_stages]
        return keys.index(key) if key in keys else -1


def _validate(pipeline: Pipeline) -> list[Problem]:
    problems: list[Problem] = []
    keys = [s.key for s in pipeline.stages]
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen:
            problems.append(
                Problem(f"$.stages[{index}].key", f"duplicate stage key {key!r}")
            )
        seen.add(key)
    kinds = [s.kind for s in pipeline.stages]
    if "open" not in kinds:
        problems.append(Problem("$.stages", "at least one open stage is needed"))
    if "won" not in kinds:
        problems.append(Problem("$.stages", "a won stage is needed"))
    for index, stage in enumerate(pipeline.stages):
        if stage.kind == "won" and stage.probability not in (None, Decimal(1)):
            problems.append(
                Problem(
                    f"$.stages[{index}].probability", "a won stage has probability 1"
                )
            )
        if stage.kind == "lost" and stage.probability not in (None, Decimal(0)):
            problems.append(
                Problem(
                    f"$.stages[{index}].probability", "a lost stage has probability 0"
                )
            )
    policy = pipeline.policy
    open_keys = {s.key for s in pipeline.stages if s.kind == "open"}
    for name in ("won_from", "lost_from"):
        for index, key in enumerate(getattr(policy, name)):
            if key not in open_keys:
                problems.append(
                    Problem(
                        f"$.policy.{name}[{index}]", f"{key!r} is not an open stage"
                    )
                )
    for index, transition in enumerate(policy.transitions):
        for side in ("from_stage", "to_stage"):
            key = getattr(transition, side)
            if key not in seen:
                problems.append(
                    Problem(
                        f"$.policy.transitions[{index}].{side}",
                        f"unknown stage {key!r}",
                    )
                )
    if "lost" in kinds and not policy.lost_reasons:
        problems.append(
            Problem(
                "$.policy.lost_reasons",
                "a pipeline with a lost stage needs lost reasons",
            )
        )
    if policy.mode == "graph" and open_keys:
        first = next(s.key for s in pipeline.stages if s.kind == "open")
        reachable = {first}
        frontier = [first]
        edges: dict[str, list[str]] = {}
        for transition in policy.transitions:
            edges.setdefault(transition.from_stage, []).append(transition.to_stage)
        while frontier:
            for target in edges.get(frontier.pop(), []):
                if target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
        for index, stage in enumerate(pipeline.stages):
            if stage.key not in reachable:
                problems.append(
                    Problem(
                        f"$.stages[{index}]",
                        f"{stage.key!r} is unreachable from {first!r}",
                    )
                )
    return problems


# ---------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------
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

    allowed: bool
    from_stage: str | None
    to_stage: str
    unmet: tuple[UnmetCriterion, ...] = ()
    violations: tuple[str, ...] = ()
    prompt_fields: tuple[str, ...] = ()

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


def _entered_at(
    record_id: object, stage: str | None, history: Iterable[Any]
) -> datetime | None:
    entered = None
    for change in history:
        if field_getter("record_id")(change) != record_id:
            continue
        if field_getter("to_stage")(change) == stage:
            at = field_getter("at")(change)
            if isinstance(at, datetime) and (entered is None or at > entered):
                entered = at
    return entered


def _policy_violations(
    pipeline: Pipeline, current: StageDefinition | None, target: StageDefinition
) -> list[str]:
    policy = pipeline.policy
    if current is None or current.key == target.key:
        return [] if current is None else [f"the record is already in {target.key!r}"]
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


def _stages_to_clear(
    pipeline: Pipeline, current: StageDefinition | None, target: StageDefinition
) -> list[StageDefinition]:
    """The open stages whose exit criteria a move must meet (see module docs).

    For a forward move: the current stage and every open stage listed between
    it and the target. Stages listed after the target (an open "evangelist"
    stage after a won "customer" stage) never gate it.
    """
    if current is None or current.kind != "open" or target.kind == "lost":
        return []
    order = [s.key for s in pipeline.stages]
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
        to_stage: The key of the stage asked for.
        as_of: The moment of the decision (aware).
        history: The record's stage changes, to know when it entered its stage.
        entered_at: When it entered its stage (overrides ``history``).
        activities: Its engagement events, for activity criteria.
        approvals: Its approvals, for approval criteria.
        lost_reason: The reason, when moving to lost (else read from the
            record's ``lost_reason_field``).

    Raises:
        DataError: For an unknown ``to_stage`` or current stage.
        NaiveDatetimeError: For a naive ``as_of``.
    """
    require_aware(as_of, "as_of")
    target = pipeline.stage(to_stage)
    current_key = field_getter(pipeline.stage_field)(record)
    current = None if current_key in (MISSING, None) else pipeline.stage(current_key)
    violations = _policy_violations(pipeline, current, target)
    prompt: list[str] = []
    if target.kind == "lost":
        reason = (
            lost_reason
            if lost_reason is not None
            else field_getter(pipeline.lost_reason_field)(record)
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
        record_id = field_getter("id")(record)
        if entered_at is None and current is not None:
            entered_at = _entered_at(record_id, current.key, history)
        context = StageContext(
            record, as_of, entered_at, tuple(activities), tuple(approvals)
        )
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
    current_key = field_getter(pipeline.stage_field)(record)
    current = pipeline.stage(current_key)
    if current.kind != "open":
        return ()
    if entered_at is None:
        entered_at = _entered_at(field_getter("id")(record), current.key, history)
    context = StageContext(
        record, as_of, entered_at, tuple(activities), tuple(approvals)
    )
    return tuple(
        u for c in current.exit_criteria for u in c.check(context, current.key)
    )


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
) -> tuple[Any, StageChange]:
    """Move a record to ``to_stage``: a new record and the stage-change event.

    Nothing is mutated. The new record has the new stage; for crmcore
    [`Opportunity`][crmcore.records.Opportunity] records (and any record
    with ``outcome`` / ``closed_at`` fields) closing sets the outcome and close
    time, and reopening clears them. Works on attrs instances and dicts.

    Raises:
        StageMoveError: When [`evaluate`][crmcore.pipelines.evaluate] does not
            allow the move; the error carries the decision.
        DataTypeError: When the record is neither a dict nor an attrs instance.
    """
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
            else field_getter(pipeline.lost_reason_field)(record)
        )
        updates[pipeline.lost_reason_field] = reason if target.kind == "lost" else None
    moved = _updated(record, updates)
    record_id = field_getter("id")(record)
    event = StageChange(str(record_id), decision.from_stage, to_stage, as_of, by=by)
    return moved, event


def _has(record: object, name: str) -> bool:
    if isinstance(record, Mapping):
        return name in record
    cls: Any = type(record)
    return attrs.has(cls) and name in attrs.fields_dict(cls)


def _updated(record: Any, updates: dict[str, Any]) -> Any:
    if isinstance(record, Mapping):
        return {**record, **updates}
    if attrs.has(type(record)):
        names = attrs.fields_dict(type(record))
        return attrs.evolve(record, **{k: v for k, v in updates.items() if k in names})
    raise DataTypeError(
        "record", record, "a dict or an attrs instance, to be copied with the new stage"
    )
