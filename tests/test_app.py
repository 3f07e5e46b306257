"""The reference service (examples/app) end to end: FastAPI over SQLAlchemy.

Each test gets a fresh in-memory SQLite database seeded with the same small
sample. Skipped when the ``app`` extra (SQLAlchemy, FastAPI) is missing.
"""

import functools
import json
import warnings
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("fastapi")
with warnings.catch_warnings():  # an older starlette warns about its client
    warnings.simplefilter("ignore")
    testclient = pytest.importorskip("fastapi.testclient")

from examples.app import create_app, service
from examples.app.models import Lead, Opportunity, StageHistory
from examples.app.seed import seed
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from crmcore import to_json, unstructure
from crmcore.calendar import Interval
from crmcore.kpis import kpi_report
from crmcore.pipelines import StageMoveError
from crmcore.sample import (
    PAID_CHANNELS,
    generate_sample,
    sample_pipeline,
    sample_scoring_model,
)
from tests.fuzz_values import json_values
from tests.test_fuzz import _copy, _mutated, fuzz

SAMPLE = generate_sample(200, seed=3)
AS_OF = "2026-01-02T09:00:00Z"
MOMENT = datetime(2026, 1, 2, 9, tzinfo=UTC)
STAGES = [s.key for s in sample_pipeline().stages]
# Open deals whose next stage is open too (not negotiation, before closing).
OPEN = [
    d for d in SAMPLE.opportunities if d.outcome == "open" and d.stage in STAGES[:3]
]


@pytest.fixture
def app():
    app = create_app("sqlite://")  # a fresh database in memory for each test
    with app.state.sessions() as session, session.begin():
        seed(session, SAMPLE)
    return app


@pytest.fixture
def client(app):
    with testclient.TestClient(app) as client:
        yield client


def _next(stage):
    return STAGES[STAGES.index(stage) + 1]


def _edit(app, deal_id, **values):
    with app.state.sessions() as session, session.begin():
        deal = session.get_one(Opportunity, deal_id)
        for name, value in values.items():
            setattr(deal, name, value)


def _history_count(app):
    with app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(StageHistory))


# -- stage moves --------------------------------------------------------------------
def test_a_blocked_move_returns_every_unmet_criterion_and_changes_nothing(app, client):
    deal = OPEN[0]
    _edit(app, deal.id, owner=None, account_id=None)
    before = client.get(f"/opportunities/{deal.id}").json()
    changes = _history_count(app)
    target = _next(deal.stage)

    checked = client.get(
        f"/opportunities/{deal.id}/moves/{target}", params={"as_of": AS_OF}
    )
    assert checked.status_code == 200
    decision = checked.json()["decision"]
    assert decision["allowed"] is False
    assert [u["field"] for u in decision["unmet"]] == ["account_id", "owner"]
    assert all(u["stage"] == deal.stage for u in decision["unmet"])
    assert decision["prompt_fields"] == ["account_id", "owner"]

    moved = client.post(
        f"/opportunities/{deal.id}/moves",
        params={"as_of": AS_OF},
        json={"to_stage": target, "by": "rep-01"},
    )
    assert moved.status_code == 409
    assert moved.json()["error"] == "move_refused"
    assert moved.json()["decision"] == decision
    assert client.get(f"/opportunities/{deal.id}").json() == before
    assert _history_count(app) == changes


def test_an_allowed_move_is_committed_with_its_stage_change(app, client):
    deal = OPEN[0]
    target = _next(deal.stage)
    changes = _history_count(app)
    moved = client.post(
        f"/opportunities/{deal.id}/moves",
        params={"as_of": AS_OF},
        json={"to_stage": target, "by": "rep-01"},
    )
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["decision"]["allowed"] is True
    assert body["change"] == {
        "record_id": deal.id,
        "from_stage": deal.stage,
        "to_stage": target,
        "at": "2026-01-02T09:00:00+00:00",
        "by": "rep-01",
    }
    assert body["updates"] == {
        "stage": target,
        "outcome": "open",
        "closed_at": None,
        "lost_reason": None,
    }
    after = client.get(f"/opportunities/{deal.id}").json()
    assert (after["stage"], after["version"]) == (target, 2)
    assert after["history"][-1] == {
        "from_stage": deal.stage,
        "to_stage": target,
        "at": "2026-01-02T09:00:00+00:00",
        "by": "rep-01",
    }
    assert _history_count(app) == changes + 1
    assert moved.headers["etag"] == '"2"'


