"""Routing: worked examples, explanations, and the laws of fair assignment."""

import random
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.business_time import BusinessCalendar
from crmcore.calendar import Interval
from crmcore.conditions import field
from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError
from crmcore.routing import (
    ROUTING_STRATEGIES,
    ByCapacity,
    ByField,
    LeastLoaded,
    Person,
    RoundRobin,
    Router,
    RoutingRule,
    RoutingState,
    daily_quota,
    route,
    route_batch,
)
from crmcore.serialization import from_json, to_json
from crmcore.testing import routers

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday, 10:00 UTC
OFFICE = BusinessCalendar(hours=["09:00-17:00"])
BERLIN = BusinessCalendar("Europe/Berlin", hours=["09:00-17:00"])

ANA = Person("ana", team="sales", skills=["de", "emea", "enterprise"], calendar=OFFICE)
BEN = Person("ben", team="sales", skills=["en", "emea"], calendar=OFFICE)
CARA = Person(
    "cara",
    team="sales",
    skills=["de", "en"],
    leave=[Interval(NOW - timedelta(days=1), NOW + timedelta(days=6))],
)
DAN = Person("dan", team="sales", skills=["en"], active=False)
EVE = Person(
    "eve",
    team="sales",
    skills=["en", "amer"],
    calendar=BusinessCalendar("America/New_York", hours=["09:00-17:00"]),
)

ROUTER = Router(
    [
        RoutingRule(
            "enterprise",
            RoundRobin(),
            when=field("employees") >= 1000,
            team="sales",
            needs=["enterprise"],
        ),
        RoutingRule(
            "by_language",
            RoundRobin(),
            team="sales",
            match=["language"],
            prefer=["region"],
        ),
        RoutingRule("overflow", LeastLoaded()),
    ],
    [ANA, BEN, CARA, DAN, EVE],
)


# -- worked examples -----------------------------------------------------------------
def test_the_first_matching_rule_assigns_and_explains_every_skip():
    lead = {"id": "l1", "employees": 5000, "language": "de"}
    assignment = route(ROUTER, lead, as_of=NOW)
    assert (assignment.person, assignment.rule, assignment.strategy) == (
        "ana",
        "enterprise",
        "round_robin",
    )
    assert assignment.reasons == (
        "rule 'enterprise' matched: employees >= 1000",
        "round robin: ana's first turn",
    )
    # 10:00 UTC is 05:00 in New York: Eve is outside her working hours.
    assert dict(assignment.skipped) == {
        "ben": "lacks skill 'enterprise'",
        "cara": "on leave until 2026-03-08T10:00:00+00:00",
        "dan": "inactive",
        "eve": "outside working hours (next opening 2026-03-02T14:00:00+00:00)",
    }
    assert str(assignment).splitlines()[0] == "'l1' -> ana"


def test_a_rule_with_nobody_available_falls_through_to_the_next():
    # Only Ana is enterprise; on a day off she cannot take it, so the
    # language rule does: a German lead needs a German speaker.
    ana_off = attrs.evolve(ANA, active=False)
    router = attrs.evolve(ROUTER, people=[ana_off, BEN, CARA, DAN, EVE])
    assignment = route(
        router, {"id": "l2", "employees": 5000, "language": "de"}, as_of=NOW
    )
    assert assignment.person is None or assignment.rule != "enterprise"
    assert "rule 'enterprise': nobody available" in assignment.reasons
    # Cara (de) is on leave; nobody else speaks German: overflow, least loaded.
    assert "rule 'by_language': nobody available" in assignment.reasons
    assert (assignment.person, assignment.rule) == ("ben", "overflow")
    assert assignment.reasons[-1] == "least loaded: 0 open items"


def test_the_first_pass_prefers_the_region_then_takes_anyone_matching():
    router = Router(
        [RoutingRule("english", RoundRobin(), match=["language"], prefer=["region"])],
        [
            Person("ben", skills=["en", "emea"]),
            Person("eve", skills=["en", "amer"]),
            Person("fay", skills=["en"]),
        ],
    )
    lead = {"id": "l3", "language": "en", "region": "amer"}
    assignment = route(router, lead, as_of=NOW)
    assert assignment.person == "eve"
    assert "first pass: prefers region 'amer'" in assignment.reasons
    assert dict(assignment.skipped) == {
        "ben": "not preferred (first pass)",
        "fay": "not preferred (first pass)",
    }
    # Nobody has the region: everyone who matches is in the pass.
    apac = route(router, {**lead, "region": "apac"}, as_of=NOW)
    assert (
        apac.person == "ben"
        and "first pass: nobody available has region 'apac'" in apac.reasons
    )
    # A lead without the matched field cannot use the rule.
    nothing = route(router, {"id": "l4"}, as_of=NOW)
    assert nothing.person is None
    assert nothing.reasons == (
        "rule 'english': every lead",
        "rule 'english': the lead has no language to match",
    )


