"""Stage 1, load: read every input file into normalised DuckDB tables.

Text inputs (JSON Lines, CSV) are read here, in Python, one physical line at a
time, because DuckDB's readers cannot give what the contract needs: its JSON
reader turns every number into a binary double and has no rejects table, and its
CSV reader can drop a row silently when a cast is pushed into it (see
DUCKDB-NOTES.md).  So the reader only splits records into fields and keeps each
field as the exact text of the file (a JSON number keeps its literal: ``1e-05``
stays ``1e-05``), and lands them in ``raw_*`` tables with file and line.  All
typing and validation then happens once, in SQL (``sql/normalise_*.sql``): one
set of rules for every input form.  Parquet goes straight from DuckDB's reader
into the same landing tables.

Counting: every record read is counted in ``input_files.rows_in``; every record
ends up either loaded, collapsed (an exact duplicate) or rejected.
"""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa

from reconcile.errors import InputError
from reconcile.resources import sql

BATCH_ROWS = 50_000
BOM = b"\xef\xbb\xbf"

CALL_FIELDS = (
    "logged_at", "event_time", "request_id", "counterparty_id", "session_id", "operation",
    "bet_id", "game_round_id", "bet_amount", "win_amount", "win_odd", "http_status",
    "response_code", "transaction_id", "bet_transaction_id", "win_transaction_id", "balance",
    "error",
)  # fmt: skip
BOOKING_FIELDS = (
    "transaction_id", "created_at", "counterparty_id", "session_id", "user_id", "currency",
    "type", "bet_id", "game_round_id", "amount", "balance_before", "balance_after", "request_id",
)  # fmt: skip
SNAPSHOT_FIELDS = ("user_id", "currency", "balance", "as_of")

MAKE_FIELDS = (
    "cashback_id", "partner_user_id", "transaction_type", "amount", "tax_amount", "currency",
    "sent_at",
)  # fmt: skip
ACCEPT_FIELDS = (
    "logged_at", "error_code", "message", "cashback_id", "partner_user_id",
    "partner_transaction_id", "transaction_type", "amount", "tax_amount", "http_status", "error",
)  # fmt: skip

_PROVIDER_PATH = re.compile(
    r"^/v1/sessions/(?P<session>[^/?]+)/(?:bets/(?P<op>pay-in-out|pay-in|pay-out|refund)|(?P<bal>balance))/?(?:\?.*)?$"
)
_SECRET_JSON = re.compile(
    r'("(?:x-sign|authorization)"\s*:\s*)(?:"(?:[^"\\]|\\.)*(?:"|$)|[^,}\s]+)', re.IGNORECASE
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_SECRET_COLUMNS = re.compile(r"(?i)^(x[-_]?sign|sign(ature)?|authorization)$")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass
class SourceFile:
    """One input file: what it is, its checksum, and what became of its records.

    ``loaded_by`` is the run that loaded it: this run, or an earlier one when
    the store already holds a file with the same checksum (then nothing of it
    is loaded again and its counts stay with that run).
    """

    file_id: int
    kind: str  # provider | ledger | balances | make | accept
    path: Path
    format: str  # jsonl | csv | parquet
    sha256: str
    loaded_by: int
    rows_in: int = 0
    loaded: int = 0
    collapsed: int = 0
    rejected: int = 0

    def is_new(self, run_id: int) -> bool:
        return self.loaded_by == run_id


class BadRecord(Exception):
    """A record the reader cannot split into fields; the message is the reject reason."""


# ---------------------------------------------------------------------------
# Finding the files


def expand_paths(patterns: Iterable[str], option: str) -> list[Path]:
    """Every file the option's paths and globs name, in a stable order, once each."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        if _GLOB_CHARS.search(expanded):
            matches = sorted(p for p in glob.glob(expanded, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError(f"{option}: no file matches {pattern!r}")
        elif os.path.isdir(expanded):
            raise InputError(f"{option}: {pattern!r} is a directory; give files or a glob")
        elif not os.path.isfile(expanded):
            raise InputError(f"{option}: no such file {pattern!r}")
        else:
            matches = [expanded]
        for match in matches:
            found.setdefault(Path(match).resolve(), None)
    return list(found)


def detect_format(kind: str, path: Path) -> str:
    """By extension first (``.gz`` looked through), else by the first bytes."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    with _reading(path) as stream:
        head = stream.read(4096).lstrip(BOM).lstrip()
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"{") and KINDS[kind].json_fields is not None:
        return "jsonl"
    return "csv"


