"""Rule-based scoring models: groups of rules, caps, decay, bands and labels.

A [`ScoringModel`][crmcore.scoring.ScoringModel] holds groups
([`RuleGroup`][crmcore.scoring.RuleGroup]) such as ``fit`` and
``engagement``. A group holds rules, kinds of the
[`RULE_KINDS`][crmcore.scoring.RULE_KINDS] registry:

* [`Rule`][crmcore.scoring.Rule]: a condition on the record and its points
  (positive or negative);
* [`EventRule`][crmcore.scoring.EventRule]: points per event of the record
  that matches ``where`` (a page view, a form fill), decayed by the event's
  age at ``as_of``, with an optional cap on the rule's total.

A group's score is the sum of its rules, at most its ``cap``; the total is
the sum of the groups, within the model's ``floor`` and ``cap``. Bands turn a
group's score (and the total) into a letter or a stage, and the model's
``label`` joins the groups' bands (``"A1"``).

**Explained.** [`Score`][crmcore.scoring.Score] lists every rule's
contribution, matched or not, each event's decay, and every cap as a
contribution of its own, so the total is always the sum of its
contributions.

**Compiled once.** [`ScoringModel.compile`][crmcore.scoring.ScoringModel.compile]
binds every condition for one ``as_of``;
[`CompiledModel.totals`][crmcore.scoring.CompiledModel.totals] scores records
in chunks, testing one rule over a whole column at a time.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain, compress, islice, repeat
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Final,
    Protocol,
    cast,
    runtime_checkable,
)

import attrs

from crmcore import validators as _v
from crmcore.access import MISSING, column_getter, field_getter, iterate
from crmcore.calendar import require_aware
from crmcore.conditions import (
    CONDITION_KINDS,
    Condition,
    Eq,
    compile_condition,
    condition_fields,
    positions_of,
    to_text,
    weights_of,
)
from crmcore.conditions.values import CONDITION
from crmcore.errors import DataError, DataTypeError
from crmcore.money import Money, exact_arithmetic, round_to, to_decimal
from crmcore.registry import Registry
from crmcore.scoring.decay import (
    _ONE,
    _ZERO,
    DECAY_KINDS,
    CompoundDecay,
    Decay,
    DecayWindow,
    HalfLife,
    LinearDecay,
    _utc,
)

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from crmcore.registry import KindDraws

__all__ = [
    "RULE_KINDS",
    "Band",
    "CompiledModel",
    "Contribution",
    "EventPoints",
    "EventRule",
    "GroupScore",
    "Rule",
    "RuleContext",
    "RuleGroup",
    "RuleOutcome",
    "Score",
    "ScoringModel",
    "ScoringRule",
]

_name = _v.name()
_text = _v.text()
_condition = _v.kind_of(CONDITION_KINDS, "a condition")
_opt_condition = _v.optional(_condition)
_opt_decay = _v.optional(_v.kind_of(DECAY_KINDS, "a decay (linear, half_life...)"))

_MAX_POINTS: Final = Decimal(1_000_000_000)
_CHUNK: Final = 2048
_CENT: Final = Decimal("0.01")


def _points(value: object, field: str = "points") -> Decimal:
    """Points: an exact number within ±1,000,000,000, at most 2 decimals."""
    number = to_decimal(value, field)
    exponent = number.as_tuple().exponent
    if abs(number) > _MAX_POINTS or not isinstance(exponent, int) or exponent < -2:
        raise DataError(
            field,
            value,
            "points from -1,000,000,000 to 1,000,000,000 with at most 2 decimals",
        )
    return number


def _positive_cap(value: object) -> Decimal | None:
    if value is None:
        return None
    number = _points(value, "cap")
    if number <= 0:
        raise DataError("cap", value, "a positive number of points or None")
    return number


def _tidy(number: Decimal) -> Decimal:
    """Whole points as they are; any fraction (decay's) to two decimals, half even."""
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < 0:
        return round_to(number, 2)
    return number


def _normal(number: Decimal | int) -> Decimal:
    """A score as it is shown: whole, or with two decimals (``20``, ``7.50``)."""
    value = Decimal(number)
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.quantize(_CENT)


def _number(points: Decimal) -> int | Decimal:
    """Whole points as ``int`` (faster sums), others as they are."""
    return int(points) if points == points.to_integral_value() else points


# ---------------------------------------------------------------------------
# What a rule sees and says
# ---------------------------------------------------------------------------
@attrs.frozen
class RuleContext:
    """What a rule is bound to: the scoring instant and how events read.

    Attributes:
        as_of: The scoring instant (needed by event rules and by conditions
            relative to ``as_of``).
        event_time: The field of an event holding its aware instant.
        decay: The group's decay, for event rules that have none of their own.
    """

    as_of: datetime | None
    event_time: str = "at"
    decay: Decay | None = None

    def event_at(self, event: object, path: str) -> datetime:
        """The aware instant of one event, or a crmcore error naming ``path``."""
        value = field_getter(self.event_time)(event)
        if value is MISSING or not isinstance(value, datetime):
            raise DataTypeError(
                f"{path}.{self.event_time}", value, "an aware datetime (the event time)"
            )
        return require_aware(value, f"{path}.{self.event_time}")


@attrs.frozen
class EventPoints:
    """What one event of an event rule added.

    Attributes:
        index: The event's position in the record's events.
        at: When it happened.
        age: ``as_of − at``.
        factor: The share of the points left after decay (1 without decay).
        points: The rule's points times ``factor`` (before the rule's cap).
        counted: ``False`` for an event after ``as_of`` (it has not happened yet).
    """

    index: int
    at: datetime
    age: timedelta
    factor: Decimal
    points: Decimal
    counted: bool = True


@attrs.frozen
class RuleOutcome:
    """What a rule says about one record.

    Attributes:
        matched: Whether the rule applied (its condition held, or an event matched).
        raw: The points before the rule's own cap.
        points: The points it adds, after its cap.
        detail: Why, in words.
        events: Each matching event, for event rules.
    """

    matched: bool
    raw: Decimal
    points: Decimal
    detail: str
    events: tuple[EventPoints, ...] = ()


@runtime_checkable
class ScoringRule(Protocol):
    """What a scoring rule kind does.

    ``bind`` returns the fast ``(record, events) -> points`` function the
    compiled model calls for every record; ``explain`` says the same for one
    record, with the reason. Both must give the same points. A kind that
    reads the record's events says so with a ``uses_events = True`` class
    attribute (the model then reads them; without it ``events`` is empty).
    """

    kind: ClassVar[str]
    name: str

    def bind(self, context: RuleContext) -> Callable[[object, Sequence[Any]], Decimal]:
        """The points of a record with its events."""
        ...  # pragma: no cover - a protocol

    def explain(
        self, record: object, events: Sequence[Any], context: RuleContext
    ) -> RuleOutcome:
        """The points of one record, explained."""
        ...  # pragma: no cover - a protocol


RULE_KINDS: Final = Registry(
    "scoring rule kind",
    group="crmcore.scoring_rules",
    protocol=ScoringRule,
    methods=(("bind", "explain"),),
    needs="bind(context) and explain(record, events, context) methods",
)
"""The registry of scoring rule kinds: the built-ins and every registered one."""

_rule = _v.kind_of(RULE_KINDS, "a scoring rule (Rule, EventRule...)")


# ---------------------------------------------------------------------------
# The built-in rules
# ---------------------------------------------------------------------------
@RULE_KINDS.register
@attrs.frozen(cache_hash=True)
class Rule:
    """Points when a condition on the record holds (negative points subtract).

    Examples:
        >>> from crmcore.conditions import field
        >>> rule = Rule("saas", field("industry") == "saas", 20)
        >>> rule.explain({"industry": "saas"}, [], RuleContext(None)).points
        Decimal('20')
    """

    name: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition, metadata=CONDITION)
    points: Decimal = attrs.field(converter=_points)
    description: str = attrs.field(default="", validator=_text, kw_only=True)

    kind: ClassVar[str] = "rule"
    uses_events: ClassVar[bool] = False

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A drawn condition with -20 to 30 points."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls,
            st.sampled_from(["r1", "r2", "r3"]),
            draws.children,
            st.integers(-20, 30),
        )

    def bind(self, context: RuleContext) -> Callable[[object, Sequence[Any]], Decimal]:
        """``points`` when the condition holds, else 0."""
        predicate = compile_condition(self.condition).bind(context.as_of)
        points, zero = self.points, _ZERO
        return lambda record, events: points if predicate(record) else zero

    def explain(
        self, record: object, events: Sequence[Any], context: RuleContext
    ) -> RuleOutcome:
        """Whether the condition holds, and the points."""
        held = compile_condition(self.condition).matches(record, as_of=context.as_of)
        points = self.points if held else _ZERO
        mark = "held" if held else "did not hold"
        return RuleOutcome(held, points, points, f"{to_text(self.condition)} {mark}")


