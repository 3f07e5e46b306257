"""The playbook: the whole CRM strategy as one checked value.

A [`Playbook`][crmcore.playbook.Playbook] holds every decision of the
strategy: the canvas and statement, segments, lifecycle moments, pipelines,
the teams' definitions, ownership, handoffs and SLAs, routing, scoring, the
KPIs with their goals and review cadence, data specs, custom fields and the
priority matrix. It is frozen, round-trips through JSON, is versioned
([`load_playbook`][crmcore.playbook.load_playbook] migrates older files)
and has a JSON Schema generated from its types.

[`check_playbook`][crmcore.playbook.check_playbook] runs every check of
the [`CHECKS`][crmcore.playbook.CHECKS] registry: one per failure pattern of
CRM strategies, each finding with a path and a fix. Vendors register their
own checks like any other kind.

The package's modules, in import order: ``value``, ``checks``, ``schema``, ``report``.
Users import from ``crmcore.playbook``.
"""

from __future__ import annotations

from crmcore.playbook.checks import (
    CHECKS,
    CheckReport,
    ConflictingDefinitions,
    DataWithoutOwner,
    HandoffWithoutContext,
    InitiativeWithoutOwner,
    KpiWithoutDecision,
    MigrationWithoutStrategy,
    OwnershipGaps,
    PlaybookCheck,
    ReportingOnly,
    StageWithoutCriteria,
    StrategyGaps,
    UnusedField,
    VagueGoal,
    check_playbook,
)
from crmcore.playbook.report import DATA_SETS, PlaybookReport, playbook_report
from crmcore.playbook.schema import SCHEMA_ID, playbook_schema
from crmcore.playbook.value import (
    MIGRATIONS,
    PLAYBOOK_VERSION,
    Definition,
    FieldSpec,
    Playbook,
    load_playbook,
)

__all__ = [
    "CHECKS",
    "DATA_SETS",
    "MIGRATIONS",
    "PLAYBOOK_VERSION",
    "SCHEMA_ID",
    "CheckReport",
    "ConflictingDefinitions",
    "DataWithoutOwner",
    "Definition",
    "FieldSpec",
    "HandoffWithoutContext",
    "InitiativeWithoutOwner",
    "KpiWithoutDecision",
    "MigrationWithoutStrategy",
    "OwnershipGaps",
    "Playbook",
    "PlaybookCheck",
    "PlaybookReport",
    "ReportingOnly",
    "StageWithoutCriteria",
    "StrategyGaps",
    "UnusedField",
    "VagueGoal",
    "check_playbook",
    "load_playbook",
    "playbook_report",
    "playbook_schema",
]