# ---------------------------------------------------------------------------
# Reading bytes: gzip, checksum, physical lines


@contextmanager
def _reading(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes, decompressed when it is gzip (by magic number, not name)."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
        handle.seek(0)
        try:
            yield gzip.GzipFile(fileobj=handle, mode="rb") if gzipped else handle
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: cannot be read as gzip ({exc})") from None


def _physical_lines(stream: IO[bytes]) -> Iterator[tuple[int, str | None, bytes]]:
    """``(line number, text or None if not UTF-8, raw bytes)`` for each physical line."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        raw = raw.rstrip(b"\r\n")
        try:
            yield number, raw.decode("utf-8"), raw
        except UnicodeDecodeError:
            yield number, None, raw


def checksum(path: Path) -> str:
    """SHA-256 of the file as it is on disk (compressed, when it is)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# JSON Lines


def _text(value: object, name: str) -> str | None:
    """A JSON leaf as text; numbers are already their literal (parse hooks)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    raise BadRecord(f"{name} is not a single value")


def _object(parent: dict, key: str) -> dict:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRecord(f"{key} is not a JSON object")
    return value


def _reject_constant(name: str) -> str:
    raise BadRecord(f"{name} is not a number")


def parse_json_record(text: str) -> dict:
    """Decode one line; every number comes back as its exact literal text."""
    try:
        record = json.loads(text, parse_float=str, parse_int=str, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRecord(f"broken JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(record, dict):
        raise BadRecord("not a JSON object")
    return record


def call_fields(record: dict) -> tuple[str | None, ...]:
    """The landing fields of one provider exchange (spec 2.1)."""
    request = _object(record, "request")
    headers = {str(k).lower(): v for k, v in _object(request, "headers").items()}
    body = _object(request, "body")
    response = _object(record, "response")
    answer = _object(response, "body")
    path = _text(request.get("path"), "path")
    if not path:
        raise BadRecord("missing request path")
    route = _PROVIDER_PATH.match(path)
    if route is None:
        raise BadRecord(f"unknown operation in path {path[:80]!r}")
    values = {
        "logged_at": record.get("loggedAt"),
        "event_time": headers.get("x-timestamp"),
        "request_id": headers.get("x-request-id"),
        "counterparty_id": headers.get("x-counterparty-id"),
        "session_id": route["session"],
        "operation": route["op"] or route["bal"],
        "bet_id": body.get("betId"),
        "game_round_id": body.get("gameRoundId"),
        "bet_amount": body.get("betAmount"),
        "win_amount": body.get("winAmount"),
        "win_odd": body.get("winOdd"),
        "http_status": response.get("status"),
        "response_code": answer.get("_responseCode"),
        "transaction_id": answer.get("transactionId"),
        "bet_transaction_id": answer.get("betTransactionId"),
        "win_transaction_id": answer.get("winTransactionId"),
        "balance": answer.get("balance"),
        "error": record.get("error"),
    }
    return tuple(_text(values[name], name) for name in CALL_FIELDS)


def accept_fields(record: dict) -> tuple[str | None, ...]:
    """The landing fields of one cashback accept call (spec 7.1, seed 002).

    The Authorization header is not read at all: it never reaches the store.
    """
    request = _object(record, "request")
    body = _object(request, "body")
    value = _object(body, "Value")
    response = _object(record, "response")
    values = {
        "logged_at": record.get("loggedAt"),
        "error_code": body.get("ErrorCode"),
        "message": body.get("Message"),
        "cashback_id": value.get("CashbackId"),
        "partner_user_id": value.get("PartnerUserId"),
        "partner_transaction_id": value.get("PartnerTransactionId"),
        "transaction_type": value.get("TransactionType"),
        "amount": value.get("Amount"),
        "tax_amount": value.get("TaxAmount"),
        "http_status": response.get("status"),
        "error": record.get("error"),
    }
    return tuple(_text(values[name], name) for name in ACCEPT_FIELDS)


@dataclass(frozen=True)
class InputKind:
    """One kind of input file: where it lands and how its records are read."""

    name: str  # the --option without dashes
    table: str  # landing table (sql/raw_tables.sql)
    fields: tuple[str, ...]  # landing fields, in table order
    required: tuple[str, ...]  # columns a CSV/Parquet file must have (exit 2 otherwise)
    normalise: str  # sql/<normalise>.sql types, rejects and stores the landed records
    formats: tuple[str, ...]  # what the spec allows for this input
    json_fields: Callable[[dict], tuple] | None = None  # JSON Lines form, when it has one
    csv_columns: dict[str, str] | None = None  # CSV column -> field, when names differ

    def column_map(self) -> dict[str, str]:
        return self.csv_columns or {field: field for field in self.fields}


KINDS = {
    kind.name: kind
    for kind in (
        InputKind(
            "provider", "raw_calls", CALL_FIELDS,
            required=("timestamp", "operation", "bet_id", "http_status", "response_code"),
            normalise="normalise_calls", formats=("jsonl", "csv"),
            json_fields=call_fields,
            csv_columns={"timestamp": "event_time", **{
                name: name for name in CALL_FIELDS if name not in ("logged_at", "event_time")}},
        ),
        InputKind(
            "ledger", "raw_bookings", BOOKING_FIELDS,
            required=("transaction_id", "created_at", "counterparty_id", "type", "user_id",
                      "bet_id", "amount", "balance_before", "balance_after"),
            normalise="normalise_bookings", formats=("csv", "parquet"),
        ),
        InputKind("balances", "raw_snapshots", SNAPSHOT_FIELDS, required=SNAPSHOT_FIELDS,
                  normalise="normalise_snapshots", formats=("csv",)),
        InputKind(
            "make", "raw_makes", MAKE_FIELDS,
            required=("cashback_id", "partner_user_id", "transaction_type", "amount", "sent_at"),
            normalise="normalise_makes", formats=("csv", "parquet"),
        ),
        InputKind("accept", "raw_accepts", ACCEPT_FIELDS, required=(),
                  normalise="normalise_accepts", formats=("jsonl",), json_fields=accept_fields),
    )
}  # fmt: skip


def _jsonl_records(
    stream: IO[bytes], to_fields: Callable[[dict], tuple]
) -> Iterator[tuple[int, tuple | None, str | None]]:
    """``(line, fields, problem)`` per non-blank line of a JSON Lines file."""
    for number, text, _ in _physical_lines(stream):
        if text is None:
            yield number, None, "line is not valid UTF-8"
            continue
        if not text.strip():
            continue
        try:
            yield number, to_fields(parse_json_record(text)), None
        except BadRecord as exc:
            yield number, None, str(exc)


# ---------------------------------------------------------------------------
# CSV


def _csv_rows(stream: IO[bytes]) -> Iterator[tuple[int, list[str] | None, str]]:
    """``(first physical line, cells or None if not UTF-8, raw text)`` per CSV record.

    A quoted cell may span lines; the record is numbered by its first line.
    Blank lines are not records.
    """
    bad_lines: set[int] = set()
    pending: list[str] = []
    last_line = 0

    def decoded() -> Iterator[str]:
        for number, text, raw in _physical_lines(stream):
            if text is None:
                bad_lines.add(number)
                text = raw.decode("utf-8", errors="replace")
            pending.append(text)
            yield text + "\n"

    reader = csv.reader(decoded())
    for cells in reader:
        first, last_line = last_line + 1, reader.line_num
        raw_text, pending[:] = "\n".join(pending), []
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        spans_bad = any(n in bad_lines for n in range(first, last_line + 1))
        yield first, None if spans_bad else cells, raw_text


def _csv_header(path: Path, cells: list[str] | None, kind: InputKind) -> list[str]:
    if cells is None:
        raise InputError(f"{path}: the header row is not valid UTF-8")
    header = [cell.strip().lower() for cell in cells]
    wanted = kind.required
    missing = [column for column in wanted if column not in header]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)}")
    return header


def _csv_records(
    stream: IO[bytes], path: Path, kind: InputKind
) -> Iterator[tuple[int, tuple | None, str | None]]:
    """``(line, fields, problem)`` per CSV record, fields in landing order."""
    rows = _csv_rows(stream)
    first = next(rows, None)
    if first is None:
        raise InputError(f"{path}: the file is empty (no header row)")
    header = _csv_header(path, first[1], kind)
    names = kind.column_map()
    fields = kind.fields
    positions = [header.index(column) if column in header else None for column in names]
    order = [fields.index(names[column]) for column in names]
    width = len(header)
    for line, cells, _ in rows:
        if cells is None:
            yield line, None, "line is not valid UTF-8"
        elif len(cells) != width:
            yield line, None, f"row has {len(cells)} fields, the header has {width}"
        else:
            values: list[str | None] = [None] * len(fields)
            for position, slot in zip(positions, order, strict=True):
                if position is not None and cells[position] != "":
                    values[slot] = cells[position]
            yield line, tuple(values), None


# ---------------------------------------------------------------------------
# Landing into DuckDB


class _Lander:
    """Collects landing rows and inserts them into DuckDB in Arrow batches."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, fields: tuple[str, ...]):
        self.con, self.table, self.fields = con, table, fields
        self.columns: list[list] = [[] for _ in range(3 + len(fields))]

    def add(self, file_id: int, line: int, values: tuple | None, problem: str | None) -> None:
        self.columns[0].append(file_id)
        self.columns[1].append(line)
        self.columns[2].append(problem)
        values = values or (None,) * len(self.fields)
        for column, value in zip(self.columns[3:], values, strict=True):
            column.append(value)
        if len(self.columns[0]) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.columns[0]:
            return
        batch = pa.table(  # noqa: F841 - read by DuckDB through the variable name
            {
                "file_id": pa.array(self.columns[0], pa.int32()),
                "line": pa.array(self.columns[1], pa.int64()),
                "problem": pa.array(self.columns[2], pa.string()),
                **{
                    name: pa.array(values, pa.string())
                    for name, values in zip(self.fields, self.columns[3:], strict=True)
                },
            }
        )
        self.con.execute(f"INSERT INTO {self.table} SELECT * FROM batch")
        self.columns = [[] for _ in self.columns]


def _land_text_file(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    kind = KINDS[source.kind]
    lander = _Lander(con, kind.table, kind.fields)
    with _reading(source.path) as stream:
        if source.format == "jsonl":
            records = _jsonl_records(stream, kind.json_fields)
        else:
            records = _csv_records(stream, source.path, kind)
        for line, values, problem in records:
            source.rows_in += 1
            lander.add(source.file_id, line, values, problem)
        lander.flush()


def _land_parquet_file(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Parquet rows land like CSV rows; their "line" is the 1-based row number."""
    kind = KINDS[source.kind]
    table, fields = kind.table, kind.fields
    try:
        described = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(source.path)]
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{source.path}: not a readable Parquet file ({exc})") from None
    present = {row[0].lower(): row[0] for row in described}
    missing = [c for c in kind.required if c not in present]
    if missing:
        raise InputError(f"{source.path}: missing required column(s) {', '.join(missing)}")
    selected = ", ".join(
        f'CAST("{present[f]}" AS VARCHAR) AS {f}' if f in present else f"NULL AS {f}"
        for f in fields
    )
    con.execute(
        f"INSERT INTO {table} SELECT ? AS file_id, file_row_number + 1 AS line, NULL AS problem, "
        f"{selected} FROM read_parquet(?, file_row_number = true)",
        [source.file_id, str(source.path)],
    )
    source.rows_in = con.execute(
        f"SELECT count(*) FROM {table} WHERE file_id = ?", [source.file_id]
    ).fetchall()[0][0]


def insert_rows(con: duckdb.DuckDBPyConnection, statement: str, rows: list[list]) -> None:
    """``executemany`` that accepts no rows (DuckDB refuses an empty list)."""
    if rows:
        con.executemany(statement, rows)


def create_landing_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("macros"))
    con.execute(sql("raw_tables"))


def land_files(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    progress: Callable[[str], None] | None = None,
) -> None:
    for source in sources:
        if progress:
            progress(f"reading {source.path.name} ({source.kind}, {source.format})")
        allowed = KINDS[source.kind].formats
        if source.format not in allowed:
            raise InputError(
                f"{source.path}: --{source.kind} takes {' or '.join(allowed)}, "
                f"this file is {source.format}"
            )
        if source.format == "parquet":
            _land_parquet_file(con, source)
        else:
            _land_text_file(con, source)


def normalise(con: duckdb.DuckDBPyConnection, kinds: list[str]) -> None:
    for name in kinds:
        con.execute(sql(KINDS[name].normalise))


def plan_sources(
    con: duckdb.DuckDBPyConnection, inputs: dict[str, list[Path]], run_id: int
) -> list[SourceFile]:
    """Number the new files after those in the store; recognise the ones it has."""
    known = dict(
        ((kind, sha), (file_id, run))
        for kind, sha, file_id, run in con.execute(
            "SELECT kind, sha256, file_id, run_id FROM input_files"
        ).fetchall()
    )
    next_id = con.execute("SELECT coalesce(max(file_id), 0) FROM input_files").fetchall()[0][0]
    sources = []
    for kind, paths in inputs.items():
        for path in paths:
            sha = checksum(path)
            fmt = detect_format(kind, path)
            if (kind, sha) in known:
                file_id, earlier_run = known[(kind, sha)]
                sources.append(SourceFile(file_id, kind, path, fmt, sha, earlier_run))
            else:
                next_id += 1
                sources.append(SourceFile(next_id, kind, path, fmt, sha, run_id))
    return sources


def _count_outcomes(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> None:
    """Fill loaded / collapsed / rejected of each new file from the run's tables."""
    ids = [s.file_id for s in sources]
    collapsed = dict(
        con.execute(
            "SELECT file_id, count(*) FROM collapsed WHERE list_contains(?, file_id) GROUP BY 1",
            [ids],
        ).fetchall()
    )
    rejected = dict(
        con.execute(
            "SELECT file_id, count(DISTINCT line) FROM rejects WHERE list_contains(?, file_id) "
            "GROUP BY 1",
            [ids],
        ).fetchall()
    )
    for source in sources:
        source.collapsed = collapsed.get(source.file_id, 0)
        source.rejected = rejected.get(source.file_id, 0)
        source.loaded = source.rows_in - source.collapsed - source.rejected


def _store_reject_texts(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> None:
    """Keep the redacted raw text of every rejected record beside its reason."""
    for source in sources:
        if not source.rejected:
            continue
        lines = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT line FROM rejects WHERE file_id = ?", [source.file_id]
            ).fetchall()
        }
        texts = raw_text_of(source, lines, con)
        insert_rows(
            con,
            "UPDATE rejects SET raw = ? WHERE file_id = ? AND line = ?",
            [[text, source.file_id, line] for line, text in texts.items()],
        )


def load_inputs(
    con: duckdb.DuckDBPyConnection,
    inputs: dict[str, list[Path]],
    run_id: int,
    progress: Callable[[str], None] | None = None,
) -> list[SourceFile]:
    """Land, normalise and store every input not already in the store.

    Returns every file given, new or not; ``calls``, ``bookings`` and
    ``snapshots`` then hold the new records beside the stored ones.
    """
    sources = plan_sources(con, inputs, run_id)
    new = [s for s in sources if s.is_new(run_id)]
    create_landing_tables(con)
    land_files(con, new, progress)
    if progress:
        progress("checking and storing the records")
    normalise(con, list(inputs))
    _count_outcomes(con, new)
    _store_reject_texts(con, new)
    insert_rows(
        con,
        "INSERT INTO input_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [s.file_id, run_id, s.kind, str(s.path), s.format, s.sha256, s.rows_in, s.loaded,
             s.collapsed, s.rejected]
            for s in new
        ],
    )  # fmt: skip
    insert_rows(
        con,
        "INSERT INTO run_inputs VALUES (?, ?, ?, ?)",
        [[run_id, s.file_id, str(s.path), s.is_new(run_id)] for s in sources],
    )
    return sources


