"""``bet_sent`` (sql/scope.sql) with four forms of "the last call: by time, then id".

    .venv/bin/python bench/order_keys.py --bets 200000 [--repeat 3] [--memory-limit 1GB]

Uses the store ``bench/scope.py`` loaded (``bench/cache/store-N.duckdb``).  Each
measurement is a process of its own: it builds the scope up to ``call_kinds``,
then times the ``bet_sent`` statement alone with its ``arg_max_null`` key as

* ``hugeint``: ``time_id_key(event_time, call_id)``, one HUGEINT (sql/macros.sql);
* ``struct``: ``{'at': event_time, 'call_id': call_id}``;
* ``list``: ``[epoch_us(event_time), call_id]``;
* ``window``: no key; ``row_number()`` over each bet's calls of a kind (and of a
  kind and outcome, for the last successful stake), ``max(x) FILTER`` of the last,

and prints its seconds and the process's peak RSS before and after, round by
round, and whether every form built the same table (a hash of every row).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

HUGEINT = "time_id_key(event_time, call_id)"
KEYS = {"hugeint": HUGEINT, "struct": "{'at': event_time, 'call_id': call_id}",
        "list": "[epoch_us(event_time), call_id]"}  # fmt: skip
WINDOW = """CREATE OR REPLACE TEMP TABLE bet_sent AS
WITH ordered_calls AS (
    SELECT *,
           row_number() OVER (PARTITION BY bet_id, kind
                              ORDER BY event_time DESC, call_id DESC) = 1 AS last_of_kind,
           row_number() OVER (PARTITION BY bet_id, kind, outcome = 'success'
                              ORDER BY event_time DESC, call_id DESC) = 1 AS last_of_outcome
    FROM call_kinds
)
SELECT bet_id,
       count(*) FILTER (WHERE kind IN ('PAYOUT', 'REFUND')) AS settlement_calls,
       count(*) FILTER (WHERE operation = 'pay-out'
                           OR (operation = 'pay-in-out' AND kind = 'PAYOUT'
                               AND outcome <> 'rejected'))
           AS payout_claims,
       count(*) FILTER (WHERE kind = 'PAYIN') AS stake_calls,
       count(*) FILTER (WHERE kind = 'PAYIN' AND outcome = 'success') AS stake_successes,
       count(*) FILTER (WHERE kind = 'PAYOUT') AS payout_calls,
       count(*) FILTER (WHERE kind = 'PAYOUT' AND outcome = 'success') AS payout_successes,
       max(sent_amount) FILTER (WHERE kind = 'PAYOUT' AND last_of_kind) AS last_win_sent,
       max(operation) FILTER (WHERE kind = 'PAYOUT' AND last_of_kind) AS last_payout_operation,
       max(outcome) FILTER (WHERE kind = 'PAYOUT' AND last_of_kind) AS last_payout_outcome,
       max(sent_amount) FILTER (WHERE kind = 'PAYIN' AND outcome = 'success' AND last_of_outcome)
           AS stake_sent,
       greatest(max(session_id) FILTER (WHERE kind = 'PAYIN' AND last_of_kind),
                max(session_id) FILTER (WHERE kind = 'PAYOUT' AND last_of_kind),
                max(session_id) FILTER (WHERE kind = 'REFUND' AND last_of_kind))
           AS session_id,
       min(counterparty_id) AS sent_counterparty
FROM ordered_calls
GROUP BY bet_id"""


def child(store_path: Path, day: Path, form: str, memory: str) -> dict:
    from reconcile import checks, store
    from reconcile.resources import sql
    from reconcile.window import Window, parse_duration, parse_instant

    expected = json.loads((day / "expected.json").read_text(encoding="utf-8"))
    window = Window(parse_instant(expected["window_from"], "from"),
                    parse_instant(expected["window_to"], "to"),
                    parse_instant(expected["cutoff"], "cutoff"),
                    parse_duration(expected["grace"], "grace"))  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        con = store.open_store(store_path, engine=store.Engine(2, memory, Path(scratch)))
        checks.bind_parameters(con, window, 0, checks.provider_counterparties(con))
        checks.focus(checks.DuckDBRunner(con), None)
        con.execute(sql("hourly_volume"))
        scope = sql("scope")
        con.execute(scope[: scope.index("-- One row per bet")])
        statement = scope[scope.index("CREATE OR REPLACE TEMP TABLE bet_sent AS") :]
        statement = statement[: statement.index(";\n")]
        if form == "window":
            statement = WINDOW
        else:
            assert HUGEINT in statement
            statement = statement.replace(HUGEINT, KEYS[form])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        con.execute(statement)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        digest = con.execute("SELECT count(*), sum(hash(b)) FROM bet_sent b").fetchall()[0]
        con.close()
    return {"seconds": seconds, "rss_before_mb": before, "rss_peak_mb": peak,
            "digest": [str(v) for v in digest]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bets", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--form", action="append", choices=(*KEYS, "window"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    day = BENCH / "cache" / f"bets-{options.bets}"
    store_path = BENCH / "cache" / f"store-{options.bets}.duckdb"
    if options.child:
        print(json.dumps(child(store_path, day, options.child, options.memory_limit)))
        return 0
    if not store_path.exists():
        raise SystemExit(f"no {store_path}: run bench/scope.py --bets {options.bets} first")
    digests = set()
    for round_ in range(options.repeat):
        for form in options.form or (*KEYS, "window"):
            done = subprocess.run([sys.executable, __file__, "--bets", str(options.bets),
                                   "--memory-limit", options.memory_limit, "--child", form],
                                  cwd=REPO, capture_output=True, text=True, check=True)  # fmt: skip
            result = json.loads(done.stdout.strip().splitlines()[-1])
            digests.add(tuple(result["digest"]))
            print(f"round {round_ + 1} {form:8} {result['seconds']:6.2f} s  peak RSS "
                  f"{result['rss_peak_mb']:5.0f} MB (before {result['rss_before_mb']:.0f} MB)",
                  flush=True)  # fmt: skip
    print(f"same table from every form: {'yes' if len(digests) == 1 else 'NO'}")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
