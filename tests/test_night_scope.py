"""A night checks only what its data can change (spec 6.1), and finds exactly
what checking everything finds.

Four generated nights on consecutive days, the same players every night (their
chains continue across nights), one provider, run twice into two stores: once
as the nightly job runs (a night's scope) and once with ``--recheck`` (every
record the store holds).  Every output and the register must be the same.  The
nights carry what a night's scope could get wrong:

* night 0's ledger misses one hour (an input gap), delivered late with night 2;
* night 1's provider log misses one hour, delivered late with night 3;
* night 2 books a PAYOUT for one of its bets under the transaction id of night
  0's PayOut of another bet: it matches that old call (spec 4: a transaction id
  ties first), so the old bet must be checked again with the new one;
* yesterday's bets settle, and young ones turn open, as the cutoff moves: a
  stake booked at 18:30 on night 0's day, younger than the grace at its cutoff,
  is an open bet only at night 1's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import read_csv, read_summary, run_cli
from test_store import CP, LEDGER_HEADER, ledger_row

from reconcile import checks
from simulate import provider as simulate

FIRST_DAY = date(2026, 10, 1)
NIGHTS = 4
BETS = 600
OVER = Decimal("5")
# Long enough that a stake of the evening before the next night's first records
# (20:00) is still young at its own night's cutoff (01:00): only the grace can
# bring it into the next night's scope.
GRACE = "8h"  # what the tied PAYOUT books above the old PayOut's win


def busiest_hour(records: list[dict], field: str, day) -> object:
    hours = Counter(r[field].replace(minute=0, second=0, microsecond=0) for r in records
                    if r[field].date() == day)  # fmt: skip
    return hours.most_common(1)[0][0]


def tied_payout(old: simulate.Scenario, night: simulate.Scenario) -> tuple[dict, dict]:
    """A PAYOUT booked tonight for a bet of tonight, under the transaction id of one
    of night 0's successful PayOuts, with the old call it ties to."""
    call = next(c for c in old.calls if c["operation"] == "pay-out" and c["response_code"] == 1
                and c["win_amount"])  # fmt: skip
    payin = next(b for b in night.bookings if b["type"] == "PAYIN"
                 and b["counterparty_id"] == night.counterparty_id
                 and b["created_at"].date() == night.window_from.date())  # fmt: skip
    amount = call["win_amount"] + OVER
    booking = dict(payin, transaction_id=call["transaction_id"], type="PAYOUT", amount=amount,
                   created_at=payin["created_at"] + timedelta(minutes=1),
                   balance_before=payin["balance_after"],
                   balance_after=payin["balance_after"] + amount, request_id=None)  # fmt: skip
    return booking, call


