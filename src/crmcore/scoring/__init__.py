"""Lead scoring: rule-based fit and engagement, decay, grades.

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

Rules and decays are kinds of registries
([`RULE_KINDS`][crmcore.scoring.RULE_KINDS],
[`DECAY_KINDS`][crmcore.scoring.DECAY_KINDS]), so vendors add their own and
every model round-trips through JSON.

The package's modules, in import order: ``decay``, ``rules``, ``grades``.
Users import from ``crmcore.scoring``.
"""

from __future__ import annotations

from crmcore.scoring.decay import (
    DECAY_KINDS,
    CompoundDecay,
    Decay,
    DecayWindow,
    HalfLife,
    LinearDecay,
    whole_periods,
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
    "GRADES",
    "RULE_KINDS",
    "Band",
    "CompiledModel",
    "CompoundDecay",
    "Contribution",
    "Decay",
    "DecayWindow",
    "EventPoints",
    "EventRule",
    "Grade",
    "GradeCriterion",
    "GradeStep",
    "GradingProfile",
    "GroupScore",
    "HalfLife",
    "LinearDecay",
    "Rule",
    "RuleContext",
    "RuleGroup",
    "RuleOutcome",
    "Score",
    "ScoringModel",
    "ScoringRule",
    "whole_periods",
]
