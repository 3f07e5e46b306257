"""The playbook: one value, JSON and its schema, versions, and every failure pattern."""

import json
import runpy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from crmcore.calendar import Interval
from crmcore.conditions import CONDITION_KINDS, field
from crmcore.errors import DataError, DataTypeError, DefinitionError
from crmcore.handoffs import HandoffContract
from crmcore.kpis import Goal, KpiReview, kpi_report
from crmcore.ownership import Asset, OwnershipMap, Team
from crmcore.pipelines import Pipeline, StageDefinition, TransitionPolicy
from crmcore.playbook import (
    CHECKS,
    MIGRATIONS,
    PLAYBOOK_VERSION,
    SCHEMA_ID,
    Definition,
    FieldSpec,
    OwnershipGaps,
    Playbook,
    check_playbook,
    load_playbook,
    playbook_report,
    playbook_schema,
)
from crmcore.quality import DataSpec
from crmcore.sample import generate_sample
from crmcore.segments import Segment
from crmcore.strategy import Finding, Initiative, PriorityMatrix, StrategyCanvas
from crmcore.testing import playbooks

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEALTHY = load_playbook((EXAMPLES / "playbook.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(playbook_schema())
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)


def codes(playbook, kind=None):
    report = check_playbook(playbook)
    return [f.check for f in report.findings if kind is None or f.check == kind]


# ---------------------------------------------------------------------------
# The example, JSON, the schema
# ---------------------------------------------------------------------------
def test_the_shipped_example_is_clean_and_is_what_its_script_builds(capsys):
    assert check_playbook(HEALTHY).ok
    built = runpy.run_path(str(EXAMPLES / "saas_playbook.py"))["playbook"]
    capsys.readouterr()
    assert built == HEALTHY
    assert (EXAMPLES / "playbook.json").read_text() == built.to_json() + "\n"
    assert HEALTHY.statement() == (
        "We use CRM to standardize Marketing to sales for large account at "
        "conversion, improving lead conversion with trustworthy lead source data."
    )


def test_the_example_validates_against_the_schema():
    document = json.loads((EXAMPLES / "playbook.json").read_text())
    assert list(VALIDATOR.iter_errors(document)) == []
    jsonschema.Draft202012Validator.check_schema(playbook_schema())
    assert playbook_schema()["$id"] == SCHEMA_ID


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(playbooks())
def test_any_playbook_round_trips_and_fits_its_schema(playbook):
    text = playbook.to_json()
    assert load_playbook(text) == playbook
    assert load_playbook(json.loads(text)) == playbook
    errors = [e.message for e in VALIDATOR.iter_errors(json.loads(text))]
    assert errors == []


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(playbooks())
def test_every_check_runs_on_any_playbook_and_explains_itself(playbook):
    report = check_playbook(playbook)
    assert len(report.checks) == len(CHECKS)
    for finding in report.findings:
        assert finding.path.startswith("$")
        assert finding.message and finding.fix


def test_the_schema_refuses_what_loading_refuses():
    document = json.loads(HEALTHY.to_json())
    document["segments"][0]["colour"] = "red"
    assert not VALIDATOR.is_valid(document)
    with pytest.raises(DefinitionError, match=r"\$\.segments\[0\]"):
        load_playbook(document)
    document = json.loads(HEALTHY.to_json())
    document["strategy"]["customers"] = [7]
    assert not VALIDATOR.is_valid(document)


def test_a_vendor_check_is_part_of_every_run():
    @attrs.frozen
    class NoDescription:
        kind: ClassVar[str] = "no_description"
        pattern: ClassVar[str] = "A playbook nobody can explain."

        def run(self, playbook):
            if not playbook.description:
                yield Finding(self.kind, "$.description", "no description", "write one")

    with CHECKS.scoped(NoDescription):
        assert codes(attrs.evolve(HEALTHY, description="")) == ["no_description"]
        assert check_playbook(HEALTHY).ok
    assert "no_description" not in CHECKS


# ---------------------------------------------------------------------------
# Loading: every problem with a path, versions, migrations
# ---------------------------------------------------------------------------
def test_loading_reports_every_problem_with_its_path():
    document = json.loads(HEALTHY.to_json())
    document["segments"][1]["condition"]["kind"] = "no_such_kind"
    document["goals"][0]["deadline"] = "2026-07-01"
    document["data"][0]["refresh_every"] = "soon"
    with pytest.raises(DefinitionError) as caught:
        load_playbook(document)
    paths = [problem.path for problem in caught.value.problems]
    assert "$.segments[1].condition.kind" in paths
    assert "$.goals[0].deadline" in paths
    assert "$.data[0].refresh_every" in paths


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{", r"\$: expected invalid JSON|\$: .*invalid JSON"),
        ("[1]", r"expected a JSON object, got list"),
        ('{"name": "x"}', r"\$\.version: expected the format version .*None"),
        ('{"name": "x", "version": "1"}', r"\$\.version: expected the format"),
        ('{"name": "x", "version": 2}', r"up to 1\), got 2; upgrade crmcore"),
        ('{"name": "x", "version": 0}', r"up to 1\), got 0"),
    ],
)
def test_bad_documents_and_versions_are_refused(source, message):
    with pytest.raises(DefinitionError, match=message):
        load_playbook(source)


