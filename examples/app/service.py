"""The service layer: crmcore called on ORM objects, one transaction per action.

Every function takes an open ``Session`` and the moment of the action
(``as_of``, from the request: crmcore never reads a clock). Writes happen in
the caller's transaction (``with session.begin():``), so a refused action
writes nothing and an allowed one writes everything or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, select, type_coerce
from sqlalchemy.orm import Session

from crmcore import structure, unstructure
from crmcore.calendar import Interval
from crmcore.errors import DataError, DefinitionError, Problem
from crmcore.kpis import HeadlineKpis, KpiReport
from crmcore.pipelines import Pipeline, StageDecision, StageMove, advance, evaluate
from crmcore.playbook import Playbook, load_playbook
from crmcore.records import Columns
from crmcore.routing import Assignment, Person, Router, RoutingState, route
from crmcore.sample import (
    PAID_CHANNELS,
    sample_pipeline,
    sample_router,
    sample_scoring_model,
)
from crmcore.scoring import Score, ScoringModel

from .models import (
    Account,
    Definition,
    Instant,
    Lead,
    MarketingSpend,
    Opportunity,
    RoutingMemory,
    StageHistory,
    Subscription,
)
from .models import Person as PersonRow

__all__ = [
    "AlreadyAssignedError",
    "NotFoundError",
    "StaleVersionError",
    "check_move",
    "kpi_report_for",
    "load_definition",
    "move",
    "pipeline_for",
    "route_lead",
    "router",
    "score_lead",
    "scoring_model",
    "store_definition",
]

Kind = Literal["pipeline", "playbook"]
# The deal columns a stage move may write. A stored pipeline names its stage
# and lost-reason fields; anything but these columns is refused on the way in.
WRITABLE: frozenset[str] = frozenset({"stage", "outcome", "closed_at", "lost_reason"})
ACTIVE_PLAYBOOK = "main"  # the stored playbook that governs scoring and routing
STREAM = 2_000  # rows per round trip when streaming a table


class NotFoundError(LookupError):
    """No row with that key."""


class AlreadyAssignedError(RuntimeError):
    """The lead has an owner: routing it again would take someone's turn."""


class StaleVersionError(RuntimeError):
    """The row changed since it was read: the action was not applied."""


def _deal(session: Session, deal_id: str) -> Opportunity:
    deal = session.get(Opportunity, deal_id)
    if deal is None:
        raise NotFoundError(f"no opportunity {deal_id!r}")
    return deal


def load_definition(kind: Kind, document: object) -> Pipeline | Playbook:
    """Check a definition a user wrote; ``DefinitionError`` lists every problem."""
    if kind == "playbook":
        if not isinstance(document, dict):
            raise DefinitionError(
                "Playbook", [Problem("$", "expected a JSON object (the playbook)")]
            )
        return load_playbook(document)
    return structure(document, Pipeline)


def store_definition(
    session: Session, kind: Kind, key: str, document: object, *, as_of: datetime
) -> Pipeline | Playbook:
    """Validate and store a definition under ``key`` (replacing an older one).

    What is stored is crmcore's own JSON of the checked value, so a stored
    definition always loads again.
    """
    value = load_definition(kind, document)
    pipelines = (value,) if isinstance(value, Pipeline) else value.pipelines
    problems = []
    if isinstance(value, Pipeline) and value.key != key:
        problems.append(Problem("$.key", f"expected {key!r} (the URL's key)"))
    for index, pipeline in enumerate(pipelines):
        at = "$" if isinstance(value, Pipeline) else f"$.pipelines[{index}]"
        for name, column in (
            ("stage_field", "stage"),
            ("lost_reason_field", "lost_reason"),
        ):
            if getattr(pipeline, name) != column:
                problems.append(
                    Problem(
                        f"{at}.{name}",
                        f"expected {column!r} (the opportunities' column), "
                        f"got {getattr(pipeline, name)!r}",
                    )
                )
    if problems:
        raise DefinitionError(type(value).__name__, problems)
    row = session.scalar(
        select(Definition).where(Definition.kind == kind, Definition.key == key)
    )
    if row is None:
        row = Definition(kind=kind, key=key)
        session.add(row)
    row.document = unstructure(value)
    row.stored_at = as_of
    return value


def pipeline_for(session: Session, deal: Opportunity) -> Pipeline:
    """The deal's pipeline (see ``pipeline_by_key``)."""
    return pipeline_by_key(session, deal.pipeline)


