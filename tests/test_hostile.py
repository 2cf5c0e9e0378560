"""Hostile input and faults (issue 11): nothing lost, nothing leaked, one clear answer.

Every case starts from a small day the generator writes, adds one hostile
thing, and asserts what the user must get: a reject with a reason, or exit 2
with one line, or exit 3 with the store unchanged, and no secret anywhere.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import records
from conftest import read_csv, run_cli

from simulate.provider import write_fixture_set

DAY = ["--date", "2026-11-22", "--cutoff", "2026-11-23T01:00:00Z", "--grace", "1h"]


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("day")
    write_fixture_set(folder, bets=60)
    return folder


def inputs(day: Path, *extra_provider: Path) -> list:
    provider = [str(day / "provider" / "*.jsonl*"), *map(str, extra_provider)]
    args = [arg for p in provider for arg in ("--provider", p)]
    return ["run", *args, "--ledger", day / "ledger" / "*.csv", *DAY]


def one_line_error(result, *words: str) -> None:
    assert result.err.count("\n") == 1 and result.err.startswith("reconcile: "), result.err
    for word in words:
        assert word in result.err, result.err


# ---------------------------------------------------------------------------
# 1. --out replaces only what is ours


def unrelated_folder(path: Path) -> dict[str, bytes]:
    path.mkdir(parents=True, exist_ok=True)
    (path / "notes.txt").write_bytes(b"mine")
    return snapshot(path)


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_an_empty_out_is_refused(day, tmp_path):
    result = run_cli([*inputs(day), "--out", ""], 2)
    one_line_error(result, "--out")


def test_out_dot_in_a_users_folder_is_refused_and_left_alone(day, tmp_path, monkeypatch):
    before = unrelated_folder(tmp_path / "home")
    monkeypatch.chdir(tmp_path / "home")
    result = run_cli([*inputs(day), "--out", "."], 2)
    one_line_error(result, "not an earlier report")
    assert snapshot(tmp_path / "home") == before


def test_out_holding_the_store_is_refused_even_if_it_looks_like_a_report(day, tmp_path):
    out = tmp_path / "reports"
    run_cli([*inputs(day), "--out", out], 1)
    db = out / "recon.duckdb"
    run_cli([*inputs(day), "--out", tmp_path / "elsewhere", "--db", db], 1)
    before = snapshot(out)
    result = run_cli([*inputs(day), "--out", out, "--db", db], 2)
    one_line_error(result, "recon.duckdb", "folder of its own")
    assert snapshot(out) == before


def test_out_holding_an_input_is_refused(day, tmp_path):
    result = run_cli([*inputs(day), "--out", day], 2)
    one_line_error(result, "folder of its own")
    assert (day / "ledger" / "ledger.csv").exists()


def test_an_earlier_report_is_replaced_and_an_empty_folder_used(day, tmp_path):
    out = tmp_path / "night"
    out.mkdir()
    run_cli([*inputs(day), "--out", out], 1)
    assert (out / ".reconcile-report").exists()
    run_cli([*inputs(day), "--out", out], 1)
    assert read_csv(out / "findings.csv")


def test_out_below_a_regular_file_is_refused(day, tmp_path):
    (tmp_path / "plain").write_text("x")
    result = run_cli([*inputs(day), "--out", tmp_path / "plain" / "night"], 2)
    one_line_error(result, "is a file")


def test_leftovers_of_a_killed_run_are_removed(day, tmp_path):
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    leftover = tmp_path / f".night.tmp-{dead}"
    leftover.mkdir()
    (leftover / "report.html").write_text("half")
    alive = tmp_path / f".night.tmp-{os.getppid()}"
    alive.mkdir()
    run_cli([*inputs(day), "--out", tmp_path / "night"], 1)
    assert not leftover.exists()
    assert alive.exists()  # another live run's staging folder is not ours to remove


# ---------------------------------------------------------------------------
# Hand-made hostile records, added to the generated day

NOON_MS = 1795348800000  # 2026-11-22T12:00:00Z
SIGN = "5e" * 32  # an HMAC-SHA256 in hex, the form of X-Sign


def counterparty(day: Path) -> str:
    first = (day / "provider" / "calls.jsonl").read_text(encoding="utf-8").splitlines()[0]
    return json.loads(first)["request"]["headers"]["X-Counterparty-Id"]


def call_line(cp: str, bet: str, *, op="pay-in", stamp: object = NOON_MS, body=None,
              sign_key='"X-Sign"', error="null", response=None) -> str:  # fmt: skip
    """One provider call as the log writes it; ``body`` is the JSON text of the body."""
    body = body if body is not None else f'{{"betId": "{bet}", "betAmount": 10.5}}'
    response = (
        response
        or '{"status": 200, "body": {"transactionId": "t-'
        + bet
        + '", "balance": 100, "_responseCode": 1}}'
    )
    return (
        f'{{"loggedAt": null, "request": {{"method": "POST", "path": "/v1/sessions/s1/bets/{op}",'
        f' "headers": {{"X-Counterparty-Id": "{cp}", "X-Timestamp": {json.dumps(stamp)},'
        f' "X-Request-Id": "req-{bet}", {sign_key}: "{SIGN}"}}, "body": {body}}},'
        f' "response": {response}, "error": {error}}}'
    )


def hostile_file(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def reasons_by_line(out: Path, path: Path) -> dict[int, str]:
    return {int(r["line"]): r["reason"] for r in read_csv(out / "rejects.csv")
            if r["file"] == str(path.resolve())}  # fmt: skip


UNREADABLE = [  # (body or stamp override, expected reason)
    ({"body": '{"betId": "h1"}'}, "missing betAmount"),
    ({"body": '{"betId": "h2", "betAmount": ""}'}, "missing betAmount"),
    ({"body": '{"betId": "h3", "betAmount": 10.0000000000000000001}'}, "more than 8 decimal"),
    ({"body": '{"betId": "h4", "betAmount": 1e-19}'}, "more than 8 decimal"),
    ({"body": '{"betId": "h5", "betAmount": 1e-400}'}, "more than 8 decimal"),
    ({"body": '{"betId": "h6", "betAmount": -5}'}, "bet_amount '-5' is negative"),
    ({"op": "pay-out", "body": '{"betId": "h7", "winAmount": -1.5}'}, "is negative"),
    ({"op": "pay-out", "body": '{"betId": "h8"}'}, "missing winAmount"),
    ({"stamp": "1795348800000000"}, "is not an epoch in seconds or milliseconds"),
    ({"stamp": "0000-01-01T00:00:00Z"}, "time"),
    ({"stamp": "10000-01-01T00:00:00Z"}, "time"),
    ({"stamp": "1999-12-31T23:59:59Z"}, "is outside the years 2000-2099"),
]


@pytest.fixture(scope="module")
def hostile_night(day, tmp_path_factory):
    """The generated day plus one file of unreadable records, in a store."""
    folder = tmp_path_factory.mktemp("hostile")
    cp = counterparty(day)
    lines = [call_line(cp, f"h{i}", **override) for i, (override, _) in enumerate(UNREADABLE, 1)]
    path = hostile_file(folder, "hostile.jsonl", lines)
    db = folder / "recon.duckdb"
    result = run_cli([*inputs(day, path), "--db", db, "--out", folder / "out"], 1)
    return {"path": path, "db": db, "out": folder / "out", "result": result, "folder": folder}


def test_unreadable_values_are_rejects_with_a_reason(hostile_night):
    reasons = reasons_by_line(hostile_night["out"], hostile_night["path"])
    for line, (_, expected) in enumerate(UNREADABLE, 1):
        assert expected in reasons.get(line, "loaded"), (line, reasons.get(line))


def test_a_store_with_rejected_times_still_traces_and_runs(hostile_night, day):
    result = run_cli(["trace", "--db", hostile_night["db"], "--user", "u1001"], {0, 1})
    assert "Traceback" not in result.err
    out = hostile_night["folder"] / "no-cutoff"
    args = [a for a in inputs(day) if a not in ("--cutoff", "2026-11-23T01:00:00Z")]
    run_cli([*args, "--db", hostile_night["db"], "--out", out], {0, 1})


def test_a_rerun_shows_the_nights_rejects_again(hostile_night, day):
    out = hostile_night["folder"] / "again"
    run_cli([*inputs(day, hostile_night["path"]), "--db", hostile_night["db"], "--out", out], 1)
    again = reasons_by_line(out, hostile_night["path"])
    assert again == reasons_by_line(hostile_night["out"], hostile_night["path"])
    assert len(again) == len(UNREADABLE)


# A field every record must have, left blank: one reject naming it (each file holds
# one complete record, loaded, and one record per blank field).
LEDGER_ROW = {"transaction_id": "t1", "created_at": "2026-11-22T10:00:00Z",
              "counterparty_id": "cp1", "session_id": "s1", "user_id": "u1", "currency": "EUR",
              "type": "PAYIN", "bet_id": "b1", "amount": "10", "balance_before": "100",
              "balance_after": "90", "request_id": "r1"}  # fmt: skip
SNAPSHOT_ROW = {"user_id": "u1", "currency": "EUR", "balance": "90",
                "as_of": "2026-11-22T12:00:00Z"}  # fmt: skip
MAKE_ROW = {"cashback_id": "7", "partner_user_id": "u1", "transaction_type": "1",
            "amount": "5", "currency": "EUR", "sent_at": "2026-11-22T10:00:00Z"}  # fmt: skip
BLANK = {
    "ledger": ["transaction_id", "created_at", "type", "user_id", "amount", "balance_before",
               "balance_after"],
    "balances": ["user_id", "balance", "as_of"],
    "make": ["cashback_id", "partner_user_id", "transaction_type", "amount", "sent_at"],
}  # fmt: skip


def blanked(row: dict, fields: list[str]) -> list[dict]:
    return [row, *({**row, field: ""} for field in fields)]


def test_a_blank_required_field_is_a_reject_naming_it(tmp_path):
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    call = records.call_line("pay-in", "b1", at, cp="cp1", rid="r1", tx="t1", balance="90",
                             betAmount="10")  # fmt: skip
    provider = records.write_lines(tmp_path / "calls.jsonl", [call])
    files = {
        "ledger": (records.LEDGER_COLUMNS, blanked(LEDGER_ROW, BLANK["ledger"])),
        "balances": (records.BALANCE_COLUMNS, blanked(SNAPSHOT_ROW, BLANK["balances"])),
        "make": (records.MAKE_COLUMNS, blanked(MAKE_ROW, BLANK["make"])),
    }
    paths = {}
    for kind, (columns, rows) in files.items():
        paths[kind] = tmp_path / f"{kind}.csv"
        paths[kind].write_text(records.csv_text(columns, rows), encoding="utf-8")
    accept = json.loads(records.accept_line("7", 1, "u1", at, amount="5"))
    body = accept["request"]["body"]
    accepts = [accept, accept | {"loggedAt": ""},
               {**accept, "request": {**accept["request"], "body": {
                   k: v for k, v in body.items() if k != "ErrorCode"}}},
               *({**accept, "request": {**accept["request"], "body": {**body, "Value": {
                   k: v for k, v in body["Value"].items() if k != key}}}}
                 for key in ("CashbackId", "TransactionType"))]  # fmt: skip
    paths["accept"] = records.write_lines(tmp_path / "accept.jsonl", map(json.dumps, accepts))

    run_cli(["run", "--provider", provider, "--ledger", paths["ledger"], "--balances",
             paths["balances"], *DAY, "--out", tmp_path / "run"], {0, 1})  # fmt: skip
    run_cli(["cashback", "--make", paths["make"], "--accept", paths["accept"], *DAY,
             "--out", tmp_path / "cashback"], {0, 1})  # fmt: skip
    for kind, out in (("ledger", "run"), ("balances", "run"), ("make", "cashback")):
        reasons = sorted(reasons_by_line(tmp_path / out, paths[kind]).values())
        assert reasons == sorted(f"missing {field}" for field in BLANK[kind]), kind
    assert sorted(reasons_by_line(tmp_path / "cashback", paths["accept"]).values()) == [
        "missing ErrorCode", "missing Value.CashbackId", "missing Value.TransactionType",
        "missing loggedAt"]  # fmt: skip


def test_epoch_seconds_are_read_as_seconds(day, tmp_path):
    cp = counterparty(day)
    path = hostile_file(tmp_path, "seconds.jsonl", [call_line(cp, "sec1", stamp=NOON_MS // 1000)])
    db = tmp_path / "recon.duckdb"
    run_cli([*inputs(day, path), "--db", db, "--out", tmp_path / "out"], 1)
    assert reasons_by_line(tmp_path / "out", path) == {}
    story = json.loads(run_cli(["trace", "--db", db, "--bet", "sec1", "--format", "json"], 0).out)
    assert "2026-11-22T12:00:00" in json.dumps(story)


# ---------------------------------------------------------------------------
# 4. Secrets, recognised by what they are


def test_no_secret_reaches_any_output_or_the_store(day, tmp_path):
    cp = counterparty(day)
    token = "tok-SECRET-4711"
    lines = [
        call_line(cp, "s1", sign_key='"X\\u002dSign"', body='{"betId": "s1"}'),  # a reject
        f"X-Sign: plain-secret-0042 Authorization: Bearer {token}",  # a header dump
        call_line(cp, "s3", response="null", error=json.dumps(f"upstream: Bearer {token}")),
    ]
    jsonl = hostile_file(tmp_path, "secrets.jsonl", lines)
    header = (
        "timestamp,request_id,counterparty_id,session_id,operation,bet_id,game_round_id,"
        "bet_amount,win_amount,win_odd,http_status,response_code,transaction_id,"
        "bet_transaction_id,win_transaction_id,balance,error,x_sign"
    )
    short_row = f"{NOON_MS},r9,{cp},s9,pay-in,c9,g9,10,,,200,1,t9,,,100,{SIGN}"  # a cell short
    flat = hostile_file(tmp_path, "secrets.csv", [header, short_row])
    db = tmp_path / "recon.duckdb"
    out = tmp_path / "out"
    result = run_cli([*inputs(day, jsonl, flat), "--db", db, "--out", out], 1)
    story = run_cli(["trace", "--db", db, "--bet", "s3"], 0)
    secrets = [SIGN, "plain-secret-0042", token]
    texts = {name: (out / name).read_text(encoding="utf-8") for name in os.listdir(out)}
    texts |= {"stdout": result.out + result.err, "trace": story.out, "store": store_text(db)}
    for where, text in texts.items():
        assert not [s for s in secrets if s in text], where
    assert len(reasons_by_line(out, jsonl)) == 2 and len(reasons_by_line(out, flat)) == 1
    assert "[redacted]" in story.out


def store_text(db: Path) -> str:
    """Every text value the store holds, as one string."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR'"
        ).fetchall()
        return "\n".join(
            str(value)
            for table, column in columns
            for (value,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall()
        )
    finally:
        con.close()


# ---------------------------------------------------------------------------
# 5. Formula injection through a line break


def test_a_cell_with_a_bare_cr_is_quoted_and_each_line_neutralised(day, tmp_path):
    cp = counterparty(day)
    bet = "cr1\\r=1+1"  # JSON text: the id holds a CR, then a formula
    path = hostile_file(tmp_path, "cr.jsonl", [call_line(cp, bet, stamp=NOON_MS - 3_600_000)])
    out = tmp_path / "out"
    run_cli([*inputs(day, path), "--out", out], 1)
    raw = (out / "findings.csv").read_bytes()
    assert b'"cr1\r\'=1+1"' in raw
    assert b"\r=1+1" not in raw.replace(b"\r'=1+1", b"")


# ---------------------------------------------------------------------------
# 6. The real amount, not a nested one of the same name


def test_a_nested_amount_of_the_same_name_does_not_win(day, tmp_path):
    cp = counterparty(day)
    lines = [  # n1: the nested 10 must not stand in for the real 19-place amount
        call_line(
            cp,
            "n1",
            body='{"betId": "n1", "promo": {"betAmount": 10}, "betAmount": 10.0000000000000000001}',
        ),
        call_line(
            cp, "n2", body='{"promo": {"betAmount": 99.5}, "betId": "n2", "betAmount": 10.25}'
        ),
    ]
    path = hostile_file(tmp_path, "nested.jsonl", lines)
    db = tmp_path / "recon.duckdb"
    run_cli([*inputs(day, path), "--db", db, "--out", tmp_path / "out"], 1)
    assert list(reasons_by_line(tmp_path / "out", path)) == [1]
    story = json.loads(run_cli(["trace", "--db", db, "--bet", "n2", "--format", "json"], 0).out)
    assert [call["bet_amount"] for call in story["calls"]] == ["10.25"]


# ---------------------------------------------------------------------------
# 7. Valid CSV read as CSV


def ledger_lines(day: Path) -> list[str]:
    return (day / "ledger" / "ledger.csv").read_text(encoding="utf-8-sig").splitlines()


def run_with_ledger(day: Path, ledger: Path, out: Path) -> None:
    provider = ["--provider", day / "provider" / "*.jsonl*"]
    run_cli(["run", *provider, "--ledger", ledger, *DAY, "--out", out], 1)


def test_a_multi_line_quoted_cell_with_doubled_quotes_is_one_record(day, tmp_path):
    lines = ledger_lines(day)
    cells = lines[1].split(",")
    cells[3] = '"ses ""x""\nsion"'  # session_id: RFC 4180, a line break and quotes
    ledger = hostile_file(tmp_path, "ledger.csv", [lines[0], ",".join(cells), *lines[2:]])
    plain = hostile_file(tmp_path, "plain.csv", lines)
    run_with_ledger(day, ledger, tmp_path / "out")
    run_with_ledger(day, plain, tmp_path / "plain")
    shifted = {line - 1 if line > 2 else line: reason
               for line, reason in reasons_by_line(tmp_path / "out", ledger).items()}  # fmt: skip
    assert shifted == reasons_by_line(tmp_path / "plain", plain)


def test_a_ledger_with_lone_cr_line_ends_reads_as_with_lf(day, tmp_path):
    lines = ledger_lines(day)
    ledger = tmp_path / "mac.csv"
    ledger.write_bytes("\r".join(lines).encode() + b"\r")
    plain = hostile_file(tmp_path, "plain.csv", lines)
    run_with_ledger(day, ledger, tmp_path / "out")
    run_with_ledger(day, plain, tmp_path / "plain")
    assert reasons_by_line(tmp_path / "out", ledger) == reasons_by_line(tmp_path / "plain", plain)
    assert len(read_csv(tmp_path / "out" / "findings.csv")) == len(
        read_csv(tmp_path / "plain" / "findings.csv")
    )


# ---------------------------------------------------------------------------
# 8. Exit 2 and one line for options and files out of range


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--date", "9999-12-31", "outside the years 2000-2099"),
        ("--date", "1999-12-31", "outside the years 2000-2099"),
        ("--cutoff", "9999-12-31T23:59:59-01:00", "outside the years 2000-2099"),
        ("--cutoff", "17953488000000000", "is not a time"),
        ("--grace", "1000000000d", "longer than 366 days"),
        ("--tolerance", "1e999999", "below 1e30"),
        ("--tolerance", "0.000000001", "at most 8 decimal places"),
    ],
)
def test_an_option_out_of_range_is_one_line(day, tmp_path, option, value, words):
    args = [a for a in inputs(day)]
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    result = run_cli([*args, "--out", tmp_path / "out"], 2)
    one_line_error(result, option, words)
    assert not (tmp_path / "out").exists()


