"""The Spark engine: the scope and the checks as Spark SQL, the findings back in DuckDB.

Loading stays DuckDB's.  The normalised records the checks read are written as
Parquet partitioned by night (:func:`export_records`, the layout the README's
"Data contract" documents), read by a SparkSession, and every statement of the
same SQL files the DuckDB engine runs (``sql/focus/whole.sql``, the volume, the
scope, each check) is transpiled by :mod:`reconcile.portable` and run there.
Temp tables are cached temp views; an ``INSERT`` adds a new cached view that
unions the old one.  What comes back into DuckDB is small: the findings as
each check selected them, the hours (``hourly_volume``, ``gap_hours``), which
call each booking matched (for ``trace``), the report's totals and how many
bets and chains were checked.  The rules across findings (``sql/owed.sql``),
the marks of an input gap and the finding ids run in DuckDB over them, as
with the DuckDB engine.

A night of a store checks only what its data can change, as on DuckDB (spec
6.1): ``checks.focus`` runs the same ``sql/focus/`` files and loops (the bets
tied to tonight's, taken in until none is added; the first hour compared moved
back over gap hours) through :class:`Runner`, and the night's bets and users
come back for the register.

Semantics are pinned (:data:`SETTINGS`): Spark's default lets DECIMAL(38, 8)
arithmetic drop scale (``129.88000001 - 129.88`` gives 0) and would make an
overflow NULL; ``tests/test_spark.py`` fails if any of them is changed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from reconcile import portable
from reconcile.checks import RECORDS_MARKER, Night, focus
from reconcile.errors import InputError
from reconcile.resources import sql
from reconcile.window import Window

#: Without these Spark's answers differ from DuckDB's and raise no error.
SETTINGS = {
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",  # keep 8 decimal places
    "spark.sql.ansi.enabled": "true",  # an overflow is an error, never NULL
    "spark.sql.session.timeZone": "UTC",  # the times of the data and of the SQL
    # results written as Parquet (through_parquet) read back as TIMESTAMPTZ, not INT96
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
#: How the rest of the session is set up: small shuffles for a night's data.
TUNING = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.memory": "1g",
}

#: The record tables each domain's checks read, and the time that decides a
#: record's night (its partition).
RECORDS = {
    "provider": {"calls": "event_time", "bookings": "created_at", "snapshots": "as_of"},
    "cashback": {"makes": "sent_at", "accepts": "logged_at"},
}
#: What the DuckDB side reads after the checks, per domain (besides the findings).
RESULTS = {
    "provider": ("hourly_volume", "gap_hours", "booking_match"),
    "cashback": (),
}
#: What the DuckDB side reads of a night's scope (``sql/register.sql``).
NIGHT_RESULTS = ("focus_bets", "focus_users")
#: The macro files: defined (inlined) rather than run.
MACRO_FILES = ("macros", "run_macros")


def unavailable() -> str | None:
    """Why ``--engine spark`` cannot run here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "--engine spark needs pyspark: pip install 'reconcile[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and Path(java_home, "bin", "java").exists()):
        return "--engine spark needs Java 17 or later (java on PATH, or JAVA_HOME)"
    return None


def session(master: str = "local[2]"):
    """A SparkSession on ``master`` with :data:`SETTINGS` pinned (one per process:
    an existing session of another master is stopped first)."""
    problem = unavailable()
    if problem:
        raise InputError(problem)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        active.stop()
    builder = SparkSession.builder.master(master).appName("reconcile")
    for key, value in {**TUNING, **SETTINGS}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for key, value in SETTINGS.items():  # a session that existed keeps its own otherwise
        spark.conf.set(key, value)
    return spark