def test_an_older_version_is_migrated_step_by_step(monkeypatch):
    def from_zero(document):
        # Version 0 called the data specs "data_specs".
        document = dict(document, version=1)
        document["data"] = document.pop("data_specs", [])
        return document

    monkeypatch.setitem(MIGRATIONS, 0, from_zero)
    old = {"version": 0, "name": "Old", "data_specs": [{"key": "d", "records": "x"}]}
    playbook = load_playbook(json.dumps(old))
    assert playbook.data == (DataSpec("d", "x"),)
    assert playbook.version == PLAYBOOK_VERSION
    assert old["version"] == 0  # the document given is not changed

    monkeypatch.setitem(MIGRATIONS, 0, lambda document: dict(document, version=0))
    with pytest.raises(DefinitionError, match="must give a document of a later"):
        load_playbook({"version": 0, "name": "x"})
    monkeypatch.setitem(MIGRATIONS, 0, lambda document: [document])
    with pytest.raises(DefinitionError, match="later version, got None"):
        load_playbook({"version": 0, "name": "x"})
    monkeypatch.setitem(MIGRATIONS, -1, lambda document: dict(document, version=0))
    monkeypatch.delitem(MIGRATIONS, 0)
    with pytest.raises(DefinitionError, match="no migration from version 0"):
        load_playbook({"version": -1, "name": "x"})


def test_a_document_nested_too_deeply_is_a_definition_error(monkeypatch):
    deep: dict[str, Any] = {}
    node: dict[str, Any] = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(DefinitionError):
        load_playbook({"version": 1, "name": "x", "description": deep})
    monkeypatch.setitem(MIGRATIONS, 0, lambda document: dict(document, version=1))
    with pytest.raises(DefinitionError, match="nested less deeply"):
        load_playbook({"version": 0, "name": "x", "description": deep})


def test_a_playbook_is_always_of_this_version():
    with pytest.raises(DataError, match="version: expected 1, the playbook format"):
        Playbook("x", version=0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"segments": [Segment("a", field("x") == 1)] * 2}, r"segments\[1\]\.name"),
        ({"goals": [Goal("mrr", 1, 2, START, END)] * 2}, r"goals\[1\]\.metric"),
        ({"data": [DataSpec("d", "x")] * 2}, r"data\[1\]\.key"),
        ({"fields": [FieldSpec("a", "leads")] * 2}, r"fields\[1\]\.path"),
        (
            {"definitions": [Definition("mql", "sales", field("a") == 1)] * 2},
            r"definitions\[1\]\.team",
        ),
    ],
)
def test_repeated_keys_name_the_path(changes, message):
    with pytest.raises(DataError, match=message):
        Playbook("x", **changes)


