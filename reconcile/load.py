"""Stage 1, load: read every input file into normalised DuckDB tables.

DuckDB's own text readers cannot give what the contract needs: its JSON reader
turns every number into a binary double and has no rejects table, and its CSV
reader numbers lines wrongly past a blank line or a quoted line break and can
drop a row silently when a cast is pushed into it (see DUCKDB-NOTES.md).  So
every text input (JSON Lines, CSV) is read the same way, in two steps:

1. Python cuts the file into records, a block of bytes at a time, without
   looking at any record on its own (numpy finds the line ends): each record
   keeps its exact text and its physical line number.
2. SQL splits each batch of records into fields (``sql/raw_tables.sql``) and
   lands them in ``raw_*`` tables, every field as the exact text of the file; a
   JSON number keeps its literal (``1e-05`` stays ``1e-05``).

All typing and validation then happens once, in SQL (``sql/normalise_*.sql``):
one set of rules for every input form.  Parquet goes straight from DuckDB's
reader into the same landing tables.  Memory stays flat: one block of a file is
in Python at a time, and DuckDB spills beyond its memory limit.

Counting: every record read is counted in ``input_files.rows_in``; every record
ends up either loaded, collapsed (an exact duplicate) or rejected.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import glob
import gzip
import hashlib
import itertools
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb
import numpy as np
import pyarrow as pa

from reconcile import arrays, jsonl
from reconcile.errors import InputError
from reconcile.resources import sql

#: Text handed to DuckDB at a time.  A block's records live in Python (msgspec's
#: values, the Arrow columns built from them) beside DuckDB's own memory limit:
#: measured at 1M bets, 16 MB blocks peaked at 1,407 MB RSS, 4 MB at 1,250 MB and
#: 2 MB at 1,265 MB, in the same wall time (bench/RESULTS.md).
BLOCK_BYTES = 4 << 20
SLICE_ROWS = 2_000_000  # typed rows stored at a time
BOM = b"\xef\xbb\xbf"
NEWLINE, RETURN, QUOTE = ord("\n"), ord("\r"), ord('"')
WHITESPACE = np.frombuffer(b" \t\n\r\x0b\x0c", np.uint8)

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

_SECRET_NAME = re.compile(r"(?i)^(x[-_]?sign(ature)?|signature|(proxy-)?authorization)$")
# Every JSON key and its value (a string, or a bare token that does not open an
# object or list, so that the keys inside one are still visited).
_JSON_PAIR = re.compile(r'("((?:[^"\\]|\\.)*)"\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|[^,}\s{\[][^,}\s]*)')
# A header dump or a query string: ``X-Sign: 3f…``, ``Authorization=Bearer …``.
_SECRET_HEADER = re.compile(
    r"(?i)\b(x[-_]?sign(?:ature)?|signature|(?:proxy-)?authorization)(\s*[:=]\s*)"
    r"((?:bearer|basic|hmac[-\w]*)\s+)?[^\s,;&\"'}]+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# What an X-Sign is, wherever it stands: an HMAC-SHA256 in hex.
_SIGNATURE_VALUE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{64,}(?![0-9A-Za-z])")
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
    if head.startswith(b"{") and KINDS[kind].from_jsonl is not None:
        return "jsonl"
    return "csv"


# ---------------------------------------------------------------------------
# Reading bytes: gzip, checksum, records


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


def checksum(path: Path) -> str:
    """SHA-256 of the file as it is on disk (compressed, when it is)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Records:
    """Whole records of a file: ``data[starts[i]:ends[i]]``
    is record i, which starts on physical line ``lines[i]``."""

    data: np.ndarray  # bytes
    ends: np.ndarray
    lines: np.ndarray

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate(([0], self.ends[:-1])).astype(np.int64)

    def text(self, i: int) -> bytes:
        return self.data[self.starts[i] : self.ends[i]].tobytes()

    def blank(self) -> np.ndarray:
        """Which records hold nothing but spaces, tabs and line ends: no records at all."""
        starts, lengths = self.starts, self.ends - self.starts
        first = self.data[np.minimum(starts, max(len(self.data) - 1, 0))] if len(self.data) else 0
        blank = lengths == 0
        for i in np.flatnonzero(~blank & np.isin(first, WHITESPACE)):
            blank[i] = not self.text(i).strip()
        return blank


