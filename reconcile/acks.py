"""Acknowledged breaks: a YAML file kept in git beside the cron configuration.

Finance writes ``reconcile ack FINDING_ID --owner ... --reason ...``; the file
is reviewed like code and applied by ``reconcile run --acks FILE``.  An
acknowledged finding stays in every output, marked with its owner, reason and
ticket, but does not count towards ``--fail-on`` until its acknowledgement
expires (the day after ``expires``, judged by the run's cutoff) or its evidence
changes: its money at issue differs, or its key (bet, transaction, cashback)
has more calls or bookings than when it was acknowledged.  Then it is
``reopened`` and the report says what changed.

The file is read and written with ruamel.yaml's round-trip mode, so comments
and the order of existing entries survive an added acknowledgement.  Anything
malformed is an error naming the file and line, never ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from reconcile.checks import CHECKS
from reconcile.errors import InputError
from reconcile.resources import sql
from reconcile.text import money

FIELDS = ("finding_id", "check", "key", "owner", "reason", "ticket", "expires",
          "acknowledged_on", "amount", "records")  # fmt: skip
REQUIRED = ("finding_id", "owner", "reason")
_FINDING_ID = re.compile(r"[0-9a-f]{16}")
HEADER = """\
# Acknowledged reconciliation breaks, applied by `reconcile run --acks FILE`.
# One entry per finding_id (findings.csv). An entry stops counting when it
# expires or when the finding's evidence (amount, calls, bookings) changes.
"""


@dataclass(frozen=True)
class Ack:
    finding_id: str
    owner: str
    reason: str
    line: int
    check: str | None = None
    ticket: str | None = None
    expires: date | None = None
    amount: Decimal | None = None  # money at issue when acknowledged
    records: int | None = None  # calls and bookings of its key when acknowledged

    def expired(self, on: datetime) -> bool:
        return self.expires is not None and on.date() > self.expires

    def label(self) -> str:
        ticket = f" ({self.ticket})" if self.ticket else ""
        until = f"; until {self.expires.isoformat()}" if self.expires else ""
        return f"acknowledged by {self.owner}{ticket}: {self.reason}{until}"


def _yaml() -> YAML:
    """Round-trip YAML; dates stay text so a bad one is reported with its line
    (ruamel would otherwise fail inside the parser on ``2026-13-01``)."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.constructor.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
    )
    return yaml


def _where(path: Path, node, key: str | None = None) -> str:
    try:
        line = (node.lc.key(key)[0] if key is not None else node.lc.line) + 1
    except (AttributeError, KeyError, TypeError):
        return str(path)
    return f"{path}:{line}"


def _document(path: Path) -> CommentedMap:
    try:
        document = _yaml().load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: not valid YAML ({problem})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise InputError(f"{path}:1: expected a mapping with an 'acks' list")
    entries = document.setdefault("acks", CommentedSeq())
    if not isinstance(entries, CommentedSeq):
        raise InputError(f"{_where(path, document, 'acks')}: 'acks' must be a list")
    return document


def _text(path: Path, entry: CommentedMap, key: str, required: bool) -> str | None:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"{_where(path, entry)}: the entry has no {key}")
        return None
    if isinstance(value, (dict, list)):
        raise InputError(f"{_where(path, entry, key)}: {key} must be text")
    return str(value).strip()


def _date(path: Path, entry: CommentedMap, key: str) -> date | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(
            f"{_where(path, entry, key)}: {key} {value!r} is not a date (YYYY-MM-DD)"
        ) from None


def _parse_entry(path: Path, entry) -> Ack:
    if not isinstance(entry, CommentedMap):
        raise InputError(f"{path}: every item of 'acks' must be a mapping")
    unknown = [k for k in entry if k not in FIELDS]
    if unknown:
        raise InputError(f"{_where(path, entry, unknown[0])}: unknown field {unknown[0]!r}")
    finding_id = _text(path, entry, "finding_id", True)
    if not _FINDING_ID.fullmatch(finding_id):
        raise InputError(f"{_where(path, entry, 'finding_id')}: {finding_id!r} is not a finding id")
    check = _text(path, entry, "check", False)
    if check is not None and check not in CHECKS:
        raise InputError(f"{_where(path, entry, 'check')}: unknown check {check!r}")
    amount = _text(path, entry, "amount", False)
    records = entry.get("records")
    try:
        amount_value = Decimal(amount) if amount is not None else None
        records_value = int(records) if records is not None else None
    except (InvalidOperation, ValueError, TypeError):
        raise InputError(f"{_where(path, entry)}: amount or records is not a number") from None
    return Ack(
        finding_id=finding_id,
        owner=_text(path, entry, "owner", True),
        reason=_text(path, entry, "reason", True),
        line=entry.lc.line + 1,
        check=check,
        ticket=_text(path, entry, "ticket", False),
        expires=_date(path, entry, "expires"),
        amount=amount_value,
        records=records_value,
    )


