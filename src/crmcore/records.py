"""CRM record types, the protocols calculators need, and field access.

crmcore ships frozen, slotted, validated record types (accounts, contacts,
leads, opportunities, stage changes, activities, subscriptions) for users who
have none of their own. No function *requires* them: calculators read records
through the small ``Protocol`` classes below, and rule-driven code reads fields
through [`get_field`][crmcore.records.get_field] /
[`field_getter`][crmcore.records.field_getter], which accept attrs instances,
dataclasses, plain objects (a Django model), and mappings (a dict row)
alike.

Records validate on construction and raise a crmcore error naming the field,
the value and what was expected. Custom attributes go in the ``fields``
mapping (``properties`` for activities), read with a dotted path such as
``"fields.region"``; it is copied into a read-only
[`FrozenMap`][crmcore.records.FrozenMap].

Examples:
    >>> from datetime import datetime, timezone
    >>> deal = Opportunity(
    ...     id="o-1", account_id="a-1", amount="12000", currency="EUR",
    ...     created_at=datetime(2026, 1, 5, tzinfo=timezone.utc), stage="proposal",
    ...     fields={"region": "EMEA"},
    ... )
    >>> deal.value
    Money('12000', 'EUR')
    >>> get_field(deal, "fields.region")
    'EMEA'
    >>> get_field({"fields": {"region": "EMEA"}}, "fields.region")
    'EMEA'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal, NoReturn, Protocol, TypeAlias, get_args

import attrs

from crmcore import validators as _v
from crmcore.access import (
    MISSING,
    Columns,
    FieldPath,
    Missing,
    column_getter,
    field_getter,
    from_micros,
    get_field,
    iterate,
    parse_path,
    to_micros,
)
from crmcore.calendar import require_aware
from crmcore.errors import DataError, DataTypeError
from crmcore.money import Money, to_decimal

__all__ = [
    "MISSING",
    "Account",
    "Activity",
    "ActivityLike",
    "Columns",
    "Contact",
    "FieldPath",
    "FrozenMap",
    "Lead",
    "LeadLike",
    "Missing",
    "Opportunity",
    "OpportunityLike",
    "Outcome",
    "StageChange",
    "StageChangeLike",
    "Subscription",
    "SubscriptionLike",
    "column_getter",
    "field_getter",
    "from_micros",
    "get_field",
    "iterate",
    "parse_path",
    "to_micros",
]

Outcome: TypeAlias = Literal["open", "won", "lost"]
"""Where an opportunity stands: still ``open``, or closed as ``won`` or ``lost``."""
_OUTCOMES: Final = frozenset(get_args(Outcome))


# ---------------------------------------------------------------------------
# Immutable custom-field mapping
# ---------------------------------------------------------------------------
class FrozenMap(dict[str, Any]):
    """A read-only ``dict`` used for records' custom ``fields`` and ``properties``.

    It is a real ``dict`` (fast, JSON-friendly, picklable) whose mutating
    methods raise ``TypeError``, like a tuple's would.
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().__init__(*args, **kwargs)
        except (TypeError, ValueError):
            raise DataTypeError(
                "FrozenMap", args[0] if args else args, "a mapping or key/value pairs"
            ) from None

    def _immutable(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError(
            "record fields are read-only; build a new record with attrs.evolve()"
        )

    __setitem__ = _immutable
    __delitem__ = _immutable
    __ior__ = _immutable
    clear = _immutable
    pop = _immutable
    popitem = _immutable
    setdefault = _immutable
    update = _immutable

    def __reduce__(self) -> tuple[object, ...]:
        return (FrozenMap, (dict(self),))

    @classmethod
    def of(cls, value: object, *, field: str = "fields") -> FrozenMap:
        """``value`` as a FrozenMap: a mapping with string keys, else a crmcore error.

        A FrozenMap is returned as it is; every empty mapping becomes the
        same empty FrozenMap.

        Examples:
            >>> FrozenMap.of({"tier": "gold"})
            FrozenMap({'tier': 'gold'})
            >>> FrozenMap.of({1: "x"})
            Traceback (most recent call last):
            ...
            crmcore.errors.DataTypeError: fields[1]: expected string keys, got 1 (int)
        """
        if type(value) is FrozenMap:
            return value
        if isinstance(value, Mapping):
            if not value:
                return _EMPTY
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise DataTypeError(f"{field}[{bad[0]!r}]", bad[0], "string keys")
            return cls(value)
        raise DataTypeError(field, value, "a mapping of names to values")

    def __repr__(self) -> str:
        return f"FrozenMap({dict.__repr__(self)})"


_EMPTY: Final = FrozenMap()


# ---------------------------------------------------------------------------
# Validators (shared by every record type; errors name the field)
# ---------------------------------------------------------------------------
_id = _v.identifier()
_text = _v.text()
_opt_text = _v.optional(_text)
_opt_id = _v.optional(_id)
_instant = _v.aware_instant()
_opt_instant = _v.optional(_instant)
_opt_count = _v.optional(_v.non_negative_int())
_currency = _v.currency()


def _money(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not Money:
        raise DataTypeError(attribute.name, value, "Money")


def _opt_money(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _money(_i, attribute, value)


def _amount(value: Decimal | int | str) -> Decimal:
    return to_decimal(value, "amount")


def _map_field(name: str) -> Any:
    def convert(value: object) -> FrozenMap:
        return FrozenMap.of(value, field=name)

    return attrs.field(factory=FrozenMap, converter=convert, hash=False, kw_only=True)


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------
@attrs.frozen
class Account:
    """A company (B2B) or household (B2C) that buys.

    Attributes:
        id: Your identifier for the account.
        name: Display name.
        industry: Industry label, e.g. ``"saas"``.
        employees: Head count, if known.
        country: Country code or name, as your data has it.
        annual_revenue: Annual revenue as [`Money`][crmcore.money.Money].
        owner: Id of the owning user or team.
        created_at: When the account was created (aware).
        fields: Custom fields, read with paths like ``"fields.tier"``.
    """

    id: str = attrs.field(validator=_id)
    name: str = attrs.field(validator=_text)
    industry: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    employees: int | None = attrs.field(
        default=None, validator=_opt_count, kw_only=True
    )
    country: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    annual_revenue: Money | None = attrs.field(
        default=None, validator=_opt_money, kw_only=True
    )
    owner: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    created_at: datetime | None = attrs.field(
        default=None, validator=_opt_instant, kw_only=True
    )
    fields: Mapping[str, Any] = _map_field("fields")


@attrs.frozen
class Contact:
    """A person at an account.

    Attributes:
        id: Your identifier for the contact.
        account_id: The account the person belongs to, if any.
        name: Full name.
        email: E-mail address.
        title: Job title.
        created_at: When the contact was created (aware).
        fields: Custom fields.
    """

    id: str = attrs.field(validator=_id)
    account_id: str | None = attrs.field(default=None, validator=_opt_id, kw_only=True)
    name: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    email: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    title: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    created_at: datetime | None = attrs.field(
        default=None, validator=_opt_instant, kw_only=True
    )
    fields: Mapping[str, Any] = _map_field("fields")


@attrs.frozen
class Lead:
    """A prospective buyer not yet qualified into an opportunity.

    Attributes:
        id: Your identifier for the lead.
        created_at: When the lead was created (aware); the lead's cohort.
        source: Where it came from (``"webinar"``, ``"paid_search"``...).
        status: Lifecycle status, e.g. ``"new"``, ``"mql"``, ``"sql"``.
        owner: Id of the owning user or team.
        email: E-mail address.
        company: Company name as entered.
        industry: Industry label.
        employees: Company head count.
        country: Country code or name.
        account_id: The account it was matched to, if any.
        contact_id: The contact it was matched to, if any.
        converted_at: When it converted (to an opportunity or a customer).
        fields: Custom fields.
    """

    id: str = attrs.field(validator=_id)
    created_at: datetime = attrs.field(validator=_instant)
    source: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    status: str = attrs.field(default="new", validator=_text, kw_only=True)
    owner: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    email: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    company: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    industry: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    employees: int | None = attrs.field(
        default=None, validator=_opt_count, kw_only=True
    )
    country: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    account_id: str | None = attrs.field(default=None, validator=_opt_id, kw_only=True)
    contact_id: str | None = attrs.field(default=None, validator=_opt_id, kw_only=True)
    converted_at: datetime | None = attrs.field(
        default=None, validator=_opt_instant, kw_only=True
    )
    fields: Mapping[str, Any] = _map_field("fields")

    def __attrs_post_init__(self) -> None:
        if self.converted_at is not None and self.converted_at < self.created_at:
            raise DataError(
                "converted_at",
                self.converted_at,
                f"an instant at or after created_at ({self.created_at.isoformat()})",
            )


def _outcome(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _OUTCOMES:
        raise DataError(attribute.name, value, "one of 'open', 'won', 'lost'")


@attrs.frozen
class Opportunity:
    """A deal: an amount of money moving through a pipeline towards won or lost.

    Invariants, checked on construction:

    * ``outcome`` is ``"open"`` exactly when ``closed_at`` is ``None``;
    * ``closed_at`` is not before ``created_at``;
    * ``lost_reason`` is only set on lost deals;
    * ``amount`` is not negative and ``probability`` lies in ``[0, 1]``.

    Attributes:
        id: Your identifier for the deal.
        account_id: The buying account, if known.
        amount: Deal value as an exact ``Decimal`` (ints and numeric strings
            are converted; floats are rejected).
        currency: ISO 4217 code of ``amount``.
        created_at: When the deal was created (aware).
        stage: Key of the current pipeline stage.
        outcome: ``"open"``, ``"won"`` or ``"lost"``.
        closed_at: When it was won or lost (aware), else ``None``.
        lost_reason: Why it was lost.
        owner: Id of the owning user or team.
        probability: Win probability override in ``[0, 1]``; ``None`` means
            "use the stage's default".
        fields: Custom fields.
    """

    id: str = attrs.field(validator=_id)
    account_id: str | None = attrs.field(validator=_opt_id)
    amount: Decimal = attrs.field(converter=_amount)
    currency: str = attrs.field(validator=_currency)
    created_at: datetime = attrs.field(validator=_instant)
    stage: str = attrs.field(validator=_id)
    outcome: Outcome = attrs.field(default="open", validator=_outcome, kw_only=True)
    closed_at: datetime | None = attrs.field(
        default=None, validator=_opt_instant, kw_only=True
    )
    lost_reason: str | None = attrs.field(
        default=None, validator=_opt_text, kw_only=True
    )
    owner: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)
    probability: Decimal | None = attrs.field(
        default=None, converter=_v.probability, kw_only=True
    )
    fields: Mapping[str, Any] = _map_field("fields")

    def __attrs_post_init__(self) -> None:
        if self.amount < 0:
            raise DataError("amount", self.amount, "a non-negative amount")
        closed_at = self.closed_at
        if self.outcome == "open":
            if closed_at is not None:
                raise DataError("closed_at", closed_at, "None while outcome is 'open'")
        elif closed_at is None:
            raise DataError(
                "closed_at", closed_at, f"the close instant of a {self.outcome} deal"
            )
        elif closed_at < self.created_at:
            raise DataError(
                "closed_at",
                closed_at,
                f"an instant at or after created_at ({self.created_at.isoformat()})",
            )
        if self.lost_reason is not None and self.outcome != "lost":
            raise DataError(
                "lost_reason",
                self.lost_reason,
                f"None on a deal whose outcome is {self.outcome!r}",
            )

    @property
    def value(self) -> Money:
        """The amount as [`Money`][crmcore.money.Money]."""
        return Money(self.amount, self.currency)

    @property
    def is_open(self) -> bool:
        """Whether the deal is still open."""
        return self.outcome == "open"

    @property
    def is_won(self) -> bool:
        """Whether the deal was won."""
        return self.outcome == "won"


@attrs.frozen
class StageChange:
    """One move of a record between stages: the unit of stage history.

    ``from_stage`` is ``None`` for the event that places a new record in its
    first stage.

    Attributes:
        record_id: The id of the opportunity, lead or customer that moved.
        from_stage: The stage left, or ``None`` on creation.
        to_stage: The stage entered.
        at: When the move happened (aware).
        by: Who made the move, if known.
    """

    record_id: str = attrs.field(validator=_id)
    from_stage: str | None = attrs.field(validator=_opt_id)
    to_stage: str = attrs.field(validator=_id)
    at: datetime = attrs.field(validator=_instant)
    by: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)


@attrs.frozen
class Activity:
    """An engagement event: an e-mail opened, a meeting held, a page visited.

    Attributes:
        record_id: The lead, contact, account or deal it belongs to.
        kind: What happened, e.g. ``"meeting"``, ``"email_open"``.
        at: When it happened (aware).
        properties: Event details, e.g. ``{"status": "completed"}``.
        id: Your identifier for the event, if any.
        by: The user who performed it, if any.
    """

    record_id: str = attrs.field(validator=_id)
    kind: str = attrs.field(validator=_id)
    at: datetime = attrs.field(validator=_instant)
    properties: Mapping[str, Any] = _map_field("properties")
    id: str | None = attrs.field(default=None, validator=_opt_id, kw_only=True)
    by: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)


@attrs.frozen
class Subscription:
    """Recurring revenue from one customer over the half-open ``[start, end)``.

    A customer's MRR at an instant is the sum of the MRR of their subscriptions
    active then. A plan change is one subscription ending where the next
    starts.

    Attributes:
        customer_id: The paying customer (account) id.
        mrr: Monthly recurring revenue, non-negative [`Money`][crmcore.money.Money].
        start: First instant the subscription is active (aware).
        end: First instant it is no longer active, or ``None`` if ongoing.
        id: Your identifier for the subscription, if any.
        plan: Plan or product name.
    """

    customer_id: str = attrs.field(validator=_id)
    mrr: Money = attrs.field(validator=_money)
    start: datetime = attrs.field(validator=_instant)
    end: datetime | None = attrs.field(
        default=None, validator=_opt_instant, kw_only=True
    )
    id: str | None = attrs.field(default=None, validator=_opt_id, kw_only=True)
    plan: str | None = attrs.field(default=None, validator=_opt_text, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.mrr.amount < 0:
            raise DataError("mrr", self.mrr, "a non-negative amount")
        if self.end is not None and self.end <= self.start:
            raise DataError(
                "end", self.end, f"an instant after start ({self.start.isoformat()})"
            )

    def is_active(self, at: datetime) -> bool:
        """Whether the subscription is active at the instant ``at``."""
        require_aware(at, "at")
        return self.start <= at and (self.end is None or at < self.end)


# ---------------------------------------------------------------------------
# Protocols: what calculators read. Any object with these attributes works.
# ---------------------------------------------------------------------------
class OpportunityLike(Protocol):
    """What deal calculators read from an opportunity (e.g. a Django model)."""

    @property
    def id(self) -> str:
        """The deal's identifier."""

    @property
    def amount(self) -> Decimal:
        """The deal's value as an exact ``Decimal``."""

    @property
    def currency(self) -> str:
        """ISO 4217 code of ``amount``."""

    @property
    def created_at(self) -> datetime:
        """When the deal was created (aware)."""

    @property
    def closed_at(self) -> datetime | None:
        """When it was won or lost, else ``None``."""

    @property
    def stage(self) -> str:
        """Key of the current stage."""

    @property
    def outcome(self) -> str:
        """``open``, ``won`` or ``lost``."""


class StageChangeLike(Protocol):
    """What stage analytics read from one history event."""

    @property
    def record_id(self) -> str:
        """The record that moved."""

    @property
    def from_stage(self) -> str | None:
        """The stage left, ``None`` on creation."""

    @property
    def to_stage(self) -> str:
        """The stage entered."""

    @property
    def at(self) -> datetime:
        """When the move happened (aware)."""


class ActivityLike(Protocol):
    """What engagement rules read from an activity."""

    @property
    def record_id(self) -> str:
        """The record the event belongs to."""

    @property
    def kind(self) -> str:
        """What happened."""

    @property
    def at(self) -> datetime:
        """When it happened (aware)."""


class LeadLike(Protocol):
    """What lead-funnel calculators read from a lead."""

    @property
    def id(self) -> str:
        """The lead's identifier."""

    @property
    def created_at(self) -> datetime:
        """When the lead was created (aware)."""

    @property
    def converted_at(self) -> datetime | None:
        """When it converted, else ``None``."""


class SubscriptionLike(Protocol):
    """What revenue calculators read from a subscription."""

    @property
    def customer_id(self) -> str:
        """The paying customer."""

    @property
    def mrr(self) -> Money:
        """Monthly recurring revenue."""

    @property
    def start(self) -> datetime:
        """First active instant (aware)."""

    @property
    def end(self) -> datetime | None:
        """First inactive instant, or ``None`` if ongoing."""
