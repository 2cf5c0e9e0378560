"""The persistent store (``--db``) across nights (spec section 6).

Generated data (simulate.provider) is split by time into two nights' worth of
files; the generator knows the findings independently of the product, so night
2, run on night 2's files only, must find exactly what it expects, and exactly
what one run over all files finds.  Small hand-made inputs cover the states of
the register of findings (new, persisting, resolved, reopened).  The store is
read back with DuckDB, read-only, as an auditor would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import records
from conftest import (
    Result,
    describe_difference,
    finding_keys,
    late_rows,
    own_rows,
    read_csv,
    read_summary,
    run_cli,
)
from records import LEDGER_HEADER

from reconcile import store
from reconcile.store import RECORD_TABLES, SCHEMA_VERSION
from reconcile.window import iso
from simulate import provider as simulate

SEED, BETS = 7, 300
GRACE = "60m"
TABLES = ("runs", "input_files", "run_inputs", "calls", "bookings", "snapshots", "rejects",
          "booking_matches", "run_findings", "finding_register")  # fmt: skip
REGISTER_COLUMNS = (
    "finding_id", "check", "bet_id", "transaction_id", "user_id", "status", "nights_seen",
    "first_seen_run", "last_seen_run", "resolved_run", "resolved_at",
)  # fmt: skip


# ---------------------------------------------------------------------------
# Helpers


def query(db: Path, statement: str, params: list | None = None) -> list[tuple]:
    """Read the store the way an auditor would: read-only, closed straight after."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(statement, params or []).fetchall()
    finally:
        con.close()


def counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    finally:
        con.close()


def register(db: Path) -> dict[tuple, dict]:
    """The register of findings by (check, bet_id, transaction_id, user_id)."""
    names = REGISTER_COLUMNS
    columns = ", ".join(f'"{name}"' for name in names)
    rows = query(db, f"SELECT {columns} FROM finding_register")
    return {row[1:5]: dict(zip(names, row, strict=True)) for row in rows}


def copy_store(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    assert not wal.exists(), "a finished run leaves no write-ahead log behind"
    return target


def window_args(start: datetime, end: datetime, cutoff: datetime, grace: str = GRACE) -> list:
    return ["--from", iso(start), "--to", iso(end), "--cutoff", iso(cutoff), "--grace", grace]


def file_args(provider: list[Path], ledger: list[Path], balances: list[Path] = ()) -> list:
    args: list = []
    for option, paths in (("--provider", provider), ("--ledger", ledger),
                          ("--balances", balances)):  # fmt: skip
        for path in paths:
            args += [option, path]
    return args


def keys_and_ids(out_dir: Path) -> dict[tuple, str]:
    """findings.csv as {(check, bet_id, transaction_id, user_id): finding_id}."""
    rows = read_csv(out_dir / "findings.csv")
    keys = finding_keys(out_dir)
    assert len(keys) == len(rows), "one row per finding"
    by_key = {}
    for row in rows:
        key = (row["check"], row["bet_id"] or None, row["transaction_id"] or None,
               row["user_id"] or None)  # fmt: skip
        by_key[key] = row["finding_id"]
    return by_key


def report_section(out_dir: Path, heading: str, level: int = 3) -> str:
    """The HTML of report.html from the heading that starts with ``heading`` to the next one."""
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    match = re.search(rf"<h{level}[^>]*>(?:<[^>]+>)*{re.escape(heading)}.*?(?=<h[23]|\Z)", html,
                      re.S)  # fmt: skip
    assert match, f"report.html has no section {heading!r}"
    return match.group(0)


def listed(section: str, check: str, ident: str) -> bool:
    """Whether a report section has a row of ``check`` for that bet or transaction id."""
    rows = re.findall(r"<tr>.*?</tr>", section, re.S)
    return any(f">{check}<" in row and f">{ident}<" in row for row in rows)


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------
# Two nights of generated data


@dataclass
class Nights:
    sc: simulate.Scenario
    split: datetime
    night1_grace: str
    db: Path
    after_night1: Path  # a copy of the store as night 1 left it
    files: dict[str, Path]
    out: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, dict] = field(default_factory=dict)
    register: dict[str, dict] = field(default_factory=dict)

    def night1_args(self) -> list:
        day = self.sc.window_from
        return window_args(day - timedelta(days=1), day, self.split, self.night1_grace)

    def night2_args(self) -> list:
        return window_args(self.sc.window_from, self.sc.window_to, self.sc.cutoff)


def split_by_time(sc: simulate.Scenario, at: datetime) -> tuple[list, list, list, list]:
    """(calls before, calls from, bookings before, bookings from) ``at``."""
    return (
        [c for c in sc.calls if c["event_time"] < at],
        [c for c in sc.calls if c["event_time"] >= at],
        [b for b in sc.bookings if b["created_at"] < at],
        [b for b in sc.bookings if b["created_at"] >= at],
    )


def run_two_nights(sc, folder: Path, split: datetime, night1_grace: str) -> Nights:
    """Night 1 on the records before ``split``, night 2 on the rest, into one store."""
    folder.mkdir(parents=True)
    calls1, calls2, bookings1, bookings2 = split_by_time(sc, split)
    assert calls1 and calls2 and bookings1 and bookings2
    files = {
        "provider1": simulate.write_provider_jsonl(sc, folder / "p1.jsonl", calls=calls1).path,
        "provider2": simulate.write_provider_jsonl(sc, folder / "p2.jsonl", calls=calls2).path,
        "ledger1": simulate.write_ledger_csv(sc, folder / "l1.csv", rows=bookings1).path,
        "ledger2": simulate.write_ledger_csv(sc, folder / "l2.csv", rows=bookings2).path,
        "balances": simulate.write_balances_csv(sc, folder / "balances.csv").path,
    }
    nights = Nights(sc, split, night1_grace, folder / "store.duckdb",
                    folder / "after-night1.duckdb", files)  # fmt: skip
    nights.out["night1"] = folder / "night1"
    run_cli(["run", "--db", nights.db, *nights.night1_args(),
         *file_args([files["provider1"]], [files["ledger1"]]),
         "--out", nights.out["night1"], "--quiet"], expect={0, 1})  # fmt: skip
    copy_store(nights.db, nights.after_night1)
    nights.counts["night1"] = counts(nights.db)
    nights.register["night1"] = register(nights.db)
    nights.out["night2"] = folder / "night2"
    run_cli(["run", "--db", nights.db, *nights.night2_args(),
         *file_args([files["provider2"]], [files["ledger2"]], [files["balances"]]),
         "--out", nights.out["night2"], "--quiet"], expect=1)  # fmt: skip
    nights.counts["night2"] = counts(nights.db)
    nights.register["night2"] = register(nights.db)
    return nights


