"""Data trust: a data spec's checks over records, as a mergeable accumulator."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import compress, islice, repeat
from operator import and_, ge, le, not_
from typing import Any, Final, Literal, cast

import attrs

from crmcore import validators as _v
from crmcore.access import column_getter, field_getter, iterate
from crmcore.conditions import Exists, compile_condition, is_present
from crmcore.errors import DataError, DataTypeError
from crmcore.kpis import KpiResult, quotient
from crmcore.quality.specs import DataRule, DataSpec

__all__ = [
    "CheckKind",
    "DataTrust",
    "RecordTrust",
    "TrustCheck",
    "TrustFailure",
    "TrustReport",
    "data_trust",
]

_CHUNK: Final = 2048

CheckKind = Literal["completeness", "validity", "freshness", "source", "consent"]
"""What a data-trust check looks at."""

_Outcome = Literal["passed", "failed", "skipped", "unknown"]


@attrs.frozen
class TrustCheck:
    """One check of a data spec over every record counted.

    Attributes:
        check: The check's name: ``required:<field>``, ``rule:<name>``,
            ``fresh``, ``source`` or ``consent:<field>``.
        kind: ``completeness``, ``validity``, ``freshness``, ``source`` or
            ``consent``.
        field: The field it reads (``None`` for a rule).
        passed: Records that pass it.
        failed: Records that fail it.
        skipped: Records it does not apply to (a rule's ``when``).
        unknown: Of the failed, those whose value was absent or not of the
            type the check reads (no aware timestamp; no source, or one that
            is not a text).
        outside: For ``source``: each source outside the allow-list with
            its count, the most frequent first.
        rate: ``passed / (passed + failed)``, undefined when it applied to
            no record.
    """

    check: str
    kind: CheckKind
    field: str | None
    passed: int
    failed: int
    skipped: int = 0
    unknown: int = 0
    outside: tuple[tuple[object, int], ...] = ()

    @property
    def rate(self) -> KpiResult:
        """The share of the records it applies to that pass it."""
        return quotient(
            self.check,
            self.passed,
            self.passed + self.failed,
            reason="it applied to no record",
        )


@attrs.frozen
class TrustReport:
    """A data spec's checks over a set of records, at one instant.

    Attributes:
        spec: The key of the data spec.
        records: The data set it was checked over (the spec's ``records``).
        as_of: The instant freshness was judged at.
        count: The records checked.
        trusted: The records that pass every check.
        checks: Each check, in the spec's order: required fields, rules,
            freshness, sources, consent.
    """

    spec: str
    records: str
    as_of: datetime
    count: int
    trusted: int
    checks: tuple[TrustCheck, ...]

    @property
    def score(self) -> KpiResult:
        """The trust score: the share of records that pass every check."""
        return quotient(
            "trust_score", self.trusted, self.count, reason="no records were checked"
        )

    def __getitem__(self, check: str) -> TrustCheck:
        """One check by its name, e.g. ``report["required:email"]``."""
        for found in self.checks:
            if found.check == check:
                return found
        raise DataError("check", check, f"one of {[c.check for c in self.checks]}")

    def __iter__(self) -> Iterator[TrustCheck]:
        return iter(self.checks)

    def rows(self) -> list[dict[str, Any]]:
        """One plain row per check: ``pandas.DataFrame(report.rows())``."""
        return [
            {
                "spec": self.spec,
                "check": check.check,
                "kind": check.kind,
                "field": check.field,
                "passed": check.passed,
                "failed": check.failed,
                "skipped": check.skipped,
                "unknown": check.unknown,
                "rate": check.rate.value,
            }
            for check in self.checks
        ]

    def __str__(self) -> str:
        score = self.score
        head = (
            f"{self.spec} ({self.records}): {self.trusted:,} of {self.count:,} "
            "records trusted"
            + (f" ({_percent(score.value)})" if score.value is not None else "")
        )
        lines = [head]
        for check in self.checks:
            rate = check.rate.value
            lines.append(
                f"  {check.check:<32} {_percent(rate) if rate is not None else '-':>7}"
                f"  {check.failed:,} failing"
            )
        return "\n".join(lines)


def _percent(value: Decimal | Any) -> str:
    return f"{Decimal(value) * 100:.1f}%"


@attrs.frozen
class TrustFailure:
    """Why one record fails one check.

    Attributes:
        check: The check's name.
        field: The field concerned (``None`` for a rule over several).
        value: The value found (``MISSING`` when absent).
        expected: What a trusted record has instead.
    """

    check: str
    field: str | None
    value: object
    expected: str


@attrs.frozen
class RecordTrust:
    """One record against a data spec: trusted, or every reason it is not."""

    failures: tuple[TrustFailure, ...]

    @property
    def trusted(self) -> bool:
        """Whether the record passes every check."""
        return not self.failures


def _check_spec(value: object) -> None:
    if not isinstance(value, DataSpec):
        raise DataTypeError("spec", value, "a DataSpec")


def _counts() -> Counter[tuple[str, _Outcome]]:
    return Counter()


@attrs.define
class DataTrust:
    """A data spec's checks over records: a mergeable accumulator.

    ``add`` / ``update`` check records, ``merge`` adds two partial counts of
    the same spec and instant, ``result`` gives the
    [`TrustReport`][crmcore.quality.TrustReport] (and never changes the
    accumulator). Memory is constant but for the sources found outside the
    allow-list, counted by value.

    A value of the wrong type is bad data, not a reason to stop: a rule
    whose test cannot read a value counts the record as failing it (with the
    reason in [`explain`][crmcore.quality.DataTrust.explain]), and a
    timestamp that is not an aware datetime counts as unknown freshness.

    Attributes:
        spec: The data spec checked.
        as_of: The instant freshness is judged at (and rules relative to
            ``as_of`` are evaluated at).
        count: The records checked.
        trusted: The records that passed every check.
        outcomes: Records by check name and outcome.
        outside: Records by source outside the allow-list.

    Examples:
        >>> from datetime import datetime, timezone
        >>> spec = DataSpec("leads", "leads", required=["email", "company"])
        >>> trust = DataTrust(spec, datetime(2026, 6, 1, tzinfo=timezone.utc))
        >>> report = trust.update([{"email": "a@x.io", "company": "X"},
        ...                        {"email": "", "company": "Y"}]).result()
        >>> report.trusted, report["required:email"].failed
        (1, 1)
    """

    spec: DataSpec = attrs.field(validator=_v.instance_of(DataSpec, "a DataSpec"))
    as_of: datetime = attrs.field(validator=_v.aware_instant())
    count: int = 0
    trusted: int = 0
    outcomes: Counter[tuple[str, _Outcome]] = attrs.field(
        factory=_counts, validator=_v.instance_of(Counter, "a Counter of outcomes")
    )
    outside: Counter[object] = attrs.field(
        factory=Counter, validator=_v.instance_of(Counter, "a Counter of sources")
    )
    _plan: _Plan = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._plan = _Plan.of(self.spec, self.as_of)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the compiled checks (a worker compiles them again)."""
        return {
            "spec": self.spec,
            "as_of": self.as_of,
            "count": self.count,
            "trusted": self.trusted,
            "outcomes": self.outcomes,
            "outside": self.outside,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__attrs_post_init__()

    def empty(self) -> DataTrust:
        """A new, empty accumulator of the same spec and instant."""
        return DataTrust(self.spec, self.as_of)

    def add(self, record: object) -> None:
        """Check one record."""
        self.update([record])

    def update(self, records: Iterable[Any]) -> DataTrust:
        """Check every record of an iterable (streaming); return ``self``."""
        plan = self._plan
        iterator = iterate(records)
        while chunk := list(islice(iterator, _CHUNK)):
            outcomes, outside, trusted = plan.run(chunk)
            self.outcomes.update(outcomes)
            self.outside.update(outside)
            self.trusted += trusted
            self.count += len(chunk)
        return self

    def merge(self, other: DataTrust) -> DataTrust:
        """A new accumulator holding both counts (same spec and instant)."""
        if (
            not isinstance(other, DataTrust)
            or other.spec != self.spec
            or other.as_of != self.as_of
        ):
            raise DataError("other", other, "a DataTrust of the same spec and as_of")
        return DataTrust(
            self.spec,
            self.as_of,
            self.count + other.count,
            self.trusted + other.trusted,
            self.outcomes + other.outcomes,
            self.outside + other.outside,
        )

    def result(self) -> TrustReport:
        """The report: each check's counts and the trust score."""
        outcomes = self.outcomes
        checks = []
        for name, kind, path in self._plan.checks:
            outside: tuple[tuple[object, int], ...] = ()
            if kind == "source":
                outside = tuple(
                    sorted(
                        self.outside.items(), key=lambda item: (-item[1], str(item[0]))
                    )
                )
            checks.append(
                TrustCheck(
                    name,
                    kind,
                    path,
                    outcomes[name, "passed"],
                    outcomes[name, "failed"],
                    outcomes[name, "skipped"],
                    outcomes[name, "unknown"],
                    outside,
                )
            )
        return TrustReport(
            self.spec.key,
            self.spec.records,
            self.as_of,
            self.count,
            self.trusted,
            tuple(checks),
        )

    def explain(self, record: object) -> RecordTrust:
        """Every check one record fails, with the value and what was expected."""
        return RecordTrust(tuple(self._plan.explain(record)))


def data_trust(
    spec: DataSpec, records: Iterable[Any], *, as_of: datetime
) -> TrustReport:
    """A data spec's checks over records, in one pass.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from crmcore.conditions import field
        >>> spec = DataSpec(
        ...     "leads", "leads", required=["email"], sources=["web", "event"],
        ...     rules=[DataRule("size", field("employees") >= 1)])
        >>> report = data_trust(spec, [
        ...     {"email": "a@x.io", "source": "web", "employees": 10},
        ...     {"email": "b@y.io", "source": "list_buy", "employees": 0},
        ...     {"email": "c@z.io", "source": "event"},
        ... ], as_of=datetime(2026, 6, 1, tzinfo=timezone.utc))
        >>> print(report)
        leads (leads): 2 of 3 records trusted (66.7%)
          required:email                    100.0%  0 failing
          rule:size                          50.0%  1 failing
          source                             66.7%  1 failing
        >>> report["rule:size"].skipped, report["source"].outside
        (1, (('list_buy', 1),))
    """
    _check_spec(spec)
    return DataTrust(spec, as_of).update(records).result()


# ---------------------------------------------------------------------------
# The compiled checks of one spec
# ---------------------------------------------------------------------------
_Column = Callable[[Sequence[Any]], list[object]]


@attrs.frozen
class _Rule:
    name: str
    rule: DataRule
    test: Callable[[object], bool]
    mask: Callable[[Sequence[Any]], list[bool]]
    applies: Callable[[Sequence[Any]], list[bool]] | None  # None: all present
    applies_one: Callable[[object], bool] | None
    fields: tuple[str, ...]
    column: tuple[str, Callable[[list[object]], list[bool]]] | None


@attrs.frozen
class _Plan:
    spec: DataSpec
    as_of: datetime
    checks: tuple[tuple[str, CheckKind, str | None], ...]
    columns: dict[str, _Column]
    getters: dict[str, Callable[[object], object]]
    present: dict[str, Callable[[list[object]], list[bool]]]
    rules: tuple[_Rule, ...]
    since: datetime | None
    allowed: frozenset[str]

    @classmethod
    def of(cls, spec: DataSpec, as_of: datetime) -> _Plan:
        checks: list[tuple[str, CheckKind, str | None]] = [
            (f"required:{path}", "completeness", path) for path in spec.required
        ]
        rules = []
        for rule in spec.rules:
            compiled = compile_condition(rule.condition)
            when = None if rule.when is None else compile_condition(rule.when)
            rules.append(
                _Rule(
                    f"rule:{rule.name}",
                    rule,
                    compiled.bind(as_of),
                    compiled.masker(as_of),
                    None if when is None else when.masker(as_of),
                    None if when is None else when.bind(as_of),
                    rule.fields,
                    compiled.column_test(as_of),
                )
            )
            checks.append((f"rule:{rule.name}", "validity", None))
        if spec.refreshed is not None:
            checks.append(("fresh", "freshness", spec.refreshed))
        if spec.sources:
            checks.append(("source", "source", spec.source))
        checks.extend((f"consent:{path}", "consent", path) for path in spec.consent)
        fields = spec.fields()
        since = None if spec.refresh_every is None else spec.refresh_every.before(as_of)
        return cls(
            spec,
            as_of,
            tuple(checks),
            {path: column_getter(path) for path in fields},
            {path: field_getter(path) for path in fields},
            {path: _presence_test(path) for path in fields},
            tuple(rules),
            since,
            frozenset(spec.sources),
        )

    def run(
        self, chunk: list[Any]
    ) -> tuple[Counter[tuple[str, _Outcome]], Counter[object], int]:
        """Check one chunk: the outcomes, the outside sources, the trusted count."""
        spec, size = self.spec, len(chunk)
        outcomes: Counter[tuple[str, _Outcome]] = Counter()
        # Each check's failures as one int, a byte per record (1: failed),
        # or-ed together: C-level work on whole chunks.
        failed = 0
        read: dict[str, list[object]] = {}
        present: dict[str, list[bool]] = {}

        def column(path: str) -> list[object]:
            if path not in read:
                read[path] = self.columns[path](chunk)
            return read[path]

        def presence(path: str) -> list[bool]:
            if path not in present:
                present[path] = self.present[path](column(path))
            return present[path]

        def count(name: str, mask: list[bool]) -> None:
            nonlocal failed
            held = mask.count(True)
            outcomes[name, "passed"] += held
            outcomes[name, "failed"] += size - held
            if held != size:
                failed |= _bits(mask, flip=True)

        for path in spec.required:
            count(f"required:{path}", presence(path))
        for rule in self.rules:
            applies, verdicts = _rule_masks(rule, chunk, column, presence)
            fails = _bits(applies) & _bits(verdicts, flip=True)
            applied, missed = applies.count(True), fails.bit_count()
            outcomes[rule.name, "passed"] += applied - missed
            outcomes[rule.name, "failed"] += missed
            outcomes[rule.name, "skipped"] += size - applied
            failed |= fails
        if spec.refreshed is not None:
            fresh, unknown = self._freshness(column(spec.refreshed))
            count("fresh", fresh)
            outcomes["fresh", "unknown"] += unknown
        outside: Counter[object] = Counter()
        if spec.sources:
            values = column(spec.source)
            allowed = self.allowed
            try:  # only texts equal the allowed texts
                mask = list(map(allowed.__contains__, values))
            except TypeError:  # an unhashable value: not a source either
                mask = [isinstance(v, str) and v in allowed for v in values]
            count("source", mask)
            found = list(compress(values, map(not_, mask)))
            # A text outside the allow-list is counted by value; anything
            # else (absent, blank, not a text) is an unknown source.
            known = [v for v in found if isinstance(v, str) and v.strip()]
            outcomes["source", "unknown"] += len(found) - len(known)
            outside.update(known)
        for path in spec.consent:
            count(f"consent:{path}", presence(path))
        return outcomes, outside, size - failed.bit_count()

    def _freshness(self, values: list[object]) -> tuple[list[bool], int]:
        since, as_of = cast(datetime, self.since), self.as_of
        if set(map(type, values)) == {datetime}:
            after = map(le, repeat(since), values)  # type: ignore[arg-type]
            before = map(ge, repeat(as_of), values)  # type: ignore[arg-type]
            with contextlib.suppress(TypeError):  # a naive one: value by value
                return list(map(and_, after, before)), 0
        fresh = []
        unknown = 0
        for value in values:
            if isinstance(value, datetime) and value.tzinfo is not None:
                fresh.append(since <= value <= as_of)
            else:
                fresh.append(False)
                unknown += 1
        return fresh, unknown

    def explain(self, record: object) -> Iterator[TrustFailure]:
        spec = self.spec
        for path in spec.required:
            value = self.getters[path](record)
            if not is_present(value):
                yield TrustFailure(
                    f"required:{path}", path, value, "a value (present, not empty)"
                )
        for rule in self.rules:
            if rule.applies_one is not None:
                applies = _safely(rule.applies_one, record)
            else:
                applies = all(is_present(self.getters[p](record)) for p in rule.fields)
            if not applies:
                continue
            try:
                held = bool(rule.test(record))
                reason = f"to meet {rule.rule.name}"
            except DataTypeError as error:
                held, reason = False, f"to meet {rule.rule.name} ({error.expected})"
            if not held:
                yield TrustFailure(
                    rule.name, None, _values(rule, record, self.getters), reason
                )
        if spec.refreshed is not None:
            value = self.getters[spec.refreshed](record)
            fresh, _ = self._freshness([value])
            if not fresh[0]:
                yield TrustFailure(
                    "fresh",
                    spec.refreshed,
                    value,
                    f"an aware datetime within {spec.refresh_every} before "
                    f"{self.as_of.isoformat()}",
                )
        if spec.sources:
            value = self.getters[spec.source](record)
            if not (isinstance(value, str) and value in self.allowed):
                yield TrustFailure(
                    "source", spec.source, value, f"one of {list(spec.sources)}"
                )
        for path in spec.consent:
            value = self.getters[path](record)
            if not is_present(value):
                yield TrustFailure(
                    f"consent:{path}", path, value, "a recorded consent (any answer)"
                )


def _rule_masks(
    rule: _Rule,
    chunk: list[Any],
    column: Callable[[str], list[object]],
    presence: Callable[[str], list[bool]],
) -> tuple[list[bool], list[bool]]:
    """Where a rule applies in a chunk, and its verdicts (columns read once)."""
    if rule.column is not None:
        path, test = rule.column
        try:
            verdicts = test(column(path))
        except Exception:  # a value the test cannot read: record by record
            verdicts = [_safely(rule.test, record) for record in chunk]
    else:
        verdicts = _mask_safely(rule.mask, rule.test, chunk)
    if rule.applies is not None and rule.applies_one is not None:
        applies = _mask_safely(rule.applies, rule.applies_one, chunk)
    elif len(rule.fields) == 1:
        applies = presence(rule.fields[0])
    elif rule.fields:
        applies = list(map(all, zip(*map(presence, rule.fields), strict=True)))
    else:
        applies = [True] * len(chunk)
    return applies, verdicts


def _values(
    rule: _Rule, record: object, getters: dict[str, Callable[[object], object]]
) -> object:
    if len(rule.fields) == 1:
        return getters[rule.fields[0]](record)
    return {path: getters[path](record) for path in rule.fields}


_FLIP: Final = bytes.maketrans(b"\x00\x01", b"\x01\x00")


def _bits(mask: list[bool], *, flip: bool = False) -> int:
    """A mask as one int, a byte (0 or 1) per record; ``flip`` negates it."""
    packed = bytes(mask)
    return int.from_bytes(packed.translate(_FLIP) if flip else packed, "little")


def _mask_safely(
    mask: Callable[[Sequence[Any]], list[bool]],
    test: Callable[[object], bool],
    chunk: list[Any],
) -> list[bool]:
    """A condition's verdicts over a chunk; a value it cannot read fails it."""
    try:
        return mask(chunk)
    except DataTypeError:
        return [_safely(test, record) for record in chunk]


def _presence_test(path: str) -> Callable[[list[object]], list[bool]]:
    found = compile_condition(Exists(path)).column_test()
    assert found is not None  # presence is a one-field condition
    return found[1]


def _safely(test: Callable[[object], bool], record: object) -> bool:
    try:
        return bool(test(record))
    except DataTypeError:
        return False
