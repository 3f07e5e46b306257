"""Evaluating a score honestly: the figures scikit-learn gives, mergeable.

An [`Evaluation`][crmcore.scoring.Evaluation] accumulates ``(probability,
outcome)`` pairs (as counts per distinct probability, so partitions merge
exactly) and its [`EvaluationReport`][crmcore.scoring.EvaluationReport]
gives, on the same inputs, the figures of scikit-learn:

* ROC AUC (``roc_auc_score``): the Mann-Whitney U over ``positives ×
  negatives``, ties counted half, computed exactly;
* average precision (``average_precision_score``): the sum over the
  distinct thresholds of ``(R_k − R_k−1) × P_k``;
* the Brier score (``brier_score_loss``) and the log loss (``log_loss``,
  probabilities clipped to ``[eps, 1 − eps]`` with the double's ``eps``);
* the calibration table (``calibration_curve``, uniform or quantile bins,
  empty bins dropped);

and what a sales team asks: the lift and the gain of the top ``k`` %, and
precision, recall and the share of records passed at every threshold.
[`BandConversion`][crmcore.scoring.BandConversion] gives the conversion
rate of each score band, and [`split_by_time`][crmcore.scoring.split_by_time]
keeps the records a model is evaluated on out of those it learned from.

Undefined figures are ``None``, never NaN: the AUC and the average precision
of pairs of one class only.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import accumulate, islice
from typing import Any, Final, Literal

import attrs

from crmcore import validators as _v
from crmcore.access import MISSING, field_getter, iterate
from crmcore.calendar import require_aware
from crmcore.errors import DataError, DataTypeError
from crmcore.money import divide, exact_arithmetic, to_decimal
from crmcore.scoring.features import ProbabilityModel

__all__ = [
    "BandConversion",
    "BandRate",
    "CalibrationBin",
    "Evaluation",
    "EvaluationReport",
    "Threshold",
    "evaluate_model",
    "split_by_time",
]

_EPS: Final = 2.220446049250313e-16  # numpy.finfo(float64).eps, as scikit-learn
_CHUNK: Final = 4096
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_HALF: Final = Decimal("0.5")


def _exact(score: object) -> Decimal:
    """A probability as a Decimal: a float as its shortest repr (as JSON writes it)."""
    if isinstance(score, float):  # numpy's float64 too
        return Decimal(repr(float(score)))
    return to_decimal(score, "probability")


def _check_pairs(scores: list[Any], labels: list[Any]) -> None:
    for index, label in enumerate(labels):
        if type(label) is not bool and not (type(label) is int and label in (0, 1)):
            raise DataTypeError(
                f"pairs[{index}][1]", label, "an outcome: True, False, 1 or 0"
            )
    for index, score in enumerate(scores):
        if type(score) is bool or not isinstance(score, (int, float, Decimal)):
            raise DataTypeError(
                f"pairs[{index}][0]", score, "a probability from 0 to 1 (a number)"
            )
        ok = (
            math.isfinite(score)
            if isinstance(score, float)
            else score.is_finite()
            if isinstance(score, Decimal)
            else True
        )
        if not ok or not 0 <= score <= 1:
            raise DataError(f"pairs[{index}][0]", score, "a probability from 0 to 1")


def _pair_counts(_i: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Counter) or any(
        type(n) is not int or n < 0 for n in value.values()
    ):
        raise DataTypeError(
            attribute.name, value, "a Counter of pairs with counts of 0 or more"
        )


@attrs.define
class Evaluation:
    """Mergeable counts of ``(probability, outcome)`` pairs.

    ``add`` / ``update`` take pairs (a probability from 0 to 1, an outcome
    ``True``/``1`` or ``False``/``0``), ``merge`` adds two evaluations,
    ``result`` gives the [`EvaluationReport`][crmcore.scoring.EvaluationReport].

    Examples:
        >>> report = Evaluation().update([(0.9, True), (0.8, False), (0.3, True),
        ...                               (0.1, False)]).result()
        >>> report.auc
        Decimal('0.75')
    """

    counts: Counter[tuple[Any, bool]] = attrs.field(
        factory=Counter, validator=_pair_counts
    )

    def empty(self) -> Evaluation:
        """A new, empty evaluation (the identity of ``merge``)."""
        return Evaluation()

    def add(self, pair: tuple[object, object]) -> None:
        """Count one ``(probability, outcome)`` pair."""
        self.update([pair])

    def update(self, pairs: Iterable[Any]) -> Evaluation:
        """Count every pair of an iterable (streaming); return ``self``."""
        iterator = iterate(pairs, "pairs")
        while chunk := list(islice(iterator, _CHUNK)):
            for index, pair in enumerate(chunk):
                if not (isinstance(pair, tuple) and len(pair) == 2):
                    raise DataTypeError(
                        f"pairs[{index}]", pair, "a (probability, outcome) pair"
                    )
            scores = [pair[0] for pair in chunk]
            labels = [pair[1] for pair in chunk]
            _check_pairs(scores, labels)
            self.counts.update(zip(scores, map(bool, labels), strict=True))
        return self

    def merge(self, other: Evaluation) -> Evaluation:
        """A new evaluation holding both counts."""
        if not isinstance(other, Evaluation):
            raise DataTypeError("other", other, "an Evaluation")
        return Evaluation(self.counts + other.counts)

    def result(self) -> EvaluationReport:
        """The figures (never changes the evaluation)."""
        return EvaluationReport.of(self.counts)


@attrs.frozen
class CalibrationBin:
    """One bin of a calibration table.

    Attributes:
        low: The bin's lower edge (exclusive, but 0 for the first bin).
        high: Its upper edge (inclusive).
        count: Pairs in the bin.
        predicted: Their mean probability.
        observed: Their share of positive outcomes.
    """

    low: Decimal
    high: Decimal
    count: int
    predicted: Decimal
    observed: Decimal


@attrs.frozen
class Threshold:
    """What passing every record scored at least ``threshold`` gives.

    Attributes:
        threshold: The lowest probability passed.
        passed: Records passed.
        share: ``passed`` over all records.
        precision: Positives among those passed.
        recall: Positives passed over all positives (``None`` without any).
    """

    threshold: Decimal
    passed: int
    share: Decimal
    precision: Decimal
    recall: Decimal | None


@attrs.frozen
class EvaluationReport:
    """The figures of an evaluation.

    Attributes:
        distribution: ``(probability, positives, negatives)`` for every
            distinct probability, highest first.
        count: Pairs counted.
        positives: Pairs with a positive outcome.
    """

    distribution: tuple[tuple[Decimal, int, int], ...]
    count: int
    positives: int

    @classmethod
    @exact_arithmetic()
    def of(cls, counts: Counter[tuple[Any, bool]]) -> EvaluationReport:
        """The report of pair counts."""
        by_score: dict[Decimal, list[int]] = {}
        for (score, label), n in counts.items():
            if n:
                entry = by_score.setdefault(_exact(score), [0, 0])
                entry[0 if label else 1] += n
        rows = tuple(
            (score, pos, neg)
            for score, (pos, neg) in sorted(by_score.items(), reverse=True)
        )
        return cls(rows, sum(p + n for _, p, n in rows), sum(p for _, p, _ in rows))

    @property
    def negatives(self) -> int:
        """Pairs with a negative outcome."""
        return self.count - self.positives

    @property
    def base_rate(self) -> Decimal | None:
        """The share of positive outcomes (``None`` without pairs)."""
        return None if not self.count else divide(self.positives, self.count)

    @property
    @exact_arithmetic()
    def auc(self) -> Decimal | None:
        """ROC AUC: ``P(score of a positive > score of a negative)``, ties half.

        ``None`` when the pairs have one class only (scikit-learn raises).
        """
        if not self.positives or not self.negatives:
            return None
        twice_u = 0
        below = self.negatives
        for _, pos, neg in self.distribution:
            below -= neg
            twice_u += pos * (2 * below + neg)
        return divide(twice_u, 2 * self.positives * self.negatives)

    @property
    @exact_arithmetic()
    def average_precision(self) -> Decimal | None:
        """Average precision: ``Σ (R_k − R_k−1) × P_k`` over the thresholds.

        ``None`` without positive outcomes.
        """
        if not self.positives:
            return None
        total = _ZERO
        true = passed = 0
        for _, pos, neg in self.distribution:
            true += pos
            passed += pos + neg
            if pos:
                total += divide(pos * true, passed)
        return divide(total, self.positives)

    @property
    @exact_arithmetic()
    def brier(self) -> Decimal | None:
        """Mean squared error of the probabilities (``None`` without pairs)."""
        if not self.count:
            return None
        total = sum(
            (
                pos * (_ONE - score) ** 2 + neg * score**2
                for score, pos, neg in self.distribution
            ),
            _ZERO,
        )
        return divide(total, self.count)

    @property
    def log_loss(self) -> Decimal | None:
        """Mean negative log-likelihood, probabilities clipped as scikit-learn.

        Computed in binary floating point (a logarithm), summed exactly
        (``math.fsum``), shown as the double's shortest repr.
        """
        if not self.count:
            return None
        terms = []
        for score, pos, neg in self.distribution:
            p = float(score)
            if pos:
                terms.append(-pos * math.log(min(max(p, _EPS), 1 - _EPS)))
            if neg:
                terms.append(-neg * math.log(min(max(1 - p, _EPS), 1 - _EPS)))
        return Decimal(repr(math.fsum(terms) / self.count))

    @exact_arithmetic()
    def calibration(
        self, bins: int = 10, *, strategy: Literal["uniform", "quantile"] = "uniform"
    ) -> tuple[CalibrationBin, ...]:
        """Mean probability against the observed rate, per bin (empty bins dropped).

        Uniform bins split [0, 1] evenly; quantile bins hold about as many
        pairs each. A probability equal to an inner edge goes to the lower
        bin, as in scikit-learn's ``calibration_curve``.
        """
        if type(bins) is not int or not 1 <= bins <= 1000:
            raise DataTypeError("bins", bins, "a number of bins from 1 to 1000")
        if strategy == "uniform":
            edges = [i * (1.0 / bins) for i in range(bins + 1)]
            edges[-1] = 1.0
        elif strategy == "quantile":
            edges = self._quantiles(bins)
        else:
            raise DataError("strategy", strategy, "'uniform' or 'quantile'")
        inner = edges[1:-1]
        found: dict[int, list[Any]] = {}
        for score, pos, neg in self.distribution:
            point = float(score)  # compared as scikit-learn compares: in floats
            index = bisect.bisect_left(inner, point)  # the inner edges below it
            entry = found.setdefault(index, [0, 0, _ZERO])
            entry[0] += pos + neg
            entry[1] += pos
            entry[2] += score * (pos + neg)
        return tuple(
            CalibrationBin(
                _exact(edges[i]) if i else _ZERO,
                _exact(edges[i + 1]),
                count,
                divide(total, count),
                divide(pos, count),
            )
            for i, (count, pos, total) in sorted(found.items())
        )

    def _quantiles(self, bins: int) -> list[float]:
        """The probabilities' percentiles as numpy computes them (linear), as floats."""
        if not self.count:
            return [0.0, 1.0]
        values = [float(s) for s, _, _ in reversed(self.distribution)]
        ends = list(accumulate(p + n for _, p, n in reversed(self.distribution)))

        def nth(k: int) -> float:
            """The k-th smallest probability (0-based), counting repeats."""
            return values[bisect.bisect_right(ends, k)]

        edges = []
        last = self.count - 1
        for i in range(bins + 1):
            # numpy: linspace(0, 1) * 100, percentile divides by 100 again, and
            # the linear method's virtual index is q·(n − 1).
            q = (i * (1.0 / bins)) * 100 / 100 if i < bins else 1.0
            h = min(max(q * last, 0.0), float(last))
            low = math.floor(h)
            a, b = nth(low), nth(min(low + 1, last))
            t = h - low
            diff = b - a
            edges.append(a + diff * t if t < 0.5 else b - diff * (1 - t))
        return edges

    @exact_arithmetic()
    def gain(self, top: Decimal | str | int) -> Decimal | None:
        """The share of all positives among the top ``top`` (a fraction) of scores.

        Records tied at the cut count in proportion (as if drawn at random
        from the tie), so the figure never depends on the order of records.
        ``None`` without positives.
        """
        caught = self._caught(top)
        return None if not self.positives else divide(caught, self.positives)

    @exact_arithmetic()
    def lift(self, top: Decimal | str | int) -> Decimal | None:
        """The positive rate of the top ``top`` of scores over the overall rate."""
        share = _v.check_fraction(top, "top")
        if not self.positives or not share:
            return None
        taken = share * self.count
        return divide(
            divide(self._caught(top), taken), divide(self.positives, self.count)
        )

    def _caught(self, top: object) -> Decimal:
        share = _v.check_fraction(top, "top")
        room = share * self.count
        caught = _ZERO
        for _, pos, neg in self.distribution:
            size = pos + neg
            if room >= size:
                caught += pos
                room -= size
                continue
            caught += divide(pos * room, size)
            break
        return caught

    @exact_arithmetic()
    def thresholds(self) -> tuple[Threshold, ...]:
        """Precision, recall and share passed at every distinct probability."""
        rows = []
        true = passed = 0
        for score, pos, neg in self.distribution:
            true += pos
            passed += pos + neg
            rows.append(
                Threshold(
                    score,
                    passed,
                    divide(passed, self.count),
                    divide(true, passed),
                    divide(true, self.positives) if self.positives else None,
                )
            )
        return tuple(rows)


