"""Predictive scoring: naive Bayes over won and lost counts, Odoo-compatible.

A [`NaiveBayes`][crmcore.scoring.NaiveBayes] definition names the features,
the open stages in order, and the fields holding a record's team, stage and
outcome. Its [`FrequencyTable`][crmcore.scoring.FrequencyTable] counts
closed records, won and lost, per team and per feature value: an
accumulator, so counts from partitions, machines or days merge exactly.
Its result, a [`BayesTable`][crmcore.scoring.BayesTable], scores open
records. For a record of team ``t`` with values ``v``:

    P(won)   = won_t / (won_t + lost_t)
    S_won    = P(won)  × Π won_t(v)  / Σ_values won_t(feature)
    S_lost   = P(lost) × Π lost_t(v) / Σ_values lost_t(feature)
    p        = S_won / (S_won + S_lost)

Odoo's conventions, each a documented choice:

* every count seen starts at ``smoothing`` = 0.1, not Laplace's 1 (so a
  value seen once as won counts 1.1 won and 0.1 lost);
* **the stage means "reached"**: a won record counts for every stage, a
  lost one for the stage it was lost in and every earlier one, and a
  stage's share is taken of the team's won and lost totals;
* the team's prior comes from its first stage's counts (every closed record
  reached it), i.e. ``won_t + 0.1`` and ``lost_t + 0.1``;
* values the team's table has never seen are skipped;
* the probability is shown as a percentage rounded to two decimals and held
  within [0.01, 99.99]: an open record never reads as won or lost. With
  stages, a record in a won stage is 100, in a lost stage 0, without a
  stage 0;
* a team without a table of its own (or, with ``min_team_records``, with
  fewer closed records than that) is scored with the table of all teams
  pooled, each team's counts with their own smoothing.

Each probability is explained by its factors: ``P(v|won) / (P(v|won) +
P(v|lost))`` for every value, the stage included (Odoo's tooltip shows
``1 − P(stage|lost)`` for the stage; the same order of stages, on the scale
of every other factor).

Where Odoo slips, crmcore does not: the pooled table is computed for its
own sake, so no team ever takes another team's prior; and a table is a
value, so a record is only scored from a table that already holds what it
was given (``add`` the record, then score it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from itertools import islice
from typing import Any, Final

import attrs

from crmcore import validators as _v
from crmcore.access import MISSING, field_getter, iterate
from crmcore.errors import DataError, DataTypeError
from crmcore.money import divide, exact_arithmetic, round_to, to_decimal
from crmcore.scoring.features import FEATURE_KINDS, Feature, FieldValue

__all__ = [
    "BayesTable",
    "Factor",
    "FrequencyTable",
    "NaiveBayes",
    "Prediction",
]

_HUNDRED: Final = Decimal(100)
_HALF: Final = Decimal("0.5")
_PRODUCT: Final = Context(
    prec=28, rounding=ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999
)
_LOW: Final = Decimal("0.01")
_HIGH: Final = Decimal("99.99")
_CHUNK: Final = 4096
_STAGE: Final = "stage"
_OUTCOMES: Final = ("won", "lost")
_PLAIN_TEAM: Final = (str, int, bool, Decimal, date)


def _feature_list(values: object) -> tuple[Feature, ...]:
    items = _v.list_of(values, "features", "a list of features or field names")
    features = tuple(FieldValue(v) if isinstance(v, str) else v for v in items)
    features = _v.tuple_of_kinds(features, FEATURE_KINDS, "features", item="a feature")
    _v.unique_keys(features, "features", "feature", by="name")
    for index, feature in enumerate(features):
        if feature.name == _STAGE:
            raise DataError(
                f"features[{index}].name",
                _STAGE,
                "a name other than 'stage' (the stages')",
            )
    return features


def _stages(values: object) -> tuple[str, ...]:
    stages = _v.names(
        values, "stages", plural="a list of stage keys", item="a stage key"
    )
    if len(set(stages)) != len(stages):
        raise DataError("stages", list(stages), "each stage once")
    return stages


def _won_stages(values: object) -> tuple[str, ...]:
    return _v.names(
        values, "won_stages", plural="a list of stage keys", item="a stage key"
    )


def _lost_stages(values: object) -> tuple[str, ...]:
    return _v.names(
        values, "lost_stages", plural="a list of stage keys", item="a stage key"
    )


def _smoothing(value: object) -> Decimal:
    number = to_decimal(value, "smoothing")
    exponent = number.as_tuple().exponent
    if not 0 < number <= 10 or not isinstance(exponent, int) or exponent < -6:
        raise DataError(
            "smoothing", value, "a count above 0 and at most 10 (0.1 in Odoo)"
        )
    return number


@attrs.frozen(cache_hash=True)
class NaiveBayes:
    """A predictive score: what to count, and how (Odoo's way by default).

    Attributes:
        features: The features counted: feature kinds, or field names (each
            becomes a [`FieldValue`][crmcore.scoring.FieldValue]).
        stages: The open stages, first to last; empty for no stage feature.
        stage: The field holding a record's stage (for a lost record, the
            stage it was lost in).
        team: The field holding a record's team, or ``None`` for one table.
        outcome: The field holding a closed record's outcome, ``"won"`` or
            ``"lost"``.
        won_stages: Stages whose records are won (probability 100).
        lost_stages: Stages whose records are lost (probability 0).
        smoothing: What every count seen starts at.
        min_team_records: Teams with fewer closed records are scored with the
            table of all teams (0: only teams without any).

    Examples:
        >>> model = NaiveBayes(["source"], stages=["new", "demo"])
        >>> table = model.train([
        ...     {"source": "referral", "stage": "demo", "outcome": "won"},
        ...     {"source": "ads", "stage": "new", "outcome": "lost"},
        ...     {"source": "ads", "stage": "demo", "outcome": "lost"},
        ... ])
        >>> table.probability({"source": "referral", "stage": "demo"}).percent
        Decimal('95.28')
    """

    features: tuple[Feature, ...] = attrs.field(converter=_feature_list)
    stages: tuple[str, ...] = attrs.field(default=(), converter=_stages, kw_only=True)
    stage: str = attrs.field(default="stage", validator=_v.field_path(), kw_only=True)
    team: str | None = attrs.field(
        default="team", validator=_v.optional(_v.field_path()), kw_only=True
    )
    outcome: str = attrs.field(
        default="outcome", validator=_v.field_path(), kw_only=True
    )
    won_stages: tuple[str, ...] = attrs.field(
        default=("won",), converter=_won_stages, kw_only=True
    )
    lost_stages: tuple[str, ...] = attrs.field(
        default=("lost",), converter=_lost_stages, kw_only=True
    )
    smoothing: Decimal = attrs.field(
        default=Decimal("0.1"), converter=_smoothing, kw_only=True
    )
    min_team_records: int = attrs.field(
        default=0, validator=_v.non_negative_int(), kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        clash = set(self.stages) & (set(self.won_stages) | set(self.lost_stages))
        if clash:
            raise DataError(
                "won_stages", sorted(clash), "closed stages that are not open stages"
            )

    def table(self) -> FrequencyTable:
        """The empty frequency table of this model."""
        return FrequencyTable(self)

    def train(self, records: Iterable[Any]) -> BayesTable:
        """Count closed records and return the table that scores open ones."""
        return self.table().update(records).result()


def _team_value(path: str) -> Callable[[object], object]:
    read = field_getter(path)

    def team(record: object) -> object:
        value = read(record)
        if value is MISSING or value is None:
            return None
        if isinstance(value, _PLAIN_TEAM) and not isinstance(value, datetime):
            return value
        raise DataTypeError(path, value, "a team key (a text or number) or None")

    return team


@attrs.define
class FrequencyTable:
    """Won and lost counts of closed records: a mergeable accumulator.

    ``add`` / ``update`` count closed records, ``merge`` adds two tables of
    the same model, ``result`` gives the [`BayesTable`][crmcore.scoring.BayesTable]
    that scores open records (and never changes the accumulator).

    Attributes:
        model: The definition counted for.
        outcomes: Closed records by ``(team, outcome)``.
        values: Closed records by ``(team, feature, value, outcome)``.
        lost_at: Lost records by ``(team, stage lost in)``.
    """

    model: NaiveBayes = attrs.field(
        validator=_v.instance_of(NaiveBayes, "a NaiveBayes")
    )
    outcomes: Counter[tuple[object, str]] = attrs.field(factory=Counter)
    values: Counter[tuple[object, str, object, str]] = attrs.field(factory=Counter)
    lost_at: Counter[tuple[object, str]] = attrs.field(factory=Counter)
    _readers: Any = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        model = self.model
        self._readers = (
            field_getter(model.outcome),
            (lambda record: None) if model.team is None else _team_value(model.team),
            field_getter(model.stage),
            [(f.name, f.bind(None)) for f in model.features],
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the compiled readers (a worker compiles them again)."""
        return {
            "model": self.model,
            "outcomes": self.outcomes,
            "values": self.values,
            "lost_at": self.lost_at,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__attrs_post_init__()

    def empty(self) -> FrequencyTable:
        """A new, empty table of the same model (the identity of ``merge``)."""
        return FrequencyTable(self.model)

    def add(self, record: object) -> None:
        """Count one closed record."""
        self.update([record])

    def update(self, records: Iterable[Any]) -> FrequencyTable:
        """Count every closed record of an iterable (streaming); return ``self``."""
        outcome_of, team_of, stage_of, features = self._readers
        model = self.model
        stages = set(model.stages)
        iterator = iterate(records)
        while chunk := list(islice(iterator, _CHUNK)):
            # Read and check the whole chunk first: a bad record changes nothing.
            outcomes = list(map(outcome_of, chunk))
            for value in outcomes:
                if type(value) is not str or value not in _OUTCOMES:
                    raise DataError(
                        model.outcome,
                        value,
                        "'won' or 'lost' (the outcome of a closed record)",
                    )
            teams = list(map(team_of, chunk))
            values: Counter[tuple[object, str, object, str]] = Counter()
            for name, value_of in features:
                found = list(map(value_of, chunk))
                keys = [
                    (team, name, value, outcome)
                    for team, value, outcome in zip(teams, found, outcomes, strict=True)
                    if value is not MISSING
                ]
                try:
                    values.update(keys)
                except TypeError:
                    bad = next(key[2] for key in keys if not _hashable(key[2]))
                    raise DataTypeError(
                        name, bad, "a plain feature value (a text, number or bool)"
                    ) from None
            lost = []
            if stages:
                for team, record, outcome in zip(teams, chunk, outcomes, strict=True):
                    if outcome != "lost":
                        continue
                    stage = stage_of(record)
                    if type(stage) is not str or stage not in stages:
                        raise DataError(
                            model.stage,
                            stage,
                            f"the open stage a lost record was lost in, one of "
                            f"{list(model.stages)}",
                        )
                    lost.append((team, stage))
            self.outcomes.update(zip(teams, outcomes, strict=True))
            self.values.update(values)
            self.lost_at.update(lost)
        return self

    def merge(self, other: FrequencyTable) -> FrequencyTable:
        """A new table holding both counts (the same model required)."""
        if not isinstance(other, FrequencyTable) or other.model != self.model:
            raise DataError("other", other, "a FrequencyTable of the same model")
        return FrequencyTable(
            self.model,
            self.outcomes + other.outcomes,
            self.values + other.values,
            self.lost_at + other.lost_at,
        )

    def result(self) -> BayesTable:
        """The table that scores open records."""
        return BayesTable.of(self)


@attrs.frozen
class Factor:
    """What one feature value did to a probability.

    Attributes:
        feature: The feature's name (``"stage"`` for the stage).
        value: The record's value.
        won: ``P(value | won)``.
        lost: ``P(value | lost)``.
        score: ``won / (won + lost)``: above 0.5 the value raised the
            probability, below it lowered it.
    """

    feature: str
    value: object
    won: Decimal
    lost: Decimal
    score: Decimal


@attrs.frozen
class Prediction:
    """One record's probability of being won, explained.

    Attributes:
        percent: The probability in percent (0.01 to 99.99 for open records;
            with stages, 100 in a won stage and 0 in a lost one or without a
            stage); ``None`` when there are no closed records to score from.
        team: The record's team.
        table: Whose counts scored it: the team, ``"all teams"``, or ``None``
            for a record in a closed stage or without one.
        reason: Why that table, or why no probability.
        factors: Every value that counted, from the most helpful to the most
            harmful (by ``score``, highest first).
        skipped: Features whose value the table has never seen.
    """

    percent: Decimal | None
    team: object
    table: str | None
    reason: str
    factors: tuple[Factor, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def probability(self) -> Decimal | None:
        """``percent / 100``: the probability from 0 to 1."""
        return None if self.percent is None else divide(self.percent, _HUNDRED)

    @property
    def helped(self) -> tuple[Factor, ...]:
        """The factors that raised the probability, the strongest first."""
        return tuple(f for f in self.factors if f.score > _HALF)

    @property
    def hurt(self) -> tuple[Factor, ...]:
        """The factors that lowered it, from the mildest to the most harmful."""
        return tuple(f for f in self.factors if f.score < _HALF)

    def __str__(self) -> str:
        shown = "no probability" if self.percent is None else f"{self.percent}%"
        lines = [f"{shown}: {self.reason}"]
        for factor in self.factors:
            score = factor.score
            sign = "+" if score > _HALF else "-" if score < _HALF else "="
            lines.append(
                f"  {sign} {factor.feature} = {factor.value!r}: {round_to(score, 2)}"
            )
        lines.extend(f"  ? {name}: never seen, skipped" for name in self.skipped)
        return "\n".join(lines)


@attrs.frozen
class _Counts:
    """One team's (or the pooled) smoothed counts, ready to score."""

    won: Decimal
    lost: Decimal
    closed: int
    values: Mapping[tuple[str, object], tuple[Decimal, Decimal]]
    totals: Mapping[str, tuple[Decimal, Decimal]]


def _smoothed(
    model: NaiveBayes,
    outcomes: Counter[tuple[object, str]],
    by_value: Mapping[tuple[str, object], list[int]],
    lost_at: Counter[tuple[object, str]],
    team: object,
) -> _Counts:
    s = model.smoothing
    won_n, lost_n = outcomes[(team, "won")], outcomes[(team, "lost")]
    found = {
        key: (Decimal(w) + s, Decimal(lo) + s) for key, (w, lo) in by_value.items()
    }
    if model.stages:
        reached = 0
        for stage in reversed(model.stages):  # lost in a later stage reached this one
            reached += lost_at[(team, stage)]
            if won_n or reached:  # a stage no record reached has no counts
                found[(_STAGE, stage)] = (Decimal(won_n) + s, Decimal(reached) + s)
    totals: dict[str, list[Decimal]] = {}
    for (name, _), (won, lost) in found.items():
        if name != _STAGE:
            total = totals.setdefault(name, [Decimal(0), Decimal(0)])
            total[0] += won
            total[1] += lost
    # The stage's shares are of the team's totals: its first stage's counts.
    totals[_STAGE] = [Decimal(won_n) + s, Decimal(lost_n) + s]
    return _Counts(
        Decimal(won_n) + s,
        Decimal(lost_n) + s,
        won_n + lost_n,
        found,
        {name: (w, lo) for name, (w, lo) in totals.items()},
    )


def _pooled(teams: Mapping[object, _Counts]) -> _Counts:
    """The table of all teams: each team's smoothed counts added up."""
    values: dict[tuple[str, object], list[Decimal]] = {}
    won = lost = Decimal(0)
    closed = 0
    for counts in teams.values():
        won += counts.won
        lost += counts.lost
        closed += counts.closed
        for key, (w, lo) in counts.values.items():
            total = values.setdefault(key, [Decimal(0), Decimal(0)])
            total[0] += w
            total[1] += lo
    totals: dict[str, list[Decimal]] = {}
    for (name, _), (w, lo) in values.items():
        if name != _STAGE:
            total = totals.setdefault(name, [Decimal(0), Decimal(0)])
            total[0] += w
            total[1] += lo
    totals[_STAGE] = [won, lost]
    return _Counts(
        won,
        lost,
        closed,
        {key: (w, lo) for key, (w, lo) in values.items()},
        {name: (w, lo) for name, (w, lo) in totals.items()},
    )


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _team_key(team: object) -> tuple[str, str]:
    return (type(team).__name__, str(team))


@attrs.frozen(eq=False)
class BayesTable:
    """Trained counts that score open records: the result of a frequency table.

    Two tables are equal when they hold the same counts for the same model.
    """

    model: NaiveBayes
    outcomes: Mapping[tuple[object, str], int]
    values: Mapping[tuple[object, str, object, str], int]
    lost_at: Mapping[tuple[object, str], int]
    _teams: Mapping[object, _Counts] = attrs.field(repr=False)
    _pool: _Counts | None = attrs.field(repr=False)
    _readers: Any = attrs.field(repr=False)

    @classmethod
    @exact_arithmetic()
    def of(cls, table: FrequencyTable) -> BayesTable:
        """The scoring table of a frequency table's counts (a snapshot)."""
        model = table.model
        outcomes = Counter({k: v for k, v in table.outcomes.items() if v})
        values = Counter({k: v for k, v in table.values.items() if v})
        lost_at = Counter({k: v for k, v in table.lost_at.items() if v})
        per_team: dict[object, dict[tuple[str, object], list[int]]] = {}
        for (team, name, value, outcome), count in values.items():
            counts = per_team.setdefault(team, {}).setdefault((name, value), [0, 0])
            counts[outcome == "lost"] += count
        teams = {
            team: _smoothed(model, outcomes, per_team.get(team, {}), lost_at, team)
            for team in sorted({team for team, _ in outcomes}, key=_team_key)
        }
        pool = _pooled(teams) if teams else None
        readers = (
            (lambda record: None) if model.team is None else _team_value(model.team),
            field_getter(model.stage),
            [(f.name, f.bind(None)) for f in model.features],
        )
        return cls(model, outcomes, values, lost_at, teams, pool, readers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BayesTable):
            return NotImplemented
        return (self.model, self.outcomes, self.values, self.lost_at) == (
            other.model,
            other.outcomes,
            other.values,
            other.lost_at,
        )

    __hash__ = None  # type: ignore[assignment] # mutable mappings inside

    @property
    def teams(self) -> tuple[object, ...]:
        """The teams with closed records, in a stable order."""
        return tuple(self._teams)

    def closed(self, team: object = MISSING) -> tuple[int, int]:
        """``(won, lost)`` closed records of a team, or of all teams."""
        if team is MISSING:
            won = sum(v for (_, o), v in self.outcomes.items() if o == "won")
            lost = sum(v for (_, o), v in self.outcomes.items() if o == "lost")
            return won, lost
        return self.outcomes.get((team, "won"), 0), self.outcomes.get((team, "lost"), 0)

    def _counts_for(self, team: object) -> tuple[_Counts | None, str, str]:
        own = self._teams.get(team)
        minimum = self.model.min_team_records
        name = "no team" if team is None else f"team {team!r}"
        if own is not None and own.closed >= max(minimum, 1):
            whose = "records without a team" if team is None else name
            return own, name, f"the counts of {whose}"
        if own is None:
            why = f"{name} has no closed records: the counts of all teams"
        else:
            why = (
                f"{name} has {own.closed} closed records, fewer than "
                f"{minimum}: the counts of all teams"
            )
        return self._pool, "all teams", why

    @exact_arithmetic()
    def probability(self, record: object) -> Prediction:
        """One open record's probability of being won, with its factors."""
        team_of, stage_of, features = self._readers
        team = team_of(record)
        model = self.model
        stage = stage_of(record) if model.stages else None
        if model.stages:
            if stage is MISSING or stage is None:
                return Prediction(Decimal(0), team, None, "no stage")
            if type(stage) is not str:
                raise DataTypeError(model.stage, stage, "a stage key (a text)")
            if stage in model.won_stages:
                return Prediction(_HUNDRED, team, None, f"in won stage {stage!r}")
            if stage in model.lost_stages:
                return Prediction(Decimal(0), team, None, f"in lost stage {stage!r}")
        counts, table, reason = self._counts_for(team)
        if counts is None:
            return Prediction(None, team, table, "no closed records yet")
        s_won = divide(counts.won, counts.won + counts.lost)
        s_lost = divide(counts.lost, counts.won + counts.lost)
        factors = []
        skipped = []
        pairs = [(name, value_of(record)) for name, value_of in features]
        if model.stages:
            pairs.append((_STAGE, stage))
        for name, value in pairs:
            if value is MISSING:
                continue
            try:
                found = counts.values.get((name, value))
            except TypeError:
                raise DataTypeError(
                    name, value, "a plain feature value (a text, number or bool)"
                ) from None
            if found is None:
                skipped.append(name)
                continue
            total_won, total_lost = counts.totals[name]
            p_won = divide(found[0], total_won)
            p_lost = divide(found[1], total_lost)
            # Products kept to 28 significant digits, like every quotient:
            # forty factors of 28 digits would not fit an exact product.
            s_won = _PRODUCT.multiply(s_won, p_won)
            s_lost = _PRODUCT.multiply(s_lost, p_lost)
            factors.append(
                Factor(name, value, p_won, p_lost, divide(p_won, p_won + p_lost))
            )
        raw = divide(s_won * _HUNDRED, s_won + s_lost)
        # Held within [0.01, 99.99]: the same as rounding first, then holding.
        percent = _LOW if raw < _LOW else _HIGH if raw > _HIGH else round_to(raw, 2)
        factors.sort(key=lambda f: (-f.score, f.feature))
        return Prediction(percent, team, table, reason, tuple(factors), tuple(skipped))

    def probabilities(self, records: Iterable[Any]) -> list[Decimal | None]:
        """Each record's probability from 0 to 1 (``percent / 100``), in order.

        A [`ProbabilityModel`][crmcore.scoring.ProbabilityModel]: evaluate it
        like any other.
        """
        return [self.probability(record).probability for record in iterate(records)]