def test_round_robin_state_is_a_value_in_and_out():
    router = Router([RoutingRule("all")], [Person("ana"), Person("ben"), Person("cy")])
    state = RoutingState()
    got = []
    for n in range(5):
        assignment = route(router, {"id": n}, as_of=NOW, state=state)
        got.append(assignment.person)
        assert assignment.state is not None
        state = assignment.state
    assert got == ["ana", "ben", "cy", "ana", "ben"]
    assert state.queues == {"all": ("cy", "ana", "ben")}
    assert dict(state.open_items) == {"ana": 2, "ben": 2, "cy": 1}
    # The rule remembers its last person even when that person is away now.
    resumed = route(
        attrs.evolve(
            router, people=[Person("ana"), Person("ben", active=False), Person("cy")]
        ),
        {"id": 9},
        as_of=NOW,
        state=state,
    )
    assert resumed.person == "cy"
    assert resumed.reasons[-1] == "round robin: cy had a turn longest ago"


def test_least_loaded_counts_open_items():
    router = Router(
        [RoutingRule("all", LeastLoaded(), people=["ana", "ben"])],
        [Person("ana"), Person("ben"), Person("cy")],
    )
    state = RoutingState(open_items={"ana": 4, "ben": 2})
    assert route(router, {"id": 1}, as_of=NOW, state=state).person == "ben"


def test_daily_quota_is_monthly_capacity_over_30_rounded_half_up():
    assert [daily_quota(n) for n in (0, 14, 15, 16, 44, 45, 300)] == [
        0,
        0,
        1,
        1,
        1,
        2,
        10,
    ]
    with pytest.raises(DataError, match="monthly_capacity"):
        daily_quota(-1)


def test_by_capacity_spreads_by_quota_and_never_exceeds_it():
    # Quotas: ana 90/30 = 3, ben 30/30 = 1, cy 14/30 = 0 (rounds down).
    router = Router(
        [RoutingRule("all", ByCapacity())],
        [
            Person("ana", monthly_capacity=90),
            Person("ben", monthly_capacity=30),
            Person("cy", monthly_capacity=14),
            Person("di"),
        ],
    )
    batch = route_batch(router, [{"id": f"l{n}"} for n in range(6)], as_of=NOW)
    assert batch.by_person == {"ana": 3, "ben": 1}
    assert batch.unassigned == {
        "l4": "by capacity: no quota left",
        "l5": "by capacity: no quota left",
    }
    last = batch.assignments[-1]
    assert dict(last.skipped) == {
        "ana": "daily quota 3 reached (monthly capacity 90 / 30, 3 in the last day)",
        "ben": "daily quota 1 reached (monthly capacity 30 / 30, 1 in the last day)",
        "cy": "daily quota 0 reached (monthly capacity 14 / 30, 0 in the last day)",
        "di": "no monthly capacity",
    }
    # The first went to ana (0 of 3 used ties ben's 0 of 1: the larger quota).
    assert (
        batch.assignments[0].reasons[-1] == "by capacity: 0 of a daily quota of 3 used"
    )
    # A day later the quota is free again; the state forgets older assignments.
    tomorrow = route(
        router, {"id": "x"}, as_of=NOW + timedelta(days=1), state=batch.state
    )
    assert tomorrow.person == "ana"
    assert dict(tomorrow.state.recent) == {"ana": (NOW + timedelta(days=1),)}


def test_by_capacity_ties_go_to_the_larger_quota_then_the_key():
    # Both have used none: equal shares; the larger quota wins, then the key.
    router = Router(
        [RoutingRule("all", ByCapacity())],
        [
            Person("ana", monthly_capacity=30),
            Person("ben", monthly_capacity=90),
            Person("cy", monthly_capacity=90),
        ],
    )
    assert route(router, {"id": 1}, as_of=NOW).person == "ben"
    # ana has used 0 of 1, ben 1 of 3, cy 0 of 3: cy's share is the smallest
    # with the larger quota; after cy, ana (0 of 1) beats ben (1 of 3).
    state = RoutingState(recent={"ben": [NOW - timedelta(hours=1)]})
    first = route(router, {"id": 2}, as_of=NOW, state=state)
    assert first.person == "cy"
    second = route(router, {"id": 3}, as_of=NOW, state=first.state)
    assert second.person == "ana"


