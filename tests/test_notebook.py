"""``reconcile.open_store``: a store's findings and records as DataFrames, exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import read_csv, run_cli
from test_run import window_args

import reconcile
from simulate import provider as simulate


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    sc = simulate.simulate(seed=3, bets=300)
    folder = tmp_path_factory.mktemp("notebook")
    provider = simulate.write_provider_jsonl(sc, folder / "calls.jsonl").path
    ledger = simulate.write_ledger_csv(sc, folder / "ledger.csv").path
    balances = simulate.write_balances_csv(sc, folder / "balances.csv").path
    db, out = folder / "recon.duckdb", folder / "out"
    run_cli(["run", "--db", db, *window_args(sc), "--provider", provider, "--ledger", ledger,
             "--balances", balances, "--out", out], expect=1)  # fmt: skip
    return sc, db, out


def test_the_findings_of_a_night_are_findings_csv_with_exact_money(night):
    sc, db, out = night
    with reconcile.open_store(db) as store:
        nights = store.nights()
        frame = store.findings(night=nights["window"].iloc[-1])
        latest = store.findings()
    rows = read_csv(out / "findings.csv")
    assert len(nights) == 1 and len(frame) == len(rows) == len(sc.expected)
    assert frame.equals(latest)
    by_id = {r["finding_id"]: r for r in rows}
    for finding in frame.itertuples():
        assert isinstance(finding.amount, Decimal)
        assert finding.amount == Decimal(by_id[finding.finding_id]["amount"])
        assert finding.check == by_id[finding.finding_id]["check"]


def test_the_register_and_a_bets_records(night):
    sc, db, _ = night
    defect = next(f for f in sc.expected if f.check == "duplicate_payout")
    with reconcile.open_store(db) as store:
        assert set(store.register()["status"]) == {"new"}
        assert store.register(status="resolved").empty
        records = store.records(bet_id=defect.bet_id)
    booked = [b for b in sc.bookings if b["bet_id"] == defect.bet_id]
    assert list(records["bookings"]["transaction_id"]) == [b["transaction_id"] for b in booked]
    assert all(isinstance(a, Decimal) for a in records["bookings"]["amount"])
    assert list(records["calls"]["request_id"]) == [
        c["request_id"] for c in sc.calls if c["bet_id"] == defect.bet_id]  # fmt: skip
