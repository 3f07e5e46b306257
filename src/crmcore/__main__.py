"""The crmcore command line: the only module that does I/O.

Run ``python -m crmcore --help`` for the commands. Everything here parses
arguments, calls the pure core and prints; the core never imports this module.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import sys
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO

import attrs

from crmcore._version import __version__
from crmcore.calendar import Interval, add_calendar
from crmcore.conditions import field
from crmcore.errors import (
    CrmcoreError,
    DefinitionError,
    MissingExtraError,
    import_extra,
)
from crmcore.handoffs import sla_status
from crmcore.kpis import (
    handoff_attainment,
    handoff_breaches,
    kpi_report,
    open_pipeline,
    time_to_accept,
)
from crmcore.money import Money, sum_money
from crmcore.ownership import assets_of, ownership_gaps
from crmcore.playbook import (
    DATA_SETS,
    Playbook,
    check_playbook,
    load_playbook,
    playbook_report,
    playbook_schema,
)
from crmcore.records import (
    Account,
    Activity,
    Contact,
    Lead,
    Opportunity,
    StageChange,
    Subscription,
)
from crmcore.rfm import rfm_scores, rfm_segments
from crmcore.sample import (
    LOST_REASONS,
    OPEN_STAGES,
    PAID_CHANNELS,
    SampleData,
    generate_sample,
    sample_contracts,
    sample_naive_bayes,
    sample_ownership,
    sample_pipeline,
    sample_scoring_model,
    sample_sla_policies,
)
from crmcore.scoring import BandConversion, evaluate_model, split_by_time
from crmcore.segments import (
    IcpCriterion,
    IcpModel,
    IcpTier,
    SegmentCounter,
    b2b_segments,
    b2b_size_tiers,
)
from crmcore.serialization import from_row, parse_json, structure
from crmcore.stage_analytics import stage_analytics

_DESCRIPTION = "crmcore: CRM strategy as typed values and pure functions."
_EPILOG = "Run 'python -m crmcore COMMAND --help' for a command's options."


def _progress_printer(stream: TextIO) -> Callable[[str, int, int], None]:
    def progress(what: str, done: int, total: int) -> None:
        print(f"  generating {what}: {done:,} / {total:,}", file=stream, flush=True)

    return progress


def _generate(args: argparse.Namespace, stderr: TextIO) -> SampleData:
    show = not args.quiet and args.opportunities >= 50_000
    if show:
        print(
            f"crmcore: generating a sample of {args.opportunities:,} opportunities "
            f"(seed {args.seed})...",
            file=stderr,
            flush=True,
        )
    return generate_sample(
        args.opportunities,
        seed=args.seed,
        months=args.months,
        currency=args.currency,
        progress=_progress_printer(stderr) if show else None,
    )


def _money(value: Money) -> str:
    return f"{value.rounded().amount:,} {value.currency}"


def _pct(numerator: int | Decimal, denominator: int | Decimal) -> str:
    if not denominator:
        return "undefined (nothing to divide by)"
    return f"{Decimal(numerator) * 100 / Decimal(denominator):.1f} %"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = [list(headers), *(list(r) for r in rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


def demo_report(data: SampleData) -> str:
    """Render the demo report (pipeline, KPIs, funnel, segments) for a sample."""
    currency = data.currency
    deals = data.opportunities
    won = [d for d in deals if d.outcome == "won"]
    lost = [d for d in deals if d.outcome == "lost"]

    def total(items: Iterable[Opportunity]) -> Money:
        return sum_money((d.value for d in items), currency=currency)

    lines = [
        f"crmcore {__version__} demo: sample CRM, seed {data.seed}",
        f"window {data.start.date()} to {data.as_of.date()} "
        f"(as of {data.as_of.isoformat()}), "
        f"amounts in {currency}",
        f"{len(data.accounts):,} accounts, {len(data.contacts):,} contacts, "
        f"{len(data.leads):,} leads, {len(data.activities):,} activities, "
        f"{len(deals):,} opportunities, {len(data.stage_changes):,} stage changes, "
        f"{len(data.subscriptions):,} subscriptions",
        "",
        f"Open pipeline by stage, as of {data.as_of.date()}",
    ]
    by_stage = open_pipeline(deals, per="stage").groups
    everything = open_pipeline(deals)
    rows = []
    for stage, found in [
        *((s, by_stage.get(s)) for s in OPEN_STAGES),
        ("total", everything),
    ]:
        if found is None or not found.defined:
            rows.append([stage, "0", _money(Money.zero(currency))])
        else:
            rows.append([stage, f"{found.components['deals']:,}", _money(found.value)])
    lines += _table(["stage", "deals", "amount"], rows)

    every = f"{data.start.date()} to {data.as_of.date()}"
    lines += ["", f"Closed deals, all time ({every})"]
    lines += _table(
        ["outcome", "deals", "amount"],
        [
            ["won", f"{len(won):,}", _money(total(won))],
            ["lost", f"{len(lost):,}", _money(total(lost))],
        ],
    )
    reasons = Counter(d.lost_reason for d in lost)
    lines += ["", f"Lost reasons, all time ({every})"]
    lines += _table(
        ["reason", "deals", "share"],
        [[r, f"{reasons[r]:,}", _pct(reasons[r], len(lost))] for r in LOST_REASONS],
    )
    lines += _kpi_report(data)
    lines += _funnel_report(data)
    lines += _segment_report(data)
    lines += _handoff_report(data)
    lines += _ownership_report(data)
    lines += _scoring_report(data)
    return "\n".join(lines) + "\n"


_OPEN = ("due", "at_risk", "paused")


def _hours(value: object) -> str:
    return "-" if not isinstance(value, Decimal) else f"{value:.1f}"


def _handoff_report(data: SampleData) -> list[str]:
    """Handoff SLA attainment per contract, and support SLAs, over the last year."""
    start = max(data.start, add_calendar(data.as_of, months=-12))
    year = Interval(start, data.as_of)
    contracts = sample_contracts()
    handoffs = data.handoffs()
    lines = [
        "",
        f"Handoffs, {start.date()} to {data.as_of.date()} "
        "(in the receiving team's business hours)",
    ]
    rates = handoff_attainment(
        handoffs, contracts, year, as_of=data.as_of, per="contract"
    )
    times = time_to_accept(handoffs, contracts, year, as_of=data.as_of, per="contract")
    rows = []
    for contract in contracts:
        rate, time = rates.groups.get(contract.key), times.groups.get(contract.key)
        if rate is None or time is None:
            rows.append([contract.key, "0", "-", "-", "-", "-"])
            continue
        got = rate.components
        total = got["met"] + got["late"] + got["overdue"] + got["pending"]
        rows.append(
            [
                contract.key,
                f"{total:,}",
                "-" if rate.value is None else f"{rate.value * 100:.1f} %",
                f"{got['late'] + got['overdue']:,}",
                _hours(time.value),
                _hours(time.components["p90_hours"]),
            ]
        )
    lines += _table(
        ["contract", "handoffs", "on time", "breached", "median h", "p90 h"], rows
    )
    breaches = handoff_breaches(handoffs, contracts, year, as_of=data.as_of)
    by_team = ", ".join(f"{t} {n:,}" for t, n in breaches.components["by_team"].items())
    lines.append(f"  breaches by receiving team: {by_team}")
    tickets, events = data.tickets()
    timelines: dict[str, list[dict[str, object]]] = {}
    for event in events:
        timelines.setdefault(str(event["ticket_id"]), []).append(event)
    policies = sample_sla_policies()
    by_policy: dict[str, Counter[str]] = {}
    for ticket in tickets:
        if not start <= ticket["created_at"] < data.as_of:
            continue
        status = sla_status(
            policies, ticket, timelines.get(ticket["id"], []), as_of=data.as_of
        )
        seen = by_policy.setdefault(status.policy, Counter())
        seen["tickets"] += 1
        for clock in status.clocks:
            seen[f"{clock.name} {clock.state}"] += 1
    lines += [
        "",
        "Support SLAs (tickets of the same year, success's hours in New York)",
    ]
    lines += _table(
        ["policy", "tickets", "response breached", "resolution breached", "open"],
        [
            [
                key,
                f"{seen['tickets']:,}",
                f"{seen['response breached']:,}",
                f"{seen['resolution breached']:,}",
                f"{sum(seen[f'resolution {s}'] for s in _OPEN):,}",
            ]
            for key, seen in sorted(by_policy.items())
        ],
    )
    return lines


def _ownership_report(data: SampleData) -> list[str]:
    """The sample ownership map's gaps over the configuration it governs."""
    assets = assets_of(
        sample_pipeline(),
        *sample_contracts(),
        kpis=["win_rate", "handoff_attainment", "nrr"],
    )
    report = ownership_gaps(sample_ownership(), assets)
    kinds = Counter(gap.code for gap in report.gaps)
    summary = ", ".join(f"{code} {count}" for code, count in sorted(kinds.items()))
    lines = [
        "",
        f"Ownership gaps ({len(report.gaps)} over {len(report.assets)} assets: "
        f"{summary})",
    ]
    # The roles nobody holds first, then the first assets nobody answers for.
    ordered = sorted(report.gaps, key=lambda gap: gap.asset is not None)
    lines += [f"  {gap}" for gap in ordered[:6]]
    lines.append(f"  (the first {min(6, len(ordered))} of {len(ordered)} gaps)")
    return lines


