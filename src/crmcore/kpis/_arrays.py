"""The deal facts from numpy arrays: the bulk kernel behind ``crmcore.frames``.

``crmcore.frames`` reads a chunk of deals into plain arrays (boolean masks,
integer microseconds, scaled integers, codes of labels) and hands them to
``DealFacts.count_arrays``, which lands here. ``count_deals`` gathers from
them exactly the facts ``DealFacts.update`` gathers from the same rows, with
whole-array operations instead of a Python loop. It counts only when every
row is valid: for a chunk with any row the loop would refuse, it counts
nothing and says so, and the caller runs the loop, which raises the loop's
own error for the first bad row. Sums are exact: non-negative integers are
summed in three 21-bit limbs, each of which ``numpy.bincount`` adds exactly
in floats, and put together as Python integers.

Only ``DealFacts.count_arrays`` imports this module (lazily), when arrays
arrive: numpy is then loaded already, through a frame extra.

The arrays, by field (each optional field may be absent):

* ``outcome``: int64 codes, 0 open, 1 won, 2 lost, -1 anything else;
* ``created_at``, ``closed_at``: ``(micros, missing)``, int64 microseconds
  since the epoch and a boolean mask;
* ``amount``, ``probability``: ``(units, missing, places)``, int64 units of
  ``10**-places``;
* ``currency``, ``stage``, ``lost_reason``: ``(codes, labels)``, int64
  positions in the list of labels (-1: missing).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import numpy as np

from crmcore.access import to_micros
from crmcore.kpis._deal_facts import (
    _EXCLUDED,
    _FORECAST,
    _LOST,
    _OPEN,
    _UNWEIGHTED,
    _WEIGHTED,
    _WON,
    DealFacts,
)
from crmcore.money import check_currency

# Every value a kernel sums stays below this (so products and limbs are exact).
_VALUE_LIMIT: Final = 1 << 62
_LIMB: Final = 21
_LIMB_MASK: Final = (1 << _LIMB) - 1
_FLOAT_EXACT: Final = 1 << 53
# The most decimal places of a probability (or of a stage's default) weighed.
_MAX_PLACES: Final = 18
_ZERO: Final = Decimal(0)


class Coded:
    """A column of labels as integer codes (``-1``: missing) and the labels."""

    __slots__ = ("codes", "labels")

    def __init__(self, codes: Any, labels: list[Any]) -> None:
        self.codes = codes
        self.labels = labels

    def take(self, rows: Any) -> Coded:
        """The codes at ``rows`` (the same labels)."""
        return Coded(self.codes[rows], self.labels)


class Scaled:
    """Exact numbers as int64 units of ``10**-places`` and a missing mask."""

    __slots__ = ("missing", "places", "units")

    def __init__(self, units: Any, missing: Any, places: int) -> None:
        self.units = units
        self.missing = missing
        self.places = places

    def take(self, rows: Any) -> Scaled:
        """The values at ``rows``."""
        return Scaled(self.units[rows], self.missing[rows], self.places)


class Instants:
    """Instants as int64 microseconds since the epoch and a missing mask."""

    __slots__ = ("micros", "missing")

    def __init__(self, micros: Any, missing: Any) -> None:
        self.micros = micros
        self.missing = missing

    def take(self, rows: Any) -> Instants:
        """The instants at ``rows``."""
        return Instants(self.micros[rows], self.missing[rows])


class DealArrays:
    """A chunk of deals as arrays: the fields ``DealFacts`` reads.

    ``outcome`` holds the codes 0 (open), 1 (won), 2 (lost) and -1 (anything
    else, missing included). The optional fields are ``None`` when the
    chunk lacks them (every value missing).
    """

    __slots__ = (
        "amount",
        "closed",
        "created",
        "currency",
        "outcome",
        "probability",
        "reason",
        "stage",
    )

    def __init__(
        self,
        *,
        outcome: Any,
        created: Instants,
        closed: Instants | None,
        amount: Scaled,
        currency: Coded,
        stage: Coded | None = None,
        probability: Scaled | None = None,
        reason: Coded | None = None,
    ) -> None:
        self.outcome = outcome
        self.created = created
        self.closed = closed
        self.amount = amount
        self.currency = currency
        self.stage = stage
        self.probability = probability
        self.reason = reason

    @classmethod
    def of(cls, arrays: Mapping[str, Any]) -> DealArrays:
        """The arrays of the module's description, by field."""

        def optional(field: str, kind: Any) -> Any:
            found = arrays.get(field)
            return None if found is None else kind(*found)

        return cls(
            outcome=arrays["outcome"],
            created=Instants(*arrays["created_at"]),
            closed=optional("closed_at", Instants),
            amount=Scaled(*arrays["amount"]),
            currency=Coded(*arrays["currency"]),
            stage=optional("stage", Coded),
            probability=optional("probability", Scaled),
            reason=optional("lost_reason", Coded),
        )

    def __len__(self) -> int:
        return len(self.outcome)

    def take(self, rows: Any) -> DealArrays:
        """The deals at ``rows`` (an array of positions), in that order."""
        return DealArrays(
            outcome=self.outcome[rows],
            created=self.created.take(rows),
            closed=None if self.closed is None else self.closed.take(rows),
            amount=self.amount.take(rows),
            currency=self.currency.take(rows),
            stage=None if self.stage is None else self.stage.take(rows),
            probability=(
                None if self.probability is None else self.probability.take(rows)
            ),
            reason=None if self.reason is None else self.reason.take(rows),
        )


