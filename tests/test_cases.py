"""Every check, case by case: ``tests/cases/<check>.yml`` holds a few hand-sized
records in and the findings they must give out (sqlfluff's rule-case tables are
the model).  Each case runs the real command line on one day, 2026-11-22, with
the cutoff at 01:00 the next day and a grace of an hour, and compares every
finding of the window: a case with ``findings: []`` says the records are clean.

A case's records (times are that day's, ``"10:00"``, or full ISO times):

* ``calls``: provider calls ``{at, op, bet, tx, balance, status, code, error, rid,
  session, betAmount, winAmount, ...}`` (status null: no answer came);
* ``ledger``: bookings ``{at, type, bet, tx, amount, rid, user, cp}``; the
  balances follow from the amounts (each user starts at 1000) unless a row gives
  ``before``/``after``, or breaks the chain with ``jump`` (balance_before off the
  previous balance_after) or ``slip`` (balance_after off the arithmetic);
* ``balances``: snapshots ``{user, currency, balance, at}``;
* ``makes`` and ``accepts`` for cashback: ``{cashback, type, user, amount, tax, at}``
  and ``{cashback, type, user, at, code, amount, tax, partner_tx}``.

A finding is ``{check, bet_id, transaction_id, cashback_id, transaction_type,
amount, owed_to, correction, action}``; the ids and the correction are null when
left out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import own_rows, run_cli
from records import (
    BALANCE_COLUMNS,
    MAKE_COLUMNS,
    accept_line,
    call_line,
    csv_text,
    iso,
    ledger_row,
    write_ledger,
    write_lines,
)
from ruamel.yaml import YAML

from reconcile.checks import CHECKS, at_or_above

CASES = Path(__file__).resolve().parent / "cases"
DAY = datetime(2026, 11, 22, tzinfo=UTC)
WINDOW = ["--date", "2026-11-22", "--cutoff", "2026-11-23T01:00:00Z", "--grace", "1h"]
CP = "cp-1"
START_BALANCE = Decimal(1000)
Q8 = Decimal("0.00000001")


def load_cases() -> list:
    params = []
    for path in sorted(CASES.glob("*.yml")):
        table = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        assert table["check"] == path.stem, f"{path}: check must be the file's name"
        for case in table["cases"]:
            params.append(pytest.param(table["check"], case, id=f"{path.stem}-{case['name']}"))
    return params


def test_every_check_has_a_case_table_with_both_kinds_of_case():
    tables = {path.stem: YAML(typ="safe").load(path.read_text()) for path in CASES.glob("*.yml")}
    assert sorted(tables) == sorted(CHECKS)
    for check, table in tables.items():
        raised = [any(f["check"] == check for f in case["findings"]) for case in table["cases"]]
        assert True in raised and False in raised, f"{check}: a case that raises it and one not"


def when(text: str) -> datetime:
    """``"10:00"`` on the case's day, or a full ISO time."""
    if "T" in str(text):
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    hours, minutes, *seconds = (int(part) for part in str(text).split(":"))
    return DAY + timedelta(hours=hours, minutes=minutes, seconds=seconds[0] if seconds else 0)


def call_lines(calls: list[dict]) -> list[str]:
    lines = []
    for number, call in enumerate(calls, start=1):
        call = dict(call)
        op, bet, at = call.pop("op"), call.pop("bet", None), when(call.pop("at"))
        rid = call.pop("rid", f"r{number}")
        lines.append(call_line(op, bet, at, cp=call.pop("cp", CP), rid=rid, **call))
    return lines


def ledger_rows(bookings: list[dict]) -> list[str]:
    balances: dict[str, Decimal] = {}
    rows = []
    for number, b in enumerate(bookings, start=1):
        user = b.get("user", "u1")
        amount = Decimal(str(b["amount"]))
        before = Decimal(str(b.get("before", balances.get(user, START_BALANCE)))) + Decimal(
            str(b.get("jump", 0))
        )
        moved = -amount if b["type"] == "PAYIN" else amount
        after = Decimal(str(b.get("after", before + moved + Decimal(str(b.get("slip", 0))))))
        balances[user] = after
        rows.append(ledger_row(b.get("tx", f"t{number}"), when(b["at"]), b["type"],
                               b.get("bet"), amount, before, after, b.get("rid", ""),
                               cp=b.get("cp", CP), user=user))  # fmt: skip
    return rows


def write_provider_inputs(case: dict, folder: Path) -> list:
    args = [
        "run",
        "--provider",
        write_lines(folder / "calls.jsonl", call_lines(case["calls"])),
        "--ledger",
        write_ledger(folder / "ledger.csv", ledger_rows(case["ledger"])),
    ]
    if case.get("balances"):
        rows = [{"user_id": s.get("user", "u1"), "currency": s.get("currency", "EUR"),
                 "balance": s["balance"], "as_of": iso(when(s["at"]))}
                for s in case["balances"]]  # fmt: skip
        path = folder / "balances.csv"
        path.write_text(csv_text(BALANCE_COLUMNS, rows), encoding="utf-8")
        args += ["--balances", path]
    return args


def write_cashback_inputs(case: dict, folder: Path) -> list:
    makes = [{"cashback_id": m["cashback"], "partner_user_id": m.get("user", "u1"),
              "transaction_type": m.get("type", 1), "amount": m["amount"],
              "tax_amount": m.get("tax"), "currency": m.get("currency", "EUR"),
              "sent_at": iso(when(m["at"]))} for m in case["makes"]]  # fmt: skip
    (folder / "make.csv").write_text(csv_text(MAKE_COLUMNS, makes), encoding="utf-8")
    accepts = [accept_line(str(a["cashback"]), a.get("type", 1), a.get("user", "u1"),
                           when(a["at"]), error_code=a.get("code", 200),
                           amount=None if a.get("amount") is None else str(a["amount"]),
                           tax=None if a.get("tax") is None else str(a["tax"]),
                           partner_tx=a.get("partner_tx", "p1"))
               for a in case["accepts"]]  # fmt: skip
    return ["cashback", "--make", folder / "make.csv",
            "--accept", write_lines(folder / "accept.jsonl", accepts)]  # fmt: skip


def money(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value)).quantize(Q8)


def finding(row: dict) -> tuple:
    """What a case states of a finding, from a findings.csv row or a case's entry."""
    ids = ("bet_id", "transaction_id", "cashback_id", "transaction_type")
    return (
        row["check"],
        *(str(row[i]) if row.get(i) not in (None, "") else None for i in ids),
        money(row["amount"]),
        row["owed_to"],
        money(row.get("correction")),
        row["action"],
    )


@pytest.mark.parametrize(("check", "case"), load_cases())
def test_case(check, case, tmp_path):
    cashback = CHECKS[check].domain == "cashback"
    args = (write_cashback_inputs if cashback else write_provider_inputs)(case, tmp_path)
    expected = sorted(map(finding, case["findings"]), key=str)
    failing = any(at_or_above(CHECKS[f["check"]].severity, "high") for f in case["findings"])
    run_cli([*args, *WINDOW, "--quiet", "--out", tmp_path / "out"], 1 if failing else 0)
    found = sorted(map(finding, own_rows(tmp_path / "out")), key=str)
    assert found == expected, "\n".join(["found:", *map(str, found)])