def _scoring_report(data: SampleData) -> list[str]:
    """Lead scores by band and how each band converted; the predictive score."""
    rows = data.lead_rows()
    closed = [row for row in rows if row["outcome"] != "open"]
    model = sample_scoring_model()
    by_band, by_engagement = BandConversion(), BandConversion()
    for row in closed:
        # Scored as the lead stood 45 days after it came in, before it closed.
        score = model.score(row, as_of=row["created_at"] + _SCORED_AFTER)
        won = row["outcome"] == "won"
        by_band.add((score.band or "below mql", won))
        by_engagement.add((score.group("engagement").band, won))
    lines = [
        "",
        f"Lead scores of {len(closed):,} closed leads (fit A-D x engagement 1-4, "
        "scored 45 days after creation)",
    ]
    header = ["band", "leads", "share", "converted", "conversion"]
    order = {name: n for n, name in enumerate([b.name for b in model.bands])}
    banded = sorted(by_band.result(), key=lambda r: order.get(str(r.band), len(order)))
    for rates in (banded, by_engagement.result()):
        if header[0] != "band":
            lines.append("")
        lines += _table(
            header,
            [
                [
                    str(rate.band),
                    f"{rate.count:,}",
                    _pct(rate.count, len(closed)),
                    f"{rate.converted:,}",
                    _pct(rate.converted, rate.count),
                ]
                for rate in rates
            ],
        )
        header = ["engagement", *header[1:]]
    split = data.as_of - _HOLD_OUT
    train, test = split_by_time(closed, split)
    table = sample_naive_bayes().train(train)
    if not test or not train:
        return [*lines, "", "Predictive score: too few closed leads to hold some out"]
    report = evaluate_model(table, test)
    lines += [
        "",
        f"Predictive score (naive Bayes): trained on {len(train):,} leads closed "
        f"before {split.date()}, evaluated on the {len(test):,} closed after",
    ]
    lines += _table(
        ["figure", "value"],
        [
            ["ROC AUC", _figure(report.auc)],
            ["average precision", _figure(report.average_precision)],
            ["Brier score", _figure(report.brier)],
            ["log loss", _figure(report.log_loss)],
            ["lift of the top 10 %", _figure(report.lift("0.1"))],
            ["conversion (base rate)", _figure(report.base_rate)],
        ],
    )
    return lines


