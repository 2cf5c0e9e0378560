"""Stage 2, the checks: match calls to bookings and run the checks of spec section 4
over the loaded tables.

The matching and every check are SQL (``sql/scope.sql``, ``sql/checks/*.sql``);
this module binds the run's parameters into tables, runs the files, and reads the
catalogue of checks from them: each file's header says its code, severity,
plain-language title and meaning, and the spec row it implements (the folder says
its domain), so that adding a check is one SQL file (and its case table,
``tests/cases/<check>.yml``).

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

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import duckdb

from reconcile.load import insert_rows
from reconcile.resources import sql, sql_dir
from reconcile.window import Window, iso

SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Check:
    """One check, read from the header of its SQL file (see :func:`read_check`)."""

    code: str
    severity: str
    title: str
    meaning: str  # for the report's glossary: what happened, in a finance reader's words
    domain: str = "provider"  # provider | cashback: the folder its file is in
    spec: str = ""  # the spec row it implements, e.g. "section 4, row 1"
    file: str = ""  # its sql file, without .sql, relative to sql/

    @property
    def spec_order(self) -> tuple[tuple[int, ...], int]:
        """Where its row is in the spec: the registry lists checks in this order."""
        match = re.fullmatch(r"section ([\d.]+), (?:row|item) (\d+)", self.spec)
        if match is None:
            raise ValueError(f"sql/{self.file}.sql: spec {self.spec!r} is not 'section N, row M'")
        return tuple(int(n) for n in match[1].split(".")), int(match[2])


#: Where each domain's checks are: every ``*.sql`` file of the folder is one check.
CHECK_FOLDERS = {"provider": "checks", "cashback": "cashback/checks"}
HEADER_FIELDS = ("check", "severity", "title", "meaning", "spec")


def read_header(text: str) -> dict[str, str]:
    """The ``-- name: value`` lines at the top of a check's SQL file; a line
    ``--   more`` (indented) continues the value above; the header ends at the
    first other line."""
    fields: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        match = re.fullmatch(r"-- (\w+): (.+)", line)
        if match and match[1] in HEADER_FIELDS:
            name = match[1]
            fields[name] = match[2].strip()
        elif name and line.startswith("--   "):
            fields[name] += " " + line.removeprefix("--").strip()
        else:
            break
    return fields


def read_check(domain: str, path: Path) -> Check:
    """A check from its SQL file: its header holds everything but the domain
    (the folder) and the file name, which must be its code."""
    fields = read_header(path.read_text(encoding="utf-8"))
    missing = [name for name in HEADER_FIELDS if name not in fields]
    if missing or fields["check"] != path.stem or fields["severity"] not in SEVERITIES:
        raise ValueError(
            f"{path}: the header needs {', '.join(HEADER_FIELDS)} (check = the file's "
            f"name, severity one of {', '.join(SEVERITIES)})"
        )
    return Check(
        code=fields["check"], severity=fields["severity"], title=fields["title"],
        meaning=fields["meaning"], domain=domain, spec=fields["spec"],
        file=f"{CHECK_FOLDERS[domain]}/{path.stem}",
    )  # fmt: skip


def read_checks() -> dict[str, Check]:
    """Every check of every domain, by code, each domain's in the spec's order."""
    found = []
    for domain, folder in CHECK_FOLDERS.items():
        checks = [read_check(domain, path) for path in (sql_dir() / folder).glob("*.sql")]
        found += sorted(checks, key=lambda check: check.spec_order)
    return {check.code: check for check in found}


CHECKS = read_checks()

FINDING_COLUMNS = """
    finding_id       VARCHAR,           -- stable: derived from the check and its key
    "check"          VARCHAR NOT NULL,
    severity         VARCHAR NOT NULL,
    bet_id           VARCHAR,
    transaction_id   VARCHAR,
    cashback_id      VARCHAR,
    transaction_type INTEGER,
    user_id          VARCHAR,
    currency         VARCHAR,
    amount           DECIMAL(38, 8) NOT NULL,
    detail           VARCHAR NOT NULL,
    occurred_at      TIMESTAMPTZ,       -- when it happened, for people
    anchor_at        TIMESTAMPTZ,       -- decides the window; NULL: every window
    key_extra        VARCHAR,           -- part of the key when the columns above are not enough
    counterparty_id  VARCHAR,           -- where a remedy is booked or asked for (spec 8)
    session_id       VARCHAR,
    owed_to          VARCHAR NOT NULL,  -- player | house | none | unknown
    correction       DECIMAL(38, 8),    -- signed ADJUSTMENT on the player's wallet; NULL: none
    action           VARCHAR NOT NULL,  -- provider_settle | provider_resend_payout |
                                        -- book_adjustment | investigate | none
    suspect_input_gap BOOLEAN NOT NULL DEFAULT false  -- in an hour of an input_gap (spec 9)
