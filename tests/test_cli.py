import io
import json
import subprocess
import sys

import pytest

from crmcore.__main__ import demo_report, main
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
        "win_rate ",
        "sales_cycle ",
        "weighted_pipeline ",
        "lead_conversion ",
        "net_revenue_retention ",
        "mrr ",
        "arpa ",
        "cac ",
        "ltv_to_cac ",
    ):
        assert figure in out
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
