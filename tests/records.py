"""One builder for hand-made records: provider calls, ledger rows, snapshots,
cashback makes and accepts, written as the inputs' own files.

Money goes in as its exact text (a ``Decimal`` or a string), never through a
float: ``json_text`` writes a ``Decimal`` as a JSON number literal.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from reconcile.window import iso

LEDGER_COLUMNS = ("transaction_id", "created_at", "counterparty_id", "session_id", "user_id",
                  "currency", "type", "bet_id", "amount", "balance_before", "balance_after",
                  "request_id")  # fmt: skip
LEDGER_HEADER = ",".join(LEDGER_COLUMNS)
BALANCE_COLUMNS = ("user_id", "currency", "balance", "as_of")
MAKE_COLUMNS = ("cashback_id", "partner_user_id", "transaction_type", "amount", "tax_amount",
                "currency", "sent_at")  # fmt: skip
ACCEPT_PATH = "/mis-api/api/v2/cashback-payments/accept"


def json_text(value: object) -> str:
    """JSON with every ``Decimal`` written as its exact number literal."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json_text(v) for v in value) + "]"
    return json.dumps(value)


def call_line(
    op: str,
    bet: str | None,
    at: datetime,
    *,
    cp: str,
    rid: str,
    tx: str | None = None,
    balance: Decimal | str | None = None,
    status: int | None = 200,
    code: int | None = 1,
    error: str | None = None,
    session: str = "s1",
    logged_at: datetime | None = None,
    headers: dict | None = None,
    stamp_as_text: bool = False,
    **body: object,
) -> str:
    """One provider call as the log writes it (spec 2.1).  ``status`` None: no
    answer came (``error`` says why); ``body`` holds betAmount, winAmount, ...;
    a ``balance`` call has no bet and no body."""
    ms = int(at.timestamp() * 1000)
    path = f"/v1/sessions/{session}/" + ("balance" if op == "balance" else f"bets/{op}")
    request = {
        "path": path,
        "headers": {"X-Counterparty-Id": cp, "X-Timestamp": str(ms) if stamp_as_text else ms,
                    "X-Request-Id": rid, **(headers or {})},
        "body": None if op == "balance" else ({"betId": bet} if bet is not None else {}) | {
            k: Decimal(v) if isinstance(v, str | int) and k.endswith("Amount") else v
            for k, v in body.items()
        },
    }  # fmt: skip
    answer: dict = {} if tx is None else {"transactionId": tx}
    if balance is not None:
        answer["balance"] = Decimal(balance)
    if code is not None:  # None: an answer without one (a 5xx)
        answer["_responseCode"] = code
    response = None if status is None else {"status": status, "body": answer}
    record = {"request": request, "response": response, "error": error}
    if logged_at is not None:
        record = {"loggedAt": iso(logged_at)} | record
    return json_text(record)


def ledger_row(tx, at: datetime, typ, bet, amount, before, after, rid="", *, cp,
               session="s1", user="u1", currency="EUR") -> str:  # fmt: skip
    """One ledger CSV row in ``LEDGER_COLUMNS`` order; blanks for None."""
    cells = [tx, iso(at), cp, session, user, currency, typ, bet, amount, before, after, rid]
    return ",".join("" if cell is None else str(cell) for cell in cells)


def accept_line(
    cashback: str,
    ttype: int,
    user: str,
    at: datetime,
    *,
    error_code: int = 200,
    amount: str | None = None,
    tax: str | None = None,
    partner_tx: str = "p1",
) -> str:
    """One accept call of the casino (spec 7.1); ``Amount``/``TaxAmount`` as strings."""
    value = {"CashbackId": int(cashback), "PartnerUserId": user,
             "PartnerTransactionId": partner_tx, "TransactionType": ttype}  # fmt: skip
    if amount is not None:
        value["Amount"] = amount
    if tax is not None:
        value["TaxAmount"] = tax
    request = {"method": "POST", "path": ACCEPT_PATH,
               "headers": {"Content-Type": "application/json"},
               "body": {"ErrorCode": error_code, "Message": "", "Value": value}}  # fmt: skip
    response = {"status": 200, "body": {"ErrorCode": 200, "Message": "Success"}}
    return json.dumps({"loggedAt": iso(at), "request": request, "response": response,
                       "error": None})  # fmt: skip


def csv_text(columns: tuple[str, ...], rows: list[dict]) -> str:
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if row.get(c) is None else row[c] for c in columns] for row in rows])
    return stream.getvalue()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_ledger(path: Path, rows: list[str]) -> Path:
    """A ledger CSV: ``LEDGER_HEADER`` and the rows (from :func:`ledger_row`)."""
    return write_lines(path, [LEDGER_HEADER, *rows])