def export_records(con: duckdb.DuckDBPyConnection, folder: Path, domain: str) -> dict[str, Path]:
    """The domain's record tables as Parquet under ``folder/<table>/night=YYYY-MM-DD/``
    (the night: the UTC day of the record's time); an empty table as one file."""
    paths = {}
    for table, time_column in RECORDS[domain].items():  # names of ours, never input
        target = folder / table
        if con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0:
            target = folder / f"{table}.parquet"
            con.execute(f"COPY (SELECT * FROM {table}) TO {quoted(target)} (FORMAT parquet)")
        else:
            con.execute(
                f"""COPY (SELECT *, strftime({time_column}, '%Y-%m-%d') AS night FROM {table})
                    TO {quoted(target)} (FORMAT parquet, PARTITION_BY (night), OVERWRITE)"""
            )
        paths[table] = target
    return paths


def quoted(path: Path) -> str:
    """A path as a SQL string literal (COPY takes no bound parameter for it)."""
    return "'" + str(path).replace("'", "''") + "'"


@dataclass
class Runner:
    """Runs DuckDB's SQL statements on a SparkSession (see the module's docstring)."""

    spark: object
    macros: portable.Macros = field(default_factory=portable.Macros)
    #: seconds per statement, in order: (file, first words of the statement, seconds)
    timings: list[tuple[str, str, float]] = field(default_factory=list)

    def define_macros(self, name: str) -> None:
        """The macros of a file; those the checks never call may not parse (they
        use DuckDB's loading functions) and are left out."""
        for text in portable.statements(sql(name)):
            try:
                tree = portable.parse(text)
            except sqlglot.errors.ParseError:
                continue
            if isinstance(tree, exp.Create) and tree.kind == "MACRO":
                self.macros.define(tree)

    def run_file(self, name: str) -> None:
        for text in portable.statements(sql(name)):
            started = time.perf_counter()
            self.run(text)
            head = " ".join(portable.strip_comments(text).split()[:6])
            self.timings.append((name, head, time.perf_counter() - started))

    def run(self, text: str) -> None:
        variable = portable.SET_VARIABLE.fullmatch(portable.strip_comments(text))
        if variable:
            self.set_variable(variable[1], portable.parse(f"SELECT {variable[2]}").expressions[0])
            return
        tree = portable.parse(text)
        if isinstance(tree, exp.Create) and tree.kind == "MACRO":
            self.macros.define(tree)
        elif isinstance(tree, exp.Create):
            self.create(tree)
        elif isinstance(tree, exp.Insert):
            name = tree.this.name
            added = self.spark.sql(self.spark_sql(tree.expression))
            self.materialise(name, self.spark.table(name).union(added))
        elif isinstance(tree, exp.Drop):
            for table in tree.args["tables"]:
                self.spark.catalog.dropTempView(table.name)
        else:
            raise ValueError(f"the Spark engine cannot run: {text[:80]}")

    def set_variable(self, name: str, value: exp.Expression) -> None:
        """DuckDB's ``SET VARIABLE name = value`` as a Spark session variable.  A
        value with a subquery is not a default Spark takes: the variable is
        declared of the value's type, then set to it."""
        expression = portable.to_spark(value, self.macros)
        if value.find(exp.Select) is None:
            self.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} DEFAULT {expression}")
            return
        kind = self.spark.sql(f"SELECT {expression} AS v").schema[0].dataType.simpleString()
        self.spark.sql(f"DECLARE OR REPLACE VARIABLE {name} {kind}")
        self.spark.sql(f"SET VARIABLE {name} = ({expression})")

    def rows(self, text: str) -> list[tuple]:
        """A query's rows (a loop's test, sql/focus/), timed like a statement."""
        started = time.perf_counter()
        found = [tuple(row) for row in self.query(text).collect()]
        head = " ".join(portable.strip_comments(text).split()[:6])
        self.timings.append(("focus (loop)", head, time.perf_counter() - started))
        return found

    def bind_night(self, night: Night) -> None:
        """The night's ``since`` (a session variable) and ``tonight_files``, as
        ``checks.DuckDBRunner`` binds them: values never pasted into SQL."""
        from pyspark.sql import types as t

        one = t.StructType([t.StructField("since", t.TimestampType())])
        self.spark.createDataFrame([(night.since,)], one).createOrReplaceTempView("night_params")
        self.spark.sql("DECLARE OR REPLACE VARIABLE since TIMESTAMP")
        self.spark.sql("SET VARIABLE since = (SELECT since FROM night_params)")
        files = t.StructType([t.StructField("file_id", t.IntegerType())])
        self.spark.createDataFrame([(f,) for f in night.files], files).createOrReplaceTempView(
            "tonight_files"
        )

    def spark_sql(self, tree: exp.Expression) -> str:
        return portable.to_spark(tree, self.macros)

    def create(self, tree: exp.Create) -> None:
        if isinstance(tree.this, exp.Schema):  # an empty table of these columns
            columns = ", ".join(f"CAST(NULL AS {c.args['kind'].sql('spark')}) AS {c.name}"
                                for c in tree.this.expressions)  # fmt: skip
            self.spark.sql(f"SELECT {columns} WHERE false").createOrReplaceTempView(
                tree.this.this.name
            )
            return
        frame = self.spark.sql(self.spark_sql(tree.expression))
        if tree.kind == "VIEW":
            frame.createOrReplaceTempView(tree.this.name)
        else:
            self.materialise(tree.this.name, frame)

    def materialise(self, name: str, frame) -> None:
        """``name`` as a stored result (a temp table), computed now, once.  A
        checkpoint cuts the plan: a chain of statements would otherwise carry
        every earlier plan (analysed again each time, minutes on the fixtures), and
        a view of a DataFrame keeps what it read, not its text: replacing a
        name later (``held``, an INSERT) does not change it."""
        frame.localCheckpoint(eager=True).createOrReplaceTempView(name)

    def query(self, text: str):
        """A SELECT of DuckDB's dialect as a Spark DataFrame."""
        return self.spark.sql(self.spark_sql(portable.parse(text)))


