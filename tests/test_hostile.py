"""Hostile input: every case of the issue, with its exact input.

Definitions are untrusted (vendors store JSON their users wrote), so each bad
input must end in a crmcore error naming the path, the value and what was
expected, in time proportional to the input.
"""

from __future__ import annotations

import decimal
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest

from crmcore.calendar import PeriodUnit, add_calendar, period_of, resolve_zone
from crmcore.conditions import (
    CONDITION_KINDS,
    Condition,
    Duration,
    compile_condition,
    field,
    parse_condition,
    register_condition,
    to_text,
)
from crmcore.errors import (
    CrmcoreError,
    CurrencyMismatchError,
    DataError,
    DataTypeError,
    DefinitionError,
    NaiveDatetimeError,
    Problem,
    describe_value,
)
from crmcore.kpis import (
    KpiResult,
    average_deal_size,
    by_period,
    cac_payback,
    cohort_retention,
    kpi_report,
    lifetime_value,
    ltv_to_cac,
    reviews_due,
    velocity_from,
    win_rate,
)
from crmcore.money import Money, check_range, divide, round_to, sum_money, to_decimal
from crmcore.pipelines import (
    Pipeline,
    StageDecision,
    StageDefinition,
    TransitionPolicy,
)
from crmcore.records import Opportunity, StageChange
from crmcore.rfm import btyd_summary, rfm_scores
from crmcore.sample import generate_sample
from crmcore.segments import IcpCriterion, IcpModel, Segment, SegmentCounter
from crmcore.serialization import MAX_JSON, from_json, structure, to_json
from crmcore.stage_analytics import StageAnalytics

# -- linear diagnosis -----------------------------------------------------------
CHECKS: list[int] = []


def _count(_instance: object, _attribute: object, value: int) -> None:
    CHECKS.append(value)
    if value < 0:
        raise ValueError("negative")


@attrs.frozen
class Probe:
    """A vendor leaf whose validator counts how often it runs."""

    kind: ClassVar[str] = "probe"
    n: int = attrs.field(validator=_count)

    def test(self, record: Any, as_of: datetime | None) -> bool:
        return True


def _nested(leaf: dict[str, Any], depth: int) -> dict[str, Any]:
    for level in range(depth):
        if level % 2:
            leaf = {"kind": "not", "condition": leaf}
        else:
            leaf = {"kind": "all", "conditions": [{"kind": "probe", "n": 1}, leaf]}
    return leaf


@pytest.mark.parametrize("depth", [4, 16, 31])
def test_a_bad_definition_deep_down_is_diagnosed_in_linear_work(depth):
    with CONDITION_KINDS.scoped():
        register_condition(Probe)
        CHECKS.clear()
        structure(_nested({"kind": "probe", "n": 1}, depth), Condition)
        good = len(CHECKS)
        CHECKS.clear()
        with pytest.raises(DefinitionError) as raised:
            structure(_nested({"kind": "probe", "n": -1}, depth), Condition)
        bad = len(CHECKS)
    # The one problem, with its whole path.
    (problem,) = raised.value.problems
    assert problem.path.endswith(".n")
    assert problem.path.count("condition") >= depth // 2
    # Each check runs a bounded number of times per level it sits under: the
    # work grows with the depth times the size, never exponentially (the old
    # diagnosis re-structured every level: 2 ** depth).
    assert bad <= 2 * good * (depth + 1), (good, bad)
    assert bad < 2 ** min(depth, 20)


def test_a_validator_reading_a_failed_sibling_never_shows_internals():
    @attrs.frozen
    class Window:
        kind: ClassVar[str] = "window"
        low: int = attrs.field(validator=attrs.validators.instance_of(int))
        high: int = attrs.field()

        @high.validator
        def _above(self, _attribute: object, value: int) -> None:
            if value < self.low:
                raise ValueError("high below low")

        def test(self, record: Any, as_of: datetime | None) -> bool:
            return True

    with CONDITION_KINDS.scoped(Window), pytest.raises(DefinitionError) as raised:
        structure({"kind": "window", "low": "x", "high": 1}, Condition)
    text = str(raised.value)
    assert "$.low" in text
    assert "SimpleNamespace" not in text
    assert "AttributeError" not in text


