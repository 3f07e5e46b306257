"""Ownership maps: the five roles, RACI, and gap checks that explain themselves."""

import attrs
import pytest
from hypothesis import given

from crmcore.conditions import Count, condition_fields, field
from crmcore.errors import DataError, DataTypeError
from crmcore.handoffs import HandoffContract
from crmcore.ownership import (
    CRM_OWNER,
    PROCESS_OWNER,
    ROLES,
    STANDARD_TEAMS,
    TOOL_ADMIN,
    Asset,
    OwnershipMap,
    Responsibility,
    Role,
    Team,
    assets_of,
    ownership_gaps,
)
from crmcore.pipelines import MustHold, RequiredActivity, RequiredFields
from crmcore.sample import sample_pipeline
from crmcore.segments import Segment
from crmcore.serialization import from_json, to_json
from crmcore.testing import ownership_maps


def teams(**roles: list[str]) -> list[Team]:
    return [
        attrs.evolve(team, roles=roles.get(team.key, [])) for team in STANDARD_TEAMS
    ]


HEALTHY = OwnershipMap(
    teams(
        operations=["crm_owner", "tool_admin", "data_steward"],
        sales=["process_owner"],
        product=["executive_sponsor"],
    ),
    [
        Responsibility("pipeline:new_business", "crm_owner"),
        Responsibility("stage:proposal", "process_owner"),
        Responsibility("stage:proposal", "crm_owner", "consulted"),
        Responsibility("field:budget", "data_steward"),
        Responsibility("field:budget", "tool_admin", "responsible"),
        Responsibility("kpi:win_rate", "executive_sponsor"),
    ],
)


def test_the_five_roles_carry_their_responsibilities():
    assert [role.key for role in ROLES] == [
        "executive_sponsor",
        "crm_owner",
        "data_steward",
        "process_owner",
        "tool_admin",
    ]
    assert "manages duplicates" in ROLES[2].responsibilities
    assert [role.key for role in ROLES if role.operating] == [
        "crm_owner",
        "process_owner",
    ]
    assert [team.key for team in STANDARD_TEAMS] == [
        "marketing",
        "sales",
        "success",
        "operations",
        "product",
    ]


def test_a_healthy_map_has_no_gaps_and_answers_who_owns_what():
    report = ownership_gaps(HEALTHY)
    assert report.ok and str(report) == "ownership: no gaps over 4 assets"
    assert HEALTHY.accountable("stage:proposal") == ("process_owner",)
    assert HEALTHY.owners(Asset("stage", "proposal")) == ("sales",)
    assert HEALTHY.holders("crm_owner") == ("operations",)
    assert HEALTHY.owners("field:nothing") == ()


def test_every_gap_is_found_with_its_path():
    broken = OwnershipMap(
        teams(operations=["tool_admin"], product=["executive_sponsor"]),
        [
            Responsibility("stage:proposal", "process_owner"),
            Responsibility("field:budget", "data_steward"),
            Responsibility("field:budget", "crm_owner"),
            Responsibility("segment:smb", "data_steward", "responsible"),
        ],
        assets=["kpi:win_rate"],
    )
    report = ownership_gaps(broken, ["handoff:mql_to_sales", "kpi:win_rate"])
    assert [(gap.code, gap.path) for gap in report.gaps] == [
        ("no_accountable", "$.assets['kpi:win_rate']"),
        ("stage_owner_unheld", "$.assets['stage:proposal']"),
        ("many_accountable", "$.assets['field:budget']"),
        ("no_accountable", "$.assets['segment:smb']"),
        ("no_accountable", "$.assets['handoff:mql_to_sales']"),
        ("role_unheld", "$.roles[1]"),
        ("role_unheld", "$.roles[2]"),
        ("role_unheld", "$.roles[3]"),
        ("admin_without_operators", "$.teams"),
    ]
    messages = [gap.message for gap in report.gaps]
    assert (
        messages[0]
        == "kpi:win_rate has no accountable role; usually the executive_sponsor"
    )
    assert (
        messages[1] == "stage:proposal is owned by process_owner, which no team holds"
    )
    assert messages[2].startswith(
        "field:budget has 2 accountable roles (data_steward, crm_owner)"
    )
    assert messages[4].endswith("usually the process_owner")
    assert messages[5] == "nobody holds the CRM owner role (crm_owner)"
    assert "tool administration is held (operations)" in messages[-1]
    assert report.gaps[1].asset == Asset("stage", "proposal")
    assert report.gaps[1].role == "process_owner"
    assert str(report).splitlines()[0] == "ownership: 9 gaps over 5 assets"


