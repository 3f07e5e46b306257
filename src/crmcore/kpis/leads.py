"""Lead conversion: cohort-based (the default) and period-based.

Reads ``created_at`` and the instant the lead reached the target (by default
``converted_at``; any date field path, e.g. ``"fields.sql_at"``) from any
lead-like record.

* **Cohort** (default): of the leads *created* in the period, the share that
  reached the target within ``window`` of their creation, as of ``as_of``.
  A cohort younger than the window (period end + window after ``as_of``) is
  *immature*: its rate can still rise, and the result says so.
* **Period**: conversions that happened in the period / leads created in the
  period. The two sets differ, so the rate can exceed 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from crmcore.access import Reader
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis._core import (
    EARLIEST,
    LATEST,
    GroupKey,
    Invalid,
    Kpi,
    KpiResult,
    Where,
    Window,
    check_aware,
    check_instant,
    check_window,
    grouped,
    quotient,
    record_label,
)
from crmcore.records import FieldPath, parse_path
from crmcore.validators import check_one_of

__all__ = ["LeadConversion", "lead_conversion"]

_UNSET: Final = object()


class LeadFacts:
    """Counts behind lead conversion, gathered in one pass."""

    __slots__ = (
        "as_of",
        "cohort",
        "converted",
        "converted_in_period",
        "immature",
        "leads",
        "reached_path",
        "reader",
        "window",
        "within",
    )

    def __init__(
        self,
        window: tuple[datetime, datetime] | None,
        within: timedelta | None,
        as_of: datetime | None,
        reached: str,
        *,
        cohort: bool = True,
    ) -> None:
        self.window = window
        # Whether a KPI reads the cohort figures (which depend on ``within``);
        # the period method reads only conversions in the window.
        self.cohort = cohort
        self.within = within
        self.as_of = as_of
        self.reached_path = reached
        self.reader = Reader(("created_at",), (reached,))
        self.leads = self.converted = self.converted_in_period = self.immature = 0

    def _check(self, row: tuple[Any, ...], record: object) -> None:
        created, reached = row[0], row[1]
        created = check_aware(created, "created_at", record)
        # Only called when the fast path failed, so one check always fails.
        if reached is not None:  # pragma: no branch
            reached = check_aware(reached, self.reached_path, record)
            if reached < created:  # pragma: no branch
                raise DataError(
                    f"{self.reached_path} ({record_label(record)})",
                    reached,
                    "an instant at or after created_at",
                )

    def update(self, records: Iterable[Any]) -> None:  # noqa: PLR0915 - one hot loop
        """Count leads (the hot loop).

        A naive datetime fails its first comparison with an aware one, so no
        record needs an explicit time-zone check.
        """
        # Sentinels: no window takes every lead; no as_of, every conversion.
        start, end = self.window if self.window is not None else (EARLIEST, LATEST)
        within, as_of = self.within, self.as_of
        cutoff = LATEST if as_of is None else as_of
        maturing = within is not None and as_of is not None
        leads = converted = in_period = immature = 0
        # The default fields are read inline; any other path by the reader.
        default = self.reached_path == "converted_at"
        try:
            reader = self.reader
            cls: type | None = None
            mapping = direct = False
            get = reader.getter(object)
            for record in records:
                # The reading is inlined: a generator per record costs more.
                if type(record) is not cls:
                    cls = type(record)
                    mapping = issubclass(cls, Mapping)
                    direct = reader.direct(cls)
                    get = reader.getter(cls)
                try:
                    if not default:
                        created, reached = get(record)
                    elif mapping:
                        created = record["created_at"]
                        reached = record.get("converted_at")
                    elif direct:
                        created = record.created_at
                        reached = record.converted_at
                    else:
                        created, reached = reader.slow(record)
                except Exception:  # a missing field, a raising property: explained
                    created, reached = reader.slow(record)
                try:
                    created_in = start <= created < end
                    if reached is not None:
                        if reached < created:
                            raise Invalid
                        if reached > cutoff:
                            reached = None  # not yet, as of as_of
                        elif start <= reached < end:
                            in_period += 1
                    if created_in:
                        leads += 1
                        if reached is not None and (
                            within is None or reached - created <= within
                        ):
                            converted += 1
                        if maturing and created + within > as_of:
                            immature += 1
                except Exception as error:
                    self._check((created, reached), record)
                    raise error from None  # pragma: no cover - _check raises first
        finally:
            self.leads += leads
            self.converted += converted
            self.converted_in_period += in_period
            self.immature += immature

    def covers(self, other: LeadFacts) -> bool:
        """Whether these facts hold everything ``other`` would (same options).

        The cohort figures depend on ``within``; the period method's do not.
        """
        if other.cohort and self.within != other.within:
            return False
        return (self.window, self.as_of, self.reached_path) == (
            other.window,
            other.as_of,
            other.reached_path,
        )

    def cleared(self) -> LeadFacts:
        """An empty copy with the same options."""
        return LeadFacts(
            self.window,
            self.within,
            self.as_of,
            self.reached_path,
            cohort=self.cohort,
        )

    def merged(self, other: LeadFacts) -> LeadFacts:
        """A new facts object holding both."""
        merged = self.cleared()
        for name in ("leads", "converted", "converted_in_period", "immature"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        return merged


def _window_arg(value: object) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, timedelta) and value > timedelta(0):
        return value
    raise DataTypeError("window", value, "a positive timedelta or None")


class LeadConversion(Kpi):
    """Lead conversion rate, cohort-based or period-based.

    Args:
        period: The cohort (leads created in it); ``None``: every lead.
        method: ``"cohort"`` (default) or ``"period"``.
        window: Cohort method: count a conversion only within this time of
            the lead's creation (``None``: any time up to ``as_of``).
        as_of: Conversions after this instant do not count yet; also decides
            maturity. ``None``: every conversion in the data counts.
        reached: The date field that marks the conversion.
        where: Only records satisfying this condition or segment.

    Components: ``leads``, ``converted``, ``converted_in_period``,
    ``immature_leads`` (created less than ``window`` before ``as_of``) and
    ``immature`` (whether the cohort is younger than the window; ``None``
    when unknown).

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> t = datetime(2026, 1, 10, tzinfo=timezone.utc)
        >>> leads = [{"created_at": t, "converted_at": t + timedelta(days=d)}
        ...          for d in (3, 40)] + [{"created_at": t, "converted_at": None}]
        >>> rate = LeadConversion(window=timedelta(days=30)).update(leads).result()
        >>> rate.numerator, rate.denominator
        (1, 3)
    """

    name = "lead_conversion"

    def __init__(
        self,
        period: Window | None = None,
        *,
        method: Literal["cohort", "period"] = "cohort",
        window: timedelta | None = None,
        as_of: datetime | None = None,
        reached: FieldPath = "converted_at",
        where: Where | None = None,
    ) -> None:
        check_one_of(method, "method", ("cohort", "period"))
        span = check_window(period)
        within = _window_arg(window)
        at = check_instant(as_of, "as_of")
        path = ".".join(parse_path(reached))
        self._setup(
            {
                "period": period,
                "method": method,
                "window": within,
                "as_of": at,
                "reached": path,
                "where": where,
            },
            LeadFacts(
                None if span is None else (span.start, span.end),
                within if method == "cohort" else None,
                at,
                path,
                cohort=method == "cohort",
            ),
        )
        self.anchors = ("created_at",) if method == "cohort" else ("created_at", path)

    def result(self) -> KpiResult:
        """The conversion rate with its counts."""
        facts = self._facts
        options = self._options
        period, within, as_of = options["period"], options["window"], options["as_of"]
        cohort = options["method"] == "cohort"
        immature: bool | None = None
        if cohort and within is not None and as_of is not None:
            immature = (
                period.end + within > as_of
                if period is not None
                else facts.immature > 0
            )
        numerator = facts.converted if cohort else facts.converted_in_period
        return quotient(
            self.name if cohort else "lead_conversion_period",
            numerator,
            facts.leads,
            reason="no leads created in the period",
            components={
                "method": options["method"],
                "leads": facts.leads,
                "converted": facts.converted,
                "converted_in_period": facts.converted_in_period,
                "immature_leads": facts.immature,
                "immature": immature,
            },
            period=period,
            as_of=as_of,
        )


def lead_conversion(
    leads: Iterable[Any],
    period: Window | None = None,
    *,
    method: Literal["cohort", "period"] = "cohort",
    window: timedelta | None = None,
    as_of: datetime | None = None,
    reached: FieldPath = "converted_at",
    where: Where | None = None,
    per: GroupKey | None = None,
) -> Any:
    """[`LeadConversion`][crmcore.kpis.LeadConversion] over any iterable of leads."""
    kpi = LeadConversion(
        period, method=method, window=window, as_of=as_of, reached=reached, where=where
    )
    if per is None:
        return kpi.update(leads).result()
    return grouped(kpi, leads, per)
