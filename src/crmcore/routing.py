"""Lead routing: ordered rules, registered assignment strategies, explained.

A [`Router`][crmcore.routing.Router] holds the people who may receive leads
and ordered [`RoutingRule`][crmcore.routing.RoutingRule]s. For each lead,
the first rule whose condition it meets and that has an available candidate
assigns it; a rule whose candidates are all unavailable falls through to the
next. Candidates come from a team or a list of people, narrowed by skills
(fixed ones, and ones a lead's field names, such as its language); a first
pass tries the candidates with the preferred skills before the others.

**Availability** is decided first and never overridden: nobody inactive, on
leave or outside their calendar's working hours is ever assigned, and the
capacity strategy never exceeds a daily quota.

**Strategies** are kinds of a registry,
[`ROUTING_STRATEGIES`][crmcore.routing.ROUTING_STRATEGIES], like condition
kinds: [`RoundRobin`][crmcore.routing.RoundRobin],
[`LeastLoaded`][crmcore.routing.LeastLoaded],
[`ByCapacity`][crmcore.routing.ByCapacity] and
[`ByField`][crmcore.routing.ByField] are built in; a vendor registers its
own with ``@ROUTING_STRATEGIES.register``.

**State is a value.** Where round robin stands, each person's open items
and the recent assignments that count against quotas are a
[`RoutingState`][crmcore.routing.RoutingState] passed in and returned.

**Deterministic.** Ties go to the earliest person key, or, with a
``seed``, to a shuffle drawn from the seed and the lead's id, so a batch
assigns the same way whatever order its leads come in.

**Explained.** Every [`Assignment`][crmcore.routing.Assignment] says which
rule matched, how the strategy chose, and why each other person was skipped.
"""

from __future__ import annotations

import bisect
import functools
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

import attrs

from crmcore import validators as _v
from crmcore.access import MISSING, field_getter, iterate
from crmcore.business_time import BusinessCalendar
from crmcore.calendar import Interval, require_aware
from crmcore.conditions import CONDITION_KINDS, Condition, compile_condition, to_text
from crmcore.conditions.values import CONDITION
from crmcore.errors import DataError, DataTypeError
from crmcore.records import FrozenMap
from crmcore.registry import Registry

__all__ = [
    "ROUTING_STRATEGIES",
    "Assignment",
    "AssignmentStrategy",
    "ByCapacity",
    "ByField",
    "Choice",
    "LeastLoaded",
    "Person",
    "RoundRobin",
    "Router",
    "RoutingBatch",
    "RoutingRule",
    "RoutingState",
    "daily_quota",
    "route",
    "route_batch",
]

_name = _v.name()
_DAY: Final = timedelta(days=1)
_QUOTA_DAYS: Final = Decimal(30)


def _skills(values: object) -> tuple[str, ...]:
    return tuple(
        sorted(
            set(_v.names(values, "skills", plural="a list of skills", item="a skill"))
        )
    )


def _leave(values: object) -> tuple[Interval, ...]:
    items: tuple[Interval, ...] = _v.tuple_of(
        values, Interval, "leave", item="an Interval"
    )
    return tuple(sorted(items, key=lambda i: (i.start, i.end)))