def exact_sums(codes: Any, values: Any, size: int) -> list[int]:
    """The exact sum of the non-negative int64 ``values`` of each code < ``size``."""
    if not values.size:
        return [0] * size
    if int(values.max()) * values.size < _FLOAT_EXACT:
        # Every partial sum is an integer below 2**53: exact in floats.
        part = np.bincount(codes, weights=values.astype(np.float64), minlength=size)
        return [int(value) for value in part.tolist()]
    totals = [0] * size
    for shift in range(0, 63, _LIMB):
        limb = ((values >> shift) & _LIMB_MASK).astype(np.float64)
        part = np.bincount(codes, weights=limb, minlength=size)
        for code, value in enumerate(part.tolist()):
            totals[code] += int(value) << shift
    return totals


def _first_seen(codes: Any, size: int) -> list[int]:
    """The distinct codes (each below ``size``), in the order they first appear."""
    present = np.flatnonzero(np.bincount(codes, minlength=size)).tolist()
    if len(present) < 2:
        return present
    first = {code: int(np.argmax(codes == code)) for code in present}
    return sorted(present, key=first.__getitem__)


def _weights(
    facts: DealFacts, arrays: DealArrays, counted: Any
) -> tuple[Any, Any, int, Any, list[str]] | None:
    """Each deal's weight, its probability's places and its category code.

    Returns ``(units, exponents, places, category codes, categories)``:
    weights in units of ``10**-places`` (``-1`` for an unweighted deal), the
    decimal places of the probability each deal is weighed by (they set the
    places of the loop's products), or ``None`` when a counted deal is one
    the loop refuses (a probability outside [0, 1], a stage the pipeline
    lacks).
    """
    size = len(arrays)
    stages = facts.stages
    probability = arrays.probability
    given = np.zeros(size, dtype=bool) if probability is None else ~probability.missing
    places = 0 if probability is None else probability.places
    if probability is not None:
        units = probability.units[counted & given]
        if units.size and (units.min() < 0 or units.max() > 10**places):
            return None
    categories = ["pipeline"]
    category = np.zeros(size, dtype=np.int64)
    weight = np.full(size, -1, dtype=np.int64)
    exponents = np.zeros(size, dtype=np.int64)
    if stages is not None:
        coded = arrays.stage
        if coded is None:  # counted deals (the caller has some) need a stage
            return None
        labels = coded.labels
        known = [label in stages for label in labels]
        used = coded.codes[counted]
        if used.size and (
            used.min() < 0 or not all(known[c] for c in set(used.tolist()))
        ):
            return None
        defaults = {
            label: stages[label][0]
            for label, ok in zip(labels, known, strict=True)
            if ok
        }
        own = {
            label: -value.as_tuple().exponent  # type: ignore[operator]
            for label, value in defaults.items()
            if value is not None
        }
        places = max([places, 0, *own.values()])
        if places > _MAX_PLACES:
            return None
        categories = sorted({stages[label][1] for label in defaults})
        lookup = np.full(len(labels) + 1, -1, dtype=np.int64)
        stage_places = np.zeros(len(labels) + 1, dtype=np.int64)
        kinds = np.zeros(len(labels) + 1, dtype=np.int64)
        for code, label in enumerate(labels):
            if known[code]:
                value = defaults[label]
                if value is not None:
                    lookup[code] = int(value.scaleb(places))
                    stage_places[code] = own[label]
                kinds[code] = categories.index(stages[label][1])
        weight = lookup[coded.codes]
        exponents = stage_places[coded.codes]
        category = kinds[coded.codes]
    if probability is not None:
        scaled = probability.units * 10 ** (places - probability.places)
        weight = np.where(given, scaled, weight)
        exponents = np.where(given, probability.places, exponents)
    return weight, exponents, places, category, categories


