"""Hypothesis strategies for every crmcore type, for your tests and ours.

Requires ``hypothesis`` (installed with ``pip install "crmcore[test]"``).
Every strategy produces *valid* values; use them to property-test code that
consumes crmcore records, or a vendor extension against random inputs.

Datetimes from [`aware_datetimes`][crmcore.testing.aware_datetimes] use UTC
and fixed UTC offsets by default, so values round-trip through JSON to *equal*
values (an ISO 8601 string keeps the offset, not the IANA zone). Pass
``timezones=iana_timezones()`` to stress DST handling: those zones include
clock changes at midnight, half-hour shifts and a skipped calendar day.

Random instants between 1990 and 2060 would almost never fall in a KPI's
window. For KPI tests, crowd the records with ``within=``: an interval a
little wider than the window, so records straddle its edges. Give
[`subscriptions`][crmcore.testing.subscriptions] a few ``customers`` so
their MRR expands, contracts, churns and reactivates.

Examples:
    >>> from hypothesis import given
    >>> @given(opportunities())
    ... def test_amount_is_never_negative(deal):
    ...     assert deal.amount >= 0
    >>> test_amount_is_never_negative()

    A KPI law over dense deals (created within a month of the year 2026):

    >>> from hypothesis import strategies as st
    >>> from crmcore.calendar import period_of
    >>> from crmcore.kpis import WinRate
    >>> year = period_of(datetime(2026, 1, 1, tzinfo=UTC), "year")
    >>> span = Interval(year.start - timedelta(days=31), year.end + timedelta(days=31))
    >>> @given(st.lists(opportunities(currency="EUR", within=span)), st.integers(0, 9))
    ... def test_any_split_merges_to_the_single_pass(deals, cut):
    ...     head = WinRate(year).update(deals[:cut])
    ...     tail = WinRate(year).update(deals[cut:])
    ...     assert head.merge(tail).result() == WinRate(year).update(deals).result()
    >>> test_any_split_merges_to_the_single_pass()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from crmcore.business_time import (
    WHOLE_DAY,
    BusinessCalendar,
    WeekdayHours,
    WorkingWindow,
)
from crmcore.calendar import (
    DAY,
    MONTH,
    QUARTER,
    WEEK,
    YEAR,
    Interval,
    Period,
    PeriodUnit,
)
from crmcore.conditions import CONDITION_KINDS, Duration, Eq, field
from crmcore.errors import DataError, DataTypeError
from crmcore.handoffs import HandoffContract, SlaPolicy
from crmcore.kpis import KPI_LABELS, Goal, KpiLabel, KpiReview
from crmcore.money import CURRENCY_MINOR_UNITS, Money
from crmcore.ownership import (
    ROLES,
    STANDARD_TEAMS,
    Asset,
    OwnershipMap,
    Responsibility,
)
from crmcore.pipelines import (
    CRITERION_KINDS,
    Pipeline,
    StageDefinition,
    TransitionPolicy,
)
from crmcore.playbook import Definition, FieldSpec, Playbook
from crmcore.quality import DataRule, DataSpec
from crmcore.records import (
    MISSING,
    Account,
    Activity,
    Columns,
    Contact,
    Lead,
    Opportunity,
    StageChange,
    Subscription,
    get_field,
    to_micros,
)
from crmcore.registry import KindDraws, Registry
from crmcore.routing import (
    ByCapacity,
    ByField,
    LeastLoaded,
    Person,
    RoundRobin,
    Router,
    RoutingRule,
)
from crmcore.scoring import (
    DECAY_KINDS,
    FEATURE_KINDS,
    GRADES,
    RULE_KINDS,
    Band,
    GradeCriterion,
    GradingProfile,
    NaiveBayes,
    RuleGroup,
    ScoringModel,
)
from crmcore.segments import IcpCriterion, IcpModel, IcpTier, Segment, Tier, Tiering
from crmcore.strategy import (
    LEVELS,
    Initiative,
    Milestone,
    PriorityMatrix,
    StrategyCanvas,
    StrategyStatement,
)

__all__ = [
    "DST_TIMEZONES",
    "accounts",
    "activities",
    "aware_datetimes",
    "business_calendars",
    "column_batches",
    "columns_of",
    "condition_records",
    "conditions",
    "contacts",
    "currencies",
    "data_specs",
    "exit_criteria",
    "field_maps",
    "grading_profiles",
    "handoff_contracts",
    "iana_timezones",
    "icp_models",
    "ids",
    "intervals",
    "kpi_labels",
    "leads",
    "money",
    "naive_bayes_models",
    "opportunities",
    "ownership_maps",
    "period_units",
    "periods",
    "pipelines",
    "playbooks",
    "priority_matrices",
    "routers",
    "scoring_models",
    "scoring_records",
    "segments",
    "sla_policies",
    "spend_rows",
    "stage_changes",
    "subscriptions",
    "tierings",
    "working_windows",
]

DST_TIMEZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",  # DST changes at midnight
    "America/Havana",  # DST changes at midnight
    "America/St_Johns",  # half-hour offset with DST
    "Australia/Lord_Howe",  # half-hour DST shift
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kathmandu",  # +05:45
    "Asia/Tehran",
    "Africa/Casablanca",  # DST suspended during Ramadan
)
"""IANA zones chosen for awkward clock changes."""

_MAX_COLUMN_PLACES: Final = 9
_MIN = datetime(1990, 1, 1)
_MAX = datetime(2060, 12, 31)


def currencies() -> st.SearchStrategy[str]:
    """Active ISO 4217 currency codes."""
    return st.sampled_from(sorted(CURRENCY_MINOR_UNITS))


def money(
    currency: str | None = None,
    *,
    min_amount: int = -(10**12),
    max_amount: int = 10**12,
    max_places: int = 4,
) -> st.SearchStrategy[Money]:
    """Exact money amounts, in ``currency`` or in a random currency.

    Args:
        currency: Fix the currency; random when ``None``.
        min_amount: Smallest whole-unit amount.
        max_amount: Largest whole-unit amount.
        max_places: Most digits after the decimal point.
    """
    currency_st = st.just(currency) if currency is not None else currencies()
    amounts = st.builds(
        lambda whole, places: Decimal(whole).scaleb(-places),
        st.integers(min_amount * 10**max_places, max_amount * 10**max_places),
        st.just(max_places),
    )
    return st.builds(Money, amounts, currency_st)


def iana_timezones() -> st.SearchStrategy[tzinfo]:
    """IANA zones with awkward DST rules.

    See [`DST_TIMEZONES`][crmcore.testing.DST_TIMEZONES] for the list.
    """
    return st.sampled_from(DST_TIMEZONES).map(ZoneInfo)


def _fixed_offsets() -> st.SearchStrategy[tzinfo]:
    return st.one_of(
        st.just(UTC),
        st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q))),
    )


def aware_datetimes(
    *,
    min_value: datetime = _MIN,
    max_value: datetime = _MAX,
    timezones: st.SearchStrategy[tzinfo] | None = None,
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes (UTC or fixed offsets unless ``timezones`` is given).

    Args:
        min_value: Earliest naive wall-clock value.
        max_value: Latest naive wall-clock value.
        timezones: A strategy of ``tzinfo`` objects; e.g. ``iana_timezones()``.
    """
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=timezones if timezones is not None else _fixed_offsets(),
    )