def test_parts_of_the_wrong_type_name_the_field():
    with pytest.raises(DataTypeError, match="ownership: expected an OwnershipMap"):
        Playbook("x", ownership="revops")
    with pytest.raises(DataTypeError, match="strategy: expected a StrategyCanvas"):
        Playbook("x", strategy=None)
    with pytest.raises(DataTypeError, match=r"segments: expected a list"):
        Playbook("x", segments="all")
    with pytest.raises(DataTypeError, match="playbook: expected a Playbook"):
        check_playbook("x")
    with pytest.raises(DataTypeError, match=r"checks\[0\]: expected a registered"):
        check_playbook(HEALTHY, ["strategy"])


def test_parts_names_and_fields():
    parts = set(HEALTHY.parts())
    for part in (
        "segment:large_account",
        "moment:risk",
        "pipeline:sample_new_business",
        "stage:proposal",
        "team:revops",
        "role:data_steward",
        "handoff:mql_to_sales",
        "kpi:win_rate",
        "data_spec:account_data",
        "field:fields.commitments",
        "field:employees",
    ):
        assert Asset.parse(part) in parts
    names = HEALTHY.names()
    assert names[Asset("team", "success")] == "Customer success"
    assert names[Asset("role", "crm_owner")] == "CRM owner"
    assert "fields.commitments" in HEALTHY.used_fields()
    assert Playbook("x").statement() is None


# ---------------------------------------------------------------------------
# Every failure pattern: a playbook that triggers it, and one that does not
# (the healthy example triggers none).
# ---------------------------------------------------------------------------
def test_strategy_gaps():
    canvas = attrs.evolve(HEALTHY.strategy, customers=(Asset("segment", "nope"),))
    found = check_playbook(attrs.evolve(HEALTHY, strategy=canvas)).findings
    assert [(f.check, f.path) for f in found] == [
        ("strategy:dangling_reference", "$.strategy.customers[0]")
    ]


def test_every_team_request_becoming_a_field():
    fields = (
        *HEALTHY.fields,
        FieldSpec("favourite_colour", "leads", requested_by="sales"),
    )
    (finding,) = check_playbook(attrs.evolve(HEALTHY, fields=fields)).findings
    assert (finding.check, finding.path) == ("unused_field", "$.fields[1]")
    assert "asked for by sales" in finding.message


def test_dashboards_for_reporting_not_decisions():
    kpis = (*HEALTHY.kpis, KpiReview("mrr"))
    goals = (*HEALTHY.goals, Goal("arpa", 1, 2, START, END))
    playbook = attrs.evolve(HEALTHY, kpis=kpis, goals=goals)
    found = [f for f in check_playbook(playbook).findings if f.check.startswith("kpi")]
    assert [(f.check, f.path, f.message) for f in found] == [
        ("kpi_without_decision", "$.kpis[3]", "mrr has no owner to act on it"),
        ("kpi_without_decision", "$.kpis[3]", "mrr is reported but has no goal"),
        (
            "kpi_without_decision",
            "$.goals[3]",
            "the goal for arpa is reviewed by nobody at any cadence",
        ),
    ]


def test_vague_goals():
    goals = (*HEALTHY.goals, Goal("happiness", 1, 2, START, END))
    kpis = (*HEALTHY.kpis, KpiReview("happiness", owner="sales"))
    canvas = attrs.evolve(
        HEALTHY.strategy, metrics=(*HEALTHY.strategy.metrics, Asset("kpi", "mrr"))
    )
    playbook = attrs.evolve(
        HEALTHY,
        goals=goals,
        kpis=(*kpis, KpiReview("mrr", owner="sales")),
        strategy=canvas,
    )
    found = [f for f in check_playbook(playbook).findings if f.check == "vague_goal"]
    assert [f.path for f in found] == ["$.goals[3].metric", "$.strategy.metrics[3]"]
    assert "'happiness' is not a KPI crmcore measures" in found[0].message


