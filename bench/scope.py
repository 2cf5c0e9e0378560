"""The scope stage on DuckDB alone, two versions of its SQL side by side.

    .venv/bin/python bench/scope.py --bets 200000 [--before 9f0252d] [--repeat 3]
        [--memory-limit 1GB] [--threads 2]

The day is ``bench/bench.py``'s (generated once under ``bench/cache/``), loaded
once into a store there (``reconcile run --db``, all of it checked).  Each
measurement is then a process of its own that opens that store, binds the
run's parameters, runs the whole focus and the hourly volume, and then, timed,
the provider's scope (``sql/scope.sql`` with ``sql/macros.sql``): ``after`` is
the working tree's, ``before`` the files at the ``--before`` revision (git).
It prints the scope's wall time and the process's peak RSS (its own, from
``getrusage``, taken before and after the scope), interleaved version by
version, and whether both versions built the same tables (a hash of every row
of ``bet_facts``, ``booking_match`` and ``call_match``).  Nothing is committed:
the store is left as loaded.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

#: What the scope builds that the checks read, compared between versions.
COMPARED = ("bet_facts", "booking_match", "call_match")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(store_path: Path, day: Path, scope_text: str, macros_text: str, memory: str,
          threads: int) -> dict:  # fmt: skip
    """One measurement, in this process (a fresh one)."""
    import duckdb

    from reconcile import checks, store
    from reconcile.resources import sql
    from reconcile.window import Window, parse_duration, parse_instant

    expected = json.loads((day / "expected.json").read_text(encoding="utf-8"))
    window = Window(parse_instant(expected["window_from"], "from"),
                    parse_instant(expected["window_to"], "to"),
                    parse_instant(expected["cutoff"], "cutoff"),
                    parse_duration(expected["grace"], "grace"))  # fmt: skip
    with tempfile.TemporaryDirectory(dir=store_path.parent) as scratch:
        engine = store.Engine(threads, memory, Path(scratch))
        con = store.open_store(store_path, engine=engine)
        con.execute(macros_text)
        checks.bind_parameters(con, window, 0, checks.provider_counterparties(con))
        checks.focus(checks.DuckDBRunner(con), None)
        con.execute(sql("hourly_volume"))
        before = peak_rss_mb()
        steps = {}
        for statement in re.split(r";[ \t]*\n", scope_text):  # as checks.run_sql ends them
            if not statement.strip() or not re.search(r"^(?!\s*--)\s*\S", statement, re.M):
                continue
            started = time.perf_counter()
            table = re.search(r"(?:TABLE|MACRO|INTO)\s+(\w+)", statement)
            key = table[1] if table else statement.split()[0]
            try:
                checks.run_sql(con, statement)
            except duckdb.Error as error:  # which statement, in the table's last line
                raise SystemExit(f"{key}: {str(error).splitlines()[0]}") from None
            steps[key] = steps.get(key, 0) + time.perf_counter() - started
        seconds = sum(steps.values())
        after = peak_rss_mb()
        digest = {table: con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} t").fetchall()[0]
                  for table in COMPARED}  # fmt: skip
        con.close()
    return {"seconds": seconds, "steps": steps, "rss_before_mb": before, "rss_peak_mb": after,
            "digest": {k: [str(v) for v in row] for k, row in digest.items()}}  # fmt: skip


def findings_note():
    from reconcile.findings import IN_PARTS

    return IN_PARTS


def at_revision(revision: str, path: str) -> str:
    return subprocess.run(["git", "show", f"{revision}:{path}"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def bench_module():
    """bench/bench.py (its day generator), loaded from its path."""
    found = importlib.util.spec_from_file_location("bench_bench", BENCH / "bench.py")
    module = importlib.util.module_from_spec(found)
    sys.modules["bench_bench"] = module  # its dataclasses look themselves up there
    found.loader.exec_module(module)
    return module


def loaded_store(reconcile: Path, bets: int, day: Path) -> Path:
    """The day loaded once into a store beside it (all of it checked once)."""
    path = day.parent / f"store-{bets}.duckdb"
    if path.exists():
        return path
    expected = json.loads((day / "expected.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as out:
        command = [str(reconcile), "run", "--quiet", "--db", str(path),
                   "--provider", str(day / "calls.jsonl"), "--ledger", str(day / "ledger.csv"),
                   "--balances", str(day / "balances.csv"), "--from", expected["window_from"],
                   "--to", expected["window_to"], "--cutoff", expected["cutoff"],
                   "--grace", expected["grace"], "--out", str(Path(out) / "out")]  # fmt: skip
        done = subprocess.run(command, cwd=REPO)
    if done.returncode not in (0, 1):
        path.unlink(missing_ok=True)
        raise SystemExit(f"loading the store failed ({done.returncode})")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bets", type=int, default=200_000)
    parser.add_argument("--before", default="9f0252d", help="git revision of the 'before' SQL")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--whole",
        action="store_true",
        help="also 'whole': after's SQL without its '-- duckdb: in N parts' note",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=("before", "after", "whole"),
        help="measure only this version (repeatable)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:  # one measurement: its arguments as JSON on the command line
        job = json.loads(options.child)
        print(json.dumps(child(Path(job["store"]), Path(job["day"]), job["scope"], job["macros"],
                               job["memory"], job["threads"])))  # fmt: skip
        return 0

    bench = bench_module()
    day = bench.generated_day(options.bets, "plain")
    store_path = loaded_store(bench.RECONCILE, options.bets, day)
    versions = {
        "before": (at_revision(options.before, "sql/scope.sql"),
                   at_revision(options.before, "sql/macros.sql")),
        "after": ((REPO / "sql/scope.sql").read_text(), (REPO / "sql/macros.sql").read_text()),
    }  # fmt: skip
    if options.whole:  # the noted statement as written, one join (as Spark runs it)
        versions["whole"] = (findings_note().sub("", versions["after"][0]), versions["after"][1])
    if options.only:
        versions = {name: versions[name] for name in options.only}
    results: dict[str, list[dict]] = {name: [] for name in versions}
    for _ in range(options.repeat):
        for name, (scope_text, macros_text) in versions.items():
            job = json.dumps({"store": str(store_path), "day": str(day), "scope": scope_text,
                              "macros": macros_text, "memory": options.memory_limit,
                              "threads": options.threads})  # fmt: skip
            done = subprocess.run([sys.executable, __file__, "--child", job], cwd=REPO,
                                  capture_output=True, text=True)  # fmt: skip
            if done.returncode != 0:
                print(f"{name}: failed\n{done.stderr[-3000:]}", flush=True)
                results[name].append({"failed": done.stderr.strip().splitlines()[-1]})
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[name].append(result)
            print(f"{name}: scope {result['seconds']:.2f} s, peak RSS "
                  f"{result['rss_peak_mb']:,.0f} MB (before the scope "
                  f"{result['rss_before_mb']:,.0f} MB)", flush=True)  # fmt: skip
    print(f"\n`bench/scope.py --bets {options.bets} --before {options.before} --memory-limit "
          f"{options.memory_limit} --threads {options.threads}`\n")  # fmt: skip
    print("| SQL | scope (s), each run | median | peak RSS (MB), each run |")
    print("| --- | --- | --- | --- |")
    for name, runs in results.items():
        good = [r for r in runs if "seconds" in r]
        seconds = ", ".join(f"{r['seconds']:.2f}" if "seconds" in r else "failed" for r in runs)
        rss = ", ".join(f"{r['rss_peak_mb']:,.0f}" if "seconds" in r else "-" for r in runs)
        median = f"{statistics.median(r['seconds'] for r in good):.2f}" if good else "-"
        print(f"| {name} | {seconds} | {median} | {rss} |")
    steps = sorted({s for runs in results.values() for r in runs for s in r.get("steps", {})})
    print("\nmedian seconds per statement (the largest):\n")
    print("| statement | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    medians = {name: {s: statistics.median(r["steps"][s] for r in runs if s in r.get("steps", {}))
                      for s in steps if any(s in r.get("steps", {}) for r in runs)}
               for name, runs in results.items()}  # fmt: skip
    for s in sorted(steps, key=lambda s: -max(m.get(s, 0) for m in medians.values()))[:8]:
        print(f"| `{s}` | " + " | ".join(f"{m[s]:.2f}" if s in m else "-"
                                          for m in medians.values()) + " |")  # fmt: skip
    digests = {json.dumps(r["digest"]) for runs in results.values() for r in runs if "digest" in r}
    print(f"\nsame tables in every run: {'yes' if len(digests) == 1 else 'NO'}")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