@RULE_KINDS.register
@attrs.frozen(cache_hash=True)
class EventRule:
    """Points for each event that matches ``where``, decayed by age, capped.

    Each matching event at or before ``as_of`` adds ``points × factor``, the
    factor of the rule's decay (else the group's; else 1). Events after
    ``as_of`` have not happened yet and add nothing. A sum with a fraction
    is rounded to two decimals (half even), then held within ``±cap``.

    Attributes:
        name: The rule's name.
        where: The condition an event must meet (``None``: every event).
        points: Points per matching event (negative: an unsubscribe, a bounce).
        cap: The most points (in size) the rule adds, or ``None``.
        decay: The rule's own decay, or ``None`` for the group's.
        description: Why the rule exists.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.conditions import field
        >>> rule = EventRule("visits", field("kind") == "page_view", 5, cap=12)
        >>> at = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> events = [{"kind": "page_view", "at": at}] * 3
        >>> rule.explain({}, events, RuleContext(at)).points
        Decimal('12')
    """

    name: str = attrs.field(validator=_name)
    where: Condition | None = attrs.field(validator=_opt_condition, metadata=CONDITION)
    points: Decimal = attrs.field(converter=_points)
    cap: Decimal | None = attrs.field(
        default=None, converter=_positive_cap, kw_only=True
    )
    decay: Decay | None = attrs.field(default=None, validator=_opt_decay, kw_only=True)
    description: str = attrs.field(default="", validator=_text, kw_only=True)

    kind: ClassVar[str] = "per_event"
    uses_events: ClassVar[bool] = True

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """Drawn item conditions, points, caps and decays."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        decays = st.one_of(
            [
                cls.strategy(draws)
                for cls in DECAY_KINDS.kinds().values()
                if hasattr(cls, "strategy")
            ]
        )
        return st.builds(
            cls,
            st.sampled_from(["e1", "e2", "e3"]),
            st.none() | draws.items,
            st.integers(-10, 15),
            cap=st.none() | st.integers(1, 40),
            decay=st.none() | decays,
        )

    def _decay(self, context: RuleContext) -> Decay | None:
        return self.decay if self.decay is not None else context.decay

    def bind(self, context: RuleContext) -> Callable[[object, Sequence[Any]], Decimal]:
        """The decayed, capped points of the record's matching events."""
        as_of = _require_as_of(context.as_of, self.name)
        test = None if self.where is None else compile_condition(self.where).bind(as_of)
        decay = self._decay(context)
        factor = None if decay is None else _bind_decay(decay, as_of)
        points, cap = self.points, self.cap
        read_time = field_getter(context.event_time)
        event_at = context.event_at
        now = _utc(as_of)  # compared in UTC: exact across DST changes

        @exact_arithmetic()
        def rule_points(record: object, events: Sequence[Any]) -> Decimal:
            total = _ZERO
            for index, event in enumerate(events):
                if test is not None and not test(event):
                    continue
                at = read_time(event)
                if type(at) is not datetime or at.tzinfo is None:
                    at = event_at(event, f"events[{index}]")
                if at > now:
                    continue
                total += points if factor is None else points * factor(at)
            return _capped(_tidy(total), cap)

        return rule_points

    @exact_arithmetic()
    def explain(
        self, record: object, events: Sequence[Any], context: RuleContext
    ) -> RuleOutcome:
        """Each matching event with its age, decay factor and points."""
        as_of = _require_as_of(context.as_of, self.name)
        test = None if self.where is None else compile_condition(self.where).bind(as_of)
        decay = self._decay(context)
        factor_of = None if decay is None else _bind_decay(decay, as_of)
        now = _utc(as_of)  # compared and subtracted in UTC: exact across DST
        found = []
        total = _ZERO
        for index, event in enumerate(events):
            if test is not None and not test(event):
                continue
            at = context.event_at(event, f"events[{index}]")
            if at > now:
                found.append(EventPoints(index, at, now - at, _ZERO, _ZERO, False))
                continue
            factor = Decimal(1) if factor_of is None else factor_of(at)
            points = self.points * factor
            total += points
            found.append(EventPoints(index, at, now - at, factor, points))
        raw = _tidy(total)
        points = _capped(raw, self.cap)
        counted = sum(1 for e in found if e.counted)
        noun = "event" if counted == 1 else "events"
        what = noun if self.where is None else f"{noun} where {to_text(self.where)}"
        detail = f"{counted} {what} × {self.points}"
        later = len(found) - counted
        if later:
            detail += f" ({later} after as_of, not counted)"
        if decay is not None:
            detail += f", {decay.describe()}"
        if points != raw:
            detail += f", capped at {self.cap}"
        return RuleOutcome(counted > 0, raw, points, detail, tuple(found))