def _capacity(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _v.non_negative_int(expected="a non-negative int or None")(_i, attribute, value)


@attrs.frozen
class Person:
    """Someone who may receive leads.

    Attributes:
        key: A unique key, e.g. ``"ana"``.
        team: The team they work in.
        skills: Tags routing rules ask for: languages, territories,
            segments, products (``"de"``, ``"emea"``, ``"enterprise"``).
        calendar: Their working hours (``None``: always working).
        active: Whether they take leads at all.
        leave: The intervals they are away.
        monthly_capacity: Leads a month, for the capacity strategy.
        name: A name for people.
    """

    key: str = attrs.field(validator=_name)
    team: str | None = attrs.field(
        default=None, validator=_v.optional(_name), kw_only=True
    )
    skills: tuple[str, ...] = attrs.field(default=(), converter=_skills, kw_only=True)
    calendar: BusinessCalendar | None = attrs.field(
        default=None,
        validator=_v.optional(_v.instance_of(BusinessCalendar, "a BusinessCalendar")),
        kw_only=True,
    )
    active: bool = attrs.field(default=True, validator=_v.boolean(), kw_only=True)
    leave: tuple[Interval, ...] = attrs.field(
        default=(), converter=_leave, kw_only=True
    )
    monthly_capacity: int | None = attrs.field(
        default=None, validator=_capacity, kw_only=True
    )
    name: str = attrs.field(default="", validator=_v.text(), kw_only=True)

    def unavailable(self, as_of: datetime) -> str | None:
        """Why they cannot take a lead at ``as_of`` (``None``: they can)."""
        if not self.active:
            return "inactive"
        for away in self.leave:
            if away.contains(as_of):
                return f"on leave until {away.end.isoformat()}"
        if self.calendar is not None and not self.calendar.is_working(as_of):
            return (
                "outside working hours (next opening "
                f"{self.calendar.next_working(as_of).isoformat()})"
            )
        return None


@functools.lru_cache(maxsize=4096)
def _quota(monthly_capacity: int) -> int:
    return int((monthly_capacity / _QUOTA_DAYS).to_integral_value(ROUND_HALF_UP))


def daily_quota(monthly_capacity: int) -> int:
    """Leads a day from a monthly capacity: capacity / 30, rounded half up.

    Half up, not to even: a capacity of 15 gives 1 a day, not 0.

    Examples:
        >>> [daily_quota(n) for n in (0, 14, 15, 45, 300)]
        [0, 0, 1, 2, 10]
    """
    if type(monthly_capacity) is not int or monthly_capacity < 0:
        raise DataError("monthly_capacity", monthly_capacity, "a non-negative int")
    return _quota(monthly_capacity)


# ---------------------------------------------------------------------------
# State and the ledger strategies read
# ---------------------------------------------------------------------------
def _mapping(values: object, label: str, expected: str) -> Mapping[Any, Any]:
    if not isinstance(values, Mapping):
        raise DataTypeError(label, values, expected)
    for key in values:
        if not isinstance(key, str) or not key:
            raise DataTypeError(f"{label} key", key, "a non-empty string key")
    return values


def _counts(values: object) -> FrozenMap:
    counts = _mapping(values, "open_items", "a map of person key to open items")
    for key, count in counts.items():
        if type(count) is not int or count < 0:
            raise DataError(f"open_items[{key!r}]", count, "a non-negative int")
    return FrozenMap.of(counts)


def _queues(values: object) -> FrozenMap:
    queues = _mapping(values, "queues", "a map of rule key to a list of person keys")
    checked = {}
    for key, people in queues.items():
        order = _v.names(
            people,
            f"queues[{key!r}]",
            plural="a list of person keys",
            item="a person key",
        )
        if len(set(order)) != len(order):
            raise DataError(f"queues[{key!r}]", list(order), "each person once")
        checked[key] = order
    return FrozenMap.of(checked)


def _recent(values: object) -> FrozenMap:
    recent = _mapping(values, "recent", "a map of person key to assignment instants")
    checked = {}
    for key, times in recent.items():
        label = f"recent[{key!r}]"
        moments = _v.list_of(times, label, "a list of aware instants")
        for index, moment in enumerate(moments):
            require_aware(moment, f"{label}[{index}]")
        checked[key] = tuple(sorted(moments))
    return FrozenMap.of(checked)


@attrs.frozen
class RoutingState:
    """What routing remembers between calls: an explicit value, in and out.

    Attributes:
        queues: For each round-robin rule, the people it assigned, from the
            one assigned longest ago to the latest.
        open_items: Each person's open items, for load balancing.
        recent: Each person's assignments of the last day, for quotas
            (older ones are dropped as the state moves on).
    """

    queues: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=FrozenMap, converter=_queues
    )
    open_items: Mapping[str, int] = attrs.field(factory=FrozenMap, converter=_counts)
    recent: Mapping[str, tuple[datetime, ...]] = attrs.field(
        factory=FrozenMap, converter=_recent
    )


