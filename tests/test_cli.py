import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crmcore.__main__ import demo_report, main
from crmcore.playbook import playbook_schema
from crmcore.sample import generate_sample


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_demo_prints_the_pipeline_and_revenue_report():
    code, out, err = run("demo", "-n", "500", "--seed", "3")
    assert code == 0
    assert err == ""
    for heading in (
        "Open pipeline by stage",
        "Closed deals",
        "Lost reasons",
        "Headline KPIs",
    ):
        assert heading in out
    for figure in (
        "Win rate ",
        "Sales cycle ",
        "Weighted pipeline ",
        "Lead conversion ",
        "Net revenue retention ",
        "MRR ",
        "ARPA ",
        "CAC ",
        "LTV : CAC ",
    ):
        assert figure in out
    # Every window is stated, and the churn and retention figures agree.
    assert "Open pipeline by stage, as of " in out
    assert "Closed deals, all time (" in out
    net_churn = re.search(r"Net revenue churn +(-?[\d.]+) %", out)
    nrr = re.search(r"Net revenue retention +([\d.]+) %", out)
    assert net_churn and nrr
    assert abs(float(net_churn[1]) + float(nrr[1]) - 100) < 0.11
    assert "prospecting" in out and "negotiation" in out
    for section in (
        "Funnel and time in stage",
        "Longest-stuck deals",
        "Accounts by size",
        "ICP fit",
        "B2B starter segments",
        "RFM segments of",
    ):
        assert section in out


def test_demo_is_deterministic():
    assert run("demo", "-n", "300")[1] == run("demo", "-n", "300")[1]


def test_large_runs_show_progress_on_stderr_unless_quiet(monkeypatch):
    monkeypatch.setattr(
        "crmcore.__main__.generate_sample",
        lambda n, **kw: generate_sample(300, **{**kw, "months": 2}),
    )
    code, _, err = run("demo", "-n", "60000")
    assert code == 0
    assert "generating a sample of 60,000 opportunities" in err
    assert "generating opportunities: 300 / 300" in err
    assert run("demo", "-n", "60000", "--quiet")[2] == ""


def test_undefined_figures_are_said_not_hidden():
    report = demo_report(generate_sample(0, months=1))
    assert "undefined (nothing to divide by)" in report
    assert "undefined (no deals won in the period)" in report
    assert "undefined (no customers are active at the instant)" in report


def test_sample_writes_json_lines(tmp_path):
    code, _, err = run("sample", "-n", "100", "--out", str(tmp_path / "crm"))
    assert code == 0
    files = sorted(p.name for p in (tmp_path / "crm").iterdir())
    assert files == [
        "accounts.jsonl",
        "activities.jsonl",
        "contacts.jsonl",
        "handoffs.jsonl",
        "leads.jsonl",
        "marketing_spend.jsonl",
        "opportunities.jsonl",
        "stage_changes.jsonl",
        "subscriptions.jsonl",
    ]
    rows = (tmp_path / "crm" / "opportunities.jsonl").read_text().splitlines()
    assert len(rows) == 100
    assert json.loads(rows[0])["currency"] == "EUR"
    spend = (tmp_path / "crm" / "marketing_spend.jsonl").read_text().splitlines()
    assert sorted(json.loads(spend[0])) == ["amount", "at", "channel", "currency"]
    assert "wrote" in err


def test_version_help_and_errors(capsys):
    assert run("version")[1].startswith("crmcore ")
    code, out, _ = run()
    assert code == 2 and "demo" in out and "sample" in out
    code, _, err = run("demo", "--currency", "euro")
    assert code == 2
    assert "crmcore: error: currency: expected an active ISO 4217" in err


def test_module_entry_point_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, "-m", "crmcore", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in result.stdout and "sample" in result.stdout