def _within(interval: Interval | None) -> st.SearchStrategy[datetime]:
    """Instants in ``[start, end)`` of ``interval`` (any instant when ``None``).

    Drawn to the second and shown in UTC or a fixed offset, so the records'
    instants are equal-but-differently-written values, as real exports are.
    """
    if interval is None:
        return aware_datetimes()
    if not isinstance(interval, Interval):
        raise DataTypeError("within", interval, "an Interval or None")
    seconds = int((interval.end - interval.start).total_seconds())
    if seconds < 1:
        raise DataError("within", interval, "an interval of one second or longer")
    return st.builds(
        lambda offset, zone: (interval.start + timedelta(seconds=offset)).astimezone(
            zone
        ),
        st.integers(0, seconds - 1),
        _fixed_offsets(),
    )


def _delays(interval: Interval | None, days: int) -> timedelta:
    """The longest delay after a first instant: the interval's length, or days."""
    return timedelta(days=days) if interval is None else interval.end - interval.start


def ids(prefix: str = "") -> st.SearchStrategy[str]:
    """Non-empty string identifiers."""
    return st.text(
        alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12
    ).map(lambda s: prefix + s)


_labels = st.text(min_size=1, max_size=16)
_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**9), 10**9), st.text(max_size=20)
)


def field_maps() -> st.SearchStrategy[dict[str, Any]]:
    """Custom-field mappings with JSON scalar values (they round-trip exactly)."""
    return st.dictionaries(st.text(min_size=1, max_size=10), _json_scalars, max_size=4)


def period_units() -> st.SearchStrategy[PeriodUnit]:
    """Every kind of calendar unit, fiscal ones with any start month."""
    return st.one_of(
        st.sampled_from([DAY, WEEK, MONTH, QUARTER, YEAR]),
        st.builds(
            PeriodUnit,
            st.sampled_from(["fiscal_year", "fiscal_quarter"]),
            fiscal_start_month=st.integers(1, 12),
        ),
    )


def periods(
    units: st.SearchStrategy[PeriodUnit] | None = None,
    *,
    tz: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Period]:
    """Periods of random units and zones between 1990 and 2060."""

    @st.composite
    def build(draw: st.DrawFn) -> Period:
        unit = draw(units if units is not None else period_units())
        day = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 1, 1)))
        zone = draw(tz if tz is not None else st.sampled_from(DST_TIMEZONES))
        return Period(unit, unit.floor(day), tz=zone)

    return build()


def intervals() -> st.SearchStrategy[Interval]:
    """Half-open intervals, empty ones included."""
    return st.builds(
        lambda start, length: Interval(start, start + length),
        aware_datetimes(),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
    )


_opt = st.none().__or__


def accounts() -> st.SearchStrategy[Account]:
    """Valid accounts with optional fields filled at random."""
    return st.builds(
        Account,
        ids("acc-"),
        _labels,
        industry=_opt(_labels),
        employees=_opt(st.integers(0, 10**6)),
        country=_opt(st.sampled_from(["DE", "US", "GB", "FR", "JP", "BR"])),
        annual_revenue=_opt(money(min_amount=0)),
        owner=_opt(ids("rep-")),
        created_at=_opt(aware_datetimes()),
        fields=field_maps(),
    )


def contacts() -> st.SearchStrategy[Contact]:
    """Valid contacts."""
    return st.builds(
        Contact,
        ids("con-"),
        account_id=_opt(ids("acc-")),
        name=_opt(_labels),
        email=_opt(st.emails()),
        title=_opt(_labels),
        created_at=_opt(aware_datetimes()),
        fields=field_maps(),
    )


def leads(*, within: Interval | None = None) -> st.SearchStrategy[Lead]:
    """Valid leads; a converted lead converts at or after creation.

    Args:
        within: Create every lead inside this interval, and convert it no
            later than the interval's length after (for KPI tests: pass an
            interval a little wider than the KPI's window).
    """
    return _leads(_within(within), _delays(within, 400))


@st.composite
def _leads(
    draw: st.DrawFn, instants: st.SearchStrategy[datetime], longest: timedelta
) -> Lead:
    created = draw(instants)
    converted = draw(_opt(st.timedeltas(min_value=timedelta(0), max_value=longest)))
    return Lead(
        draw(ids("lead-")),
        created,
        source=draw(_opt(_labels)),
        status=draw(
            st.sampled_from(["new", "mql", "sql", "converted", "disqualified"])
        ),
        owner=draw(_opt(ids("rep-"))),
        email=draw(_opt(st.emails())),
        company=draw(_opt(_labels)),
        industry=draw(_opt(_labels)),
        employees=draw(_opt(st.integers(0, 10**6))),
        country=draw(_opt(_labels)),
        account_id=draw(_opt(ids("acc-"))),
        contact_id=draw(_opt(ids("con-"))),
        converted_at=None if converted is None else created + converted,
        fields=draw(field_maps()),
    )


def opportunities(
    *,
    outcomes: tuple[str, ...] = ("open", "won", "lost"),
    currency: str | None = None,
    stages: tuple[str, ...] = ("prospecting", "discovery", "proposal", "negotiation"),
    within: Interval | None = None,
) -> st.SearchStrategy[Opportunity]:
    """Valid opportunities whose close facts agree with their outcome.

    Args:
        outcomes: The outcomes to draw from.
        currency: Fix the currency; random when ``None``.
        stages: The open stage keys to draw from.
        within: Create every deal inside this interval, and close it no later
            than the interval's length after (for KPI tests: pass an interval
            a little wider than the KPI's window, so deals straddle its edges).
    """
    return _opportunities(
        outcomes, currency, stages, _within(within), _delays(within, 720)
    )


