"""Locate the SQL files and report templates, installed or in a checkout.

A wheel carries them as package data (``reconcile/sql``, ``reconcile/templates``,
mapped by hatchling's ``force-include``).  An editable install does not link
them into the package, so a checkout falls back to the repo's top-level
``sql/`` and ``reports/templates/``.
"""

from functools import cache
from importlib.resources import files
from pathlib import Path

_PACKAGE = Path(str(files("reconcile")))
_CHECKOUT = _PACKAGE.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"none of {', '.join(map(str, candidates))} exists")


def sql_dir() -> Path:
    return _first_existing(_PACKAGE / "sql", _CHECKOUT / "sql")


def templates_dir() -> Path:
    return _first_existing(_PACKAGE / "templates", _CHECKOUT / "reports" / "templates")


@cache
def sql(name: str) -> str:
    """The text of ``sql/<name>.sql``."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")
