"""Stage 2, match and find: run the checks of spec section 4 over the loaded tables.

The matching and every check are SQL (``sql/scope.sql``, ``sql/checks/*.sql``);
this module binds the run's parameters into tables, runs the files, and owns the
catalogue of checks: their code, severity and plain-language title.

Conventions, where the spec leaves them open:

* ``amount`` is the money at issue and is never negative; the direction of a
  difference is in ``detail``.  A booking that breaks the balance chain on both
  sides (wrong ``balance_before`` and wrong arithmetic) is one finding whose
  amount is the sum of both differences.
* Severities, highest first: ``critical`` for money that left or entered a
  wallet wrongly (duplicates, payout and refund, orphan settlements, balance
  drift), ``high`` for the provider and the ledger disagreeing about money,
  ``medium`` for a booking nobody asked for, ``low`` for an open bet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import duckdb

from reconcile.load import insert_rows
from reconcile.resources import sql
from reconcile.window import Window

SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Check:
    code: str
    severity: str
    title: str
    meaning: str  # for the report's glossary: what happened, in a finance reader's words


CHECKS = {
    check.code: check
    for check in (
        Check("duplicate_payin", "critical", "Stake taken more than once",
              "The wallet was debited two or more times for one bet. The extra debits are owed "
              "back to the player."),
        Check("duplicate_payout", "critical", "Win paid more than once",
              "The wallet was credited the win two or more times. The extra credits are a loss."),
        Check("duplicate_refund", "critical", "Stake refunded more than once",
              "The stake was given back two or more times. The extra refunds are a loss."),
        Check("payout_and_refund", "critical", "Bet both paid out and refunded",
              "A settled bet was also refunded: the player kept the result and got the stake "
              "back."),
        Check("orphan_settlement", "critical", "Payout or refund with no stake booked",
              "Money was credited for a bet whose stake was never taken."),
        Check("balance_drift", "critical", "Wallet balance does not add up",
              "A ledger balance does not follow from the previous one and the amount booked, or "
              "the wallet's recorded balance differs from the ledger."),
        Check("missing_payout", "high", "Settlement sent but not booked",
              "The provider settled the bet but the ledger has no payout or refund: the player "
              "may be owed the win."),
        Check("missing_payin", "high", "Stake accepted but not booked",
              "The provider was told the stake was taken, but the ledger never debited it."),
        Check("amount_mismatch", "high", "Booked amount differs from the call",
              "The ledger booked a different amount from the one the provider sent (or a refund "
              "differs from the stake)."),
        Check("status_mismatch", "high", "Booked although the call failed",
              "The ledger booked money for a call the provider saw fail: the provider believes "
              "it did not happen."),
        Check("balance_mismatch", "high", "Reported balance differs from ledger",
              "The balance the aggregator answered the provider differs from the ledger's "
              "balance after that booking."),
        Check("unmatched_ledger", "medium", "Booking with no provider call",
              "A booking under the provider's name that no call in its log accounts for."),
        Check("open_bet", "low", "Bet still open",
              "A stake was taken and nothing has settled it yet (older than the grace period)."),
    )
}  # fmt: skip

#: Files in ``sql/checks``; ``duplicates`` raises all three duplicate_* checks.
CHECK_FILES = (
    "open_bet", "missing_payout", "missing_payin", "duplicates", "payout_and_refund",
    "orphan_settlement", "amount_mismatch", "status_mismatch", "unmatched_ledger",
    "balance_mismatch", "balance_drift",
)  # fmt: skip

FINDING_COLUMNS = """
    finding_id     VARCHAR NOT NULL,  -- stable: derived from the check and its key
    "check"        VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,
    bet_id         VARCHAR,
    transaction_id VARCHAR,
    user_id        VARCHAR,
    currency       VARCHAR,
    amount         DECIMAL(38, 8) NOT NULL,
    detail         VARCHAR NOT NULL,
    occurred_at    TIMESTAMPTZ,       -- when it happened, for people
    anchor_at      TIMESTAMPTZ        -- decides the window; NULL: every window
"""


def severity_rank(severity: str) -> int:
    """0 for the highest severity."""
    return SEVERITIES.index(severity)


def at_or_above(severity: str, threshold: str) -> bool:
    return severity_rank(severity) <= severity_rank(threshold)


def latest_time_seen(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The default cutoff: the latest call, booking or snapshot time in the inputs."""
    return con.execute(
        """SELECT max(t) FROM (
               SELECT max(event_time) AS t FROM calls
               UNION ALL SELECT max(created_at) FROM bookings
               UNION ALL SELECT max(as_of) FROM snapshots)"""
    ).fetchall()[0][0]


def provider_counterparties(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT counterparty_id FROM calls WHERE counterparty_id IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def bind_parameters(
    con: duckdb.DuckDBPyConnection, window: Window, tolerance: Decimal, counterparties: list[str]
) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE run_params (
               window_start TIMESTAMPTZ, window_end TIMESTAMPTZ, cutoff TIMESTAMPTZ,
               grace INTERVAL, tolerance DECIMAL(38, 8))"""
    )
    con.execute(
        "INSERT INTO run_params VALUES (?, ?, ?, ?, ?)",
        [window.start, window.end, window.cutoff, window.grace, tolerance],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE run_counterparties (counterparty_id VARCHAR)")
    insert_rows(con, "INSERT INTO run_counterparties VALUES (?)", [[c] for c in counterparties])


def find(
    con: duckdb.DuckDBPyConnection, window: Window, tolerance: Decimal, counterparties: list[str]
) -> None:
    """Fill ``all_findings`` (every bet up to the cutoff) and ``findings`` (the window's).

    ``window.cutoff`` must be set.
    """
    bind_parameters(con, window, tolerance, counterparties)
    con.execute("CREATE OR REPLACE TEMP TABLE check_severity (code VARCHAR, severity VARCHAR)")
    con.executemany(
        "INSERT INTO check_severity VALUES (?, ?)",
        [[c.code, c.severity] for c in CHECKS.values()],
    )
    con.execute(sql("scope"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE all_findings ({FINDING_COLUMNS})")
    for name in CHECK_FILES:
        con.execute(
            f"""INSERT INTO all_findings
                SELECT finding_id(r."check", r.bet_id, r.transaction_id, r.user_id, r.key_extra),
                       r."check", s.severity, r.bet_id, r.transaction_id,
                       r.user_id, r.currency, r.amount, r.detail, r.occurred_at, r.anchor_at
                FROM ({sql("checks/" + name)}) AS r
                JOIN check_severity s ON s.code = r."check" """
        )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE findings AS
           SELECT f.* FROM all_findings f CROSS JOIN run_params p
           WHERE f.anchor_at IS NULL
              OR ((p.window_start IS NULL OR f.anchor_at >= p.window_start)
                  AND (p.window_end IS NULL OR f.anchor_at < p.window_end))"""
    )


def totals_per_currency(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Stakes, wins and refunds booked for the provider in the window, per currency.

    By booking time (the finance view of a day), up to the cutoff.
    """
    rows = con.execute(sql("totals")).fetchall()
    names = ("currency", "bookings", "bets", "stakes", "wins", "refunds", "net")
    return [dict(zip(names, row, strict=True)) for row in rows]
