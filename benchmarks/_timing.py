"""Shared timing helpers: best of several runs, ratio against a baseline."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(function: Callable[[], object], *, repeat: int = 3) -> float:
    """Return the fastest wall-clock time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved(
    first: Callable[[], object], second: Callable[[], object], *, repeat: int = 3
) -> tuple[float, float]:
    """The fastest times of two functions run in turn ``repeat`` times each."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for index, function in enumerate((first, second)):
            start = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - start)
    return best[0], best[1]


def compare(
    title: str,
    crmcore: Callable[[], object],
    baseline: Callable[[], object],
    *,
    items: int,
    repeat: int = 3,
) -> float:
    """Time both, print one line with throughput and the ratio, return the ratio.

    The two run interleaved (crmcore, baseline, crmcore...), so a slow
    moment of the machine hits both; each keeps its fastest run.
    """
    ours, theirs = interleaved(crmcore, baseline, repeat=repeat)
    ratio = ours / theirs
    print(
        f"{title:<48} crmcore {ours:7.3f} s ({items / ours:>12,.0f}/s)  "
        f"baseline {theirs:7.3f} s  ratio {ratio:5.2f}x"
    )
    return ratio