def _record_blocks(stream: IO[bytes], quoted: bool) -> Iterator[_Records]:
    """The file's records, a block of about ``BLOCK_BYTES`` at a time.

    A record is a physical line (ended by LF), or for CSV (``quoted``) the lines
    up to the first line end outside double quotes, so that a quoted cell may
    span lines.  A CSV record loses its line end (LF and the CRs before it); a
    JSON record keeps it, as JSON whitespace, which spares copying every block.
    Lines are numbered from 1, a BOM is dropped.  A file whose first block
    has CRs and no LF (classic Mac line ends) has each CR read as LF.  This is the only
    per-file work done in Python, and it looks at no record on its own: numpy
    finds the line ends, and the fields are split out in SQL
    (``sql/raw_tables.sql``).
    """
    number = 1  # physical number of the first line in `data`
    data = stream.read(BLOCK_BYTES).removeprefix(BOM)
    lone_returns = b"\n" not in data and b"\r" in data
    if lone_returns:
        data = data.replace(b"\r", b"\n")
    while data:
        more = stream.read(BLOCK_BYTES)
        if lone_returns:
            more = more.replace(b"\r", b"\n")
        codes = np.frombuffer(data, np.uint8)
        line_ends = np.flatnonzero(codes == NEWLINE) + 1
        if not more and (not len(line_ends) or line_ends[-1] != len(data)):
            line_ends = np.append(line_ends, len(data))  # the last line has no line end
        record_ends = line_ends
        if quoted:  # a line end inside a quoted cell does not end the record
            record_ends = line_ends[~_inside_quotes(data, codes, line_ends)]
            if not more and (not len(record_ends) or record_ends[-1] != len(data)):
                record_ends = np.append(record_ends, len(data))  # a quote never closed
        if len(record_ends):
            cut = int(record_ends[-1])
            starts = np.concatenate(([0], record_ends[:-1]))
            lines = number + np.searchsorted(line_ends, starts, side="right")
            if quoted:
                kept = line_ends[line_ends <= cut]
                records = _without_line_ends(codes[:cut], kept, record_ends, lines)
            else:  # a JSON record's line end is JSON whitespace: it may stay
                records = _Records(codes[:cut], record_ends, lines)
            yield _without_boms(records)
            number += int(np.searchsorted(line_ends, cut, side="right"))
            data = data[cut:]
        data += more  # no whole record yet: read on


def _without_line_ends(
    codes: np.ndarray, line_ends: np.ndarray, ends: np.ndarray, lines: np.ndarray
) -> _Records:
    """The records without the LF that ends each, nor the CRs before any LF (a line
    break inside a quoted CSV cell stays, as LF)."""
    dropped = [ends[codes[ends - 1] == NEWLINE] - 1]
    returns = line_ends[codes[line_ends - 1] == NEWLINE] - 2
    while len(returns := returns[returns >= 0]):
        returns = returns[codes[returns] == RETURN]
        dropped.append(returns)
        returns = returns - 1
    crs = [found for found in dropped[1:] if len(found)]
    # each byte once: LFs (in order), and the CRs before them (most files have none)
    drop = np.sort(np.concatenate([dropped[0], *crs])) if crs else dropped[0]
    keep = np.ones(len(codes), bool)
    keep[drop] = False
    return _Records(codes[keep], ends - np.searchsorted(drop, ends), lines)


def _without_boms(records: _Records) -> _Records:
    """The records without a byte-order mark at their start: files joined with
    ``cat`` carry one at the start of each part, in the middle of the whole."""
    starts, data = records.starts, records.data
    room = starts[starts + len(BOM) <= len(data)]
    room = np.unique(room[data[room] == BOM[0]])  # few; an empty record shares a start
    marked = room[(data[room + 1] == BOM[1]) & (data[room + 2] == BOM[2])]
    if not len(marked):
        return records
    drop = (marked[:, None] + np.arange(len(BOM))).ravel()
    keep = np.ones(len(data), bool)
    keep[drop] = False
    ends = records.ends - len(BOM) * np.searchsorted(marked, records.ends, side="left")
    return _Records(data[keep], ends, records.lines)