def evaluate_model(
    model: ProbabilityModel,
    records: Sequence[Any],
    *,
    outcome: str = "outcome",
    positive: object = "won",
    negative: object = "lost",
) -> EvaluationReport:
    """Evaluate any model on records whose outcome is known.

    Args:
        model: Anything with ``probabilities(records)`` (0 to 1 per record).
        records: Closed records, held out from the model's training.
        outcome: The field holding each record's outcome.
        positive: The outcome that counts as positive.
        negative: The outcome that counts as negative; any other (an open
            record, a typo) is an error, never silently a negative.

    Raises:
        DataError: When the model gives no probability (``None``) for a
            record, or a number of probabilities other than one per record.
    """
    probabilities = getattr(model, "probabilities", None)
    if not callable(probabilities):
        raise DataTypeError(
            "model", model, "a model with a probabilities(records) method"
        )
    items = list(iterate(records))
    found = list(iterate(probabilities(items), "probabilities"))
    if len(found) != len(items):
        raise DataError(
            "probabilities", f"<{len(found)} values>", f"one per record ({len(items)})"
        )
    read = field_getter(outcome)
    pairs = []
    for index, (record, probability) in enumerate(zip(items, found, strict=True)):
        value = read(record)
        if value is MISSING or value is None:
            raise DataError(f"records[{index}].{outcome}", None, "the record's outcome")
        try:
            known = value in (positive, negative)
        except (TypeError, ValueError):  # an array, or a value that will not say
            known = False
        if not known:
            raise DataError(
                f"records[{index}].{outcome}",
                value,
                f"{positive!r} or {negative!r} (a closed record's outcome)",
            )
        if probability is None:
            raise DataError(
                f"probabilities[{index}]", None, "a probability (the model gave none)"
            )
        pairs.append((probability, value == positive))
    return Evaluation().update(pairs).result()