def _bind_decay(decay: Decay, as_of: datetime) -> Callable[[datetime], Decimal]:
    """``decay.bind(as_of)``, remembered for the last few (decay, as_of) pairs."""
    try:
        return _bound_decay(cast(Hashable, decay), as_of, (as_of.tzinfo, as_of.fold))
    except TypeError:  # an unhashable vendor decay
        return _checked_decay(decay, as_of)


@functools.lru_cache(maxsize=64)
def _bound_decay(
    decay: Hashable, as_of: datetime, zone: object
) -> Callable[[datetime], Decimal]:
    del zone  # part of the cache key only: equal instants, other wall clocks
    return _checked_decay(cast(Decay, decay), as_of)


_TRUSTED_DECAYS: Final = (LinearDecay, CompoundDecay, HalfLife, DecayWindow)


def _checked_decay(decay: Decay, as_of: datetime) -> Callable[[datetime], Decimal]:
    """A decay's bound factor; a vendor kind's factors are checked (0 to 1)."""
    factor = decay.bind(as_of)
    if type(decay) in _TRUSTED_DECAYS:
        return factor
    kind = getattr(decay, "kind", type(decay).__name__)

    def checked(at: datetime) -> Decimal:
        value: object = factor(at)
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise DataTypeError(
                f"decay {kind!r}", value, "a factor (a Decimal) from 0 to 1"
            )
        number = Decimal(value)
        if not number.is_finite() or not 0 <= number <= 1:
            raise DataError(f"decay {kind!r}", value, "a factor from 0 to 1")
        return number

    return checked


def _checked_points(rule: Any, value: object) -> Decimal:
    """What a vendor rule kind gave: points (a Decimal or int), else the error."""
    if type(value) is not Decimal and type(value) is not int:
        raise DataTypeError(
            f"rule {getattr(rule, 'name', rule)!r}", value, "points (a Decimal or int)"
        )
    return _points(value, f"rule {getattr(rule, 'name', rule)!r}")


def _trusted_bound(
    rule: Any, bound: Callable[[object, Sequence[Any]], Decimal]
) -> Callable[[object, Sequence[Any]], Decimal]:
    if type(rule) in (Rule, EventRule):
        return bound
    return lambda record, events: _checked_points(rule, bound(record, events))


def _require_as_of(as_of: datetime | None, rule: str) -> datetime:
    if as_of is None:
        raise DataError(
            "as_of",
            None,
            f"an aware datetime: rule {rule!r} counts events by their age at as_of",
        )
    return as_of


def _capped(points: Decimal, cap: Decimal | None) -> Decimal:
    if cap is None:
        return points
    if points > cap:
        return cap
    if points < -cap:
        return -cap
    return points


# ---------------------------------------------------------------------------
# Bands, groups and the model
# ---------------------------------------------------------------------------
def _threshold(value: object) -> Decimal | None:
    return None if value is None else _points(value, "at_least")


@attrs.frozen(cache_hash=True)
class Band:
    """A band of scores: ``name`` for scores of at least ``at_least``.

    ``at_least=None`` is the band of every score below the others (a
    group's default band, e.g. fit ``"D"``).
    """

    name: str = attrs.field(validator=_name)
    at_least: Decimal | None = attrs.field(default=None, converter=_threshold)


def _bands(values: object) -> tuple[Band, ...]:
    bands = _v.tuple_of(values, Band, "bands")
    _v.unique_keys(bands, "bands", "band", by="name")
    thresholds: dict[Decimal | None, int] = {}
    for index, band in enumerate(bands):
        if band.at_least in thresholds:
            expected = (
                "a threshold no other band has"
                if band.at_least is not None
                else "at most one band without at_least"
            )
            raise DataError(f"bands[{index}].at_least", band.at_least, expected)
        thresholds[band.at_least] = index
    return tuple(
        sorted(
            bands,
            key=lambda b: (b.at_least is None, -(b.at_least or _ZERO)),
        )
    )


