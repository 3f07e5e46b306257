"""Data trust: data specs, the checks over records, explanations, the laws."""

import enum
import pickle
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.access import MISSING
from crmcore.conditions import CONDITION_KINDS, Duration, field
from crmcore.errors import DataError, DataTypeError
from crmcore.quality import (
    DataRule,
    DataSpec,
    DataTrust,
    TrustCheck,
    data_trust,
)
from crmcore.testing import condition_records, data_specs

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


class Web(enum.StrEnum):
    WEB = "web"


DAY = timedelta(days=1)

SPEC = DataSpec(
    "lead_data",
    "leads",
    name="Lead source data",
    required=["email", "company"],
    rules=[
        DataRule("email_format", field("email").contains("@")),
        DataRule(
            "size",
            field("employees") >= 1,
            when=field("kind") == "company",
            description="a company has people",
        ),
    ],
    sources=["web", "event"],
    refreshed="updated_at",
    refresh_every="30d",
    owner="data_steward",
    consent=["email_opt_in"],
)

LEADS = [
    # 0: trusted
    {
        "email": "ada@acme.io",
        "company": "Acme",
        "kind": "company",
        "employees": 10,
        "source": "web",
        "updated_at": AS_OF - 3 * DAY,
        "email_opt_in": False,
    },
    # 1: no company, a bad email, stale, from a bought list
    {
        "email": "bob",
        "company": " ",
        "source": "list_buy",
        "updated_at": AS_OF - 31 * DAY,
        "email_opt_in": True,
    },
    # 2: a company of no one, never refreshed, no source, no consent recorded
    {
        "email": "cy@corp.io",
        "company": "Corp",
        "kind": "company",
        "employees": 0,
    },
    # 3: a person (size does not apply), updated in the future, source again
    {
        "email": "di@x.io",
        "company": "X",
        "kind": "person",
        "employees": 0,
        "source": "list_buy",
        "updated_at": AS_OF + DAY,
        "email_opt_in": None,
    },
]


def test_a_worked_example_counted_by_hand():
    report = data_trust(SPEC, LEADS, as_of=AS_OF)
    assert (report.spec, report.records, report.count, report.trusted) == (
        "lead_data",
        "leads",
        4,
        1,
    )
    assert report.score.value == pytest.approx(0.25)
    counts = {
        c.check: (c.passed, c.failed, c.skipped, c.unknown) for c in report.checks
    }
    assert counts == {
        "required:email": (4, 0, 0, 0),
        "required:company": (3, 1, 0, 0),  # " " is blank
        "rule:email_format": (3, 1, 0, 0),
        "rule:size": (1, 1, 2, 0),  # only companies: leads 0 and 2
        "fresh": (1, 3, 0, 1),  # 31 days, never, and the future are not fresh
        "source": (1, 3, 0, 1),  # list_buy twice, and one without a source
        "consent:email_opt_in": (2, 2, 0, 0),  # False is an answer, None is not
    }
    assert report["source"].outside == (("list_buy", 2),)
    assert report["rule:size"].rate.value == pytest.approx(0.5)
    assert [c.kind for c in report] == [
        "completeness",
        "completeness",
        "validity",
        "validity",
        "freshness",
        "source",
        "consent",
    ]


def test_every_failure_of_a_record_is_explained():
    trust = DataTrust(SPEC, AS_OF)
    assert trust.explain(LEADS[0]).trusted
    found = trust.explain(LEADS[1])
    assert not found.trusted
    assert [(f.check, f.field, f.value) for f in found.failures] == [
        ("required:company", "company", " "),
        ("rule:email_format", None, "bob"),
        ("fresh", "updated_at", AS_OF - 31 * DAY),
        ("source", "source", "list_buy"),
    ]
    assert found.failures[2].expected == (
        "an aware datetime within 30d before 2026-06-01T00:00:00+00:00"
    )
    assert found.failures[3].expected == "one of ['web', 'event']"
    third = trust.explain(LEADS[2]).failures
    assert [f.check for f in third] == [
        "rule:size",
        "fresh",
        "source",
        "consent:email_opt_in",
    ]
    assert third[1].value is MISSING


def test_a_value_a_rule_cannot_read_fails_the_rule_instead_of_stopping():
    spec = DataSpec("d", "leads", rules=[DataRule("size", field("employees") >= 1)])
    records = [{"employees": 5}, {"employees": "many"}, {"employees": 2}]
    report = data_trust(spec, records, as_of=AS_OF)
    assert (report["rule:size"].passed, report["rule:size"].failed) == (2, 1)
    (failure,) = DataTrust(spec, AS_OF).explain(records[1]).failures
    assert failure.value == "many"
    assert failure.expected == "to meet size (a value comparable with 1)"