@st.composite
def _opportunities(  # noqa: PLR0917 - the public function's options
    draw: st.DrawFn,
    outcomes: tuple[str, ...],
    currency: str | None,
    stages: tuple[str, ...],
    instants: st.SearchStrategy[datetime],
    longest: timedelta,
) -> Opportunity:
    outcome = draw(st.sampled_from(outcomes))
    created = draw(instants)
    closed_at = None
    stage = draw(st.sampled_from(stages))
    if outcome != "open":
        closed_at = created + draw(
            st.timedeltas(min_value=timedelta(0), max_value=longest)
        )
        stage = "closed_won" if outcome == "won" else "closed_lost"
    amount = Decimal(draw(st.integers(0, 10**10))).scaleb(-draw(st.integers(0, 2)))
    return Opportunity(
        draw(ids("opp-")),
        draw(_opt(ids("acc-"))),
        amount,
        currency if currency is not None else draw(currencies()),
        created,
        stage,
        outcome=outcome,  # type: ignore[arg-type]
        closed_at=closed_at,
        lost_reason=draw(_opt(_labels)) if outcome == "lost" else None,
        owner=draw(_opt(ids("rep-"))),
        probability=draw(_opt(st.integers(0, 100).map(lambda p: Decimal(p) / 100))),
        fields=draw(field_maps()),
    )


def stage_changes() -> st.SearchStrategy[StageChange]:
    """Valid stage changes, creation events (``from_stage=None``) included."""
    return st.builds(
        StageChange,
        ids("opp-"),
        _opt(ids()),
        ids(),
        aware_datetimes(),
        by=_opt(ids("rep-")),
    )


def activities() -> st.SearchStrategy[Activity]:
    """Valid engagement events."""
    return st.builds(
        Activity,
        ids(),
        st.sampled_from(["email_open", "page_view", "meeting", "call", "webinar"]),
        aware_datetimes(),
        properties=field_maps(),
        id=_opt(ids("act-")),
        by=_opt(ids("rep-")),
    )


def subscriptions(
    *,
    currency: str | None = None,
    within: Interval | None = None,
    customers: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Subscription]:
    """Valid subscriptions with non-negative MRR and ``end`` after ``start``.

    Args:
        currency: Fix the currency; random when ``None``.
        within: Start every subscription inside this interval, and end it (if
            at all) no later than the interval's length after.
        customers: The customer ids to draw from; a few (e.g.
            ``st.sampled_from(["c1", "c2", "c3"])``) give each customer several
            subscriptions, so MRR expands, contracts, churns and reactivates.
    """
    return _subscriptions(
        currency,
        _within(within),
        _delays(within, 1500),
        customers if customers is not None else ids("acc-"),
    )


@st.composite
def _subscriptions(
    draw: st.DrawFn,
    currency: str | None,
    instants: st.SearchStrategy[datetime],
    longest: timedelta,
    customers: st.SearchStrategy[str],
) -> Subscription:
    start = draw(instants)
    length = draw(
        _opt(st.timedeltas(min_value=timedelta(seconds=1), max_value=longest))
    )
    return Subscription(
        draw(customers),
        draw(money(currency, min_amount=0, max_amount=10**7, max_places=2)),
        start,
        end=None if length is None else start + length,
        id=draw(_opt(ids("sub-"))),
        plan=draw(_opt(_labels)),
    )