# A CSV record whose quotes are all closed.  As in Python's csv module, a quote
# opens a quoted cell only at the start of a cell; elsewhere it is a character.
# Inside a quoted cell "" is always a quote (read left to right), so what
# follows a closing quote cannot start with one.
_CLOSED_RECORD = re.compile(
    rb'(?:"(?:[^"]|"")*"(?:[^,"][^,]*)?|[^,"][^,]*|)'
    rb'(?:,(?:"(?:[^"]|"")*"(?:[^,"][^,]*)?|[^,"][^,]*|))*'
)


def _inside_quotes(data: bytes, codes: np.ndarray, line_ends: np.ndarray) -> np.ndarray:
    """Which line ends fall inside a quoted cell, as a mask over ``line_ends``.

    Only lines holding a quote can open or close a cell, so only they are looked
    at (most CSV files have none); a line between them takes the state of the
    last one.
    """
    inside = np.zeros(len(line_ends), bool)
    quoted_lines = np.unique(np.searchsorted(line_ends, np.flatnonzero(codes == QUOTE), "right"))
    record_start, previous = None, -1
    for i in quoted_lines[quoted_lines < len(line_ends)]:
        if record_start is None:
            record_start = line_ends[i - 1] if i else 0
        else:
            inside[previous + 1 : i] = True  # lines of the open record with no quote
        if _CLOSED_RECORD.fullmatch(data[record_start : line_ends[i]].rstrip(b"\r\n")):
            record_start = None
        else:
            inside[i] = True
        previous = i
    if record_start is not None:
        inside[previous + 1 :] = True
    return inside


RECORDS = pa.schema([("line", pa.int64()), ("text", pa.large_string()), ("problem", pa.string())])


def _record_batches(stream: IO[bytes], quoted: bool) -> Iterator[pa.RecordBatch]:
    """The records that are not blank, as Arrow batches of ``line``, ``text`` and
    ``problem`` (set for a record that is not UTF-8)."""
    for block in _record_blocks(stream, quoted):
        offsets = np.concatenate(([0], block.ends)).astype(np.int64)
        text = pa.LargeStringArray.from_buffers(
            len(block.ends), pa.py_buffer(offsets), pa.py_buffer(block.data)
        )
        problem = pa.nulls(len(block.ends), pa.string())
        try:
            text.validate(full=True)  # UTF-8, all at once
        except pa.ArrowInvalid:
            text, problem = _utf8_records(block)
        batch = pa.RecordBatch.from_arrays(
            [arrays.int64s(block.lines), text, problem], schema=RECORDS
        )
        blank = block.blank()
        yield batch.filter(arrays.mask(~blank)) if blank.any() else batch


def _json_batches(stream: IO[bytes], name: str) -> Iterator[pa.RecordBatch]:
    """The landing fields of a JSON Lines file's records, a block at a time
    (``reconcile/jsonl.py``: each record parsed once)."""
    for block in _record_blocks(stream, quoted=False):
        yield jsonl.parse_block(name, *_json_block(block))


def _json_block(block: _Records) -> tuple:
    """``parse_block``'s arguments for a block: its bytes, where each record that is
    not blank starts and ends, its line, and which are not UTF-8 (None: all are)."""
    data = block.data.tobytes()
    keep = ~block.blank()
    starts, ends, lines = block.starts[keep], block.ends[keep], block.lines[keep]
    whole = pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(np.array([0, len(data)], np.int64)), pa.py_buffer(data)
    )
    problems = None
    try:
        whole.validate(full=True)  # UTF-8, all at once
    except pa.ArrowInvalid:
        problems = []
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            try:
                data[start:end].decode("utf-8")
                problems.append(None)
            except UnicodeDecodeError:
                problems.append("line is not valid UTF-8")
    return data, starts, ends, lines, problems


def _utf8_records(block: _Records) -> tuple[pa.Array, pa.Array]:
    """For a block that is not all UTF-8: which records are not, as a problem."""
    texts, problems = [], []
    for i in range(len(block.ends)):
        try:
            texts.append(block.text(i).decode("utf-8"))
            problems.append(None)
        except UnicodeDecodeError:
            texts.append("")
            problems.append("line is not valid UTF-8")
    return arrays.texts(texts, large=True), arrays.texts(problems)


# ---------------------------------------------------------------------------
# The kinds of input