@attrs.frozen
class BandRate:
    """One band's records and how many converted."""

    band: object
    count: int
    converted: int
    rate: Decimal


@attrs.define
class BandConversion:
    """Mergeable counts of ``(band, converted)`` pairs: each band's conversion.

    Examples:
        >>> rates = BandConversion().update([("A", True), ("A", False), ("B", False)])
        >>> [(r.band, r.count, r.rate) for r in rates.result()]
        [('A', 2, Decimal('0.5')), ('B', 1, Decimal('0'))]
    """

    counts: Counter[tuple[Any, bool]] = attrs.field(
        factory=Counter, validator=_pair_counts
    )

    def empty(self) -> BandConversion:
        """A new, empty count (the identity of ``merge``)."""
        return BandConversion()

    def add(self, pair: tuple[object, object]) -> None:
        """Count one ``(band, converted)`` pair."""
        self.update([pair])

    def update(self, pairs: Iterable[Any]) -> BandConversion:
        """Count every pair (streaming); return ``self``.

        Pairs are checked a chunk at a time before any is counted, so a bad
        pair leaves the counts as they were before its chunk.
        """
        iterator = iterate(pairs, "pairs")
        while chunk := list(islice(iterator, _CHUNK)):
            found: Counter[tuple[Any, bool]] = Counter()
            for index, pair in enumerate(chunk):
                if not (isinstance(pair, tuple) and len(pair) == 2):
                    raise DataTypeError(
                        f"pairs[{index}]", pair, "a (band, converted) pair"
                    )
                band, converted = pair
                if type(converted) is not bool:
                    raise DataTypeError(
                        f"pairs[{index}][1]", converted, "True or False"
                    )
                try:
                    found[(band, converted)] += 1
                except TypeError:
                    raise DataTypeError(
                        f"pairs[{index}][0]", band, "a band name (text or None)"
                    ) from None
            self.counts.update(found)
        return self

    def merge(self, other: BandConversion) -> BandConversion:
        """A new count holding both."""
        if not isinstance(other, BandConversion):
            raise DataTypeError("other", other, "a BandConversion")
        return BandConversion(self.counts + other.counts)

    def result(self) -> tuple[BandRate, ...]:
        """Each band's count, conversions and rate, in band order (``None`` last)."""
        bands: dict[Any, list[int]] = {}
        for (band, converted), n in self.counts.items():
            if n:
                bands.setdefault(band, [0, 0])[0] += n
                if converted:
                    bands[band][1] += n
        order = sorted(bands, key=lambda b: (b is None, str(b)))
        return tuple(
            BandRate(
                band,
                bands[band][0],
                bands[band][1],
                divide(bands[band][1], bands[band][0]),
            )
            for band in order
        )


def split_by_time(
    records: Iterable[Any], at: datetime, *, field: str = "closed_at"
) -> tuple[list[Any], list[Any]]:
    """Records before ``at`` (to train on) and at or after it (to evaluate on).

    Splitting by time, not at random, keeps tomorrow's data out of the model:
    it learns from what had closed by ``at`` and is judged on what closed
    later, as it will be used.

    Raises:
        DataError: When a record has no aware instant in ``field``.
    """
    require_aware(at, "at")
    read = field_getter(field)
    before: list[Any] = []
    after: list[Any] = []
    for index, record in enumerate(iterate(records)):
        value = read(record)
        if not isinstance(value, datetime):
            raise DataTypeError(
                f"records[{index}].{field}",
                None if value is MISSING else value,
                "an aware datetime (when the record closed)",
            )
        require_aware(value, f"records[{index}].{field}")
        (before if value < at else after).append(record)
    return before, after
