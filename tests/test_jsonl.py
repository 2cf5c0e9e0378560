"""JSON Lines records read once by msgspec (reconcile/jsonl.py): the fast way and
the careful way agree, literals stay exact."""

import gzip
import io
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from reconcile import jsonl, load
from reconcile.load import load_inputs
from reconcile.store import begin_run, open_store
from reconcile.window import Window

HEAD = (
    '{"loggedAt": "2026-11-22T08:00:00.001Z", "request": {"method": "POST", '
    '"path": "/v1/sessions/s1/bets/pay-in", "headers": {"X-Counterparty-Id": "cp", '
    '"X-Timestamp": TS, "X-Request-Id": "r-N", "X-Sign": "secret"}, "body": BODY}, '
    '"response": {"status": 200, "body": {"transactionId": TX, "balance": BAL, '
    '"_responseCode": 1}}, "error": null}'
)


def record(n: int, body: str, ts: str = "1795334400000", tx: str = '"7"', bal: str = "1.5") -> str:
    return (HEAD.replace("TS", ts).replace("N", str(n)).replace("BODY", body)
            .replace("TX", tx).replace("BAL", bal))  # fmt: skip


RECORDS = [
    record(1, '{"betId": "b1", "betAmount": 276120324.67508337}'),
    record(2, '{"betId": 9099812870, "betAmount": 1e-05}', ts='"1795334400000"', tx="8"),
    record(3, '{"betId": "b3", "promo": {"betAmount": 10}, "betAmount": 10.25}'),
    record(4, '{"betId": "b4", "betAmount": "12.50"}'),  # a string amount
    record(5, '{"betId": "b5", "betAmount": null, "winAmount": -0.0}'),
    record(6, '{"betId": "b6", "betAmount": {"v": 1}}'),  # not a single value
    record(7, '{"betId": 1.5, "betAmount": 2}'),  # a non-integer id keeps its literal
    record(8, '"not an object"'),
    record(9, "null", bal="123456789012345678901.12345678"),
    '{"request": {"path": "/v1/sessions/s/balance", "headers": {"x-timestamp": 5}}}',
    "[1, 2]",
    '{"broken": ',
    '{"request": []}',
    '{"loggedAt": true, "error": {"code": 1}}',
    '{"request": {"headers": {"X-Timestamp": "a\\u0000b", "X-TIMESTAMP": 2}}}',
]


def block_of(lines: list[str]) -> tuple:
    data = "".join(line + "\n" for line in lines).encode()
    ends = np.cumsum([len(line.encode()) + 1 for line in lines])
    starts = np.concatenate(([0], ends[:-1]))
    return data, starts, ends, np.arange(1, len(lines) + 1), None


def test_the_fast_way_and_the_careful_way_agree():
    batch = jsonl.parse_block("calls", *block_of(RECORDS)).to_pylist()
    fields = [f.name for f in jsonl.CALLS.fields]
    for row, line in zip(batch, RECORDS, strict=True):
        problem, late, values = jsonl.read_carefully(jsonl.CALLS, line.encode())
        assert (row["problem"], row["late_problem"]) == (problem, late), line
        assert [row[f] for f in fields] == values, line


def test_values_are_the_exact_text_of_the_record():
    rows = jsonl.parse_block("calls", *block_of(RECORDS)).to_pylist()
    assert rows[0]["bet_amount"] == "276120324.67508337"
    assert (rows[1]["bet_id"], rows[1]["bet_amount"], rows[1]["transaction_id"]) == (
        "9099812870", "1e-05", "8")  # fmt: skip
    assert rows[2]["bet_amount"] == "10.25"  # not the nested 10
    assert rows[3]["bet_amount"] == "12.50"
    assert (rows[4]["bet_amount"], rows[4]["win_amount"]) == (None, "-0.0")
    assert rows[5]["late_problem"] == "betAmount is not a single value"
    assert rows[6]["bet_id"] == "1.5"
    assert rows[7]["problem"] == "body is not a JSON object"
    assert rows[8]["balance"] == "123456789012345678901.12345678"
    assert rows[9]["event_time"] == "5"  # a header's name in any case
    assert [rows[i]["problem"] for i in (10, 11, 12)] == [
        "not a JSON object", "broken JSON", "request is not a JSON object"]  # fmt: skip
    assert (rows[13]["logged_at"], rows[13]["late_problem"]) == (
        "true", "error is not a single value")  # fmt: skip
    assert rows[14]["event_time"] == "a\x00b"  # the usual spelling first


def test_a_broken_gzip_stream_is_raised_where_duckdb_reads(monkeypatch):
    monkeypatch.setattr(load, "BLOCK_BYTES", 4096)
    lines = [record(n, f'{{"betId": "b{n}", "betAmount": 1.5}}') for n in range(300)]
    packed = gzip.compress("".join(line + "\n" for line in lines).encode())
    broken = gzip.GzipFile(fileobj=io.BytesIO(packed[: len(packed) // 2]))
    with pytest.raises((EOFError, OSError)):
        list(load._json_batches(broken, "calls"))


@pytest.mark.parametrize("amount", ["12345678901234567890.12345678", "99999999999999999999"])
def test_an_amount_of_twenty_integer_digits_loads_exactly(tmp_path, amount):
    calls = tmp_path / "calls.jsonl"
    calls.write_text(record(1, f'{{"betId": "big", "betAmount": {amount}}}') + "\n")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        "transaction_id,created_at,counterparty_id,type,user_id,bet_id,amount,balance_before,"
        f"balance_after\n7,2026-11-22T08:00:00.005Z,cp,PAYIN,u1,big,{amount},{amount},0\n"
    )
    con = open_store(None)
    run = begin_run(con, "provider", Window(None, None, None, timedelta(0)))
    load_inputs(con, {"provider": [calls], "ledger": [ledger]}, run.run_id)
    assert con.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == 0
    sent = con.execute("SELECT CAST(bet_amount AS VARCHAR) FROM calls").fetchall()[0][0]
    booked = con.execute("SELECT CAST(amount AS VARCHAR) FROM bookings").fetchall()[0][0]
    assert Decimal(sent) == Decimal(booked) == Decimal(amount)


def test_a_run_never_imports_pandas(tmp_path):
    """pyarrow's ``pa.array`` imports pandas (44 MB of resident memory for good);
    the run builds its Arrow arrays without it (reconcile/arrays.py)."""
    fixtures = Path(__file__).parent.parent / "fixtures"
    script = (
        "import sys\n"
        "from reconcile.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pandas' in sys.modules, 'reconcile.load' in sys.modules)\n"
    )
    args = ["run", "--provider", f"{fixtures}/provider/*.jsonl*",
            "--ledger", f"{fixtures}/ledger/*.csv", "--balances", f"{fixtures}/balances.csv",
            "--date", "2026-11-22", "--cutoff", "2026-11-23T01:00:00Z", "--grace", "1h",
            "--db", f"{tmp_path}/store.duckdb", "--out", f"{tmp_path}/out", "--quiet"]  # fmt: skip
    command = [sys.executable, "-c", script, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert (tmp_path / "out" / "findings.csv").exists()
    assert done.stdout.split() == ["False", "True"]
