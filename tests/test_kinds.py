"""A kind is one class that owns everything about itself: the vendor's view.

A vendor registers one condition kind and one exit criterion, once, and then
uses each everywhere a built-in is used: with operators, in text, in JSON, in
explanations and in the strategies of crmcore.testing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import find, given, settings

from crmcore.conditions import (
    CONDITION_KINDS,
    AllOf,
    AnyOf,
    Condition,
    Duration,
    Not,
    explain,
    field,
    matches,
    parse_condition,
    register_condition,
    to_text,
)
from crmcore.errors import DataError, DefinitionError, UnknownKindError
from crmcore.pipelines import (
    CRITERION_KINDS,
    ExitCriterion,
    MustHold,
    Pipeline,
    RequiredActivity,
    RequiredApproval,
    RequiredFields,
    StageContext,
    StageDefinition,
    UnmetCriterion,
    evaluate,
    parse_criterion,
    register_criterion,
)
from crmcore.registry import Registry, registry_of
from crmcore.serialization import from_json, structure, to_json, unstructure
from crmcore.testing import condition_records, conditions, exit_criteria, pipelines

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)


@attrs.frozen
class EmailDomain:
    """A vendor condition: the e-mail at ``field`` is at ``domain``."""

    kind: ClassVar[str] = "email_domain"
    field: str = attrs.field(metadata={"crmcore": "path"})
    domain: str = attrs.field(validator=attrs.validators.instance_of(str))
    strict: bool = attrs.field(default=True, kw_only=True)

    def test(self, record: Any, as_of: datetime | None) -> bool:
        email = record.get(self.field) if isinstance(record, dict) else None
        if not isinstance(email, str):
            return False
        host = email.rpartition("@")[2]
        return host == self.domain or (not self.strict and host.endswith(self.domain))


@attrs.frozen
class SignedNda:
    """A vendor exit criterion: the named document is on file."""

    kind: ClassVar[str] = "signed_nda"
    document: str = attrs.field(default="nda")

    def check(self, context: StageContext, stage: str) -> tuple[UnmetCriterion, ...]:
        record: Any = context.record
        documents = record.get("documents") or []
        if self.document in documents:
            return ()
        return (
            UnmetCriterion(
                self.kind,
                stage,
                f"{self.document} must be on file",
                field="documents",
                expected=f"contains {self.document!r}",
                actual=documents,
            ),
        )


@pytest.fixture
def vendor():
    with CONDITION_KINDS.scoped(), CRITERION_KINDS.scoped():
        register_condition(EmailDomain)
        register_criterion(SignedNda)
        yield


# -- the vendor condition kind ---------------------------------------------------------
@pytest.mark.usefixtures("vendor")
def test_a_vendor_condition_combines_with_operators():
    acme = EmailDomain("email", "acme.example")
    big = field("employees") >= 50
    both, either, neither = acme & big, acme | big, ~acme
    assert both == AllOf([acme, big])
    assert either == AnyOf([acme, big])
    assert neither == Not(acme)
    record = {"email": "ada@acme.example", "employees": 10}
    assert (matches(both, record), matches(either, record)) == (False, True)
    assert not matches(neither, record)
    assert str(acme) == 'email_domain(email, "acme.example")'


@pytest.mark.usefixtures("vendor")
def test_a_vendor_condition_prints_and_parses_back():
    loose = EmailDomain("contact.email", "example", strict=False)
    rule = (field("stage") == "proposal") & (loose | ~EmailDomain("email", "x.io"))
    text = to_text(rule)
    assert text == (
        'stage == "proposal" and (email_domain(contact.email, "example", '
        'strict=false) or not (email_domain(email, "x.io")))'
    )
    assert parse_condition(text) == rule
    assert parse_condition('email_domain(email, strict=true, domain="a.b")') == (
        EmailDomain("email", "a.b")
    )


@pytest.mark.usefixtures("vendor")
def test_a_vendor_condition_parse_errors_name_the_column():
    for text, expected in [
        ('email_domain(email, "a", "b")', "column 26: expected name=value for one"),
        ('email_domain(email, colour="red")', "column 21: expected name=value for one"),
        ('email_domain("email", "a")', "column 14: expected a field path"),
        ("email_domain(email, 3)", "column 1: expected 'domain' must be <class 'str'>"),
    ]:
        with pytest.raises(DefinitionError, match=expected):
            parse_condition(text)


@pytest.mark.usefixtures("vendor")
def test_a_vendor_condition_round_trips_its_own_json():
    acme = EmailDomain("email", "acme.example", strict=False)
    data = json.loads(json.dumps(unstructure(acme)))
    assert data == {
        "kind": "email_domain",
        "field": "email",
        "domain": "acme.example",
        "strict": False,
    }
    assert structure(data, EmailDomain) == acme
    assert structure(data, Condition) == acme
    stored: object = from_json(to_json(acme & ~acme), Condition)  # type: ignore[type-abstract]
    assert stored == acme & ~acme
    with pytest.raises(DefinitionError, match=r"\$\.kind: expected 'email_domain'"):
        structure({**data, "kind": "eq"}, EmailDomain)


@pytest.mark.usefixtures("vendor")
def test_a_vendor_condition_explains_itself():
    rule = EmailDomain("email", "acme.example") & (field("employees") >= 50)
    explanation = explain(rule, {"email": "ada@acme.example", "employees": 5})
    assert str(explanation).splitlines() == [
        "✗ all of 2 (1 held)",
        '  ✓ email_domain(email, "acme.example")',
        "  ✗ employees >= 50  (actual 5)",
    ]


@pytest.mark.usefixtures("vendor")
def test_a_vendor_condition_is_drawn_by_the_strategies():
    drawn = find(conditions(kinds=["email_domain"]), lambda c: not c.strict)
    assert isinstance(drawn, EmailDomain)
    nested = find(
        conditions(),
        lambda c: any(isinstance(x, EmailDomain) for x in getattr(c, "conditions", ())),
        settings=settings(max_examples=2000),
    )
    assert isinstance(nested, AllOf | AnyOf)


def test_scoped_registration_restores_the_registry():
    before = CONDITION_KINDS.kinds()
    with CONDITION_KINDS.scoped(EmailDomain) as kinds:
        assert kinds is CONDITION_KINDS
        assert "email_domain" in CONDITION_KINDS
        assert registry_of(EmailDomain) is CONDITION_KINDS
    assert CONDITION_KINDS.kinds() == before
    assert registry_of(EmailDomain) is None
    with pytest.raises(UnknownKindError, match="email_domain"):
        CONDITION_KINDS.lookup("email_domain")
    with pytest.raises(RuntimeError), CONDITION_KINDS.scoped(EmailDomain):
        raise RuntimeError  # restored on errors too
    assert "email_domain" not in CONDITION_KINDS


def _duration(value: Any) -> Duration:
    return value if isinstance(value, Duration) else Duration.parse(value)


@attrs.frozen
class Shaped:
    """A vendor kind whose fields take every shape the function form knows."""

    kind: ClassVar[str] = "shaped"
    field: str = attrs.field(metadata={"crmcore": "path"})
    among: tuple[Any, ...] = attrs.field(
        converter=tuple, metadata={"crmcore": "values"}
    )
    window: Duration = attrs.field(converter=_duration)
    inner: Any = attrs.field()
    tags: tuple[str, ...] = attrs.field(factory=tuple, converter=tuple, kw_only=True)
    seen: int = attrs.field(init=False, default=0, eq=False)

    def test(self, record: Any, as_of: datetime | None) -> bool:
        return True


@attrs.frozen
class Labelled:
    """A vendor kind with a factory default and a field it computes itself."""

    kind: ClassVar[str] = "labelled"
    labels: tuple[str, ...] = attrs.field(factory=tuple)
    size: int = attrs.field(init=False, default=0, eq=False)

    def test(self, record: Any, as_of: datetime | None) -> bool:
        return bool(self.labels)


def test_the_function_form_reads_every_shape_of_field():
    rule = Shaped("a.b", (1, "x"), "2w", field("c") == 1, tags=("hot",))
    with CONDITION_KINDS.scoped(Shaped):
        text = to_text(rule)
        assert text == 'shaped(a.b, {1, "x"}, 2w, c == 1, tags={"hot"})'
        assert parse_condition(text) == rule
        assert parse_condition("shaped(a, {}, 1d, exists(b))") == Shaped(
            "a", (), "1d", field("b").exists()
        )


def test_derived_strategies_keep_defaults_and_skip_computed_fields():
    with CONDITION_KINDS.scoped(Labelled):
        assert find(conditions(kinds=["labelled"]), lambda c: True) == Labelled()
        found = find(conditions(kinds=["labelled"]), lambda c: len(c.labels) > 1)
        assert all(isinstance(label, str) for label in found.labels)


# -- the vendor exit criterion ------------------------------------------------------------
@pytest.mark.usefixtures("vendor")
def test_a_vendor_criterion_combines_with_operators():
    nda, budget = SignedNda(), RequiredFields(("budget",))
    assert nda & budget == (nda, budget)
    assert (nda & budget) & SignedNda("msa") == (nda, budget, SignedNda("msa"))
    assert budget & (nda & SignedNda("msa")) == (budget, nda, SignedNda("msa"))
    stage = StageDefinition("intro", "Intro", exit_criteria=nda & budget)
    assert stage.exit_criteria == (nda, budget)
    with pytest.raises(TypeError):
        5 & nda  # only criteria (and tuples of them) combine


@pytest.mark.usefixtures("vendor")
def test_a_vendor_criterion_prints_and_parses_back():
    msa = SignedNda("msa")
    assert str(msa) == 'signed_nda(document="msa")'
    assert str(SignedNda()) == "signed_nda()"
    assert parse_criterion(str(msa)) == msa
    assert parse_criterion("signed_nda()") == SignedNda()
    with pytest.raises(
        DefinitionError, match="column 1: expected one of the functions"
    ):
        parse_criterion("signed_ndaa()")
    with pytest.raises(DefinitionError, match="column 14: expected the end"):
        parse_criterion("signed_nda() and")
    with pytest.raises(DefinitionError, match="column 1: expected a exit criterion"):
        parse_criterion("x == 1")


def test_every_built_in_criterion_prints_and_parses_back():
    rules = [
        RequiredFields(("budget", "fields.region"), message="fill in"),
        MustHold(field("amount") > 0),
        RequiredActivity(
            "meeting",
            count=2,
            where=field("properties.done") == True,  # noqa: E712 - builds a condition since="30d"
        ),
        RequiredActivity("call"),
        RequiredApproval("discount", roles=("cfo", "sales_manager")),
    ]
    for rule in rules:
        parsed: object = parse_criterion(str(rule))
        assert parsed == rule, str(rule)


@pytest.mark.usefixtures("vendor")
def test_a_vendor_criterion_round_trips_its_own_json():
    msa = SignedNda("msa")
    data = json.loads(json.dumps(unstructure(msa)))
    assert data == {"kind": "signed_nda", "document": "msa"}
    assert structure(data, SignedNda) == msa
    assert structure(data, ExitCriterion) == msa
    for builtin in (
        RequiredFields(("budget",)),
        MustHold(field("a") == 1),
        RequiredActivity("meeting", since="30d"),
        RequiredApproval("legal"),
    ):
        assert structure(unstructure(builtin), type(builtin)) == builtin


@pytest.mark.usefixtures("vendor")
def test_a_vendor_criterion_explains_itself_in_a_decision():
    pipeline = Pipeline(
        "nda_first",
        (
            StageDefinition("intro", "Intro", exit_criteria=SignedNda() & SignedNda()),
            StageDefinition("won", "Won", kind="won"),
        ),
    )
    decision = evaluate(
        pipeline, {"id": "o-1", "stage": "intro", "documents": []}, "won", as_of=AS_OF
    )
    assert not decision.allowed
    assert str(decision.unmet[0]) == (
        "[intro] nda must be on file (documents: expected contains 'nda', got [])"
    )
    assert decision.prompt_fields == ("documents",)


@pytest.mark.usefixtures("vendor")
def test_a_vendor_criterion_is_drawn_by_the_strategies():
    drawn = find(exit_criteria(), lambda c: isinstance(c, SignedNda))
    assert drawn == SignedNda()  # the default is drawn first
    other = find(exit_criteria(kinds=["signed_nda"]), lambda c: c.document != "nda")
    assert isinstance(other.document, str)


@given(exit_criteria())
def test_drawn_criteria_round_trip_through_text_and_json(criterion):
    # Text keeps the meaning (a one-child ``all`` prints as its child).
    assert str(parse_criterion(str(criterion))) == str(criterion)
    assert structure(unstructure(criterion), ExitCriterion) == criterion


@given(pipelines())
def test_drawn_pipelines_round_trip(pipeline):
    assert structure(unstructure(pipeline), Pipeline) == pipeline


# -- every built-in kind is drawn ----------------------------------------------------------
BUILT_IN_KINDS = frozenset(CONDITION_KINDS)


def _kinds(condition: Any) -> set[str]:
    found = {condition.kind}
    for child in (
        *getattr(condition, "conditions", ()),
        getattr(condition, "condition", None),
        getattr(condition, "where", None),
    ):
        if child is not None:
            found |= _kinds(child)
    return found


def test_the_strategies_draw_every_registered_built_in_kind():
    assert len(BUILT_IN_KINDS) == 23
    seen: set[str] = set()

    @settings(max_examples=600, database=None)
    @given(conditions())
    def collect(condition):
        seen.update(_kinds(condition))

    collect()
    assert seen == BUILT_IN_KINDS


def test_each_kind_alone_can_be_drawn_and_evaluated_on_fitting_records():
    for kind in sorted(BUILT_IN_KINDS):

        @settings(max_examples=20, database=None)
        @given(conditions(kinds=[kind, "eq"]), condition_records())
        def evaluate_one(condition, record):
            verdict = matches(condition, record, as_of=AS_OF)
            assert explain(condition, record, as_of=AS_OF).holds is verdict
            again = parse_condition(to_text(condition))
            assert to_text(again) == to_text(condition)
            assert matches(again, record, as_of=AS_OF) is verdict

        evaluate_one()


def test_strategy_arguments_are_checked():
    with pytest.raises(UnknownKindError, match="kinds: unknown condition kind 'eqq'"):
        conditions(kinds=["eqq"])
    with pytest.raises(DataError, match="at least one kind"):
        conditions(kinds=["all", "not"])


# -- one registry type ---------------------------------------------------------------------
def test_every_family_is_the_same_registry_type():
    assert isinstance(CONDITION_KINDS, Registry)
    assert isinstance(CRITERION_KINDS, Registry)
    assert repr(CRITERION_KINDS) == "<Registry of 4 exit criterion kinds>"
    assert list(CRITERION_KINDS) == sorted(CRITERION_KINDS.kinds())
    assert len(CONDITION_KINDS) == 23


def test_a_new_family_works_with_the_shared_converter():
    class Widget:  # the family type annotations use
        pass

    widgets = Registry("widget kind", group="tests.widgets", protocol=Widget)

    @widgets.register
    @attrs.frozen
    class Knob:
        kind: ClassVar[str] = "knob"
        turns: int = 0

    from crmcore.serialization import make_converter

    conv = make_converter()
    assert conv.unstructure(Knob(3)) == {"kind": "knob", "turns": 3}
    knob: object = conv.structure({"kind": "knob", "turns": 3}, Widget)
    assert knob == Knob(3)
    with pytest.raises(Exception, match="unknown widget kind 'dial'"):
        conv.structure({"kind": "dial"}, Widget)
    with pytest.raises(Exception, match="expected a widget object with a 'kind'"):
        conv.structure([], Widget)
    assert widgets.load_entry_points() == []
    with pytest.raises(DefinitionError, match="lower-case name"):
        widgets.register(type("Bad", (), {"kind": "Bad"}))
