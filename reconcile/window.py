"""The run window, cutoff and grace of spec section 3, parsed from the options.

Times are UTC instants.  An ISO-8601 time without an offset is read as UTC;
a run of digits is epoch milliseconds, as in the inputs.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from reconcile.errors import InputError

_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Window:
    """``[start, end)`` of the bets to report; ``None`` bounds mean "all data".

    ``cutoff`` is ``None`` until the inputs are loaded: then it becomes the
    latest time seen in them, unless ``--cutoff`` fixed it.
    """

    start: datetime | None
    end: datetime | None
    cutoff: datetime | None
    grace: timedelta

    @property
    def label(self) -> str:
        if self.start is None:
            return "all data"
        if self.end - self.start == timedelta(days=1) and self.start.time() == datetime.min.time():
            return self.start.date().isoformat()
        return f"{iso(self.start)} to {iso(self.end)}"


def iso(moment: datetime | None) -> str:
    """``2026-11-22T10:15:03.155Z``: UTC, milliseconds only when there are some."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def parse_instant(text: str, option: str) -> datetime:
    value = text.strip()
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError):
        raise InputError(
            f"{option}: {text!r} is not a time (use ISO-8601 like 2026-11-22T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_day(text: str, option: str = "--date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: {text!r} is not a date (use YYYY-MM-DD)") from None


def parse_duration(text: str, option: str = "--grace") -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` or a combination such as ``1h30m``; ``0`` is none."""
    value = text.strip().lower()
    if value == "0":
        return timedelta(0)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise InputError(f"{option}: {text!r} is not a duration (use e.g. 90s, 15m, 2h, 1d)")
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))


def make_window(
    *,
    day: str | None,
    start: str | None,
    end: str | None,
    cutoff: str | None,
    grace: str,
) -> Window:
    """Build the window from the raw option texts, refusing contradictions."""
    if day and (start or end):
        raise InputError("--date cannot be combined with --from/--to")
    if bool(start) != bool(end):
        raise InputError("--from and --to go together")
    begin = finish = None
    if day:
        begin = datetime.combine(parse_day(day), datetime.min.time(), tzinfo=UTC)
        finish = begin + timedelta(days=1)
    elif start:
        begin, finish = parse_instant(start, "--from"), parse_instant(end, "--to")
        if finish <= begin:
            raise InputError(f"--to ({iso(finish)}) must be after --from ({iso(begin)})")
    limit = parse_instant(cutoff, "--cutoff") if cutoff else None
    return Window(begin, finish, limit, parse_duration(grace))
