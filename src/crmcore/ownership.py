"""Ownership: who owns which part of the CRM, and the gaps between them.

A CRM fails less for lack of features than for lack of owners. The five
roles of a CRM strategy, each with its responsibilities as data:

| role | responsibility |
|---|---|
| executive sponsor | keeps the CRM tied to revenue and customer strategy |
| CRM owner | owns fields, process, automation, permissions and reviews |
| data steward | manages data quality, duplicates, consent and definitions |
| process owner | manages stages, SLAs and team-level workflow |
| tool admin | manages setup, permissions, integrations and deployment |

An [`OwnershipMap`][crmcore.ownership.OwnershipMap] says which team holds
which role and, as a RACI matrix, which role is responsible, accountable,
consulted or informed for each asset of the configuration: fields, stages,
pipelines, segments, KPIs, handoff contracts, integrations and data specs.
[`ownership_gaps`][crmcore.ownership.ownership_gaps] finds what is missing,
each gap with a path, the asset or role and what to do:

* an asset with no accountable role, or more than one;
* a role nobody holds;
* a stage whose accountable role no team holds;
* tool administration held while operating ownership (the CRM owner, the
  process owner) is not: a failure pattern of CRM strategies.

[`assets_of`][crmcore.ownership.assets_of] lists the assets of definitions
(a pipeline's stages, the fields its criteria read, segments, contracts),
so that the map can be checked against the configuration it governs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal, get_args

import attrs

from crmcore import validators as _v
from crmcore.conditions import CONDITION_KINDS, condition_fields
from crmcore.errors import DataError, DataTypeError
from crmcore.handoffs import HandoffContract
from crmcore.pipelines import CRITERION_KINDS, Pipeline
from crmcore.segments import Segment

__all__ = [
    "CRM_OWNER",
    "DATA_STEWARD",
    "EXECUTIVE_SPONSOR",
    "PROCESS_OWNER",
    "ROLES",
    "STANDARD_TEAMS",
    "TOOL_ADMIN",
    "Asset",
    "AssetKind",
    "GapCode",
    "OwnershipGap",
    "OwnershipMap",
    "OwnershipReport",
    "Raci",
    "Responsibility",
    "Role",
    "Team",
    "assets_of",
    "ownership_gaps",
]

AssetKind = Literal[
    "field",
    "stage",
    "pipeline",
    "segment",
    "moment",
    "kpi",
    "handoff",
    "integration",
    "data_spec",
    "team",
    "role",
]
"""What kind of part of a CRM configuration an asset is.

A ``moment`` is a lifecycle moment to intervene at (a segment such as those
of [`intervention_moments`][crmcore.lifecycle.intervention_moments]); a
``team`` and a ``role`` are parts of the ownership map itself, which a
strategy refers to as it refers to the rest.
"""
_ASSET_KINDS: Final = get_args(AssetKind)

Raci = Literal["responsible", "accountable", "consulted", "informed"]
"""A role's part for an asset: does the work, answers for it, is asked, is told."""
_RACI: Final = get_args(Raci)

_name = _v.name()


def _texts(values: object) -> tuple[str, ...]:
    return _v.names(
        values, "responsibilities", plural="a list of texts", item="a non-empty text"
    )


def _kinds(values: object) -> tuple[AssetKind, ...]:
    items = _v.names(
        values, "owns", plural="a list of asset kinds", item="an asset kind"
    )
    for index, item in enumerate(items):
        _v.check_one_of(item, f"owns[{index}]", _ASSET_KINDS)
    return items  # type: ignore[return-value]


@attrs.frozen
class Role:
    """A role of CRM ownership, with its responsibilities as data.

    Attributes:
        key: The role's key, e.g. ``"data_steward"``.
        title: Its name for people.
        responsibilities: What it does, one text each.
        owns: The asset kinds it is usually accountable for (used to
            suggest an owner for an asset that has none).
        operating: Whether it is operating ownership (runs the CRM day to
            day), as the CRM owner and the process owner are.
    """

    key: str = attrs.field(validator=_name)
    title: str = attrs.field(validator=_name)
    responsibilities: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    owns: tuple[AssetKind, ...] = attrs.field(
        default=(), converter=_kinds, kw_only=True
    )
    operating: bool = attrs.field(default=False, validator=_v.boolean(), kw_only=True)


