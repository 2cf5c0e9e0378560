"""JSON Lines records into landing fields, each record parsed once by msgspec.

A kind of JSON input is declared once, as its fields (``JsonField``: the landing
field, its place in the record, whether it is money) and the objects on the way
to them.  From that come both ways of reading a record:

* the fast way, for nearly every record: one ``msgspec`` decode into structs
  built from the declaration (``msgspec.defstruct``).  Text fields are typed
  ``str | int | None``; money fields are ``msgspec.Raw``, which keeps the
  number's exact literal (``276120324.67508337`` and ``1e-05`` stay as written:
  DuckDB's JSON reader would have gone through a double).  Only the fields at
  their declared place are read: a nested object holding the same key is
  skipped, not taken for the amount.
* the careful way, for a record the fast way cannot settle (broken JSON, a
  value of another type, a field that is an object, a header spelled in other
  case): every object on the way is decoded as ``dict[str, Raw]`` and each
  value's JSON text is looked at, giving the same values, and the same first
  problem, as the rules in ``sql/raw_tables.sql`` describe.

A block of records becomes one Arrow batch: ``line``, ``problem`` (a record
that cannot be read as this kind, or None), ``late_problem`` (a value that is
not a single value: it ranks after the checks SQL makes of the request path),
then each field's exact text.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import msgspec
import numpy as np
import pyarrow as pa

from reconcile import arrays

Text = str | int | None  # what a text field usually is; anything else goes the careful way


@dataclass(frozen=True)
class JsonField:
    name: str  # landing field
    path: tuple[str, ...]  # keys from the record down to the value
    money: bool = False  # keep the literal (msgspec.Raw)
    header: bool = False  # the last key's case does not matter (HTTP header)
    label: str | None = None  # in a problem; None: never "not a single value" (its text is used)


@dataclass(frozen=True)
class JsonKind:
    fields: tuple[JsonField, ...]
    objects: tuple[tuple[tuple[str, ...], str], ...]  # (path, name in a problem), in order

    def schema(self) -> pa.Schema:
        return pa.schema(
            [("line", pa.int64()), ("problem", pa.string()), ("late_problem", pa.string())]
            + [(f.name, pa.large_string() if f.money else pa.string()) for f in self.fields]
        )


def _f(name: str, *path: str, money: bool = False, header: bool = False) -> JsonField:
    return JsonField(name, path, money, header, path[-1])


CALLS = JsonKind(
    fields=(
        _f("logged_at", "loggedAt"),
        JsonField("path", ("request", "path")),
        _f("event_time", "request", "headers", "X-Timestamp", header=True),
        _f("request_id", "request", "headers", "X-Request-Id", header=True),
        _f("counterparty_id", "request", "headers", "X-Counterparty-Id", header=True),
        _f("bet_id", "request", "body", "betId"),
        _f("game_round_id", "request", "body", "gameRoundId"),
        _f("bet_amount", "request", "body", "betAmount", money=True),
        _f("win_amount", "request", "body", "winAmount", money=True),
        _f("win_odd", "request", "body", "winOdd", money=True),
        _f("http_status", "response", "status"),
        _f("response_code", "response", "body", "_responseCode"),
        _f("transaction_id", "response", "body", "transactionId"),
        _f("bet_transaction_id", "response", "body", "betTransactionId"),
        _f("win_transaction_id", "response", "body", "winTransactionId"),
        _f("balance", "response", "body", "balance", money=True),
        _f("error", "error"),
    ),
    objects=(
        (("request",), "request"),
        (("request", "headers"), "headers"),
        (("request", "body"), "body"),
        (("response",), "response"),
        (("response", "body"), "body"),
    ),
)

ACCEPTS = JsonKind(
    fields=(
        _f("logged_at", "loggedAt"),
        _f("error_code", "request", "body", "ErrorCode"),
        _f("message", "request", "body", "Message"),
        _f("cashback_id", "request", "body", "Value", "CashbackId"),
        _f("partner_user_id", "request", "body", "Value", "PartnerUserId"),
        _f("partner_transaction_id", "request", "body", "Value", "PartnerTransactionId"),
        _f("transaction_type", "request", "body", "Value", "TransactionType"),
        _f("amount", "request", "body", "Value", "Amount", money=True),
        _f("tax_amount", "request", "body", "Value", "TaxAmount", money=True),
        _f("http_status", "response", "status"),
        _f("error", "error"),
    ),
    objects=(
        (("request",), "request"),
        (("request", "body"), "body"),
        (("request", "body", "Value"), "Value"),
        (("response",), "response"),
    ),
)

KINDS = {"calls": CALLS, "accepts": ACCEPTS}


# ---------------------------------------------------------------------------
# The fast way: structs made from the declaration


def _struct(kind: JsonKind, prefix: tuple[str, ...], name: str) -> type:
    """The msgspec struct of the object at ``prefix``: its fields and sub-objects."""
    members: dict[str, object] = {}
    for field in kind.fields:
        if field.path[: len(prefix)] == prefix and len(field.path) == len(prefix) + 1:
            members[field.path[-1]] = msgspec.Raw if field.money else Text
    for path, _ in kind.objects:
        if path[: len(prefix)] == prefix and len(path) == len(prefix) + 1:
            members[path[-1]] = _struct(kind, path, name + "_" + path[-1]) | None
    fields = [(_attr(key), of, msgspec.field(default=None, name=key))
              for key, of in members.items()]  # fmt: skip
    return msgspec.defstruct(name, fields, gc=False)


def _attr(key: str) -> str:
    return "f_" + "".join(c if c.isalnum() else "_" for c in key)


@dataclass
class _Reader:
    kind: JsonKind
    decoder: msgspec.json.Decoder
    empty: dict  # path -> an empty struct of that object (for an absent or null one)
    getters: list  # per field: the attribute names from the record down to it


_READERS: dict[str, _Reader] = {}


def _reader(name: str) -> _Reader:
    if name not in _READERS:
        kind = KINDS[name]
        record = _struct(kind, (), "Json_" + name)
        empty: dict[tuple[str, ...], object] = {}

        def walk(struct_type: type, prefix: tuple[str, ...]) -> None:
            empty[prefix] = struct_type()
            for path, _ in kind.objects:
                if path[: len(prefix)] == prefix and len(path) == len(prefix) + 1:
                    field_type = struct_type.__annotations__[_attr(path[-1])]
                    walk(next(t for t in field_type.__args__ if t is not type(None)), path)

        walk(record, ())
        getters = [[_attr(k) for k in f.path] for f in kind.fields]
        _READERS[name] = _Reader(kind, msgspec.json.Decoder(record), empty, getters)
    return _READERS[name]


# ---------------------------------------------------------------------------
# The careful way: every object as dict[str, Raw]

_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ANY = msgspec.json.Decoder()
_NOT_OBJECT = object()


def _object(raw: msgspec.Raw | None) -> dict | object:
    """An object's members, {} when absent or null, _NOT_OBJECT otherwise."""
    if raw is None:
        return {}
    text = bytes(raw)
    if text == b"null":
        return {}
    if text[:1] != b"{":
        return _NOT_OBJECT
    return _OBJECT.decode(raw)


