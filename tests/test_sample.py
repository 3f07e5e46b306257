import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import DataError, DataTypeError, NaiveDatetimeError
from crmcore.sample import (
    DEFAULT_START,
    LOST_REASONS,
    OPEN_STAGES,
    PAID_CHANNELS,
    generate_sample,
    iter_opportunities,
    sample_pipeline,
)


@pytest.fixture(scope="module")
def data():
    return generate_sample(3_000, seed=11)


def test_same_seed_same_data_other_seed_other_data():
    assert generate_sample(300, seed=5) == generate_sample(300, seed=5)
    assert generate_sample(300, seed=5) != generate_sample(300, seed=6)


def test_sizes_scale_with_the_number_of_deals(data):
    assert len(data.opportunities) == 3_000
    assert len(data.accounts) == 150
    assert len(data.leads) == 1_500
    assert 150 <= len(data.contacts) <= 450
    assert len(data.stage_changes) > 3 * 3_000 * 0.8
    assert data.as_of == datetime(2026, 1, 1, tzinfo=UTC)
    assert data.stages == (*OPEN_STAGES, "closed_won", "closed_lost")
    assert "<3000 Opportunity>" in repr(data)


def test_sample_data_validates_its_fields(data):
    import attrs

    with pytest.raises(
        DataTypeError, match=r"opportunities\[0\]: expected Opportunity"
    ):
        attrs.evolve(data, opportunities=(data.accounts[0],))
    with pytest.raises(DataTypeError, match="leads: expected a tuple of Lead"):
        attrs.evolve(data, leads=list(data.leads))
    with pytest.raises(NaiveDatetimeError, match="as_of"):
        attrs.evolve(data, as_of=datetime(2026, 1, 1))
    with pytest.raises(DataTypeError, match="seed: expected an int"):
        attrs.evolve(data, seed="1")
    with pytest.raises(DataError, match="currency"):
        attrs.evolve(data, currency="eur")


def test_the_mix_is_realistic(data):
    outcomes = Counter(o.outcome for o in data.opportunities)
    assert set(outcomes) == {"open", "won", "lost"}
    win_rate = outcomes["won"] / (outcomes["won"] + outcomes["lost"])
    assert 0.15 < win_rate < 0.45
    assert {o.lost_reason for o in data.opportunities if o.outcome == "lost"} == set(
        LOST_REASONS
    )
    assert {o.stage for o in data.opportunities if o.outcome == "open"} == set(
        OPEN_STAGES
    )
    statuses = Counter(lead.status for lead in data.leads)
    assert {"new", "mql", "sql", "converted", "disqualified"} <= set(statuses)


def test_every_deal_has_a_consistent_stage_history(data):
    histories = defaultdict(list)
    for change in data.stage_changes:
        histories[change.record_id].append(change)
    moves: Counter[object] = Counter()
    for deal in data.opportunities:
        history = histories[deal.id]
        assert history[0].from_stage is None
        assert history[0].at == deal.created_at
        assert history[-1].to_stage == deal.stage
        for before, after in itertools.pairwise(history):
            assert before.to_stage == after.from_stage
            assert before.at < after.at < data.as_of
            moves[
                OPEN_STAGES.index(after.to_stage) - OPEN_STAGES.index(after.from_stage)
                if after.to_stage in OPEN_STAGES
                else "close"
            ] += 1
        if deal.outcome != "open":
            assert deal.closed_at == history[-1].at
    assert moves[-1] > 0, "some deals step back"
    assert moves[2] > 0, "some deals skip a stage"


def test_subscriptions_show_every_kind_of_movement(data):
    by_customer = defaultdict(list)
    for sub in data.subscriptions:
        by_customer[sub.customer_id].append(sub)
        assert sub.mrr.currency == "EUR" and sub.mrr.amount > 0
        assert data.start <= sub.start < data.as_of
    won_accounts = {o.account_id for o in data.opportunities if o.outcome == "won"}
    assert set(by_customer) == won_accounts
    kinds: Counter[str] = Counter()
    for subs in by_customer.values():
        subs.sort(key=lambda s: s.start)
        for before, after in itertools.pairwise(subs):
            assert before.end is not None and before.end <= after.start
            if before.end < after.start:
                kinds["reactivation"] += 1
            elif after.mrr > before.mrr:
                kinds["expansion"] += 1
            else:
                kinds["contraction"] += 1
        if subs[-1].end is not None:
            kinds["churn"] += 1
    assert {"reactivation", "expansion", "contraction", "churn"} <= set(kinds)


