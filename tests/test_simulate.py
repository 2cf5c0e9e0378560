"""The test-data generator's own invariants, checked without the product.

The central test applies the spec's section 4 rules, written out again here in plain Python
over the scenario's logical records, and requires exactly the generator's expected findings.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulate import provider as sim
from simulate.provider import (
    CALL_COLUMNS,
    CHECKS,
    LEDGER_COLUMNS,
    ExpectedFinding,
    Scenario,
    simulate,
    write_balances_csv,
    write_fixture_set,
    write_ledger_csv,
    write_ledger_parquet,
    write_provider_csv,
    write_provider_jsonl,
)

Q8 = Decimal("0.00000001")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def default() -> Scenario:
    return simulate()


# --------------------------------------------------------------------------- the spec oracle


def _outcome(c: dict) -> str:
    status = c["http_status"]
    if status is None or status >= 500:
        return "unknown"
    if 200 <= status < 300 and c["response_code"] == 1:
        return "success"
    return "rejected"


_TYPE_OPS = {
    "PAYIN": ("pay-in", "pay-in-out"),
    "PAYOUT": ("pay-out", "pay-in-out"),
    "REFUND": ("refund",),
}


def spec_oracle(sc: Scenario) -> set[tuple]:
    """Spec section 4, applied to the logical records: the findings of this window."""
    out: set[tuple] = set()

    def add(check, bet, tx, user, amount):
        out.add((check, bet, tx, user, abs(amount).quantize(Q8)))

    def order(b):
        return (b["created_at"], int(b["transaction_id"]))

    calls = [c for c in sc.calls if c["event_time"] <= sc.cutoff]
    books = sorted((b for b in sc.bookings if b["created_at"] <= sc.cutoff), key=order)
    ours = [b for b in books if b["counterparty_id"] == sc.counterparty_id]
    session_user = {b["session_id"]: b["user_id"] for b in ours}
    calls_by_bet: dict[str, list[dict]] = defaultdict(list)
    for c in sorted(calls, key=lambda c: c["event_time"]):
        if c["bet_id"] is not None:
            calls_by_bet[c["bet_id"]].append(c)
    books_by_bet: dict[str, list[dict]] = defaultdict(list)
    for b in ours:
        books_by_bet[b["bet_id"]].append(b)

    for bet in set(calls_by_bet) | set(books_by_bet):
        cs, bs = calls_by_bet[bet], books_by_bet[bet]
        first = min([c["event_time"] for c in cs] + [b["created_at"] for b in bs])
        if not sc.window_from <= first < sc.window_to:
            continue
        user = bs[0]["user_id"] if bs else session_user.get(cs[0]["session_id"])
        payins = [b for b in bs if b["type"] == "PAYIN"]
        payouts = [b for b in bs if b["type"] == "PAYOUT"]
        refunds = [b for b in bs if b["type"] == "REFUND"]
        settle_calls = [c for c in cs if c["operation"] in ("pay-out", "pay-in-out")]
        refund_calls = [c for c in cs if c["operation"] == "refund"]

        unsettled = not (payouts or refunds or settle_calls or refund_calls)
        if payins and unsettled and sc.cutoff - payins[0]["created_at"] > sc.grace:
            add("open_bet", bet, None, user, payins[0]["amount"])
        sent = [c for c in settle_calls if c["operation"] == "pay-out" or _outcome(c) != "rejected"]
        if sent and not payouts and not refunds:
            add("missing_payout", bet, None, user, sent[-1]["win_amount"])
        stake_ok = [
            c for c in cs if c["operation"] in ("pay-in", "pay-in-out") and _outcome(c) == "success"
        ]
        if stake_ok and not payins:
            add("missing_payin", bet, None, user, stake_ok[-1]["bet_amount"])
        for rows, check in (
            (payins, "duplicate_payin"),
            (payouts, "duplicate_payout"),
            (refunds, "duplicate_refund"),
        ):
            if len(rows) >= 2:
                add(check, bet, None, user, sum(b["amount"] for b in rows[1:]))
        if payouts and refunds:
            add("payout_and_refund", bet, None, user, refunds[0]["amount"])
        if (payouts or refunds) and not payins:
            add("orphan_settlement", bet, None, user, sum(b["amount"] for b in payouts + refunds))

        def call_for(b, cs=cs):
            tx = b["transaction_id"]
            for c in cs:
                if tx in (c["transaction_id"], c["bet_transaction_id"], c["win_transaction_id"]):
                    return c
            for c in cs:
                if c["request_id"] == b["request_id"]:
                    return c
            for c in cs:
                if c["operation"] in _TYPE_OPS[b["type"]]:
                    return c
            return None

        for b in bs:
            c = call_for(b)
            if c is None:
                add("unmatched_ledger", bet, b["transaction_id"], user, b["amount"])
            elif b["type"] in ("PAYIN", "PAYOUT"):
                sent_amount = c["bet_amount" if b["type"] == "PAYIN" else "win_amount"]
                if sent_amount is not None and sent_amount != b["amount"]:
                    add(
                        "amount_mismatch", bet, b["transaction_id"], user, b["amount"] - sent_amount
                    )
            if b["type"] == "REFUND" and payins and b["amount"] != payins[0]["amount"]:
                add(
                    "amount_mismatch",
                    bet,
                    b["transaction_id"],
                    user,
                    b["amount"] - payins[0]["amount"],
                )

        for typ, booked in (("PAYIN", payins), ("PAYOUT", payouts)):
            kind_calls = [c for c in cs if c["operation"] in _TYPE_OPS[typ]]
            if (
                booked
                and kind_calls
                and all(_outcome(c) != "success" for c in kind_calls)
                and (typ != "PAYIN" or not refunds)
            ):
                for b in booked:
                    add("status_mismatch", bet, b["transaction_id"], user, b["amount"])

        for c in cs:
            if _outcome(c) != "success" or c["balance"] is None:
                continue
            op = c["operation"]
            typ = {"pay-in": "PAYIN", "pay-out": "PAYOUT", "pay-in-out": "PAYOUT"}.get(op, "REFUND")
            tx = c["win_transaction_id"] if op == "pay-in-out" else c["transaction_id"]
            same_type = [b for b in bs if b["type"] == typ]
            match = next((b for b in same_type if tx and b["transaction_id"] == tx), None)
            match = match or next(
                (b for b in same_type if b["request_id"] == c["request_id"]), None
            )
            match = match or (same_type[0] if same_type else None)
            if match is not None and match["balance_after"] != c["balance"]:
                add("balance_mismatch", bet, match["transaction_id"], user,
                    c["balance"] - match["balance_after"])  # fmt: skip

    chains: dict[str, list[dict]] = defaultdict(list)
    for b in books:
        chains[b["user_id"]].append(b)
    for user, chain in chains.items():
        prev = None
        for b in chain:
            if sc.window_from <= b["created_at"] < sc.window_to:
                if prev is not None and b["balance_before"] != prev["balance_after"]:
                    diff = b["balance_before"] - prev["balance_after"]
                    add("balance_drift", b["bet_id"], b["transaction_id"], user, diff)
                sign = -1 if b["type"] == "PAYIN" else 1
                should = b["balance_before"] + sign * b["amount"]
                if b["balance_after"] != should:
                    add("balance_drift", b["bet_id"], b["transaction_id"], user,
                        b["balance_after"] - should)  # fmt: skip
            prev = b
    for s in sc.snapshots:
        if s["as_of"] <= sc.cutoff:
            before = [b for b in chains[s["user_id"]] if b["created_at"] <= s["as_of"]]
            if before[-1]["balance_after"] != s["balance"]:
                add("balance_drift", None, None, s["user_id"],
                    s["balance"] - before[-1]["balance_after"])  # fmt: skip
    return out


def _describe(expected: set, actual: set) -> str:
    missed = sorted(expected - actual, key=str)
    extra = sorted(actual - expected, key=str)
    return f"generator only: {missed}\noracle only: {extra}"


@pytest.mark.parametrize(("seed", "bets"), [(42, 300), (7, 300), (2024, 150), (5, 1200)])
def test_expected_equals_spec_oracle(seed, bets):
    sc = simulate(seed=seed, bets=bets)
    oracle = spec_oracle(sc)
    assert oracle == sc.expected_set(), _describe(sc.expected_set(), oracle)
    assert len(sc.expected) == len(sc.expected_set()), "a finding listed twice"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), bets=st.integers(60, 400))
def test_expected_equals_spec_oracle_any_seed(seed, bets):
    sc = simulate(seed=seed, bets=bets)
    assert spec_oracle(sc) == sc.expected_set()


def test_no_defects_means_no_findings():
    sc = simulate(seed=3, bets=400, defects=False)
    assert sc.expected == []
    assert sc.chain_breaks == {}
    assert spec_oracle(sc) == set()


def test_every_check_is_injected(default):
    assert {f.check for f in default.expected} == set(CHECKS)
    assert len(CHECKS) == 13
    counts = default.expected_counts()
    assert all(n >= 2 for n in counts.values()), counts


def test_finding_conventions(default):
    for f in default.expected:
        assert f.amount > 0, f
        assert f.user_id
        with_tx = {"amount_mismatch", "status_mismatch", "unmatched_ledger", "balance_mismatch"}
        if f.check in with_tx:
            assert f.transaction_id and f.bet_id
        elif f.check != "balance_drift":
            assert f.transaction_id is None and f.bet_id
    sorted(default.expected)  # orderable although keys mix None and text
    f = ExpectedFinding("open_bet", "1", None, "u1", Decimal("1.5"))
    assert f.key() == ("open_bet", "1", None, "u1", Decimal("1.50000000"))
    snapshot = [f for f in default.expected if f.check == "balance_drift" and not f.transaction_id]
    adjustment = [f for f in default.expected if f.check == "balance_drift" and not f.bet_id]
    assert snapshot and len(adjustment) > len(snapshot)


# --------------------------------------------------------------------------- the simulated world


def test_deterministic():
    a, b = simulate(seed=11, bets=200), simulate(seed=11, bets=200)
    assert a.calls == b.calls and a.bookings == b.bookings and a.snapshots == b.snapshots
    assert a.expected == b.expected
    assert simulate(seed=12, bets=200).calls != a.calls


def test_same_seed_same_bytes(tmp_path):
    def write_all(d: Path) -> None:
        sc = simulate(seed=5, bets=150)
        write_provider_jsonl(sc, d / "p.jsonl.gz", gzip=True, dirty=True, dup_lines=3)
        write_provider_csv(sc, d / "p.csv", dirty=True, dup_lines=2)
        write_ledger_csv(
            sc, d / "l.csv.gz", gzip=True, bom=True, crlf=True, shuffle_columns=True,
            extra_columns=True, offset_times=True, dirty=True, dup_rows=3,
        )  # fmt: skip
        write_ledger_parquet(sc, d / "l.parquet")
        write_balances_csv(sc, d / "b.csv", dirty=True)
        write_fixture_set(d / "fx", bets=120)

    write_all(tmp_path / "a")
    write_all(tmp_path / "b")
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert len(files) == 11
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_chains_continuous_except_injected_drift(default):
    chains: dict[str, list[dict]] = defaultdict(list)
    for b in default.bookings:
        chains[b["user_id"]].append(b)
    breaks = {}
    for chain in chains.values():
        prev = None
        for b in chain:
            if prev is not None and b["balance_before"] != prev["balance_after"]:
                breaks[b["transaction_id"]] = abs(b["balance_before"] - prev["balance_after"])
            sign = -1 if b["type"] == "PAYIN" else 1
            diff = b["balance_after"] - (b["balance_before"] + sign * b["amount"])
            if diff:
                assert b["transaction_id"] not in breaks
                breaks[b["transaction_id"]] = abs(diff)
            prev = b
    assert breaks == default.chain_breaks
    reported = {
        f.transaction_id: f.amount
        for f in default.expected
        if f.check == "balance_drift" and f.transaction_id
    }
    in_window = {
        b["transaction_id"]
        for b in default.bookings
        if default.window_from <= b["created_at"] < default.window_to
    }
    assert reported == {tx: d for tx, d in breaks.items() if tx in in_window}
    assert len(reported) < len(breaks), "breaks outside the window must exist too"
    assert any(b["type"] == "ADJUSTMENT" for b in default.bookings if b["transaction_id"] in breaks)


def test_bookings_order_ids_and_amounts(default):
    times = [b["created_at"] for b in default.bookings]
    assert times == sorted(times) and len(set(times)) == len(times)
    txs = [int(b["transaction_id"]) for b in default.bookings]
    assert txs == sorted(txs) and len(set(txs)) == len(txs)
    for b in default.bookings:
        assert b["created_at"].microsecond % 1000 == 0
        for key in ("amount", "balance_before", "balance_after"):
            assert -b[key].as_tuple().exponent <= 8
        if b["type"] == "ADJUSTMENT":
            assert b["counterparty_id"] is b["bet_id"] is b["request_id"] is None
        else:
            assert b["amount"] >= 0 and b["bet_id"]
    amounts = {c["bet_amount"] for c in default.calls if c["bet_amount"] is not None}
    assert Decimal("0.00001") in amounts
    assert any(-a.as_tuple().exponent == 8 for a in amounts)
    assert any(a >= 1000 and -a.as_tuple().exponent == 8 for a in amounts), "a whale's stake"


def test_calls_and_their_bookings(default):
    """A booking follows the call that caused it by a few ms; a successful answer carries
    the booking's balance (except the balance_mismatch defects); 402s book nothing."""
    by_request = {c["request_id"]: c for c in default.calls}
    assert len(by_request) == len(default.calls)
    by_tx = {b["transaction_id"]: b for b in default.bookings}
    mismatched = {f.transaction_id for f in default.expected if f.check == "balance_mismatch"}
    booked_requests = set()
    for b in default.bookings:
        c = by_request.get(b["request_id"])
        if c is not None:
            booked_requests.add(c["request_id"])
            lag = b["created_at"] - c["event_time"]
            assert lag.total_seconds() * 1000 >= 2
        elif b["counterparty_id"] == default.counterparty_id:
            assert any(f.transaction_id == b["transaction_id"] for f in default.expected)
    for c in default.calls:
        assert re.fullmatch(r"[0-9a-f]{32}", c["request_id"])
        assert re.fullmatch(r"[0-9a-f]{64}", c["sign"])
        if c["http_status"] == 402:
            assert c["request_id"] not in booked_requests
        if c["http_status"] is None:
            assert c["error"] == "timeout after 10000 ms" and c["response_code"] is None
        tx = c["win_transaction_id"] or c["transaction_id"]
        if _outcome(c) == "success" and tx in by_tx and tx not in mismatched:
            assert c["balance"] == by_tx[tx]["balance_after"]