def _member(members: dict, key: str, header: bool) -> msgspec.Raw | None:
    if key in members or not header:
        return members.get(key)
    wanted = key.lower()
    found = [k for k in members if k.lower() == wanted]
    return members[found[-1]] if found else None


def _leaf(raw: msgspec.Raw | None) -> tuple[str | None, bool]:
    """A value's exact text, and whether it is an object or a list (no single value)."""
    if raw is None:
        return None, False
    text = bytes(raw)
    first = text[:1]
    if first == b'"':
        return _ANY.decode(raw), False
    if text == b"null":
        return None, False
    return text.decode("utf-8"), first in (b"{", b"[")


def read_carefully(kind: JsonKind, record: bytes) -> tuple[str | None, str | None, list]:
    """(problem, late problem, field texts) of one record, by the rules of
    ``sql/raw_tables.sql``: the first problem only."""
    nothing = [None] * len(kind.fields)
    try:
        _ANY.decode(record)
    except msgspec.DecodeError:
        return "broken JSON", None, nothing
    try:
        top = _OBJECT.decode(record)
    except msgspec.ValidationError:
        return "not a JSON object", None, nothing
    objects: dict[tuple[str, ...], dict] = {(): top}
    problem = None
    for path, name in kind.objects:
        parent = objects.get(path[:-1])
        members = _object(parent.get(path[-1])) if parent is not None else {}
        if members is _NOT_OBJECT:
            problem = problem or f"{name} is not a JSON object"
            members = None
        objects[path] = members
    values, late = [], None
    for field in kind.fields:
        members = objects.get(field.path[:-1])
        raw = _member(members, field.path[-1], field.header) if members else None
        text, compound = _leaf(raw)
        values.append(text)
        if compound and field.label and late is None:
            late = f"{field.label} is not a single value"
    return problem, late, values


# ---------------------------------------------------------------------------
# A block of records


def _texts(values: list) -> list:
    """Text fields: an integer written as such keeps its digits."""
    return [v if v.__class__ is not int else str(v) for v in values]


def _text_array(values: list) -> pa.Array:
    try:  # most text fields hold strings only: Arrow takes them as they are
        return arrays.texts(values)
    except TypeError:
        pass
    return arrays.texts(_texts(values))