def _totals(  # noqa: PLR0917 - the arrays of one figure
    codes: Any,
    rows: Any,
    values: Any,
    size: int,
    places: int,
    exponents: Any = None,
) -> list[Decimal]:
    """The exact Decimal sum of each code's values at the ``rows`` (a mask).

    ``values`` are units of ``10**-places``. A code with no values sums to
    ``Decimal(0)``, as the loop's sums start; the others have the places
    the loop's sum of the same values has: ``places``, or, given each
    value's own places in ``exponents``, the most of them.
    """
    if not rows.any():
        return [_ZERO] * size
    if size == 1:  # one currency: no codes to sort the values by
        picked = values[rows]
        sums = exact_sums(np.zeros(picked.size, dtype=np.int64), picked, 1)
        counts = [picked.size]
        finest = None if exponents is None else [int(exponents[rows].max())]
    else:
        chosen = codes[rows]
        sums = exact_sums(chosen, values[rows], size)
        counts = np.bincount(chosen, minlength=size).tolist()
        finest = None
        if exponents is not None:
            most = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(most, chosen, exponents[rows])
            finest = most.tolist()
    out: list[Decimal] = []
    for code in range(size):
        if not counts[code]:
            out.append(_ZERO)
            continue
        total = Decimal(sums[code]).scaleb(-places)
        if finest is not None:
            total = total.quantize(Decimal(1).scaleb(-finest[code]))
        out.append(total)
    return out


