"""When to look at a running run again: often while it is young, rarely once it is old.

A fixed interval is either slow to notice short runs or wasteful on long ones. Here a run's
end is noticed within ``max(MIN_POLL_SECONDS, POLL_FRACTION x its elapsed time)``: a 2 s run
is seen finished within 0.3 s, a 10-minute run within a minute at most, and following a
10-minute run costs about 100 status requests (the vendor plugins' 5 s loop: 120). The poll
interval setting caps the wait between two looks. No pytest import here.
"""

from __future__ import annotations

#: The shortest wait between two looks at one run.
MIN_POLL_SECONDS = 0.3
#: A run's end is noticed within this share of its elapsed time (once that exceeds the minimum).
POLL_FRACTION = 0.1


def poll_delay(elapsed: float, cap: float) -> float:
    """Seconds until the next look at a run that has been going for ``elapsed`` seconds.

    Waiting ``POLL_FRACTION * elapsed`` after a look at ``elapsed`` means an end right after
    that look is noticed within ``POLL_FRACTION`` of the run's elapsed time at its end.
    """
    return min(cap, max(MIN_POLL_SECONDS, POLL_FRACTION * max(elapsed, 0.0)))


def polls_for(duration: float, cap: float) -> int:
    """How many looks a run of ``duration`` seconds gets until its end is noticed."""
    elapsed, polls = 0.0, 0
    while True:
        elapsed += poll_delay(elapsed, cap)
        polls += 1
        if elapsed >= duration:
            return polls
