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
# The bounds of no window, in microseconds: every instant is within them.
_EARLIEST: Final = -(1 << 63)
_LATEST: Final = (1 << 63) - 1


class Coded:
    """A column of labels as integer codes (``-1``: missing) and the labels."""

    __slots__ = ("codes", "labels")

    def __init__(self, codes: Any, labels: list[Any]) -> None:
        self.codes = codes
        self.labels = labels


class Scaled:
    """Exact numbers as int64 units of ``10**-places`` and a missing mask."""

    __slots__ = ("missing", "places", "units")

    def __init__(self, units: Any, missing: Any, places: int) -> None:
        self.units = units
        self.missing = missing
        self.places = places


class Instants:
    """Instants as int64 microseconds since the epoch and a missing mask."""

    __slots__ = ("micros", "missing")

    def __init__(self, micros: Any, missing: Any) -> None:
        self.micros = micros
        self.missing = missing


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
    count = codes.size
    first = np.full(size, count, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(count, dtype=np.int64))
    present = np.flatnonzero(first < count)
    found: list[int] = present[np.argsort(first[present], kind="stable")].tolist()
    return found


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
    only: int | None = None,
    floats: Any = None,
) -> tuple[list[Decimal], list[int]]:
    """Each code's exact Decimal sum of its values at ``rows``, and their count.

    ``rows`` is a mask; ``only``, when given, the one code every row has;
    ``floats``, when given, the values as floats, which every sum of them
    holds exactly.
    ``values`` are units of ``10**-places``. A code with no values sums to
    ``Decimal(0)``, as the loop's sums start; the others have the places
    the loop's sum of the same values has: ``places``, or, given each
    value's own places in ``exponents``, the most of them.
    """
    if not rows.any():
        return [_ZERO] * size, [0] * size
    if only is not None:  # one code: no codes to sort the values by
        picked = values[rows]
        sums = [0] * size
        counts = [0] * size
        counts[only] = picked.size
        # An int64 sum is exact while it cannot overflow.
        exact_int = int(picked.max()) * picked.size < _VALUE_LIMIT
        sums[only] = (
            int(picked.sum())
            if exact_int
            else exact_sums(np.zeros(picked.size, dtype=np.int64), picked, 1)[0]
        )
        finest = None
        if exponents is not None:
            finest = [0] * size
            finest[only] = int(exponents[rows].max())
    else:
        chosen = codes[rows]
        if floats is None:
            sums = exact_sums(chosen, values[rows], size)
        else:
            part = np.bincount(chosen, weights=floats[rows], minlength=size)
            sums = [int(value) for value in part.tolist()]
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
    return out, counts


class _Groups:
    """Each row's group (``None``: one group) and the per-group tallies."""

    __slots__ = ("codes", "size")

    def __init__(self, codes: Any, size: int) -> None:
        self.codes = codes
        self.size = size

    def spread(self, codes: Any, width: int) -> Any:
        """Codes below ``width`` made distinct per group (group-major)."""
        return codes if self.codes is None else self.codes * width + codes

    def sorted_runs(self, durations: Any, rows: Any) -> list[Any]:
        """The durations at ``rows`` (a mask) of each group, each sorted."""
        picked = durations[rows]
        if self.codes is None:
            return [np.sort(picked)]
        codes = self.codes[rows]
        # Few groups sort as 16-bit integers: numpy's radix sort, in linear time.
        narrow = codes.astype(np.int16) if self.size < 1 << 15 else codes
        ordered = picked[np.argsort(narrow, kind="stable")]
        cuts = np.cumsum(np.bincount(codes, minlength=self.size))[:-1]
        return [np.sort(run) for run in np.split(ordered, cuts)]


