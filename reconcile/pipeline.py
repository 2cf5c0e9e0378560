"""The nightly job, stage by stage: load → find → store → outputs.

One path serves both reconciliations (``reconcile run`` for the provider's
bets, ``reconcile cashback`` for the casino's cashback): they differ only in
their inputs and their :class:`~reconcile.findings.Domain`.  The CLI parses
options into a :class:`Job` and calls this module's small API (:func:`run_job`,
:func:`trace`, :func:`history`, :func:`acknowledge`); it turns
:class:`~reconcile.errors.InputError` into exit status 2 (``errors.EXIT_ERROR``).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from reconcile import __version__, acks, findings, load, report, store
from reconcile.errors import EXIT_FINDINGS, EXIT_OK, InputError
from reconcile.resources import sql
from reconcile.text import money as money_text
from reconcile.trace import Trace, build_trace
from reconcile.window import Window, make_window, parse_day

REJECT_COLUMNS = ["file", "line", "reason", "raw"]
# Spec section 8: a proposed ADJUSTMENT in the ledger's own columns, and what
# each provider must send.  Ids are always quoted (report.write_csv_stream).
REMEDIATION_COLUMNS = [*load.BOOKING_FIELDS, "finding_id", "check", "reason"]
PROVIDER_ACTION_COLUMNS = [
    "counterparty_id", "session_id", "bet_id", "action", "win_amount", "finding_id",
]  # fmt: skip
ID_COLUMNS = ("finding_id", "transaction_id", "counterparty_id", "session_id", "user_id",
              "bet_id", "game_round_id", "request_id", "cashback_id")  # fmt: skip


class Stages:
    """Times each stage; tells a person at a terminal what is happening."""

    def __init__(self, announce=None):
        self.seconds: dict[str, float] = {}
        self.announce = announce

    def note(self, message: str) -> None:
        """A step within a stage (a file being read), for the terminal only."""
        if self.announce:
            self.announce(message)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.announce:
            self.announce(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - started, 3)


@dataclass
class Job:
    """The options of one reconciliation run.

    ``inputs`` maps an input kind (``provider``, ``ledger``, ``balances``,
    ``make``, ``accept``: see ``load.KINDS``) to the paths and globs given for it.
    """

    domain: str
    inputs: dict[str, list[str]]
    window: Window
    out: Path | None = None
    tolerance: Decimal = Decimal(0)
    counterparties: list[str] = field(default_factory=list)
    fail_on: str = "high"
    grace_text: str = "0"
    db: Path | None = None
    progress: Stages | None = None
    engine: store.Engine = field(default_factory=store.Engine)
    acks: Path | None = None
    recheck: bool = False  # check every record even where a night's scope would do


@dataclass
class Outcome:
    exit_status: int
    findings: int
    rejects: int
    out: Path
    warning: str | None = None  # something the user must know although the run succeeded
    late: int = 0  # late findings of earlier windows (spec section 6), listed too


@dataclass
class Reconciled:
    """What the load and check stages established for a run."""

    sources: list[load.SourceFile]
    window: Window  # with its cutoff settled
    parties: list[str]
    checked: findings.Checked


def resolve_inputs(job: Job) -> dict[str, list[Path]]:
    """Every file of every option; raises InputError before anything is written."""
    return {
        kind: load.expand_paths(patterns, f"--{kind}")
        for kind, patterns in job.inputs.items()
        if patterns
    }


def reconcile(
    con: duckdb.DuckDBPyConnection,
    job: Job,
    inputs: dict[str, list[Path]],
    record: store.RunRecord,
    stages: Stages,
) -> Reconciled:
    """Load the inputs into the store, run the domain's checks, record the findings."""
    with stages.stage("load"):
        sources = load.load_inputs(con, inputs, record.run_id, stages.note)
        store.commit_load(con)
    window = job.window
    if window.cutoff is None:
        latest = findings.latest_time_seen(con, job.domain)
        window = Window(window.start, window.end, latest, window.grace)
    parties = []
    if findings.DOMAINS[job.domain].has_counterparties:
        parties = job.counterparties or findings.provider_counterparties(con)
    with stages.stage("checks"):
        night = None if job.recheck else store.night_of(con, record, window, job.tolerance, parties)
        checked = findings.find(con, window, job.tolerance, parties, job.domain, night)
        stages.note(checked.describe())
        store.record_findings(con, record, window, job.tolerance, parties, list(inputs))
    return Reconciled(sources, window, parties, checked)