def test_tool_admin_alone_is_the_failure_pattern_but_with_an_operator_it_is_not():
    only_admin = OwnershipMap(teams(operations=["tool_admin"]))
    codes = [gap.code for gap in ownership_gaps(only_admin).gaps]
    assert "admin_without_operators" in codes
    with_owner = OwnershipMap(teams(operations=["tool_admin"], sales=["process_owner"]))
    assert "admin_without_operators" not in [
        gap.code for gap in ownership_gaps(with_owner).gaps
    ]
    nobody = OwnershipMap(teams())
    assert "admin_without_operators" not in [
        gap.code for gap in ownership_gaps(nobody).gaps
    ]


def test_your_own_roles_and_teams():
    revops = Role(
        "revops_lead", "RevOps lead", ["owns the revenue process"], owns=["stage"]
    )
    ownership = OwnershipMap(
        [Team("revops", roles=["revops_lead", "tool_admin"])],
        [Responsibility("stage:demo", "revops_lead")],
        roles=[revops, TOOL_ADMIN],
    )
    assert ownership_gaps(ownership).ok
    unowned = ownership_gaps(
        OwnershipMap(
            [Team("revops", roles=["tool_admin"])], roles=[revops, TOOL_ADMIN]
        ),
        ["stage:x"],
    )
    assert (
        unowned.gaps[0].message
        == "stage:x has no accountable role; usually the revops_lead"
    )
    # Without operating roles there is no failure pattern to find.
    assert "admin_without_operators" not in [g.code for g in unowned.gaps]


def test_assets_of_definitions_cover_stages_fields_segments_and_contracts():
    pipeline = sample_pipeline()
    assets = assets_of(pipeline)
    assert assets[0] == Asset("pipeline", pipeline.key)
    assert [a.key for a in assets if a.kind == "stage"] == [
        s.key for s in pipeline.stages
    ]
    contract = HandoffContract(
        "to_success",
        "sales",
        "success",
        "won",
        requires=[
            RequiredFields(["commitments", "contacts.champion"]),
            MustHold(field("plan").is_in({"pro", "enterprise"})),
            RequiredActivity("kickoff_call"),
        ],
        carries=["commitments", "use_case"],
    )
    segment = Segment(
        "enterprise", (field("employees") >= 1000) & field("country").exists()
    )
    found = assets_of(
        contract, segment, field("mrr") > 0, RequiredFields(["owner_id"]), kpis=["nrr"]
    )
    assert [str(a) for a in found] == [
        "handoff:to_success",
        "field:commitments",
        "field:contacts.champion",
        "field:plan",
        "field:use_case",
        "segment:enterprise",
        "field:employees",
        "field:country",
        "field:mrr",
        "field:owner_id",
        "kpi:nrr",
    ]
    assert condition_fields(field("a") == 1) == ("a",)
    # The fields of an item condition are listed under their collection.
    meetings = MustHold(Count("activities", field("kind") == "meeting"))
    assert [str(a) for a in assets_of(meetings)] == [
        "field:activities",
        "field:activities[].kind",
    ]
    assert Asset.parse(" stage : proposal ") == Asset("stage", "proposal")
    with pytest.raises(DataTypeError, match=r"definitions\[0\]: expected a Pipeline"):
        assets_of("pipeline")
    with pytest.raises(DataTypeError, match="condition: expected a condition"):
        condition_fields("a == 1")