def test_a_when_that_cannot_read_a_value_does_not_apply():
    spec = DataSpec(
        "d",
        "leads",
        rules=[DataRule("big", field("n") >= 10, when=field("size") >= 1)],
    )
    records = [{"size": "x", "n": 1}, {"size": 2, "n": 11}, {"size": 3, "n": 1}]
    check = data_trust(spec, records, as_of=AS_OF)["rule:big"]
    assert (check.passed, check.failed, check.skipped) == (1, 1, 1)
    assert DataTrust(spec, AS_OF).explain(records[0]).trusted


def test_freshness_reads_only_aware_datetimes():
    spec = DataSpec("d", "leads", refreshed="at", refresh_every="1mo")
    naive = datetime(2026, 5, 20)
    records = [
        {"at": AS_OF - 10 * DAY},
        {"at": naive},
        {"at": "2026-05-20"},
        {"at": datetime(2026, 5, 1, tzinfo=UTC)},  # exactly one month before
        {"at": datetime(2026, 4, 30, 23, tzinfo=UTC)},
    ]
    check = data_trust(spec, records, as_of=AS_OF)["fresh"]
    assert (check.passed, check.failed, check.unknown) == (2, 3, 2)
    # Every value an aware datetime but one naive: value by value, same answer.
    aware = [{"at": AS_OF - DAY}, {"at": naive}]
    assert data_trust(spec, aware, as_of=AS_OF)["fresh"].unknown == 1


def test_sources_count_what_came_from_outside_the_allow_list():
    spec = DataSpec("d", "leads", source="origin", sources=["web"])
    records = [
        {"origin": "web"},
        {"origin": "fair"},
        {"origin": "fair"},
        {"origin": 7},
        {"origin": ""},
        {},
        {"origin": "zoo"},
    ]
    check = data_trust(spec, records, as_of=AS_OF)["source"]
    assert (check.passed, check.failed, check.unknown) == (1, 6, 3)
    assert check.outside == (("fair", 2), ("zoo", 1))
    odd = [{"origin": ["web"]}, {"origin": "web"}, {"origin": Web.WEB}]
    check = data_trust(spec, odd, as_of=AS_OF)["source"]
    assert (check.passed, check.failed, check.unknown) == (2, 1, 1)
    trust = DataTrust(spec, AS_OF)
    assert [trust.explain(r).trusted for r in odd] == [False, True, True]


def test_a_rule_of_no_fields_applies_to_every_record():
    @attrs.frozen
    class Always:
        kind: ClassVar[str] = "always_true_for_test"

        def bind(self, as_of):
            return lambda record: True

        def explain(self, record, as_of=None):  # pragma: no cover - not called
            raise NotImplementedError

    with CONDITION_KINDS.scoped(Always):
        spec = DataSpec("d", "leads", rules=[DataRule("always", Always())])
        check = data_trust(spec, [{}, {"a": 1}], as_of=AS_OF)["rule:always"]
        assert (check.passed, check.skipped) == (2, 0)
        assert DataTrust(spec, AS_OF).explain({}).trusted


def test_the_report_prints_and_gives_rows():
    report = data_trust(SPEC, LEADS, as_of=AS_OF)
    text = str(report)
    assert text.splitlines()[0] == ("lead_data (leads): 1 of 4 records trusted (25.0%)")
    assert "  rule:size" in text and "50.0%  1 failing" in text
    rows = report.rows()
    assert rows[0] == {
        "spec": "lead_data",
        "check": "required:email",
        "kind": "completeness",
        "field": "email",
        "passed": 4,
        "failed": 0,
        "skipped": 0,
        "unknown": 0,
        "rate": 1,
    }
    empty = data_trust(SPEC, [], as_of=AS_OF)
    assert empty.score.reason == "no records were checked"
    assert str(empty).splitlines()[0] == "lead_data (leads): 0 of 0 records trusted"
    assert "      -" in str(empty)
    assert empty["fresh"].rate.reason == "it applied to no record"
    with pytest.raises(DataError, match=r"check: expected one of \['required:email'"):
        report["nope"]