def test_window_edges(default):
    sc = default
    assert sc.window_to - sc.window_from == sc.grace * 24
    assert sc.cutoff - sc.window_to == sc.grace
    times = [c["event_time"] for c in sc.calls] + [b["created_at"] for b in sc.bookings]
    assert min(times) < sc.window_from and max(times) > sc.cutoff
    for edge in (sc.window_from, sc.window_to, sc.cutoff):
        assert edge not in times
    assert all(s["as_of"] == sc.window_to for s in sc.snapshots)
    assert len({s["user_id"] for s in sc.snapshots}) == len(sc.snapshots) >= 40


def test_snapshots_match_last_balance_except_injected(default):
    drift = {
        f.user_id: f.amount
        for f in default.expected
        if f.check == "balance_drift" and f.transaction_id is None
    }
    for s in default.snapshots:
        last = [
            b
            for b in default.bookings
            if b["user_id"] == s["user_id"] and b["created_at"] <= s["as_of"]
        ][-1]
        assert abs(s["balance"] - last["balance_after"]) == drift.get(s["user_id"], 0)


def test_leading_zero_ids_are_distinct_bets(default):
    call_bets = {c["bet_id"] for c in default.calls}
    book_bets = {b["bet_id"] for b in default.bookings}
    for bet in ("000123", "123", "0000000777", "777"):
        assert bet in call_bets
    assert {"000123", "123", "0000000777"} <= book_bets
    expected_bets = {f.bet_id for f in default.expected}
    assert {"000123", "777"} <= expected_bets
    assert not {"123", "0000000777"} & expected_bets


