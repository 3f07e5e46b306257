"""The facts behind every deal KPI, gathered in one pass over the deals."""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from itertools import islice, repeat
from typing import Any, Final, Literal

from crmcore.access import ATTRIBUTE, MODES, Columns, Reader, to_micros
from crmcore.calendar import MICROSECOND, days_from_microseconds
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis._core import (
    _PLAIN_KEYS,
    EARLIEST,
    LATEST,
    Invalid,
    Window,
    _unhashable,
    check_amount,
    check_aware,
    exact,
    one_currency,
    record_label,
)
from crmcore.money import check_currency, divide
from crmcore.pipelines import Pipeline
from crmcore.records import MISSING, get_field

_ZERO: Final = Decimal(0)
# Indexes of the per-currency sums (the hot loop keeps them in locals, in this
# order, and stores them as a list of seven).
_WON, _LOST, _EXCLUDED, _OPEN, _FORECAST, _WEIGHTED, _UNWEIGHTED = range(7)
_READER: Final = Reader(
    ("outcome", "created_at", "amount", "currency"),
    ("closed_at", "stage", "probability", "lost_reason"),
)
# The fields every deal needs; the others are read only where a figure uses them.
_REQUIRED: Final = Reader(
    ("outcome", "created_at", "amount", "currency"), ("closed_at",)
)
# Medians of more durations than this are found by merging sorted chunks, so
# the working memory stays small when streaming tens of millions of deals.
_CHUNK: Final = 1 << 18
# The window of all time in microseconds (every instant a datetime can hold).
_SEVEN_ZEROS: Final = (_ZERO,) * 7
_LOWEST: Final = -(1 << 62)
# The currency before the first deal: no value a record holds (None included,
# so a deal without a currency is checked like any other).
_NONE_YET: Final = object()
_HIGHEST: Final = 1 << 62


def _optional(record: object, name: str) -> Any:
    """An optional field of a record without the attribute: ``None`` if absent."""
    return get_field(record, name, None)


def _switch(
    sums: dict[str, list[Decimal]], old: Any, new: Any, current: list[Decimal]
) -> list[Decimal]:
    """Store the current currency's sums and return those of the next one."""
    if old is not _NONE_YET:
        sums[old] = current
    found = sums.get(new)
    if found is None:
        check_currency(new)
        found = [_ZERO] * 7
    return found


def _reason(record: Any, mapping: bool) -> Any:
    """A deal's lost reason (``None`` if the record has none)."""
    if mapping:
        return record.get("lost_reason")
    try:
        return record.lost_reason
    except AttributeError:
        return _optional(record, "lost_reason")


