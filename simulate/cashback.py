"""Seeded test data for ``reconcile cashback`` (spec section 7), with its expected findings.

The aggregator sends the casino a *make* request for every cashback payment (type 1)
and cancellation (type -1); the casino answers with *accept* calls.  This module
simulates one day of that traffic with ``random.Random(seed)`` and knows, from the
recipe of every cashback it wrote and not from any product code, exactly which
findings of spec 7.2 the product must raise for the window ``[day, day + 1)``.

Every cashback of the window follows one recipe: most are normal life (raise
nothing), a few carry one injected defect each, with its complete set of findings.
Around the window there are cashbacks of the previous evening and of the hour up to
the cutoff, some with defects, none ever reported.  Same seed, same bytes.

Conventions where spec 7 leaves room:

* ``amount`` of a finding is the make's amount, except ``cashback_paid_twice`` (the
  sum of the Amounts of every distinct PartnerTransactionId after the first, by
  loggedAt), ``cashback_amount_mismatch`` (accepted minus made, signed; an absent
  TaxAmount / empty tax_amount counts as 0) and ``cashback_unknown`` (the accept's
  Amount).
* ``user_id`` is the make's ``partner_user_id``; for ``cashback_unknown`` the
  accept's ``PartnerUserId``.
* Cases the spec leaves open are not generated at all (see ``_Sim`` below), so every
  expected finding follows from the spec's text alone.

Extra keys, beyond the documented ones, on the scenario's records: makes carry
``sent_at_text`` (the exact text written to CSV); accepts carry ``logged_at_text``,
``amount_json`` and ``tax_json`` (the exact JSON literal written, ``None`` when the
key is absent).

Command line: ``python -m simulate.cashback --out DIR [--seed N] [--cashbacks N]``
writes ``DIR/cashback/{make.csv, accept.jsonl, expected.json}``.
"""

from __future__ import annotations

import argparse
import csv
import gzip as gzip_module
import io
import json
import random
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ACCEPT_PATH = "/mis-api/api/v2/cashback-payments/accept"
MAKE_COLUMNS = (
    "cashback_id",
    "partner_user_id",
    "transaction_type",
    "amount",
    "tax_amount",
    "currency",
    "sent_at",
)
MESSAGES = {
    200: "Success",
    102145: "User not found",
    103801: "Incorrect amount",
    102823: "Error adding transaction",
    103779: "User blocked",
    103804: "Transaction already exists",
    103753: "Request data error",
}
CHECKS = (
    "cashback_paid_twice",
    "cashback_cancel_unpaid",
    "cashback_amount_mismatch",
    "cashback_user_mismatch",
    "cashback_unknown",
    "cashback_rejected",
    "cashback_missing_accept",
    "cashback_late_accept",
)
TIMEOUT_ERROR = "timeout after 10000 ms"
ACCEPT_DEADLINE = timedelta(seconds=30)
EIGHT_PLACES = Decimal("0.00000001")
PLUS_ONE = timezone(timedelta(hours=1))
MS = timedelta(milliseconds=1)


BOOK = "book_adjustment"


@dataclass(frozen=True, order=True)
class ExpectedCashbackFinding:
    check: str  # spec 7.2 code
    cashback_id: str  # as text, e.g. "480"
    transaction_type: int  # 1 or -1: the make's / accept's type the finding is about
    user_id: str | None  # the make's partner_user_id (cashback_unknown: the accept's)
    amount: Decimal  # see the module docstring
    # spec section 8, from what the simulation did to the player's wallet
    owed_to: str = "unknown"
    correction: Decimal | None = None
    action: str = "investigate"

    def key(self) -> tuple:
        amount = self.amount.quantize(EIGHT_PLACES)
        return (self.check, self.cashback_id, self.transaction_type, self.user_id, amount)

    def owed(self) -> tuple:
        """The key with who is owed, the correction and the action."""
        correction = None if self.correction is None else self.correction.quantize(EIGHT_PLACES)
        return (*self.key(), self.owed_to, correction, self.action)


@dataclass
class CashbackScenario:
    window_from: datetime  # tz-aware UTC, inclusive
    window_to: datetime  # exclusive
    cutoff: datetime
    grace: timedelta
    makes: list[dict]  # in sent_at order
    accepts: list[dict]  # in loggedAt order
    expected: list[ExpectedCashbackFinding]  # sorted
    seed: int = 42
    recipes: dict[str, int] = field(default_factory=dict)  # cashbacks per recipe

    def expected_set(self) -> set[tuple]:
        """``{(check, cashback_id, transaction_type, user_id, amount to 8 dp)}``."""
        return {finding.key() for finding in self.expected}

    def counts(self) -> dict[str, int]:
        """Expected findings per check, every check of spec 7.2 listed."""
        found = Counter(finding.check for finding in self.expected)
        return {check: found[check] for check in CHECKS}

    def cli_args(self) -> list[str]:
        """The window options of ``reconcile cashback`` for this scenario."""
        return [
            "--from",
            _iso_z(self.window_from),
            "--to",
            _iso_z(self.window_to),
            "--cutoff",
            _iso_z(self.cutoff),
            "--grace",
            f"{int(self.grace.total_seconds())}s",
        ]


