"""The playbook: the whole CRM configuration as one frozen, versioned value."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, cast

import attrs

from crmcore import validators as _v
from crmcore.conditions import CONDITION_KINDS, Condition, condition_fields
from crmcore.errors import DataError, DefinitionError, Problem
from crmcore.handoffs import HandoffContract, SlaPolicies
from crmcore.kpis import Goal, KpiReview, ReviewCadence
from crmcore.ownership import Asset, OwnershipMap, assets_of
from crmcore.pipelines import Pipeline
from crmcore.quality import DataSpec
from crmcore.routing import Router
from crmcore.scoring import ScoringModel
from crmcore.segments import Segment
from crmcore.serialization import parse_json, structure, to_json, unstructure
from crmcore.strategy import PriorityMatrix, StrategyCanvas

__all__ = [
    "MIGRATIONS",
    "PLAYBOOK_VERSION",
    "Definition",
    "FieldSpec",
    "Playbook",
    "load_playbook",
]

PLAYBOOK_VERSION: Final = 1
"""The version of the playbook format this crmcore writes and reads."""

MIGRATIONS: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
"""How to bring an older playbook up to date: version to the function that
turns a document of that version into one of the next.

The rule: every file states its ``version``. Loading a file of an older
version applies each migration from its version to the current one, in
order, to the JSON document, before anything is structured; a file of a
newer version than this crmcore reads is refused (upgrade crmcore). A
format change that is not purely additive raises the version and adds its
migration here. Version 1 is the first, so there is nothing to migrate yet.
"""

_name = _v.name()
_text = _v.text()
_condition = _v.kind_of(CONDITION_KINDS, "a condition")


@attrs.frozen
class FieldSpec:
    """A custom field of the CRM, and who asked for it.

    Attributes:
        path: The field's path on its records, e.g. ``"budget"``.
        records: The data set it belongs to, e.g. ``"leads"``.
        requested_by: The team that asked for it.
        description: What it holds.
    """

    path: str = attrs.field(validator=_v.field_path())
    records: str = attrs.field(validator=_name)
    requested_by: str | None = attrs.field(
        default=None, validator=_v.optional(_name), kw_only=True
    )
    description: str = attrs.field(default="", validator=_text, kw_only=True)


@attrs.frozen
class Definition:
    """One team's definition of a term of the lifecycle ("MQL", "customer").

    Attributes:
        term: The term, e.g. ``"mql"``.
        team: The key of the team that uses this definition.
        condition: What a record must meet to be one.
        description: The definition in words.
    """

    term: str = attrs.field(validator=_name)
    team: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition)
    description: str = attrs.field(default="", validator=_text, kw_only=True)


def _segments_of(values: object) -> tuple[Segment, ...]:
    items: tuple[Segment, ...] = _v.tuple_of(
        values, Segment, "segments", item="a Segment"
    )
    return items


def _moments_of(values: object) -> tuple[Segment, ...]:
    items: tuple[Segment, ...] = _v.tuple_of(
        values, Segment, "moments", item="a Segment"
    )
    return items


def _pipelines_of(values: object) -> tuple[Pipeline, ...]:
    items: tuple[Pipeline, ...] = _v.tuple_of(
        values, Pipeline, "pipelines", item="a Pipeline"
    )
    return items


def _definitions_of(values: object) -> tuple[Definition, ...]:
    items: tuple[Definition, ...] = _v.tuple_of(
        values, Definition, "definitions", item="a Definition"
    )
    return items


def _handoffs_of(values: object) -> tuple[HandoffContract, ...]:
    items: tuple[HandoffContract, ...] = _v.tuple_of(
        values, HandoffContract, "handoffs", item="a HandoffContract"
    )
    return items


def _scoring_of(values: object) -> tuple[ScoringModel, ...]:
    items: tuple[ScoringModel, ...] = _v.tuple_of(
        values, ScoringModel, "scoring", item="a ScoringModel"
    )
    return items


def _kpis_of(values: object) -> tuple[KpiReview, ...]:
    items: tuple[KpiReview, ...] = _v.tuple_of(
        values, KpiReview, "kpis", item="a KpiReview"
    )
    return items


def _goals_of(values: object) -> tuple[Goal, ...]:
    items: tuple[Goal, ...] = _v.tuple_of(values, Goal, "goals", item="a Goal")
    return items


def _data_of(values: object) -> tuple[DataSpec, ...]:
    items: tuple[DataSpec, ...] = _v.tuple_of(
        values, DataSpec, "data", item="a DataSpec"
    )
    return items


def _fields_of(values: object) -> tuple[FieldSpec, ...]:
    items: tuple[FieldSpec, ...] = _v.tuple_of(
        values, FieldSpec, "fields", item="a FieldSpec"
    )
    return items


def _version(value: object) -> int:
    if type(value) is not int or value != PLAYBOOK_VERSION:
        raise DataError(
            "version",
            value,
            f"{PLAYBOOK_VERSION}, the playbook format of this crmcore "
            "(load older files with load_playbook, which migrates them)",
        )
    return value


@attrs.frozen
class Playbook:
    """The whole CRM strategy and configuration, as one checked value.

    Every part is optional, so a playbook grows as the strategy does; the
    checks of [`check_playbook`][crmcore.playbook.check_playbook] say what is
    missing. It round-trips through JSON
    ([`to_json`][crmcore.playbook.Playbook.to_json],
    [`load_playbook`][crmcore.playbook.load_playbook]) and has a published
    JSON Schema ([`playbook_schema`][crmcore.playbook.playbook_schema]).

    Attributes:
        name: The playbook's name, e.g. the company's.
        version: The format version (``PLAYBOOK_VERSION``).
        description: What it is for.
        strategy: The five questions and the statement.
        segments: Who the customers are.
        moments: The lifecycle moments to intervene at.
        pipelines: The deal pipelines and the lifecycle, with their stages.
        definitions: The teams' definitions of lifecycle terms.
        ownership: Who holds which role and answers for which part.
        handoffs: The contracts between teams.
        sla: The SLA policies.
        routing: How leads are assigned.
        scoring: The lead-scoring models.
        kpis: The KPIs that are reviewed, with their owners.
        goals: The goals, one per metric.
        reviews: How often operational and strategic KPIs are reviewed.
        data: The data specs, one per data set or purpose.
        fields: The custom fields, and who asked for them.
        initiatives: The priority matrix.

    Raises:
        DataError: For two parts of one kind with the same key (two
            segments named alike, two goals for one metric...).
    """

    name: str = attrs.field(validator=_name)
    version: int = attrs.field(
        default=PLAYBOOK_VERSION, converter=_version, kw_only=True
    )
    description: str = attrs.field(default="", validator=_text, kw_only=True)
    strategy: StrategyCanvas = attrs.field(
        factory=StrategyCanvas,
        validator=_v.instance_of(StrategyCanvas, "a StrategyCanvas"),
        kw_only=True,
    )
    segments: tuple[Segment, ...] = attrs.field(
        default=(), converter=_segments_of, kw_only=True
    )
    moments: tuple[Segment, ...] = attrs.field(
        default=(), converter=_moments_of, kw_only=True
    )
    pipelines: tuple[Pipeline, ...] = attrs.field(
        default=(), converter=_pipelines_of, kw_only=True
    )
    definitions: tuple[Definition, ...] = attrs.field(
        default=(),
        converter=_definitions_of,
        kw_only=True,
    )
    ownership: OwnershipMap | None = attrs.field(
        default=None,
        validator=_v.optional(_v.instance_of(OwnershipMap, "an OwnershipMap")),
        kw_only=True,
    )
    handoffs: tuple[HandoffContract, ...] = attrs.field(
        default=(),
        converter=_handoffs_of,
        kw_only=True,
    )
    sla: SlaPolicies | None = attrs.field(
        default=None,
        validator=_v.optional(_v.instance_of(SlaPolicies, "SlaPolicies")),
        kw_only=True,
    )
    routing: Router | None = attrs.field(
        default=None,
        validator=_v.optional(_v.instance_of(Router, "a Router")),
        kw_only=True,
    )
    scoring: tuple[ScoringModel, ...] = attrs.field(
        default=(),
        converter=_scoring_of,
        kw_only=True,
    )
    kpis: tuple[KpiReview, ...] = attrs.field(
        default=(), converter=_kpis_of, kw_only=True
    )
    goals: tuple[Goal, ...] = attrs.field(default=(), converter=_goals_of, kw_only=True)
    reviews: ReviewCadence = attrs.field(
        factory=ReviewCadence,
        validator=_v.instance_of(ReviewCadence, "a ReviewCadence"),
        kw_only=True,
    )
    data: tuple[DataSpec, ...] = attrs.field(
        default=(), converter=_data_of, kw_only=True
    )
    fields: tuple[FieldSpec, ...] = attrs.field(
        default=(), converter=_fields_of, kw_only=True
    )
    initiatives: PriorityMatrix | None = attrs.field(
        default=None,
        validator=_v.optional(_v.instance_of(PriorityMatrix, "a PriorityMatrix")),
        kw_only=True,
    )

    def __attrs_post_init__(self) -> None:
        _v.unique_keys(self.segments, "segments", "segment", by="name")
        _v.unique_keys(self.moments, "moments", "moment", by="name")
        _v.unique_keys(self.pipelines, "pipelines", "pipeline")
        _v.unique_keys(self.handoffs, "handoffs", "handoff")
        _v.unique_keys(self.scoring, "scoring", "scoring model", by="name")
        _v.unique_keys(self.kpis, "kpis", "KPI review", by="metric")
        _v.unique_keys(self.goals, "goals", "goal", by="metric")
        _v.unique_keys(self.data, "data", "data spec")
        _v.unique_keys(self.fields, "fields", "field", by=("records", "path"))
        _v.unique_keys(
            self.definitions, "definitions", "definition", by=("term", "team")
        )

    # -- the parts ---------------------------------------------------------
    def parts(self) -> tuple[Asset, ...]:
        """Every part the playbook defines, as the references a strategy uses.

        Segments, moments, pipelines and their stages, teams and roles (of
        the ownership map), handoffs, KPIs (reviewed or with a goal), data
        specs, and fields (declared, or read by any definition).
        """
        found: list[Asset] = [Asset("segment", s.name) for s in self.segments]
        found.extend(Asset("moment", s.name) for s in self.moments)
        for pipeline in self.pipelines:
            found.append(Asset("pipeline", pipeline.key))
            found.extend(Asset("stage", stage.key) for stage in pipeline.stages)
        if self.ownership is not None:
            found.extend(Asset("team", t.key) for t in self.ownership.teams)
            found.extend(Asset("role", r.key) for r in self.ownership.roles)
        found.extend(Asset("handoff", h.key) for h in self.handoffs)
        found.extend(Asset("kpi", k.metric) for k in self.kpis)
        found.extend(Asset("kpi", g.metric) for g in self.goals)
        found.extend(Asset("data_spec", d.key) for d in self.data)
        found.extend(Asset("field", f.path) for f in self.fields)
        found.extend(Asset("field", path) for path in self.used_fields())
        return tuple(dict.fromkeys(found))

    def names(self) -> dict[Asset, str]:
        """The parts' names for people, where they have one."""
        found: dict[Asset, str] = {}
        for pipeline in self.pipelines:
            for stage in pipeline.stages:
                found[Asset("stage", stage.key)] = stage.name
        if self.ownership is not None:
            for team in self.ownership.teams:
                if team.name:
                    found[Asset("team", team.key)] = team.name
            for role in self.ownership.roles:
                found[Asset("role", role.key)] = role.title
        for handoff in self.handoffs:
            if handoff.name:
                found[Asset("handoff", handoff.key)] = handoff.name
        for spec in self.data:
            if spec.name:
                found[Asset("data_spec", spec.key)] = spec.name
        return found

    def statement(self) -> str | None:
        """The strategy statement with the parts' names, if there is one."""
        if self.strategy.statement is None:
            return None
        return self.strategy.statement.text(self.names())

    def used_fields(self) -> tuple[str, ...]:
        """Every field path a definition of the playbook reads, in order.

        Segments, moments, pipelines' exit criteria, the teams' definitions,
        handoff contracts (required and carried), scoring models, routing
        rules (their conditions, the fields they match, prefer or assign
        by), every condition of the SLA policies and data specs.
        """
        found: list[str] = []
        found.extend(
            asset.key
            for asset in assets_of(
                *self.segments, *self.moments, *self.pipelines, *self.handoffs
            )
            if asset.kind == "field"
        )
        for model in self.scoring:
            found.extend(model.fields())
        # The conditions of the teams' definitions, the routing rules and the
        # SLA policies (their own and the default's), wherever they sit.
        for condition in _conditions_in((self.definitions, self.routing, self.sla)):
            found.extend(condition_fields(condition))
        if self.routing is not None:
            for rule in self.routing.rules:
                by_field = getattr(rule.strategy, "field", None)
                if isinstance(by_field, str):
                    found.append(by_field)
                found.extend((*rule.match, *rule.prefer))
        for spec in self.data:
            found.extend(spec.fields())
        return tuple(dict.fromkeys(found))

    # -- JSON ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The playbook as JSON-ready data (what ``to_json`` writes)."""
        data: dict[str, Any] = unstructure(self)
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """The playbook as JSON text, which ``load_playbook`` reads back."""
        return to_json(self, indent=indent)


