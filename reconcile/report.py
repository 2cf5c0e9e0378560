"""Stage 4, outputs: report.html, findings.csv, summary.json and rejects.csv.

All four are written into a temporary folder beside ``--out`` and moved into
place with a rename only when every one is complete, so a crash or an input
error never leaves a folder that looks like a finished report.  Money is
written as exact decimal text everywhere (never a JSON number).  Every value
that came from an input is escaped in HTML (Jinja autoescape) and, in CSV,
prefixed with ``'`` when a spreadsheet would run it as a formula.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import jinja2

from reconcile.checks import DOMAINS
from reconcile.errors import InputError
from reconcile.resources import templates_dir
from reconcile.text import money
from reconcile.window import iso

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_LINE_START = re.compile(r"(?:^|(?<=[\r\n]))[^\r\n]*")  # each line of a cell
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


# ---------------------------------------------------------------------------
# Values as text


def compact(value: Decimal | int) -> str:
    """An axis label: ``950``, ``12.3k``, ``4.5M`` (display only, never summed)."""
    number = Decimal(value)
    for limit, suffix in ((Decimal(10) ** 9, "G"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if abs(number) >= limit:
            return f"{(number / limit).quantize(Decimal('0.1'))}{suffix}"
    return str(number.quantize(Decimal(1) if number == number.to_integral() else Decimal("0.01")))


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will show as text, never evaluate as a formula.

    Every line of a multi-line cell is neutralised, not only the first: a
    reader that splits the row at a CR or LF would otherwise run the rest.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return iso(value)
    return _LINE_START.sub(_neutralise_line, str(value))


def _neutralise_line(match: re.Match) -> str:
    line = match.group(0)
    if line.lstrip(" ").startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(line):
        return "'" + line
    return line


def json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


# ---------------------------------------------------------------------------
# Trend charts (inline SVG: the report needs no network)

SEVERITY_COLOURS = {"critical": "#a4161a", "high": "#d9480f", "medium": "#b08900", "low": "#49657a"}
CHART_HEIGHT, BAR_SPACING, BAR_WIDTH, LEFT = 150, 56, 34, 44


@dataclass
class Bar:
    x: int
    y: Decimal
    height: Decimal
    colour: str
    title: str


@dataclass
class Chart:
    """One bar chart: geometry in SVG units, computed here so the template only draws."""

    title: str
    width: int
    height: int
    top_label: str
    bars: list[Bar]
    labels: list[tuple[int, str]]
    legend: list[tuple[str, str]]


def stacked_chart(title, nights, series, value, label=str) -> Chart:
    """Bars per night, one segment per series; ``value(night, key)`` is a Decimal or int."""
    totals = [sum((Decimal(value(n, key)) for key, _ in series), Decimal(0)) for n in nights]
    peak = max(totals, default=Decimal(0)) or Decimal(1)
    bars, labels = [], []
    for index, night in enumerate(nights):
        x = LEFT + index * BAR_SPACING + (BAR_SPACING - BAR_WIDTH) // 2
        base = Decimal(CHART_HEIGHT)
        for key, colour in series:
            amount = Decimal(value(night, key))
            if not amount:
                continue
            height = (amount / peak * (CHART_HEIGHT - 10)).quantize(Decimal("0.1"))
            base -= height
            bars.append(Bar(x, base, height, colour, f"{night['label']}: {label(amount)} {key}"))
        labels.append((x + BAR_WIDTH // 2, night["label"][-5:]))
    return Chart(
        title=title,
        width=LEFT + BAR_SPACING * max(len(nights), 1) + 10,
        height=CHART_HEIGHT + 22,
        top_label=compact(peak) if any(totals) else "0",
        bars=bars,
        labels=labels,
        legend=list(series),
    )


def trend_charts(nights: list[dict]) -> list[Chart]:
    """Findings per night by severity, and money at issue per night per currency."""
    charts = [
        stacked_chart(
            "Findings per night",
            nights,
            list(SEVERITY_COLOURS.items()),
            lambda night, severity: night["severity"].get(severity, 0),
        )
    ]
    currencies = sorted({c for night in nights for c in night["money"]})
    for currency in currencies:
        charts.append(
            stacked_chart(
                f"Money at issue per night ({currency or 'no currency'})",
                nights,
                [(currency, "#1c5fb8")],
                lambda night, key: night["money"].get(key, 0),
                label=money,
            )
        )
    return charts


#: Both sides of the hourly volume chart: (key, name, colour).
VOLUME_SERIES = (("calls", "provider log", "#1c5fb8"), ("bookings", "ledger", "#2b8a3e"))
SIDE_NAMES = {"provider_log": "the provider log", "ledger": "the ledger export"}


@dataclass
class VolumeChart:
    """Both sides' records per hour of the window, the gap hours shaded (spec 9)."""

    width: int
    height: int
    bar_width: int
    top_label: str
    bars: list[Bar]
    shades: list[tuple[int, int, str]]  # x, width, title
    labels: list[tuple[int, str]]


