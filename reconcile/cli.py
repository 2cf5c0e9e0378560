"""Stage 5, the command line: options, wiring, and errors turned into messages.

Exit statuses: 0 no finding at or above ``--fail-on``; 1 some; 2 a usage or
input error (one line on stderr, nothing written that looks like a report);
3 an internal failure (a bug or the machine: out of disk, out of memory).
"""

from __future__ import annotations

import os
import sys
import traceback
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from reconcile import __version__
from reconcile.errors import InputError
from reconcile.findings import SEVERITIES
from reconcile.pipeline import EXIT_ERROR, ProviderRun, Stages, run_provider
from reconcile.window import make_window

EXIT_INTERNAL = 3


def _tolerance(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        tolerance = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a decimal amount") from None
    if not tolerance.is_finite() or tolerance < 0:
        raise click.BadParameter(f"{value!r} must be a non-negative amount")
    return tolerance


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
    for option in reversed(options):
        command = option(command)
    return command


def output_options(command):
    """--out / --fail-on / --quiet, shared by every reconciling command."""
    options = [
        click.option(
            "--out",
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
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
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _stages(quiet: bool) -> Stages:
    """Progress on stderr, only for a person at a terminal."""
    if quiet or not sys.stderr.isatty():
        return Stages()
    from rich.console import Console

    console = Console(stderr=True)
    return Stages(announce=lambda name: console.log(f"{name}…"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconcile")
def cli() -> None:
    """Reconcile a game provider's wallet calls against the aggregator's ledger."""


@cli.command()
@click.option(
    "--provider",
    multiple=True,
    required=True,
    metavar="PATH|GLOB",
    help="Provider call log: JSON Lines or flat CSV, .gz allowed. Repeat for more; quote globs.",
)
@click.option(
    "--ledger",
    multiple=True,
    required=True,
    metavar="PATH|GLOB",
    help="Aggregator wallet ledger: CSV (.gz allowed) or Parquet. Repeat for more.",
)
@click.option(
    "--balances",
    multiple=True,
    metavar="PATH|GLOB",
    help="Wallet balance snapshots CSV (user_id, currency, balance, as_of). Optional.",
)
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
def run(
    provider, ledger, balances, day, start, end, cutoff, grace, tolerance, counterparties,
    out, fail_on, quiet,
) -> int:  # fmt: skip
    """Reconcile one window and write the audit outputs.

    A bet belongs to the window of its first event on either side; give the
    inputs some data before the window (yesterday's bets) and after it (late
    settlements) so that those are understood.

    \b
    Example:
      reconcile run --provider 'logs/provider/*.jsonl*' \\
          --ledger 'exports/ledger/*.csv*' --balances exports/balances.csv \\
          --date 2026-11-22 --grace 1h --out out/2026-11-22
    """
    options = ProviderRun(
        provider=list(provider),
        ledger=list(ledger),
        balances=list(balances),
        window=make_window(day=day, start=start, end=end, cutoff=cutoff, grace=grace),
        out=out,
        tolerance=tolerance,
        counterparties=list(counterparties),
        fail_on=fail_on,
        grace_text=grace,
        progress=_stages(quiet),
    )
    outcome = run_provider(options)
    if not quiet:
        click.echo(
            f"{outcome.findings} finding(s), {outcome.rejects} rejected record(s); "
            f"wrote {outcome.out} (exit {outcome.exit_status})"
        )
    return outcome.exit_status


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one line on stderr and an exit status."""
    try:
        status = cli.main(args=argv, prog_name="reconcile", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("reconcile: aborted", err=True)
        status = EXIT_ERROR
    except click.ClickException as exc:
        click.echo(f"reconcile: {exc.format_message()}", err=True)
        status = EXIT_ERROR
    except InputError as exc:
        click.echo(f"reconcile: {exc}", err=True)
        status = EXIT_ERROR
    except Exception as exc:  # a bug or the machine; never exit 1, which means "findings"
        if os.environ.get("RECONCILE_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"reconcile: internal error: {type(exc).__name__}: {exc} "
            "(set RECONCILE_DEBUG=1 for the traceback)",
            err=True,
        )
        status = EXIT_INTERNAL
    sys.exit(status if isinstance(status, int) else 0)