def test_by_field_takes_the_owner_when_available():
    router = Router(
        [RoutingRule("owner", ByField("account.owner")), RoutingRule("rest")],
        [Person("ana"), Person("ben", active=False)],
    )
    assert route(router, {"id": 1, "account": {"owner": "ben"}}, as_of=NOW).reasons == (
        "rule 'owner': every lead",
        "by field: account.owner is 'ben', not an available candidate",
        "rule 'rest': every lead",
        "round robin: ana's first turn",
    )
    owned = route(router, {"id": 2, "account": {"owner": "ana"}}, as_of=NOW)
    assert (owned.person, owned.reasons[-1]) == (
        "ana",
        "by field: account.owner is 'ana'",
    )
    assert "missing" in route(router, {"id": 3}, as_of=NOW).reasons[1]


def test_a_seed_breaks_ties_the_same_way_every_time():
    people = [Person(key) for key in ("ana", "ben", "cy", "di")]
    seeded = Router([RoutingRule("all", LeastLoaded())], people, seed=7)
    firsts = {route(seeded, {"id": n}, as_of=NOW).person for n in range(40)}
    assert len(firsts) > 1  # ties spread over people
    assert (
        route(seeded, {"id": 3}, as_of=NOW).person
        == route(seeded, {"id": 3}, as_of=NOW).person
    )
    plain = Router([RoutingRule("all", LeastLoaded())], people)
    assert {route(plain, {"id": n}, as_of=NOW).person for n in range(10)} == {"ana"}


def test_round_robin_gives_every_member_of_a_changing_pool_a_turn():
    # Leads alternate German and French: each pool still takes turns.
    router = Router(
        [RoutingRule("by_language", match=["lang"])],
        [
            Person("a", skills=["de"]),
            Person("b", skills=["fr"]),
            Person("c", skills=["fr"]),
            Person("d", skills=["de"]),
        ],
    )
    leads = [{"id": n, "lang": "de" if n % 2 == 0 else "fr"} for n in range(8)]
    batch = route_batch(router, leads, as_of=NOW)
    assert [a.person for a in batch.assignments] == [
        "a",
        "b",
        "d",
        "c",
        "a",
        "b",
        "d",
        "c",
    ]
    assert batch.by_person == {"a": 2, "b": 2, "c": 2, "d": 2}


def test_int_ids_are_taken_in_numeric_order():
    router = Router([RoutingRule("all")], [Person("ana"), Person("ben")])
    batch = route_batch(
        router, [{"id": 10}, {"id": 2}, {"id": 9}, {"id": "x"}], as_of=NOW
    )
    assert [a.lead for a in batch.assignments] == [2, 9, 10, "x"]


def test_a_vendor_strategy_cannot_assign_someone_not_offered():
    @attrs.frozen
    class Ghost:
        kind = "ghost"

        def choose(self, candidates, lead, choice):
            return Person("ghost"), "boo", {}

    @attrs.frozen
    class Broken:
        kind = "broken"

        def choose(self, candidates, lead, choice):
            return None

    @attrs.frozen
    class Mute:
        kind = "mute"

        def choose(self, candidates, lead, choice):
            return candidates[0], None, {}

    with ROUTING_STRATEGIES.scoped(Ghost, Broken, Mute):
        mute = Router([RoutingRule("all", Mute())], [Person("ana")])
        with pytest.raises(DataTypeError, match="strategy 'mute'"):
            route(mute, {"id": 1}, as_of=NOW)
        ghostly = Router([RoutingRule("all", Ghost())], [Person("ana")])
        with pytest.raises(DataError, match="strategy 'ghost'"):
            route(ghostly, {"id": 1}, as_of=NOW)
        broken = Router([RoutingRule("all", Broken())], [Person("ana")])
        with pytest.raises(DataTypeError, match="strategy 'broken'"):
            route(broken, {"id": 1}, as_of=NOW)