def test_a_cross_field_rule_alone_still_names_its_field():
    @attrs.frozen
    class Range:
        kind: ClassVar[str] = "range"
        low: int = attrs.field()
        high: int = attrs.field()

        def __attrs_post_init__(self) -> None:
            if self.high < self.low:
                raise DefinitionError(
                    "range", [Problem("$.high", "expected at least low")]
                )

        def test(self, record: Any, as_of: datetime | None) -> bool:
            return True

    with CONDITION_KINDS.scoped(Range), pytest.raises(DefinitionError) as raised:
        structure({"kind": "range", "low": 3, "high": 1}, Condition)
    assert "$.high" in str(raised.value)


# -- bare built-in errors that escaped ------------------------------------------
T = datetime(2026, 1, 1, tzinfo=UTC)


def _won(**extra: Any) -> dict[str, Any]:
    return {
        "outcome": "won",
        "created_at": T,
        "closed_at": T,
        "amount": 1,
        "currency": "EUR",
        **extra,
    }


def test_an_unhashable_group_key_is_a_crmcore_error():
    with pytest.raises(DataTypeError, match=r"per: expected a hashable group key"):
        win_rate([_won(owner=["a"])], per="owner")


def test_a_naive_instant_after_the_first_record_of_a_period_group():
    deals = [_won(), _won(closed_at=T.replace(tzinfo=None))]
    with pytest.raises(NaiveDatetimeError, match="closed_at"):
        win_rate(deals, per=by_period("month"))


def test_average_deal_size_per_period_works():
    # It crashed: for_period rebuilt the KPI with an option it does not take.
    (result,) = average_deal_size(
        [_won(amount=5)], per=by_period("month")
    ).groups.values()
    assert result.value == Money(5, "EUR")


@pytest.mark.parametrize(
    "name", ["A" * 300, "../../etc/passwd", "Europe/../Berlin", "a//b", "x\x00y", ""]
)
def test_a_bad_time_zone_name_is_refused_before_the_zone_database(name):
    with pytest.raises(DataError, match="tz: expected an IANA time zone name"):
        resolve_zone(name)
    with pytest.raises(DataError, match="tz"):
        by_period("month", tz=name)


def test_a_huge_int_in_an_error_message_is_summarised():
    assert describe_value(10**5000) == "an int of about 5,001 digits (int)"

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert describe_value(Broken()) == "<a Broken that cannot be shown> (Broken)"


# -- bounded everything ---------------------------------------------------------
def test_from_json_refuses_deep_non_utf8_oversized_and_out_of_range_input():
    deep = '{"kind":"not","condition":' * 100_000 + "1" + "}" * 100_000
    cases = {
        deep: "nested too deeply",
        b'{"kind":"eq","field":"x","value":"\xff"}': "byte 34 is not UTF-8",
        '{"kind":"eq","field":"x","value":' + "9" * 5000 + "}": "at most 100 digits",
        '{"kind":"eq","field":"x","value":1E+999999999}': "at most 100 digits",
        " " * (MAX_JSON + 1): "at most 10,000,000 characters",
    }
    for text, words in cases.items():
        with pytest.raises(DefinitionError, match=words):
            from_json(text, Condition)


