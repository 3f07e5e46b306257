"""The playbook: the whole CRM strategy as one checked value.

A [`Playbook`][crmcore.playbook.Playbook] holds every decision of the
strategy: the canvas and statement, segments, lifecycle moments, pipelines,
the teams' definitions, ownership, handoffs and SLAs, routing, scoring, the
KPIs with their goals and review cadence, data specs, custom fields and the
priority matrix. It is frozen, round-trips through JSON, is versioned
([`load_playbook`][crmcore.playbook.load_playbook] migrates older files)
and has a JSON Schema generated from its types.

The package's modules, in import order: ``value``.
Users import from ``crmcore.playbook``.
"""

from __future__ import annotations

from crmcore.playbook.value import (
    MIGRATIONS,
    PLAYBOOK_VERSION,
    Definition,
    FieldSpec,
    Playbook,
    load_playbook,
)

__all__ = [
    "MIGRATIONS",
    "PLAYBOOK_VERSION",
    "Definition",
    "FieldSpec",
    "Playbook",
    "load_playbook",
]
