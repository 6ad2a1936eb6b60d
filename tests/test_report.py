"""Failure messages and the flow table (report.py)."""

from __future__ import annotations

import pytest

from pytest_leapwork.api.models import FlowResult, Keyframe, LeapworkRun
from pytest_leapwork.reporting.records import NotStarted, RecordedRun
from pytest_leapwork.reporting.text import (
    describe_variables,
    failure_message,
    flow_table,
    run_summary_lines,
)

RUN_ID = "da6845c9-1b6b-4c4f-8d52-0b7f2f7a1c11"


def kf(
    level: str, message: str, block: str | None = None, ts: str = "2024-01-02T03:04:05"
) -> Keyframe:
    return Keyframe(timestamp=ts, level=level, block_title=block, message=message)


def make_flow(
    title: str,
    status: str,
    keyframes: list[Keyframe] | None = None,
    *,
    elapsed: float = 1.25,
    agent: str = "Agent 1",
    done_counts_as_passed: bool = True,
) -> FlowResult:
    return FlowResult(
        title=title,
        status=status,
        elapsed=elapsed,
        agent=agent,
        keyframes=keyframes or [],
        done_counts_as_passed=done_counts_as_passed,
    )


def make_run(
    flows: list[FlowResult],
    *,
    stopped_reason: str | None = None,
    variables: dict[str, str] | None = None,
    elapsed: float = 12.34,
) -> LeapworkRun:
    return LeapworkRun(
        run_id=RUN_ID,
        schedule_id="587d3239-5ccb-402f-a1d1-46d907bd6eaa",
        schedule_title="UAT",
        variables=variables or {},
        flows=flows,
        elapsed=elapsed,
        stopped_reason=stopped_reason,
    )


def test_failed_flows_message() -> None:
    failed = make_flow(
        "Checkout",
        "Failed",
        [
            kf("Trace", "noise that must not show"),
            kf("", "empty level that must not show"),
            kf("Info", "Flow started"),
            kf("Error", "Element 'Pay' not found", block="Click Pay", ts="2024-01-02T03:04:06"),
        ],
    )
    passed = make_flow("Login", "Passed", [kf("Info", "passed flow log must not show")])
    errored = make_flow("Search", "Error", [kf("Error", "Agent lost", block="Start")])
    message = failure_message(make_run([passed, failed, errored]), timeout=60)
    lines = message.splitlines()

    assert "'UAT'" in lines[0]
    assert "2 of 3" in lines[0]
    assert RUN_ID in lines[0]
    # The table names every flow with its status.
    assert any("Login" in line and "Passed" in line for line in lines)
    assert any("Checkout" in line and "Failed" in line for line in lines)
    assert any("Search" in line and "Error" in line for line in lines)
    # Keyframes of failing flows, non-Trace only, "timestamp - block - message".
    assert "Checkout (Failed):" in lines
    assert "  2024-01-02T03:04:05 - Flow started" in lines
    assert "  2024-01-02T03:04:06 - Click Pay - Element 'Pay' not found" in lines
    assert "Search (Error):" in lines
    assert "  2024-01-02T03:04:05 - Start - Agent lost" in lines
    assert "noise" not in message
    assert "empty level" not in message
    assert "passed flow log" not in message
    assert "Login (Passed):" not in message
    # Keyframes of one flow follow its heading, in order.
    start = lines.index("Checkout (Failed):")
    assert lines[start + 1 : start + 3] == [
        "  2024-01-02T03:04:05 - Flow started",
        "  2024-01-02T03:04:06 - Click Pay - Element 'Pay' not found",
    ]


def test_done_counted_as_failed_is_reported() -> None:
    done = make_flow("Export", "Done", [kf("Info", "done")], done_counts_as_passed=False)
    message = failure_message(make_run([done]), timeout=60)
    assert "1 of 1" in message
    assert "Export (Done):" in message


def test_failed_flow_without_keyframes_is_still_in_the_table() -> None:
    message = failure_message(make_run([make_flow("Quiet", "Inconclusive")]), timeout=60)
    assert "Quiet" in message
    assert "Inconclusive" in message


def test_timeout_message_names_limit_and_run_id() -> None:
    run = make_run([make_flow("Slow", "Running")], stopped_reason="timeout")
    message = failure_message(run, timeout=90)
    headline = message.splitlines()[0]
    assert "timeout of 90s" in headline
    assert RUN_ID in headline
    assert "stopped" in headline
    assert "--leapwork-timeout" in headline


def test_timeout_message_with_fractional_limit() -> None:
    message = failure_message(make_run([], stopped_reason="timeout"), timeout=0.5)
    assert "0.5s" in message.splitlines()[0]


def test_interrupted_message() -> None:
    message = failure_message(make_run([], stopped_reason="interrupted"), timeout=60)
    assert "interrupted" in message
    assert RUN_ID in message


def test_zero_flows_message() -> None:
    message = failure_message(make_run([]), timeout=60)
    assert "without running any flow" in message
    assert RUN_ID in message
    assert "'UAT'" in message


def test_variables_are_listed() -> None:
    message = failure_message(make_run([], variables={"URL": "http://x", "N": "1"}), timeout=60)
    assert "variables: URL=http://x, N=1" in message