def test_numbers_have_a_documented_range():
    with pytest.raises(DataError, match="at most 100 digits"):
        Money(Decimal("1E+999999999"), "EUR")
    with pytest.raises(DataError, match="at most 100 digits"):
        Money(Decimal("1E-101"), "EUR")
    with pytest.raises(DataError, match="at most 100 digits"):
        field("x") == int("9" * 4000) * 10**400  # noqa: B015
    assert Money(Decimal("9" * 100), "EUR").amount == Decimal("9" * 100)
    assert to_decimal("0." + "1" * 100) == Decimal("0." + "1" * 100)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("count(items,", "column 13"),
        ("within_last(t, 99999999999d)", "at most 10,000 years"),
        ("x == " + "9" * 5000, "column 6"),
        ("x == 1." + "5" * 300, "at most 100 digits"),
    ],
)
def test_condition_text_out_of_range_is_a_definition_error(text, words):
    with pytest.raises(DefinitionError, match=words):
        parse_condition(text)


def test_a_duration_is_at_most_what_a_datetime_spans():
    with pytest.raises(DataError, match="at most 10,000 years"):
        Duration(days=99_999_999_999)
    # A long but valid span reaches back to the earliest instant, never an
    # OverflowError: everything until as_of is within the last 9,000 years.
    assert compile_condition(parse_condition("within_last(t, 9000y)")).bind(T)({"t": T})
    assert not compile_condition(parse_condition("older_than(t, 9000y)")).bind(T)(
        {"t": T}
    )


# -- exact arithmetic, whatever the caller's context ----------------------------
def test_comparing_a_nan_is_a_crmcore_error():
    rule = compile_condition(field("x") > 1).bind(None)
    with pytest.raises(DataError, match="x: expected a number comparable with 1"):
        rule({"x": Decimal("NaN")})
    with pytest.raises(DataError, match="finite"):
        average_deal_size([_won(amount=Decimal("NaN"))])


def test_money_of_another_currency_is_refused_not_unequal():
    for rule in (field("x") == Money(5, "EUR"), field("x") != Money(5, "EUR")):
        with pytest.raises(CurrencyMismatchError):
            compile_condition(rule).bind(None)({"x": Money(5, "USD")})
    assert compile_condition(field("x") == Money(5, "EUR")).bind(None)(
        {"x": Money(5, "EUR")}
    )


def test_a_callers_decimal_context_changes_no_figure():
    deals = [_won(amount=1000), _won(amount=1)]
    with decimal.localcontext() as caller:
        caller.prec = 3
        # (1000 + 1) / 2, by hand: 500.5 (it was 500 with three digits).
        assert average_deal_size(deals).value == Money(Decimal("500.5"), "EUR")


def test_a_whole_quotient_wider_than_28_digits_is_exact():
    assert average_deal_size([_won(amount=10**40)]).value == Money(10**40, "EUR")
    assert divide(10**40, 3) == Decimal("3333333333333333333333333333" + "0" * 12)


@pytest.mark.parametrize("amount", [Decimal("1E+999999999"), Decimal("1E-999999999")])
def test_an_amount_far_out_of_range_is_refused_in_the_hot_loop(amount):
    # Summed exactly, 1E+999999999 + 1 has a billion digits: the loop's own
    # context stops at the first rounding and the record is explained.
    deals = [_won(amount=1), _won(amount=amount)]
    with pytest.raises(DataError, match=r"amount \(dict record\): expected a number"):
        average_deal_size(deals)


def test_money_inequality_in_rules():
    rule = compile_condition(field("x") != Money(5, "EUR")).bind(None)
    assert rule({"x": Money(6, "EUR")})
    assert not rule({"x": Money(5, "EUR")})
    assert not rule({})
    assert not rule({"x": None})


@pytest.mark.parametrize("number", [Decimal("NaN"), Decimal("Infinity")])
def test_check_range_refuses_what_is_not_finite(number):
    with pytest.raises(DataError, match="expected a finite number"):
        check_range(number)


# -- RFM and BTYD read money like every calculator ------------------------------
def _purchases(*amounts: object) -> list[dict[str, object]]:
    return [
        {"customer_id": "c1", "at": datetime(2024, 1, day, tzinfo=UTC), "amount": a}
        for day, a in enumerate(amounts, start=1)
    ]