# --------------------------------------------------------------------------- files


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8").splitlines()


def _iso_to_dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _dt(text: str) -> datetime:
    """Epoch milliseconds or ISO-8601, as a UTC instant."""
    if text.isdigit():
        return EPOCH + timedelta(milliseconds=int(text))
    return _iso_to_dt(text)


def _dec(text: str) -> Decimal | None:
    return None if text == "" else Decimal(text)


def _call_from_json(obj: dict) -> dict:
    req, resp = obj["request"], obj["response"]
    headers, body = req["headers"], req["body"] or {}
    m = re.fullmatch(r"/v1/sessions/([^/]+)/(?:bets/)?([a-z-]+)", req["path"])
    rbody = (resp or {}).get("body") or {}
    bet = body.get("betId")
    return {
        "event_time": _dt(str(headers["X-Timestamp"])),
        "logged_at": _iso_to_dt(obj["loggedAt"]),
        "request_id": headers["X-Request-Id"],
        "counterparty_id": headers["X-Counterparty-Id"],
        "session_id": m.group(1),
        "operation": m.group(2),
        "bet_id": None if bet is None else str(bet),
        "game_round_id": body.get("gameRoundId"),
        "bet_amount": body.get("betAmount"),
        "win_amount": body.get("winAmount"),
        "win_odd": body.get("winOdd"),
        "http_status": None if resp is None else resp["status"],
        "response_code": rbody.get("_responseCode"),
        "transaction_id": rbody.get("transactionId"),
        "bet_transaction_id": rbody.get("betTransactionId"),
        "win_transaction_id": rbody.get("winTransactionId"),
        "balance": rbody.get("balance"),
        "error": obj["error"],
        "sign": headers["X-Sign"],
    }


