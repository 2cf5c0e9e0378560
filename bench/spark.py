"""The checks stage of one night on both engines (issue 14): DuckDB and Spark.

    .venv/bin/python bench/spark.py --bets 200000 [--master local[2]] [--write]

It generates the day once (``bench/bench.py``'s cache), runs ``reconcile run``
in this process on DuckDB and then on Spark (the SparkSession is started
before, and its start timed apart), checks that both find exactly the same
(``findings.csv`` byte for byte) and prints the ``checks`` stage of each
(``summary.json``'s ``stage_seconds``) and, for Spark, where the time went per
statement (``reconcile.spark.LAST_TIMINGS``).  ``--write`` replaces the
"Spark" section of ``bench/RESULTS.md`` with the result.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# The repo on the path, and not bench/ (Python puts the script's folder first):
# bench/profile.py would hide Python's profile module, which pyspark imports.
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from reconcile import spark  # noqa: E402
from reconcile.cli import main  # noqa: E402


def bench_module():
    """bench/bench.py (its day generator and helpers), loaded from its path."""
    found = importlib.util.spec_from_file_location("bench_bench", BENCH / "bench.py")
    module = importlib.util.module_from_spec(found)
    sys.modules["bench_bench"] = module  # its dataclasses look themselves up there
    found.loader.exec_module(module)
    return module


BENCHMARK = bench_module()
generated_day, inputs_of = BENCHMARK.generated_day, BENCHMARK.inputs_of
machine, option_values = BENCHMARK.machine, BENCHMARK.option_values

HEADING = "## Spark: the checks stage on both engines"


def run(folder: Path, out: Path, engine: list[str]) -> tuple[float, dict]:
    inputs = inputs_of(folder)
    args = ["run", *option_values("--provider", inputs["calls"]),
            *option_values("--ledger", inputs["ledger"]),
            *option_values("--balances", inputs["balances"]),
            "--out", str(out), "--quiet", *engine]  # fmt: skip
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(args)
    wall = time.perf_counter() - started
    return wall, json.loads((out / "summary.json").read_text())


def report(bets: int, master: str, start: float, results: dict, same: bool) -> str:
    duck, sparked = results["duckdb"][1], results["spark"][1]
    lines = [HEADING, "",
             f"`bench/spark.py --bets {bets} --master {master}` on {machine()}: one generated "
             f"day, `reconcile run` without a store, each engine in turn in one process. The "
             f"checks stage is the scope, every check, the rules across findings and the "
             f"register; on Spark it also writes the records as Parquet and reads the "
             f"findings back.", "",
             "| engine | checks stage | whole run | findings | same findings |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for name, (wall, summary) in results.items():
        lines.append(f"| {name} | {summary['stage_seconds']['checks']:.1f} s | {wall:.1f} s | "
                     f"{summary['findings']['total']} | {'yes' if same else 'NO'} |")  # fmt: skip
    ratio = sparked["stage_seconds"]["checks"] / duck["stage_seconds"]["checks"]
    lines += ["", f"Spark's checks stage is {ratio:.1f}x DuckDB's; starting the SparkSession "
              f"(not counted above) took {start:.1f} s.", "",
              "Spark, per statement (seconds; a statement that stores a table includes "
              "computing it):", "",
              "| seconds | file | statement |", "| --- | --- | --- |"]  # fmt: skip
    for file, head, seconds in spark.LAST_TIMINGS:
        lines.append(f"| {seconds:.2f} | `{file}` | `{head}` |")
    total = sum(seconds for _, _, seconds in spark.LAST_TIMINGS)
    lines += [f"| {total:.2f} | | all statements |", ""]
    groups: dict[str, float] = {}
    for file, _, seconds in spark.LAST_TIMINGS:
        group = "checks" if file.startswith("checks/") else file.split("/")[0].split(" ")[0]
        groups[group] = groups.get(group, 0) + seconds
    outside = sparked["stage_seconds"]["checks"] - total
    lines += ["Spark, by file: " + ", ".join(f"{name} {seconds:.1f} s"
                                             for name, seconds in groups.items())
              + f"; outside the statements (the records written as Parquet, results back "
              f"through Arrow, the register in DuckDB) {outside:.1f} s.", ""]  # fmt: skip
    return "\n".join(lines)


def write_results(text: str) -> None:
    path = BENCH / "RESULTS.md"
    current = path.read_text(encoding="utf-8")
    if HEADING in current:
        before, _, rest = current.partition(HEADING)
        after = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        current = before.rstrip("\n") + "\n\n" + text + after
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current, encoding="utf-8")


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bets", type=int, default=200_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    options = parser.parse_args()
    folder = generated_day(options.bets, "plain")
    started = time.perf_counter()
    spark.session(options.master)
    start = time.perf_counter() - started
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, engine in (
            ("duckdb", []),
            ("spark", ["--engine", "spark", "--spark-master", options.master]),
        ):
            results[name] = run(folder, Path(work) / name, engine)
        same = (Path(work) / "duckdb" / "findings.csv").read_bytes() == (
            Path(work) / "spark" / "findings.csv"
        ).read_bytes()
    text = report(options.bets, options.master, start, results, same)
    print(text)
    if options.write:
        write_results(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main_bench())
