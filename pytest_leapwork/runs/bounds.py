"""How long the run engine waits, and for what: one place for every bound of a run's life.

The rooms of the engine read these through the module (``bounds.STOP_GRACE_SECONDS``) when
they wait, so a test or a script can change one for all of them. No pytest import here.
"""

from __future__ import annotations

from ..api.models import FINISHED

#: Slices a waiting test sleeps in, so that Ctrl-C is not held up.
WAIT_SLICE_SECONDS = 0.2
#: A run still unended this long after its deadline is stopped by the waiting test itself.
DEADLINE_SLACK_SECONDS = 0.5
#: How long after runNow a 404/500 on a run still means "not created yet".
START_GRACE_SECONDS = 30.0
#: Without a run summary, a finished run's item ids must read the same this far apart.
LATE_ITEMS_SETTLE_SECONDS = 1.0
#: How long after Finished items may keep arriving (a run with no items at all included).
LATE_ITEMS_GRACE_SECONDS = 10.0
#: Stopping a run (and collecting the flows it ran) may take this long after its deadline, or
#: after the interrupt that stops it; every request of the stop is bounded by it.
STOP_GRACE_SECONDS = 10.0
#: Stops a controller answers with ``OperationCompleted: false`` are asked again this often.
STOP_ATTEMPTS = 3
STOP_PAUSE_SECONDS = 0.5
#: A request still unanswered this long when the deadline passes is why nothing was heard
#: (a controller in health answers a status request in well under a second).
SILENCE_SECONDS = 1.0
#: After an interrupted runNow, the controller's run list is looked at for this long: a
#: controller may make the run only after the request was cut off.
LOOKUP_PATIENCE_SECONDS = 5.0
#: The schedule's runs are read before each runNow (to tell a cut-off runNow's run from
#: another session's) within this at most; past it the runNow is sent without them.
SNAPSHOT_SECONDS = 2.0
#: A run the controller says Finished has its flows collected within this; past it its test
#: fails, naming what did not answer (the run no longer needs its own timeout to end).
COLLECT_SECONDS = LATE_ITEMS_GRACE_SECONDS + 5.0
#: The run statuses the controller is known to answer (the API evidence lists no other).
RUN_STATUSES = frozenset({"Queued", "Executing", FINISHED})
