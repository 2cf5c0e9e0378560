"""Where a nightly run spends its time: each load step and SQL statement, timed.

    .venv/bin/python bench/profile.py bench/cache/bets-1000000 [--memory-limit 1GB]

Loads a day that ``bench/bench.py`` generated into a new store (in a scratch
folder, removed afterwards) the way ``reconcile run`` does, but one step at a
time: each file's landing, each statement of ``sql/normalise_*.sql``, the
commit of the load, then what ``checks.find`` does for a first night of a
store (the whole store is checked): the focus tables, each statement of the
hourly volume and of the provider's scope, each check, the rules across
findings, the matches kept for ``trace``, the finding ids, and the register
(``store.record_findings``).  Prints seconds per step, slowest first, and the
process's CPU time beside the wall time (two cores busy show as 2x).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
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
        cpu_total = sum(step[1] for step in self.steps)
        lines = [f"{'wall':>7}  {'cpu':>7}  {'cpu/wall':>8}  {'share':>5}  step"]
        for wall, cpu, label in sorted(self.steps, reverse=True):
            lines.append(f"{wall:6.2f}s  {cpu:6.2f}s  {cpu / wall if wall else 0:7.1f}x  "
                         f"{100 * wall / total:4.1f}%  {label}")  # fmt: skip
        lines.append(f"{total:6.2f}s  {cpu_total:6.2f}s  total")
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


def profile_checks(con, timer: Timer, window: Window, run: store.RunRecord) -> None:
    """``checks.find`` and ``store.record_findings`` for a first night (everything
    up to the cutoff is checked), one statement at a time."""
    domain = checks.DOMAINS["provider"]
    counterparties = checks.provider_counterparties(con)
    checks.bind_parameters(con, window, Decimal(0), counterparties)
    con.execute(f"CREATE OR REPLACE TEMP TABLE all_findings ({checks.FINDING_COLUMNS})")
    timer.sql_file(con, "focus/whole")
    timer.sql_file(con, domain.volume)
    con.execute("CREATE OR REPLACE TEMP TABLE check_severity (code VARCHAR, severity VARCHAR)")
    con.executemany("INSERT INTO check_severity VALUES (?, ?)",
                    [[c.code, c.severity] for c in checks.CHECKS.values()])  # fmt: skip
    timer.sql_file(con, domain.scope)
    for name in domain.check_files:
        query = f"INSERT INTO all_findings BY NAME {checks.CHECK_QUERY.format(sql(name))}"
        timer(name, lambda q=query: con.execute(q))
    timer("totals", lambda: con.execute(
        f"CREATE OR REPLACE TEMP TABLE run_totals AS {sql(domain.totals)}"))  # fmt: skip
    for name in domain.after_checks:
        timer.sql_file(con, name)
    con.execute("SET VARIABLE domain = ?", [domain.name])  # sql/remember_matches.sql reads it
    timer.sql_file(con, domain.remember)
    timer("finding ids", lambda: con.execute(
        """UPDATE all_findings SET finding_id = finding_id("check", bet_id, transaction_id,
               cashback_id, transaction_type, user_id, key_extra)"""))  # fmt: skip
    timer.sql_file(con, "distinct_finding_ids")
    timer("findings of the window", lambda: con.execute(
        """CREATE OR REPLACE TEMP TABLE window_findings AS
           SELECT f.* EXCLUDE (key_extra) FROM all_findings f CROSS JOIN run_params p
           WHERE f.anchor_at IS NULL
              OR ((p.window_start IS NULL OR f.anchor_at >= p.window_start)
                  AND (p.window_end IS NULL OR f.anchor_at < p.window_end))"""))  # fmt: skip
    timer("register (store.record_findings)", lambda: store.record_findings(
        con, run, window, Decimal(0), counterparties, list(domain.inputs)))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("day", type=Path, help="a folder bench/bench.py generated")
    parser.add_argument("--memory-limit", default=store.Engine.memory_limit)
    parser.add_argument("--threads", type=int, default=store.machine_cores())
    args = parser.parse_args()
    expected = json.loads((args.day / "expected.json").read_text(encoding="utf-8"))
    # the window bench.py gives the run
    window = Window(
        parse_instant(expected["window_from"], "from"),
        parse_instant(expected["window_to"], "to"),
        parse_instant(expected["cutoff"], "cutoff"),
        parse_duration(expected["grace"], "grace"),
    )
    timer = Timer()
    with tempfile.TemporaryDirectory(dir=args.day.parent) as scratch:
        engine = store.Engine(args.threads, args.memory_limit, Path(scratch))
        con = store.open_store(Path(scratch) / "store.duckdb", engine=engine)
        record = store.begin_run(con, "provider", window)
        profile_load(con, timer, args.day, record.run_id)
        timer("commit the load", lambda: store.commit_load(con))  # as reconcile run does
        profile_checks(con, timer, window, record)
        found = con.execute("SELECT count(*) FROM findings").fetchall()[0][0]
        print(f"{found:,} findings in the window (expected.json: {len(expected['findings']):,})")
        con.execute("ROLLBACK")
        con.close()
    print(timer.report())


if __name__ == "__main__":
    main()