def _as_decimal_ints(call: dict) -> dict:
    # JSON parses integers as int; compare as exact decimals
    return {
        k: Decimal(v) if k in ("bet_amount", "win_amount", "win_odd", "balance") and v is not None
        else v
        for k, v in call.items()
    }  # fmt: skip


@pytest.mark.parametrize("gz", [False, True])
def test_jsonl_parses_exactly_and_dirty_lines_are_where_reported(default, tmp_path, gz):
    path = tmp_path / ("calls.jsonl.gz" if gz else "calls.jsonl")
    res = write_provider_jsonl(default, path, gzip=gz, dirty=True, dup_lines=5)
    lines = _lines(path)
    assert res.rows_in == len(lines) == len(default.calls) + 5 + 4
    assert res.collapsed == 5
    assert sorted(why for _, why in res.rejects) == sorted(
        ["broken json", "bad amount", "missing bet_id", "bad timestamp"]
    )
    rejected = dict(res.rejects)
    parsed = []
    for number, line in enumerate(lines, start=1):
        why = rejected.get(number)
        if why == "broken json":
            assert re.search(r'"X-Sign": "[0-9a-f]{64}"', line)
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
            continue
        obj = json.loads(line, parse_float=Decimal)
        if why == "bad amount":
            assert obj["request"]["body"]["betAmount"] == "12,5"
        elif why == "missing bet_id":
            assert "betId" not in obj["request"]["body"]
            assert obj["request"]["path"].endswith("/bets/pay-in")
        elif why == "bad timestamp":
            assert not str(obj["request"]["headers"]["X-Timestamp"]).isdigit()
        else:
            assert why is None
            parsed.append(_as_decimal_ints(_call_from_json(obj)))
    by_request = {c["request_id"]: c for c in default.calls}
    seen = Counter()
    for call in parsed:
        assert call == by_request[call["request_id"]]
        seen[call["request_id"]] += 1
    assert set(seen) == set(by_request)
    assert sum(seen.values()) - len(seen) == res.collapsed
    text = "\n".join(lines)
    assert all(s in text for s in res.sign_values)
    assert len(res.sign_values) == len(lines)
    assert re.search(r'"betAmount": 1e-05', text)
    assert re.search(r'"X-Timestamp": \d{13}', text) and re.search(r'"X-Timestamp": "\d{13}"', text)
    assert re.search(r'"betId": \d+', text) and '"betId": "000123"' in text
    assert '"betId": 123,' in text
    assert '"response": null' in text and '"error": "timeout after 10000 ms"' in text


