"""Who owes whom, and the fix (spec section 8), on hand-sized nights.

Each case is a few calls and bookings written by hand, so that the sign of
every correction is known from the case itself: a PAYIN booked above the
call's betAmount debited the player too much (credit it back), a REFUND above
the stake credited too much (debit it), a chain break that lifted the balance
is debited.  The generated nights (tests/test_run.py, tests/test_cashback.py)
compare every finding's direction with the generator's own knowledge.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import owed_of, read_csv, read_summary, run_cli
from records import call_line, ledger_row, write_ledger, write_lines

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
CP = "cp-7"


class Night:
    """Calls and bookings of one user, a minute apart, the wallet chain kept right
    unless a booking is told to break it (``jump``: balance_before off the previous
    balance_after; ``slip``: balance_after off the arithmetic)."""

    def __init__(self, balance: str = "1000") -> None:
        self.calls: list[str] = []
        self.rows: list[str] = []
        self.balance = Decimal(balance)
        self.minute = 0
        self.tx = 5000

    def at(self) -> datetime:
        self.minute += 1
        return T0 + timedelta(minutes=self.minute)

    def call(self, op: str, bet: str, tx: str | None, **amounts: Decimal) -> None:
        rid = f"r-{bet}-{op}-{len(self.calls)}"
        self.calls.append(call_line(op, bet, self.at(), cp=CP, rid=rid, tx=tx, **amounts))

    def book(self, typ: str, bet: str, amount: str, jump: str = "0", slip: str = "0") -> str:
        self.tx += 1
        before = self.balance + Decimal(jump)
        moved = -Decimal(amount) if typ == "PAYIN" else Decimal(amount)
        after = before + moved + Decimal(slip)
        self.rows.append(ledger_row(self.tx, self.at(), typ, bet, amount, before, after, cp=CP))
        self.balance = after
        return str(self.tx)

    def payin(self, bet: str, sent: str, booked: str | None = None, **breaks: str) -> str:
        tx = self.book("PAYIN", bet, booked or sent, **breaks)
        self.call("pay-in", bet, tx, betAmount=Decimal(sent))
        return tx

    def payout(self, bet: str, sent: str, booked: str | None = None, **breaks: str) -> str:
        tx = self.book("PAYOUT", bet, booked or sent, **breaks)
        self.call("pay-out", bet, tx, winAmount=Decimal(sent))
        return tx

    def refund(self, bet: str, booked: str) -> str:
        tx = self.book("REFUND", bet, booked)
        self.call("refund", bet, tx)
        return tx

    def run(self, folder: Path, *extra, expect=1) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        write_lines(folder / "calls.jsonl", self.calls)
        write_ledger(folder / "ledger.csv", self.rows)
        out = folder / "out"
        args = ["run", "--provider", folder / "calls.jsonl", "--ledger", folder / "ledger.csv",
                "--date", "2026-11-22", "--cutoff", "2026-11-23T01:00:00Z", "--grace", "1h",
                "--out", out, *extra]  # fmt: skip
        run_cli(args, expect)
        return out


def owed_by_key(out: Path) -> dict[tuple, tuple]:
    return {
        (r["check"], r["bet_id"], r["transaction_id"]): owed_of(r)
        for r in read_csv(out / "findings.csv")
    }


def money(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.00000001"))


def test_amount_mismatch_signs_each_way(tmp_path):
    night = Night()
    over = night.payin("1", sent="10", booked="12.5")  # debited 2.50 too much
    night.payout("1", sent="0")
    under = night.payin("2", sent="10", booked="7")  # debited 3 too little
    night.payout("2", sent="0")
    night.payin("3", sent="10")
    win_over = night.payout("3", sent="20", booked="25")  # credited 5 too much
    night.payin("4", sent="10")
    win_under = night.payout("4", sent="20", booked="19.99")
    night.payin("5", sent="10")
    refund_over = night.refund("5", booked="13")  # the stake was 10
    night.payin("6", sent="10")
    refund_under = night.refund("6", booked="7.25")
    owed = owed_by_key(night.run(tmp_path))
    adjust = "book_adjustment"
    assert owed == {
        ("amount_mismatch", "1", over): ("player", money("2.5"), adjust),
        ("amount_mismatch", "2", under): ("house", money("-3"), adjust),
        ("amount_mismatch", "3", win_over): ("house", money("-5"), adjust),
        ("amount_mismatch", "4", win_under): ("player", money("0.01"), adjust),
        ("amount_mismatch", "5", refund_over): ("house", money("-3"), adjust),
        ("amount_mismatch", "6", refund_under): ("player", money("2.75"), adjust),
    }


def test_a_chain_break_is_undone_by_its_opposite(tmp_path):
    night = Night()
    night.payin("1", sent="10")
    up = night.payout("1", sent="5", jump="4")  # balance_before 4 above the last after
    night.payin("2", sent="10")
    down = night.payout("2", sent="5", slip="-1.5")  # balance_after 1.50 below the arithmetic
    night.payin("3", sent="10")
    both = night.payout("3", sent="5", jump="-2", slip="0.5")  # both, signed: -1.50 in all
    owed = owed_by_key(night.run(tmp_path))
    assert owed == {
        ("balance_drift", "1", up): ("house", money("-4"), "book_adjustment"),
        ("balance_drift", "2", down): ("player", money("1.5"), "book_adjustment"),
        ("balance_drift", "3", both): ("player", money("1.5"), "book_adjustment"),
    }


def test_no_money_at_issue_owes_nothing(tmp_path):
    night = Night()
    night.payin("1", sent="10")
    night.payout("1", sent="0")
    night.book("PAYOUT", "1", "0")  # a second PAYOUT of 0: a duplicate of nothing
    rows = read_csv(night.run(tmp_path, expect=1) / "findings.csv")
    assert "duplicate_payout" in {r["check"] for r in rows}
    assert {owed_of(r) for r in rows} == {("none", None, "none")}


@pytest.fixture(scope="module")
def broken_night(tmp_path_factory) -> dict:
    """One break of each kind a remedy exists for, in a store."""
    folder = tmp_path_factory.mktemp("owed")
    night = Night()
    night.payin("1", sent="10", booked="12.5")  # amount_mismatch: credit 2.50
    night.payout("1", sent="0")
    night.payin("2", sent="10")  # duplicate_payin: credit 10
    night.book("PAYIN", "2", "10")
    night.payout("2", sent="0")
    night.payin("3", sent="10")  # missing_payout: the provider re-sends 30
    night.call("pay-out", "3", "t-lost", winAmount=Decimal("30"))
    night.payin("4", sent="8")  # open_bet: the provider settles
    night.call("pay-in", "5", "t-5", betAmount=Decimal("6"))  # missing_payin: debit 6
    out = night.run(folder, "--db", folder / "recon.duckdb")
    return {"folder": folder, "out": out, "rows": read_csv(out / "findings.csv")}


def test_the_summary_opens_with_the_money(broken_night):
    owed = read_summary(broken_night["out"])["owed"]
    assert owed["by_currency"] == [
        {"currency": "EUR", "to_players": "12.50", "to_house": "6.00",
         "to_players_unbooked": "38.00"},
    ]  # fmt: skip
    assert owed["by_action"] == {
        "book_adjustment": 3, "provider_settle": 1, "provider_resend_payout": 1,
        "investigate": 0, "none": 0,
    }  # fmt: skip
    html = (broken_night["out"] / "report.html").read_text(encoding="utf-8")
    assert html.index("Who is owed") < html.index("Every finding in this window")


def test_remediation_proposes_one_adjustment_per_correction(broken_night):
    rows = read_csv(broken_night["out"] / "remediation.csv")
    by_check = {r["check"]: r for r in rows}
    assert sorted(by_check) == ["amount_mismatch", "duplicate_payin", "missing_payin"]
    amounts = {r["check"]: r["amount"] for r in rows}
    assert amounts == {
        "amount_mismatch": "2.50",
        "duplicate_payin": "10.00",
        "missing_payin": "-6.00",
    }
    findings = {r["finding_id"]: r for r in broken_night["rows"]}
    for row in rows:
        assert row["type"] == "ADJUSTMENT"
        assert row["transaction_id"] == row["created_at"] == row["request_id"] == ""
        assert row["balance_before"] == row["balance_after"] == ""
        finding = findings[row["finding_id"]]
        for column in ("counterparty_id", "user_id", "currency", "bet_id"):
            assert row[column] == finding[column] if column in finding else row[column]
        assert row["counterparty_id"] == CP and row["session_id"] == "s1"
        assert Decimal(row["amount"]) == Decimal(finding["correction"])
    assert by_check["missing_payin"]["reason"].startswith("debit the player 6.00: ")


def test_provider_actions_list_what_the_provider_must_send(broken_night):
    rows = read_csv(broken_night["out"] / "provider_actions.csv")
    assert [(r["bet_id"], r["action"], r["win_amount"]) for r in rows] == [
        ("3", "provider_resend_payout", "30.00"),
        ("4", "provider_settle", ""),
    ]
    assert {r["counterparty_id"] for r in rows} == {CP}


def test_the_store_keeps_who_is_owed(broken_night):
    import duckdb

    con = duckdb.connect(str(broken_night["folder"] / "recon.duckdb"), read_only=True)
    try:
        kept = set(
            con.execute(
                "SELECT finding_id, owed_to, correction, action FROM run_findings"
            ).fetchall()
        )
        registered = set(
            con.execute(
                "SELECT finding_id, owed_to, correction, action FROM finding_register"
            ).fetchall()
        )
    finally:
        con.close()
    written = {
        (r["finding_id"], r["owed_to"], Decimal(r["correction"]) if r["correction"] else None,
         r["action"]) for r in broken_night["rows"]
    }  # fmt: skip
    assert kept == written == registered


SOFFICE = shutil.which("soffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("name", ["remediation.csv", "provider_actions.csv", "findings.csv"])
def test_a_spreadsheet_opens_them_with_numbers_and_intact_ids(broken_night, tmp_path, name):
    """LibreOffice as a finance user opens the file, quoted fields read as text
    (the ids are quoted for that): amounts are number cells, ids the text
    written, and no cell is a formula."""
    shutil.copy(broken_night["out"] / name, tmp_path / name)
    options = "CSV:44,34,76,1,,0,true"  # comma, double quote, UTF-8, row 1, quoted as text
    subprocess.run(
        [SOFFICE, "--headless", f"--infilter={options}", "--convert-to", "xlsx",
         "--outdir", tmp_path, tmp_path / name],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    cells = sheet_cells(tmp_path / name.replace(".csv", ".xlsx"))
    rows = read_csv(tmp_path / name)
    header = list(rows[0]) if rows else []
    assert not any(kind == "f" for kind, _ in cells.values())
    for number, row in enumerate(rows, start=2):
        for column_number, column in enumerate(header):
            value = row[column]
            kind, seen = cells.get((number, column_number), ("", ""))
            if column in ("amount", "correction", "win_amount") and value:
                assert kind == "n" and Decimal(seen) == Decimal(value), (column, value, seen)
            elif column.endswith("_id") and value:
                assert (kind, seen) == ("s", value), (column, value, seen)


def sheet_cells(xlsx: Path) -> dict[tuple[int, int], tuple[str, str]]:
    """(row, column) -> (kind, text): ``n`` number, ``s`` string, ``f`` formula."""
    with zipfile.ZipFile(xlsx) as book:
        strings = [
            re.sub(r"<[^>]+>", "", si)
            for si in re.findall(r"<si>(.*?)</si>", book.read("xl/sharedStrings.xml").decode())
        ]
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    cells = {}
    for ref, attrs, body in re.findall(r'<c r="([A-Z]+[0-9]+)"([^>]*)>(.*?)</c>', sheet):
        letters, digits = re.fullmatch(r"([A-Z]+)([0-9]+)", ref).groups()
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        value = re.search(r"<v>(.*?)</v>", body)
        if "<f>" in body or "<f " in body:
            kind = "f"
        elif 't="s"' in attrs:
            kind = "s"
        else:
            kind = "n"
        text = value.group(1) if value else ""
        cells[(int(digits), column - 1)] = (kind, strings[int(text)] if kind == "s" else text)
    return cells
