"""pytest-leapwork: run Leapwork schedules as pytest tests."""

from .api.models import FlowResult, Keyframe, LeapworkRun, Schedule

__version__ = "0.1.0"

__all__ = ["FlowResult", "Keyframe", "LeapworkRun", "Schedule", "__version__"]