@pytest.fixture(scope="module")
def scenario():
    return simulate.simulate(seed=SEED, bets=BETS)


@pytest.fixture(scope="module")
def nights(scenario, tmp_path_factory):
    """The issue's two nights (split at the window start + 1 h), a single run over
    all files for comparison, and night 2 run again with the same files."""
    folder = tmp_path_factory.mktemp("nights")
    sc = scenario
    nights = run_two_nights(sc, folder / "store", sc.window_from + timedelta(hours=1), GRACE)
    files = nights.files
    files["provider_all"] = simulate.write_provider_jsonl(sc, folder / "all.jsonl").path
    files["ledger_all"] = simulate.write_ledger_csv(sc, folder / "all.csv").path
    nights.out["single"] = folder / "single"
    run_cli(["run", *nights.night2_args(),
         *file_args([files["provider_all"]], [files["ledger_all"]], [files["balances"]]),
         "--out", nights.out["single"], "--quiet"], expect=1)  # fmt: skip
    nights.out["rerun"] = folder / "rerun"
    run_cli(["run", "--db", nights.db, *nights.night2_args(),
         *file_args([files["provider2"]], [files["ledger2"]], [files["balances"]]),
         "--out", nights.out["rerun"], "--quiet"], expect=1)  # fmt: skip
    nights.counts["rerun"] = counts(nights.db)
    nights.register["rerun"] = register(nights.db)
    return nights


def test_the_trend_shows_tonights_window_beside_the_earlier_ones(nights):
    """The report's nights side by side end with tonight's own window, whose
    counts by check are the findings it lists of its own window."""
    section = report_section(nights.out["night2"], "Findings per check and night")
    labels = re.findall(r'<th class="num">([^<]+)</th>', section)
    night1, night2 = (read_summary(nights.out[n])["window"]["label"] for n in ("night1", "night2"))
    assert labels == [night1, night2]
    own = Counter(r["check"] for r in read_csv(nights.out["night2"] / "findings.csv")
                  if r["window"] == night2)  # fmt: skip
    assert own, "night 2 has findings of its own window"
    for check, count in own.items():
        row = re.search(rf'<span class="code">{check}</span>.*?</tr>', section, re.S).group(0)
        assert re.findall(r'<td class="num">([0-9,]+)</td>', row)[-1] == f"{count:,}", check


def test_the_resolved_list_is_bounded_per_check_largest_first(early_nights):
    """Spec section 5: the report lists at most so many resolved breaks of a check
    (here 1), the largest money at issue first, and counts them all."""
    nights = early_nights
    resolved = [e for e in nights.register["night2"].values() if e["resolved_run"] == 2]
    by_check = Counter(e["check"] for e in resolved)
    assert max(by_check.values(), default=0) > 1, "the scenario resolves several of a check"
    amounts = {r["finding_id"]: abs(Decimal(r["amount"]))
               for r in read_csv(nights.out["night1"] / "findings.csv")}  # fmt: skip
    con = duckdb.connect(str(nights.db), read_only=True)
    try:
        rows, counts = store.resolved_by(con, "provider", 2, limit=1)
    finally:
        con.close()
    assert counts == dict(by_check)
    for check in by_check:
        largest = max(amounts[e["finding_id"]] for e in resolved if e["check"] == check)
        assert [abs(r["amount"]) for r in rows if r["check"] == check] == [largest], check


@pytest.fixture(scope="module")
def early_nights(scenario, tmp_path_factory):
    """Two nights split a few minutes after midnight, so that bets of the previous
    evening are still open at night 1's cutoff and settle during night 2."""
    sc = scenario
    folder = tmp_path_factory.mktemp("early")
    return run_two_nights(sc, folder / "store", sc.window_from + timedelta(minutes=3), "10m")


def open_at_night1(nights: Nights) -> dict[str, bool]:
    """From the scenario alone: the bets that night 1 must report open (a PAYIN of the
    previous evening older than the grace at night 1's cutoff, nothing settling it by then,
    no settlement call), each with whether night 2's data settles it by its cutoff."""
    sc, split = nights.sc, nights.split
    grace = timedelta(minutes=int(nights.night1_grace.removesuffix("m")))
    ours = sc.counterparty_id
    bookings = [b for b in sc.bookings if b["counterparty_id"] == ours and b["bet_id"]]
    settling = ("pay-out", "pay-in-out", "refund")
    result = {}
    for bet in {b["bet_id"] for b in bookings}:
        own = [b for b in bookings if b["bet_id"] == bet]
        payins = [b["created_at"] for b in own if b["type"] == "PAYIN"]
        settled = [b["created_at"] for b in own if b["type"] in ("PAYOUT", "REFUND")]
        calls = [c for c in sc.calls if c["bet_id"] == bet and c["operation"] in settling]
        if not payins or min(payins) >= split - grace or min(payins) >= sc.window_from:
            continue
        if any(t < split for t in settled) or any(c["event_time"] < split for c in calls):
            continue
        result[bet] = any(t <= sc.cutoff for t in settled)
    return result


# ---------------------------------------------------------------------------
# 1. Two nights with a store = one run over all files


def test_two_nights_find_exactly_what_the_generator_injected(nights):
    expected = nights.sc.expected_set()
    night2 = finding_keys(nights.out["night2"])
    assert night2 == expected, describe_difference(expected, night2)


def test_two_nights_find_what_one_run_over_all_files_finds(nights):
    single = finding_keys(nights.out["single"])
    assert single == nights.sc.expected_set()
    assert finding_keys(nights.out["night2"]) == single
    night2_ids, single_ids = keys_and_ids(nights.out["night2"]), keys_and_ids(nights.out["single"])
    assert night2_ids == single_ids, "the same break gets the same finding_id"


