"""The run window, cutoff and grace of spec section 3, parsed from the options.

Times are UTC instants.  An ISO-8601 time without an offset is read as UTC;
a run of digits is an epoch, read as in the inputs (seconds up to 11 digits,
milliseconds at 12 or 13).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from reconcile.errors import InputError

_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The times reconcile accepts, in options as in the inputs (sql/macros.sql,
# ``time_in_range``): a wallet day before 2000 or after 2099 is a typo.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
LONGEST_GRACE = timedelta(days=366)


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
    grace_text: str = "0"  # --grace as the user wrote it, for the report

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
        if value.isdigit():  # epoch seconds up to 11 digits, milliseconds at 12 or 13
            scale = 1 if len(value) <= 11 else 1000 if len(value) <= 13 else None
            moment = datetime.fromtimestamp(int(value) / scale, tz=UTC)
            return in_range(moment, text, option)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError, TypeError):
        raise InputError(
            f"{option}: {text!r} is not a time (use ISO-8601 like 2026-11-22T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return in_range(moment, text, option)


def in_range(moment: datetime, text: str, option: str) -> datetime:
    """The instant in UTC, or an InputError when it lies outside 2000-2099."""
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise InputError(f"{option}: {text!r} is outside the years 2000-2099")
    return moment


def parse_day(text: str, option: str = "--date") -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: {text!r} is not a date (use YYYY-MM-DD)") from None
    in_range(datetime.combine(day, datetime.min.time(), tzinfo=UTC), text, option)
    return day


def parse_duration(text: str, option: str = "--grace") -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` or a combination such as ``1h30m``; ``0`` is none."""
    value = text.strip().lower()
    if value == "0":
        return timedelta(0)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise InputError(f"{option}: {text!r} is not a duration (use e.g. 90s, 15m, 2h, 1d)")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds > LONGEST_GRACE.total_seconds():
        raise InputError(f"{option}: {text!r} is longer than {LONGEST_GRACE.days} days")
    return timedelta(seconds=seconds)


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
    return Window(begin, finish, limit, parse_duration(grace), grace)
