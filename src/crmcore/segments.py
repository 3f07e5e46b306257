"""Segments, tiers and ICP fit: which customers do we need to understand better?

Everything here is built on the rule language
([`crmcore.conditions`][crmcore.conditions]), so every definition is a value
that round-trips through JSON, runs compiled over millions of records and
explains its verdict for any one of them.

* [`Segment`][crmcore.segments.Segment]: a named condition. Membership,
  streaming filters and explanations.
* [`Tiering`][crmcore.segments.Tiering]: ordered tiers (account priority A, B,
  C...) assigned by first match, or all matches.
* [`SegmentCounter`][crmcore.segments.SegmentCounter]: counts per segment and
  the overlap matrix, in one pass, mergeable across partitions.
* [`IcpModel`][crmcore.segments.IcpModel]: weighted criteria give a 0-100 fit
  score, a tier, and each criterion's contribution.
* [`b2b_segments`][crmcore.segments.b2b_segments] and
  [`b2c_segments`][crmcore.segments.b2c_segments]: starter definitions to copy
  and edit.

Examples:
    >>> from crmcore.conditions import field
    >>> priority = Tiering("priority", (
    ...     Tier("A", (field("employees") >= 1000) & field("industry").is_in({"saas"})),
    ...     Tier("B", field("employees") >= 100),
    ... ), default="C")
    >>> priority.assign({"employees": 250, "industry": "retail"})
    'B'
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.access import iterate
from crmcore.conditions import (
    CONDITION_KINDS,
    Condition,
    Explanation,
    compile_condition,
    field,
)
from crmcore.errors import DataError, DataTypeError
from crmcore.money import divide, exact_arithmetic, round_to, to_decimal

__all__ = [
    "IcpContribution",
    "IcpCriterion",
    "IcpFit",
    "IcpModel",
    "IcpTier",
    "Segment",
    "SegmentCounter",
    "SegmentOverlap",
    "Tier",
    "TierDecision",
    "Tiering",
    "b2b_segments",
    "b2b_size_tiers",
    "b2c_segments",
]


_name = _v.name()
_text = _v.text()
_tuple_of = _v.tuple_of
_condition = _v.kind_of(CONDITION_KINDS, "a condition")


def _unique(kind: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise DataError(f"{kind}[{index}].name", name, "a name not used before")
        seen.add(name)


# ---------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------
@attrs.frozen(cache_hash=True)
class Segment:
    """A named group of records: a condition with a name and a purpose.

    Attributes:
        name: Short identifier, e.g. ``"icp_saas"``.
        condition: Who is in the segment.
        description: Why the segment exists (what to do with it).

    Examples:
        >>> from crmcore.conditions import field
        >>> saas = Segment("saas", field("industry") == "saas")
        >>> [r["id"] for r in saas.filter([{"id": 1, "industry": "saas"}, {"id": 2}])]
        [1]
    """

    name: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition)
    description: str = attrs.field(default="", validator=_text, kw_only=True)

    def matches(self, record: object, *, as_of: datetime | None = None) -> bool:
        """Whether the record is in the segment."""
        return compile_condition(self.condition).matches(record, as_of=as_of)

    def filter(
        self, records: Iterable[Any], *, as_of: datetime | None = None
    ) -> Iterator[Any]:
        """Yield the members among any iterable of records, lazily, in order."""
        return compile_condition(self.condition).filter(records, as_of=as_of)

    def explain(self, record: object, *, as_of: datetime | None = None) -> Explanation:
        """Explain why the record is in the segment or not."""
        return compile_condition(self.condition).explain(record, as_of=as_of)


@attrs.frozen(cache_hash=True)
class Tier:
    """One tier of a [`Tiering`][crmcore.segments.Tiering]: a name and its condition."""

    name: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition)
    description: str = attrs.field(default="", validator=_text, kw_only=True)


def _tiers(values: Iterable[Tier]) -> tuple[Tier, ...]:
    return _tuple_of(values, Tier, "tiers")


@attrs.frozen
class TierDecision:
    """Which tier a record got and why.

    Attributes:
        tier: The tier assigned (the default when nothing matched, possibly ``None``).
        matched: Whether a tier's condition matched (``False`` means default).
        explanations: For each tier tried, in order, the explanation of its
            condition; the last one is the tier that matched, if any.
    """

    tier: str | None
    matched: bool
    explanations: tuple[tuple[str, Explanation], ...]

    def __str__(self) -> str:
        lines = [f"tier: {self.tier}" + ("" if self.matched else " (default)")]
        for name, explanation in self.explanations:
            lines.append(f"  {name}:")
            lines.extend(f"    {line}" for line in explanation.lines())
        return "\n".join(lines)


@attrs.frozen(cache_hash=True)
class Tiering:
    """Ordered tiers, assigned by first match: account priority, lifecycle bands...

    Attributes:
        name: What the tiering is, e.g. ``"account_priority"``.
        tiers: The tiers, most specific first.
        default: The tier of records that match none (``None``: no tier).

    Examples:
        >>> from crmcore.conditions import field
        >>> sizes = Tiering("size", (Tier("large", field("n") >= 100),
        ...                          Tier("any", field("n") >= 0)))
        >>> sizes.assign({"n": 500}), sizes.assign_all({"n": 500}), sizes.assign({})
        ('large', ('large', 'any'), None)
    """

    name: str = attrs.field(validator=_name)
    tiers: tuple[Tier, ...] = attrs.field(converter=_tiers)
    default: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.tiers:
            raise DataError("tiers", self.tiers, "at least one tier")
        _unique("tiers", (tier.name for tier in self.tiers))
        if self.default is not None and (
            not isinstance(self.default, str) or not self.default.strip()
        ):
            raise DataTypeError("default", self.default, "a non-empty name or None")

    def _predicates(self, as_of: datetime | None) -> list[tuple[str, Any]]:
        return [
            (t.name, compile_condition(t.condition).bind(as_of)) for t in self.tiers
        ]

    def assign(self, record: object, *, as_of: datetime | None = None) -> str | None:
        """The first tier whose condition holds, else ``default``."""
        for name, predicate in self._predicates(as_of):
            if predicate(record):
                return name
        return self.default

    def assign_all(
        self, record: object, *, as_of: datetime | None = None
    ) -> tuple[str, ...]:
        """Every tier whose condition holds, in tier order."""
        return tuple(
            name for name, predicate in self._predicates(as_of) if predicate(record)
        )

    def assigner(self, *, as_of: datetime | None = None) -> Any:
        """A compiled ``record -> tier`` function, for assigning many records."""
        compiled = self._predicates(as_of)
        default = self.default

        def assign(record: object) -> str | None:
            for name, predicate in compiled:
                if predicate(record):
                    return name
            return default

        return assign

    def decide(self, record: object, *, as_of: datetime | None = None) -> TierDecision:
        """The tier with the explanation of every tier tried up to the match."""
        tried = []
        for tier in self.tiers:
            explanation = compile_condition(tier.condition).explain(record, as_of=as_of)
            tried.append((tier.name, explanation))
            if explanation.holds:
                return TierDecision(tier.name, True, tuple(tried))
        return TierDecision(self.default, False, tuple(tried))

    def counts(
        self, records: Iterable[Any], *, as_of: datetime | None = None
    ) -> dict[str | None, int]:
        """How many records fall in each tier (first match), in one pass.

        Every tier and the default appear, with zero when empty.
        """
        assign = self.assigner(as_of=as_of)
        result: dict[str | None, int] = dict.fromkeys([t.name for t in self.tiers], 0)
        result[self.default] = 0
        for record in records:
            result[assign(record)] += 1
        return result


# ---------------------------------------------------------------------------
# Counting and overlap
# ---------------------------------------------------------------------------
@attrs.frozen
class SegmentOverlap:
    """Segment sizes and pairwise overlaps from one pass over records.

    Attributes:
        names: The segments, in the order given.
        total: Records seen.
        counts: Members of each segment.
        matrix: ``matrix[i][j]``: records in both segment ``i`` and ``j``
            (the diagonal repeats ``counts``).
        in_none: Records in no segment.
    """

    names: tuple[str, ...]
    total: int
    counts: tuple[int, ...]
    matrix: tuple[tuple[int, ...], ...]
    in_none: int

    def count(self, name: str) -> int:
        """Members of one segment."""
        return self.counts[self._index(name)]

    def overlap(self, first: str, second: str) -> int:
        """Records in both segments."""
        return self.matrix[self._index(first)][self._index(second)]

    def jaccard(self, first: str, second: str) -> Decimal | None:
        """|A ∩ B| / |A ∪ B|, or ``None`` when both are empty (undefined)."""
        both = self.overlap(first, second)
        union = self.count(first) + self.count(second) - both
        return None if union == 0 else divide(both, union)

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise DataError("name", name, f"one of {list(self.names)}") from None

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per segment: name, count and overlap with each other segment."""
        return [
            {
                "segment": name,
                "count": self.counts[i],
                **dict(zip(self.names, self.matrix[i], strict=True)),
            }
            for i, name in enumerate(self.names)
        ]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(n)}</th>" for n in self.names)
        body = "".join(
            f"<tr><th>{html.escape(name)}</th><td>{self.counts[i]}</td>"
            + "".join(f"<td>{v}</td>" for v in self.matrix[i])
            + "</tr>"
            for i, name in enumerate(self.names)
        )
        return (
            f"<table><thead><tr><th>segment</th><th>count</th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
            f"<p>{self.total} records, {self.in_none} in no segment</p>"
        )


