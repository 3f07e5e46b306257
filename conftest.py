"""Doctest set-up for the package's modules.

The rule language's docstrings are written as seen from ``crmcore.conditions``
(where the reference documents them): their examples use its public names
without importing each one. Kinds a doctest registers stay in that doctest.
"""

import pytest

import crmcore.conditions
from crmcore.pipelines import CRITERION_KINDS


@pytest.fixture(autouse=True)
def _doctest_scope(request, doctest_namespace):
    test = getattr(request.node, "dtest", None)
    if test is None:
        yield
        return
    if test.globs.get("__name__", "").startswith("crmcore.conditions."):
        for public in crmcore.conditions.__all__:
            doctest_namespace.setdefault(public, getattr(crmcore.conditions, public))
    with crmcore.conditions.CONDITION_KINDS.scoped(), CRITERION_KINDS.scoped():
        yield
