"""``reconcile run`` end to end on generated data, in every input form.

The generator (simulate.provider) knows from its own simulation which findings
each injected defect must raise; these tests compare the CLI's findings.csv with
that, exactly: no missed finding, no false alarm.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import (
    describe_difference,
    finding_keys,
    owed_keys,
    read_csv,
    read_summary,
    run_cli,
)

from reconcile.window import iso
from simulate import provider as simulate

OUTPUTS = ("report.html", "findings.csv", "summary.json", "rejects.csv", "remediation.csv",
           "provider_actions.csv")  # fmt: skip


@pytest.fixture(scope="module")
def scenario():
    return simulate.simulate(seed=7, bets=400)


def window_args(sc) -> list[str]:
    grace_minutes = int(sc.grace.total_seconds() // 60)
    return ["--from", iso(sc.window_from), "--to", iso(sc.window_to), "--cutoff", iso(sc.cutoff),
            "--grace", f"{grace_minutes}m"]  # fmt: skip


def write_form(sc, folder: Path, form: str) -> dict[str, list]:
    """Write the scenario in one input form; returns {option: [WriteResult]}."""
    folder.mkdir(parents=True, exist_ok=True)
    bookings = sc.bookings
    half = len(bookings) // 2
    if form == "jsonl+csv-dirty":
        provider = [simulate.write_provider_jsonl(sc, folder / "calls.jsonl", dirty=True,
                                                  dup_lines=3)]  # fmt: skip
        ledger = [simulate.write_ledger_csv(sc, folder / "ledger.csv", bom=True, crlf=True,
                                            shuffle_columns=True, extra_columns=True,
                                            offset_times=True, dirty=True, dup_rows=3)]  # fmt: skip
    elif form == "jsonl.gz+csv.gz":
        provider = [simulate.write_provider_jsonl(sc, folder / "calls.jsonl.gz", gzip=True)]
        ledger = [simulate.write_ledger_csv(sc, folder / "ledger.csv.gz", gzip=True, bom=True)]
    elif form == "provider-csv+parquet":
        provider = [simulate.write_provider_csv(sc, folder / "calls.csv", dirty=True, dup_lines=2)]
        ledger = [simulate.write_ledger_parquet(sc, folder / "ledger.parquet")]
    elif form == "csv.gz+overlapping-exports":
        provider = [simulate.write_provider_csv(sc, folder / "calls.csv.gz", gzip=True)]
        ledger = [
            simulate.write_ledger_csv(sc, folder / "a-ledger.csv", rows=bookings[: half + 40]),
            simulate.write_ledger_csv(
                sc, folder / "b-ledger.csv", rows=bookings[half:], offset_times=True, crlf=True
            ),
        ]
    else:
        raise AssertionError(form)
    balances = [simulate.write_balances_csv(sc, folder / "balances.csv", dirty=True)]
    return {"--provider": provider, "--ledger": ledger, "--balances": balances}


def run_form(sc, tmp_path: Path, form: str, expect: int = 1):
    written = write_form(sc, tmp_path / "in", form)
    args = ["run", *window_args(sc), "--out", tmp_path / "out"]
    for option, results in written.items():
        for result in results:
            args += [option, result.path]
    run_cli(args, expect=expect)
    return written, tmp_path / "out"


FORMS = ["jsonl+csv-dirty", "jsonl.gz+csv.gz", "provider-csv+parquet", "csv.gz+overlapping-exports"]


@pytest.mark.parametrize("form", FORMS)
def test_every_injected_defect_is_found_and_nothing_else(scenario, tmp_path, form):
    _, out = run_form(scenario, tmp_path, form)
    actual = finding_keys(out)
    assert actual == scenario.expected_set(), describe_difference(scenario.expected_set(), actual)
    owed = {f.owed() for f in scenario.expected}
    assert owed_keys(out) == owed, describe_difference(owed, owed_keys(out))
    assert sorted(p.name for p in out.iterdir()) == sorted((*OUTPUTS, ".reconcile-report"))


@pytest.mark.parametrize("form", FORMS)
def test_every_record_is_loaded_collapsed_or_rejected(scenario, tmp_path, form):
    written, out = run_form(scenario, tmp_path, form)
    summary = read_summary(out)
    by_path = {Path(i["path"]).name: i for i in summary["inputs"]}
    rejects = read_csv(out / "rejects.csv")
    for results in written.values():
        for result in results:
            counts = by_path[Path(result.path).name]
            assert counts["rows_in"] == result.rows_in
            assert counts["rows_in"] == counts["loaded"] + counts["collapsed"] + counts["rejected"]
            assert counts["rejected"] == len(result.rejects)
            rejected_lines = sorted(
                int(r["line"]) for r in rejects if Path(r["file"]).name == Path(result.path).name
            )
            assert sorted({line for line, _ in result.rejects}) == sorted(set(rejected_lines))
    if form == "csv.gz+overlapping-exports":
        overlap = 40
        assert by_path["b-ledger.csv"]["collapsed"] == overlap
    else:
        assert sum(i["collapsed"] for i in summary["inputs"]) == sum(
            r.collapsed for results in written.values() for r in results
        )


def test_secrets_appear_in_no_output(scenario, tmp_path):
    written, out = run_form(scenario, tmp_path, "jsonl+csv-dirty")
    signs = {s for r in written["--provider"] for s in r.sign_values}
    assert signs
    for name in OUTPUTS:
        text = (out / name).read_text(encoding="utf-8")
        leaked = [s for s in signs if s in text]
        assert not leaked, f"{name} contains X-Sign values {leaked[:3]}"
    assert "[redacted]" in (out / "rejects.csv").read_text(encoding="utf-8")


def test_normal_traffic_raises_nothing(tmp_path):
    calm = simulate.simulate(seed=11, bets=300, defects=False)
    _, out = run_form(calm, tmp_path, "jsonl.gz+csv.gz", expect=0)
    assert read_csv(out / "findings.csv") == []
    assert read_summary(out)["exit_status"] == 0


def test_a_rerun_gives_the_same_findings(scenario, tmp_path):
    _, out = run_form(scenario, tmp_path, "jsonl+csv-dirty")
    first = (out / "findings.csv").read_bytes()
    (out / "stale.txt").write_text("from an older run")
    written = write_form(scenario, tmp_path / "in", "jsonl+csv-dirty")
    args = ["run", *window_args(scenario), "--out", out]
    for option, results in written.items():
        args += [option, results[0].path]
    run_cli(args, expect=1)
    assert (out / "findings.csv").read_bytes() == first
    assert not (out / "stale.txt").exists(), "the output folder is replaced whole"


def test_critical_findings_fail_even_the_strictest_threshold(scenario, tmp_path):
    written = write_form(scenario, tmp_path / "in", "jsonl.gz+csv.gz")
    provider, ledger = written["--provider"][0].path, written["--ledger"][0].path
    args = ["run", *window_args(scenario), "--out", tmp_path / "out", "--fail-on", "critical",
            "--provider", provider, "--ledger", ledger]  # fmt: skip
    run_cli(args, expect=1)


def test_only_low_findings_pass_the_default_threshold(tmp_path):
    """A PayIn booked and never settled: one open bet (low), exit 0 under --fail-on high."""
    (tmp_path / "calls.jsonl").write_text(
        '{"request": {"path": "/v1/sessions/s1/bets/pay-in", "headers": {"X-Counterparty-Id":'
        ' "cp", "X-Timestamp": "1763805600000", "X-Request-Id": "r1", "X-Sign": "abc"}, "body":'
        ' {"betId": "1", "betAmount": 5}}, "response": {"status": 200, "body": {"transactionId":'
        ' "t1", "balance": 95, "_responseCode": 1}}, "error": null}\n'
    )
    (tmp_path / "ledger.csv").write_text(
        "transaction_id,created_at,counterparty_id,type,user_id,bet_id,amount,balance_before,"
        "balance_after,request_id\nt1,2025-11-22T10:00:00.005Z,cp,PAYIN,u1,1,5,100,95,r1\n"
    )
    args = ["run", "--provider", tmp_path / "calls.jsonl", "--ledger", tmp_path / "ledger.csv",
            "--cutoff", "2025-11-23T00:00:00Z", "--out", tmp_path / "out"]  # fmt: skip
    result = run_cli(args, expect=0)
    assert "1 finding(s)" in result.out
    assert [r["check"] for r in read_csv(tmp_path / "out" / "findings.csv")] == ["open_bet"]
    run_cli([*args, "--fail-on", "low"], expect=1)


def test_untrusted_text_is_escaped_in_html_and_neutralised_in_csv(tmp_path):
    evil_bet = "<script>alert(1)</script>"
    evil_request = '=HYPERLINK("http://x","y")'
    quoted_request = evil_request.replace('"', '""')
    (tmp_path / "calls.jsonl").write_text("")
    (tmp_path / "ledger.csv").write_text(
        "transaction_id,created_at,counterparty_id,type,user_id,bet_id,amount,balance_before,"
        "balance_after,request_id\n"
        f't9,2026-11-22T10:00:00Z,cp,PAYIN,@u1,"{evil_bet}",5,100,95,"{quoted_request}"\n'
    )
    args = ["run", "--provider", tmp_path / "calls.jsonl", "--ledger", tmp_path / "ledger.csv",
            "--counterparty", "cp", "--out", tmp_path / "out"]  # fmt: skip
    run_cli(args, expect=0)
    html = (tmp_path / "out" / "report.html").read_text()
    assert evil_bet not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    rows = read_csv(tmp_path / "out" / "findings.csv")
    assert {r["check"] for r in rows} == {"unmatched_ledger"}
    assert rows[0]["user_id"] == "'@u1"
    assert rows[0]["bet_id"] == evil_bet
    assert evil_request in rows[0]["detail"]  # mid-cell text is not a formula: kept as it is


def test_the_report_is_self_contained(scenario, tmp_path):
    _, out = run_form(scenario, tmp_path, "jsonl.gz+csv.gz")
    html = (out / "report.html").read_text()
    for needle in ("http://", "https://", "<script", "<link", "@import"):
        assert needle not in html
    summary = read_summary(out)
    listing = html[html.index("<h2>Every finding in this window</h2>") : html.index("<h2>Inputs")]
    listed = re.findall(r'<a class="code" href="#check-([a-z_]+)">', listing)
    assert Counter(listed) == Counter(f.check for f in scenario.expected)
    assert summary["findings"]["total"] == len(scenario.expected)
    totals = summary["totals"][0]
    assert isinstance(totals["stakes"], str) and isinstance(totals["net"], str)  # exact text
    money = summary["findings"]["by_check"]["duplicate_payin"]["amount"]
    assert all(isinstance(v, str) for v in money.values())


# ---------------------------------------------------------------------------
# Usage and input errors: one line, exit 2, nothing that looks like a report


def assert_clean_failure(result, out: Path, message: str) -> None:
    """Exactly one line, ``reconcile: MESSAGE``, and nothing that looks like a report."""
    assert result.err == f"reconcile: {message}\n"
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))


def test_a_missing_file_is_a_usage_error(tmp_path):
    out = tmp_path / "out"
    result = run_cli(["run", "--provider", tmp_path / "nope.jsonl", "--ledger", tmp_path / "x.csv",
                     "--out", out], expect=2)  # fmt: skip
    assert_clean_failure(result, out, f"--provider: no such file '{tmp_path / 'nope.jsonl'}'")


def test_a_glob_matching_nothing_is_a_usage_error(tmp_path):
    out = tmp_path / "out"
    result = run_cli(["run", "--provider", f"{tmp_path}/*.jsonl", "--ledger", tmp_path / "x.csv",
                     "--out", out], expect=2)  # fmt: skip
    assert_clean_failure(result, out, f"--provider: no file matches '{tmp_path}/*.jsonl'")


def test_missing_required_columns_name_the_file_and_columns(tmp_path):
    (tmp_path / "calls.jsonl").write_text("")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("transaction_id,created_at,type,user_id\n1,2026-11-22T00:00:00Z,PAYIN,u\n")
    out = tmp_path / "out"
    result = run_cli(["run", "--provider", tmp_path / "calls.jsonl", "--ledger", ledger,
                     "--out", out], expect=2)  # fmt: skip
    assert_clean_failure(result, out, f"{ledger}: missing required column(s) counterparty_id, "
                         "bet_id, amount, balance_before, balance_after")  # fmt: skip


def test_a_bad_date_is_a_usage_error(tmp_path):
    out = tmp_path / "out"
    result = run_cli(["run", "--provider", "x", "--ledger", "y", "--date", "2026-02-30",
                     "--out", out], expect=2)  # fmt: skip
    assert_clean_failure(result, out, "--date: '2026-02-30' is not a date (use YYYY-MM-DD)")


def test_a_failed_run_leaves_the_previous_report_alone(scenario, tmp_path):
    _, out = run_form(scenario, tmp_path, "jsonl.gz+csv.gz")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = tmp_path / "broken.csv"
    broken.write_text("nothing,useful\n")
    run_cli(["run", "--provider", broken, "--ledger", broken, "--out", out], expect=2)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_findings_sharing_a_key_get_ids_of_their_own(tmp_path):
    """Two ledger rows with one transaction id but different content: two findings,
    two ids, the same ids on a re-run."""
    (tmp_path / "calls.jsonl").write_text("")
    (tmp_path / "ledger.csv").write_text(
        "transaction_id,created_at,counterparty_id,type,user_id,bet_id,amount,balance_before,"
        "balance_after,request_id\n"
        "t1,2026-11-22T10:00:00Z,cp,PAYIN,u1,b1,5,100,95,r1\n"
        "t1,2026-11-22T10:00:01Z,cp,PAYIN,u1,b2,7,95,88,r2\n"
    )
    args = ["run", "--provider", tmp_path / "calls.jsonl", "--ledger", tmp_path / "ledger.csv",
            "--counterparty", "cp", "--fail-on", "critical"]  # fmt: skip
    run_cli([*args, "--out", tmp_path / "a"], expect=0)
    run_cli([*args, "--out", tmp_path / "b"], expect=0)
    first = [r["finding_id"] for r in read_csv(tmp_path / "a" / "findings.csv")
             if r["check"] == "unmatched_ledger"]  # fmt: skip
    again = [r["finding_id"] for r in read_csv(tmp_path / "b" / "findings.csv")
             if r["check"] == "unmatched_ledger"]  # fmt: skip
    assert len(first) == 2 and len(set(first)) == 2
    assert sorted(first) == sorted(again)
