"""Stage 5, the command line: options, wiring, and errors turned into messages.

Exit statuses (named in ``reconcile.errors``): 0 no finding at or above
``--fail-on``; 1 some; 2 a usage or input error (one line on stderr, nothing
written that looks like a report); 3 an internal failure (a bug or the machine:
out of disk, out of memory).  The commands call the small API of
``reconcile.pipeline`` (run_job, trace, list_runs, acknowledge).
"""

from __future__ import annotations

import errno
import io
import os
import sys
import traceback
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
import duckdb

from reconcile import __version__, pipeline, report
from reconcile.checks import SEVERITIES, CheckEngine
from reconcile.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_NOT_FOUND, EXIT_OK, InputError
from reconcile.pipeline import Job, Stages, run_job
from reconcile.store import HISTORY_COLUMNS, Engine, machine_cores
from reconcile.trace import as_document, render_text
from reconcile.window import make_window


def _tolerance(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        tolerance = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a decimal amount") from None
    if not tolerance.is_finite() or tolerance < 0:
        raise click.BadParameter(f"{value!r} must be a non-negative amount")
    if tolerance.adjusted() >= 30 or tolerance != tolerance.quantize(Decimal("1e-8")):
        raise click.BadParameter(f"{value!r} must be below 1e30 with at most 8 decimal places")
    return tolerance


def _out_folder(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    """The raw text, so that an empty ``--out ''`` is refused rather than read as ``.``."""
    if not value.strip():
        raise click.BadParameter("is empty: give the folder for the report")
    return Path(value)


def option_group(*options):
    """One decorator applying several Click options, in the order given."""

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def window_options(command):
    """--date / --from / --to / --cutoff / --grace, shared by every reconciling command."""
    options = [
        click.option("--date", "day", metavar="YYYY-MM-DD", help="Reconcile this UTC day."),
        click.option("--from", "start", metavar="TIME", help="Window start (inclusive), UTC."),
        click.option("--to", "end", metavar="TIME", help="Window end (exclusive), UTC."),
        click.option(
            "--cutoff",
            metavar="TIME",
            help="Ignore calls and bookings after this. Default: latest time in the inputs.",
        ),
        click.option(
            "--grace",
            default="0",
            show_default=True,
            metavar="DURATION",
            help="Report a bet as open only if older than this at the cutoff (90s, 15m, 2h, 1d).",
        ),
    ]
    return option_group(*options)(command)


def output_options(command):
    """--out / --fail-on / --quiet, shared by every reconciling command."""
    options = [
        click.option(
            "--out",
            required=True,
            callback=_out_folder,
            help="Folder for report.html, findings.csv, summary.json, rejects.csv (replaced).",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITIES),
            default="high",
            show_default=True,
            help="Exit 1 when a finding of this severity or higher is raised.",
        ),
        click.option("--quiet", is_flag=True, help="No progress or summary on the terminal."),
        click.option(
            "--acks",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Acknowledged breaks (YAML, see 'reconcile ack'): listed, but not failing.",
        ),
    ]
    return option_group(*options)(command)


def input_option(name: str, help_text: str, required: bool = False):
    """An input option: a path or a quoted glob, repeated for more files."""
    return click.option(name, multiple=True, required=required, metavar="PATH|GLOB",
                        help=help_text)  # fmt: skip


def provider_inputs(required: bool):
    """--provider / --ledger / --balances, for ``run`` (required) and ``trace`` (optional)."""
    return option_group(
        input_option("--provider", "Provider call log: JSON Lines or flat CSV, .gz allowed. "
                     "Repeat; quote globs.", required),
        input_option("--ledger", "Aggregator wallet ledger: CSV (.gz allowed) or Parquet. "
                     "Repeat for more.", required),
        input_option("--balances", "Wallet balance snapshots CSV (user_id, currency, balance, "
                     "as_of). Optional."),
    )  # fmt: skip


def cashback_inputs(required: bool):
    """--make / --accept, for ``cashback`` (required) and ``trace`` (optional)."""
    return option_group(
        input_option("--make", "Cashback make requests sent: CSV (.gz allowed) or Parquet. "
                     "Repeat for more.", required),
        input_option("--accept", "Accept calls received from the casino: JSON Lines, .gz "
                     "allowed.", required),
    )  # fmt: skip


def db_option(help_text: str):
    return click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help=help_text)