class DealFacts:
    """The additive facts behind every deal KPI, gathered in one pass."""

    __slots__ = (
        "at",
        "categories",
        "closed",
        "cycles",
        "exclude",
        "forecast",
        "lost",
        "lost_cycles",
        "open_at",
        "ordered",
        "reasons",
        "stages",
        "sums",
        "track_open",
        "unweighted",
        "weighted_deals",
        "window",
        "won",
    )

    def __init__(
        self,
        window: Window | None,
        at: datetime | None,
        exclude: frozenset[str],
        pipeline: Pipeline | None,
        *,
        cycles: bool,
        forecast: bool,
        track_open: bool,
        lost_cycles: bool = False,
        closed: Literal["all", "won", "none"] = "all",
    ) -> None:
        self.window = None if window is None else (window.start, window.end)
        # Which deals closed in the window a KPI reads: all (won and lost,
        # so the exclusions matter), only the won, or none (the pipelines
        # read open deals): what ``covers`` compares.
        self.closed = closed
        self.at = at
        self.exclude = exclude
        self.stages: dict[str, tuple[Decimal | None, str]] | None = (
            None
            if pipeline is None
            else {s.key: (s.win_probability, s.category) for s in pipeline.stages}
        )
        self.forecast = forecast
        self.track_open = track_open
        self.won = 0
        self.lost = 0
        self.reasons: Counter[str] = Counter()
        self.open_at = 0
        self.weighted_deals = 0
        self.unweighted = 0
        self.sums: dict[str, list[Decimal]] = {}
        self.categories: dict[tuple[str, str], Decimal] = {}
        self.cycles: array[int] | None = array("q") if cycles else None
        self.lost_cycles: array[int] | None = array("q") if lost_cycles else None
        # Whether the durations are each sorted (the bulk kernel keeps them
        # so; the figures then need not sort them again).
        self.ordered = True

    @property
    def fields(self) -> frozenset[str]:
        """The fields these facts read (and ``id``, which names a bad deal)."""
        found = {"id", "outcome", "created_at", "amount", "currency", "closed_at"}
        if self.forecast:
            found |= {"stage", "probability"}
        if self.exclude:
            found.add("lost_reason")
        return frozenset(found)

    # -- reading ---------------------------------------------------------
    def _check(self, row: tuple[Any, ...], record: object) -> None:
        """Raise the crmcore error that explains why ``row`` is not valid."""
        outcome, created, amount, currency, closed, stage, probability, _ = row
        if outcome not in ("open", "won", "lost"):
            raise DataError(
                f"outcome ({record_label(record)})", outcome, "'open', 'won' or 'lost'"
            )
        check_aware(created, "created_at", record)
        check_amount(amount, "amount", record)
        check_currency(currency, f"currency ({record_label(record)})")
        if outcome == "open":
            if closed is not None:
                raise DataError(
                    f"closed_at ({record_label(record)})",
                    closed,
                    "None while outcome is 'open'",
                )
        else:
            closed = check_aware(closed, "closed_at", record)
            # Only called when the fast path failed, so one check always fails.
            if closed < created:  # pragma: no branch
                raise DataError(
                    f"closed_at ({record_label(record)})",
                    closed,
                    "an instant at or after created_at",
                )
        if probability is not None:
            if isinstance(probability, bool) or not isinstance(
                probability, (Decimal, int)
            ):
                raise DataTypeError(
                    f"probability ({record_label(record)})",
                    probability,
                    "a Decimal between 0 and 1, or None",
                )
            if not 0 <= probability <= 1:
                raise DataError(
                    f"probability ({record_label(record)})",
                    probability,
                    "a probability between 0 and 1",
                )
        stages = self.stages if self.forecast and outcome == "open" else None
        # A forecast deal that failed the fast path and got here has an
        # unknown stage, so this test never falls through.
        if stages is not None and stage not in stages:  # pragma: no branch
            raise DataError(
                f"stage ({record_label(record)})",
                stage,
                f"a stage of the pipeline: {', '.join(stages)}",
            )

    def _weigh(
        self,
        record: Any,
        mapping: bool,
        value: Decimal,
    ) -> tuple[Decimal | None, str]:
        """A forecast deal's weighted value (None: unweighted) and category."""
        if mapping:
            probability = record.get("probability")
            stage = record.get("stage")
        else:
            try:
                probability = record.probability
                stage = record.stage
            except AttributeError:
                probability = _optional(record, "probability")
                stage = _optional(record, "stage")
        return self._weight(probability, stage, value)

    def _weight(
        self, probability: Any, stage: Any, value: Decimal
    ) -> tuple[Decimal | None, str]:
        """The weighted value (None: unweighted) and category of a deal's fields.

        Its own probability wins over its stage's default; raises for a
        probability outside [0, 1] or an unknown stage (the loop explains).
        """
        stages = self.stages
        if probability is not None:
            if type(probability) is not Decimal:
                probability = exact(probability)
            if not 0 <= probability <= 1:
                raise Invalid
            return value * probability, (
                "pipeline" if stages is None else stages[stage][1]
            )
        if stages is None:
            return None, "pipeline"
        default, category = stages[stage]
        return (None if default is None else value * default), category

    def update(self, records: Iterable[Any]) -> None:  # noqa: PLR0915 - one hot loop
        """Count records (the hot loop: one pass, no per-record allocation).

        Only the fields a record's figures need are read: ``stage`` and
        ``probability`` for deals in the forecast, ``lost_reason`` for lost
        deals when reasons are excluded. A naive datetime fails the first
        comparison with an aware one, so closed deals need no explicit check.
        """
        window = self.window
        # No window: every closed deal is in it (the sentinels compare with
        # any aware datetime). No ``at``: every open deal counts as open now.
        start, end = window if window is not None else (EARLIEST, LATEST)
        at = self.at
        open_at_any = at is None
        track_at = self.track_open and at is not None
        forecast_at = self.forecast and not open_at_any
        forecast_any = self.forecast and open_at_any
        exclude = self.exclude
        track_open = self.track_open
        cycles, lost_cycles = self.cycles, self.lost_cycles
        sums = self.sums
        categories = self.categories
        reasons = self.reasons
        won = lost = open_at = weighted_deals = unweighted = 0
        zero = _ZERO
        # The sums of the current currency live in locals, written back to
        # ``sums`` when the currency changes and at the end.
        currency_now: Any = _NONE_YET
        won_sum = lost_sum = excluded_sum = open_sum = zero
        forecast_sum = weighted_sum = unweighted_sum = zero
        us = MICROSECOND
        cls: type | None = None
        mapping = direct = False
        slow = _REQUIRED.slow
        try:
            for record in records:
                # Fields are read inline (faster than any getter object); a
                # record missing a field goes through the explained slow path.
                if type(record) is not cls:
                    cls = type(record)
                    mapping = issubclass(cls, Mapping)
                    direct = _REQUIRED.direct(cls)
                try:
                    if mapping:
                        outcome = record["outcome"]
                        created = record["created_at"]
                        amount = record["amount"]
                        currency = record["currency"]
                        closed = record.get("closed_at")
                    elif direct:
                        outcome = record.outcome
                        created = record.created_at
                        amount = record.amount
                        currency = record.currency
                        closed = record.closed_at
                    else:
                        outcome, created, amount, currency, closed = slow(record)
                except Exception:  # a missing field, a raising property: explained
                    outcome, created, amount, currency, closed = slow(record)
                try:
                    # Exact, finite, non-negative amounts only (-0 is 0).
                    value = amount if type(amount) is Decimal else exact(amount)
                    if (value.is_signed() and value) or not value.is_finite():
                        raise Invalid
                    # Everything that can fail happens before any counting.
                    if outcome == "lost" or outcome == "won":  # noqa: PLR1714 - faster
                        # Raises TypeError for a naive datetime or a non-datetime.
                        if closed < created:
                            raise Invalid
                        in_window = start <= closed < end
                        is_open = track_at and created <= at < closed
                        if not (in_window or is_open):
                            continue
                        counted = False
                    else:
                        if outcome != "open" or closed is not None:
                            raise Invalid
                        if created.tzinfo is None:  # no comparison may catch it
                            raise Invalid
                        in_window = False
                        is_open = track_open and (open_at_any or created <= at)
                        counted = forecast_any or (forecast_at and created <= at)
                        if not (is_open or counted):
                            continue
                        if counted:
                            weight, category = self._weigh(record, mapping, value)
                    if currency != currency_now:
                        (
                            won_sum,
                            lost_sum,
                            excluded_sum,
                            open_sum,
                            forecast_sum,
                            weighted_sum,
                            unweighted_sum,
                        ) = _switch(
                            sums,
                            currency_now,
                            currency,
                            [
                                won_sum,
                                lost_sum,
                                excluded_sum,
                                open_sum,
                                forecast_sum,
                                weighted_sum,
                                unweighted_sum,
                            ],
                        )
                        currency_now = currency
                    if in_window:
                        if outcome == "won":
                            won += 1
                            won_sum += value
                            if cycles is not None:
                                cycles.append((closed - created) // us)
                        elif (
                            exclude and (reason := _reason(record, mapping)) in exclude
                        ):
                            reasons[reason] += 1
                            excluded_sum += value
                        else:
                            lost += 1
                            lost_sum += value
                            if lost_cycles is not None:
                                lost_cycles.append((closed - created) // us)
                    if is_open:
                        open_at += 1
                        open_sum += value
                    if counted:
                        forecast_sum += value
                        if weight is None:
                            unweighted += 1
                            unweighted_sum += value
                        else:
                            weighted_deals += 1
                            weighted_sum += weight
                            key = (currency, category)
                            categories[key] = categories.get(key, zero) + weight
                except Exception as error:
                    self._check(_READER.read(record), record)
                    raise error from None  # pragma: no cover - _check raises first
        finally:
            if currency_now is not _NONE_YET:
                sums[currency_now] = [
                    won_sum,
                    lost_sum,
                    excluded_sum,
                    open_sum,
                    forecast_sum,
                    weighted_sum,
                    unweighted_sum,
                ]
            self.won += won
            self.lost += lost
            self.open_at += open_at
            self.weighted_deals += weighted_deals
            self.unweighted += unweighted
            if won or lost:  # durations appended in the records' order
                self.ordered = False

    def update_groups(  # noqa: PLR0915 - one hot loop
        self,
        records: Iterable[Any],
        name: str,
        periods: Any,
        get: Callable[[object], object],
        group: Callable[[Any], DealFacts],
    ) -> None:
        """Count records, each in the facts of its group: one pass.

        The loop of ``update`` with per-group state, for a grouped KPI whose
        key is a top-level field ``name``: its value (of a plain kind; the
        record reader ``get`` reads any other) or, with ``periods`` (the
        grouping's ``_Periods``), the period of that instant. ``group(key)``
        gives the facts of a group (made when first seen): facts with these
        options, each with its own window. Each record is read once, in the
        order it comes, so the first bad record is the one explained.
        """
        at = self.at
        open_at_any = at is None
        track_at = self.track_open and at is not None
        forecast_at = self.forecast and not open_at_any
        forecast_any = self.forecast and open_at_any
        exclude = self.exclude
        track_open = self.track_open
        zero = _ZERO
        us = MICROSECOND
        plain = _PLAIN_KEYS
        found_periods = None if periods is None else periods.found
        starts = None if periods is None else periods.starts
        ends = None if periods is None else periods.ends
        serials = None if periods is None else periods.serials
        place = None if periods is None else periods.serial
        # Each group's facts and window, by key (a period's serial).
        states: dict[Any, tuple[DealFacts, Any, Any]] = {}
        no_period: tuple[DealFacts, Any, Any] | None = None  # the group None
        # Periods found by an earlier call have no state in this one yet.
        by_position: list[tuple[DealFacts, Any, Any] | None] = (
            [] if periods is None else [None] * len(periods.serials)
        )
        cls: type | None = None
        mapping = direct = False
        # Where the key comes from: 0 a dict's key, 1 an attribute, 2 ``get``,
        # 3 and 4 the closing and creation instants the loop reads anyway.
        source = 0
        instant_source = {"closed_at": 3, "created_at": 4}.get(name, source)
        slow = _REQUIRED.slow
        modes = MODES
        attribute = ATTRIBUTE
        for record in records:
            if type(record) is not cls:
                cls = type(record)
                mapping = issubclass(cls, Mapping)
                direct = _REQUIRED.direct(cls)
                source = 0 if cls is dict else 1 if modes.get(cls) == attribute else 2
                if source < 2 and periods is not None:
                    source = instant_source
            try:
                if mapping:
                    outcome = record["outcome"]
                    created = record["created_at"]
                    amount = record["amount"]
                    currency = record["currency"]
                    closed = record.get("closed_at")
                elif direct:
                    outcome = record.outcome
                    created = record.created_at
                    amount = record.amount
                    currency = record.currency
                    closed = record.closed_at
                else:
                    outcome, created, amount, currency, closed = slow(record)
            except Exception:  # a missing field, a raising property: explained
                outcome, created, amount, currency, closed = slow(record)
            # The key: the instant the loop read, or the field read inline.
            if source == 3:
                value = closed
            elif source == 4:
                value = created
            elif source == 0:
                value = record.get(name)
            elif source == 1:
                value = getattr(record, name, None)
            else:
                value = MISSING
            if periods is None:
                if type(value) not in plain:
                    value = get(record)
                    if value is MISSING:
                        value = None
                try:
                    state = states.get(value)
                except TypeError:
                    raise _unhashable(value) from None
                if state is None:
                    state = states[value] = self._state(group(value))
            else:
                # The group of a period found before is at the period's
                # position among those found (``by_position``, kept aligned).
                if source == 2:
                    value = get(record)
                if value is None or value is MISSING:
                    state = no_period
                    serial = 0
                else:
                    try:
                        position = bisect_right(starts, value) - 1  # type: ignore[arg-type]
                        if position >= 0 and value < ends[position]:  # type: ignore[index]
                            state = by_position[position]
                            if state is None:
                                serial = serials[position]  # type: ignore[index]
                        else:
                            state = None
                            serial = place(value, name)  # type: ignore[misc]
                    except TypeError:  # naive or not an instant: placed or explained
                        state = None
                        serial = place(value, name)  # type: ignore[misc]
                if state is None:  # the period's first record in this call
                    found = found_periods[serial]  # type: ignore[index]
                    state = states[serial] = self._state(group(found))
                    if not serial:
                        no_period = state
                    elif len(by_position) != len(serials):  # type: ignore[arg-type]
                        by_position = [states.get(s) for s in serials]  # type: ignore[union-attr]
                    else:
                        by_position[serials.index(serial)] = state  # type: ignore[union-attr]
            facts, start, end = state
            try:
                value = amount if type(amount) is Decimal else exact(amount)
                if (value.is_signed() and value) or not value.is_finite():
                    raise Invalid
                if outcome == "lost" or outcome == "won":  # noqa: PLR1714 - faster
                    if closed < created:
                        raise Invalid
                    in_window = start <= closed < end
                    is_open = track_at and created <= at < closed
                    if not (in_window or is_open):
                        continue
                    counted = False
                else:
                    if outcome != "open" or closed is not None:
                        raise Invalid
                    if created.tzinfo is None:  # no comparison may catch it
                        raise Invalid
                    in_window = False
                    is_open = track_open and (open_at_any or created <= at)
                    counted = forecast_any or (forecast_at and created <= at)
                    if not (is_open or counted):
                        continue
                    if counted:
                        weight, category = self._weigh(record, mapping, value)
                sums = facts.sums.get(currency)
                if sums is None:
                    check_currency(currency)
                    sums = facts.sums[currency] = [zero] * 7
                if in_window:
                    if outcome == "won":
                        facts.won += 1
                        sums[_WON] += value
                        if facts.cycles is not None:
                            facts.cycles.append((closed - created) // us)
                    elif exclude and (reason := _reason(record, mapping)) in exclude:
                        facts.reasons[reason] += 1
                        sums[_EXCLUDED] += value
                    else:
                        facts.lost += 1
                        sums[_LOST] += value
                        if facts.lost_cycles is not None:
                            facts.lost_cycles.append((closed - created) // us)
                if is_open:
                    facts.open_at += 1
                    sums[_OPEN] += value
                if counted:
                    sums[_FORECAST] += value
                    if weight is None:
                        facts.unweighted += 1
                        sums[_UNWEIGHTED] += value
                    else:
                        facts.weighted_deals += 1
                        sums[_WEIGHTED] += weight
                        pair = (currency, category)
                        facts.categories[pair] = (
                            facts.categories.get(pair, zero) + weight
                        )
            except Exception as error:
                self._check(_READER.read(record), record)
                raise error from None  # pragma: no cover - _check raises first

    def options(self) -> tuple[Any, ...]:
        """Every option but the window (the one a period group changes)."""
        return (
            self.at,
            self.exclude,
            self.stages,
            self.forecast,
            self.track_open,
            self.closed,
            self.cycles is None,
            self.lost_cycles is None,
        )

    @staticmethod
    def _state(facts: DealFacts) -> tuple[DealFacts, Any, Any]:
        """A group's facts (about to count records) and its window's bounds."""
        facts.ordered = False  # durations are appended in the records' order
        start, end = facts.window or (EARLIEST, LATEST)
        return facts, start, end

    def update_columns(self, batch: Columns) -> None:  # noqa: PLR0915
        """Count a batch of columns: the same facts as ``update`` on its rows.

        The loop of ``update`` over zipped columns. Instants given as
        microseconds (both dates in ``micros``) are compared as integers with
        the window's bounds in microseconds; any other instant column is read
        as the rows show it. A row that fails is explained by ``_check`` on
        that row, so the errors are those of the record path.
        """
        size = len(batch)
        if any(name not in batch for name in _READER.names[: _READER.required]):
            self.update(iter(batch))  # explains the missing field, row by row
            return
        micros = "created_at" in batch.micros and (
            "closed_at" not in batch or "closed_at" in batch.micros
        )
        window = self.window
        at = self.at
        if micros:
            created_col: Any = batch["created_at"]
            closed_col: Any = batch.get("closed_at") or repeat(None, size)
            start: Any
            end: Any
            start, end = (
                (to_micros(window[0]), to_micros(window[1]))
                if window is not None
                else (_LOWEST, _HIGHEST)
            )
            at_now: Any = None if at is None else to_micros(at)
            lowest: Any = _LOWEST
            us: Any = 1
        else:
            created_col = batch.values("created_at")
            closed_col = (
                batch.values("closed_at")
                if "closed_at" in batch
                else repeat(None, size)
            )
            start, end = window if window is not None else (EARLIEST, LATEST)
            at_now = at
            lowest = EARLIEST
            us = MICROSECOND
        # Optional fields only where a figure reads them (as ``update`` does).
        stage_col = (self.forecast and batch.get("stage")) or repeat(None, size)
        probability_col = (self.forecast and batch.get("probability")) or repeat(
            None, size
        )
        reason_col = (self.exclude and batch.get("lost_reason")) or repeat(None, size)
        open_at_any = at is None
        track_at = self.track_open and at is not None
        forecast_at = self.forecast and not open_at_any
        forecast_any = self.forecast and open_at_any
        exclude = self.exclude
        track_open = self.track_open
        cycles, lost_cycles = self.cycles, self.lost_cycles
        sums = self.sums
        categories = self.categories
        reasons = self.reasons
        won = lost = open_at = weighted_deals = unweighted = 0
        # The batch's sums, by currency: integers of 10**-places for scaled
        # amounts (exact, and fast), Decimals otherwise; added to the facts
        # at the end of the batch.
        places = batch.decimals.get("amount")
        scaled = places is not None
        local: dict[str, list[Any]] = {}
        weights: dict[tuple[str, str], Any] = {}
        currency_now: Any = _NONE_YET
        current: list[Any] = []
        rows = zip(
            batch["outcome"],
            created_col,
            batch["amount"],
            batch["currency"],
            closed_col,
            stage_col,
            probability_col,
            reason_col,
            strict=True,
        )
        index = -1
        try:
            for (
                outcome,
                created,
                amount,
                currency,
                closed,
                stage,
                probability,
                reason,
            ) in rows:
                index += 1
                try:
                    if scaled:
                        value = amount
                        if value < 0:  # None raises TypeError: explained below
                            raise Invalid
                    else:
                        value = amount if type(amount) is Decimal else exact(amount)
                        if (value.is_signed() and value) or not value.is_finite():
                            raise Invalid
                    if outcome == "lost" or outcome == "won":  # noqa: PLR1714 - faster
                        if closed < created:
                            raise Invalid
                        in_window = start <= closed < end
                        is_open = track_at and created <= at_now < closed
                        if not (in_window or is_open):
                            continue
                        counted = False
                    else:
                        if outcome != "open" or closed is not None:
                            raise Invalid
                        # Compared only to raise TypeError for a naive datetime
                        # or a non-instant; never false for an instant.
                        if not lowest <= created:  # pragma: no cover
                            raise Invalid
                        in_window = False
                        is_open = track_open and (open_at_any or created <= at_now)
                        counted = forecast_any or (forecast_at and created <= at_now)
                        if not (is_open or counted):
                            continue
                        if counted:
                            weight, category = self._weight(probability, stage, value)
                    if currency != currency_now:
                        found = local.get(currency)
                        if found is None:
                            check_currency(currency)
                            found = local[currency] = [0] * 7
                        current = found
                        currency_now = currency
                    if in_window:
                        if outcome == "won":
                            won += 1
                            current[_WON] += value
                            if cycles is not None:
                                cycles.append((closed - created) // us)
                        elif exclude and reason in exclude:
                            reasons[reason] += 1
                            current[_EXCLUDED] += value
                        else:
                            lost += 1
                            current[_LOST] += value
                            if lost_cycles is not None:
                                lost_cycles.append((closed - created) // us)
                    if is_open:
                        open_at += 1
                        current[_OPEN] += value
                    if counted:
                        current[_FORECAST] += value
                        if weight is None:
                            unweighted += 1
                            current[_UNWEIGHTED] += value
                        else:
                            weighted_deals += 1
                            current[_WEIGHTED] += weight
                            key = (currency, category)
                            weights[key] = weights.get(key, 0) + weight
                except Exception as error:
                    record = batch.row(index)
                    self._check(_READER.read(record), record)
                    raise error from None  # pragma: no cover - _check raises first
        finally:
            unit = Decimal if places is None else (lambda v: Decimal(v).scaleb(-places))
            for currency, figures in local.items():
                mine = sums.get(currency, _SEVEN_ZEROS)
                sums[currency] = [
                    a + unit(b) for a, b in zip(mine, figures, strict=True)
                ]
            for key, weight in weights.items():
                categories[key] = categories.get(key, _ZERO) + unit(weight)
            self.won += won
            self.lost += lost
            self.open_at += open_at
            self.weighted_deals += weighted_deals
            self.unweighted += unweighted
            if won or lost:  # durations appended in the records' order
                self.ordered = False

    def count_arrays(
        self,
        arrays: Mapping[str, Any],
        codes: Any = None,
        groups: list[DealFacts | None] | None = None,
    ) -> bool:
        """Count deals given as numpy arrays, in bulk: all of them or none.

        The bulk path of ``crmcore.frames``: the arrays are those
        ``crmcore.kpis._arrays`` describes. Without ``codes`` every row
        counts here; with them, row ``i`` counts in ``groups[codes[i]]``
        instead: facts with these options, each with its own window (the
        groups of a grouped KPI; ``None`` for a code no row has). Gives the
        facts ``update`` gives over the same rows; returns ``False``, having
        counted nothing, when a row is one ``update`` refuses (``update``
        then explains it).
        """
        from crmcore.kpis._arrays import count_deals  # noqa: PLC0415 - needs numpy

        if codes is None or groups is None:
            return count_deals([self], arrays)
        return count_deals(groups, arrays, codes)

    # -- merging ---------------------------------------------------------
    def covers(self, other: DealFacts) -> bool:
        """Whether these facts hold everything ``other`` would.

        Closed deals need the same window and exclusions; open deals and the
        forecast the same instant (and stages); and every optional fact
        ``other`` tracks (cycles, lost cycles, forecast, open deals) must be
        tracked here too.
        """
        if other.closed != "none" and self.window != other.window:
            return False
        if other.closed == "all" and self.exclude != other.exclude:
            return False
        if (other.track_open or other.forecast) and self.at != other.at:
            return False
        if other.forecast and not (self.forecast and self.stages == other.stages):
            return False
        return (
            (self.track_open or not other.track_open)
            and (self.cycles is not None or other.cycles is None)
            and (self.lost_cycles is not None or other.lost_cycles is None)
        )

    def cleared(self) -> DealFacts:
        """An empty copy with the same options."""
        fresh = DealFacts.__new__(DealFacts)
        fresh.window, fresh.at, fresh.exclude = self.window, self.at, self.exclude
        fresh.stages, fresh.forecast = self.stages, self.forecast
        fresh.track_open, fresh.closed = self.track_open, self.closed
        fresh.won = fresh.lost = fresh.open_at = 0
        fresh.weighted_deals = fresh.unweighted = 0
        fresh.reasons = Counter()
        fresh.sums = {}
        fresh.categories = {}
        fresh.cycles = None if self.cycles is None else array("q")
        fresh.lost_cycles = None if self.lost_cycles is None else array("q")
        fresh.ordered = True
        return fresh

    def absorb(self, other: DealFacts) -> None:
        """Add everything ``other`` holds to these facts (same options)."""
        self.won += other.won
        self.lost += other.lost
        self.open_at += other.open_at
        self.weighted_deals += other.weighted_deals
        self.unweighted += other.unweighted
        self.reasons.update(other.reasons)
        for currency, vec in other.sums.items():
            mine = self.sums.get(currency, _SEVEN_ZEROS)
            self.sums[currency] = [a + b for a, b in zip(mine, vec, strict=True)]
        for key, amount in other.categories.items():
            self.categories[key] = self.categories.get(key, _ZERO) + amount
        had = bool(self.cycles) or bool(self.lost_cycles)
        theirs = bool(other.cycles) or bool(other.lost_cycles)
        self.ordered = self.ordered and other.ordered and not (had and theirs)
        if self.cycles is not None:
            self.cycles.extend(other.cycles)  # type: ignore[arg-type]
        if self.lost_cycles is not None:
            self.lost_cycles.extend(other.lost_cycles)  # type: ignore[arg-type]

    def merged(self, other: DealFacts) -> DealFacts:
        """A new facts object holding both."""
        merged = self.cleared()
        merged.absorb(self)
        merged.absorb(other)
        return merged

    # -- figures ---------------------------------------------------------
    def total(self, index: int, field: str) -> tuple[str | None, Decimal]:
        """The single currency of the deals counted and the exact sum of a figure."""
        currency = one_currency(self.sums, field)
        if currency is None:
            return None, _ZERO
        return currency, self.sums[currency][index]


def cycle_stats(
    values: array[int],
    chunk: int = _CHUNK,
    unit: Callable[[int | Decimal], Decimal] = days_from_microseconds,
    *,
    ordered: bool = False,
) -> tuple[Decimal, Decimal, Decimal]:
    """Mean, median and nearest-rank p90 of microsecond durations, in ``unit``.

    ``unit`` turns microseconds into the unit of the result (days by default);
    ``ordered`` says the values are sorted already.
    """
    count = len(values)
    p90_rank = -(-count * 9 // 10)  # ceil(0.9 n), 1-based
    lower = (count - 1) // 2  # 0-based positions of the median pair
    upper = count // 2
    wanted = {lower, upper, p90_rank - 1}
    if ordered or count <= chunk:
        ranked = values if ordered else sorted(values)
        found = {position: ranked[position] for position in wanted}
    else:
        # Sort at most ``chunk`` at a time and merge the sorted runs lazily.
        runs = [
            array("q", sorted(values[i : i + chunk])) for i in range(0, count, chunk)
        ]
        found = {
            position: value
            for position, value in enumerate(
                islice(heapq.merge(*runs), max(wanted) + 1)
            )
            if position in wanted
        }
    mean = unit(divide(sum(values), count))
    median = unit(Decimal(found[lower] + found[upper]) / 2)
    return mean, median, unit(found[p90_rank - 1])