def test_leads_and_activities(data):
    ids = {lead.id for lead in data.leads}
    assert {a.record_id for a in data.activities} <= ids
    assert all(a.at < data.as_of for a in data.activities)
    converted = [lead for lead in data.leads if lead.converted_at is not None]
    assert converted and all(lead.status == "converted" for lead in converted)
    assert all(lead.converted_at < data.as_of for lead in converted)


def test_contacts_belong_to_accounts(data):
    accounts = {a.id for a in data.accounts}
    assert {c.account_id for c in data.contacts} <= accounts
    assert {o.account_id for o in data.opportunities} <= accounts
    assert {a.fields["segment"] for a in data.accounts} == {
        "smb",
        "mid_market",
        "enterprise",
    }


def test_streaming_gives_the_same_deals_in_the_same_order(data):
    streamed = list(iter_opportunities(3_000, seed=11))
    assert tuple(deal for deal, _ in streamed) == data.opportunities
    assert tuple(c for _, history in streamed for c in history) == data.stage_changes


def test_options_and_progress():
    calls = []
    start = datetime(2025, 7, 1, tzinfo=timezone(timedelta(hours=2)))
    small = generate_sample(
        200_000 // 1000,
        seed=1,
        start=start,
        months=6,
        currency="USD",
        progress=lambda what, done, total: calls.append((what, done, total)),
    )
    assert {o.currency for o in small.opportunities} == {"USD"}
    assert small.as_of == datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    assert [c[0] for c in calls] == [
        "accounts",
        "contacts",
        "leads",
        "opportunities",
        "subscriptions",
    ]
    assert ("opportunities", 200, 200) in calls
    assert generate_sample(0).opportunities == ()