def engine_options(command):
    """--threads / --memory-limit / --temp-dir: DuckDB's resources for the run."""
    return option_group(
        click.option("--threads", default=machine_cores, show_default="the machine's cores",
                     type=click.IntRange(1, 256), help="DuckDB worker threads."),
        click.option("--memory-limit", default="1GB", show_default=True, metavar="SIZE",
                     help="DuckDB memory limit (e.g. 500MB, 4GB); beyond it, it spills to disk."),
        click.option("--temp-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Where DuckDB spills. Default: beside the store, or ./.tmp."),
    )(command)  # fmt: skip


def checks_options(command):
    """--engine / --spark-master: where the scope and the checks run."""
    return option_group(
        click.option("--engine", "check_engine", type=click.Choice(["duckdb", "spark"]),
                     default="duckdb", show_default=True,
                     help="Run the scope and the checks in DuckDB, or as Spark SQL on a "
                          "SparkSession (needs 'reconcile[spark]' and Java 17)."),
        click.option("--spark-master", default="local[2]", show_default=True, metavar="URL",
                     help="With --engine spark: local[N], or a cluster "
                          "(e.g. spark://host:7077)."),
        click.option("--spark-records", type=click.Path(file_okay=False, path_type=Path),
                     help="With --engine spark: write the records here as Parquet by night "
                          "(README, 'Data contract'), a folder every node of the cluster "
                          "reads at the same path, and keep them. Default: a temporary "
                          "folder (local mode, or a cluster on this machine)."),
    )(command)  # fmt: skip


def _engine(threads: int, memory_limit: str, temp_dir: Path | None) -> Engine:
    return Engine(threads=threads, memory_limit=memory_limit, temp_dir=temp_dir)