def _call_from_csv(row: dict) -> dict:
    def opt(key):
        return row[key] or None

    return {
        "event_time": _dt(row["timestamp"]),
        "request_id": row["request_id"],
        "counterparty_id": row["counterparty_id"],
        "session_id": row["session_id"],
        "operation": row["operation"],
        "bet_id": opt("bet_id"),
        "game_round_id": opt("game_round_id"),
        "bet_amount": _dec(row["bet_amount"]),
        "win_amount": _dec(row["win_amount"]),
        "win_odd": _dec(row["win_odd"]),
        "http_status": int(row["http_status"]) if row["http_status"] else None,
        "response_code": int(row["response_code"]) if row["response_code"] else None,
        "transaction_id": opt("transaction_id"),
        "bet_transaction_id": opt("bet_transaction_id"),
        "win_transaction_id": opt("win_transaction_id"),
        "balance": _dec(row["balance"]),
        "error": opt("error"),
    }


def test_provider_csv_parses_exactly(default, tmp_path):
    path = tmp_path / "calls.csv"
    res = write_provider_csv(default, path, dirty=True, dup_lines=3)
    lines = _lines(path)
    assert lines[0].split(",") == CALL_COLUMNS
    assert res.rows_in == len(lines) - 1 == len(default.calls) + 3 + 4
    assert res.sign_values == []
    rejected = dict(res.rejects)
    assert sorted(rejected.values()) == sorted(
        ["short row", "bad amount", "missing bet_id", "bad timestamp"]
    )
    rows = list(csv.reader(io.StringIO("\n".join(lines) + "\n")))
    by_request = {c["request_id"]: c for c in default.calls}
    seen = Counter()
    for number, fields in enumerate(rows[1:], start=2):
        why = rejected.get(number)
        if why == "short row":
            assert len(fields) < len(CALL_COLUMNS)
            continue
        row = dict(zip(CALL_COLUMNS, fields, strict=True))
        if why == "bad amount":
            assert row["bet_amount"] == "12,5"
        elif why == "missing bet_id":
            assert row["bet_id"] == "" and row["operation"] == "pay-in"
        elif why == "bad timestamp":
            with pytest.raises(ValueError):
                _dt(row["timestamp"])
        else:
            call = _call_from_csv(row)
            want = {k: v for k, v in by_request[call["request_id"]].items() if k in call}
            assert call == want
            seen[call["request_id"]] += 1
    assert set(seen) == set(by_request) and sum(seen.values()) == len(by_request) + 3
    assert "000123" in {r[5] for r in rows[1:] if len(r) > 5}
    assert any("+01:00" in r[0] for r in rows[1:]) and any(r[0].isdigit() for r in rows[1:])