def young_stake(first: simulate.Scenario) -> dict:
    """A stake nothing settles, booked at 18:30 on night 0's day."""
    at = first.window_to - timedelta(hours=5, minutes=30)
    return {"transaction_id": "990000001", "created_at": at,
            "counterparty_id": first.counterparty_id, "session_id": "young-session",
            "user_id": "young-user", "currency": "EUR", "type": "PAYIN", "bet_id": "young-bet",
            "game_round_id": None, "amount": Decimal("7.5"), "balance_before": Decimal(100),
            "balance_after": Decimal("92.5"), "request_id": None}  # fmt: skip


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("night-scope")
    scenarios, counterparty = [], None
    for night in range(NIGHTS):
        scenarios.append(simulate.night_of(night, BETS, FIRST_DAY, counterparty, shared_users=True))
        counterparty = scenarios[0].counterparty_id
    first, second = scenarios[0], scenarios[1]
    ledger_gap = busiest_hour(first.bookings, "created_at", first.window_from.date())
    provider_gap = busiest_hour(second.calls, "event_time", second.window_from.date())
    held_bookings = [b for b in first.bookings if ledger_gap <= b["created_at"] < ledger_gap
                     + timedelta(hours=1)]  # fmt: skip
    held_calls = [c for c in second.calls if provider_gap <= c["event_time"] < provider_gap
                  + timedelta(hours=1)]  # fmt: skip
    booking, call = tied_payout(first, scenarios[2])
    young = young_stake(first)
    files = []
    for night, sc in enumerate(scenarios):
        here = folder / f"night-{night}"
        here.mkdir()
        calls = [c for c in sc.calls if c not in held_calls]
        bookings = [b for b in sc.bookings if b not in held_bookings]
        if night == 2:
            bookings.append(booking)
        if night == 0:
            bookings.append(young)
        given = {
            "provider": [simulate.write_provider_jsonl(sc, here / "p.jsonl", calls=calls).path],
            "ledger": [simulate.write_ledger_csv(sc, here / "l.csv", rows=bookings).path],
            "balances": [simulate.write_balances_csv(sc, here / "b.csv").path],
        }
        if night == 2:
            given["ledger"].append(simulate.write_ledger_csv(
                first, here / "late.csv", rows=held_bookings).path)  # fmt: skip
        if night == 3:
            given["provider"].append(simulate.write_provider_jsonl(
                second, here / "late.jsonl", calls=held_calls).path)  # fmt: skip
        files.append((sc, given))
    out = {"scope": [], "recheck": []}
    for way, extra in (("scope", []), ("recheck", ["--recheck"])):
        db = folder / f"{way}.duckdb"
        for night, (sc, given) in enumerate(files):
            target = folder / way / f"night-{night}"
            args = ["run", "--db", db, "--date", sc.window_from.date().isoformat(),
                    "--cutoff", sc.cutoff.isoformat(), "--grace", GRACE, "--out", target,
                    "--quiet", *extra]  # fmt: skip
            for kind, paths in given.items():
                for path in paths:
                    args += [f"--{kind}", path]
            run_cli(args, expect={0, 1})
            out[way].append(target)
    return {"out": out, "folder": folder, "ledger_gap": ledger_gap,
            "provider_gap": provider_gap, "tied": (booking, call), "young": young}  # fmt: skip


def register_of(db: Path, run_ids: bool = True) -> list[tuple]:
    """The register; without the ids of the runs (a killed run took one)."""
    left_out = "" if run_ids else " EXCLUDE (first_seen_run, last_seen_run, resolved_run)"
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            f"SELECT *{left_out} FROM finding_register ORDER BY finding_id"
        ).fetchall()


@pytest.mark.parametrize("night", range(NIGHTS))
@pytest.mark.parametrize("output", ["findings.csv", "remediation.csv", "provider_actions.csv"])
def test_a_night_lists_what_checking_everything_lists(nights, night, output):
    scoped = read_csv(nights["out"]["scope"][night] / output)
    everything = read_csv(nights["out"]["recheck"][night] / output)
    assert scoped == everything
    if output == "findings.csv":
        assert len(scoped) > 50  # each night has findings to compare


def test_the_register_is_what_checking_everything_makes_it(nights):
    folder = nights["folder"]
    scoped, everything = (
        register_of(folder / "scope.duckdb"),
        register_of(folder / "recheck.duckdb"),
    )
    assert len(scoped) > 200
    assert scoped == everything


def test_after_the_first_night_only_what_the_data_can_change_is_checked(nights):
    scoped = [read_summary(out)["checked"] for out in nights["out"]["scope"]]
    everything = [read_summary(out)["checked"] for out in nights["out"]["recheck"]]
    assert scoped[0]["since"] is None  # the store's first night checks everything
    assert all(c["since"] is None for c in everything)
    for night in range(1, NIGHTS):
        assert scoped[night]["since"] is not None
        # yesterday's records, and the day before's, are not checked again
        assert scoped[night]["bets"] < everything[night]["bets"] * 3 / 4, night
    assert everything[-1]["bets"] > scoped[-1]["bets"] * 2


def gap_states(out: Path) -> dict[tuple, str]:
    return {(r["detail"].split(" ")[0], r["occurred_at"]): r["window"] for r in read_csv(
        out / "findings.csv") if r["check"] == "input_gap"}  # fmt: skip


