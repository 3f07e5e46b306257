"""Doctest set-up for the package's modules.

The docstrings of a package's submodules are written as seen from the
package (where the reference documents them): their examples use its public
names without importing each one. Kinds a doctest registers stay in that
doctest.
"""

import pytest

import crmcore.conditions
import crmcore.pipelines
from crmcore.pipelines import CRITERION_KINDS

_PACKAGES = (crmcore.conditions, crmcore.pipelines)


@pytest.fixture(autouse=True)
def _doctest_scope(request, doctest_namespace):
    test = getattr(request.node, "dtest", None)
    if test is None:
        yield
        return
    module = test.globs.get("__name__", "")
    for package in _PACKAGES:
        if module.startswith(package.__name__ + "."):
            for public in package.__all__:
                doctest_namespace.setdefault(public, getattr(package, public))
    with crmcore.conditions.CONDITION_KINDS.scoped(), CRITERION_KINDS.scoped():
        yield