def load_acks(path: Path) -> dict[str, Ack]:
    """Every acknowledgement of the file by finding id; an InputError names the line."""
    if not path.is_file():
        raise InputError(f"--acks: no such file {str(path)!r}")
    acks: dict[str, Ack] = {}
    for entry in _document(path)["acks"]:
        ack = _parse_entry(path, entry)
        if ack.finding_id in acks:
            raise InputError(
                f"{path}:{ack.line}: finding {ack.finding_id} is already acknowledged at "
                f"line {acks[ack.finding_id].line}"
            )
        acks[ack.finding_id] = ack
    return acks


def add_ack(path: Path, entry: dict) -> None:
    """Append (or replace, for the same finding id) one acknowledgement, keeping
    the comments and order of everything else in the file."""
    if path.exists():
        document = _document(path)
    else:
        document = _yaml().load(HEADER + "acks: []\n")
        document["acks"] = CommentedSeq()
    record = CommentedMap((k, entry[k]) for k in FIELDS if entry.get(k) is not None)
    _parse_entry(path, _with_line(record))  # the same rules as when it is read back
    entries = document["acks"]
    for index, existing in enumerate(entries):
        if isinstance(existing, CommentedMap) and existing.get("finding_id") == entry["finding_id"]:
            entries[index] = record
            break
    else:
        entries.append(record)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as stream:
        _yaml().dump(document, stream)
    temporary.replace(path)


def _with_line(record: CommentedMap) -> CommentedMap:
    record.lc.line = 0
    return record


def evidence_records(con, finding: dict, upto: datetime | None) -> int:
    """Calls and bookings (or makes and accepts) of the finding's key up to ``upto``."""
    con.execute(sql("evidence"))
    return con.execute(
        "SELECT evidence_records(?, ?, ?, coalesce(?::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ))",
        [finding.get("bet_id"), finding.get("transaction_id"), finding.get("cashback_id"), upto],
    ).fetchall()[0][0]


def apply(con, rows: list[dict], acks: dict[str, Ack], cutoff: datetime) -> None:
    """Mark the acknowledged rows: ``status``, ``status_note`` and ``counts``
    (whether the row counts towards --fail-on) are set on every row."""
    for row in rows:
        row.setdefault("status_note", "")
        row["counts"] = True
        ack = acks.get(row["finding_id"])
        if ack is None:
            continue
        if ack.expired(cutoff):
            row["status_note"] = f"acknowledgement by {ack.owner} expired {ack.expires}"
            continue
        changes = []
        if ack.amount is not None and ack.amount != row["amount"]:
            changes.append(f"money at issue {money(ack.amount)} -> {money(row['amount'])}")
        if ack.records is not None:
            now = evidence_records(con, row, cutoff)
            if now > ack.records:
                changes.append(f"{now - ack.records} new call(s) or booking(s) for its key")
        if changes:
            row["status"] = "reopened"
            row["status_note"] = f"{ack.label()}; reopened: {', '.join(changes)}"
        else:
            row["status"] = "acknowledged"
            row["status_note"] = ack.label()
            row["counts"] = False


def apply_to_listed(con, acks: dict[str, Ack], cutoff: datetime) -> None:
    """:func:`apply` to the run's ``listed`` findings (``outputs.list_findings``):
    only the few an acknowledgement names are read and written back."""
    if not acks:
        return
    result = con.execute("SELECT * FROM listed WHERE list_contains(?, finding_id)", [list(acks)])
    names = [column[0] for column in result.description]
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    apply(con, rows, acks, cutoff)
    con.executemany(
        "UPDATE listed SET status = ?, status_note = ?, counts = ? WHERE finding_id = ?",
        [[r["status"], r["status_note"], r["counts"], r["finding_id"]] for r in rows],
    )
