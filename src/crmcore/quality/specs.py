"""Data specs: what makes one type of record trustworthy, as data."""

from __future__ import annotations

import attrs

from crmcore import validators as _v
from crmcore.conditions import CONDITION_KINDS, Condition, Duration, condition_fields
from crmcore.errors import DataError

__all__ = ["DataRule", "DataSpec"]

_name = _v.name()
_text = _v.text()
_condition = _v.kind_of(CONDITION_KINDS, "a condition")


@attrs.frozen
class DataRule:
    """A validity check: a condition every record it applies to must meet.

    Attributes:
        name: The rule's name, e.g. ``"email_format"``.
        condition: What a valid record meets.
        when: Which records it applies to; by default those where every
            field the condition reads is present (a missing value is a
            completeness problem, not a validity one).
        description: What the rule means, for people.

    Examples:
        >>> from crmcore.conditions import field
        >>> DataRule("size", field("employees") >= 1).fields
        ('employees',)
    """

    name: str = attrs.field(validator=_name)
    condition: Condition = attrs.field(validator=_condition)
    when: Condition | None = attrs.field(
        default=None, validator=_v.optional(_condition), kw_only=True
    )
    description: str = attrs.field(default="", validator=_text, kw_only=True)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the condition reads."""
        return condition_fields(self.condition)


def _required(values: object) -> tuple[str, ...]:
    return _v.field_paths(values, "required")


def _consent(values: object) -> tuple[str, ...]:
    return _v.field_paths(values, "consent")


def _rules(values: object) -> tuple[DataRule, ...]:
    items: tuple[DataRule, ...] = _v.tuple_of(
        values, DataRule, "rules", item="a DataRule"
    )
    _v.unique_keys(items, "rules", "rule", by="name")
    return items


def _sources(values: object) -> tuple[str, ...]:
    return _v.names(values, "sources", plural="a list of sources", item="a source")


def _duration(value: object) -> Duration | None:
    return None if value is None else Duration.of(value, "refresh_every")


@attrs.frozen
class DataSpec:
    """What makes one type of record trustworthy.

    "A CRM strategy is a data strategy first": the required fields, the
    rules valid values meet, where the records may come from, how often they
    must be refreshed, who owns them and which consent they record.

    Attributes:
        key: The spec's key, e.g. ``"lead_source_data"``.
        records: The data set it applies to, e.g. ``"leads"`` (the name of
            the export the command line reads).
        name: Its name for people.
        required: Field paths every record must fill (present and not
            empty, as [`Exists`][crmcore.conditions.Exists] says).
        rules: Validity checks, each a [`DataRule`][crmcore.quality.DataRule].
        source: The field holding where a record came from.
        sources: The allowed sources; empty allows any (and checks none).
        refreshed: The field holding when a record was last updated (an
            aware datetime).
        refresh_every: How recent ``refreshed`` must be at ``as_of`` (a
            duration such as ``"90d"``); given together with ``refreshed``.
        owner: The key of the role that owns the data (the data steward).
        consent: Fields that record consent (``email_opt_in``): a record
            must have each filled, whatever its answer.
        description: What the data is for.

    Raises:
        DataError: For rules sharing a name, or ``refreshed`` without
            ``refresh_every`` (or the other way round).
    """

    key: str = attrs.field(validator=_name)
    records: str = attrs.field(validator=_v.plain_name())
    name: str = attrs.field(default="", validator=_text, kw_only=True)
    required: tuple[str, ...] = attrs.field(
        default=(), converter=_required, kw_only=True
    )
    rules: tuple[DataRule, ...] = attrs.field(
        default=(), converter=_rules, kw_only=True
    )
    source: str = attrs.field(default="source", validator=_v.field_path(), kw_only=True)
    sources: tuple[str, ...] = attrs.field(default=(), converter=_sources, kw_only=True)
    refreshed: str | None = attrs.field(
        default=None, validator=_v.optional(_v.field_path()), kw_only=True
    )
    refresh_every: Duration | None = attrs.field(
        default=None, converter=_duration, kw_only=True
    )
    owner: str | None = attrs.field(
        default=None, validator=_v.optional(_name), kw_only=True
    )
    consent: tuple[str, ...] = attrs.field(default=(), converter=_consent, kw_only=True)
    description: str = attrs.field(default="", validator=_text, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if (self.refreshed is None) != (self.refresh_every is None):
            given, other = (
                ("refreshed", "refresh_every")
                if self.refresh_every is None
                else ("refresh_every", "refreshed")
            )
            raise DataError(
                other,
                None,
                f"a value, since {given} is given (the two go together)",
            )

    def fields(self) -> tuple[str, ...]:
        """Every field the spec reads, in order of first mention."""
        found: list[str] = [*self.required]
        for rule in self.rules:
            found.extend(rule.fields)
            if rule.when is not None:
                found.extend(condition_fields(rule.when))
        if self.sources:
            found.append(self.source)
        if self.refreshed is not None:
            found.append(self.refreshed)
        found.extend(self.consent)
        return tuple(dict.fromkeys(found))