def spend_rows(
    *,
    currency: str | None = None,
    within: Interval | None = None,
    channels: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Marketing-spend rows, as [`MarketingSpend`][crmcore.kpis.MarketingSpend] reads.

    Each row is a dict with ``at`` (aware), ``amount`` (a non-negative Decimal
    with up to 2 places), ``currency`` and ``channel``.

    Args:
        currency: Fix the currency; random when ``None``.
        within: Spend every row inside this interval.
        channels: The channel names to draw from (default: a few common ones).
    """
    return st.fixed_dictionaries(
        {
            "at": _within(within),
            "amount": st.builds(
                lambda cents: Decimal(cents).scaleb(-2), st.integers(0, 10**9)
            ),
            "currency": st.just(currency) if currency is not None else currencies(),
            "channel": channels
            if channels is not None
            else st.sampled_from(["paid_search", "paid_social", "events", "organic"]),
        }
    )


_LEAF_FIELDS = ("a", "b", "c", "d.e")
_AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
_NEAR = Interval(_AS_OF - timedelta(days=800), _AS_OF + timedelta(days=200))


def _paths(paths: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(paths) if paths else st.nothing()


def _holds_conditions(cls: type[Any]) -> bool:
    return any(
        a.metadata.get("crmcore") in {"condition", "conditions"}
        for a in attrs.fields(cls)
    )


def _derived(cls: type[Any], draws: KindDraws) -> st.SearchStrategy[Any]:
    """A strategy for a kind without a ``strategy`` hook, from its attrs fields.

    Fields with a role draw from ``draws``; the others from their type
    annotation, or keep their default (drawn about half the time).
    """
    by_role: dict[str, st.SearchStrategy[Any]] = {
        "path": draws.any_paths,
        "value": draws.values,
        "values": st.lists(draws.values, max_size=3),
        "duration": draws.durations,
        "instant": draws.instants,
        "condition": draws.children,
        "conditions": st.lists(draws.children, max_size=3),
    }
    attrs.resolve_types(cls)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for attribute in attrs.fields(cls):
        if not attribute.init:
            continue
        role = attribute.metadata.get("crmcore")
        drawn = by_role[role] if role in by_role else st.from_type(attribute.type)
        default = attribute.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if default is not attrs.NOTHING:
            drawn = st.just(default) | drawn
        fields[attribute.alias] = drawn
    return st.builds(cls, **fields)


def _kind_strategy(cls: type[Any], draws: KindDraws) -> st.SearchStrategy[Any]:
    hook = getattr(cls, "strategy", None)
    return hook(draws) if hook is not None else _derived(cls, draws)


def _chosen(registry: Registry, kinds: Iterable[str] | None) -> list[type[Any]]:
    """The classes of ``kinds`` (all by default), in name order."""
    names = sorted(registry) if kinds is None else list(kinds)
    return [registry.lookup(name, path="kinds") for name in names]


def _draws(
    fields: tuple[str, ...],
    values: st.SearchStrategy[Any] | None,
    texts: tuple[str, ...],
    instants: tuple[str, ...],
    collections: tuple[str, ...],
) -> KindDraws:
    return KindDraws(
        paths=_paths(fields),
        values=values if values is not None else st.integers(0, 3),
        any_paths=_paths((*fields, *texts, *instants, *collections)),
        text_paths=_paths(texts),
        texts=st.text(alphabet="abAB", max_size=2),
        instant_paths=_paths(instants),
        instants=_within(_NEAR),
        durations=st.builds(Duration, days=st.integers(1, 400)),
        collection_paths=_paths(collections),
        items=st.nothing(),
        children=st.nothing(),
    )


def conditions(
    fields: tuple[str, ...] = _LEAF_FIELDS,
    *,
    values: st.SearchStrategy[Any] | None = None,
    texts: tuple[str, ...] = ("s",),
    instants: tuple[str, ...] = ("t",),
    collections: tuple[str, ...] = ("items",),
    kinds: Iterable[str] | None = None,
    max_leaves: int = 12,
) -> st.SearchStrategy[Any]:
    """Random condition trees of every registered kind (or of ``kinds``).

    Each kind draws itself with its ``strategy(draws)`` hook (see
    [`KindDraws`][crmcore.registry.KindDraws]), or from its attrs fields when
    it has none, so a vendor kind registered before the tests run is drawn
    too. Leaves compare scalar fields with small ints by default, so
    records from [`condition_records`][crmcore.testing.condition_records]
    with the same arguments hit every branch: equal, unequal, missing and
    ``None``. Recency kinds are relative to ``as_of`` 2026-01-01 UTC (pass it
    when evaluating).

    Args:
        fields: The scalar field paths leaves read.
        values: Strategy for comparison values; small ints by default.
        texts: Fields that hold strings (text kinds read them).
        instants: Fields that hold instants (time kinds read them).
        collections: Fields that hold lists of item records (``count``).
        kinds: The kind names to draw; every registered kind by default.
        max_leaves: Upper bound on the number of leaves.

    Raises:
        UnknownKindError: For a name in ``kinds`` that is not registered.
        DataError: When ``kinds`` has no kind that holds no other conditions.
    """
    chosen = _chosen(CONDITION_KINDS, kinds)
    flat = [cls for cls in chosen if not _holds_conditions(cls)]
    nested = [cls for cls in chosen if _holds_conditions(cls)]
    if not flat:
        raise DataError("kinds", kinds, "at least one kind that holds no conditions")
    draws = _draws(fields, values, texts, instants, collections)
    leaves = st.one_of([_kind_strategy(cls, draws) for cls in flat])
    draws = attrs.evolve(draws, items=leaves)
    if not nested:
        return leaves
    leaves = st.one_of([_kind_strategy(cls, draws) for cls in flat])

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        inner = attrs.evolve(draws, children=children)
        return st.one_of([_kind_strategy(cls, inner) for cls in nested])

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def exit_criteria(
    fields: tuple[str, ...] = _LEAF_FIELDS,
    *,
    kinds: Iterable[str] | None = None,
) -> st.SearchStrategy[Any]:
    """Random exit criteria of every registered kind (or of ``kinds``).

    Like [`conditions`][crmcore.testing.conditions]: each kind draws itself
    with its ``strategy(draws)`` hook, or from its attrs fields; conditions
    inside criteria come from ``conditions(fields, max_leaves=4)``.

    Raises:
        UnknownKindError: For a name in ``kinds`` that is not registered.
    """
    chosen = _chosen(CRITERION_KINDS, kinds)
    draws = attrs.evolve(
        _draws(fields, None, (), (), ()),
        items=conditions(fields, max_leaves=2),
        children=conditions(fields, max_leaves=4),
    )
    return st.one_of([_kind_strategy(cls, draws) for cls in chosen])


def condition_records(
    fields: tuple[str, ...] = _LEAF_FIELDS,
    *,
    values: st.SearchStrategy[Any] | None = None,
    texts: tuple[str, ...] = ("s",),
    instants: tuple[str, ...] = ("t",),
    collections: tuple[str, ...] = ("items",),
) -> st.SearchStrategy[dict[str, Any]]:
    """Dict records for the conditions of [`conditions`][crmcore.testing.conditions].

    Each field is absent, ``None`` or a fitting value: a small int (or a
    ``values`` draw) for scalars, a short string, an instant near 2026, or a
    list of up to three item records with the scalar and text fields. Dotted
    paths become nested dicts (``"d.e"`` is ``{"d": {"e": 1}}``, ``{}``, or
    ``{"d": None}``).
    """
    value = values if values is not None else st.integers(0, 3)
    text = st.text(alphabet="abAB", max_size=3)

    def shaped(
        kinds: list[tuple[str, st.SearchStrategy[Any]]],
    ) -> st.SearchStrategy[dict[str, Any]]:
        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            record: dict[str, Any] = {}
            for path, strategy in kinds:
                *parents, last = path.split(".")
                target: Any = record
                for part in parents:
                    if part not in target and draw(st.booleans()):
                        target[part] = draw(st.sampled_from([{}, None]))
                    target = target.get(part)
                    if target is None:
                        break
                if target is not None and draw(st.booleans()):
                    target[last] = draw(st.none() | strategy)
            return record

        return build()

    scalars = [(path, value) for path in fields] + [(path, text) for path in texts]
    item = shaped(scalars)
    return shaped(
        [
            *scalars,
            *((path, _within(_NEAR)) for path in instants),
            *((path, st.lists(item, max_size=3)) for path in collections),
        ]
    )


def segments(fields: tuple[str, ...] = _LEAF_FIELDS) -> st.SearchStrategy[Any]:
    """Random [`Segment`][crmcore.segments.Segment] definitions."""
    return st.builds(
        Segment,
        ids("seg-"),
        conditions(fields, max_leaves=6),
        description=st.text(max_size=30),
    )


def tierings(fields: tuple[str, ...] = _LEAF_FIELDS) -> st.SearchStrategy[Any]:
    """Random [`Tiering`][crmcore.segments.Tiering] definitions (unique tier names)."""
    tiers = st.lists(
        st.builds(Tier, ids("tier-"), conditions(fields, max_leaves=4)),
        min_size=1,
        max_size=4,
        unique_by=lambda tier: tier.name,
    )
    return st.builds(Tiering, ids("tiering-"), tiers, default=_opt(ids("default-")))


def icp_models(fields: tuple[str, ...] = _LEAF_FIELDS) -> st.SearchStrategy[Any]:
    """Random [`IcpModel`][crmcore.segments.IcpModel] definitions."""
    criteria = st.lists(
        st.builds(
            IcpCriterion,
            ids("crit-"),
            conditions(fields, max_leaves=4),
            weight=st.integers(1, 10),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda criterion: criterion.name,
    )
    tiers = st.lists(
        st.builds(IcpTier, ids("tier-"), st.integers(0, 100)),
        max_size=4,
        unique_by=lambda tier: tier.name,
    )
    return st.builds(
        IcpModel,
        ids("icp-"),
        criteria,
        tiers=tiers,
        disqualifiers=st.lists(segments(fields), max_size=2),
    )


_EVENT_KINDS = ("visit", "form", "demo", "call")


def _event_conditions() -> st.SearchStrategy[Any]:
    """Conditions on one event: mostly ``kind == ...``, sometimes anything."""
    return st.builds(Eq, st.just("kind"), st.sampled_from(_EVENT_KINDS)) | conditions(
        ("kind", "n"), values=st.sampled_from((*_EVENT_KINDS, 0, 1)), max_leaves=3
    )


def _bands(prefix: str) -> st.SearchStrategy[list[Band]]:
    return st.lists(
        st.builds(Band, ids(prefix), st.none() | st.integers(-20, 80)),
        max_size=3,
        unique_by=(lambda b: b.name, lambda b: b.at_least),
    )


def scoring_models(
    fields: tuple[str, ...] = _LEAF_FIELDS,
) -> st.SearchStrategy[ScoringModel]:
    """Random [`ScoringModel`][crmcore.scoring.ScoringModel] definitions.

    One to three groups of one to five rules of every registered rule kind
    (record conditions over ``fields``, event rules over events with a
    ``kind`` and an ``n``), with or without caps, bands, decays of every
    registered decay kind, a floor, a total cap and a label. Score them with
    [`scoring_records`][crmcore.testing.scoring_records] at ``as_of``
    2026-01-01 UTC.
    """
    draws = attrs.evolve(
        _draws(fields, None, (), ("t",), ()),
        items=_event_conditions(),
        children=conditions(fields, max_leaves=4),
    )
    rule = st.one_of([_kind_strategy(cls, draws) for cls in _chosen(RULE_KINDS, None)])
    decay = st.one_of(
        [_kind_strategy(cls, draws) for cls in _chosen(DECAY_KINDS, None)]
    )
    group = st.builds(
        RuleGroup,
        ids("g-"),
        st.lists(rule, min_size=1, max_size=5, unique_by=lambda r: r.name),
        cap=st.none() | st.integers(1, 60),
        bands=_bands("band-"),
        decay=st.none() | decay,
    )

    @st.composite
    def build(draw: st.DrawFn) -> ScoringModel:
        groups = draw(
            st.lists(group, min_size=1, max_size=3, unique_by=lambda g: g.name)
        )
        floor = draw(st.none() | st.integers(-30, 20))
        cap = draw(st.none() | st.integers(max(floor or 0, 1), 120))
        banded = [g.name for g in groups if g.bands]
        label = draw(st.lists(st.sampled_from(banded), max_size=2)) if banded else []
        return ScoringModel(
            draw(ids("model-")),
            groups,
            cap=cap,
            floor=floor,
            bands=draw(_bands("stage-")),
            label=label,
        )

    return build()


def grading_profiles(
    fields: tuple[str, ...] = _LEAF_FIELDS,
) -> st.SearchStrategy[GradingProfile]:
    """Random [`GradingProfile`][crmcore.scoring.GradingProfile] definitions."""
    criteria = st.lists(
        st.builds(
            GradeCriterion,
            ids("crit-"),
            conditions(fields, max_leaves=4),
            matched=st.integers(-3, 3),
            unmatched=st.integers(-3, 3),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda criterion: criterion.name,
    )
    return st.builds(
        GradingProfile, ids("profile-"), criteria, base=st.sampled_from(GRADES)
    )


def naive_bayes_models(
    fields: tuple[str, ...] = _LEAF_FIELDS,
) -> st.SearchStrategy[NaiveBayes]:
    """Random [`NaiveBayes`][crmcore.scoring.NaiveBayes] definitions.

    Features of every registered feature kind over ``fields``, with or
    without stages, a team field and a minimum team size.
    """
    draws = attrs.evolve(
        _draws(fields, None, (), ("t",), ("items",)),
        items=conditions(fields, max_leaves=2),
        children=conditions(fields, max_leaves=3),
    )
    feature = st.one_of(
        [_kind_strategy(cls, draws) for cls in _chosen(FEATURE_KINDS, None)]
    )
    return st.builds(
        NaiveBayes,
        st.lists(feature, max_size=4, unique_by=lambda f: f.name),
        stages=st.sampled_from([(), ("new", "demo"), ("a", "b", "c")]),
        team=st.sampled_from(["team", None, "owner.team"]),
        min_team_records=st.integers(0, 50),
    )


def scoring_records(
    fields: tuple[str, ...] = _LEAF_FIELDS,
) -> st.SearchStrategy[dict[str, Any]]:
    """Dict records for [`scoring_models`][crmcore.testing.scoring_models].

    The fields of [`condition_records`][crmcore.testing.condition_records]
    and an ``activities`` list of up to six events, each with a ``kind``, an
    ``n`` and an instant ``at`` from about two years before to half a year
    after 2026-01-01 (events after ``as_of`` have not happened yet).
    """
    event = st.fixed_dictionaries(
        {"kind": st.sampled_from(_EVENT_KINDS), "at": _within(_NEAR)},
        optional={"n": st.integers(0, 1)},
    )
    return st.builds(
        lambda record, events: {**record, "activities": events},
        condition_records(fields),
        st.lists(event, max_size=6),
    )


def pipelines() -> st.SearchStrategy[Any]:
    """Random valid [`Pipeline`][crmcore.pipelines.Pipeline] definitions.

    Two to five open stages with field and condition exit criteria, a won
    and a lost stage, and a random non-graph policy with lost reasons.
    """

    @st.composite
    def build(draw: st.DrawFn) -> Pipeline:
        count = draw(st.integers(1, 5))
        opens = []
        for index in range(count):
            criteria = draw(
                st.lists(
                    exit_criteria(kinds=("must_hold", "required_fields")),
                    max_size=2,
                )
            )
            opens.append(
                StageDefinition(
                    f"stage_{index}",
                    f"Stage {index}",
                    probability=draw(
                        _opt(st.integers(0, 100).map(lambda p: Decimal(p) / 100))
                    ),
                    exit_criteria=criteria,
                    rotting_days=draw(_opt(st.integers(1, 90))),
                )
            )
        policy = TransitionPolicy(
            draw(st.sampled_from(["free", "forward_only", "no_skip"])),
            allow_backward=draw(st.booleans()),
            allow_reopen=draw(st.booleans()),
            lost_reasons=draw(st.lists(ids(), min_size=1, max_size=3, unique=True)),
        )
        return Pipeline(
            draw(ids("pipeline-")),
            (
                *opens,
                StageDefinition("won", "Won", kind="won"),
                StageDefinition("lost", "Lost", kind="lost"),
            ),
            policy=policy,
        )

    return build()


def working_windows(
    *, max_windows: int = 3
) -> st.SearchStrategy[tuple[WorkingWindow, ...]]:
    """One to ``max_windows`` windows of a day, in order and not overlapping.

    Bounds fall on any minute, DST's skipped and repeated hours included,
    and a window may close at 24:00.
    """

    def build(marks: list[int]) -> tuple[WorkingWindow, ...]:
        ordered = sorted(marks)
        return tuple(
            WorkingWindow(_minute(opens), _minute(closes))
            for opens, closes in zip(ordered[::2], ordered[1::2], strict=True)
        )

    return (
        st.integers(1, max_windows)
        .flatmap(
            lambda count: st.lists(
                st.integers(0, 24 * 60),
                min_size=2 * count,
                max_size=2 * count,
                unique=True,
            )
        )
        .map(build)
    )


def _minute(minute: int) -> time:
    return time(0) if minute == 24 * 60 else time(minute // 60, minute % 60)


@st.composite
def business_calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Business calendars in awkward zones, with random working time.

    Random workdays, split shifts, weekday hours, holidays and extra
    working days.
    """
    workdays = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
    holidays = draw(st.lists(days, max_size=8, unique=True))
    extra = draw(
        st.lists(days.filter(lambda d: d not in holidays), max_size=3, unique=True)
    )
    special = draw(st.lists(st.sampled_from(workdays), max_size=2, unique=True))
    return BusinessCalendar(
        draw(st.sampled_from(DST_TIMEZONES)),
        workdays,
        holidays,
        hours=draw(st.just((WHOLE_DAY,)) | working_windows()),
        weekday_hours=[WeekdayHours(day, draw(working_windows())) for day in special],
        extra_workdays=extra,
    )


def _budgets() -> st.SearchStrategy[timedelta]:
    """Business-time targets from a minute to two working weeks."""
    return st.integers(1, 80 * 60).map(lambda minutes: timedelta(minutes=minutes))


def _fractions() -> st.SearchStrategy[Decimal]:
    return st.integers(1, 100).map(lambda percent: Decimal(percent) / 100)


_TICKET_FIELDS: Final = ("tier", "priority", "employees")
_STATUSES: Final = ("open", "responded", "waiting_on_customer", "resolved", "closed")


def sla_policies(*, when: bool | None = None) -> st.SearchStrategy[SlaPolicy]:
    """Random SLA policies: targets, a team calendar, pauses and conditions.

    ``when=True`` always draws a condition (for a list of policies),
    ``False`` never (a default), ``None`` either.
    """
    statuses = st.sampled_from(_STATUSES)

    @st.composite
    def build(draw: st.DrawFn) -> SlaPolicy:
        response = draw(st.none() | _budgets())
        resolution = draw(_budgets() if response is None else st.none() | _budgets())
        chosen = when if when is not None else draw(st.booleans())
        pause = draw(st.none() | st.lists(statuses, min_size=1, max_size=2))
        return SlaPolicy(
            draw(ids("policy-")),
            response,
            resolution,
            when=draw(conditions(_TICKET_FIELDS, max_leaves=3)) if chosen else None,
            calendar=draw(business_calendars()),
            at_risk=draw(_fractions()),
            pause_when=None if pause is None else field("status").is_in(pause),
        )

    return build()


def handoff_contracts() -> st.SearchStrategy[HandoffContract]:
    """Random handoff contracts between two different teams."""
    teams = st.sampled_from(("marketing", "sales", "success", "operations", "product"))

    @st.composite
    def build(draw: st.DrawFn) -> HandoffContract:
        giver = draw(teams)
        taker = draw(teams.filter(lambda team: team != giver))
        return HandoffContract(
            draw(ids("handoff-")),
            giver,
            taker,
            draw(st.sampled_from(("mql", "sql", "won", "renewal"))),
            requires=draw(st.lists(exit_criteria(), max_size=3)),
            carries=draw(st.lists(st.sampled_from(_LEAF_FIELDS), max_size=3)),
            accept_within=draw(_budgets()),
            calendar=draw(business_calendars()),
            at_risk=draw(_fractions()),
            escalate_to=draw(st.none() | st.sampled_from(("sales_manager", "cs_lead"))),
        )

    return build()


_SKILLS: Final = ("de", "en", "fr", "emea", "amer", "apac", "enterprise")
_LEAVE_FROM: Final = datetime(2026, 3, 1, tzinfo=UTC)


def routers() -> st.SearchStrategy[Router]:
    """Random routers: people with skills, calendars, leave and capacity, and rules.

    People are ``p-a``, ``p-b``...; rules test ``employees`` and match
    ``language`` or prefer ``region``; the leave falls in March 2026.
    """

    @st.composite
    def person(draw: st.DrawFn, key: str) -> Person:
        start = _LEAVE_FROM + timedelta(hours=draw(st.integers(0, 30 * 24)))
        away = Interval(start, start + timedelta(hours=draw(st.integers(1, 10 * 24))))
        return Person(
            key,
            team=draw(st.sampled_from(["sales", "success"])),
            skills=draw(st.lists(st.sampled_from(_SKILLS), max_size=4)),
            calendar=draw(st.none() | business_calendars()),
            active=draw(st.booleans() | st.just(True)),
            leave=draw(st.lists(st.just(away), max_size=1)),
            monthly_capacity=draw(st.none() | st.integers(0, 300)),
        )

    strategies: st.SearchStrategy[Any] = st.sampled_from(
        [RoundRobin(), LeastLoaded(), ByCapacity(), ByField("owner")]
    )

    @st.composite
    def build(draw: st.DrawFn) -> Router:
        keys = [f"p-{letter}" for letter in "abcdef"[: draw(st.integers(1, 6))]]
        people = [draw(person(key)) for key in keys]
        teams = sorted({p.team for p in people if p.team is not None})
        rules = []
        for index in range(draw(st.integers(1, 3))):
            floor = draw(st.none() | st.integers(0, 5000))
            rules.append(
                RoutingRule(
                    f"rule-{index}",
                    draw(strategies),
                    when=None if floor is None else field("employees") >= floor,
                    team=draw(st.none() | st.sampled_from(teams)),
                    needs=draw(st.lists(st.sampled_from(_SKILLS), max_size=1)),
                    match=draw(st.lists(st.just("language"), max_size=1)),
                    prefer=draw(st.lists(st.just("region"), max_size=1)),
                )
            )
        return Router(rules, people, seed=draw(st.none() | st.integers(0, 2**32)))

    return build()


def ownership_maps() -> st.SearchStrategy[OwnershipMap]:
    """Random ownership maps: the standard teams holding random roles, a RACI."""
    role_keys = [role.key for role in ROLES]
    kinds = st.sampled_from(["field", "stage", "pipeline", "segment", "kpi", "handoff"])
    assets = st.builds(Asset, kinds, st.sampled_from(["a", "b", "proposal", "mrr"]))

    @st.composite
    def build(draw: st.DrawFn) -> OwnershipMap:
        teams = [
            attrs.evolve(
                team,
                roles=draw(
                    st.lists(st.sampled_from(role_keys), max_size=2, unique=True)
                ),
            )
            for team in STANDARD_TEAMS
        ]
        cells = draw(
            st.lists(
                st.builds(
                    Responsibility,
                    assets,
                    st.sampled_from(role_keys),
                    st.sampled_from(
                        ["responsible", "accountable", "consulted", "informed"]
                    ),
                ),
                max_size=8,
                unique_by=lambda cell: (cell.asset, cell.role),
            )
        )
        return OwnershipMap(teams, cells, assets=draw(st.lists(assets, max_size=3)))

    return build()


def priority_matrices() -> st.SearchStrategy[PriorityMatrix]:
    """Random priority matrices, listed in any order.

    Initiatives wait for earlier ones (so there is no cycle) and for
    milestones, some of them reached.
    """

    @st.composite
    def build(draw: st.DrawFn) -> PriorityMatrix:
        milestones = [
            Milestone(f"m{index}", f"Milestone {index}", reached=draw(st.booleans()))
            for index in range(draw(st.integers(0, 2)))
        ]
        initiatives: list[Initiative] = []
        for index in range(draw(st.integers(1, 7))):
            earlier = [i.key for i in initiatives] + [m.key for m in milestones]
            after = (
                draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True))
                if earlier
                else []
            )
            initiatives.append(
                Initiative(
                    f"i{index}",
                    f"Initiative {index}",
                    draw(st.sampled_from(LEVELS)),
                    draw(st.sampled_from(LEVELS)),
                    after=after,
                    owner=draw(st.none() | st.sampled_from([r.key for r in ROLES])),
                )
            )
        return PriorityMatrix(draw(st.permutations(initiatives)), milestones=milestones)

    return build()