def count_deals(  # noqa: PLR0915 - one kernel, in the loop's order
    targets: list[DealFacts | None], given: Mapping[str, Any], codes: Any = None
) -> bool:
    """Add deals to their facts; ``False`` (nothing added) for a bad row.

    ``given`` holds the arrays of the module's description. Row ``i``
    counts into ``targets[codes[i]]`` (into ``targets[0]`` without
    ``codes``): facts of one template, which differ at most in their
    windows (the groups of a grouped KPI); a code no row has may have
    ``None``. The same facts as ``update`` of each target over its rows (a
    tested law).
    """
    arrays = DealArrays.of(given)
    size = len(arrays)
    present = [facts for facts in targets if facts is not None]
    if size == 0:
        return True
    options = present[0].options()
    if any(facts.options() != options for facts in present[1:]):
        return False
    facts = present[0]
    groups = _Groups(None if len(targets) == 1 else codes, len(targets))
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
    windows = {facts.window for facts in present}
    if windows == {None}:
        in_window = closed_deal
    elif len(windows) == 1:
        start, end = (to_micros(bound) for bound in facts.window)  # type: ignore[union-attr]
        in_window = closed_deal & (closed >= start) & (closed < end)
    else:  # each group's own window (the periods of a grouped KPI)
        lower, upper = (
            np.array(bounds, dtype=np.int64)
            for bounds in zip(
                *(
                    (_EARLIEST, _LATEST)
                    if target is None or target.window is None
                    else [to_micros(bound) for bound in target.window]
                    for target in targets
                ),
                strict=True,
            )
        )
        in_window = closed_deal & (closed >= lower[codes]) & (closed < upper[codes])
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
    # Sums by group and currency: a slot per pair (a missing currency has
    # the slot after the labels; no counted row may have it).
    currency = arrays.currency
    labels = len(currency.labels)
    width = labels + 1
    coded = currency.codes
    if coded.min() < 0:  # a missing currency: the slot after the labels
        coded = np.where(coded < 0, labels, coded)
    pairs = groups.spread(coded, width)
    slots = groups.size * width
    used = pairs[touched]
    seen = np.flatnonzero(np.bincount(used, minlength=slots)).tolist()
    only = seen[0] if len(seen) == 1 else None  # every counted row's slot
    for label in {pair % width for pair in seen}:
        if label == labels:
            return False
        try:
            check_currency(currency.labels[label])
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
    # What the KPI reads of the deals closed in the window (the loop counts
    # them all; no figure of these facts reads the rest).
    won = none if facts.closed == "none" else in_window & won_deal
    lost = (
        in_window & lost_deal
        if facts.closed == "all" or facts.lost_cycles is not None
        else none
    )
    excluded = none
    reasons: list[Counter[str]] = [Counter() for _ in targets]
    if facts.exclude and arrays.reason is not None:
        reason = arrays.reason
        wanted = np.array(
            [label in facts.exclude for label in reason.labels] + [False], dtype=bool
        )
        excluded = lost & wanted[reason.codes]
        lost = lost & ~excluded
        if excluded.any():
            kinds = len(reason.labels)
            tally = np.bincount(
                groups.spread(reason.codes, kinds)[excluded],
                minlength=groups.size * kinds,
            )
            for slot in np.flatnonzero(tally).tolist():
                reasons[slot // kinds][reason.labels[slot % kinds]] = int(tally[slot])
    units = amount.units
    # Amounts whose total is below 2**53 are summed exactly in floats.
    exact_floats = only is None and int(units.max()) * size < _FLOAT_EXACT
    floats = units.astype(np.float64) if exact_floats else None
    columns: list[list[Decimal]] = [[]] * 7
    counts: list[list[int]] = [[0] * slots] * 7
    for index, picked in (
        (_WON, won),
        (_LOST, lost),
        (_EXCLUDED, excluded),
        (_OPEN, is_open),
        (_FORECAST, counted),
        (_UNWEIGHTED, unweighted),
    ):
        columns[index], counts[index] = _totals(
            pairs, picked, units, slots, amount.places, only=only, floats=floats
        )
    columns[_WEIGHTED] = [_ZERO] * slots
    weights: list[dict[tuple[str, str], Decimal]] = [{} for _ in targets]
    if weighted.any():
        product = units * np.where(weighted, weight, 0)
        finest = exponents + amount.places
        unit = amount.places + places
        columns[_WEIGHTED], counts[_WEIGHTED] = _totals(
            pairs, weighted, product, slots, unit, finest, only
        )
        kinds = len(categories)
        triples = pairs * kinds + category
        totals, _ = _totals(triples, weighted, product, slots * kinds, unit, finest)
        for triple in _first_seen(triples[weighted], slots * kinds):
            pair, kind = divmod(triple, kinds)
            group, label = divmod(pair, width)
            key = (currency.labels[label], categories[kind])
            weights[group][key] = totals[triple]
    sums: list[dict[str, list[Decimal]]] = [{} for _ in targets]
    # The loop adds a group's currencies in the order its rows show them.
    several = len(seen) > len({pair // width for pair in seen})
    for pair in _first_seen(used, slots) if several else seen:
        group, label = divmod(pair, width)
        sums[group][currency.labels[label]] = [column[pair] for column in columns]
    tallies = [
        [
            sum(found[group * width : (group + 1) * width])
            for group in range(groups.size)
        ]
        for found in (
            counts[index] for index in (_WON, _LOST, _OPEN, _WEIGHTED, _UNWEIGHTED)
        )
    ]
    # Durations are kept sorted (numpy sorts in C): the figures sort them
    # again, which costs one pass over sorted runs.
    cycles = None if facts.cycles is None else groups.sorted_runs(closed - starts, won)
    lost_cycles = (
        None if facts.lost_cycles is None else groups.sorted_runs(closed - starts, lost)
    )
    for group, target in enumerate(targets):
        if target is None:
            continue
        fresh = target.cleared()
        (
            fresh.won,
            fresh.lost,
            fresh.open_at,
            fresh.weighted_deals,
            fresh.unweighted,
        ) = (tally[group] for tally in tallies)
        fresh.reasons = reasons[group]
        fresh.sums = sums[group]
        fresh.categories = weights[group]
        if cycles is not None:
            fresh.cycles = array("q", cycles[group].tobytes())
        if lost_cycles is not None:
            fresh.lost_cycles = array("q", lost_cycles[group].tobytes())
        target.absorb(fresh)
    return True
