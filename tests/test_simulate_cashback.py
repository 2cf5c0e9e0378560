"""The cashback test-data generator keeps its own promises (spec section 7).

These test the generator, not the product: same seed same bytes, files that read
back exactly, dirty lines where it says they are, and expected findings that a
second, independent reading of the written files (a small oracle of spec 7.2,
below) derives too.  The product's own cashback tests use the generator.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from simulate.cashback import (
    CHECKS,
    MAKE_COLUMNS,
    CashbackScenario,
    simulate_cashback,
    write_accept_jsonl,
    write_cashback_fixture_set,
    write_make_csv,
    write_make_parquet,
)

DEADLINE = timedelta(seconds=30)


@pytest.fixture(scope="module")
def scenario() -> CashbackScenario:
    return simulate_cashback()


# --------------------------------------------------------------------------- reading back


def parse_time(text: str) -> datetime:
    if text.isdigit():
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(text))
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment.astimezone(UTC)


def parse_money(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(value)
    if isinstance(value, str) and not re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", value):
        raise ValueError(value)
    return Decimal(value)


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8-sig")


def read_makes(path: Path) -> tuple[list[dict], list[tuple[int, str]], int]:
    """Loaded makes, rejects ``(line, reason)`` and the count of exact duplicates."""
    lines = read_text(path).splitlines()
    header = next(csv.reader([lines[0]]))
    loaded, rejects, seen, collapsed = [], [], set(), 0
    for number, line in enumerate(lines[1:], start=2):
        cells = next(csv.reader([line]))
        if len(cells) != len(header):
            rejects.append((number, "short"))
            continue
        row = dict(zip(header, cells, strict=True))
        try:
            amount = parse_money(row["amount"])
        except (ValueError, InvalidOperation):
            rejects.append((number, "amount"))
            continue
        tax = row.get("tax_amount") or None
        make = {
            "cashback_id": row["cashback_id"],
            "partner_user_id": row["partner_user_id"],
            "transaction_type": int(row["transaction_type"]),
            "amount": amount,
            "tax_amount": None if tax is None else parse_money(tax),
            "currency": row["currency"],
            "sent_at": parse_time(row["sent_at"]),
        }
        key = tuple(make.values())
        if key in seen:
            collapsed += 1
            continue
        seen.add(key)
        loaded.append(make)
    return loaded, rejects, collapsed


def read_accepts(path: Path) -> tuple[list[dict], list[tuple[int, str]], int]:
    loaded, rejects, seen, collapsed = [], [], set(), 0
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        try:
            record = json.loads(line, parse_float=Decimal)
        except ValueError:
            rejects.append((number, "json"))
            continue
        body = record["request"]["body"]
        value = body["Value"]
        if "CashbackId" not in value:
            rejects.append((number, "cashback_id"))
            continue
        try:
            logged_at = parse_time(record["loggedAt"])
        except ValueError:
            rejects.append((number, "logged_at"))
            continue
        try:
            amount = parse_money(value["Amount"]) if "Amount" in value else None
            tax = parse_money(value["TaxAmount"]) if "TaxAmount" in value else None
        except (ValueError, InvalidOperation):
            rejects.append((number, "amount"))
            continue
        response = record["response"]
        accept = {
            "logged_at": logged_at,
            "error_code": body["ErrorCode"],
            "message": body["Message"],
            "cashback_id": str(value["CashbackId"]),
            "partner_user_id": value["PartnerUserId"],
            "partner_transaction_id": value["PartnerTransactionId"],
            "transaction_type": value["TransactionType"],
            "amount": amount,
            "tax_amount": tax,
            "status": None if response is None else response["status"],
            "error": record["error"],
            "authorization": record["request"]["headers"]["Authorization"].removeprefix("Bearer "),
        }
        key = tuple(accept.values())
        if key in seen:
            collapsed += 1
            continue
        seen.add(key)
        loaded.append(accept)
    return loaded, rejects, collapsed


# --------------------------------------------------------------------------- oracle


def oracle(s: CashbackScenario, makes: list[dict], accepts: list[dict]) -> set[tuple]:
    """Spec 7.2, read literally, as a second opinion on the generator's bookkeeping."""
    makes = [m for m in makes if m["sent_at"] <= s.cutoff]
    accepts = [a for a in accepts if a["logged_at"] <= s.cutoff]
    made, accepted = defaultdict(list), defaultdict(list)
    starts: dict[str, datetime] = {}
    for m in sorted(makes, key=lambda m: m["sent_at"]):
        made[m["cashback_id"], m["transaction_type"]].append(m)
        starts.setdefault(m["cashback_id"], m["sent_at"])
    for a in sorted(accepts, key=lambda a: a["logged_at"]):
        accepted[a["cashback_id"], a["transaction_type"]].append(a)
        starts.setdefault(a["cashback_id"], a["logged_at"])  # no make: its own time
    paid = {cid for (cid, t), accs in accepted.items() if t == 1 and has_200(accs)}
    found = set()

    def add(check: str, cid: str, ttype: int, user: str, amount: Decimal) -> None:
        found.add((check, cid, ttype, user, amount.quantize(Decimal("0.00000001"))))

    for (cid, ttype), accs in accepted.items():
        if (cid, ttype) not in made and s.window_from <= starts[cid] < s.window_to:
            add("cashback_unknown", cid, ttype, accs[0]["partner_user_id"], accs[0]["amount"])
    for (cid, ttype), ms in made.items():
        if not s.window_from <= starts[cid] < s.window_to:
            continue
        make, user, accs = ms[0], ms[0]["partner_user_id"], accepted.get((cid, ttype), [])
        if not accs:
            if s.cutoff - make["sent_at"] >= DEADLINE + s.grace:
                add("cashback_missing_accept", cid, ttype, user, make["amount"])
            continue
        if accs[0]["logged_at"] - make["sent_at"] > DEADLINE:
            add("cashback_late_accept", cid, ttype, user, make["amount"])
        if not any(a["error_code"] in (200, 103804) for a in accs):
            add("cashback_rejected", cid, ttype, user, make["amount"])
        if any(a["partner_user_id"] != user for a in accs):
            add("cashback_user_mismatch", cid, ttype, user, make["amount"])
        successes, seen = [], set()  # the first 200 of each PartnerTransactionId
        for a in accs:
            if a["error_code"] == 200 and a["partner_transaction_id"] not in seen:
                seen.add(a["partner_transaction_id"])
                successes.append(a)
        for a in successes:
            if a["amount"] != make["amount"]:
                add("cashback_amount_mismatch", cid, ttype, user, a["amount"] - make["amount"])
            elif a["tax_amount"] != make["tax_amount"]:
                difference = (a["tax_amount"] or 0) - (make["tax_amount"] or 0)
                add("cashback_amount_mismatch", cid, ttype, user, difference)
        if ttype == 1 and len(successes) > 1:
            extra = sum(a["amount"] for a in successes[1:])
            add("cashback_paid_twice", cid, ttype, user, extra)
        if ttype == -1 and successes and cid not in paid:
            add("cashback_cancel_unpaid", cid, ttype, user, successes[0]["amount"])
    return found


