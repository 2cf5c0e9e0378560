"""The Spark engine (issue 14): the same SQL files, run as Spark SQL, give DuckDB's
findings exactly, every column, on the fixtures, on a generated day in every
input form, and on a standalone cluster of one master and two workers that the
test starts on 127.0.0.1.

One SparkSession serves the module (starting one costs about 15 s).  Outside CI
the tests that need Java and pyspark are skipped when they are missing; in CI
(``CI=true``) they run, and fail, so that a machine without Java cannot pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlglot
import test_night_scope as night_scope
from conftest import REPO, read_csv, read_summary, run_cli
from test_run import FORMS, window_args, write_form

from reconcile import checks, portable
from reconcile import spark as engine
from reconcile.resources import sql
from simulate import provider as simulate

needs_spark = pytest.mark.skipif(
    engine.unavailable() is not None and not os.environ.get("CI"),
    reason=f"{engine.unavailable()} (the tests run in CI)",
)

INPUTS = ["--provider", REPO / "fixtures/provider/*.jsonl*", "--ledger",
          REPO / "fixtures/ledger/*.csv", "--balances", REPO / "fixtures/balances.csv"]  # fmt: skip
PROVIDER = [*INPUTS, "--date", "2026-11-22", "--cutoff", "2026-11-23T01:00:00Z", "--grace", "1h"]
CASHBACK = ["--make", REPO / "fixtures/cashback/make.csv", "--accept",
            REPO / "fixtures/cashback/accept.jsonl", "--date", "2026-11-22",
            "--cutoff", "2026-11-23T01:00:00Z", "--grace", "60s"]  # fmt: skip
#: Every output but the page (which shows the time it was written) must be the same.
COMPARED = ("findings.csv", "remediation.csv", "provider_actions.csv", "rejects.csv")
#: summary.json's fields that differ between two runs of the same data.
VOLATILE = ("generated_at", "stage_seconds", "out")


@pytest.fixture(scope="module")
def spark():
    if engine.unavailable() is not None and not os.environ.get("CI"):
        pytest.skip(engine.unavailable())
    return engine.session("local[2]")


def same_outputs(duckdb_out: Path, spark_out: Path, *volatile: str) -> None:
    """Every output the same but the page; summary.json but for the time, the
    folder and ``volatile``."""
    for name in COMPARED:
        expected = (duckdb_out / name).read_text(encoding="utf-8")
        assert (spark_out / name).read_text(encoding="utf-8") == expected, name
    summaries = [json.loads((out / "summary.json").read_text()) for out in (duckdb_out, spark_out)]
    for summary in summaries:
        for key in (*VOLATILE, *volatile):
            summary.pop(key, None)
    assert summaries[0] == summaries[1]


def both_engines(command: list, tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    """Run ``command`` on DuckDB then on Spark (``extra`` options), the same exit
    status expected; returns both output folders."""
    duck, spark_out = tmp_path / "duckdb", tmp_path / "spark"
    first = run_cli([*command, "--out", duck], expect={0, 1})
    run_cli([*command, "--out", spark_out, "--engine", "spark", *extra], expect=first.exit_code)
    return duck, spark_out


@needs_spark
def test_fixtures_find_the_same_on_spark(spark, tmp_path):
    duck, spark_out = both_engines(["run", *PROVIDER], tmp_path)
    same_outputs(duck, spark_out)
    assert len((duck / "findings.csv").read_text().splitlines()) > 50  # the sample's defects


@needs_spark
def test_cashback_fixtures_find_the_same_on_spark(spark, tmp_path):
    """Also with --spark-records: the records stay there, Parquet by night (the
    README's data contract), readable by another engine."""
    records = tmp_path / "shared" / "records"
    duck, spark_out = both_engines(["cashback", *CASHBACK], tmp_path, "--spark-records", records)
    same_outputs(duck, spark_out)
    assert "cashback_late_accept" in (spark_out / "findings.csv").read_text()
    nights = sorted(p.name for p in (records / "makes").iterdir())
    assert nights and all(re.fullmatch(r"night=\d{4}-\d{2}-\d{2}", n) for n in nights)
    makes = duckdb.sql(
        "SELECT count(*), min(typeof(amount)) FROM read_parquet(?, hive_partitioning = true)",
        params=[str(records / "makes" / "*" / "*.parquet")],
    ).fetchall()
    loaded = next(i["loaded"] for i in read_summary(spark_out)["inputs"] if i["kind"] == "make")
    assert makes == [(loaded, "DECIMAL(38,8)")]  # every loaded make, money exact
    assert (records / ".reconcile-records").exists()  # a later run may replace it
    run_cli(["cashback", *CASHBACK, "--out", tmp_path / "again", "--engine", "spark",
             "--spark-records", records], expect={0, 1})  # fmt: skip


@pytest.fixture(scope="module")
def day():
    return simulate.simulate(seed=23, bets=400)


@needs_spark
@pytest.mark.parametrize("form", FORMS)
def test_a_generated_day_finds_the_same_on_spark_in_every_form(spark, day, tmp_path, form):
    written = write_form(day, tmp_path / "in", form)
    command = ["run", *window_args(day)]
    for option, results in written.items():
        for result in results:
            command += [option, result.path]
    duck, spark_out = both_engines(command, tmp_path)
    same_outputs(duck, spark_out)


@needs_spark
def test_a_store_night_after_night_is_the_same_on_spark(spark, tmp_path):
    """With --db the second night checks only what its data can change, on Spark
    as on DuckDB (summary.json's ``checked`` included), and the register, late
    findings and statuses come out the same."""
    outs = {}
    for engine_name in ("duckdb", "spark"):
        db = tmp_path / f"{engine_name}.duckdb"
        for night in ("2026-11-21", "2026-11-22"):
            out = tmp_path / engine_name / night
            command = ["run", *INPUTS, "--date", night, "--grace", "1h", "--db", db,
                       "--out", out, "--engine", engine_name]  # fmt: skip
            run_cli(command, expect={0, 1})
        outs[engine_name] = tmp_path / engine_name / "2026-11-22"
    same_outputs(outs["duckdb"], outs["spark"])
    assert read_summary(outs["spark"])["checked"]["since"] is not None  # a night's scope


@pytest.fixture(scope="module")
def three_nights(tmp_path_factory) -> tuple[Path, list[tuple]]:
    """Three generated nights of one store (the same players every night), with
    what a night's scope could get wrong on either engine: night 0's ledger
    misses its busiest hour and night 1's provider log its busiest hour, both
    delivered late with night 2 (late records of earlier days: the late hours
    are checked again); night 2 books a PAYOUT under the transaction id of a
    PayOut of night 0 (the old bet is tied in); a stake of night 0's evening is
    young at its own cutoff and open at the next."""
    folder = tmp_path_factory.mktemp("three-nights")
    counterparty, scenarios = None, []
    for night in range(3):
        scenarios.append(simulate.night_of(night, 400, night_scope.FIRST_DAY, counterparty,
                                           shared_users=True))  # fmt: skip
        counterparty = scenarios[0].counterparty_id
    first, second, third = scenarios
    ledger_gap = night_scope.busiest_hour(first.bookings, "created_at", first.window_from.date())
    provider_gap = night_scope.busiest_hour(second.calls, "event_time", second.window_from.date())
    hour = timedelta(hours=1)
    late_bookings = [b for b in first.bookings if ledger_gap <= b["created_at"] < ledger_gap + hour]
    late_calls = [c for c in second.calls if provider_gap <= c["event_time"] < provider_gap + hour]
    tied, _ = night_scope.tied_payout(first, third)
    nights = []
    for night, sc in enumerate(scenarios):
        here = folder / f"night-{night}"
        here.mkdir()
        calls = [c for c in sc.calls if c not in late_calls]
        bookings = [b for b in sc.bookings if b not in late_bookings]
        bookings += {0: [night_scope.young_stake(first)], 2: [tied]}.get(night, [])
        given = [("--provider", simulate.write_provider_jsonl(sc, here / "p.jsonl", calls=calls)),
                 ("--ledger", simulate.write_ledger_csv(sc, here / "l.csv", rows=bookings)),
                 ("--balances", simulate.write_balances_csv(sc, here / "b.csv"))]  # fmt: skip
        if night == 2:
            given += [("--ledger", simulate.write_ledger_csv(first, here / "late.csv",
                                                             rows=late_bookings)),
                      ("--provider", simulate.write_provider_jsonl(second, here / "late.jsonl",
                                                                   calls=late_calls))]  # fmt: skip
        args = ["--date", sc.window_from.date().isoformat(), "--cutoff", sc.cutoff.isoformat(),
                "--grace", night_scope.GRACE]  # fmt: skip
        for option, written in given:
            args += [option, written.path]
        nights.append((args, tied))
    return folder, nights


@needs_spark
def test_three_nights_with_late_records_are_the_same_on_spark(spark, three_nights, tmp_path):
    """Each night's outputs (summary.json's ``checked`` included) and the register
    after the third are the same on both engines; the later nights were checked
    by their narrower scope, and the tie to an old bet was followed."""
    _, nights = three_nights
    for engine_name in ("duckdb", "spark"):
        db = tmp_path / f"{engine_name}.duckdb"
        for night, (args, _) in enumerate(nights):
            run_cli(["run", *args, "--db", db, "--out", tmp_path / engine_name / str(night),
                     "--quiet", "--engine", engine_name], expect={0, 1})  # fmt: skip
    for night in range(len(nights)):
        same_outputs(tmp_path / "duckdb" / str(night), tmp_path / "spark" / str(night))
        checked = read_summary(tmp_path / "spark" / str(night))["checked"]
        assert (checked["since"] is None) == (night == 0), night
    assert night_scope.register_of(tmp_path / "duckdb.duckdb") == night_scope.register_of(
        tmp_path / "spark.duckdb"
    )
    tied = nights[2][1]
    rows = read_csv(tmp_path / "spark" / "2" / "findings.csv")
    assert {(r["bet_id"], Decimal(r["amount"])) for r in rows if r["check"] == "amount_mismatch"
            and r["transaction_id"] == tied["transaction_id"]} == {
        (tied["bet_id"], night_scope.OVER)
    }  # fmt: skip
    late = read_summary(tmp_path / "spark" / "2")["late_findings"]
    assert late["total"] > 0  # the late hours changed findings of earlier nights


@needs_spark
def test_decimal_time_and_overflow_semantics_are_pinned(spark):
    """Spark's defaults cut DECIMAL(38, 8) arithmetic to 6 or 7 places and make an
    overflow NULL: either loses findings without an error."""
    assert engine.SETTINGS == {
        "spark.sql.decimalOperations.allowPrecisionLoss": "false",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }
    for key, value in engine.SETTINGS.items():
        assert spark.conf.get(key) == value
    row = spark.sql(
        """SELECT CAST('129.88000001' AS DECIMAL(38, 8)) - CAST('129.88' AS DECIMAL(38, 8)) AS d,
                  CAST(TIMESTAMP '2026-11-22 00:30:00+01:00' AS STRING) AS t"""
    ).collect()[0]
    assert row.d == Decimal("0.00000001")
    assert row.t == "2026-11-21 23:30:00"
    with pytest.raises(Exception, match=r"OVERFLOW|OUT_OF_RANGE"):
        big = "CAST('999999999999999999999999999999.5' AS DECIMAL(38, 8))"
        spark.sql(f"SELECT {big} * 10").collect()


@needs_spark
def test_a_large_result_comes_back_as_parquet_with_its_types(spark, tmp_path):
    """booking_match (2.76M rows at 1M bets) gathered in the 1 GB driver was lost;
    the executors write it as Parquet and DuckDB reads it, exact and typed."""
    frame = spark.sql(
        """SELECT '000123' AS id, CAST('129.88000001' AS DECIMAL(38, 8)) AS amount,
                  TIMESTAMP '2026-11-22 00:30:00+01:00' AS happened"""
    )
    con = duckdb.connect()
    engine.through_parquet(con, frame, "result", tmp_path)
    assert any((tmp_path / "results" / "result").glob("*.parquet"))
    row = con.execute(
        "SELECT id, amount, happened = TIMESTAMPTZ '2026-11-21 23:30:00+00' FROM result"
    )
    assert row.fetchall() == [("000123", Decimal("129.88000001"), True)]
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                             "WHERE table_name = 'result'").fetchall())  # fmt: skip
    assert types == {"id": "VARCHAR", "amount": "DECIMAL(38,8)",
                     "happened": "TIMESTAMP WITH TIME ZONE"}  # fmt: skip
    engine.through_parquet(con, frame.limit(0), "empty", tmp_path)
    assert con.execute("SELECT count(*) FROM empty").fetchall() == [(0,)]


