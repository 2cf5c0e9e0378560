"""Small pure functions: time and duration parsing, money text, CSV and secret safety,
and a check read from its SQL file."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from reconcile import checks
from reconcile.errors import InputError
from reconcile.load import redact
from reconcile.report import safe_cell
from reconcile.text import money
from reconcile.window import make_window, parse_duration, parse_instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("0", 0)],
)
def test_durations(text, expected):
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "1x", "h", "-1h", "1.5h", "1h 30m"])
def test_bad_durations_are_input_errors(text):
    with pytest.raises(InputError, match="--grace"):
        parse_duration(text)


def test_instants_are_normalised_to_utc():
    expected = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert parse_instant("2026-11-22T10:00:00+01:00", "--cutoff") == expected
    assert parse_instant("2026-11-22T09:00:00Z", "--cutoff") == expected
    assert parse_instant("2026-11-22T09:00:00", "--cutoff") == expected
    assert parse_instant(str(int(expected.timestamp() * 1000)), "--cutoff") == expected


def test_date_window_is_the_utc_day():
    window = make_window(day="2026-11-22", start=None, end=None, cutoff=None, grace="1h")
    assert window.start == datetime(2026, 11, 22, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 23, tzinfo=UTC)
    assert window.label == "2026-11-22"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"day": "2026-11-22", "start": "2026-11-22T00:00:00Z"}, "cannot be combined"),
        ({"start": "2026-11-22T00:00:00Z"}, "go together"),
        ({"start": "2026-11-23T00:00:00Z", "end": "2026-11-22T00:00:00Z"}, "must be after"),
        ({"day": "22/11/2026"}, "is not a date"),
    ],
)
def test_contradictory_windows_are_refused(kwargs, message):
    options = {"day": None, "start": None, "end": None, "cutoff": None, "grace": "0"} | kwargs
    with pytest.raises(InputError, match=message):
        make_window(**options)


@pytest.mark.parametrize(
    ("value", "text"),
    [("10.5", "10.50"), ("100", "100.00"), ("0.00001", "0.00001"), ("1E-8", "0.00000001"),
     ("276120324.67508337", "276120324.67508337"), ("0E-8", "0.00"), ("-5.2", "-5.20")],
)  # fmt: skip
def test_money_text_is_exact(value, text):
    assert money(Decimal(value)) == text


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1+2", "'+1+2"), ("-cmd", "'-cmd"),
     ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("  =1", "'  =1"), ("-5.20", "-5.20"),
     ("4178696881", "4178696881"), ("plain text", "plain text")],
)  # fmt: skip
def test_csv_cells_never_run_as_formulas(cell, written):
    assert safe_cell(cell) == written


def test_secrets_are_redacted_even_in_a_truncated_line():
    line = '{"request": {"headers": {"X-Sign": "c4d62f77", "x-request-id": "5a06"}, "a": 1}'
    assert "c4d62f77" not in redact(line)
    assert '"X-Sign": "[redacted]"' in redact(line)
    cut = '{"request": {"headers": {"X-Sign": "c4d62f77cdfaadb6690b'
    assert "c4d62f" not in redact(cut)
    assert "tok123" not in redact('{"headers": {"Authorization": "Bearer tok123"}}')
    assert "tok123" not in redact("error: sent Authorization: Bearer tok123 and failed")


def test_a_check_is_read_from_the_header_of_its_sql_file(tmp_path):
    path = tmp_path / "stale_session.sql"
    path.write_text(
        "-- check: stale_session\n-- severity: medium\n-- title: Booking on a closed session\n"
        "-- meaning: A booking arrived after the provider\n--   closed the game session.\n"
        "-- spec: section 4, row 14\n--\n-- what it does, for people\nSELECT 1\n"
    )
    check = checks.read_check("provider", path)
    assert check == checks.Check(
        "stale_session", "medium", "Booking on a closed session",
        "A booking arrived after the provider closed the game session.", "provider",
        "section 4, row 14", "checks/stale_session",
    )  # fmt: skip
    assert check.spec_order == ((4,), 14)


def test_a_check_file_without_a_whole_header_is_refused(tmp_path):
    path = tmp_path / "stale_session.sql"
    path.write_text("-- check: stale_session\n-- title: Booking on a closed session\nSELECT 1\n")
    with pytest.raises(ValueError) as refused:
        checks.read_check("provider", path)
    assert str(refused.value) == (
        f"{path}: the header needs check, severity, title, meaning, spec (check = the file's "
        "name, severity one of critical, high, medium, low)"
    )


def test_every_normalise_file_is_written_out_from_its_copy_columns():
    from reconcile.load import KINDS, normalise_sql

    for kind in KINDS.values():
        text = normalise_sql(kind)
        assert "{{" not in text and "}}" not in text, kind.name
        assert f"hash({', '.join(kind.copy_columns)}) AS copy_hash" in text, kind.name
        assert text.count("INSERT INTO collapsed") == 2, kind.name


def _typed(query: str, text: str | None) -> list[tuple]:
    """``query`` over ``t`` = text, with the parsing macros of ``sql/macros.sql``."""
    import duckdb

    from reconcile.resources import sql

    con = duckdb.connect()
    con.execute(sql("macros"))
    return con.execute(f"SELECT {query} FROM (SELECT ?::VARCHAR AS t)", [text]).fetchall()


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [(" a1 ", "a1"), ("\u3000a1\xa0", "a1"), ("a\x001", "a1"), ("\ufeff123", "123"),
     ("a b", "a b"), ("\ta\t", "\ta\t"), (" ", None), ("", None), ("\x00", None), (None, None)],
)  # fmt: skip
def test_an_id_loses_blanks_nul_and_byte_order_marks_only(text, cleaned):
    # trim runs only where a blank may stand: U+0020, or beyond ASCII (U+3000, U+00A0)
    assert _typed("clean_id(t)", text) == [(cleaned,)]


@pytest.mark.parametrize(
    ("text", "value", "problem", "missing"),
    [("12.5", "12.50000000", None, False), (" 12.5 ", "12.50000000", None, False),
     ("1e-05", "0.00001000", None, False), ("0.0000000000", "0.00000000", None, False),
     ("1.123456789", None, "has more than 8 decimal places", False),
     ("1e-400", None, "has more than 8 decimal places", False),
     ("12,5", None, "is not a number", False), ("1_000", None, "is not a number", False),
     ("1234567890123456789012345678901.5", None, "is too large", False),
     ("", None, None, True), (" ", None, None, True), (None, None, None, True)],
)  # fmt: skip
def test_money_is_typed_once_and_its_problem_read_from_the_typed_value(
    text, value, problem, missing
):
    m = "parse_money(t)"
    row = _typed(f"CAST({m} AS VARCHAR), money_problem_of(t, {m}), absent(t, {m})", text)
    assert row == [(value, problem, missing)]


@pytest.mark.parametrize(
    ("text", "problem", "missing"),
    [("2026-11-22T10:00:00Z", None, False), ("1795298400964", None, False),
     (" 1795298400964 ", None, False), ("1795298400", None, False),
     ("17952984009640", "is not an epoch in seconds or milliseconds", False),
     ("1999-12-31T23:59:59Z", "is outside the years 2000-2099", False),
     ("soon", "is not a time", False), ("\x00", None, True), (None, None, True)],
)  # fmt: skip
def test_a_time_is_typed_once_and_its_problem_read_from_the_typed_value(text, problem, missing):
    row = _typed("time_problem_of(t, parse_time(t)), absent(t, parse_time(t))", text)
    assert row == [(problem, missing)]
