"""Lead scoring: rules with decay, grades, naive Bayes, and honest evaluation.

* Rule-based models ([`ScoringModel`][crmcore.scoring.ScoringModel]): groups
  of rules with points, per-event rules with decay and caps, group and total
  caps, bands and a combined label such as ``"A1"``; every point explained.
* Decay ([`LinearDecay`][crmcore.scoring.LinearDecay],
  [`CompoundDecay`][crmcore.scoring.CompoundDecay],
  [`HalfLife`][crmcore.scoring.HalfLife],
  [`DecayWindow`][crmcore.scoring.DecayWindow]) from each event's age at an
  explicit ``as_of``.
* Grades ([`GradingProfile`][crmcore.scoring.GradingProfile]): a letter from
  A+ to F that criteria move by thirds.
* Predictive scoring ([`NaiveBayes`][crmcore.scoring.NaiveBayes]): won and
  lost counts per team in a mergeable
  [`FrequencyTable`][crmcore.scoring.FrequencyTable], Odoo's conventions,
  every probability explained by its factors.
* Features ([`FeatureSet`][crmcore.scoring.FeatureSet]): conditions and
  fields as the columns any model learns from.
* Evaluation ([`Evaluation`][crmcore.scoring.Evaluation]): the figures of
  scikit-learn (AUC, average precision, Brier, log loss, calibration) plus
  lift, gain, thresholds and conversion by band, from mergeable counts; and
  [`split_by_time`][crmcore.scoring.split_by_time].

Rules, decays and features are kinds of registries
([`RULE_KINDS`][crmcore.scoring.RULE_KINDS],
[`DECAY_KINDS`][crmcore.scoring.DECAY_KINDS],
[`FEATURE_KINDS`][crmcore.scoring.FEATURE_KINDS]), so vendors add their own
and every model round-trips through JSON.

The package's modules, in import order: ``decay``, ``rules``, ``grades``,
``features``, ``bayes``, ``evaluation``.
Users import from ``crmcore.scoring``.
"""

from __future__ import annotations

from crmcore.scoring.bayes import (
    BayesTable,
    Factor,
    FrequencyTable,
    NaiveBayes,
    Prediction,
)
from crmcore.scoring.decay import (
    DECAY_KINDS,
    CompoundDecay,
    Decay,
    DecayWindow,
    HalfLife,
    LinearDecay,
    whole_periods,
)
from crmcore.scoring.evaluation import (
    BandConversion,
    BandRate,
    CalibrationBin,
    Evaluation,
    EvaluationReport,
    Threshold,
    evaluate_model,
    split_by_time,
)
from crmcore.scoring.features import (
    FEATURE_KINDS,
    Feature,
    FeatureSet,
    FieldValue,
    Holds,
    ItemCount,
    NumberBand,
    ProbabilityModel,
)
from crmcore.scoring.grades import (
    GRADES,
    Grade,
    GradeCriterion,
    GradeStep,
    GradingProfile,
)
from crmcore.scoring.rules import (
    RULE_KINDS,
    Band,
    CompiledModel,
    Contribution,
    EventPoints,
    EventRule,
    GroupScore,
    Rule,
    RuleContext,
    RuleGroup,
    RuleOutcome,
    Score,
    ScoringModel,
    ScoringRule,
)

__all__ = [
    "DECAY_KINDS",
    "FEATURE_KINDS",
    "GRADES",
    "RULE_KINDS",
    "Band",
    "BandConversion",
    "BandRate",
    "BayesTable",
    "CalibrationBin",
    "CompiledModel",
    "CompoundDecay",
    "Contribution",
    "Decay",
    "DecayWindow",
    "Evaluation",
    "EvaluationReport",
    "EventPoints",
    "EventRule",
    "Factor",
    "Feature",
    "FeatureSet",
    "FieldValue",
    "FrequencyTable",
    "Grade",
    "GradeCriterion",
    "GradeStep",
    "GradingProfile",
    "GroupScore",
    "HalfLife",
    "Holds",
    "ItemCount",
    "LinearDecay",
    "NaiveBayes",
    "NumberBand",
    "Prediction",
    "ProbabilityModel",
    "Rule",
    "RuleContext",
    "RuleGroup",
    "RuleOutcome",
    "Score",
    "ScoringModel",
    "ScoringRule",
    "Threshold",
    "evaluate_model",
    "split_by_time",
    "whole_periods",
]
