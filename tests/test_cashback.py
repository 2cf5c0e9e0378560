"""``reconcile cashback`` end to end on generated cashback traffic (spec section 7).

simulate.cashback knows from its own simulation which findings each
injected defect must raise; findings.csv must equal that exactly.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import describe_difference, owed_of, read_csv, read_summary, run_cli

from simulate import cashback as sim


def cashback_keys(out: Path, owed: bool = False) -> set[tuple]:
    """findings.csv as the generator's keys; with ``owed``, plus spec 8's columns."""
    return {
        (
            r["check"],
            r["cashback_id"],
            int(r["transaction_type"]),
            r["user_id"] or None,
            Decimal(r["amount"]).quantize(Decimal("0.00000001")),
        )
        + (owed_of(r) if owed else ())
        for r in read_csv(out / "findings.csv")
    }


@pytest.fixture(scope="module")
def scenario():
    return sim.simulate_cashback(seed=5, cashbacks=200)


FORMS = ["csv+jsonl-dirty", "csv.gz-bom-crlf+jsonl.gz", "parquet+jsonl"]


def write_form(s, folder: Path, form: str) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    if form == "csv+jsonl-dirty":
        make = sim.write_make_csv(s, folder / "make.csv", dirty=True, dup_rows=2)
        accept = sim.write_accept_jsonl(s, folder / "accept.jsonl", dirty=True, dup_lines=3)
    elif form == "csv.gz-bom-crlf+jsonl.gz":
        make = sim.write_make_csv(s, folder / "make.csv.gz", gzip=True, bom=True, crlf=True,
                                  shuffle_columns=True)  # fmt: skip
        accept = sim.write_accept_jsonl(s, folder / "accept.jsonl.gz", gzip=True)
    else:
        make = sim.write_make_parquet(s, folder / "make.parquet")
        accept = sim.write_accept_jsonl(s, folder / "accept.jsonl")
    return {"--make": make, "--accept": accept}


def run_cashback(s, tmp_path: Path, form: str, extra=(), expect=1):
    written = write_form(s, tmp_path / "in", form)
    args = ["cashback", *s.cli_args(), "--out", tmp_path / "out", *extra]
    for option, result in written.items():
        args += [option, result.path]
    run_cli(args, expect=expect)
    return written, tmp_path / "out"


@pytest.mark.parametrize("form", FORMS)
def test_every_cashback_defect_is_found_and_nothing_else(scenario, tmp_path, form):
    written, out = run_cashback(scenario, tmp_path, form)
    actual = cashback_keys(out)
    assert actual == scenario.expected_set(), describe_difference(scenario.expected_set(), actual)
    owed = {f.owed() for f in scenario.expected}
    assert cashback_keys(out, owed=True) == owed, describe_difference(
        owed, cashback_keys(out, owed=True)
    )
    summary = read_summary(out)
    by_name = {Path(i["path"]).name: i for i in summary["inputs"]}
    for result in written.values():
        counts = by_name[Path(result.path).name]
        assert counts["rows_in"] == result.rows_in
        assert counts["rejected"] == len(result.rejects)
        assert counts["collapsed"] == result.collapsed
    assert set(summary["findings"]["by_check"]) == set(sim.CHECKS)


def test_normal_cashback_life_raises_nothing(tmp_path):
    calm = sim.simulate_cashback(seed=9, cashbacks=150, defects=False)
    _, out = run_cashback(calm, tmp_path, "csv+jsonl-dirty", expect=0)
    assert read_csv(out / "findings.csv") == []


def test_a_casino_without_tax(tmp_path):
    untaxed = sim.simulate_cashback(seed=3, cashbacks=150, tax=False)
    folder = tmp_path / "in"
    folder.mkdir()
    make = sim.write_make_csv(untaxed, folder / "make.csv", with_tax_column=False)
    accept = sim.write_accept_jsonl(untaxed, folder / "accept.jsonl")
    out = tmp_path / "out"
    run_cli(["cashback", *untaxed.cli_args(), "--make", make.path, "--accept", accept.path,
            "--out", out], expect=1)  # fmt: skip
    actual = cashback_keys(out)
    assert actual == untaxed.expected_set(), describe_difference(untaxed.expected_set(), actual)


def test_the_authorization_header_appears_in_no_output(scenario, tmp_path):
    written, out = run_cashback(scenario, tmp_path, "csv+jsonl-dirty")
    tokens = set(written["--accept"].secret_values)
    assert tokens
    for name in ("report.html", "findings.csv", "summary.json", "rejects.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert not [t for t in tokens if t in text], name
    rejects = read_csv(out / "rejects.csv")
    lines = {int(r["line"]) for r in rejects if r["file"].endswith("accept.jsonl")}
    assert lines == {line for line, _ in written["--accept"].rejects}
    assert any("[redacted]" in r["raw"] for r in rejects)


def test_findings_name_the_cashback_and_the_report_reads_as_cashback(scenario, tmp_path):
    _, out = run_cashback(scenario, tmp_path, "parquet+jsonl")
    header = (out / "findings.csv").read_text().splitlines()[0].split(",")
    for column in ("check", "severity", "cashback_id", "user_id", "amount", "detail"):
        assert column in header
    html = (out / "report.html").read_text()
    assert "Cashback reconciliation" in html and "Payments accepted" in html
    assert "open_bet" not in html  # only the cashback checks are listed


def test_cashback_shares_the_store_and_the_trace(scenario, tmp_path):
    db = tmp_path / "recon.duckdb"
    run_cashback(scenario, tmp_path, "csv+jsonl-dirty", extra=["--db", db])
    history = json.loads(run_cli(["history", "--db", db, "--format", "json"], 0).out)
    assert [r["kind"] for r in history["runs"]] == ["cashback"]
    for finding in {f.check: f for f in scenario.expected}.values():
        result = run_cli(["trace", "--db", db, "--cashback", finding.cashback_id,
                         "--format", "json"], expect=0)  # fmt: skip
        story = json.loads(result.out)
        makes = [m for m in scenario.makes if m["cashback_id"] == finding.cashback_id
                 and m["sent_at"] <= scenario.cutoff]  # fmt: skip
        accepts = [a for a in scenario.accepts if a["cashback_id"] == finding.cashback_id
                   and a["logged_at"] <= scenario.cutoff]  # fmt: skip
        assert len(story["makes"]) == len(makes)
        assert len(story["accepts"]) == len(accepts)
        assert finding.check in {f["check"] for f in story["findings"]}
    run_cli(["trace", "--db", db, "--cashback", "no-such-id"], expect=1)


def test_a_cashback_finding_has_its_first_make_time(scenario, tmp_path):
    """Spec section 9: a cashback's finding's ``occurred_at`` is its first make's
    sent_at, else (an accept with no make) its first accept's time."""
    _, out = run_cashback(scenario, tmp_path, "parquet+jsonl")

    def earliest(records: list[dict], column: str) -> dict[str, datetime]:
        times: dict[str, datetime] = {}
        for record in records:
            cashback = record["cashback_id"]
            times[cashback] = min(times.get(cashback, record[column]), record[column])
        return times

    first = earliest(scenario.accepts, "logged_at") | earliest(scenario.makes, "sent_at")
    rows = read_csv(out / "findings.csv")
    assert rows
    for row in rows:
        occurred = datetime.fromisoformat(row["occurred_at"].replace("Z", "+00:00"))
        assert occurred == first[row["cashback_id"]], row
