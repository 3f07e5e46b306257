import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.conditions import field
from crmcore.errors import DataError, DataTypeError, DefinitionError
from crmcore.segments import (
    IcpCriterion,
    IcpModel,
    IcpTier,
    Segment,
    SegmentCounter,
    SegmentOverlap,
    Tier,
    Tiering,
    b2b_segments,
    b2b_size_tiers,
    b2c_segments,
)
from crmcore.serialization import structure, unstructure
from crmcore.testing import conditions, icp_models, tierings
from crmcore.testing import segments as segments_strategy

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)

saas = Segment("saas", field("industry") == "saas", description="Software companies")
big = Segment("big", field("employees") >= 100)


def test_segment_membership_filter_and_explanation():
    rows = [{"industry": "saas"}, {"industry": "retail"}, {}]
    assert saas.matches(rows[0]) and not saas.matches(rows[2])
    assert list(saas.filter(iter(rows))) == [rows[0]]
    why = saas.explain(rows[1])
    assert not why.holds and why.unmet()[0].actual == "retail"
    recent = Segment("recent", field("seen").within_last("7d"))
    assert recent.matches({"seen": AS_OF}, as_of=AS_OF)
    assert structure(unstructure(saas), Segment) == saas


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: Segment("", field("a") == 1),
            DataTypeError,
            "name: expected a non-empty name",
        ),
        (
            lambda: Segment("x", "a == 1"),
            DataTypeError,
            "condition: expected a condition",
        ),
        (
            lambda: Segment("x", field("a") == 1, description=3),
            DataTypeError,
            "description: expected a string",
        ),
        (lambda: Tiering("t", ()), DataError, "tiers: expected at least one tier"),
        (lambda: Tiering("t", "abc"), DataTypeError, "tiers: expected a list of Tier"),
        (lambda: Tiering("t", [saas]), DataTypeError, r"tiers\[0\]: expected Tier"),  # type: ignore[list-item]
        (
            lambda: Tiering(
                "t", [Tier("a", field("x") == 1), Tier("a", field("x") == 2)]
            ),
            DataError,
            r"tiers\[1\].name: expected a name not used before",
        ),
        (
            lambda: Tiering("t", [Tier("a", field("x") == 1)], default=""),
            DataTypeError,
            "default: expected a non-empty name or None",
        ),
        (
            lambda: IcpModel("m", ()),
            DataError,
            "criteria: expected at least one criterion",
        ),
        (
            lambda: IcpCriterion("c", field("a") == 1, weight=0),
            DataError,
            "weight: expected a positive weight",
        ),
        (
            lambda: IcpCriterion("c", field("a") == 1, weight=0.5),
            DataTypeError,
            "weight",
        ),
        (
            lambda: IcpTier("A", 101),
            DataError,
            "min_score: expected a score from 0 to 100",
        ),
    ],
)
def test_bad_definitions(build, error, message):
    with pytest.raises(error, match=message):
        build()


# -- tiers ------------------------------------------------------------------------------------
priority = Tiering(
    "priority",
    (
        Tier("A", (field("employees") >= 1000) & (field("industry") == "saas")),
        Tier("B", field("employees") >= 100),
        Tier("C", field("employees") >= 0),
    ),
    default="unknown",
)


def test_first_match_all_matches_and_default():
    enterprise = {"employees": 5000, "industry": "saas"}
    assert priority.assign(enterprise) == "A"
    assert priority.assign_all(enterprise) == ("A", "B", "C")
    assert priority.assign({"employees": 150}) == "B"
    assert priority.assign({}) == "unknown"
    assign = priority.assigner()
    assert [assign(r) for r in ({"employees": 1}, {})] == ["C", "unknown"]
    assert Tiering("t", [Tier("x", field("a") == 1)]).assign({}) is None


def test_tier_decision_explains_each_tier_tried():
    decision = priority.decide({"employees": 150})
    assert decision.tier == "B" and decision.matched
    assert [name for name, _ in decision.explanations] == ["A", "B"]
    assert str(decision).splitlines()[0] == "tier: B"
    fallback = priority.decide({})
    assert fallback.tier == "unknown" and not fallback.matched
    assert str(fallback).splitlines()[0] == "tier: unknown (default)"
    assert len(fallback.explanations) == 3


def test_tier_counts_include_empty_tiers_and_default():
    rows = [{"employees": 5000, "industry": "saas"}, {"employees": 5}, {}, {}]
    assert priority.counts(rows) == {"A": 1, "B": 0, "C": 1, "unknown": 2}
    assert structure(unstructure(priority), Tiering) == priority