def test_specs_check_their_fields():
    assert SPEC.fields() == (
        "email",
        "company",
        "employees",
        "kind",
        "source",
        "updated_at",
        "email_opt_in",
    )
    assert SPEC.refresh_every == Duration(days=30)
    assert SPEC.rules[0].fields == ("email",)
    with pytest.raises(DataError, match="refresh_every: expected a value, since"):
        DataSpec("d", "leads", refreshed="at")
    with pytest.raises(DataError, match="refreshed: expected a value, since"):
        DataSpec("d", "leads", refresh_every="1d")
    with pytest.raises(DataError, match="refresh_every: expected a duration such"):
        DataSpec("d", "leads", refreshed="at", refresh_every="soon")
    with pytest.raises(DataTypeError, match="refresh_every: expected a Duration or a"):
        DataSpec("d", "leads", refreshed="at", refresh_every=30)
    with pytest.raises(DataError, match=r"rules\[1\]\.name: expected a name no"):
        DataSpec("d", "leads", rules=[DataRule("a", field("x") == 1)] * 2)
    with pytest.raises(DataTypeError, match=r"required: expected a list of"):
        DataSpec("d", "leads", required="email")
    with pytest.raises(DataTypeError, match="condition: expected a condition"):
        DataRule("a", "x == 1")
    with pytest.raises(DataTypeError, match="spec: expected a DataSpec"):
        DataTrust("spec", AS_OF)
    with pytest.raises(DataTypeError, match="spec: expected a DataSpec"):
        data_trust("spec", [], as_of=AS_OF)
    with pytest.raises(DataError, match="as_of"):
        DataTrust(SPEC, datetime(2026, 1, 1))


def test_merge_refuses_another_spec_or_instant():
    trust = DataTrust(SPEC, AS_OF)
    with pytest.raises(DataError, match="other: expected a DataTrust of the same"):
        trust.merge(DataTrust(SPEC, AS_OF + DAY))
    with pytest.raises(DataError, match="other: expected a DataTrust of the same"):
        trust.merge("x")


def test_it_pickles_for_workers():
    trust = DataTrust(SPEC, AS_OF).update(LEADS[:2])
    copy = pickle.loads(pickle.dumps(trust))
    assert copy == trust
    assert copy.update(LEADS[2:]).result() == data_trust(SPEC, LEADS, as_of=AS_OF)


RECORDS = st.lists(condition_records(), max_size=30)
RULE_AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


@given(data_specs(), RECORDS)
def test_the_chunked_counts_are_the_explanations_counted(spec, records):
    """The fast, column-wise counts agree with explaining record by record."""
    trust = DataTrust(spec, RULE_AS_OF)
    report = trust.update(records).result()
    explained = [trust.explain(record) for record in records]
    assert report.trusted == sum(e.trusted for e in explained)
    for check in report.checks:
        failing = sum(
            any(f.check == check.check for f in e.failures) for e in explained
        )
        assert check.failed == failing
        assert check.passed + check.failed + check.skipped == len(records)


@given(data_specs(), RECORDS, st.randoms())
def test_the_report_does_not_depend_on_the_order_of_records(spec, records, random):
    shuffled = list(records)
    random.shuffle(shuffled)
    first = data_trust(spec, records, as_of=RULE_AS_OF)
    second = data_trust(spec, shuffled, as_of=RULE_AS_OF)
    assert first == second


def test_chunks_of_many_records_agree_with_one_at_a_time():
    records = [dict(lead, id=i) for i in range(1500) for lead in LEADS]
    one_by_one = DataTrust(SPEC, AS_OF)
    for record in records:
        one_by_one.add(record)
    assert one_by_one.result() == data_trust(SPEC, records, as_of=AS_OF)
    assert one_by_one.result().trusted == 1500


def test_a_check_s_rate_is_its_share_of_the_records_it_applies_to():
    check = TrustCheck("fresh", "freshness", "at", 3, 1, 2)
    assert check.rate.value == pytest.approx(0.75)
    assert (check.rate.numerator, check.rate.denominator) == (3, 4)


def test_a_data_set_name_is_a_plain_name():
    with pytest.raises(DataError, match="records: expected a name of letters"):
        DataSpec("d", "../outside")
    with pytest.raises(DataError, match="records: expected a name of letters"):
        DataSpec("d", "/etc/passwd")
    with pytest.raises(DataTypeError, match="records: expected a name"):
        DataSpec("d", 5)


def test_a_rule_over_two_fields_explains_both_values():
    rule = DataRule("sized", (field("employees") >= 10) & (field("country") == "DE"))
    spec = DataSpec("d", "leads", rules=[rule])
    (failure,) = (
        DataTrust(spec, AS_OF).explain({"employees": 3, "country": "DE"}).failures
    )
    assert failure.check == "rule:sized"
    assert failure.value == {"employees": 3, "country": "DE"}
