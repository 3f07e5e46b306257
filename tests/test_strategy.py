"""Strategy: the five questions, the statement, the priority matrix and its plan."""

import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import DataError, DataTypeError
from crmcore.ownership import ROLES, Asset
from crmcore.strategy import (
    LEVELS,
    STATEMENT_TEMPLATE,
    STRATEGY_QUESTIONS,
    Finding,
    Initiative,
    Milestone,
    PriorityMatrix,
    StrategyCanvas,
    StrategyStatement,
    crm_initiatives,
)
from crmcore.testing import priority_matrices

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds"

# The seed's tables, as written there (003_...txt, "CRM Strategy").
SEED_MATRIX = [
    ("Clean lead source data", "Medium", "Low", "Now"),
    ("Redefine pipeline stages", "High", "Medium", "Now"),
    ("Customer health scoring", "High", "High", "After data cleanup"),
    ("Company-wide automation", "Medium", "High", "After pilot"),
]
SEED_QUESTIONS = [
    (
        "Which customers do we need to understand better?",
        "ICP, segments, account priority",
    ),
    (
        "When should we intervene?",
        "Conversion, onboarding, activation, risk, expansion events",
    ),
    ("Which team owns which action?", "Marketing, sales, success, operations, product"),
    ("Which metric should improve?", "Conversion, sales cycle, retention, NRR, LTV"),
    (
        "Which data must be trustworthy?",
        "Required fields, sources, refresh cadence, data owner",
    ),
]


def _seed_table(heading: str) -> list[tuple[str, ...]]:
    text = (SEED / "003_1a0fcee9903aad19.txt").read_text()
    block = text.split(heading, 1)[1]
    rows: list[tuple[str, ...]] = []
    for line in block.splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = tuple(cell.strip() for cell in line.strip("|").split("|"))
        if set("".join(cells)) != {"-"}:
            rows.append(cells)
    return rows[1:]  # without the header


def test_the_seed_priority_matrix_comes_out_as_the_seed_prioritises_it():
    assert list(crm_initiatives().plan().table()) == SEED_MATRIX


@pytest.mark.skipif(not SEED.is_dir(), reason="the seeds are beside the repository")
def test_the_tables_written_here_are_the_seed_file_s():
    assert _seed_table("Priority Matrix") == SEED_MATRIX
    assert _seed_table("Five Strategy Questions") == SEED_QUESTIONS
    roles = _seed_table("Ownership Model")
    assert [t.casefold() for t, _ in roles] == [r.title.casefold() for r in ROLES]
    text = (SEED / "003_1a0fcee9903aad19.txt").read_text()
    statement = text.split("Strategy Statement", 1)[1].split("Failure Patterns")[0]
    squash = re.compile(r"\s+")
    assert squash.sub("", statement) == squash.sub("", STATEMENT_TEMPLATE)


def test_the_five_questions_are_the_seed_s():
    assert [(q.text, q.decision) for q in STRATEGY_QUESTIONS] == SEED_QUESTIONS
    assert [q.key for q in STRATEGY_QUESTIONS] == [
        "customers",
        "moments",
        "owners",
        "metrics",
        "data",
    ]


def test_the_seed_plan_in_detail():
    plan = crm_initiatives().plan()
    assert [(s.initiative.key, s.wave, s.waits_for) for s in plan] == [
        ("clean_lead_source_data", 0, ()),
        ("redefine_pipeline_stages", 0, ()),
        ("customer_health_scoring", 1, ("clean_lead_source_data",)),
        ("company_wide_automation", 1, ("pilot",)),
    ]
    assert plan.phase_of("customer_health_scoring") == "After data cleanup"
    assert len(plan) == 4
    with pytest.raises(DataError, match=r"key: expected one of \['clean"):
        plan.phase_of("nope")
    assert [s.initiative.owner for s in plan] == [
        "data_steward",
        "process_owner",
        "crm_owner",
        "crm_owner",
    ]


def test_a_reached_milestone_lets_its_initiatives_start_now():
    matrix = crm_initiatives()
    reached = attrs.evolve(
        matrix, milestones=[attrs.evolve(matrix.milestones[0], reached=True)]
    )
    plan = reached.plan()
    # Automation (medium impact, high difficulty) now waits for nothing, and
    # its difficulty outweighs its impact: Later, but in the first wave.
    assert plan.phase_of("company_wide_automation") == "Later"
    assert [s.initiative.key for s in plan][-1] == "customer_health_scoring"