@pytest.mark.parametrize("which", ["nights", "early_nights"])
def test_late_findings_are_what_one_run_over_all_files_adds_to_night1(which, request):
    """Spec section 6: night 2 lists the findings of night 1's window that only its data
    shows (or changed): exactly what a single run of that window over all the files, at
    night 2's cutoff, finds beyond what night 1 found."""
    nights = request.getfixturevalue(which)
    folder = nights.db.parent
    files = nights.files
    day = nights.sc.window_from
    single = folder / "single-night1"
    if not single.exists():
        everything = [simulate.write_provider_jsonl(nights.sc, folder / "all-p.jsonl").path]
        ledgers = [simulate.write_ledger_csv(nights.sc, folder / "all-l.csv").path]
        run_cli(["run", *window_args(day - timedelta(days=1), day, nights.sc.cutoff),
             *file_args(everything, ledgers, [files["balances"]]), "--out", single,
             "--quiet"], expect={0, 1})  # fmt: skip
    seen_by_night1 = finding_keys(nights.out["night1"])
    expected = finding_keys(single) - seen_by_night1
    late = finding_keys(nights.out["night2"], late=True)
    assert late == expected, describe_difference(expected, late)
    night1_label = read_summary(nights.out["night1"])["window"]["label"]
    assert {r["window"] for r in late_rows(nights.out["night2"])} <= {night1_label}
    assert read_summary(nights.out["night2"])["late_findings"]["total"] == len(late)


def test_night1_reports_only_the_previous_evening(nights):
    """Night 1 saw the first hour of the day too, but its window is the day before."""
    day = nights.sc.window_from
    summary = read_summary(nights.out["night1"])
    assert summary["window"]["label"] == (day - timedelta(days=1)).date().isoformat()
    for row in read_csv(nights.out["night1"] / "findings.csv"):
        assert row["status"] == "new"
        if row["occurred_at"]:
            assert stamp(row["occurred_at"]) < day + timedelta(hours=1), row
    night2 = {r["finding_id"] for r in read_csv(nights.out["night2"] / "findings.csv")}
    night1 = {r["finding_id"] for r in read_csv(nights.out["night1"] / "findings.csv")}
    assert not night1 & night2, "a bet belongs to one window only"


def test_the_store_keeps_every_record_once(nights):
    sc = nights.sc
    after = nights.counts["night2"]
    assert after["calls"] == len(sc.calls)
    assert after["bookings"] == len(sc.bookings)
    assert after["snapshots"] == len(sc.snapshots)
    assert after["runs"] == 2 and after["input_files"] == 5


# ---------------------------------------------------------------------------
# 2. A re-run of a window replaces its results


def test_a_rerun_replaces_the_nights_results(nights):
    assert finding_keys(nights.out["rerun"]) == finding_keys(nights.out["night2"])
    assert keys_and_ids(nights.out["rerun"]) == keys_and_ids(nights.out["night2"])
    runs = json.loads(run_cli(["history", "--db", nights.db, "--format", "json"], expect=0).out)[
        "runs"
    ]
    by_id = {r["run_id"]: r for r in runs}
    assert sorted(by_id) == [1, 2, 3]
    assert by_id[2]["superseded_by"] == 3, "the earlier run of the window is marked superseded"
    assert by_id[1]["superseded_by"] is None, "night 1 is another window"
    assert by_id[3]["superseded_by"] is None
    assert by_id[3]["window"] == by_id[2]["window"] == nights.sc.window_from.date().isoformat()
    assert by_id[3]["findings"] == len(nights.sc.expected)
    label = nights.sc.window_from.date().isoformat()
    total, distinct, runs_holding = query(
        nights.db,
        """SELECT count(*), count(DISTINCT f.finding_id), count(DISTINCT f.run_id)
           FROM run_findings f JOIN runs r USING (run_id) WHERE r.window_label = ?""",
        [label],
    )[0]
    assert total == distinct == len(nights.sc.expected), "the window's findings, once"
    assert runs_holding == 1
    assert query(nights.db, "SELECT count(*) FROM run_findings WHERE run_id = 2")[0][0] == 0


def test_a_rerun_changes_nothing_in_the_register(nights):
    before, after = nights.register["night2"], nights.register["rerun"]
    assert before.keys() == after.keys()
    for key, entry in before.items():
        again = after[key]
        assert (again["status"], again["nights_seen"], again["resolved_at"]) == (
            entry["status"], entry["nights_seen"], entry["resolved_at"]), key  # fmt: skip


# ---------------------------------------------------------------------------
# 3. A file already loaded loads nothing; an overlapping export collapses


def test_files_already_loaded_load_nothing_new(nights):
    inputs = read_summary(nights.out["rerun"])["inputs"]
    assert len(inputs) == 3
    for entry in inputs:
        assert entry["loaded_by_run"] == 2, entry
    first = {i["path"]: i for i in read_summary(nights.out["night2"])["inputs"]}
    for entry in inputs:
        assert first[entry["path"]]["loaded_by_run"] is None, "night 2 loaded them itself"
        assert entry["sha256"] == first[entry["path"]]["sha256"]
    before, after = nights.counts["night2"], nights.counts["rerun"]
    for table in ("calls", "bookings", "snapshots", "input_files", "rejects"):
        assert after[table] == before[table], table
    new_flags = query(nights.db, "SELECT DISTINCT new FROM run_inputs WHERE run_id = 3")
    assert new_flags == [(False,)]


def test_an_overlapping_export_collapses_what_the_store_holds(nights, tmp_path):
    """Night 2 given exports that repeat the last records night 1 already stored."""
    sc = nights.sc
    calls1, calls2, bookings1, bookings2 = split_by_time(sc, nights.split)
    db = copy_store(nights.after_night1, tmp_path / "store.duckdb")
    provider = simulate.write_provider_jsonl(sc, tmp_path / "p.jsonl", calls=calls1[-7:] + calls2)
    ledger = simulate.write_ledger_csv(sc, tmp_path / "l.csv", rows=bookings1[-25:] + bookings2,
                                       offset_times=True)  # fmt: skip
    balances = nights.files["balances"]
    out = tmp_path / "out"
    run_cli(["run", "--db", db, *nights.night2_args(), "--out", out,
            *file_args([provider.path], [ledger.path], [balances])], expect=1)  # fmt: skip
    inputs = {Path(i["path"]).name: i for i in read_summary(out)["inputs"]}
    assert (inputs["p.jsonl"]["collapsed"], inputs["p.jsonl"]["loaded"]) == (7, len(calls2))
    assert (inputs["l.csv"]["collapsed"], inputs["l.csv"]["loaded"]) == (25, len(bookings2))
    assert inputs["balances.csv"]["loaded_by_run"] is None, "a new file to this store"
    assert finding_keys(out) == sc.expected_set()
    after = counts(db)
    for table in ("calls", "bookings", "snapshots"):
        assert after[table] == nights.counts["night2"][table], table


