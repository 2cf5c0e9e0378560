"""``reconcile trace``: the story of one id, on both sides, in time order (spec section 6).

For one injected defect of every check, the generator's own records of that bet
(simulate.provider) say which calls and bookings the story must hold; the trace
is read from a store (``--db``) and straight from the files, and the two must
tell the same story.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_cli

from reconcile.window import iso
from simulate import provider as simulate

SEED, BETS = 13, 300
WIDTH = 80
CALL_HEAD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  CALL ")
BOOK_HEAD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  BOOK ")
MATCHED_BY = {"transaction id", "request id", "bet and type"}


@dataclass
class Traced:
    sc: simulate.Scenario
    db: Path
    provider: Path
    ledger: Path
    picks: dict[str, simulate.ExpectedFinding]  # one injected defect per check

    def calls_of(self, bet: str) -> list[dict]:
        return [
            c for c in self.sc.calls if c["bet_id"] == bet and c["event_time"] <= self.sc.cutoff
        ]

    def bookings_of(self, bet: str) -> list[dict]:
        return [b for b in self.sc.bookings
                if b["bet_id"] == bet and b["created_at"] <= self.sc.cutoff]  # fmt: skip


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """A store holding one night: the scenario's records up to its cutoff."""
    sc = simulate.simulate(seed=SEED, bets=BETS)
    folder = tmp_path_factory.mktemp("trace")
    calls = [c for c in sc.calls if c["event_time"] <= sc.cutoff]
    bookings = [b for b in sc.bookings if b["created_at"] <= sc.cutoff]
    provider = simulate.write_provider_jsonl(sc, folder / "calls.jsonl", calls=calls).path
    ledger = simulate.write_ledger_csv(sc, folder / "ledger.csv", rows=bookings).path
    balances = simulate.write_balances_csv(sc, folder / "balances.csv").path
    db = folder / "store.duckdb"
    run_cli(["run", "--db", db, "--from", iso(sc.window_from), "--to", iso(sc.window_to),
         "--cutoff", iso(sc.cutoff), "--grace", "60m", "--provider", provider,
         "--ledger", ledger, "--balances", balances, "--out", folder / "out", "--quiet"],
        expect=1)  # fmt: skip
    picks = {}
    for finding in sorted(sc.expected):
        if finding.bet_id is not None:
            picks.setdefault(finding.check, finding)
    assert set(picks) == set(simulate.CHECKS), "the generator injects a bet of every check"
    return Traced(sc, db, provider, ledger, picks)


def trace_text(args: list) -> str:
    text = run_cli(["trace", *args], expect=0).out
    wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not wide, f"lines wider than {WIDTH} columns: {wide}"
    return text


def trace_json(args: list) -> dict:
    return json.loads(run_cli(["trace", *args, "--format", "json"], expect=0).out)


def story(document: dict) -> dict:
    """What a trace tells, without the store's row ids: comparable across stores."""
    requests = {c["call_id"]: c["request_id"] for c in document["calls"]}
    return {
        "calls": [(c["event_time"], c["operation"], c["request_id"], c["outcome"],
                   c["transaction_id"]) for c in document["calls"]],
        "bookings": [(b["created_at"], b["type"], b["transaction_id"], b["amount"],
                      b["matched_by"], requests.get(b["matched_call"]))
                     for b in document["bookings"]],
        "findings": sorted((f["check"], f["bet_id"], f["transaction_id"], f["amount"])
                           for f in document["findings"]),
    }  # fmt: skip


# ---------------------------------------------------------------------------
# One bet: every call, every booking, the finding


@pytest.mark.parametrize("check", simulate.CHECKS)
def test_the_trace_of_a_bet_shows_every_call_booking_and_finding(traced, check):
    defect = traced.picks[check]
    calls, bookings = traced.calls_of(defect.bet_id), traced.bookings_of(defect.bet_id)
    assert calls or bookings
    text = trace_text(["--db", traced.db, "--bet", defect.bet_id])
    lines = text.splitlines()
    assert lines[0] == f"bet {defect.bet_id}"
    assert sum(bool(CALL_HEAD.match(line)) for line in lines) == len(calls), text
    assert sum(bool(BOOK_HEAD.match(line)) for line in lines) == len(bookings), text
    for call in calls:
        assert f"request {call['request_id']}" in text
    for booking in bookings:
        assert f"tx {booking['transaction_id']} " in text
    findings_part = text[text.index("\nfindings (") :]
    assert check in findings_part and "[new; id " in findings_part

    document = trace_json(["--db", traced.db, "--bet", defect.bet_id])
    assert (document["selector"], document["value"]) == ("bet", defect.bet_id)
    assert len(document["calls"]) == len(calls)
    assert len(document["bookings"]) == len(bookings)
    assert [c["request_id"] for c in document["calls"]] == [c["request_id"] for c in calls]
    assert sorted(b["transaction_id"] for b in document["bookings"]) == sorted(
        b["transaction_id"] for b in bookings
    )
    times = [c["event_time"] for c in document["calls"]]
    assert times == sorted(times), "in time order"
    ours = {c["request_id"] for c in calls}
    for booking in document["bookings"]:
        assert booking["matched_by"] in MATCHED_BY | {None}
        if booking["request_id"] in ours:  # a call of this bet asked for it
            assert booking["matched_by"] is not None, booking
    raised = [f for f in document["findings"] if f["check"] == check]
    assert raised, document["findings"]
    key = (check, defect.bet_id, defect.transaction_id, defect.user_id)
    assert key in {(f["check"], f["bet_id"], f["transaction_id"], f["user_id"]) for f in raised}
    assert all(f["status"] == "new" for f in raised)