@needs_spark
def test_the_decimal_trap_is_real(spark):
    """What the setting prevents: with Spark's default the difference is 0."""
    key = "spark.sql.decimalOperations.allowPrecisionLoss"
    spark.conf.set(key, "true")
    try:
        lost = spark.sql(
            "SELECT CAST('129.88000001' AS DECIMAL(38, 8)) - CAST('129.88' AS DECIMAL(38, 8))"
        ).collect()[0][0]
    finally:
        spark.conf.set(key, "false")
    assert lost == 0


def test_without_java_spark_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = run_cli(["run", *PROVIDER, "--out", tmp_path / "out", "--engine", "spark"], expect=2)
    assert result.err.strip().splitlines() == [
        "reconcile: --engine spark needs Java 17 or later (java on PATH, or JAVA_HOME)"
    ]
    assert not (tmp_path / "out").exists()


def test_without_pyspark_spark_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    result = run_cli(["cashback", *CASHBACK, "--out", tmp_path / "out", "--engine", "spark"],
                     expect=2)  # fmt: skip
    assert result.err.strip().splitlines() == [
        "reconcile: --engine spark needs pyspark: pip install 'reconcile[spark]'"
    ]
    assert not (tmp_path / "out").exists()


def test_a_records_folder_that_is_not_ours_is_refused_and_left_alone(tmp_path):
    """--spark-records is rewritten table by table: a folder holding what another
    program wrote is refused before anything is loaded, and keeps its files."""
    records = tmp_path / "records"
    (records / "makes").mkdir(parents=True)
    theirs = records / "makes" / "theirs.parquet"
    theirs.write_bytes(b"someone else's")
    result = run_cli(["cashback", *CASHBACK, "--out", tmp_path / "out", "--engine", "spark",
                      "--spark-records", records], expect=2)  # fmt: skip
    assert result.err.strip().splitlines() == [
        f"reconcile: --spark-records {records} is a folder that reconcile did not write "
        "(no .reconcile-records in it); give a new or empty folder"
    ]
    assert theirs.read_bytes() == b"someone else's"
    assert not (tmp_path / "out").exists()