def _trusted_state(
    queues: dict[str, tuple[str, ...]],
    open_items: dict[str, int],
    recent: dict[str, tuple[datetime, ...]],
) -> RoutingState:
    """A state built from a ledger's own, checked parts (no second check)."""
    state = object.__new__(RoutingState)
    object.__setattr__(state, "queues", FrozenMap.of(queues))
    object.__setattr__(state, "open_items", FrozenMap.of(open_items))
    object.__setattr__(state, "recent", FrozenMap.of(recent))
    return state


class Choice:
    """What a strategy sees: the state so far, the moment and the tie-break.

    Read-only for strategies; crmcore records the assignment they choose.
    Reading a person's figures costs the same however long the state is.
    """

    def __init__(self, state: RoutingState, as_of: datetime) -> None:
        self.as_of = as_of
        self._queues: dict[str, tuple[str, ...]] = dict(state.queues)
        self._open = dict(state.open_items)
        self._recent: dict[str, tuple[datetime, ...]] = dict(state.recent)
        self.rule = ""
        self._order: dict[str, float] = {}

    def turns(self, rule: str) -> dict[str, int]:
        """The people ``rule`` assigned, by how long ago: 0 is the longest."""
        return {person: n for n, person in enumerate(self._queues.get(rule, ()))}

    def open_items(self, person: str) -> int:
        """The person's open items (load balancing)."""
        return self._open.get(person, 0)

    def assigned_last_day(self, person: str) -> int:
        """Assignments to the person in the day up to ``as_of`` (quotas)."""
        times = self._recent.get(person, ())
        return bisect.bisect_right(times, self.as_of) - bisect.bisect_right(
            times, self.as_of - _DAY
        )

    def first(self, people: Sequence[Person]) -> Person:
        """The tie-break: the earliest key, or the seeded shuffle's first."""
        if not self._order:
            return min(people, key=lambda p: p.key)
        return min(people, key=lambda p: (self._order[p.key], p.key))

    def _begin(
        self, rule: str, seed: int | None, lead_id: object, keys: list[str]
    ) -> None:
        self.rule = rule
        self._order = {}
        if seed is not None:
            shuffle = random.Random(f"{seed}:{type(lead_id).__name__}:{lead_id}:{rule}")
            self._order = {key: shuffle.random() for key in sorted(keys)}

    def _record(self, rule: str, person: str) -> None:
        queue = self._queues.get(rule, ())
        self._queues[rule] = (*(p for p in queue if p != person), person)
        self._open[person] = self._open.get(person, 0) + 1
        times = self._recent.get(person, ())
        position = bisect.bisect_right(times, self.as_of)
        self._recent[person] = (*times[:position], self.as_of, *times[position:])

    def _state(self) -> RoutingState:
        cutoff = self.as_of - _DAY
        recent = {}
        for person, times in self._recent.items():
            kept = times[bisect.bisect_right(times, cutoff) :]
            if kept:
                recent[person] = kept
        return _trusted_state(self._queues, self._open, recent)


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------
@runtime_checkable
class AssignmentStrategy(Protocol):
    """What a routing strategy does: choose one of the available candidates.

    ``candidates`` are available, have the skills asked for, and are in key
    order. Return the chosen person (or ``None``) and why, in words; a
    person the strategy passes over for a reason of its own (a full quota)
    goes in ``skipped``.
    """

    kind: ClassVar[str]

    def choose(
        self, candidates: Sequence[Person], lead: object, choice: Choice
    ) -> tuple[Person | None, str, dict[str, str]]:
        """The chosen person, the reason, and the people skipped with why."""
        ...  # pragma: no cover - a protocol


ROUTING_STRATEGIES: Final = Registry(
    "routing strategy",
    group="crmcore.routing",
    protocol=AssignmentStrategy,
    methods=(("choose",),),
    needs="a choose(candidates, lead, choice) method",
)
"""The registry of routing strategies: the built-ins and every registered one."""