# ---------------------------------------------------------------------------
# 4. Findings of night 1 in night 2: persisting or resolved


def test_an_open_bet_still_open_persists(nights):
    still_open = [bet for bet, settled in open_at_night1(nights).items() if not settled]
    assert still_open, "the scenario has a previous-evening bet that never settles"
    night1 = {r["bet_id"]: r for r in read_csv(nights.out["night1"] / "findings.csv")
              if r["check"] == "open_bet"}  # fmt: skip
    backlog = report_section(nights.out["night2"], "Still open from earlier nights")
    for bet in still_open:
        assert night1[bet]["status"] == "new"
        entry = nights.register["night2"][("open_bet", bet, None, night1[bet]["user_id"])]
        assert (entry["status"], entry["nights_seen"]) == ("persisting", 2)
        assert (entry["first_seen_run"], entry["last_seen_run"]) == (1, 2)
        assert entry["resolved_at"] is None
        assert listed(backlog, "open_bet", bet) and "persisting" in backlog


def test_an_open_bet_settled_the_next_night_is_resolved(early_nights):
    nights = early_nights
    expected = nights.sc.expected_set()
    night2 = finding_keys(nights.out["night2"])
    assert night2 == expected, describe_difference(expected, night2)
    opened = open_at_night1(nights)
    settled = [bet for bet, done in opened.items() if done]
    assert settled, "the scenario has a previous-evening bet settled after 00:03"
    night1 = {r["bet_id"]: r for r in read_csv(nights.out["night1"] / "findings.csv")
              if r["check"] == "open_bet"}  # fmt: skip
    assert set(opened) <= set(night1), "night 1 reports every bet open at its cutoff"
    resolved = report_section(nights.out["night2"], "Resolved by tonight's data")
    backlog = report_section(nights.out["night2"], "Still open from earlier nights")
    for bet, done in opened.items():
        entry = nights.register["night2"][("open_bet", bet, None, night1[bet]["user_id"])]
        if done:
            assert entry["status"] == "resolved", entry
            assert entry["resolved_at"] == nights.sc.cutoff
            assert entry["resolved_run"] == 2 and entry["nights_seen"] == 1
            assert listed(resolved, "open_bet", bet) and not listed(backlog, "open_bet", bet)
        else:
            assert (entry["status"], entry["nights_seen"]) == ("persisting", 2)
            assert listed(backlog, "open_bet", bet) and not listed(resolved, "open_bet", bet)


@pytest.fixture(scope="module")
def third_night(nights, tmp_path_factory):
    """A copy of the two nights' store, and a third night (the next day) that brings no
    new file: night 2's files already held everything up to two hours after the day."""
    folder = tmp_path_factory.mktemp("third")
    db = copy_store(nights.db, folder / "store.duckdb")
    (folder / "none.jsonl").write_text("")
    (folder / "none.csv").write_text(LEDGER_HEADER + "\n")
    day = nights.sc.window_to
    cutoff = day + timedelta(days=1, hours=1)
    out = folder / "night3"
    run_cli(["run", "--db", db, *window_args(day, day + timedelta(days=1), cutoff),
         *file_args([folder / "none.jsonl"], [folder / "none.csv"]), "--out", out, "--quiet"],
        expect={0, 1})  # fmt: skip
    return db, out, cutoff


def test_open_bets_settled_after_the_cutoff_are_resolved_the_next_night(nights, third_night):
    """Open at night 2's cutoff (the generator expects open_bet), settled after it."""
    db, out, cutoff = third_night
    sc = nights.sc
    late = {b["bet_id"] for b in sc.bookings
            if b["type"] in ("PAYOUT", "REFUND") and b["created_at"] > sc.cutoff}  # fmt: skip
    settled = [f for f in sc.expected if f.check == "open_bet" and f.bet_id in late]
    assert settled, "the generator settles some open bets after the cutoff"
    entries = register(db)
    section = report_section(out, "Resolved by tonight")
    for finding in settled:
        entry = entries[("open_bet", finding.bet_id, None, finding.user_id)]
        assert (entry["status"], entry["resolved_at"], entry["nights_seen"]) == (
            "resolved", cutoff, 1)  # fmt: skip
        assert listed(section, "open_bet", finding.bet_id)
    open_bets = {key[1]: e for key, e in entries.items() if key[0] == "open_bet"}
    for bet, done in open_at_night1(nights).items():
        if not done:
            assert (open_bets[bet]["status"], open_bets[bet]["nights_seen"]) == ("persisting", 3)


def test_a_bet_that_went_open_after_its_night_is_a_late_finding_the_next_night(nights, third_night):
    """A bet of the day whose PAYIN was younger than the grace at night 2's cutoff and that
    never settles: not night 2's finding (too young), not night 3's window, so night 3
    lists it as a late finding of night 2's window (spec section 6), failing the run."""
    db, out, _ = third_night
    sc = nights.sc
    ours = sc.counterparty_id
    settled = {c["bet_id"] for c in sc.calls if c["operation"] in ("pay-out", "pay-in-out",
                                                                  "refund")}  # fmt: skip
    settled |= {b["bet_id"] for b in sc.bookings if b["type"] in ("PAYOUT", "REFUND")}
    first = {}
    for b in sc.bookings:
        if b["counterparty_id"] == ours and b["type"] == "PAYIN":
            first[b["bet_id"]] = min(first.get(b["bet_id"], b["created_at"]), b["created_at"])
    young = [bet for bet, at in first.items()
             if bet not in settled and sc.cutoff - sc.grace <= at and at >= sc.window_to
             and min(c["event_time"] for c in sc.calls if c["bet_id"] == bet) < sc.window_to
             ]  # fmt: skip
    assert young, "the generator has bets booked just after midnight, first tried before"
    assert not {f.bet_id for f in sc.expected} & set(young)
    entries = {key[1]: e for key, e in register(db).items() if key[0] == "open_bet"}
    night2_label = read_summary(nights.out["night2"])["window"]["label"]
    late = report_section(out, "Late findings of earlier nights", level=2)
    backlog = report_section(out, "Still open from earlier nights")
    night3 = {r["bet_id"]: r for r in read_csv(out / "findings.csv") if r["check"] == "open_bet"}
    for bet in young:
        assert (entries[bet]["status"], entries[bet]["last_seen_run"]) == ("new", 4)
        assert listed(late, "open_bet", bet) and not listed(backlog, "open_bet", bet)
        assert (night3[bet]["window"], night3[bet]["status"]) == (night2_label, "new")
    assert read_summary(out)["late_findings"]["by_check"].get("open_bet") == len(young)