# ---------------------------------------------------------------------------
# Raw text of rejected records, for rejects.csv


def redact(text: str) -> str:
    """Replace any X-Sign or Authorization value, and bearer tokens, by ``[redacted]``."""
    text = _SECRET_JSON.sub(r'\1"[redacted]"', text)
    return _BEARER.sub(r"\1 [redacted]", text)


def _redact_csv_cells(raw: str, secret_positions: list[int]) -> str:
    try:
        cells = next(csv.reader([raw]))
    except (csv.Error, StopIteration):
        return raw
    for position in secret_positions:
        if position < len(cells):
            cells[position] = "[redacted]"
    out = csv.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def raw_text_of(source: SourceFile, lines: set[int], con: duckdb.DuckDBPyConnection) -> dict:
    """The redacted text of the given records of one file, by line number."""
    if source.format == "parquet":
        rows = con.execute(
            "SELECT file_row_number + 1, to_json(p)::VARCHAR FROM "
            "read_parquet(?, file_row_number = true) AS p WHERE file_row_number + 1 IN "
            "(SELECT unnest(?))",
            [str(source.path), sorted(lines)],
        ).fetchall()
        return {line: redact(text) for line, text in rows}
    found = {}
    with _reading(source.path) as stream:
        if source.format == "jsonl":
            for number, text, raw in _physical_lines(stream):
                if number in lines:
                    found[number] = redact(text if text is not None else raw.decode("latin-1"))
            return found
        rows = _csv_rows(stream)
        _, header_cells, _ = next(rows)
        header = [c.strip().lower() for c in header_cells or []]
        secrets = [i for i, name in enumerate(header) if _SECRET_COLUMNS.match(name)]
        for line, _, raw in rows:
            if line in lines:
                found[line] = redact(_redact_csv_cells(raw, secrets) if secrets else raw)
    return found
