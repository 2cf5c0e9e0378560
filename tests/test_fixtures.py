"""The committed sample: regenerable by the generator, and the README's demo
command finds exactly what the sample's expected.json says."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import describe_difference, finding_keys, read_csv, run_cli

from simulate.cashback import write_cashback_fixture_set
from simulate.provider import write_fixture_set

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REGENERATE = (
    "python -c \"from simulate.provider import write_fixture_set as w; w('fixtures')\" && "
    "python -m simulate.cashback --out fixtures --seed 42 --cashbacks 60"
)


def expected_keys(document: dict, key_columns: tuple[str, ...]) -> set[tuple]:
    return {
        (
            f["check"],
            *(f[c] for c in key_columns),
            Decimal(f["amount"]).quantize(Decimal("0.00000001")),
        )
        for f in document["findings"]
    }


def test_the_fixtures_are_what_the_generator_makes(tmp_path):
    write_fixture_set(tmp_path)
    write_cashback_fixture_set(tmp_path)
    for committed in sorted(p for p in FIXTURES.rglob("*") if p.is_file()):
        fresh = tmp_path / committed.relative_to(FIXTURES)
        assert fresh.read_bytes() == committed.read_bytes(), (
            f"{committed} differs from the generator's output; regenerate with: {REGENERATE}"
        )


def test_the_demo_run_finds_the_sample_defects(tmp_path):
    expected = json.loads((FIXTURES / "expected.json").read_text())
    out = tmp_path / "out"
    run_cli(["run", "--provider", f"{FIXTURES}/provider/*.jsonl*",
            "--ledger", f"{FIXTURES}/ledger/*.csv", "--balances", FIXTURES / "balances.csv",
            "--date", "2026-11-22", "--cutoff", "2026-11-23T01:00:00Z", "--grace", "1h",
            "--out", out], expect=1)  # fmt: skip
    wanted = expected_keys(expected, ("bet_id", "transaction_id", "user_id"))
    actual = finding_keys(out)
    assert actual == wanted, describe_difference(wanted, actual)


def test_the_demo_cashback_finds_the_sample_defects(tmp_path):
    expected = json.loads((FIXTURES / "cashback" / "expected.json").read_text())
    out = tmp_path / "out"
    run_cli(
        [
            "cashback",
            "--make",
            FIXTURES / "cashback" / "make.csv",
            "--accept",
            FIXTURES / "cashback" / "accept.jsonl",
            "--date",
            "2026-11-22",
            "--cutoff",
            "2026-11-23T01:00:00Z",
            "--grace",
            "60s",
            "--out",
            out,
        ],
        expect=1,
    )
    wanted = {
        (
            f["check"],
            f["cashback_id"],
            int(f["transaction_type"]),
            f["user_id"],
            Decimal(f["amount"]).quantize(Decimal("0.00000001")),
        )
        for f in expected["findings"]
    }
    actual = {
        (
            r["check"],
            r["cashback_id"],
            int(r["transaction_type"]),
            r["user_id"],
            Decimal(r["amount"]).quantize(Decimal("0.00000001")),
        )
        for r in read_csv(out / "findings.csv")
    }
    assert actual == wanted, describe_difference(wanted, actual)


@pytest.mark.parametrize("command", ["run", "cashback", "trace", "history"])
def test_the_installed_command_answers_help(command):
    done = subprocess.run(
        [Path(sys.executable).parent / "reconcile", command, "--help"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Example" in done.stdout