def test_a_bet_open_across_midnight_is_not_lost(tmp_path):
    """Hand-made: the PayIn tried at 23:59:55 times out, the retry is booked at 00:00:06;
    night 1 (grace 1 h, cutoff 01:00) rightly finds it too young, night 2 lists it."""
    d1, d2 = DAYS[0], DAYS[1]
    first_try = call_line("pay-in", "b7", d2 - timedelta(seconds=5), "r0", "", "0", betAmount=5)
    first_try = json.dumps(json.loads(first_try) | {"response": None, "error": "timeout"})
    retry = call_line("pay-in", "b7", d2 + timedelta(seconds=6), "r1", "t1", "95", betAmount=5)
    (tmp_path / "calls.jsonl").write_text(f"{first_try}\n{retry}\n")
    booked = ledger_row("t1", d2 + timedelta(seconds=6), "PAYIN", "b7", 5, 100, 95, "r1")
    (tmp_path / "ledger.csv").write_text(f"{LEDGER_HEADER}\n{booked}\n")
    (tmp_path / "none.jsonl").write_text("")
    (tmp_path / "none.csv").write_text(LEDGER_HEADER + "\n")
    db = tmp_path / "store.duckdb"
    hour = timedelta(hours=1)
    run_cli(
        [
            "run",
            "--db",
            db,
            *window_args(d1, d2, d2 + hour, "1h"),
            "--out",
            tmp_path / "n1",
            "--provider",
            tmp_path / "calls.jsonl",
            "--ledger",
            tmp_path / "ledger.csv",
        ],
        expect=0,
    )
    assert read_csv(tmp_path / "n1" / "findings.csv") == []
    assert register(db) == {}
    run_cli(["run", "--db", db, *window_args(d2, DAYS[2], DAYS[2] + hour, "1h"),
            "--out", tmp_path / "n2", "--provider", tmp_path / "none.jsonl",
            "--ledger", tmp_path / "none.csv"], expect=0)  # fmt: skip
    assert own_rows(tmp_path / "n2") == [], "not night 2's window"
    late = [(r["window"], r["check"], r["bet_id"], r["status"]) for r in late_rows(tmp_path / "n2")]
    assert late == [("2026-11-01", "open_bet", "b7", "new")]
    assert night_states(db) == {("open_bet", "b7", None, "u1"): ("new", 1, None)}
    assert listed(report_section(tmp_path / "n2", "Late findings of earlier nights", level=2),
                  "open_bet", "b7")  # fmt: skip


# ---------------------------------------------------------------------------
# 5. Three nights of hand-made data: new → persisting → resolved; resolved → reopened

CP = "cp-1"
DAYS = [datetime(2026, 11, d, tzinfo=UTC) for d in (1, 2, 3)]


def call_line(op: str, bet: str, at: datetime, rid: str, tx: str, balance: str, **body) -> str:
    return records.call_line(op, bet, at, cp=CP, rid=rid, tx=tx, balance=balance,
                             logged_at=at + timedelta(milliseconds=40),
                             headers={"X-Sign": "secret"}, stamp_as_text=True, **body)  # fmt: skip


def ledger_row(tx, at: datetime, typ, bet, amount, before, after, rid="", cp=CP) -> str:
    return records.ledger_row(tx, at, typ, bet, amount, before, after, rid, cp=cp)


def hand_made_nights(folder: Path) -> list[dict]:
    """Files of three nights.  Bet b1 (day 1) stays open until day 3.  Booking t3 of bet
    b2 breaks the chain on day 1 (balance_before 80, the previous booking left 85); night
    2's export brings a late adjustment (85 → 80) that mends it; night 3's brings a late
    duplicate PAYOUT of b2 booked just before t3, which breaks it again."""
    d1, d2, d3 = DAYS
    h = timedelta(hours=1)
    nights = [
        (
            [call_line("pay-in", "b1", d1 + 10 * h, "r1", "t1", "95", betAmount=5),
             call_line("pay-in", "b2", d1 + 11 * h, "r2", "t2", "85", betAmount=10),
             call_line("pay-out", "b2", d1 + 11 * h + timedelta(minutes=5), "r3", "t3", "100",
                       winAmount=20)],
            [ledger_row("t1", d1 + 10 * h, "PAYIN", "b1", 5, 100, 95, "r1"),
             ledger_row("t2", d1 + 11 * h, "PAYIN", "b2", 10, 95, 85, "r2"),
             ledger_row("t3", d1 + 11 * h + timedelta(minutes=5), "PAYOUT", "b2", 20, 80, 100,
                        "r3")],
        ),
        (
            [call_line("pay-in", "b3", d2 + 9 * h, "r4", "t4", "90", betAmount=10),
             call_line("pay-out", "b3", d2 + 9 * h + timedelta(minutes=1), "r5", "t5", "90",
                       winAmount=0)],
            [ledger_row("t9", d1 + 11 * h + timedelta(minutes=3), "ADJUSTMENT", "", -5, 85, 80,
                        cp=""),
             ledger_row("t4", d2 + 9 * h, "PAYIN", "b3", 10, 100, 90, "r4"),
             ledger_row("t5", d2 + 9 * h + timedelta(minutes=1), "PAYOUT", "b3", 0, 90, 90,
                        "r5")],
        ),
        (
            [call_line("pay-out", "b1", d3 + 8 * h, "r6", "t6", "90", winAmount=0)],
            [ledger_row("t7", d1 + 11 * h + timedelta(minutes=4), "PAYOUT", "b2", 20, 80, 100),
             ledger_row("t6", d3 + 8 * h, "PAYOUT", "b1", 0, 90, 90, "r6")],
        ),
    ]  # fmt: skip
    written = []
    for number, (calls, rows) in enumerate(nights, start=1):
        provider, ledger = folder / f"calls-{number}.jsonl", folder / f"ledger-{number}.csv"
        provider.write_text("\n".join(calls) + "\n")
        ledger.write_text("\n".join([LEDGER_HEADER, *rows]) + "\n")
        day = DAYS[number - 1]
        written.append({
            "args": ["--provider", provider, "--ledger", ledger,
                     *window_args(day, day + timedelta(days=1), day + timedelta(days=1, hours=1))],
            "cutoff": day + timedelta(days=1, hours=1),
        })  # fmt: skip
    return written


