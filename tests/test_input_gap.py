"""Spec section 9, trusting the inputs: a provider file left out of a night, or a
ledger export missing hours, is one ``input_gap`` finding, and the findings in its
hours are marked ``suspect_input_gap``.

The generator writes the short inputs; ``simulate.gap_hours`` works out from the
records it wrote which hours are short, and ``Scenario.occurred_at`` the time of
each injected finding, both by the spec's words rather than by the product's SQL.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import describe_difference, finding_keys, read_csv, read_summary, run_cli
from test_run import FORMS, run_form, window_args

from reconcile.window import iso
from simulate import provider as simulate

LEFT_OUT = range(3, 6)  # the provider file of 03:00-06:00 is missing
LEDGER_CUT = range(14, 16)  # the ledger export lacks 14:00-16:00


@pytest.fixture(scope="module")
def scenario():
    """About 145 calls and 230 bookings an hour: every hour is over the threshold."""
    return simulate.simulate(seed=11, bets=2000)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def truncated(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def run_night(sc, folder: Path, calls, bookings, *extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    simulate.write_provider_jsonl(sc, folder / "calls.jsonl", calls=calls)
    simulate.write_ledger_csv(sc, folder / "ledger.csv", rows=bookings)
    simulate.write_balances_csv(sc, folder / "balances.csv")
    out = folder / "out"
    run_cli(["run", *window_args(sc), "--provider", folder / "calls.jsonl", "--ledger",
             folder / "ledger.csv", "--balances", folder / "balances.csv", "--out", out,
             *extra], expect=1)  # fmt: skip
    return out


def provider_left_out(sc) -> tuple[list, list]:
    """The calls of the left-out file, and the calls of the night without them."""
    missing = [c for c in sc.calls if c["event_time"].hour in LEFT_OUT]
    return missing, [c for c in sc.calls if c["event_time"].hour not in LEFT_OUT]


def expected_gap_rows(gaps: dict) -> list[tuple]:
    """Adjacent gap hours of one side as one finding: (side, first hour, per-hour counts)."""
    runs: list[tuple] = []
    for hour, (side, calls, bookings) in sorted(gaps.items()):
        if runs and runs[-1][0] == side and runs[-1][1] + timedelta(hours=len(runs[-1][2])) == hour:
            runs[-1][2].append((calls, bookings))
        else:
            runs.append((side, hour, [(calls, bookings)]))
    return runs


def assert_gaps_and_marks(
    sc, out: Path, gaps: dict, caused: set | None = None, changed: set | None = None
) -> None:
    """The exact input_gap findings, and marks on exactly the findings in their hours;
    the findings outside those hours are exactly the injected ones there (but for the
    chain breaks of ``changed`` transactions), and ``caused``: those the missing
    records cause outside their hours."""
    rows = read_csv(out / "findings.csv")
    found = [r for r in rows if r["check"] == "input_gap"]
    runs = expected_gap_rows(gaps)
    assert [(r["detail"].split()[0], parse_time(r["occurred_at"])) for r in found] == [
        (side, first) for side, first, _ in runs
    ]
    for row, (_side, first, counts) in zip(found, runs, strict=True):
        assert (row["severity"], row["amount"], row["currency"]) == ("high", "0.00", "")
        assert (row["owed_to"], row["correction"], row["action"]) == ("unknown", "", "investigate")
        per_hour = ", ".join(f"{iso(first + timedelta(hours=i))} {c}/{b}"
                             for i, (c, b) in enumerate(counts))  # fmt: skip
        assert per_hour in row["detail"]
        assert row["suspect_input_gap"] == "false"
    in_gap = {truncated(parse_time(r["occurred_at"])) in gaps for r in rows}
    assert in_gap == {True, False}
    for row in rows:
        marked = row["check"] != "input_gap" and truncated(parse_time(row["occurred_at"])) in gaps
        assert row["suspect_input_gap"] == ("true" if marked else "false"), row
    unmarked = {key for key, row in zip(_keys(rows), rows, strict=True)
                if row["suspect_input_gap"] == "false" and row["check"] != "input_gap"}  # fmt: skip
    outside = {
        f.key()
        for f in sc.expected
        if truncated(sc.occurred_at(f)) not in gaps
        and not (f.check == "balance_drift" and f.transaction_id in (changed or ()))
    }
    outside |= caused or set()
    assert unmarked == outside, describe_difference(outside, unmarked)


def _keys(rows: list[dict]) -> list[tuple]:
    return [(r["check"], r["bet_id"] or None, r["transaction_id"] or None, r["user_id"] or None,
             Decimal(r["amount"]).quantize(simulate.Q8)) for r in rows]  # fmt: skip


def test_a_left_out_provider_file_is_one_finding_and_marks_its_hours(scenario, tmp_path):
    _, calls = provider_left_out(scenario)
    gaps = simulate.gap_hours(scenario, calls, scenario.bookings)
    assert sorted(h.hour for h in gaps) == list(LEFT_OUT)
    assert {side for side, _, _ in gaps.values()} == {"provider_log"}
    out = run_night(scenario, tmp_path, calls, scenario.bookings)
    assert_gaps_and_marks(scenario, out, gaps)

    suspect = sum(r["suspect_input_gap"] == "true" for r in read_csv(out / "findings.csv"))
    summary = read_summary(out)
    assert summary["findings"]["suspect_input_gap"] == suspect
    assert summary["input_gaps"] == [{"side": "provider_log", "from": "2026-11-22T03:00:00Z",
                                      "hours": 3, "suspect_findings": suspect}]  # fmt: skip
    page = (out / "report.html").read_text(encoding="utf-8")
    first_screen = page[: page.index('<h2 id="owed">')]
    text = html.unescape(re.sub(r"<[^>]+>", "", first_screen))
    assert f"{suspect:,} findings fall in hours where the provider log looks incomplete" in text
    assert "from 2026-11-22 03:00:00 UTC for 3 hours" in text
    shaded = re.findall(r'<rect [^>]*fill="#f6c453"[^>]*><title>([^<]*)</title>', first_screen)
    assert shaded == [f"2026-11-22 {h:02d}:00: the provider log looks incomplete"
                      for h in LEFT_OUT]  # fmt: skip
    assert page.count('<span class="badge" title=') == suspect


def caused_by_a_cut(sc, kept: list[dict], gaps: dict) -> tuple[set[tuple], set[str]]:
    """What cutting bookings from the export causes outside the cut hours, worked out
    from the records: a wallet's first kept booking after the cut no longer continues
    from the one before it (balance_drift, its difference measured across the cut);
    a bet that began before the cut and whose PAYOUT was cut, though the provider's
    PayOut was answered, misses its payout.  Returns those findings and the
    transactions whose injected chain break the cut changes."""
    last: dict[str, dict] = {}
    caused, changed = set(), set()
    for booking in sorted(kept, key=lambda b: (b["created_at"], b["transaction_id"])):
        before = last.get(booking["user_id"])
        last[booking["user_id"]] = booking
        if before is None or not sc.window_from <= booking["created_at"] < sc.window_to:
            continue
        difference = abs(booking["balance_before"] - before["balance_after"])
        if difference and sc.chain_breaks.get(booking["transaction_id"]) != difference:
            changed.add(booking["transaction_id"])
            caused.add(("balance_drift", booking["bet_id"], booking["transaction_id"],
                        booking["user_id"], difference.quantize(simulate.Q8)))  # fmt: skip
    kept_ids = {b["transaction_id"] for b in kept}
    cut_bets = {b["bet_id"] for b in sc.bookings if b["transaction_id"] not in kept_ids
                and b["counterparty_id"] == sc.counterparty_id and b["bet_id"]}  # fmt: skip
    for bet_id in sorted(cut_bets):
        cut = [
            b for b in sc.bookings if b["bet_id"] == bet_id and b["transaction_id"] not in kept_ids
        ]
        first = min([c["event_time"] for c in sc.calls if c["bet_id"] == bet_id]
                    + [b["created_at"] for b in sc.bookings if b["bet_id"] == bet_id])  # fmt: skip
        if truncated(first) in gaps:
            continue
        assert {b["type"] for b in cut} == {"PAYOUT"}, cut  # the only case this test knows
        assert any(c["bet_id"] == bet_id and c["operation"] == "pay-out"
                   and c["http_status"] == 200 for c in sc.calls), bet_id  # fmt: skip
        caused.add(("missing_payout", bet_id, None, cut[0]["user_id"],
                    sum(b["amount"] for b in cut).quantize(simulate.Q8)))  # fmt: skip
    return caused, changed


def test_a_ledger_export_missing_hours_is_a_ledger_gap(scenario, tmp_path):
    bookings = [b for b in scenario.bookings if b["created_at"].hour not in LEDGER_CUT]
    gaps = simulate.gap_hours(scenario, scenario.calls, bookings)
    assert sorted(h.hour for h in gaps) == list(LEDGER_CUT)
    assert {side for side, _, _ in gaps.values()} == {"ledger"}
    out = run_night(scenario, tmp_path, scenario.calls, bookings)
    caused, changed = caused_by_a_cut(scenario, bookings, gaps)
    assert caused
    assert_gaps_and_marks(scenario, out, gaps, caused, changed)
    gap = next(r for r in read_csv(out / "findings.csv") if r["check"] == "input_gap")
    assert re.search(r"the provider sent [0-9.]+ EUR, [0-9.]+ USD in those hours", gap["detail"])


def test_the_late_file_of_a_later_night_resolves_the_gap_and_its_findings(scenario, tmp_path):
    """Night one without the 03:00-06:00 file; the next night brings it late."""
    missing, calls = provider_left_out(scenario)
    store = tmp_path / "recon.duckdb"
    first = run_night(scenario, tmp_path / "n1", calls, scenario.bookings, "--db", store)
    rows = read_csv(first / "findings.csv")
    marked = {row["finding_id"]: key for key, row in zip(_keys(rows), rows, strict=True)
              if row["suspect_input_gap"] == "true"}  # fmt: skip
    late = tmp_path / "n2"
    late.mkdir()
    simulate.write_provider_jsonl(scenario, late / "calls-late.jsonl", calls=missing)
    simulate.write_ledger_csv(scenario, late / "ledger.csv", rows=[])
    next_day = scenario.window_to.date().isoformat()
    run_cli(["run", "--db", store, "--date", next_day, "--cutoff",
             iso(scenario.cutoff + timedelta(days=1)), "--grace", "1h", "--provider",
             late / "calls-late.jsonl", "--ledger", late / "ledger.csv",
             "--out", late / "out"], expect={0, 1})  # fmt: skip
    with duckdb.connect(str(store), read_only=True) as con:
        status = dict(con.execute("SELECT finding_id, status FROM finding_register").fetchall())
        gap = con.execute(
            "SELECT status FROM finding_register WHERE \"check\" = 'input_gap'"
        ).fetchall()
    assert gap == [("resolved",)]
    caused = {fid for fid, key in marked.items() if key not in scenario.expected_set()}
    assert caused and {status[fid] for fid in caused} == {"resolved"}
    injected = set(marked) - caused
    assert injected and {status[fid] for fid in injected} <= {"new", "persisting"}


@pytest.mark.parametrize("form", FORMS)
def test_a_normal_busy_day_has_no_input_gap_in_any_form(scenario, tmp_path, form):
    assert simulate.gap_hours(scenario, scenario.calls, scenario.bookings) == {}
    _, out = run_form(scenario, tmp_path, form)
    actual = finding_keys(out)
    assert actual == scenario.expected_set(), describe_difference(scenario.expected_set(), actual)
    assert {r["suspect_input_gap"] for r in read_csv(out / "findings.csv")} == {"false"}
    assert read_summary(out)["input_gaps"] == []


def test_every_injected_finding_has_the_time_the_spec_gives_it(scenario, tmp_path):
    out = run_night(scenario, tmp_path, scenario.calls, scenario.bookings)
    rows = read_csv(out / "findings.csv")
    got = {key: parse_time(row["occurred_at"]) for key, row in zip(_keys(rows), rows, strict=True)}
    expected = {f.key(): scenario.occurred_at(f) for f in scenario.expected}
    assert got == expected