def pipeline_by_key(session: Session, key: str) -> Pipeline:
    """A stored pipeline, else the active playbook's, else the sample pipeline."""
    row = session.scalar(
        select(Definition).where(Definition.kind == "pipeline", Definition.key == key)
    )
    if row is not None:
        return structure(row.document, Pipeline)
    playbook = _playbook(session)
    for pipeline in () if playbook is None else playbook.pipelines:
        if pipeline.key == key:
            return pipeline
    pipeline = sample_pipeline()
    if key != pipeline.key:
        raise NotFoundError(f"no pipeline {key!r}")
    return pipeline


def check_move(
    session: Session,
    deal_id: str,
    to_stage: str,
    *,
    as_of: datetime,
    lost_reason: str | None = None,
) -> tuple[StageDecision, int]:
    """May the deal move to ``to_stage`` now? The decision and the deal's version."""
    deal = _deal(session, deal_id)
    decision = evaluate(
        pipeline_for(session, deal),
        deal,
        to_stage,
        as_of=as_of,
        history=deal.history,
        activities=deal.activities,
        lost_reason=lost_reason,
    )
    return decision, deal.version


def move(
    session: Session,
    deal_id: str,
    to_stage: str,
    *,
    as_of: datetime,
    by: str | None = None,
    lost_reason: str | None = None,
    expected_version: int | None = None,
) -> StageMove:
    """Move the deal: the new stage and its stage change, in the caller's transaction.

    Raises:
        StageMoveError: When crmcore refuses the move (nothing is written).
        StaleVersionError: When ``expected_version`` is not the deal's version (someone
            moved or edited it since the caller read it).
    """
    deal = _deal(session, deal_id)
    last = max((change.at for change in deal.history), default=deal.created_at)
    if as_of < max(last, deal.created_at):
        raise DataError(
            "as_of",
            as_of,
            f"an instant at or after the deal's last change ({last.isoformat()}): "
            "a move is never written before what already happened",
        )
    if expected_version is not None and deal.version != expected_version:
        raise StaleVersionError(
            f"opportunity {deal_id!r} is at version {deal.version}, "
            f"not {expected_version}"
        )
    result = advance(
        pipeline_for(session, deal),
        deal,
        to_stage,
        as_of=as_of,
        by=by,
        history=deal.history,
        activities=deal.activities,
        lost_reason=lost_reason,
    )
    unknown = set(result.updates) - WRITABLE
    if unknown:  # refused on the way in; checked again before any write
        raise DataError("updates", sorted(unknown), f"columns among {sorted(WRITABLE)}")
    for name, value in result.updates.items():
        setattr(deal, name, value)
    change = result.change
    session.add(
        StageHistory(
            record_id=change.record_id,
            from_stage=change.from_stage,
            to_stage=change.to_stage,
            at=change.at,
            by=change.by,
        )
    )
    return result


def _lead(session: Session, lead_id: str) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead {lead_id!r}")
    return lead


def scoring_model(session: Session) -> ScoringModel:
    """The active scoring model: the stored playbook's first, else the sample's."""
    playbook = _playbook(session)
    if playbook is not None and playbook.scoring:
        return playbook.scoring[0]
    return sample_scoring_model()


def _playbook(session: Session) -> Playbook | None:
    row = session.scalar(
        select(Definition).where(
            Definition.kind == "playbook", Definition.key == ACTIVE_PLAYBOOK
        )
    )
    return None if row is None else load_playbook(row.document)


def score_lead(session: Session, lead_id: str, *, as_of: datetime) -> Score:
    """The lead's score with every contribution (its activities are the events)."""
    lead = _lead(session, lead_id)
    model = scoring_model(session)
    events = lead.activities if model.uses_events else None
    return model.score(lead, as_of=as_of, events=events)


def router(session: Session) -> Router:
    """The stored playbook's router, else the sample's rules over the people
    stored in the database.
    """
    playbook = _playbook(session)
    if playbook is not None and playbook.routing is not None:
        return playbook.routing
    people = tuple(
        structure(row.definition, Person)
        for row in session.scalars(select(PersonRow).order_by(PersonRow.key))
    )
    template = sample_router()
    return Router(template.rules, people or template.people, seed=template.seed)


def route_lead(session: Session, lead_id: str, *, as_of: datetime) -> Assignment:
    """Assign the lead; its owner and the routing state are written together.

    The routing state is one versioned row: two requests routing at once
    cannot both update it (the second fails with a conflict and writes
    nothing), so round-robin turns and quotas are never lost.
    """
    lead = _lead(session, lead_id)
    if lead.owner is not None:
        raise AlreadyAssignedError(
            f"lead {lead_id!r} is already owned by {lead.owner!r}"
        )
    memory = session.get(RoutingMemory, 1)
    state = (
        None
        if memory is None or not memory.state
        else structure(memory.state, RoutingState)
    )
    assignment = route(router(session), lead, as_of=as_of, state=state)
    if assignment.person is not None:
        lead.owner = assignment.person
    if memory is None:
        memory = RoutingMemory(id=1)
        session.add(memory)
    memory.state = unstructure(assignment.state)
    return assignment


