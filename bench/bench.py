"""Benchmark of a nightly run against a raw DuckDB scan of the same files (issue 7).

    .venv/bin/python bench/bench.py --bets 200000 [--bets 1000000 ...] [--form half-gzip]

For each size it generates one simulated day with the repo's generator
(``python -m simulate.provider``; cached under ``bench/cache/``) in the form
asked (``FORMS``: ``half-gzip`` is the yardstick issue 7 describes, half of the
day's records gzipped), then measures, each in its own process so that its peak
RSS is its own:

* the baseline: DuckDB with its default settings reading the same files into
  tables with its own readers (``read_json`` / ``read_csv``, types guessed, no
  field extraction of ours, no checks) and joining calls to bookings once
  (median of 3);
* ``reconcile run ... --db`` with its default settings;
* ``reconcile trace --db ... --bet ID`` on the resulting store (process start
  included), the median of a few.

Each process's wall time, peak RSS and CPU seconds (user + system, its
threads and children included) come from ``wait4``.  ``--reconcile PATH``
(repeatable) runs another install's ``reconcile`` after the same baseline, in
the order given: the way to compare code before and after a change on a
machine whose speed moves between runs.

It checks that the run's findings are exactly the generator's expected.json and
prints a table; ``--json FILE`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PYTHON = Path(sys.executable)
RECONCILE = PYTHON.parent / "reconcile"
TRACE_REPEATS = 5
BASELINE_REPEATS = 3  # the baseline is short: its median is steadier than one run

BASELINE = """
import json, sys, duckdb
files = json.loads(sys.argv[1])
con = duckdb.connect()  # in memory, DuckDB's default settings
con.execute("CREATE TABLE calls AS SELECT * FROM read_json(?)", [files["calls"]])
con.execute("CREATE TABLE bookings AS SELECT * FROM read_csv(?)", [files["ledger"]])
con.execute("CREATE TABLE balances AS SELECT * FROM read_csv(?)", [files["balances"]])
joined = con.execute(
    "SELECT count(*) FROM calls c JOIN bookings b "
    "ON CAST(b.bet_id AS VARCHAR) = CAST(c.request.body.betId AS VARCHAR)"
).fetchall()[0][0]
print(joined)
"""


@dataclass
class Measured:
    wall_s: float
    peak_rss_mb: float
    exit_status: int
    cpu_s: float = 0.0  # user + system


@dataclass
class Result:
    bets: int
    form: str
    calls: int
    bookings: int
    input_mb: float
    baseline: Measured
    run: Measured
    stage_seconds: dict
    findings: int
    expected_findings: int
    findings_exact: bool
    difference: str
    trace_median_s: float
    trace_runs_s: list = field(default_factory=list)
    store_mb: float = 0.0
    settings: str = "defaults"  # of the run
    reconcile: str = ""  # the executable that ran, when --reconcile named it

    @property
    def ratio(self) -> float:
        return self.run.wall_s / self.baseline.wall_s


def measure(command: list[str], **kwargs) -> tuple[Measured, str]:
    """Run a command; its wall time and its own peak RSS (wait4 rusage)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(round(wall, 2), round(usage.ru_maxrss / 1024, 1), process.returncode,
                    round(cpu, 2)), text  # fmt: skip


FORMS = {
    "plain": "JSON Lines and CSV, uncompressed",
    "gzip": "JSON Lines and CSV, gzipped",
    "half-gzip": "each of the provider log and the ledger in two files, one of them gzipped "
    "(issue 7's yardstick)",
}


def generated_day(bets: int, form: str) -> Path:
    """The simulated day, generated once per size and form (bench/cache is git-ignored)."""
    if form == "half-gzip":
        return half_gzipped(generated_day(bets, "plain"))
    folder = BENCH / "cache" / f"bets-{bets}{'-gz' if form == 'gzip' else ''}"
    if not (folder / "expected.json").exists():  # written last by the generator
        print(f"generating {bets} bets into {folder} (once) ...", file=sys.stderr)
        command = [str(PYTHON), "-m", "simulate.provider", "--out", str(folder),
                   "--bets", str(bets)] + (["--gzip"] if form == "gzip" else [])  # fmt: skip
        subprocess.run(command, check=True, cwd=REPO)
    return folder