def _conditions_in(value: object) -> Iterator[Condition]:
    """Every condition inside a value: its attrs fields and lists, walked."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if CONDITION_KINDS.holds(item):
            yield cast(Condition, item)
        elif isinstance(item, tuple | list):
            stack.extend(reversed(item))
        elif attrs.has(type(item)):
            stack.extend(
                getattr(item, a.name) for a in reversed(attrs.fields(type(item)))
            )


def load_playbook(source: str | bytes | Mapping[str, Any]) -> Playbook:
    """A playbook from JSON text (or its parsed data), migrated and checked.

    Every problem of the document is reported at once, each with its path
    (``$.segments[2].condition.field``). An older ``version`` is migrated by
    [`MIGRATIONS`][crmcore.playbook.MIGRATIONS] first.

    Raises:
        DefinitionError: For text that is not JSON, a document that is not
            an object, a missing, unknown or newer ``version``, or any
            problem of the parts.

    Examples:
        >>> playbook = load_playbook('{"version": 1, "name": "Acme"}')
        >>> playbook.name, playbook.segments
        ('Acme', ())
    """
    data = (
        parse_json(source, what="Playbook")
        if isinstance(source, str | bytes | bytearray)
        else source
    )
    if not isinstance(data, Mapping):
        raise DefinitionError(
            "Playbook",
            [Problem("$", f"expected a JSON object, got {type(data).__name__}")],
        )
    version = data.get("version")
    if type(version) is not int:
        raise DefinitionError(
            "Playbook",
            [
                Problem(
                    "$.version",
                    f"expected the format version (an int), got {version!r}",
                )
            ],
        )
    if version > PLAYBOOK_VERSION or (
        version < PLAYBOOK_VERSION and version not in MIGRATIONS
    ):
        newer = version > PLAYBOOK_VERSION
        raise DefinitionError(
            "Playbook",
            [
                Problem(
                    "$.version",
                    f"expected a playbook version this crmcore reads (up to "
                    f"{PLAYBOOK_VERSION}), got {version}"
                    + ("; upgrade crmcore to read it" if newer else ""),
                )
            ],
        )
    document: Any = data
    if version < PLAYBOOK_VERSION:
        try:  # migrations may change what they are given: give them a copy
            document = copy.deepcopy(dict(data))
        except RecursionError:
            raise DefinitionError(
                "Playbook", [Problem("$", "expected a document nested less deeply")]
            ) from None
    while document.get("version") != PLAYBOOK_VERSION:
        at = document.get("version")
        step = MIGRATIONS.get(at) if type(at) is int and at < PLAYBOOK_VERSION else None
        if step is None:
            raise DefinitionError(
                "Playbook", [Problem("$.version", f"no migration from version {at!r}")]
            )
        document = step(document)
        after = document.get("version") if isinstance(document, Mapping) else None
        if type(after) is not int or after <= at:
            raise DefinitionError(
                "Playbook",
                [
                    Problem(
                        "$.version",
                        f"the migration from version {at} must give a document "
                        f"of a later version, got {after!r}",
                    )
                ],
            )
    return structure(document, Playbook)