def test_handoffs_without_context():
    bare = HandoffContract("bare", "sales", "success", "won")
    playbook = attrs.evolve(HEALTHY, handoffs=(*HEALTHY.handoffs, bare))
    (finding, unowned) = check_playbook(playbook).findings
    assert finding.check == "handoff_without_context"
    assert unowned.check == "ownership:no_accountable"
    assert finding.message == (
        "the handoff bare (sales to success) has no requirements and no carried context"
    )


def test_teams_whose_definitions_of_a_lead_disagree():
    other = Definition("mql", "sales", field("employees") >= 50)
    definitions = (
        HEALTHY.definitions[0],
        other,
        HEALTHY.definitions[0].__class__("sql", "sales", field("a") == 1),
    )
    (finding,) = check_playbook(attrs.evolve(HEALTHY, definitions=definitions)).findings
    assert (finding.check, finding.path) == (
        "conflicting_definitions",
        "$.definitions[1]",
    )
    assert "sales defines 'mql' as employees >= 50, marketing as" in finding.message


def test_required_data_without_an_owner_or_a_cadence():
    bare = DataSpec("contacts", "contacts")
    unheld = DataSpec("deals", "opportunities", required=["amount"], owner="nobody")
    found = check_playbook(attrs.evolve(HEALTHY, data=(*HEALTHY.data, bare, unheld)))
    assert [(f.check, f.path) for f in found.findings] == [
        ("data_without_owner", "$.data[2]"),
        ("data_without_owner", "$.data[2]"),
        ("data_without_owner", "$.data[2]"),
        ("data_without_owner", "$.data[3].owner"),
        ("data_without_owner", "$.data[3]"),
        ("ownership:no_accountable", "$.ownership.assets['data_spec:contacts']"),
        ("ownership:no_accountable", "$.ownership.assets['data_spec:deals']"),
    ]
    messages = [f.message for f in found.findings]
    assert "the data contacts has no owner" in messages
    assert "the data contacts has no refresh cadence" in messages
    assert "the data contacts requires no field and checks no rule" in messages
    assert "the data deals is owned by nobody, which no team holds" in messages


def test_tool_administration_without_operating_ownership():
    teams = [
        Team("it", roles=["tool_admin"]),
        Team("board", roles=["executive_sponsor"]),
    ]
    ownership = OwnershipMap(teams)
    found = codes(attrs.evolve(HEALTHY, ownership=ownership))
    assert "ownership:admin_without_operators" in found
    assert "ownership:role_unheld" in found
    assert codes(attrs.evolve(HEALTHY, ownership=None), "ownership") == ["ownership"]


def test_a_tool_migration_mistaken_for_a_strategy_change():
    move = Initiative(
        "move", "Move to a new CRM", "high", "high", owner="revops", migration=True
    )
    alone = attrs.evolve(HEALTHY, initiatives=PriorityMatrix([move]))
    assert codes(alone, "migration_without_strategy") == ["migration_without_strategy"]
    undefined = attrs.evolve(alone, strategy=StrategyCanvas())
    found = [f for f in check_playbook(undefined).findings if f.check.startswith("mig")]
    assert len(found) == 2
    assert "not defined (customers, moments, owners, metrics, data)" in found[0].message
    matrix = HEALTHY.initiatives
    assert matrix is not None
    with_work = attrs.evolve(matrix, initiatives=[move, *matrix.initiatives])
    assert codes(attrs.evolve(HEALTHY, initiatives=with_work)) == []


def test_a_crm_used_as_a_reporting_tool():
    reporting = Playbook(
        "x",
        kpis=[KpiReview("win_rate", owner="sales")],
        goals=[Goal("win_rate", Decimal("0.2"), Decimal("0.3"), START, END)],
        pipelines=[
            Pipeline(
                "p",
                [
                    StageDefinition("open", "Open", probability=Decimal("0.5")),
                    StageDefinition("won", "Won", kind="won"),
                    StageDefinition("lost", "Lost", kind="lost"),
                ],
                policy=TransitionPolicy(lost_reasons=["price"]),
            )
        ],
    )
    assert "reporting_only" in codes(reporting)
    assert "stage_without_criteria" in codes(reporting)
    assert codes(Playbook("y"), "reporting_only") == []