# -- every bad argument or path: one line, exit 2 ---------------------------------
def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bogus"], "python -m crmcore: error: argument COMMAND: invalid choice"),
        (["demo", "-n", "ten"], "error: argument -n/--opportunities: invalid int"),
        (["demo", "--frobnicate"], "error: unrecognized arguments: --frobnicate"),
        (["sample"], "error: the following arguments are required: --out"),
        (["demo", "-n", "-5"], "crmcore: error: opportunities: expected"),
        (["demo", "--months", "0"], "crmcore: error: months: expected"),
        (["demo", "--currency", "eur"], "crmcore: error: currency: expected"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(argv, expected):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert expected in _one_line(err)


def test_an_existing_file_as_the_output_directory(tmp_path):
    target = tmp_path / "crm"
    target.write_text("not a directory")
    code, _, err = run("sample", "-n", "10", "-q", "--out", str(target))
    assert code == 2
    assert _one_line(err) == (
        f"crmcore: error: --out {target}: expected a directory, got an existing file"
    )
    assert target.read_text() == "not a directory"


def test_an_output_directory_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run("sample", "-n", "10", "-q", "--out", str(blocker / "crm"))
    assert code == 2
    assert _one_line(err).startswith(
        f"crmcore: error: --out {blocker / 'crm'}: cannot create the directory ("
    )


def test_an_output_file_that_cannot_be_written(tmp_path):
    (tmp_path / "accounts.jsonl").mkdir()  # a directory where a file goes
    code, _, err = run("sample", "-n", "10", "-q", "--out", str(tmp_path))
    assert code == 2
    assert _one_line(err).startswith(
        f"crmcore: error: --out {tmp_path / 'accounts.jsonl'}: cannot write ("
    )


def test_a_missing_output_directory_is_created(tmp_path):
    code, _, _ = run("sample", "-n", "10", "-q", "--out", str(tmp_path / "a" / "b"))
    assert code == 0 and (tmp_path / "a" / "b" / "leads.jsonl").exists()


def test_help_and_version_return_0():
    code, out, _ = run("--help")
    assert code == 0 and "demo" in out
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("crmcore ")


def test_a_bad_argument_leaves_no_output_directory_behind(tmp_path):
    target = tmp_path / "new"
    code, _, err = run("sample", "-n", "-5", "-q", "--out", str(target))
    assert code == 2 and "opportunities: expected" in err
    assert not target.exists()


# ---------------------------------------------------------------------------
# check, report, schema
# ---------------------------------------------------------------------------
EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "playbook.json")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    code, _, _ = run("sample", "-n", "600", "--seed", "2", "--out", str(out))
    assert code == 0
    return out


def test_check_a_clean_playbook_exits_0():
    code, out, err = run("check", EXAMPLE)
    assert (code, out, err) == (0, "Northwind Cloud: no findings (12 checks)\n", "")
    code, out, _ = run("check", EXAMPLE, "--format", "json")
    assert code == 0
    assert json.loads(out)["ok"] is True


def test_check_with_findings_exits_1(tmp_path):
    path = tmp_path / "thin.json"
    path.write_text('{"version": 1, "name": "Thin"}')
    code, out, _ = run("check", str(path))
    assert code == 1
    assert out.startswith("Thin: 7 findings (12 checks):")
    code, out, _ = run("check", str(path), "--format", "json")
    document = json.loads(out)
    assert code == 1 and document["ok"] is False
    assert document["findings"][0] == {
        "check": "strategy:unanswered_question",
        "path": "$.strategy.customers",
        "message": "'Which customers do we need to understand better?' is not answered",
        "fix": "name the parts that decide it (ICP, segments, account priority): "
        "segment references",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"version": 1, "name": "x", "segments": [{"nam": 1}]}', "$.segments[0].nam"),
        ("{", "invalid JSON"),
        ('{"version": 9, "name": "x"}', "upgrade crmcore"),
    ],
)
def test_check_of_an_unusable_file_exits_2(tmp_path, text, expected):
    path = tmp_path / "bad.json"
    path.write_text(text)
    code, out, err = run("check", str(path))
    assert (code, out) == (2, "")
    assert expected in err
    code, _, err = run("check", str(path), "--format", "json")
    assert code == 2
    assert json.loads(err)["problems"][0]["path"].startswith("$")


def test_check_of_a_missing_file_exits_2(tmp_path):
    code, _, err = run("check", str(tmp_path / "nope.json"))
    assert code == 2
    assert "nope.json: cannot read" in err


def test_schema_prints_the_json_schema():
    code, out, _ = run("schema")
    assert code == 0
    assert json.loads(out) == playbook_schema()