def has_200(accepts: list[dict]) -> bool:
    return any(a["error_code"] == 200 for a in accepts)


def write_all(s: CashbackScenario, folder: Path, **options) -> tuple:
    make = write_make_csv(s, folder / "make.csv.gz", gzip=True, bom=True, crlf=True,
                          shuffle_columns=True, dirty=True, dup_rows=3, **options)  # fmt: skip
    accept = write_accept_jsonl(s, folder / "accept.jsonl.gz", gzip=True, dirty=True, dup_lines=4)
    return make, accept


# --------------------------------------------------------------------------- tests


def test_every_check_is_expected(scenario):
    assert set(scenario.counts()) == set(CHECKS)
    assert all(count >= 2 for count in scenario.counts().values()), scenario.counts()
    small = simulate_cashback(seed=7, cashbacks=60)
    assert all(count >= 1 for count in small.counts().values()), small.counts()
    assert simulate_cashback(defects=False).expected == []


def test_same_seed_same_bytes(tmp_path):
    written = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        s = simulate_cashback(seed=seed, cashbacks=80)
        make, accept = write_all(s, tmp_path / name)
        parquet = write_make_parquet(s, tmp_path / name / "make.parquet")
        written.append([p.path.read_bytes() for p in (make, accept, parquet)])
    assert written[0] == written[1]
    assert written[0][0] != written[2][0] and written[0][1] != written[2][1]