def bind_parameters(spark, window: Window, tolerance: Decimal, counterparties: list[str],
                    severities: list[tuple[str, str]]) -> None:  # fmt: skip
    """The run's parameters as tables (run_params, run_counterparties,
    check_severity), as ``checks.bind_parameters`` makes them in DuckDB."""
    from pyspark.sql import types as t

    params = t.StructType([
        t.StructField("window_start", t.TimestampType()),
        t.StructField("window_end", t.TimestampType()),
        t.StructField("cutoff", t.TimestampType()),
        t.StructField("grace", t.DayTimeIntervalType()),
        t.StructField("tolerance", t.DecimalType(38, 8)),
    ])  # fmt: skip
    row = [(window.start, window.end, window.cutoff, window.grace, tolerance)]
    spark.createDataFrame(row, params).createOrReplaceTempView("run_params")
    parties = t.StructType([t.StructField("counterparty_id", t.StringType())])
    spark.createDataFrame([(c,) for c in counterparties], parties).createOrReplaceTempView(
        "run_counterparties"
    )
    codes = t.StructType([t.StructField("code", t.StringType()),
                          t.StructField("severity", t.StringType())])  # fmt: skip
    spark.createDataFrame(severities, codes).createOrReplaceTempView("check_severity")


def register_records(spark, paths: dict[str, Path]) -> None:
    for table, path in paths.items():
        frame = spark.read.parquet(str(path))
        if "night" in frame.columns:
            frame = frame.drop("night")
        frame.createOrReplaceTempView(table)


def _typed(frame):
    """``frame`` with a column Spark typed as NULL as text (neither Arrow's nor
    Parquet's writer takes Spark's NULL type)."""
    from pyspark.sql.types import NullType

    return frame.select([
        frame[c].cast("string").alias(c) if isinstance(f.dataType, NullType) else frame[c]
        for c, f in zip(frame.columns, frame.schema.fields, strict=True)
    ])  # fmt: skip


def to_duckdb(con: duckdb.DuckDBPyConnection, frame, table: str, insert: bool = False) -> None:
    """A Spark DataFrame into DuckDB through Arrow (money stays DECIMAL): a new
    temp table, or rows added by name to an existing one."""
    arrow = _typed(frame).toArrow()
    con.register("spark_result", arrow)
    try:
        if insert:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM spark_result")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM spark_result")
    finally:
        con.unregister("spark_result")


