"""Synthetic test data for ``reconcile``: one day of a game provider's wallet-API traffic.

The generator runs an event-driven simulation of the aggregator's wallet (every user's balance
tracked exactly in ``Decimal``) and of one provider's calls against it, plus other providers
and manual adjustments booking on the same wallets. Defects are injected on purpose, each on
its own bet, and the simulation records the findings that the spec (section 4) says each one
must raise: ``Scenario.expected``. Nothing here imports the product; the expectation comes from
the simulation alone.

``simulate()`` keeps everything in memory (tests, fixtures). ``python -m simulate.provider``
streams records straight to files, so a million-bet day fits in little memory.
"""

from __future__ import annotations

import argparse
import csv
import functools
import heapq
import io
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from gzip import GzipFile
from pathlib import Path

__all__ = [
    "CHECKS",
    "ExpectedFinding",
    "Scenario",
    "WriteResult",
    "gap_hours",
    "main",
    "night_of",
    "simulate",
    "write_balances_csv",
    "write_fixture_set",
    "write_ledger_csv",
    "write_ledger_parquet",
    "write_provider_csv",
    "write_provider_jsonl",
    "write_provider_log",
]

CHECKS = (
    "open_bet",
    "missing_payout",
    "missing_payin",
    "duplicate_payin",
    "duplicate_payout",
    "duplicate_refund",
    "payout_and_refund",
    "orphan_settlement",
    "amount_mismatch",
    "status_mismatch",
    "unmatched_ledger",
    "balance_mismatch",
    "balance_drift",
)

Q8 = Decimal("0.00000001")
D0 = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
TIMEOUT_ERROR = "timeout after 10000 ms"

CALL_COLUMNS = [
    "timestamp",
    "request_id",
    "counterparty_id",
    "session_id",
    "operation",
    "bet_id",
    "game_round_id",
    "bet_amount",
    "win_amount",
    "win_odd",
    "http_status",
    "response_code",
    "transaction_id",
    "bet_transaction_id",
    "win_transaction_id",
    "balance",
    "error",
]
LEDGER_COLUMNS = [
    "transaction_id",
    "created_at",
    "counterparty_id",
    "session_id",
    "user_id",
    "currency",
    "type",
    "bet_id",
    "game_round_id",
    "amount",
    "balance_before",
    "balance_after",
    "request_id",
]
BALANCE_COLUMNS = ["user_id", "currency", "balance", "as_of"]


# --------------------------------------------------------------------------- results


def _by_sign(correction: Decimal) -> str:
    return "player" if correction > 0 else "house" if correction < 0 else "none"


def _owed(check, bet_id, tx, user_id, amount, owed_to, correction, action) -> ExpectedFinding:
    if amount == 0:
        owed_to, correction, action = "none", None, "none"
    return ExpectedFinding(check, bet_id, tx, user_id, abs(amount), owed_to, correction, action)


@functools.total_ordering
@dataclass(frozen=True)
class ExpectedFinding:
    """One finding the product must raise. ``amount`` is always >= 0.

    Ordered (sortable) with ``None`` keys sorting first, so mixed keys never raise TypeError.
    """

    check: str
    bet_id: str | None
    transaction_id: str | None
    user_id: str | None
    amount: Decimal
    # spec section 8, from what the simulation did (who was debited or credited wrongly)
    owed_to: str = "unknown"
    correction: Decimal | None = None
    action: str = "investigate"

    def key(self) -> tuple:
        return (
            self.check,
            self.bet_id,
            self.transaction_id,
            self.user_id,
            self.amount.quantize(Q8),
        )

    def owed(self) -> tuple:
        """The key with who is owed, the correction and the action."""
        correction = None if self.correction is None else self.correction.quantize(Q8)
        return (*self.key(), self.owed_to, correction, self.action)

    def _order(self) -> tuple:
        return (
            self.check,
            self.bet_id or "",
            self.transaction_id or "",
            self.user_id or "",
            self.amount,
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ExpectedFinding):
            return NotImplemented
        return self._order() < other._order()

    def as_json(self) -> dict:
        return {
            "check": self.check,
            "bet_id": self.bet_id,
            "transaction_id": self.transaction_id,
            "user_id": self.user_id,
            "amount": format(self.amount.quantize(Q8), "f"),
            "owed_to": self.owed_to,
            "correction": None
            if self.correction is None
            else format(self.correction.quantize(Q8), "f"),
            "action": self.action,
        }


@dataclass
class Scenario:
    counterparty_id: str
    window_from: datetime
    window_to: datetime
    cutoff: datetime
    grace: timedelta
    calls: list[dict]
    bookings: list[dict]
    snapshots: list[dict]
    expected: list[ExpectedFinding]
    seed: int = 42
    other_counterparty_ids: list[str] = field(default_factory=list)
    # every injected chain break (transaction id -> |difference|), including the ones outside
    # the window that must NOT be reported; the reported ones are also in ``expected``
    chain_breaks: dict[str, Decimal] = field(default_factory=dict)

    def expected_set(self) -> set[tuple]:
        return {f.key() for f in self.expected}

    def expected_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CHECKS, 0)
        for f in self.expected:
            counts[f.check] += 1
        return counts

    def occurred_at(self, finding: ExpectedFinding) -> datetime:
        """The finding's time as spec section 9 words it, from the records: a booking's
        finding its ``created_at``, ``balance_mismatch`` the call's, a snapshot's its
        ``as_of``, ``open_bet`` its PAYIN booking, any other bet's finding the bet's
        first event on either side."""
        if finding.check in BOOKING_CHECKS and finding.transaction_id is not None:
            return next(b["created_at"] for b in self.bookings
                        if b["transaction_id"] == finding.transaction_id)  # fmt: skip
        if finding.check == "balance_mismatch":
            return next(c["event_time"] for c in self.calls
                        if c["transaction_id"] == finding.transaction_id)  # fmt: skip
        if finding.check == "balance_drift":  # no transaction: a snapshot's
            return next(s["as_of"] for s in self.snapshots if s["user_id"] == finding.user_id)
        bookings = [b for b in self.bookings if b["bet_id"] == finding.bet_id
                    and b["counterparty_id"] == self.counterparty_id
                    and b["created_at"] <= self.cutoff]  # fmt: skip
        if finding.check == "open_bet":
            return min(b["created_at"] for b in bookings if b["type"] == "PAYIN")
        calls = [c["event_time"] for c in self.calls
                 if c["bet_id"] == finding.bet_id and c["event_time"] <= self.cutoff]  # fmt: skip
        return min([*calls, *(b["created_at"] for b in bookings)])


#: Findings about one booking (spec section 9: their time is its ``created_at``).
BOOKING_CHECKS = ("amount_mismatch", "status_mismatch", "unmatched_ledger", "balance_drift")

#: Spec section 9's rule: an hour in which one side has at least this many records
#: and the other fewer than a tenth as many.
GAP_FLOOR, GAP_RATIO = 20, 10


def gap_hours(
    scenario: Scenario, calls: Iterable[dict], bookings: Iterable[dict]
) -> dict[datetime, tuple[str, int, int]]:
    """Spec section 9 worked out from the records that were written: per hour of the
    window whose input looks incomplete, ``(short side, calls, bookings)``.  Counted are
    the provider's every call (Balance calls too) and its own bookings, up to the
    cutoff; a manual ADJUSTMENT is nobody's call and is not counted."""
    counts: dict[datetime, list[int]] = {}

    def count(at: datetime, side: int) -> None:
        if scenario.window_from <= at < scenario.window_to and at <= scenario.cutoff:
            counts.setdefault(at.replace(minute=0, second=0, microsecond=0), [0, 0])[side] += 1

    for c in calls:
        if c["counterparty_id"] == scenario.counterparty_id:
            count(c["event_time"], 0)
    for b in bookings:
        if b["counterparty_id"] == scenario.counterparty_id and b["type"] != "ADJUSTMENT":
            count(b["created_at"], 1)
    gaps = {}
    for hour, (n_calls, n_bookings) in sorted(counts.items()):
        if n_bookings >= GAP_FLOOR and n_calls * GAP_RATIO < n_bookings:
            gaps[hour] = ("provider_log", n_calls, n_bookings)
        elif n_calls >= GAP_FLOOR and n_bookings * GAP_RATIO < n_calls:
            gaps[hour] = ("ledger", n_calls, n_bookings)
    return gaps


@dataclass
class WriteResult:
    path: Path
    rows_in: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)
    collapsed: int = 0
    sign_values: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "rows_in": self.rows_in,
            "rejects": [[line, why] for line, why in self.rejects],
            "collapsed": self.collapsed,
        }


# --------------------------------------------------------------------------- small helpers