OPEN_B1 = ("open_bet", "b1", None, "u1")
DRIFT_T3 = ("balance_drift", "b2", "t3", "u1")
DUPLICATE_B2 = ("duplicate_payout", "b2", None, "u1")


def night_states(db: Path) -> dict[tuple, tuple]:
    return {key: (e["status"], e["nights_seen"], e["resolved_at"])
            for key, e in register(db).items()}  # fmt: skip


def test_three_nights_walk_findings_through_every_state(tmp_path):
    db = tmp_path / "store.duckdb"
    nights = hand_made_nights(tmp_path)
    states, outs = [], []
    for number, night in enumerate(nights, start=1):
        out = tmp_path / f"night{number}"
        run_cli(["run", "--db", db, *night["args"], "--out", out],
               expect=0 if number == 2 else 1)  # fmt: skip
        states.append(night_states(db))
        outs.append(out)
    _, cut2, cut3 = (n["cutoff"] for n in nights)
    assert {r["check"]: r["status"] for r in read_csv(outs[0] / "findings.csv")} == {
        "open_bet": "new", "balance_drift": "new"}  # fmt: skip
    assert states[0] == {OPEN_B1: ("new", 1, None), DRIFT_T3: ("new", 1, None)}
    assert states[1] == {OPEN_B1: ("persisting", 2, None), DRIFT_T3: ("resolved", 1, cut2)}
    assert states[2] == {OPEN_B1: ("resolved", 2, cut3), DRIFT_T3: ("reopened", 2, None),
                         DUPLICATE_B2: ("new", 1, None)}  # fmt: skip
    assert read_csv(outs[1] / "findings.csv") == own_rows(outs[2]) == []
    backlog = report_section(outs[1], "Still open from earlier nights")
    assert listed(backlog, "open_bet", "b1") and "persisting" in backlog
    assert listed(report_section(outs[1], "Resolved by tonight"), "balance_drift", "t3")
    assert listed(report_section(outs[2], "Resolved by tonight"), "open_bet", "b1")
    backlog = report_section(outs[2], "Still open from earlier nights")
    assert not listed(backlog, "open_bet", "b1")
    # day 1's drift back and the late duplicate PAYOUT of day 1's bet: findings of day 1's
    # window that night 3's data shows, listed with it and failing it (spec section 6)
    late = report_section(outs[2], "Late findings of earlier nights", level=2)
    shown = {(r["window"], r["check"], r["transaction_id"], r["status"])
             for r in late_rows(outs[2])}  # fmt: skip
    assert shown == {("2026-11-01", "balance_drift", "t3", "reopened"),
                     ("2026-11-01", "duplicate_payout", "", "new")}  # fmt: skip
    assert listed(late, "balance_drift", "t3") and listed(late, "duplicate_payout", "b2")
    assert not listed(backlog, "balance_drift", "t3")
    story = json.loads(
        run_cli(["trace", "--db", db, "--bet", "b2", "--format", "json"], expect=0).out
    )
    drift = [f for f in story["findings"] if f["check"] == "balance_drift"]
    assert [(f["transaction_id"], f["status"], f["amount"]) for f in drift] == [
        ("t3", "reopened", "20.00")]  # fmt: skip


def test_rerunning_an_earlier_night_keeps_what_a_later_night_saw(tmp_path):
    """Night 3 saw bet b1 settled; re-running night 2 (an earlier cutoff) must not reopen it."""
    db = tmp_path / "store.duckdb"
    nights = hand_made_nights(tmp_path)
    for number, night in enumerate(nights, start=1):
        run_cli(["run", "--db", db, *night["args"], "--out", tmp_path / f"n{number}"],
               expect=0 if number == 2 else 1)  # fmt: skip
    after_night3 = night_states(db)
    run_cli(["run", "--db", db, *nights[1]["args"], "--out", tmp_path / "again"], expect=0)
    assert night_states(db) == after_night3
    runs = json.loads(run_cli(["history", "--db", db, "--format", "json"], expect=0).out)
    assert {r["run_id"]: r["superseded_by"] for r in runs["runs"]} == {4: None, 3: None, 2: 4,
                                                                      1: None}  # fmt: skip


def as_schema_1(db: Path) -> None:
    """Turn a store into what schema 1 wrote: the record tables with a PRIMARY KEY
    on their id (the first column)."""
    con = duckdb.connect(str(db))
    for table in RECORD_TABLES:
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()  # fmt: skip
        (key, _), *_ = columns
        ddl = ", ".join(f'"{name}" {kind}' for name, kind in columns)
        con.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
        con.execute(f'CREATE TABLE {table} ({ddl}, PRIMARY KEY ("{key}"))')
        con.execute(f"INSERT INTO {table} SELECT * FROM old_{table}")
        con.execute(f"DROP TABLE old_{table}")
    con.execute("UPDATE schema_info SET version = 1")
    con.close()


def keyed_tables(db: Path) -> set[str]:
    rows = query(
        db, "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
    )
    return {table for (table,) in rows}