# -- counting and overlap ------------------------------------------------------------------------
def test_overlap_matrix_worked_example():
    counter = SegmentCounter.of([saas, big])
    counter.update(
        [
            {"industry": "saas", "employees": 500},  # both
            {"industry": "saas", "employees": 5},  # saas only
            {"industry": "retail", "employees": 500},  # big only
            {"industry": "retail", "employees": 5},  # neither
            {},  # neither
        ]
    )
    counter.add({"industry": "saas", "employees": 1000})  # both
    result = counter.result()
    assert result.names == ("saas", "big")
    assert result.total == 6
    assert result.counts == (3, 3)
    assert result.matrix == ((3, 2), (2, 3))
    assert result.in_none == 2
    assert result.overlap("big", "saas") == 2
    assert result.jaccard("saas", "big") == Decimal(2) / Decimal(4)
    assert result.to_rows()[0] == {"segment": "saas", "count": 3, "saas": 3, "big": 2}
    assert (
        "<table>" in result._repr_html_()
        and "6 records, 2 in no segment" in result._repr_html_()
    )
    with pytest.raises(DataError, match="name: expected one of"):
        result.count("enterprise")


def test_jaccard_is_undefined_for_two_empty_segments():
    empty = SegmentCounter.of([saas, big]).result()
    assert empty.jaccard("saas", "big") is None
    assert empty == SegmentOverlap(("saas", "big"), 0, (0, 0), ((0, 0), (0, 0)), 0)


def test_counter_validation():
    with pytest.raises(DataError, match="segments: expected at least one segment"):
        SegmentCounter.of([])
    with pytest.raises(DataError, match=r"segments\[1\].name"):
        SegmentCounter.of([saas, saas])
    with pytest.raises(
        DataError, match="other: expected a SegmentCounter of the same segments"
    ):
        SegmentCounter.of([saas]).merge(SegmentCounter.of([big]))


records = st.lists(
    st.fixed_dictionaries(
        {}, optional={"a": st.integers(0, 3), "b": st.integers(0, 3), "c": st.none()}
    ),
    max_size=30,
)


@given(
    st.lists(conditions(fields=("a", "b", "c")), min_size=1, max_size=4),
    records,
    st.data(),
)
def test_merging_partitions_equals_one_pass_and_order_does_not_matter(
    rules, rows, data
):
    segments = [Segment(f"s{i}", rule) for i, rule in enumerate(rules)]
    single = SegmentCounter.of(segments, as_of=AS_OF).update(rows)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=3)))
    parts = [rows[i:j] for i, j in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
    merged = SegmentCounter.of(segments, as_of=AS_OF)
    for part in parts:
        merged = merged.merge(SegmentCounter.of(segments, as_of=AS_OF).update(part))
    assert merged.result() == single.result()
    shuffled = list(rows)
    random.Random(data.draw(st.integers(0, 1000))).shuffle(shuffled)
    shuffled_counter = SegmentCounter.of(segments, as_of=AS_OF).update(shuffled)
    assert shuffled_counter.result() == single.result()
    result = single.result()
    assert result.total == len(rows)
    for i in range(len(segments)):
        assert result.matrix[i][i] == result.counts[i]
        for j in range(len(segments)):
            assert (
                result.matrix[i][j]
                == result.matrix[j][i]
                <= min(result.counts[i], result.counts[j])
            )
    assert result.counts == tuple(
        sum(1 for r in rows if s.matches(r, as_of=AS_OF)) for s in segments
    )
    assert result.in_none == sum(
        1 for r in rows if not any(s.matches(r, as_of=AS_OF) for s in segments)
    )


# -- ICP fit -------------------------------------------------------------------------------------
icp = IcpModel(
    "b2b_saas",
    (
        IcpCriterion(
            "industry", field("industry").is_in({"saas", "fintech"}), weight=3
        ),
        IcpCriterion("size", field("employees").between(50, 1000), weight=2),
        IcpCriterion("region", field("country").is_in({"DE", "AT", "CH"}), weight=1),
    ),
    tiers=(IcpTier("A", 80), IcpTier("B", 50), IcpTier("C", 20)),
    disqualifiers=(Segment("competitor", field("is_competitor") == True),),  # noqa: E712
)


@pytest.mark.parametrize(
    ("record", "score", "tier"),
    [
        # 3 + 2 + 1 = 6 of 6 -> 100
        ({"industry": "saas", "employees": 200, "country": "DE"}, "100.00", "A"),
        # 3 + 2 of 6 -> 83.33
        ({"industry": "saas", "employees": 200, "country": "US"}, "83.33", "A"),
        # 3 of 6 -> 50
        ({"industry": "fintech"}, "50.00", "B"),
        # 2 + 1 of 6 -> 50
        ({"employees": 60, "country": "CH"}, "50.00", "B"),
        # 1 of 6 -> 16.67, below every tier
        ({"country": "AT"}, "16.67", None),
        ({}, "0.00", None),
        ({"industry": "saas", "is_competitor": True}, "0.00", None),
    ],
)
def test_icp_fit_worked_examples(record, score, tier):
    fit = icp.score(record)
    assert fit.score == Decimal(score)
    assert fit.tier == tier
    assert icp.scorer()(record) == fit.score


def test_icp_fit_lists_every_contribution():
    fit = icp.score({"industry": "saas", "employees": 10, "country": "DE"})
    assert [(c.name, c.matched, c.points) for c in fit.contributions] == [
        ("industry", True, Decimal("50.00")),
        ("size", False, Decimal("0.00")),
        ("region", True, Decimal("16.67")),
    ]
    assert str(fit).splitlines() == [
        "ICP fit 66.67 (B)",
        "  ✓ industry: +50.00 (weight 3)",
        "  ✗ size: +0.00 (weight 2)",
        "  ✓ region: +16.67 (weight 1)",
    ]
    blocked = icp.score({"industry": "saas", "is_competitor": True})
    assert blocked.disqualified_by == ("competitor",)
    assert all(c.points == 0 for c in blocked.contributions)
    assert "disqualified by: competitor" in str(blocked)


def test_icp_round_trips_and_reports_problems_at_once():
    assert structure(unstructure(icp), IcpModel) == icp
    bad = unstructure(icp)
    bad["criteria"][0]["weight"] = "-1"
    bad["tiers"][1]["min_score"] = "150"
    with pytest.raises(DefinitionError) as caught:
        structure(bad, IcpModel)
    assert [p.path for p in caught.value.problems] == [
        "$.criteria[0].weight",
        "$.tiers[1].min_score",
    ]


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "industry": st.sampled_from(["saas", "fintech", "retail"]),
            "employees": st.integers(0, 5000),
            "country": st.sampled_from(["DE", "US", "CH"]),
        },
    )
)
def test_icp_score_is_bounded_and_monotone_in_matched_criteria(record):
    fit = icp.score(record)
    assert Decimal(0) <= fit.score <= Decimal(100)
    matched = sum((c.weight for c in fit.contributions if c.matched), Decimal(0))
    assert fit.score == (matched * 100 / 6).quantize(Decimal("0.01"))
    assert (fit.tier is None) == (fit.score < 20)


