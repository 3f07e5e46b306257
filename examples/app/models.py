"""The service's database: SQLAlchemy 2 ORM models that crmcore reads as they are.

The attribute names are the field names crmcore's calculators read
(``amount``, ``currency``, ``created_at``, ``outcome``...), so an
``Opportunity`` row goes into ``kpi_report`` or ``pipelines.evaluate``
without being copied into a crmcore record. Rules reach related rows through
relationships (``account.industry``) and never reach what is not a public
column: a column whose attribute starts with ``_`` (``Person._api_token``)
is refused by every rule, and a model's class-level ``metadata`` and
``registry`` read as missing.

Two column types keep values exact and instants aware on every database:
``Amount`` (a ``Decimal``; text on SQLite, which has no decimal type) and
``Instant`` (an aware instant; microseconds since the epoch on SQLite, which
has no date type).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator, TypeEngine

from crmcore import Money
from crmcore.records import from_micros, to_micros

__all__ = [
    "Account",
    "Activity",
    "Amount",
    "Base",
    "Contact",
    "Definition",
    "Handoff",
    "Instant",
    "Lead",
    "MarketingSpend",
    "Opportunity",
    "Person",
    "RoutingMemory",
    "StageHistory",
    "Subscription",
]


class Amount(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` where the database has it, text on SQLite."""

    impl = Numeric(20, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(20, 4, asdecimal=True))

    def process_bind_param(self, value: object, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):  # its binary expansion is not the amount
            raise TypeError(
                f"an amount must be a Decimal or an int, not a float: {value!r}"
            )
        if not isinstance(value, Decimal | int):
            raise TypeError(f"an amount must be a Decimal or an int, not {value!r}")
        amount = Decimal(value)
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class Instant(TypeDecorator[datetime]):
    """An aware instant: ``TIMESTAMP WITH TIME ZONE`` where the database has it.

    SQLite has no date type: there an instant is an integer count of
    microseconds since 1970-01-01T00:00:00Z (crmcore's ``to_micros``), exact,
    ordered, and what crmcore's ``Columns`` take in bulk (``micros=``).
    Naive datetimes are refused on write; reads are always aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a naive datetime is no instant: {value}")
        return to_micros(value) if dialect.name == "sqlite" else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_micros(value)
        assert isinstance(value, datetime)
        # A database that drops the offset (MySQL) gives back the UTC written.
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


class Base(DeclarativeBase):
    """The declarative base of every table of the service."""

    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it from the class
        Decimal: Amount,
        datetime: Instant,
        dict[str, Any]: JSON,
    }


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40))
    employees: Mapped[int | None]
    country: Mapped[str | None] = mapped_column(String(2))
    owner: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime | None]
    revenue_amount: Mapped[Decimal | None]
    revenue_currency: Mapped[str | None] = mapped_column(String(3))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)

    @property
    def annual_revenue(self) -> Money | None:
        """A property is a public data attribute: rules and segments read it."""
        if self.revenue_amount is None or self.revenue_currency is None:
            return None
        return Money(self.revenue_amount, self.revenue_currency)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime | None]
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)

    account: Mapped[Account | None] = relationship()


class Activity(Base):
    """An engagement event of a lead or a deal (``record_id`` is either's id)."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    by: Mapped[str | None] = mapped_column(String(40))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40))
    employees: Mapped[int | None]
    country: Mapped[str | None] = mapped_column(String(2))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    converted_at: Mapped[datetime | None]
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)

    account: Mapped[Account | None] = relationship()
    activities: Mapped[list[Activity]] = relationship(
        primaryjoin="foreign(Activity.record_id) == Lead.id",
        order_by="Activity.at",
        viewonly=True,
    )


class StageHistory(Base):
    """One stage change of a deal: crmcore's ``StageChange`` as a row."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    by: Mapped[str | None] = mapped_column(String(40))


class Opportunity(Base):
    """A deal. ``version`` is SQLAlchemy's optimistic version counter: an
    update whose row changed since it was read fails instead of overwriting.
    """

    __tablename__ = "opportunities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(80))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    stage: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(4))
    closed_at: Mapped[datetime | None]
    lost_reason: Mapped[str | None] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(40))
    probability: Mapped[Decimal | None]
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    account: Mapped[Account | None] = relationship()
    history: Mapped[list[StageHistory]] = relationship(order_by=StageHistory.at)
    activities: Mapped[list[Activity]] = relationship(
        primaryjoin="foreign(Activity.record_id) == Opportunity.id",
        order_by="Activity.at",
        viewonly=True,
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    mrr_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    plan: Mapped[str | None] = mapped_column(String(40))

    @property
    def mrr(self) -> Money:
        """The recurring revenue crmcore's revenue KPIs read, as exact money."""
        return Money(self.mrr_amount, self.currency)


class MarketingSpend(Base):
    __tablename__ = "marketing_spend"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(40))


class Person(Base):
    """Someone leads are routed to. ``definition`` is a crmcore ``routing.Person``
    as JSON (team, skills, calendar, capacity).

    ``_api_token`` is a column no rule may read: its attribute starts with
    ``_``, which every field path refuses.
    """

    __tablename__ = "people"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    _api_token: Mapped[str | None] = mapped_column("api_token", String(80))


class Handoff(Base):
    """One handoff between teams, as crmcore's handoff KPIs read it."""

    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    contract: Mapped[str] = mapped_column(String(60))
    record: Mapped[str] = mapped_column(String(40))
    from_team: Mapped[str] = mapped_column(String(40))
    to_team: Mapped[str] = mapped_column(String(40))
    handed_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]


class Definition(Base):
    """A stored pipeline or playbook: the JSON a user wrote, checked on the way in."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(80))
    document: Mapped[dict[str, Any]]
    stored_at: Mapped[datetime]


class RoutingMemory(Base):
    """crmcore's ``RoutingState`` between requests (one row, versioned)."""

    __tablename__ = "routing_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