@ROUTING_STRATEGIES.register
@attrs.frozen
class RoundRobin:
    """Turns: the candidate this rule assigned longest ago (never: first).

    Each rule keeps its own queue of the people it assigned, so every
    candidate gets a turn even when the candidates differ from lead to lead
    (by language, by who is at work); with the same candidates every time it
    cycles through them in key order.
    """

    kind: ClassVar[str] = "round_robin"

    def choose(
        self, candidates: Sequence[Person], lead: object, choice: Choice
    ) -> tuple[Person | None, str, dict[str, str]]:
        """The candidate whose last turn with this rule is the oldest."""
        turns = choice.turns(choice.rule)
        fresh = [p for p in candidates if p.key not in turns]
        if fresh:
            chosen = choice.first(fresh)
            return chosen, f"round robin: {chosen.key}'s first turn", {}
        chosen = min(candidates, key=lambda p: turns[p.key])
        return chosen, f"round robin: {chosen.key} had a turn longest ago", {}


@ROUTING_STRATEGIES.register
@attrs.frozen
class LeastLoaded:
    """The candidate with the fewest open items."""

    kind: ClassVar[str] = "least_loaded"

    def choose(
        self, candidates: Sequence[Person], lead: object, choice: Choice
    ) -> tuple[Person | None, str, dict[str, str]]:
        """Fewest open items; ties by the tie-break."""
        fewest = min(choice.open_items(p.key) for p in candidates)
        tied = [p for p in candidates if choice.open_items(p.key) == fewest]
        chosen = choice.first(tied)
        return chosen, f"least loaded: {fewest} open items", {}


@ROUTING_STRATEGIES.register
@attrs.frozen
class ByCapacity:
    """By daily quota: monthly capacity / 30 rounded half up, minus the last day's.

    Among the candidates with quota left, the one that has used the smallest
    share of their quota (so leads spread in proportion to capacity); ties
    go to the larger quota, then to the tie-break. A candidate without a
    monthly capacity, or with none left today, is skipped.
    """

    kind: ClassVar[str] = "by_capacity"

    def choose(
        self, candidates: Sequence[Person], lead: object, choice: Choice
    ) -> tuple[Person | None, str, dict[str, str]]:
        """The least-used share of quota among those with quota left."""
        skipped: dict[str, str] = {}
        # The least used share of quota, compared exactly (cross-multiplied),
        # then the larger quota; then the tie-break.
        best: list[Person] = []
        best_used = best_quota = 0
        for person in candidates:
            if person.monthly_capacity is None:
                skipped[person.key] = "no monthly capacity"
                continue
            quota = _quota(person.monthly_capacity)
            used = choice.assigned_last_day(person.key)
            if used >= quota:
                skipped[person.key] = (
                    f"daily quota {quota} reached (monthly capacity "
                    f"{person.monthly_capacity} / 30, {used} in the last day)"
                )
                continue
            if best:
                order = used * best_quota - best_used * quota
                if order > 0 or (order == 0 and quota < best_quota):
                    continue
                if order == 0 and quota == best_quota:
                    best.append(person)
                    continue
            best, best_used, best_quota = [person], used, quota
        if not best:
            return None, "by capacity: no quota left", skipped
        chosen = choice.first(best)
        return (
            chosen,
            f"by capacity: {best_used} of a daily quota of {best_quota} used",
            skipped,
        )


@ROUTING_STRATEGIES.register
@attrs.frozen
class ByField:
    """The candidate a field of the lead names, e.g. the account's owner.

    Attributes:
        field: The lead's field holding a person key.
    """

    kind: ClassVar[str] = "by_field"
    field: str = attrs.field(validator=_v.field_path())

    def choose(
        self, candidates: Sequence[Person], lead: object, choice: Choice
    ) -> tuple[Person | None, str, dict[str, str]]:
        """The candidate whose key is the field's value, if available."""
        wanted = field_getter(self.field)(lead)
        for person in candidates:
            if person.key == wanted:
                return person, f"by field: {self.field} is {wanted!r}", {}
        shown = "missing" if wanted is MISSING else repr(wanted)
        return (
            None,
            f"by field: {self.field} is {shown}, not an available candidate",
            {},
        )


# ---------------------------------------------------------------------------
# Rules and the router
# ---------------------------------------------------------------------------
def _match(values: object) -> tuple[str, ...]:
    return _v.field_paths(values, "match")


