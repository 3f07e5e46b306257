"""Pipeline definitions: stages and their exit criteria, the policy, the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Literal,
    TypeAlias,
)

import attrs

from crmcore import validators as _v
from crmcore.errors import (
    DataError,
    DataTypeError,
    DefinitionError,
    Problem,
)

if TYPE_CHECKING:
    pass
from crmcore.pipelines.criteria import (
    ExitCriterion,
    _is_criterion,
)

_name = _v.name()
_text = _v.text()
_opt_name = _v.optional(_name)
_opt_days = _v.optional(_v.positive_int(expected="a positive number of days"))
_flag = _v.boolean()
_path = _v.field_path(expected="a field path")


StageKind: TypeAlias = Literal["open", "won", "lost"]
"""What a stage means for the deal: still ``open``, or closed ``won`` / ``lost``."""
ForecastCategory: TypeAlias = Literal[
    "pipeline", "best_case", "commit", "closed", "omitted"
]
"""Forecast categories, as in Salesforce: closed won is ``closed``, lost ``omitted``."""

_KINDS: Final = ("open", "won", "lost")
_CATEGORIES: Final = ("pipeline", "best_case", "commit", "closed", "omitted")
_DEFAULT_CATEGORY: Final = {"open": "pipeline", "won": "closed", "lost": "omitted"}
_opt_category = _v.optional(_v.one_of(*_CATEGORIES))


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

    # Lookups by key, built once: every question about a stage is O(1), so
    # nothing built on a pipeline grows with the square of its stages.
    _by_key: dict[str, StageDefinition] = attrs.field(init=False, repr=False, eq=False)
    _open: tuple[StageDefinition, ...] = attrs.field(init=False, repr=False, eq=False)
    _open_index: dict[str, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise DefinitionError("Pipeline", problems)
        opened = tuple(s for s in self.stages if s.kind == "open")
        object.__setattr__(self, "_by_key", {s.key: s for s in self.stages})
        object.__setattr__(self, "_open", opened)
        object.__setattr__(
            self, "_open_index", {s.key: i for i, s in enumerate(opened)}
        )

    def stage(self, key: object) -> StageDefinition:
        """The stage with this key.

        Raises:
            DataError: For an unknown key, listing the known ones.
        """
        found = self._by_key.get(key) if isinstance(key, str) else None
        if found is None:
            known = ", ".join(s.key for s in self.stages)
            raise DataError("stage", key, f"one of {known}")
        return found

    @property
    def open_stages(self) -> tuple[StageDefinition, ...]:
        """The open stages, in order."""
        return self._open

    def position(self, key: str) -> int:
        """Index of an open stage among the open stages (-1 for won / lost)."""
        return self._open_index.get(key, -1) if isinstance(key, str) else -1


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
