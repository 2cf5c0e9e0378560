"""Property: amounts survive file -> DuckDB -> findings exactly, whatever their spelling."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.checks import find, latest_time_seen, provider_counterparties
from reconcile.load import load_inputs
from reconcile.store import begin_run, open_store
from reconcile.window import Window

EIGHT_PLACES = Decimal("0.00000001")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

amounts = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("999999999999.99999999"), places=8
)
spellings = st.sampled_from(["plain", "exponent", "padded", "string"])


def spell(value: Decimal, how: str) -> str:
    """The JSON text of an amount: a number literal (several forms) or a string."""
    if how == "exponent":
        digits = value.normalize()
        return f"{digits:E}".replace("E+", "e")
    if how == "padded":
        return format(value, "f") + "000"
    if how == "string":
        return json.dumps(format(value, "f"))
    return format(value.normalize(), "f")


def write_inputs(folder: Path, pairs: list[tuple[Decimal, str, Decimal]]) -> None:
    """One PayIn per pair, betAmount spelled as asked, PAYIN booked with the second amount."""
    calls, rows = [], ["transaction_id,created_at,counterparty_id,type,user_id,bet_id,amount,"
                       "balance_before,balance_after,request_id"]  # fmt: skip
    balance = Decimal("10000000000000")
    for n, (sent, how, booked) in enumerate(pairs):
        at = START + timedelta(seconds=n)
        bet, tx, req = f"9{n:05d}", str(1000 + n), f"{n:032x}"
        calls.append(
            '{"request": {"path": "/v1/sessions/s1/bets/pay-in", "headers": {'
            f'"X-Counterparty-Id": "cp", "X-Timestamp": {int(at.timestamp() * 1000)}, '
            f'"X-Request-Id": "{req}", "X-Sign": "secret"}}, "body": {{"betId": "{bet}", '
            f'"betAmount": {spell(sent, how)}}}}}, "response": {{"status": 200, "body": '
            f'{{"transactionId": "{tx}", "balance": {format(balance - booked, "f")}, '
            '"_responseCode": 1}}, "error": null}'
        )
        created = (at + timedelta(milliseconds=5)).isoformat().replace("+00:00", "Z")
        rows.append(
            f"{tx},{created},cp,PAYIN,u1,{bet},{format(booked, 'f')},{format(balance, 'f')},"
            f"{format(balance - booked, 'f')},{req}"
        )
        balance -= booked
    (folder / "calls.jsonl").write_text("\n".join(calls) + "\n", encoding="utf-8")
    (folder / "ledger.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(amounts, spellings, amounts), min_size=1, max_size=12))
def test_amount_differences_are_exact(tmp_path_factory, pairs):
    folder = tmp_path_factory.mktemp("exact")
    write_inputs(folder, pairs)
    con = open_store(None)
    run = begin_run(con, "provider", Window(None, None, None, timedelta(0)))
    inputs = {"provider": [folder / "calls.jsonl"], "ledger": [folder / "ledger.csv"]}
    load_inputs(con, inputs, run.run_id)
    assert con.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == 0
    window = Window(None, None, latest_time_seen(con), timedelta(days=1))
    find(con, window, Decimal(0), provider_counterparties(con))
    found = {
        (bet, amount)
        for bet, amount in con.execute(
            """SELECT bet_id, amount FROM window_findings WHERE "check" = 'amount_mismatch'"""
        ).fetchall()
    }
    expected = {
        (f"9{n:05d}", abs(sent - booked).quantize(EIGHT_PLACES))
        for n, (sent, _, booked) in enumerate(pairs)
        if sent != booked
    }
    assert found == expected
    others = con.execute(
        """SELECT DISTINCT "check" FROM window_findings WHERE "check" <> 'amount_mismatch'"""
    ).fetchall()
    assert others == []