def test_the_oracle_agrees_with_the_expected_findings(scenario, tmp_path):
    make, accept = write_all(scenario, tmp_path)
    makes, make_rejects, make_collapsed = read_makes(make.path)
    accepts, accept_rejects, accept_collapsed = read_accepts(accept.path)
    assert (make_rejects, make_collapsed) == (make.rejects, make.collapsed)
    assert (accept_rejects, accept_collapsed) == (accept.rejects, accept.collapsed)
    assert oracle(scenario, makes, accepts) == scenario.expected_set()


@pytest.mark.parametrize("seed", range(6))
def test_the_oracle_agrees_for_other_seeds_and_sizes(seed, tmp_path):
    s = simulate_cashback(seed=seed, cashbacks=40 + 30 * seed)
    make, accept = write_all(s, tmp_path)
    expected = s.expected_set()
    assert oracle(s, read_makes(make.path)[0], read_accepts(accept.path)[0]) == expected


def test_tax_off_scenario(tmp_path):
    s = simulate_cashback(seed=3, tax=False)
    assert all(m["tax_amount"] is None for m in s.makes)
    taxed = {a["cashback_id"] for a in s.accepts if a["tax_amount"] is not None}
    mismatched = {f.cashback_id for f in s.expected if f.check == "cashback_amount_mismatch"}
    assert taxed and taxed <= mismatched
    make, accept = write_all(s, tmp_path, with_tax_column=False)
    assert "tax_amount" not in read_text(make.path).splitlines()[0]
    found = oracle(s, read_makes(make.path)[0], read_accepts(accept.path)[0])
    assert found == s.expected_set()
    with pytest.raises(ValueError, match="tax=False"):
        write_make_csv(simulate_cashback(), tmp_path / "x.csv", with_tax_column=False)


