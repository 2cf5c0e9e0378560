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

from reconcile import __version__, findings, load, report
from reconcile.window import Window

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

FINDING_COLUMNS = [
    "check", "severity", "bet_id", "transaction_id", "user_id", "currency", "amount",
    "detail", "occurred_at",
]  # fmt: skip
REJECT_COLUMNS = ["file", "line", "reason", "raw"]


@dataclass
class ProviderRun:
    """The options of one ``reconcile run``."""

    provider: list[str]
    ledger: list[str]
    balances: list[str]
    window: Window
    out: Path
    tolerance: Decimal = Decimal(0)
    counterparties: list[str] = field(default_factory=list)
    fail_on: str = "high"
    grace_text: str = "0"
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


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(database)
    con.execute("SET TimeZone = 'UTC'")
    return con


def resolve_inputs(run: ProviderRun) -> dict[str, list[Path]]:
    """Every file of every option; raises InputError before anything is written."""
    inputs = {
        "provider": load.expand_paths(run.provider, "--provider"),
        "ledger": load.expand_paths(run.ledger, "--ledger"),
    }
    if run.balances:
        inputs["balances"] = load.expand_paths(run.balances, "--balances")
    return inputs


def run_provider(run: ProviderRun) -> Outcome:
    stages = run.progress or Stages()
    inputs = resolve_inputs(run)
    con = connect()
    with stages.stage("load"):
        sources = load.load_inputs(con, inputs)
    window = run.window
    if window.cutoff is None:
        window = Window(window.start, window.end, findings.latest_time_seen(con), window.grace)
    parties = run.counterparties or findings.provider_counterparties(con)
    with stages.stage("checks"):
        findings.find(con, window, run.tolerance, parties)
    with stages.stage("outputs"):
        outcome = write_outputs(con, run, window, parties, sources, stages)
    return outcome


# ---------------------------------------------------------------------------
# Outputs


def input_summaries(con: duckdb.DuckDBPyConnection) -> list[report.InputSummary]:
    rows = con.execute(
        """SELECT f.kind, f.path, f.format, f.sha256, f.rows_in,
                  (SELECT count(*) FROM collapsed c WHERE c.file_id = f.file_id),
                  (SELECT count(DISTINCT r.line) FROM rejects r WHERE r.file_id = f.file_id)
           FROM input_files f ORDER BY f.file_id"""
    ).fetchall()
    return [
        report.InputSummary(
            kind=kind,
            path=path,
            format=fmt,
            sha256=sha,
            rows_in=rows_in,
            loaded=rows_in - collapsed - rejected,
            collapsed=collapsed,
            rejected=rejected,
        )
        for kind, path, fmt, sha, rows_in, collapsed, rejected in rows
    ]


def ordered_findings(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        """SELECT f."check", f.severity, f.bet_id, f.transaction_id, f.user_id, f.currency,
                  f.amount, f.detail, f.occurred_at
           FROM findings f
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


def reject_rows(con: duckdb.DuckDBPyConnection, sources: list[load.SourceFile]) -> list[list]:
    """Every rejected record with its file, line, reason and redacted raw text."""
    by_file: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for file_id, line, reason in con.execute(
        "SELECT file_id, line, reason FROM rejects ORDER BY file_id, line"
    ).fetchall():
        by_file[file_id].append((line, reason))
    rows = []
    for source in sources:
        wanted = by_file.get(source.file_id)
        if not wanted:
            continue
        texts = load.raw_text_of(source, {line for line, _ in wanted}, con)
        rows.extend(
            [str(source.path), line, load.redact(reason), texts.get(line, "")]
            for line, reason in wanted
        )
    return rows


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


def exit_status_for(rows: list[dict], fail_on: str) -> int:
    failing = any(findings.at_or_above(row["severity"], fail_on) for row in rows)
    return EXIT_FINDINGS if failing else EXIT_OK


def write_outputs(
    con: duckdb.DuckDBPyConnection,
    run: ProviderRun,
    window: Window,
    parties: list[str],
    sources: list[load.SourceFile],
    stages: Stages,
) -> Outcome:
    rows = ordered_findings(con)
    rejects = reject_rows(con, sources)
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
        inputs=input_summaries(con),
        totals=findings.totals_per_currency(con),
        checks=checks,
        findings=rows,
        key_columns=["bet_id", "transaction_id", "user_id"],
        rejects=len(rejects),
        severity_counts={
            s: sum(c.count for c in checks if c.severity == s) for s in findings.SEVERITIES
        },
    )
    with report.atomic_directory(run.out) as staging:
        report.write_csv(
            staging / "findings.csv",
            FINDING_COLUMNS,
            ([row[c] for c in FINDING_COLUMNS] for row in rows),
        )
        report.write_csv(staging / "rejects.csv", REJECT_COLUMNS, rejects)
        report.write_json(
            staging / "summary.json", summary_document(run, window, parties, context, stages)
        )
        report.write_html(staging / "report.html", context)
    return Outcome(context.exit_status, len(rows), len(rejects), run.out)
