"""A vendor CI job's schedule list, as one pytest module.

leapworkSchNames / leapworkSchIds become one parameter per schedule, each carrying its
marker; leapworkScheduleVariables become the marker's variables.
"""

import pytest

SCHEDULES = [
    # (title or id, variables)
    ("Smoke Login", {"URL": "https://staging.example.com", "Browser": "chrome"}),
    ("Checkout", {}),
    # By id, in any letter case, as leapworkSchIds had it:
    ("7E459C45-9024-5084-AF32-73615EDA22A2", {}),
]


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param(
            title, marks=pytest.mark.leapwork_schedule(title, variables=variables), id=title
        )
        for title, variables in SCHEDULES
    ],
)
def test_schedule(schedule, leapwork_schedule):
    assert leapwork_schedule.passed
