"""The nightly job, stage by stage: load → checks → store → outputs.

One path serves both reconciliations (``reconcile run`` for the provider's
bets, ``reconcile cashback`` for the casino's cashback): they differ only in
their inputs and their :class:`~reconcile.checks.Domain`.  The CLI parses
options into a :class:`Job` and calls this module's small API (:func:`run_job`,
:func:`trace`, :func:`list_runs`, :func:`acknowledge`); it turns
:class:`~reconcile.errors.InputError` into exit status 2 (``errors.EXIT_ERROR``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from reconcile import __version__, acks, checks, load, outputs, report, store
from reconcile.errors import EXIT_FINDINGS, EXIT_OK, InputError
from reconcile.trace import Trace, build_trace
from reconcile.window import Window, make_window, parse_day

# Ids are always quoted in the CSVs (report.write_csv_stream).
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
    db: Path | None = None
    stages: Stages | None = None
    engine: store.Engine = field(default_factory=store.Engine)
    acks: Path | None = None
    recheck: bool = False  # check every record even where a night's scope would do
    check_engine: checks.CheckEngine = field(default_factory=checks.CheckEngine)  # --engine


@dataclass
class Outcome:
    exit_status: int
    total_findings: int
    rejects: int
    out: Path
    warning: str | None = None  # something the user must know although the run succeeded
    late: int = 0  # late findings of earlier windows (spec section 6), listed too


@dataclass
class Run:
    """One run's state, from its options to its findings in the store: what each
    stage after the load reads (``build_context``, ``write_outputs``).

    ``window`` starts as the job's and has its cutoff settled once the inputs
    are loaded (the latest time seen, unless ``--cutoff`` fixed it).
    """

    job: Job
    con: duckdb.DuckDBPyConnection
    record: store.RunRecord
    inputs: dict[str, list[Path]]  # every file of every input option
    window: Window
    stages: Stages = field(default_factory=Stages)
    acks: dict[str, acks.Ack] = field(default_factory=dict)  # the acknowledgements file's
    sources: list[load.SourceFile] = field(default_factory=list)  # set by the load
    counterparties: list[str] = field(default_factory=list)  # the provider's counterparty ids
    checked: checks.Checked | None = None  # set by the checks


def resolve_inputs(job: Job) -> dict[str, list[Path]]:
    """Every file of every option; raises InputError before anything is written."""
    return {
        kind: load.expand_paths(patterns, f"--{kind}")
        for kind, patterns in job.inputs.items()
        if patterns
    }


def begin(job: Job, con: duckdb.DuckDBPyConnection, inputs: dict[str, list[Path]]) -> Run:
    return Run(job, con, store.begin_run(con, job.domain, job.window), inputs, job.window,
               job.stages or Stages())  # fmt: skip


def reconcile(run: Run) -> None:
    """Load the inputs into the store, run the domain's checks, record the findings."""
    job, con, stages = run.job, run.con, run.stages
    with stages.stage("load"):
        run.sources = load.load_inputs(con, run.inputs, run.record.run_id, stages.note)
        store.commit_load(con)
    if run.window.cutoff is None:
        run.window = replace(run.window, cutoff=checks.latest_time_seen(con, job.domain))
    if checks.DOMAINS[job.domain].has_counterparties:
        run.counterparties = job.counterparties or checks.provider_counterparties(con)
    with stages.stage("checks"):
        night = None
        if not job.recheck:
            night = store.night_of(con, run.record, run.window, job.tolerance, run.counterparties)
        run.checked = checks.find(con, run.window, job.tolerance, run.counterparties, job.domain,
                                  night, job.check_engine)  # fmt: skip
        stages.note(run.checked.describe())
        store.record_findings(con, run.record, run.window, job.tolerance, run.counterparties,
                              list(run.inputs))  # fmt: skip


def run_job(job: Job) -> Outcome:
    """``reconcile run`` / ``reconcile cashback``: with ``--db``, the load and then
    the rest committed apart (``store.commit_load``); a run that fails removes
    what it loaded."""
    # A missing file or a bad acks file is reported before the store is touched.
    problem = checks.engine_problem(job.check_engine)
    if problem:
        raise InputError(problem)
    inputs = resolve_inputs(job)
    report.check_out_folder(job.out, owned_elsewhere(job, inputs))
    known = acks.load_acks(job.acks) if job.acks else {}
    with store.session(job.db, engine=job.engine) as con:
        run = begin(job, con, inputs)
        run.acks = known
        try:
            reconcile(run)
            with run.stages.stage("outputs"):
                return write_outputs(run)
        except BaseException:
            store.forget_run(con, run.record)
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
        reconcile(begin(job, con, inputs))
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
    needed = checks.DOMAINS[domain].required_inputs
    if db and files:
        raise InputError("give either --db or input files, not both")
    if db:
        return trace_store(db, selector, value, limit)
    if not all(kind in files for kind in needed):
        raise InputError(f"give --db, or --{needed[0]} and --{needed[1]}")
    window = make_window(day=None, start=None, end=None, cutoff=None, grace="0")
    return trace_files(Job(domain=domain, inputs=files, window=window), selector, value, limit)


