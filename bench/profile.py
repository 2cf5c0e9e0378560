"""Where a nightly run spends its time: each load step and SQL statement, timed.

    .venv/bin/python bench/profile.py bench/cache/bets-1000000 [--memory-limit 1GB]

Loads a day that ``bench/bench.py`` generated into a new store (in a scratch
folder, removed afterwards) the way ``reconcile run`` does, but one step at a
time: each file's landing, each statement of ``sql/normalise_*.sql``, then each
statement of the provider's scope, each check, and what follows the checks.
Prints seconds per step, slowest first, and the process's CPU time beside the
wall time (two cores busy show as 2x).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reconcile import checks, load, store
from reconcile.resources import sql
from reconcile.window import Window, parse_duration, parse_instant

STATEMENT_END = re.compile(r";\s*\n")


def statements(text: str) -> list[str]:
    """A SQL file's statements (the files end each one with ``;`` at a line end)."""
    parts = (part.strip() for part in STATEMENT_END.split(text + "\n"))
    return [part for part in parts if part and not _all_comment(part)]


def _all_comment(part: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in part.splitlines())


def first_words(statement: str) -> str:
    code = " ".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
    return " ".join(code.split())[:64]


class Timer:
    def __init__(self) -> None:
        self.steps: list[tuple[float, float, str]] = []

    def __call__(self, label: str, work: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        self.steps.append((time.perf_counter() - wall, time.process_time() - cpu, label))
        print(f"{self.steps[-1][0]:7.2f} s  {label}", flush=True)

    def sql_file(self, con, name: str, text: str | None = None) -> None:
        for statement in statements(text or sql(name)):
            self(f"{name}: {first_words(statement)}", lambda s=statement: con.execute(s))

    def report(self) -> str:
        total = sum(step[0] for step in self.steps)
        lines = [f"{'wall':>7}  {'cpu':>6}  {'share':>5}  step"]
        for wall, cpu, label in sorted(self.steps, reverse=True):
            lines.append(f"{wall:6.2f}s  {cpu / wall if wall else 0:5.1f}x  "
                         f"{100 * wall / total:4.1f}%  {label}")  # fmt: skip
        lines.append(f"{total:6.2f}s  total")
        return "\n".join(lines)


def profile_load(con, timer: Timer, day: Path, run_id: int) -> None:
    inputs = {"provider": [next(day.glob("calls.*"))], "ledger": [next(day.glob("ledger.*"))],
              "balances": [day / "balances.csv"]}  # fmt: skip
    sources = []
    timer("checksums", lambda: sources.extend(load.plan_sources(con, inputs, run_id)))
    load.create_landing_tables(con)
    for source in sources:
        timer(f"land {source.path.name}", lambda s=source: load.land_files(con, [s]))
        kind = load.KINDS[source.kind]
        timer.sql_file(con, kind.normalise, load.normalise_sql(kind))
        if kind.slices:
            timer(f"store {kind.slices[0]}", lambda k=kind: load._store_in_slices(con, *k.slices))


def profile_checks(con, timer: Timer, window: Window) -> None:
    domain = checks.DOMAINS["provider"]
    checks.bind_parameters(con, window, 0, checks.provider_counterparties(con))
    timer.sql_file(con, domain.scope)
    for name in domain.check_files:
        timer(name, lambda n=name: con.execute(f"CREATE OR REPLACE TEMP TABLE f AS {sql(n)}"))
    con.execute("SET VARIABLE domain = ?", [domain.name])  # sql/remember_matches.sql reads it
    timer.sql_file(con, domain.remember)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("day", type=Path, help="a folder bench/bench.py generated")
    parser.add_argument("--memory-limit", default=store.Engine.memory_limit)
    parser.add_argument("--threads", type=int, default=store.machine_cores())
    parser.add_argument("--commit-load", action="store_true",
                        help="commit the loaded records before the checks (reconcile run does "
                        "not: a run is one transaction)")  # fmt: skip
    args = parser.parse_args()
    expected = json.loads((args.day / "expected.json").read_text(encoding="utf-8"))
    window = Window(None, None, parse_instant(expected["cutoff"], "cutoff"),
                    parse_duration(expected["grace"], "grace"))  # fmt: skip
    timer = Timer()
    with tempfile.TemporaryDirectory(dir=args.day.parent) as scratch:
        engine = store.Engine(args.threads, args.memory_limit, Path(scratch))
        con = store.open_store(Path(scratch) / "store.duckdb", engine=engine)
        record = store.begin_run(con, "provider", window)
        profile_load(con, timer, args.day, record.run_id)
        if args.commit_load:
            timer("commit the load", lambda: (con.execute("COMMIT"), con.execute("BEGIN")))
        profile_checks(con, timer, window)
        con.execute("ROLLBACK")
        con.close()
    print(timer.report())


if __name__ == "__main__":
    main()