def _booking_from_row(row: dict) -> dict:
    return {
        "transaction_id": row["transaction_id"],
        "created_at": _iso_to_dt(row["created_at"]),
        "counterparty_id": row["counterparty_id"] or None,
        "session_id": row["session_id"] or None,
        "user_id": row["user_id"],
        "currency": row["currency"],
        "type": row["type"],
        "bet_id": row["bet_id"] or None,
        "game_round_id": row["game_round_id"] or None,
        "amount": Decimal(row["amount"]),
        "balance_before": Decimal(row["balance_before"]),
        "balance_after": Decimal(row["balance_after"]),
        "request_id": row["request_id"] or None,
    }


def test_ledger_csv_with_every_option(default, tmp_path):
    path = tmp_path / "ledger.csv.gz"
    res = write_ledger_csv(
        default, path, gzip=True, bom=True, crlf=True, shuffle_columns=True, extra_columns=True,
        offset_times=True, dirty=True, dup_rows=4,
    )  # fmt: skip
    raw = gzip.decompress(path.read_bytes())
    assert raw.startswith("\ufeff".encode())
    assert raw.count(b"\r\n") == raw.count(b"\n") == res.rows_in + 1
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    header = rows[0]
    assert set(header) == {*LEDGER_COLUMNS, "export_batch", "note"} and header != LEDGER_COLUMNS
    rejected = dict(res.rejects)
    assert sorted(rejected.values()) == sorted(
        ["missing bet_id", "bad amount", "short row", "bad timestamp"]
    )
    by_tx = {b["transaction_id"]: b for b in default.bookings}
    seen = Counter()
    offset_dups = 0
    first_form: dict[str, str] = {}
    for number, fields in enumerate(rows[1:], start=2):
        why = rejected.get(number)
        if why == "short row":
            assert len(fields) < len(header)
            continue
        row = dict(zip(header, fields, strict=True))
        if why == "missing bet_id":
            assert row["bet_id"] == "" and row["type"] == "PAYIN"
        elif why == "bad amount":
            assert row["amount"] == "abc"
        elif why == "bad timestamp":
            with pytest.raises(ValueError):
                _iso_to_dt(row["created_at"])
        else:
            assert why is None
            bk = _booking_from_row(row)
            assert bk == by_tx[bk["transaction_id"]]
            tx = bk["transaction_id"]
            if tx in first_form and first_form[tx] != row["created_at"]:
                offset_dups += 1
            first_form.setdefault(tx, row["created_at"])
            seen[tx] += 1
    assert set(seen) == set(by_tx)
    assert sum(seen.values()) - len(seen) == res.collapsed == 4
    assert offset_dups == 1
    assert sum(r.count("+01:00") for r in first_form.values()) > len(by_tx) // 10