def _prefer(values: object) -> tuple[str, ...]:
    return _v.field_paths(values, "prefer")


def _needs(values: object) -> tuple[str, ...]:
    return _v.names(values, "needs", plural="a list of skills", item="a skill")


def _people_keys(values: object) -> tuple[str, ...]:
    return _v.names(
        values, "people", plural="a list of person keys", item="a person key"
    )


@attrs.frozen
class RoutingRule:
    """One routing rule: which leads, which candidates, which strategy.

    Attributes:
        key: The rule's name, e.g. ``"emea_enterprise"``.
        strategy: How one candidate is chosen (a registered strategy).
        when: The leads it takes (``None``: every lead).
        team: Candidates from this team (with ``people``: both).
        people: Candidates by key (neither: everybody).
        needs: Skills every candidate must have.
        match: Lead fields whose value every candidate must have as a skill
            (``"language"``: a lead in German needs a ``"de"`` speaker).
        prefer: Lead fields whose values the first pass looks for; the
            others are tried when none of those is available.
    """

    key: str = attrs.field(validator=_name)
    strategy: AssignmentStrategy = attrs.field(
        factory=RoundRobin,
        validator=_v.kind_of(ROUTING_STRATEGIES, "a routing strategy"),
    )
    when: Condition | None = attrs.field(
        default=None,
        validator=_v.optional(_v.kind_of(CONDITION_KINDS, "a condition")),
        metadata=CONDITION,
        kw_only=True,
    )
    team: str | None = attrs.field(
        default=None, validator=_v.optional(_name), kw_only=True
    )
    people: tuple[str, ...] = attrs.field(
        default=(), converter=_people_keys, kw_only=True
    )
    needs: tuple[str, ...] = attrs.field(default=(), converter=_needs, kw_only=True)
    match: tuple[str, ...] = attrs.field(default=(), converter=_match, kw_only=True)
    prefer: tuple[str, ...] = attrs.field(default=(), converter=_prefer, kw_only=True)


def _rules(values: object) -> tuple[RoutingRule, ...]:
    items: tuple[RoutingRule, ...] = _v.tuple_of(
        values, RoutingRule, "rules", item="a RoutingRule"
    )
    if not items:
        raise DataError("rules", items, "at least one RoutingRule")
    return items


def _people(values: object) -> tuple[Person, ...]:
    items: tuple[Person, ...] = _v.tuple_of(values, Person, "people", item="a Person")
    return tuple(sorted(items, key=lambda p: p.key))


@attrs.frozen
class Router:
    """People and ordered rules: the whole routing configuration as one value.

    Attributes:
        rules: The rules, tried in order.
        people: Everyone who may receive leads.
        seed: Ties are broken by a shuffle drawn from this seed and the
            lead's id (``None``: by the earliest key).
        id_field: The lead's field holding its id.

    Raises:
        DataError: For a repeated rule or person key, or a rule naming a
            person or a team nobody is in.
    """

    rules: tuple[RoutingRule, ...] = attrs.field(converter=_rules)
    people: tuple[Person, ...] = attrs.field(converter=_people)
    seed: int | None = attrs.field(
        default=None, validator=_v.optional(_v.non_negative_int()), kw_only=True
    )
    id_field: str = attrs.field(default="id", validator=_v.field_path(), kw_only=True)
    _by_key: dict[str, Person] = attrs.field(init=False, repr=False, eq=False)
    _pools: dict[str, tuple[Person, ...]] = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        by_key: dict[str, Person] = _v.unique_keys(self.people, "people", "person")
        _v.unique_keys(self.rules, "rules", "rule")
        teams = {p.team for p in self.people if p.team is not None}
        for index, rule in enumerate(self.rules):
            for position, key in enumerate(rule.people):
                if key not in by_key:
                    raise DataError(
                        f"rules[{index}].people[{position}]", key, "the key of a person"
                    )
            if rule.team is not None and rule.team not in teams:
                raise DataError(
                    f"rules[{index}].team", rule.team, "a team someone is in"
                )
        object.__setattr__(self, "_by_key", by_key)
        pools = {}
        for rule in self.rules:
            people = (
                [by_key[key] for key in rule.people] if rule.people else self.people
            )
            if rule.team is not None:
                people = [p for p in people if p.team == rule.team]
            pools[rule.key] = tuple(sorted(people, key=lambda p: p.key))
        object.__setattr__(self, "_pools", pools)

    def candidates(self, rule: str) -> tuple[Person, ...]:
        """The people a rule considers, in key order (before availability).

        Raises:
            DataError: For a key that is not one of the rules'.
        """
        pool = self._pools.get(rule) if isinstance(rule, str) else None
        if pool is None:
            raise DataError("rule", rule, f"one of the rules {', '.join(self._pools)}")
        return pool