EXECUTIVE_SPONSOR: Final = Role(
    "executive_sponsor",
    "Executive sponsor",
    ("keeps the CRM tied to revenue and customer strategy",),
    owns=("kpi",),
)
CRM_OWNER: Final = Role(
    "crm_owner",
    "CRM owner",
    (
        "owns fields",
        "owns process",
        "owns automation",
        "owns permissions",
        "owns reviews",
    ),
    owns=("pipeline", "field"),
    operating=True,
)
DATA_STEWARD: Final = Role(
    "data_steward",
    "Data steward",
    (
        "manages data quality",
        "manages duplicates",
        "manages consent",
        "manages definitions",
    ),
    owns=("data_spec", "segment"),
)
PROCESS_OWNER: Final = Role(
    "process_owner",
    "Process owner",
    ("manages stages", "manages SLAs", "manages team-level workflow"),
    owns=("stage", "handoff"),
    operating=True,
)
TOOL_ADMIN: Final = Role(
    "tool_admin",
    "Tool admin",
    (
        "manages setup",
        "manages permissions",
        "manages integrations",
        "manages deployment",
    ),
    owns=("integration",),
)
ROLES: Final = (EXECUTIVE_SPONSOR, CRM_OWNER, DATA_STEWARD, PROCESS_OWNER, TOOL_ADMIN)
"""The five roles of CRM ownership."""


def _role_keys(values: object) -> tuple[str, ...]:
    return _v.names(values, "roles", plural="a list of role keys", item="a role key")


def _members(values: object) -> tuple[str, ...]:
    return _v.names(values, "members", plural="a list of people", item="a person")


@attrs.frozen
class Team:
    """A team and the ownership roles it holds.

    Attributes:
        key: The team's key, e.g. ``"sales"``.
        name: Its name for people.
        roles: The keys of the roles it holds.
        members: The people in it (keys or names).
    """

    key: str = attrs.field(validator=_name)
    name: str = attrs.field(default="", validator=_v.text(), kw_only=True)
    roles: tuple[str, ...] = attrs.field(default=(), converter=_role_keys, kw_only=True)
    members: tuple[str, ...] = attrs.field(default=(), converter=_members, kw_only=True)


STANDARD_TEAMS: Final = tuple(
    Team(key, name=key.title())
    for key in ("marketing", "sales", "success", "operations", "product")
)
"""The teams of a CRM strategy, holding no roles yet: ``attrs.evolve`` them."""


_ASSET_TEXT: Final = "an asset such as 'stage:proposal' (kind:key)"


@attrs.frozen(order=True)
class Asset:
    """One part of a CRM configuration that someone must own.

    Attributes:
        kind: ``field``, ``stage``, ``pipeline``, ``segment``, ``moment``,
            ``kpi``, ``handoff``, ``integration``, ``data_spec``, ``team``
            or ``role``.
        key: Its key (a field path, a stage key, a KPI name).

    Examples:
        >>> Asset.parse("stage:proposal")
        Asset(kind='stage', key='proposal')
    """

    kind: AssetKind = attrs.field(validator=_v.one_of(*_ASSET_KINDS))
    key: str = attrs.field(validator=_name)

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"

    @classmethod
    def parse(cls, text: object) -> Asset:
        """An asset from its text form, ``"kind:key"``.

        Raises:
            DataTypeError: When ``text`` is not a string.
            DataError: When it is not a known kind and a key.
        """
        if not isinstance(text, str):
            raise DataTypeError("asset", text, _ASSET_TEXT)
        kind, colon, key = text.partition(":")
        kind, key = kind.strip(), key.strip()
        if not colon or kind not in _ASSET_KINDS or not key:
            raise DataError("asset", text, _ASSET_TEXT)
        return cls(kind, key)  # type: ignore[arg-type]

    @classmethod
    def of(cls, value: object, field: str = "asset") -> Asset:
        """An asset, or one from its text form, errors naming ``field``."""
        if isinstance(value, Asset):
            return value
        try:
            return cls.parse(value)
        except DataError as error:  # DataTypeError too
            raise type(error)(field, value, error.expected) from None

    @classmethod
    def many(
        cls,
        values: object,
        field: str = "assets",
        expected: str = "a list of assets such as 'stage:proposal'",
    ) -> tuple[Asset, ...]:
        """Assets from a list of assets or texts, errors naming ``field[i]``.

        The one conversion of a list of references to parts (an ownership
        map's assets, a strategy canvas's answers).
        """
        items = _v.list_of(values, field, expected)
        return tuple(cls.of(item, f"{field}[{i}]") for i, item in enumerate(items))