def test_routing_one_lead_at_a_time_keeps_a_compact_state():
    router = Router(
        [RoutingRule("all", ByCapacity())], [Person("ana", monthly_capacity=30000)]
    )
    state = RoutingState()
    for n in range(300):
        assignment = route(
            router, {"id": n}, as_of=NOW + timedelta(minutes=10 * n), state=state
        )
        assert assignment.state is not None
        state = assignment.state
    # Only the last day's assignments are kept: 144 ten-minute steps.
    assert len(state.recent["ana"]) == 144


def test_nobody_matching_says_so():
    router = Router([RoutingRule("big", when=field("employees") > 10)], [Person("ana")])
    assignment = route(router, {"id": 1, "employees": 3}, as_of=NOW)
    assert (assignment.person, assignment.reasons) == (None, ("no rule matched",))
    assert not assignment.assigned


def test_a_vendor_strategy_registers_like_a_kind():
    @attrs.frozen
    class Newest:
        kind = "newest"

        def choose(self, candidates, lead, choice):
            return candidates[-1], "newest: the last key", {}

    with ROUTING_STRATEGIES.scoped(Newest):
        router = Router([RoutingRule("all", Newest())], [Person("ana"), Person("zed")])
        assert route(router, {"id": 1}, as_of=NOW).person == "zed"
        assert from_json(to_json(router), Router) == router


def test_routers_round_trip_through_json():
    text = to_json(ROUTER)
    assert from_json(text, Router) == ROUTER
    assert '"strategy": {"kind": "round_robin"}' in text


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Router([], [ANA]), DataError, "rules: expected at least one"),
        (
            lambda: Router([RoutingRule("a"), RoutingRule("a")], [ANA]),
            DataError,
            r"rules\[1\].key",
        ),
        (lambda: Router([RoutingRule("a")], [ANA, ANA]), DataError, r"people\[1\].key"),
        (
            lambda: Router([RoutingRule("a", people=["zed"])], [ANA]),
            DataError,
            r"rules\[0\].people\[0\]",
        ),
        (
            lambda: Router([RoutingRule("a", team="ops")], [ANA]),
            DataError,
            r"rules\[0\].team: expected a team someone is in",
        ),
        (lambda: Router([RoutingRule("a")], [ANA], seed=-1), DataError, "seed"),
        (lambda: Router("a", [ANA]), DataTypeError, "rules"),
        (
            lambda: RoutingRule("a", "round_robin"),
            DataTypeError,
            "strategy: expected a routing strategy",
        ),
        (lambda: RoutingRule("a", match=["_x"]), DataError, r"match\[0\]"),
        (lambda: RoutingRule("a", needs="de"), DataTypeError, "needs"),
        (lambda: Person("a", skills="de"), DataTypeError, "skills"),
        (
            lambda: Person("a", leave=[NOW]),
            DataTypeError,
            r"leave\[0\]: expected an Interval",
        ),
        (lambda: Person("a", monthly_capacity=-3), DataError, "monthly_capacity"),
        (lambda: Person("a", active="yes"), DataTypeError, "active"),
        (lambda: ByField("__class__"), DataError, "field"),
        (lambda: RoutingState(open_items={"a": -1}), DataError, "open_items"),
        (lambda: RoutingState(open_items=[]), DataTypeError, "open_items"),
        (lambda: RoutingState(queues={"r": 3}), DataTypeError, r"queues\['r'\]"),
        (
            lambda: RoutingState(queues={"r": ["a", "a"]}),
            DataError,
            "each person once",
        ),
        (lambda: RoutingState(queues=[]), DataTypeError, "queues"),
        (
            lambda: RoutingState(queues={1: ["a"]}),
            DataTypeError,
            "queues key: expected a non-empty string key, got 1",
        ),
        (
            lambda: RoutingState(recent={"a": [datetime(2026, 1, 1)]}),
            NaiveDatetimeError,
            r"recent\['a'\]\[0\]",
        ),
        (lambda: RoutingState(recent={"a": "x"}), DataTypeError, r"recent\['a'\]"),
        (lambda: RoutingState(recent="a"), DataTypeError, "recent"),
        (
            lambda: route("router", {}, as_of=NOW),
            DataTypeError,
            "router: expected a Router",
        ),
        (
            lambda: route(ROUTER, {}, as_of=datetime(2026, 1, 1)),
            NaiveDatetimeError,
            "as_of",
        ),
        (lambda: route(ROUTER, {}, as_of=NOW, state={}), DataTypeError, "state"),
        (
            lambda: route_batch(ROUTER, [{"id": 1}, {"id": 1}], as_of=NOW),
            DataError,
            r"leads\[1\].id: expected an id no other lead has",
        ),
        (
            lambda: route_batch(ROUTER, [{}], as_of=NOW),
            DataError,
            r"leads\[0\].id: expected a lead id",
        ),
        (
            lambda: route_batch(ROUTER, [{"id": 10**5000}], as_of=NOW),
            DataError,
            r"leads\[0\].id: expected a lead id",
        ),
        (
            lambda: route(ROUTER, {"name": "x"}, as_of=NOW),
            DataError,
            "id: expected a lead id",
        ),
        (
            lambda: route(ROUTER, {"id": True}, as_of=NOW),
            DataError,
            "id: expected a lead id",
        ),
        (lambda: route_batch(ROUTER, "leads", as_of=NOW), DataTypeError, "leads"),
        (
            lambda: ROUTER.candidates("nope"),
            DataError,
            "rule: expected one of the rules",
        ),
    ],
)
def test_bad_routing_input_is_a_crmcore_error_naming_the_field(build, error, message):
    with pytest.raises(error, match=message):
        build()