_NOT_AN_AMOUNT = [
    (Decimal("NaN"), "a finite number"),
    (Decimal("Infinity"), "a finite number"),
    (Decimal("-Infinity"), "a finite number"),
    (Decimal("1E+999999999"), "a number with at most 100 digits"),
    (Decimal("-5"), "a non-negative amount"),
    (-5, "a non-negative amount"),
    ("-0.01", "a non-negative amount"),
    (Money(-5, "EUR"), "a non-negative amount"),
]


@pytest.mark.parametrize(("amount", "expected"), _NOT_AN_AMOUNT)
def test_btyd_summary_refuses_nan_infinity_and_negative_amounts(amount, expected):
    end = datetime(2024, 2, 1, tzinfo=UTC)
    with pytest.raises(DataError, match=rf"^amount: expected {expected}"):
        btyd_summary(_purchases(10, amount), observation_end=end, amount="amount")


@pytest.mark.parametrize(("amount", "expected"), _NOT_AN_AMOUNT)
def test_rfm_scores_refuses_nan_infinity_and_negative_amounts(amount, expected):
    as_of = datetime(2024, 2, 1, tzinfo=UTC)
    with pytest.raises(DataError, match=rf"^amount: expected {expected}"):
        rfm_scores(_purchases(10, amount), as_of=as_of)


def test_rfm_and_btyd_figures_ignore_the_callers_context():
    end = datetime(2024, 2, 1, tzinfo=UTC)
    purchases = _purchases(1000, 1, 1)
    with decimal.localcontext() as caller:
        caller.prec = 3
        row = btyd_summary(purchases, observation_end=end, amount="amount")["c1"]
        # Repeat purchases on days 2 and 3, 1 each: mean 1; in units of 7 days
        # T = (31 - 0) / 7, kept to 28 digits (3 digits would give 4.43).
        assert row.monetary_value == Decimal(1)
        weeks = btyd_summary(purchases, observation_end=end, multiplier=7)["c1"].T
        assert weeks == Decimal("4.428571428571428571428571429")
        score = rfm_scores(purchases, as_of=end)["c1"]
        assert score.monetary == Decimal(1002)  # 1,000 + 1 + 1, not 1.00E+3


def test_icp_scores_and_overlap_ignore_the_callers_context():
    profile = IcpModel(
        "fit",
        criteria=(
            IcpCriterion("a", field("a") == 1, weight=Decimal("1234.5")),
            IcpCriterion("b", field("b") == 1, weight=Decimal("0.5")),
        ),
    )
    record = {"a": 1, "b": 0}
    with decimal.localcontext() as caller:
        caller.prec = 3
        # 100 × 1234.5 / 1235 = 99.9595..., half-even to cents: 99.96.
        assert profile.score(record).score == Decimal("99.96")
        assert profile.scorer()(record) == Decimal("99.96")
        assert profile.score(record).contributions[1].points == Decimal("0.00")
        counter = SegmentCounter.of(
            [Segment("one", field("x") == 1), Segment("all", field("x") > 0)]
        )
        overlap = counter.update([{"x": 1}, {"x": 2}, {"x": 3}]).result()
        assert overlap.jaccard("one", "all") == Decimal("0." + "3" * 28)


# -- no cost grows with the square of the stages or cohorts ------------------------
def test_stage_questions_are_answered_in_constant_time():
    # StageAnalytics.of asked Pipeline.position per stage, which listed the
    # open stages each time: 20,000 stages took minutes. Now each lookup is
    # a dictionary read; this runs in well under a second.
    n = 20_000
    stages = [StageDefinition(f"s{i}", f"Stage {i}") for i in range(n)]
    pipeline = Pipeline("long", (*stages, StageDefinition("won", "Won", kind="won")))
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    analytics = StageAnalytics.of(pipeline, as_of=as_of)
    assert pipeline.position(f"s{n - 1}") == n - 1 and pipeline.position("won") == -1
    assert pipeline.stage(f"s{n // 2}").name == f"Stage {n // 2}"
    history = [
        StageChange("d", None, "s0", datetime(2025, 1, 1, tzinfo=UTC)),
        StageChange("d", "s0", f"s{n - 1}", datetime(2025, 2, 1, tzinfo=UTC)),
    ]
    report = analytics.update([history]).result()
    assert report.stages[0].conversion == 1 and report.stages[0].completed == 1