def test_the_strftime_patterns_of_the_sql_files_become_spark_patterns():
    assert portable.spark_format("%Y-%m-%dT%H:%M:%S.%gZ") == (
        "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'SSS'Z'"
    )
    with pytest.raises(ValueError, match="%j"):
        portable.spark_format("%j")


def spark_text(*statements: str) -> str:
    macros = portable.Macros()
    for text in statements[:-1]:
        macros.define(portable.parse(text))
    return portable.to_spark(portable.parse(statements[-1]), macros)


def test_macros_are_inlined_with_their_arguments_even_nested():
    text = spark_text(
        "CREATE MACRO twice(x) AS x * 2",
        "CREATE MACRO quad(y) AS twice(twice(y))",
        "CREATE MACRO rows_of(n) AS TABLE SELECT n AS k",
        "SELECT quad(a + 1) AS q FROM rows_of(3) r",
    )
    assert "twice" not in text.lower() and "quad" not in text.lower()
    assert text.count("* 2") == 2 and "(a + 1)" in text
    assert "SELECT (3) AS k" in text


def test_engine_tactics_become_what_spark_means_the_same_by():
    text = spark_text(
        "CREATE MACRO time_id_key(t, id) AS CAST(epoch_us(t) AS HUGEINT) * 18446744073709551616"
        " + id",
        "SELECT arg_max_null(a, time_id_key(t, call_id)) AS m, TRY_CAST(tx AS HUGEINT) AS o,"
        " millisecond(t) AS ms, epoch_us(t) AS us, getvariable('since') AS s",
    )
    assert text == (
        "SELECT MAX_BY(a, NAMED_STRUCT('at', t, 'id', call_id)) AS m, "  # not DuckDB's HUGEINT
        "CASE WHEN tx RLIKE '^[+-]?[0-9]{1,38}$' THEN CAST(tx AS DECIMAL(38, 0)) END AS o, "
        "(UNIX_MICROS(t) DIV 1000 % 60000) AS ms, UNIX_MICROS(t) AS us, "
        "system.session.since AS s"
    )