# -- laws ------------------------------------------------------------------------------
lead_records = st.fixed_dictionaries(
    {
        "employees": st.integers(0, 5000),
        "language": st.sampled_from(["de", "en", "fr"]),
        "region": st.sampled_from(["emea", "amer", "apac"]),
        "owner": st.sampled_from(["p-a", "p-b", "nobody"]),
    }
)
lead_batches = st.lists(lead_records, max_size=30).map(
    lambda leads: [{**lead, "id": f"lead-{n}"} for n, lead in enumerate(leads)]
)
moments = st.integers(0, 14 * 24 * 60).map(lambda m: NOW + timedelta(minutes=m))


@given(routers(), lead_batches, moments)
def test_nobody_unavailable_is_ever_assigned_and_no_quota_is_exceeded(
    router, leads, as_of
):
    batch = route_batch(router, leads, as_of=as_of)
    people = {p.key: p for p in router.people}
    for assignment in batch.assignments:
        if assignment.person is not None:
            assert people[assignment.person].unavailable(as_of) is None
    capacity_rules = any(isinstance(r.strategy, ByCapacity) for r in router.rules)
    if capacity_rules:
        by_capacity: dict[str | None, int] = {}
        for assignment in batch.assignments:
            if assignment.strategy == "by_capacity":
                by_capacity[assignment.person] = (
                    by_capacity.get(assignment.person, 0) + 1
                )
        for key, count in by_capacity.items():
            assert count <= daily_quota(people[key].monthly_capacity)
    assert len(batch.assignments) == len(leads)


@given(routers(), lead_batches, moments, st.randoms(use_true_random=False))
def test_assignment_does_not_depend_on_input_order(router, leads, as_of, rng):
    shuffled = list(leads)
    rng.shuffle(shuffled)
    one = route_batch(router, leads, as_of=as_of)
    two = route_batch(router, shuffled, as_of=as_of)
    assert [(a.lead, a.person, a.rule) for a in one.assignments] == [
        (a.lead, a.person, a.rule) for a in two.assignments
    ]
    assert one.state == two.state


@given(routers(), lead_batches, moments)
def test_a_batch_is_the_same_as_routing_one_by_one_in_id_order(router, leads, as_of):
    batch = route_batch(router, leads, as_of=as_of)
    state = RoutingState()
    for assignment in batch.assignments:
        lead = next(lead for lead in leads if lead["id"] == assignment.lead)
        single = route(router, lead, as_of=as_of, state=state)
        assert (single.person, single.rule, single.reasons) == (
            assignment.person,
            assignment.rule,
            assignment.reasons,
        )
        assert single.state is not None
        state = single.state
    assert state == batch.state


@given(routers())
def test_routers_round_trip(router):
    assert from_json(to_json(router), Router) == router


@given(routers(), lead_batches, moments)
def test_the_state_round_trips_through_json(router, leads, as_of):
    state = route_batch(router, leads, as_of=as_of).state
    assert from_json(to_json(state), RoutingState) == state


def test_the_shuffle_does_not_use_global_randomness():
    people = [Person(key) for key in ("ana", "ben", "cy")]
    seeded = Router([RoutingRule("all", LeastLoaded())], people, seed=1)
    random.seed(0)
    first = [route(seeded, {"id": n}, as_of=NOW).person for n in range(10)]
    random.seed(99)
    assert [route(seeded, {"id": n}, as_of=NOW).person for n in range(10)] == first