def _frozen(values: Mapping[str, str]) -> FrozenMap:
    return FrozenMap.of(values)


@attrs.frozen
class Assignment:
    """Where one lead went and why.

    Attributes:
        lead: The lead's id.
        person: The key of the person assigned (``None``: nobody).
        rule: The rule that assigned it.
        strategy: That rule's strategy.
        reasons: How the decision was made, in order.
        skipped: Everyone passed over, with why (unavailable, lacking a
            skill, a full quota, not preferred).
        state: The routing state after this assignment (``None`` in a
            batch: the batch holds the state after all of them).
    """

    lead: object
    person: str | None
    rule: str | None
    strategy: str | None
    reasons: tuple[str, ...]
    skipped: Mapping[str, str] = attrs.field(converter=_frozen)
    state: RoutingState | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def assigned(self) -> bool:
        """Whether somebody got the lead."""
        return self.person is not None

    def __str__(self) -> str:
        who = self.person if self.person is not None else "nobody"
        lines = [f"{self.lead!r} -> {who}"]
        lines.extend(f"  {reason}" for reason in self.reasons)
        lines.extend(f"  skipped {key}: {why}" for key, why in self.skipped.items())
        return "\n".join(lines)


_Pool = tuple[tuple[Person, ...], dict[str, str]]


class _Moment:
    """One routing moment: who is available, each rule's predicate, and pools.

    Availability and skills do not change within one call, so the candidates
    of a rule for a given set of matched values are worked out once.
    """

    def __init__(self, router: Router, as_of: datetime) -> None:
        self.router = router
        self.as_of = as_of
        self.available = {p.key: p.unavailable(as_of) for p in router.people}
        self.tests = {
            rule.key: (
                None if rule.when is None else compile_condition(rule.when).bind(as_of),
                f"rule {rule.key!r} matched: {to_text(rule.when)}"
                if rule.when is not None
                else f"rule {rule.key!r}: every lead",
                [(path, field_getter(path)) for path in rule.match],
                [(path, field_getter(path)) for path in rule.prefer],
            )
            for rule in router.rules
        }
        self._pools: dict[tuple[str, tuple[str, ...]], _Pool] = {}
        self._passes: dict[
            tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]],
            tuple[list[tuple[Person, ...]], str | None],
        ] = {}

    def pool(self, rule: RoutingRule, matched: tuple[str, ...]) -> _Pool:
        """The available candidates with the skills needed, and who was skipped."""
        found = self._pools.get((rule.key, matched))
        if found is not None:
            return found
        required = (*rule.needs, *matched)
        candidates: list[Person] = []
        skipped: list[tuple[str, str]] = []
        for person in self.router.candidates(rule.key):
            why = self.available[person.key]
            if why is None:
                lacking = [skill for skill in required if skill not in person.skills]
                if lacking:
                    why = f"lacks skill {lacking[0]!r}"
            if why is not None:
                skipped.append((person.key, why))
                continue
            candidates.append(person)
        found = (tuple(candidates), dict(skipped))
        self._pools[(rule.key, matched)] = found
        return found

    def passes(
        self,
        rule: RoutingRule,
        matched: tuple[str, ...],
        wanted: tuple[tuple[str, str], ...],
        candidates: tuple[Person, ...],
    ) -> tuple[list[tuple[Person, ...]], str | None]:
        """The preferred candidates first (when some, not all, are), then the rest."""
        if not wanted:
            return [candidates], None
        key = (rule.key, matched, wanted)
        found = self._passes.get(key)
        if found is not None:
            return found
        shown = ", ".join(f"{path} {value!r}" for path, value in wanted)
        preferred = tuple(
            p for p in candidates if all(v in p.skills for _path, v in wanted)
        )
        if not preferred:
            found = [candidates], f"first pass: nobody available has {shown}"
        elif len(preferred) == len(candidates):
            found = [candidates], None
        else:
            chosen = {p.key for p in preferred}
            rest = tuple(p for p in candidates if p.key not in chosen)
            found = [preferred, rest], f"first pass: prefers {shown}"
        self._passes[key] = found
        return found