def test_phases_name_every_prerequisite_and_waves_follow_the_latest():
    a = Initiative("a", "Alpha", "high", "low")
    b = Initiative("b", "Beta", "medium", "medium", after=["a"])
    c = Initiative("c", "Gamma", "high", "high", after=["a", "b"], label="g")
    d = Initiative("d", "Delta", "low", "high")
    plan = PriorityMatrix([c, d, b, a]).plan()
    assert [(s.initiative.key, s.phase, s.wave) for s in plan] == [
        ("a", "Now", 0),
        ("d", "Later", 0),
        ("b", "After alpha", 1),
        ("c", "After alpha and beta", 2),
    ]
    assert a.margin == 2 and d.margin == -2 and c.called == "g"


def test_within_a_wave_the_margin_then_the_ease_then_the_value_then_the_key():
    items = [
        Initiative("z", "Z", "high", "high"),  # margin 0, hard
        Initiative("y", "Y", "low", "low"),  # margin 0, easy, low value
        Initiative("x", "X", "medium", "medium"),  # margin 0, medium
        Initiative("w", "W", "high", "medium"),  # margin 1
        Initiative("v", "V", "low", "low"),  # as y, key first
    ]
    plan = PriorityMatrix(items).plan()
    assert [s.initiative.key for s in plan] == ["w", "v", "y", "x", "z"]


def test_cycles_are_an_error_naming_the_cycle():
    items = [
        Initiative("a", "A", "low", "low", after=["c"]),
        Initiative("b", "B", "low", "low", after=["a"]),
        Initiative("c", "C", "low", "low", after=["b"]),
        Initiative("d", "D", "low", "low", after=["a"]),
    ]
    with pytest.raises(DataError, match=r"initiatives: .*got 'a -> c -> b -> a'"):
        PriorityMatrix(items)


@pytest.mark.parametrize(
    ("items", "milestones", "message"),
    [
        (
            [Initiative("a", "A", "low", "low", after=["a"])],
            [],
            r"initiatives\[0\]\.after\[0\]: expected another initiative",
        ),
        (
            [Initiative("a", "A", "low", "low", after=["pilot", "b"])],
            [Milestone("pilot", "Pilot")],
            r"initiatives\[0\]\.after\[1\]: expected the key of an initiative or a "
            r"milestone, one of \['a', 'pilot'\], got 'b'",
        ),
        (
            [Initiative("a", "A", "low", "low"), Initiative("a", "B", "low", "low")],
            [],
            r"initiatives\[1\]\.key: expected a key no other initiative has",
        ),
        (
            [Initiative("a", "A", "low", "low")],
            [Milestone("a", "Pilot")],
            r"milestones\[0\]\.key: expected a key no initiative has",
        ),
    ],
)
def test_bad_matrices_name_the_path(items, milestones, message):
    with pytest.raises(DataError, match=message):
        PriorityMatrix(items, milestones=milestones)


def test_bad_initiatives_name_the_field():
    with pytest.raises(DataError, match=r"impact: expected one of 'low', 'medium'"):
        Initiative("a", "A", "huge", "low")
    with pytest.raises(DataTypeError, match=r"after: expected a list of initiative"):
        Initiative("a", "A", "low", "low", after="b")
    with pytest.raises(DataTypeError, match=r"initiatives: expected a list"):
        PriorityMatrix("a")
    with pytest.raises(DataTypeError, match=r"reached: expected true or false"):
        Milestone("p", "P", reached=1)
    assert LEVELS == ("low", "medium", "high")


@given(priority_matrices(), st.randoms())
def test_the_plan_does_not_depend_on_the_order_of_initiatives(matrix, random):
    shuffled = list(matrix.initiatives)
    random.shuffle(shuffled)
    assert (
        PriorityMatrix(shuffled, milestones=matrix.milestones).plan() == matrix.plan()
    )


@given(priority_matrices())
def test_every_initiative_comes_after_what_it_waits_for(matrix):
    plan = matrix.plan()
    assert sorted(s.initiative.key for s in plan) == sorted(
        i.key for i in matrix.initiatives
    )
    position = {s.initiative.key: index for index, s in enumerate(plan)}
    wave = {s.initiative.key: s.wave for s in plan}
    for step in plan:
        for key in step.initiative.after:
            if key in position:
                assert position[key] < position[step.initiative.key]
                assert wave[key] < step.wave
        assert (step.phase in ("Now", "Later")) == (not step.waits_for)


# ---------------------------------------------------------------------------
# The canvas and the statement
# ---------------------------------------------------------------------------
STATEMENT = StrategyStatement(
    "handoff:lead_handoff",
    "segment:mid_market",
    "moment:conversion",
    "kpi:lead_conversion",
    "data_spec:lead_source_data",
)
PARTS = [
    Asset("handoff", "lead_handoff"),
    Asset("segment", "mid_market"),
    Asset("moment", "conversion"),
    Asset("kpi", "lead_conversion"),
    Asset("data_spec", "lead_source_data"),
    Asset("team", "sales"),
]
CANVAS = StrategyCanvas(
    customers=["segment:mid_market"],
    moments=["moment:conversion"],
    owners=["team:sales", "handoff:lead_handoff"],
    metrics=["kpi:lead_conversion"],
    data=["data_spec:lead_source_data"],
    statement=STATEMENT,
)