"""


@dataclass(frozen=True)
class Night:
    """What a night brings to a store whose last run checked everything before
    it (spec 6.1, ``store.night_of``): records from ``since`` on, and the files
    no run has checked yet (tonight's, and those of a run killed after its load)."""

    since: datetime
    files: tuple[int, ...]


@dataclass(frozen=True)
class Checked:
    """How much a run checked: ``since`` is None when it checked every record."""

    since: datetime | None
    bets: int | None
    chains: int | None  # users whose balance chain was checked

    def describe(self) -> str:
        if self.bets is None:
            return "checked every record"
        what = f"{self.bets} bet(s) and {self.chains} balance chain(s)"
        if self.since is None:
            return f"checked all {what} the store holds"
        return (f"checked the {what} that tonight's data can change (records from "
                f"{iso(self.since)} on, and the files loaded tonight)")  # fmt: skip


@dataclass(frozen=True)
class Presentation:
    """How one domain's findings are written: the title, the identifying columns,
    and the words the report uses for it."""

    title: str
    key_columns: tuple[str, ...]
    command: str  # the reconcile command that runs it
    unit: str  # what a window holds: "Bets" whose first event is in it
    totals_heading: str
    totals_note: str

    @property
    def finding_columns(self) -> list[str]:
        return ["finding_id", "window", "status", "check", "severity", *self.key_columns,
                "currency", "amount", "owed_to", "correction", "action", "detail",
                "occurred_at", "suspect_input_gap", "status_note"]  # fmt: skip


@dataclass(frozen=True)
class Domain:
    """One reconciliation: the provider's bets, or the casino's cashback."""

    name: str
    inputs: tuple[str, ...]  # its input kinds (load.KINDS), the required ones first
    required_inputs: tuple[str, ...]
    scope: str  # sql file preparing what the checks see
    latest_time: str  # SQL: the default cutoff, the latest time in its data
    totals: str  # sql file: money per currency for the report
    totals_columns: tuple[tuple[str, str, str], ...]  # (name, label, count|money|text)
    presentation: Presentation
    #: sql files run after the checks, on all their findings: who is owed (spec 8),
    #: the marks of an input gap (spec 9)
    after_checks: tuple[str, ...] = ("owed",)
    remember: str | None = None  # sql file keeping what the trace needs, after the checks
    hourly: str | None = None  # sql file: the window's volume per hour (spec 9), if compared
    #: sql file: both sides' volume per hour (spec 9), before the scope; a domain
    #: that has it also has a night's scope (sql/focus/, spec 6.1)
    volume: str | None = None
    #: whether a run is of some counterparties (the providers in the call log)
    has_counterparties: bool = False

    @property
    def checks(self) -> tuple[Check, ...]:
        """Its checks, in the spec's order (read from ``sql/<folder>/*.sql``)."""
        return tuple(check for check in CHECKS.values() if check.domain == self.name)

    @property
    def check_files(self) -> tuple[str, ...]:
        """Its checks' sql files, each a SELECT of findings."""
        return tuple(check.file for check in self.checks)

    @property
    def has_night_scope(self) -> bool:
        """Whether a night checks only what its data can change (spec 6.1)."""
        return self.volume is not None


DOMAINS = {
    "provider": Domain(
        "provider",
        ("provider", "ledger", "balances"),
        ("provider", "ledger"),
        "scope",
        """SELECT max(t) FROM (SELECT max(event_time) AS t FROM calls
                                UNION ALL SELECT max(created_at) FROM bookings
                                UNION ALL SELECT max(as_of) FROM snapshots)""",
        "totals",
        (("currency", "Currency", "text"), ("bets", "Bets", "count"),
         ("bookings", "Bookings", "count"), ("stakes", "Stakes", "money"),
         ("wins", "Wins", "money"), ("refunds", "Refunds", "money"),
         ("net", "Net (stakes - wins - refunds)", "money")),
        Presentation(
            "Wallet reconciliation", ("bet_id", "transaction_id", "user_id"), "run", "Bets",
            "Money booked in the window",
            "The provider's own ledger bookings created in the window, by booking time, up "
            "to the cutoff.",
        ),
        after_checks=("owed", "suspect_input_gap"),
        remember="remember_matches",
        hourly="hourly_in_window",
        volume="hourly_volume",
        has_counterparties=True,
    ),
    "cashback": Domain(
        "cashback",
        ("make", "accept"),
        ("make", "accept"),
        "cashback/scope",
        """SELECT max(t) FROM (SELECT max(sent_at) AS t FROM makes
                                UNION ALL SELECT max(logged_at) FROM accepts)""",
        "cashback/totals",
        (("currency", "Currency", "text"), ("cashbacks", "Cashbacks", "count"),
         ("payments", "Payments sent", "money"), ("cancellations", "Cancellations sent", "money"),
         ("accepted", "Payments accepted", "money"), ("refused", "Payments refused", "money"),
         ("unanswered", "Payments not answered", "money")),
        Presentation(
            "Cashback reconciliation", ("cashback_id", "transaction_type", "user_id"),
            "cashback", "Cashbacks", "Cashback sent in the window",
            "Make requests of the cashbacks that belong to the window (by their first make), "
            "up to the cutoff. A payment counts as accepted when the casino answered 200, or "
            "103804 (it already had it).",
        ),
    ),
}  # fmt: skip


def severity_rank(severity: str) -> int:
    """0 for the highest severity."""
    return SEVERITIES.index(severity)


def at_or_above(severity: str, threshold: str) -> bool:
    return severity_rank(severity) <= severity_rank(threshold)


def latest_time_seen(con: duckdb.DuckDBPyConnection, domain: str = "provider") -> datetime | None:
    """The default cutoff: the latest time in the domain's data (the store's, with --db)."""
    return con.execute(DOMAINS[domain].latest_time).fetchall()[0][0]


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
    con.execute(sql("run_macros"))


def focus(runner: SqlRunner, night: Night | None) -> None:
    """What the checks read (``sql/focus/``): every record up to the cutoff, or
    with a ``night``, only the bets, chains and hours tonight's data can change.
    The same SQL on either engine (``runner``); the loops are here: the bets tied
    to tonight's are taken in until no more are added, and the first hour
    compared moves back over a run of gap hours just before it."""
    if night is None:
        runner.run_file("focus/whole")
        return
    runner.bind_night(night)
    runner.run_file("focus/night")
    while runner.rows("SELECT count(*) FROM expanding")[0][0]:
        runner.run_file("focus/tied_bets")
    runner.run_file("focus/hours_from")
    while runner.rows(sql("focus/gap_before")) == [(True,)]:
        runner.run("SET VARIABLE hours_from = getvariable('hours_from') - INTERVAL 1 HOUR")


class SqlRunner(Protocol):
    """What :func:`focus` needs of an engine: :class:`DuckDBRunner` here, or
    ``reconcile.spark.Runner``."""

    def run_file(self, name: str) -> None: ...  # the statements of sql/<name>.sql
    def run(self, text: str) -> None: ...  # one statement
    def rows(self, text: str) -> list[tuple]: ...  # a query's rows
    def bind_night(self, night: Night) -> None: ...  # variable `since`, table tonight_files


@dataclass
class DuckDBRunner:
    """The DuckDB engine's :class:`SqlRunner`: the store's connection."""

    con: duckdb.DuckDBPyConnection

    def run_file(self, name: str) -> None:
        run_sql(self.con, sql(name))

    def run(self, text: str) -> None:
        self.con.execute(text)

    def rows(self, text: str) -> list[tuple]:
        return self.con.execute(text).fetchall()

    def bind_night(self, night: Night) -> None:
        self.con.execute("SET VARIABLE since = ?::TIMESTAMPTZ", [night.since])
        self.con.execute("CREATE OR REPLACE TEMP TABLE tonight_files (file_id INTEGER)")
        insert_rows(self.con, "INSERT INTO tonight_files VALUES (?)", [[f] for f in night.files])


#: A statement that the DuckDB engine runs in parts, a memory tactic: DuckDB holds
#: the hash tables of a statement's joins at once, and a join of two wide tables
#: of every bet may not fit ``--memory-limit``.  The note, on the line just before
#: a ``CREATE OR REPLACE TEMP TABLE name AS`` statement, names how many parts,
#: the tables to cut and the column to cut them by::
#:
#:     -- duckdb: in 4 parts of bet_sides, bet_sent by bet_id
#:
#: Each part reads, wherever the statement reads one of those tables, only its
#: rows with ``hash(column) % N`` equal to the part; the parts' rows are added
#: to one table.  Another engine (Spark) runs the statement as it is written.
IN_PARTS = re.compile(r"^-- duckdb: in (\d+) parts of (\w+(?:, \w+)*) by (\w+)\n", re.MULTILINE)
STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)|\Z")  # or the text's end
CREATE_TABLE = re.compile(r"CREATE OR REPLACE TEMP TABLE (\w+) AS\s")