def test_describe_variables() -> None:
    assert describe_variables({}) == "none"
    assert describe_variables({"a": "1", "b": ""}) == "a=1, b="


def test_flow_table_alignment() -> None:
    flows = [
        make_flow("A", "Passed", elapsed=1.0, agent="Local"),
        make_flow("A much longer flow title", "Inconclusive", elapsed=123.456, agent=""),
        make_flow("Mid title", "Failed", elapsed=12.0, agent="Remote Agent"),
    ]
    rows = flow_table(flows)
    assert len(rows) == 4
    assert all(row.startswith("  ") for row in rows)
    header = rows[0]
    for column in ("status", "elapsed", "agent"):
        position = header.index(column)
        for row in rows[1:]:
            # Each column starts at the same offset, after at least two spaces.
            assert row[position - 2 : position] == "  ", (column, row)
            assert row[position] != " ", (column, row)
    assert "123.5s" in rows[2]
    assert "1.0s" in rows[1]
    assert rows[2].rstrip().endswith("-")  # no agent
    assert rows[3].endswith("Remote Agent")


def test_flow_table_indent() -> None:
    rows = flow_table([make_flow("A", "Passed")], indent="")
    assert rows[0].startswith("flow")


@pytest.mark.parametrize(
    "status", ["Failed", "Error", "Inconclusive", "Timeout", "Cancelled", "Weird"]
)
def test_every_non_passing_status_is_named(status: str) -> None:
    message = failure_message(make_run([make_flow("F", status, [kf("Error", "why")])]), timeout=60)
    assert f"F ({status}):" in message


def test_plurals_in_messages_and_progress() -> None:
    from pytest_leapwork.api.models import Schedule
    from pytest_leapwork.reporting.progress import describe
    from pytest_leapwork.reporting.text import count_line, plural
    from pytest_leapwork.runs.runner import RunHandle, RunRequest

    assert [plural(n, "flow") for n in (0, 1, 2)] == ["0 flows", "1 flow", "2 flows"]
    one = failure_message(make_run([make_flow("Pay", "Failed")]), timeout=60)
    assert "1 of 1 flow did not pass" in one
    two = failure_message(make_run([make_flow("A", "Passed"), make_flow("B", "Failed")]), 60)
    assert "1 of 2 flows did not pass" in two
    handle = RunHandle(RunRequest("UAT", {}, 60.0), Schedule("id", "UAT"), RUN_ID, triggered_at=0.0)
    handle.items_total, handle.items_failed = 1, 0
    assert ", 1 flow started, " in describe(handle, now=5.0)
    handle.items_total = 3
    assert ", 3 flows started, " in describe(handle, now=5.0)
    entry = RecordedRun("t::a", make_run([make_flow("A", "Passed")]), 60.0)
    assert count_line([entry], []) == "1 run: 1 passed"
    assert count_line([], [NotStarted("t::b", "X", "why")]) == (
        "0 runs; 1 test whose run never started"
    )
    from pytest_leapwork.marker import MarkerError, parse_marker

    for unknown, words in [
        ({"timout": 1}, "argument timout;"),
        ({"a": 1, "b": 2}, "arguments a, b;"),
    ]:
        with pytest.raises(MarkerError, match=f"unknown keyword {words}"):
            parse_marker(("UAT",), unknown)


def summary_rows(variables: dict[str, str]) -> list[RecordedRun]:
    run = make_run([make_flow("A", "Passed")], variables=variables)
    return [RecordedRun("tests/test_checkout.py::test_pay[eu-west]", run, 60.0)]


@pytest.mark.parametrize("width", [80, 100, 150, 400])
def test_summary_fits_any_width_and_never_cuts_the_run_id(width: int) -> None:
    variables = {"URL": "https://staging.example.com/" + "x" * 80, "Browser": "chrome"}
    lines = run_summary_lines(summary_rows(variables), width=width)
    assert all(len(line) <= width for line in lines), "\n".join(lines)
    assert any(RUN_ID in line for line in lines)
    text = "\n".join(lines)
    assert "tests/test_checkout.py::test_pay[eu-west]" in text
    if width == 400:
        assert len(lines) == 2 and lines[1].endswith("Browser=chrome")
    elif width == 150:
        assert len(lines) == 2 and lines[1].endswith("…")
    else:
        # Stacked: the test id, then its row, then the variables (wrapped, never lost).
        assert "Browser=chrome" in text and "x" * 40 in text


def test_summary_without_width_is_one_row_per_run() -> None:
    lines = run_summary_lines(summary_rows({"URL": "u" * 300}))
    assert len(lines) == 2 and lines[1].endswith("u" * 300)


def test_narrow_summary_puts_the_why_beside_the_test() -> None:
    untaken = RecordedRun(
        "t.py::test_never_runs",
        make_run([make_flow("A", "Failed")]),
        60.0,
        note="its test did not run",
    )
    lines = run_summary_lines([untaken], [NotStarted("t.py::test_typo", "Smoke Logn", "x")], 80)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert "t.py::test_never_runs  (its test did not run)" in lines
    assert any(RUN_ID in line and " failed " in line for line in lines)
    assert "t.py::test_typo  (run never started)" in lines
    wide = run_summary_lines([untaken], width=200)
    assert "failed, its test did not run" in wide[1]
