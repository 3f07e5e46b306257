"""The fuzz suite: untrusted definitions, text, records and arguments.

Every public loader, the parsers, every calculator and every public callable
of ``crmcore.__all__`` is fed hostile input. The one assertion (in
``fuzz_values.outcome``): a call either returns a finite, exact result that
is plain JSON, or raises a ``CrmcoreError`` that also subclasses the
matching built-in error, within a budget no small input explains exceeding.

The default and CI runs draw ``FUZZ_EXAMPLES`` (30) examples per entry
point (``CRMCORE_FUZZ_EXAMPLES`` overrides it). The long run, on demand,
draws 10,000 per entry point and prints the count of each::

    HYPOTHESIS_PROFILE=fuzz python -m pytest tests/test_fuzz.py \\
        --hypothesis-show-statistics -q
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import (
    handoffs,
    kpis,
    lifecycle,
    playbook,
    quality,
    rfm,
    sample,
    scoring,
    segments,
    stage_analytics,
    strategy,
)
from crmcore import pipelines as pl
from crmcore import testing as ct
from crmcore.__main__ import DEMO_ICP
from crmcore.conditions import (
    CONDITION_KINDS,
    Condition,
    compile_condition,
    explain,
    parse_condition,
)
from crmcore.pipelines import CRITERION_KINDS, ExitCriterion, parse_criterion
from crmcore.records import (
    Account,
    Activity,
    Contact,
    Lead,
    Opportunity,
    StageChange,
    Subscription,
)
from crmcore.sample import sample_pipeline
from crmcore.serialization import from_json, structure, unstructure
from tests.fuzz_values import (
    AS_OF,
    FIELDS,
    anything,
    json_values,
    outcome,
    record_lists,
    records,
)
from tests.kpi_strategies import HANDOFF_CONTRACTS
from tests.test_handoffs import OFFICE, TO_SALES, TO_SUCCESS
from tests.test_handoffs import policy as _sla_policy
from tests.test_routing import ROUTER
from tests.test_scoring import MODEL as SCORING_MODEL
from tests.test_scoring import PROFILE as SCORING_PROFILE

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
FUZZ_EXAMPLES = int(os.environ.get("CRMCORE_FUZZ_EXAMPLES", "10000" if LONG else "30"))
fuzz = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None if LONG else settings.default.database,
)


# -- loaders: random JSON and mutated valid definitions -----------------------------
def _of(
    strategy: st.SearchStrategy[Any], cls: Any
) -> tuple[st.SearchStrategy[Any], Any]:
    return strategy, cls


PIPELINES = [
    lifecycle.b2b_deal_pipeline(),
    lifecycle.b2c_deal_pipeline(),
    lifecycle.customer_lifecycle(),
    sample_pipeline(),
]


TIERINGS = [segments.b2b_size_tiers(), rfm.rfm_segments()]
CALENDARS = [
    OFFICE,
    TO_SUCCESS.calendar,
    *(contract.calendar for contract in HANDOFF_CONTRACTS),
    crmcore.BusinessCalendar("Pacific/Apia", workdays=[4, 5], hours=["00:00-02:00"]),
]
SLA_POLICIES = [
    sample.sample_sla_policies(),
    _sla_policy(response=timedelta(hours=4), resolution=timedelta(hours=16)),
    crmcore.SlaPolicies(
        [
            crmcore.SlaPolicy(
                "vip",
                response=timedelta(minutes=30),
                when=crmcore.field("tier") == "enterprise",
                calendar=CALENDARS[-1],
            )
        ],
        default=crmcore.SlaPolicy("standard", resolution=timedelta(hours=8)),
    ),
]
CONTRACTS = (*HANDOFF_CONTRACTS, TO_SALES, TO_SUCCESS, *sample.sample_contracts())
ROUTERS = [ROUTER, sample.sample_router()]
ICP_MODELS = [DEMO_ICP]
SCORING_MODELS = [SCORING_MODEL, sample.sample_scoring_model()]
BAYES_SAMPLE = sample.sample_naive_bayes()
GRADING_PROFILES = [SCORING_PROFILE]
BAYES_MODELS = [
    scoring.NaiveBayes(["source"], stages=["new", "qualified", "proposal"]),
    BAYES_SAMPLE,
    scoring.NaiveBayes(
        [
            "industry",
            scoring.NumberBand("employees", [10, 100]),
            scoring.Holds("engaged", crmcore.field("visits") >= 3),
            scoring.ItemCount("meetings", "activities"),
        ],
        team=None,
    ),
]
BAYES_ROWS = [
    {"source": "ads", "stage": "new", "outcome": "lost", "team": "a"},
    {"source": "referral", "stage": "proposal", "outcome": "won", "team": "a"},
    {"source": "ads", "stage": "qualified", "outcome": "won", "team": "b"},
]
SEGMENT_SETS = [
    segments.b2b_segments(),
    segments.b2c_segments(),
    lifecycle.intervention_moments(),
]


PLAYBOOKS = (
    playbook.load_playbook(
        (Path(__file__).resolve().parents[1] / "examples" / "playbook.json").read_text()
    ),
    playbook.Playbook("empty"),
)


LOADERS: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "Condition": _of(ct.conditions(), Condition),
    "ExitCriterion": _of(ct.exit_criteria(), ExitCriterion),
    # Drawing whole pipelines is slow; the presets cover every stage kind and
    # policy mode, and the mutations vary them.
    "Pipeline": _of(st.sampled_from(PIPELINES), pl.Pipeline),
    "StageDefinition": _of(
        st.sampled_from([s for p in PIPELINES for s in p.stages]), pl.StageDefinition
    ),
    "TransitionPolicy": _of(
        st.sampled_from([p.policy for p in PIPELINES]), pl.TransitionPolicy
    ),
    "Segment": _of(ct.segments(), segments.Segment),
    "Tiering": _of(ct.tierings(), segments.Tiering),
    "IcpModel": _of(ct.icp_models(), segments.IcpModel),
    "Account": _of(ct.accounts(), Account),
    "Contact": _of(ct.contacts(), Contact),
    "Lead": _of(ct.leads(), Lead),
    "Opportunity": _of(ct.opportunities(), Opportunity),
    "Activity": _of(ct.activities(), Activity),
    "StageChange": _of(ct.stage_changes(), StageChange),
    "Subscription": _of(ct.subscriptions(), Subscription),
    "Money": _of(ct.money(), crmcore.Money),
    "Period": _of(ct.periods(), crmcore.Period),
    "Interval": _of(ct.intervals(), crmcore.Interval),
    "BusinessCalendar": _of(ct.business_calendars(), crmcore.BusinessCalendar),
    "SlaPolicy": _of(ct.sla_policies(), crmcore.SlaPolicy),
    "HandoffContract": _of(ct.handoff_contracts(), crmcore.HandoffContract),
    "Router": _of(ct.routers(), crmcore.Router),
    "OwnershipMap": _of(ct.ownership_maps(), crmcore.OwnershipMap),
    "SlaPolicies": _of(st.just(sample.sample_sla_policies()), crmcore.SlaPolicies),
    "ScoringModel": _of(ct.scoring_models(), scoring.ScoringModel),
    "GradingProfile": _of(st.just(SCORING_PROFILE), scoring.GradingProfile),
    "NaiveBayes": _of(st.sampled_from(BAYES_MODELS), scoring.NaiveBayes),
    # The example playbook holds one of nearly every part; mutations vary it.
    "Playbook": _of(st.sampled_from(PLAYBOOKS), playbook.Playbook),
    "DataSpec": _of(ct.data_specs(), quality.DataSpec),
    "PriorityMatrix": _of(ct.priority_matrices(), strategy.PriorityMatrix),
    "StrategyCanvas": _of(
        st.sampled_from([p.strategy for p in PLAYBOOKS]), strategy.StrategyCanvas
    ),
}


@st.composite
def _mutated(draw: st.DrawFn, data: Any) -> Any:
    """``data`` with one node replaced, removed, renamed or buried deep."""
    path: list[Any] = []
    node = data
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        key = draw(
            st.sampled_from(
                sorted(node) if isinstance(node, dict) else range(len(node))
            )
        )
        path.append(key)
        node = node[key]
    action = draw(st.sampled_from(["replace", "remove", "extra", "bury", "number"]))
    if action == "replace":
        new: Any = draw(json_values())
    elif action == "number":
        new = draw(st.sampled_from(["NaN", "1E+999999999", 10**120, -1, 0, "-0", 2.5]))
    elif action == "bury":
        new = node
        for _ in range(draw(st.integers(1, 40))):
            new = {"kind": "not", "condition": new} if draw(st.booleans()) else [new]
    else:
        new = node
    if not path:
        return (
            new
            if action != "extra"
            else {"unexpected": 1, **node}
            if isinstance(node, dict)
            else new
        )
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "remove":
        del parent[last]
    elif action == "extra" and isinstance(parent, dict):
        parent[f"{last}_typo"] = parent[last]
    else:
        parent[last] = new
    return data


def _copy(data: Any) -> Any:
    return json.loads(json.dumps(data))


@pytest.mark.parametrize("name", sorted(LOADERS))
@fuzz
@given(st.data())
def test_loaders_take_any_json(name, data):
    _, cls = LOADERS[name]
    document = data.draw(json_values())
    loaded = outcome(lambda: structure(document, cls))
    text = json.dumps(document)
    cut = data.draw(st.integers(0, len(text)))
    outcome(lambda: from_json(text[:cut], cls))
    outcome(lambda: from_json(text.encode("utf-8")[:cut], cls))
    if loaded is not None:
        assert isinstance(loaded, cls)


@pytest.mark.parametrize("name", sorted(LOADERS))
@fuzz
@given(st.data())
def test_loaders_take_mutated_valid_definitions(name, data):
    strategy, cls = LOADERS[name]
    valid = data.draw(strategy)
    document = data.draw(_mutated(_copy(unstructure(valid))))
    loaded = outcome(lambda: structure(document, cls))
    outcome(lambda: from_json(json.dumps(document), cls))
    if loaded is not None:
        # Whatever loads is a value that round-trips like any other.
        assert structure(unstructure(loaded), cls) == loaded


# -- the parsers: token soup and truncated text ------------------------------------
TOKENS = [
    "(", ")", ",", "[", "]", "{", "}", "and", "or", "not", "==", "!=", "<", "<=",
    ">", ">=", "in", "not in", "exists", "missing", "between", "within_last",
    "older_than", "before", "after", "count", "contains", "starts_with",
    "all", "any", "at_least", "x", "a.b", "_x", "__class__", "'s'", '"s"', "'",
    '"', "\\", "5", "-5", "1.5", "1E+999999999", "NaN", "30d", "6mo", "2026-01-01",
    "2026-01-01T00:00:00+00:00", "true", "false", "null", "EUR", "5 EUR", "=",
    "required_fields", "must_hold", "required_activity", "required_approval",
    "&", "|", "~", "9" * 50,
]  # fmt: skip
soups = st.lists(st.sampled_from(TOKENS), max_size=30).flatmap(
    lambda parts: st.sampled_from([" ".join(parts), "".join(parts)])
)


def _texts(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """Token soup, any text, and valid text cut anywhere."""
    cut = valid.map(str).flatmap(
        lambda t: st.integers(0, len(t)).map(lambda end: t[:end])
    )
    return st.one_of(soups, st.text(max_size=40), cut)


_TEXTS = {"condition": _texts(ct.conditions()), "criterion": _texts(ct.exit_criteria())}


@pytest.mark.parametrize(
    ("name", "parse", "valid"),
    [
        ("condition", parse_condition, ct.conditions()),
        ("criterion", parse_criterion, ct.exit_criteria()),
    ],
    ids=["condition", "criterion"],
)
@fuzz
@given(data=st.data())
def test_the_parsers_take_any_text(name, parse, valid, data):
    text = data.draw(_TEXTS[name])
    parsed = outcome(lambda: parse(text))
    if parsed is not None:
        # What parses prints as text that parses back to the same value.
        assert parse(str(parsed)) == parsed


# -- rules on hostile records ------------------------------------------------------
@fuzz
@given(ct.conditions(), st.lists(records(), max_size=4))
def test_rules_evaluate_any_record(condition, rows):
    compiled = compile_condition(condition)
    predicate = compiled.bind(AS_OF)
    for row in rows:
        outcome(functools.partial(predicate, row))
        outcome(functools.partial(explain, condition, row, as_of=AS_OF))
    # filter yields the records themselves: their values are the input's own.
    outcome(lambda: list(compiled.filter(rows, as_of=AS_OF)), computed=False)


# -- every calculator on hostile records --------------------------------------------
def _pipeline() -> pl.Pipeline:
    return PIPELINES[0]


def _kpi_calls() -> dict[str, Callable[[st.DataObject], None]]:
    """One entry point per KPI function: required arguments always drawn."""
    calls: dict[str, Callable[[st.DataObject], None]] = {}
    instants = st.one_of(st.just(AS_OF), ct.aware_datetimes(), anything())
    windows = st.one_of(ct.periods(), ct.intervals(), anything())
    special: dict[str, st.SearchStrategy[Any]] = {
        "as_of": instants,
        "start": instants,
        "period": windows,
        "per": st.one_of(
            st.sampled_from(["owner_id", "stage", "currency", ("a", "b")]),
            st.sampled_from(["day", "month", "quarter"]).map(kpis.by_period),
            anything(),
        ),
        "pipeline": st.one_of(st.just(_pipeline()), anything()),
        "contracts": st.one_of(st.just(CONTRACTS), anything()),
        "kpi": st.one_of(
            st.sampled_from([kpis.WinRate(), kpis.OpenPipeline()]), anything()
        ),
    }
    for name in kpis.__all__:
        function = getattr(kpis, name)
        if not inspect.isfunction(function) or name in {"by_period"}:
            continue
        parameters = inspect.signature(function).parameters

        def call(
            data: st.DataObject, function: Any = function, parameters: Any = parameters
        ) -> None:
            args: dict[str, Any] = {}
            for param in parameters.values():
                if param.default is not inspect.Parameter.empty and not data.draw(
                    st.booleans()
                ):
                    continue
                if param.name in special:
                    args[param.name] = data.draw(special[param.name])
                elif param.name in {
                    "deals",
                    "leads",
                    "subscriptions",
                    "rows",
                    "spend",
                    "reviews",
                    "records",
                    "series",
                    "observations",
                    "handoffs",
                }:
                    args[param.name] = data.draw(record_lists())
                else:
                    args[param.name] = data.draw(anything())
            outcome(lambda: function(**args))

        calls[f"kpis.{name}"] = call
    return calls


def _other_calls() -> dict[str, Callable[[st.DataObject], None]]:
    def draw_kwargs(
        data: st.DataObject, **strategies: st.SearchStrategy[Any]
    ) -> dict[str, Any]:
        return {
            k: data.draw(v) for k, v in strategies.items() if data.draw(st.booleans())
        }

    instants = st.one_of(st.just(AS_OF), ct.aware_datetimes(), anything())
    paths = st.one_of(st.sampled_from(["customer_id", "at", "amount", "x"]), anything())

    def btyd(data: st.DataObject) -> None:
        rows, end = data.draw(record_lists()), data.draw(instants)
        extra = draw_kwargs(
            data,
            customer=paths,
            at=paths,
            amount=paths,
            unit=anything(),
            multiplier=anything(),
            include_first=anything(),
            tz=anything(),
        )
        outcome(lambda: rfm.btyd_summary(rows, observation_end=end, **extra))

    def holdout(data: st.DataObject) -> None:
        rows, cal, end = (
            data.draw(record_lists()),
            data.draw(instants),
            data.draw(instants),
        )
        extra = draw_kwargs(data, customer=paths, amount=paths, multiplier=anything())
        outcome(
            lambda: rfm.calibration_holdout(
                rows, calibration_end=cal, observation_end=end, **extra
            )
        )

    def scores(data: st.DataObject) -> None:
        rows, as_of = data.draw(record_lists()), data.draw(instants)
        extra = draw_kwargs(data, customer=paths, amount=paths, bins=anything())
        outcome(lambda: rfm.rfm_scores(rows, as_of=as_of, **extra))

    def analytics(data: st.DataObject) -> None:
        pipeline = data.draw(st.one_of(st.sampled_from(PIPELINES), anything()))
        changes, as_of = data.draw(record_lists()), data.draw(instants)
        outcome(lambda: stage_analytics.stage_analytics(pipeline, changes, as_of=as_of))

    def decisions(data: st.DataObject) -> None:
        pipeline = data.draw(st.sampled_from(PIPELINES))
        record = data.draw(records())
        target = data.draw(
            st.one_of(st.sampled_from([s.key for s in pipeline.stages]), anything())
        )
        as_of = data.draw(instants)
        extra = draw_kwargs(
            data,
            history=record_lists(),
            activities=record_lists(),
            entered_at=instants,
            lost_reason=anything(),
            approvals=anything(),
        )
        outcome(lambda: pl.evaluate(pipeline, record, target, as_of=as_of, **extra))
        outcome(lambda: pl.advance(pipeline, record, target, as_of=as_of, **extra))
        extra.pop("lost_reason", None)
        outcome(lambda: pl.what_next(pipeline, record, as_of=as_of, **extra))

    def segment_tools(data: st.DataObject) -> None:
        rows = data.draw(st.lists(records(), max_size=5))
        tiering = data.draw(st.sampled_from(TIERINGS))
        model = data.draw(st.sampled_from(ICP_MODELS))
        segs = data.draw(st.sampled_from(SEGMENT_SETS))
        as_of = data.draw(instants)
        for row in rows:
            outcome(functools.partial(tiering.decide, row, as_of=as_of))
            outcome(functools.partial(model.score, row, as_of=as_of))
        outcome(
            lambda: segments.SegmentCounter.of(segs, as_of=as_of).update(rows).result()
        )

    calendars = st.sampled_from(CALENDARS)
    amounts = st.one_of(
        st.integers(0, 10**7).map(lambda s: timedelta(seconds=s)),
        st.sampled_from([timedelta.max, -timedelta(1)]),
        anything(),
    )

    def business_time(data: st.DataObject) -> None:
        calendar = data.draw(calendars)
        a, b = data.draw(instants), data.draw(instants)
        outcome(lambda: calendar.business_time(a, b))
        outcome(lambda: calendar.add(a, data.draw(amounts)))
        outcome(lambda: calendar.next_working(a))
        outcome(lambda: calendar.is_working(a))
        outcome(lambda: calendar.working_windows(data.draw(anything())))

    policies = st.one_of(st.sampled_from(SLA_POLICIES), anything())

    def sla(data: st.DataObject) -> None:
        chosen, record = data.draw(policies), data.draw(records())
        timeline, as_of = data.draw(record_lists()), data.draw(instants)
        extra = draw_kwargs(data, started_at=instants, at_field=paths)
        outcome(
            lambda: handoffs.sla_status(chosen, record, timeline, as_of=as_of, **extra)
        )
        changes = data.draw(
            st.one_of(record_lists(), st.lists(st.tuples(instants, anything())))
        )
        outcome(
            lambda: handoffs.measure_clock(
                data.draw(calendars),
                data.draw(amounts),
                data.draw(instants),
                changes,
                as_of=as_of,
                **draw_kwargs(data, at_risk=anything(), name=anything()),
            )
        )

    contracts = st.one_of(st.sampled_from(CONTRACTS), anything())

    def handoff_checks(data: st.DataObject) -> None:
        contract, record, as_of = (
            data.draw(contracts),
            data.draw(records()),
            data.draw(instants),
        )
        extra = draw_kwargs(data, activities=record_lists(), approvals=record_lists())
        outcome(lambda: handoffs.check_handoff(contract, record, as_of=as_of, **extra))
        fields = draw_kwargs(data, handed_field=paths, accepted_field=paths)
        outcome(lambda: handoffs.acceptance(contract, record, as_of=as_of, **fields))

    routers = st.sampled_from(ROUTERS)

    def routing(data: st.DataObject) -> None:
        router, as_of = data.draw(routers), data.draw(instants)
        state = data.draw(
            st.one_of(st.none(), st.just(crmcore.routing.RoutingState()), anything())
        )
        outcome(
            lambda: crmcore.route(
                router, data.draw(records()), as_of=as_of, state=state
            )
        )
        outcome(
            lambda: crmcore.route_batch(router, data.draw(record_lists()), as_of=as_of)
        )

    scoring_models = st.sampled_from(SCORING_MODELS) | ct.scoring_models()

    def rule_scores(data: st.DataObject) -> None:
        model, as_of = data.draw(scoring_models), data.draw(instants)
        record = data.draw(records() | ct.scoring_records())
        events = data.draw(st.none() | record_lists() | anything())
        outcome(lambda: model.score(record, as_of=as_of, events=events))
        rows = data.draw(record_lists() | st.lists(ct.scoring_records(), max_size=5))
        outcome(lambda: model.compile(as_of=as_of).totals(rows, events=events))
        outcome(lambda: model.compile(as_of=as_of).labels(rows))
        profile = data.draw(st.sampled_from(GRADING_PROFILES))
        outcome(lambda: profile.grades(rows, as_of=as_of))
        outcome(lambda: profile.grade(record, as_of=as_of))

    def predictive(data: st.DataObject) -> None:
        model = data.draw(st.sampled_from(BAYES_MODELS))
        rows = data.draw(record_lists())
        outcome(lambda: model.train(rows))
        table = model.train(BAYES_ROWS)
        outcome(lambda: table.probability(data.draw(records())))
        outcome(lambda: crmcore.evaluate_model(table, rows, outcome=data.draw(paths)))
        pairs = data.draw(st.lists(st.tuples(anything(), anything()), max_size=5))
        outcome(lambda: scoring.Evaluation().update(pairs).result())
        report = scoring.Evaluation().update([(0.2, False), (0.7, True)]).result()
        outcome(lambda: report.calibration(data.draw(anything())))
        outcome(lambda: report.lift(data.draw(anything())))
        outcome(lambda: scoring.BandConversion().update(pairs).result())
        outcome(
            lambda: scoring.split_by_time(
                rows, data.draw(instants), field=data.draw(paths)
            )
        )
        features = scoring.FeatureSet(BAYES_MODELS[1].features)
        outcome(lambda: features.rows(rows))

    def data_quality(data: st.DataObject) -> None:
        spec = data.draw(ct.data_specs())
        rows = data.draw(record_lists() | st.lists(ct.condition_records(), max_size=6))
        as_of = data.draw(instants)
        outcome(lambda: quality.data_trust(spec, rows, as_of=as_of))
        trust = quality.DataTrust(spec, AS_OF)
        for row in rows if isinstance(rows, list) else []:
            outcome(functools.partial(trust.explain, row))
        rules = outcome(
            lambda: quality.DuplicateRules(
                **draw_kwargs(
                    data,
                    id=paths,
                    email=paths,
                    phone=paths,
                    name=paths,
                    company=paths,
                    website=paths,
                    country=paths,
                    region=anything(),
                    threshold=anything(),
                    max_block=anything(),
                    free_mail=anything(),
                )
            )
        )
        outcome(lambda: quality.find_duplicates(rows, rules))
        for normalize in (
            quality.normalize_email,
            quality.normalize_name,
            quality.company_domain,
        ):
            outcome(functools.partial(normalize, data.draw(anything())))
        outcome(
            lambda: quality.normalize_phone(
                data.draw(anything()), data.draw(anything())
            )
        )
        outcome(
            lambda: quality.company_domain(
                data.draw(anything()), free_mail=data.draw(anything())
            )
        )

    def playbooks(data: st.DataObject) -> None:
        chosen = data.draw(st.sampled_from(PLAYBOOKS))
        sets = data.draw(
            st.dictionaries(
                st.sampled_from([*playbook.DATA_SETS, "leads", "accounts", "x"]),
                record_lists() | anything(),
                max_size=3,
            )
        )
        as_of = data.draw(instants)
        outcome(lambda: playbook.playbook_report(chosen, sets, as_of=as_of))
        outcome(lambda: playbook.check_playbook(chosen, data.draw(anything())))
        outcome(lambda: chosen.strategy.findings(data.draw(anything())))
        outcome(lambda: chosen.initiatives and chosen.initiatives.plan())
        statement = chosen.strategy.statement
        if statement is not None:
            outcome(lambda: statement.text(data.draw(anything())))

    return {
        "quality.trust/duplicates": data_quality,
        "playbook.report/checks": playbooks,
        "scoring.models/grades": rule_scores,
        "scoring.bayes/evaluation": predictive,
        "routing.route/route_batch": routing,
        "business_time.BusinessCalendar": business_time,
        "handoffs.sla_status/measure_clock": sla,
        "handoffs.check_handoff/acceptance": handoff_checks,
        "rfm.btyd_summary": btyd,
        "rfm.calibration_holdout": holdout,
        "rfm.rfm_scores": scores,
        "stage_analytics.stage_analytics": analytics,
        "pipelines.evaluate/advance/what_next": decisions,
        "segments.tiering/icp/counter": segment_tools,
    }


CALCULATORS = {**_kpi_calls(), **_other_calls()}


@pytest.mark.parametrize("name", sorted(CALCULATORS))
@fuzz
@given(data=st.data())
def test_calculators_take_any_records(name, data):
    CALCULATORS[name](data)


# -- every public callable of crmcore.__all__ --------------------------------------
def _constructible(obj: Any) -> bool:
    if isinstance(obj, type):
        if issubclass(obj, BaseException) or getattr(obj, "_is_protocol", False):
            return False
        return not inspect.isabstract(obj) and obj is not Condition
    # Type aliases (Outcome, FieldPath...) are not callables to fuzz.
    return inspect.isfunction(obj)


# Callables that return (part of) what they were given: a value read from a
# record, the instant checked, the value unstructured.
ECHOES = {"get_field", "require_aware", "unstructure"}
PUBLIC = sorted(
    name for name in crmcore.__all__ if _constructible(getattr(crmcore, name))
)


@pytest.mark.parametrize("name", PUBLIC)
@fuzz
@given(data=st.data())
def test_every_public_callable_takes_any_arguments(name, data):
    target = getattr(crmcore, name)
    parameters = inspect.signature(target).parameters.values()
    has_var_positional = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in parameters:
        if param.kind is param.VAR_POSITIONAL:
            args.extend(data.draw(st.lists(anything(), max_size=3)))
            continue
        if param.kind is param.VAR_KEYWORD:
            kwargs.update(
                data.draw(
                    st.dictionaries(st.sampled_from(FIELDS), anything(), max_size=3)
                )
            )
            continue
        # Before a *args, parameters go by position, so none is skipped.
        positional = param.kind is param.POSITIONAL_ONLY or (
            param.kind is param.POSITIONAL_OR_KEYWORD and has_var_positional
        )
        optional = param.default is not param.empty and not positional
        if optional and not data.draw(st.booleans()):
            continue
        value = data.draw(record_lists() if data.draw(st.booleans()) else anything())
        if positional:
            args.append(value)
        else:
            kwargs[param.name] = value
    with CONDITION_KINDS.scoped(), CRITERION_KINDS.scoped():
        computed = not isinstance(target, type) and name not in ECHOES
        outcome(lambda: target(*args, **kwargs), computed=computed)