def through_parquet(con: duckdb.DuckDBPyConnection, frame, table: str, folder: Path) -> None:
    """A Spark DataFrame that may be large into a new DuckDB temp table, written by
    the executors as Parquet under ``folder`` (the records' folder, which every node
    reads and writes) and read by DuckDB: never gathered in the driver, whose 1 GB
    lost ``booking_match`` (2.76M rows) at 1M bets on its way back through Arrow."""
    target = folder / "results" / table
    _typed(frame).write.mode("overwrite").parquet(str(target))
    if not any(target.glob("*.parquet")):  # nothing written: an empty result
        to_duckdb(con, frame, table)
        return
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT * FROM read_parquet({quoted(target / '*.parquet')})"
    )


#: The last run's seconds per statement (file, statement, seconds): bench/spark.py.
LAST_TIMINGS: list[tuple[str, str, float]] = []


@dataclass
class SparkRun:
    """What a Spark run of the checks brings back besides the tables."""

    bets: int | None
    chains: int | None
    timings: list[tuple[str, str, float]]


def find(con: duckdb.DuckDBPyConnection, domain, check_query: str, window: Window,
         tolerance: Decimal, counterparties: list[str], severities: list[tuple[str, str]],
         master: str = "local[2]", records: Path | None = None,
         night: Night | None = None) -> SparkRun:  # fmt: skip
    """Run ``domain``'s scope and checks on Spark; fill DuckDB's ``all_findings``
    (created by the caller) and the tables of :data:`RESULTS` and ``run_totals``.
    With a ``night``, its focus (``checks.focus``, the same SQL and loops as on
    DuckDB) and what the store reads of it: ``focus_bets``, ``focus_users`` and
    the variables ``since`` and ``hours_from``.

    The records are written to ``records`` (kept: a folder every node of the
    cluster reads at the same path), else to a temporary folder (local mode, or
    a cluster on this machine)."""
    spark = session(master)
    folder = records.resolve() if records else Path(tempfile.mkdtemp(prefix="reconcile-spark-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORDS_MARKER).write_text(  # checks.engine_problem refused a folder of others'
        "written by reconcile --engine spark; each run replaces its table folders\n",
        encoding="utf-8",
    )
    try:
        register_records(spark, export_records(con, folder, domain.name))
        bind_parameters(spark, window, tolerance, counterparties, severities)
        runner = Runner(spark)
        for name in MACRO_FILES:
            runner.define_macros(name)
        if domain.volume:
            focus(runner, night)
            runner.run_file(domain.volume)
        runner.run_file(domain.scope)
        for name in domain.check_files:
            started = time.perf_counter()
            to_duckdb(con, runner.query(check_query.format(sql(name))), "all_findings", True)
            runner.timings.append((name, "check", time.perf_counter() - started))
        for table in RESULTS[domain.name]:
            through_parquet(con, spark.table(table), table, folder)
        to_duckdb(con, runner.query(sql(domain.totals)), "run_totals")
        if night is not None:  # what sql/register.sql reads of the night's scope
            for table in NIGHT_RESULTS:
                through_parquet(con, spark.table(table), table, folder)
            hours = runner.query("SELECT getvariable('hours_from') AS hours_from")
            to_duckdb(con, hours, "night_hours_from")  # through Arrow: a UTC instant
            con.execute("SET VARIABLE since = ?::TIMESTAMPTZ", [night.since])
            con.execute("SET VARIABLE hours_from = (SELECT hours_from FROM night_hours_from)")
        bets = chains = None
        if domain.has_night_scope:
            bets, chains = runner.query(sql("checked")).collect()[0]
        LAST_TIMINGS[:] = runner.timings
        return SparkRun(bets, chains, runner.timings)
    finally:
        spark.catalog.clearCache()
        if records is None:
            shutil.rmtree(folder, ignore_errors=True)