def _band_of(bands: tuple[Band, ...], score: Decimal) -> str | None:
    for band in bands:
        if band.at_least is None or score >= band.at_least:
            return band.name
    return None


def _rules(values: object) -> tuple[ScoringRule, ...]:
    rules = _v.tuple_of_kinds(values, RULE_KINDS, "rules", item="a scoring rule")
    _v.unique_keys(rules, "rules", "rule", by="name")
    return rules


@attrs.frozen(cache_hash=True)
class RuleGroup:
    """A dimension of the score (``fit``, ``engagement``): rules, cap, bands.

    Attributes:
        name: The group's name.
        rules: Its rules, at least one.
        cap: The most points the group adds (its rules' sum is cut to it).
        bands: Bands of the group's score, from the highest threshold down.
        decay: The decay of the group's event rules that have none of their own.
        description: What the group measures.
    """

    name: str = attrs.field(validator=_name)
    rules: tuple[ScoringRule, ...] = attrs.field(converter=_rules)
    cap: Decimal | None = attrs.field(
        default=None, converter=_positive_cap, kw_only=True
    )
    bands: tuple[Band, ...] = attrs.field(default=(), converter=_bands, kw_only=True)
    decay: Decay | None = attrs.field(default=None, validator=_opt_decay, kw_only=True)
    description: str = attrs.field(default="", validator=_text, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.rules:
            raise DataError("rules", [], "at least one rule")

    def band_of(self, score: Decimal) -> str | None:
        """The band of a group score (``None`` below every band)."""
        return _band_of(self.bands, score)


def _groups(values: object) -> tuple[RuleGroup, ...]:
    groups = _v.tuple_of(values, RuleGroup, "groups")
    _v.unique_keys(groups, "groups", "group", by="name")
    return groups


def _label(values: object) -> tuple[str, ...]:
    return _v.names(
        values, "label", plural="a list of group names", item="a group name"
    )


def _optional_cap(value: object) -> Decimal | None:
    return None if value is None else _points(value, "cap")


def _optional_floor(value: object) -> Decimal | None:
    return None if value is None else _points(value, "floor")


@attrs.frozen
class Contribution:
    """One line of a score: a rule's points, or a cap or floor's adjustment.

    Attributes:
        group: The group, or ``None`` for the total's cap and floor.
        rule: The rule, or ``None`` for a cap or floor.
        points: What the line adds to the total (negative for a cut).
        matched: Whether the rule applied (always ``True`` for adjustments).
        raw: The rule's points before its own cap.
        detail: Why, in words.
        events: Each matching event, for event rules.
    """

    group: str | None
    rule: str | None
    points: Decimal
    matched: bool
    raw: Decimal
    detail: str
    events: tuple[EventPoints, ...] = ()

    @property
    def capped(self) -> bool:
        """Whether the rule's own cap cut its points."""
        return self.points != self.raw


@attrs.frozen
class GroupScore:
    """A group's score: the sum of its rules, within its cap, and its band."""

    name: str
    score: Decimal
    raw: Decimal
    band: str | None

    @property
    def capped(self) -> bool:
        """Whether the group's cap cut its score."""
        return self.score != self.raw


@attrs.frozen
class Score:
    """A record's score, every point explained.

    Attributes:
        model: The model's name.
        total: The score: the sum of ``contributions``.
        band: The total's band (a stage such as ``"mql"``), if any.
        label: The joined bands of the model's ``label`` groups (``"A1"``).
        groups: Each group's score and band.
        contributions: Every rule of every group, matched or not, then every
            cap and floor that changed a sum.
    """

    model: str
    total: Decimal
    band: str | None
    label: str | None
    groups: tuple[GroupScore, ...]
    contributions: tuple[Contribution, ...]

    def group(self, name: str) -> GroupScore:
        """One group's score."""
        for group in self.groups:
            if group.name == name:
                return group
        raise DataError("group", name, f"one of {[g.name for g in self.groups]}")

    def __str__(self) -> str:
        head = f"{self.model}: {self.total}"
        if self.label is not None:
            head += f" ({self.label})"
        elif self.band is not None:
            head += f" ({self.band})"
        lines = [head]
        for group in self.groups:
            band = "" if group.band is None else f" [{group.band}]"
            lines.append(f"  {group.name}: {group.score}{band}")
            for line in self.contributions:
                if line.group != group.name:
                    continue
                if line.rule is None:  # the group's cap
                    lines.append(f"    ↓ {line.detail}: {_signed(line.points)}")
                    continue
                mark = "✓" if line.matched else "✗"
                lines.append(
                    f"    {mark} {line.rule}: {_signed(line.points)}  ({line.detail})"
                )
        lines.extend(
            f"  {'↓' if line.points < 0 else '↑'} {line.detail}: {_signed(line.points)}"
            for line in self.contributions
            if line.group is None
        )
        return "\n".join(lines)


def _signed(points: Decimal) -> str:
    return f"+{points}" if points >= 0 else str(points)


@attrs.frozen(cache_hash=True)
class ScoringModel:
    """A rule-based score: groups of rules, caps, bands and a combined label.

    Attributes:
        name: The model's name.
        groups: Its groups (``fit``, ``engagement``...), at least one.
        cap: The highest total (``None``: no cap).
        floor: The lowest total (``None``: none; ``0`` keeps scores from going
            negative).
        bands: Bands of the total (lifecycle thresholds: ``mql`` at 60...).
        label: Groups whose bands join into the label, in order
            (``("fit", "engagement")`` gives ``"A1"``).
        events: The record field holding its events, when they are not passed in.
        event_time: The field of an event holding its aware instant.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.conditions import field
        >>> model = ScoringModel("leads", (
        ...     RuleGroup("fit", (
        ...         Rule("saas", field("industry") == "saas", 30),
        ...         Rule("student", field("title") == "student", -20),
        ...     ), bands=(Band("A", 30), Band("B"))),
        ...     RuleGroup("engagement", (
        ...         EventRule("demo", field("kind") == "demo_request", 40),
        ...         EventRule("visits", field("kind") == "page_view", 5, cap=15),
        ...     ), bands=(Band("1", 40), Band("2", 10), Band("3"))),
        ... ), label=("fit", "engagement"))
        >>> at = datetime(2026, 3, 1, tzinfo=timezone.utc)
        >>> lead = {"industry": "saas", "activities": [
        ...     {"kind": "page_view", "at": at}, {"kind": "page_view", "at": at}]}
        >>> score = model.score(lead, as_of=at)
        >>> score.total, score.label
        (Decimal('40'), 'A2')
    """

    name: str = attrs.field(validator=_name)
    groups: tuple[RuleGroup, ...] = attrs.field(converter=_groups)
    cap: Decimal | None = attrs.field(
        default=None, converter=_optional_cap, kw_only=True
    )
    floor: Decimal | None = attrs.field(
        default=None, converter=_optional_floor, kw_only=True
    )
    bands: tuple[Band, ...] = attrs.field(default=(), converter=_bands, kw_only=True)
    label: tuple[str, ...] = attrs.field(default=(), converter=_label, kw_only=True)
    events: str = attrs.field(
        default="activities", validator=_v.field_path(), kw_only=True
    )
    event_time: str = attrs.field(default="at", validator=_v.field_path(), kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.groups:
            raise DataError("groups", [], "at least one group")
        if self.cap is not None and self.floor is not None and self.floor > self.cap:
            raise DataError("floor", self.floor, f"at most the cap ({self.cap})")
        by_name = {g.name: g for g in self.groups}
        for index, name in enumerate(self.label):
            group = by_name.get(name)
            if group is None:
                raise DataError(f"label[{index}]", name, f"one of {list(by_name)}")
            if not group.bands:
                raise DataError(
                    f"label[{index}]",
                    name,
                    "a group with bands (its band is the label)",
                )

    @property
    def uses_events(self) -> bool:
        """Whether any rule reads the record's events (its kind's ``uses_events``)."""
        return any(
            getattr(rule, "uses_events", False)
            for group in self.groups
            for rule in group.rules
        )

    def fields(self) -> tuple[str, ...]:
        """The record fields the model's record conditions read, sorted."""
        found: set[str] = set()
        for group in self.groups:
            for rule in group.rules:
                condition = getattr(rule, "condition", None)
                if condition is not None:
                    found.update(condition_fields(condition))
        if self.uses_events:
            found.add(self.events)
        return tuple(sorted(found))

    def compile(self, *, as_of: datetime | None = None) -> CompiledModel:
        """Bind every rule for one ``as_of``: the model for many records.

        Raises:
            DataError: When ``as_of`` is not aware, or is ``None`` and a rule
                needs it (every event rule does).
        """
        if as_of is not None:
            require_aware(as_of, "as_of")
        return CompiledModel(self, as_of)

    def score(
        self,
        record: object,
        *,
        as_of: datetime | None = None,
        events: Iterable[Any] | None = None,
    ) -> Score:
        """One record's score, explained (``events``: its events, if not a field)."""
        return self.compile(as_of=as_of).score(record, events=events)


@attrs.frozen(eq=False)
class CompiledModel:
    """A scoring model bound to one ``as_of``: score one record or millions.

    Build it with [`ScoringModel.compile`][crmcore.scoring.ScoringModel.compile].
    [`score`][crmcore.scoring.CompiledModel.score] explains one record;
    [`totals`][crmcore.scoring.CompiledModel.totals] and
    [`labels`][crmcore.scoring.CompiledModel.labels] score many, the same
    figures without the explanations.
    """

    model: ScoringModel
    as_of: datetime | None
    _groups: tuple[tuple[RuleGroup, RuleContext, tuple[Any, ...]], ...] = attrs.field(
        init=False, repr=False
    )
    _chunked: list[tuple[_GroupColumns, ...]] = attrs.field(
        init=False, repr=False, factory=list
    )
    _read_events: Callable[[object], object] = attrs.field(init=False, repr=False)
    _uses_events: bool = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_uses_events", self.model.uses_events)
        groups = []
        for group in self.model.groups:
            context = RuleContext(self.as_of, self.model.event_time, group.decay)
            bound = tuple(
                _trusted_bound(rule, rule.bind(context)) for rule in group.rules
            )
            groups.append((group, context, bound))
        object.__setattr__(self, "_groups", tuple(groups))
        object.__setattr__(self, "_read_events", field_getter(self.model.events))

    def _events(self, record: object, events: Iterable[Any] | None) -> Sequence[Any]:
        if events is None:
            if not self._uses_events:
                return ()
            found = self._read_events(record)
            if found is MISSING or found is None:
                return ()
            label = self.model.events
        else:
            found, label = events, "events"
        if type(found) is list or type(found) is tuple:
            return found
        return list(iterate(found, label))

    def _finish(self, sums: Sequence[Any]) -> tuple[list[Decimal], Decimal]:
        """Group scores within their caps, and the total within cap and floor.

        Called inside ``exact_arithmetic``; sums may be ``int`` or ``Decimal``.
        """
        scores = []
        for (group, _, _), raw in zip(self._groups, sums, strict=True):
            cap = group.cap
            scores.append(raw if cap is None or raw <= cap else cap)
        total = sum(scores)
        model = self.model
        if model.cap is not None and total > model.cap:
            total = model.cap
        if model.floor is not None and total < model.floor:
            total = model.floor
        return [_normal(score) for score in scores], _normal(total)

    @exact_arithmetic()
    def total(self, record: object, *, events: Iterable[Any] | None = None) -> Decimal:
        """One record's total score, without the explanation."""
        found = self._events(record, events)
        sums = [
            sum((bound(record, found) for bound in rules), _ZERO)
            for _, _, rules in self._groups
        ]
        return self._finish(sums)[1]

    @exact_arithmetic()
    def score(self, record: object, *, events: Iterable[Any] | None = None) -> Score:
        """One record's score with every contribution."""
        found = self._events(record, events)
        lines: list[Contribution] = []
        sums = []
        for group, context, _ in self._groups:
            raw = _ZERO
            for rule in group.rules:
                outcome = rule.explain(record, found, context)
                if not isinstance(rule, (Rule, EventRule)):
                    if not isinstance(outcome, RuleOutcome):
                        raise DataTypeError(
                            f"rule {rule.name!r}",
                            outcome,
                            "a RuleOutcome from explain()",
                        )
                    _checked_points(rule, outcome.points)
                    _checked_points(rule, outcome.raw)
                raw += outcome.points
                lines.append(
                    Contribution(
                        group.name,
                        rule.name,
                        outcome.points,
                        outcome.matched,
                        outcome.raw,
                        outcome.detail,
                        outcome.events,
                    )
                )
            sums.append(raw)
        scores, total = self._finish(sums)
        groups = []
        for (group, _, _), raw, score in zip(self._groups, sums, scores, strict=True):
            if score != raw:
                cut = score - raw
                lines.append(
                    Contribution(
                        group.name, None, cut, True, cut, f"group cap {group.cap}"
                    )
                )
            groups.append(
                GroupScore(group.name, score, _normal(raw), group.band_of(score))
            )
        subtotal = sum(scores, _ZERO)
        if total != subtotal:
            capped = total < subtotal
            limit = self.model.cap if capped else self.model.floor
            cut = total - subtotal
            lines.append(
                Contribution(
                    None,
                    None,
                    cut,
                    True,
                    cut,
                    f"{'total cap' if capped else 'floor'} {limit}",
                )
            )
        return Score(
            self.model.name,
            total,
            _band_of(self.model.bands, total),
            self._label([g.band for g in groups]),
            tuple(groups),
            tuple(lines),
        )

    def _label(self, bands: Sequence[str | None]) -> str | None:
        if not self.model.label:
            return None
        by_name = {
            group.name: band
            for (group, _, _), band in zip(self._groups, bands, strict=True)
        }
        parts = [by_name[name] for name in self.model.label]
        if any(part is None for part in parts):
            return None
        return "".join(parts)  # type: ignore[arg-type]

    @exact_arithmetic()
    def totals(
        self, records: Iterable[Any], *, events: Iterable[Any] | None = None
    ) -> list[Decimal]:
        """The total score of every record, in order (the fast path).

        Records are scored in chunks of 2,048: a record rule tests its
        condition over the whole chunk's column at once, event rules test
        every event of the chunk together. The figures (and errors) are those
        of [`total`][crmcore.scoring.CompiledModel.total] on each record.

        Args:
            records: Any iterable of records.
            events: Every record's events together, when they are not a field
                of the records: each goes to the record whose ``id`` equals
                its ``record_id``. Every event needs a ``record_id``, every
                record an ``id``; events of other records are not scored.
        """
        return [total for _, total in self._rows(records, events)]

    @exact_arithmetic()
    def labels(
        self, records: Iterable[Any], *, events: Iterable[Any] | None = None
    ) -> list[tuple[Decimal, str | None, str | None]]:
        """``(total, band, label)`` for every record, in order (see ``totals``)."""
        model_bands = self.model.bands
        groups_of = [group for group, _, _ in self._groups]
        result = []
        for scores, total in self._rows(records, events):
            bands = [
                group.band_of(score)
                for group, score in zip(groups_of, scores, strict=True)
            ]
            result.append((total, _band_of(model_bands, total), self._label(bands)))
        return result

    def _rows(
        self, records: Iterable[Any], events: Iterable[Any] | None
    ) -> Iterator[tuple[list[Any], Decimal]]:
        by_record = None if events is None else _by_record(events)
        iterator = iterate(records)
        offset = 0
        while chunk := list(islice(iterator, _CHUNK)):
            try:
                if by_record is None:
                    found = self._chunk_events(chunk)
                else:
                    found = _events_of(chunk, by_record, start=offset)
                columns = self._chunk_sums(chunk, found)
            except Exception:  # the exact path's verdict or error stands
                columns = self._exact_sums(chunk, by_record, offset)
            offset += len(chunk)
            scores, totals = self._finish_columns(columns)
            yield from zip(zip(*scores, strict=True), totals, strict=True)

    def _chunk_events(self, chunk: list[Any]) -> list[Sequence[Any]]:
        if not self._uses_events:
            return [()] * len(chunk)
        events = self.model.events
        if "." not in events and set(map(type, chunk)) == {dict}:
            found = [record.get(events) for record in chunk]
        else:
            found = list(map(self._read_events, chunk))
        if all(type(events) is list for events in found):
            return cast(list[Sequence[Any]], found)
        return [self._events(record, None) for record in chunk]

    def _finish_columns(
        self, columns: list[list[Any]]
    ) -> tuple[list[list[Any]], list[Decimal]]:
        """``_finish`` a column at a time: caps with ``map(min, ...)``."""
        scores = []
        for (group, _, _), sums in zip(self._groups, columns, strict=True):
            cap = group.cap
            scores.append(
                sums if cap is None else list(map(min, sums, repeat(_number(cap))))
            )
        totals = scores[0]
        for column in scores[1:]:
            totals = list(map(operator.add, totals, column))
        model = self.model
        if model.cap is not None:
            totals = list(map(min, totals, repeat(model.cap)))
        if model.floor is not None:
            totals = list(map(max, totals, repeat(model.floor)))
        return scores, list(map(_normal, totals))

    def _exact_sums(
        self,
        chunk: list[Any],
        by_record: Mapping[object, list[Any]] | None,
        offset: int,
    ) -> list[list[Any]]:
        """The sums record by record, in the order (so the first error) of ``total``."""
        rows = []
        for index, record in enumerate(chunk, start=offset):
            if by_record is None:
                found = self._events(record, None)
            else:
                found = _events_of([record], by_record, start=index)[0]
            rows.append(
                [
                    sum((bound(record, found) for bound in rules), _ZERO)
                    for _, _, rules in self._groups
                ]
            )
        return [list(column) for column in zip(*rows, strict=True)]

    def _chunk_sums(
        self, chunk: list[Any], events: list[Sequence[Any]]
    ) -> list[list[Any]]:
        """Each group's raw sums over a chunk, all its rules tested together."""
        flat: list[_FlatEvents] = []

        def flat_events() -> _FlatEvents:
            if not flat:
                flat.append(_FlatEvents.of(events, self.as_of, self.model.event_time))
            return flat[0]

        return [group.sums(chunk, events, flat_events) for group in self._columns]

    @property
    def _columns(self) -> tuple[_GroupColumns, ...]:
        """The chunked form of every group, built when many records first come."""
        if not self._chunked:
            self._chunked.append(
                tuple(
                    _GroupColumns.of(group, bound, context)
                    for group, context, bound in self._groups
                )
            )
        return self._chunked[0]


@attrs.frozen(eq=False)
class _GroupColumns:
    """A group's rules over a chunk: record rules, event rules, vendor kinds."""

    record_points: Callable[[Sequence[Any]], list[Any]] | None
    event_rules: tuple[_EventColumn, ...]
    event_positions: Callable[[Sequence[Any]], list[list[int]]]
    others: tuple[Callable[[object, Sequence[Any]], Decimal], ...]
    by_value: tuple[str, str, dict[Any, int]] | None = None

    @classmethod
    def of(
        cls, group: RuleGroup, bound: tuple[Any, ...], context: RuleContext
    ) -> _GroupColumns:
        rules: tuple[Any, ...] = group.rules
        records: list[Rule] = [r for r in rules if type(r) is Rule]
        events: list[EventRule] = [r for r in rules if type(r) is EventRule]
        others = tuple(
            points
            for rule, points in zip(rules, bound, strict=True)
            if type(rule) not in (Rule, EventRule)
        )
        columns = []
        for rule in events:
            decay = rule._decay(context)
            assert context.as_of is not None  # checked by bind
            columns.append(
                _EventColumn(
                    rule,
                    _number(rule.points),
                    decay,
                    None if decay is None else _bind_decay(decay, context.as_of),
                    _utc(context.as_of),
                    _utc(decay.within.before(context.as_of))
                    if type(decay) is DecayWindow
                    else None,
                )
            )
        return cls(
            weights_of(
                [(r.condition, _number(r.points)) for r in records], as_of=context.as_of
            )
            if records
            else None,
            tuple(columns),
            positions_of(
                [r.where for r in events if r.where is not None], as_of=context.as_of
            ),
            others,
            _by_value(events, columns, context.event_time),
        )

    def sums(
        self,
        chunk: list[Any],
        events: list[Sequence[Any]],
        flat_events: Callable[[], _FlatEvents],
    ) -> list[Any]:
        sums: list[Any] = (
            [0] * len(chunk)
            if self.record_points is None
            else self.record_points(chunk)
        )
        if self.event_rules:
            added = None if self.by_value is None else self._by_value(events)
            if added is None:
                self._add_events(flat_events(), sums)
            else:
                sums = list(map(operator.add, sums, added))
        for bound in self.others:
            sums = list(map(operator.add, sums, map(bound, chunk, events)))
        return sums

    def _by_value(self, events: list[Sequence[Any]]) -> list[Any] | None:
        """Event rules that each test one value of the same key: one loop.

        For dict events: one look-up of the key gives each event its rule
        (the decision of each rule's equality test), events after ``as_of``
        or before the window are passed over, and each record's matches are
        counted per rule, then capped. ``None`` for anything else (another
        type of event, an unhashable value, an event time that is not an
        aware datetime): the general path then decides, and explains errors.
        """
        assert self.by_value is not None
        key, time_key, codes = self.by_value
        columns = self.event_rules
        points = [column.points for column in columns]
        caps = [column.rule.cap for column in columns]
        first = columns[0]
        as_of = first.as_of
        start = first.start
        get = codes.get
        added: list[Any] = [0] * len(events)
        try:
            for owner, found in enumerate(events):
                counts: dict[int, int] = {}
                for event in found:
                    if type(event) is not dict:
                        return None
                    rule = get(event.get(key))
                    if rule is None:
                        continue
                    at = event.get(time_key)
                    if type(at) is not datetime or at.tzinfo is None:
                        return None
                    if at > as_of or (start is not None and at < start):
                        continue
                    counts[rule] = counts.get(rule, 0) + 1
                if counts:
                    total: int | Decimal = 0
                    for rule, count in counts.items():
                        value = points[rule] * count
                        if type(value) is Decimal:
                            value = _tidy(value)
                        cap = caps[rule]
                        if cap is not None and not -cap <= value <= cap:
                            value = cap if value > 0 else -cap
                        total += value
                    added[owner] = total
        except TypeError:  # an unhashable value: the exact tests decide
            return None
        return added

    def _add_events(self, flat: _FlatEvents, sums: list[Any]) -> None:
        found = iter(self.event_positions(flat.events))
        every = range(len(flat.events))
        for column in self.event_rules:
            column.add(flat, every if column.rule.where is None else next(found), sums)


def _by_value(
    rules: list[EventRule], columns: list[_EventColumn], event_time: str
) -> tuple[str, str, dict[Any, int]] | None:
    """``(key, time key, value -> rule)`` when every event rule is ``key == value``.

    For distinct plain values of one top-level key, sharing one decay that
    is none or a window: a table look-up then decides exactly what each
    rule's equality test decides.
    """
    if not rules or "." in event_time:
        return None
    keys = set()
    codes: dict[Any, int] = {}
    for index, rule in enumerate(rules):
        where = rule.where
        if type(where) is not Eq or "." in where.field:
            return None
        if isinstance(where.value, (datetime, Money)) or where.value in codes:
            return None
        keys.add(where.field)
        codes[where.value] = index
    decays = {id(column.decay) for column in columns}
    decay = columns[0].decay
    if len(keys) != 1 or len(decays) != 1:
        return None
    if decay is not None and type(decay) is not DecayWindow:
        return None
    return keys.pop(), event_time, codes


@attrs.frozen(eq=False)
class _FlatEvents:
    """A chunk's events in one list, with their owners, times and factors."""

    events: list[Any]
    owners: list[int]
    times: list[datetime]
    alive: list[bool]
    as_of: datetime
    factors: dict[int, tuple[list[Any], bool]]

    @classmethod
    def of(
        cls, events: list[Sequence[Any]], as_of: datetime | None, event_time: str
    ) -> _FlatEvents:
        flat = list(chain.from_iterable(events))
        owners = list(
            chain.from_iterable(map(repeat, range(len(events)), map(len, events)))
        )
        read = column_getter(event_time)(flat)
        # Anything but aware datetimes: the exact path explains it.
        if set(map(type, read)) - {datetime} or None in map(_TZINFO, read):
            raise DataTypeError(event_time, None, "aware event times")
        times = cast(list[datetime], read)
        assert as_of is not None  # event rules need it (checked when compiled)
        alive = list(map(_utc(as_of).__ge__, times))
        return cls(flat, owners, times, alive, as_of, {})

    def factors_of(
        self, decay: Decay, bound: Callable[[datetime], Decimal]
    ) -> tuple[list[Any], bool]:
        """Each event's factor, and whether they are all whole (0 or 1)."""
        found = self.factors.get(id(decay))
        if found is None:
            if type(decay) is DecayWindow:  # 1 from the window's start: compared
                start = _utc(decay.within.before(self.as_of))
                found = (list(map(start.__le__, self.times)), True)
            else:
                found = (list(map(bound, self.times)), False)
            self.factors[id(decay)] = found
        return found


_TZINFO: Final = operator.attrgetter("tzinfo")


@attrs.frozen(eq=False)
class _EventColumn:
    """An event rule over a chunk's events: matches, decay, cap, per record."""

    rule: EventRule
    points: int | Decimal
    decay: Decay | None
    factor: Callable[[datetime], Decimal] | None
    as_of: datetime
    start: datetime | None  # a window's start

    def add(self, flat: _FlatEvents, positions: Iterable[int], sums: list[Any]) -> None:
        points = self.points
        if not points:
            return
        owners = flat.owners
        # Events after as_of have not happened; with decay, none left of it.
        kept = list(compress(positions, map(flat.alive.__getitem__, positions)))
        totals: dict[int, Any]
        factors = None
        if self.decay is not None and self.factor is not None:
            factors, whole = flat.factors_of(self.decay, self.factor)
            kept = list(compress(kept, map(factors.__getitem__, kept)))
            if whole or list(map(factors.__getitem__, kept)).count(_ONE) == len(kept):
                factors = None  # only whole events left (a window): counted
        if factors is None:
            counts = Counter(map(owners.__getitem__, kept))
            totals = {owner: points * n for owner, n in counts.items()}
        else:
            totals = {}
            for index in kept:
                factor = factors[index]
                value = points if factor is _ONE else points * factor
                owner = owners[index]
                totals[owner] = totals.get(owner, 0) + value
        cap = self.rule.cap
        for owner, raw in totals.items():
            total = _tidy(raw) if type(raw) is Decimal else raw
            if cap is not None and not -cap <= total <= cap:
                total = cap if total > 0 else -cap
            sums[owner] += total


_read_id = field_getter("id")
_read_record_id = field_getter("record_id")


def _by_record(events: Iterable[Any]) -> Mapping[object, list[Any]]:
    grouped: dict[object, list[Any]] = {}
    for index, event in enumerate(iterate(events, "events")):
        key = _read_record_id(event)
        if key is MISSING or key is None:
            raise DataError(
                f"events[{index}].record_id", None, "the id of the record it belongs to"
            )
        try:
            grouped.setdefault(key, []).append(event)
        except TypeError:
            raise DataTypeError(
                f"events[{index}].record_id", key, "a record id (a text or number)"
            ) from None
    return grouped


def _events_of(
    chunk: list[Any], by_record: Mapping[object, list[Any]], *, start: int = 0
) -> list[Sequence[Any]]:
    """Each record's events from ``events=``, found by the record's ``id``."""
    found: list[Sequence[Any]] = []
    for index, record in enumerate(chunk, start=start):
        key = _read_id(record)
        if key is MISSING or key is None:
            raise DataError(
                f"records[{index}].id",
                None,
                "the record's id (events= are found by it)",
            )
        try:
            found.append(by_record.get(key, ()))
        except TypeError:
            raise DataTypeError(
                f"records[{index}].id", key, "a record id (a text or number)"
            ) from None
    return found