def data_specs() -> st.SearchStrategy[DataSpec]:
    """Random data specs over the records of ``condition_records()``.

    Required fields, rules (some with ``when``), sources of the text field
    ``s``, freshness of the instant ``t`` and consent fields; relative to
    ``as_of`` 2026-01-01 UTC.
    """
    paths = st.sampled_from([*_LEAF_FIELDS, "s", "t"])

    @st.composite
    def build(draw: st.DrawFn) -> DataSpec:
        rules = [
            DataRule(
                f"rule{index}",
                draw(conditions(max_leaves=3)),
                when=draw(st.none() | conditions(max_leaves=2)),
            )
            for index in range(draw(st.integers(0, 3)))
        ]
        fresh = draw(st.booleans())
        return DataSpec(
            "spec",
            "records",
            required=draw(st.lists(paths, max_size=3, unique=True)),
            rules=rules,
            source="s",
            sources=draw(st.lists(st.sampled_from(["a", "b", "ab"]), unique=True)),
            refreshed="t" if fresh else None,
            refresh_every=draw(st.sampled_from(["30d", "1y", "12h"]))
            if fresh
            else None,
            owner=draw(st.none() | st.sampled_from([r.key for r in ROLES])),
            consent=draw(
                st.lists(st.sampled_from(["a", "c"]), max_size=2, unique=True)
            ),
        )

    return build()