def test_an_hour_delivered_late_closes_its_input_gap(nights):
    """Night 0 sees its ledger's missing hour as an input gap; night 2 brings that hour:
    the gap is resolved in both stores, as it would be checking everything."""
    hour = nights["ledger_gap"].strftime("%Y-%m-%dT%H")
    night0 = gap_states(nights["out"]["scope"][0])
    assert any(side == "ledger" and at.startswith(hour) for side, at in night0)
    for way in ("scope", "recheck"):
        with duckdb.connect(str(nights["folder"] / f"{way}.duckdb"), read_only=True) as con:
            states = con.execute(
                """SELECT status FROM finding_register WHERE "check" = 'input_gap'
                   AND strftime(occurred_at, '%Y-%m-%dT%H') = ?""", [hour]).fetchall()  # fmt: skip
        assert states == [("resolved",)], way


def test_a_booking_tied_to_an_old_call_is_checked_with_it(nights):
    booking, call = nights["tied"]
    rows = read_csv(nights["out"]["scope"][2] / "findings.csv")
    found = {
        (r["bet_id"], Decimal(r["amount"]))
        for r in rows
        if r["check"] == "amount_mismatch" and r["transaction_id"] == booking["transaction_id"]
    }
    assert found == {(booking["bet_id"], OVER)}, call["bet_id"]


def test_an_input_gap_across_midnight_is_one_finding(tmp_path):
    """The ledger books 25 stakes an hour from 22:00 to 01:00 and the provider's log
    has none: one input_gap from 22:00, although night 2 brings only its last hour
    (the run of gap hours before the first hour it compares belongs to it)."""
    (tmp_path / "none.jsonl").write_text("")
    rows, balance = [], Decimal(10**6)
    start = datetime(2026, 11, 1, 22, tzinfo=UTC)
    for n in range(75):
        at = start + n * timedelta(minutes=2, seconds=24)
        rows.append(ledger_row(f"{n + 1}", at, "PAYIN", f"b{n}", 1, balance, balance - 1))
        balance -= 1
    ledgers = []
    for night, part in enumerate((rows[:50], rows[50:])):
        ledgers.append(tmp_path / f"ledger-{night}.csv")
        ledgers[-1].write_text("\n".join([LEDGER_HEADER, *part]) + "\n")
    registers = {}
    for way, extra in (("scope", []), ("recheck", ["--recheck"])):
        for night, day in enumerate(("2026-11-01", "2026-11-02")):
            run_cli(["run", "--db", tmp_path / f"{way}.duckdb", "--provider",
                     tmp_path / "none.jsonl", "--ledger", ledgers[night], "--counterparty", CP,
                     "--date", day, "--cutoff", f"{day}T23:59:59Z", "--out",
                     tmp_path / way / day, "--quiet", *extra], expect={0, 1})  # fmt: skip
        registers[way] = register_of(tmp_path / f"{way}.duckdb")
    assert registers["scope"] == registers["recheck"]
    with duckdb.connect(str(tmp_path / "scope.duckdb"), read_only=True) as con:
        gaps = con.execute("""SELECT status, detail FROM finding_register
                              WHERE "check" = 'input_gap'""").fetchall()  # fmt: skip
    assert len(gaps) == 1
    assert "from 2026-11-01T22:00:00Z for 3 hour(s)" in gaps[0][1]


def test_a_stake_young_at_one_cutoff_is_open_at_the_next(nights):
    young = nights["young"]
    label = young["created_at"].date().isoformat()
    for night, window in ((0, None), (1, label)):
        rows = read_csv(nights["out"]["scope"][night] / "findings.csv")
        found = [
            r["window"] for r in rows if r["check"] == "open_bet" and r["bet_id"] == "young-bet"
        ]
        assert found == ([window] if window else []), night


KILLED = """
import os, sys
from reconcile import checks, load, report
point = sys.argv[1]
module, name = {"load": (load, "load_inputs"), "checks": (checks, "find"),
                "outputs": (report, "write_html")}[point]
original = getattr(module, name)
def killed(*args, **kwargs):
    if point == "load":
        original(*args, **kwargs)
    os._exit(9)
setattr(module, name, killed)
from reconcile.cli import main
main(sys.argv[2:])
"""


