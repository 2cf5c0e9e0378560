"""Stage 4a, what a run lists: the night's findings kept as a DuckDB table
(``listed``, ``sql/outputs/listed.sql``), summarised in SQL, and read in batches
for the CSVs.

A night of millions of bets has hundreds of thousands of findings.  Held as
Python rows beside DuckDB's buffers they were the run's peak memory (2.0 GB at
5M bets, bench/RESULTS.md); here Python holds one batch of them at a time, and
the report's bounded listings (spec section 5).  ``report`` turns what this
module returns into the page; ``pipeline`` wires the two.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import duckdb

from reconcile import checks, load
from reconcile.report import (
    ACTIONS,
    LISTED_PER_CHECK,
    CheckSummary,
    InputGap,
    Listing,
    MoneyOwed,
    Owed,
)
from reconcile.resources import sql
from reconcile.text import money

BATCH = 10_000  # rows fetched from DuckDB at a time while writing a CSV

#: Spec section 8: a proposed ADJUSTMENT in the ledger's own columns.
REMEDIATION_COLUMNS = [*load.BOOKING_FIELDS, "finding_id", "check", "reason"]
PROVIDER_ACTION_COLUMNS = [
    "counterparty_id", "session_id", "bet_id", "action", "win_amount", "finding_id",
]  # fmt: skip
REJECT_COLUMNS = ["file", "line", "reason", "raw"]


def list_findings(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the run's findings, the window's and the late ones, in listing order."""
    con.execute(sql("outputs/listed"), [list(checks.SEVERITIES)])


def batches(con: duckdb.DuckDBPyConnection, query: str, params: list) -> Iterator[tuple]:
    """The rows of ``query``, fetched BATCH at a time.  Nothing else may run on
    ``con`` until the iterator is exhausted (DuckDB keeps one open result)."""
    result = con.execute(query, params)
    while batch := result.fetchmany(BATCH):
        yield from batch


def dicts(con: duckdb.DuckDBPyConnection, query: str, params: list) -> list[dict]:
    result = con.execute(query, params)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> object:
    return con.execute(query, params or []).fetchall()[0][0]


def fails(con: duckdb.DuckDBPyConnection, fail_on: str) -> bool:
    """A finding that counts (not a current acknowledgement) is at or above --fail-on."""
    return scalar(con, sql("outputs/failing"), [list(checks.SEVERITIES), fail_on])


def check_summaries(con: duckdb.DuckDBPyConnection, domain: str) -> list[CheckSummary]:
    """Every check of the domain, found or not, in severity order, with tonight's
    window's count and money at issue per currency."""
    counts: dict[str, int] = {}
    money_at_issue: dict[str, dict] = {}
    for check, currency, count, amount in con.execute(sql("outputs/check_money")).fetchall():
        counts[check] = counts.get(check, 0) + count
        money_at_issue.setdefault(check, {})[currency] = amount
    ordered = sorted(
        (c for c in checks.CHECKS.values() if c.domain == domain),
        key=lambda c: checks.severity_rank(c.severity),
    )
    return [
        CheckSummary(
            c.code,
            c.title,
            c.meaning,
            c.severity,
            counts.get(c.code, 0),
            money_at_issue.get(c.code, {}),
        )
        for c in ordered
    ]


def owed_summary(con: duckdb.DuckDBPyConnection) -> Owed:
    """Spec section 8's totals over the night's findings that are not acknowledged:
    per currency the credits and debits to book and what is owed to players with
    no booking to fix it, and counts by action."""
    owed = [MoneyOwed(*row) for row in con.execute(sql("outputs/owed_money")).fetchall()]
    actions = dict.fromkeys(ACTIONS, 0)
    actions |= dict(con.execute(sql("outputs/owed_actions")).fetchall())
    acknowledged, several = con.execute(sql("outputs/owed_counts")).fetchall()[0]
    return Owed(money=owed, actions=actions, acknowledged=acknowledged, several=several)