def playbooks() -> st.SearchStrategy[Playbook]:
    """Random playbooks, every part drawn or left out.

    The canvas and the statement refer to parts that exist, and sometimes
    to one that does not.
    """
    unique = st.lists
    metrics = ("win_rate", "lead_conversion", "mrr", "vanity_metric")

    @st.composite
    def goals(draw: st.DrawFn) -> list[Goal]:
        chosen = draw(unique(st.sampled_from(metrics), max_size=2, unique=True))
        start = draw(aware_datetimes())
        return [
            Goal(
                metric,
                draw(st.decimals(0, 1, places=2)),
                draw(st.decimals(2, 3, places=2)),
                start,
                start + timedelta(days=draw(st.integers(1, 800))),
            )
            for metric in chosen
        ]

    @st.composite
    def build(draw: st.DrawFn) -> Playbook:
        segment_list = draw(unique(segments(), max_size=3, unique_by=lambda s: s.name))
        moment_list = draw(unique(segments(), max_size=2, unique_by=lambda s: s.name))
        pipeline_list = draw(unique(pipelines(), max_size=2, unique_by=lambda p: p.key))
        handoffs = draw(
            unique(handoff_contracts(), max_size=2, unique_by=lambda h: h.key)
        )
        ownership = draw(st.none() | ownership_maps())
        reviews = [
            KpiReview(
                metric,
                draw(st.sampled_from(["operational", "strategic"])),
                owner=draw(st.none() | st.just("sales")),
            )
            for metric in draw(
                unique(st.sampled_from(metrics), max_size=3, unique=True)
            )
        ]
        specs = draw(unique(data_specs(), max_size=1))
        parts = [
            *(f"segment:{s.name}" for s in segment_list),
            *(f"moment:{s.name}" for s in moment_list),
            *(f"handoff:{h.key}" for h in handoffs),
            *(f"kpi:{r.metric}" for r in reviews),
            *(f"data_spec:{d.key}" for d in specs),
            "segment:nowhere",
        ]
        assets = st.sampled_from(parts).map(Asset.parse)
        refs = st.lists(assets, max_size=2).map(tuple)
        statement = None
        if draw(st.booleans()):
            statement = StrategyStatement(
                draw(assets), draw(assets), draw(assets), draw(assets), draw(assets)
            )
        canvas = StrategyCanvas(
            customers=draw(refs),
            moments=draw(refs),
            owners=draw(refs),
            metrics=draw(refs),
            data=draw(refs),
            statement=statement,
        )
        definitions = [
            Definition(term, team, draw(conditions(max_leaves=2)))
            for term, team in draw(
                unique(
                    st.tuples(
                        st.sampled_from(["lead", "mql"]),
                        st.sampled_from(["sales", "marketing"]),
                    ),
                    max_size=3,
                    unique=True,
                )
            )
        ]
        fields = [
            FieldSpec(path, "leads", requested_by=draw(st.none() | st.just("sales")))
            for path in draw(
                unique(
                    st.sampled_from([*_LEAF_FIELDS, "budget"]), max_size=2, unique=True
                )
            )
        ]
        return Playbook(
            draw(st.sampled_from(["Acme", "Öko GmbH"])),
            description=draw(st.text(max_size=5)),
            strategy=canvas,
            segments=segment_list,
            moments=moment_list,
            pipelines=pipeline_list,
            definitions=definitions,
            ownership=ownership,
            handoffs=handoffs,
            routing=draw(st.none() | routers()),
            scoring=draw(unique(scoring_models(), max_size=1)),
            kpis=reviews,
            goals=draw(goals()),
            data=specs,
            fields=fields,
            initiatives=draw(st.none() | priority_matrices()),
        )

    return build()


