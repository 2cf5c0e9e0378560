"""A store for an analyst in a notebook: its nights, findings and records as
pandas DataFrames, read-only.

    >>> import reconcile
    >>> with reconcile.open_store("recon.duckdb") as store:
    ...     store.nights()
    ...     store.findings(night="2026-11-22")
    ...     store.register(status="new")
    ...     store.records(bet_id="4178696881")

Money stays exact: DECIMAL columns arrive as Python ``Decimal`` objects (through
Arrow, never as floats), ids as strings, times as UTC timestamps.  A store the
nightly job is writing is locked: open it when the run has finished.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import duckdb
import pandas as pd

from reconcile import store as stage


class Store:
    """A read-only view of a ``--db`` store (``reconcile.open_store``); ``domain``
    is the reconciliation, ``provider`` or ``cashback``."""

    def __init__(self, path: str | Path) -> None:
        self._con = stage.open_store(Path(path), read_only=True)

    def _frame(self, query: str, params: dict | None = None) -> pd.DataFrame:
        return self._con.sql(query, params=params or {}).to_arrow_table().to_pandas()

    def nights(self, domain: str = "provider") -> pd.DataFrame:
        """The finished runs that stand for their window (re-runs replace earlier ones),
        oldest window first."""
        return self._frame(
            """SELECT run_id, window_label AS "window", window_start, window_end, cutoff,
                      started_at, findings, rejects, exit_status
               FROM runs
               WHERE kind = $domain AND superseded_by IS NULL AND exit_status IS NOT NULL
               ORDER BY window_start NULLS LAST, run_id""",
            {"domain": domain},
        )

    def findings(self, night: str | None = None, domain: str = "provider") -> pd.DataFrame:
        """The findings a night's run listed (findings.csv, with the late ones of earlier
        windows under their ``window``); without ``night``, the latest run's."""
        return self._frame(
            """WITH run AS (
                   SELECT run_id FROM runs
                   WHERE kind = $domain AND superseded_by IS NULL AND exit_status IS NOT NULL
                     AND ($night IS NULL OR window_label = $night)
                   ORDER BY window_start DESC NULLS LAST, run_id DESC LIMIT 1)
               SELECT f.* EXCLUDE (run_id, anchor_at) RENAME (window_label AS "window")
               FROM run_findings f JOIN run ON run.run_id = f.run_id
               ORDER BY f.window_label, f.severity, f."check", f.finding_id""",
            {"domain": domain, "night": night},
        )

    def register(self, status: str | None = None, domain: str = "provider") -> pd.DataFrame:
        """Every break ever found and where it stands (``new``, ``persisting``,
        ``reopened``, ``resolved``)."""
        return self._frame(
            """SELECT * EXCLUDE (kind) FROM finding_register
               WHERE kind = $domain AND ($status IS NULL OR status = $status)
               ORDER BY first_seen_at, "check", finding_id""",
            {"domain": domain, "status": status},
        )

    def records(self, bet_id: str) -> dict[str, pd.DataFrame]:
        """A bet's calls and bookings, in time order (``reconcile trace`` has the story)."""
        return {
            "calls": self._frame(
                "SELECT * FROM calls WHERE bet_id = $bet ORDER BY event_time, call_id",
                {"bet": bet_id},
            ),
            "bookings": self._frame(
                "SELECT * FROM bookings WHERE bet_id = $bet ORDER BY created_at, booking_id",
                {"bet": bet_id},
            ),
        }

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The read-only DuckDB connection, for one's own SQL."""
        return self._con

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