def test_report_on_the_sample_exports(exports):
    code, out, err = run("report", EXAMPLE, "--data", str(exports))
    assert code == 0, err
    for heading in ("KPIs", "Goals", "Data trust", "Handoff SLAs"):
        assert f"\n{heading}\n" in out
    assert "lead_source_data (leads):" in out
    assert "mql_to_sales" in out
    code, out, _ = run(
        "report",
        EXAMPLE,
        "--data",
        str(exports),
        "--format",
        "json",
        "--as-of",
        "2025-12-01T00:00:00+00:00",
    )
    document = json.loads(out)
    assert document["as_of"] == "2025-12-01T00:00:00+00:00"
    assert [k["kpi"] for k in document["kpis"]] == [
        "lead_conversion",
        "win_rate",
        "net_revenue_retention",
    ]
    assert {t["spec"] for t in document["trust"]} == {
        "lead_source_data",
        "account_data",
    }
    assert document["missing"] == []


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _flat(row, prefix=""):
    """A record as CSV cells: nested objects as ``a.b`` columns, None empty."""
    cells = {}
    for key, value in row.items():
        if isinstance(value, dict):
            cells.update(_flat(value, f"{prefix}{key}."))
        else:
            cells[f"{prefix}{key}"] = "" if value is None else value
    return cells