def columns_of(
    records: Iterable[Any], *, micros: bool = False, decimals: Iterable[str] = ()
) -> Columns:
    """A [`Columns`][crmcore.records.Columns] batch of the records' fields.

    One column per top-level field any record has (attrs fields or mapping
    keys, in first-seen order; a field a record lacks is ``None``), as a
    frame reader builds a batch.

    Args:
        records: attrs records or mappings.
        micros: Hold every column of aware datetimes (and ``None``) as
            integer microseconds.
        decimals: Columns to hold as scaled integers, at the most decimal
            places any of their values has (0 to 9).

    Raises:
        DataError: For a ``decimals`` column that is not one of the fields,
            or has a value that is no exact number of at most 9 places.
    """
    items = list(records)
    names: dict[str, None] = {}
    for item in items:
        keys = (
            item.keys()
            if isinstance(item, Mapping)
            else (a.name for a in attrs.fields(type(item)))
        )
        names.update(dict.fromkeys(keys))
    columns: dict[str, list[Any]] = {
        name: [None if (v := get_field(item, name)) is MISSING else v for item in items]
        for name in names
    }
    marked = []
    if micros:
        for name, values in columns.items():
            if any(v is not None for v in values) and all(
                v is None or (isinstance(v, datetime) and v.tzinfo is not None)
                for v in values
            ):
                columns[name] = [None if v is None else to_micros(v) for v in values]
                marked.append(name)
    places: dict[str, int] = {}
    for name in decimals:
        if name not in columns:
            raise DataError("decimals", name, f"one of the fields: {list(columns)}")
        values = columns[name]
        exact = [v for v in values if v is not None]
        if not all(
            (type(v) is Decimal and v.is_finite()) or type(v) is int for v in exact
        ):
            raise DataError(f"decimals.{name}", values, "exact numbers or None")
        most = max([0, *(-Decimal(v).as_tuple().exponent for v in exact)])  # type: ignore[operator]
        if most > _MAX_COLUMN_PLACES:
            raise DataError(f"decimals.{name}", most, "at most 9 decimal places")
        columns[name] = [
            None if v is None else int(Decimal(v).scaleb(most)) for v in values
        ]
        places[name] = most
    return Columns(columns, micros=marked, decimals=places, length=len(items))


