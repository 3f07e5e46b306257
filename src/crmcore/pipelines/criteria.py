"""Exit criteria: what they see and say, the built-in kinds and their registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Final,
    Literal,
    Protocol,
    TypeVar,
)

import attrs

from crmcore import validators as _v
from crmcore.calendar import require_aware
from crmcore.conditions import (
    CONDITION_KINDS,
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
    DataError,
    DataTypeError,
)
from crmcore.records import (
    MISSING,
    field_getter,
)
from crmcore.registry import Registry

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from crmcore.registry import KindDraws

_name = _v.name()
_text = _v.text()
_opt_name = _v.optional(_name)
_condition = _v.kind_of(CONDITION_KINDS, "a condition")
_opt_condition = _v.optional(_condition)
_positive = _v.positive_int()
NEVER_ENTERED: Final = datetime.min.replace(tzinfo=UTC)
"""The ``entered_at`` of a record that never entered the stage (it enters
the pipeline past it, or is handed over between teams): activity criteria
counting "since entering the stage" then count every activity on record."""


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
    return _v.field_paths(values, "fields", at_least=1)


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
    if not isinstance(value, str | Duration):
        raise DataTypeError("since", value, "'stage_entry' or a duration such as '30d'")
    return Duration.of(value, "since")


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
            # A record entering the pipeline (or handed over between teams)
            # never entered the stage: all of its activity counts.
            window = (
                "on record" if since == NEVER_ENTERED else "since entering the stage"
            )
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
        read_at, read_kind = field_getter("at"), field_getter("kind")
        for index, activity in enumerate(context.activities):
            if read_kind(activity) != self.activity_kind:
                continue
            # An activity of the kind asked for must say when it happened.
            at = require_aware(read_at(activity), f"activities[{index}].at")
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
        # Approvals are read like any record: an Approval, a mapping, an ORM
        # row. One of the approval asked for must say when it was given.
        name, at, role = field_getter("name"), field_getter("at"), field_getter("role")
        for index, approval in enumerate(context.approvals):
            if name(approval) != self.approval:
                continue
            when = require_aware(at(approval), f"approvals[{index}].at")
            if when <= context.as_of and (
                not self.roles or role(approval) in self.roles
            ):
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