@dataclass(frozen=True)
class InputKind:
    """One kind of input file: where it lands and how its records are read."""

    name: str  # the --option without dashes
    table: str  # landing table (sql/raw_tables.sql)
    fields: tuple[str, ...]  # landing fields, in table order
    required: tuple[str, ...]  # columns a CSV/Parquet file must have (exit 2 otherwise)
    normalise: str  # sql/<normalise>.sql types, rejects and stores the landed records
    formats: tuple[str, ...]  # what the spec allows for this input
    #: where its records are kept, and the column of the time each happened at
    stored_in: tuple[str, str]
    # (store table, typed rows, their ids, slice macro) when <normalise>.sql leaves
    # the storing to _store_in_slices
    slices: tuple[str, str, str, str] | None = None
    #: the typed columns that make two records the same record (spec 2, exact
    #: duplicates), the one compared with the store by equality first, and the
    #: typed rows' table (``{{copies}}`` in <normalise>.sql)
    copy_columns: tuple[str, ...] = ()
    rows: str = ""
    from_jsonl: str | None = None  # table macro over JSON Lines fields (raw_tables.sql)
    json: str | None = None  # how its JSON records read (reconcile/jsonl.py KINDS)
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
            stored_in=("calls", "event_time"), rows="call_rows",
            copy_columns=("event_time", "request_id", "counterparty_id", "session_id",
                          "operation", "bet_id", "game_round_id", "bet_amount", "win_amount",
                          "win_odd", "http_status", "response_code", "transaction_id",
                          "bet_transaction_id", "win_transaction_id", "balance", "error"),
            slices=("calls", "call_rows", "call_order", "call_slice"),
            from_jsonl="calls_from_fields", json="calls",
            csv_columns={"timestamp": "event_time", **{
                name: name for name in CALL_FIELDS if name not in ("logged_at", "event_time")}},
        ),
        InputKind(
            "ledger", "raw_bookings", BOOKING_FIELDS,
            required=("transaction_id", "created_at", "counterparty_id", "type", "user_id",
                      "bet_id", "amount", "balance_before", "balance_after"),
            normalise="normalise_bookings", formats=("csv", "parquet"),
            stored_in=("bookings", "created_at"), rows="booking_rows",
            copy_columns=("transaction_id", "created_at", "counterparty_id", "session_id",
                          "user_id", "currency", "type", "bet_id", "game_round_id", "amount",
                          "balance_before", "balance_after", "request_id"),
            slices=("bookings", "booking_rows", "booking_order", "booking_slice"),
        ),
        InputKind("balances", "raw_snapshots", SNAPSHOT_FIELDS, required=SNAPSHOT_FIELDS,
                  normalise="normalise_snapshots", formats=("csv",),
                  stored_in=("snapshots", "as_of"), rows="snapshot_rows",
                  copy_columns=("user_id", "currency", "balance", "as_of")),
        InputKind(
            "make", "raw_makes", MAKE_FIELDS,
            required=("cashback_id", "partner_user_id", "transaction_type", "amount", "sent_at"),
            normalise="normalise_makes", formats=("csv", "parquet"),
            stored_in=("makes", "sent_at"), rows="make_rows",
            copy_columns=("cashback_id", "partner_user_id", "transaction_type", "amount",
                          "tax_amount", "currency", "sent_at"),
        ),
        InputKind("accept", "raw_accepts", ACCEPT_FIELDS, required=(),
                  normalise="normalise_accepts", formats=("jsonl",),
                  stored_in=("accepts", "logged_at"), rows="accept_rows",
                  copy_columns=("logged_at", "error_code", "message", "cashback_id",
                                "partner_user_id", "partner_transaction_id", "transaction_type",
                                "amount", "tax_amount", "http_status", "error"),
                  from_jsonl="accepts_from_fields",
                  json="accepts"),
    )
}  # fmt: skip


# ---------------------------------------------------------------------------
# Landing into DuckDB


def _csv_header(
    source: SourceFile, kind: InputKind, batch: pa.RecordBatch | None
) -> tuple[int, list[str]]:
    """The header of a CSV file (its first record): its line and its column names."""
    for i in range(batch.num_rows if batch is not None else 0):
        if batch["problem"][i].is_valid:
            raise InputError(f"{source.path}: the header row is not valid UTF-8")
        text = batch["text"][i].as_py()
        if text.strip():
            try:
                cells = next(csv.reader([text.rstrip("\r\n")]))
            except csv.Error as exc:  # a CR inside an unquoted name
                raise InputError(f"{source.path}: the header row cannot be read ({exc})") from None
            header = [cell.strip().lower() for cell in cells]
            missing = [column for column in kind.required if column not in header]
            if missing:
                raise InputError(f"{source.path}: missing required column(s) {', '.join(missing)}")
            return batch["line"][i].as_py(), header
    raise InputError(f"{source.path}: the file is empty (no header row)")


