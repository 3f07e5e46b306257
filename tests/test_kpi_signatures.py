"""A KPI's options are defined once, by its class; the one-call functions agree.

Each one-call function (``win_rate``) is a typed facade of its accumulator
(``WinRate``): the records first, then exactly the class's parameters (same
names, kinds, defaults and annotations), then ``per``. Each accumulator's
``options`` are its constructor's parameters, so the three never drift.
"""

import inspect
import operator
import re
from datetime import UTC, datetime

import pytest

import crmcore.kpis as kpis
from crmcore.calendar import period_of
from crmcore.handoffs import HandoffContract

_FACADE = re.compile(r"\[`(\w+)`\]\[crmcore\.kpis\.\1\] over")


def _facades():
    for name in kpis.__all__:
        function = getattr(kpis, name)
        if not inspect.isfunction(function):
            continue
        found = _FACADE.match(inspect.getdoc(function) or "")
        if found:
            yield name, function, getattr(kpis, found[1])


FACADES = sorted(_facades())


def test_every_accumulator_class_with_a_facade_is_found():
    # Guards the pattern itself: the catalogue has a dozen and more.
    assert len(FACADES) >= 12, [name for name, *_ in FACADES]


@pytest.mark.parametrize(("name", "function", "cls"), FACADES, ids=lambda v: "")
def test_a_one_call_function_takes_exactly_its_class_options(name, function, cls):
    facade = list(inspect.signature(function).parameters.values())
    options = list(inspect.signature(cls).parameters.values())
    assert facade[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, name
    assert facade[-1].name == "per", name
    assert facade[-1].kind is inspect.Parameter.KEYWORD_ONLY, name
    assert facade[-1].default is None, name
    assert facade[1:-1] == options, name


PERIOD = period_of(datetime(2026, 3, 1, tzinfo=UTC), "month")


def _build(cls):
    """An accumulator with its other options at their defaults."""
    given: dict[str, object] = {
        "period": PERIOD,
        "start": PERIOD.start,
        "contracts": HandoffContract("to_sales", "marketing", "sales", "sql"),
    }
    arguments: dict[str, object] = {}
    for parameter in inspect.signature(cls).parameters.values():
        if parameter.name == "as_of":
            arguments["as_of"] = PERIOD.end  # retention needs a period or as_of
        elif parameter.default is inspect.Parameter.empty:
            arguments[parameter.name] = given[parameter.name]
    return cls(**arguments)


@pytest.mark.parametrize(
    "cls", sorted({cls for _, _, cls in FACADES}, key=operator.attrgetter("__name__"))
)
def test_options_are_the_constructor_parameters(cls):
    kpi = _build(cls)
    assert set(kpi.options) == set(inspect.signature(cls).parameters), cls
    # Rebuilding from the options gives an accumulator with the same options.
    again = cls(**kpi.options)
    assert again.options == kpi.options
    # Grouping by period rebuilds the KPI from its options for each period.
    if kpi.anchors:
        assert kpi.for_period(PERIOD.next()).options["period"] == PERIOD.next()


def test_kpi_report_takes_the_four_data_sets_and_exactly_the_report_options():
    facade = inspect.signature(kpis.kpi_report).parameters
    data = ("deals", "leads", "subscriptions", "spend")
    for name in data:
        assert facade[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert facade[name].default is None
    options = [p for name, p in facade.items() if name not in data]
    assert options == list(inspect.signature(kpis.HeadlineKpis).parameters.values())
