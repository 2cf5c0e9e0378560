"""Stage 3, the store: records, runs and findings kept across nights (spec section 6).

Every run works in a store.  Without ``--db`` it is an in-memory DuckDB that
lives for one run; with ``--db FILE`` it is that file, so that tonight's run
sees yesterday's records (a settlement of yesterday's bet is understood, the
balance chain continues) and yesterday's findings (they are marked resolved
when the data no longer shows them).

Guarantees of the file:

* A run commits twice (spec 6.1): its records once loaded, then its checks,
  findings and register at the very end.  A run that fails (an input error, a
  full disk, out of memory, a bug, Ctrl-C) leaves the file as it was before
  it: after the first commit it removes what it loaded.  A run killed after
  the first commit leaves its records, in files that no run has checked and
  a ``runs`` row without an exit status: no command takes that for a finished
  run, and the next run checks those files as tonight's.
* DuckDB allows one writing process per file; a second run against the same
  file fails at once with a message saying so (nothing is written).
* ``schema_info`` holds the schema version.  An older file is upgraded in place
  by the steps in ``MIGRATIONS``; a newer one, or a DuckDB file that is not a
  reconcile store, is refused.  A rename in the code is not a schema step: two
  columns keep their first names, ``runs.kind`` (a run's domain) and
  ``booking_matches.how`` (``matched_by``), so that stores written before the
  renames open as they are, read-only too; the SQL that reads them says so.
* A file already loaded (same kind and SHA-256) is not loaded again, and a
  record the store already holds is collapsed, so an overlapping export or a
  cron retry adds nothing.  Re-running a window replaces that window's findings
  (the earlier run is kept, marked superseded).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from reconcile.checks import Night
from reconcile.errors import InputError
from reconcile.load import KINDS
from reconcile.resources import sql
from reconcile.text import money
from reconcile.window import Window

SCHEMA_VERSION = 5

#: The tables of records whose ids a run gives out (sql/store_schema.sql).
RECORD_TABLES = ("calls", "bookings", "makes", "accepts", "booking_matches")


def _record_tables_without_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 1 -> 2: the record tables lose their PRIMARY KEY (store_schema.sql
    says why).  DuckDB cannot drop a key, so each is copied into its new form."""
    for table in RECORD_TABLES:
        con.execute(f"ALTER TABLE {table} RENAME TO {table}_schema_1")
    con.execute(sql("store_schema"))  # creates them anew
    for table in RECORD_TABLES:
        con.execute(f"INSERT INTO {table} SELECT * FROM {table}_schema_1")
        con.execute(f"DROP TABLE {table}_schema_1")