def _stages(quiet: bool) -> Stages:
    """Progress on stderr, only for a person at a terminal."""
    if quiet or not sys.stderr.isatty():
        return Stages()
    from rich.console import Console

    console = Console(stderr=True, log_path=False)
    return Stages(announce=lambda name: console.log(f"{name}…"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconcile")
def cli() -> None:
    """Reconcile a game provider's wallet calls against the aggregator's ledger."""


@cli.command()
@provider_inputs(required=True)
@window_options
@click.option(
    "--tolerance",
    default="0",
    show_default=True,
    callback=_tolerance,
    metavar="AMOUNT",
    help="Amount differences up to this are not amount_mismatch findings.",
)
@click.option(
    "--counterparty",
    "counterparties",
    multiple=True,
    metavar="ID",
    help="The provider's counterparty id(s). Default: those in its log.",
)
@output_options
@db_option("Keep records, runs and findings in this DuckDB file across nights.")
@click.option(
    "--recheck",
    is_flag=True,
    help="Check every record the store holds, not only what tonight's data can change.",
)
@engine_options
@checks_options
def run(provider, ledger, balances, tolerance, counterparties, recheck, **common) -> int:
    """Reconcile the provider's bets for one window and write the audit outputs.

    A bet belongs to the window of its first event on either side; give the
    inputs some data before the window (yesterday's bets) and after it (late
    settlements) so that those are understood, or keep a store with --db.

    \b
    Example:
      reconcile run --provider 'logs/provider/*.jsonl*' \\
          --ledger 'exports/ledger/*.csv*' --balances exports/balances.csv \\
          --date 2026-11-22 --grace 1h --out out/2026-11-22
    """
    inputs = {"provider": list(provider), "ledger": list(ledger), "balances": list(balances)}
    extra = {"tolerance": tolerance, "counterparties": list(counterparties), "recheck": recheck}
    return _run(_job("provider", inputs, common, **extra), common["quiet"])


@cli.command()
@cashback_inputs(required=True)
@window_options
@output_options
@db_option("Keep records, runs and findings in this DuckDB file (shared with 'run').")
@engine_options
@checks_options
def cashback(make, accept, **common) -> int:
    """Reconcile cashback make requests against the casino's accept calls.

    A cashback belongs to the window of its first make; an accept that is still
    due (make younger than 30 s plus --grace at the cutoff) is not missing.

    \b
    Example:
      reconcile cashback --make 'exports/cashback-make*.csv' \\
          --accept 'logs/accept/*.jsonl*' --date 2026-11-22 --out out/cashback-2026-11-22
    """
    inputs = {"make": list(make), "accept": list(accept)}
    return _run(_job("cashback", inputs, common), common["quiet"])


def _job(domain: str, inputs: dict, common: dict, **extra) -> Job:
    """A Job from the options every reconciling command shares."""
    return Job(
        domain=domain,
        inputs=inputs,
        window=make_window(
            day=common["day"], start=common["start"], end=common["end"],
            cutoff=common["cutoff"], grace=common["grace"],
        ),
        out=common["out"],
        fail_on=common["fail_on"],
        db=common["db"],
        stages=_stages(common["quiet"]),
        engine=_engine(common["threads"], common["memory_limit"], common["temp_dir"]),
        acks=common["acks"],
        check_engine=CheckEngine(common["check_engine"], common["spark_master"],
                                 common["spark_records"]),
        **extra,
    )  # fmt: skip


def _run(job: Job, quiet: bool) -> int:
    outcome = run_job(job)
    if outcome.warning:
        click.echo(f"reconcile: warning: {outcome.warning}", err=True)
    if not quiet:
        click.echo(
            f"{outcome.total_findings} finding(s)"
            + (f" and {outcome.late} late one(s) of earlier nights" if outcome.late else "")
            + f", {outcome.rejects} rejected record(s); "
            f"wrote {outcome.out} (exit {outcome.exit_status})"
        )
    return outcome.exit_status


def _selector(**given: str | None) -> tuple[str, str]:
    chosen = [(name, value) for name, value in given.items() if value]
    if len(chosen) != 1:
        names = ", ".join(f"--{name}" for name in given)
        raise click.UsageError(f"give exactly one of {names}")
    return chosen[0]


@cli.command()
@click.option("--bet", metavar="ID", help="A bet id (betId).")
@click.option("--tx", metavar="ID", help="An aggregator transaction id.")
@click.option("--request", metavar="ID", help="A provider request id (X-Request-Id).")
@click.option("--session", metavar="ID", help="A game session id.")
@click.option("--user", metavar="ID", help="A user id: the whole wallet.")
@click.option("--cashback", "cashback_id", metavar="ID", help="A cashback id (CashbackId).")
@db_option("Read the store written with --db.")
@provider_inputs(required=False)
@cashback_inputs(required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--limit", default=500, show_default=True, help="At most this many records.")
def trace(
    bet, tx, request, session, user, cashback_id, db, provider, ledger, balances, make, accept,
    fmt, limit,
) -> int:  # fmt: skip
    """Tell everything that happened to one id, on both sides, in time order.

    Each provider call (time, operation, request id, amounts, HTTP status,
    response code, transaction ids, balance, error), each booking (time, type,
    amount, balance before and after, transaction and request ids) with the
    call it matched and how, and the findings raised, with their state.
    Exit 0 when something is found, 1 when nothing has that id.

    \b
    Examples:
      reconcile trace --db recon.duckdb --bet 4178696881
      reconcile trace --provider 'logs/*.jsonl*' --ledger 'exports/*.csv*' --tx 389
      reconcile trace --db recon.duckdb --user u1001 --format json
      reconcile trace --make make.csv --accept 'accept/*.jsonl' --cashback 480
    """
    selector, value = _selector(
        bet=bet, tx=tx, request=request, session=session, user=user, cashback=cashback_id
    )
    files = {"provider": provider, "ledger": ledger, "balances": balances, "make": make,
             "accept": accept}  # fmt: skip
    story = pipeline.trace(selector, value, limit, db, files)
    if not story.found:
        click.echo(f"nothing found for {selector} {value!r}", err=True)
        return EXIT_NOT_FOUND
    if fmt == "json":
        click.echo(report.json_text(as_document(story)), nl=False)
    else:
        click.echo(render_text(story))
    return EXIT_OK


@cli.command()
@click.option(
    "--db",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The store written by 'reconcile run --db'.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("--last", default=30, show_default=True, help="Show the latest N runs.")
def history(db, fmt, last) -> int:
    """List the runs kept in a store, newest first, with their findings.

    \b
    Example:
      reconcile history --db recon.duckdb --format table
    """
    runs = pipeline.list_runs(db, last)
    if fmt == "json":
        click.echo(report.json_text({"runs": runs}), nl=False)
    elif fmt == "csv":
        stream = io.StringIO()
        report.write_csv_stream(
            stream, list(HISTORY_COLUMNS), ([r[c] for c in HISTORY_COLUMNS] for r in runs)
        )
        click.echo(stream.getvalue(), nl=False)
    else:
        from rich.console import Console

        Console().print(report.history_table(runs))
    return EXIT_OK


@cli.command()
@click.argument("finding_id")
@click.option("--owner", required=True, help="Who answers for it.")
@click.option("--reason", required=True, help="Why it is known and handled.")
@click.option("--ticket", help="The ticket that tracks it (e.g. FIN-123).")
@click.option(
    "--expires",
    metavar="YYYY-MM-DD",
    help="Last day the acknowledgement holds; it counts again after.",
)
@click.option(
    "--file",
    "acks_file",
    default="acks.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The acknowledgements file (created if missing).",
)
@db_option("The store that produced the finding: the id is checked against it.")
@click.option("--force", is_flag=True, help="Acknowledge an id that no run has produced.")
def ack(finding_id, owner, reason, ticket, expires, acks_file, db, force) -> int:
    """Acknowledge a known break: it stays listed but no longer fails the run.

    The entry records the finding's money at issue and how many calls and
    bookings its key has, so that a change of either reopens it.

    \b
    Example:
      reconcile ack 3f9a0c1b2d4e5f60 --owner alice --reason "refunded by hand" \\
          --ticket FIN-123 --expires 2026-12-31 --db recon.duckdb --file acks.yaml
    """
    entry = {"owner": owner, "reason": reason, "ticket": ticket, "expires": expires}
    pipeline.acknowledge(finding_id, entry, acks_file, db, force)
    click.echo(f"acknowledged {finding_id} in {acks_file}")
    return EXIT_OK


def _hint(exc: click.ClickException) -> str:
    """How to fix the usual cause of an error, where there is one: extra arguments
    are mostly an unquoted glob (``--provider logs/*.jsonl``) that the shell
    expanded into many file names."""
    if isinstance(exc, click.UsageError) and "unexpected extra argument" in exc.message:
        return (
            " (quote a file pattern so that reconcile expands it: --provider 'logs/*.jsonl';"
            " or repeat the option for each file)"
        )
    return ""


def _disk_full(exc: Exception) -> bool:
    """A full disk, from Python (ENOSPC) or from DuckDB (its message)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, duckdb.Error) and "No space left on device" in str(exc)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one line on stderr and an exit status."""
    try:
        status = cli.main(args=argv, prog_name="reconcile", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("reconcile: aborted", err=True)
        status = EXIT_ERROR
    except click.ClickException as exc:
        click.echo(f"reconcile: {exc.format_message()}{_hint(exc)}", err=True)
        status = EXIT_ERROR
    except InputError as exc:
        click.echo(f"reconcile: {exc}", err=True)
        status = EXIT_ERROR
    except duckdb.OutOfMemoryException as exc:  # the machine, not a bug: say what to change
        if os.environ.get("RECONCILE_DEBUG"):
            traceback.print_exc()
        reason = str(exc).splitlines()[0].removeprefix("Out of Memory Error: ")
        click.echo(
            f"reconcile: out of memory ({reason}); nothing was written and the store is "
            "unchanged: run again with a larger --memory-limit, or fewer --threads",
            err=True,
        )
        status = EXIT_INTERNAL
    except Exception as exc:  # a bug or the machine; never exit 1, which means "findings"
        if os.environ.get("RECONCILE_DEBUG"):
            traceback.print_exc()
        if _disk_full(exc):
            message = (
                "no space left on device; nothing was committed, the store is unchanged and "
                "no report was written: free disk space and run again"
            )
        else:
            message = (
                f"internal error: {type(exc).__name__}: {exc} "
                "(set RECONCILE_DEBUG=1 for the traceback)"
            )
        click.echo(f"reconcile: {message}", err=True)
        status = EXIT_INTERNAL
    sys.exit(status if isinstance(status, int) else 0)