def _to_ms(dt: datetime) -> int:
    return (dt - _EPOCH) // _MS


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _iso(ms: int, offset: bool = False) -> str:
    """ISO-8601 with milliseconds, ``Z`` or ``+01:00`` (the same instant)."""
    if offset:
        ms += HOUR
    sec, rest = divmod(ms, 1000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{stamp}.{rest:03d}{'+01:00' if offset else 'Z'}"


def _plain(d: Decimal | None) -> str:
    return "" if d is None else format(d, "f")


def _exp_literal(d: Decimal) -> str:
    """Exact exponent form of a decimal, float-repr style: ``1e-05``, ``1.25e+01``."""
    if d == 0:
        return "0"
    sign, digits, exp = d.normalize().as_tuple()
    text = "".join(map(str, digits))
    e = exp + len(text) - 1
    mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{'-' if sign else ''}{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------- simulation


class _User:
    __slots__ = (
        "bal",
        "booked",
        "booked_set",
        "cur",
        "other_sessions",
        "seen",
        "sessions",
        "snap",
        "uid",
        "whale",
    )


class _Bet:
    __slots__ = ("bet_id", "cp", "odd", "report", "rnd", "sess", "stake", "user", "win")


class _Randomness:
    """Random values, ids and new bets: all the simulation draws from its seeded rng."""

    # ---- random values
    def rid(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def sign(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def new_tx(self) -> str:
        tx = self.next_tx
        self.next_tx += 1
        return str(tx)

    def think(self) -> int:
        if self.rng.random() < 0.1:
            return self.rng.randint(60_000, 300_000)
        return self.rng.randint(300, 60_000)

    def retry_wait(self) -> int:
        """Delay before retrying a call that timed out (its answer is 10 s overdue)."""
        return self.rng.randint(10_200, 20_000)

    def stake(self, u: _User) -> Decimal:
        rng = self.rng
        r = rng.random()
        if r < 0.02:
            v = Decimal("0.00001")
        elif r < 0.05:
            v = Decimal(rng.randint(1, 99)).scaleb(-rng.randint(5, 8))
        elif r < 0.20:
            v = Decimal(rng.randint(10**7, 5 * 10**9)).scaleb(-8)
        elif r < 0.30:
            v = Decimal(rng.randint(1, 100))
        elif r < 0.90:
            v = Decimal(rng.randint(10, 20_000)).scaleb(-2)
        else:
            dp = rng.choice((1, 3, 4, 5, 6, 7))
            v = Decimal(rng.randint(1, 10 ** (dp + 2))).scaleb(-dp)
        if u.whale:
            v *= 1000
        return v

    def outcome(self, stake: Decimal) -> tuple[Decimal, Decimal]:
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            return D0, Decimal("0")
        odd = Decimal(rng.randint(110, 290)).scaleb(-2)
        if r > 0.985:
            odd = Decimal(rng.randint(500, 5000)).scaleb(-2)
        dp = min(8, -stake.as_tuple().exponent + 2)
        win = (stake * odd).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_DOWN)
        return win, odd

    def diff(self) -> Decimal:
        """A non-zero signed difference with 0-8 decimal places (some tiny)."""
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            v = Decimal("0.00000001")
        elif r < 0.55:
            v = Decimal(rng.randint(1, 5000)).scaleb(-2)
        elif r < 0.85:
            v = Decimal(rng.randint(1, 10**9)).scaleb(-8)
        else:
            v = Decimal(rng.randint(1, 50))
        return v if rng.random() < 0.5 else -v

    def pick_user(self) -> _User:
        return self.rng.choice(self.users)

    def next_bet_id(self) -> str:
        i = self.bet_seq
        self.bet_seq += 1
        return str(1_000_000_000 + (i * 2_654_435_761 + self.bet_off) % 9_000_000_000)

    def next_other_bet_id(self) -> str:
        i = self.obet_seq
        self.obet_seq += 1
        return str(100_000_000_000 + (i * 2_654_435_761 + self.obet_off) % 900_000_000_000)

    def new_bet(
        self, bet_id: str | None, report: bool, win_positive: bool, known_session: bool = False
    ) -> _Bet:
        """``known_session``: a session that already has a booking, so that a bet which books
        nothing can still be traced to its user (session -> user comes from the ledger)."""
        rng = self.rng
        b = _Bet()
        if known_session:
            u = rng.choice([u for u in self.users if u.booked])
            b.sess = rng.choice(u.booked)
        else:
            u = self.pick_user()
            b.sess = rng.choice(u.sessions)
        b.bet_id = bet_id or self.next_bet_id()
        b.user = u
        b.cp = self.cp
        if rng.random() < 0.7:
            b.rnd = f"{rng.getrandbits(32):08x}"
        else:
            b.rnd = _uuid(rng)
        b.stake = self.stake(u)
        b.win, b.odd = self.outcome(b.stake)
        if win_positive and b.win == 0:
            b.odd = Decimal("2.00")
            b.win = b.stake * 2
        b.report = report
        return b


class _Wallet:
    """The aggregator's wallet and the provider's log: bookings, calls and the
    findings a defect must raise."""

    # ---- findings
    def expect(
        self,
        b: _Bet,
        check: str,
        tx: str | None,
        amount: Decimal,
        owed_to: str,
        correction: Decimal | None = None,
        action: str = "book_adjustment",
    ) -> None:
        """``owed_to``, ``correction`` and ``action`` say what the defect did to the
        player's wallet (spec section 8); nothing is owed when no money is at issue."""
        if b.report:
            self.expected.append(_owed(check, b.bet_id, tx, b.user.uid, amount, owed_to,
                                       correction, action))  # fmt: skip

    # ---- the aggregator's wallet
    def book(
        self,
        b: _Bet,
        typ: str,
        amount: Decimal,
        rid: str | None,
        *,
        arith: Decimal = D0,
        cont: Decimal = D0,
    ) -> dict:
        """Book one ledger row a few ms from now and move the user's wallet.

        ``cont`` shifts balance_before away from the previous balance_after (a lost booking);
        ``arith`` makes balance_after disagree with balance_before and the amount."""
        u = b.user
        t = self.now + self.rng.randint(2, 25)
        if t <= self.last_ms:
            t = self.last_ms + 1
        while t in self.avoid:
            t += 1
        self.last_ms = t
        before = u.bal + cont
        after = before - amount if typ == "PAYIN" else before + amount
        after += arith
        tx = self.new_tx()
        if arith or cont:
            if arith and cont:
                raise AssertionError("one drift per booking")
            if cont and not u.seen:
                raise AssertionError("continuity drift needs a previous booking")
            d = arith or cont
            self.breaks[tx] = abs(d)
            if b.report:
                if not self.from_ms <= t < self.to_ms:
                    raise AssertionError("a reported drift must be booked inside the window")
                self.expect(b, "balance_drift", tx, d, _by_sign(-d), -d)
        u.bal = after
        u.seen = True
        if b.cp == self.cp and b.sess not in u.booked_set:
            u.booked_set.add(b.sess)
            u.booked.append(b.sess)
        if t <= self.to_ms:
            u.snap = after
        rec = {
            "transaction_id": tx,
            "created_at": _from_ms(t),
            "counterparty_id": b.cp,
            "session_id": b.sess,
            "user_id": u.uid,
            "currency": u.cur,
            "type": typ,
            "bet_id": b.bet_id,
            "game_round_id": b.rnd,
            "amount": amount,
            "balance_before": before,
            "balance_after": after,
            "request_id": rid,
        }
        self.on_booking(rec)
        return rec

    # ---- the provider's log
    def call(
        self,
        b: _Bet,
        op: str,
        rid: str,
        *,
        status: int | None = 200,
        code: int | None = 1,
        bet_amount: Decimal | None = None,
        win_amount: Decimal | None = None,
        win_odd: Decimal | None = None,
        tx: str | None = None,
        bet_tx: str | None = None,
        win_tx: str | None = None,
        balance: Decimal | None = None,
        resp_ms: int | None = None,
    ) -> dict:
        now = self.now
        rng = self.rng
        if status is None:
            code = None
            error = TIMEOUT_ERROR
            logged = now + 10_000 + rng.randint(1, 40)
        else:
            error = None
            if status >= 500:
                code = None
            logged = max(now, resp_ms or now) + rng.randint(3, 80)
        rec = {
            "event_time": _from_ms(now),
            "logged_at": _from_ms(logged),
            "request_id": rid,
            "counterparty_id": self.cp,
            "session_id": b.sess,
            "operation": op,
            "bet_id": b.bet_id,
            "game_round_id": b.rnd if op in ("pay-in", "pay-in-out") else None,
            "bet_amount": bet_amount,
            "win_amount": win_amount,
            "win_odd": win_odd,
            "http_status": status,
            "response_code": code,
            "transaction_id": tx,
            "bet_transaction_id": bet_tx,
            "win_transaction_id": win_tx,
            "balance": balance,
            "error": error,
            "sign": self.sign(),
        }
        self.on_call(rec)
        return rec

    # ---- successful exchanges (booked once, answered with the booking)
    def payin_ok(self, b: _Bet, amount: Decimal | None = None, **drift: Decimal) -> dict:
        rid = self.rid()
        bk = self.book(b, "PAYIN", b.stake if amount is None else amount, rid, **drift)
        self.call(
            b,
            "pay-in",
            rid,
            bet_amount=b.stake,
            tx=bk["transaction_id"],
            balance=bk["balance_after"],
            resp_ms=self.last_ms,
        )
        return bk

    def payout_ok(self, b: _Bet, amount: Decimal | None = None, **drift: Decimal) -> dict:
        rid = self.rid()
        bk = self.book(b, "PAYOUT", b.win if amount is None else amount, rid, **drift)
        self.call(
            b,
            "pay-out",
            rid,
            win_amount=b.win,
            win_odd=b.odd,
            tx=bk["transaction_id"],
            balance=bk["balance_after"],
            resp_ms=self.last_ms,
        )
        return bk

    def payinout_ok(self, b: _Bet) -> tuple[dict, dict]:
        rid = self.rid()
        bk1 = self.book(b, "PAYIN", b.stake, rid)
        bk2 = self.book(b, "PAYOUT", b.win, rid)
        self.call(
            b,
            "pay-in-out",
            rid,
            bet_amount=b.stake,
            win_amount=b.win,
            win_odd=b.odd,
            bet_tx=bk1["transaction_id"],
            win_tx=bk2["transaction_id"],
            balance=bk2["balance_after"],
            resp_ms=self.last_ms,
        )
        return bk1, bk2

    def refund_ok(self, b: _Bet, amount: Decimal | None = None) -> dict:
        rid = self.rid()
        bk = self.book(b, "REFUND", b.stake if amount is None else amount, rid)
        self.call(b, "refund", rid, balance=bk["balance_after"], resp_ms=self.last_ms)
        return bk


class _Schedule:
    """What starts when: this provider's bets, other providers', adjustments and
    balance calls, merged in time order from sorted streams."""

    # ---- what starts at a planned time
    def start_bet(self, kind: Callable | None, bet_id: str | None = None, report: bool = False):
        if kind is None:
            kind = self.rng.choices(_NORMAL_KINDS, cum_weights=_NORMAL_CUM)[0]
        b = self.new_bet(bet_id, report, kind in _WIN_POSITIVE, kind in _BOOKS_NOTHING)
        return kind(self, b)

    def start_other(
        self,
        user: _User | None = None,
        drift: str | None = None,
        report: bool = False,
        bet_id: str | None = None,
    ):
        """Another provider's bet: PAYIN, then a PAYOUT; no call in this provider's log."""
        rng = self.rng
        u = user or self.pick_user()
        b = _Bet()
        b.user = u
        b.cp = rng.choice(self.other_cps)
        b.sess = rng.choice(u.other_sessions)
        b.bet_id = bet_id or self.next_other_bet_id()
        b.rnd = _uuid(rng)
        b.stake = self.stake(u)
        b.win, b.odd = self.outcome(b.stake)
        b.report = report
        return _other_bet(self, b, drift)

    def start_adjustment(self, drift: bool = False, report: bool = False) -> None:
        rng = self.rng
        b = _Bet()
        b.user = self.pick_user()
        b.cp = b.sess = b.bet_id = b.rnd = None
        b.report = report
        amount = Decimal(rng.randint(100, 50_000)).scaleb(-2)
        if rng.random() < 0.3:
            amount = -amount
        self.book(b, "ADJUSTMENT", amount, None, cont=self.diff() if drift else D0)

    def start_balance_call(self) -> None:
        rng = self.rng
        u = self.pick_user()
        b = _Bet()
        b.user = u
        b.sess = rng.choice(u.sessions)
        b.bet_id = b.rnd = None
        r = rng.random()
        if r < 0.97:
            self.call(b, "balance", self.rid(), balance=u.bal)
        elif r < 0.985:
            self.call(b, "balance", self.rid(), status=500)
        else:
            self.call(b, "balance", self.rid(), status=None)

    # ---- the plan: what starts when, merged from sorted streams
    def _slots(self, name: str, sno: int, start: int, end: int, n: int, fn, args) -> Iterator:
        srng = random.Random(f"{self.seed}:{name}")
        span = end - start
        for i in range(n):
            t = start + int((i + srng.uniform(0.02, 0.98)) * span / n)
            while t in self.avoid:
                t += 1
            yield (t, sno, i, fn, args)

    def plan(self) -> Iterator[tuple]:
        rng = self.rng
        bets = self.bets
        f, to = self.from_ms, self.to_ms
        specials: list[tuple[int, Callable, tuple]] = []

        def at(t: int, fn, *args) -> None:
            while t in self.avoid:
                t += 1
            specials.append((t, fn, args))

        def in_window() -> int:
            return rng.randint(f + 5 * MINUTE, to - 30 * MINUTE)

        c = max(2, round(bets * 0.002)) if self.defects else 0
        n_window_special = 0
        if self.defects:
            for kind, _what in _WINDOW_DEFECTS:
                for _ in range(c + (1 if kind is d_open else 0)):
                    at(in_window(), self.start_bet, kind, None, True)
                    n_window_special += 1
            for _ in range(c):
                at(in_window(), self.start_other, None, "arith", True)
                at(in_window(), self.start_adjustment, True, True)
            # chain breaks outside the window: not reported in this window
            at(rng.randint(f - 2 * HOUR, f - 30 * MINUTE), self.start_other, None, "arith", False)
            at(rng.randint(to + 5 * MINUTE, to + 40 * MINUTE), self.start_other, None, "arith")
        # ids with leading zeros: "000123" and "123" are different bets, so are "0000000777"
        # and "777"; merging them would hide the open bet / the missing payin
        at(in_window(), self.start_bet, d_open if self.defects else None, "000123", True)
        at(in_window(), self.start_bet, k_payin_payout, "123", False)
        at(in_window(), self.start_bet, d_missing_payin if self.defects else None, "777", True)
        at(in_window(), self.start_bet, k_payinout, "0000000777", False)
        # another provider using one of this provider's bet ids: not this provider's booking
        shared = self.next_bet_id()
        at(in_window(), self.start_bet, k_payin_payout, shared, False)
        at(in_window(), self.start_other, None, None, False, shared)
        n_window_special += 5
        # open, but younger than the grace at the cutoff: first call just before midnight
        n_grace = max(2, bets // 2000)
        for _ in range(n_grace):
            at(rng.randint(to - 9 * SECOND, to - 2 * SECOND), self.start_bet, k_grace_young, None)
        # the previous evening
        n_pre = max(6, bets // 50)
        n_late = max(2, bets // 150)
        for _ in range(n_late):
            at(rng.randint(f - 40 * MINUTE, f - MINUTE), self.start_bet, k_late_settle, None)
        at(rng.randint(f - 2 * HOUR, f - HOUR), self.start_bet, k_payin_only, None, False)
        for _ in range(c):
            at(rng.randint(f - 30 * MINUTE, f - MINUTE), self.start_bet, k_late_dup_payout, None)
        n_pre_normal = max(0, n_pre - n_late - 1 - c)
        # after the window (up to 2 h; the cutoff is at 1 h): never reported
        n_post = max(10, bets // 25)
        post_defects = (d_dup_payin, d_missing_payin, d_open, d_orphan, d_amount_payin)
        if self.defects:
            for kind in post_defects:
                at(rng.randint(to + MINUTE, to + 50 * MINUTE), self.start_bet, kind, None, False)
            at(rng.randint(to + 70 * MINUTE, to + 110 * MINUTE), self.start_bet, d_dup_payin, None)
            n_post -= len(post_defects) + 1
        n_window = max(10, bets - n_window_special - n_grace - n_pre - max(10, bets // 25))

        specials.sort(key=lambda s: s[0])
        streams = [
            ((t, 0, i, fn, args) for i, (t, fn, args) in enumerate(specials)),
            self._slots("w", 1, f + 500, to - 500, n_window, self.start_bet, (None, None, False)),
            self._slots(
                "pre",
                2,
                f - 2 * HOUR,
                f - 20 * MINUTE,
                n_pre_normal,
                self.start_bet,
                (None, None, False),
            ),
            self._slots(
                "post",
                3,
                to + 500,
                to + 2 * HOUR,
                max(0, n_post),
                self.start_bet,
                (None, None, False),
            ),
            self._slots(
                "o", 4, f - 3 * HOUR, to + 2 * HOUR, bets * 45 // 100, self.start_other, ()
            ),
            self._slots(
                "adj",
                6,
                f - 3 * HOUR,
                to + 2 * HOUR,
                max(4, bets * 3 // 1000),
                self.start_adjustment,
                (),
            ),
            self._slots(
                "bal", 7, f - 2 * HOUR, to + 2 * HOUR, bets // 10, self.start_balance_call, ()
            ),
        ]
        # every user's chain starts before the window: another provider's bet per user
        openings = sorted(
            (rng.randint(f - 4 * HOUR, f - 3 * HOUR - MINUTE), u) for u in range(len(self.users))
        )
        streams.append(
            (t, 5, j, self.start_other, (self.users[u],)) for j, (t, u) in enumerate(openings)
        )
        return heapq.merge(*streams)


class _Sim(_Randomness, _Wallet, _Schedule):
    """Event-driven simulation. Every bet is a generator that yields the delay (ms) to its
    next step; steps run in time order, so every wallet balance is the true one at that time.
    Bookings get strictly increasing ``created_at`` and transaction ids."""

    def __init__(
        self,
        seed: int,
        bets: int,
        day: date,
        defects: bool,
        on_call: Callable[[dict], object],
        on_booking: Callable[[dict], object],
    ) -> None:
        if bets < 1:
            raise ValueError("bets must be >= 1")
        self.seed = seed
        self.bets = bets
        self.defects = defects
        self.on_call = on_call
        self.on_booking = on_booking
        self.rng = rng = random.Random(seed)
        self.from_ms = _to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
        self.to_ms = self.from_ms + DAY
        self.cutoff_ms = self.to_ms + HOUR
        self.grace_ms = HOUR
        self.avoid = {self.from_ms, self.to_ms, self.cutoff_ms}
        self.cp = _uuid(rng)
        self.other_cps = [_uuid(rng) for _ in range(3)]
        self.next_tx = 3_800_000 + rng.randrange(100_000)
        self.bet_seq = 0
        self.bet_off = rng.randrange(9_000_000_000)
        self.obet_seq = 0
        self.obet_off = rng.randrange(900_000_000_000)
        self.now = 0
        self.last_ms = 0
        self.expected: list[ExpectedFinding] = []
        self.breaks: dict[str, Decimal] = {}

        n_users = max(40, bets // 2500)
        n_sessions = 3 + bets // (n_users * 400)
        seen_sessions: set[str] = set()

        def session() -> str:
            while True:
                s = f"{rng.getrandbits(32):08x}"
                if s not in seen_sessions:
                    seen_sessions.add(s)
                    return s

        self.users: list[_User] = []
        for i in range(n_users):
            u = _User()
            u.uid = f"u{1001 + i}"
            u.cur = "USD" if i % 9 == 4 else "EUR"
            u.whale = i == 7
            if u.whale:
                u.bal = Decimal("276120324.67508337")
            else:
                u.bal = Decimal(rng.randint(500_000, 5_000_000)).scaleb(-2)
            u.sessions = [session() for _ in range(n_sessions)]
            u.other_sessions = [session() for _ in range(2)]
            u.seen = False
            u.snap = None
            u.booked = []  # this provider's sessions that have a booking (in time order)
            u.booked_set = set()
            self.users.append(u)
        self.snapshot_drift: dict[str, Decimal] = {}
        if defects:
            k = min(max(2, round(bets * 0.002)), n_users // 4)
            for u in rng.sample(self.users, k):
                self.snapshot_drift[u.uid] = self.diff()

    def run(self) -> tuple[list[dict], list[ExpectedFinding]]:
        heap: list[tuple[int, int, Iterator[int]]] = []
        seq = 0
        starts = self.plan()
        nxt = next(starts, None)
        while heap or nxt is not None:
            if nxt is not None and (not heap or nxt[0] <= heap[0][0]):
                t, _, _, fn, args = nxt
                nxt = next(starts, None)
                self.now = t
                gen = fn(*args)
                if gen is None:
                    continue
            else:
                t, _, gen = heapq.heappop(heap)
                self.now = t
            try:
                delay = next(gen)
            except StopIteration:
                continue
            nt = t + max(1, delay)
            while nt in self.avoid:
                nt += 1
            heapq.heappush(heap, (nt, seq, gen))
            seq += 1
        snapshots = []
        as_of = _from_ms(self.to_ms)
        for u in self.users:
            if u.snap is None:
                raise AssertionError(f"user {u.uid} has no booking before the snapshot")
            bal = u.snap
            d = self.snapshot_drift.get(u.uid)
            if d is not None:
                bal += d
                self.expected.append(_owed("balance_drift", None, None, u.uid, d, "unknown",
                                           None, "investigate"))  # fmt: skip
            snapshots.append({"user_id": u.uid, "currency": u.cur, "balance": bal, "as_of": as_of})
        return snapshots, self.expected


# --------------------------------------------------------------------------- bet kinds
# Each kind is ``kind(sim, bet)``: a plain function (all at once) or a generator that yields
# the delay in ms before its next step.

# ---- normal life: raises nothing


def k_payin_payout(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    s.payout_ok(b)


def k_payinout(s: _Sim, b: _Bet) -> None:
    s.payinout_ok(b)


def k_payin_timeout_replay(s: _Sim, b: _Bet):
    """PayIn timed out but was booked; the retry gets the original answer (idempotent)."""
    rid = s.rid()
    bk = s.book(b, "PAYIN", b.stake, rid)
    s.call(b, "pay-in", rid, status=None, bet_amount=b.stake)
    yield s.retry_wait()
    s.call(
        b,
        "pay-in",
        s.rid(),
        bet_amount=b.stake,
        tx=bk["transaction_id"],
        balance=bk["balance_after"],
    )
    yield s.think()
    s.payout_ok(b)


def k_payinout_timeout_replay(s: _Sim, b: _Bet):
    rid = s.rid()
    bk1 = s.book(b, "PAYIN", b.stake, rid)
    bk2 = s.book(b, "PAYOUT", b.win, rid)
    s.call(b, "pay-in-out", rid, status=None, bet_amount=b.stake, win_amount=b.win, win_odd=b.odd)
    yield s.retry_wait()
    s.call(
        b,
        "pay-in-out",
        s.rid(),
        bet_amount=b.stake,
        win_amount=b.win,
        win_odd=b.odd,
        bet_tx=bk1["transaction_id"],
        win_tx=bk2["transaction_id"],
        balance=bk2["balance_after"],
    )


def k_payout_500_retry(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    s.call(b, "pay-out", s.rid(), status=500, win_amount=b.win, win_odd=b.odd)
    yield s.rng.randint(500, 5000)
    s.payout_ok(b)


def k_payin_500_retry(s: _Sim, b: _Bet):
    s.call(b, "pay-in", s.rid(), status=500, bet_amount=b.stake)
    yield s.rng.randint(500, 3000)
    s.payin_ok(b)
    yield s.think()
    s.payout_ok(b)


def k_payinout_500_retry(s: _Sim, b: _Bet):
    s.call(
        b, "pay-in-out", s.rid(), status=500, bet_amount=b.stake, win_amount=b.win, win_odd=b.odd
    )
    yield s.rng.randint(500, 3000)
    s.payinout_ok(b)


def k_rejected_402(s: _Sim, b: _Bet) -> None:
    if s.rng.random() < 0.6:
        s.call(b, "pay-in", s.rid(), status=402, code=0, bet_amount=b.stake)
    else:
        s.call(
            b,
            "pay-in-out",
            s.rid(),
            status=402,
            code=0,
            bet_amount=b.stake,
            win_amount=b.win,
            win_odd=b.odd,
        )


def k_rejected_code(s: _Sim, b: _Bet) -> None:
    """200 with a _responseCode other than 1: rejected, not booked."""
    code = s.rng.choice((0, 2, 3))
    if s.rng.random() < 0.6:
        s.call(b, "pay-in", s.rid(), code=code, bet_amount=b.stake)
    else:
        s.call(
            b,
            "pay-in-out",
            s.rid(),
            code=code,
            bet_amount=b.stake,
            win_amount=b.win,
            win_odd=b.odd,
        )


def k_payout_code_retry(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    s.call(b, "pay-out", s.rid(), code=2, win_amount=b.win, win_odd=b.odd)
    yield s.rng.randint(1000, 5000)
    s.payout_ok(b)


def k_timeout_unbooked_refund(s: _Sim, b: _Bet):
    """PayIn timed out and was not booked; the Refund books nothing (nothing to refund)."""
    s.call(b, "pay-in", s.rid(), status=None, bet_amount=b.stake)
    yield s.retry_wait()
    s.call(b, "refund", s.rid(), balance=b.user.bal)


def k_timeout_booked_refund(s: _Sim, b: _Bet):
    rid = s.rid()
    s.book(b, "PAYIN", b.stake, rid)
    s.call(b, "pay-in", rid, status=None, bet_amount=b.stake)
    yield s.retry_wait()
    s.refund_ok(b)


def k_payin_refund(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    s.refund_ok(b)


def k_grace_young(s: _Sim, b: _Bet):
    """First PayIn at 23:59:5x times out (not booked); the retry is booked after midnight and
    nothing settles: open, but the PAYIN is younger than the grace at the cutoff."""
    s.call(b, "pay-in", s.rid(), status=None, bet_amount=b.stake)
    yield s.rng.randint(10_200, 11_000)
    s.payin_ok(b)


def k_late_settle(s: _Sim, b: _Bet):
    """A bet of the previous evening settled inside the window."""
    s.payin_ok(b)
    yield s.from_ms + s.rng.randint(5 * SECOND, 10 * MINUTE) - s.now
    s.payout_ok(b)


def k_payin_only(s: _Sim, b: _Bet) -> None:
    s.payin_ok(b)


def k_late_dup_payout(s: _Sim, b: _Bet):
    """A bet of the previous evening with a duplicate PAYOUT inside the window: not reported."""
    s.payin_ok(b)
    yield s.from_ms + s.rng.randint(MINUTE, 30 * MINUTE) - s.now
    rid = s.rid()
    s.book(b, "PAYOUT", b.win, rid)
    s.call(b, "pay-out", rid, status=500, win_amount=b.win, win_odd=b.odd, resp_ms=s.last_ms)
    yield s.rng.randint(500, 5000)
    s.payout_ok(b)


# ---- defects: each emits exactly the findings the spec requires


def d_open(s: _Sim, b: _Bet) -> None:
    bk = s.payin_ok(b)
    s.expect(b, "open_bet", None, bk["amount"], "player", None, "provider_settle")


def d_open_cutoff(s: _Sim, b: _Bet):
    """Settled only after the cutoff: still open in this run."""
    bk = s.payin_ok(b)
    s.expect(b, "open_bet", None, bk["amount"], "player", None, "provider_settle")
    yield s.cutoff_ms + s.rng.randint(MINUTE, 50 * MINUTE) - s.now
    s.payout_ok(b)


def d_missing_payout_answered(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    s.call(
        b,
        "pay-out",
        s.rid(),
        win_amount=b.win,
        win_odd=b.odd,
        tx=s.new_tx(),
        balance=b.user.bal + b.win,
    )
    s.expect(b, "missing_payout", None, b.win, "player", None, "provider_resend_payout")


def d_missing_payout_timeouts(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    s.call(b, "pay-out", s.rid(), status=None, win_amount=b.win, win_odd=b.odd)
    yield s.retry_wait()
    last = b.win + abs(s.diff())
    s.call(b, "pay-out", s.rid(), status=None, win_amount=last, win_odd=b.odd)
    s.expect(b, "missing_payout", None, last, "player", None, "provider_resend_payout")


def d_missing_payout_payinout(s: _Sim, b: _Bet) -> None:
    s.call(
        b,
        "pay-in-out",
        s.rid(),
        status=None,
        bet_amount=b.stake,
        win_amount=b.win,
        win_odd=b.odd,
    )
    s.expect(b, "missing_payout", None, b.win, "player", None, "provider_resend_payout")


def d_missing_payin(s: _Sim, b: _Bet) -> None:
    s.call(
        b,
        "pay-in",
        s.rid(),
        bet_amount=b.stake,
        tx=s.new_tx(),
        balance=b.user.bal - b.stake,
    )
    s.expect(b, "missing_payin", None, b.stake, "house", -b.stake)


def d_dup_payin(s: _Sim, b: _Bet):
    rid = s.rid()
    s.book(b, "PAYIN", b.stake, rid)
    s.call(b, "pay-in", rid, status=None, bet_amount=b.stake)
    yield s.retry_wait()
    bk2 = s.payin_ok(b)  # the retry is booked again and answered with the new booking
    s.expect(b, "duplicate_payin", None, bk2["amount"], "player", bk2["amount"])
    yield s.think()
    s.payout_ok(b)


def d_dup_payout(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    rid = s.rid()
    s.book(b, "PAYOUT", b.win, rid)
    s.call(b, "pay-out", rid, status=500, win_amount=b.win, win_odd=b.odd, resp_ms=s.last_ms)
    yield s.rng.randint(500, 5000)
    bk2 = s.payout_ok(b)
    s.expect(b, "duplicate_payout", None, bk2["amount"], "house", -bk2["amount"])


def d_dup_refund(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    rid = s.rid()
    s.book(b, "REFUND", b.stake, rid)
    s.call(b, "refund", rid, status=None)
    yield s.retry_wait()
    bk2 = s.refund_ok(b)
    s.expect(b, "duplicate_refund", None, bk2["amount"], "house", -bk2["amount"])


def d_payout_and_refund(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    s.payout_ok(b)
    yield s.think()
    bk = s.refund_ok(b)
    s.expect(b, "payout_and_refund", None, bk["amount"], "house", -bk["amount"])


def d_orphan(s: _Sim, b: _Bet):
    s.call(b, "pay-in", s.rid(), status=402, code=0, bet_amount=b.stake)
    yield s.rng.randint(500, 5000)
    bk = s.payout_ok(b)
    s.expect(b, "orphan_settlement", None, bk["amount"], "house", -bk["amount"], "investigate")


def _shifted(s: _Sim, base: Decimal) -> tuple[Decimal, Decimal]:
    d = s.diff()
    if base + d <= 0:
        d = -d
    return base + d, d


def d_amount_payin(s: _Sim, b: _Bet):
    amount, d = _shifted(s, b.stake)
    bk = s.payin_ok(b, amount)  # debited d too much: credited back
    s.expect(b, "amount_mismatch", bk["transaction_id"], d, _by_sign(d), d)
    yield s.think()
    s.payout_ok(b)


def d_amount_payout(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    amount, d = _shifted(s, b.win)
    bk = s.payout_ok(b, amount)  # credited d too much: debited back
    s.expect(b, "amount_mismatch", bk["transaction_id"], d, _by_sign(-d), -d)


def d_amount_refund(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    amount, d = _shifted(s, b.stake)
    bk = s.refund_ok(b, amount)
    s.expect(b, "amount_mismatch", bk["transaction_id"], d, _by_sign(-d), -d)


def d_status_payout(s: _Sim, b: _Bet):
    """Every PayOut attempt answered 400, yet the first one was booked."""
    s.payin_ok(b)
    yield s.think()
    rid = s.rid()
    bk = s.book(b, "PAYOUT", b.win, rid)
    s.call(
        b,
        "pay-out",
        rid,
        status=400,
        code=0,
        win_amount=b.win,
        win_odd=b.odd,
        resp_ms=s.last_ms,
    )
    yield s.rng.randint(1000, 5000)
    s.call(b, "pay-out", s.rid(), status=400, code=0, win_amount=b.win, win_odd=b.odd)
    s.expect(
        b, "status_mismatch", bk["transaction_id"], bk["amount"], "unknown", None, "investigate"
    )


def d_status_payin(s: _Sim, b: _Bet) -> None:
    """PayIn timed out, was booked, never retried, nothing else: also an open bet."""
    rid = s.rid()
    bk = s.book(b, "PAYIN", b.stake, rid)
    s.call(b, "pay-in", rid, status=None, bet_amount=b.stake)
    s.expect(b, "status_mismatch", bk["transaction_id"], bk["amount"], "player", bk["amount"])
    # the provider believes the stake was never taken: the credit above is the fix
    s.expect(b, "open_bet", None, bk["amount"], "player", None, "none")


def d_unmatched(s: _Sim, b: _Bet):
    """Booked under this provider, but the provider never called for this bet."""
    bk1 = s.book(b, "PAYIN", b.stake, s.rid())
    s.expect(
        b, "unmatched_ledger", bk1["transaction_id"], bk1["amount"], "unknown", None, "investigate"
    )
    yield s.think()
    bk2 = s.book(b, "PAYOUT", b.win, s.rid())
    s.expect(
        b, "unmatched_ledger", bk2["transaction_id"], bk2["amount"], "unknown", None, "investigate"
    )


def d_balance_mismatch(s: _Sim, b: _Bet):
    s.payin_ok(b)
    yield s.think()
    rid = s.rid()
    bk = s.book(b, "PAYOUT", b.win, rid)
    d = s.diff()
    s.call(
        b,
        "pay-out",
        rid,
        win_amount=b.win,
        win_odd=b.odd,
        tx=bk["transaction_id"],
        balance=bk["balance_after"] + d,
        resp_ms=s.last_ms,
    )
    s.expect(b, "balance_mismatch", bk["transaction_id"], d, "none", None, "investigate")


def _drift_bet(s: _Sim, b: _Bet, how: str):
    """A clean bet, except that one booking breaks the chain (``book`` records the finding)."""
    d = s.diff()
    on_payin = s.rng.random() < 0.5
    s.payin_ok(b, **({how: d} if on_payin else {}))
    yield s.think()
    s.payout_ok(b, **({} if on_payin else {how: d}))


def d_drift_arith(s: _Sim, b: _Bet):
    return _drift_bet(s, b, "arith")


def d_drift_cont(s: _Sim, b: _Bet):
    return _drift_bet(s, b, "cont")


def _other_bet(s: _Sim, b: _Bet, drift: str | None):
    on_payin = s.rng.random() < 0.5
    d = s.diff() if drift else D0
    s.book(b, "PAYIN", b.stake, s.rid(), **({drift: d} if drift and on_payin else {}))
    yield s.think()
    s.book(b, "PAYOUT", b.win, s.rid(), **({drift: d} if drift and not on_payin else {}))


_NORMAL_WEIGHTS: list[tuple[Callable, int]] = [
    (k_payin_payout, 46),
    (k_payinout, 24),
    (k_payin_timeout_replay, 3),
    (k_payinout_timeout_replay, 1),
    (k_payout_500_retry, 3),
    (k_payin_500_retry, 2),
    (k_payinout_500_retry, 1),
    (k_rejected_402, 3),
    (k_rejected_code, 2),
    (k_payout_code_retry, 1),
    (k_timeout_unbooked_refund, 2),
    (k_timeout_booked_refund, 2),
    (k_payin_refund, 2),
]
_NORMAL_KINDS = [k for k, _ in _NORMAL_WEIGHTS]
_NORMAL_CUM = []
for _k, _w in _NORMAL_WEIGHTS:
    _NORMAL_CUM.append((_NORMAL_CUM[-1] if _NORMAL_CUM else 0) + _w)

# (kind, description) of the defects injected inside the window, each on its own bet
_WINDOW_DEFECTS: list[tuple[Callable, str]] = [
    (d_open, "open_bet: PayIn booked, nothing else"),
    (d_open_cutoff, "open_bet: the settlement comes after the cutoff"),
    (d_missing_payout_answered, "missing_payout: PayOut answered 200/1, not booked"),
    (d_missing_payout_timeouts, "missing_payout: two PayOut timeouts, not booked"),
    (d_missing_payout_payinout, "missing_payout: PayInOut timed out, not booked"),
    (d_missing_payin, "missing_payin: PayIn answered 200/1, not booked"),
    (d_dup_payin, "duplicate_payin: timed-out PayIn booked, retry booked again"),
    (d_dup_payout, "duplicate_payout: PayOut 500 booked, retry booked again"),
    (d_dup_refund, "duplicate_refund: Refund timed out booked, retry booked again"),
    (d_payout_and_refund, "payout_and_refund"),
    (d_orphan, "orphan_settlement: PayIn 402, PayOut booked"),
    (d_amount_payin, "amount_mismatch on the PAYIN"),
    (d_amount_payout, "amount_mismatch on the PAYOUT"),
    (d_amount_refund, "amount_mismatch on the REFUND"),
    (d_status_payout, "status_mismatch: PayOut 400 twice, booked"),
    (d_status_payin, "status_mismatch + open_bet: PayIn timed out, booked, nothing else"),
    (d_unmatched, "unmatched_ledger: PAYIN and PAYOUT with no call"),
    (d_balance_mismatch, "balance_mismatch on the PayOut answer"),
    (d_drift_arith, "balance_drift: balance_after != before -/+ amount"),
    (d_drift_cont, "balance_drift: balance_before != previous balance_after"),
]
# defects whose bet books nothing: their user is known only through the session
_BOOKS_NOTHING = {d_missing_payout_payinout, d_missing_payin}
_WIN_POSITIVE = {
    d_missing_payout_answered,
    d_missing_payout_timeouts,
    d_missing_payout_payinout,
    d_dup_payout,
    d_payout_and_refund,
    d_orphan,
    d_amount_payout,
    d_status_payout,
    d_unmatched,
    d_balance_mismatch,
}


def _run(
    seed: int,
    bets: int,
    day: date,
    defects: bool,
    on_call: Callable[[dict], object],
    on_booking: Callable[[dict], object],
) -> tuple[_Sim, list[dict], list[ExpectedFinding]]:
    sim = _Sim(seed, bets, day, defects, on_call, on_booking)
    snapshots, expected = sim.run()
    return sim, snapshots, expected


def simulate(
    seed: int = 42, bets: int = 300, day: date = date(2026, 11, 22), defects: bool = True
) -> Scenario:
    """One simulated day (window = that UTC day, cutoff = next midnight + 1 h, grace 1 h)."""
    calls: list[dict] = []
    bookings: list[dict] = []
    sim, snapshots, expected = _run(seed, bets, day, defects, calls.append, bookings.append)
    return Scenario(
        counterparty_id=sim.cp,
        window_from=_from_ms(sim.from_ms),
        window_to=_from_ms(sim.to_ms),
        cutoff=_from_ms(sim.cutoff_ms),
        grace=timedelta(milliseconds=sim.grace_ms),
        calls=calls,
        bookings=bookings,
        snapshots=snapshots,
        expected=expected,
        seed=seed,
        other_counterparty_ids=list(sim.other_cps),
        chain_breaks=dict(sim.breaks),
    )


# --------------------------------------------------------------------------- file writing


class _Out:
    """A text output file (optionally gzip, deterministic header) that counts its lines."""

    def __init__(self, path: str | Path, *, gz: bool = False, bom: bool = False, nl: str = "\n"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._gz = None
        if gz:  # no file name and mtime 0 in the header: the same input gives the same bytes
            self._gz = GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=6)
        stream = self._gz or self._raw
        self.f = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        if bom:
            self.f.write("\ufeff")
        self.nl = nl
        self.csv = csv.writer(self.f, lineterminator=nl)
        self.line = 0
        self.result = WriteResult(self.path)

    def text(self, line: str, *, reject: str | None = None, dup: bool = False) -> None:
        self.f.write(line)
        self.f.write(self.nl)
        self._count(reject, dup)

    def row(self, fields: list[str], *, reject: str | None = None, dup: bool = False) -> None:
        self.csv.writerow(fields)
        self._count(reject, dup)

    def header(self, fields: list[str]) -> None:
        self.csv.writerow(fields)
        self.line += 1

    def _count(self, reject: str | None, dup: bool) -> None:
        self.line += 1
        self.result.rows_in += 1
        if reject:
            self.result.rejects.append((self.line, reject))
        if dup:
            self.result.collapsed += 1

    def close(self) -> WriteResult:
        self.f.close()
        if self._gz is not None:
            self._gz.close()
        self._raw.close()
        return self.result


def _plan_extras(
    rng: random.Random,
    records: list[dict],
    dup: int,
    dirty: list[str],
    eligible: Callable[[str, dict], bool],
) -> tuple[dict[int, list[tuple]], set[int]]:
    """Where to put exact duplicates (after their original) and garbage records (anywhere)."""
    plan: dict[int, list[tuple]] = {}
    sources: set[int] = set()
    n = len(records)
    if n == 0:
        return plan, sources
    for j in range(dup):
        s = rng.randrange(n)
        plan.setdefault(rng.randrange(s, n), []).append(("dup", s, j))
        sources.add(s)
    for kind in dirty:
        start = rng.randrange(n)
        for k in range(n):
            i = (start + k) % n
            if eligible(kind, records[i]):
                plan.setdefault(rng.randrange(n), []).append(("dirty", i, kind))
                break
    return plan, sources


def _write_planned(
    w, records: list[dict], plan: dict[int, list[tuple]], sources: set[int]
) -> WriteResult:
    """Write each record with writer ``w``, each followed by the exact duplicates and
    garbage records that ``plan`` (:func:`_plan_extras`) puts after it; a duplicate
    repeats the record as written (``sources`` are the ones to keep)."""
    saved: dict[int, object] = {}
    for i, record in enumerate(records):
        written = w.write(record)
        if i in sources:
            saved[i] = written
        for extra in plan.get(i, ()):
            if extra[0] == "dup":
                w.duplicate(saved[extra[1]], flip=extra[2] == 0)
            else:
                w.garbage(records[extra[1]], extra[2])
    return w.out.close()


# ---- provider JSON Lines


class _JsonlWriter:
    def __init__(self, path, *, gz: bool, rng_seed: int, keep_signs: bool = True) -> None:
        self.out = _Out(path, gz=gz)
        self.rng = random.Random(f"jsonl:{rng_seed}")
        self.keep_signs = keep_signs

    def _num(self, d: Decimal) -> str:
        r = self.rng.random()
        if d != 0 and (r < 0.03 or (r < 0.7 and abs(d) < Decimal("0.001"))):
            return _exp_literal(d)
        return format(d, "f")

    def fmt(self, c: dict, mutate: str | None = None, sign: str | None = None) -> str:
        rng = self.rng
        op = c["operation"]
        ms = _to_ms(c["event_time"])
        ts = str(ms) if rng.random() < 0.4 else f'"{ms}"'
        if mutate == "bad timestamp":
            ts = '"2026-11-31T25:61:00Z"'
        sess = c["session_id"]
        if op == "balance":
            method, path, body = "GET", f"/v1/sessions/{sess}/balance", "null"
        else:
            method, path = "POST", f"/v1/sessions/{sess}/bets/{op}"
            parts = []
            bid = c["bet_id"]
            if bid is not None and mutate != "missing bet_id":
                # a JSON number only for digits without a leading zero (always for short ids)
                as_number = bid.isdigit() and bid[0] != "0"
                as_number = as_number and (len(bid) < 10 or rng.random() < 0.15)
                parts.append(f'"betId": {bid}' if as_number else f'"betId": "{bid}"')
            if c["game_round_id"] is not None:
                parts.append(f'"gameRoundId": "{c["game_round_id"]}"')
            if c["bet_amount"] is not None:
                amount = '"12,5"' if mutate == "bad amount" else self._num(c["bet_amount"])
                parts.append(f'"betAmount": {amount}')
            if c["win_amount"] is not None:
                parts.append(f'"winAmount": {self._num(c["win_amount"])}')
            if c["win_odd"] is not None:
                parts.append(f'"winOdd": {format(c["win_odd"], "f")}')
            body = "{" + ", ".join(parts) + "}"
        status = c["http_status"]
        if status is None:
            response = "null"
        else:
            if status >= 500:
                rbody = '{"message": "Internal Server Error"}'
            else:
                parts = []
                for key, name in (
                    ("transaction_id", "transactionId"),
                    ("bet_transaction_id", "betTransactionId"),
                    ("win_transaction_id", "winTransactionId"),
                ):
                    if c[key] is not None:
                        parts.append(f'"{name}": "{c[key]}"')
                if c["balance"] is not None:
                    parts.append(f'"balance": {self._num(c["balance"])}')
                if c["response_code"] is not None:
                    parts.append(f'"_responseCode": {c["response_code"]}')
                if status == 402:
                    parts.append('"message": "Insufficient funds"')
                elif status >= 400:
                    parts.append('"message": "Bad request"')
                elif c["response_code"] != 1:
                    parts.append('"message": "Bet rejected"')
                rbody = "{" + ", ".join(parts) + "}"
            response = f'{{"status": {status}, "body": {rbody}}}'
        error = "null" if c["error"] is None else json.dumps(c["error"])
        sign = sign or c["sign"]
        return (
            f'{{"loggedAt": "{_iso(_to_ms(c["logged_at"]))}", '
            f'"request": {{"method": "{method}", "path": "{path}", '
            f'"headers": {{"X-Counterparty-Id": "{c["counterparty_id"]}", "X-Timestamp": {ts}, '
            f'"X-Request-Id": "{c["request_id"]}", "X-Sign": "{sign}"}}, "body": {body}}}, '
            f'"response": {response}, "error": {error}}}'
        )

    def write(self, c: dict) -> str:
        line = self.fmt(c)
        self.out.text(line)
        if self.keep_signs:
            self.out.result.sign_values.append(c["sign"])
        return line

    def garbage(self, c: dict, kind: str) -> None:
        sign = f"{self.rng.getrandbits(256):064x}"
        if kind == "broken json":
            line = self.fmt(c, sign=sign)
            end = line.index(sign) + len(sign) + 1
            line = line[: max(end + 5, len(line) * 2 // 3)]
        else:
            line = self.fmt(c, mutate=kind, sign=sign)
        self.out.text(line, reject=kind)
        self.out.result.sign_values.append(sign)

    def duplicate(self, line: str, flip: bool) -> None:
        if flip:  # the same instant, X-Timestamp as a number instead of a string or back
            head, sep, tail = line.partition('"X-Timestamp": ')
            if tail.startswith('"'):
                value, _, rest = tail[1:].partition('"')
                tail = value + rest
            else:
                value, _, rest = tail.partition(",")
                tail = f'"{value}",{rest}'
            line = head + sep + tail
        self.out.text(line, dup=True)
        if self.keep_signs:
            self.out.result.sign_values.append(line.split('"X-Sign": "', 1)[1][:64])


def _call_eligible(kind: str, c: dict) -> bool:
    if kind == "bad amount":
        return c["bet_amount"] is not None
    if kind == "missing bet_id":
        return c["operation"] == "pay-in"
    return c["bet_id"] is not None


def night_of(
    night: int,
    bets: int,
    first_day: date,
    counterparty: str | None = None,
    shared_users: bool = False,
) -> Scenario:
    """Night ``night`` of a store's life: the day ``first_day + night`` of seed
    ``1000 + night``, with ids of its own (bets, sessions, requests, rounds and, unless
    ``shared_users``, users carry the night's number ``nNNN-``; transaction ids stay
    numbers, moved by ``night * 10**9``) and ``counterparty`` as its provider.

    With ``shared_users`` the players come back every night, each night's ledger
    starting their balances afresh: the chains break where one night's balance does
    not continue the last (``expected`` then lacks those breaks).
    """
    sc = simulate(seed=1000 + night, bets=bets, day=first_day + timedelta(days=night))
    provider = {sc.counterparty_id: counterparty or sc.counterparty_id}
    ids = ("bet_id", "session_id", "request_id", "game_round_id")
    ids += () if shared_users else ("user_id",)

    def moved(value: str | None) -> str | None:
        return None if value is None else f"n{night:03d}-{value}"

    def moved_tx(value: str | None) -> str | None:
        """Transaction ids stay numbers (the chain orders them numerically)."""
        if value is None or not value.isdigit():
            return moved(value)
        return str(int(value) + night * 10**9)

    def move(record: dict) -> dict:
        record = dict(record)
        for key in ids:
            if key in record:
                record[key] = moved(record[key])
        for key in ("transaction_id", "bet_transaction_id", "win_transaction_id"):
            if key in record:
                record[key] = moved_tx(record[key])
        if "counterparty_id" in record:
            record["counterparty_id"] = provider.get(record["counterparty_id"],
                                                     record["counterparty_id"])  # fmt: skip
        return record

    user = (lambda u: u) if shared_users else moved
    expected = [
        replace(f, bet_id=moved(f.bet_id), user_id=user(f.user_id),
                transaction_id=moved_tx(f.transaction_id))
        for f in sc.expected
    ]  # fmt: skip
    return replace(
        sc, counterparty_id=provider[sc.counterparty_id], calls=[move(c) for c in sc.calls],
        bookings=[move(b) for b in sc.bookings], snapshots=[move(s) for s in sc.snapshots],
        expected=expected, chain_breaks={moved_tx(t): d for t, d in sc.chain_breaks.items()},
    )  # fmt: skip


# ---- provider CSV


class _CsvRows:
    """A CSV writer's records: ``fields(record, mutate)`` makes a record's row (a
    garbage record's when ``mutate`` names the kind), ``out`` writes it."""

    out: _Out

    def fields(self, record: dict, mutate: str | None = None) -> list[str]:
        raise NotImplementedError

    def write(self, record: dict) -> list[str]:
        row = self.fields(record)
        self.out.row(row)
        return row

    def garbage(self, record: dict, kind: str) -> None:
        self.out.row(self.fields(record, mutate=kind), reject=kind)


class _ProviderCsvWriter(_CsvRows):
    def __init__(self, path, *, gz: bool, rng_seed: int) -> None:
        self.out = _Out(path, gz=gz)
        self.rng = random.Random(f"pcsv:{rng_seed}")
        self.out.header(CALL_COLUMNS)

    def fields(self, c: dict, mutate: str | None = None) -> list[str]:
        ms = _to_ms(c["event_time"])
        r = self.rng.random()
        ts = str(ms) if r < 0.6 else _iso(ms, offset=r > 0.9)
        if mutate == "bad timestamp":
            ts = "2026-11-22 25:61"
        status, code = c["http_status"], c["response_code"]
        row = [
            ts,
            c["request_id"],
            c["counterparty_id"],
            c["session_id"],
            c["operation"],
            c["bet_id"] or "",
            c["game_round_id"] or "",
            _plain(c["bet_amount"]),
            _plain(c["win_amount"]),
            _plain(c["win_odd"]),
            "" if status is None else str(status),
            "" if code is None else str(code),
            c["transaction_id"] or "",
            c["bet_transaction_id"] or "",
            c["win_transaction_id"] or "",
            _plain(c["balance"]),
            c["error"] or "",
        ]
        if mutate == "missing bet_id":
            row[5] = ""
        elif mutate == "bad amount":
            row[7] = "12,5"
        elif mutate == "short row":
            row = row[:7]
        return row

    def duplicate(self, row: list[str], flip: bool) -> None:
        if flip:
            row = list(row)
            ts = row[0]
            if ts.isdigit():
                row[0] = _iso(int(ts))
            else:
                row[0] = str(_to_ms(datetime.fromisoformat(ts)))
        self.out.row(row, dup=True)


#: The provider log's forms: the writer, the seed of the plan of extra lines, and
#: the garbage records a dirty file holds (in the plan's order).
_PROVIDER_FORMS = {
    "jsonl": (_JsonlWriter, "jsonl-plan",
              ["broken json", "bad amount", "missing bet_id", "bad timestamp"]),
    "csv": (_ProviderCsvWriter, "pcsv-plan",
            ["short row", "bad amount", "missing bet_id", "bad timestamp"]),
}  # fmt: skip


def write_provider_log(
    scenario: Scenario,
    path: str | Path,
    form: str,
    *,
    gzip: bool = False,
    dirty: bool = False,
    dup_lines: int = 0,
    rng_seed: int = 0,
    calls: Iterable[dict] | None = None,
) -> WriteResult:
    """The provider log (spec 2.1) as ``jsonl`` (JSON Lines) or ``csv`` (flat CSV,
    timestamps as epoch ms or ISO); ``calls`` writes a subset."""
    writer, plan_seed, garbage = _PROVIDER_FORMS[form]
    records = list(scenario.calls if calls is None else calls)
    w = writer(path, gz=gzip, rng_seed=rng_seed)
    rng = random.Random(f"{plan_seed}:{rng_seed}")
    plan = _plan_extras(rng, records, dup_lines, garbage if dirty else [], _call_eligible)
    return _write_planned(w, records, *plan)


def write_provider_jsonl(scenario: Scenario, path: str | Path, **options) -> WriteResult:
    """The provider log as JSON Lines: :func:`write_provider_log`."""
    return write_provider_log(scenario, path, "jsonl", **options)


def write_provider_csv(scenario: Scenario, path: str | Path, **options) -> WriteResult:
    """The provider log as flat CSV: :func:`write_provider_log`."""
    return write_provider_log(scenario, path, "csv", **options)


# ---- ledger CSV


class _LedgerCsvWriter(_CsvRows):
    def __init__(
        self,
        path,
        *,
        gz: bool = False,
        bom: bool = False,
        crlf: bool = False,
        shuffle_columns: bool = False,
        extra_columns: bool = False,
        offset_times: bool = False,
        rng_seed: int = 0,
    ) -> None:
        self.rng = random.Random(f"ledger:{rng_seed}")
        self.out = _Out(path, gz=gz, bom=bom, nl="\r\n" if crlf else "\n")
        cols = list(LEDGER_COLUMNS)
        self.extra = extra_columns
        if extra_columns:
            cols += ["export_batch", "note"]
        if shuffle_columns:
            self.rng.shuffle(cols)
        self.cols = cols
        self.batch = f"exp-{rng_seed:04d}"
        self.offset_times = offset_times
        self.out.header(cols)
        self.created_at_pos = cols.index("created_at")

    def fields(self, bk: dict, mutate: str | None = None) -> list[str]:
        offset = self.offset_times and self.rng.random() < 0.2
        rec = {
            "transaction_id": bk["transaction_id"],
            "created_at": _iso(_to_ms(bk["created_at"]), offset),
            "counterparty_id": bk["counterparty_id"] or "",
            "session_id": bk["session_id"] or "",
            "user_id": bk["user_id"],
            "currency": bk["currency"],
            "type": bk["type"],
            "bet_id": bk["bet_id"] or "",
            "game_round_id": bk["game_round_id"] or "",
            "amount": format(bk["amount"], "f"),
            "balance_before": format(bk["balance_before"], "f"),
            "balance_after": format(bk["balance_after"], "f"),
            "request_id": bk["request_id"] or "",
        }
        if self.extra:
            rec["export_batch"] = self.batch
            rec["note"] = ""
        if mutate == "missing bet_id":
            rec["bet_id"] = ""
        elif mutate == "bad amount":
            rec["amount"] = "abc"
        elif mutate == "bad timestamp":
            rec["created_at"] = "2026-11-22T24:61:00Z"
        row = [rec[c] for c in self.cols]
        if mutate == "short row":
            row = row[:6]
        return row

    def duplicate(self, row: list[str], flip: bool) -> None:
        if flip:  # the same instant written with the other zone designator
            row = list(row)
            p = self.created_at_pos
            ms = _to_ms(datetime.fromisoformat(row[p].replace("Z", "+00:00")))
            row[p] = _iso(ms, offset=row[p].endswith("Z"))
        self.out.row(row, dup=True)


def _booking_eligible(kind: str, bk: dict) -> bool:
    if kind == "missing bet_id":
        return bk["type"] == "PAYIN"
    return True


def write_ledger_csv(
    scenario: Scenario,
    path: str | Path,
    *,
    gzip: bool = False,
    bom: bool = False,
    crlf: bool = False,
    shuffle_columns: bool = False,
    extra_columns: bool = False,
    offset_times: bool = False,
    dirty: bool = False,
    dup_rows: int = 0,
    rows: Iterable[dict] | None = None,
    rng_seed: int = 0,
) -> WriteResult:
    """The aggregator ledger as CSV (spec 2.2); ``rows`` writes a subset of the bookings.

    With ``dup_rows`` the first duplicate has its created_at written in ``+01:00``."""
    records = list(scenario.bookings if rows is None else rows)
    w = _LedgerCsvWriter(
        path,
        gz=gzip,
        bom=bom,
        crlf=crlf,
        shuffle_columns=shuffle_columns,
        extra_columns=extra_columns,
        offset_times=offset_times,
        rng_seed=rng_seed,
    )
    kinds = ["missing bet_id", "bad amount", "short row", "bad timestamp"] if dirty else []
    rng = random.Random(f"ledger-plan:{rng_seed}")
    plan = _plan_extras(rng, records, dup_rows, kinds, _booking_eligible)
    return _write_planned(w, records, *plan)


def write_ledger_parquet(
    scenario: Scenario, path: str | Path, rows: Iterable[dict] | None = None
) -> WriteResult:
    """The ledger as Parquet: ids as strings, amounts decimal128(38,8), created_at UTC."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    money = pa.decimal128(38, 8)
    schema = pa.schema(
        [
            ("transaction_id", pa.string()),
            ("created_at", pa.timestamp("ms", tz="UTC")),
            ("counterparty_id", pa.string()),
            ("session_id", pa.string()),
            ("user_id", pa.string()),
            ("currency", pa.string()),
            ("type", pa.string()),
            ("bet_id", pa.string()),
            ("game_round_id", pa.string()),
            ("amount", money),
            ("balance_before", money),
            ("balance_after", money),
            ("request_id", pa.string()),
        ]
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = WriteResult(path)
    source = iter(scenario.bookings if rows is None else rows)
    with pq.ParquetWriter(path, schema) as writer:
        while True:
            batch = [bk for _, bk in zip(range(100_000), source, strict=False)]
            if not batch:
                break
            columns = []
            for name in schema.names:
                values = [bk[name] for bk in batch]
                if name in ("amount", "balance_before", "balance_after"):
                    values = [v.quantize(Q8) for v in values]
                columns.append(pa.array(values, type=schema.field(name).type))
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            result.rows_in += len(batch)
    return result


def write_balances_csv(
    scenario: Scenario, path: str | Path, *, dirty: bool = False, rng_seed: int = 0
) -> WriteResult:
    """Wallet balance snapshots (spec 2.3)."""
    out = _Out(path)
    out.header(BALANCE_COLUMNS)
    rng = random.Random(f"balances:{rng_seed}")
    snaps = scenario.snapshots

    def fields(s: dict) -> list[str]:
        return [s["user_id"], s["currency"], format(s["balance"], "f"), _iso(_to_ms(s["as_of"]))]

    garbage: dict[int, list[str]] = {}
    if dirty and snaps:
        garbage[rng.randrange(len(snaps))] = ["bad amount"]
        garbage.setdefault(rng.randrange(len(snaps)), []).append("short row")
    for i, s in enumerate(snaps):
        out.row(fields(s))
        for kind in garbage.get(i, ()):
            row = fields(snaps[rng.randrange(len(snaps))])
            if kind == "bad amount":
                row[2] = "abc"
            else:
                row = row[:2]
            out.row(row, reject=kind)
    return out.close()


# --------------------------------------------------------------------------- expected.json


def _expected_doc(sc: Scenario, **extra: object) -> dict:
    return {
        "counterparty_id": sc.counterparty_id,
        "window_from": _iso(_to_ms(sc.window_from)),
        "window_to": _iso(_to_ms(sc.window_to)),
        "cutoff": _iso(_to_ms(sc.cutoff)),
        "grace": "1h" if sc.grace == timedelta(hours=1) else f"{int(sc.grace.total_seconds())}s",
        "seed": sc.seed,
        **extra,
        "counts": sc.expected_counts(),
        "findings": [f.as_json() for f in sorted(sc.expected)],
    }


def _dump_json(doc: dict, path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def write_fixture_set(out_dir: str | Path, seed: int = 42, bets: int = 300) -> dict:
    """The small committed sample: two provider files (one gzip), two overlapping ledger
    exports, balances and expected.json. Returns ``{"scenario": ..., "files": {...}}``."""
    out = Path(out_dir)
    sc = simulate(seed=seed, bets=bets)
    n = len(sc.calls)
    split = n - n // 10
    m = len(sc.bookings)
    end_first = m * 6 // 10
    start_second = end_first - max(5, m // 20)
    files: dict[str, WriteResult] = {
        "provider/calls.jsonl": write_provider_jsonl(
            sc, out / "provider/calls.jsonl", dirty=True, dup_lines=3, calls=sc.calls[:split]
        ),
        "provider/calls-late.jsonl.gz": write_provider_jsonl(
            sc, out / "provider/calls-late.jsonl.gz", gzip=True, calls=sc.calls[split:], rng_seed=1
        ),
        "ledger/ledger.csv": write_ledger_csv(
            sc,
            out / "ledger/ledger.csv",
            bom=True,
            crlf=True,
            dirty=True,
            dup_rows=3,
            rows=sc.bookings[:end_first],
        ),
        "ledger/ledger-overlap.csv": write_ledger_csv(
            sc,
            out / "ledger/ledger-overlap.csv",
            shuffle_columns=True,
            extra_columns=True,
            offset_times=True,
            rows=sc.bookings[start_second:],
            rng_seed=1,
        ),
        "balances.csv": write_balances_csv(sc, out / "balances.csv"),
    }
    doc = _expected_doc(
        sc,
        bets=bets,
        files={name: r.as_json() for name, r in files.items()},
        ledger_overlap_rows=end_first - start_second,
        note=(
            "rows of ledger.csv and ledger-overlap.csv overlap: the overlapping rows are exact "
            "duplicates (collapsed), in addition to each file's own 'collapsed' duplicates"
        ),
    )
    _dump_json(doc, out / "expected.json")
    return {"scenario": sc, "files": files, "expected": out / "expected.json"}


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m simulate.provider",
        description="Write one simulated day: provider log, ledger CSV, balances, expected.json.",
    )
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--bets", type=int, default=300)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--gzip", action="store_true")
    p.add_argument("--day", type=date.fromisoformat, default=date(2026, 11, 22))
    p.add_argument("--no-defects", action="store_true")
    args = p.parse_args(argv)

    started = time.monotonic()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    gz = ".gz" if args.gzip else ""
    if args.format == "jsonl":
        provider = _JsonlWriter(
            out / f"calls.jsonl{gz}", gz=args.gzip, rng_seed=0, keep_signs=False
        )
    else:
        provider = _ProviderCsvWriter(out / f"calls.csv{gz}", gz=args.gzip, rng_seed=0)
    ledger = _LedgerCsvWriter(out / f"ledger.csv{gz}", gz=args.gzip)
    sim, snapshots, expected = _run(
        args.seed, args.bets, args.day, not args.no_defects, provider.write, ledger.write
    )
    calls = provider.out.close()
    bookings = ledger.out.close()
    sc = Scenario(
        counterparty_id=sim.cp,
        window_from=_from_ms(sim.from_ms),
        window_to=_from_ms(sim.to_ms),
        cutoff=_from_ms(sim.cutoff_ms),
        grace=timedelta(milliseconds=sim.grace_ms),
        calls=[],
        bookings=[],
        snapshots=snapshots,
        expected=expected,
        seed=args.seed,
        other_counterparty_ids=list(sim.other_cps),
        chain_breaks=dict(sim.breaks),
    )
    balances = write_balances_csv(sc, out / "balances.csv")
    files = {r.path.name: r.as_json() for r in (calls, bookings, balances)}
    _dump_json(_expected_doc(sc, bets=args.bets, files=files), out / "expected.json")
    print(
        f"wrote {calls.rows_in} calls, {bookings.rows_in} ledger rows, "
        f"{len(expected)} expected findings to {out} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