def _counted_segments(values: object) -> tuple[Segment, ...]:
    return _tuple_of(values, Segment, "segments")


@attrs.define
class SegmentCounter:
    """Mergeable accumulator of segment membership: ``add``, ``merge``, ``result``.

    It counts membership *signatures* (which segments a record is in), so any
    number of partitions can be counted apart and merged exactly.

    Examples:
        >>> from crmcore.conditions import field
        >>> counter = SegmentCounter.of([Segment("big", field("n") >= 10),
        ...                              Segment("even", field("even") == True)])
        >>> for n in range(20):
        ...     counter.add({"n": n, "even": n % 2 == 0})
        >>> overlap = counter.result()
        >>> overlap.counts, overlap.overlap("big", "even"), overlap.in_none
        ((10, 10), 5, 5)
    """

    segments: tuple[Segment, ...] = attrs.field(converter=_counted_segments)
    as_of: datetime | None = attrs.field(
        default=None, validator=_v.optional(_v.aware_instant())
    )
    signatures: Counter[tuple[bool, ...]] = attrs.field(
        factory=Counter, validator=_v.instance_of(Counter, "a Counter of signatures")
    )
    _predicates: tuple[Any, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._predicates = tuple(
            compile_condition(s.condition).bind(self.as_of) for s in self.segments
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the compiled predicates (a worker compiles them again)."""
        return {
            "segments": self.segments,
            "as_of": self.as_of,
            "signatures": self.signatures,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__attrs_post_init__()

    @classmethod
    def of(
        cls, segments: Sequence[Segment], *, as_of: datetime | None = None
    ) -> SegmentCounter:
        """The empty counter (the identity of ``merge``) for these segments."""
        items = _tuple_of(segments, Segment, "segments")
        if not items:
            raise DataError("segments", list(segments), "at least one segment")
        _unique("segments", (s.name for s in items))
        return cls(items, as_of)

    def empty(self) -> SegmentCounter:
        """A new, empty counter of the same segments and ``as_of``."""
        return SegmentCounter(self.segments, self.as_of)

    def add(self, record: object) -> None:
        """Count one record."""
        self.signatures[tuple(bool(p(record)) for p in self._predicates)] += 1

    def update(self, records: Iterable[Any]) -> SegmentCounter:
        """Count every record of an iterable (streaming); return ``self``."""
        predicates = self._predicates
        signatures = self.signatures
        for record in iterate(records):
            signatures[tuple(bool(p(record)) for p in predicates)] += 1
        return self

    def merge(self, other: SegmentCounter) -> SegmentCounter:
        """A new counter holding both counts (same segments and ``as_of`` required)."""
        if (other.segments, other.as_of) != (self.segments, self.as_of):
            raise DataError(
                "other", other, "a SegmentCounter of the same segments and as_of"
            )
        return SegmentCounter(
            self.segments, self.as_of, self.signatures + other.signatures
        )

    def result(self) -> SegmentOverlap:
        """The counts and the overlap matrix."""
        size = len(self.segments)
        matrix = [[0] * size for _ in range(size)]
        total = in_none = 0
        for signature, count in self.signatures.items():
            total += count
            members = [i for i, member in enumerate(signature) if member]
            if not members:
                in_none += count
            for i in members:
                row = matrix[i]
                for j in members:
                    row[j] += count
        return SegmentOverlap(
            names=tuple(s.name for s in self.segments),
            total=total,
            counts=tuple(matrix[i][i] for i in range(size)),
            matrix=tuple(tuple(row) for row in matrix),
            in_none=in_none,
        )


# ---------------------------------------------------------------------------
# ICP fit
# ---------------------------------------------------------------------------
def _weight(value: object) -> Decimal:
    number = to_decimal(value, "weight")
    if number <= 0:
        raise DataError("weight", value, "a positive weight")
    return number


@attrs.frozen(cache_hash=True)
class IcpCriterion:
    """One trait of the ideal customer, with its weight in the fit score."""

    name: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition)
    weight: Decimal = attrs.field(default=Decimal(1), converter=_weight, kw_only=True)


def _min_score(value: object) -> Decimal:
    number = to_decimal(value, "min_score")
    if not 0 <= number <= 100:
        raise DataError("min_score", value, "a score from 0 to 100")
    return number


@attrs.frozen(cache_hash=True)
class IcpTier:
    """A fit tier: records scoring at least ``min_score`` (0-100) get ``name``."""

    name: str = attrs.field(validator=_name)
    min_score: Decimal = attrs.field(converter=_min_score)


@attrs.frozen
class IcpContribution:
    """What one criterion added to a fit score."""

    name: str
    matched: bool
    weight: Decimal
    points: Decimal


@attrs.frozen
class IcpFit:
    """A record's ICP fit.

    Attributes:
        score: 0 to 100: the matched share of the total weight, times 100.
        tier: The highest tier whose ``min_score`` the score reaches; ``None``
            when disqualified or below every tier.
        contributions: Each criterion: matched or not, and the points it added.
        disqualified_by: Names of the disqualifiers that held (score is 0).
    """

    score: Decimal
    tier: str | None
    contributions: tuple[IcpContribution, ...]
    disqualified_by: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"ICP fit {self.score} ({self.tier})"]
        if self.disqualified_by:
            lines.append(f"  disqualified by: {', '.join(self.disqualified_by)}")
        for item in self.contributions:
            mark = "✓" if item.matched else "✗"
            lines.append(f"  {mark} {item.name}: +{item.points} (weight {item.weight})")
        return "\n".join(lines)


def _criteria(values: Iterable[IcpCriterion]) -> tuple[IcpCriterion, ...]:
    return _tuple_of(values, IcpCriterion, "criteria")


def _icp_tiers(values: Iterable[IcpTier]) -> tuple[IcpTier, ...]:
    return _tuple_of(values, IcpTier, "tiers")


def _disqualifiers(values: Iterable[Segment]) -> tuple[Segment, ...]:
    return _tuple_of(values, Segment, "disqualifiers")


_HUNDRED: Final = Decimal(100)


@attrs.frozen(cache_hash=True)
class IcpModel:
    """Ideal-customer-profile fit: weighted criteria, tiers and disqualifiers.

    The score is ``100 × (weight of matched criteria) / (total weight)``,
    rounded to two decimals (half even); any disqualifier that holds makes the
    score 0. Tiers are tried from the highest ``min_score`` down.

    Examples:
        >>> from crmcore.conditions import field
        >>> icp = IcpModel("b2b_saas", (
        ...     IcpCriterion("industry", field("industry") == "saas", weight=3),
        ...     IcpCriterion("size", field("employees").between(50, 1000), weight=2),
        ... ), tiers=(IcpTier("A", 80), IcpTier("B", 50), IcpTier("C", 0)))
        >>> fit = icp.score({"industry": "saas", "employees": 20})
        >>> fit.score, fit.tier
        (Decimal('60.00'), 'B')
    """

    name: str = attrs.field(validator=_name)
    criteria: tuple[IcpCriterion, ...] = attrs.field(converter=_criteria)
    tiers: tuple[IcpTier, ...] = attrs.field(
        default=(), converter=_icp_tiers, kw_only=True
    )
    disqualifiers: tuple[Segment, ...] = attrs.field(
        default=(), converter=_disqualifiers, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if not self.criteria:
            raise DataError("criteria", self.criteria, "at least one criterion")
        _unique("criteria", (c.name for c in self.criteria))
        _unique("tiers", (t.name for t in self.tiers))

    def scorer(self, *, as_of: datetime | None = None) -> Any:
        """A compiled ``record -> score`` function (Decimal 0-100) for many records."""
        with exact_arithmetic():
            total = sum((c.weight for c in self.criteria), Decimal(0))
        weighted = [
            (compile_condition(c.condition).bind(as_of), c.weight)
            for c in self.criteria
        ]
        blockers = [
            compile_condition(d.condition).bind(as_of) for d in self.disqualifiers
        ]

        @exact_arithmetic()
        def score(record: object) -> Decimal:
            if any(block(record) for block in blockers):
                return Decimal("0.00")
            matched = sum(
                (w for predicate, w in weighted if predicate(record)), Decimal(0)
            )
            return round_to(divide(matched * _HUNDRED, total), 2)

        return score

    def tier_for(self, score: Decimal) -> str | None:
        """The tier of a score (highest ``min_score`` reached), or ``None``."""
        for tier in sorted(self.tiers, key=lambda t: t.min_score, reverse=True):
            if score >= tier.min_score:
                return tier.name
        return None

    @exact_arithmetic()
    def score(self, record: object, *, as_of: datetime | None = None) -> IcpFit:
        """The fit of one record, with every criterion's contribution."""
        total = sum((c.weight for c in self.criteria), Decimal(0))
        blocked = tuple(
            d.name
            for d in self.disqualifiers
            if compile_condition(d.condition).matches(record, as_of=as_of)
        )
        contributions = []
        matched_weight = Decimal(0)
        for criterion in self.criteria:
            matched = compile_condition(criterion.condition).matches(
                record, as_of=as_of
            )
            points = (
                round_to(divide(criterion.weight * _HUNDRED, total), 2)
                if matched and not blocked
                else Decimal("0.00")
            )
            if matched:
                matched_weight += criterion.weight
            contributions.append(
                IcpContribution(criterion.name, matched, criterion.weight, points)
            )
        if blocked:
            return IcpFit(Decimal("0.00"), None, tuple(contributions), blocked)
        score = round_to(divide(matched_weight * _HUNDRED, total), 2)
        return IcpFit(score, self.tier_for(score), tuple(contributions))


# ---------------------------------------------------------------------------
# Starter sets (copy and edit)
# ---------------------------------------------------------------------------
_DECISION_MAKERS: Final = (
    "CEO",
    "CFO",
    "CTO",
    "COO",
    "CRO",
    "Founder",
    "VP Sales",
    "Head of Ops",
)


def b2b_size_tiers() -> Tiering:
    """Company size tiers on ``employees``: enterprise, mid-market, SMB."""
    return Tiering(
        "company_size",
        (
            Tier(
                "enterprise", field("employees") >= 1000, description="1,000+ employees"
            ),
            Tier(
                "mid_market", field("employees") >= 100, description="100-999 employees"
            ),
            Tier("smb", field("employees") >= 0, description="under 100 employees"),
        ),
        default="unknown_size",
    )


def b2b_segments() -> tuple[Segment, ...]:
    """Starter B2B segments: relationships are long, decisions have many stakeholders.

    They follow the B2B column of the strategy table (company details, contact
    roles, deal stages; deal size, lifetime value and retention as metrics) and
    expect account-like records with ``employees``, ``contacts`` (a list with
    ``title``), ``customer_since`` (aware datetime), ``open_deals`` (count)
    and ``annual_revenue`` (Decimal, in your reporting currency).
    """
    return (
        Segment(
            "multi_stakeholder",
            field("contacts").count(at_least=3),
            description="Three or more known contacts: a buying committee is mapped.",
        ),
        Segment(
            "single_threaded",
            field("contacts").count(at_least=0, at_most=1),
            description="One contact or none: the deal depends on a single person.",
        ),
        Segment(
            "decision_maker_engaged",
            field("contacts").count(field("title").is_in(_DECISION_MAKERS)),
            description="An executive or budget holder is among the contacts.",
        ),
        Segment(
            "new_customer",
            field("customer_since").within_last("90d"),
            description="Customer for under 90 days: onboarding and activation first.",
        ),
        Segment(
            "long_term_customer",
            field("customer_since").older_than("2y"),
            description="Customer for two years or more: protect and expand it.",
        ),
        Segment(
            "in_active_buying_cycle",
            field("open_deals") >= 1,
            description="At least one open opportunity: sales owns the next step.",
        ),
        Segment(
            "large_account",
            field("annual_revenue") >= Decimal(50_000_000),
            description="Annual revenue of 50 million or more.",
        ),
    )


def b2c_segments() -> tuple[Segment, ...]:
    """Starter B2C segments: shorter transactions, individual decisions.

    They follow the B2C column of the strategy table (preferences, purchase
    history and behaviour; conversion, repeat purchases and engagement as
    metrics) and expect person-like records with ``orders`` (count),
    ``total_spend`` (Decimal), ``last_purchase_at`` and ``last_engaged_at``
    (aware datetimes) and ``marketing_consent`` (bool).
    """
    return (
        Segment(
            "engaged_non_buyer",
            ((field("orders") == 0) | field("orders").missing())
            & field("last_engaged_at").within_last("30d"),
            description="Engaged in the last 30 days but never bought: convert.",
        ),
        Segment(
            "first_time_buyer",
            field("orders") == 1,
            description="One purchase: win the second one.",
        ),
        Segment(
            "repeat_buyer",
            field("orders") >= 2,
            description="Bought more than once.",
        ),
        Segment(
            "loyal",
            (field("orders") >= 5) & field("last_purchase_at").within_last("90d"),
            description="Five or more purchases, the last within 90 days: reward.",
        ),
        Segment(
            "lapsed",
            field("last_purchase_at").older_than("180d"),
            description="No purchase for 180 days: win back.",
        ),
        Segment(
            "high_value",
            field("total_spend") >= Decimal(1000),
            description="Spent 1,000 or more in total.",
        ),
        Segment(
            "reachable",
            field("marketing_consent") == True,  # noqa: E712 - a condition, not a test
            description="Agreed to marketing messages: campaigns may target them.",
        ),
    )