def history_of(db: Path) -> list[dict]:
    rows = json.loads(run_cli(["history", "--db", db, "--format", "json"], expect=0).out)["runs"]
    return [{k: v for k, v in row.items() if k != "started_at"} for row in rows]


@pytest.fixture(scope="module")
def two_small_nights(tmp_path_factory) -> tuple[Path, list[list]]:
    folder = tmp_path_factory.mktemp("killed")
    first = simulate.night_of(0, 300, FIRST_DAY, shared_users=True)
    second = simulate.night_of(1, 300, FIRST_DAY, first.counterparty_id, shared_users=True)
    args = []
    for night, sc in enumerate((first, second)):
        files = [
            ("--provider", simulate.write_provider_jsonl(sc, folder / f"p{night}.jsonl")),
            ("--ledger", simulate.write_ledger_csv(sc, folder / f"l{night}.csv")),
            ("--balances", simulate.write_balances_csv(sc, folder / f"b{night}.csv")),
        ]
        args.append(
            [
                "run",
                "--date",
                sc.window_from.date().isoformat(),
                "--cutoff",
                sc.cutoff.isoformat(),
                "--grace",
                "1h",
                "--quiet",
                *[part for option, written in files for part in (option, written.path)],
            ]
        )
    return folder, args


@pytest.mark.parametrize("point", ["load", "checks", "outputs"])
def test_a_run_killed_at_any_point_leaves_no_finished_run_and_the_next_completes_it(
    two_small_nights, tmp_path, point
):
    """Spec 6.1: night 1 killed (SIGKILL-like, no clean-up) while loading, after its
    load was committed, or while writing its report; then night 1 again.  Until then
    history and the register are night 0's; after it, every output and the register
    are those of a store that never saw the kill."""
    _folder, (night0, night1) = two_small_nights
    killed, clean = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    for db in (killed, clean):
        run_cli([*night0, "--db", db, "--out", tmp_path / f"{db.stem}-0"], expect={0, 1})
    before = history_of(killed), register_of(killed)
    dead = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED,
            point,
            *map(str, night1),
            "--db",
            str(killed),
            "--out",
            str(tmp_path / "dead"),
        ],
        capture_output=True,
    )
    assert dead.returncode == 9, dead.stderr
    assert not (tmp_path / "dead").exists()
    assert (history_of(killed), register_of(killed)) == before
    for db in (killed, clean):
        run_cli([*night1, "--db", db, "--out", tmp_path / f"{db.stem}-1"], expect={0, 1})
    for output in ("findings.csv", "remediation.csv", "rejects.csv"):
        assert read_csv(tmp_path / "killed-1" / output) == read_csv(tmp_path / "clean-1" / output)
    assert register_of(killed, run_ids=False) == register_of(clean, run_ids=False)
    assert [r["findings"] for r in history_of(killed)] == [r["findings"] for r in history_of(clean)]
    assert read_summary(tmp_path / "killed-1")["checked"]["since"] is not None


def test_a_run_that_fails_after_its_load_leaves_the_store_as_it_was(
    two_small_nights, tmp_path, monkeypatch
):
    """Out of memory in the checks (exit 3), after the load was committed: the
    records it loaded are removed again, and the next run loads them anew."""
    _folder, (night0, night1) = two_small_nights
    db = tmp_path / "store.duckdb"
    run_cli([*night0, "--db", db, "--out", tmp_path / "night0"], expect={0, 1})
    tables = ("calls", "bookings", "snapshots", "input_files", "run_inputs", "rejects", "runs")

    def rows() -> dict:
        with duckdb.connect(str(db), read_only=True) as con:
            return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}

    before = rows()

    def out_of_memory(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")

    monkeypatch.setattr(checks, "find", out_of_memory)
    result = run_cli([*night1, "--db", db, "--out", tmp_path / "night1"], expect=3)
    assert "out of memory" in result.err
    assert rows() == before
    assert not (tmp_path / "night1").exists()
