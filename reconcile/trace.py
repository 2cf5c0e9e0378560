"""Incident trace: everything that happened to one bet, transaction, request,
session or user, on both sides, in time order (spec section 6).

The store answers: calls and bookings are read by id, the match of each booking
is the one the latest run recorded (``booking_matches``), and the findings come
from the register with their state.  A selector that is not a bet (a
transaction, a request, a session) is widened to the whole story of the bets it
touches, because that is what an engineer needs to see; a user shows every
booking of the user's wallet (all providers, adjustments) and the calls of the
user's sessions.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import duckdb

from reconcile.text import money, visible
from reconcile.window import iso

SELECTORS = ("bet", "tx", "request", "session", "user", "cashback")
#: How a booking matched its call (``matched_by``, sql/scope.sql; the store's
#: ``booking_matches.how``).
MATCHED_BY = {1: "transaction id", 2: "request id", 3: "bet and type"}
TX_FIELDS = (("tx", "transaction_id"), ("bet tx", "bet_transaction_id"),
             ("win tx", "win_transaction_id"))  # fmt: skip
WIDTH = 80

CALL_COLUMNS = (
    "call_id", "event_time", "operation", "request_id", "session_id", "bet_id", "bet_amount",
    "win_amount", "http_status", "response_code", "outcome", "transaction_id",
    "bet_transaction_id", "win_transaction_id", "balance", "error",
)  # fmt: skip
BOOKING_COLUMNS = (
    "booking_id", "created_at", "type", "transaction_id", "request_id", "counterparty_id",
    "session_id", "user_id", "currency", "bet_id", "amount", "balance_before", "balance_after",
    "matched_call", "matched_by",
)  # fmt: skip
FINDING_COLUMNS = (
    "finding_id", "check", "severity", "status", "bet_id", "transaction_id", "user_id",
    "currency", "amount", "detail", "first_seen_at", "nights_seen", "resolved_at",
)  # fmt: skip
MAKE_COLUMNS = (
    "make_id", "sent_at", "cashback_id", "transaction_type", "partner_user_id", "amount",
    "tax_amount", "currency",
)  # fmt: skip
ACCEPT_COLUMNS = (
    "accept_id", "logged_at", "cashback_id", "transaction_type", "error_code", "message",
    "partner_user_id", "partner_transaction_id", "amount", "tax_amount", "http_status", "error",
)  # fmt: skip


@dataclass
class Trace:
    selector: str
    value: str
    calls: list[dict] = field(default_factory=list)
    bookings: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    makes: list[dict] = field(default_factory=list)
    accepts: list[dict] = field(default_factory=list)
    truncated: int = 0

    @property
    def found(self) -> bool:
        return bool(self.calls or self.bookings or self.findings or self.makes or self.accepts)


def _fetch(con: duckdb.DuckDBPyConnection, query: str, params: list, names) -> list[dict]:
    return [dict(zip(names, row, strict=True)) for row in con.execute(query, params).fetchall()]


def _bets_of(con: duckdb.DuckDBPyConnection, selector: str, value: str) -> list[str]:
    if selector == "bet":
        return [value]
    calls_named = {
        "tx": "? IN (transaction_id, bet_transaction_id, win_transaction_id)",
        "request": "request_id = ?",
        "session": "session_id = ?",
        "user": "session_id IN (SELECT session_id FROM bookings WHERE user_id = ?)",
    }[selector]
    bookings_named = {
        "tx": "transaction_id = ?",
        "request": "request_id = ?",
        "session": "session_id = ?",
        "user": "user_id = ?",
    }[selector]
    rows = con.execute(
        f"""SELECT bet_id FROM calls WHERE bet_id IS NOT NULL AND {calls_named}
            UNION SELECT bet_id FROM bookings WHERE bet_id IS NOT NULL AND {bookings_named}""",
        [value, value],
    ).fetchall()
    return sorted(row[0] for row in rows)


def build_trace(
    con: duckdb.DuckDBPyConnection, selector: str, value: str, limit: int = 500
) -> Trace:
    """Read the story of one id from the store (a run must have recorded matches)."""
    if selector == "cashback":
        return _cashback_trace(con, value, limit)
    bets = _bets_of(con, selector, value)
    trace = Trace(selector, value)
    # Records with no bet that the selector still names: an ADJUSTMENT by its
    # transaction id or user, a Balance call by its session or request.
    extra_booking = {"tx": "transaction_id = ?", "user": "user_id = ?"}.get(selector, "false")
    extra_call = {"request": "request_id = ?", "session": "session_id = ?"}.get(selector, "false")
    trace.calls = _fetch(
        con,
        f"""SELECT {", ".join(CALL_COLUMNS)} FROM calls
            WHERE bet_id IN (SELECT unnest(?::VARCHAR[])) OR ({extra_call})
            ORDER BY event_time, call_id LIMIT ?""",
        [bets, *([value] if extra_call != "false" else []), limit + 1],
        CALL_COLUMNS,
    )
    trace.bookings = _fetch(
        con,
        f"""SELECT b.booking_id, b.created_at, b.type, b.transaction_id, b.request_id,
                   b.counterparty_id, b.session_id, b.user_id, b.currency, b.bet_id, b.amount,
                   b.balance_before, b.balance_after, m.call_id, m.how AS matched_by
            FROM bookings b LEFT JOIN booking_matches m ON m.booking_id = b.booking_id
            WHERE b.bet_id IN (SELECT unnest(?::VARCHAR[])) OR ({extra_booking})
            ORDER BY b.created_at, b.booking_id LIMIT ?""",
        [bets, *([value] if extra_booking != "false" else []), limit + 1],
        BOOKING_COLUMNS,
    )
    for records in (trace.calls, trace.bookings):
        if len(records) > limit:
            trace.truncated += len(records) - limit
            del records[limit:]
    txs = [b["transaction_id"] for b in trace.bookings]
    trace.findings = _fetch(
        con,
        """SELECT finding_id, "check", severity, status, bet_id, transaction_id, user_id,
                  currency, amount, detail, first_seen_at, nights_seen, resolved_at
           FROM finding_register
           WHERE bet_id IN (SELECT unnest(?::VARCHAR[]))
              OR transaction_id IN (SELECT unnest(?::VARCHAR[]))
              OR (? = 'user' AND user_id = ?)
           ORDER BY first_seen_at, "check", finding_id""",
        [bets, txs, selector, value],
        FINDING_COLUMNS,
    )
    return trace


def _cashback_trace(con: duckdb.DuckDBPyConnection, cashback_id: str, limit: int) -> Trace:
    """Makes sent and accepts received for one cashback, with its findings."""
    trace = Trace("cashback", cashback_id)
    trace.makes = _fetch(
        con,
        f"SELECT {', '.join(MAKE_COLUMNS)} FROM makes WHERE cashback_id = ? "
        "ORDER BY sent_at, make_id LIMIT ?",
        [cashback_id, limit],
        MAKE_COLUMNS,
    )
    trace.accepts = _fetch(
        con,
        f"SELECT {', '.join(ACCEPT_COLUMNS)} FROM accepts WHERE cashback_id = ? "
        "ORDER BY logged_at, accept_id LIMIT ?",
        [cashback_id, limit],
        ACCEPT_COLUMNS,
    )
    trace.findings = _fetch(
        con,
        """SELECT finding_id, "check", severity, status, bet_id, transaction_id, user_id,
                  currency, amount, detail, first_seen_at, nights_seen, resolved_at
           FROM finding_register WHERE cashback_id = ?
           ORDER BY first_seen_at, "check", finding_id""",
        [cashback_id],
        FINDING_COLUMNS,
    )
    return trace


# ---------------------------------------------------------------------------
# Text for a terminal


def _when(moment: datetime | None) -> str:
    text = iso(moment).replace("T", " ").removesuffix("Z")
    return text if "." in text else text + ".000"


def _amount(label: str, value: Decimal | None) -> str | None:
    return f"{label} {money(value)}" if value is not None else None


def _call_lines(call: dict) -> list[str]:
    status = "no answer" if call["http_status"] is None else f"HTTP {call['http_status']}"
    if call["response_code"] is not None:
        status += f"/{call['response_code']}"
    head = f"{_when(call['event_time'])}  CALL {call['operation']:<10} {status} {call['outcome']}"
    facts = [
        _amount("stake", call["bet_amount"]),
        _amount("win", call["win_amount"]),
        *(f"{label} {call[key]}" for label, key in TX_FIELDS if call[key]),
        _amount("balance", call["balance"]),
    ]
    lines = [head, *_indented(" · ".join(f for f in facts if f))]
    lines += _indented(f"request {call['request_id'] or 'none'}")
    if call["error"]:
        lines += _indented(f"error: {call['error']}")
    return lines


def _booking_lines(booking: dict, call_times: dict[int, datetime]) -> list[str]:
    head = (
        f"{_when(booking['created_at'])}  BOOK {booking['type']:<10} "
        f"{money(booking['amount'])} {booking['currency'] or ''}".rstrip()
    )
    chain = f"{money(booking['balance_before'])} → {money(booking['balance_after'])}"
    lines = [head, *_indented(f"tx {booking['transaction_id']} · balance {chain}")]
    if booking["matched_call"] is not None:
        at, by = call_times.get(booking["matched_call"]), MATCHED_BY[booking["matched_by"]]
        lines += _indented(f"matched the call at {_when(at)[11:] if at else '?'} by {by}")
    elif booking["type"] == "ADJUSTMENT":
        lines += _indented("manual adjustment")
    else:
        lines += _indented(
            f"matched no call in the log (counterparty {booking['counterparty_id']})"
        )
    if booking["request_id"]:
        lines += _indented(f"request {booking['request_id']}")
    return lines


def _kind(transaction_type: int) -> str:
    return "payment" if transaction_type == 1 else "cancellation"


def _make_lines(make: dict) -> list[str]:
    head = (
        f"{_when(make['sent_at'])}  MAKE {_kind(make['transaction_type']):<12} "
        f"{money(make['amount'])} {make['currency'] or ''}".rstrip()
    )
    tax = f" · tax {money(make['tax_amount'])}" if make["tax_amount"] is not None else ""
    return [head, *_indented(f"user {make['partner_user_id']}{tax}")]


def _accept_lines(accept: dict) -> list[str]:
    answer = "no answer" if accept["http_status"] is None else f"HTTP {accept['http_status']}"
    head = (
        f"{_when(accept['logged_at'])}  ACCEPT {_kind(accept['transaction_type'])} "
        f"{accept['error_code']} {accept['message'] or ''}".rstrip()
    )
    facts = [
        _amount("amount", accept["amount"]),
        _amount("tax", accept["tax_amount"]),
        f"user {accept['partner_user_id']}",
        f"partner tx {accept['partner_transaction_id']}",
        f"aggregator answered: {answer}",
    ]
    lines = [head, *_indented(" · ".join(f for f in facts if f))]
    if accept["error"]:
        lines += _indented(f"error: {accept['error']}")
    return lines


def _indented(text: str) -> list[str]:
    return textwrap.wrap(visible(text), WIDTH, initial_indent=" " * 25, subsequent_indent=" " * 27)


def _finding_lines(finding: dict) -> list[str]:
    state = finding["status"]
    if finding["resolved_at"] is not None:
        state += f" {iso(finding['resolved_at'])}"
    elif finding["nights_seen"] > 1:
        state += f", {finding['nights_seen']} nights"
    head = (
        f"  {finding['severity']:<8} {finding['check']:<18} "
        f"{money(finding['amount'])} {finding['currency'] or ''}".rstrip()
    )
    detail = textwrap.wrap(
        visible(f"{finding['detail']} [{state}; id {finding['finding_id']}]"),
        WIDTH,
        initial_indent=" " * 11,
        subsequent_indent=" " * 11,
    )
    return [head, *detail]


def render_text(trace: Trace) -> str:
    """The story, in time order, readable in an 80-column terminal; control
    characters from the logs are shown as escapes, never sent to the terminal."""
    users = sorted({r["user_id"] for r in (*trace.bookings, *trace.findings) if r["user_id"]})
    sessions = sorted({c["session_id"] for c in trace.calls if c["session_id"]})
    lines = [f"{trace.selector} {trace.value}"]
    if users or sessions:
        lines += textwrap.wrap(
            visible(f"user {', '.join(users) or '?'} · session {', '.join(sessions) or '?'}"), WIDTH
        )
    lines.append("─" * WIDTH)
    call_times = {c["call_id"]: c["event_time"] for c in trace.calls}
    timeline = [(c["event_time"], 0, c["call_id"], _call_lines(c)) for c in trace.calls]
    timeline += [
        (b["created_at"], 1, b["booking_id"], _booking_lines(b, call_times)) for b in trace.bookings
    ]
    timeline += [(m["sent_at"], 0, m["make_id"], _make_lines(m)) for m in trace.makes]
    timeline += [(a["logged_at"], 1, a["accept_id"], _accept_lines(a)) for a in trace.accepts]
    for *_, event_lines in sorted(timeline, key=lambda e: e[:3]):
        lines += event_lines
    if trace.truncated:
        lines.append(f"… {trace.truncated} more record(s) not shown (raise --limit)")
    lines.append("─" * WIDTH)
    if trace.findings:
        lines.append(f"findings ({len(trace.findings)})")
        for finding in trace.findings:
            lines += _finding_lines(finding)
    else:
        lines.append("no findings")
    return "\n".join(map(visible, lines))


def as_document(trace: Trace) -> dict:
    """The trace for scripts (``--format json``); decimals and times as text."""
    return {
        "selector": trace.selector,
        "value": trace.value,
        "calls": trace.calls,
        "bookings": [b | {"matched_by": MATCHED_BY.get(b["matched_by"])} for b in trace.bookings],
        "makes": trace.makes,
        "accepts": trace.accepts,
        "findings": trace.findings,
        "truncated": trace.truncated,
    }
