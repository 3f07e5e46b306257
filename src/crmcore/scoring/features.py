"""Features: the values a predictive model learns from, and the model protocol.

A feature reads one value from a record: the value of a field
([`FieldValue`][crmcore.scoring.FieldValue]), the band of a number
([`NumberBand`][crmcore.scoring.NumberBand]), whether a condition holds
([`Holds`][crmcore.scoring.Holds]) or how many items of a collection match
one ([`ItemCount`][crmcore.scoring.ItemCount]). Features are kinds of the
[`FEATURE_KINDS`][crmcore.scoring.FEATURE_KINDS] registry, so vendors add
their own and models that use them round-trip through JSON.

A [`FeatureSet`][crmcore.scoring.FeatureSet] turns records into rows of
plain values (a dict per record) that any learner takes: scikit-learn's
``DictVectorizer`` one-hot encodes the text values and keeps the numbers.
Anything that gives a probability per record is a
[`ProbabilityModel`][crmcore.scoring.ProbabilityModel] and can be
evaluated the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from math import isfinite
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, runtime_checkable

import attrs

from crmcore import validators as _v
from crmcore.access import MISSING, field_getter, iterate
from crmcore.conditions import CONDITION_KINDS, Condition, compile_condition, to_text
from crmcore.conditions.values import CONDITION, ITEM_CONDITION, PATH
from crmcore.errors import DataError, DataTypeError
from crmcore.money import to_decimal
from crmcore.registry import Registry

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from crmcore.registry import KindDraws

__all__ = [
    "FEATURE_KINDS",
    "Feature",
    "FeatureSet",
    "FieldValue",
    "Holds",
    "ItemCount",
    "NumberBand",
    "ProbabilityModel",
]

_name = _v.name()
_condition = _v.kind_of(CONDITION_KINDS, "a condition")
_opt_condition = _v.optional(_condition)
# Values a feature may give: plain, hashable, and storable in JSON.
_PLAIN: Final = (str, int, bool, Decimal, date)


@runtime_checkable
class Feature(Protocol):
    """What a feature kind does: read one plain value from a record.

    ``bind(as_of)`` returns the fast ``record -> value`` function; the value
    is a text, a number, a bool or a date, or ``MISSING`` when the record
    has none (a model then leaves the feature out for that record).
    """

    kind: ClassVar[str]
    name: str

    def bind(self, as_of: datetime | None) -> Callable[[object], object]:
        """The feature's value for a record."""
        ...  # pragma: no cover - a protocol


FEATURE_KINDS: Final = Registry(
    "feature kind",
    group="crmcore.features",
    protocol=Feature,
    methods=(("bind",),),
    needs="a bind(as_of) method",
)
"""The registry of feature kinds: the built-ins and every registered one."""


def _plain(name: str) -> Callable[[object], object]:
    """Check a value is plain (or ``MISSING``/``None``: absent)."""

    def check(value: object) -> object:
        if value is MISSING or value is None:
            return MISSING
        if isinstance(value, _PLAIN) and not isinstance(value, datetime):
            return value
        raise DataTypeError(name, value, "a text, number, bool or date")

    return check


@FEATURE_KINDS.register
@attrs.frozen(cache_hash=True)
class FieldValue:
    """The value of a field, as it is (a category: source, country, stage...).

    Examples:
        >>> FieldValue("source").bind(None)({"source": "webinar"})
        'webinar'
    """

    field: str = attrs.field(validator=_v.field_path(), metadata=PATH)
    name: str = attrs.field(kw_only=True, validator=_name)

    kind: ClassVar[str] = "field_value"

    @name.default
    def _default_name(self) -> str:
        return self.field

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A drawn scalar field."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, draws.paths)

    def bind(self, as_of: datetime | None) -> Callable[[object], object]:
        """The field's value, or ``MISSING``."""
        read, check = field_getter(self.field), _plain(self.field)
        return lambda record: check(read(record))


def _edges(values: object) -> tuple[Decimal, ...]:
    items = _v.list_of(values, "edges", "a list of numbers")
    edges = tuple(to_decimal(v, f"edges[{i}]") for i, v in enumerate(items))
    if not edges or list(edges) != sorted(set(edges)):
        raise DataError("edges", list(items), "increasing numbers, at least one")
    return edges


@FEATURE_KINDS.register
@attrs.frozen(cache_hash=True)
class NumberBand:
    """The band of a number: ``"<10"``, ``"10-100"``, ``">=100"`` for edges 10, 100.

    A value equal to an edge goes to the band above it.

    Examples:
        >>> size = NumberBand("employees", [10, 100])
        >>> [size.bind(None)({"employees": n}) for n in (3, 10, 250)]
        ['<10', '10-100', '>=100']
    """

    field: str = attrs.field(validator=_v.field_path(), metadata=PATH)
    edges: tuple[Decimal, ...] = attrs.field(converter=_edges)
    name: str = attrs.field(kw_only=True, validator=_name)

    kind: ClassVar[str] = "number_band"

    @name.default
    def _default_name(self) -> str:
        return self.field

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A drawn scalar field with one or two edges."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls,
            draws.paths,
            st.lists(st.integers(0, 3), min_size=1, max_size=2, unique=True).map(
                sorted
            ),
        )

    def bind(self, as_of: datetime | None) -> Callable[[object], object]:
        """The band's label, or ``MISSING``."""
        read, edges, path = field_getter(self.field), self.edges, self.field
        labels = [f"<{edges[0]}"]
        labels += [f"{low}-{high}" for low, high in pairwise(edges)]
        labels.append(f">={edges[-1]}")

        def band(record: object) -> object:
            value = read(record)
            if value is MISSING or value is None:
                return MISSING
            if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
                raise DataTypeError(path, value, "a number")
            if not (
                value.is_finite() if isinstance(value, Decimal) else isfinite(value)
            ):
                raise DataError(path, value, "a finite number")
            index = 0
            for edge in edges:
                if value < edge:
                    break
                index += 1
            return labels[index]

        return band