def test_stages_that_are_labels_not_milestones():
    pipeline = HEALTHY.pipelines[0]
    first = attrs.evolve(pipeline.stages[0], exit_criteria=())
    playbook = attrs.evolve(
        HEALTHY,
        pipelines=[attrs.evolve(pipeline, stages=[first, *pipeline.stages[1:]])],
    )
    (finding,) = check_playbook(playbook).findings
    assert (finding.check, finding.path) == (
        "stage_without_criteria",
        "$.pipelines[0].stages[0]",
    )


def test_initiatives_nobody_owns():
    items = [
        Initiative("a", "Alpha", "high", "low"),
        Initiative("b", "Beta", "high", "low", owner="ghosts"),
        Initiative("c", "Gamma", "high", "low", owner="revops"),
    ]
    found = check_playbook(attrs.evolve(HEALTHY, initiatives=PriorityMatrix(items)))
    assert [(f.check, f.path) for f in found.findings] == [
        ("initiative_without_owner", "$.initiatives.initiatives[0].owner"),
        ("initiative_without_owner", "$.initiatives.initiatives[1].owner"),
    ]
    assert codes(attrs.evolve(HEALTHY, initiatives=None)) == []


def test_the_report_groups_and_prints():
    report = check_playbook(Playbook("x"))
    assert str(report).startswith("7 findings (12 checks):\n  [strategy:unanswered")
    assert str(check_playbook(HEALTHY)) == "no findings (12 checks)"
    assert set(report.by_check()) == {
        "strategy:unanswered_question",
        "strategy:no_statement",
        "ownership",
    }


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------
SAMPLE = generate_sample(400, seed=3)
ALL_DATA = {
    **SAMPLE.collections(),
    "marketing_spend": SAMPLE.marketing_spend(),
    "handoffs": SAMPLE.handoffs(),
}


def test_the_report_of_the_example_on_the_sample():
    figures = playbook_report(HEALTHY, ALL_DATA, as_of=SAMPLE.as_of)
    assert list(figures.kpis) == [
        "lead_conversion",
        "win_rate",
        "net_revenue_retention",
    ]
    assert (
        figures.kpis["win_rate"]
        == kpi_report(
            figures.period,
            deals=SAMPLE.opportunities,
            as_of=SAMPLE.as_of,
            pipeline=HEALTHY.pipelines[0],
        )["win_rate"]
    )
    assert [s.goal.metric for s in figures.goals] == list(figures.kpis)
    assert figures.goals[1].current == figures.kpis["win_rate"].value
    assert [t.spec for t in figures.trust] == ["lead_source_data", "account_data"]
    assert set(figures.handoffs) == {"mql_to_sales", "won_to_success"}
    assert figures.missing == ()
    assert figures.period == Interval(datetime(2025, 1, 1, tzinfo=UTC), SAMPLE.as_of)
    document = figures.to_dict()
    assert json.loads(json.dumps(document)) == document
    text = str(figures)
    for heading in ("KPIs", "Goals", "Data trust", "Handoff SLAs"):
        assert f"\n{heading}\n" in text


def test_a_playbook_naming_no_kpi_reports_every_one_it_can():
    bare = Playbook("bare", goals=[Goal("cac", 100, 80, START, END)])
    figures = playbook_report(bare, ALL_DATA, as_of=SAMPLE.as_of)
    assert list(figures.kpis) == ["cac"]
    # A money goal is measured by the amount, in the KPI's currency.
    assert figures.goals[0].current == figures.kpis["cac"].value.amount
    everything = playbook_report(Playbook("all"), ALL_DATA, as_of=SAMPLE.as_of)
    assert "mrr" in everything.kpis and "ltv_to_cac" in everything.kpis
    text = str(everything)
    assert " EUR" in text  # money
    assert " days" in text  # a unit that is not a ratio