def test_ledger_subset_and_plain_csv(default, tmp_path):
    part = default.bookings[10:50]
    res = write_ledger_csv(default, tmp_path / "l.csv", rows=part)
    lines = _lines(tmp_path / "l.csv")
    assert lines[0] == ",".join(LEDGER_COLUMNS) and res.rows_in == 40 == len(lines) - 1
    assert res.rejects == [] and res.collapsed == 0
    got = [
        _booking_from_row(dict(zip(LEDGER_COLUMNS, r, strict=True))) for r in csv.reader(lines[1:])
    ]
    assert got == part
    assert all(line.split(",")[1].endswith("Z") for line in lines[1:])


def test_ledger_parquet_is_exact(default, tmp_path):
    res = write_ledger_parquet(default, tmp_path / "l.parquet")
    table = pq.read_table(tmp_path / "l.parquet")
    assert res.rows_in == table.num_rows == len(default.bookings)
    assert str(table.schema.field("amount").type) == "decimal128(38, 8)"
    assert str(table.schema.field("created_at").type) == "timestamp[ms, tz=UTC]"
    for got, want in zip(table.to_pylist(), default.bookings, strict=True):
        assert got == want


def test_balances_csv(default, tmp_path):
    res = write_balances_csv(default, tmp_path / "b.csv", dirty=True)
    rows = list(csv.reader(_lines(tmp_path / "b.csv")))
    assert rows[0] == ["user_id", "currency", "balance", "as_of"]
    rejected = dict(res.rejects)
    assert sorted(rejected.values()) == ["bad amount", "short row"]
    good = [r for n, r in enumerate(rows[1:], start=2) if n not in rejected]
    want = [[s["user_id"], s["currency"], s["balance"], s["as_of"]] for s in default.snapshots]
    assert [[u, c, Decimal(b), _iso_to_dt(t)] for u, c, b, t in good] == want
    line_of = {why: number for number, why in rejected.items()}
    assert rows[line_of["bad amount"] - 1][2] == "abc"
    assert len(rows[line_of["short row"] - 1]) == 2