def broken_parquet(day: Path, folder: Path, how: str) -> Path:
    """The day's ledger as Parquet, then broken: ``garbage``, ``truncated``, ``corrupt``."""
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    header, *rows = csv.reader(ledger_lines(day))
    rows = [row for row in rows if len(row) == len(header)]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(header)})
    path = folder / f"{how}.parquet"
    pq.write_table(table, path, compression="snappy", use_dictionary=False)
    data = bytearray(path.read_bytes())
    if how == "garbage":
        data = bytearray(b"PAR1" + os.urandom(4096))
    elif how == "truncated":
        data = data[: len(data) // 2]
    else:  # the pages' compressed bytes scrambled, the footer intact
        middle = slice(len(data) // 4, len(data) // 2)
        data[middle] = bytes(len(data[middle]))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["garbage", "truncated", "corrupt"])
def test_a_broken_parquet_file_is_one_line_naming_it(day, tmp_path, how):
    path = broken_parquet(day, tmp_path, how)
    provider = ["--provider", day / "provider" / "*.jsonl*"]
    result = run_cli(["run", *provider, "--ledger", path, *DAY, "--out", tmp_path / "out"], 2)
    one_line_error(result, str(path), "not a readable Parquet file")


# ---------------------------------------------------------------------------
# 9. A usage error says how to fix it


def test_an_unquoted_glob_gets_a_hint(day, tmp_path):
    files = sorted((day / "provider").iterdir())
    ledger = day / "ledger" / "ledger.csv"
    args = ["run", "--provider", *files, "--ledger", ledger, *DAY, "--out", tmp_path / "out"]
    result = run_cli(args, 2)
    one_line_error(result, "unexpected extra argument", "quote a file pattern")


# ---------------------------------------------------------------------------
# 10. Ids without NUL or a byte-order mark; a trace that cannot drive the terminal


def test_nul_and_a_mid_file_bom_are_not_part_of_ids(day, tmp_path):
    cp = counterparty(day)
    lines = [
        call_line(cp, "z1\\u0000"),  # the JSON escape of NUL inside the id
        "\ufeff" + call_line(cp, "z2"),  # a BOM where a second file was appended
    ]
    path = hostile_file(tmp_path, "joined.jsonl", lines)
    db = tmp_path / "recon.duckdb"
    run_cli([*inputs(day, path), "--db", db, "--out", tmp_path / "out"], 1)
    assert reasons_by_line(tmp_path / "out", path) == {}
    for bet in ("z1", "z2"):
        story = json.loads(run_cli(["trace", "--db", db, "--bet", bet, "--format", "json"], 0).out)
        assert [call["bet_id"] for call in story["calls"]] == [bet]


def test_trace_shows_control_characters_as_escapes(day, tmp_path):
    cp = counterparty(day)
    bet = "esc\\u001b[2J\\u202e"  # clear the screen, then a right-to-left override
    path = hostile_file(tmp_path, "esc.jsonl", [call_line(cp, bet)])
    db = tmp_path / "recon.duckdb"
    run_cli([*inputs(day, path), "--db", db, "--out", tmp_path / "out"], 1)
    story = run_cli(["trace", "--db", db, "--bet", "esc\x1b[2J\u202e"], 0).out
    assert "\x1b" not in story and "\u202e" not in story
    assert "esc\\x1b[2J\\u202e" in story


# ---------------------------------------------------------------------------
# 3. A full disk: exit 3 means the store is as it was


def history_rows(db: Path) -> list[str]:
    lines = run_cli(["history", "--db", db], 0).out.splitlines()
    return [line for line in lines if line.strip()[:1].isdigit()]


def test_a_full_disk_before_the_commit_leaves_the_store_and_out_as_they_were(
    day, tmp_path, monkeypatch
):
    db, out = tmp_path / "recon.duckdb", tmp_path / "out"
    run_cli([*inputs(day), "--db", db, "--out", out], 1)
    before, report = history_rows(db), snapshot(out)

    def full(con):  # DuckDB's own words when the log cannot be written
        raise duckdb.IOException('Could not write file "recon.duckdb.wal": No space left on device')

    monkeypatch.setattr("reconcile.report.write_json", lambda *a: full(None))
    result = run_cli([*inputs(day), "--db", db, "--out", out, "--cutoff", "2026-11-23T02:00Z"], 3)
    one_line_error(result, "no space left on device", "store is unchanged")
    monkeypatch.undo()
    assert history_rows(db) == before and snapshot(out) == report


def test_a_full_disk_after_the_commit_keeps_the_run_and_publishes_its_report(
    day, tmp_path, monkeypatch
):
    db, out = tmp_path / "recon.duckdb", tmp_path / "out"
    run_cli([*inputs(day), "--db", db, "--out", out], 1)

    def full(con):
        raise duckdb.IOException('Could not write file "recon.duckdb": No space left on device')

    monkeypatch.setattr("reconcile.store.checkpoint", full)
    result = run_cli([*inputs(day), "--db", db, "--out", out, "--cutoff", "2026-11-23T02:00Z"], 1)
    assert "warning: the run is committed" in result.err
    monkeypatch.undo()
    rows = history_rows(db)
    assert len(rows) == 2 and "02:00" in rows[0]
    assert "2026-11-23T02:00" in (out / "summary.json").read_text(encoding="utf-8")
