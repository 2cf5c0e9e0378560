"""Values as people and files read them: exact money text."""

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