@FEATURE_KINDS.register
@attrs.frozen(cache_hash=True)
class Holds:
    """Whether a condition holds: ``True`` or ``False``, never missing.

    Examples:
        >>> from crmcore.conditions import field
        >>> Holds("big", field("employees") >= 100).bind(None)({"employees": 5})
        False
    """

    name: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition, metadata=CONDITION)

    kind: ClassVar[str] = "holds"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A drawn condition."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(cls, st.sampled_from(["h1", "h2"]), draws.children)

    def bind(self, as_of: datetime | None) -> Callable[[object], object]:
        """The condition's verdict."""
        predicate = compile_condition(self.condition).bind(as_of)
        return lambda record: bool(predicate(record))

    def describe(self) -> str:
        """The condition in text."""
        return to_text(self.condition)


@FEATURE_KINDS.register
@attrs.frozen(cache_hash=True)
class ItemCount:
    """How many items of a collection match ``where`` (e.g. meetings held).

    Examples:
        >>> from crmcore.conditions import field
        >>> meetings = ItemCount("meetings", "activities", field("kind") == "meeting")
        >>> meetings.bind(None)({"activities": [{"kind": "meeting"}, {"kind": "call"}]})
        1
    """

    name: str = attrs.field(validator=_name)
    field: str = attrs.field(validator=_v.field_path(), metadata=PATH)
    where: Condition | None = attrs.field(
        default=None, validator=_opt_condition, metadata=ITEM_CONDITION
    )

    kind: ClassVar[str] = "item_count"

    @classmethod
    def strategy(cls, draws: KindDraws) -> SearchStrategy[Any]:
        """A drawn collection and item condition."""
        from hypothesis import strategies as st  # noqa: PLC0415 - testing only

        return st.builds(
            cls,
            st.sampled_from(["n1", "n2"]),
            draws.collection_paths,
            st.none() | draws.items,
        )

    def bind(self, as_of: datetime | None) -> Callable[[object], object]:
        """The number of matching items (0 without the collection)."""
        read, path = field_getter(self.field), self.field
        test = None if self.where is None else compile_condition(self.where).bind(as_of)

        def count(record: object) -> object:
            items = read(record)
            if items is MISSING or items is None:
                return 0
            found = iterate(items, path)
            if test is None:
                return sum(1 for _ in found)
            return sum(1 for item in found if test(item))

        return count


def _features(values: object) -> tuple[Feature, ...]:
    features = _v.tuple_of_kinds(values, FEATURE_KINDS, "features", item="a feature")
    _v.unique_keys(features, "features", "feature", by="name")
    return features


@attrs.frozen(cache_hash=True)
class FeatureSet:
    """Features by name: records in, rows of plain values out.

    Examples:
        >>> from crmcore.conditions import field
        >>> features = FeatureSet([FieldValue("source"), NumberBand("employees", [50]),
        ...                        Holds("saas", field("industry") == "saas")])
        >>> features.rows([{"source": "webinar", "employees": 80, "industry": "saas"},
        ...                {"employees": 5}])
        [{'source': 'webinar', 'employees': '>=50', 'saas': True}, {'employees': '<50', 'saas': False}]
    """  # noqa: E501

    features: tuple[Feature, ...] = attrs.field(converter=_features)

    def __attrs_post_init__(self) -> None:
        if not self.features:
            raise DataError("features", [], "at least one feature")

    @property
    def names(self) -> tuple[str, ...]:
        """The features' names, in order."""
        return tuple(feature.name for feature in self.features)

    def reader(
        self, *, as_of: datetime | None = None
    ) -> Callable[[object], list[tuple[str, object]]]:
        """A compiled ``record -> [(name, value), ...]`` of the present values."""
        bound = [(f.name, f.bind(as_of)) for f in self.features]
        missing = MISSING

        def read(record: object) -> list[tuple[str, object]]:
            found = []
            for name, value_of in bound:
                value = value_of(record)
                if value is not missing:
                    found.append((name, value))
            return found

        return read

    def rows(
        self, records: Iterable[Any], *, as_of: datetime | None = None
    ) -> list[dict[str, object]]:
        """One dict per record of the values it has (missing ones left out)."""
        read = self.reader(as_of=as_of)
        return [dict(read(record)) for record in iterate(records)]


@runtime_checkable
class ProbabilityModel(Protocol):
    """Anything that gives each record a probability of the outcome, from 0 to 1.

    A scikit-learn pipeline fits in a few lines (``predict_proba`` on the
    rows of a [`FeatureSet`][crmcore.scoring.FeatureSet])::

        class Sklearn:
            def __init__(self, estimator, features):
                self.estimator, self.features = estimator, features

            def probabilities(self, records):
                rows = self.features.rows(records)
                return list(self.estimator.predict_proba(rows)[:, 1])
    """

    def probabilities(self, records: Iterable[Any]) -> Sequence[object]:
        """One probability per record, in order."""
        ...  # pragma: no cover - a protocol