def test_files_read_back_exactly(scenario, tmp_path):
    make = write_make_csv(scenario, tmp_path / "make.csv")
    accept = write_accept_jsonl(scenario, tmp_path / "accept.jsonl")
    assert (make.rows_in, accept.rows_in) == (len(scenario.makes), len(scenario.accepts))
    lines = (tmp_path / "make.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(MAKE_COLUMNS)
    fields = list(MAKE_COLUMNS)
    makes = read_makes(make.path)[0]
    assert makes == [{k: m[k] for k in fields} for m in scenario.makes]
    rows = list(csv.DictReader(lines))
    assert [r["amount"] for r in rows] == [format(m["amount"], "f") for m in scenario.makes]
    keys = list(read_accepts(accept.path)[0][0])
    assert read_accepts(accept.path)[0] == [{k: a[k] for k in keys} for a in scenario.accepts]
    # The literals really vary: strings, numbers, exponent form; ids stay text.
    text = accept.path.read_text(encoding="utf-8")
    assert re.search(r'"Amount": "\d+(\.\d+)?"', text)
    assert re.search(r'"Amount": \d+\.\d+[,}]', text)
    assert re.search(r'"(Tax)?Amount": \d(\.\d+)?e-\d\d[,}]', text)
    assert re.search(r'"CashbackId": \d+,', text)
    users = {m["partner_user_id"] for m in scenario.makes}
    assert {"0042", "42"} <= users
    assert any(a["status"] is None and a["error"] for a in scenario.accepts)
    sent_at = [row["sent_at"] for row in rows]
    assert any(t.isdigit() for t in sent_at) and any(t.endswith("+01:00") for t in sent_at)


def test_parquet_reads_back_exactly(scenario, tmp_path):
    result = write_make_parquet(scenario, tmp_path / "make.parquet")
    rows = pq.read_table(result.path).to_pylist()
    assert result.rows_in == len(rows) == len(scenario.makes)
    for row, make in zip(rows, scenario.makes, strict=True):
        assert row["amount"] == make["amount"] and row["tax_amount"] == make["tax_amount"]
        assert row["sent_at"] == make["sent_at"]
        assert (row["cashback_id"], row["partner_user_id"]) == (
            make["cashback_id"],
            make["partner_user_id"],
        )


def test_dirty_lines_are_where_the_result_says(scenario, tmp_path):
    make = write_make_csv(scenario, tmp_path / "make.csv", dirty=True, dup_rows=2)
    accept = write_accept_jsonl(scenario, tmp_path / "accept.jsonl", dirty=True, dup_lines=2)
    make_lines = make.path.read_text(encoding="utf-8").splitlines()
    assert make.rows_in == len(make_lines) - 1 == len(scenario.makes) + 2 + 2
    for number, reason in make.rejects:
        cells = next(csv.reader([make_lines[number - 1]]))
        if reason == "short":
            assert len(cells) < len(MAKE_COLUMNS)
        else:
            assert reason == "amount" and cells[MAKE_COLUMNS.index("amount")] == "abc"
    lines = accept.path.read_text(encoding="utf-8").splitlines()
    assert accept.rows_in == len(lines) == len(scenario.accepts) + 5 + 2
    reasons = sorted(reason for _, reason in accept.rejects)
    assert reasons == ["amount", "cashback_id", "json", "json", "logged_at"]
    for number, reason in accept.rejects:
        line = lines[number - 1]
        if reason == "json":
            with pytest.raises(ValueError):
                json.loads(line)
            assert any(token in line for token in accept.secret_values)
        elif reason == "amount":
            assert '"Amount": "12,5"' in line
        elif reason == "cashback_id":
            assert "CashbackId" not in line
        else:
            assert '"loggedAt": "2026-11-22T25:61:00Z"' in line


def test_every_token_written_is_a_listed_secret(scenario, tmp_path):
    accept = write_accept_jsonl(scenario, tmp_path / "accept.jsonl", dirty=True)
    text = accept.path.read_text(encoding="utf-8")
    written = set(re.findall(r'"Authorization": "Bearer ([^"]+)"', text))
    assert written == set(accept.secret_values) and len(written) > 1
    assert all(len(token) >= 20 for token in written)


def test_fixture_set_and_command_line(tmp_path):
    command = [sys.executable, "-m", "simulate.cashback", "--out", str(tmp_path / "a")]
    done = subprocess.run(
        [*command, "--seed", "11", "--cashbacks", "60"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "1"},  # no dependence on set or dict hashing
        check=True,
        cwd=Path(__file__).resolve().parent.parent,  # simulate/ is beside reconcile/
    )
    assert "cashback_paid_twice" in done.stdout
    written = write_cashback_fixture_set(tmp_path / "b", seed=11, cashbacks=60)
    for name in ("make.csv", "accept.jsonl", "expected.json"):
        first = (tmp_path / "a" / "cashback" / name).read_bytes()
        assert first == (tmp_path / "b" / "cashback" / name).read_bytes()
    document = json.loads(written["expected"].read_text(encoding="utf-8"))
    s = simulate_cashback(seed=11, cashbacks=60)
    findings = {
        (f["check"], f["cashback_id"], f["transaction_type"], f["user_id"], Decimal(f["amount"]))
        for f in document["findings"]
    }
    assert findings == s.expected_set()
    assert document["counts"] == s.counts()
    accept = document["inputs"]["accept.jsonl"]
    assert accept["rows_in"] == accept["loaded"] + accept["rejected"] + accept["collapsed"]
    assert document["cli_args"][:2] == ["--from", "2026-11-22T00:00:00.000Z"]