def run_job(job: Job) -> Outcome:
    """``reconcile run`` / ``reconcile cashback``: with ``--db``, the load and then
    the rest committed apart (``store.commit_load``); a run that fails removes
    what it loaded."""
    stages = job.progress or Stages()
    # A missing file or a bad acks file is reported before the store is touched.
    inputs = resolve_inputs(job)
    report.check_out_folder(job.out, owned_elsewhere(job, inputs))
    known = acks.load_acks(job.acks) if job.acks else {}
    with store.session(job.db, engine=job.engine) as con:
        record = store.begin_run(con, job.domain, job.window)
        try:
            done = reconcile(con, job, inputs, record, stages)
            with stages.stage("outputs"):
                return write_outputs(con, job, record, done, stages, known)
        except BaseException:
            store.forget_run(con, record)
            raise


def owned_elsewhere(job: Job, inputs: dict[str, list[Path]]) -> list[Path]:
    """What replacing ``--out`` must never remove: the store, the acks, the inputs."""
    paths = [path for paths in inputs.values() for path in paths]
    if job.db is not None:
        paths += [job.db, job.db.with_name(job.db.name + ".wal")]
    if job.acks is not None:
        paths.append(job.acks)
    if job.engine.temp_dir is not None:
        paths.append(job.engine.temp_dir)
    return paths


def trace_files(job: Job, selector: str, value: str, limit: int) -> Trace:
    """``reconcile trace`` straight from files: an in-memory store, no outputs."""
    inputs = resolve_inputs(job)
    con = store.open_store(None, engine=job.engine)
    try:
        record = store.begin_run(con, job.domain, job.window)
        reconcile(con, job, inputs, record, job.progress or Stages())
        return build_trace(con, selector, value, limit)
    finally:
        con.close()


def trace_store(db: Path, selector: str, value: str, limit: int) -> Trace:
    con = store.open_store(db, read_only=True)
    try:
        return build_trace(con, selector, value, limit)
    finally:
        con.close()


def trace(
    selector: str, value: str, limit: int, db: Path | None, files: dict[str, list[str]]
) -> Trace:
    """``reconcile trace``: from the store written with ``--db``, or straight from the
    input files (a ``--cashback`` id needs the cashback inputs, any other the provider's)."""
    files = {kind: list(paths) for kind, paths in files.items() if paths}
    domain = "cashback" if selector == "cashback" else "provider"
    needed = findings.DOMAINS[domain].required_inputs
    if db and files:
        raise InputError("give either --db or input files, not both")
    if db:
        return trace_store(db, selector, value, limit)
    if not all(kind in files for kind in needed):
        raise InputError(f"give --db, or --{needed[0]} and --{needed[1]}")
    window = make_window(day=None, start=None, end=None, cutoff=None, grace="0")
    return trace_files(Job(domain=domain, inputs=files, window=window), selector, value, limit)


def history(db: Path, last: int) -> list[dict]:
    """``reconcile history``: the latest runs of a store, newest first."""
    con = store.open_store(db, read_only=True)
    try:
        return store.run_history(con, last)
    finally:
        con.close()


def acknowledge(
    finding_id: str, entry: dict, acks_file: Path, db: Path | None, force: bool
) -> None:
    """``reconcile ack``: add ``entry`` (owner, reason, ticket, expires) for a finding,
    with what the store ``db`` knows of it; an id no run produced needs ``force``."""
    if entry.get("expires") is not None:
        parse_day(entry["expires"], "--expires")
    today = datetime.now(UTC).date().isoformat()
    entry = {"finding_id": finding_id, **entry, "acknowledged_on": today}
    if db is not None:
        entry |= store.describe_finding(db, finding_id)
    if "check" not in entry and not force:
        where = f"in {db}" if db else "(give --db to check it)"
        raise InputError(
            f"no run has produced finding {finding_id} {where}; --force to acknowledge it anyway"
        )
    acks.add_ack(acks_file, entry)


# ---------------------------------------------------------------------------
# Outputs