def half_gzipped(plain: Path) -> Path:
    """The plain day with the provider log and the ledger each cut in two at half
    their records, the second half gzipped (a CSV half keeps the header)."""
    folder = plain.with_name(plain.name + "-half-gz")
    if (folder / "expected.json").exists():  # written last
        return folder
    folder.mkdir(exist_ok=True)
    for name, header in (("calls.jsonl", False), ("ledger.csv", True)):
        stem, suffix = name.split(".")
        with open(plain / name, "rb") as whole:
            lines = sum(1 for _ in whole) - header
            whole.seek(0)
            first = whole.readline() if header else b""
            with open(folder / f"{stem}-1.{suffix}", "wb") as half:
                half.write(first)
                half.writelines(itertools.islice(whole, lines // 2))
            with gzip.open(folder / f"{stem}-2.{suffix}.gz", "wb", compresslevel=6) as half:
                half.write(first)
                shutil.copyfileobj(whole, half)
    shutil.copy(plain / "balances.csv", folder / "balances.csv")
    shutil.copy(plain / "expected.json", folder / "expected.json")
    return folder


def inputs_of(folder: Path) -> dict[str, list[Path]]:
    return {kind: sorted(folder.glob(f"{kind}*.*")) for kind in ("calls", "ledger", "balances")}


def option_values(option: str, paths: list[Path]) -> list[str]:
    return [text for path in paths for text in (option, str(path))]


def finding_keys(rows) -> set[tuple]:
    return {
        (r["check"], r["bet_id"] or None, r["transaction_id"] or None, r["user_id"] or None,
         Decimal(r["amount"]).quantize(Decimal("0.00000001")))
        for r in rows
    }  # fmt: skip


def compare_findings(out: Path, expected: dict) -> tuple[bool, int, str]:
    with open(out / "findings.csv", encoding="utf-8", newline="") as stream:
        actual = finding_keys(csv.DictReader(stream))
    wanted = finding_keys(expected["findings"])
    missed, extra = wanted - actual, actual - wanted
    text = "" if not (missed or extra) else (
        f"{len(missed)} missed (e.g. {sorted(missed, key=str)[:2]}), "
        f"{len(extra)} not expected (e.g. {sorted(extra, key=str)[:2]})"
    )  # fmt: skip
    return not missed and not extra, len(actual), text


def bench(
    bets: int, form: str, work: Path, settings: list[str], programs: list[Path]
) -> list[Result]:
    """The baseline, then each program's run and traces, in turn."""
    folder = generated_day(bets, form)
    files = inputs_of(folder)
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    calls, bookings = (
        sum(c["rows_in"] for name, c in expected["files"].items() if name.startswith(kind))
        for kind in ("calls", "ledger")
    )
    input_mb = sum(p.stat().st_size for paths in files.values() for p in paths) / 2**20
    names = json.dumps({kind: [str(p) for p in paths] for kind, paths in files.items()})

    baselines = []
    for _ in range(BASELINE_REPEATS):
        measured, text = measure([str(PYTHON), "-c", BASELINE, names])
        if measured.exit_status != 0:
            raise SystemExit(f"baseline failed:\n{text}")
        baselines.append(measured)
    baseline = sorted(baselines, key=lambda m: m.wall_s)[len(baselines) // 2]
    return [
        run_one(program, bets, form, work, settings, files, expected, baseline, calls, bookings,
                input_mb)
        for program in programs
    ]  # fmt: skip


def run_one(
    program: Path, bets: int, form: str, work: Path, settings: list[str], files: dict,
    expected: dict, baseline: Measured, calls: int, bookings: int, input_mb: float,
) -> Result:  # fmt: skip
    store, out = work / f"store-{bets}.duckdb", work / f"out-{bets}"
    for stale in (store, Path(f"{store}.wal")):
        stale.unlink(missing_ok=True)
    run, text = measure(
        [str(program), "run", "--quiet", "--db", str(store),
         *option_values("--provider", files["calls"]),
         *option_values("--ledger", files["ledger"]),
         *option_values("--balances", files["balances"]),
         "--from", expected["window_from"], "--to", expected["window_to"],
         "--cutoff", expected["cutoff"], "--grace", expected["grace"], "--out", str(out),
         *settings],
        cwd=work,
    )  # fmt: skip
    if run.exit_status not in (0, 1):
        raise SystemExit(
            f"reconcile run failed ({run.exit_status}) after {run.wall_s} s, "
            f"peak RSS {run.peak_rss_mb:,.0f} MB:\n{text}"
        )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    exact, found, difference = compare_findings(out, expected)

    bet = next(f["bet_id"] for f in expected["findings"] if f["bet_id"])
    traces = []
    for _ in range(TRACE_REPEATS):
        traced, text = measure([str(program), "trace", "--db", str(store), "--bet", bet])
        if traced.exit_status != 0:
            raise SystemExit(f"reconcile trace failed ({traced.exit_status}):\n{text}")
        traces.append(traced.wall_s)

    return Result(
        bets=bets, form=form, calls=calls, bookings=bookings, input_mb=round(input_mb, 1),
        baseline=baseline, run=run, stage_seconds=summary["stage_seconds"],
        findings=found, expected_findings=len(expected["findings"]), findings_exact=exact,
        difference=difference, trace_median_s=statistics.median(traces), trace_runs_s=traces,
        store_mb=round(store.stat().st_size / 2**20, 1), settings=" ".join(settings) or "defaults",
        reconcile="" if program == RECONCILE else str(program),
    )  # fmt: skip


def machine() -> str:
    import duckdb

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"{memory:.0f} GiB RAM; Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}")  # fmt: skip


def table(results: list[Result]) -> str:
    """A Markdown table, one column per size."""
    rows = [
        ("bets", lambda r: f"{r.bets:,}{'' if r.form == 'plain' else f' ({r.form})'}"),
        ("reconcile", lambda r: r.reconcile or "this checkout"),
        ("calls + bookings", lambda r: f"{r.calls:,} + {r.bookings:,}"),
        ("input on disk", lambda r: f"{r.input_mb:,.0f} MB"),
        ("baseline: wall (median of 3)", lambda r: f"{r.baseline.wall_s:.1f} s"),
        ("baseline: peak RSS", lambda r: f"{r.baseline.peak_rss_mb:,.0f} MB"),
        ("run: settings", lambda r: r.settings),
        ("run: wall", lambda r: f"{r.run.wall_s:.1f} s"),
        ("run / baseline", lambda r: f"{r.ratio:.2f}x"),
        ("run: CPU (user + system)", lambda r: f"{r.run.cpu_s:.1f} s"),
        ("baseline: CPU", lambda r: f"{r.baseline.cpu_s:.1f} s"),
        ("run: peak RSS", lambda r: f"{r.run.peak_rss_mb:,.0f} MB"),
        ("load: s, rows/s", lambda r: stage(r, "load")),
        ("checks: s, rows/s", lambda r: stage(r, "checks")),
        ("rest: start, outputs, commit",
         lambda r: f"{r.run.wall_s - sum(r.stage_seconds.values()):.1f} s"),
        ("store file", lambda r: f"{r.store_mb:,.0f} MB"),
        ("findings = expected.json",
         lambda r: f"{'yes' if r.findings_exact else 'NO'} ({r.findings:,})"),
        ("trace --bet, median of 5", lambda r: f"{r.trace_median_s:.2f} s"),
    ]  # fmt: skip
    cells = [[name, *(get(r) for r in results)] for name, get in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]

    def line(row: list[str]) -> str:
        first, *rest = row
        return "| " + " | ".join([first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]) + " |"  # fmt: skip

    separator = "|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]])
    return "\n".join([line(cells[0]), separator + "|", *(line(row) for row in cells[1:])])


def stage(result: Result, name: str) -> str:
    seconds = result.stage_seconds.get(name)
    if not seconds:
        return "-"
    return f"{seconds:.1f} s, {(result.calls + result.bookings) / seconds:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bets", type=int, action="append", help="repeat for several sizes")
    parser.add_argument(
        "--form",
        choices=FORMS,
        default="plain",
        help="; ".join(f"{name}: {text}" for name, text in FORMS.items()),
    )
    parser.add_argument("--memory-limit", help="give the run this --memory-limit")
    parser.add_argument("--threads", type=int, help="give the run this --threads")
    parser.add_argument("--work", type=Path, default=BENCH / "out", help="stores and outputs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--reconcile", type=Path, action="append",
                        help="run this reconcile executable (repeat to compare installs, each "
                        "after the same baseline, in the order given; default: this "
                        "checkout's)")  # fmt: skip
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for bets in args.bets or [200_000]:
        settings = ["--memory-limit", args.memory_limit] if args.memory_limit else []
        settings += ["--threads", str(args.threads)] if args.threads else []
        programs = [p.resolve() for p in args.reconcile] if args.reconcile else [RECONCILE]
        for result in bench(bets, args.form, args.work.resolve(), settings, programs):
            results.append(result)
            print(
                f"{bets:,} bets, {result.reconcile or 'this checkout'}: run "
                f"{result.run.wall_s:.1f} s ({result.ratio:.2f}x baseline "
                f"{result.baseline.wall_s:.1f} s), {result.run.cpu_s:.1f} s CPU, "
                f"{result.run.peak_rss_mb:,.0f} MB; findings "
                f"{'exact' if result.findings_exact else 'DIFFER: ' + result.difference}",
                file=sys.stderr,
            )
    print(f"machine: {machine()}")
    print(f"load average before the last run: {os.getloadavg()[0]:.2f}")
    print(table(results))
    for result in results:
        if not result.findings_exact:
            print(f"{result.bets:,} bets: findings differ from expected.json: {result.difference}")
    if args.json:
        args.json.write_text(
            json.dumps([asdict(r) | {"ratio": r.ratio} for r in results], indent=1),
            encoding="utf-8",
        )
    return 0 if all(r.findings_exact for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