def test_losing_a_deal_writes_its_outcome_reason_and_close_time(client):
    deal = OPEN[1]
    refused = client.post(
        f"/opportunities/{deal.id}/moves",
        params={"as_of": AS_OF},
        json={"to_stage": "closed_lost"},
    )
    assert refused.status_code == 409
    assert refused.json()["decision"]["prompt_fields"] == ["lost_reason"]
    lost = client.post(
        f"/opportunities/{deal.id}/moves",
        params={"as_of": AS_OF},
        json={"to_stage": "closed_lost", "lost_reason": "price"},
    )
    assert lost.status_code == 200, lost.text
    assert lost.json()["updates"] == {
        "stage": "closed_lost",
        "outcome": "lost",
        "closed_at": "2026-01-02T09:00:00+00:00",
        "lost_reason": "price",
    }
    assert client.get(f"/opportunities/{deal.id}").json()["outcome"] == "lost"


def test_two_moves_from_the_same_version_cannot_both_succeed(client):
    deal = OPEN[2]
    version = client.get(f"/opportunities/{deal.id}").headers["etag"]
    first = client.post(
        f"/opportunities/{deal.id}/moves",
        params={"as_of": AS_OF},
        headers={"If-Match": version},
        json={"to_stage": _next(deal.stage)},
    )
    second = client.post(
        f"/opportunities/{deal.id}/moves",
        params={"as_of": AS_OF},
        headers={"If-Match": version},
        json={"to_stage": "closed_lost", "lost_reason": "price"},
    )
    assert first.status_code == 200
    assert second.status_code == 412
    assert second.json()["error"] == "stale_version"
    assert client.get(f"/opportunities/{deal.id}").json()["stage"] == _next(deal.stage)


def test_racing_transactions_cannot_both_move_a_deal(tmp_path):
    # Two transactions, each on its own connection to a database file, read
    # the deal at version 1 before either writes: the version column makes
    # the second UPDATE match no row, and it fails.
    app = create_app(f"sqlite:///{tmp_path / 'race.db'}")
    with app.state.sessions() as session, session.begin():
        seed(session, SAMPLE)
    deal = OPEN[3]
    sessions = app.state.sessions
    with sessions() as one, sessions() as two:
        one.begin()
        two.begin()
        service.move(one, deal.id, _next(deal.stage), as_of=MOMENT)
        service.move(two, deal.id, "closed_lost", as_of=MOMENT, lost_reason="price")
        one.commit()
        with pytest.raises(StaleDataError):
            two.commit()
        two.rollback()
    with sessions() as session:
        row = session.get_one(Opportunity, deal.id)
        assert (row.stage, row.version) == (_next(deal.stage), 2)
        moves = session.scalars(
            select(StageHistory).where(
                StageHistory.record_id == deal.id, StageHistory.at == MOMENT
            )
        ).all()
        assert [m.to_stage for m in moves] == [_next(deal.stage)]


def test_the_service_refuses_a_move_inside_its_transaction(app):
    deal = OPEN[0]
    _edit(app, deal.id, owner=None)
    with app.state.sessions() as session:
        with pytest.raises(StageMoveError) as refused:
            service.move(session, deal.id, _next(deal.stage), as_of=MOMENT)
        assert refused.value.decision.prompt_fields == ("owner",)
        assert not session.new and not session.dirty  # nothing to write


# -- definitions -----------------------------------------------------------------------
BAD_PIPELINE = {
    "key": "renewals",
    "stages": [
        {"key": "open", "name": "Open", "probability": "2"},
        {"key": "open", "name": "Again"},
        {
            "key": "won",
            "name": "Won",
            "kind": "won",
            "exit_criteria": [{"kind": "required_fields", "fields": ["_api_token"]}],
        },
    ],
    "colour": "blue",
}