def _assign(
    moment: _Moment, lead: object, lead_id: object, choice: Choice
) -> tuple[Person | None, RoutingRule | None, list[str], dict[str, str]]:
    """Try the rules in order; return who got the lead, by which rule, and why."""
    reasons: list[str] = []
    skipped: dict[str, str] = {}
    for rule in moment.router.rules:
        test, matched_text, match, prefer = moment.tests[rule.key]
        if test is not None and not test(lead):
            continue
        reasons.append(matched_text)
        values = [(path, get(lead)) for path, get in match]
        unknown = [path for path, value in values if not isinstance(value, str)]
        if unknown:
            reasons.append(f"rule {rule.key!r}: the lead has no {unknown[0]} to match")
            continue
        matched = tuple(str(value) for _path, value in values)
        candidates, passed_over = moment.pool(rule, matched)
        # Who was skipped first keeps that reason.
        skipped = {**passed_over, **skipped} if skipped else dict(passed_over)
        if not candidates:
            reasons.append(f"rule {rule.key!r}: nobody available")
            continue
        choice._begin(
            rule.key, moment.router.seed, lead_id, [p.key for p in candidates]
        )
        wanted = tuple(
            (path, value) for path, get in prefer if isinstance(value := get(lead), str)
        )
        passes, note = moment.passes(rule, matched, wanted, candidates)
        if note is not None:
            reasons.append(note)
        for round_, group in enumerate(passes):
            chosen, why, passed = _chosen(
                rule.strategy, rule.strategy.choose(group, lead, choice), group
            )
            for key, reason in passed.items():
                skipped.setdefault(key, reason)
            reasons.append(why)
            if chosen is None:
                continue
            if round_ == 0 and len(passes) == 2:
                for other in passes[1]:
                    skipped.setdefault(other.key, "not preferred (first pass)")
            skipped.pop(chosen.key, None)
            choice._record(rule.key, chosen.key)
            return chosen, rule, reasons, skipped
    if not reasons:
        reasons.append("no rule matched")
    return None, None, reasons, skipped


def _chosen(
    strategy: AssignmentStrategy, result: object, group: Sequence[Person]
) -> tuple[Person | None, str, dict[str, str]]:
    """A strategy's answer, checked: nobody outside the group is ever assigned."""
    expected = (
        "(a candidate or None, a reason, a map of skipped person to reason), "
        "the candidate one of those offered"
    )
    if not isinstance(result, tuple) or len(result) != 3:
        raise DataTypeError(f"strategy {strategy.kind!r}", result, expected)
    chosen, why, passed = result
    offered = {person.key: person for person in group}
    if chosen is not None and (
        not isinstance(chosen, Person) or offered.get(chosen.key) != chosen
    ):
        raise DataError(f"strategy {strategy.kind!r}", chosen, expected)
    if not isinstance(why, str) or not isinstance(passed, Mapping):
        raise DataTypeError(f"strategy {strategy.kind!r}", result, expected)
    return chosen, why, {str(key): str(reason) for key, reason in passed.items()}


_ID_WORDS: Final = "a lead id: a non-empty string or an int of at most 128 bits"


def _lead_id(value: object, field: str) -> str | int:
    if isinstance(value, str) and value:
        return value
    if type(value) is int and value.bit_length() <= 128:
        return value
    raise DataError(field, value, _ID_WORDS)