def test_an_unhashable_or_unknown_stage_key_is_a_data_error():
    pipeline = Pipeline(
        "p", (StageDefinition("a", "A"), StageDefinition("w", "W", kind="won"))
    )
    for key in (["a"], "nope", None):
        with pytest.raises(DataError, match=r"^stage: expected one of a, w"):
            pipeline.stage(key)
    assert pipeline.position(["a"]) == -1  # type: ignore[arg-type]


def test_a_cohort_table_costs_what_its_cells_cost():
    # A daily table over 1,000 days has 500,500 cells; each row's length
    # used to be counted by comparing every pair of cohorts.
    start = datetime(2020, 1, 1, tzinfo=UTC)
    table = cohort_retention(
        [], start=start, as_of=datetime(2022, 9, 27, tzinfo=UTC), unit="day"
    )
    lengths = [len(row.retained) for row in table.rows]
    # 1,000 daily cohorts, all ended at as_of: row i observed 1000 - i times.
    assert lengths == list(range(1000, 0, -1)) and sum(lengths) == 500_500


# -- found by the fuzz suite (tests/test_fuzz.py), each with its exact input --------
@pytest.mark.parametrize("records", [None, 5, "deals", {"id": "d1"}, Opportunity])
def test_a_calculator_given_no_collection_of_records_names_it(records):
    with pytest.raises(
        DataTypeError, match=r"^records: expected an iterable of records"
    ):
        win_rate(records)
    with pytest.raises(DataTypeError, match=r"^transactions: expected an iterable"):
        rfm_scores(records, as_of=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_single_record_is_told_to_be_wrapped():
    with pytest.raises(DataTypeError, match=r"one record\? wrap it in a list"):
        win_rate({"id": "d1"})


def test_to_json_never_writes_invalid_json():
    for value in (object(), float("nan"), {"x": float("inf")}):
        with pytest.raises(
            DataTypeError, match=r"^value: expected a value that unstructures"
        ):
            to_json(value)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: from_json(None, Money), r"^text: expected a JSON document"),
        (lambda: to_text(Money(5, "EUR")), r"^condition: expected a condition"),
        (lambda: sum_money(None), r"^amounts: expected an iterable of Money"),
        (
            lambda: add_calendar(datetime(2026, 1, 1, tzinfo=UTC), years=None),
            r"^years: expected an int",
        ),
        (lambda: generate_sample(5, progress=[]), r"^progress: expected a function"),
        (lambda: PeriodUnit([]), r"^kind: expected one of"),
        (lambda: StageDecision(True, None, "won", unmet=None), r"^unmet: expected"),
        (lambda: SegmentCounter(None), r"^segments: expected"),
        (
            lambda: StageAnalytics(None, datetime(2026, 1, 1, tzinfo=UTC)),
            r"^pipeline: expected a Pipeline",
        ),
        (
            lambda: velocity_from(None, None, None, None),
            r"^open_deals: expected a count",
        ),
        (
            lambda: win_rate([], exclude_reasons=[[]]),
            r"^exclude_reasons\[0\]: expected a lost reason",
        ),
        (
            lambda: btyd_summary(
                [], observation_end=datetime(2026, 1, 1, tzinfo=UTC), unit=[]
            ),
            r"^unit: expected one of 'day', 'week'",
        ),
        (
            lambda: reviews_due(None, as_of=datetime(2026, 1, 1, tzinfo=UTC)),
            r"^reviews: expected an iterable",
        ),
        (
            lambda: reviews_due(
                [], as_of=datetime(2026, 1, 1, tzinfo=UTC), last_reviewed=[1]
            ),
            r"^last_reviewed: expected a mapping",
        ),
        (lambda: compile_condition(field("x") == 1).bind([]), r"^as_of: expected"),
        (lambda: structure(Decimal("NaN"), None), r"^cls: expected a type"),
        (lambda: to_json(1, indent=2**63), r"^indent: expected None or an int"),
        (
            lambda: period_of(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "week"),
            r"^instant: expected an instant whose week lies within years 1 to 9999",
        ),
        (
            lambda: win_rate([_won(amount=1)], per=object),
            r"^per: expected a record the key function <class 'object'> accepts "
            r"\(TypeError: object\(\) takes no arguments\)",
        ),
    ],
)
def test_bad_arguments_found_by_fuzzing_are_crmcore_errors(call, expected):
    with pytest.raises(CrmcoreError, match=expected) as caught:
        call()
    assert isinstance(caught.value, ValueError | TypeError)


