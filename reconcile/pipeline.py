"""The nightly job, stage by stage: load → find → outputs.

``run_provider`` is what ``reconcile run`` does; the CLI only parses options and
turns :class:`~reconcile.errors.InputError` into exit status 2.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from reconcile import __version__, findings, load, report, store
from reconcile.trace import Trace, build_trace
from reconcile.window import Window

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

FINDING_COLUMNS = [
    "finding_id", "status", "check", "severity", "bet_id", "transaction_id", "user_id",
    "currency", "amount", "detail", "occurred_at",
]  # fmt: skip
REJECT_COLUMNS = ["file", "line", "reason", "raw"]


@dataclass
class ProviderRun:
    """The options of one ``reconcile run``."""

    provider: list[str]
    ledger: list[str]
    balances: list[str]
    window: Window
    out: Path | None = None
    tolerance: Decimal = Decimal(0)
    counterparties: list[str] = field(default_factory=list)
    fail_on: str = "high"
    grace_text: str = "0"
    db: Path | None = None
    progress: Stages | None = None


@dataclass
class Outcome:
    exit_status: int
    findings: int
    rejects: int
    out: Path


class Stages:
    """Times each stage; tells a person at a terminal what is happening."""

    def __init__(self, announce=None):
        self.seconds: dict[str, float] = {}
        self.announce = announce

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.announce:
            self.announce(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - started, 3)


def resolve_inputs(run: ProviderRun) -> dict[str, list[Path]]:
    """Every file of every option; raises InputError before anything is written."""
    inputs = {
        "provider": load.expand_paths(run.provider, "--provider"),
        "ledger": load.expand_paths(run.ledger, "--ledger"),
    }
    if run.balances:
        inputs["balances"] = load.expand_paths(run.balances, "--balances")
    return inputs


@dataclass
class Reconciled:
    """What the load and check stages established for a run."""

    sources: list[load.SourceFile]
    window: Window  # with its cutoff settled
    parties: list[str]


def reconcile_provider(
    con: duckdb.DuckDBPyConnection, run: ProviderRun, record: store.RunRecord, stages: Stages
) -> Reconciled:
    """Load the inputs into the store, run the checks, record the findings."""
    inputs = resolve_inputs(run)
    with stages.stage("load"):
        sources = load.load_inputs(con, inputs, record.run_id)
    window = run.window
    if window.cutoff is None:
        window = Window(window.start, window.end, findings.latest_time_seen(con), window.grace)
    parties = run.counterparties or findings.provider_counterparties(con)
    with stages.stage("checks"):
        findings.find(con, window, run.tolerance, parties)
        store.record_findings(con, record, window)
    return Reconciled(sources, window, parties)


def run_provider(run: ProviderRun) -> Outcome:
    """``reconcile run``: with ``--db`` all of it is one transaction of the store."""
    stages = run.progress or Stages()
    resolve_inputs(run)  # a missing file is reported before the store is touched
    con = store.open_store(run.db)
    try:
        record = store.begin_run(con, "provider", run.window)
        done = reconcile_provider(con, run, record, stages)
        with stages.stage("outputs"):
            return write_outputs(con, run, record, done, stages)
    finally:
        con.close()


def trace_provider_files(run: ProviderRun, selector: str, value: str, limit: int) -> Trace:
    """``reconcile trace`` straight from files: an in-memory store, no outputs."""
    con = store.open_store(None)
    try:
        record = store.begin_run(con, "provider", run.window)
        reconcile_provider(con, run, record, run.progress or Stages())
        return build_trace(con, selector, value, limit)
    finally:
        con.close()


def trace_store(db: Path, selector: str, value: str, limit: int) -> Trace:
    con = store.open_store(db, read_only=True)
    try:
        return build_trace(con, selector, value, limit)
    finally:
        con.close()


# ---------------------------------------------------------------------------
# Outputs


def input_summaries(sources: list[load.SourceFile], run_id: int) -> list[report.InputSummary]:
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
        )
        for s in sources
    ]


def ordered_findings(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The window's findings with their state in the register, most severe first."""
    rows = con.execute(
        """SELECT f.finding_id, r.status, f."check", f.severity, f.bet_id, f.transaction_id,
                  f.user_id, f.currency, f.amount, f.detail, f.occurred_at
           FROM findings f JOIN finding_register r ON r.finding_id = f.finding_id
           ORDER BY list_position(?, f.severity), f."check", f.amount DESC, f.bet_id,
                    f.transaction_id, f.user_id""",
        [list(findings.SEVERITIES)],
    ).fetchall()
    return [dict(zip(FINDING_COLUMNS, row, strict=True)) for row in rows]