def _findings_owed(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 2 -> 3: findings carry who is owed, the correction and the action
    (spec section 8).  Findings kept before it have them empty."""
    for table in ("run_findings", "finding_register"):
        for column, kind in (("counterparty_id", "VARCHAR"), ("session_id", "VARCHAR"),
                             ("owed_to", "VARCHAR"), ("correction", "DECIMAL(38, 8)"),
                             ("action", "VARCHAR")):  # fmt: skip
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")


def _findings_window(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 3 -> 4: findings say whether an input gap may explain them (spec
    section 9), and a run's findings the window they belong to, since a run also
    reports the late findings of earlier windows (section 6).  Findings kept
    before it are their run's own window's."""
    for table in ("run_findings", "finding_register"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS suspect_input_gap BOOLEAN")
    con.execute("ALTER TABLE run_findings ADD COLUMN IF NOT EXISTS window_label VARCHAR")
    con.execute(
        """UPDATE run_findings SET window_label = r.window_label
           FROM runs r WHERE r.run_id = run_findings.run_id AND run_findings.window_label IS NULL"""
    )


def _night_scope(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 4 -> 5: a run keeps its tolerance and providers, the register each
    finding's time, and a file the run that checked it, which a night's scope
    needs (spec 6.1).  Runs kept before it have none of them, so the first night
    after the upgrade checks everything once."""
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS tolerance DECIMAL(38, 8)")
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS counterparties VARCHAR")
    con.execute("ALTER TABLE finding_register ADD COLUMN IF NOT EXISTS occurred_at TIMESTAMPTZ")
    con.execute("ALTER TABLE input_files ADD COLUMN IF NOT EXISTS checked_by INTEGER")
    con.execute("UPDATE input_files SET checked_by = run_id")


#: Steps that bring a store of version N to N + 1, in one transaction with the
#: update of schema_info.
MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    1: _record_tables_without_keys,
    2: _findings_owed,
    3: _findings_window,
    4: _night_scope,
}


class StoreError(InputError):
    """The store cannot be used (busy, newer, not a store); exit status 2."""


def machine_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not
    the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Engine:
    """DuckDB's resources: by default every core the process may use, and a
    memory limit well below the machine's, spilling to ``temp_dir`` beyond it,
    so that memory stays flat however large the night is."""

    threads: int = field(default_factory=machine_cores)
    memory_limit: str = "1GB"
    temp_dir: Path | None = None  # DuckDB's default: beside the store, or .tmp in memory mode


@dataclass(frozen=True)
class RunRecord:
    """A run's row in ``runs``: its id, and which reconciliation it is (its
    domain, kept in the store's ``kind`` column)."""

    run_id: int
    domain: str


def _connect(path: Path | None, read_only: bool) -> duckdb.DuckDBPyConnection:
    if path is None:
        return duckdb.connect(":memory:")
    if read_only and not path.exists():
        raise StoreError(f"--db: no such store {str(path)!r}")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise StoreError(
                f"--db {path}: in use by another reconcile run; try again when it has finished "
                f"({message.splitlines()[0]})"
            ) from None
        raise StoreError(f"--db {path}: cannot be opened ({message.splitlines()[0]})") from None
    except duckdb.Error as exc:
        raise StoreError(f"--db {path}: not a DuckDB file ({str(exc).splitlines()[0]})") from None


def _schema_version(con: duckdb.DuckDBPyConnection, path: Path | None) -> int | None:
    tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    if not tables:
        return None
    if "schema_info" not in tables:
        raise StoreError(
            f"--db {path}: not a reconcile store (it has tables {', '.join(sorted(tables)[:3])}"
            f"{', …' if len(tables) > 3 else ''} but no schema_info); give a new file or a store"
        )
    rows = con.execute("SELECT max(version) FROM schema_info").fetchall()
    return rows[0][0]


def _prepare_schema(con: duckdb.DuckDBPyConnection, path: Path | None, read_only: bool) -> None:
    version = _schema_version(con, path)
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"--db {path}: written by a newer reconcile (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade reconcile"
        )
    if read_only:
        if version is not None and version < SCHEMA_VERSION:
            raise StoreError(
                f"--db {path}: schema {version} is older than {SCHEMA_VERSION}; run "
                "'reconcile run' with it once to upgrade it"
            )
        return
    con.execute("BEGIN TRANSACTION")
    if version is None:
        con.execute(sql("store_schema"))
        con.execute("INSERT INTO schema_info VALUES (?)", [SCHEMA_VERSION])
    else:
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](con)
            con.execute("UPDATE schema_info SET version = ?", [step + 1])
    con.execute("COMMIT")


def _configure(con: duckdb.DuckDBPyConnection, engine: Engine) -> None:
    con.execute("SET TimeZone = 'UTC'")
    try:
        con.execute(f"SET threads = {int(engine.threads)}")
        con.execute("SET memory_limit = ?", [engine.memory_limit])
        if engine.temp_dir is not None:
            con.execute("SET temp_directory = ?", [str(engine.temp_dir)])
    except duckdb.Error as exc:
        raise StoreError(f"engine settings refused: {str(exc).splitlines()[0]}") from None
    con.execute("SET preserve_insertion_order = false")
    # A checkpoint's vacuum merges the last row groups of a table that a night
    # appended to, rewriting history to do it: at night 12 of 20k bets the load's
    # commit spent 1.2 s instead of 0.6 s of night 2 on it (0.16 s without).  So a
    # night's records stay row groups of their own; rows a failed run loaded and
    # removed stay as deletion marks, which scans skip.
    con.execute("SET max_vacuum_tasks = 0")


def open_store(
    path: Path | None, *, read_only: bool = False, engine: Engine | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection to the store, its schema present and current, in UTC."""
    con = _connect(path, read_only)
    _configure(con, engine or Engine())
    _prepare_schema(con, path, read_only)
    con.execute(sql("macros"))
    return con


@contextmanager
def session(
    path: Path | None, *, engine: Engine | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store for one run.  A store file that this run created is removed
    again when the run fails, so a failed first night leaves nothing behind."""
    created = path is not None and not path.exists()
    con = open_store(path, engine=engine)
    try:
        yield con
    except BaseException:
        con.close()
        if created:
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()


def begin_run(con: duckdb.DuckDBPyConnection, domain: str, window: Window) -> RunRecord:
    """Open the run's transaction and give it an id."""
    con.execute("BEGIN TRANSACTION")
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchall()[0][0]
    con.execute(
        "INSERT INTO runs (run_id, kind, window_start, window_end, window_label, started_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [run_id, domain, window.start, window.end, window.label, datetime.now(UTC)],
    )
    return RunRecord(run_id, domain)


def night_of(
    con: duckdb.DuckDBPyConnection,
    run: RunRecord,
    window: Window,
    tolerance: Decimal,
    counterparties: list[str],
) -> Night | None:
    """What tonight brings, when the store's last run checked everything before
    it with the same tolerance and providers (spec 6.1); ``None``: check all.

    The last run is the one with the latest cutoff: the register holds what it
    saw.  A run of an earlier cutoff than that (a re-run of an older night), a
    window of "all data", or a store without such a run checks everything.
    ``since`` is the earliest time tonight can change a finding at: the last
    cutoff less the last grace (a bet younger than the grace was not open yet),
    tonight's cutoff less tonight's grace, and the window's start (every finding
    of the window is listed).  The night's files are those no run has checked:
    tonight's, and those of a run that was killed after its load was committed.
    """
    if window.start is None:
        return None
    last = con.execute(
        """SELECT cutoff, grace_seconds, tolerance, counterparties FROM runs
           WHERE kind = ? AND run_id <> ? AND cutoff IS NOT NULL
           ORDER BY cutoff DESC, run_id DESC LIMIT 1""",
        [run.domain, run.run_id],
    ).fetchall()
    if not last:
        return None
    cutoff, grace_seconds, last_tolerance, last_parties = last[0]
    same = last_tolerance == tolerance and last_parties == _party_list(counterparties)
    if not same or cutoff > window.cutoff:
        return None
    since = min(cutoff - timedelta(seconds=grace_seconds), window.cutoff - window.grace,
                window.start)  # fmt: skip
    files = con.execute("SELECT file_id FROM input_files WHERE checked_by IS NULL")
    return Night(since, tuple(row[0] for row in files.fetchall()))


def _party_list(counterparties: list[str]) -> str:
    """How a run keeps its providers (runs.counterparties): comparable as text."""
    return json.dumps(sorted(counterparties))


def record_findings(
    con: duckdb.DuckDBPyConnection,
    run: RunRecord,
    window: Window,
    tolerance: Decimal,
    counterparties: list[str],
    kinds: list[str],
) -> None:
    """Keep the window's findings, supersede earlier runs of the same window,
    and bring the register of findings up to date (``sql/register.sql``); the
    files of the run's input ``kinds`` that no run had checked are now checked."""
    con.execute(
        "UPDATE input_files SET checked_by = ? WHERE checked_by IS NULL AND list_contains(?, kind)",
        [run.run_id, kinds],
    )
    con.execute(
        "UPDATE runs SET cutoff = ?, grace_seconds = ?, tolerance = ?, counterparties = ? "
        "WHERE run_id = ?",
        [window.cutoff, int(window.grace.total_seconds()), tolerance,
         _party_list(counterparties), run.run_id],
    )  # fmt: skip
    con.execute(
        """CREATE OR REPLACE TEMP TABLE current_run AS
           SELECT ?::INTEGER AS run_id, ?::VARCHAR AS kind, ?::TIMESTAMPTZ AS cutoff,
                  ?::VARCHAR AS window_label""",
        [run.run_id, run.domain, window.cutoff, window.label],
    )
    con.execute(sql("register"))


def record_statuses(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Keep each finding's reported state with the run: the register's, and for the
    few findings an acknowledgement touched, what the acknowledgement made of it
    (the run's ``listed`` table, ``outputs.list_findings``)."""
    con.execute(
        """UPDATE run_findings SET status = r.status
           FROM finding_register r
           WHERE r.finding_id = run_findings.finding_id AND run_findings.run_id = ?""",
        [run.run_id],
    )
    con.execute(
        """UPDATE run_findings SET status = l.status, status_note = l.status_note
           FROM listed l
           WHERE l.finding_id = run_findings.finding_id AND run_findings.run_id = ?
             AND l.status_note <> ''""",
        [run.run_id],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run: RunRecord,
    *,
    exit_status: int,
    findings: int,
    rejects: int,
    summary: str,
) -> None:
    con.execute(
        "UPDATE runs SET exit_status = ?, findings = ?, rejects = ?, summary = ? WHERE run_id = ?",
        [exit_status, findings, rejects, summary, run.run_id],
    )


HISTORY_COLUMNS = (
    "run_id", "kind", "window", "cutoff", "started_at", "findings", "critical", "high",
    "medium", "low", "rejects", "exit_status", "superseded_by",
)  # fmt: skip


def run_history(con: duckdb.DuckDBPyConnection, last: int) -> list[dict]:
    """The latest runs, newest first, with their own window's findings per severity
    (the late findings of earlier windows a run also listed count for those)."""
    rows = con.execute(
        """SELECT r.run_id, r.kind, r.window_label, r.cutoff, r.started_at, r.findings,
                  count(f.finding_id) FILTER (WHERE f.severity = 'critical'),
                  count(f.finding_id) FILTER (WHERE f.severity = 'high'),
                  count(f.finding_id) FILTER (WHERE f.severity = 'medium'),
                  count(f.finding_id) FILTER (WHERE f.severity = 'low'),
                  r.rejects, r.exit_status, r.superseded_by
           FROM runs r
           LEFT JOIN run_findings f ON f.run_id = r.run_id AND f.window_label = r.window_label
           WHERE r.exit_status IS NOT NULL
           GROUP BY ALL
           ORDER BY r.run_id DESC
           LIMIT ?""",
        [last],
    ).fetchall()
    return [dict(zip(HISTORY_COLUMNS, row, strict=True)) for row in rows]


def describe_finding(path: Path, finding_id: str) -> dict:
    """What an acknowledgement records of a finding the store knows; {} if unknown."""
    con = open_store(path, read_only=True)
    try:
        rows = con.execute(
            """SELECT "check", bet_id, transaction_id, cashback_id, transaction_type, user_id,
                      amount
               FROM finding_register WHERE finding_id = ?""",
            [finding_id],
        ).fetchall()
        if not rows:
            return {}
        check, bet, tx, cashback, ttype, user, amount = rows[0]
        con.execute(sql("evidence"))
        records = con.execute(
            "SELECT evidence_records(?, ?, ?, 'infinity'::TIMESTAMPTZ)", [bet, tx, cashback]
        ).fetchall()[0][0]
    finally:
        con.close()
    key = (f"bet {bet}" if bet else f"transaction {tx}" if tx
           else f"cashback {cashback} type {ttype}" if cashback else f"user {user}")  # fmt: skip
    return {"check": check, "key": key, "amount": money(amount), "records": records}


def commit_load(con: duckdb.DuckDBPyConnection) -> None:
    """Commit the night's records apart from its checks (spec 6.1).

    DuckDB keeps the rows a transaction adds in memory it cannot spill, so a
    night loaded and checked in one transaction needed more than the memory
    limit at 5M bets.  Committed, the records are read from the store like any
    other.  Until the run finishes, its ``runs`` row has no exit status and its
    files no ``checked_by``: no command takes it for a finished run (history,
    trends and the notebook read finished runs, the register and the night's
    scope the runs with a cutoff), and the next run checks those files as its own.
    """
    con.execute("COMMIT")
    con.execute("BEGIN TRANSACTION")


def forget_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """After a run failed past :func:`commit_load`: remove what it loaded, so that
    the store is as it was before the run.  When that fails too (a full disk),
    the records stay in files no run has checked, which the next run checks."""
    files = "SELECT file_id FROM input_files WHERE run_id = $run"
    with contextlib.suppress(duckdb.Error):  # the failure may have ended the transaction
        con.execute("ROLLBACK")
    record_tables = [kind.stored_in[0] for kind in KINDS.values()]
    with contextlib.suppress(duckdb.Error):
        con.execute("BEGIN TRANSACTION")
        for table in (*record_tables, "rejects"):
            con.execute(f"DELETE FROM {table} WHERE file_id IN ({files})", {"run": run.run_id})
        for table in ("run_inputs", "input_files", "runs"):
            con.execute(f"DELETE FROM {table} WHERE run_id = $run", {"run": run.run_id})
        con.execute("COMMIT")


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CHECKPOINT")


def commit(con: duckdb.DuckDBPyConnection) -> str | None:
    """Commit the run, then fold the write-ahead log into the file.

    The COMMIT is the run's point of no return: when it fails (a full disk while
    writing the log) nothing of the run is kept, and the caller exits 3 with the
    store as it was.  Once it has succeeded the run is durable in the ``.wal``
    file beside the store, so a CHECKPOINT that fails afterwards loses nothing:
    DuckDB replays the log when the store is next opened.  That failure is
    returned as a warning for the caller to print, never raised: raising would
    report a failed run that the store in fact holds.
    """
    con.execute("COMMIT")
    try:
        checkpoint(con)
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"the run is committed, but folding its log into the store failed ({reason}); "
            "the .wal file beside the store holds it until the store is next opened: "
            "keep it, and free disk space"
        )
    return None


def nightly_trend(
    con: duckdb.DuckDBPyConnection, domain: str, run_id: int, last: int
) -> list[dict]:
    """The latest finished run of each of the last windows, and this run (not
    finished until its outputs are written), oldest first: findings per severity
    and check, and money at issue per currency."""
    rows = con.execute(
        """WITH latest AS (
               SELECT run_id, window_label, window_start
               FROM runs
               WHERE kind = ? AND superseded_by IS NULL
                 AND (exit_status IS NOT NULL OR run_id = ?)
               ORDER BY window_start DESC NULLS LAST, run_id DESC
               LIMIT ?)
           SELECT l.run_id, l.window_label, f.severity, f."check", coalesce(f.currency, ''),
                  count(f.finding_id), coalesce(sum(f.amount), 0)
           FROM latest l
           LEFT JOIN run_findings f ON f.run_id = l.run_id AND f.window_label = l.window_label
           GROUP BY ALL
           ORDER BY min(l.window_start), l.run_id""",
        [domain, run_id, last],
    ).fetchall()
    nights: dict[int, dict] = {}
    for run_id, label, severity, check, currency, count, amount in rows:
        night = nights.setdefault(
            run_id, {"run_id": run_id, "label": label, "severity": {}, "check": {}, "money": {}}
        )
        if severity is None:
            continue
        night["severity"][severity] = night["severity"].get(severity, 0) + count
        night["check"][check] = night["check"].get(check, 0) + count
        night["money"][currency] = night["money"].get(currency, 0) + amount
    return list(nights.values())


#: Spec section 5: the backlog's age buckets, in nights since it was first seen.
AGE_BUCKETS = (("0-1", 0, 1), ("2-7", 2, 7), ("8-30", 8, 30), ("more than 30", 31, None))
BACKLOG_ITEMS = 10  # the oldest and the largest items listed by name

#: The backlog: breaks of earlier windows that this run's data still shows and
#: that it does not list itself (neither tonight's nor late findings).
_BACKLOG = """
    FROM finding_register
    WHERE kind = $domain AND status <> 'resolved' AND last_seen_run = $run_id
      AND finding_id NOT IN (SELECT finding_id FROM window_findings)
      AND finding_id NOT IN (SELECT finding_id FROM late_findings)"""


def backlog_by_age(con: duckdb.DuckDBPyConnection, domain: str, run_id: int) -> list[dict]:
    """Breaks from earlier windows that the data still shows, per check and age
    bucket (nights from the cutoff that first saw it to this run's): how many,
    and the money at issue per currency."""
    rows = con.execute(
        f"""WITH open AS (
                SELECT "check", severity, coalesce(currency, '') AS currency, abs(amount) AS money,
                       datediff('day', first_seen_at,
                                (SELECT cutoff FROM runs WHERE run_id = $run_id)) AS age
                {_BACKLOG})
            SELECT "check", severity, age, currency, count(*), sum(money)
            FROM open GROUP BY ALL""",
        {"domain": domain, "run_id": run_id},
    ).fetchall()
    table: dict[str, dict] = {}
    for check, severity, age, currency, count, money_at_issue in rows:
        entry = table.setdefault(check, {"check": check, "severity": severity, "count": 0,
                                         "buckets": {b: 0 for b, _, _ in AGE_BUCKETS},
                                         "money": {}})  # fmt: skip
        entry["count"] += count
        entry["buckets"][age_bucket(age)] += count
        entry["money"][currency] = entry["money"].get(currency, 0) + money_at_issue
    return list(table.values())


def age_bucket(nights: int) -> str:
    return next(label for label, low, high in AGE_BUCKETS
                if nights >= low and (high is None or nights <= high))  # fmt: skip


def backlog_items(con: duckdb.DuckDBPyConnection, domain: str, run_id: int) -> list[dict]:
    """The backlog's oldest and largest items (BACKLOG_ITEMS of each), oldest first."""
    names = ("finding_id", "check", "severity", "bet_id", "transaction_id", "cashback_id",
             "transaction_type", "user_id", "currency", "amount", "status", "first_seen_at",
             "nights_seen", "detail", "owed_to", "correction", "action")  # fmt: skip
    columns = ", ".join(f'"{n}"' for n in names)
    rows = con.execute(
        f"""(SELECT {columns} {_BACKLOG} ORDER BY first_seen_at, "check", finding_id
             LIMIT $items)
            UNION
            (SELECT {columns} {_BACKLOG} ORDER BY abs(amount) DESC, finding_id LIMIT $items)
            ORDER BY first_seen_at, abs(amount) DESC, "check", finding_id""",
        {"domain": domain, "run_id": run_id, "items": BACKLOG_ITEMS},
    ).fetchall()
    return [dict(zip(names, row, strict=True)) for row in rows]


def resolved_by(
    con: duckdb.DuckDBPyConnection, domain: str, run_id: int, limit: int
) -> tuple[list[dict], dict[str, int]]:
    """Breaks that this run found resolved: at most ``limit`` of each check, the
    largest money at issue first (spec section 5: a page at any size), and how
    many each check has in all."""
    counts = dict(
        con.execute(
            """SELECT "check", count(*) FROM finding_register
               WHERE kind = ? AND resolved_run = ? GROUP BY ALL""",
            [domain, run_id],
        ).fetchall()
    )
    names = ("finding_id", "check", "severity", "bet_id", "transaction_id", "cashback_id",
             "transaction_type", "user_id", "currency", "amount", "first_seen_at",
             "nights_seen", "resolved_at")  # fmt: skip
    rows = con.execute(
        """SELECT finding_id, "check", severity, bet_id, transaction_id, cashback_id,
                  transaction_type, user_id, currency, amount, first_seen_at, nights_seen,
                  resolved_at
           FROM finding_register
           WHERE kind = ? AND resolved_run = ?
           QUALIFY row_number() OVER (
             PARTITION BY "check" ORDER BY abs(amount) DESC, finding_id) <= ?
           ORDER BY first_seen_at, "check", finding_id""",
        [domain, run_id, limit],
    ).fetchall()
    return [dict(zip(names, row, strict=True)) for row in rows], counts