def test_add_calendar_beyond_year_9999_is_a_data_error():
    with pytest.raises(
        DataError, match=r"^instant: expected an instant that moved by years=9000"
    ):
        add_calendar(datetime(2026, 1, 1, tzinfo=UTC), years=9000)


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        (
            {"mode": "nope"},
            TransitionPolicy,
            "$.mode: expected one of 'free', 'forward_only', 'no_skip', 'graph', "
            "got 'nope' (str)",
        ),
        (
            {"key": "a", "name": "A", "kind": 5},
            StageDefinition,
            "$.kind: expected one of 'open', 'won', 'lost', got 5 (int)",
        ),
    ],
)
def test_a_bad_choice_in_json_names_the_choices_not_cattrs(data, cls, expected):
    # It read "CattrsError: nope not in literal typing.Literal[...]".
    with pytest.raises(DefinitionError) as caught:
        structure(data, cls)
    assert str(caught.value).splitlines()[1].strip() == expected


_RATIO = KpiResult("win_rate", Decimal("0.25"), "ratio")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: cac_payback(_RATIO, _RATIO), r"^cac: expected Money or a KpiResult"),
        (lambda: ltv_to_cac(_RATIO, _RATIO), r"^ltv: expected Money or a KpiResult"),
        (lambda: lifetime_value(_RATIO, _RATIO), r"^arpa: expected Money"),
        (
            lambda: velocity_from(_RATIO, _RATIO, _RATIO, _RATIO),
            r"^open_deals: expected a count or an OpenPipeline result",
        ),
    ],
)
def test_a_composition_given_the_wrong_result_names_the_argument(call, expected):
    # velocity_from read components["deals"] (KeyError) or .components of
    # None (AttributeError); every composition now names its argument.
    with pytest.raises(DataTypeError, match=expected):
        call()


def test_a_per_function_raising_a_crmcore_error_passes_it_on():
    def amount_band(record: Any) -> Decimal:
        return to_decimal(record["band"], "band")

    with pytest.raises(DataError, match=r"^band: expected a numeric string"):
        win_rate([_won(amount=1) | {"band": "wide"}], per=amount_band)


_AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"history": 5}, r"^history: expected an iterable of records"),
        ({"approvals": None}, r"^approvals: expected an iterable of records"),
        ({"activities": "ab"}, r"^activities: expected an iterable of records"),
        ({"entered_at": datetime(2026, 1, 1)}, r"^entered_at"),
        ({"entered_at": "2026-01-01"}, r"^entered_at: expected"),
    ],
)
def test_decision_arguments_are_checked(extra, expected):
    from crmcore.lifecycle import b2b_deal_pipeline
    from crmcore.pipelines import evaluate, what_next

    pipeline = b2b_deal_pipeline()
    deal = {"id": "d", "stage": pipeline.stages[0].key}
    with pytest.raises(CrmcoreError, match=expected):
        evaluate(pipeline, deal, pipeline.stages[1].key, as_of=_AS_OF, **extra)
    with pytest.raises(CrmcoreError, match=expected):
        what_next(pipeline, deal, as_of=_AS_OF, **extra)