def _asset(value: object) -> Asset:
    return Asset.of(value)


@attrs.frozen
class Responsibility:
    """One cell of the RACI matrix: a role's part for an asset.

    Attributes:
        asset: The asset (an ``Asset`` or ``"stage:proposal"``).
        role: The key of the role.
        level: ``responsible``, ``accountable``, ``consulted`` or ``informed``.
    """

    asset: Asset = attrs.field(converter=_asset)
    role: str = attrs.field(validator=_name)
    level: Raci = attrs.field(default="accountable", validator=_v.one_of(*_RACI))


def _roles(values: object) -> tuple[Role, ...]:
    items: tuple[Role, ...] = _v.tuple_of(values, Role, "roles", item="a Role")
    return items


def _teams(values: object) -> tuple[Team, ...]:
    items: tuple[Team, ...] = _v.tuple_of(values, Team, "teams", item="a Team")
    return items


def _cells(values: object) -> tuple[Responsibility, ...]:
    items: tuple[Responsibility, ...] = _v.tuple_of(
        values, Responsibility, "raci", item="a Responsibility"
    )
    return items


def _assets(values: object) -> tuple[Asset, ...]:
    return Asset.many(values)


@attrs.frozen
class OwnershipMap:
    """Who holds which role, and the RACI matrix over the assets.

    Attributes:
        teams: The teams and the roles each holds.
        raci: The responsibilities, one per role and asset.
        roles: The roles (the five of CRM ownership by default; add your own).
        assets: Assets the map must cover besides those in ``raci``.

    Raises:
        DataError: For a repeated role or team key, a team holding or a
            responsibility naming an unknown role, or the same role listed
            twice for one asset.
    """

    teams: tuple[Team, ...] = attrs.field(converter=_teams)
    raci: tuple[Responsibility, ...] = attrs.field(default=(), converter=_cells)
    roles: tuple[Role, ...] = attrs.field(default=ROLES, converter=_roles, kw_only=True)
    assets: tuple[Asset, ...] = attrs.field(default=(), converter=_assets, kw_only=True)
    _accountable: dict[Asset, tuple[str, ...]] = attrs.field(
        init=False, repr=False, eq=False
    )
    _holders: dict[str, tuple[str, ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        known = _v.unique_keys(self.roles, "roles", "role")
        _v.unique_keys(self.teams, "teams", "team")
        for index, team in enumerate(self.teams):
            for position, held in enumerate(team.roles):
                if held not in known:
                    raise DataError(
                        f"teams[{index}].roles[{position}]",
                        held,
                        f"one of the roles {', '.join(sorted(known))}",
                    )
        cells: set[tuple[Asset, str]] = set()
        accountable: dict[Asset, list[str]] = {}
        for index, cell in enumerate(self.raci):
            if cell.role not in known:
                raise DataError(
                    f"raci[{index}].role",
                    cell.role,
                    f"one of the roles {', '.join(sorted(known))}",
                )
            if (cell.asset, cell.role) in cells:
                raise DataError(
                    f"raci[{index}]",
                    f"{cell.asset} {cell.role}",
                    "one level per role and asset",
                )
            cells.add((cell.asset, cell.role))
            if cell.level == "accountable":
                accountable.setdefault(cell.asset, []).append(cell.role)
        holders: dict[str, list[str]] = {}
        for team in self.teams:
            for role in team.roles:
                holders.setdefault(role, []).append(team.key)
        set_ = object.__setattr__
        set_(self, "_accountable", {k: tuple(v) for k, v in accountable.items()})
        set_(self, "_holders", {k: tuple(v) for k, v in holders.items()})

    def holders(self, role: str) -> tuple[str, ...]:
        """The keys of the teams holding a role."""
        return self._holders.get(role, ())

    def accountable(self, asset: Asset | str) -> tuple[str, ...]:
        """The roles accountable for an asset."""
        return self._accountable.get(_asset(asset), ())

    def owners(self, asset: Asset | str) -> tuple[str, ...]:
        """The teams that answer for an asset: those holding its accountable roles."""
        return tuple(
            dict.fromkeys(
                t for role in self.accountable(asset) for t in self.holders(role)
            )
        )


GapCode = Literal[
    "no_accountable",
    "many_accountable",
    "role_unheld",
    "stage_owner_unheld",
    "admin_without_operators",
]
"""What kind of gap an [`OwnershipGap`][crmcore.ownership.OwnershipGap] is."""


@attrs.frozen
class OwnershipGap:
    """One gap in ownership, explained.

    Attributes:
        code: ``no_accountable``, ``many_accountable``, ``role_unheld``,
            ``stage_owner_unheld`` or ``admin_without_operators``.
        path: Where in the map (or which asset) it is, e.g.
            ``$.assets['stage:proposal']`` or ``$.roles[2]``.
        message: What is wrong and what to do.
        asset: The asset concerned, if any.
        role: The role concerned, if any.
    """

    code: GapCode
    path: str
    message: str
    asset: Asset | None = None
    role: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@attrs.frozen
class OwnershipReport:
    """Every gap of an ownership map, and the assets it was checked over.

    Attributes:
        gaps: The gaps, in a stable order (assets, then roles, then patterns).
        assets: Every asset checked.
    """

    gaps: tuple[OwnershipGap, ...]
    assets: tuple[Asset, ...]

    @property
    def ok(self) -> bool:
        """Whether there is no gap."""
        return not self.gaps

    def __str__(self) -> str:
        if not self.gaps:
            return f"ownership: no gaps over {len(self.assets)} assets"
        lines = [f"ownership: {len(self.gaps)} gaps over {len(self.assets)} assets"]
        lines.extend(f"  {gap}" for gap in self.gaps)
        return "\n".join(lines)


def _suggest(roles: tuple[Role, ...], kind: str) -> str:
    usual = [role.key for role in roles if kind in role.owns]
    return f"; usually the {' or '.join(usual)}" if usual else ""


def ownership_gaps(
    ownership: OwnershipMap, assets: Iterable[Asset | str] = ()
) -> OwnershipReport:
    """Every ownership gap of a map, over its assets and ``assets``.

    Args:
        ownership: The map to check.
        assets: The assets of the configuration it governs (see
            [`assets_of`][crmcore.ownership.assets_of]), besides those the
            map lists.

    Raises:
        DataTypeError: When ``ownership`` is not an ``OwnershipMap``.
        DataError: For an asset that is not one.

    Examples:
        >>> ownership = OwnershipMap(
        ...     [Team("ops", roles=["tool_admin"])],
        ...     [Responsibility("stage:proposal", "process_owner")],
        ... )
        >>> for gap in ownership_gaps(ownership).gaps:
        ...     print(gap.code)
        stage_owner_unheld
        role_unheld
        role_unheld
        role_unheld
        role_unheld
        admin_without_operators
    """
    if not isinstance(ownership, OwnershipMap):
        raise DataTypeError("ownership", ownership, "an OwnershipMap")
    checked = dict.fromkeys(
        [*ownership.assets, *(cell.asset for cell in ownership.raci), *_assets(assets)]
    )
    gaps: list[OwnershipGap] = []
    for asset in checked:
        path = f"$.assets[{str(asset)!r}]"
        accountable = ownership.accountable(asset)
        if not accountable:
            gaps.append(
                OwnershipGap(
                    "no_accountable",
                    path,
                    f"{asset} has no accountable role"
                    + _suggest(ownership.roles, asset.kind),
                    asset=asset,
                )
            )
        elif len(accountable) > 1:
            gaps.append(
                OwnershipGap(
                    "many_accountable",
                    path,
                    f"{asset} has {len(accountable)} accountable roles "
                    f"({', '.join(accountable)}); keep one accountable, make the "
                    "others responsible",
                    asset=asset,
                )
            )
        if asset.kind == "stage":
            gaps.extend(
                OwnershipGap(
                    "stage_owner_unheld",
                    path,
                    f"{asset} is owned by {owner}, which no team holds",
                    asset=asset,
                    role=owner,
                )
                for owner in accountable
                if not ownership.holders(owner)
            )
    gaps.extend(
        OwnershipGap(
            "role_unheld",
            f"$.roles[{index}]",
            f"nobody holds the {role.title} role ({role.key})",
            role=role.key,
        )
        for index, role in enumerate(ownership.roles)
        if not ownership.holders(role.key)
    )
    operators = [role.key for role in ownership.roles if role.operating]
    admins = ownership.holders(TOOL_ADMIN.key)
    if admins and operators and not any(ownership.holders(r) for r in operators):
        gaps.append(
            OwnershipGap(
                "admin_without_operators",
                "$.teams",
                f"tool administration is held ({', '.join(admins)}) but operating "
                f"ownership is not ({', '.join(operators)}): the tool is run, the "
                "CRM is not",
                role=TOOL_ADMIN.key,
            )
        )
    return OwnershipReport(tuple(gaps), tuple(checked))


def _criteria_fields(criteria: Iterable[Any]) -> list[str]:
    fields: list[str] = []
    for criterion in criteria:
        as_condition = getattr(criterion, "as_condition", None)
        if callable(as_condition):
            fields.extend(condition_fields(as_condition()))
    return fields


def assets_of(*definitions: object, kpis: Iterable[str] = ()) -> tuple[Asset, ...]:
    """The assets of definitions: what an ownership map should cover.

    A pipeline gives itself, its stages and the fields its exit criteria
    read; a segment itself and the fields of its rule; a handoff contract
    itself and the fields it requires and carries; a condition or an exit
    criterion its fields. ``kpis`` adds KPIs by name.

    Raises:
        DataTypeError: For a definition of another type.

    Examples:
        >>> from crmcore.conditions import field
        >>> [str(a) for a in assets_of(Segment("smb", field("employees") < 50))]
        ['segment:smb', 'field:employees']
    """
    found: list[Asset] = []
    for index, definition in enumerate(definitions):
        fields: list[str] = []
        if isinstance(definition, Pipeline):
            found.append(Asset("pipeline", definition.key))
            found.extend(Asset("stage", stage.key) for stage in definition.stages)
            for stage in definition.stages:
                fields.extend(_criteria_fields(stage.exit_criteria))
        elif isinstance(definition, Segment):
            found.append(Asset("segment", definition.name))
            fields.extend(condition_fields(definition.condition))
        elif isinstance(definition, HandoffContract):
            found.append(Asset("handoff", definition.key))
            fields.extend(_criteria_fields(definition.requires))
            fields.extend(definition.carries)
        elif CONDITION_KINDS.holds(definition):
            fields.extend(condition_fields(definition))
        elif CRITERION_KINDS.holds(definition):
            fields.extend(_criteria_fields([definition]))
        else:
            raise DataTypeError(
                f"definitions[{index}]",
                definition,
                "a Pipeline, Segment, HandoffContract, condition or exit criterion",
            )
        found.extend(Asset("field", path) for path in fields)
    found.extend(
        Asset("kpi", name)
        for name in _v.names(
            kpis, "kpis", plural="a list of KPI names", item="a KPI name"
        )
    )
    return tuple(dict.fromkeys(found))