_SCORED_AFTER = timedelta(days=45)
_HOLD_OUT = timedelta(days=180)


def _figure(value: Decimal | None) -> str:
    return "undefined (one class only)" if value is None else f"{value:.3f}"


def _kpi_report(data: SampleData) -> list[str]:
    """The headline KPIs of the last twelve months (or the whole window)."""
    start = max(data.start, add_calendar(data.as_of, months=-12))
    report = kpi_report(
        Interval(start, data.as_of),
        deals=data.opportunities,
        leads=data.leads,
        subscriptions=data.subscriptions,
        spend=data.marketing_spend(),
        pipeline=sample_pipeline(),
        channels=data.acquisition_channels(),
        paid_channels=PAID_CHANNELS,
        margin=Decimal("0.8"),
    )
    title = f"Headline KPIs, {start.date()} to {data.as_of.date()} (gross margin 80 %)"
    windows = (
        f"  (flows over the period; MRR, pipelines and ARPA at {data.as_of.date()}; "
        f"retention over the 12 months to it)"
    )
    lines = ("  " + line if line else line for line in report.lines())
    return ["", title, windows, *lines]


# The demo's ideal customer: software and finance companies of 50 to 1,000
# people in the three biggest markets. Users define their own.
DEMO_ICP = IcpModel(
    "demo_icp",
    (
        IcpCriterion(
            "industry", field("industry").is_in({"saas", "fintech"}), weight=3
        ),
        IcpCriterion("size", field("employees").between(50, 1000), weight=2),
        IcpCriterion("market", field("country").is_in({"US", "DE", "GB"}), weight=1),
    ),
    tiers=(IcpTier("A", 80), IcpTier("B", 50), IcpTier("C", 20)),
)