def _exact_numbers(values: Iterable[Any]) -> bool:
    """Whether every value is ``None`` or an exact number of at most 9 places."""
    return all(
        v is None
        or type(v) is int
        or (
            type(v) is Decimal
            and v.is_finite()
            and -v.as_tuple().exponent <= _MAX_COLUMN_PLACES  # type: ignore[operator]
        )
        for v in values
    )


def column_batches(
    records: st.SearchStrategy[Any] | None = None, *, max_size: int = 20
) -> st.SearchStrategy[Columns]:
    """[`Columns`][crmcore.records.Columns] batches of drawn records.

    Instants as datetimes or as integer microseconds, and an ``amount``
    column as datetimes or scaled integers, each drawn; the batch's rows are
    the records' fields, so an accumulator gives the same result for the
    batch and for its rows.

    Args:
        records: The records' strategy (default: opportunities).
        max_size: The most rows in a batch.
    """
    chosen = opportunities() if records is None else records

    @st.composite
    def build(draw: st.DrawFn) -> Columns:
        items = draw(st.lists(chosen, max_size=max_size))
        micros = draw(st.booleans())
        plain = columns_of(items)
        if (
            "amount" in plain.names
            and _exact_numbers(plain["amount"])
            and draw(st.booleans())
        ):
            return columns_of(items, micros=micros, decimals=("amount",))
        return columns_of(items, micros=micros)

    return build()


def kpi_labels() -> st.SearchStrategy[KpiLabel]:
    """[`KpiLabel`][crmcore.kpis.KpiLabel]s: the catalogue's, and made-up ones."""
    text = st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=40,
    )
    return st.sampled_from(list(KPI_LABELS.values())) | st.builds(KpiLabel, text, text)