def test_report_reads_csv_and_parquet_like_json_lines(exports, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name in ("leads", "accounts"):
        rows = _lines(exports / f"{name}.jsonl")
        flat = [_flat(row) for row in rows]
        columns = list(dict.fromkeys(c for row in flat for c in row))
        with (tmp_path / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(flat)
    written = tmp_path / "written"
    code, _, _ = run(
        "sample", "-n", "600", "--seed", "2", "--out", str(written),
        "--format", "parquet",
    )  # fmt: skip
    assert code == 0
    (written / "opportunities.parquet").rename(tmp_path / "opportunities.parquet")
    table = pq.read_table(tmp_path / "opportunities.parquet")
    assert pa.types.is_timestamp(table.schema.field("created_at").type)
    assert pa.types.is_decimal(table.schema.field("amount").type)
    at = "2026-01-01T00:00:00+00:00"
    code, out, err = run("report", EXAMPLE, "--data", str(tmp_path), "--as-of", at)
    assert code == 0, err
    code, reference, _ = run("report", EXAMPLE, "--data", str(exports), "--as-of", at)
    trust = out.split("Data trust")[1].split("\n\n")[0]
    assert trust == reference.split("Data trust")[1].split("\n\n")[0]
    assert "win_rate" in out
    assert "handoff SLAs: no 'handoffs' data set was given" in out


def test_report_names_the_bad_line_of_a_file(tmp_path):
    (tmp_path / "leads.jsonl").write_text('{"id": "l1"}\n')
    code, _, err = run("report", EXAMPLE, "--data", str(tmp_path))
    assert code == 2
    assert "leads.jsonl:1:" in err and "created_at" in err
    (tmp_path / "leads.jsonl").write_text("[1]\n")
    code, _, err = run("report", EXAMPLE, "--data", str(tmp_path))
    assert "leads.jsonl:1: expected a JSON object" in err


def test_report_without_data_or_directory_exits_2(tmp_path):
    code, _, err = run("report", EXAMPLE, "--data", str(tmp_path))
    assert code == 2 and "no data set found" in err
    code, out, _ = run(
        "report", EXAMPLE, "--data", str(tmp_path), "--as-of", "2026-01-01T00:00Z"
    )
    assert code == 0 and "Not computed" in out
    code, _, err = run("report", EXAMPLE, "--data", str(tmp_path / "none"))
    assert code == 2 and "expected a directory" in err
    code, _, err = run("report", EXAMPLE, "--data", str(tmp_path), "--as-of", "2026")
    assert code == 2 and "offset" in err
    code, _, err = run("report", EXAMPLE, "--data", str(tmp_path), "--as-of", "x")
    assert code == 2 and "ISO 8601" in err


def test_report_shows_a_progress_bar_when_asked(exports, monkeypatch):
    code, _, err = run("report", EXAMPLE, "--data", str(exports), "--progress")
    assert code == 0
    assert "crmcore: reading" in err
    monkeypatch.setitem(sys.modules, "tqdm", None)
    code, _, err = run("report", EXAMPLE, "--data", str(exports), "--progress")
    assert code == 2 and "crmcore[cli]" in err
    code, _, err = run("report", EXAMPLE, "--data", str(exports))
    assert code == 0 and "reading" not in err  # not a terminal: no bar


def test_report_on_long_inputs_in_a_terminal_shows_progress(exports, monkeypatch):
    import crmcore.__main__ as shell

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(shell, "_PROGRESS_ROWS", 10)
    err = Terminal()
    code = main(
        ["report", EXAMPLE, "--data", str(exports)], stdout=io.StringIO(), stderr=err
    )
    assert code == 0 and "crmcore: reading" in err.getvalue()
    monkeypatch.setitem(sys.modules, "tqdm", None)
    err = Terminal()
    code = main(
        ["report", EXAMPLE, "--data", str(exports)], stdout=io.StringIO(), stderr=err
    )
    assert code == 0 and err.getvalue() == ""


def test_report_reads_blank_lines_and_rows_without_optional_columns(tmp_path):
    handoff = {
        "id": "h1",
        "contract": "mql_to_sales",
        "handed_at": "2025-06-02T09:00:00+00:00",
    }
    (tmp_path / "handoffs.jsonl").write_text("\n" + json.dumps(handoff) + "\n\n")
    code, out, err = run("report", EXAMPLE, "--data", str(tmp_path))
    assert code == 0, err
    assert "mql_to_sales" in out.split("Handoff SLAs")[1]


def test_report_refuses_a_naive_as_of(tmp_path):
    code, _, err = run(
        "report", EXAMPLE, "--data", str(tmp_path), "--as-of", "2026-01-01"
    )
    assert code == 2 and "UTC offset" in err


def _playbook_with(tmp_path, **spec):
    from crmcore.playbook import Playbook
    from crmcore.quality import DataSpec

    path = tmp_path / "p.json"
    path.write_text(Playbook("p", data=[DataSpec("c", "companies", **spec)]).to_json())
    return str(path)


def test_report_reads_the_refresh_timestamps_of_any_data_set(tmp_path):
    playbook = _playbook_with(tmp_path, refreshed="updated_at", refresh_every="30d")
    data = tmp_path / "data"
    data.mkdir()
    (data / "companies.jsonl").write_text(
        json.dumps({"id": 1, "updated_at": "2026-01-10T00:00:00+00:00"}) + "\n"
    )
    code, out, err = run(
        "report", playbook, "--data", str(data), "--as-of", "2026-01-12T00:00:00Z"
    )
    assert code == 0, err
    assert "c (companies): 1 of 1 records trusted" in out
    (data / "companies.jsonl").write_text('{"id": 1, "updated_at": "soon"}\n')
    code, _, err = run(
        "report", playbook, "--data", str(data), "--as-of", "2026-01-12T00:00:00Z"
    )
    assert code == 2 and "companies.jsonl:1:" in err


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("leads.csv", "id,employees\nl1,²\n", "leads.csv:2:"),
        ("leads.csv", "id,fields,fields.x\nl1,a,b\n", "'fields.x' is inside 'fields'"),
        ("leads.csv", "id,fields.x,fields\nl1,b,a\n", "has columns inside it"),
        ("leads.csv", "id,a,a.b\nl1,x,y\n", "'a.b' is inside 'a'"),
        ("leads.csv", b"id,name\nl1,M\xfcller\n", "cannot read"),
        ("opportunities.parquet", b"not parquet", "cannot read"),
    ],
)
def test_unreadable_exports_exit_2_naming_the_file(tmp_path, name, content, expected):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, _, err = run("report", EXAMPLE, "--data", str(tmp_path))
    assert code == 2, err
    assert expected in err and name in err


def test_an_export_of_subscriptions_alone_is_reported(exports, tmp_path):
    (tmp_path / "subscriptions.jsonl").write_text(
        (exports / "subscriptions.jsonl").read_text()
    )
    code, out, err = run("report", EXAMPLE, "--data", str(tmp_path))
    assert code == 0, err
    assert "net_revenue_retention" in out


def test_report_names_the_line_of_bad_json_and_reads_specs_without_timestamps(
    tmp_path,
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "leads.jsonl").write_text('{"id": \n')
    code, _, err = run("report", EXAMPLE, "--data", str(data))
    assert code == 2 and "leads.jsonl:1" in err and "invalid JSON" in err
    playbook = _playbook_with(tmp_path, required=["id"])
    (data / "companies.jsonl").write_text('{"id": 1}\n')
    (data / "leads.jsonl").unlink()
    code, out, err = run(
        "report", playbook, "--data", str(data), "--as-of", "2026-01-01T00:00:00Z"
    )
    assert code == 0, err
    assert "c (companies): 1 of 1 records trusted" in out