def gap_summary(con: duckdb.DuckDBPyConnection, hours: list[dict]) -> list[InputGap]:
    """The window's input gaps (spec section 9): each run of gap hours of one side
    that an ``input_gap`` finding starts, with the findings marked suspect because
    their time falls in it."""
    side_of = {h["hour"]: h["side"] for h in hours if h["side"]}
    starts = con.execute(
        """SELECT occurred_at FROM listed WHERE NOT late AND "check" = 'input_gap'
           ORDER BY position"""
    ).fetchall()
    gaps = []
    for (first_hour,) in starts:  # an input_gap's time is its first hour
        if first_hour not in side_of:
            continue
        end = first_hour
        while side_of.get(end) == side_of[first_hour]:
            end += timedelta(hours=1)
        suspect = scalar(con, sql("outputs/gap_suspects"), [first_hour, end])
        hours_long = (end - first_hour) // timedelta(hours=1)
        gaps.append(InputGap(side_of[first_hour], first_hour, hours_long, suspect))
    return gaps


def listings(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, Listing], Listing]:
    """What the report lists (spec section 5): the window's findings by their state
    in the register, and the late findings of earlier windows, each bounded to
    LISTED_PER_CHECK per check, the largest money at issue first."""
    counts: dict[tuple[bool, str], dict[str, int]] = {}
    for late, group, check, n in con.execute(sql("outputs/listing_counts")).fetchall():
        counts.setdefault((late, group), {})[check] = n
    rows: dict[tuple[bool, str], list[dict]] = {key: [] for key in counts}
    for row in dicts(con, sql("outputs/listing"), [LISTED_PER_CHECK]):
        rows[(row["late"], "" if row["late"] else row["status"])].append(row)
    by_status = {
        group: Listing(rows[(late, group)], counts[(late, group)])
        for late, group in counts
        if not late
    }
    late = Listing(rows.get((True, ""), []), counts.get((True, ""), {}))
    return by_status, late


def late_by_window(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The late findings of earlier windows (spec section 6) by their window."""
    return dict(con.execute(sql("outputs/late_by_window")).fetchall())


def finding_rows(con: duckdb.DuckDBPyConnection, columns: list[str]) -> Iterator[tuple]:
    """findings.csv: every finding the run lists, in listing order."""
    names = ", ".join(f'"{c}"' for c in columns)
    return batches(con, f"SELECT {names} FROM listed ORDER BY position", [])


def remediation_rows(con: duckdb.DuckDBPyConnection) -> Iterator[list]:
    """One proposed ADJUSTMENT per finding with a correction that is not
    acknowledged, in the ledger's columns; times, balances and the request id are
    left for whoever books it."""
    for (counterparty, session, user, currency, bet, correction, detail, finding_id,
         check) in batches(con, sql("outputs/remediation"), []):  # fmt: skip
        booking = dict.fromkeys(load.BOOKING_FIELDS)
        booking |= {"type": "ADJUSTMENT", "amount": correction, "counterparty_id": counterparty,
                    "session_id": session, "user_id": user, "currency": currency,
                    "bet_id": bet}  # fmt: skip
        verb = "credit the player" if correction > 0 else "debit the player"
        reason = f"{verb} {money(abs(correction))}: {detail}"
        yield [*booking.values(), finding_id, check, reason]


def provider_action_rows(con: duckdb.DuckDBPyConnection) -> Iterator[tuple]:
    """Per provider, the bets it must settle and the PayOuts it must re-send."""
    return batches(con, sql("outputs/provider_actions"), [])


def reject_count(con: duckdb.DuckDBPyConnection, run_id: int) -> int:
    return scalar(con, f"SELECT count(*) FROM ({sql('outputs/rejects')})", [run_id])


def reject_rows(con: duckdb.DuckDBPyConnection, run_id: int) -> Iterator[list]:
    """The rejected records of every file this run was given: file, line, reason
    and redacted raw text."""
    for path, line, reason, raw in batches(con, sql("outputs/rejects"), [run_id]):
        yield [path, line, load.redact(reason), raw]