# -- starter sets --------------------------------------------------------------------------------
def test_b2b_starter_segments():
    account = {
        "employees": 1200,
        "contacts": [{"title": "CFO"}, {"title": "Analyst"}, {"title": "IT Manager"}],
        "customer_since": AS_OF - timedelta(days=30),
        "open_deals": 1,
        "annual_revenue": Decimal(80_000_000),
    }
    members = {s.name for s in b2b_segments() if s.matches(account, as_of=AS_OF)}
    assert members == {
        "multi_stakeholder",
        "decision_maker_engaged",
        "new_customer",
        "in_active_buying_cycle",
        "large_account",
    }
    lonely = {"contacts": [], "customer_since": AS_OF - timedelta(days=1000)}
    assert {s.name for s in b2b_segments() if s.matches(lonely, as_of=AS_OF)} == {
        "single_threaded",
        "long_term_customer",
    }
    assert b2b_size_tiers().assign(account) == "enterprise"
    assert b2b_size_tiers().assign({}) == "unknown_size"


def test_b2c_starter_segments():
    shopper = {
        "orders": 6,
        "total_spend": Decimal(1500),
        "last_purchase_at": AS_OF - timedelta(days=10),
        "marketing_consent": True,
    }
    members = {s.name for s in b2c_segments() if s.matches(shopper, as_of=AS_OF)}
    assert members == {"repeat_buyer", "loyal", "high_value", "reachable"}
    browser = {"last_engaged_at": AS_OF - timedelta(days=3)}
    assert {s.name for s in b2c_segments() if s.matches(browser, as_of=AS_OF)} == {
        "engaged_non_buyer"
    }


def test_starter_sets_are_documented_data():
    everything = [*b2b_segments(), *b2c_segments()]
    assert all(s.description for s in everything)
    assert len({s.name for s in everything}) == len(everything)
    assert structure(unstructure(everything), list[Segment]) == everything
    assert structure(unstructure(b2b_size_tiers()), Tiering) == b2b_size_tiers()


@given(segments_strategy(), tierings(), icp_models())
def test_definitions_round_trip(segment, tiering, model):
    assert structure(unstructure(segment), Segment) == segment
    assert structure(unstructure(tiering), Tiering) == tiering
    assert structure(unstructure(model), IcpModel) == model
