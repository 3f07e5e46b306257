# mypy: disable-error-code="comparison-overlap"
"""Rule-based scoring: worked examples, decay, grades, and the laws of a score."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.conditions import Duration, compile_condition, condition_fields, field
from crmcore.errors import (
    CrmcoreError,
    DataError,
    DataTypeError,
    DefinitionError,
    UnknownKindError,
)
from crmcore.scoring import (
    DECAY_KINDS,
    GRADES,
    RULE_KINDS,
    Band,
    CompoundDecay,
    DecayWindow,
    EventRule,
    GradeCriterion,
    GradingProfile,
    HalfLife,
    LinearDecay,
    Rule,
    RuleContext,
    RuleGroup,
    RuleOutcome,
    ScoringModel,
    whole_periods,
)
from crmcore.serialization import from_json, structure, to_json, unstructure
from crmcore.testing import conditions, scoring_models, scoring_records

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)  # the strategies' reference instant
NOW = datetime(2026, 3, 1, tzinfo=UTC)
laws = settings(suppress_health_check=list(HealthCheck), deadline=None)


def outcome(compute: Any) -> Any:
    """A value, or the (type, message) of the crmcore error computing it raised."""
    try:
        return compute()
    except CrmcoreError as error:
        return type(error), str(error)


def days_ago(days: float, *, kind: str = "visit") -> dict[str, Any]:
    return {"kind": kind, "at": NOW - timedelta(days=days)}


FIT = RuleGroup(
    "fit",
    (
        Rule("saas", field("industry") == "saas", 30),
        Rule("enterprise", field("employees") >= 1000, 25),
        Rule("student", field("title") == "student", -20),
    ),
    cap=50,
    bands=(Band("A", 50), Band("B", 25), Band("C")),
)
ENGAGEMENT = RuleGroup(
    "engagement",
    (
        EventRule("visits", field("kind") == "visit", 5, cap=12),
        EventRule("demo", field("kind") == "demo", 40),
        EventRule("unsubscribe", field("kind") == "unsubscribe", -30, cap=40),
    ),
    bands=(Band("1", 40), Band("2", 15), Band("3")),
)
MODEL = ScoringModel(
    "leads",
    (FIT, ENGAGEMENT),
    cap=80,
    floor=0,
    bands=(Band("sql", 70), Band("mql", 40)),
    label=("fit", "engagement"),
)


# -- worked examples ---------------------------------------------------------------
def test_points_add_and_negative_points_subtract():
    lead = {"industry": "saas", "employees": 5000, "title": "student"}
    score = MODEL.score(lead, as_of=NOW)
    # 30 + 25 - 20 = 35: under the fit cap of 50; no events.
    assert score.group("fit").score == 35
    assert score.total == 35
    assert (score.group("fit").band, score.group("engagement").band) == ("B", "3")
    assert score.label == "B3"
    assert score.band is None  # under mql's 40


def test_a_group_cap_cuts_the_sum_and_says_so():
    lead = {"industry": "saas", "employees": 5000}
    score = MODEL.score(lead, as_of=NOW)
    fit = score.group("fit")
    assert (fit.raw, fit.score, fit.capped, fit.band) == (55, 50, True, "A")
    cut = [c for c in score.contributions if c.group == "fit" and c.rule is None]
    assert [(c.points, c.detail) for c in cut] == [(-5, "group cap 50")]


def test_an_event_rule_counts_each_event_up_to_its_cap():
    lead = {"activities": [days_ago(1), days_ago(2), days_ago(3)]}
    score = MODEL.score(lead, as_of=NOW)
    visits = next(c for c in score.contributions if c.rule == "visits")
    # 3 visits x 5 = 15, capped at 12.
    assert (visits.raw, visits.points, visits.capped) == (15, 12, True)
    assert len(visits.events) == 3
    assert score.group("engagement").score == 12


def test_a_negative_event_rule_is_capped_in_size_and_the_floor_holds():
    lead = {"activities": [days_ago(1, kind="unsubscribe")] * 2}
    score = MODEL.score(lead, as_of=NOW)
    unsubscribe = next(c for c in score.contributions if c.rule == "unsubscribe")
    # 2 x -30 = -60, held at -40; the total -40 is raised to the floor 0.
    assert (unsubscribe.raw, unsubscribe.points) == (-60, -40)
    assert score.total == 0
    assert score.contributions[-1].detail == "floor 0"
    assert score.contributions[-1].points == 40


def test_the_total_cap_and_the_combined_label():
    lead = {
        "industry": "saas",
        "employees": 5000,
        "activities": [days_ago(1, kind="demo"), days_ago(2)],
    }
    score = MODEL.score(lead, as_of=NOW)
    # fit 50 (capped), engagement 40 + 5 = 45: 95, capped at 80.
    assert [g.score for g in score.groups] == [50, 45]
    assert score.total == 80
    assert (score.label, score.band) == ("A1", "sql")
    assert score.total == sum(c.points for c in score.contributions)


def test_cuts_show_in_words():
    lead = {"industry": "saas", "employees": 5000}
    text = str(MODEL.score(lead, as_of=NOW)).splitlines()
    assert "    ↓ group cap 50: -5" in text
    floored = MODEL.score({"activities": [days_ago(1, kind="unsubscribe")]}, as_of=NOW)
    assert str(floored).splitlines()[-1] == "  ↑ floor 0: +30"
    capped = ScoringModel("m", (FIT,), cap=20).score(lead)
    assert str(capped).splitlines()[-1] == "  ↓ total cap 20: -30"


def test_an_unhashable_vendor_decay_still_decays():
    @attrs.define
    class Halving:
        """Half of the points, whatever the age (a mutable, unhashable kind)."""

        kind = "halving"

        def bind(self, as_of: datetime) -> Any:
            return lambda at: Decimal("0.5")

        def describe(self) -> str:
            return "half"

    with DECAY_KINDS.scoped(Halving):
        rule = EventRule("any", None, 10, decay=Halving())
        model = ScoringModel("m", (RuleGroup("e", (rule,)),))
        lead = {"activities": [days_ago(1), days_ago(2)]}
        assert model.score(lead, as_of=NOW).total == 10
        assert model.compile(as_of=NOW).totals([lead]) == [10]


def test_a_score_without_a_label_shows_its_band():
    model = ScoringModel("m", (FIT,), bands=(Band("mql", 20),))
    assert str(model.score({"industry": "saas"})).splitlines()[0] == "m: 30 (mql)"
    assert str(ScoringModel("m", (FIT,)).score({})).splitlines()[0] == "m: 0"


def test_odd_events_are_scored_record_by_record():
    compiled = MODEL.compile(as_of=NOW)
    records = [
        {"activities": (days_ago(1, kind="demo"),)},  # a tuple, not a list
        {"activities": [{"kind": ["demo"], "at": NOW}]},  # an unhashable kind
        {},
    ]
    assert compiled.totals(records) == [40, 0, 0]
    # An event no rule matches needs no time; one that matches does.
    assert compiled.totals([{"activities": [{"kind": "call"}]}]) == [0]
    demos = ScoringModel(
        "m", (RuleGroup("e", (EventRule("demo", field("kind").is_in({"demo"}), 5),)),)
    ).compile(as_of=NOW)
    undated = [{"activities": [{"kind": "call"}, days_ago(1, kind="demo")]}]
    assert demos.totals(undated) == [5] == [demos.total(undated[0])]


def test_events_after_as_of_have_not_happened():
    lead = {"activities": [days_ago(-1, kind="demo"), days_ago(1, kind="demo")]}
    score = MODEL.score(lead, as_of=NOW)
    demo = next(c for c in score.contributions if c.rule == "demo")
    assert demo.points == 40
    assert [e.counted for e in demo.events] == [False, True]
    assert "1 after as_of" in demo.detail


def test_a_score_explains_itself_in_words():
    lead = {"industry": "saas", "activities": [days_ago(1)]}
    assert str(MODEL.score(lead, as_of=NOW)) == "\n".join(
        [
            "leads: 35 (B3)",
            "  fit: 30 [B]",
            '    ✓ saas: +30  (industry == "saas" held)',
            "    ✗ enterprise: +0  (employees >= 1000 did not hold)",
            '    ✗ student: +0  (title == "student" did not hold)',
            "  engagement: 5 [3]",
            '    ✓ visits: +5  (1 event where kind == "visit" × 5)',
            '    ✗ demo: +0  (0 events where kind == "demo" × 40)',
            '    ✗ unsubscribe: +0  (0 events where kind == "unsubscribe" × -30)',
        ]
    )


# -- decay, by hand -----------------------------------------------------------------
def decayed(decay: Any, *ages: float, points: int = 10) -> Decimal:
    model = ScoringModel(
        "d", (RuleGroup("e", (EventRule("any", None, points, decay=decay),)),)
    )
    lead = {"activities": [days_ago(age) for age in ages]}
    return model.score(lead, as_of=NOW).total


def test_linear_decay_loses_a_share_per_whole_period():
    decay = LinearDecay(25, "30d")
    assert decayed(decay, 29) == 10  # no whole period yet
    assert decayed(decay, 45) == Decimal("7.50")  # 1 period: 1 - 0.25
    assert decayed(decay, 75) == 5  # 2 periods: 1 - 0.50
    assert decayed(decay, 130) == 0  # 4 periods: nothing left, never negative
    assert decayed(decay, 45, 75) == Decimal("12.50")


def test_compound_decay_loses_a_share_of_what_is_left():
    decay = CompoundDecay(50, "1w")
    assert decayed(decay, 6) == 10
    assert decayed(decay, 15) == Decimal("2.50")  # 0.5 ** 2
    assert decayed(decay, 22) == Decimal("1.25")  # 0.5 ** 3
    # 0.9 ** 3 = 0.729: 7.29 points.
    assert decayed(CompoundDecay(10, "1d"), 3) == Decimal("7.29")
    assert decayed(CompoundDecay(100, "1d"), 3) == 0  # all lost in one period
    assert decayed(CompoundDecay(1, "1s"), 30) == 0  # 0.99 ** 2,592,000 vanishes


def test_a_half_life_halves_continuously():
    decay = HalfLife("14d")
    assert decayed(decay, 0) == 10
    assert decayed(decay, 14) == 5
    assert decayed(decay, 28) == Decimal("2.50")
    # 10 x 2 ** -0.5 = 7.0710678...: rounded half-even to 7.07.
    assert decayed(decay, 7) == Decimal("7.07")
    assert decayed(decay, 14 * 65) == 0  # past 64 half-lives: nothing


def test_a_window_counts_events_in_full_then_not_at_all():
    decay = DecayWindow("90d")
    assert decayed(decay, 89, 90) == 20
    assert decayed(decay, 91) == 0


def test_decay_periods_are_calendar_periods_counted_back_from_as_of():
    as_of = datetime(2026, 3, 31, tzinfo=UTC)
    month = Duration(months=1)
    assert whole_periods(month, datetime(2026, 1, 31, tzinfo=UTC), as_of) == 2
    # From March 30 one month back is February 28; two is January 30.
    mar30 = datetime(2026, 3, 30, tzinfo=UTC)
    assert whole_periods(month, datetime(2026, 1, 31, tzinfo=UTC), mar30) == 1
    # A calendar day across the spring change in Berlin is 23 hours long.
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 29, tzinfo=berlin)
    end = datetime(2026, 3, 30, tzinfo=berlin)
    assert end.timestamp() - start.timestamp() == 23 * 3600
    assert whole_periods(Duration(days=1), start, end) == 1
    assert whole_periods(Duration(days=1), end, end) == 0
    assert whole_periods(Duration(days=1), end + timedelta(days=1), end) == 0
    decay = LinearDecay(10, "1mo")
    assert decay.factor(datetime(2026, 1, 31, tzinfo=UTC), as_of) == Decimal("0.80")
    # Periods reaching before year 1 never fit.
    first = datetime.min.replace(tzinfo=UTC)
    assert whole_periods(Duration(years=3000), first, as_of) == 0
    assert whole_periods(Duration(years=1), first, as_of) == 2025
    # The first guess (elapsed time over a mean month) is corrected both ways.
    feb28 = datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert whole_periods(month, feb28, as_of) == 0  # 31.5 days, but not a month
    year = Duration(years=1)
    new_year = datetime(2027, 1, 1, tzinfo=UTC)
    assert whole_periods(year, datetime(2026, 1, 1, tzinfo=UTC), new_year) == 1


@laws
@given(
    st.sampled_from(
        [Duration(months=1), Duration(years=1), Duration(days=1), Duration(weeks=2)]
    ),
    st.integers(0, 5000),
    st.sampled_from(["UTC", "Europe/Berlin", "America/Santiago"]),
)
def test_whole_periods_is_the_largest_count_that_fits(every, hours, zone):
    as_of = datetime(2026, 3, 31, 12, tzinfo=ZoneInfo(zone))
    at = as_of - timedelta(hours=hours * 7)
    count = whole_periods(every, at, as_of)

    def fits(n: int) -> bool:
        span = Duration(
            years=every.years * n,
            months=every.months * n,
            weeks=every.weeks * n,
            days=every.days * n,
        )
        return span.before(as_of) >= at

    assert count == 0 or fits(count)
    assert not fits(count + 1)


def decays() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(
            LinearDecay, st.integers(1, 100), st.sampled_from(["1d", "1mo", "2w"])
        ),
        st.builds(
            CompoundDecay, st.integers(1, 100), st.sampled_from(["1d", "1mo", "1y"])
        ),
        st.builds(HalfLife, st.sampled_from(["1d", "14d", "36h"])),
        st.builds(DecayWindow, st.sampled_from(["30d", "1mo", "1y"])),
    )


@laws
@given(decays(), st.integers(0, 10**8), st.integers(0, 10**8))
def test_decay_is_monotonic_in_age_and_stays_between_0_and_1(decay, young, old):
    young, old = sorted((young, old))
    factor = decay.bind(NOW)
    newer = factor(NOW - timedelta(seconds=young))
    older = factor(NOW - timedelta(seconds=old))
    assert 0 <= older <= newer <= 1
    assert factor(NOW) == 1


# -- grades -------------------------------------------------------------------------
PROFILE = GradingProfile(
    "buyer",
    (
        GradeCriterion(
            "decision_maker", field("title").is_in({"CEO", "CFO"}), matched=3
        ),
        GradeCriterion("saas", field("industry") == "saas", matched=2, unmatched=-1),
        GradeCriterion("big", field("employees") >= 500, matched=1),
    ),
)


def test_grades_move_by_thirds_from_the_base():
    assert GRADES[2] == "D"
    # D, +3 +2 +1 = six thirds (two letters): B.
    grade = PROFILE.grade({"title": "CEO", "industry": "saas", "employees": 900})
    assert (grade.grade, grade.thirds, grade.clamped) == ("B", 6, False)
    # D, -1: D-.
    assert PROFILE.grade({}).grade == "D-"
    assert [s.thirds for s in PROFILE.grade({}).steps] == [0, -1, 0]
    # From B+, +6: past A+, held there.
    high = attrs.evolve(PROFILE, base="B+")
    top = high.grade({"title": "CEO", "industry": "saas", "employees": 900})
    assert (top.grade, top.clamped) == ("A+", True)
    # From D-, -1 and -3: below F, held at F.
    low = GradingProfile(
        "low",
        (GradeCriterion("x", field("x") == 1, matched=0, unmatched=-3),),
        base="D-",
    )
    assert low.grade({}).grade == "F"
    assert "from D-, -3 thirds" in str(low.grade({}))


@laws
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "title": st.sampled_from(["CEO", "CTO"]),
                "industry": st.sampled_from(["saas", "retail"]),
                "employees": st.integers(0, 1000),
            },
        ),
        max_size=20,
    )
)
def test_every_way_to_grade_gives_the_same_grade(records):
    one = [PROFILE.grade(record).grade for record in records]
    grader = PROFILE.grader()
    assert [grader(record) for record in records] == one
    assert PROFILE.grades(records) == one
    assert PROFILE.grades(iter(records)) == one


def test_grading_errors_are_the_same_on_every_path():
    profile = GradingProfile(
        "p",
        (
            GradeCriterion("a", field("a") >= 1),
            GradeCriterion("b", field("b") >= 1),
        ),
    )
    records = [{"a": 1, "b": 2}, {"a": 1, "b": "x"}, {"a": "y", "b": 1}]
    with pytest.raises(DataTypeError) as one:
        [profile.grade(record) for record in records]
    with pytest.raises(DataTypeError) as many:
        profile.grades(records)
    assert str(one.value) == str(many.value)
    assert "b: expected a value comparable with 1, got 'x'" in str(many.value)


# -- the laws of a score --------------------------------------------------------------
@laws
@given(scoring_models(), st.lists(scoring_records(), max_size=8))
def test_every_path_gives_the_same_score_and_the_same_first_error(model, records):
    compiled = model.compile(as_of=AS_OF)
    one = outcome(lambda: [compiled.total(record) for record in records])
    assert outcome(lambda: compiled.totals(records)) == one
    if isinstance(one, tuple):  # the same error, from the same record
        return
    labelled = compiled.labels(records)
    for record, total, row in zip(records, one, labelled, strict=True):
        score = compiled.score(record)
        assert score.total == total == row[0]
        assert (score.band, score.label) == row[1:]
        assert score.total == sum(c.points for c in score.contributions)
        assert model.score(record, as_of=AS_OF) == score


@laws
@given(scoring_models(), st.lists(scoring_records(), max_size=8))
def test_caps_and_the_floor_are_never_exceeded(model, records):
    compiled = model.compile(as_of=AS_OF)
    try:
        scores = [compiled.score(record) for record in records]
    except CrmcoreError:
        return
    by_name = {group.name: group for group in model.groups}
    for score in scores:
        for group in score.groups:
            cap = by_name[group.name].cap
            assert cap is None or group.score <= cap
        assert model.cap is None or score.total <= model.cap
        assert model.floor is None or score.total >= model.floor
        for line in score.contributions:
            rule = next(
                (
                    r
                    for r in by_name.get(line.group or "", FIT).rules
                    if r.name == line.rule
                ),
                None,
            )
            cap = getattr(rule, "cap", None)
            assert cap is None or abs(line.points) <= cap


@laws
@given(scoring_models(), st.lists(scoring_records(), max_size=8), st.randoms())
def test_scores_do_not_depend_on_the_order_of_records(model, records, rng):
    compiled = model.compile(as_of=AS_OF)
    try:
        totals = compiled.totals(records)
    except CrmcoreError:
        return
    order = list(range(len(records)))
    rng.shuffle(order)
    assert compiled.totals([records[i] for i in order]) == [totals[i] for i in order]


@laws
@given(scoring_models(), st.lists(scoring_records(), max_size=8))
def test_events_passed_apart_score_as_events_in_the_record(model, records):
    compiled = model.compile(as_of=AS_OF)
    try:
        inside = compiled.totals(records)
    except CrmcoreError:
        return
    bare = [{**r, "id": n, "activities": None} for n, r in enumerate(records)]
    events = [
        {**event, "record_id": n}
        for n, record in enumerate(records)
        for event in record["activities"]
    ]
    assert compiled.totals(bare, events=events) == inside
    assert [
        compiled.total(b, events=r["activities"])
        for b, r in zip(bare, records, strict=True)
    ] == inside


KINDS = ("visit", "form", "demo", "call")


@laws
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.integers(-10, 10),
            st.none() | st.integers(1, 20),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda rule: rule[0],
    ),
    st.none() | st.just(DecayWindow("90d")),
    st.lists(scoring_records(), max_size=10),
)
def test_event_rules_by_kind_take_the_one_loop_and_agree(rules, decay, records):
    group = RuleGroup(
        "e",
        [
            EventRule(f"r{n}", field("kind") == kind, points, cap=cap)
            for n, (kind, points, cap) in enumerate(rules)
        ],
        decay=decay,
    )
    compiled = ScoringModel("m", (group,)).compile(as_of=AS_OF)
    one = [compiled.total(record) for record in records]
    assert compiled.totals(records) == one
    assert compiled.totals([attrs_record(r) for r in records]) == one


@attrs.frozen
class Lead:
    activities: list[Any]


@attrs.frozen
class Event:
    kind: str
    at: datetime


def attrs_record(record: dict[str, Any]) -> Lead:
    return Lead([Event(e["kind"], e["at"]) for e in record["activities"]])


def test_many_records_are_scored_in_chunks_the_same_way():
    rng = random.Random(4)
    leads = [
        {
            "industry": rng.choice(["saas", "retail"]),
            "employees": rng.choice([10, 2000]),
            "title": rng.choice(["CEO", "student"]),
            "activities": [
                days_ago(rng.randrange(0, 100), kind=rng.choice(KINDS))
                for _ in range(rng.randrange(0, 4))
            ],
        }
        for _ in range(5000)
    ]
    compiled = MODEL.compile(as_of=NOW)
    assert compiled.totals(leads) == [compiled.total(lead) for lead in leads]
    assert compiled.totals(iter(leads)) == compiled.totals(leads)


# -- definitions as data and bad input ------------------------------------------------
@laws
@given(scoring_models())
def test_models_round_trip_through_json(model):
    assert from_json(to_json(model), ScoringModel) == model
    assert structure(unstructure(model), ScoringModel) == model


def test_a_definition_written_by_hand_loads():
    model = structure(
        {
            "name": "hand",
            "groups": [
                {
                    "name": "fit",
                    "rules": [
                        {
                            "kind": "rule",
                            "name": "saas",
                            "condition": {
                                "kind": "eq",
                                "field": "industry",
                                "value": "saas",
                            },
                            "points": 20,
                        }
                    ],
                    "bands": [{"name": "A", "at_least": 20}, {"name": "B"}],
                },
                {
                    "name": "engagement",
                    "decay": {"kind": "half_life", "half_life": "14d"},
                    "rules": [
                        {
                            "kind": "per_event",
                            "name": "demo",
                            "where": {"kind": "eq", "field": "kind", "value": "demo"},
                            "points": "40",
                            "cap": 80,
                        }
                    ],
                },
            ],
            "label": ["fit"],
        },
        ScoringModel,
    )
    assert model.groups[1].decay == HalfLife(Duration(days=14))
    assert model.score({"industry": "saas"}, as_of=NOW).label == "A"


def test_bad_definitions_report_every_problem_with_its_path():
    with pytest.raises(DefinitionError) as caught:
        structure(
            {
                "name": "bad",
                "groups": [
                    {
                        "name": "fit",
                        "rules": [
                            {"kind": "rule", "name": "a", "condition": {"kind": "eq"}},
                            {"kind": "sometimes", "name": "b"},
                        ],
                        "cap": 1.5,
                    }
                ],
                "floor": "x",
            },
            ScoringModel,
        )
    text = str(caught.value)
    assert "$.groups[0].rules[0]" in text
    assert "$.groups[0].rules[1].kind: unknown scoring rule kind 'sometimes'" in text
    assert "$.groups[0].cap" in text
    assert "$.floor" in text


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Rule("a", field("x") == 1, 1.5), DataTypeError, "points"),
        (lambda: Rule("a", field("x") == 1, 10**10), DataError, "1,000,000,000"),
        (lambda: Rule("a", field("x") == 1, "0.001"), DataError, "2 decimals"),
        (lambda: Rule("a", "x == 1", 1), DataTypeError, "condition"),
        (lambda: EventRule("a", None, 1, cap=0), DataError, "cap"),
        (lambda: EventRule("a", None, 1, decay="1d"), DataTypeError, "decay"),
        (lambda: RuleGroup("g", []), DataError, "at least one rule"),
        (
            lambda: RuleGroup("g", [Rule("a", field("x") == 1, 1)] * 2),
            DataError,
            "rules[1].name",
        ),
        (lambda: RuleGroup("g", [field("x") == 1]), DataTypeError, "rules[0]"),
        (
            lambda: RuleGroup(
                "g", [Rule("a", field("x") == 1, 1)], bands=[Band("A"), Band("B")]
            ),
            DataError,
            "at most one",
        ),
        (
            lambda: RuleGroup(
                "g", [Rule("a", field("x") == 1, 1)], bands=[Band("A", 1), Band("B", 1)]
            ),
            DataError,
            "bands[1].at_least",
        ),
        (lambda: ScoringModel("m", []), DataError, "at least one group"),
        (lambda: ScoringModel("m", [FIT], label=["nope"]), DataError, "label[0]"),
        (
            lambda: ScoringModel("m", [attrs.evolve(FIT, bands=())], label=["fit"]),
            DataError,
            "a group with bands",
        ),
        (lambda: ScoringModel("m", [FIT], floor=10, cap=5), DataError, "floor"),
        (lambda: LinearDecay(0, "1d"), DataError, "percent"),
        (lambda: LinearDecay(101, "1d"), DataError, "percent"),
        (lambda: LinearDecay(10, 30), DataTypeError, "every"),
        (lambda: HalfLife("1mo"), DataError, "half_life"),
        (lambda: DecayWindow(None), DataTypeError, "within"),
        (
            lambda: GradeCriterion("a", field("x") == 1, matched=13),
            DataTypeError,
            "matched",
        ),
        (
            lambda: GradingProfile(
                "p", [GradeCriterion("a", field("x") == 1)], base="E"
            ),
            DataError,
            "base",
        ),
        (lambda: GradingProfile("p", []), DataError, "at least one criterion"),
    ],
)
def test_bad_values_are_crmcore_errors_naming_the_field(build, error, message):
    with pytest.raises(error) as caught:
        build()
    assert message in str(caught.value)


def test_event_rules_need_as_of_and_dated_events():
    with pytest.raises(
        DataError, match="as_of: expected an aware datetime: rule 'visits'"
    ):
        MODEL.compile()
    with pytest.raises(DataTypeError, match=r"events\[1\]\.at: expected an aware"):
        MODEL.score({"activities": [days_ago(1), {"kind": "visit"}]}, as_of=NOW)
    naive = {"kind": "visit", "at": datetime(2026, 1, 1)}
    with pytest.raises(DataTypeError, match=r"events\[0\]\.at"):
        MODEL.compile(as_of=NOW).totals([{"activities": [naive]}])
    with pytest.raises(DataTypeError, match="events: expected an iterable"):
        MODEL.score({}, as_of=NOW, events="visit")
    with pytest.raises(DataTypeError, match="activities: expected an iterable"):
        MODEL.score({"activities": 3}, as_of=NOW)
    with pytest.raises(DataError, match=r"events\[0\]\.record_id"):
        MODEL.compile(as_of=NOW).totals([{}], events=[{"kind": "visit"}])
    fit_only = ScoringModel("fit", (FIT,))
    assert fit_only.compile().total({"industry": "saas"}) == 30
    with pytest.raises(DataError, match="group"):
        fit_only.score({}).group("engagement")


def test_a_vendor_rule_kind_scores_like_a_built_in():
    @attrs.frozen
    class PerSeat:
        """A point per ten employees."""

        kind = "per_seat"
        name: str

        def bind(self, context: RuleContext) -> Any:
            return lambda record, events: Decimal(record.get("employees", 0) // 10)

        def explain(
            self, record: Any, events: Any, context: RuleContext
        ) -> RuleOutcome:
            points = Decimal(record.get("employees", 0) // 10)
            return RuleOutcome(points > 0, points, points, "employees / 10")

    with RULE_KINDS.scoped(PerSeat):
        model = ScoringModel("m", (RuleGroup("fit", (PerSeat("seats"), FIT.rules[0])),))
        compiled = model.compile()
        records = [{"employees": 120, "industry": "saas"}, {"employees": 5}]
        assert compiled.totals(records) == [42, 0]
        assert [compiled.score(r).total for r in records] == [42, 0]
        assert from_json(to_json(model), ScoringModel) == model
    assert "per_seat" not in RULE_KINDS
    with pytest.raises(UnknownKindError):
        RULE_KINDS.lookup("per_seat")


def test_the_registries_hold_the_built_ins():
    assert list(RULE_KINDS) == ["per_event", "rule"]
    assert list(DECAY_KINDS) == ["compound", "half_life", "linear", "window"]
    assert [
        d.describe()
        for d in (
            LinearDecay(25, "30d"),
            CompoundDecay(50, "1w"),
            HalfLife("14d"),
            DecayWindow("90d"),
        )
    ] == [
        "-25% per 30d",
        "-50% of what is left per 1w",
        "half-life 14d",
        "counts for 90d",
    ]


@laws
@given(conditions(max_leaves=4))
def test_a_model_reads_the_fields_of_its_conditions(condition):
    model = ScoringModel("m", (RuleGroup("g", (Rule("r", condition, 1),)),))
    assert set(model.fields()) == set(condition_fields(condition))
    assert ScoringModel("m", (ENGAGEMENT,)).fields() == ("activities",)


# -- what the review found: each once, so it stays fixed ---------------------------------
def test_equal_instants_in_two_zones_are_scored_each_on_its_own_wall_clock():
    new_york = ZoneInfo("America/New_York")
    as_ny = datetime(2026, 3, 9, 0, 30, tzinfo=new_york)
    as_utc = as_ny.astimezone(UTC)
    model = ScoringModel(
        "m",
        (
            RuleGroup(
                "e",
                (EventRule("v", field("kind") == "pv", 10),),
                decay=DecayWindow("1d"),
            ),
        ),
    )
    lead = {
        "activities": [{"kind": "pv", "at": datetime(2026, 3, 8, 5, 15, tzinfo=UTC)}]
    }
    first = model.score(lead, as_of=as_ny).total
    compiled = model.compile(as_of=as_utc)
    assert compiled.total(lead) == compiled.totals([lead])[0]
    assert model.score(lead, as_of=as_ny).total == first
    recent = compile_condition(field("t").within_last("1d"))
    record = {"t": datetime(2026, 3, 8, 5, 15, tzinfo=UTC)}
    assert recent.matches(record, as_of=as_ny) == recent.matches(record, as_of=as_ny)
    assert recent.matches(record, as_of=as_utc) is True


def test_ages_are_elapsed_time_across_a_dst_change():
    new_york = ZoneInfo("America/New_York")
    as_of = datetime(2026, 3, 8, 4, tzinfo=new_york)
    at = datetime(2026, 3, 8, 1, tzinfo=new_york)  # two hours before, clocks jumped
    assert HalfLife("1h").factor(at, as_of) == HalfLife("1h").factor(
        at.astimezone(UTC), as_of
    )
    assert HalfLife("1h").factor(at, as_of) == Decimal("0.25")
    assert whole_periods(Duration(hours=1), at, as_of) == 2
    model = ScoringModel(
        "m", (RuleGroup("e", (EventRule("v", None, 8, decay=HalfLife("1h")),)),)
    )
    score = model.score({"activities": [{"at": at}]}, as_of=as_of)
    assert score.contributions[0].events[0].age == timedelta(hours=2)
    assert score.total == 2


def test_mappings_other_than_dicts_are_read_without_defaults():
    from collections import Counter, defaultdict

    model = ScoringModel("m", (RuleGroup("fit", (Rule("pos", field("x") > -1, 10),)),))
    compiled = model.compile()
    counters = [Counter(y=1), defaultdict(int, y=1)]
    assert compiled.totals(counters) == [compiled.total(r) for r in counters] == [0, 0]
    assert "x" not in counters[1]
    profile = GradingProfile("p", (GradeCriterion("pos", field("x") > -1, matched=3),))
    assert profile.grades(counters) == [profile.grade(r).grade for r in counters]


def test_a_rule_of_no_points_still_raises_where_it_would():
    model = ScoringModel(
        "m",
        (
            RuleGroup(
                "fit",
                (
                    Rule("big", field("employees") > 100, 0),
                    Rule("saas", field("industry") == "saas", 10),
                ),
            ),
        ),
    ).compile()
    lead = {"employees": "lots", "industry": "saas"}
    with pytest.raises(DataTypeError, match="employees"):
        model.total(lead)
    with pytest.raises(DataTypeError, match="employees"):
        model.totals([lead])
    even = GradingProfile(
        "p", (GradeCriterion("big", field("employees") > 100, matched=1, unmatched=1),)
    )
    with pytest.raises(DataTypeError, match="employees"):
        even.grades([lead])


def test_vendor_rules_and_decays_must_give_exact_numbers():
    @attrs.frozen
    class Tenth:
        kind = "tenth"
        name: str = "tenth"

        def bind(self, context: RuleContext) -> Any:
            return lambda record, events: record["r"] * 0.1

        def explain(self, record: Any, events: Any, context: RuleContext) -> Any:
            return RuleOutcome(True, record["r"] * 0.1, record["r"] * 0.1, "")

    @attrs.frozen
    class Third:
        kind = "third"

        def bind(self, as_of: datetime) -> Any:
            return lambda at: 0.3

        def describe(self) -> str:
            return "a third"

    with RULE_KINDS.scoped(Tenth), DECAY_KINDS.scoped(Third):
        model = ScoringModel("m", (RuleGroup("g", (Tenth(),)),)).compile()
        for call in (
            lambda: model.total({"r": 1}),
            lambda: model.totals([{"r": 1}]),
            lambda: model.score({"r": 1}),
        ):
            with pytest.raises(DataTypeError, match="rule 'tenth'"):
                call()
        decayed = ScoringModel(
            "m", (RuleGroup("e", (EventRule("v", None, 10, decay=Third()),)),)
        ).compile(as_of=NOW)
        lead = {"activities": [days_ago(1)]}
        for call in (lambda: decayed.total(lead), lambda: decayed.totals([lead])):
            with pytest.raises(DataTypeError, match="decay 'third'"):
                call()

        @attrs.frozen
        class Nameless:
            kind = "nameless"

            def bind(self, context: RuleContext) -> Any:
                return lambda record, events: Decimal(0)

            def explain(self, record: Any, events: Any, context: RuleContext) -> Any:
                return RuleOutcome(False, Decimal(0), Decimal(0), "")

        with (
            RULE_KINDS.scoped(Nameless),
            pytest.raises(DataTypeError, match=r"rules\[0\]\.name"),
        ):
            RuleGroup("g", (Nameless(),))


def test_ids_are_checked_when_events_come_apart():
    compiled = MODEL.compile(as_of=NOW)
    with pytest.raises(DataTypeError, match=r"events\[0\]\.record_id"):
        compiled.totals([{"id": 1}], events=[{"record_id": ["x"], "kind": "demo"}])
    with pytest.raises(DataTypeError, match=r"records\[1\]\.id"):
        compiled.totals([{"id": 1}, {"id": ["x"]}], events=[])
    with pytest.raises(DataError, match=r"records\[0\]\.id"):
        compiled.totals([{}], events=[])


def test_totals_raise_the_first_error_total_raises():
    records = [{"employees": "lots"}, {"activities": "pv"}]
    compiled = MODEL.compile(as_of=NOW)
    with pytest.raises(DataTypeError) as one:
        [compiled.total(record) for record in records]
    with pytest.raises(DataTypeError) as many:
        compiled.totals(records)
    assert str(one.value) == str(many.value)
    assert "employees" in str(many.value)


def test_every_path_shows_a_score_the_same_way():
    model = ScoringModel(
        "m",
        (
            RuleGroup(
                "e",
                (
                    EventRule("v", None, "20.0", decay=LinearDecay(50, "1d")),
                    EventRule("w", None, "0.15"),
                ),
            ),
        ),
    )
    compiled = model.compile(as_of=NOW)
    for lead in ({"activities": [days_ago(5)]}, {"activities": [days_ago(0)] * 3}, {}):
        shown = {str(compiled.total(lead)), str(compiled.totals([lead])[0])}
        shown.add(str(compiled.score(lead).total))
        assert len(shown) == 1, shown


def test_decay_helpers_check_their_arguments():
    aware = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(DataTypeError):
        LinearDecay(10, "1d").factor(datetime(2026, 1, 1), aware)
    with pytest.raises(DataError):
        whole_periods("1x", aware, aware)  # type: ignore[arg-type]
    assert whole_periods("1d", aware - timedelta(days=3), aware) == 3  # type: ignore[arg-type]
    with pytest.raises(DataTypeError, match="at"):
        whole_periods(Duration(days=1), "2026-01-01", aware)  # type: ignore[arg-type]


def test_a_repeated_threshold_is_named_where_it_repeats():
    with pytest.raises(DataError, match=r"bands\[2\]\.at_least"):
        RuleGroup("g", FIT.rules, bands=(Band("C"), Band("A", 10), Band("B", 10)))
    with pytest.raises(DataError, match=r"bands\[1\]\.at_least: expected at most one"):
        RuleGroup("g", FIT.rules, bands=(Band("C"), Band("D")))


def test_vendor_kinds_out_of_range_or_of_the_wrong_shape():
    @attrs.frozen
    class Double:
        kind = "double"

        def bind(self, as_of: datetime) -> Any:
            return lambda at: Decimal(2)

        def describe(self) -> str:
            return "twice"

    @attrs.frozen
    class Vague:
        kind = "vague"
        name: str = "vague"

        def bind(self, context: RuleContext) -> Any:
            return lambda record, events: Decimal(1)

        def explain(self, record: Any, events: Any, context: RuleContext) -> Any:
            return "one point"

    with DECAY_KINDS.scoped(Double), RULE_KINDS.scoped(Vague):
        doubled = ScoringModel(
            "m", (RuleGroup("e", (EventRule("v", None, 10, decay=Double()),)),)
        )
        with pytest.raises(DataError, match="decay 'double': expected a factor from 0"):
            doubled.score({"activities": [days_ago(1)]}, as_of=NOW)
        vague = ScoringModel("m", (RuleGroup("g", (Vague(),)),))
        assert vague.compile().totals([{}]) == [1]
        with pytest.raises(DataTypeError, match="rule 'vague': expected a RuleOutcome"):
            vague.score({})


def test_fractional_points_per_kind_take_the_one_loop():
    group = RuleGroup("e", (EventRule("v", field("kind") == "visit", "0.15", cap=1),))
    compiled = ScoringModel("m", (group,)).compile(as_of=NOW)
    leads = [{"activities": [days_ago(1)] * n} for n in (1, 3, 9)]
    assert compiled.totals(leads) == [compiled.total(lead) for lead in leads]
    assert [str(t) for t in compiled.totals(leads)] == ["0.15", "0.45", "1"]


def test_two_event_rules_on_one_value_are_scored_rule_by_rule():
    # The value table needs distinct values; two rules on "demo" use the loop.
    model = ScoringModel(
        "m",
        (
            RuleGroup(
                "e",
                (
                    EventRule("demo", field("kind") == "demo", 5),
                    EventRule("demo_again", field("kind") == "demo", 3),
                ),
            ),
        ),
    ).compile(as_of=NOW)
    records = [{"activities": [days_ago(1, kind="demo"), days_ago(2, kind="call")]}]
    assert model.totals(records) == [8] == [model.total(records[0])]


def test_event_rules_sharing_a_half_life_score_through_the_exact_tests():
    """Equality rules on one key with a shared decay that is not a window."""
    group = RuleGroup(
        "engagement",
        (
            EventRule("visit", field("kind") == "visit", 10),
            EventRule("demo", field("kind") == "demo", 40),
        ),
        decay=HalfLife("14d"),
    )
    model = ScoringModel("halves", (group,))
    activities = [days_ago(14), days_ago(0, kind="demo")]
    lead = {"id": 1, "activities": activities}
    # 10 x 0.5 (one half-life) + 40 x 1 = 45, on every path.
    assert model.score(lead, as_of=NOW).total == 45
    compiled = model.compile(as_of=NOW)
    events = [{**e, "record_id": 1} for e in activities]
    assert compiled.totals([{"id": 1, "activities": None}], events=events) == [45]


def test_event_rules_with_different_decays_score_through_the_exact_tests():
    group = RuleGroup(
        "engagement",
        (
            EventRule("visit", field("kind") == "visit", 10, decay=HalfLife("14d")),
            EventRule("demo", field("kind") == "demo", 40),
        ),
    )
    model = ScoringModel("mixed", (group,))
    lead = {"id": 1, "activities": [days_ago(14), days_ago(30, kind="demo")]}
    # 10 x 0.5 + 40 (no decay) = 45, on every path.
    assert model.score(lead, as_of=NOW).total == 45
    assert model.compile(as_of=NOW).totals([lead]) == [45]