def test_a_schema_1_store_is_upgraded_by_the_next_run(tmp_path):
    """Schema 1 kept a PRIMARY KEY on each record table; the next run drops them,
    keeping every record, and the nights go on as in a store made by this version."""
    nights = hand_made_nights(tmp_path)
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    for db in (old, new):
        run_cli(["run", "--db", db, *nights[0]["args"], "--out", tmp_path / db.stem],
               expect=1)  # fmt: skip
    as_schema_1(old)
    assert set(RECORD_TABLES) <= keyed_tables(old) and counts(old) == counts(new)
    result = run_cli(["history", "--db", old], expect=2)  # read-only: cannot upgrade
    assert "schema 1 is older" in result.err and len(result.err.strip().splitlines()) == 1
    for db in (old, new):
        for number, night in enumerate(nights[1:], start=2):
            run_cli(
                ["run", "--db", db, *night["args"], "--out", tmp_path / f"{db.stem}{number}"],
                expect=0 if number == 2 else 1,
            )
    assert query(old, "SELECT version FROM schema_info") == [(SCHEMA_VERSION,)]
    assert not keyed_tables(old) & set(RECORD_TABLES)
    assert counts(old) == counts(new) and night_states(old) == night_states(new)
    for table in RECORD_TABLES:
        assert query(old, f"SELECT * FROM {table} ORDER BY ALL") == query(
            new, f"SELECT * FROM {table} ORDER BY ALL")  # fmt: skip


# ---------------------------------------------------------------------------
# 6-8. Refusals: a busy store, a crash, a foreign or newer file


def hand_made_night1(tmp_path: Path) -> list:
    return hand_made_nights(tmp_path)[0]["args"]


def assert_refused(result: Result, out: Path, *needles: str) -> None:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))


def test_a_store_in_use_is_refused_cleanly(tmp_path):
    db = tmp_path / "store.duckdb"
    run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", tmp_path / "first"],
           expect=1)  # fmt: skip
    before = counts(db)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); "
         "time.sleep(30)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        out = tmp_path / "out"
        result = run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", out],
                        expect=2)  # fmt: skip
        assert_refused(result, out, str(db), "in use")
        result = run_cli(["history", "--db", db], expect=2)
        assert "in use" in result.err and len(result.err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    assert counts(db) == before


def test_a_crash_mid_run_leaves_the_store_as_it_was(nights, tmp_path, monkeypatch):
    db = copy_store(nights.after_night1, tmp_path / "store.duckdb")
    before = counts(db)
    before_register = register(db)

    def out_of_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("reconcile.report.write_html", out_of_disk)
    out = tmp_path / "out"
    files = nights.files
    args = ["run", "--db", db, *nights.night2_args(), "--out", out,
            *file_args([files["provider2"]], [files["ledger2"]], [files["balances"]])]  # fmt: skip
    result = run_cli(args, expect=3)
    assert "no space left on device" in result.err and "store is unchanged" in result.err
    assert not out.exists() and not list(tmp_path.glob(".out.tmp-*"))
    assert counts(db) == before
    assert register(db) == before_register
    monkeypatch.undo()
    run_cli(args, expect=1)  # the store is usable: nothing held, nothing half-written
    assert finding_keys(out) == nights.sc.expected_set()
    assert counts(db) == nights.counts["night2"]


def test_an_input_error_mid_run_leaves_the_store_as_it_was(tmp_path):
    """The bad file is found while loading, after the run has begun in the store."""
    db = tmp_path / "store.duckdb"
    run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", tmp_path / "first"],
           expect=1)  # fmt: skip
    before, before_register = counts(db), register(db)
    broken = tmp_path / "broken.csv"
    broken.write_text("transaction_id,created_at\nt1,2026-11-02T10:00:00Z\n")
    out = tmp_path / "out"
    result = run_cli(["run", "--db", db, "--provider", tmp_path / "calls-1.jsonl",
                     "--ledger", broken, "--date", "2026-11-02", "--out", out],
                    expect=2)  # fmt: skip
    assert_refused(result, out, "missing required column")
    assert counts(db) == before and register(db) == before_register


def test_running_out_of_memory_says_what_to_change_and_changes_nothing(tmp_path):
    """DuckDB's own message spans lines and suggests settings reconcile makes for you."""
    db = tmp_path / "store.duckdb"
    run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", tmp_path / "first"],
           expect=1)  # fmt: skip
    before, before_register = counts(db), register(db)
    night2 = hand_made_nights(tmp_path)[1]["args"]
    out = tmp_path / "out"
    result = run_cli(["run", "--db", db, *night2, "--memory-limit", "4MB", "--out", out],
                    expect=3)  # fmt: skip
    assert_refused(result, out, "out of memory", "--memory-limit", "store is unchanged")
    assert counts(db) == before and register(db) == before_register


def test_a_store_of_a_newer_version_is_refused(tmp_path):
    db = tmp_path / "store.duckdb"
    run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", tmp_path / "first"],
           expect=1)  # fmt: skip
    con = duckdb.connect(str(db))
    con.execute("UPDATE schema_info SET version = 99")
    con.close()
    before = db.read_bytes()
    out = tmp_path / "out"
    result = run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", out],
                    expect=2)  # fmt: skip
    assert_refused(result, out, str(db), "newer", "99", str(SCHEMA_VERSION))
    for command in (["history", "--db", db], ["trace", "--db", db, "--bet", "b1"]):
        result = run_cli(command, expect=2)
        assert "99" in result.err and len(result.err.strip().splitlines()) == 1
    assert db.read_bytes() == before


def test_a_duckdb_file_that_is_not_a_store_is_refused(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE customers (id INTEGER, name VARCHAR)")
    con.execute("INSERT INTO customers VALUES (1, 'a')")
    con.close()
    out = tmp_path / "out"
    result = run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", out],
                    expect=2)  # fmt: skip
    assert_refused(result, out, str(db), "not a reconcile store")
    assert query(db, "SELECT table_name FROM information_schema.tables") == [("customers",)]


@pytest.mark.parametrize("name", ["notes.txt", "ledger.csv"])
def test_a_file_that_is_not_a_store_is_refused_and_left_alone(tmp_path, name):
    """A text file given as --db by mistake (DuckDB itself would open a CSV as a table)."""
    db = tmp_path / name
    text = LEDGER_HEADER + "\n" + "t1,2026-11-01T10:00:00Z,cp,s1,u1,EUR,PAYIN,b1,5,100,95,r1\n"
    db.write_text(text)
    out = tmp_path / "out"
    result = run_cli(["run", "--db", db, *hand_made_night1(tmp_path), "--out", out],
                    expect=2)  # fmt: skip
    assert_refused(result, out, str(db))
    assert db.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(name)) == [name]