def _days(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _funnel_report(data: SampleData) -> list[str]:
    report = stage_analytics(sample_pipeline(), data.stage_changes, as_of=data.as_of)
    lines = [
        "",
        f"Funnel and time in stage, all time ({data.start.date()} to "
        f"{data.as_of.date()}, {report.deals:,} deals)",
    ]
    rows = [
        [
            s.stage,
            f"{s.deals:,}",
            "-" if s.conversion is None else f"{s.conversion * 100:.1f} %",
            _days(s.median_days),
            _days(s.p90_days),
            f"{s.current:,}",
        ]
        for s in report.stages
    ]
    rows.append(["won", f"{report.won:,}", "", "", "", ""])
    lines += _table(
        ["stage", "reached", "moved on", "median days", "p90 days", "now"], rows
    )
    lines.append(
        f"  {report.backward_moves:,} moves back, {report.skips:,} skipped stages, "
        f"{len(report.stuck):,} stuck deals"
    )
    if report.stuck:
        lines += ["", f"Longest-stuck deals, as of {data.as_of.date()}"]
        lines += _table(
            ["deal", "stage", "days in stage", "expected at most"],
            [
                [
                    str(s.record_id),
                    s.stage,
                    f"{s.days_in_stage:.0f}",
                    str(s.rotting_days),
                ]
                for s in report.stuck[:5]
            ],
        )
    return lines


def _segment_report(data: SampleData) -> list[str]:
    accounts = data.account_profiles()
    total = len(accounts)
    lines = ["", f"Accounts by size ({total:,} accounts)"]
    sizes = b2b_size_tiers().counts(accounts, as_of=data.as_of)
    lines += _table(
        ["tier", "accounts", "share"],
        [
            [str(name), f"{count:,}", _pct(count, total)]
            for name, count in sizes.items()
        ],
    )
    score = DEMO_ICP.scorer(as_of=data.as_of)
    fits: Counter[str] = Counter()
    for account in accounts:
        fits[DEMO_ICP.tier_for(score(account)) or "below C"] += 1
    lines += ["", "ICP fit (industry 3, size 2, market 1; A >= 80, B >= 50, C >= 20)"]
    lines += _table(
        ["tier", "accounts", "share"],
        [
            [name, f"{fits[name]:,}", _pct(fits[name], total)]
            for name in ("A", "B", "C", "below C")
        ],
    )
    starters = b2b_segments()
    overlap = SegmentCounter.of(starters, as_of=data.as_of).update(accounts).result()
    lines += ["", "B2B starter segments"]
    lines += _table(
        ["segment", "accounts", "share"],
        [
            [s.name, f"{c:,}", _pct(c, total)]
            for s, c in zip(starters, overlap.counts, strict=True)
        ],
    )
    purchases = data.purchases()
    if purchases:
        rfm = rfm_segments()
        named = Counter(
            rfm.assign(s) or ""
            for s in rfm_scores(purchases, as_of=data.as_of).values()
        )
        customers = sum(named.values())
        lines += [
            "",
            f"RFM segments of {customers:,} customers (won deals as purchases)",
        ]
        lines += _table(
            ["segment", "customers", "share"],
            [
                [t.name, f"{named[t.name]:,}", _pct(named[t.name], customers)]
                for t in rfm.tiers
            ],
        )
    return lines


class _OutputError(Exception):
    """The output directory cannot be written; the message says why."""


def _check_output(out: Path) -> None:
    """Refuse an ``--out`` that is a file before any work is done."""
    if out.exists() and not out.is_dir():
        raise _OutputError(f"--out {out}: expected a directory, got an existing file")


def _output_directory(out: Path) -> Path:
    """``out`` as a directory to write into, made if it does not exist."""
    _check_output(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _OutputError(
            f"--out {out}: cannot create the directory ({error.strerror})"
        ) from None
    return out


def _write_sample(
    data: SampleData, out: Path, stderr: TextIO, form: str = "jsonl"
) -> list[Path]:
    """Write every data set as flat rows (``SampleData.tables``) in one format."""
    written = []
    for name, rows in data.tables().items():
        path = out / f"{name}.{form}"
        columns = list(dict.fromkeys(column for row in rows for column in row))
        try:
            if form == "parquet":
                _write_parquet(path, rows, columns)
            else:
                with path.open("w", encoding="utf-8", newline="") as handle:
                    if form == "csv":
                        _write_csv(handle, rows, columns)
                    else:
                        for row in rows:
                            cells = {c: _json_cell(row.get(c)) for c in columns}
                            handle.write(json.dumps(cells, ensure_ascii=False))
                            handle.write("\n")
        except OSError as error:
            message = f"--out {path}: cannot write ({error.strerror})"
            raise _OutputError(message) from None
        print(f"  wrote {path}", file=stderr)
        written.append(path)
    return written


def _json_cell(value: object) -> object:
    """A cell as JSON: instants as ISO text, amounts as numbers when exact."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        number = float(value)
        return number if Decimal(repr(number)) == value else str(value)
    return value


def _write_csv(handle: TextIO, rows: list[dict[str, Any]], columns: list[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                "" if (cell := row.get(c)) is None
                else cell.isoformat() if isinstance(cell, datetime)
                else str(cell)
                for c in columns
            ]
        )  # fmt: skip


def _write_parquet(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    arrow = import_extra("pyarrow", "parquet")
    parquet = import_extra("pyarrow.parquet", "parquet")
    table = arrow.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
    parquet.write_table(table, path)


# ---------------------------------------------------------------------------
# check, report, schema: a playbook and exports of data
# ---------------------------------------------------------------------------
_RECORD_TYPES: Final[dict[str, type[Any]]] = {
    "accounts": Account,
    "contacts": Contact,
    "leads": Lead,
    "activities": Activity,
    "opportunities": Opportunity,
    "stage_changes": StageChange,
    "subscriptions": Subscription,
}
# Data sets of plain rows: the columns read as something other than text.
_ROW_TYPES: Final[dict[str, dict[str, Any]]] = {
    "marketing_spend": {"at": datetime, "amount": Decimal},
    "handoffs": {"handed_at": datetime, "accepted_at": datetime | None},
}
_FORMATS: Final = (".jsonl", ".csv", ".parquet")
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_PROGRESS_ROWS: Final = 50_000


class _InputError(Exception):
    """A file cannot be read; the message names it and says why."""


def _read_playbook(path: Path) -> Playbook:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise _InputError(f"{path}: cannot read ({error.strerror})") from None
    return load_playbook(text)


def _find_file(directory: Path, name: str) -> Path | None:
    for suffix in _FORMATS:
        path = directory / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def _raw_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, row)`` pairs of a JSON Lines, CSV or Parquet file."""
    if path.suffix == ".jsonl":
        with path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    row = parse_json(line, what=f"{path}:{number}")
                    if not isinstance(row, dict):
                        raise _InputError(f"{path}:{number}: expected a JSON object")
                    yield number, row
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.DictReader(handle), 2):
                yield number, _nested(row)
    else:
        parquet = import_extra("pyarrow.parquet", "parquet")
        for number, row in enumerate(parquet.read_table(path).to_pylist(), 1):
            yield number, row


def _nested(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a record: empty cells absent, ``a.b`` columns nested."""
    nested: dict[str, Any] = {}
    for column, value in row.items():
        if value == "" or column is None:
            continue
        *parents, last = column.split(".")
        target = nested
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"the column {column!r} is inside {part!r}, a value")
        if isinstance(target.get(last), dict):
            raise ValueError(f"the column {column!r} has columns inside it")
        target[last] = value
    return nested


def _csv_cells(row: dict[str, Any], cls: type[Any]) -> dict[str, Any]:
    """CSV holds text only: read the int columns of a record type."""
    hints = typing.get_type_hints(cls)
    typed = dict(row)
    for name, value in row.items():
        hint = hints.get(name)
        if not isinstance(value, str) or hint is None:
            continue
        options = typing.get_args(hint) or (hint,)
        if int in options and _INTEGER.fullmatch(value):
            typed[name] = int(value)
    return typed


def _records(
    name: str, path: Path, progress: Any, instants: Iterable[str] = ()
) -> list[Any]:
    """A data set's rows: crmcore records, or plain rows with typed columns."""
    try:
        return _read_records(name, path, progress, instants)
    except (OSError, UnicodeError, ValueError, csv.Error) as error:
        if isinstance(error, CrmcoreError):
            raise
        raise _InputError(f"{path}: cannot read ({error})") from None


def _read_records(
    name: str, path: Path, progress: Any, instants: Iterable[str]
) -> list[Any]:
    cls = _RECORD_TYPES.get(name)
    # The columns of plain rows read as instants: those crmcore knows, and
    # the refresh timestamps the data specs check.
    columns = {**dict.fromkeys(instants, datetime | None), **_ROW_TYPES.get(name, {})}
    found = []
    for number, row in _raw_rows(path):
        try:
            if cls is not None:
                cells = _csv_cells(row, cls) if path.suffix == ".csv" else row
                found.append(from_row(cells, cls))
            else:
                for column, hint in columns.items():
                    if column in row:
                        row[column] = structure(row[column], hint)
                found.append(row)
        except CrmcoreError as error:
            raise _InputError(f"{path}:{number}: {error}") from None
        progress(1)
    return found


def _progress(stderr: TextIO, wanted: bool | None, total: int) -> Any:
    """A progress bar (tqdm, the ``cli`` extra) on long inputs, or nothing."""
    if wanted is False or (
        wanted is None and (total < _PROGRESS_ROWS or not stderr.isatty())
    ):
        return None
    try:
        tqdm = import_extra("tqdm", "cli")
    except MissingExtraError:
        if wanted:
            raise
        return None
    return tqdm.tqdm(total=total, file=stderr, unit=" rows", desc="crmcore: reading")


def _count_lines(path: Path) -> int:
    if path.suffix == ".parquet":
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _read_data(
    directory: Path,
    names: Iterable[str],
    stderr: TextIO,
    wanted: bool | None,
    instants: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, list[Any]]:
    if not directory.is_dir():
        raise _InputError(f"--data {directory}: expected a directory")
    paths = {}
    for name in dict.fromkeys(names):
        path = _find_file(directory, name)
        if path is not None:
            paths[name] = path
    total = sum(_count_lines(path) for path in paths.values())
    bar = _progress(stderr, wanted, total)
    step = (lambda count: None) if bar is None else bar.update
    try:
        return {
            name: _records(name, path, step, (instants or {}).get(name, ()))
            for name, path in paths.items()
        }
    finally:
        if bar is not None:
            bar.close()


def _instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 instant with its offset, got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"expected an instant with its UTC offset (2026-01-01T00:00:00+00:00), "
            f"got {text!r}"
        )
    return parsed


_INSTANT_FIELDS: Final = (
    "closed_at",
    "created_at",
    "updated_at",
    "start",
    "end",
    "at",
    "handed_at",
    "accepted_at",
)


def _latest(data: dict[str, list[Any]]) -> datetime | None:
    """The latest instant in the data: the report's default ``as_of``."""
    latest: datetime | None = None
    for rows in data.values():
        for row in rows:
            for name in _INSTANT_FIELDS:
                value = (
                    row.get(name) if isinstance(row, dict) else getattr(row, name, None)
                )
                if isinstance(value, datetime) and (latest is None or value > latest):
                    latest = value
    return latest


def _run_check(args: argparse.Namespace, out: TextIO) -> int:
    playbook = _read_playbook(args.playbook)
    report = check_playbook(playbook)
    if args.format == "json":
        document = {
            "playbook": playbook.name,
            "ok": report.ok,
            "checks": list(report.checks),
            "findings": [attrs.asdict(finding) for finding in report.findings],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
    else:
        print(f"{playbook.name}: {report}", file=out)
    return 0 if report.ok else 1


def _run_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    playbook = _read_playbook(args.playbook)
    names = [*DATA_SETS, *(spec.records for spec in playbook.data)]
    instants: dict[str, list[str]] = {}
    for spec in playbook.data:
        if spec.refreshed is not None and "." not in spec.refreshed:
            instants.setdefault(spec.records, []).append(spec.refreshed)
    data = _read_data(args.data, names, err, args.progress, instants)
    as_of = args.as_of or _latest(data)
    if as_of is None:
        raise _InputError(
            f"--data {args.data}: no data set found to report on (looked for "
            f"{', '.join(sorted(set(names)))} as .jsonl, .csv or .parquet); "
            "give --as-of to report on nothing"
        )
    report = playbook_report(playbook, data, as_of=as_of)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), file=out)
    else:
        print(report, file=out)
    return 0