def test_the_scope_says_one_join_and_only_duckdb_runs_it_in_parts():
    """sql/scope.sql joins the two sides of a bet once; the note on it makes the
    DuckDB engine run it a quarter of the bets at a time (a memory tactic), and
    Spark reads the statement as written, without the hash."""
    scope = sql("scope")
    assert checks.IN_PARTS.findall(scope) == [("4", "bet_sides, bet_sent", "bet_id")]
    macros = portable.Macros()
    for text in portable.statements(sql("macros")):
        with contextlib.suppress(sqlglot.errors.ParseError):
            tree = portable.parse(text)
            if isinstance(tree, sqlglot.exp.Create) and tree.kind == "MACRO":
                macros.define(tree)
    spark_scope = [portable.to_spark(portable.parse(s), macros)
                   for s in portable.statements(scope)]  # fmt: skip
    assert not any("HASH(" in s or "DECIMAL(38, 0)) * " in s for s in spark_scope)


def test_a_statement_noted_in_parts_gives_what_it_gives_whole():
    con = duckdb.connect()
    con.execute("""CREATE TABLE sides AS SELECT 'b' || i AS bet_id, i AS booked
                   FROM range(1000) t(i);
                   CREATE TABLE sent AS SELECT 'b' || i AS bet_id, i * 2 AS sent
                   FROM range(0, 1000, 3) t(i)""")  # fmt: skip
    statement = """CREATE OR REPLACE TEMP TABLE both_sides AS
SELECT f.*, s.sent FROM sides f LEFT JOIN sent s ON s.bet_id = f.bet_id"""
    checks.run_sql(
        con, f"SELECT 1;\n-- duckdb: in 3 parts of sides, sent by bet_id\n{statement};\n"
    )
    parted = con.execute("SELECT * FROM both_sides ORDER BY bet_id").fetchall()
    con.execute(statement)
    assert parted == con.execute("SELECT * FROM both_sides ORDER BY bet_id").fetchall()
    assert len(parted) == 1000 and sum(1 for row in parted if row[2] is not None) == 334
    with pytest.raises(ValueError, match="does not read other"):
        checks.run_sql(con, f"-- duckdb: in 2 parts of other by bet_id\n{statement};")
    with pytest.raises(ValueError, match="only a CREATE OR REPLACE TEMP TABLE"):
        checks.run_sql(con, "-- duckdb: in 2 parts of sides by bet_id\nSELECT * FROM sides;")