def check_summaries(rows: list[dict]) -> list[report.CheckSummary]:
    """Every check, found or not, in severity order, money per currency."""
    counts: dict[str, int] = defaultdict(int)
    money: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        counts[row["check"]] += 1
        money[row["check"]][row["currency"] or ""] += row["amount"]
    ordered = sorted(findings.CHECKS.values(), key=lambda c: findings.severity_rank(c.severity))
    return [
        report.CheckSummary(
            c.code, c.title, c.meaning, c.severity, counts[c.code], dict(money[c.code])
        )
        for c in ordered
    ]


def reject_rows(con: duckdb.DuckDBPyConnection, run_id: int) -> list[list]:
    """The records this run rejected: file, line, reason and redacted raw text."""
    rows = con.execute(
        """SELECT f.path, r.line, r.reason, coalesce(r.raw, '')
           FROM rejects r JOIN input_files f ON f.file_id = r.file_id
           WHERE f.run_id = ?
           ORDER BY r.file_id, r.line, r.reason""",
        [run_id],
    ).fetchall()
    return [[path, line, load.redact(reason), raw] for path, line, reason, raw in rows]


def summary_document(
    run: ProviderRun,
    window: Window,
    parties: list[str],
    context: report.ReportContext,
    stages: Stages,
) -> dict:
    return {
        "tool": "reconcile",
        "version": __version__,
        "command": "run",
        "generated_at": context.generated_at,
        "window": {
            "label": window.label,
            "from": window.start,
            "to": window.end,
            "cutoff": window.cutoff,
            "grace": run.grace_text,
            "grace_seconds": int(window.grace.total_seconds()),
        },
        "counterparties": parties,
        "tolerance": run.tolerance,
        "fail_on": run.fail_on,
        "exit_status": context.exit_status,
        "findings": {
            "total": context.total_findings,
            "by_severity": context.severity_counts,
            "by_check": {
                c.check: {"severity": c.severity, "count": c.count, "amount": c.money}
                for c in context.checks
            },
        },
        "totals": context.totals,
        "inputs": [asdict(i) for i in context.inputs],
        "rejects": context.rejects,
        "stage_seconds": stages.seconds,
    }


TREND_NIGHTS = 14


def add_history(
    con: duckdb.DuckDBPyConnection, context: report.ReportContext, record: store.RunRecord
) -> None:
    """The store's view across nights, for the report (only with --db)."""
    context.persistent = True
    context.trend_nights = store.nightly_trend(con, record.kind, TREND_NIGHTS)
    context.trend = report.trend_charts(context.trend_nights)
    context.backlog = store.open_backlog(con, record.kind, record.run_id)
    context.resolved = store.resolved_by(con, record.kind, record.run_id)


def exit_status_for(rows: list[dict], fail_on: str) -> int:
    failing = any(findings.at_or_above(row["severity"], fail_on) for row in rows)
    return EXIT_FINDINGS if failing else EXIT_OK


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    run: ProviderRun,
    record: store.RunRecord,
    done: Reconciled,
    stages: Stages,
) -> Outcome:
    window, parties, sources = done.window, done.parties, done.sources
    rows = ordered_findings(con)
    rejects = reject_rows(con, record.run_id)
    checks = check_summaries(rows)
    context = report.ReportContext(
        title="Wallet reconciliation",
        kind="provider",
        generated_at=datetime.now(UTC),
        window_label=window.label,
        window_start=window.start,
        window_end=window.end,
        cutoff=window.cutoff,
        grace=run.grace_text,
        parties=parties,
        fail_on=run.fail_on,
        exit_status=exit_status_for(rows, run.fail_on),
        inputs=input_summaries(sources, record.run_id),
        totals=findings.totals_per_currency(con),
        checks=checks,
        findings=rows,
        key_columns=["bet_id", "transaction_id", "user_id"],
        rejects=len(rejects),
        severity_counts={
            s: sum(c.count for c in checks if c.severity == s) for s in findings.SEVERITIES
        },
    )
    if run.db is not None:
        add_history(con, context, record)
    summary = summary_document(run, window, parties, context, stages)
    with report.atomic_directory(run.out) as staging:
        report.write_csv(
            staging / "findings.csv",
            FINDING_COLUMNS,
            ([row[c] for c in FINDING_COLUMNS] for row in rows),
        )
        report.write_csv(staging / "rejects.csv", REJECT_COLUMNS, rejects)
        report.write_json(staging / "summary.json", summary)
        report.write_html(staging / "report.html", context)
        store.finish_run(
            con,
            record,
            exit_status=context.exit_status,
            findings=len(rows),
            rejects=len(rejects),
            summary=report.json_text(summary),
        )
        store.commit(con)
    return Outcome(context.exit_status, len(rows), len(rejects), run.out)