def test_a_record_entering_late_counts_every_activity_of_the_stages_it_skips():
    # No history can exist for stages never entered: this raised "history:
    # expected the stage history (or entered_at=)".
    from crmcore.lifecycle import b2b_deal_pipeline
    from crmcore.pipelines import RequiredActivity, evaluate

    pipeline = b2b_deal_pipeline()
    keys = [s.key for s in pipeline.open_stages]
    gated = [
        s.key
        for s in pipeline.open_stages
        if any(isinstance(c, RequiredActivity) for c in s.exit_criteria)
    ]
    assert gated, "the preset has an activity criterion"
    target = keys[keys.index(gated[0]) + 1]
    decision = evaluate(pipeline, {"id": "d", "stage": None}, target, as_of=_AS_OF)
    assert any(u.criterion == "required_activity" for u in decision.unmet)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: round_to(Decimal("NaN"), 2), r"^number: expected a finite number"),
        (lambda: round_to("1.5", 2), r"^number: expected a Decimal"),
        (lambda: round_to(Decimal(1), 10**9), r"^places: expected an int from 0"),
        (lambda: to_json(1, indent=-1), r"^indent: expected None or an int"),
        (
            lambda: add_calendar(
                datetime(9999, 12, 31, 23, tzinfo=UTC), tz="Pacific/Kiritimati"
            ),
            r"^instant: expected an instant that read in Pacific/Kiritimati stays",
        ),
        (lambda: win_rate(bytearray(b"ab")), r"^records: expected an iterable"),
        # Found by the long fuzz run (10,000 examples per entry point):
        (
            lambda: rfm_scores([], as_of=datetime(2026, 1, 1, tzinfo=UTC), amount=None),
            r"^amount: expected the field path of each purchase's amount",
        ),
        (
            lambda: cohort_retention(
                [],
                start=datetime(2026, 1, 1, tzinfo=UTC),
                as_of=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            ),
            r"^period: expected a month that ends by the end of year 9999",
        ),
        (
            lambda: kpi_report(
                period_of(datetime(2026, 1, 1, tzinfo=UTC), "day"),
                channels={"c": "ads"},
                paid_channels=True,
            ),
            r"^paid_channels: expected a collection of channels",
        ),
    ],
)
def test_review_findings_are_crmcore_errors(call, expected):
    with pytest.raises(CrmcoreError, match=expected):
        call()


@pytest.mark.parametrize("amount", [Decimal("1E+999999999"), Decimal("1E-999999999")])
def test_an_out_of_range_first_purchase_is_named_too(amount):
    as_of = datetime(2024, 2, 1, tzinfo=UTC)
    with pytest.raises(DataError, match=r"^amount: expected a number with at most"):
        rfm_scores(_purchases(amount, 10), as_of=as_of)
    with pytest.raises(DataError, match=r"^amount: expected a number with at most"):
        btyd_summary(_purchases(amount), observation_end=as_of, amount="amount")


def test_an_unhashable_record_id_in_a_stage_history_is_named():
    # Found by the long fuzz run: `record_id in seen` raised a bare TypeError.
    from crmcore.lifecycle import b2b_deal_pipeline
    from crmcore.stage_analytics import stage_analytics

    change = {"record_id": ["d"], "from_stage": None, "to_stage": "x", "at": _AS_OF}
    with pytest.raises(
        DataTypeError, match=r"^record_id: expected a hashable record id"
    ):
        stage_analytics(b2b_deal_pipeline(), [change], as_of=_AS_OF)
