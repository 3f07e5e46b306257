"""The reference service's KPI endpoint: streamed from SQLite against in memory.

Run with ``python benchmarks/bench_app.py [--size N]`` (default 1,000,000
opportunities). The database is seeded once (a temporary SQLite file), then
two sides run interleaved, best of three, in this process:

* the KPI endpoint (``GET /reports/kpis`` through FastAPI's test client),
  which streams every opportunity from SQLite with a server-side cursor
  (``yield_per``), as ``Columns`` batches (its default) and as ORM objects;
* ``kpi_report`` over the same deals held in memory as crmcore records.

The two reports are compared before anything is timed. The peak memory of
each side is measured in an untimed run with ``tracemalloc`` (Python
allocations), so the streamed run's flat memory shows against the size of
the rows in memory. Needs the ``app`` extra (``pip install -e ".[test]"``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _timing import interleaved
from sqlalchemy.orm import Session

from crmcore import to_json
from crmcore.calendar import Interval
from crmcore.kpis import kpi_report
from crmcore.sample import PAID_CHANNELS, iter_opportunities, sample_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from examples.app import create_app
from examples.app.seed import seed_opportunities

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
QUERY = {
    "start": START.isoformat(),
    "end": END.isoformat(),
    "as_of": END.isoformat(),
}


def _peak(function: Callable[[], object]) -> float:
    """The peak of Python allocations while ``function`` runs, in MiB."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=0, help="unused here")
    size = parser.parse_args().size
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        app = create_app(url)
        began = time.perf_counter()
        with Session(app.state.engine) as session, session.begin():
            seed_opportunities(session, size)
        seeded = time.perf_counter() - began
        print(f"seeded {size:,} opportunities and their histories in {seeded:.1f} s")
        client = TestClient(app)
        deals = [deal for deal, _ in iter_opportunities(size)]

        def endpoint(stream: str = "columns") -> Any:
            answer = client.get("/reports/kpis", params={**QUERY, "stream": stream})
            assert answer.status_code == 200, answer.text
            return answer.json()

        def objects() -> Any:
            return endpoint("objects")

        def in_memory() -> Any:
            return json.loads(to_json(_report(deals)))

        expected = in_memory()
        assert endpoint() == expected, "the endpoint and kpi_report disagree"
        assert objects() == expected, "the endpoint (objects) and kpi_report disagree"
        streamed, memory = interleaved(endpoint, in_memory)
        as_objects, _ = interleaved(objects, in_memory, repeat=1)
        print(
            f"{'kpi_report over the deals in memory':<48} {memory:7.2f} s "
            f"({size / memory:>10,.0f} deals/s)"
        )
        for title, took in (
            ("KPI endpoint, SQLite streamed as Columns", streamed),
            ("KPI endpoint, SQLite streamed as ORM objects", as_objects),
        ):
            print(
                f"{title:<48} {took:7.2f} s ({size / took:>10,.0f} deals/s)  "
                f"ratio {took / memory:5.2f}x"
            )
        for title, run in (("Columns", endpoint), ("ORM objects", objects)):
            peak = _peak(run)
            print(f"{'peak memory of the streamed run, ' + title:<48} {peak:7.1f} MiB")
        held = _peak(lambda: in_memory_with_rows(size))
        print(f"{'peak memory, the deals in memory and report':<48} {held:7.1f} MiB")
        client.close()
        app.state.engine.dispose()
    return 0


def _report(deals: list[Any]) -> object:
    """``kpi_report`` over deals in memory, as the endpoint reports them."""
    return kpi_report(
        Interval(START, END),
        deals=deals,
        leads=[],
        subscriptions=[],
        spend=[],
        as_of=END,
        pipeline=sample_pipeline(),
        channels={},
        paid_channels=PAID_CHANNELS,
    )


def in_memory_with_rows(size: int) -> object:
    """The in-memory side with the cost of holding the rows counted."""
    return _report([deal for deal, _ in iter_opportunities(size)])


if __name__ == "__main__":
    raise SystemExit(main())