def _csv_landing(kind: InputKind, header: list[str]) -> str:
    """INSERT of one batch of CSV records: each landing field from its column's cell."""
    cell = {field: header.index(column) + 1 for column, field in kind.column_map().items()
            if column in header}  # fmt: skip
    values = ", ".join(
        f"nullif(cells[{cell[field]}], '')" if field in cell else "NULL" for field in kind.fields
    )
    return (
        f"INSERT INTO {kind.table} SELECT file_id, line, problem, {values} "
        "FROM csv_records(?, 'record_batch', ?, ?)"
    )


def _noting_errors(batches: Iterator, errors: list[Exception]) -> Iterator:
    """The batches; a read error (a broken gzip stream) is also noted in ``errors``."""
    try:
        yield from batches
    except (OSError, EOFError, zlib.error) as exc:
        errors.append(exc)
        raise


def _land_text_file(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Cut the file into records (Python) and split them into fields (SQL,
    ``sql/raw_tables.sql``), in one statement that pulls the records a block at a
    time, so that cutting the next block overlaps with splitting this one."""
    kind = KINDS[source.kind]
    quoted = source.format == "csv"
    with _reading(source.path) as stream:
        batches = _record_batches(stream, quoted)
        if quoted:
            first = next(batches, None)
            header_line, header = _csv_header(source, kind, first)
            statement = _csv_landing(kind, header)
            parameters = [source.file_id, header_line, len(header)]
            batches = itertools.chain([first], batches)
            schema = RECORDS
        else:
            batches = _json_batches(stream, kind.json)
            schema = jsonl.KINDS[kind.json].schema()
            statement = (
                f"INSERT INTO {kind.table} SELECT * FROM {kind.from_jsonl}(?, 'record_batch')"
            )
            parameters = [source.file_id]
        unreadable: list[Exception] = []
        con.register("record_batch", pa.RecordBatchReader.from_batches(
            schema, _noting_errors(batches, unreadable)))  # fmt: skip
        try:
            con.execute(statement, parameters)
        except duckdb.Error:
            if unreadable:  # DuckDB pulled the records: the reading error reaches us wrapped
                raise InputError(f"{source.path}: cannot be read ({unreadable[0]})") from None
            raise
        con.unregister("record_batch")
    source.rows_in = con.execute(
        f"SELECT count(*) FROM {kind.table} WHERE file_id = ?", [source.file_id]
    ).fetchall()[0][0]


@contextmanager
def _parquet_errors(path: Path) -> Iterator[None]:
    """A garbage, truncated or corrupt Parquet file is an input error naming the file,
    in one line (DuckDB's message carries the query and a caret below it)."""
    try:
        yield
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable Parquet file ({reason})") from None


def _land_parquet_file(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Parquet rows land like CSV rows; their "line" is the 1-based row number."""
    kind = KINDS[source.kind]
    table, fields = kind.table, kind.fields
    with _parquet_errors(source.path):
        described = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(source.path)]
        ).fetchall()
    present = {row[0].lower(): row[0] for row in described}
    missing = [c for c in kind.required if c not in present]
    if missing:
        raise InputError(f"{source.path}: missing required column(s) {', '.join(missing)}")
    selected = ", ".join(
        f'CAST("{present[f]}" AS VARCHAR) AS {f}' if f in present else f"NULL AS {f}"
        for f in fields
    )
    with _parquet_errors(source.path):
        con.execute(
            f"INSERT INTO {table} SELECT ? AS file_id, file_row_number + 1 AS line, "
            f"NULL AS problem, {selected} FROM read_parquet(?, file_row_number = true)",
            [source.file_id, str(source.path)],
        )
    source.rows_in = con.execute(
        f"SELECT count(*) FROM {table} WHERE file_id = ?", [source.file_id]
    ).fetchall()[0][0]


def register_redact(con: duckdb.DuckDBPyConnection) -> None:
    """``redact(text)`` in SQL: what the normalise SQL stores as reasons and errors."""
    with contextlib.suppress(duckdb.NotImplementedException):  # registered already
        con.create_function("redact", _redact_repeated, ["VARCHAR"], "VARCHAR")


#: Error texts repeat ("timeout after 10000 ms" on one call in twenty): a short text is
#: redacted once.  Measured at 200k bets, the provider's errors took 0.018 s instead
#: of 0.09 s.
@functools.lru_cache(maxsize=4096)
def _redact_short(text: str) -> str:
    return redact(text)


def _redact_repeated(text: str | None) -> str | None:
    return _redact_short(text) if text is not None and len(text) <= 200 else redact(text)


def insert_rows(con: duckdb.DuckDBPyConnection, statement: str, rows: list[list]) -> None:
    """``executemany`` that accepts no rows (DuckDB refuses an empty list)."""
    if rows:
        con.executemany(statement, rows)


def create_landing_tables(con: duckdb.DuckDBPyConnection) -> None:
    register_redact(con)
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
        _check_format(source)
        if source.format == "parquet":
            _land_parquet_file(con, source)
        else:
            _land_text_file(con, source)


def _check_format(source: SourceFile) -> None:
    allowed = KINDS[source.kind].formats
    if source.format not in allowed:
        raise InputError(
            f"{source.path}: --{source.kind} takes {' or '.join(allowed)}, "
            f"this file is {source.format}"
        )


def normalise_sql(kind: InputKind) -> str:
    """``sql/<normalise>.sql`` with its parts that every kind shares written out from
    the kind's copy columns: ``{{record}}`` (the columns), ``{{copy_hash}}`` and
    ``{{copies}}`` (its rejects, then the exact copies within the input and of
    records the store holds, each collapsed to the first by file and line, then the
    view ``new_records``: the typed rows that are neither, with their ``row``id,
    which the rest of the file stores)."""
    columns, rows, (store, time) = kind.copy_columns, kind.rows, kind.stored_in
    listed = ", ".join(columns)
    same = "\n     AND ".join(
        [f"s.{columns[0]} = r.{columns[0]}"]
        + [f"s.{c} IS NOT DISTINCT FROM r.{c}" for c in columns[1:]]
    )
    # A copy of a stored record has the same time: where the store is large (calls,
    # bookings), only stored records in the new ones' time range are looked at.
    in_range = (
        f"\n  AND s.{time} BETWEEN (SELECT min({time}) FROM {rows})"
        f" AND (SELECT max({time}) FROM {rows})"
        if kind.slices
        else ""
    )
    copies = f"""INSERT INTO rejects
SELECT file_id, line, redact(reject_reason), NULL FROM {rows} WHERE reject_reason IS NOT NULL;

-- Exact copies in the input: the first by file and line stays.  Only records whose
-- hash repeats can be copies, so only those are compared column by column.
INSERT INTO collapsed
SELECT file_id, line
FROM (SELECT file_id, line, row_number() OVER (
             PARTITION BY {listed}
             ORDER BY file_id, line) AS copy_number
      FROM {rows}
      WHERE reject_reason IS NULL
        AND copy_hash IN (SELECT copy_hash FROM {rows} WHERE reject_reason IS NULL
                          GROUP BY copy_hash HAVING count(*) > 1))
WHERE copy_number > 1;

-- Records the store already holds (an overlapping file loaded by an earlier run).
INSERT INTO collapsed
SELECT DISTINCT r.file_id, r.line
FROM {rows} r
JOIN {store} s
  ON {same}
WHERE r.reject_reason IS NULL{in_range}
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);

-- What the store takes: the records neither rejected nor a copy.
CREATE OR REPLACE TEMP VIEW new_records AS
SELECT r.rowid AS row, r.*
FROM {rows} r
WHERE r.reject_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM collapsed c WHERE c.file_id = r.file_id AND c.line = r.line);"""
    return (
        sql(kind.normalise)
        .replace("{{record}}", listed)
        .replace("{{copy_hash}}", f"hash({listed}) AS copy_hash")
        .replace("{{copies}}", copies)
    )


def normalise(con: duckdb.DuckDBPyConnection, kinds: list[str]) -> None:
    for name in kinds:
        kind = KINDS[name]
        con.execute(normalise_sql(kind))
        if kind.slices:
            _store_in_slices(con, *kind.slices)


def _store_in_slices(
    con: duckdb.DuckDBPyConnection, table: str, rows: str, ids: str, macro: str
) -> None:
    """Store the typed rows a slice of ``SLICE_ROWS`` at a time (``sql/normalise_*.sql``),
    then drop them: kept to the end of the run, they held memory the checks needed."""
    # rowids are consecutive, from a large number for rows the transaction added
    low, high = con.execute(f"SELECT min(rowid), max(rowid) FROM {rows}").fetchall()[0]
    for first in range(low or 0, -1 if high is None else high + 1, SLICE_ROWS):
        con.execute(
            f"INSERT INTO {table} SELECT * FROM {macro}(?, ?)", [first, first + SLICE_ROWS - 1]
        )
    con.execute(f"DROP TABLE {rows}")
    con.execute(f"DROP TABLE {ids}")


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
    given = [(kind, path) for kind, paths in inputs.items() for path in paths]
    # hashlib lets go of the GIL: the files are hashed side by side
    with ThreadPoolExecutor(max_workers=min(len(given), os.cpu_count() or 1) or 1) as pool:
        sums = list(pool.map(checksum, [path for _, path in given]))
    sources = []
    for (kind, path), sha in zip(given, sums, strict=True):
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
    for source in new:
        _check_format(source)
    create_landing_tables(con)
    for kind in inputs:  # one kind at a time: its landing table is emptied before the next
        land_files(con, [s for s in new if s.kind == kind], progress)
        if progress:
            progress(f"checking and storing the {kind} records")
        normalise(con, [kind])
    _count_outcomes(con, new)
    _store_reject_texts(con, new)
    insert_rows(
        con,
        "INSERT INTO input_files (file_id, run_id, kind, path, format, sha256, rows_in, loaded, "
        "collapsed, rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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


def redact(text: str | None) -> str | None:
    """Replace every credential in raw text by ``[redacted]``, recognised by what it is.

    An ``X-Sign`` / ``Authorization`` value under any spelling of its JSON key
    (``"X\\u002dSign"`` included), in a header dump (``X-Sign: …``), a bearer or
    basic token, and any 64-digit hex run (an HMAC-SHA256, the form of X-Sign)
    wherever it stands, say in the wrong cell of a short CSV row.  The one rule
    for rejects, error texts and messages, in Python and (as the ``redact``
    function) in the SQL that stores them.
    """
    if not text:
        return text
    text = _JSON_PAIR.sub(_redact_json_pair, text)
    text = _SECRET_HEADER.sub(r"\1\2[redacted]", text)
    text = _BEARER.sub(r"\1 [redacted]", text)
    return _SIGNATURE_VALUE.sub("[redacted]", text)


def _redact_json_pair(match: re.Match) -> str:
    try:
        name = json.loads(f'"{match.group(2)}"')
    except ValueError:
        name = match.group(2)
    if _SECRET_NAME.match(name.strip()):
        return f'{match.group(1)}"[redacted]"'
    return match.group(0)


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


def event_spans(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> dict[int, tuple]:
    """Per file id, the first and last event time its records hold (spec section 9),
    also for a file an earlier run of the store loaded."""
    spans: dict[int, tuple] = {}
    for kind in KINDS.values():
        table, column = kind.stored_in
        ids = [s.file_id for s in sources if s.kind == kind.name and s.file_id is not None]
        if ids:
            rows = con.execute(
                f"SELECT file_id, min({column}), max({column}) FROM {table} "
                "WHERE file_id IN (SELECT unnest(?)) GROUP BY file_id",
                [ids],
            ).fetchall()
            spans |= {file_id: (first, last) for file_id, first, last in rows}
    return spans


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
    wanted = np.array(sorted(lines), np.int64)
    secrets: list[int] | None = None if source.format == "csv" else []
    with _reading(source.path) as stream:
        for block in _record_blocks(stream, quoted=source.format == "csv"):
            if secrets is None:  # the CSV header is the first record that is not blank
                header = block.text(int(np.flatnonzero(~block.blank())[0]))
                names = next(csv.reader([header.decode("utf-8", errors="replace")]))
                secrets = [i for i, name in enumerate(names)
                           if _SECRET_NAME.match(name.strip())]  # fmt: skip
            for i in np.flatnonzero(np.isin(block.lines, wanted)):
                text = block.text(i).decode("utf-8", errors="replace").rstrip("\r\n")
                found[int(block.lines[i])] = redact(
                    _redact_csv_cells(text, secrets) if secrets else text
                )
    return found