def count_deals(  # noqa: PLR0915 - one kernel, in the loop's order
    facts: DealFacts, given: Mapping[str, Any], rows: Any = None
) -> bool:
    """Add deals to ``facts``; ``False`` (nothing added) for a bad row.

    ``given`` holds the arrays of the module's description; ``rows`` (an
    array of positions) picks some of them. The same facts as
    ``facts.update`` over the same rows (a tested law).
    """
    arrays = DealArrays.of(given)
    if rows is not None:
        arrays = arrays.take(rows)
    size = len(arrays)
    if size == 0:
        return True
    outcome = arrays.outcome
    won_deal = outcome == 1
    lost_deal = outcome == 2
    open_deal = outcome == 0
    closed_deal = won_deal | lost_deal
    amount = arrays.amount
    created = arrays.created
    # The checks the loop makes of every row, counted or not.
    if (
        (outcome < 0).any()
        or amount.missing.any()
        or amount.units.min() < 0
        or int(amount.units.max()) >= _VALUE_LIMIT
        or created.missing.any()
    ):
        return False
    if arrays.closed is None:
        if closed_deal.any():
            return False
        closed = np.zeros(size, dtype=np.int64)
    else:
        closed = arrays.closed.micros
        missing = arrays.closed.missing
        if (closed_deal & missing).any() or (open_deal & ~missing).any():
            return False
        if (closed_deal & (closed < created.micros)).any():
            return False
    starts = created.micros
    if facts.window is None:
        in_window = closed_deal
    else:
        start, end = (to_micros(bound) for bound in facts.window)
        in_window = closed_deal & (closed >= start) & (closed < end)
    at = None if facts.at is None else to_micros(facts.at)
    begun = np.ones(size, dtype=bool) if at is None else starts <= at
    none = np.zeros(size, dtype=bool)
    is_open = none
    if facts.track_open:
        is_open = open_deal & begun
        if at is not None:
            is_open = is_open | (closed_deal & begun & (at < closed))
    counted = open_deal & begun if facts.forecast else none
    touched = in_window | is_open | counted
    currency = arrays.currency
    used = currency.codes[touched]
    if used.size and used.min() < 0:
        return False
    order = _first_seen(used, len(currency.labels)) if used.size else []
    for code in order:
        try:
            check_currency(currency.labels[code])
        except Exception:  # the loop explains the bad currency
            return False
    weighted = unweighted = none
    if counted.any():
        found = _weights(facts, arrays, counted)
        if found is None:
            return False
        weight, exponents, places, category, categories = found
        if int(amount.units.max()) * 10**places >= _VALUE_LIMIT:
            return False
        unweighted = counted & (weight < 0)
        weighted = counted & (weight >= 0)
    won = in_window & won_deal
    lost = in_window & lost_deal
    excluded = none
    reasons: Counter[str] = Counter()
    if facts.exclude and arrays.reason is not None:
        reason = arrays.reason
        wanted = np.array(
            [label in facts.exclude for label in reason.labels] + [False], dtype=bool
        )
        excluded = lost & wanted[reason.codes]
        lost = lost & ~excluded
        if excluded.any():
            tally = np.bincount(reason.codes[excluded], minlength=len(reason.labels))
            for code in np.flatnonzero(tally).tolist():
                reasons[reason.labels[code]] = int(tally[code])
    fresh = facts.cleared()
    fresh.won = int(won.sum())
    fresh.lost = int(lost.sum())
    fresh.open_at = int(is_open.sum())
    fresh.weighted_deals = int(weighted.sum())
    fresh.unweighted = int(unweighted.sum())
    fresh.reasons = reasons
    labels = len(currency.labels)
    codes = np.where(currency.codes < 0, labels, currency.codes)
    units = amount.units
    columns: list[list[Decimal]] = [[]] * 7
    for index, picked in (
        (_WON, won),
        (_LOST, lost),
        (_EXCLUDED, excluded),
        (_OPEN, is_open),
        (_FORECAST, counted),
        (_UNWEIGHTED, unweighted),
    ):
        columns[index] = _totals(codes, picked, units, labels, amount.places)
    columns[_WEIGHTED] = [_ZERO] * labels
    if weighted.any():
        product = units * np.where(weighted, weight, 0)
        finest = exponents + amount.places
        unit = amount.places + places
        columns[_WEIGHTED] = _totals(codes, weighted, product, labels, unit, finest)
        kinds = len(categories)
        pairs = codes * kinds + category
        groups = (labels + 1) * kinds
        totals = _totals(pairs, weighted, product, groups, unit, finest)
        for pair in _first_seen(pairs[weighted], groups):
            key = (currency.labels[pair // kinds], categories[pair % kinds])
            fresh.categories[key] = totals[pair]
    fresh.sums = {
        currency.labels[code]: [column[code] for column in columns] for code in order
    }
    # Durations are kept sorted (numpy sorts in C): the figures sort them
    # again, which costs one pass over sorted runs.
    if fresh.cycles is not None:
        fresh.cycles = array("q", np.sort(closed[won] - starts[won]).tobytes())
    if fresh.lost_cycles is not None:
        fresh.lost_cycles = array("q", np.sort(closed[lost] - starts[lost]).tobytes())
    facts.absorb(fresh)
    return True
