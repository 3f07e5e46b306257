"""Every field of every public value type rejects bad input with a crmcore error.

The error must name the field, so a user (or a UI) knows what to fix. This
test walks all fields, so a field added later without validation fails here.
"""

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import CrmcoreError, Problem
from crmcore.sample import SampleData, generate_sample
from tests.values import ROUND_TRIPS


class Alien:
    """A value no field accepts."""

    def __repr__(self) -> str:
        return "<alien>"


VALUES = [
    *ROUND_TRIPS,
    (Problem, st.builds(Problem, st.text(), st.text())),
    (SampleData, st.just(generate_sample(20))),
]


@pytest.mark.parametrize(
    ("cls", "field", "strategy"),
    [
        (cls, field.name, strategy)
        for cls, strategy in VALUES
        for field in attrs.fields(cls)
        if field.init  # derived state (a pipeline's index) is not a parameter
    ],
    ids=lambda v: getattr(v, "__name__", v if isinstance(v, str) else ""),
)
@settings(max_examples=15)
@given(data=st.data())
def test_a_bad_value_in_any_field_gets_a_crmcore_error_naming_it(
    cls, field, strategy, data
):
    valid = data.draw(strategy)
    with pytest.raises(CrmcoreError) as caught:
        attrs.evolve(valid, **{field: Alien()})
    assert isinstance(caught.value, (TypeError, ValueError))
    assert str(caught.value).startswith(field), str(caught.value)
    assert "<alien>" in str(caught.value)
