"""The runs table and the waiting line at a terminal's width: the pure functions, no session.

The sessions that print them, at 60 and 80 columns, are in ``test_reports_published.py``.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid

import pytest

from pytest_leapwork.api.models import FlowRerun, FlowResult, LeapworkRun, Schedule
from pytest_leapwork.reporting.columns import cut_to_width, display_width, wrap_to_width
from pytest_leapwork.reporting.progress import Progress, describe
from pytest_leapwork.reporting.records import NotStarted, RecordedRun
from pytest_leapwork.reporting.text import run_summary_lines
from pytest_leapwork.runs.runner import RunHandle, RunRequest

WIDTHS = [60, 80, 120, 200]
LONG_TITLES = [
    "Checkout Payment With Saved Card",
    "Checkout Voucher Code Applied Twice",
    "Checkout Gift Card Balance Shown Before And After Payment For Returning Customers",
]


def flow(status: str, *, rerun: str | None = None) -> FlowResult:
    reruns = []
    if rerun is not None:
        rerun_flow = FlowResult(title="F", status=rerun, elapsed=0.1, agent="A", keyframes=[])
        reruns = [FlowRerun(run_id=str(uuid.uuid4()), flow=rerun_flow)]
    return FlowResult(title="F", status=status, elapsed=0.1, agent="A", keyframes=[], reruns=reruns)


def entry(
    title: str,
    *flows: FlowResult,
    note: str | None = None,
    stopped: str | None = None,
    variables: dict[str, str] | None = None,
) -> RecordedRun:
    run = LeapworkRun(
        run_id=str(uuid.uuid4()),
        schedule_id=str(uuid.uuid4()),
        schedule_title=title,
        variables=variables or {},
        flows=list(flows),
        elapsed=12.5,
        stopped_reason=stopped,
    )
    return RecordedRun(f"leapwork::{title}", run, 60.0, note=note)


def joined(lines: list[str]) -> str:
    """The lines as one text, wrapped lines put back together (a wrap breaks at a space)."""
    return " ".join(line.strip() for line in lines)


# -- columns as a terminal counts them -------------------------------------------------------


def test_display_width_counts_wide_and_zero_width_characters() -> None:
    assert display_width("Checkout") == 8
    assert display_width("支払い") == 6  # East Asian wide: two columns each
    assert display_width("\uff21\uff22") == 4  # fullwidth A and B
    assert display_width("e\u0301") == 1  # a combining accent takes no column
    assert display_width("a\u200db") == 2  # nor a zero-width joiner


@pytest.mark.parametrize("width", range(1, 14))
def test_cut_to_width_never_passes_the_width(width: int) -> None:
    for text in ("Checkout Payment", "支払いの確認テスト", "ab支払いcd"):
        cut = cut_to_width(text, width)
        assert display_width(cut) <= width, (text, cut)
        assert cut == text or cut.endswith("…")
    assert cut_to_width("short", 5) == "short"
    assert cut_to_width("shorter", 5) == "shor…"
    assert cut_to_width("支払い", 5) == "支払…"
    assert cut_to_width("anything", 0) == ""


@pytest.mark.parametrize("width", [20, 33, 60])
def test_wrap_to_width_keeps_every_word_and_every_line_within_the_width(width: int) -> None:
    text = "Checkout Gift Card Balance Shown Before And After Payment For Returning Customers"
    lines = wrap_to_width(text, width, "  ", "    ")
    assert all(display_width(line) <= width for line in lines), lines
    assert joined(lines) == text
    assert lines[0].startswith("  ") and all(line.startswith("    ") for line in lines[1:])


def test_wrap_to_width_breaks_a_word_wider_than_a_line() -> None:
    nodeid = "tests/test_shop.py::test_checkout[" + "x" * 50 + "]"
    lines = wrap_to_width(nodeid, 30, "", "    ")
    assert all(len(line) <= 30 for line in lines), lines
    assert "".join(line.strip() for line in lines) == nodeid
    wide = wrap_to_width("支払い" * 10, 9)
    assert all(display_width(line) <= 9 for line in wide) and "".join(wide) == "支払い" * 10


def test_wrap_to_width_leaves_text_that_fits_alone() -> None:
    assert wrap_to_width("a  b", 10, "  ") == ["  a  b"]


# -- the runs table --------------------------------------------------------------------------


def session() -> tuple[list[RecordedRun], list[NotStarted]]:
    """Runs of every kind, in the order a session reports them: the failing ones scattered."""
    recorded = [
        entry("Smoke Home Page Loads", flow("Passed"), variables={"Region": "eu"}),
        entry(LONG_TITLES[0], flow("Passed"), flow("Failed"), variables={"Region": "us"}),
        entry("Smoke Search", flow("Passed")),
        entry("Checkout Flaky Basket", flow("Failed", rerun="Passed")),
        entry(LONG_TITLES[1], flow("Error")),
        entry("Smoke Ahead", flow("Passed"), note="its test did not run"),
        entry(LONG_TITLES[2], flow("Running"), stopped="timeout"),
        entry("Smoke Footer", flow("Passed")),
    ]
    return recorded, [NotStarted("tests/test_shop.py::test_typo", "Checkout Typo", "unknown")]


def order_of(lines: list[str], names: list[str]) -> list[str]:
    """The names in the order the lines first mention them (as test ids)."""
    text = "\n".join(lines)
    return sorted((n for n in names if n in text), key=text.index)


def test_failing_runs_come_first_and_passed_runs_are_counted() -> None:
    recorded, not_started = session()
    lines = run_summary_lines(recorded, not_started, width=None, list_passed=False)
    names = [e.nodeid for e in recorded] + [t.nodeid for t in not_started]
    assert order_of(lines, names) == [
        f"leapwork::{LONG_TITLES[0]}",
        f"leapwork::{LONG_TITLES[1]}",
        f"leapwork::{LONG_TITLES[2]}",
        "tests/test_shop.py::test_typo",  # the run never started: an error like the others
        "leapwork::Checkout Flaky Basket",  # flaky: shown, after what did not pass
        "leapwork::Smoke Ahead",  # passed, but its test did not run: said
    ]
    assert lines[-1] == "3 passed runs (-v lists them)"
    assert not any("Smoke Home" in line or "Smoke Search" in line for line in lines)


def test_with_v_every_run_is_listed_the_passed_ones_last() -> None:
    recorded, not_started = session()
    lines = run_summary_lines(recorded, not_started, width=None, list_passed=True)
    names = [e.nodeid for e in recorded] + [t.nodeid for t in not_started]
    assert order_of(lines, names)[-3:] == [
        "leapwork::Smoke Home Page Loads",
        "leapwork::Smoke Search",
        "leapwork::Smoke Footer",
    ]
    assert len(order_of(lines, names)) == len(names)
    assert not any("passed run" in line for line in lines)


def test_only_passed_runs_are_one_line() -> None:
    recorded = [entry("Smoke Home Page Loads", flow("Passed"))]
    assert run_summary_lines(recorded, width=80, list_passed=False) == [
        "1 passed run (-v lists it)"
    ]
    assert run_summary_lines([], width=80, list_passed=False) == []


@pytest.mark.parametrize("list_passed", [False, True], ids=["default", "-v"])
@pytest.mark.parametrize("width", WIDTHS)
def test_no_line_is_wider_than_the_terminal_and_nothing_is_cut(
    width: int, list_passed: bool
) -> None:
    recorded, not_started = session()
    lines = run_summary_lines(recorded, not_started, width=width, list_passed=list_passed)
    assert all(display_width(line) <= width for line in lines), "\n".join(lines)
    text = joined(lines)
    for title in LONG_TITLES:
        assert title in text  # whole, if wrapped
    for e in recorded:
        listed = list_passed or not (e.run.passed and e.note is None) or e.run.flows[0].flaky
        # A RunId is whole on one line.
        assert any(e.run.run_id in line for line in lines) == listed
    assert "…" not in text  # the variables are short here: nothing to cut


@pytest.mark.parametrize("width", WIDTHS)
def test_the_layout_is_the_most_compact_one_that_fits(width: int) -> None:
    """A stack per run (the rows with an 81-character title do not fit even 200 columns):
    the test id on a line of its own, then the title beside the RunId where the longest
    title fits, else on a line of its own, and below about 65 columns the RunId too."""
    recorded, not_started = session()
    lines = run_summary_lines(recorded, not_started, width=width, list_passed=False)
    failing = recorded[1]
    run_id = failing.run.run_id
    assert lines[0] == "test"
    at = lines.index(failing.nodeid)
    if width == 200:
        assert re.fullmatch(rf"  {LONG_TITLES[0]} +{run_id}  failed +1/1/2 +12\.5s", lines[at + 1])
    elif width in (80, 120):
        assert lines[at + 1] == f"  {LONG_TITLES[0]}"
        assert re.fullmatch(rf"  {run_id}  failed +1/1/2 +12\.5s", lines[at + 2])
    else:
        assert lines[at + 1 : at + 3] == [f"  {LONG_TITLES[0]}", f"  {run_id}"]
        assert re.fullmatch(r"  failed +1/1/2 +12\.5s", lines[at + 3])
    assert "    Region=us" in lines


def test_one_row_per_run_where_the_rows_fit() -> None:
    recorded = [entry("Checkout", flow("Failed"), variables={"Region": "eu"})]
    lines = run_summary_lines(recorded, width=200, list_passed=False)
    assert re.fullmatch(r"test +schedule +run +result +flows p/f/t +time +variables", lines[0])
    assert re.fullmatch(
        rf"leapwork::Checkout  Checkout  {recorded[0].run.run_id}  failed  0/1/1 +12\.5s"
        "  Region=eu",
        lines[1],
    )
    # Where the longest title fits beside the RunId, it goes there.
    recorded = session()[0][:2]
    lines = run_summary_lines(recorded, width=120, list_passed=False)
    run_id = recorded[1].run.run_id
    assert lines[lines.index(recorded[1].nodeid) + 1].startswith(f"  {LONG_TITLES[0]}  {run_id}")
    assert lines[-1] == "1 passed run (-v lists it)"


def test_a_title_too_long_for_a_line_is_wrapped_under_its_test() -> None:
    recorded = [entry(LONG_TITLES[2], flow("Failed"))]
    lines = run_summary_lines(recorded, width=60, list_passed=False)
    assert all(len(line) <= 60 for line in lines), lines
    start = next(i for i, line in enumerate(lines) if line.startswith("  Checkout Gift"))
    # Its continuation is indented further, so that it reads as the same title.
    assert lines[start + 1].startswith("    ") and not lines[start + 1].startswith("     ")
    assert joined(lines[start : start + 2]) == LONG_TITLES[2]


def test_why_a_run_was_not_reported_stays_beside_its_test_or_below_it() -> None:
    ahead = entry("Slow", flow("Running"), note="its test did not run", stopped="its test")
    lines = run_summary_lines([ahead], width=80, list_passed=False)
    assert "leapwork::Slow  (its test did not run)" in lines
    long = entry(LONG_TITLES[2], flow("Failed"), note="its test did not run")
    lines = run_summary_lines([long], width=80, list_passed=False)
    assert all(len(line) <= 80 for line in lines), lines
    assert "(its test did not run)" in joined(lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_wide_characters_are_counted_as_two_columns(width: int) -> None:
    title = "決済テスト、保存済みカードでの支払いと確認メールの送信"
    recorded = [entry(title, flow("Failed")), entry("Checkout", flow("Error"))]
    lines = run_summary_lines(recorded, width=width, list_passed=False)
    assert all(display_width(line) <= width for line in lines), "\n".join(lines)
    assert title in "".join(line.strip() for line in lines)
    rows = [line for line in lines if any(e.run.run_id in line for e in recorded)]
    # The RunId column starts at the same column on every row, counted as a terminal does.
    starts = {
        display_width(line[: line.index(e.run.run_id)])
        for line in rows
        for e in recorded
        if e.run.run_id in line
    }
    assert len(starts) == 1, rows


def test_control_characters_in_a_title_are_escaped_not_wrapped() -> None:
    lines = run_summary_lines([entry("Pay\x1b[31mment\nNow", flow("Failed"))], width=60)
    assert not any("\x1b" in line or "\n" in line for line in lines)
    assert "Pay\\x1b[31mment\\nNow" in joined(lines)


# -- the waiting line ------------------------------------------------------------------------


def handle(title: str, *, elapsed: float = 65.0) -> tuple[RunHandle, float]:
    request = RunRequest(title, {}, 60.0)
    run = RunHandle(request, Schedule("id", title), str(uuid.uuid4()), triggered_at=0.0)
    run.status, run.items_total, run.items_failed = "Executing", 3, 1
    return run, elapsed


@pytest.mark.parametrize("width", [12, 20, 40, 59, 79, 119, 200])
@pytest.mark.parametrize("title", [LONG_TITLES[2], "Smoke", "決済テスト、保存済みカードでの支払い"])
def test_the_waiting_line_fits_the_width_it_is_given(width: int, title: str) -> None:
    run, now = handle(title)
    line = describe(run, now, width)
    assert display_width(line) <= width, line
    if display_width(describe(run, now)) <= width:
        assert line == describe(run, now)  # nothing cut when it fits


def test_a_long_title_is_cut_first_so_the_clock_stays_in_sight() -> None:
    run, now = handle(LONG_TITLES[2])
    line = describe(run, now, 85)
    assert line.startswith("waiting for 'Checkout Gif…' run ")
    assert line.endswith(": Executing, 3 flows started, 1 failed, 1m05s")
    # A short title is kept whole where it fits, else left out: the test's name says it.
    short, now = handle("Smoke Login")
    assert describe(short, now, 83).startswith("waiting for 'Smoke Login' run ")
    assert describe(short, now, 82).startswith("waiting for run ")


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (70, "waiting for run {run}: Executing, 3 flows started, 1 failed, 1m05s"),
        (52, "waiting: Executing, 3 flows started, 1 failed, 1m05s"),
        (51, "waiting: Executing, 1m05s"),
        (20, "waiting: Executing,…"),
    ],
)
def test_a_narrow_waiting_line_drops_the_least_useful_first(width: int, expected: str) -> None:
    """No room for the title: the RunId goes next, then the flows; the state and the clock
    stay as long as anything can."""
    run, now = handle(LONG_TITLES[2])
    assert describe(run, now, width) == expected.format(run=run.run_id[:8])


def progress_on(room: int) -> tuple[Progress, io.StringIO]:
    terminal = io.StringIO()
    clock = iter(range(1000))  # a second a tick: every tick redraws
    progress = Progress(
        terminal=terminal,
        write_line=None,
        unsuspended=contextlib.nullcontext,
        clock=lambda: float(next(clock)),
        room=lambda: room,
    )
    return progress, terminal


DRAWN = re.compile(r"\x1b7\x1b\[K(.*?)\x1b8", re.S)


@pytest.mark.parametrize("room", [21, 30, 60, 80, 200])
def test_the_status_never_reaches_the_last_column_and_is_erased_at_the_end(room: int) -> None:
    progress, terminal = progress_on(room)
    run, _ = handle(LONG_TITLES[2])
    for _ in range(3):
        progress.on_tick(run)
    progress.done()
    drawn = DRAWN.findall(terminal.getvalue())
    assert len(drawn) == 4 and drawn[-1] == ""  # three draws, then the erase
    for text in drawn[:-1]:
        assert text.startswith(" waiting")
        assert display_width(text) <= room - 1, text


def test_no_status_where_the_line_has_no_room_left() -> None:
    progress, terminal = progress_on(5)
    run, _ = handle("Smoke")
    progress.on_tick(run)
    progress.done()
    assert terminal.getvalue() == ""  # nothing drawn, nothing to erase
