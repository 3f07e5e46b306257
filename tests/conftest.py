"""Shared test configuration: hypothesis profiles.

The default ``dev`` profile (25 examples per property, no deadline) is what
the README's test command and CI run: the whole suite in under four minutes
on two cores, coverage included. On demand, ``HYPOTHESIS_PROFILE=ci`` runs 200
examples per property and ``HYPOTHESIS_PROFILE=fuzz`` 10,000 (for
``tests/test_fuzz.py``). Lines that only some draws reach have worked
examples of their own, so coverage never depends on the profile.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
