"""Values as people and files read them: exact money text."""

import unicodedata
from decimal import Decimal


def money(value: Decimal | None, grouped: bool = False) -> str:
    """``10.50``, ``0.00001``, ``100.00``: exact, at least two decimals, no exponent.

    ``grouped`` adds thousands separators (``1,234.50``), for people, not machines.
    """
    if value is None:
        return ""
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    if grouped:
        sign, digits = ("-", whole[1:]) if whole.startswith("-") else ("", whole)
        whole = sign + f"{int(digits):,}"
    return f"{whole}.{fraction.ljust(2, '0')}"


def visible(text: str) -> str:
    """The text with control and format characters (ESC, CR, NUL, a right-to-left
    override) written as escapes, so that an id from a log cannot drive the
    terminal that prints it: ``"a\\x1b[2J"`` is shown as ``a\\x1b[2J``."""
    return "".join(_escaped(ch) if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
