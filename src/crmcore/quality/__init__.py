"""Data trust and duplicates: is the data good enough to decide on?

"A CRM strategy is a data strategy first." A
[`DataSpec`][crmcore.quality.DataSpec] says what makes one type of record
trustworthy: the required fields, the rules valid values meet
([`DataRule`][crmcore.quality.DataRule], in the rule language), the allowed
sources, the refresh cadence, the owning role and the consent fields.

[`DataTrust`][crmcore.quality.DataTrust] checks records against a spec as a
mergeable accumulator, like the KPIs: completeness per field, validity per
rule, freshness at ``as_of``, sources outside the allow-list, consent, and a
trust score (the share of records that pass every check). It streams over
millions of records in constant memory and explains any one record
([`DataTrust.explain`][crmcore.quality.DataTrust.explain]).

Duplicates ([`find_duplicates`][crmcore.quality.find_duplicates], with the
``quality`` extra): emails, phones in E.164, company domains and names
normalised into keys, records blocked on shared keys, pairs scored and
clustered, and each cluster a suggested merge with its reasons.

The package's modules, in import order: ``specs``, ``trust``, ``duplicates``.
Users import from ``crmcore.quality``.
"""

from __future__ import annotations

from crmcore.quality.duplicates import (
    FREE_MAIL_DOMAINS,
    PLUS_ADDRESSING,
    DuplicateCluster,
    DuplicateReport,
    DuplicateRules,
    Match,
    company_domain,
    find_duplicates,
    normalize_email,
    normalize_name,
    normalize_phone,
)
from crmcore.quality.specs import DataRule, DataSpec
from crmcore.quality.trust import (
    CheckKind,
    DataTrust,
    RecordTrust,
    TrustCheck,
    TrustFailure,
    TrustReport,
    data_trust,
)

__all__ = [
    "FREE_MAIL_DOMAINS",
    "PLUS_ADDRESSING",
    "CheckKind",
    "DataRule",
    "DataSpec",
    "DataTrust",
    "DuplicateCluster",
    "DuplicateReport",
    "DuplicateRules",
    "Match",
    "RecordTrust",
    "TrustCheck",
    "TrustFailure",
    "TrustReport",
    "company_domain",
    "data_trust",
    "find_duplicates",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
]