def list_runs(db: Path, last: int) -> list[dict]:
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


def summary_document(run: Run, context: report.ReportContext) -> dict:
    job, window, checked = run.job, run.window, run.checked
    return {
        "tool": "reconcile",
        "version": __version__,
        "command": checks.DOMAINS[job.domain].presentation.command,
        "generated_at": context.generated_at,
        "window": {
            "label": window.label,
            "from": window.start,
            "to": window.end,
            "cutoff": window.cutoff,
            "grace": window.grace_text,
            "grace_seconds": int(window.grace.total_seconds()),
        },
        "counterparties": context.counterparties,
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
            "total": context.late_listing.total,
            "by_window": context.late_by_window,
            "by_check": dict(sorted(context.late_listing.per_check.items())),
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
            "since": checked.since,
            "bets": checked.bets,
            "balance_chains": checked.chains,
        },
        "stage_seconds": run.stages.seconds,
    }


TREND_NIGHTS = 14


def history(run: Run) -> report.History:
    """The store's view across nights, for the report (only with --db)."""
    con, domain, run_id = run.con, run.record.domain, run.record.run_id
    nights = store.nightly_trend(con, domain, run_id, TREND_NIGHTS)
    backlog = store.backlog_items(con, domain, run_id)
    acks.apply(con, backlog, run.acks, run.window.cutoff)
    ages = sorted(
        store.backlog_by_age(con, domain, run_id),
        key=lambda e: (checks.severity_rank(e["severity"]), e["check"]),
    )
    resolved = report.Listing(*store.resolved_by(con, domain, run_id, report.LISTED_PER_CHECK))
    return report.History(nights, report.trend_charts(nights), backlog, ages, resolved)


def build_context(run: Run) -> report.ReportContext:
    """The report's context, from the run's findings kept in DuckDB (``outputs``):
    acknowledgements applied and each finding's state recorded with the run first."""
    job, con, window = run.job, run.con, run.window
    outputs.list_findings(con)
    acks.apply_to_listed(con, run.acks, window.cutoff)
    store.record_statuses(con, run.record)
    hours = checks.hourly_volume(con, window, job.domain)
    by_check = outputs.check_summaries(con, job.domain)
    by_status, late = outputs.listings(con)
    presentation = checks.DOMAINS[job.domain].presentation
    return report.ReportContext(
        title=presentation.title,
        domain=job.domain,
        generated_at=datetime.now(UTC),
        window_label=window.label,
        window_start=window.start,
        window_end=window.end,
        cutoff=window.cutoff,
        grace=window.grace_text,
        counterparties=run.counterparties,
        fail_on=job.fail_on,
        exit_status=EXIT_FINDINGS if outputs.fails(con, job.fail_on) else EXIT_OK,
        inputs=input_summaries(con, run.sources, run.record.run_id),
        totals=checks.totals_per_currency(con, job.domain),
        totals_columns=list(checks.DOMAINS[job.domain].totals_columns),
        checks=by_check,
        findings_by_status=by_status,
        late_listing=late,
        late_by_window=outputs.late_by_window(con),
        key_columns=list(presentation.key_columns),
        rejects=outputs.reject_count(con, run.record.run_id),
        severity_counts={
            s: sum(c.count for c in by_check if c.severity == s) for s in checks.SEVERITIES
        },
        owed=outputs.owed_summary(con),
        volume=report.volume_chart(hours),
        gaps=outputs.gap_summary(con, hours),
        history=history(run) if job.db is not None else None,
    )


def write_outputs(run: Run) -> Outcome:
    """Write the outputs into a staging folder, commit the store, then move them
    into place: a finished-looking report exists only for a committed run.  The
    CSVs are read from DuckDB in batches, never held whole."""
    con, job = run.con, run.job
    context = build_context(run)
    columns = checks.DOMAINS[job.domain].presentation.finding_columns
    summary = summary_document(run, context)
    with report.atomic_directory(job.out) as staging:
        report.write_csv(staging / "findings.csv", columns,
                         outputs.finding_rows(con, columns), ID_COLUMNS)  # fmt: skip
        report.write_csv(staging / "rejects.csv", outputs.REJECT_COLUMNS,
                         outputs.reject_rows(con, run.record.run_id))  # fmt: skip
        report.write_csv(staging / "remediation.csv", outputs.REMEDIATION_COLUMNS,
                         outputs.remediation_rows(con), ID_COLUMNS)  # fmt: skip
        report.write_csv(staging / "provider_actions.csv", outputs.PROVIDER_ACTION_COLUMNS,
                         outputs.provider_action_rows(con), ID_COLUMNS)  # fmt: skip
        report.write_json(staging / "summary.json", summary)
        report.write_html(staging / "report.html", context)
        store.finish_run(
            con,
            run.record,
            exit_status=context.exit_status,
            findings=context.total_findings,
            rejects=context.rejects,
            summary=report.json_text(summary),
        )
        warning = store.commit(con)
    return Outcome(context.exit_status, context.total_findings, context.rejects, job.out,
                   warning, context.late_listing.total)  # fmt: skip