def input_summaries(
    con: duckdb.DuckDBPyConnection, sources: list[load.SourceFile], run_id: int
) -> list[report.InputSummary]:
    spans = load.event_spans(con, sources)
    none = (None, None)
    return [
        report.InputSummary(
            kind=s.kind,
            path=str(s.path),
            format=s.format,
            sha256=s.sha256,
            rows_in=s.rows_in,
            loaded=s.loaded,
            collapsed=s.collapsed,
            rejected=s.rejected,
            loaded_by_run=None if s.is_new(run_id) else s.loaded_by,
            first_event=spans.get(s.file_id, none)[0],
            last_event=spans.get(s.file_id, none)[1],
        )
        for s in sources
    ]


def ordered_findings(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The window's findings, then the late findings of earlier windows (spec
    section 6), each with its state in the register and ``window`` (the label of
    the window it belongs to), most severe first."""
    result = con.execute(sql("ordered_findings"), [list(findings.SEVERITIES)])
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def check_summaries(rows: list[dict], domain: str) -> list[report.CheckSummary]:
    """Every check of the domain, found or not, in severity order.

    Money at issue adds absolute amounts per currency: a signed amount (a cashback
    accepted for less than was sent) is money at issue all the same.
    """
    counts: dict[str, int] = defaultdict(int)
    money: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        counts[row["check"]] += 1
        money[row["check"]][row["currency"] or ""] += abs(row["amount"])
    ordered = sorted(
        (c for c in findings.CHECKS.values() if c.domain == domain),
        key=lambda c: findings.severity_rank(c.severity),
    )
    return [
        report.CheckSummary(
            c.code, c.title, c.meaning, c.severity, counts[c.code], dict(money[c.code])
        )
        for c in ordered
    ]


def gap_summary(rows: list[dict], hours: list[dict]) -> list[report.InputGap]:
    """The window's input gaps (spec section 9), each with the findings marked
    suspect because their time falls in its hours."""
    side_of = {h["hour"]: h["side"] for h in hours if h["side"]}
    gaps = []
    for row in rows:  # an input_gap's time is its first hour
        if row["check"] == "input_gap" and row["occurred_at"] in side_of:
            gaps.append(report.InputGap(side_of[row["occurred_at"]], row["occurred_at"], 0, 0))
    for gap in gaps:
        hour = gap.first_hour
        while side_of.get(hour) == gap.side:
            gap.hours += 1
            hour += timedelta(hours=1)
        gap.suspect = sum(
            1 for row in rows
            if row["suspect_input_gap"] and gap.first_hour <= row["occurred_at"] < hour
        )  # fmt: skip
    return gaps


def owed_summary(rows: list[dict]) -> report.Owed:
    """Spec section 8's totals over the night's findings (its window's and the late
    ones of earlier windows) that are not acknowledged:
    per currency the credits and debits to book and what is owed to players with
    no booking to fix it (open bets, missing payouts), and counts by action."""
    live = [row for row in rows if row["status"] != "acknowledged"]
    money: dict[str, report.MoneyOwed] = {}
    for row in live:
        currency = row["currency"] or ""
        owed = money.setdefault(currency, report.MoneyOwed(currency))
        correction = row["correction"]
        if correction is not None and correction > 0:
            owed.to_players += correction
        elif correction is not None and correction < 0:
            owed.to_house -= correction
        elif row["owed_to"] == "player":
            owed.to_players_unbooked += abs(row["amount"])
    actions = dict.fromkeys(report.ACTIONS, 0)
    for row in live:
        actions[row["action"]] += 1
    corrected: dict[tuple, int] = defaultdict(int)
    for row in live:
        if row["correction"] is not None:
            corrected[(row.get("bet_id"), row.get("cashback_id"))] += 1
    several = sum(1 for (bet, cashback), n in corrected.items() if n > 1 and (bet or cashback))
    return report.Owed(
        money=[money[c] for c in sorted(money) if _owes(money[c])],
        actions=actions,
        acknowledged=len(rows) - len(live),
        several=several,
    )


def _owes(owed: report.MoneyOwed) -> bool:
    return bool(owed.to_players or owed.to_house or owed.to_players_unbooked)


def remediation_rows(rows: list[dict]) -> list[list]:
    """One proposed ADJUSTMENT per finding with a correction that is not
    acknowledged, in the ledger's columns; times, balances and the request id are
    left for whoever books it."""
    proposals = []
    for row in rows:
        if row["correction"] is None or row["status"] == "acknowledged":
            continue
        booking = dict.fromkeys(load.BOOKING_FIELDS)
        booking |= {"type": "ADJUSTMENT", "amount": row["correction"]}
        booking |= {f: row.get(f) for f in
                    ("counterparty_id", "session_id", "user_id", "currency", "bet_id")}  # fmt: skip
        verb = "credit the player" if row["correction"] > 0 else "debit the player"
        reason = f"{verb} {money_text(abs(row['correction']))}: {row['detail']}"
        proposals.append([*booking.values(), row["finding_id"], row["check"], reason])
    return proposals


def provider_action_rows(rows: list[dict]) -> list[list]:
    """Per provider, the bets it must settle and the PayOuts it must re-send (with
    the win it last sent).  Acknowledged findings stay: re-sending is idempotent
    per betId, and an acknowledgement is the aggregator's note, not the provider's."""
    asked = [row for row in rows if row["action"] in ("provider_settle", "provider_resend_payout")]
    asked.sort(key=lambda r: (r["counterparty_id"] or "", r["session_id"] or "", r["bet_id"] or ""))
    return [
        [r["counterparty_id"], r["session_id"], r["bet_id"], r["action"],
         r["amount"] if r["action"] == "provider_resend_payout" else None, r["finding_id"]]
        for r in asked
    ]  # fmt: skip


def reject_rows(con: duckdb.DuckDBPyConnection, run_id: int) -> list[list]:
    """The rejected records of every file this run was given: file, line, reason and
    redacted raw text.  A file an earlier run loaded keeps its rejects, so that a
    re-run of a night reports them again rather than forgetting them."""
    rows = con.execute(
        """SELECT i.path, r.line, r.reason, coalesce(r.raw, '')
           FROM rejects r JOIN run_inputs i ON i.file_id = r.file_id
           WHERE i.run_id = ?
           ORDER BY r.file_id, r.line, r.reason""",
        [run_id],
    ).fetchall()
    return [[path, line, load.redact(reason), raw] for path, line, reason, raw in rows]


def summary_document(
    job: Job, done: Reconciled, context: report.ReportContext, stages: Stages
) -> dict:
    window = done.window
    return {
        "tool": "reconcile",
        "version": __version__,
        "command": findings.DOMAINS[job.domain].presentation.command,
        "generated_at": context.generated_at,
        "window": {
            "label": window.label,
            "from": window.start,
            "to": window.end,
            "cutoff": window.cutoff,
            "grace": job.grace_text,
            "grace_seconds": int(window.grace.total_seconds()),
        },
        "counterparties": context.parties,
        "tolerance": job.tolerance,
        "fail_on": job.fail_on,
        "exit_status": context.exit_status,
        "acks": str(job.acks) if job.acks else None,
        "findings": {
            "total": context.total_findings,
            "by_severity": context.severity_counts,
            "suspect_input_gap": context.suspect_findings,
            "by_check": {
                c.check: {"severity": c.severity, "count": c.count, "amount": c.money}
                for c in context.checks
            },
        },
        "late_findings": {
            "total": len(context.late),
            "by_window": _count_by(context.late, "window"),
            "by_check": _count_by(context.late, "check"),
        },
        "owed": {
            "by_currency": [asdict(m) for m in context.owed.money],
            "by_action": context.owed.actions,
            "acknowledged_left_out": context.owed.acknowledged,
            "keys_with_several_corrections": context.owed.several,
        },
        "input_gaps": [
            {"side": g.side, "from": g.first_hour, "hours": g.hours, "suspect_findings": g.suspect}
            for g in context.gaps
        ],
        "totals": context.totals,
        "inputs": [asdict(i) for i in context.inputs],
        "rejects": context.rejects,
        "checked": {  # spec 6.1: a night checks what its data can change
            "since": done.checked.since,
            "bets": done.checked.bets,
            "balance_chains": done.checked.chains,
        },
        "stage_seconds": stages.seconds,
    }


def _count_by(rows: list[dict], column: str) -> dict[str, int]:
    return dict(sorted(Counter(row[column] for row in rows).items()))


TREND_NIGHTS = 14


def add_history(
    con: duckdb.DuckDBPyConnection,
    context: report.ReportContext,
    record: store.RunRecord,
    known: dict[str, acks.Ack],
) -> None:
    """The store's view across nights, for the report (only with --db)."""
    context.persistent = True
    context.trend_nights = store.nightly_trend(con, record.kind, TREND_NIGHTS)
    context.trend = report.trend_charts(context.trend_nights)
    context.backlog = store.backlog_items(con, record.kind, record.run_id)
    acks.apply(con, context.backlog, known, context.cutoff)
    context.backlog_ages = sorted(
        store.backlog_by_age(con, record.kind, record.run_id),
        key=lambda e: (findings.severity_rank(e["severity"]), e["check"]),
    )
    context.resolved = store.resolved_by(con, record.kind, record.run_id)