def test_a_complete_canvas_has_no_findings():
    assert CANVAS.findings(PARTS) == ()
    assert CANVAS.findings() == ()
    assert CANVAS.answers("owners") == (
        Asset("team", "sales"),
        Asset("handoff", "lead_handoff"),
    )
    assert [path for path, _ in CANVAS.references()] == [
        "$.customers[0]",
        "$.moments[0]",
        "$.owners[0]",
        "$.owners[1]",
        "$.metrics[0]",
        "$.data[0]",
        "$.statement.action",
        "$.statement.segment",
        "$.statement.moment",
        "$.statement.metric",
        "$.statement.data",
    ]


def test_the_statement_reads_with_the_parts_names():
    assert STATEMENT.text() == (
        "We use CRM to standardize lead handoff for mid market at conversion, "
        "improving lead conversion with trustworthy lead source data."
    )
    names = {Asset("segment", "mid_market"): "mid-market accounts"}
    assert "for mid-market accounts at" in STATEMENT.text(names)


def test_unanswered_wrong_and_dangling_answers_are_findings_with_paths():
    canvas = StrategyCanvas(
        customers=["kpi:win_rate"],
        metrics=["kpi:lead_conversion", "kpi:nrr"],
        data=["field:email"],
        statement=attrs.evolve(STATEMENT, metric=Asset("segment", "mid_market")),
    )
    found = canvas.findings(PARTS)
    assert [(f.check, f.path) for f in found] == [
        ("wrong_kind", "$.customers[0]"),
        ("unanswered_question", "$.moments"),
        ("unanswered_question", "$.owners"),
        ("dangling_reference", "$.metrics[1]"),
        ("dangling_reference", "$.data[0]"),
        ("wrong_kind", "$.statement.metric"),
    ]
    assert str(found[0]) == (
        "$.customers[0]: kpi:win_rate cannot be the answer: it is a kpi "
        "(fix: refer to a segment)"
    )
    assert found[5].message == (
        "segment:mid_market cannot be the [core metric] blank: it is a segment"
    )
    assert "When should we intervene?" in found[1].message
    assert found[3].fix == "define the kpi 'nrr' or refer to one that exists"


def test_a_canvas_without_a_statement_says_so():
    found = StrategyCanvas().findings()
    assert [f.check for f in found] == ["unanswered_question"] * 5 + ["no_statement"]
    assert STATEMENT_TEMPLATE in found[-1].fix


def test_bad_references_name_the_path():
    with pytest.raises(DataError, match=r"owners\[1\]: expected an asset"):
        StrategyCanvas(owners=["team:sales", "sales"])
    with pytest.raises(DataTypeError, match=r"customers: expected a list of ref"):
        StrategyCanvas(customers="segment:smb")
    with pytest.raises(DataError, match=r"metric: expected an asset"):
        StrategyStatement("team:a", "segment:b", "stage:c", "win_rate", "field:d")
    with pytest.raises(DataTypeError, match=r"statement: expected a StrategyStatement"):
        StrategyCanvas(statement="We use CRM")
    with pytest.raises(DataError, match=r"question: expected one of 'customers'"):
        CANVAS.answers("who")
    with pytest.raises(DataTypeError, match=r"parts: expected a list of references"):
        CANVAS.findings("segment:a")


def test_a_finding_prints_its_path_message_and_fix():
    assert str(Finding("x", "$.a", "broken")) == "$.a: broken"
    with pytest.raises(DataTypeError, match="message: expected a non-empty name"):
        Finding("x", "$.a", "")


def test_a_canvas_without_a_statement_refers_only_to_its_answers():
    canvas = StrategyCanvas(customers=["segment:a"])
    assert canvas.references() == (("$.customers[0]", Asset("segment", "a")),)


def test_long_chains_of_prerequisites_plan_without_recursion():
    items = [
        Initiative(f"i{k}", f"I{k}", "low", "low", after=[f"i{k - 1}"] if k else [])
        for k in range(3000)
    ]
    plan = PriorityMatrix(items[::-1]).plan()
    assert [s.wave for s in plan] == list(range(3000))


def test_a_prerequisite_listed_twice_is_refused():
    with pytest.raises(DataError, match=r"after\[1\]: expected a key not listed"):
        Initiative("a", "A", "low", "low", after=["b", "b"])
    with pytest.raises(DataError, match=r"parts\[0\]: expected an asset"):
        CANVAS.findings(["bogus"])
    with pytest.raises(DataTypeError, match="names: expected a mapping"):
        STATEMENT.text(5)