_UNUSUAL = np.frombuffer(b'"n{[', np.uint8)  # a money value that is not a bare number


def _raw_array(values: list) -> tuple[pa.Array, list[int]]:
    """Money fields' JSON texts (``msgspec.Raw``, from a block that is all UTF-8) as
    one string array, without a Python object per value, and which of them are not
    a bare number (a string, null, object or list: those go the careful way)."""
    count = len(values)
    absent = np.array([v is None for v in values], bool)
    present = [v for v in values if v is not None]
    lengths = np.zeros(count, np.int64)
    lengths[~absent] = np.fromiter(map(len, present), np.int64, len(present))
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = b"".join(present)
    first = np.frombuffer(data, np.uint8)[offsets[:-1][~absent]] if present else lengths[:0]
    unusual = np.flatnonzero(~absent)[np.isin(first, _UNUSUAL)].tolist()
    validity = pa.py_buffer(np.packbits(~absent, bitorder="little")) if absent.any() else None
    array = pa.Array.from_buffers(
        pa.large_string(), count, [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return array, unusual


def _patched(array: pa.Array, rows: list[int], values: list) -> pa.Array:
    """``array`` with ``values`` at ``rows``."""
    if not rows:
        return array
    items = array.to_pylist()  # rare: a block with a record read the careful way
    for row, value in zip(rows, values, strict=True):
        items[row] = value
    return arrays.texts(items, large=array.type == pa.large_string())


def _decoded(
    decoder: msgspec.json.Decoder, view: memoryview, starts: np.ndarray, ends: np.ndarray,
    per_record: bool,
) -> tuple[list, list[int]]:  # fmt: skip
    """Each record decoded (None when it is not of the declared types), and which are None.

    The whole block in one call where it can: ``decode_lines`` reads one value per
    line and never across a line end, so one value for every record that is not
    blank means one value for each.  A block with any other record is decoded a
    record at a time."""
    if not per_record:
        try:
            records = decoder.decode_lines(view)
        except msgspec.DecodeError:
            pass
        else:
            if len(records) == len(starts):
                return records, []
    decode = decoder.decode
    records, careful = [], []
    for i, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        try:
            records.append(decode(view[start:end]))
        except msgspec.DecodeError:  # broken, or not of the declared types
            records.append(None)
            careful.append(i)
    return records, careful


def parse_block(
    name: str, data: bytes, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray,
    problems: list | None,
) -> pa.RecordBatch:  # fmt: skip
    """The landing fields of records ``data[starts[i]:ends[i]]`` (none blank);
    ``problems[i]`` set marks a record already unreadable (not UTF-8)."""
    reader = _reader(name)
    kind = reader.kind
    view = memoryview(data)
    records, careful = _decoded(reader.decoder, view, starts, ends, problems is not None)
    # the objects on the way, level by level (an absent or null one reads as empty)
    present = [r if r is not None else reader.empty[()] for r in records]
    objects = {(): present}
    for path, _ in kind.objects:
        parents = objects[path[:-1]]
        attr, empty = _attr(path[-1]), reader.empty[path]
        objects[path] = [v or empty for v in map(attrgetter(attr), parents)]
    columns = []
    for field in kind.fields:
        values = list(map(attrgetter(_attr(field.path[-1])), objects[field.path[:-1]]))
        if field.money and problems is None:
            array, unusual = _raw_array(values)
            careful.extend(unusual)
        elif field.money:  # some record is not UTF-8: value by value
            texts = [None if v is None else bytes(v).decode("utf-8", "replace") for v in values]
            careful.extend(i for i, t in enumerate(texts) if t is not None and t[0] in '"n{[')
            array = arrays.texts(texts, large=True)
        else:
            if field.header and None in values:  # another spelling may stand in the record
                careful.extend(i for i, v in enumerate(values) if v is None)
            array = _text_array(values)
        columns.append(array)
    careful = sorted(set(careful))
    problem: list = list(problems) if problems is not None else [None] * len(records)
    late: list = [None] * len(records)
    patches: list[list] = [[] for _ in columns]
    if problems is not None:  # an unreadable record has no fields
        careful = [i for i in careful if problems[i] is None]
        unreadable = [i for i, p in enumerate(problems) if p is not None]
        columns = [_patched(c, unreadable, [None] * len(unreadable)) for c in columns]
    for i in careful:
        problem[i], late[i], values = read_carefully(kind, bytes(view[starts[i] : ends[i]]))
        for patch, value in zip(patches, values, strict=True):
            patch.append(value)
    columns = [_patched(c, careful, p) for c, p in zip(columns, patches, strict=True)]
    fields = [arrays.int64s(lines), arrays.texts(problem), arrays.texts(late), *columns]
    return pa.RecordBatch.from_arrays(fields, schema=kind.schema())