def test_gaps_over_a_whole_configuration():
    pipeline = sample_pipeline()
    ownership = OwnershipMap(
        teams(
            operations=["crm_owner", "data_steward", "tool_admin"],
            sales=["process_owner"],
            product=["executive_sponsor"],
        ),
        [
            Responsibility(f"stage:{stage.key}", "process_owner")
            for stage in pipeline.stages
        ],
    )
    report = ownership_gaps(ownership, assets_of(pipeline))
    unowned = [str(gap.asset) for gap in report.gaps]
    assert unowned[0] == f"pipeline:{pipeline.key}"
    assert all(a.startswith(("pipeline:", "field:")) for a in unowned)
    assert {gap.code for gap in report.gaps} == {"no_accountable"}


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: Asset.parse("stage"),
            DataError,
            "asset: expected an asset such as 'stage:proposal'",
        ),
        (lambda: Asset.parse("table:x"), DataError, "asset"),
        (lambda: Asset.parse(3), DataTypeError, "asset"),
        (lambda: Asset("table", "x"), DataError, "kind: expected one of 'field'"),
        (
            lambda: Responsibility("stage:x", "crm_owner", "owner"),
            DataError,
            "level: expected one of 'responsible'",
        ),
        (lambda: Role("r", "R", owns=["table"]), DataError, r"owns\[0\]"),
        (lambda: Role("r", "R", ["ok", ""]), DataTypeError, r"responsibilities\[1\]"),
        (lambda: Team("t", roles="crm_owner"), DataTypeError, "roles"),
        (lambda: OwnershipMap([Team("t"), Team("t")]), DataError, r"teams\[1\].key"),
        (
            lambda: OwnershipMap([Team("t", roles=["ceo"])]),
            DataError,
            r"teams\[0\].roles\[0\]: expected one of the roles",
        ),
        (
            lambda: OwnershipMap([], [Responsibility("stage:x", "ceo")]),
            DataError,
            r"raci\[0\].role",
        ),
        (
            lambda: OwnershipMap(
                [],
                [
                    Responsibility("stage:x", "crm_owner"),
                    Responsibility("stage:x", "crm_owner", "informed"),
                ],
            ),
            DataError,
            r"raci\[1\]: expected one level per role and asset",
        ),
        (
            lambda: OwnershipMap([], roles=[CRM_OWNER, CRM_OWNER]),
            DataError,
            r"roles\[1\].key",
        ),
        (lambda: OwnershipMap([], assets="stage:x"), DataTypeError, "assets"),
        (
            lambda: ownership_gaps("map"),
            DataTypeError,
            "ownership: expected an OwnershipMap",
        ),
        (lambda: ownership_gaps(HEALTHY, ["bad"]), DataError, "asset"),
        (lambda: assets_of(kpis=[""]), DataTypeError, r"kpis\[0\]"),
    ],
)
def test_bad_ownership_input_is_a_crmcore_error_naming_the_field(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_maps_round_trip_through_json_with_assets_as_text():
    text = to_json(HEALTHY)
    assert '"asset": "stage:proposal"' in text
    assert from_json(text, OwnershipMap) == HEALTHY
    from crmcore.errors import DefinitionError
    from crmcore.serialization import structure

    assert structure(Asset("kpi", "nrr"), Asset) == Asset("kpi", "nrr")
    with pytest.raises(DefinitionError, match=r"\$.raci\[0\].asset: expected an asset"):
        structure(
            {"teams": [], "raci": [{"asset": "x", "role": "crm_owner"}]}, OwnershipMap
        )


@given(ownership_maps())
def test_gaps_are_consistent_with_the_map(ownership):
    report = ownership_gaps(ownership)
    for gap in report.gaps:
        if gap.code == "no_accountable":
            assert ownership.accountable(gap.asset) == ()
        if gap.code == "many_accountable":
            assert len(ownership.accountable(gap.asset)) > 1
        if gap.code == "role_unheld":
            assert ownership.holders(gap.role) == ()
    flagged = {
        gap.asset
        for gap in report.gaps
        if gap.code in ("no_accountable", "many_accountable")
    }
    for asset in report.assets:
        if asset not in flagged:
            assert len(ownership.accountable(asset)) == 1
    unheld = {gap.role for gap in report.gaps if gap.code == "role_unheld"}
    assert unheld == {r.key for r in ownership.roles if not ownership.holders(r.key)}
    operators_held = any(
        ownership.holders(r) for r in (CRM_OWNER.key, PROCESS_OWNER.key)
    )
    pattern = any(gap.code == "admin_without_operators" for gap in report.gaps)
    assert pattern == (bool(ownership.holders(TOOL_ADMIN.key)) and not operators_held)