@dataclass
class WriteResult:
    path: Path
    rows_in: int  # records written (header excluded), garbage and duplicates included
    rejects: list[tuple[int, str]]  # (physical 1-based line, reason) of the garbage written
    collapsed: int  # exact duplicates written in addition to their originals
    secret_values: list[str] = field(default_factory=list)  # Authorization tokens written


# --------------------------------------------------------------------------- text forms


def _iso_z(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _iso_offset(moment: datetime) -> str:
    local = moment.astimezone(PLUS_ONE)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 1000:03d}+01:00"


def _epoch_ms(moment: datetime) -> str:
    return str((moment - datetime(1970, 1, 1, tzinfo=UTC)) // MS)


def _plain(amount: Decimal) -> str:
    return format(amount, "f")


def _exponent(amount: Decimal) -> str:
    """``0.00001`` -> ``1e-05`` (the way a JSON encoder writes a tiny float)."""
    text = format(amount.normalize(), "e")
    return re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", text)


def _places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


# --------------------------------------------------------------------------- simulation


@dataclass
class _Cashback:
    cid: str
    user: str
    amount: Decimal
    tax: Decimal | None
    at: datetime


class _Primitives:
    """Ids, money, times and the records themselves: makes, accepts, expected findings."""

    # ----- primitives

    def ms_between(self, start: datetime, end: datetime) -> datetime:
        return start + self.rng.randint(0, (end - start) // MS) * MS

    def delay(self, low_ms: int = 200, high_ms: int = 20_000) -> timedelta:
        return self.rng.randint(low_ms, high_ms) * MS

    def new_id(self) -> str:
        while True:
            number = self.rng.randint(100, 9_999_999)
            if number not in self._ids:
                self._ids.add(number)
                return str(number)

    def money(self) -> Decimal:
        roll = self.rng.random()
        if roll < 0.06:  # tiny: 0.00003, 0.00000007
            unit = self.rng.choice((Decimal("0.00001"), Decimal("0.00000001")))
            return unit * self.rng.randint(1, 9)
        places = self.rng.choice((0, 1, 2, 2, 2, 2, 3, 4, 8))
        amount = Decimal(self.rng.randint(1, 5 * 10 ** (places + 2))).scaleb(-places)
        if 0 < places < 8 and self.rng.random() < 0.1:  # a trailing zero: 1000.50
            amount = amount.quantize(Decimal(1).scaleb(-places - 1))
        return amount

    def tax_for(self, amount: Decimal, tax_on: bool) -> Decimal | None:
        if not tax_on:
            return None
        if self.rng.random() < 0.2:
            return self.rng.choice((Decimal("0"), Decimal("0.00")))
        rate = self.rng.choice((Decimal("0.05"), Decimal("0.1"), Decimal("0.15"), Decimal("0.2")))
        return (amount * rate).quantize(Decimal("0.01"))

    def nonzero_tax(self, amount: Decimal) -> Decimal:
        return max(Decimal("0.01"), (amount * Decimal("0.1")).quantize(Decimal("0.01")))

    def cashback(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        user: str | None = None,
        tax_on: bool | None = None,
    ) -> _Cashback:
        start = start or self.window_from + timedelta(seconds=10)
        end = end or self.window_to - timedelta(minutes=5)
        if tax_on is None:
            tax_on = self.tax and self.rng.random() < 0.85
        amount = self.money()
        return _Cashback(
            cid=self.new_id(),
            user=user or self.rng.choice(self.users),
            amount=amount,
            tax=self.tax_for(amount, tax_on),
            at=self.ms_between(start, end),
        )

    def pti(self, cid: str) -> str:
        while True:
            pti = f"{cid}-{self.rng.randint(100_000_000, 999_999_999)}"
            if pti not in self._ptis:
                self._ptis.add(pti)
                return pti

    def time_text(self, moment: datetime, epoch: bool) -> str:
        roll = self.rng.random()
        if epoch and roll < 0.15:
            return _epoch_ms(moment)
        if roll > 0.85:
            return _iso_offset(moment)
        return _iso_z(moment)

    def literal(self, amount: Decimal) -> str:
        """The JSON text of an Amount / TaxAmount: mostly strings, some numbers."""
        roll = self.rng.random()
        if amount != 0 and abs(amount) < Decimal("0.001") and roll < 0.5:
            return _exponent(amount)
        if roll < 0.6:
            return json.dumps(_plain(amount))
        if roll < 0.75:
            places = _places(amount)
            if places < 8:  # same value, another text: "1000.5" -> "1000.50"
                return json.dumps(_plain(amount.quantize(Decimal(1).scaleb(-places - 1))))
            return json.dumps(_plain(amount))
        return _plain(amount)

    def token_at(self, moment: datetime) -> str:
        hour = (moment - (self.window_from - timedelta(hours=3))) // timedelta(hours=1)
        return self.tokens[min(max(hour, 0), len(self.tokens) - 1)]

    def expect(
        self,
        check: str,
        c: _Cashback,
        ttype: int,
        amount: Decimal,
        owed: tuple[str, Decimal | None, str] = ("unknown", None, "investigate"),
        user: str = "",
    ) -> None:
        """``owed``: who is owed, the correction and the action (spec section 8);
        nothing is owed when no money is at issue."""
        owed_to, correction, action = ("none", None, "none") if amount == 0 else owed
        finding = ExpectedCashbackFinding(
            check, c.cid, ttype, user or c.user, amount, owed_to, correction, action
        )
        self.expected.append(finding)

    def make(self, c: _Cashback, ttype: int = 1, at: datetime | None = None) -> dict:
        at = at or c.at
        record = {
            "cashback_id": c.cid,
            "partner_user_id": c.user,
            "transaction_type": ttype,
            "amount": c.amount,
            "tax_amount": c.tax,
            "currency": self.currency[c.user],
            "sent_at": at,
            "sent_at_text": self.time_text(at, epoch=True),
            "_seq": self._next(),
        }
        self.makes.append(record)
        return record

    _KEEP = object()

    def accept(
        self,
        c: _Cashback,
        at: datetime,
        *,
        ttype: int = 1,
        code: int = 200,
        pti: str | None = None,
        amount: object = _KEEP,
        tax: object = _KEEP,
        user: str | None = None,
        timeout: bool = False,
    ) -> dict:
        amount = c.amount if amount is self._KEEP else amount
        tax = c.tax if tax is self._KEEP else tax
        assert amount is None or isinstance(amount, Decimal)
        assert tax is None or isinstance(tax, Decimal)
        record = {
            "logged_at": at,
            "error_code": code,
            "message": MESSAGES[code],
            "cashback_id": c.cid,
            "partner_user_id": user or c.user,
            "partner_transaction_id": pti or self.pti(c.cid),
            "transaction_type": ttype,
            "amount": amount,
            "tax_amount": tax,
            "status": None if timeout else 200,
            "error": TIMEOUT_ERROR if timeout else None,
            "authorization": self.token_at(at),
            "logged_at_text": self.time_text(at, epoch=False),
            "amount_json": None if amount is None else self.literal(amount),
            "tax_json": None if tax is None else self.literal(tax),
            "_seq": self._next(),
        }
        self.accepts.append(record)
        return record

    def resend(self, first: dict, at: datetime) -> dict:
        """The casino sends the same accept again after a network error."""
        record = {
            **first,
            "logged_at": at,
            "status": 200,
            "error": None,
            "authorization": self.token_at(at),
            "logged_at_text": self.time_text(at, epoch=False),
            "_seq": self._next(),
        }
        self.accepts.append(record)
        return record

    def _next(self) -> int:
        self._seq += 1
        return self._seq


class _NormalLife:
    """Recipes of normal life: each raises nothing."""

    # ----- normal life: raises nothing

    def n_paid(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay())

    def n_resent_accept(self) -> None:
        c = self.cashback()
        self.make(c)
        first = self.accept(c, c.at + self.delay(), timeout=True)
        self.resend(first, first["logged_at"] + self.delay(1_000, 15_000))

    def n_resent_make(self) -> None:
        c = self.cashback()
        self.make(c)
        first = self.accept(c, c.at + self.delay(200, 4_000))
        again = c.at + self.delay(5_000, 9_000)
        self.make(c, at=again)
        self.accept(
            c, again + self.delay(200, 4_000), code=103804, pti=first["partner_transaction_id"]
        )

    def n_transient_error(self) -> None:
        c = self.cashback()
        self.make(c)
        failed = self.accept(c, c.at + self.delay(200, 15_000), code=102823)
        self.accept(c, failed["logged_at"] + self.delay(1_000, 8_000))

    def n_cancelled(self) -> None:
        c = self.cashback(end=self.window_to - timedelta(hours=4))
        self.make(c)
        self.accept(c, c.at + self.delay())
        cancel_at = c.at + self.delay(60_000, 3 * 3_600_000)
        self.make(c, ttype=-1, at=cancel_at)
        self.accept(c, cancel_at + self.delay(), ttype=-1)

    def n_already_exists(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay(), code=103804)

    def n_on_the_deadline(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + ACCEPT_DEADLINE)  # exactly 30.000 s: not late

    def n_timeout_only(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay(), timeout=True)  # in the log: it counts

    def n_error_after_success(self) -> None:
        c = self.cashback()
        self.make(c)
        paid = self.accept(c, c.at + self.delay(200, 10_000))
        self.accept(c, paid["logged_at"] + self.delay(1_000, 8_000), code=102823)


class _Defects:
    """Injected defects, each with its complete set of findings."""

    # ----- injected defects, each with its complete set of findings

    def d_paid_twice(self) -> None:
        c = self.cashback()
        self.make(c)
        first = self.accept(c, c.at + self.delay(200, 10_000))
        self.accept(c, first["logged_at"] + self.delay(1_000, 20_000))
        self.expect("cashback_paid_twice", c, 1, c.amount, ("house", -c.amount, BOOK))

    def d_paid_three_times(self) -> None:
        c = self.cashback()
        self.make(c)
        at = c.at + self.delay(200, 5_000)
        self.accept(c, at)
        second = self.accept(c, at + self.delay(1_000, 5_000), timeout=True)
        self.resend(second, second["logged_at"] + self.delay(1_000, 5_000))  # same PTI: one
        self.accept(c, second["logged_at"] + self.delay(6_000, 20_000))
        self.expect("cashback_paid_twice", c, 1, c.amount * 2, ("house", -2 * c.amount, BOOK))

    def d_paid_twice_resent_make(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay(200, 4_000))
        again = c.at + self.delay(5_000, 9_000)
        self.make(c, at=again)
        self.accept(c, again + self.delay(200, 4_000))  # booked again instead of 103804
        self.expect("cashback_paid_twice", c, 1, c.amount, ("house", -c.amount, BOOK))

    def d_cancel_unpaid_rejected(self) -> None:
        c = self.cashback(end=self.window_to - timedelta(hours=4))
        self.make(c)
        failed = self.accept(c, c.at + self.delay(), code=102823)
        self.accept(c, failed["logged_at"] + self.delay(1_000, 8_000), code=102823)
        cancel_at = c.at + self.delay(120_000, 3 * 3_600_000)
        self.make(c, ttype=-1, at=cancel_at)
        self.accept(c, cancel_at + self.delay(), ttype=-1)
        self.expect("cashback_cancel_unpaid", c, -1, c.amount, ("player", c.amount, BOOK))
        # the cashback was cancelled: the cancellation's correction is the fix
        self.expect("cashback_rejected", c, 1, c.amount, ("none", None, "none"))

    def d_cancel_without_payment(self) -> None:
        c = self.cashback()
        self.make(c, ttype=-1)
        self.accept(c, c.at + self.delay(), ttype=-1)
        self.expect("cashback_cancel_unpaid", c, -1, c.amount, ("player", c.amount, BOOK))

    def d_amount_more(self) -> None:
        c = self.cashback()
        self.make(c)
        delta = self.rng.choice((Decimal("0.01"), Decimal("1"), Decimal("0.00000001"), c.amount))
        self.accept(c, c.at + self.delay(), amount=c.amount + delta)  # paid delta too much
        self.expect("cashback_amount_mismatch", c, 1, delta, ("house", -delta, BOOK))

    def d_amount_less(self) -> None:
        c = self.cashback()
        while c.amount < Decimal("0.02"):
            c.amount = self.money()
            c.tax = self.tax_for(c.amount, c.tax is not None)
        accepted = (c.amount / 2).quantize(Decimal("0.01"))
        self.make(c)
        self.accept(c, c.at + self.delay(), amount=accepted)
        self.expect(
            "cashback_amount_mismatch", c, 1, accepted - c.amount,
            ("player", c.amount - accepted, BOOK),
        )  # fmt: skip

    def d_tax_differs(self) -> None:
        c = self.cashback(tax_on=True)
        self.make(c)
        assert c.tax is not None
        delta = self.rng.choice((Decimal("0.01"), Decimal("-0.01"), Decimal("2.5")))
        if c.tax + delta < 0:
            delta = -delta
        self.accept(c, c.at + self.delay(), tax=c.tax + delta)
        self.expect("cashback_amount_mismatch", c, 1, delta)  # a tax difference: unknown

    def d_tax_not_made(self) -> None:
        c = self.cashback(tax_on=False)
        self.make(c)
        tax = self.nonzero_tax(c.amount)
        self.accept(c, c.at + self.delay(), tax=tax)
        self.expect("cashback_amount_mismatch", c, 1, tax)

    def d_tax_not_accepted(self) -> None:
        c = self.cashback(tax_on=True)
        c.tax = self.nonzero_tax(c.amount)
        self.make(c)
        self.accept(c, c.at + self.delay(), tax=None)
        self.expect("cashback_amount_mismatch", c, 1, -c.tax)

    def d_cancel_amount(self) -> None:
        c = self.cashback(end=self.window_to - timedelta(hours=4))
        self.make(c)
        self.accept(c, c.at + self.delay())
        cancel_at = c.at + self.delay(60_000, 3 * 3_600_000)
        self.make(c, ttype=-1, at=cancel_at)
        delta = Decimal("0.5")
        self.accept(c, cancel_at + self.delay(), ttype=-1, amount=c.amount + delta)
        self.expect("cashback_amount_mismatch", c, -1, delta, ("player", delta, BOOK))

    def d_other_user(self) -> None:
        c = self.cashback()
        self.make(c)
        other = self.rng.choice([u for u in self.users if u not in (c.user, "0042", "42")])
        self.accept(c, c.at + self.delay(), user=other)
        self.expect("cashback_user_mismatch", c, 1, c.amount)

    def d_leading_zero_user(self) -> None:
        c = self.cashback(user="0042")
        self.make(c)
        self.accept(c, c.at + self.delay(), user="42")
        self.expect("cashback_user_mismatch", c, 1, c.amount)

    def d_unknown(self) -> None:
        c = self.cashback()
        self.accept(c, c.at)
        self.expect("cashback_unknown", c, 1, c.amount)

    def d_unknown_timed_out(self) -> None:
        c = self.cashback()
        self.accept(c, c.at, timeout=True)
        self.expect("cashback_unknown", c, 1, c.amount)

    def d_rejected_user(self) -> None:
        c = self.cashback()
        self.make(c)
        first = self.accept(c, c.at + self.delay(200, 15_000), code=102145)
        self.accept(c, first["logged_at"] + self.delay(1_000, 8_000), code=103779)
        self.expect("cashback_rejected", c, 1, c.amount, ("player", c.amount, "investigate"))

    def d_rejected_amount(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay(), code=103801)
        self.expect("cashback_rejected", c, 1, c.amount, ("player", c.amount, "investigate"))

    def d_rejected_no_amount(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay(), code=103753, amount=None, tax=None)
        self.expect("cashback_rejected", c, 1, c.amount, ("player", c.amount, "investigate"))

    def d_rejected_late(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay(31_000, 120_000), code=102823)
        self.expect("cashback_rejected", c, 1, c.amount, ("player", c.amount, "investigate"))
        self.expect("cashback_late_accept", c, 1, c.amount, ("none", None, "none"))

    def d_missing(self) -> None:
        c = self.cashback()
        self.make(c)
        self.expect("cashback_missing_accept", c, 1, c.amount)

    def d_missing_leading_zero(self) -> None:
        c = self.cashback(user="0042")
        self.make(c)
        self.expect("cashback_missing_accept", c, 1, c.amount)

    def d_late(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + self.delay(31_000, 120_000))
        self.expect("cashback_late_accept", c, 1, c.amount, ("none", None, "none"))

    def d_late_by_a_millisecond(self) -> None:
        c = self.cashback()
        self.make(c)
        self.accept(c, c.at + ACCEPT_DEADLINE + MS)
        self.expect("cashback_late_accept", c, 1, c.amount, ("none", None, "none"))


class _AroundTheWindow:
    """Cashbacks around the window: never reported."""

    # ----- around the window: never reported

    def before_window(self, defects: bool) -> None:
        start, midnight = self.window_from - timedelta(hours=2), self.window_from
        for _ in range(4):
            c = self.cashback(start, midnight - timedelta(minutes=1))
            self.make(c)
            self.accept(c, c.at + self.delay())
        c = self.cashback(midnight - timedelta(seconds=6), midnight - timedelta(seconds=2))
        self.make(c)
        self.accept(c, midnight + self.delay(200, 5_000))  # accepted after midnight
        self.recipes["previous window, normal"] += 5
        if not defects:
            return
        # Missing accept.
        self.make(self.cashback(start, midnight - timedelta(minutes=30)))
        # Late, accepted inside the window.
        c = self.cashback(midnight - timedelta(seconds=40), midnight - timedelta(seconds=35))
        self.make(c)
        self.accept(c, c.at + timedelta(seconds=70))
        # Paid twice, the second payment inside the window.
        c = self.cashback(midnight - timedelta(seconds=9), midnight - timedelta(seconds=8))
        self.make(c)
        self.accept(c, c.at + self.delay(200, 3_000))
        self.accept(c, midnight + self.delay(2_000, 9_000))
        # Unknown accept of the previous window.
        c = self.cashback(midnight - timedelta(minutes=3), midnight - timedelta(minutes=1))
        self.accept(c, c.at)
        # Payment rejected before midnight, cancelled after it: the previous window's.
        c = self.cashback(midnight - timedelta(minutes=20), midnight - timedelta(minutes=10))
        self.make(c)
        self.accept(c, c.at + self.delay(), code=102823)
        cancel_at = self.ms_between(midnight + timedelta(minutes=5), midnight + timedelta(hours=1))
        self.make(c, ttype=-1, at=cancel_at)
        self.accept(c, cancel_at + self.delay(), ttype=-1)
        self.recipes["previous window, defect"] += 5

    def after_window(self, defects: bool) -> None:
        start, cutoff = self.window_to, self.cutoff
        for _ in range(4):
            c = self.cashback(start, cutoff - timedelta(minutes=5))
            self.make(c)
            self.accept(c, c.at + self.delay())
        # Still due at the cutoff (younger than 30 s + grace): not missing.
        self.make(self.cashback(cutoff - timedelta(seconds=89), cutoff - timedelta(seconds=80)))
        self.make(self.cashback(cutoff - timedelta(seconds=12), cutoff - timedelta(seconds=10)))
        c = self.cashback(cutoff - timedelta(seconds=40), cutoff - timedelta(seconds=30))
        self.make(c)
        self.accept(c, cutoff + self.delay(2_000, 9_000))  # after the cutoff: ignored
        self.recipes["next window, normal"] += 7
        if not defects:
            return
        # Missing accept, old enough at the cutoff, but of the next window.
        self.make(self.cashback(start + timedelta(minutes=5), start + timedelta(minutes=30)))
        # Unknown accept of the next window.
        c = self.cashback(start + timedelta(minutes=5), start + timedelta(minutes=30))
        self.accept(c, c.at)
        self.recipes["next window, defect"] += 2


class _Sim(_Primitives, _NormalLife, _Defects, _AroundTheWindow):
    """Builds the records; every recipe appends its makes, accepts and expected findings.

    Deliberately never generated, because spec 7 does not settle their findings:
    a cancellation of a payment that was only answered 103804; an unknown accept of
    type -1; an accept with both Amount and TaxAmount wrong; a non-200 accept with
    another user; a TaxAmount present on one side and absent on the other when the
    present one is 0; a payment and its cancellation in different windows (except
    one that is entirely the previous window's); in-window makes whose only accept
    comes after the cutoff.
    """

    def __init__(self, rng: random.Random, day: date, tax: bool):
        self.rng = rng
        self.window_from = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.window_to = self.window_from + timedelta(days=1)
        self.cutoff = self.window_to + timedelta(hours=1)
        self.grace = timedelta(minutes=1)
        self.tax = tax
        self.makes: list[dict] = []
        self.accepts: list[dict] = []
        self.expected: list[ExpectedCashbackFinding] = []
        self.recipes: Counter[str] = Counter()
        self._ids: set[int] = set()
        self._ptis: set[str] = set()
        self._seq = 0
        users: set[str] = set()
        while len(users) < 30:
            users.add(str(rng.randint(100_000, 999_999)))
        # "0042" and "42" are two different players (identifiers are text).
        self.users = [*sorted(users), "0042", "42"]
        self.currency = {u: rng.choice(("EUR", "EUR", "USD", "TRY", "BRL")) for u in self.users}
        # The casino's bearer token, rotated every hour (from 3 h before the window).
        alphabet = string.ascii_letters + string.digits + "-_"
        self.tokens = ["".join(rng.choice(alphabet) for _ in range(43)) for _ in range(32)]


NORMAL: dict[str, tuple[Callable[[_Sim], None], int]] = {
    "paid once": (_Sim.n_paid, 40),
    "accept re-sent after a timeout": (_Sim.n_resent_accept, 8),
    "make re-sent, 200 then 103804": (_Sim.n_resent_make, 6),
    "102823 then 200": (_Sim.n_transient_error, 6),
    "paid then cancelled": (_Sim.n_cancelled, 8),
    "103804 only": (_Sim.n_already_exists, 4),
    "accepted at exactly 30.000 s": (_Sim.n_on_the_deadline, 2),
    "only accept timed out": (_Sim.n_timeout_only, 4),
    "200 then an error": (_Sim.n_error_after_success, 2),
}
DEFECTS: dict[str, Callable[[_Sim], None]] = {
    "paid twice": _Sim.d_paid_twice,
    "paid three times, one re-sent": _Sim.d_paid_three_times,
    "paid twice after a re-sent make": _Sim.d_paid_twice_resent_make,
    "cancelled, payment rejected": _Sim.d_cancel_unpaid_rejected,
    "cancelled, no payment make": _Sim.d_cancel_without_payment,
    "amount too high": _Sim.d_amount_more,
    "amount too low": _Sim.d_amount_less,
    "tax differs": _Sim.d_tax_differs,
    "tax accepted, none made": _Sim.d_tax_not_made,
    "tax made, none accepted": _Sim.d_tax_not_accepted,
    "cancellation amount differs": _Sim.d_cancel_amount,
    "other user": _Sim.d_other_user,
    "user 0042 accepted as 42": _Sim.d_leading_zero_user,
    "unknown cashback": _Sim.d_unknown,
    "unknown cashback, timed out": _Sim.d_unknown_timed_out,
    "rejected: user not found, blocked": _Sim.d_rejected_user,
    "rejected: incorrect amount": _Sim.d_rejected_amount,
    "rejected: request data error, no Amount": _Sim.d_rejected_no_amount,
    "rejected and late": _Sim.d_rejected_late,
    "missing accept": _Sim.d_missing,
    "missing accept, user 0042": _Sim.d_missing_leading_zero,
    "late accept": _Sim.d_late,
    "late by one millisecond": _Sim.d_late_by_a_millisecond,
}
TAX_DEFECTS = ("tax differs", "tax made, none accepted")  # need a make with tax


def simulate_cashback(
    seed: int = 42,
    cashbacks: int = 200,
    day: date = date(2026, 11, 22),
    defects: bool = True,
    *,
    tax: bool = True,
) -> CashbackScenario:
    """One day of make requests and accept calls, and the findings they must raise.

    ``cashbacks`` is the number of cashback ids of the window (normal and defective).
    Every defect recipe is used ``max(1, cashbacks // 100)`` times when ``defects``.
    ``tax=False`` is a casino with tax off: no make has a tax_amount (write the make
    CSV with ``with_tax_column=False``) and only the defect "tax accepted, none made"
    carries a TaxAmount.
    """
    rng = random.Random(seed)
    sim = _Sim(rng, day, tax)
    defect_recipes = [name for name in DEFECTS if tax or name not in TAX_DEFECTS]
    plan: list[str] = []
    if defects:
        plan += defect_recipes * max(1, cashbacks // 100)
    plan += list(NORMAL)  # every kind of normal life at least once
    if cashbacks < len(plan):
        raise ValueError(f"cashbacks must be at least {len(plan)} for this scenario")
    names, weights = list(NORMAL), [weight for _, weight in NORMAL.values()]
    plan += rng.choices(names, weights, k=cashbacks - len(plan))
    for name in plan:
        if name in DEFECTS:
            DEFECTS[name](sim)
        else:
            NORMAL[name][0](sim)
        sim.recipes[name] += 1
    sim.before_window(defects)
    sim.after_window(defects)

    makes = sorted(sim.makes, key=lambda m: (m["sent_at"], m["_seq"]))
    accepts = sorted(sim.accepts, key=lambda a: (a["logged_at"], a["_seq"]))
    for record in (*makes, *accepts):
        del record["_seq"]
    return CashbackScenario(
        window_from=sim.window_from,
        window_to=sim.window_to,
        cutoff=sim.cutoff,
        grace=sim.grace,
        makes=makes,
        accepts=accepts,
        expected=sorted(sim.expected),
        seed=seed,
        recipes=dict(sim.recipes),
    )


# --------------------------------------------------------------------------- writers


def _write_bytes(path: Path | str, data: bytes, gzip: bool) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gzip:
        data = gzip_module.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def _scatter_duplicates(rng: random.Random, entries: list[list], count: int) -> None:
    """Insert ``count`` exact copies of real entries, each somewhere after its original."""
    originals = [entry for entry in entries if entry[1] is None]
    for _ in range(count):
        source = rng.choice(originals)
        position = next(i for i, entry in enumerate(entries) if entry is source)
        entries.insert(rng.randint(position + 1, len(entries)), [source[0], None])


def _scatter_garbage(rng: random.Random, entries: list[list], garbage: list[list]) -> None:
    for entry in garbage:
        entries.insert(rng.randint(0, len(entries)), entry)


def _make_cells(make: dict, columns: list[str]) -> list[str]:
    cells = {
        "cashback_id": make["cashback_id"],
        "partner_user_id": make["partner_user_id"],
        "transaction_type": str(make["transaction_type"]),
        "amount": _plain(make["amount"]),
        "tax_amount": "" if make["tax_amount"] is None else _plain(make["tax_amount"]),
        "currency": make["currency"],
        "sent_at": make["sent_at_text"],
    }
    return [cells[column] for column in columns]


def write_make_csv(
    s: CashbackScenario,
    path: Path | str,
    *,
    gzip: bool = False,
    bom: bool = False,
    crlf: bool = False,
    shuffle_columns: bool = False,
    with_tax_column: bool = True,
    dirty: bool = False,
    dup_rows: int = 0,
) -> WriteResult:
    """The aggregator's make requests as CSV (header first; sent_at order)."""
    if not with_tax_column and any(m["tax_amount"] is not None for m in s.makes):
        raise ValueError("the scenario's makes carry tax: simulate_cashback(tax=False)")
    rng = random.Random(s.seed * 1009 + 1)
    columns = [c for c in MAKE_COLUMNS if with_tax_column or c != "tax_amount"]
    if shuffle_columns:
        rng.shuffle(columns)
    # entry: [cells, reject reason or None]
    entries: list[list] = [[_make_cells(m, columns), None] for m in s.makes]
    _scatter_duplicates(rng, entries, dup_rows)
    if dirty:
        bad_amount = _make_cells(rng.choice(s.makes), columns)
        bad_amount[columns.index("amount")] = "abc"
        short = _make_cells(rng.choice(s.makes), columns)[: len(columns) - 3]
        _scatter_garbage(rng, entries, [[bad_amount, "amount"], [short, "short"]])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(columns)
    writer.writerows(cells for cells, _ in entries)
    data = (("\ufeff" if bom else "") + text.getvalue()).encode("utf-8")
    return WriteResult(
        path=_write_bytes(path, data, gzip),
        rows_in=len(entries),
        rejects=[(i + 2, reason) for i, (_, reason) in enumerate(entries) if reason],
        collapsed=dup_rows,
    )


def write_make_parquet(s: CashbackScenario, path: Path | str) -> WriteResult:
    """The make requests as Parquet: decimal(20, 8) amounts, UTC millisecond times."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    money = pa.decimal128(20, 8)
    table = pa.table(
        {
            "cashback_id": pa.array([m["cashback_id"] for m in s.makes], pa.string()),
            "partner_user_id": pa.array([m["partner_user_id"] for m in s.makes], pa.string()),
            "transaction_type": pa.array([m["transaction_type"] for m in s.makes], pa.int32()),
            "amount": pa.array([m["amount"] for m in s.makes], money),
            "tax_amount": pa.array([m["tax_amount"] for m in s.makes], money),
            "currency": pa.array([m["currency"] for m in s.makes], pa.string()),
            "sent_at": pa.array([m["sent_at"] for m in s.makes], pa.timestamp("ms", tz="UTC")),
        }
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return WriteResult(path=path, rows_in=len(s.makes), rejects=[], collapsed=0)


def _accept_line(
    a: dict,
    *,
    amount_json: str | None = None,
    logged_at_text: str | None = None,
    without: tuple[str, ...] = (),
) -> str:
    """One JSON line; Amount / TaxAmount go in as their exact literal, never via float."""
    value: dict = {
        "CashbackId": int(a["cashback_id"]),
        "PartnerUserId": a["partner_user_id"],
        "PartnerTransactionId": a["partner_transaction_id"],
        "TransactionType": a["transaction_type"],
    }
    literals = {"@@Amount@@": amount_json or a["amount_json"], "@@TaxAmount@@": a["tax_json"]}
    if literals["@@Amount@@"] is not None:
        value["Amount"] = "@@Amount@@"
    if literals["@@TaxAmount@@"] is not None:
        value["TaxAmount"] = "@@TaxAmount@@"
    for key in without:
        value.pop(key, None)
    record = {
        "loggedAt": logged_at_text or a["logged_at_text"],
        "request": {
            "method": "POST",
            "path": ACCEPT_PATH,
            "headers": {
                "Authorization": f"Bearer {a['authorization']}",
                "Content-Type": "application/json",
            },
            "body": {"ErrorCode": a["error_code"], "Message": a["message"], "Value": value},
        },
        "response": None
        if a["status"] is None
        else {"status": a["status"], "body": {"ErrorCode": 200, "Message": "Success"}},
        "error": a["error"],
    }
    line = json.dumps(record)
    for placeholder, literal in literals.items():
        if literal is not None:
            line = line.replace(json.dumps(placeholder), literal, 1)
    return line


def write_accept_jsonl(
    s: CashbackScenario,
    path: Path | str,
    *,
    gzip: bool = False,
    dirty: bool = False,
    dup_lines: int = 0,
) -> WriteResult:
    """The accept calls as JSON Lines, one HTTP exchange per line, in loggedAt order."""
    rng = random.Random(s.seed * 1009 + 2)
    entries: list[list] = [[_accept_line(a), None] for a in s.accepts]
    _scatter_duplicates(rng, entries, dup_lines)
    if dirty:
        paid = [a for a in s.accepts if a["error_code"] == 200 and a["amount"] is not None]
        source = rng.choice(s.accepts)
        line = _accept_line(source)
        cut = line.index(source["authorization"]) + len(source["authorization"])
        broken = line[: cut + rng.randint(5, 40)]  # a truncated line, token and all
        bad_time = f"{s.window_from:%Y-%m-%d}T25:61:00Z"
        garbage = [
            [broken, "json"],
            [broken, "json"],  # the same unreadable text again: rejected again
            [_accept_line(rng.choice(paid), amount_json='"12,5"'), "amount"],
            [_accept_line(rng.choice(s.accepts), without=("CashbackId",)), "cashback_id"],
            [_accept_line(rng.choice(s.accepts), logged_at_text=bad_time), "logged_at"],
        ]
        _scatter_garbage(rng, entries, garbage)
    data = "".join(line + "\n" for line, _ in entries).encode("utf-8")
    secrets = sorted({a["authorization"] for a in s.accepts})
    return WriteResult(
        path=_write_bytes(path, data, gzip),
        rows_in=len(entries),
        rejects=[(i + 1, reason) for i, (_, reason) in enumerate(entries) if reason],
        collapsed=dup_lines,
        secret_values=secrets,
    )


# --------------------------------------------------------------------------- fixture set


def expected_document(s: CashbackScenario, inputs: dict[str, WriteResult]) -> dict:
    """What ``expected.json`` holds: the window, the inputs' counts, the findings."""
    return {
        "generator": "simulate.cashback",
        "seed": s.seed,
        "window": {"from": _iso_z(s.window_from), "to": _iso_z(s.window_to)},
        "cutoff": _iso_z(s.cutoff),
        "grace": f"{int(s.grace.total_seconds())}s",
        "cli_args": s.cli_args(),
        "inputs": {
            name: {
                "rows_in": result.rows_in,
                "rejected": len(result.rejects),
                "collapsed": result.collapsed,
                "loaded": result.rows_in - len(result.rejects) - result.collapsed,
                "rejects": [[line, reason] for line, reason in result.rejects],
            }
            for name, result in inputs.items()
        },
        "counts": s.counts(),
        "findings": [
            {
                "check": f.check,
                "cashback_id": f.cashback_id,
                "transaction_type": f.transaction_type,
                "user_id": f.user_id,
                "amount": _plain(f.amount),
                "owed_to": f.owed_to,
                "correction": None if f.correction is None else _plain(f.correction),
                "action": f.action,
            }
            for f in s.expected
        ],
    }


def write_cashback_fixture_set(out_dir: Path | str, seed: int = 42, cashbacks: int = 60) -> dict:
    """``OUT/cashback/{make.csv, accept.jsonl, expected.json}``, with rejects and duplicates.

    Returns ``{"make": Path, "accept": Path, "expected": Path, "document": dict}``
    (the document is what ``expected.json`` holds).
    """
    folder = Path(out_dir) / "cashback"
    s = simulate_cashback(seed=seed, cashbacks=cashbacks)
    make = write_make_csv(s, folder / "make.csv", dirty=True, dup_rows=1)
    accept = write_accept_jsonl(s, folder / "accept.jsonl", dirty=True, dup_lines=2)
    document = expected_document(s, {"make.csv": make, "accept.jsonl": accept})
    document["regenerate"] = (
        f"python -m simulate.cashback --out DIR --seed {seed} --cashbacks {cashbacks}"
    )
    expected = folder / "expected.json"
    expected.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return {"make": make.path, "accept": accept.path, "expected": expected, "document": document}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulate.cashback",
        description="Write a seeded cashback fixture set: make.csv, accept.jsonl, expected.json.",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write cashback/ into")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cashbacks", type=int, default=60)
    args = parser.parse_args(argv)
    written = write_cashback_fixture_set(args.out, seed=args.seed, cashbacks=args.cashbacks)
    counts = ", ".join(f"{k} {v}" for k, v in written["document"]["counts"].items())
    print(f"wrote {written['make'].parent}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