def test_a_bad_definition_is_refused_with_every_problem_and_its_path(client):
    answer = client.put(
        "/definitions/pipeline/renewals", content=json.dumps(BAD_PIPELINE)
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "definition"
    paths = [p["path"] for p in body["problems"]]
    assert "$.colour" in paths
    assert "$.stages[0].probability" in paths
    assert "$.stages[2].exit_criteria[0].fields" in paths
    assert client.get("/definitions/pipeline/renewals").status_code == 404
    broken = client.put(
        "/definitions/playbook/main", content=b'{"version": 1, "name": '
    )
    assert broken.status_code == 422
    assert broken.json()["problems"][0]["path"] == "$"
    assert client.put("/definitions/playbook/main", content=b"[1]").status_code == 422


def test_a_good_definition_is_stored_and_governs_moves(app, client):
    pipeline = {
        "key": "strict",
        "stages": [
            {
                "key": "discovery",
                "name": "Discovery",
                "exit_criteria": [
                    {
                        "kind": "must_hold",
                        "condition": {
                            "kind": "gt",
                            "field": "amount",
                            "value": 1000000,
                        },
                    }
                ],
            },
            {"key": "proposal", "name": "Proposal", "probability": "0.40"},
            {"key": "won", "name": "Won", "kind": "won"},
        ],
    }
    stored = client.put("/definitions/pipeline/strict", content=json.dumps(pipeline))
    assert stored.status_code == 200, stored.text
    document = client.get("/definitions/pipeline/strict").json()
    assert document["stages"][1]["probability"] == "0.40"  # exact, never a float
    deal = OPEN[0]
    _edit(app, deal.id, pipeline="strict", stage="discovery")
    answer = client.get(
        f"/opportunities/{deal.id}/moves/proposal", params={"as_of": AS_OF}
    )
    assert answer.status_code == 200, answer.text
    decision = answer.json()["decision"]
    assert decision["allowed"] is False
    assert decision["unmet"][0]["field"] == "amount"
    assert decision["unmet"][0]["actual"] == str(deal.amount)
    wrong = client.put("/definitions/pipeline/other", content=json.dumps(pipeline))
    assert wrong.status_code == 422
    assert wrong.json()["problems"][0]["path"] == "$.key"


def test_a_stored_rule_reads_public_columns_only(app, client):
    def must(condition):
        return {"kind": "must_hold", "condition": condition}

    exists = [
        "account.industry",  # a public column of a related row
        "history.0.to_stage",  # a public column of a row in a list
        "metadata",  # the ORM's schema, on every model
        "registry",
        "account.metadata",
        "history.0.metadata",
    ]
    pipeline = {
        "key": "probe",
        "stages": [
            {
                "key": "a",
                "name": "A",
                "exit_criteria": [must({"kind": "exists", "field": f}) for f in exists],
            },
            {"key": "b", "name": "B"},
            {"key": "won", "name": "Won", "kind": "won"},
        ],
    }
    assert (
        client.put(
            "/definitions/pipeline/probe", content=json.dumps(pipeline)
        ).status_code
        == 200
    )
    deal = OPEN[0]
    _edit(app, deal.id, pipeline="probe", stage="a")
    decision = client.get(
        f"/opportunities/{deal.id}/moves/b", params={"as_of": AS_OF}
    ).json()["decision"]
    unmet = [u["message"] for u in decision["unmet"]]
    assert len(unmet) == 4  # all but the public columns
    assert not any("industry" in m or "to_stage" in m for m in unmet)
    # a private column is refused before anything is stored
    private = {
        "key": "probe",
        "stages": [
            {
                "key": "a",
                "name": "A",
                "exit_criteria": [must({"kind": "exists", "field": "_api_token"})],
            },
            {"key": "b", "name": "B"},
            {"key": "won", "name": "Won", "kind": "won"},
        ],
    }
    refused = client.put("/definitions/pipeline/probe", content=json.dumps(private))
    assert refused.status_code == 422
    assert "'_'" in refused.json()["problems"][0]["message"]


def test_a_stored_playbook_governs_scores_routing_and_pipelines(app, client):
    document = json.loads(Path("examples/playbook.json").read_text())
    document["scoring"][0]["name"] = "stored_model"
    document["pipelines"][0]["key"] = "from_playbook"
    stored = client.put("/definitions/playbook/main", content=json.dumps(document))
    assert stored.status_code == 200, stored.text
    lead = SAMPLE.leads[0]
    score = client.get(f"/leads/{lead.id}/score", params={"as_of": AS_OF}).json()
    assert score["model"] == "stored_model"
    assert client.post(f"/leads/{lead.id}/route", params={"as_of": AS_OF}).json()[
        "person"
    ]
    deal = OPEN[0]
    _edit(app, deal.id, pipeline="from_playbook")
    check = client.get(
        f"/opportunities/{deal.id}/moves/{_next(deal.stage)}", params={"as_of": AS_OF}
    )
    assert check.json()["decision"]["allowed"] is True
    _edit(app, deal.id, pipeline="nowhere")
    assert (
        client.get(f"/opportunities/{deal.id}/moves/{_next(deal.stage)}").status_code
        == 404
    )


# -- scores, routing, KPIs ---------------------------------------------------------------
def test_a_lead_s_score_is_crmcore_s_score_with_every_contribution(app, client):
    lead = SAMPLE.leads[0]
    answer = client.get(f"/leads/{lead.id}/score", params={"as_of": AS_OF})
    assert answer.status_code == 200
    events = [a for a in SAMPLE.activities if a.record_id == lead.id]
    expected = sample_scoring_model().score(lead, as_of=MOMENT, events=events)
    assert answer.json() == json.loads(to_json(expected))
    assert answer.json()["contributions"]


def test_routing_assigns_writes_the_owner_and_remembers_the_turns(app, client):
    first, second = SAMPLE.leads[0].id, SAMPLE.leads[1].id
    one = client.post(f"/leads/{first}/route", params={"as_of": AS_OF}).json()
    two = client.post(f"/leads/{second}/route", params={"as_of": AS_OF}).json()
    assert one["person"] and two["person"] and one["person"] != two["person"]
    assert one["reasons"]
    with app.state.sessions() as session:
        assert session.get_one(Lead, first).owner == one["person"]
        assert session.get_one(Lead, second).owner == two["person"]


@pytest.mark.parametrize("stream", ["columns", "objects"])
def test_the_kpi_endpoint_equals_kpi_report_over_the_same_rows(client, stream):
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    answer = client.get(
        "/reports/kpis",
        params={
            "start": "2025-01-01T00:00:00Z",
            "end": "2026-01-01T00:00:00Z",
            "as_of": "2026-01-01T00:00:00Z",
            "stream": stream,
        },
    )
    assert answer.status_code == 200
    expected = kpi_report(
        Interval(start, end),
        deals=SAMPLE.opportunities,
        leads=SAMPLE.leads,
        subscriptions=SAMPLE.subscriptions,
        spend=SAMPLE.marketing_spend(),
        as_of=end,
        pipeline=sample_pipeline(),
        channels=SAMPLE.acquisition_channels(),
        paid_channels=PAID_CHANNELS,
    )
    assert answer.json() == json.loads(to_json(expected))
    assert answer.json()["results"]["win_rate"]["value"] is not None


def test_an_empty_database_reports_what_kpi_report_gives_for_no_rows():
    period = Interval(
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    )
    app = create_app("sqlite://")
    expected = kpi_report(
        period,
        deals=[],
        leads=[],
        subscriptions=[],
        spend=[],
        pipeline=sample_pipeline(),
        channels={},
        paid_channels=PAID_CHANNELS,
    )
    with app.state.sessions() as session:
        for stream in ("columns", "objects"):
            report = service.kpi_report_for(session, period, stream=stream)
            assert json.loads(to_json(report)) == json.loads(to_json(expected))


def test_the_kpi_report_reads_the_tables_through_streaming_cursors(app, monkeypatch):
    # Each table arrives as an iterator of ORM objects, a few thousand rows
    # per round trip; the report never holds a whole table.
    with app.state.sessions() as session:
        rows = service._stream(session, Opportunity)
        assert iter(rows) is rows
        first = next(rows)
        assert isinstance(first, Opportunity)
        assert isinstance(first.amount, Decimal)
        assert first.created_at.tzinfo is UTC
        monkeypatch.setattr(service, "STREAM", 64)
        sizes = [
            len(b) for b in service._batches(session, service.KPI_COLUMNS["deals"])
        ]
        assert sizes == [64, 64, 64, 8]  # one batch per round trip of 64 rows
        batch = next(service._batches(session, service.KPI_COLUMNS["deals"]))
        assert batch.row(0)["id"] == SAMPLE.opportunities[0].id
        assert set(batch.micros) == {"created_at", "closed_at"}  # taken in bulk


def test_a_pipeline_may_write_only_the_deal_s_stage_columns(client):
    pipeline = json.loads(to_json(sample_pipeline()))
    pipeline["lost_reason_field"] = "amount"  # a move would clear the amount
    pipeline["stage_field"] = "version"
    answer = client.put(
        f"/definitions/pipeline/{pipeline['key']}", content=json.dumps(pipeline)
    )
    assert answer.status_code == 422
    assert [p["path"] for p in answer.json()["problems"]] == [
        "$.stage_field",
        "$.lost_reason_field",
    ]
    playbook = json.loads(Path("examples/playbook.json").read_text())
    playbook["pipelines"][0]["lost_reason_field"] = "owner"
    refused = client.put("/definitions/playbook/main", content=json.dumps(playbook))
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["path"] == "$.pipelines[0].lost_reason_field"


def test_a_move_is_never_dated_before_the_deal_s_history_nor_ahead(client):
    deal = OPEN[0]
    for as_of in ("2001-01-01T00:00:00Z", "2999-01-01T00:00:00Z"):
        answer = client.post(
            f"/opportunities/{deal.id}/moves",
            params={"as_of": as_of},
            json={"to_stage": "closed_lost", "lost_reason": "price"},
        )
        assert answer.status_code == 422, as_of
        assert answer.json()["field"] == "as_of"
    assert client.get(f"/opportunities/{deal.id}").json()["version"] == 1
    assert (
        client.post(
            f"/leads/{SAMPLE.leads[0].id}/route",
            params={"as_of": "2999-01-01T00:00:00Z"},
        ).status_code
        == 422
    )


def test_an_owned_lead_is_not_routed_again(app, client):
    lead = next(lead for lead in SAMPLE.leads if lead.owner is None)
    assert (
        client.post(f"/leads/{lead.id}/route", params={"as_of": AS_OF}).status_code
        == 200
    )
    again = client.post(f"/leads/{lead.id}/route", params={"as_of": AS_OF})
    assert again.status_code == 409
    assert again.json()["error"] == "already_assigned"


def test_the_kpi_report_of_a_stored_pipeline_reads_its_deals_only(app, client):
    pipeline = json.loads(to_json(sample_pipeline()))
    pipeline["key"] = "renewals"
    assert (
        client.put(
            "/definitions/pipeline/renewals", content=json.dumps(pipeline)
        ).status_code
        == 200
    )
    _edit(app, OPEN[0].id, pipeline="renewals")
    params = {"start": "2024-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    renewals = client.get("/reports/kpis", params={**params, "pipeline": "renewals"})
    assert renewals.status_code == 200, renewals.text
    assert renewals.json()["results"]["open_pipeline"]["components"]["deals"] == 1
    rest = client.get("/reports/kpis", params=params).json()
    everything = len([d for d in SAMPLE.opportunities if d.outcome == "open"])
    assert rest["results"]["open_pipeline"]["components"]["deals"] == everything - 1
    assert (
        client.get("/reports/kpis", params={**params, "pipeline": "nope"}).status_code
        == 404
    )


# -- hostile definitions ---------------------------------------------------------------
@functools.cache
def _fuzz_service():
    """One seeded service for every example (a fresh one each would dominate)."""
    app = create_app("sqlite://")
    with app.state.sessions() as session, session.begin():
        seed(session, SAMPLE)
    _edit(app, OPEN[0].id, pipeline="fuzzed")
    return testclient.TestClient(app)


@fuzz
@given(st.data())
def test_a_hostile_definition_never_ends_in_a_server_error(data):
    # The test client raises whatever the app does not turn into an answer.
    client = _fuzz_service()
    valid = {**_copy(unstructure(sample_pipeline())), "key": "fuzzed"}
    document = data.draw(st.one_of(json_values(), _mutated(valid)))
    stored = client.put("/definitions/pipeline/fuzzed", content=json.dumps(document))
    assert stored.status_code in (200, 422), stored.text
    if stored.status_code == 422:
        assert stored.json()["problems"]
        assert all(p["path"].startswith("$") for p in stored.json()["problems"])
    deal = OPEN[0]
    for stage in ("discovery", "closed_lost", "closed_won"):
        answer = client.get(
            f"/opportunities/{deal.id}/moves/{stage}", params={"as_of": AS_OF}
        )
        assert answer.status_code in (200, 404, 422), answer.text


# -- bad requests -----------------------------------------------------------------------
def test_bad_requests_are_answered_with_what_was_wrong(client):
    deal = OPEN[0]
    naive = client.get(
        f"/opportunities/{deal.id}/moves/{_next(deal.stage)}",
        params={"as_of": "2026-01-02T09:00:00"},
    )
    assert naive.status_code == 422
    assert naive.json()["field"] == "as_of"
    assert client.get("/opportunities/nope").status_code == 404
    assert client.get("/leads/nope/score").status_code == 404
    unknown = client.get(
        f"/opportunities/{deal.id}/moves/limbo", params={"as_of": AS_OF}
    )
    assert unknown.status_code == 422
    assert "limbo" in unknown.json()["message"]
    bad_etag = client.post(
        f"/opportunities/{deal.id}/moves",
        headers={"If-Match": "yesterday"},
        json={"to_stage": _next(deal.stage)},
    )
    assert bad_etag.status_code == 422
    assert bad_etag.json()["field"] == "If-Match"
    backwards = client.get(
        "/reports/kpis",
        params={"start": "2026-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 422


def test_the_seed_writes_every_table(app):
    with app.state.sessions() as session:
        assert isinstance(session, Session)
        count = session.scalar(select(func.count()).select_from(Opportunity))
        assert count == len(SAMPLE.opportunities)
