"""Night after night against one store (issue 16): what a night costs as the
store's history grows.

    .venv/bin/python bench/nights.py --nights 30 --bets 100000 [--json FILE]

Each night is a day of the repo's generator (``simulate.provider``, seed per
night) moved onto consecutive dates with ids of its own (bets, users, sessions,
transactions and requests carry the night's number; the provider is the same
every night), written once under ``bench/cache/``. Each night is given only its
own files and one store (``--db``), in its own process: wall time, peak RSS
(wait4), the run's stage seconds, the store's and report.html's size, and
whether the night's own findings are exactly the generator's.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from bench import measure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's simulate/
from simulate import provider as simulate

BENCH = Path(__file__).resolve().parent
PYTHON = Path(sys.executable)
RECONCILE = PYTHON.parent / "reconcile"
FIRST_DAY = date(2026, 10, 1)


def written_nights(nights: int, bets: int) -> list[Path]:
    folders, counterparty = [], None
    for night in range(nights):
        folder = BENCH / "cache" / f"nights-{bets}" / f"night-{night:03d}"
        folders.append(folder)
        if (folder / "expected.json").exists():  # written last
            counterparty = json.loads((folder / "expected.json").read_text())["counterparty_id"]
            continue
        print(f"generating night {night} ({bets} bets) ...", file=sys.stderr)
        sc = simulate.night_of(night, bets, FIRST_DAY, counterparty)
        counterparty = sc.counterparty_id
        folder.mkdir(parents=True, exist_ok=True)
        simulate.write_provider_jsonl(sc, folder / "calls.jsonl")
        simulate.write_ledger_csv(sc, folder / "ledger.csv")
        simulate.write_balances_csv(sc, folder / "balances.csv")
        doc = {"counterparty_id": sc.counterparty_id, "day": sc.window_from.date().isoformat(),
               "cutoff": simulate._iso(simulate._to_ms(sc.cutoff)),
               "findings": [f.as_json() for f in sc.expected]}  # fmt: skip
        (folder / "expected.json").write_text(json.dumps(doc))
    return folders


def own_findings(out: Path, label: str, night: int) -> set[tuple]:
    """The window's findings about the night's own records.  The previous night's day
    also holds bets begun just after its midnight (the generator leaves them out of
    its expected findings: not its window), which are rightly this window's."""
    with open(out / "findings.csv", encoding="utf-8", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["window"] == label
                and (r["user_id"] or "").startswith(f"n{night:03d}-")]  # fmt: skip
    return keys(rows)


def keys(rows) -> set[tuple]:
    return {(r["check"], r["bet_id"] or None, r["transaction_id"] or None, r["user_id"] or None,
             Decimal(r["amount"]).quantize(Decimal("0.00000001"))) for r in rows}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--bets", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=BENCH / "out" / "nights")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        written_nights(args.nights, args.bets)
        return 0
    # Generated in a process of its own: a child's peak RSS (wait4) counts the
    # memory of the parent it was forked from, which holds a whole night while
    # generating it.
    subprocess.run([str(PYTHON), __file__, "--generate-only", "--nights", str(args.nights),
                    "--bets", str(args.bets)], check=True, cwd=BENCH.parent)  # fmt: skip
    folders = written_nights(args.nights, args.bets)
    args.work.mkdir(parents=True, exist_ok=True)
    store = args.work / "store.duckdb"
    for stale in (store, Path(f"{store}.wal")):
        stale.unlink(missing_ok=True)
    rows = []
    print(
        "| night | wall s | CPU s | peak RSS MB | checks s | store MB | report MB | late | exact |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for number, folder in enumerate(folders, start=1):
        doc = json.loads((folder / "expected.json").read_text())
        out = args.work / f"night-{number:03d}"
        run, text = measure([str(RECONCILE), "run", "--quiet", "--db", str(store),
                             "--provider", str(folder / "calls.jsonl"),
                             "--ledger", str(folder / "ledger.csv"),
                             "--balances", str(folder / "balances.csv"), "--date", doc["day"],
                             "--cutoff", doc["cutoff"], "--grace", "1h",
                             "--out", str(out)])  # fmt: skip
        if run.exit_status not in (0, 1):
            raise SystemExit(f"night {number} failed ({run.exit_status}):\n{text}")
        summary = json.loads((out / "summary.json").read_text())
        exact = own_findings(out, doc["day"], number - 1) == keys(doc["findings"])
        row = {"night": number, "wall_s": run.wall_s, "cpu_s": run.cpu_s,
               "peak_rss_mb": run.peak_rss_mb,
               "stage_seconds": summary["stage_seconds"],
               "store_mb": round(store.stat().st_size / 2**20, 1),
               "report_mb": round((out / "report.html").stat().st_size / 2**20, 2),
               "late": summary["late_findings"]["total"], "exact": exact}  # fmt: skip
        rows.append(row)
        checks = row["stage_seconds"].get("checks", 0)
        print(f"| {number} | {run.wall_s:.1f} | {run.cpu_s:.1f} | {run.peak_rss_mb:,.0f} | "
              f"{checks:.1f} | "
              f"{row['store_mb']:,.0f} | {row['report_mb']:.2f} | {row['late']} | "
              f"{'yes' if exact else 'NO'} |", flush=True)  # fmt: skip
    if len(rows) > 2:
        last, second = rows[-1], rows[1]
        print(f"night {last['night']} / night 2: wall {last['wall_s'] / second['wall_s']:.2f}x, "
              f"CPU {last['cpu_s'] / second['cpu_s']:.2f}x, "
              f"peak RSS {last['peak_rss_mb'] / second['peak_rss_mb']:.2f}x")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
