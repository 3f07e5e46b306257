"""The HTTP API: FastAPI over the service layer.

Every answer is crmcore's own JSON (``crmcore.to_json``): decisions with
every unmet criterion, scores with every contribution, assignments with
every reason, KPI reports with every component. Errors map to status codes
in one place (``_errors``): a definition with problems is 422 with each
problem's path, a refused move 409 with its decision, a stale version 412.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool
from starlette.concurrency import run_in_threadpool

from crmcore import to_json
from crmcore.calendar import Interval
from crmcore.errors import CrmcoreError, DataError, DefinitionError
from crmcore.pipelines import StageMoveError
from crmcore.serialization import parse_json

from . import service
from .models import Base, Definition, Opportunity

__all__ = ["create_app", "make_engine"]


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and thread-safe sessions.

    ``sqlite://`` (in memory) keeps one connection for the whole process, so
    every request sees the same database: sessions share that connection and
    its transaction, which is fine for tests that make one request at a
    time, never for a server (``serve`` refuses it).
    """
    if not url.startswith("sqlite"):
        return create_engine(url)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _foreign_keys(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _json(value: object, status: int = 200, **headers: str) -> Response:
    return Response(
        to_json(value),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


SKEW = timedelta(minutes=5)  # how far ahead of the server's clock a write may be


def _written(value: datetime | None) -> datetime:
    """The moment of a write: never ahead of the server's clock (beyond SKEW)."""
    moment = _instant(value, "as_of")
    if moment > datetime.now(UTC) + SKEW:
        raise DataError(
            "as_of", value, "an instant not after now: a write is not dated ahead"
        )
    return moment


def _instant(value: datetime | None, name: str) -> datetime:
    """The moment of a request: the caller's ``as_of``, else the server's clock.

    The application reads the clock, once, at its edge; crmcore is handed the
    instant and never reads one itself.
    """
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        raise DataError(name, value, "an instant with a UTC offset (...Z or +02:00)")
    return value


def _session(request: Request) -> Iterator[Session]:
    """One session per request, closed (its transaction rolled back) at the end."""
    with request.app.state.sessions() as opened:
        yield opened


Db = Annotated[Session, Depends(_session)]
AsOf = Annotated[
    datetime | None, Query(description="The moment of the action (aware).")
]


class MoveRequest(BaseModel):
    """The body of a stage move."""

    to_stage: str = Field(max_length=40)
    by: str | None = Field(default=None, max_length=40)
    lost_reason: str | None = Field(default=None, max_length=40)


def create_app(
    database_url: str = "sqlite:///crm.db", *, engine: Engine | None = None
) -> FastAPI:
    """The service over ``database_url`` (its tables are created if missing)."""
    engine = make_engine(database_url) if engine is None else engine
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    app = FastAPI(title="crmcore reference service")
    app.state.engine = engine
    app.state.sessions = sessions
    _errors(app)

    @app.get("/opportunities/{deal_id}")
    def get_opportunity(deal_id: str, db: Db) -> Response:
        deal = db.get(Opportunity, deal_id)
        if deal is None:
            raise service.NotFoundError(f"no opportunity {deal_id!r}")
        body = {
            "id": deal.id,
            "pipeline": deal.pipeline,
            "stage": deal.stage,
            "outcome": deal.outcome,
            "amount": deal.amount,
            "currency": deal.currency,
            "owner": deal.owner,
            "version": deal.version,
            "history": [
                {
                    "from_stage": h.from_stage,
                    "to_stage": h.to_stage,
                    "at": h.at,
                    "by": h.by,
                }
                for h in deal.history
            ],
        }
        return _json(body, ETag=f'"{deal.version}"')

    @app.get("/opportunities/{deal_id}/moves/{to_stage}")
    def check_move(
        deal_id: str,
        to_stage: str,
        db: Db,
        as_of: AsOf = None,
        lost_reason: str | None = None,
    ) -> Response:
        decision, version = service.check_move(
            db,
            deal_id,
            to_stage,
            as_of=_instant(as_of, "as_of"),
            lost_reason=lost_reason,
        )
        return _json({"decision": decision, "version": version}, ETag=f'"{version}"')

    @app.post("/opportunities/{deal_id}/moves")
    def move(
        deal_id: str,
        body: MoveRequest,
        db: Db,
        as_of: AsOf = None,
        if_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        expected = None if if_match is None else _version(if_match)
        with db.begin():
            result = service.move(
                db,
                deal_id,
                body.to_stage,
                as_of=_written(as_of),
                by=body.by,
                lost_reason=body.lost_reason,
                expected_version=expected,
            )
        version = db.get_one(Opportunity, deal_id).version
        answer = {
            "decision": result.decision,
            "change": result.change,
            "updates": dict(result.updates),
            "version": version,
        }
        return _json(answer, ETag=f'"{version}"')

    @app.get("/leads/{lead_id}/score")
    def score(lead_id: str, db: Db, as_of: AsOf = None) -> Response:
        return _json(service.score_lead(db, lead_id, as_of=_instant(as_of, "as_of")))

    @app.post("/leads/{lead_id}/route")
    def assign(lead_id: str, db: Db, as_of: AsOf = None) -> Response:
        with db.begin():
            assignment = service.route_lead(db, lead_id, as_of=_written(as_of))
        return _json(
            {
                "lead": assignment.lead,
                "person": assignment.person,
                "rule": assignment.rule,
                "strategy": assignment.strategy,
                "reasons": assignment.reasons,
                "skipped": assignment.skipped,
            }
        )

    @app.get("/reports/kpis")
    def kpis(
        *,
        start: datetime,
        end: datetime,
        db: Db,
        as_of: AsOf = None,
        stream: Literal["columns", "objects"] = "columns",
        pipeline: str | None = None,
    ) -> Response:
        period = Interval(_instant(start, "start"), _instant(end, "end"))
        moment = None if as_of is None else _instant(as_of, "as_of")
        report = service.kpi_report_for(
            db, period, as_of=moment, pipeline=pipeline, stream=stream
        )
        return _json(report)

    @app.put("/definitions/{kind}/{key}")
    async def put_definition(
        kind: Literal["pipeline", "playbook"], key: str, request: Request, db: Db
    ) -> Response:
        # crmcore parses the body: untrusted JSON with limits, fractions exact.
        document = parse_json(await request.body(), what=kind)

        def store() -> None:  # blocking database work, off the event loop
            with db.begin():
                service.store_definition(
                    db, kind, key, document, as_of=datetime.now(UTC)
                )

        await run_in_threadpool(store)
        return _json({"kind": kind, "key": key, "stored": True})

    @app.get("/definitions/{kind}/{key}")
    def get_definition(
        kind: Literal["pipeline", "playbook"], key: str, db: Db
    ) -> Response:
        row = db.query(Definition).filter_by(kind=kind, key=key).one_or_none()
        if row is None:
            raise service.NotFoundError(f"no {kind} {key!r}")
        return _json(row.document)

    return app


def _version(if_match: str) -> int:
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise DataError("If-Match", if_match, 'a version ETag such as "3"')
    return int(text)


def _errors(app: FastAPI) -> None:
    """Every error an action can end in, as a status code and a JSON body."""

    @app.exception_handler(DefinitionError)
    def definition(_request: Request, error: DefinitionError) -> Response:
        problems = [{"path": p.path, "message": p.message} for p in error.problems]
        return _json(
            {"error": "definition", "what": error.what, "problems": problems}, 422
        )

    @app.exception_handler(StageMoveError)
    def refused(_request: Request, error: StageMoveError) -> Response:
        return _json({"error": "move_refused", "decision": error.decision}, 409)

    @app.exception_handler(service.StaleVersionError)
    def stale(_request: Request, error: service.StaleVersionError) -> Response:
        return _json({"error": "stale_version", "message": str(error)}, 412)

    @app.exception_handler(StaleDataError)
    def raced(_request: Request, error: StaleDataError) -> Response:
        message = "the record changed while this request was writing; read it again"
        return _json({"error": "conflict", "message": message}, 409)

    @app.exception_handler(service.AlreadyAssignedError)
    def owned(_request: Request, error: service.AlreadyAssignedError) -> Response:
        return _json({"error": "already_assigned", "message": str(error)}, 409)

    @app.exception_handler(IntegrityError)
    def duplicate(_request: Request, _error: IntegrityError) -> Response:
        message = "another request wrote the same row at the same time; try again"
        return _json({"error": "conflict", "message": message}, 409)

    @app.exception_handler(SQLAlchemyError)
    def database(_request: Request, error: SQLAlchemyError) -> Response:
        # The statement and its values stay in the server's log, not the answer.
        name = type(error).__name__
        return _json(
            {"error": "database", "message": f"the database failed ({name})"}, 503
        )

    @app.exception_handler(service.NotFoundError)
    def missing(_request: Request, error: service.NotFoundError) -> Response:
        return _json({"error": "not_found", "message": str(error)}, 404)

    @app.exception_handler(CrmcoreError)
    def bad_input(_request: Request, error: CrmcoreError) -> Response:
        field = getattr(error, "field", None)
        return _json({"error": "invalid", "field": field, "message": str(error)}, 422)
