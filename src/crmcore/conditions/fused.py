"""Fast evaluation of ``all`` / ``any``: fused loops and the column filter.

A combinator whose children test one-key fields reads each field itself and
runs the children's fast value tests; whenever anything unusual happens (a
missing value, a type mismatch, an unknown record type) the record goes back
through the exact predicates, whose verdict or error stands. So the fast
paths never change a result, only its cost.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import compress, islice
from typing import Any, Final

from crmcore.access import ATTRIBUTE, MAPPING, MISSING, MODES, column_getter
from crmcore.conditions.base import Predicate, Test, _bind_child
from crmcore.conditions.kinds import _Leaf


def _all(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        return lambda record: True
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) and second(record)
    if len(predicates) == 3:
        first, second, third = predicates
        return lambda record: first(record) and second(record) and third(record)
    chain = tuple(predicates)

    def all_(record: object) -> bool:
        for predicate in chain:
            if not predicate(record):
                return False
        return True

    return all_


def _any(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        return lambda record: False
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) or second(record)
    chain = tuple(predicates)

    def any_(record: object) -> bool:
        for predicate in chain:
            if predicate(record):
                return True
        return False

    return any_


def _steps(
    conditions: Sequence[Any], as_of: datetime | None
) -> tuple[tuple[str | None, Test], ...] | None:
    """The fused form of a combinator's children, or None if it would not help.

    A step is ``(key, test)``: a one-key leaf is read by the combinator itself
    and ``test`` is its fast value test; anything else is ``(None, predicate)``
    and gets the whole record.
    """
    steps: list[tuple[str | None, Test]] = []
    for condition in conditions:
        if isinstance(condition, _Leaf) and "." not in condition.field:
            steps.append((condition.field, condition._fast(as_of)))
        else:
            steps.append((None, _bind_child(condition, as_of)))
    if len(steps) < 2 or all(key is None for key, _ in steps):
        return None
    return tuple(steps)


def _fused(
    steps: tuple[tuple[str | None, Test], ...], exact: Predicate, *, any_: bool
) -> Predicate:
    """One loop over the children that reads each field itself.

    If anything raises (a missing value met a comparison, a type mismatch...),
    the record is evaluated again by ``exact``, the children's reference
    predicates in the same order, whose verdict or error stands. Results are
    tested for truth (not identity), so numpy booleans from pandas rows work.
    """
    if not all(key is not None for key, _ in steps):
        return _mixed(steps, exact, any_=any_)
    # In the keyed paths a missing key or attribute simply raises (KeyError,
    # AttributeError) and the exact path, which knows MISSING, takes over.
    keyed: tuple[tuple[str, Test], ...] = steps  # type: ignore[assignment]
    if any_:
        return _any_keyed(keyed, exact)
    if len(keyed) == 2:
        return _all_two(keyed, exact)
    return _all_keyed(keyed, exact)


def _any_keyed(keyed: tuple[tuple[str, Test], ...], exact: Predicate) -> Predicate:
    access, mapping, attribute, missing = MODES, MAPPING, ATTRIBUTE, MISSING
    by_attribute = tuple((operator.attrgetter(key), test) for key, test in keyed)

    def any_keyed(record: Any) -> bool:
        cls = type(record)
        try:
            if cls is dict:
                for key, test in keyed:
                    if test(record[key]):
                        return True
                return False
            mode = access.get(cls)
            if mode == attribute:
                for read, test in by_attribute:
                    if test(read(record)):
                        return True
                return False
            if mode == mapping:  # not a dict: .get, never a default factory
                for key, test in keyed:
                    if test(record.get(key, missing)):
                        return True
                return False
        except Exception:
            pass
        return exact(record)

    return any_keyed


def _all_two(keyed: tuple[tuple[str, Test], ...], exact: Predicate) -> Predicate:
    """``all`` of two keyed children: each tested once, in locals."""
    access, mapping, attribute, missing = MODES, MAPPING, ATTRIBUTE, MISSING
    (k0, t0), (k1, t1) = keyed
    r0, r1 = operator.attrgetter(k0), operator.attrgetter(k1)

    def all_two(record: Any) -> bool:
        cls = type(record)
        try:
            # ``if ...: return True`` beats ``bool(...)``: no call per record.
            if cls is dict:
                if t0(record[k0]) and t1(record[k1]):  # noqa: SIM103
                    return True
                return False
            mode = access.get(cls)
            if mode == attribute:
                if t0(r0(record)) and t1(r1(record)):  # noqa: SIM103
                    return True
                return False
            if mode == mapping:  # not a dict: .get, never a default factory
                get = record.get
                if t0(get(k0, missing)) and t1(get(k1, missing)):  # noqa: SIM103
                    return True
                return False
        except Exception:
            pass
        return exact(record)

    return all_two


def _all_keyed(keyed: tuple[tuple[str, Test], ...], exact: Predicate) -> Predicate:
    """``all`` of three or more keyed children.

    Most records are decided by the first few children: those are unrolled
    into locals, the rest run in a loop.
    """
    access, mapping, attribute, missing = MODES, MAPPING, ATTRIBUTE, MISSING
    by_attribute = tuple((operator.attrgetter(key), test) for key, test in keyed)
    (k0, t0), (k1, t1), (k2, t2) = keyed[:3]
    (r0, _), (r1, _), (r2, _) = by_attribute[:3]
    rest, rest_attribute = keyed[3:], by_attribute[3:]

    def all_keyed(record: Any) -> bool:
        cls = type(record)
        try:
            if cls is dict:
                if not (t0(record[k0]) and t1(record[k1]) and t2(record[k2])):
                    return False
                for key, test in rest:
                    if not test(record[key]):
                        return False
                return True
            mode = access.get(cls)
            if mode == attribute:
                if not (t0(r0(record)) and t1(r1(record)) and t2(r2(record))):
                    return False
                for read, test in rest_attribute:
                    if not test(read(record)):
                        return False
                return True
            if mode == mapping:  # not a dict: .get, never a default factory
                for key, test in keyed:
                    if not test(record.get(key, missing)):
                        return False
                return True
        except Exception:
            pass
        return exact(record)

    return all_keyed


def _mixed(
    steps: tuple[tuple[str | None, Test], ...], exact: Predicate, *, any_: bool
) -> Predicate:
    """Children of which some read the whole record (a nested or dotted one)."""
    access, missing, mapping, attribute = MODES, MISSING, MAPPING, ATTRIBUTE

    def mixed(record: Any) -> bool:
        mode = mapping if type(record) is dict else access.get(type(record))
        try:
            if mode in (mapping, attribute):
                get = record.get if mode == mapping else None
                for key, test in steps:
                    if key is None:
                        held = test(record)
                    elif get is not None:
                        held = test(get(key, missing))
                    else:
                        held = test(getattr(record, key, missing))
                    if bool(held) is any_:
                        return any_
                return not any_
        except Exception:
            pass
        return exact(record)

    return mixed


_CHUNK: Final = 2048


def _column_filter(
    steps: tuple[tuple[str, Test], ...], exact: Predicate
) -> Callable[[Iterable[Any]], Iterator[Any]]:
    """Filter records chunk by chunk, one child at a time, in C-level loops.

    For each chunk, every keyed child is applied with ``map`` to the records
    that passed the children before it, and ``itertools.compress`` keeps the
    survivors in order: the same short-circuit semantics as evaluating record
    by record. A chunk that raises anywhere (a missing value, mixed record
    types) is filtered again record by record with ``exact``.
    """
    by_key = tuple((operator.itemgetter(key), test) for key, test in steps)
    by_get = tuple(
        (operator.methodcaller("get", key, MISSING), test) for key, test in steps
    )
    by_attribute = tuple((operator.attrgetter(key), test) for key, test in steps)

    def chunk_filter(chunk: list[Any]) -> list[Any]:
        kinds = set(map(type, chunk))
        cls = kinds.pop() if len(kinds) == 1 else None
        mode = MODES.get(cls) if cls is not None else None
        pairs = (
            by_key
            if cls is dict
            else by_get
            if mode == MAPPING  # not a dict: .get, never a default factory
            else by_attribute
            if mode == ATTRIBUTE
            else None
        )
        if pairs is not None:
            try:
                survivors = chunk
                for read, test in pairs:
                    survivors = list(
                        compress(survivors, map(test, map(read, survivors)))
                    )
                    if not survivors:
                        break
                return survivors
            except Exception:
                pass
        return [record for record in chunk if exact(record)]

    def filter_(records: Iterable[Any]) -> Iterator[Any]:
        iterator = iter(records)
        while chunk := list(islice(iterator, _CHUNK)):
            yield from chunk_filter(chunk)

    return filter_


def _column_mask(
    condition: Any, as_of: datetime | None, exact: Predicate
) -> Callable[[Sequence[Any]], list[bool]]:
    """The verdicts of one condition over a chunk of records, in C-level loops.

    A one-field leaf reads the column (``column_getter``: the values field
    access reads) and applies its fast test; anything else (another kind, a
    chunk that raises) is evaluated record by record with ``exact``, whose
    verdicts and errors stand.
    """
    truth = operator.truth
    if not isinstance(condition, _Leaf):
        return lambda records: list(map(truth, map(exact, records)))
    test = condition._column(as_of)
    read = column_getter(condition.field)

    def mask(records: Sequence[Any]) -> list[bool]:
        try:
            return test(read(records))
        except Exception:
            return list(map(truth, map(exact, records)))

    return mask
