"""Shared test helpers: invoke the CLI as a user would and read its outputs."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

# The test-data generators (simulate/, beside reconcile/) are not in the wheel:
# the tests find them in the checkout, also after a plain `pip install '.[test]'`.
# Appended, not prepended, so that an installed reconcile is still the one tested.
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from reconcile.cli import main  # noqa: E402


@dataclass
class Result:
    exit_code: int
    out: str
    err: str


def run_cli(args: list, expect: int | set[int]) -> Result:
    """The one way the tests run the command line: ``reconcile ARGS`` in-process,
    its output captured (no capsys needed, so module-scoped fixtures can use it);
    fails with the output when the exit code is not ``expect``."""
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.raises(SystemExit) as stop,
    ):
        main([str(a) for a in args])
    result = Result(stop.value.code, out.getvalue(), err.getvalue())
    allowed = expect if isinstance(expect, set) else {expect}
    assert result.exit_code in allowed, (
        f"reconcile {' '.join(map(str, args))} exited {result.exit_code}, expected {expect}\n"
        f"stdout:\n{result.out}\nstderr:\n{result.err}"
    )
    return result


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def owed_of(row: dict) -> tuple:
    """A findings.csv row's spec-8 columns: owed_to, correction (exact, or None), action."""
    correction = (
        Decimal(row["correction"]).quantize(Decimal("0.00000001")) if row["correction"] else None
    )
    return (row["owed_to"], correction, row["action"])


def owed_keys(out_dir: Path) -> set[tuple]:
    """The own window's findings as ``finding_keys`` plus who is owed, the correction
    and the action."""
    rows = own_rows(out_dir)
    return {key + owed_of(row) for key, row in zip(_keys(rows), rows, strict=True)}


def _keys(rows: list[dict]) -> list[tuple]:
    return [(r["check"], r["bet_id"] or None, r["transaction_id"] or None, r["user_id"] or None,
             Decimal(r["amount"]).quantize(Decimal("0.00000001"))) for r in rows]  # fmt: skip


def own_rows(out_dir: Path) -> list[dict]:
    """findings.csv's rows of the run's own window (not the late ones of earlier nights)."""
    label = read_summary(out_dir)["window"]["label"]
    return [row for row in read_csv(out_dir / "findings.csv") if row["window"] == label]


def late_rows(out_dir: Path) -> list[dict]:
    """findings.csv's late findings of earlier windows (spec section 6)."""
    label = read_summary(out_dir)["window"]["label"]
    return [row for row in read_csv(out_dir / "findings.csv") if row["window"] != label]


def finding_keys(out_dir: Path, late: bool = False) -> set[tuple]:
    """findings.csv as ``{(check, bet_id, transaction_id, user_id, amount)}``, blanks as
    None: the run's own window's, or with ``late`` the late findings of earlier ones."""
    return set(_keys(late_rows(out_dir) if late else own_rows(out_dir)))


def read_summary(out_dir: Path) -> dict:
    return json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))


def describe_difference(expected: set, actual: set) -> str:
    missed = sorted(expected - actual, key=str)
    false_alarms = sorted(actual - expected, key=str)
    lines = [f"missed ({len(missed)}):", *map(str, missed)]
    lines += [f"false alarms ({len(false_alarms)}):", *map(str, false_alarms)]
    return "\n".join(lines)
