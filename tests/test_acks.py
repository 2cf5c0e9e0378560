"""Issue 6: acknowledged breaks, kept in a YAML file, applied by --acks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import read_csv, run_cli
from records import call_line, ledger_row, write_ledger, write_lines

from reconcile.window import iso

START = datetime(2025, 11, 22, 10, tzinfo=UTC)


def when(offset_ms: int) -> str:
    return iso(at(offset_ms))


def at(offset_ms: int) -> datetime:
    return START + timedelta(milliseconds=offset_ms)


def call(op: str, offset_ms: int, rid: str, status: int, tx: str, balance: int, **kw) -> str:
    return call_line(op, "5001", at(offset_ms), cp="cp", rid=rid, tx=tx, balance=str(balance),
                     status=status, headers={"X-Sign": "sig"}, stamp_as_text=True,
                     betAmount=10, winAmount=20, **kw)  # fmt: skip


def write_day(folder: Path, payouts: int) -> dict[str, Path]:
    """Bet 5001: a PayIn and a PayOut that was booked ``payouts`` times (one retry
    answered 200).  Everything else about it is consistent."""
    calls = [call("pay-in", 0, "r1", 200, "t1", 90),
             call("pay-out", 1000, "r2", 500, "", 0, code=None),
             call("pay-out", 5000, "r3", 200, "t3", 110 + 20 * (payouts - 1))]  # fmt: skip
    rows = [ledger_row("t1", at(5), "PAYIN", "5001", 10, 100, 90, "r1", cp="cp")]
    balance = 90
    for n in range(payouts):
        request = "r2" if n == 0 else "r3"
        rows.append(ledger_row(f"t{n + 2}", at(1005 + 4000 * n), "PAYOUT", "5001", 20, balance,
                               balance + 20, request, cp="cp"))  # fmt: skip
        balance += 20
    return {"--provider": write_lines(folder / "calls.jsonl", calls),
            "--ledger": write_ledger(folder / "ledger.csv", rows)}  # fmt: skip


def run(files, out, expect, *extra):
    args = ["run", "--cutoff", when(3_600_000), "--out", out, *extra]
    for option, path in files.items():
        args += [option, path]
    return run_cli(args, expect=expect)


@pytest.fixture
def night(tmp_path):
    """One night with a duplicate payout, in a store; returns its finding id."""
    files = write_day(tmp_path / "in", payouts=2)
    db = tmp_path / "recon.duckdb"
    run(files, tmp_path / "out", 1, "--db", db)
    rows = read_csv(tmp_path / "out" / "findings.csv")
    assert [(r["check"], r["bet_id"], r["amount"]) for r in rows] == [
        ("duplicate_payout", "5001", "20.00")
    ]
    return {"files": files, "db": db, "id": rows[0]["finding_id"], "tmp": tmp_path}


def ack(night, *extra, expect=0):
    args = [
        "ack",
        night["id"],
        "--owner",
        "alice",
        "--reason",
        "refunded by hand",
        "--ticket",
        "FIN-123",
        "--db",
        night["db"],
        "--file",
        night["tmp"] / "acks.yaml",
    ]
    return run_cli([*args, *extra], expect=expect)  # fmt: skip


def test_an_acknowledged_break_is_listed_but_does_not_fail(night):
    ack(night)
    out = night["tmp"] / "out2"
    run(night["files"], out, 0, "--db", night["db"], "--acks", night["tmp"] / "acks.yaml")
    rows = read_csv(out / "findings.csv")
    assert [(r["finding_id"], r["status"]) for r in rows] == [(night["id"], "acknowledged")]
    assert "alice (FIN-123): refunded by hand" in rows[0]["status_note"]
    html = (out / "report.html").read_text()
    assert "Acknowledged" in html and "FIN-123" in html
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exit_status"] == 0


def test_an_acknowledged_break_keeps_its_direction_but_is_not_booked_again(night):
    before = read_csv(night["tmp"] / "out" / "remediation.csv")
    assert [(r["finding_id"], r["amount"]) for r in before] == [(night["id"], "-20.00")]
    ack(night)
    out = night["tmp"] / "out2"
    run(night["files"], out, 0, "--db", night["db"], "--acks", night["tmp"] / "acks.yaml")
    row = read_csv(out / "findings.csv")[0]
    assert (row["owed_to"], row["correction"], row["action"]) == (
        "house", "-20.00", "book_adjustment")  # fmt: skip
    assert read_csv(out / "remediation.csv") == []
    owed = json.loads((out / "summary.json").read_text())["owed"]
    assert owed["by_currency"] == [] and owed["acknowledged_left_out"] == 1
    assert "1 acknowledged finding is listed below" in (out / "report.html").read_text()


def test_the_same_break_keeps_its_id_on_a_rerun(night):
    out = night["tmp"] / "again"
    run(night["files"], out, 1)
    assert read_csv(out / "findings.csv")[0]["finding_id"] == night["id"]


def test_an_expired_acknowledgement_counts_again(night):
    ack(night, "--expires", "2025-11-21")  # the day before the run's cutoff
    out = night["tmp"] / "out2"
    run(night["files"], out, 1, "--acks", night["tmp"] / "acks.yaml")
    row = read_csv(out / "findings.csv")[0]
    assert row["status"] == "new"
    assert "expired 2025-11-21" in row["status_note"]


def test_an_acknowledgement_holds_through_its_expiry_day(night):
    ack(night, "--expires", "2025-11-22")
    run(night["files"], night["tmp"] / "out2", 0, "--acks", night["tmp"] / "acks.yaml")


def test_changed_evidence_reopens_it_and_says_what_changed(night):
    ack(night)
    worse = write_day(night["tmp"] / "later", payouts=3)  # a third payout booked late
    out = night["tmp"] / "out2"
    run(worse, out, 1, "--db", night["db"], "--acks", night["tmp"] / "acks.yaml")
    row = read_csv(out / "findings.csv")[0]
    assert (row["finding_id"], row["status"], row["amount"]) == (night["id"], "reopened", "40.00")
    assert "money at issue 20.00 -> 40.00" in row["status_note"]
    assert "new call(s) or booking(s)" in row["status_note"]


def test_ack_refuses_an_id_no_run_produced(night):
    result = run_cli(
        [
            "ack",
            "0123456789abcdef",
            "--owner",
            "a",
            "--reason",
            "b",
            "--db",
            night["db"],
            "--file",
            night["tmp"] / "acks.yaml",
        ],
        expect=2,
    )
    assert result.err == (
        f"reconcile: no run has produced finding 0123456789abcdef in {night['db']}; "
        "--force to acknowledge it anyway\n"
    )
    assert not (night["tmp"] / "acks.yaml").exists()
    run_cli(["ack", "0123456789abcdef", "--owner", "a", "--reason", "b", "--force",
            "--file", night["tmp"] / "acks.yaml"], expect=0)  # fmt: skip
    assert "0123456789abcdef" in (night["tmp"] / "acks.yaml").read_text()


def test_adding_keeps_comments_and_order(night):
    acks = night["tmp"] / "acks.yaml"
    acks.write_text(
        "# reviewed by finance every Monday\n"
        "acks:\n"
        "  # the oldest first\n"
        "  - finding_id: aaaaaaaaaaaaaaaa  # a manual fix\n"
        "    owner: bob\n"
        "    reason: known\n"
    )
    ack(night)
    text = acks.read_text()
    assert text.startswith("# reviewed by finance every Monday\nacks:\n  # the oldest first\n")
    assert "  - finding_id: aaaaaaaaaaaaaaaa  # a manual fix\n" in text
    assert text.index("aaaaaaaaaaaaaaaa") < text.index(night["id"])
    assert "check: duplicate_payout" in text and "amount: '20.00'" in text


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("acks:\n  - finding_id: aaaaaaaaaaaaaaaa\n    owner: [x\n", 4, "not valid YAML"),
        ("acks:\n  - finding_id: aaaaaaaaaaaaaaaa\n    owner: a\n    reason: b\n"
         "    check: duplicate_payot\n", 5, "unknown check 'duplicate_payot'"),
        ("acks:\n  - finding_id: aaaaaaaaaaaaaaaa\n    owner: a\n    reason: b\n"
         "    expires: 2026-13-01\n", 5, "expires '2026-13-01' is not a date"),
        ("acks:\n  - finding_id: aaaaaaaaaaaaaaaa\n    owner: a\n", 2, "has no reason"),
        ("acks:\n  - finding_id: aaaaaaaaaaaaaaaa\n    owner: a\n    reason: b\n"
         "    expire: 2026-12-01\n", 5, "unknown field 'expire'"),
        ("acks:\n  - finding_id: aaaaaaaaaaaaaaaa\n    owner: a\n    reason: b\n"
         "  - finding_id: aaaaaaaaaaaaaaaa\n    owner: c\n    reason: d\n", 5,
         "already acknowledged at line 2"),
        ("acks:\n  - finding_id: not-an-id\n    owner: a\n    reason: b\n", 2,
         "is not a finding id"),
    ],
)  # fmt: skip
def test_a_malformed_acks_file_names_its_line(night, content, line, message):
    acks = night["tmp"] / "acks.yaml"
    acks.write_text(content)
    out = night["tmp"] / "out2"
    result = run(night["files"], out, 2, "--acks", acks)
    assert result.err.strip().startswith(f"reconcile: {acks}:{line}: "), result.err
    assert message in result.err
    assert not out.exists()
