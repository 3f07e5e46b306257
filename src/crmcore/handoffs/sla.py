"""SLA policies and clocks: targets in business time, pauses, states, explained.

An [`SlaPolicy`][crmcore.handoffs.SlaPolicy] sets a first-response and a
resolution target in the business time of one calendar (the team's), with
the conditions that pause the clock and an at-risk threshold. An
[`SlaPolicies`][crmcore.handoffs.SlaPolicies] chooses the policy of a
record: the first whose condition the record meets, else the default.
[`sla_status`][crmcore.handoffs.sla_status] reads a record's timeline of
status events as of an instant and returns both clocks: deadlines, business
time used and left, and a state (``due``, ``at_risk``, ``paused``,
``breached`` or ``fulfilled``) with the reasons.

How a timeline is read (every event has an instant, ``at`` by default, and
is tested by the policy's conditions; the record's status at any moment is
that of its latest event):

* the clocks start at the record's creation (``created_at``) or at a later
  next opening of the calendar;
* while the latest event meets ``pause_when`` both clocks stop; the paused
  time is reported in business time and pushes the deadline out;
* the first event meeting ``responded_when`` (or ``resolved_when``: a
  resolved record needs no reply) stops the response clock for good;
* while the latest event meets ``resolved_when`` the resolution clock
  stops; a later event that does not (a reopened ticket) starts it again;
* events after ``as_of`` have not happened yet and are ignored.

A clock is **breached** when its deadline passed before it was fulfilled
(deadlines compare as instants: a reply at 18:00 after a 17:00 deadline is
late although no business time passed in between).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, Final, Literal

import attrs

from crmcore import validators as _v
from crmcore.access import field_getter, iterate
from crmcore.business_time import BusinessCalendar
from crmcore.calendar import duration_text, require_aware
from crmcore.conditions import (
    CONDITION_KINDS,
    Condition,
    compile_condition,
    field,
    to_text,
)
from crmcore.conditions.values import CONDITION
from crmcore.errors import DataError, DataTypeError

__all__ = [
    "MAX_TARGET",
    "ClockMode",
    "ClockState",
    "SlaClock",
    "SlaPolicies",
    "SlaPolicy",
    "SlaStatus",
    "measure_clock",
    "sla_status",
    "threshold",
]

ClockState = Literal["due", "at_risk", "paused", "breached", "fulfilled"]
"""Where an SLA clock stands as of an instant."""

_ZERO: Final = timedelta(0)
_US: Final = timedelta(microseconds=1)
_condition = _v.kind_of(CONDITION_KINDS, "a condition")
_opt_condition = _v.optional(_condition)
_calendar = _v.instance_of(BusinessCalendar, "a BusinessCalendar")


MAX_TARGET: Final = timedelta(hours=87_600)
"""The longest SLA target accepted: ten years of round-the-clock business time."""
_TARGET_WORDS: Final = "a positive timedelta of business time (at most 87600h)"


def _check_target(value: object, field: str) -> timedelta:
    """A positive ``timedelta`` of at most ``MAX_TARGET``: a budget of business time."""
    if type(value) is not timedelta:
        raise DataTypeError(field, value, _TARGET_WORDS)
    if not _ZERO < value <= MAX_TARGET:
        raise DataError(field, value, _TARGET_WORDS)
    return value


def _positive(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_target(value, attribute.name)


_target = _v.optional(_positive)


def _at_risk_fraction(value: object) -> Decimal:
    """An at-risk threshold: a fraction above 0 and at most 1."""
    number = _v.check_fraction(
        value, "at_risk", expected="a fraction above 0 and at most 1"
    )
    if number == 0:
        raise DataError("at_risk", value, "a fraction above 0 and at most 1")
    return number


def threshold(budget: timedelta, at_risk: Decimal) -> timedelta:
    """The business time at which a clock of ``budget`` is at risk (rounded up)."""
    micro = (Decimal(budget // _US) * at_risk).to_integral_value(ROUND_CEILING)
    return timedelta(microseconds=int(micro))


# ---------------------------------------------------------------------------
# One clock
# ---------------------------------------------------------------------------
ClockMode = Literal["running", "paused", "stopped"]
"""What a clock does from a change on: runs, is paused, or is stopped."""
_MODES: Final[tuple[ClockMode, ...]] = ("running", "paused", "stopped")


@attrs.frozen
class SlaClock:
    """One SLA clock (first response, resolution, acceptance) as of an instant.

    Attributes:
        name: Which clock, e.g. ``"response"``.
        state: ``due``, ``at_risk``, ``paused``, ``breached`` or ``fulfilled``.
        target: The budget of business time.
        started_at: When the clock started (the record's creation).
        deadline: When the budget runs out if the clock keeps running; for
            a fulfilled clock, the deadline it met or missed; ``None`` while
            it is paused short of the budget.
        warn_at: When the at-risk threshold is reached (``None`` likewise).
        fulfilled_at: When the clock was stopped for good, if it was.
        used: Business time on the clock so far.
        paused: Business time spent paused.
        remaining: Business time left before the deadline (zero once spent).
        as_of: The instant the clock describes.
        reasons: Each reason for the state, in words.
    """

    name: str
    state: ClockState
    target: timedelta
    started_at: datetime
    deadline: datetime | None
    warn_at: datetime | None
    fulfilled_at: datetime | None
    used: timedelta
    paused: timedelta
    remaining: timedelta
    as_of: datetime
    reasons: tuple[str, ...] = ()

    @property
    def breached(self) -> bool:
        """Whether the deadline passed before the clock was fulfilled."""
        return self.state == "breached"

    def __str__(self) -> str:
        return f"{self.name}: {self.state} ({'; '.join(self.reasons)})"


def measure_clock(
    calendar: BusinessCalendar,
    target: timedelta,
    started_at: datetime,
    changes: Iterable[tuple[datetime, ClockMode]] = (),
    *,
    as_of: datetime,
    at_risk: Decimal | int | str = Decimal("0.8"),
    name: str = "clock",
) -> SlaClock:
    """Measure one clock from when it started and how it changed, as of an instant.

    The building block of [`sla_status`][crmcore.handoffs.sla_status] and
    of handoff acceptance, for clocks of your own.

    Args:
        calendar: Whose working time counts.
        target: The budget of business time (positive).
        started_at: When the clock starts (running).
        changes: ``(instant, mode)`` pairs in time order: from each instant
            on the clock is ``"running"``, ``"paused"`` or ``"stopped"``.
            Instants before the start count from the start; after ``as_of``,
            not at all.
        as_of: The moment of the question (aware).
        at_risk: The share of the budget after which the clock is at risk.
        name: What the clock is called in its reasons.

    Raises:
        DataError: For a bad target, threshold, mode or change order.
        NaiveDatetimeError: For a naive instant.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> office = BusinessCalendar(hours=["09:00-17:00"])
        >>> monday_9 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
        >>> clock = measure_clock(office, timedelta(hours=4), monday_9,
        ...                       as_of=monday_9 + timedelta(hours=3, minutes=30))
        >>> clock.state, str(clock.deadline.time()), clock.remaining
        ('at_risk', '13:00:00', datetime.timedelta(seconds=1800))
    """
    if not isinstance(calendar, BusinessCalendar):
        raise DataTypeError("calendar", calendar, "a BusinessCalendar")
    if not isinstance(name, str) or not name.strip():
        raise DataTypeError("name", name, "a clock name such as 'response'")
    _check_target(target, "target")
    risk = _at_risk_fraction(at_risk)
    start = require_aware(started_at, "started_at")
    now = require_aware(as_of, "as_of")
    segments = _segments(start, now, changes)
    return _measure(
        calendar, target, risk, start=start, as_of=now, segments=segments, name=name
    )


def _segments(
    start: datetime, as_of: datetime, changes: Iterable[tuple[datetime, ClockMode]]
) -> list[tuple[datetime, ClockMode]]:
    """The clock's modes from ``start`` to ``as_of``: ``(from, mode)``, in order."""
    segments: list[tuple[datetime, ClockMode]] = [(start, "running")]
    previous: datetime | None = None
    for index, change in enumerate(iterate(changes, "changes")):
        if isinstance(change, (str, bytes)) or not isinstance(change, Sequence):
            raise DataTypeError(f"changes[{index}]", change, "an (instant, mode) pair")
        if len(change) != 2:
            raise DataError(f"changes[{index}]", change, "an (instant, mode) pair")
        at = require_aware(change[0], f"changes[{index}][0]")
        mode = _v.check_one_of(change[1], f"changes[{index}][1]", _MODES)
        if previous is not None and at < previous:
            raise DataError(
                f"changes[{index}][0]", at, f"an instant at or after {previous}"
            )
        previous = at
        if at > as_of:
            continue  # not yet (checked all the same)
        at = max(at, start)
        if segments[-1][0] == at:
            segments[-1] = (at, mode)
        elif segments[-1][1] != mode:
            segments.append((at, mode))
    return segments


def _measure(
    calendar: BusinessCalendar,
    target: timedelta,
    at_risk: Decimal,
    *,
    start: datetime,
    as_of: datetime,
    segments: list[tuple[datetime, ClockMode]],
    name: str,
) -> SlaClock:
    """Used and paused time, deadline, warning and state of one clock."""
    if as_of < start:
        raise DataError("as_of", as_of, f"an instant at or after the start {start}")
    warning = threshold(target, at_risk)
    used = paused = _ZERO
    deadline = warn_at = None
    ends = [*(at for at, _mode in segments[1:]), None]
    for (begin, mode), end in zip(segments, ends, strict=True):
        if mode == "stopped":
            continue
        spent = calendar.business_time(begin, as_of if end is None else end)
        if mode == "paused":
            paused += spent
            continue
        # A running last segment runs on past as_of: the deadline and the
        # warning may lie ahead. Neither is reached twice.
        if deadline is None and (end is None or target - used <= spent):
            deadline = calendar.add(begin, target - used)
        if warn_at is None and (end is None or warning - used <= spent):
            warn_at = calendar.add(begin, warning - used)
        used += spent
    last_at, last_mode = segments[-1]
    fulfilled_at = last_at if last_mode == "stopped" else None
    if fulfilled_at is not None:
        # Fulfilled short of the budget: the deadline it met is where the
        # budget would have run out had the clock run on.
        if deadline is None:
            deadline = calendar.add(fulfilled_at, target - used)
        if warn_at is None:
            warn_at = calendar.add(fulfilled_at, warning - used)
    reasons: list[str] = [f"target {duration_text(target)} of business time"]
    state: ClockState
    if fulfilled_at is not None:
        late = deadline is not None and fulfilled_at > deadline
        state = "breached" if late else "fulfilled"
        reasons.append(
            f"{'fulfilled late' if late else 'fulfilled'} at {fulfilled_at.isoformat()}"
            + (f", deadline was {deadline.isoformat()}" if late and deadline else "")
        )
    elif deadline is not None and as_of > deadline:
        state = "breached"
        reasons.append(f"deadline {deadline.isoformat()} has passed")
    elif last_mode == "paused":
        state = "paused"
        reasons.append(f"paused since {last_at.isoformat()}")
    elif used >= warning:
        state = "at_risk"
        reasons.append(
            f"{duration_text(used)} used, at risk from {duration_text(warning)}"
        )
    else:
        state = "due"
    if paused:
        reasons.append(f"{duration_text(paused)} paused")
    if deadline is not None and state in ("due", "at_risk"):
        reasons.append(f"due by {deadline.isoformat()}")
    return SlaClock(
        name=name,
        state=state,
        target=target,
        started_at=start,
        deadline=deadline,
        warn_at=warn_at,
        fulfilled_at=fulfilled_at,
        used=used,
        paused=paused,
        remaining=max(target - used, _ZERO),
        as_of=as_of,
        reasons=tuple(f"{name}: {reason}" for reason in reasons),
    )


# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------
_RESOLVED: Final = field("status").is_in(("resolved", "closed"))
_RESPONDED: Final = field("status") == "responded"


@attrs.frozen
class SlaPolicy:
    """Targets in business time for records a condition selects.

    Attributes:
        key: The policy's name, e.g. ``"enterprise"``.
        response: The first-response target (``None``: no response clock).
        resolution: The resolution target (``None``: no resolution clock).
        when: The records it applies to (``None``: any; the default policy).
        calendar: Whose working time counts (the team's calendar).
        at_risk: The share of a target after which a clock is at risk.
        pause_when: Events that stop both clocks while they are the latest
            (``status in ['waiting_on_customer']``); ``None``: no pauses.
        responded_when: The event that is the first response.
        resolved_when: The events that resolve the record.
    """

    key: str = attrs.field(validator=_v.name())
    response: timedelta | None = attrs.field(default=None, validator=_target)
    resolution: timedelta | None = attrs.field(default=None, validator=_target)
    when: Condition | None = attrs.field(
        default=None, validator=_opt_condition, metadata=CONDITION, kw_only=True
    )
    calendar: BusinessCalendar = attrs.field(
        factory=BusinessCalendar, validator=_calendar, kw_only=True
    )
    at_risk: Decimal = attrs.field(
        default=Decimal("0.8"), converter=_at_risk_fraction, kw_only=True
    )
    pause_when: Condition | None = attrs.field(
        default=None, validator=_opt_condition, metadata=CONDITION, kw_only=True
    )
    responded_when: Condition = attrs.field(
        default=_RESPONDED, validator=_condition, metadata=CONDITION, kw_only=True
    )
    resolved_when: Condition = attrs.field(
        default=_RESOLVED, validator=_condition, metadata=CONDITION, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if self.response is None and self.resolution is None:
            raise DataError(
                "response", None, "a response or a resolution target (or both)"
            )


def _policies(values: object) -> tuple[SlaPolicy, ...]:
    items: tuple[SlaPolicy, ...] = _v.tuple_of(
        values, SlaPolicy, "policies", item="an SlaPolicy"
    )
    for index, policy in enumerate(items):
        if policy.when is None:
            raise DataError(
                f"policies[{index}].when",
                None,
                "a condition (only the default applies to every record)",
            )
    return items


@attrs.frozen
class SlaPolicies:
    """Policies in order: the first whose ``when`` a record meets, else the default.

    Attributes:
        policies: The policies with conditions, most specific first.
        default: The policy of every other record.
    """

    policies: tuple[SlaPolicy, ...] = attrs.field(converter=_policies)
    default: SlaPolicy = attrs.field(
        validator=_v.instance_of(SlaPolicy, "an SlaPolicy")
    )

    def __attrs_post_init__(self) -> None:
        taken = _v.unique_keys(self.policies, "policies", "policy")
        if self.default.key in taken:
            raise DataError(
                "default.key", self.default.key, "a key no other policy has"
            )

    def choose(
        self, record: object, *, as_of: datetime | None = None
    ) -> tuple[SlaPolicy, str]:
        """The policy of ``record`` and why it was chosen."""
        for policy in self.policies:
            condition = policy.when
            assert condition is not None  # checked on construction
            if compile_condition(condition).matches(record, as_of=as_of):
                return policy, f"policy {policy.key!r}: {to_text(condition)}"
        skipped = ", ".join(repr(p.key) for p in self.policies)
        because = f" (no match among {skipped})" if skipped else ""
        return self.default, f"policy {self.default.key!r}: the default{because}"


@attrs.frozen
class SlaStatus:
    """Both SLA clocks of one record as of an instant, with the chosen policy.

    Attributes:
        policy: The key of the policy that applies.
        chosen: Why that policy applies, in words.
        response: The first-response clock (``None`` without a target).
        resolution: The resolution clock (``None`` without a target).
    """

    policy: str
    chosen: str
    response: SlaClock | None
    resolution: SlaClock | None

    @property
    def clocks(self) -> tuple[SlaClock, ...]:
        """The clocks that have targets."""
        return tuple(c for c in (self.response, self.resolution) if c is not None)

    @property
    def breached(self) -> bool:
        """Whether any clock is breached."""
        return any(clock.breached for clock in self.clocks)

    def __str__(self) -> str:
        lines = [self.chosen]
        for clock in self.clocks:
            lines.append(f"  {clock.name}: {clock.state}")
            lines.extend(f"    {reason}" for reason in clock.reasons[1:])
        return "\n".join(lines)


def sla_status(
    policies: SlaPolicies | SlaPolicy,
    record: object,
    timeline: Iterable[Any] = (),
    *,
    as_of: datetime,
    started_at: datetime | None = None,
    at_field: str = "at",
) -> SlaStatus:
    """Both SLA clocks of ``record``, read from its timeline of status events.

    Args:
        policies: The policies to choose from (or one policy).
        record: The ticket or handoff (any object or mapping); the policies'
            ``when`` conditions read it.
        timeline: Its status events, each with an instant at ``at_field``,
            in any order (sorted by instant; ties keep their order).
        as_of: The moment of the question (aware).
        started_at: When the clocks start (default: the record's ``created_at``).
        at_field: The field of an event that holds its instant.

    Raises:
        DataError: For an event without a readable instant, or a record
            without ``created_at`` when ``started_at`` is not given.
        NaiveDatetimeError: For a naive instant.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from crmcore.conditions import field
        >>> t = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)  # a Monday
        >>> policy = SlaPolicy("standard", response=timedelta(hours=4),
        ...                    resolution=timedelta(hours=16),
        ...                    calendar=BusinessCalendar(hours=["09:00-17:00"]),
        ...                    pause_when=field("status") == "waiting_on_customer")
        >>> events = [{"at": t + timedelta(hours=1), "status": "responded"},
        ...           {"at": t + timedelta(hours=2), "status": "waiting_on_customer"}]
        >>> status = sla_status(policy, {"created_at": t}, events,
        ...                     as_of=t + timedelta(hours=6))
        >>> status.response.state, status.resolution.state, status.resolution.paused
        ('fulfilled', 'paused', datetime.timedelta(seconds=14400))
    """
    now = require_aware(as_of, "as_of")
    if isinstance(policies, SlaPolicy):
        policy, chosen = policies, f"policy {policies.key!r}"
    elif isinstance(policies, SlaPolicies):
        policy, chosen = policies.choose(record, as_of=now)
    else:
        raise DataTypeError("policies", policies, "an SlaPolicies or an SlaPolicy")
    if started_at is None:
        created = field_getter("created_at")(record)
        if not isinstance(created, datetime):
            raise DataError(
                "created_at", created, "an aware datetime: when the clocks start"
            )
        started_at = created
    start = require_aware(started_at, "started_at")
    get_at = field_getter(_v.check_field_path(at_field, "at_field"))
    events = []
    for index, event in enumerate(iterate(timeline, "timeline")):
        at = get_at(event)
        if not isinstance(at, datetime):
            raise DataError(f"timeline[{index}].{at_field}", at, "an aware datetime")
        events.append(
            (require_aware(at, f"timeline[{index}].{at_field}"), index, event)
        )
    events.sort(key=lambda item: (item[0], item[1]))
    # Bound once to as_of: each event is one call of a compiled predicate.
    paused = (
        compile_condition(policy.pause_when).bind(now)
        if policy.pause_when is not None
        else None
    )
    responded = compile_condition(policy.responded_when).bind(now)
    resolved = compile_condition(policy.resolved_when).bind(now)
    response: list[tuple[datetime, ClockMode]] = []
    resolution: list[tuple[datetime, ClockMode]] = []
    answered = False
    for at, _index, event in events:
        if at > now:
            break
        is_resolved = resolved(event)
        is_paused = paused is not None and paused(event)
        if not answered:
            answered = is_resolved or responded(event)
            response.append(
                (at, "stopped" if answered else "paused" if is_paused else "running")
            )
        resolution.append(
            (at, "stopped" if is_resolved else "paused" if is_paused else "running")
        )
    clocks = []
    for name, target, changes in (
        ("response", policy.response, response),
        ("resolution", policy.resolution, resolution),
    ):
        clocks.append(
            None
            if target is None
            else _measure(
                policy.calendar,
                target,
                policy.at_risk,
                start=start,
                as_of=now,
                segments=_segments(start, now, changes),
                name=name,
            )
        )
    return SlaStatus(policy.key, chosen, clocks[0], clocks[1])