def test_statements_split_at_semicolons_outside_strings_and_comments():
    text = "-- a; comment\nSELECT ';' AS a;\n\nSELECT 2 -- two; really\n;\n-- only a comment;\n"
    assert portable.statements(text) == [
        "-- a; comment\nSELECT ';' AS a",
        "SELECT 2 -- two; really",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(spark, tmp_path_factory):
    """A standalone Spark cluster on 127.0.0.1: one master, two workers of one
    core each, from pyspark's own ``spark-class``; stopped (by pid) afterwards."""
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    logs = tmp_path_factory.mktemp("cluster")
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_WORKER_DIR": str(logs / "work")}  # fmt: skip
    commands = [["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", str(free_port())]]  # fmt: skip
    commands += [["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                  "--cores", "1", "--memory", "1g", "--webui-port", str(free_port())]
                 for _ in range(2)]  # fmt: skip
    processes = []
    try:
        for n, args in enumerate(commands):
            with open(logs / f"{n}.log", "wb") as log:
                process = subprocess.Popen([str(spark_class), *args], env=env, stdout=log,
                                           stderr=subprocess.STDOUT)  # fmt: skip
            processes.append(process)
            if n == 0:
                wait_for_port(port, logs / "0.log")
        wait_for_workers(logs, 2)
        yield url
    finally:
        from pyspark.sql import SparkSession

        if SparkSession.getActiveSession() is not None:  # not left on a stopped cluster
            SparkSession.getActiveSession().stop()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for_port(port: int, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"the Spark master did not start:\n{log.read_text()[-2000:]}")


def wait_for_workers(logs: Path, count: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        registered = sum("Successfully registered with master" in (logs / f"{n}.log").read_text()
                         for n in range(1, count + 1))  # fmt: skip
        if registered == count:
            return
        time.sleep(0.5)
    raise AssertionError(
        f"{count} workers did not register:\n{(logs / '0.log').read_text()[-2000:]}"
    )


@needs_spark
def test_a_standalone_cluster_finds_the_same(cluster, tmp_path):
    duck, spark_out = both_engines(["run", *PROVIDER], tmp_path, "--spark-master", cluster)
    same_outputs(duck, spark_out)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    assert active.sparkContext.master == cluster
    executors = active.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    assert executors == 3  # the driver and one executor per worker