def _unusable(error: BaseException, args: argparse.Namespace, err: TextIO) -> int:
    """Exit 2 for input that cannot be used; the JSON format says so as JSON."""
    if getattr(args, "format", "text") == "json" and isinstance(error, DefinitionError):
        problems = [{"path": p.path, "message": p.message} for p in error.problems]
        print(json.dumps({"ok": False, "problems": problems}, indent=2), file=err)
    else:
        print(f"crmcore: error: {error}", file=err)
    return 2


class _Parser(argparse.ArgumentParser):
    """argparse, with every bad argument reported as one line (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m crmcore",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"crmcore {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands"
    )

    def sample_options(sub: argparse.ArgumentParser, default_size: int) -> None:
        sub.add_argument(
            "-n",
            "--opportunities",
            type=int,
            default=default_size,
            help=f"number of opportunities to generate (default {default_size:,})",
        )
        sub.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        sub.add_argument(
            "--months", type=int, default=24, help="length of the window (default 24)"
        )
        sub.add_argument(
            "--currency", default="EUR", help="ISO 4217 currency (default EUR)"
        )
        sub.add_argument(
            "-q", "--quiet", action="store_true", help="no progress on stderr"
        )

    demo = commands.add_parser(
        "demo",
        help="print a CRM report (pipeline, KPIs, segments) on sample data",
        description="Generate a deterministic sample CRM and print a report: open "
        "pipeline by stage, closed deals, the headline KPIs (sales, leads, "
        "recurring revenue, unit economics), the funnel and time in stage, stuck "
        "deals, size tiers, ICP fit, segments and RFM segments.",
    )
    sample_options(demo, 2_000)
    sample = commands.add_parser(
        "sample",
        help="write sample data as JSON Lines, CSV or Parquet",
        description="Generate a deterministic sample CRM and write one file per "
        "data set (records, marketing spend, handoffs) of flat rows into a "
        "directory: ready for pandas or polars (read_json(lines=True), "
        "read_csv, read_parquet) and for crmcore report.",
    )
    sample_options(sample, 2_000)
    sample.add_argument(
        "--out", type=Path, required=True, help="directory to write into"
    )
    sample.add_argument(
        "--format",
        choices=("jsonl", "csv", "parquet"),
        default="jsonl",
        help="file format (parquet needs the parquet extra); default jsonl",
    )
    check = commands.add_parser(
        "check",
        help="validate a playbook and run every failure-pattern check",
        description="Load a playbook (JSON) and run every check. Exit 0 when it is "
        "clean, 1 with findings, 2 when the file cannot be used.",
    )
    check.add_argument("playbook", type=Path, help="the playbook's JSON file")
    check.add_argument("--format", choices=("text", "json"), default="text")
    report = commands.add_parser(
        "report",
        help="compute a playbook's KPIs, goals, data trust and SLAs on exports",
        description="Read exports (one file per data set: opportunities, leads, "
        "subscriptions, marketing_spend, handoffs and the data specs' records, as "
        ".jsonl, .csv or .parquet) and print the KPIs, goal statuses, data-trust "
        "figures and handoff SLA attainment the playbook names.",
    )
    report.add_argument("playbook", type=Path, help="the playbook's JSON file")
    report.add_argument(
        "--data", type=Path, required=True, help="directory of the exports"
    )
    report.add_argument(
        "--as-of",
        type=_instant,
        help="instant to report at (default: the latest instant in the data)",
    )
    report.add_argument("--format", choices=("text", "json"), default="text")
    report.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar while reading (default: on long inputs in a terminal; "
        "needs the cli extra)",
    )
    commands.add_parser("schema", help="print the JSON Schema of a playbook")
    commands.add_parser("version", help="print the installed version")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; return the process exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad argument (exit 2)
        return done.code if isinstance(done.code, int) else 2
    if args.command is None:
        parser.print_help(out)
        return 2
    if args.command == "version":
        print(f"crmcore {__version__}", file=out)
        return 0
    if args.command == "schema":
        print(json.dumps(playbook_schema(), indent=2), file=out)
        return 0
    if args.command in ("check", "report"):
        try:
            if args.command == "check":
                return _run_check(args, out)
            return _run_report(args, out, err)
        except (CrmcoreError, _InputError) as error:
            return _unusable(error, args, err)
    try:
        if args.command == "sample":
            _check_output(args.out)
        data = _generate(args, err)  # checks the other arguments first
        if args.command == "demo":
            out.write(demo_report(data))
        else:
            _write_sample(data, _output_directory(args.out), err, args.format)
    except (CrmcoreError, _OutputError) as error:
        print(f"crmcore: error: {error}", file=err)
        return 2
    return 0


def _run() -> int:  # pragma: no cover - exercised through subprocess tests
    try:
        return main()
    except KeyboardInterrupt:
        print("crmcore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (| head) stopped reading: not an error
        # Python would report the pipe again when flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    raise SystemExit(_run())