def test_what_cannot_be_computed_is_listed():
    playbook = attrs.evolve(
        HEALTHY,
        kpis=(*HEALTHY.kpis, KpiReview("happiness", owner="sales")),
        goals=(*HEALTHY.goals, Goal("happiness", 1, 2, START, END)),
    )
    figures = playbook_report(playbook, {"leads": SAMPLE.leads}, as_of=SAMPLE.as_of)
    assert figures.missing == (
        "KPI win_rate: needs the 'opportunities' data set",
        "KPI net_revenue_retention: needs the 'subscriptions' data set",
        "KPI happiness: not a KPI the report computes",
        "goal win_rate: no KPI of that name was computed",
        "goal net_revenue_retention: no KPI of that name was computed",
        "goal happiness: no KPI of that name was computed",
        "data account_data: no 'accounts' data set was given",
        "handoff SLAs: no 'handoffs' data set was given",
    )
    assert "Not computed" in str(figures)
    nothing = playbook_report(Playbook("x"), {}, as_of=SAMPLE.as_of)
    assert (nothing.kpis, nothing.goals, nothing.trust) == ({}, (), ())
    assert str(nothing) == "x: 2025-01-01 to 2026-01-01"


def test_an_undefined_kpi_says_why_in_the_report():
    empty = playbook_report(
        Playbook("x", kpis=[KpiReview("win_rate", owner="a")]),
        {"opportunities": []},
        as_of=SAMPLE.as_of,
    )
    assert "win_rate                     - (" in str(empty)


def test_report_arguments_are_checked():
    with pytest.raises(DataTypeError, match="playbook: expected a Playbook"):
        playbook_report("x", {}, as_of=SAMPLE.as_of)
    with pytest.raises(DataTypeError, match="data: expected a mapping"):
        playbook_report(HEALTHY, [], as_of=SAMPLE.as_of)
    with pytest.raises(DataTypeError, match="period: expected an Interval"):
        playbook_report(HEALTHY, {}, as_of=SAMPLE.as_of, period="2025")
    with pytest.raises(DataError, match="period: expected a window ending at or"):
        playbook_report(
            HEALTHY,
            {},
            as_of=START,
            period=Interval(START, END),
        )
    with pytest.raises(DataTypeError, match="leads: expected an iterable"):
        playbook_report(HEALTHY, {"leads": 5}, as_of=SAMPLE.as_of)  # type: ignore[dict-item]


# ---------------------------------------------------------------------------
# Details
# ---------------------------------------------------------------------------
def test_names_come_only_from_parts_that_have_one():
    playbook = Playbook(
        "x",
        ownership=OwnershipMap([Team("ops")]),
        handoffs=[HandoffContract("h", "a", "b", "t")],
        data=[DataSpec("d", "r")],
    )
    names = playbook.names()
    assert Asset("team", "ops") not in names
    assert Asset("handoff", "h") not in names
    assert Asset("data_spec", "d") not in names
    assert names[Asset("role", "tool_admin")] == "Tool admin"


def test_used_fields_read_routing_and_sla_conditions():
    from crmcore.sample import sample_router, sample_sla_policies

    playbook = Playbook("x", routing=sample_router(), sla=sample_sla_policies())
    fields = playbook.used_fields()
    assert "employees" in fields and "priority" in fields and "status" in fields


def test_checks_can_be_chosen():
    report = check_playbook(Playbook("x"), [OwnershipGaps()])
    assert report.checks == ("ownership",)
    assert [f.check for f in report.findings] == ["ownership"]