def test_a_booking_shows_the_call_it_matched_and_how(traced):
    """A PayIn that timed out and was booked, retried with success: a duplicate PAYIN.
    The first booking matched the timed-out call by request id, the second its retry by
    transaction id."""
    defect = traced.picks["duplicate_payin"]
    document = trace_json(["--db", traced.db, "--bet", defect.bet_id])
    calls = {c["call_id"]: c for c in document["calls"]}
    for booking in document["bookings"]:
        call = calls[booking["matched_call"]]
        if booking["matched_by"] == "transaction id":
            assert booking["transaction_id"] in (call["transaction_id"],
                                                 call["bet_transaction_id"],
                                                 call["win_transaction_id"])  # fmt: skip
        elif booking["matched_by"] == "request id":
            assert booking["request_id"] == call["request_id"]
        else:
            assert booking["bet_id"] == call["bet_id"]
    payins = sorted((b for b in document["bookings"] if b["type"] == "PAYIN"),
                    key=lambda b: b["created_at"])  # fmt: skip
    assert [b["matched_by"] for b in payins] == ["request id", "transaction id"]


# ---------------------------------------------------------------------------
# Every selector finds the story


def selector_value(traced: Traced, selector: str, defect) -> str | None:
    calls, bookings = traced.calls_of(defect.bet_id), traced.bookings_of(defect.bet_id)
    if selector == "tx":
        ids = [b["transaction_id"] for b in bookings]
        ids += [c[k] for c in calls for k in ("transaction_id", "bet_transaction_id") if c[k]]
        return ids[0] if ids else None
    if selector == "request":
        ids = [c["request_id"] for c in calls] + [b["request_id"] for b in bookings]
        return next((i for i in ids if i), None)
    if selector == "session":
        return (calls or bookings)[0]["session_id"]
    return defect.user_id


@pytest.mark.parametrize("selector", ["tx", "request", "session", "user"])
def test_every_selector_finds_the_whole_story_of_the_bet(traced, selector):
    tried = 0
    for check, defect in traced.picks.items():
        value = selector_value(traced, selector, defect)
        if value is None:  # e.g. a PayInOut that timed out: no transaction id anywhere
            continue
        tried += 1
        document = trace_json(["--db", traced.db, f"--{selector}", value])
        assert (document["selector"], document["value"]) == (selector, value)
        assert document["truncated"] == 0
        requests = {c["request_id"] for c in document["calls"]}
        for call in traced.calls_of(defect.bet_id):
            assert call["request_id"] in requests, (check, selector, value)
        txs = {b["transaction_id"] for b in document["bookings"]}
        for booking in traced.bookings_of(defect.bet_id):
            assert booking["transaction_id"] in txs, (check, selector, value)
        assert check in {f["check"] for f in document["findings"]}, (check, selector, value)
        trace_text(["--db", traced.db, f"--{selector}", value])  # fits 80 columns
    assert tried >= len(traced.picks) - 2


def test_a_user_trace_shows_the_whole_wallet(traced):
    """Every booking of the user's wallet, other providers and adjustments included."""
    user = traced.picks["balance_drift"].user_id
    document = trace_json(["--db", traced.db, "--user", user])
    wallet = [b for b in traced.sc.bookings
              if b["user_id"] == user and b["created_at"] <= traced.sc.cutoff]  # fmt: skip
    assert sorted(b["transaction_id"] for b in document["bookings"]) == sorted(
        b["transaction_id"] for b in wallet
    )
    kinds = {b["type"] for b in document["bookings"]}
    assert "PAYIN" in kinds


@pytest.mark.parametrize(
    "selector",
    ["bet", "tx", "request", "session", "user"],
)
def test_an_unknown_id_is_not_found(traced, selector):
    result = run_cli(["trace", "--db", traced.db, f"--{selector}", "no-such-id"], expect=1)
    assert result.out == ""
    assert result.err == f"nothing found for {selector} 'no-such-id'\n"


def test_an_unknown_store_is_a_usage_error(tmp_path):
    db = tmp_path / "missing.duckdb"
    result = run_cli(["trace", "--db", db, "--bet", "1"], expect=2)
    assert result.err == f"reconcile: --db: no such store '{db}'\n"
    assert not db.exists(), "reading a store never creates one"


# ---------------------------------------------------------------------------
# Straight from the files: the same story


@pytest.mark.parametrize("check", ["duplicate_payin", "missing_payin", "unmatched_ledger",
                                   "amount_mismatch", "balance_drift"])  # fmt: skip
def test_a_trace_from_files_tells_the_same_story(traced, check):
    defect = traced.picks[check]
    files = ["--provider", traced.provider, "--ledger", traced.ledger]
    from_files = trace_json([*files, "--bet", defect.bet_id])
    from_store = trace_json(["--db", traced.db, "--bet", defect.bet_id])
    assert story(from_files) == story(from_store)
    text = trace_text([*files, "--bet", defect.bet_id])
    assert check in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bet", "1"], "give --db, or --provider and --ledger"),
        (["--cashback", "1", "--make", "m.csv"], "give --db, or --make and --accept"),
        (["--bet", "1", "--db", "s.duckdb", "--provider", "p.jsonl"],
         "give either --db or input files, not both"),
        (["--bet", "1", "--tx", "2", "--db", "s.duckdb"],
         "give exactly one of --bet, --tx, --request, --session, --user, --cashback"),
    ],
)  # fmt: skip
def test_trace_says_which_inputs_it_needs(args, message):
    assert run_cli(["trace", *args], expect=2).err == f"reconcile: {message}\n"