def _stream(session: Session, model: type[Any], where: Any = None) -> Iterator[Any]:
    """Every row of a table as ORM objects, through a server-side cursor.

    ``yield_per`` fetches ``STREAM`` rows per round trip and the session's
    identity map holds them weakly, so memory stays flat however long the
    table is.
    """
    query = select(model) if where is None else select(model).where(where)
    yield from session.scalars(
        query.execution_options(yield_per=STREAM, stream_results=True)
    )


def _batches(
    session: Session, columns: Sequence[Any], where: Any = None
) -> Iterator[Columns]:
    """Rows of some columns as crmcore ``Columns`` batches, through the same cursor.

    One batch per round trip, column by column: crmcore's deal KPIs read the
    columns in one loop each, and no ORM object is built. The values are
    what the column types give (``Decimal`` amounts, aware instants).
    """
    names = [column.key for column in columns]
    micros: list[str] = []
    if session.get_bind().dialect.name == "sqlite":
        # Instants are stored as microseconds there: read the integers as
        # they are, and let crmcore take them in bulk (no datetime is built).
        micros = [c.key for c in columns if isinstance(c.type, Instant)]
        columns = [
            type_coerce(c, BigInteger).label(c.key) if c.key in micros else c
            for c in columns
        ]
    # Core rows on the session's connection: in its transaction, and without
    # the ORM's per-row bookkeeping, which plain column tuples do not need.
    query = select(*columns) if where is None else select(*columns).where(where)
    result = session.connection().execute(
        query.execution_options(yield_per=STREAM, stream_results=True)
    )
    empty = True
    for rows in result.partitions():
        values = list(zip(*rows, strict=True))
        batch = dict(zip(names, values, strict=True))
        yield Columns(batch, micros=micros, length=len(rows))
        empty = False
    if empty:  # an empty table is still a data set the report was given
        yield Columns(dict.fromkeys(names, ()), micros=micros, length=0)


# What the KPI report reads of each table (custom ``fields`` are not needed).
KPI_COLUMNS: dict[str, tuple[Any, ...]] = {
    "deals": (
        Opportunity.id,
        Opportunity.account_id,
        Opportunity.amount,
        Opportunity.currency,
        Opportunity.created_at,
        Opportunity.stage,
        Opportunity.outcome,
        Opportunity.closed_at,
        Opportunity.lost_reason,
        Opportunity.owner,
        Opportunity.probability,
    ),
    "leads": (
        Lead.id,
        Lead.created_at,
        Lead.source,
        Lead.status,
        Lead.owner,
        Lead.account_id,
        Lead.converted_at,
    ),
    "spend": (
        MarketingSpend.at,
        MarketingSpend.amount,
        MarketingSpend.currency,
        MarketingSpend.channel,
    ),
}
MODELS: dict[str, type[Any]] = {
    "deals": Opportunity,
    "leads": Lead,
    "spend": MarketingSpend,
}


def kpi_report_for(
    session: Session,
    period: Interval,
    *,
    as_of: datetime | None = None,
    pipeline: str | None = None,
    stream: Literal["columns", "objects"] = "columns",
) -> KpiReport:
    """crmcore's KPI report over the database's rows, streamed, never loaded.

    ``stream="columns"`` reads deals, leads and spend as ``Columns``
    batches (the fast path); ``"objects"`` as ORM objects. Subscriptions are
    always ORM objects: their ``mrr`` is a property over two columns. Both
    give exactly ``kpi_report`` over the same rows. The deals are those of
    one pipeline (default: the sample pipeline), read with its stages. The
    accounts' channels (two columns) are the one mapping held in memory.
    """
    chosen = pipeline_by_key(session, pipeline or sample_pipeline().key)
    in_pipeline = Opportunity.pipeline == chosen.key
    rows = session.execute(
        select(Account.id, Account.channel).where(Account.channel.is_not(None))
    )
    channels = {account_id: channel for account_id, channel in rows if channel}
    report = HeadlineKpis(
        period,
        as_of=as_of,
        pipeline=chosen,
        channels=channels,
        paid_channels=PAID_CHANNELS,
    )
    for kind, model in MODELS.items():
        where = in_pipeline if kind == "deals" else None
        if stream == "columns":
            for batch in _batches(session, KPI_COLUMNS[kind], where):
                report.update(**{kind: batch})
        else:
            report.update(**{kind: _stream(session, model, where)})
    report.update(subscriptions=_stream(session, Subscription))
    return report.result()