def volume_chart(hours: list[dict]) -> VolumeChart | None:
    """``hours``: per hour ``hour``, ``calls``, ``bookings`` and the short ``side`` or None."""
    if not hours:
        return None
    step = max(4, min(40, 960 // len(hours)))
    width = max(2, (step - 4) // 2)
    peak = max(max(h["calls"], h["bookings"]) for h in hours) or 1
    bars, shades, labels = [], [], []
    for index, hour in enumerate(hours):
        x = LEFT + index * step
        when = iso(hour["hour"])[:13].replace("T", " ") + ":00"
        if hour["side"]:
            shades.append((x, step, f"{when}: {SIDE_NAMES[hour['side']]} looks incomplete"))
        for offset, (key, name, colour) in enumerate(VOLUME_SERIES):
            height = (Decimal(hour[key]) / peak * (CHART_HEIGHT - 10)).quantize(Decimal("0.1"))
            x_bar = x + 2 + offset * width
            bars.append(
                Bar(
                    x_bar,
                    CHART_HEIGHT - height,
                    height,
                    colour,
                    f"{when}: {hour[key]} in the {name}",
                )
            )
        if index % max(1, len(hours) // 8) == 0:
            labels.append((x + step // 2, when[5:] if len(hours) > 24 else when[11:]))
    return VolumeChart(
        width=LEFT + step * len(hours) + 10,
        height=CHART_HEIGHT + 22,
        bar_width=width,
        top_label=str(peak),
        bars=bars,
        shades=shades,
        labels=labels,
    )


@dataclass
class InputGap:
    """One run of gap hours of one side, and the findings that fall in it."""

    side: str
    first_hour: datetime
    hours: int
    suspect: int

    @property
    def side_name(self) -> str:
        return SIDE_NAMES[self.side]


# ---------------------------------------------------------------------------
# The report's context


@dataclass
class InputSummary:
    """One input file and what became of its records (rows_in = loaded + collapsed + rejected)."""

    kind: str
    path: str
    format: str
    sha256: str
    rows_in: int
    loaded: int
    collapsed: int
    rejected: int
    loaded_by_run: int | None = None  # set when an earlier run of the store loaded it
    first_event: datetime | None = None  # the times its records hold (spec section 9)
    last_event: datetime | None = None


@dataclass
class CheckSummary:
    """One check's findings: how many, and money at issue per currency."""

    check: str
    title: str
    meaning: str
    severity: str
    count: int
    money: dict[str, Decimal]


#: The actions of spec section 8, in the words of the report, most urgent first.
ACTIONS = {
    "book_adjustment": "Book the correction (remediation.csv)",
    "provider_settle": "Provider must settle the bet",
    "provider_resend_payout": "Provider must re-send its PayOut",
    "investigate": "Investigate",
    "none": "Nothing to do",
}


OWED_LABELS = {"player": "to player", "house": "to house", "none": "nobody", "unknown": "unknown"}


@dataclass
class MoneyOwed:
    """Per currency: what the corrections of the night's findings add up to."""

    currency: str
    to_players: Decimal = Decimal(0)  # the positive corrections: credits to book
    to_house: Decimal = Decimal(0)  # the negative corrections, as a positive sum: debits
    to_players_unbooked: Decimal = Decimal(0)  # owed to players, no booking can fix it


@dataclass
class Owed:
    """Spec section 8 for the report's first screen: who is owed what, and what to do.

    Acknowledged findings are left out (they are listed with their direction);
    ``several`` counts bets or cashbacks with more than one correction, which
    may ask for the same money twice.
    """

    money: list[MoneyOwed]
    actions: dict[str, int]
    acknowledged: int
    several: int


@dataclass
class History:
    """The store's view across nights (only with ``--db``): nights side by side,
    what is still open from earlier nights, and what tonight's data resolved."""

    trend_nights: list[dict]
    trend: list[Chart]
    backlog: list[dict]  # its oldest and largest items
    #: per check: count, per age bucket, money per currency (store.backlog_by_age)
    backlog_ages: list[dict]
    resolved: Listing


@dataclass
class ReportContext:
    """Everything report.html shows, built by ``pipeline.build_context``.

    ``domain`` is the reconciliation (``provider``, ``cashback``: checks.DOMAINS);
    ``key_columns`` names its identifying columns (bet and transaction for the
    provider run), shown in the findings tables, whose rows are dicts with the
    columns of findings.csv.
    """

    title: str
    domain: str
    generated_at: datetime
    window_label: str
    window_start: datetime | None
    window_end: datetime | None
    cutoff: datetime | None
    grace: str
    counterparties: list[str]
    fail_on: str
    exit_status: int
    inputs: list[InputSummary]
    totals: list[dict]
    totals_columns: list[tuple[str, str, str]]  # (key, label, count|money|text)
    checks: list[CheckSummary]
    #: the window's findings by their state in the register, bounded (spec section 5)
    findings_by_status: dict[str, Listing]
    key_columns: list[str]
    rejects: int
    #: Spec section 6: findings of earlier windows that tonight's data raised,
    #: reopened or changed; listed and failing like tonight's, counted apart
    late_listing: Listing = field(default_factory=lambda: Listing([], {}))
    late_by_window: dict[str, int] = field(default_factory=dict)
    severity_counts: dict[str, int] = field(default_factory=dict)
    owed: Owed | None = None
    #: Spec section 9: the window's hourly volume of both sides, and its gaps
    volume: VolumeChart | None = None
    gaps: list[InputGap] = field(default_factory=list)
    #: Only with a persistent store (--db): the store's view across nights
    history: History | None = None

    @property
    def total_findings(self) -> int:
        return sum(c.count for c in self.checks)

    @property
    def suspect_findings(self) -> int:
        """Findings marked suspect_input_gap (spec section 9)."""
        return sum(gap.suspect for gap in self.gaps)


#: Spec section 5: the report lists at most this many findings per check and
#: group; findings.csv holds them all.
LISTED_PER_CHECK = 500


@dataclass
class Listing:
    """Findings as the report lists them: up to LISTED_PER_CHECK per check, the
    largest money at issue first (``rows``, chosen in SQL), and how many each
    check has in all (``per_check``): the rest are left to findings.csv."""

    rows: list[dict]
    per_check: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.per_check.values())

    @property
    def left_out(self) -> dict[str, int]:
        shown: dict[str, int] = {}
        for row in self.rows:
            shown[row["check"]] = shown.get(row["check"], 0) + 1
        return {
            check: count - shown.get(check, 0)
            for check, count in self.per_check.items()
            if count > shown.get(check, 0)
        }

    def __bool__(self) -> bool:
        return bool(self.per_check)


# ---------------------------------------------------------------------------
# Writing


MARKER = ".reconcile-report"
"""Written in every output folder: the sign that ``--out`` may replace it."""
OUTPUT_NAMES = frozenset({"report.html", "findings.csv", "summary.json", "rejects.csv", MARKER})


def is_report_folder(folder: Path) -> bool:
    """An earlier output of this tool: it holds the marker, or (written before the
    marker existed) only the four outputs, summary.json among them."""
    names = {entry.name for entry in folder.iterdir()}
    return MARKER in names or ("summary.json" in names and names <= OUTPUT_NAMES)


def check_out_folder(out_dir: Path, protected: Iterable[Path]) -> None:
    """Refuse an ``--out`` whose replacement would destroy what this tool does not own.

    ``--out`` is replaced whole, so it must be new, empty, or an earlier report
    of this tool, and must not hold the store, an input or the acks file.
    """
    if str(out_dir).strip() == "":
        raise InputError("--out is empty: give the folder for the report")
    target = out_dir.resolve()
    for parent in (target, *target.parents):
        if parent.exists() and not parent.is_dir():
            raise InputError(f"--out {out_dir}: {parent} is a file, not a folder")
    for path in protected:
        path = path.resolve()
        if path == target or target in path.parents:
            raise InputError(
                f"--out {out_dir} holds {path}, which the report would replace: "
                "give a folder of its own"
            )
    if target.is_dir() and any(target.iterdir()) and not is_report_folder(target):
        raise InputError(
            f"--out {out_dir} is a folder that is not an earlier report of reconcile "
            f"(no {MARKER} in it); give a new or empty folder"
        )


def remove_leftovers(out_dir: Path) -> None:
    """Remove the staging and retired folders of runs whose process is gone (kill -9)."""
    pattern = re.compile(rf"^\.{re.escape(out_dir.name)}\.(tmp|old)-([0-9]+)$")
    for entry in out_dir.parent.iterdir():
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not _process_alive(int(match.group(2))):
            shutil.rmtree(entry, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is about to make its own again
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def atomic_directory(out_dir: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces ``out_dir`` whole.

    The caller has already refused an ``out_dir`` that is not ours to replace
    (:func:`check_out_folder`); the marker written here is what makes the
    next night's run recognise this folder as its own.
    """
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    staging.mkdir()
    (staging / MARKER).write_text(
        "written by reconcile; --out may replace this folder\n", encoding="utf-8"
    )
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out_dir.exists():
        retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, retired)
        os.replace(staging, out_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


def write_csv_stream(
    stream, header: list[str], rows: Iterable[Iterable[object]], text_columns: Iterable[str] = ()
) -> None:
    """RFC 4180, CRLF line ends.  A cell is quoted when it holds a comma, a quote,
    a CR or an LF (a bare CR too: written bare, a spreadsheet split the row
    there), and a non-empty cell of ``text_columns`` always is, so that a
    spreadsheet importing quoted fields as text (LibreOffice's "Format quoted
    field as text") keeps ids such as ``000123`` or ``12345e67`` as written."""
    text = set(text_columns)
    quoted = [name in text for name in header]
    stream.write(_csv_line(header, [False] * len(header)))
    for row in rows:
        stream.write(_csv_line([safe_cell(v) for v in row], quoted))


def _csv_line(cells: list[str], quoted: list[bool]) -> str:
    return ",".join(_csv_field(cell, q) for cell, q in zip(cells, quoted, strict=True)) + "\r\n"


def _csv_field(cell: str, quoted: bool) -> str:
    if (quoted and cell) or any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def write_csv(
    path: Path,
    header: list[str],
    rows: Iterable[Iterable[object]],
    text_columns: Iterable[str] = (),
) -> None:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        write_csv_stream(stream, header, rows, text_columns)


def json_text(document: dict) -> str:
    return json.dumps(document, indent=2, default=json_value) + "\n"


def write_json(path: Path, document: dict) -> None:
    path.write_text(json_text(document), encoding="utf-8")


def history_table(runs: list[dict]):
    """The runs of a store as a terminal table that fits 80 columns."""
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False, collapse_padding=True)
    for title in ("run", "kind", "window", "cutoff", "finds", "crit", "high", "med", "low",
                  "rej", "exit"):  # fmt: skip
        table.add_column(
            title, justify="left" if title in ("kind", "window", "cutoff") else "right"
        )
    for run in runs:
        table.add_row(
            str(run["run_id"]) + ("*" if run["superseded_by"] else ""),
            run["kind"],
            safe_cell(run["window"]),
            iso(run["cutoff"])[:16].replace("T", " "),
            *(str(run[c]) for c in ("findings", "critical", "high", "medium", "low", "rejects")),
            str(run["exit_status"]),
        )
    if any(run["superseded_by"] for run in runs):
        table.caption = "* superseded by a later run of the same window"
    return table


def key_text(value: object, column: str) -> str:
    """An identifying cell of the findings tables; a cashback's type in words."""
    if value is None:
        return "—"
    if column == "transaction_type":
        return {1: "1 payment", -1: "-1 cancellation"}.get(value, str(value))
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda value: money(value, grouped=True)
    env.filters["iso"] = iso
    env.filters["when"] = lambda t: iso(t).replace("T", " ").removesuffix("Z")
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.filters["key_text"] = key_text
    env.filters["signed"] = lambda value: ("+" if value > 0 else "") + money(value, grouped=True)
    env.globals["ACTIONS"] = ACTIONS
    env.globals["DOMAINS"] = DOMAINS  # a report reads its domain's words: DOMAINS[report.domain]
    env.globals["VOLUME_SERIES"] = VOLUME_SERIES
    env.globals["LISTED_PER_CHECK"] = LISTED_PER_CHECK
    env.filters["owed_label"] = lambda owed_to: OWED_LABELS.get(owed_to, "—")
    return env


def render_html(context: ReportContext) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(report=context)


def write_html(path: Path, context: ReportContext) -> None:
    path.write_text(render_html(context), encoding="utf-8")
