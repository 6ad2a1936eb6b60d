"""Immutable snapshots of runs, run items and keyframes, as the controller answers them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemView:
    item_id: str
    run_id: str
    flow_id: str
    flow_title: str
    status: str
    agent: str
    agent_id: str
    elapsed: float
    created_at: float  # wall-clock seconds since the epoch


@dataclass(frozen=True)
class KeyframeView:
    keyframe_id: str
    item_id: str
    at: float  # wall-clock seconds since the epoch
    level: str
    status: str
    message: str
    block: str | None


@dataclass(frozen=True)
class RunView:
    run_id: str
    schedule_id: str
    schedule_title: str
    status: str
    failed: int
    total: int
    elapsed: float
