"""Strategy: the five questions, the strategy statement and the priority matrix.

A CRM strategy answers "which customer operation must become repeatable?",
not "which tool should we buy?". It does so with five questions, each
decided by parts of the configuration:

| question | decided by |
|---|---|
| Which customers do we need to understand better? | ICP, segments, account priority |
| When should we intervene? | conversion, onboarding, activation, risk, expansion |
| Which team owns which action? | marketing, sales, success, operations, product |
| Which metric should improve? | conversion, sales cycle, retention, NRR, LTV |
| Which data must be trustworthy? | required fields, sources, refresh cadence, owner |

A [`StrategyCanvas`][crmcore.strategy.StrategyCanvas] answers each question
with *references* to real parts ([`Asset`][crmcore.ownership.Asset]s such as
``segment:mid_market`` or ``kpi:lead_conversion``), and states the strategy
in one sentence whose five blanks each name a part
([`StrategyStatement`][crmcore.strategy.StrategyStatement]).
[`StrategyCanvas.findings`][crmcore.strategy.StrategyCanvas.findings] reports
unanswered questions and references to parts that do not exist.

A [`PriorityMatrix`][crmcore.strategy.PriorityMatrix] of
[`Initiative`][crmcore.strategy.Initiative]s, each with a revenue impact and
an operating difficulty, turns into an ordered [`Plan`][crmcore.strategy.Plan]
by one documented rule (see
[`PriorityMatrix.plan`][crmcore.strategy.PriorityMatrix.plan]);
[`crm_initiatives`][crmcore.strategy.crm_initiatives] is the matrix of the
CRM strategy seed, which the rule orders exactly as the seed does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Final, Literal, get_args

import attrs

from crmcore import validators as _v
from crmcore.errors import DataError, DataTypeError
from crmcore.ownership import Asset, AssetKind

__all__ = [
    "LEVELS",
    "STATEMENT_TEMPLATE",
    "STRATEGY_QUESTIONS",
    "Finding",
    "Initiative",
    "Level",
    "Milestone",
    "Plan",
    "PlanStep",
    "PriorityMatrix",
    "Question",
    "StrategyCanvas",
    "StrategyStatement",
    "crm_initiatives",
]

_name = _v.name()
_text = _v.text()


@attrs.frozen
class Finding:
    """One problem a check found in a configuration, explained.

    Attributes:
        check: The code of the check that found it, e.g. ``"dangling_reference"``.
        path: Where it is, e.g. ``$.strategy.statement.segment``.
        message: What is wrong.
        fix: What to do about it.
    """

    check: str = attrs.field(validator=_name)
    path: str = attrs.field(validator=_name)
    message: str = attrs.field(validator=_name)
    fix: str = attrs.field(default="", validator=_text)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (
            f" (fix: {self.fix})" if self.fix else ""
        )


# ---------------------------------------------------------------------------
# The five questions and the canvas
# ---------------------------------------------------------------------------
@attrs.frozen
class Question:
    """One of the five strategy questions.

    Attributes:
        key: The canvas field that answers it, e.g. ``"customers"``.
        text: The question.
        decision: What decides it.
        kinds: The kinds of part an answer may refer to.
    """

    key: str
    text: str
    decision: str
    kinds: tuple[AssetKind, ...]


STRATEGY_QUESTIONS: Final = (
    Question(
        "customers",
        "Which customers do we need to understand better?",
        "ICP, segments, account priority",
        ("segment",),
    ),
    Question(
        "moments",
        "When should we intervene?",
        "Conversion, onboarding, activation, risk, expansion events",
        ("moment", "stage"),
    ),
    Question(
        "owners",
        "Which team owns which action?",
        "Marketing, sales, success, operations, product",
        ("team", "role", "handoff"),
    ),
    Question(
        "metrics",
        "Which metric should improve?",
        "Conversion, sales cycle, retention, NRR, LTV",
        ("kpi",),
    ),
    Question(
        "data",
        "Which data must be trustworthy?",
        "Required fields, sources, refresh cadence, data owner",
        ("data_spec", "field"),
    ),
)
"""The five questions of a CRM strategy, in order, with the parts that answer them."""

STATEMENT_TEMPLATE: Final = (
    "We use CRM to standardize [team action] for [core customer segment] at "
    "[important lifecycle moment], improving [core metric] with trustworthy "
    "[required data]."
)
"""The strategy statement with its five blanks."""


def _converted_refs(values: object, label: str) -> tuple[Asset, ...]:
    return Asset.many(values, label, "a list of references such as 'segment:smb'")


def _converted_ref(value: object, label: str) -> Asset:
    return Asset.of(value, label)


def _customers_refs(values: object) -> tuple[Asset, ...]:
    return _converted_refs(values, "customers")


def _moments_refs(values: object) -> tuple[Asset, ...]:
    return _converted_refs(values, "moments")


def _owners_refs(values: object) -> tuple[Asset, ...]:
    return _converted_refs(values, "owners")


def _metrics_refs(values: object) -> tuple[Asset, ...]:
    return _converted_refs(values, "metrics")


def _data_refs(values: object) -> tuple[Asset, ...]:
    return _converted_refs(values, "data")


def _action_ref(value: object) -> Asset:
    return _converted_ref(value, "action")


def _segment_ref(value: object) -> Asset:
    return _converted_ref(value, "segment")


def _moment_ref(value: object) -> Asset:
    return _converted_ref(value, "moment")


def _metric_ref(value: object) -> Asset:
    return _converted_ref(value, "metric")


def _data_ref(value: object) -> Asset:
    return _converted_ref(value, "data")


_BLANKS: Final[tuple[tuple[str, str, tuple[AssetKind, ...]], ...]] = (
    ("action", "team action", ("team", "role", "handoff", "stage")),
    ("segment", "core customer segment", ("segment",)),
    ("moment", "important lifecycle moment", ("moment", "stage")),
    ("metric", "core metric", ("kpi",)),
    ("data", "required data", ("data_spec", "field")),
)


@attrs.frozen
class StrategyStatement:
    """The strategy in one sentence, each blank naming a part of the playbook.

    "We use CRM to standardize [team action] for [core customer segment] at
    [important lifecycle moment], improving [core metric] with trustworthy
    [required data]."

    Attributes:
        action: The team action: a ``handoff``, a ``stage``, a ``team`` or a
            ``role``.
        segment: The core customer segment (a ``segment``).
        moment: The lifecycle moment (a ``moment`` or a ``stage``).
        metric: The core metric (a ``kpi``).
        data: The required data (a ``data_spec`` or a ``field``).

    Examples:
        >>> statement = StrategyStatement(
        ...     "handoff:lead_handoff", "segment:mid_market", "moment:conversion",
        ...     "kpi:lead_conversion", "data_spec:lead_source_data")
        >>> print(statement.text())
        We use CRM to standardize lead handoff for mid market at conversion, improving lead conversion with trustworthy lead source data.
    """  # noqa: E501

    action: Asset = attrs.field(converter=_action_ref)
    segment: Asset = attrs.field(converter=_segment_ref)
    moment: Asset = attrs.field(converter=_moment_ref)
    metric: Asset = attrs.field(converter=_metric_ref)
    data: Asset = attrs.field(converter=_data_ref)

    def references(self) -> tuple[tuple[str, Asset], ...]:
        """Each blank's name and the part it names, in the sentence's order."""
        return tuple((blank, getattr(self, blank)) for blank, _, _ in _BLANKS)

    def text(self, names: Mapping[Asset, str] | None = None) -> str:
        """The sentence, each blank filled with the name of its part.

        Args:
            names: The parts' names for people (a playbook's
                [`names`][crmcore.playbook.Playbook.names]); a part without
                one reads as its key with spaces for underscores.
        """
        names = {} if names is None else names
        if not isinstance(names, Mapping):
            raise DataTypeError("names", names, "a mapping of part to name, or None")
        words = {
            blank: names.get(asset) or asset.key.replace("_", " ")
            for blank, asset in self.references()
        }
        return (
            f"We use CRM to standardize {words['action']} for {words['segment']} "
            f"at {words['moment']}, improving {words['metric']} with trustworthy "
            f"{words['data']}."
        )


def _statement(value: object) -> StrategyStatement | None:
    if value is None or isinstance(value, StrategyStatement):
        return value
    raise DataTypeError("statement", value, "a StrategyStatement or None")


@attrs.frozen
class StrategyCanvas:
    """The five strategy questions, each answered by references to parts.

    Attributes:
        customers: Which customers to understand better (``segment`` parts).
        moments: When to intervene (``moment`` or ``stage`` parts).
        owners: Which team owns which action (``team``, ``role`` or
            ``handoff`` parts).
        metrics: Which metric should improve (``kpi`` parts).
        data: Which data must be trustworthy (``data_spec`` or ``field``
            parts).
        statement: The strategy in one sentence.

    Examples:
        >>> canvas = StrategyCanvas(customers=["segment:mid_market"],
        ...                         metrics=["kpi:lead_conversion"])
        >>> parts = [Asset("segment", "mid_market")]
        >>> for finding in canvas.findings(parts):
        ...     print(finding.check, finding.path)
        unanswered_question $.moments
        unanswered_question $.owners
        dangling_reference $.metrics[0]
        unanswered_question $.data
        no_statement $.statement
    """

    customers: tuple[Asset, ...] = attrs.field(
        default=(), converter=_customers_refs, kw_only=True
    )
    moments: tuple[Asset, ...] = attrs.field(
        default=(), converter=_moments_refs, kw_only=True
    )
    owners: tuple[Asset, ...] = attrs.field(
        default=(), converter=_owners_refs, kw_only=True
    )
    metrics: tuple[Asset, ...] = attrs.field(
        default=(), converter=_metrics_refs, kw_only=True
    )
    data: tuple[Asset, ...] = attrs.field(
        default=(), converter=_data_refs, kw_only=True
    )
    statement: StrategyStatement | None = attrs.field(
        default=None, converter=_statement, kw_only=True
    )

    def answers(self, question: str) -> tuple[Asset, ...]:
        """The references answering one question, by its key."""
        _v.check_one_of(question, "question", tuple(q.key for q in STRATEGY_QUESTIONS))
        answer: tuple[Asset, ...] = getattr(self, question)
        return answer

    def references(self) -> tuple[tuple[str, Asset], ...]:
        """Every reference with its path (relative to the canvas), in order."""
        found: list[tuple[str, Asset]] = []
        for question in STRATEGY_QUESTIONS:
            found.extend(
                (f"$.{question.key}[{index}]", asset)
                for index, asset in enumerate(getattr(self, question.key))
            )
        if self.statement is not None:
            found.extend(
                (f"$.statement.{blank}", asset)
                for blank, asset in self.statement.references()
            )
        return tuple(found)

    def findings(
        self, parts: Iterable[Asset | str] | None = None
    ) -> tuple[Finding, ...]:
        """Unanswered questions, wrong kinds of answer and dangling references.

        Args:
            parts: The parts that exist (the playbook's; see
                [`Playbook.parts`][crmcore.playbook.Playbook.parts]). ``None``
                checks the canvas alone, without dangling references.

        Returns:
            The findings in the canvas's order: ``unanswered_question``,
            ``wrong_kind`` (an answer of a kind that cannot answer its
            question), ``dangling_reference`` (a part that does not exist)
            and ``no_statement``.
        """
        known: Collection[Asset] | None = None
        if parts is not None:
            known = set(_converted_refs(parts, "parts"))
        found: list[Finding] = []
        for question in STRATEGY_QUESTIONS:
            answer: tuple[Asset, ...] = getattr(self, question.key)
            if not answer:
                found.append(
                    Finding(
                        "unanswered_question",
                        f"$.{question.key}",
                        f"{question.text!r} is not answered",
                        f"name the parts that decide it ({question.decision}): "
                        f"{' or '.join(question.kinds)} references",
                    )
                )
            for index, asset in enumerate(answer):
                found.extend(
                    _check_ref(
                        f"$.{question.key}[{index}]", asset, question.kinds, known
                    )
                )
        if self.statement is None:
            found.append(
                Finding(
                    "no_statement",
                    "$.statement",
                    "the strategy has no statement",
                    f"state it: {STATEMENT_TEMPLATE}",
                )
            )
        else:
            for blank, words, kinds in _BLANKS:
                found.extend(
                    _check_ref(
                        f"$.statement.{blank}",
                        getattr(self.statement, blank),
                        kinds,
                        known,
                        what=f"the [{words}] blank",
                    )
                )
        return tuple(found)


def _check_ref(
    path: str,
    asset: Asset,
    kinds: tuple[AssetKind, ...],
    known: Collection[Asset] | None,
    *,
    what: str = "the answer",
) -> list[Finding]:
    if asset.kind not in kinds:
        return [
            Finding(
                "wrong_kind",
                path,
                f"{asset} cannot be {what}: it is a {asset.kind}",
                f"refer to a {' or '.join(kinds)}",
            )
        ]
    if known is not None and asset not in known:
        return [
            Finding(
                "dangling_reference",
                path,
                f"{asset} is not defined in the playbook",
                f"define the {asset.kind} {asset.key!r} or refer to one that exists",
            )
        ]
    return []


# ---------------------------------------------------------------------------
# The priority matrix
# ---------------------------------------------------------------------------
Level = Literal["low", "medium", "high"]
"""A revenue impact or an operating difficulty."""
LEVELS: Final[tuple[Level, ...]] = get_args(Level)
"""The levels, lowest first."""
_RANK: Final = {level: index for index, level in enumerate(LEVELS)}
_level = _v.one_of(*LEVELS)


def _after(values: object) -> tuple[str, ...]:
    keys = _v.names(
        values, "after", plural="a list of initiative or milestone keys", item="a key"
    )
    for index, key in enumerate(keys):
        if key in keys[:index]:
            raise DataError(f"after[{index}]", key, "a key not listed before")
    return keys


@attrs.frozen
class Initiative:
    """One initiative of the strategy, placed by impact and difficulty.

    Attributes:
        key: Its key, e.g. ``"clean_lead_source_data"``.
        name: Its name for people.
        impact: Its revenue impact: ``low``, ``medium`` or ``high``.
        difficulty: Its operating difficulty: ``low``, ``medium`` or ``high``.
        owner: The team or role that owns it.
        after: The keys of the initiatives and milestones it waits for.
        label: How a plan names it as a prerequisite ("after *data
            cleanup*"); its name in lower case by default.
        migration: Whether it moves the CRM to another tool (a playbook
            check asks that a migration serve a defined strategy).
    """

    key: str = attrs.field(validator=_name)
    name: str = attrs.field(validator=_name)
    impact: Level = attrs.field(validator=_level)
    difficulty: Level = attrs.field(validator=_level)
    owner: str | None = attrs.field(
        default=None, validator=_v.optional(_name), kw_only=True
    )
    after: tuple[str, ...] = attrs.field(default=(), converter=_after, kw_only=True)
    label: str = attrs.field(default="", validator=_text, kw_only=True)
    migration: bool = attrs.field(default=False, validator=_v.boolean(), kw_only=True)

    @property
    def margin(self) -> int:
        """Impact minus difficulty, in levels: -2 (thankless) to +2 (quick win)."""
        return _RANK[self.impact] - _RANK[self.difficulty]

    @property
    def called(self) -> str:
        """Its label, or its name in lower case."""
        return self.label or self.name.lower()


@attrs.frozen
class Milestone:
    """Something initiatives wait for that is not an initiative (a pilot).

    Attributes:
        key: Its key, e.g. ``"pilot"``.
        name: Its name for people.
        label: How a plan names it ("after *pilot*"); its name in lower
            case by default.
        reached: Whether it has been reached (then nothing waits for it).
    """

    key: str = attrs.field(validator=_name)
    name: str = attrs.field(validator=_name)
    label: str = attrs.field(default="", validator=_text, kw_only=True)
    reached: bool = attrs.field(default=False, validator=_v.boolean(), kw_only=True)

    @property
    def called(self) -> str:
        """Its label, or its name in lower case."""
        return self.label or self.name.lower()


@attrs.frozen
class PlanStep:
    """One initiative's place in the plan.

    Attributes:
        initiative: The initiative.
        phase: ``"Now"``, ``"Later"`` or ``"After ..."`` naming what it
            waits for.
        wave: 0 for what starts now, then one more than the latest wave it
            waits for.
        waits_for: The keys of the initiatives and unreached milestones it
            waits for.
    """

    initiative: Initiative
    phase: str
    wave: int
    waits_for: tuple[str, ...]


@attrs.frozen
class Plan:
    """The initiatives in the order to take them, each with its phase."""

    steps: tuple[PlanStep, ...]

    def __iter__(self) -> Iterator[PlanStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def phase_of(self, key: str) -> str:
        """The phase of one initiative, by key."""
        for step in self.steps:
            if step.initiative.key == key:
                return step.phase
        raise DataError("key", key, f"one of {[s.initiative.key for s in self.steps]}")

    def table(self) -> tuple[tuple[str, str, str, str], ...]:
        """Rows of name, impact, difficulty and phase, as the seed's matrix."""
        return tuple(
            (
                s.initiative.name,
                s.initiative.impact.title(),
                s.initiative.difficulty.title(),
                s.phase,
            )
            for s in self.steps
        )


def _initiatives(values: object) -> tuple[Initiative, ...]:
    items: tuple[Initiative, ...] = _v.tuple_of(
        values, Initiative, "initiatives", item="an Initiative"
    )
    return items


def _milestones(values: object) -> tuple[Milestone, ...]:
    items: tuple[Milestone, ...] = _v.tuple_of(
        values, Milestone, "milestones", item="a Milestone"
    )
    return items


@attrs.frozen
class PriorityMatrix:
    """Initiatives by revenue impact and operating difficulty, with prerequisites.

    Attributes:
        initiatives: The initiatives.
        milestones: What initiatives may wait for besides other initiatives.

    Raises:
        DataError: For a repeated key (initiatives and milestones share
            one set of keys), a prerequisite that is neither, an initiative
            waiting for itself, or a cycle of prerequisites (the message
            names the cycle).

    Examples:
        >>> plan = crm_initiatives().plan()
        >>> for name, impact, difficulty, phase in plan.table():
        ...     print(f"{name}: {phase}")
        Clean lead source data: Now
        Redefine pipeline stages: Now
        Customer health scoring: After data cleanup
        Company-wide automation: After pilot
    """

    initiatives: tuple[Initiative, ...] = attrs.field(converter=_initiatives)
    milestones: tuple[Milestone, ...] = attrs.field(
        default=(), converter=_milestones, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        initiatives = _v.unique_keys(self.initiatives, "initiatives", "initiative")
        milestones = _v.unique_keys(self.milestones, "milestones", "milestone")
        for index, milestone in enumerate(self.milestones):
            if milestone.key in initiatives:
                raise DataError(
                    f"milestones[{index}].key",
                    milestone.key,
                    "a key no initiative has",
                )
        for index, initiative in enumerate(self.initiatives):
            for position, key in enumerate(initiative.after):
                path = f"initiatives[{index}].after[{position}]"
                if key == initiative.key:
                    raise DataError(path, key, "another initiative (not itself)")
                if key not in initiatives and key not in milestones:
                    raise DataError(
                        path,
                        key,
                        "the key of an initiative or a milestone, one of "
                        f"{sorted([*initiatives, *milestones])}",
                    )
        cycle = _cycle(initiatives)
        if cycle:
            raise DataError(
                "initiatives",
                " -> ".join(cycle),
                "prerequisites without a cycle (an initiative cannot wait for "
                "itself through others)",
            )

    def plan(self) -> Plan:
        """The initiatives in order, each with its phase.

        The rule:

        1. An initiative waiting for nothing (or only for reached milestones)
           is in wave 0. Its phase is ``Now`` when its revenue impact is at
           least its operating difficulty, and ``Later`` when the difficulty
           outweighs the impact (reconsider it, split it, or give it a
           prerequisite that makes it easier).
        2. An initiative waiting for others is one wave after the latest of
           them (an unreached milestone counts as wave 0). Its phase is
           ``After`` and the labels of what it waits for: "After data
           cleanup", "After pilot".
        3. Within a wave: the widest margin of impact over difficulty first,
           then the easier, then the more valuable, then by key.
        """
        by_key = {i.key: i for i in self.initiatives}
        reached = {m.key for m in self.milestones if m.reached}
        called = {m.key: m.called for m in self.milestones}
        called.update((i.key, i.called) for i in self.initiatives)
        waves = _waves(by_key, reached)

        steps = []
        for initiative in self.initiatives:
            waits = tuple(k for k in initiative.after if k not in reached)
            if waits:
                phase = "After " + " and ".join(called[k] for k in waits)
            else:
                phase = "Now" if initiative.margin >= 0 else "Later"
            steps.append(PlanStep(initiative, phase, waves[initiative.key], waits))
        steps.sort(
            key=lambda s: (
                s.wave,
                -s.initiative.margin,
                _RANK[s.initiative.difficulty],
                -_RANK[s.initiative.impact],
                s.initiative.key,
            )
        )
        return Plan(tuple(steps))


def _waves(by_key: dict[str, Initiative], reached: set[str]) -> dict[str, int]:
    """Each initiative's wave, in a loop (no recursion: chains may be long)."""
    waves: dict[str, int] = {}
    for start in by_key:
        stack = [start]
        while stack:
            key = stack[-1]
            if key in waves:
                stack.pop()
                continue
            # An unreached milestone counts as wave 0; a reached one not at all.
            waits = [k for k in by_key[key].after if k not in reached]
            pending = [k for k in waits if k in by_key and k not in waves]
            if pending:
                stack.extend(pending)  # no cycle: checked when the matrix was built
                continue
            waves[key] = 1 + max(waves.get(k, 0) for k in waits) if waits else 0
            stack.pop()
    return waves


def _cycle(initiatives: dict[str, Initiative]) -> list[str]:
    """The first cycle of prerequisites, as keys from start back to start."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start, first in initiatives.items():
        if start in state:
            continue
        path = [start]
        stack = [iter(first.after)]
        state[start] = 1
        while stack:
            key = next(stack[-1], None)
            if key is None:
                state[path.pop()] = 2
                stack.pop()
            elif key in initiatives:
                if state.get(key) == 1:
                    return [*path[path.index(key) :], key]
                if key not in state:
                    state[key] = 1
                    path.append(key)
                    stack.append(iter(initiatives[key].after))
    return []


def crm_initiatives() -> PriorityMatrix:
    """The priority matrix of the CRM strategy seed.

    | initiative | revenue impact | operating difficulty | priority |
    |---|---|---|---|
    | Clean lead source data | medium | low | Now |
    | Redefine pipeline stages | high | medium | Now |
    | Customer health scoring | high | high | After data cleanup |
    | Company-wide automation | medium | high | After pilot |

    The owners are the roles of [`crmcore.ownership`][crmcore.ownership]:
    lead data is the data steward's, stages the process owner's, health
    scoring and automation the CRM owner's.
    """
    return PriorityMatrix(
        (
            Initiative(
                "clean_lead_source_data",
                "Clean lead source data",
                "medium",
                "low",
                owner="data_steward",
                label="data cleanup",
            ),
            Initiative(
                "redefine_pipeline_stages",
                "Redefine pipeline stages",
                "high",
                "medium",
                owner="process_owner",
            ),
            Initiative(
                "customer_health_scoring",
                "Customer health scoring",
                "high",
                "high",
                owner="crm_owner",
                after=("clean_lead_source_data",),
            ),
            Initiative(
                "company_wide_automation",
                "Company-wide automation",
                "medium",
                "high",
                owner="crm_owner",
                after=("pilot",),
            ),
        ),
        milestones=(Milestone("pilot", "Automation pilot in one team", label="pilot"),),
    )
