"""SLA clocks and handoff contracts: worked examples by hand, then the laws."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.business_time import BusinessCalendar
from crmcore.conditions import field
from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError
from crmcore.handoffs import (
    HandoffContract,
    SlaPolicies,
    SlaPolicy,
    acceptance,
    check_handoff,
    handoff_outcome,
    handoff_times,
    measure_clock,
    sla_status,
    threshold,
)
from crmcore.kpis import (
    HandoffAttainment,
    HandoffBreaches,
    TimeToAccept,
    handoff_attainment,
    handoff_breaches,
    time_to_accept,
)
from crmcore.pipelines import (
    Approval,
    MustHold,
    RequiredActivity,
    RequiredApproval,
    RequiredFields,
)
from crmcore.records import MISSING
from crmcore.testing import business_calendars
from tests import kpi_strategies

H = timedelta(hours=1)
M = timedelta(minutes=1)
OFFICE = BusinessCalendar(hours=["09:00-17:00"])  # UTC, Monday to Friday
WAITING = field("status") == "waiting_on_customer"


def mon(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """Monday 2 March 2026 (plus ``days``) at a UTC wall time."""
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC) + timedelta(days=days)


def policy(**options) -> SlaPolicy:
    options.setdefault("calendar", OFFICE)
    options.setdefault("pause_when", WAITING)
    return SlaPolicy("standard", **options)


def ticket(created: datetime) -> dict[str, object]:
    return {"created_at": created}


def event(at: datetime, status: str) -> dict[str, object]:
    return {"at": at, "status": status}


# -- SLA clocks: worked examples ------------------------------------------------------
def test_a_pause_inside_a_day_extends_the_deadline():
    # Running 09-11 (2 h), waiting on the customer 11-13, running 13-17 (4 h):
    # 6 h used, 2 h paused, 2 h left, so the 8 h deadline moves from Monday
    # 17:00 to Tuesday 11:00. At risk from 6 h 24 min: Tuesday 09:24.
    status = sla_status(
        policy(response=4 * H, resolution=8 * H),
        ticket(mon(9)),
        [
            event(mon(10), "responded"),
            event(mon(11), "waiting_on_customer"),
            event(mon(13), "open"),
        ],
        as_of=mon(17),
    )
    resolution = status.resolution
    assert (resolution.used, resolution.paused, resolution.remaining) == (
        6 * H,
        2 * H,
        2 * H,
    )
    assert resolution.deadline == mon(11, days=1)
    assert resolution.warn_at == mon(9, 24, days=1)
    assert resolution.state == "due"
    response = status.response
    assert response.state == "fulfilled"
    assert (response.used, response.fulfilled_at, response.deadline) == (
        H,
        mon(10),
        mon(13),
    )
    assert not status.breached
    assert status.clocks == (response, resolution)


def test_a_pause_across_days_counts_only_business_time():
    # Running Monday 15-16; waiting from Monday 16:00 to Wednesday 10:00,
    # which is 1 h + 8 h + 1 h = 10 h of business time; running 10-12.
    # 3 h used of 8: the deadline is Wednesday 17:00, which exactly fills
    # the window, so it is 17:00 and not Thursday 09:00.
    status = sla_status(
        policy(resolution=8 * H),
        ticket(mon(15)),
        [event(mon(16), "waiting_on_customer"), event(mon(10, days=2), "open")],
        as_of=mon(12, days=2),
    )
    clock = status.resolution
    assert (clock.used, clock.paused) == (3 * H, 10 * H)
    assert clock.deadline == mon(17, days=2)
    assert clock.state == "due"
    assert status.response is None


def test_while_paused_there_is_no_deadline():
    clock = sla_status(
        policy(resolution=8 * H),
        ticket(mon(9)),
        [event(mon(10), "waiting_on_customer")],
        as_of=mon(15),
    ).resolution
    assert clock.state == "paused"
    assert (clock.used, clock.paused, clock.deadline, clock.warn_at) == (
        H,
        5 * H,
        None,
        None,
    )
    assert "resolution: paused since 2026-03-02T10:00:00+00:00" in clock.reasons


def test_breaches_compare_instants_not_business_time():
    two_hours = policy(response=2 * H)
    # No reply by 11:00: breached at 11:30, at risk (not breached) at 11:00.
    assert (
        sla_status(two_hours, ticket(mon(9)), as_of=mon(11, 30)).response.state
        == "breached"
    )
    at_deadline = sla_status(two_hours, ticket(mon(9)), as_of=mon(11)).response
    assert at_deadline.state == "at_risk" and at_deadline.remaining == timedelta(0)
    # A reply at the deadline is on time; a minute later it is late.
    on_time = sla_status(
        two_hours, ticket(mon(9)), [event(mon(11), "responded")], as_of=mon(12)
    )
    late = sla_status(
        two_hours, ticket(mon(9)), [event(mon(11, 1), "responded")], as_of=mon(12)
    )
    assert on_time.response.state == "fulfilled"
    assert late.response.state == "breached" and late.breached
    # Created 13:00 with four hours: due 17:00. A reply at 18:00 used no
    # more business time, but it came after the deadline.
    after_hours = sla_status(
        policy(response=4 * H),
        ticket(mon(13)),
        [event(mon(18), "responded")],
        as_of=mon(19),
    ).response
    assert after_hours.used == 4 * H and after_hours.state == "breached"
    assert "fulfilled late" in after_hours.reasons[-1]


def test_a_reopened_ticket_starts_the_resolution_clock_again():
    timeline = [event(mon(10), "resolved"), event(mon(12), "open")]
    reopened = sla_status(
        policy(resolution=4 * H), ticket(mon(9)), timeline, as_of=mon(14)
    )
    # Running 9-10, stopped 10-12, running 12-14: 3 h used, due at 15:00.
    assert (reopened.resolution.used, reopened.resolution.deadline) == (3 * H, mon(15))
    assert reopened.resolution.state == "due"
    solved = sla_status(
        policy(resolution=4 * H),
        ticket(mon(9)),
        [*timeline, event(mon(14, 30), "closed")],
        as_of=mon(16),
    )
    assert solved.resolution.state == "fulfilled"
    assert (solved.resolution.used, solved.resolution.fulfilled_at) == (
        3.5 * H,
        mon(14, 30),
    )


def test_the_start_may_be_given_instead_of_read_from_the_record():
    clock = sla_status(
        policy(response=2 * H), {}, as_of=mon(10), started_at=mon(9)
    ).response
    assert (clock.started_at, clock.used) == (mon(9), H)


def test_a_start_outside_working_hours_counts_from_the_next_opening():
    # Created Saturday: the four hours run Monday 09-13.
    clock = sla_status(
        policy(response=4 * H), ticket(mon(10, days=-2)), as_of=mon(10)
    ).response
    assert (clock.deadline, clock.used, clock.state) == (mon(13), H, "due")


def test_resolving_answers_the_first_response_too_and_later_events_do_not_count():
    status = sla_status(
        policy(response=H, resolution=8 * H),
        ticket(mon(9)),
        [event(mon(9, 30), "resolved"), event(mon(16), "responded")],
        as_of=mon(12),
    )
    assert status.response.fulfilled_at == mon(9, 30)
    assert status.resolution.fulfilled_at == mon(9, 30)
    # Events are sorted by instant; one before the creation counts from it.
    early = sla_status(
        policy(response=H), ticket(mon(9)), [event(mon(8), "responded")], as_of=mon(10)
    ).response
    assert early.fulfilled_at == mon(9) and early.used == timedelta(0)


def test_policies_choose_the_first_match_and_say_why():
    vip = SlaPolicy(
        "enterprise", response=H, when=field("tier") == "enterprise", calendar=OFFICE
    )
    smb = SlaPolicy(
        "smb", response=2 * H, when=field("employees") < 50, calendar=OFFICE
    )
    book = SlaPolicies([vip, smb], default=SlaPolicy("standard", response=8 * H))
    chosen, why = book.choose({"tier": "enterprise", "employees": 10})
    assert chosen is vip and why == "policy 'enterprise': tier == \"enterprise\""
    chosen, why = book.choose({"tier": "self_serve", "employees": 400})
    assert chosen.key == "standard"
    assert why == "policy 'standard': the default (no match among 'enterprise', 'smb')"
    status = sla_status(book, {"created_at": mon(9), "employees": 5}, as_of=mon(10))
    assert (status.policy, status.response.target) == ("smb", 2 * H)
    assert str(status).startswith("policy 'smb': employees < 50\n  response: due")
    # The default's calendar is every weekday, all day: a team's own clock.
    assert (
        SlaPolicies([], default=SlaPolicy("24x5", response=H)).choose({})[0].calendar
        == BusinessCalendar()
    )


def test_measure_clock_is_the_building_block():
    clock = measure_clock(
        OFFICE,
        4 * H,
        mon(9),
        [(mon(10), "paused"), (mon(11), "running"), (mon(12), "stopped")],
        as_of=mon(13),
        at_risk="0.5",
        name="acceptance",
    )
    assert (clock.state, clock.used, clock.paused, clock.fulfilled_at) == (
        "fulfilled",
        2 * H,
        H,
        mon(12),
    )
    assert clock.warn_at == mon(12)  # 2 h of 4 is half
    assert str(clock).startswith(
        "acceptance: fulfilled (acceptance: target 4h of business time"
    )
    assert threshold(timedelta(microseconds=3), Decimal("0.5")) == timedelta(
        microseconds=2
    )
    # Changes may come as lists (from JSON); those after as_of have not
    # happened yet.
    listed = measure_clock(OFFICE, 4 * H, mon(9), [[mon(10), "stopped"]], as_of=mon(11))
    assert listed.fulfilled_at == mon(10)
    later = measure_clock(OFFICE, 4 * H, mon(9), [(mon(15), "stopped")], as_of=mon(10))
    assert (later.state, later.used, later.fulfilled_at) == ("due", H, None)


# -- SLA clocks: bad input ------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: SlaPolicy("x"),
            DataError,
            "response: expected a response or a resolution",
        ),
        (
            lambda: SlaPolicy("x", response=-H),
            DataError,
            "response: expected a positive timedelta",
        ),
        (
            lambda: SlaPolicy("x", response=3600),
            DataTypeError,
            r"response: expected a positive timedelta of business time \(at most 87600h\) or None",
        ),
        (
            lambda: SlaPolicy("x", response=H, at_risk=0),
            DataError,
            "at_risk: expected a fraction above 0",
        ),
        (lambda: SlaPolicy("x", response=H, at_risk="1.5"), DataError, "at_risk"),
        (
            lambda: SlaPolicy("x", response=H, when="tier == 'a'"),
            DataTypeError,
            "when: expected a condition",
        ),
        (
            lambda: SlaPolicy("x", response=H, calendar="UTC"),
            DataTypeError,
            "calendar: expected a BusinessCalendar",
        ),
        (
            lambda: SlaPolicies(
                [SlaPolicy("x", response=H)], default=SlaPolicy("y", response=H)
            ),
            DataError,
            r"policies\[0\].when: expected a condition \(only the default",
        ),
        (
            lambda: SlaPolicies(
                [SlaPolicy("x", response=H, when=field("a") == 1)],
                default=SlaPolicy("x", response=H),
            ),
            DataError,
            "default.key: expected a key no other policy has",
        ),
        (
            lambda: SlaPolicies("x", default=SlaPolicy("y", response=H)),
            DataTypeError,
            "policies",
        ),
        (
            lambda: SlaPolicies([], default=None),
            DataTypeError,
            "default: expected an SlaPolicy",
        ),
        (
            lambda: sla_status("p", ticket(mon(9)), as_of=mon(10)),
            DataTypeError,
            "policies",
        ),
        (
            lambda: sla_status(policy(response=H), {}, as_of=mon(10)),
            DataError,
            "created_at: expected an aware datetime",
        ),
        (
            lambda: sla_status(
                policy(response=H), ticket(mon(9)), as_of=datetime(2026, 3, 2)
            ),
            NaiveDatetimeError,
            "as_of",
        ),
        (
            lambda: sla_status(policy(response=H), ticket(mon(9)), as_of=mon(8)),
            DataError,
            "as_of: expected an instant at or after the start",
        ),
        (
            lambda: sla_status(
                policy(response=H), ticket(mon(9)), [{"status": "open"}], as_of=mon(10)
            ),
            DataError,
            r"timeline\[0\].at",
        ),
        (
            lambda: sla_status(
                policy(response=H),
                ticket(mon(9)),
                [{"at": datetime(2026, 3, 2)}],
                as_of=mon(10),
            ),
            NaiveDatetimeError,
            r"timeline\[0\].at",
        ),
        (
            lambda: sla_status(
                policy(response=H), ticket(mon(9)), "events", as_of=mon(10)
            ),
            DataTypeError,
            "timeline",
        ),
        (
            lambda: measure_clock("UTC", H, mon(9), as_of=mon(10)),
            DataTypeError,
            "calendar",
        ),
        (
            lambda: measure_clock(OFFICE, None, mon(9), as_of=mon(10)),
            DataTypeError,
            "target",
        ),
        (
            lambda: measure_clock(OFFICE, H, mon(9), [(mon(10),)], as_of=mon(11)),
            DataError,
            r"changes\[0\]: expected an \(instant, mode\) pair",
        ),
        (
            lambda: measure_clock(OFFICE, 87_601 * H, mon(9), as_of=mon(11)),
            DataError,
            "target: expected a positive timedelta of business time",
        ),
        (
            lambda: measure_clock(
                OFFICE,
                H,
                mon(9),
                [(mon(15), "paused"), (mon(10), "running")],
                as_of=mon(9),
            ),
            DataError,
            r"changes\[1\]\[0\]: expected an instant at or after",
        ),
        (
            lambda: measure_clock(
                OFFICE, H, mon(9), as_of=mon(11), name=Decimal("NaN")
            ),
            DataTypeError,
            "name: expected a clock name",
        ),
        (
            lambda: sla_status(
                policy(response=H), ticket(mon(9)), as_of=mon(10), at_field=3
            ),
            DataTypeError,
            "at_field",
        ),
        (
            lambda: acceptance(
                TO_SALES, {"handed_at": mon(9)}, as_of=mon(10), handed_field=[" "]
            ),
            DataTypeError,
            "handed_field",
        ),
        (
            lambda: acceptance(
                TO_SALES, {"handed_at": mon(9)}, as_of=mon(10), accepted_field="_x"
            ),
            DataError,
            "accepted_field",
        ),
        (lambda: handoff_times({"handed_at": mon(9)}, label=3), DataTypeError, "label"),
        (
            lambda: measure_clock(OFFICE, H, mon(9), [mon(10)], as_of=mon(11)),
            DataTypeError,
            r"changes\[0\]: expected an \(instant, mode\) pair",
        ),
        (
            lambda: measure_clock(OFFICE, H, mon(9), [(mon(10), "off")], as_of=mon(11)),
            DataError,
            r"changes\[0\]\[1\]: expected one of 'running'",
        ),
        (
            lambda: measure_clock(
                OFFICE,
                H,
                mon(9),
                [(mon(11), "paused"), (mon(10), "running")],
                as_of=mon(12),
            ),
            DataError,
            r"changes\[1\]\[0\]: expected an instant at or after",
        ),
    ],
)
def test_bad_sla_input_is_a_crmcore_error_naming_the_field(build, error, message):
    with pytest.raises(error, match=message):
        build()


# -- SLA clocks: laws -----------------------------------------------------------------
statuses = st.sampled_from(
    ["open", "responded", "waiting_on_customer", "resolved", "closed"]
)
offsets = st.integers(0, 5 * 24 * 60)


@st.composite
def timelines(draw):
    created = mon(0) + draw(offsets) * M
    steps = draw(st.lists(st.tuples(offsets, statuses), max_size=6))
    events = [event(created + minutes * M, status) for minutes, status in steps]
    as_of = created + draw(offsets) * M
    return created, events, as_of


@given(business_calendars(), timelines(), st.integers(1, 40))
def test_used_and_paused_time_never_exceed_business_time_and_add_up(
    calendar, case, hours
):
    created, events, as_of = case
    status = sla_status(
        policy(response=hours * H, resolution=2 * hours * H, calendar=calendar),
        ticket(created),
        events,
        as_of=as_of,
    )
    elapsed = calendar.business_time(created, as_of)
    for clock in status.clocks:
        assert clock.used + clock.paused <= elapsed
        assert clock.remaining == max(clock.target - clock.used, timedelta(0))
        if clock.fulfilled_at is None and clock.state != "paused":
            assert clock.deadline is not None
            # The deadline is the instant the budget runs out.
            if clock.deadline <= as_of:
                assert clock.used >= clock.target
        if clock.state == "breached" and clock.fulfilled_at is None:
            assert as_of > clock.deadline
        if clock.warn_at is not None and clock.deadline is not None:
            assert clock.warn_at <= clock.deadline


@given(business_calendars(), timelines(), st.integers(1, 40))
def test_without_pauses_used_time_is_business_time_until_fulfilment(
    calendar, case, hours
):
    created, events, as_of = case
    no_pauses = SlaPolicy("p", response=hours * H, calendar=calendar)
    clock = sla_status(no_pauses, ticket(created), events, as_of=as_of).response
    end = as_of if clock.fulfilled_at is None else clock.fulfilled_at
    assert clock.paused == timedelta(0)
    assert clock.used == calendar.business_time(created, end)
    if clock.fulfilled_at is None or clock.deadline is not None:
        assert clock.deadline == calendar.add(created, hours * H)


@given(business_calendars(), timelines(), st.integers(1, 40))
def test_a_pause_never_brings_the_deadline_forward(calendar, case, hours):
    created, events, as_of = case
    events = [
        e for e in events if e["status"] != "resolved" and e["status"] != "closed"
    ]
    plain = SlaPolicy("p", resolution=hours * H, calendar=calendar)
    paused = SlaPolicy("p", resolution=hours * H, calendar=calendar, pause_when=WAITING)
    one = sla_status(plain, ticket(created), events, as_of=as_of).resolution
    two = sla_status(paused, ticket(created), events, as_of=as_of).resolution
    if two.deadline is not None:
        assert two.deadline >= one.deadline
    assert two.used <= one.used


# -- handoff contracts ----------------------------------------------------------------
TO_SALES: HandoffContract = HandoffContract(
    "mql_to_sales",
    "marketing",
    "sales",
    "sql",
    requires=[
        RequiredFields(["budget", "use_case"]),
        MustHold(field("employees") >= 50, message="sales takes companies of 50+"),
        RequiredActivity("discovery_call", since="90d"),
    ],
    carries=["use_case", "source.campaign"],
    accept_within=4 * H,
    calendar=OFFICE,
    escalate_to="sales_manager",
)
TO_SUCCESS = HandoffContract(
    "won_to_success",
    "sales",
    "success",
    "won",
    requires=[
        RequiredFields(["commitments"]),
        RequiredApproval("discount", roles=["cfo"]),
    ],
    carries=["commitments"],
    accept_within=8 * H,
    calendar=BusinessCalendar("Europe/Berlin", hours=["09:00-17:00"]),
)


def test_check_handoff_lists_every_missing_item_and_the_context_that_travels():
    lead = {"budget": 20_000, "employees": 12, "source": {"campaign": "webinar"}}
    decision = check_handoff(TO_SALES, lead, as_of=mon(12))
    assert not decision.ready
    assert [(u.criterion, u.field, u.expected, u.actual) for u in decision.unmet] == [
        ("required_fields", "use_case", "present and non-empty", MISSING),
        ("must_hold", "employees", ">= 50", 12),
        (
            "required_activity",
            None,
            "at least 1 discovery_call activity in the last 90d",
            0,
        ),
    ]
    assert {u.stage for u in decision.unmet} == {"mql_to_sales"}
    assert decision.prompt_fields == ("use_case", "employees")
    assert decision.context == {"use_case": MISSING, "source.campaign": "webinar"}
    assert (
        str(decision).splitlines()[0] == "mql_to_sales (marketing -> sales): not ready"
    )
    ready = check_handoff(
        TO_SALES,
        {**lead, "employees": 80, "use_case": "forecasting"},
        as_of=mon(12),
        activities=[{"kind": "discovery_call", "at": mon(10)}],
    )
    assert ready.ready and ready.unmet == () and ready.prompt_fields == ()
    assert ready.context["use_case"] == "forecasting"
    assert str(ready) == "mql_to_sales (marketing -> sales): ready"


def test_sales_commitments_and_approvals_must_travel_to_success():
    deal = {"commitments": "SSO by May; onboarding in German"}
    missing = check_handoff(TO_SUCCESS, deal, as_of=mon(12))
    assert [u.criterion for u in missing.unmet] == ["required_approval"]
    approved = check_handoff(
        TO_SUCCESS,
        deal,
        as_of=mon(12),
        approvals=[Approval("discount", "ida", mon(9), role="cfo")],
    )
    assert approved.ready and approved.context == {"commitments": deal["commitments"]}


def test_acceptance_runs_in_the_receiving_teams_business_time():
    # Handed over Monday 16:00 with four hours: 16-17, then Tuesday 09-12.
    handed = {"handed_at": mon(16)}
    on_time = acceptance(
        TO_SALES, {**handed, "accepted_at": mon(11, days=1)}, as_of=mon(14, days=1)
    )
    assert (on_time.state, on_time.used, on_time.deadline) == (
        "fulfilled",
        3 * H,
        mon(12, days=1),
    )
    late = acceptance(
        TO_SALES, {**handed, "accepted_at": mon(13, days=1)}, as_of=mon(14, days=1)
    )
    assert late.state == "breached"
    assert late.reasons[-1] == "acceptance: escalate to sales_manager"
    open_ = acceptance(
        TO_SALES, {**handed, "accepted_at": None}, as_of=mon(11, 30, days=1)
    )
    assert (open_.state, open_.remaining) == ("at_risk", 30 * M)
    # Berlin's 09:00 is 08:00 UTC in March: Monday 16:00 UTC is after its close.
    berlin = acceptance(TO_SUCCESS, handed, as_of=mon(9, days=1))
    assert berlin.used == H and berlin.deadline == mon(16, days=1)
    # Without an escalation role, a breach says nothing more.
    quiet = acceptance(TO_SUCCESS, {"handed_at": mon(9)}, as_of=mon(9, days=3))
    assert quiet.state == "breached" and "escalate" not in quiet.reasons[-1]


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: HandoffContract("k", "sales", "sales", "won"),
            DataError,
            "to_team: expected a team other than",
        ),
        (
            lambda: HandoffContract("k", "a", "b", "won", requires="budget"),
            DataTypeError,
            "requires: expected a list",
        ),
        (
            lambda: HandoffContract("k", "a", "b", "won", requires=[field("a") == 1]),
            DataTypeError,
            r"requires\[0\]: expected an exit criterion",
        ),
        (
            lambda: HandoffContract("k", "a", "b", "won", carries=["_secret"]),
            DataError,
            r"carries\[0\]",
        ),
        (
            lambda: HandoffContract("k", "a", "b", "won", carries="notes"),
            DataTypeError,
            "carries: expected a list of field paths",
        ),
        (
            lambda: HandoffContract("k", "a", "b", "won", accept_within=timedelta(0)),
            DataError,
            "accept_within",
        ),
        (
            lambda: HandoffContract("k", "a", "b", "won", at_risk=2),
            DataError,
            "at_risk",
        ),
        (lambda: HandoffContract("", "a", "b", "won"), DataError, "key"),
        (
            lambda: check_handoff("contract", {}, as_of=mon(9)),
            DataTypeError,
            "contract: expected a HandoffContract",
        ),
        (
            lambda: check_handoff(TO_SALES, {}, as_of=datetime(2026, 1, 1)),
            NaiveDatetimeError,
            "as_of",
        ),
        (lambda: acceptance("c", {}, as_of=mon(9)), DataTypeError, "contract"),
        (
            lambda: acceptance(TO_SALES, {}, as_of=mon(9)),
            DataError,
            "handed_at: expected an aware datetime",
        ),
        (
            lambda: acceptance(
                TO_SALES, {"handed_at": mon(9), "accepted_at": "soon"}, as_of=mon(10)
            ),
            DataError,
            "accepted_at: expected an aware datetime or None",
        ),
        (
            lambda: acceptance(
                TO_SALES, {"handed_at": mon(9), "accepted_at": mon(8)}, as_of=mon(10)
            ),
            DataError,
            "accepted_at: expected an instant at or after handed_at",
        ),
    ],
)
def test_bad_handoff_input_is_a_crmcore_error_naming_the_field(build, error, message):
    with pytest.raises(error, match=message):
        build()


# -- handoff KPIs ---------------------------------------------------------------------
def handoff(contract: str, handed: datetime, accepted: datetime | None, **extra):
    return {"contract": contract, "handed_at": handed, "accepted_at": accepted, **extra}


HANDOFFS = [
    # Handed Monday 16:00, due Tuesday 12:00 (4 business hours).
    handoff("mql_to_sales", mon(16), mon(17), region="emea"),  # met, 1 h
    handoff(
        "mql_to_sales", mon(16), mon(12, days=1), region="emea"
    ),  # met at the deadline, 4 h
    handoff("mql_to_sales", mon(16), mon(14, days=1), region="amer"),  # late, 6 h
    handoff("mql_to_sales", mon(16), None, region="amer"),  # overdue as of Wednesday
    # Handed Wednesday 09:00 UTC (10:00 Berlin), due Thursday 09:00 Berlin.
    handoff("won_to_success", mon(9, days=2), None, region="emea"),  # pending
    handoff(
        "won_to_success", mon(9, days=2), mon(11, days=2), region="emea"
    ),  # met, 2 h
]
AS_OF = mon(12, days=2)


def test_handoff_kpis_worked_example():
    contracts = [TO_SALES, TO_SUCCESS]
    rate = handoff_attainment(HANDOFFS, contracts, as_of=AS_OF)
    assert (rate.numerator, rate.denominator, rate.value) == (3, 5, Decimal("0.6"))
    assert dict(rate.components) == {"met": 3, "late": 1, "overdue": 1, "pending": 1}
    times = time_to_accept(HANDOFFS, contracts, as_of=AS_OF)
    # 1, 2, 4 and 6 business hours: median 3, mean 3.25, p90 (4th of 4) 6.
    assert times.value == 3 and times.unit == "hours"
    assert (times.components["mean_hours"], times.components["p90_hours"]) == (
        Decimal("3.25"),
        6,
    )
    breaches = handoff_breaches(HANDOFFS, contracts, as_of=AS_OF)
    assert breaches.value == 2
    assert dict(breaches.components["by_team"]) == {"sales": 2, "success": 0}
    # Grouped like every KPI.
    by_region = handoff_attainment(HANDOFFS, contracts, as_of=AS_OF, per="region")
    assert by_region["emea"].value == 1 and by_region["amer"].value == 0
    # Without as_of only acceptances decide; the open ones are pending.
    assert handoff_attainment(HANDOFFS, contracts).components["pending"] == 2
    # A window of handovers: Wednesday's only.
    from crmcore.calendar import Interval

    wednesday = Interval(mon(0, days=2), mon(0, days=3))
    assert (
        handoff_attainment(HANDOFFS, contracts, wednesday, as_of=AS_OF).denominator == 1
    )
    # One pass serves the three: they share their facts.
    attainment = HandoffAttainment(contracts, as_of=AS_OF).update(HANDOFFS)
    assert TimeToAccept(contracts, as_of=AS_OF).result_from(attainment.facts) == times
    with pytest.raises(DataError, match="facts"):
        TimeToAccept(contracts).result_from(attainment.facts)
    undefined = time_to_accept([], TO_SALES)
    assert (
        undefined.value is None
        and undefined.reason == "no handoff accepted in the period"
    )
    assert handoff_attainment([], TO_SALES).reason == "no handoff decided in the period"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: HandoffAttainment([]), "contracts: expected at least one"),
        (
            lambda: HandoffAttainment("to_sales"),
            "contracts: expected a HandoffContract",
        ),
        (lambda: HandoffAttainment([TO_SALES, "x"]), r"contracts\[1\]"),
        (lambda: HandoffAttainment([TO_SALES, TO_SALES]), r"contracts\[1\].key"),
        (
            lambda: TimeToAccept(TO_SALES).update([handoff("nope", mon(9), None)]),
            "contract .*: expected one of the contracts",
        ),
        (
            lambda: TimeToAccept(TO_SALES).update([{"contract": "mql_to_sales"}]),
            "handed_at",
        ),
        (
            lambda: TimeToAccept(TO_SALES).update(
                [handoff("mql_to_sales", "monday", None)]
            ),
            "handed_at",
        ),
        (
            lambda: TimeToAccept(TO_SALES).update(
                [handoff("mql_to_sales", mon(9), mon(8))]
            ),
            "accepted_at .*: expected an instant at or after handed_at",
        ),
        (
            lambda: HandoffBreaches(TO_SALES).update(
                [handoff("mql_to_sales", mon(9), datetime(2026, 3, 3))]
            ),
            "accepted_at",
        ),
    ],
)
def test_bad_handoff_records_are_data_errors(build, message):
    with pytest.raises(DataError, match=message):
        build()


@given(kpi_strategies.handoff_rows(), st.integers(0, 30 * 24 * 60))
def test_the_kpis_judge_a_handoff_as_its_acceptance_clock_does(row, minutes):
    contract = {c.key: c for c in kpi_strategies.HANDOFF_CONTRACTS}[row["contract"]]
    as_of = row["handed_at"] + minutes * M
    handed, accepted = handoff_times(row)
    outcome, spent = handoff_outcome(contract, handed, accepted, as_of=as_of)
    clock = acceptance(contract, row, as_of=as_of)
    expected = {
        ("fulfilled", True): "met",
        ("breached", True): "late",
        ("breached", False): "overdue",
    }.get((clock.state, clock.fulfilled_at is not None), "pending")
    assert outcome == expected
    if spent is not None:
        assert spent == clock.used


def test_handoffs_not_yet_handed_over_are_left_out():
    later = [handoff("mql_to_sales", mon(16, days=5), None)]
    result = handoff_attainment(
        [*HANDOFFS, *later], [TO_SALES, TO_SUCCESS], as_of=AS_OF
    )
    assert dict(result.components) == {"met": 3, "late": 1, "overdue": 1, "pending": 1}