def exit_status_for(rows: list[dict], fail_on: str) -> int:
    """1 when a finding that counts (not a current acknowledgement) is at or above."""
    failing = any(row["counts"] and findings.at_or_above(row["severity"], fail_on) for row in rows)
    return EXIT_FINDINGS if failing else EXIT_OK


def build_context(
    con: duckdb.DuckDBPyConnection,
    job: Job,
    record: store.RunRecord,
    done: Reconciled,
    known: dict[str, acks.Ack],
) -> report.ReportContext:
    listed = ordered_findings(con)
    hours = findings.hourly_volume(con, done.window, job.domain)
    acks.apply(con, listed, known, done.window.cutoff)
    store.record_statuses(con, record, listed)
    rows = [row for row in listed if row["window"] == done.window.label]
    late = [row for row in listed if row["window"] != done.window.label]
    checks = check_summaries(rows, job.domain)
    domain = findings.DOMAINS[job.domain]
    presentation = domain.presentation
    context = report.ReportContext(
        title=presentation.title,
        kind=job.domain,
        generated_at=datetime.now(UTC),
        window_label=done.window.label,
        window_start=done.window.start,
        window_end=done.window.end,
        cutoff=done.window.cutoff,
        grace=job.grace_text,
        parties=done.parties,
        fail_on=job.fail_on,
        exit_status=exit_status_for(listed, job.fail_on),
        inputs=input_summaries(con, done.sources, record.run_id),
        totals=findings.totals_per_currency(con, job.domain),
        totals_columns=list(domain.totals_columns),
        checks=checks,
        findings=rows,
        late=late,
        key_columns=list(presentation.key_columns),
        rejects=0,
        severity_counts={
            s: sum(c.count for c in checks if c.severity == s) for s in findings.SEVERITIES
        },
        owed=owed_summary(listed),
        volume=report.volume_chart(hours),
        gaps=gap_summary(rows, hours),
    )
    if job.db is not None:
        add_history(con, context, record, known)
    return context


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    job: Job,
    record: store.RunRecord,
    done: Reconciled,
    stages: Stages,
    known: dict[str, acks.Ack],
) -> Outcome:
    """Write the four outputs into a staging folder, commit the store, then move them
    into place: a finished-looking report exists only for a committed run."""
    context = build_context(con, job, record, done, known)
    rejects = reject_rows(con, record.run_id)
    context.rejects = len(rejects)
    columns = findings.DOMAINS[job.domain].presentation.finding_columns
    summary = summary_document(job, done, context, stages)
    with report.atomic_directory(job.out) as staging:
        report.write_csv(
            staging / "findings.csv",
            columns,
            ([row[c] for c in columns] for row in context.listed),
            ID_COLUMNS,
        )
        report.write_csv(staging / "rejects.csv", REJECT_COLUMNS, rejects)
        report.write_csv(staging / "remediation.csv", REMEDIATION_COLUMNS,
                         remediation_rows(context.listed), ID_COLUMNS)  # fmt: skip
        report.write_csv(staging / "provider_actions.csv", PROVIDER_ACTION_COLUMNS,
                         provider_action_rows(context.listed), ID_COLUMNS)  # fmt: skip
        report.write_json(staging / "summary.json", summary)
        report.write_html(staging / "report.html", context)
        store.finish_run(
            con,
            record,
            exit_status=context.exit_status,
            findings=len(context.findings),
            rejects=len(rejects),
            summary=report.json_text(summary),
        )
        warning = store.commit(con)
    return Outcome(context.exit_status, len(context.findings), len(rejects), job.out, warning,
                   len(context.late))  # fmt: skip