def test_progress_every_hundred_thousand(monkeypatch):
    import crmcore.sample as sample

    monkeypatch.setattr(sample, "_PROGRESS_EVERY", 50)
    calls = []
    generate_sample(120, progress=lambda *args: calls.append(args))
    assert ("opportunities", 50, 120) in calls and ("opportunities", 100, 120) in calls


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"opportunities": -1}, DataError, "opportunities: expected an int from 0"),
        ({"opportunities": 1.5}, DataTypeError, "opportunities: expected an int"),
        ({"months": 0}, DataError, "months: expected an int from 1 to 600"),
        ({"seed": "x"}, DataTypeError, "seed: expected an int"),
        ({"currency": "EURO"}, DataError, "currency"),
        ({"start": datetime(2024, 1, 1)}, NaiveDatetimeError, "start"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        generate_sample(**kwargs)


def test_bad_streaming_arguments():
    with pytest.raises(DataError, match="count"):
        iter_opportunities(-5)


@settings(max_examples=10)
@given(st.integers(0, 2**64), st.integers(0, 60))
def test_any_seed_gives_valid_records(seed, size):
    sample = generate_sample(size, seed=seed, months=3)
    assert len(sample.opportunities) == size
    assert all(
        DEFAULT_START <= o.created_at < sample.as_of for o in sample.opportunities
    )


def test_account_profiles_feed_the_b2b_segments(data):
    profiles = data.account_profiles()
    assert [p["id"] for p in profiles] == [a.id for a in data.accounts]
    by_id = {p["id"]: p for p in profiles}
    for deal in data.opportunities:
        assert deal.account_id in by_id
    assert sum(p["open_deals"] for p in profiles) == sum(
        1 for o in data.opportunities if o.outcome == "open"
    )
    assert sum(p["won_deals"] for p in profiles) == sum(
        1 for o in data.opportunities if o.outcome == "won"
    )
    assert sum(len(p["contacts"]) for p in profiles) == len(data.contacts)
    paying = {
        s.customer_id
        for s in data.subscriptions
        if s.start <= data.as_of and (s.end is None or data.as_of < s.end)
    }
    assert {p["id"] for p in profiles if p["mrr"] > 0} == paying
    assert all((p["customer_since"] is None) == (p["won_deals"] == 0) for p in profiles)
    assert all(p["annual_revenue"] == p["employees"] * 140_000 for p in profiles)


def test_purchases_are_the_won_deals(data):
    purchases = data.purchases()
    won = [o for o in data.opportunities if o.outcome == "won"]
    assert len(purchases) == len(won)
    assert purchases[0] == {
        "customer_id": won[0].account_id,
        "at": won[0].closed_at,
        "amount": won[0].amount,
    }


def test_sample_pipeline_allows_every_sample_move(data):
    from crmcore.pipelines import evaluate

    pipeline = sample_pipeline()
    assert [s.key for s in pipeline.stages] == [
        *OPEN_STAGES,
        "closed_won",
        "closed_lost",
    ]
    deals = {d.id: d for d in data.opportunities}
    for change in data.stage_changes[:400]:
        if change.from_stage is None:
            continue
        deal = deals[change.record_id]
        record = {
            "id": deal.id,
            "stage": change.from_stage,
            "account_id": deal.account_id,
            "owner": deal.owner,
            "lost_reason": deal.lost_reason,
        }
        assert evaluate(pipeline, record, change.to_stage, as_of=change.at).allowed, (
            change
        )


def test_marketing_spend_is_leads_times_cost_per_lead(data):
    rows = data.marketing_spend()
    cost = {
        "organic": 50,
        "paid_search": 300,
        "webinar": 150,
        "referral": 100,
        "outbound": 350,
        "event": 500,
        "partner": 200,
    }
    leads = Counter(
        (lead.created_at.replace(day=1, hour=0, minute=0, second=0), lead.source)
        for lead in data.leads
    )
    assert len(rows) == len(leads)
    for row in rows:
        key = (row["at"], row["channel"])
        assert row["amount"] == leads[key] * cost[row["channel"]]
        assert row["currency"] == "EUR" and row["at"].day == 1
    assert rows == sorted(rows, key=lambda r: (r["at"], r["channel"]))
    assert sum(r["amount"] for r in rows) == sum(
        cost[lead.source] for lead in data.leads
    )


def test_acquisition_channels_cover_every_account_in_proportion(data):
    channels = data.acquisition_channels()
    assert set(channels) == {a.id for a in data.accounts}
    shares = Counter(channels.values())
    assert set(shares) <= set(PAID_CHANNELS) | {
        "organic",
        "webinar",
        "referral",
        "outbound",
    }
    # Organic is the biggest source (26 % of the weights), events the smallest.
    assert shares.most_common(1)[0][0] == "organic"
    assert abs(shares["organic"] / len(channels) - 0.26) < 0.03
    assert channels == data.acquisition_channels()


# -- the sample's teams --------------------------------------------------------------
def test_handoffs_follow_every_conversion_and_win_in_business_hours():
    from crmcore.sample import sample_contracts

    data = generate_sample(400, seed=3)
    rows = data.handoffs()
    converted = {lead.id for lead in data.leads if lead.converted_at is not None}
    won = {deal.id for deal in data.opportunities if deal.outcome == "won"}
    assert {row["record"] for row in rows} == converted | won
    contracts = {contract.key: contract for contract in sample_contracts()}
    for row in rows:
        contract = contracts[row["contract"]]
        assert (row["from_team"], row["to_team"]) == (
            contract.from_team,
            contract.to_team,
        )
        accepted = row["accepted_at"]
        if accepted is not None:
            assert row["handed_at"] <= accepted < data.as_of
            # Accepted at a working instant, or at the close of a window.
            before = accepted - timedelta(microseconds=1)
            assert contract.calendar.is_working(
                accepted
            ) or contract.calendar.is_working(before)
    assert rows == generate_sample(400, seed=3).handoffs()
    assert rows != generate_sample(400, seed=4).handoffs()


def test_tickets_and_their_events_stay_inside_the_window():
    from crmcore.handoffs import sla_status
    from crmcore.sample import sample_sla_policies

    data = generate_sample(400, seed=3)
    tickets, events = data.tickets()
    assert tickets and events
    ids = {ticket["id"] for ticket in tickets}
    statuses = {"responded", "waiting_on_customer", "open", "resolved"}
    for event in events:
        assert event["ticket_id"] in ids and event["status"] in statuses
        assert event["at"] < data.as_of
    by_ticket: dict[str, list[dict[str, object]]] = {}
    for event in events:
        by_ticket.setdefault(str(event["ticket_id"]), []).append(event)
    policies = sample_sla_policies()
    states = {
        sla_status(policies, t, by_ticket.get(t["id"], []), as_of=data.as_of).policy
        for t in tickets
    }
    assert states <= {"urgent", "key_account", "standard"}


def test_tickets_skip_customers_outside_the_window_and_stop_at_as_of():
    from crmcore.money import Money
    from crmcore.records import Subscription
    from crmcore.sample._teams import ticket_rows

    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    later = Subscription("c1", Money(100, "EUR"), as_of)
    assert ticket_rows([later], seed=1, as_of=as_of) == ([], [])
    recent = Subscription("c2", Money(100, "EUR"), as_of - timedelta(hours=1))
    tickets, events = [], []
    for seed in range(20):
        found = ticket_rows([recent], seed=seed, as_of=as_of)
        tickets += found[0]
        events += found[1]
    assert tickets  # an hour is too short for most of their events
    assert len(events) < 4 * len(tickets)