def run_sql(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """A SQL file's statements on DuckDB, those noted ``-- duckdb: in N parts``
    (:data:`IN_PARTS`) in parts."""
    while note := IN_PARTS.search(text):
        if text[: note.start()].strip():
            con.execute(text[: note.start()])
        end = STATEMENT_END.search(text, note.end())
        run_in_parts(con, text[note.end() : end.start()], int(note[1]), note[2].split(", "),
                     note[3])  # fmt: skip
        text = text[end.end() :]
    if text.strip():
        con.execute(text)


def run_in_parts(con: duckdb.DuckDBPyConnection, statement: str, parts: int,
                 tables: list[str], column: str) -> None:  # fmt: skip
    """``CREATE OR REPLACE TEMP TABLE name AS query`` as ``parts`` statements, each
    reading a part of ``tables`` (names and numbers of our own SQL files)."""
    head = CREATE_TABLE.match(statement)
    if head is None:
        raise ValueError(f"only a CREATE OR REPLACE TEMP TABLE ... AS runs in parts: {statement}")
    query = statement[head.end() :]
    for part in range(parts):
        cut = query
        for table in tables:
            cut, found = re.subn(
                rf"\b(FROM|JOIN)\s+{table}\b",
                rf"\1 (SELECT * FROM {table} WHERE hash({column}) % {parts} = {part})",
                cut,
            )
            if not found:
                raise ValueError(f"the statement in parts does not read {table}: {statement}")
        into = (
            f"CREATE OR REPLACE TEMP TABLE {head[1]} AS" if part == 0 else f"INSERT INTO {head[1]}"
        )
        con.execute(f"{into} {cut}")


#: How each check's findings are added to ``all_findings``, with its severity
#: (the Spark engine selects the same text and adds the rows by name).
CHECK_QUERY = """SELECT s.severity, r.*
                FROM ({}) AS r JOIN check_severity s ON s.code = r."check" """


@dataclass(frozen=True)
class CheckEngine:
    """Which engine runs the scope and the checks (``--engine``): ``duckdb`` (the
    store's own connection) or ``spark`` (``reconcile/spark.py``, on ``spark_master``)."""

    engine: str = "duckdb"
    spark_master: str = "local[2]"
    spark_records: Path | None = None  # where the Parquet records go (a shared folder)


#: Written in every --spark-records folder: the sign that a run may replace its
#: table folders (``calls/``, ``bookings/``, ...), which every run rewrites.
RECORDS_MARKER = ".reconcile-records"


def engine_problem(engine: CheckEngine) -> str | None:
    """Why the chosen engine cannot run on this machine (one line), or None."""
    if engine.engine != "spark":
        return None
    folder = engine.spark_records
    theirs = folder is not None and folder.is_dir() and any(folder.iterdir())
    if theirs and not (folder / RECORDS_MARKER).exists():
        return (f"--spark-records {folder} is a folder that reconcile did not write "
                f"(no {RECORDS_MARKER} in it); give a new or empty folder")  # fmt: skip
    try:
        from reconcile import spark
    except ImportError:
        return "--engine spark needs pyspark and sqlglot: pip install 'reconcile[spark]'"
    return spark.unavailable()


def find(
    con: duckdb.DuckDBPyConnection,
    window: Window,
    tolerance: Decimal = Decimal(0),
    counterparties: list[str] | None = None,
    domain: str = "provider",
    night: Night | None = None,
    engine: CheckEngine = CheckEngine(),
) -> Checked:
    """Fill ``all_findings`` (everything up to the cutoff, or with a ``night``,
    what tonight's data can change) and ``window_findings`` (the window's).

    ``window.cutoff`` must be set.  Returns how much was checked.
    """
    reconciliation = DOMAINS[domain]
    bind_parameters(con, window, tolerance, counterparties or [])
    night = night if reconciliation.has_night_scope else None
    con.execute(f"CREATE OR REPLACE TEMP TABLE all_findings ({FINDING_COLUMNS})")
    severities = [(c.code, c.severity) for c in CHECKS.values()]
    if engine.engine == "spark":
        from reconcile import spark

        focus(DuckDBRunner(con), None)  # the night tables the store reads: Spark's replace them
        ran = spark.find(con, reconciliation, CHECK_QUERY, window, tolerance, counterparties or [],
                         severities, engine.spark_master, engine.spark_records,
                         night)  # fmt: skip
        since = night.since if night else None
        counted = Checked(since, ran.bets, ran.chains) if reconciliation.has_night_scope else None
    else:
        run_checks(con, reconciliation, night, severities)
        counted = None
    for name in reconciliation.after_checks:
        con.execute(sql(name))
    if reconciliation.remember:
        con.execute("SET VARIABLE domain = ?", [reconciliation.name])
        con.execute(sql(reconciliation.remember))
    con.execute(
        """UPDATE all_findings SET finding_id = finding_id("check", bet_id, transaction_id,
               cashback_id, transaction_type, user_id, key_extra)"""
    )
    con.execute(sql("distinct_finding_ids"))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE window_findings AS
           SELECT f.* EXCLUDE (key_extra) FROM all_findings f CROSS JOIN run_params p
           WHERE f.anchor_at IS NULL
              OR ((p.window_start IS NULL OR f.anchor_at >= p.window_start)
                  AND (p.window_end IS NULL OR f.anchor_at < p.window_end))"""
    )
    return counted or checked(con, reconciliation, night)


def run_checks(
    con: duckdb.DuckDBPyConnection, domain: Domain, night: Night | None,
    severities: list[tuple[str, str]],
) -> None:  # fmt: skip
    """The DuckDB engine: the focus, the volume, the scope and every check, in
    the store's connection; the report's totals as ``run_totals``."""
    focus(DuckDBRunner(con), night)
    if domain.volume:
        con.execute(sql(domain.volume))
    con.execute("CREATE OR REPLACE TEMP TABLE check_severity (code VARCHAR, severity VARCHAR)")
    con.executemany("INSERT INTO check_severity VALUES (?, ?)", [list(s) for s in severities])
    run_sql(con, sql(domain.scope))
    for name in domain.check_files:
        con.execute(f"INSERT INTO all_findings BY NAME {CHECK_QUERY.format(sql(name))}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE run_totals AS {sql(domain.totals)}")


def checked(con: duckdb.DuckDBPyConnection, domain: Domain, night: Night | None) -> Checked:
    if not domain.has_night_scope:
        return Checked(None, None, None)
    bets, chains = con.execute(sql("checked")).fetchall()[0]
    return Checked(night.since if night else None, bets, chains)


def hourly_volume(con: duckdb.DuckDBPyConnection, window: Window, domain: str) -> list[dict]:
    """Every hour of the window (up to the cutoff) with both sides' records and the
    short side of an input gap (spec section 9); [] for a domain that has none."""
    query = DOMAINS[domain].hourly
    if query is None:
        return []
    found = {hour: (calls, bookings, side)
             for hour, calls, bookings, side in con.execute(sql(query)).fetchall()}  # fmt: skip
    if not found:
        return []
    first = window.start or min(found)
    end = min(window.end, window.cutoff) if window.end else max(found) + timedelta(hours=1)
    if end - first > timedelta(days=62):  # a window of months: the hours that hold records
        return [{"hour": h, "calls": c, "bookings": b, "side": side}
                for h, (c, b, side) in sorted(found.items())]  # fmt: skip
    hours, hour = [], first.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        calls, bookings, side = found.get(hour, (0, 0, None))
        hours.append({"hour": hour, "calls": calls, "bookings": bookings, "side": side})
        hour += timedelta(hours=1)
    return hours


def totals_per_currency(con: duckdb.DuckDBPyConnection, domain: str = "provider") -> list[dict]:
    """Money per currency in the window, for the report (``sql/totals.sql``,
    ``sql/cashback/totals.sql``, kept as ``run_totals`` by :func:`find`)."""
    result = con.execute("SELECT * FROM run_totals ORDER BY currency")
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
