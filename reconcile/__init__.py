"""reconcile: a game provider's wallet-API calls against the aggregator's ledger.

``reconcile.open_store(path)`` gives an analyst a store's findings and records
as pandas DataFrames (``reconcile.notebook``); the command line is ``reconcile``.
"""

from __future__ import annotations

__version__ = "0.1.0"


def open_store(path):
    """A read-only ``reconcile.notebook.Store`` over a ``--db`` store."""
    from reconcile.notebook import Store

    return Store(path)