def test_a_key_repeated_with_different_content_does_not_break_the_store(tmp_path):
    """Two ledger rows with one transaction id (not exact duplicates) and two snapshots of
    one wallet at one time give findings that share an id; the register keeps one entry
    per id instead of failing the run on its primary key (an internal error, exit 3)."""
    (tmp_path / "calls.jsonl").write_text("")
    (tmp_path / "ledger.csv").write_text("\n".join([
        LEDGER_HEADER,
        ledger_row("t1", DAYS[0] + timedelta(hours=10), "PAYIN", "b1", 5, 100, 95, "r1"),
        ledger_row("t1", DAYS[0] + timedelta(hours=10, seconds=1), "PAYIN", "b1", 5, 95, 90, "r1"),
    ]) + "\n")  # fmt: skip
    (tmp_path / "balances.csv").write_text(
        "user_id,currency,balance,as_of\nu1,EUR,10,2026-11-01T12:00:00Z\n"
        "u1,EUR,11,2026-11-01T12:00:00Z\n"
    )
    db = tmp_path / "store.duckdb"
    inputs = ["--provider", tmp_path / "calls.jsonl", "--ledger", tmp_path / "ledger.csv",
              "--balances", tmp_path / "balances.csv", "--counterparty", CP]  # fmt: skip
    for day, status in (("2026-11-01", 1), ("2026-11-02", 0)):  # day 2: nothing of its own
        run_cli(["run", "--db", db, *inputs, "--date", day, "--out", tmp_path / day],
               expect=status)  # fmt: skip
    checks = [r["check"] for r in read_csv(tmp_path / "2026-11-01" / "findings.csv")]
    assert checks.count("unmatched_ledger") == 2 and checks.count("balance_drift") == 2
    ids, distinct = query(db, "SELECT count(*), count(DISTINCT finding_id) FROM finding_register")[
        0
    ]
    assert ids == distinct
    states = {(c, s, n) for c, s, n in query(
        db, 'SELECT "check", status, nights_seen FROM finding_register')}  # fmt: skip
    assert ("unmatched_ledger", "persisting", 2) in states
    assert ("balance_drift", "persisting", 2) in states


# ---------------------------------------------------------------------------
# 9. A report that stays a report (spec section 5)


def many_unmatched(folder: Path, day: datetime, count: int, apart: timedelta) -> Path:
    """``count`` PAYINs of 1, 2, ... count under the provider's name that no call
    accounts for (each an unmatched_ledger and an open_bet), one unbroken wallet chain."""
    rows, balance = [LEDGER_HEADER], Decimal(10**6)
    for n in range(1, count + 1):
        at = day + timedelta(hours=1) + n * apart
        rows.append(ledger_row(f"t{n}", at, "PAYIN", f"b{n}", n, balance, balance - n))
        balance -= n
    path = folder / f"ledger-{day.date()}.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_report_lists_the_500_largest_of_a_check_and_the_csv_all(tmp_path):
    (tmp_path / "none.jsonl").write_text("")
    ledger = many_unmatched(tmp_path, DAYS[0], 503, timedelta(seconds=1))
    out = tmp_path / "out"
    run_cli(["run", "--provider", tmp_path / "none.jsonl", "--ledger", ledger, "--counterparty",
            CP, "--date", "2026-11-01", "--out", out], expect=1)  # fmt: skip
    rows = read_csv(out / "findings.csv")
    assert sum(r["check"] == "unmatched_ledger" for r in rows) == 503
    page = (out / "report.html").read_text(encoding="utf-8")
    shown = [re.search(r'<td class="num">([0-9,.]+) EUR</td>', row).group(1)
             for row in re.findall(r"<tr>.*?</tr>", report_section(out, "New tonight"), re.S)
             if ">unmatched_ledger<" in row]  # fmt: skip
    assert sorted(Decimal(a.replace(",", "")) for a in shown) == list(range(4, 504))
    assert re.search(r"<strong>3 more</strong> <span class=\"code\">unmatched_ledger</span>", page)
    assert f"New tonight</span> · {len(rows):,}<" in page


def test_the_backlog_is_a_table_by_check_and_age(tmp_path):
    """Night 1's 30 breaks stay open: night 2 shows them by age and names the oldest and
    the largest ten; a night 40 days on (nothing new) puts them past 30 nights."""
    (tmp_path / "none.jsonl").write_text("")
    db = tmp_path / "store.duckdb"
    ledger = many_unmatched(tmp_path, DAYS[0], 30, timedelta(minutes=4))  # no hour of 20
    (tmp_path / "empty.csv").write_text(LEDGER_HEADER + "\n")
    for day, ledger_file in (("2026-11-01", ledger), ("2026-11-02", tmp_path / "empty.csv"),
                             ("2026-12-11", tmp_path / "empty.csv")):  # fmt: skip
        cutoff = iso(datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1, hours=1))
        run_cli(["run", "--db", db, "--provider", tmp_path / "none.jsonl", "--ledger",
                ledger_file, "--counterparty", CP, "--date", day, "--cutoff", cutoff,
                "--out", tmp_path / day], expect=0)  # fmt: skip
    for day, bucket in (("2026-11-02", 1), ("2026-12-11", 4)):
        section = report_section(tmp_path / day, "Still open from earlier nights")
        assert "Still open from earlier nights · 60" in section  # and as many open bets
        row = next(r for r in re.findall(r"<tr>.*?</tr>", section, re.S) if "unmatched_ledger" in r)
        cells = re.findall(r'<td class="num">([^<]*)</td>', row)
        assert cells[:4] == ["30" if n == bucket else "—" for n in range(1, 5)]
        assert cells[4] == "30" and cells[5].startswith("465.00 EUR")
        listed_bets = {int(n) for n in re.findall(r'<td class="id">b(\d+)</td>', section)}
        # the ten largest: b26-b30, each an unmatched_ledger and an open_bet; all are as old
        assert set(range(26, 31)) <= listed_bets and len(listed_bets) <= 20
    assert [store.age_bucket(n) for n in (0, 1, 2, 7, 8, 30, 31)] == [
        "0-1", "0-1", "2-7", "2-7", "8-30", "8-30", "more than 30"]  # fmt: skip