def test_fixture_set(tmp_path):
    done = write_fixture_set(tmp_path)
    sc = done["scenario"]
    names = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert names == {
        "provider/calls.jsonl",
        "provider/calls-late.jsonl.gz",
        "ledger/ledger.csv",
        "ledger/ledger-overlap.csv",
        "balances.csv",
        "expected.json",
    }
    doc = json.loads((tmp_path / "expected.json").read_text())
    got = {
        (f["check"], f["bet_id"], f["transaction_id"], f["user_id"], Decimal(f["amount"]))
        for f in doc["findings"]
    }
    assert got == sc.expected_set()
    assert (doc["window_from"], doc["window_to"], doc["cutoff"], doc["grace"]) == (
        "2026-11-22T00:00:00.000Z",
        "2026-11-23T00:00:00.000Z",
        "2026-11-23T01:00:00.000Z",
        "1h",
    )
    files = done["files"]
    assert files["provider/calls.jsonl"].rejects and files["ledger/ledger.csv"].rejects
    assert not files["provider/calls-late.jsonl.gz"].rejects
    n_calls = files["provider/calls.jsonl"].rows_in - 3 - 4
    assert n_calls + files["provider/calls-late.jsonl.gz"].rows_in == len(sc.calls)
    first = (tmp_path / "ledger/ledger.csv").read_bytes()
    assert first.startswith(b"\xef\xbb\xbf") and b"\r\n" in first
    overlap = doc["ledger_overlap_rows"]
    a = files["ledger/ledger.csv"].rows_in - 3 - 4
    b = files["ledger/ledger-overlap.csv"].rows_in
    assert a + b - overlap == len(sc.bookings) and overlap > 0
    assert doc["files"]["ledger/ledger.csv"]["collapsed"] == 3


def test_cli_streams_the_same_day(tmp_path, capsys):
    assert sim.main(["--out", str(tmp_path / "cli"), "--bets", "300"]) == 0
    assert "expected findings" in capsys.readouterr().err
    sc = simulate(seed=42, bets=300)
    doc = json.loads((tmp_path / "cli/expected.json").read_text())
    got = {
        (f["check"], f["bet_id"], f["transaction_id"], f["user_id"], Decimal(f["amount"]))
        for f in doc["findings"]
    }
    assert got == sc.expected_set()
    write_provider_jsonl(sc, tmp_path / "calls.jsonl")
    write_ledger_csv(sc, tmp_path / "ledger.csv")
    write_balances_csv(sc, tmp_path / "balances.csv")
    for name in ("calls.jsonl", "ledger.csv", "balances.csv"):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert (
        sim.main(["--out", str(tmp_path / "csv"), "--bets", "100", "--format", "csv", "--gzip"])
        == 0
    )
    assert gzip.decompress((tmp_path / "csv/calls.csv.gz").read_bytes()).startswith(b"timestamp,")
    assert (tmp_path / "csv/ledger.csv.gz").exists()