def test_the_schema_covers_vendor_kinds_with_any_field_types():
    @attrs.frozen
    class Weighted:
        kind: ClassVar[str] = "weighted_for_schema"
        weights: Mapping[str, int] = attrs.field(factory=dict)

        def bind(self, as_of):  # pragma: no cover - never evaluated here
            return lambda record: True

        def explain(self, record, as_of=None):  # pragma: no cover
            raise NotImplementedError

    with CONDITION_KINDS.scoped(Weighted):
        schema = playbook_schema()
    shape = schema["$defs"]["ConditionKind_weighted_for_schema"]
    assert shape["properties"]["weights"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    assert "description" not in shape  # no docstring to describe it


def test_names_and_fields_of_a_playbook_without_ownership_or_conditions():
    from crmcore.handoffs import SlaPolicies, SlaPolicy

    sla = SlaPolicies([], SlaPolicy("default", response=timedelta(hours=4)))
    playbook = Playbook("x", sla=sla)
    assert playbook.names() == {}
    # A policy's default clock conditions read the status.
    assert playbook.used_fields() == ("status",)


def test_economics_need_both_data_sets_and_paid_cac_is_not_reported():
    playbook = Playbook(
        "x",
        kpis=[KpiReview("cac", owner="a"), KpiReview("paid_cac", owner="a")],
    )
    spend_only = {"marketing_spend": SAMPLE.marketing_spend()}
    figures = playbook_report(playbook, spend_only, as_of=SAMPLE.as_of)
    assert figures.missing == (
        "KPI cac: needs the 'subscriptions' data set",
        "KPI paid_cac: needs the paid channels, which a playbook report does not "
        "take (use kpi_report)",
    )
    nothing = playbook_report(playbook, {}, as_of=SAMPLE.as_of)
    assert nothing.missing[0] == (
        "KPI cac: needs the 'subscriptions' and 'marketing_spend' data sets"
    )


def test_a_contract_without_handoffs_in_the_window_says_so():
    figures = playbook_report(HEALTHY, {"handoffs": []}, as_of=SAMPLE.as_of)
    assert figures.handoffs["mql_to_sales"].reason == (
        "no handoffs of mql_to_sales in the window"
    )


def test_fields_only_the_default_sla_policy_and_routing_read_are_used():
    from crmcore.conditions import field as f
    from crmcore.handoffs import SlaPolicies, SlaPolicy
    from crmcore.routing import ByField, Person, Router, RoutingRule

    sla = SlaPolicies(
        [],
        SlaPolicy(
            "default",
            response=timedelta(hours=4),
            resolved_when=f("solved_at").exists(),
        ),
    )
    router = Router(
        [RoutingRule("r", ByField("account_owner"), match=["language"])],
        [Person("p", skills=["en"])],
    )
    playbook = Playbook(
        "x",
        sla=sla,
        routing=router,
        fields=[
            FieldSpec("solved_at", "tickets"),
            FieldSpec("account_owner", "leads"),
            FieldSpec("language", "leads"),
        ],
    )
    assert codes(playbook, "unused_field") == []


def test_the_dict_form_is_the_json_form():
    assert HEALTHY.to_dict() == json.loads(HEALTHY.to_json())


def test_a_goal_on_an_undefined_kpi_has_no_observation():
    playbook = Playbook(
        "x",
        kpis=[KpiReview("win_rate", owner="a")],
        goals=[Goal("win_rate", Decimal("0.2"), Decimal("0.3"), START, END)],
    )
    figures = playbook_report(playbook, {"opportunities": []}, as_of=SAMPLE.as_of)
    assert figures.kpis["win_rate"].value is None
    assert figures.goals[0].observations == ()
    assert figures.missing == ()


def test_a_data_spec_and_the_ownership_map_name_one_owner():
    spec = attrs.evolve(HEALTHY.data[0], owner="crm_owner")
    playbook = attrs.evolve(HEALTHY, data=(spec, *HEALTHY.data[1:]))
    (finding,) = check_playbook(playbook).findings
    assert (finding.check, finding.path) == ("data_without_owner", "$.data[0].owner")
    assert finding.message == (
        "the data lead_source_data names crm_owner as its owner, the ownership "
        "map data_steward"
    )