def _assignment(
    lead_id: object,
    found: tuple[Person | None, RoutingRule | None, list[str], dict[str, str]],
    state: RoutingState | None,
) -> Assignment:
    person, rule, reasons, skipped = found
    return Assignment(
        lead_id,
        None if person is None else person.key,
        None if rule is None else rule.key,
        None if rule is None else rule.strategy.kind,
        tuple(reasons),
        skipped,
        state,
    )


def _check_router(router: object) -> Router:
    if not isinstance(router, Router):
        raise DataTypeError("router", router, "a Router")
    return router


def route(
    router: Router,
    lead: object,
    *,
    as_of: datetime,
    state: RoutingState | None = None,
) -> Assignment:
    """Assign one lead, with every reason, and the state after it.

    Args:
        router: The routing configuration.
        lead: The lead (any object or mapping), with an id at ``id_field``
            (a non-empty string or an int).
        as_of: The moment of the assignment (aware): who is working then.
        state: The state so far (default: nothing assigned yet).

    Raises:
        DataTypeError: For a router or state of the wrong type.
        NaiveDatetimeError: For a naive ``as_of``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> router = Router([RoutingRule("all")], [Person("ana"), Person("ben")])
        >>> now = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
        >>> first = route(router, {"id": "l1"}, as_of=now)
        >>> second = route(router, {"id": "l2"}, as_of=now, state=first.state)
        >>> first.person, second.person, second.reasons[-1]
        ('ana', 'ben', "round robin: ben's first turn")
    """
    router = _check_router(router)
    now = require_aware(as_of, "as_of")
    state = _check_state(state)
    choice = Choice(state, now)
    lead_id = _lead_id(field_getter(router.id_field)(lead), router.id_field)
    found = _assign(_Moment(router, now), lead, lead_id, choice)
    return _assignment(lead_id, found, choice._state())


def _check_state(state: object) -> RoutingState:
    if state is None:
        return RoutingState()
    if not isinstance(state, RoutingState):
        raise DataTypeError("state", state, "a RoutingState or None")
    return state


@attrs.frozen
class RoutingBatch:
    """The assignments of a batch of leads, in id order, and the state after.

    Attributes:
        assignments: One per lead, in order of lead id.
        state: The routing state after the whole batch.
    """

    assignments: tuple[Assignment, ...]
    state: RoutingState

    @property
    def unassigned(self) -> dict[object, str]:
        """The leads nobody got, with the last reason."""
        return {a.lead: a.reasons[-1] for a in self.assignments if a.person is None}

    @property
    def by_person(self) -> dict[str, int]:
        """How many leads each person got."""
        counts: dict[str, int] = {}
        for item in self.assignments:
            if item.person is not None:
                counts[item.person] = counts.get(item.person, 0) + 1
        return counts


def route_batch(
    router: Router,
    leads: Iterable[Any],
    *,
    as_of: datetime,
    state: RoutingState | None = None,
) -> RoutingBatch:
    """Assign many leads at one moment, respecting every quota, in id order.

    Leads are taken in order of their id, so the result does not depend on
    the order they come in; each assignment counts against the quotas and
    loads of the next.

    Raises:
        DataError: For a lead without an id (a non-empty string or an int),
            or two leads with one id.
    """
    router = _check_router(router)
    now = require_aware(as_of, "as_of")
    choice = Choice(_check_state(state), now)
    moment = _Moment(router, now)
    get_id = field_getter(router.id_field)
    keyed: dict[str | int, object] = {}
    for index, lead in enumerate(iterate(leads, "leads")):
        field = f"leads[{index}].{router.id_field}"
        lead_id = _lead_id(get_id(lead), field)
        if lead_id in keyed:
            raise DataError(field, lead_id, "an id no other lead has")
        keyed[lead_id] = lead
    assignments = []
    # Ints in numeric order, then strings: the same order whatever the input's.
    for lead_id in sorted(keyed, key=lambda key: (isinstance(key, str), key)):
        lead = keyed[lead_id]
        found = _assign(moment, lead, lead_id, choice)
        assignments.append(_assignment(lead_id, found, None))
    return RoutingBatch(tuple(assignments), choice._state())
