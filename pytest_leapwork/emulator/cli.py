"""`leapwork-emulator`: serve a scenario on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .cors import is_loopback
from .fields import ScenarioError
from .scenario import load_scenario
from .server import EmulatorServer

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leapwork-emulator",
        description="Serve an emulated Leapwork controller REST API (v3 and v4) for offline runs.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        default="demo",
        help="scenario: a .toml or .json file, or the built-in 'demo' (default)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=9001, help="port (default 9001; 0 = any)")
    parser.add_argument(
        "--key", help="AccessKey to require (default: the scenario's, else built-in)"
    )
    parser.add_argument("--base-path", default="", help="serve under a path prefix, e.g. /leapwork")
    parser.add_argument("--show-key", action="store_true", help="print the AccessKey unmasked")
    parser.add_argument(
        "-v",
        "--log",
        action="store_true",
        help="log every request to stderr: method, path, status, duration (never the key)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the emulator accepts a well-known key)",
    )
    return parser


def log_requests() -> None:
    """Send the emulator's request log to stderr, one line per request."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    emulator_log = logging.getLogger("pytest_leapwork.emulator")
    emulator_log.addHandler(handler)
    emulator_log.setLevel(logging.DEBUG)


def mask(key: str) -> str:
    return "****" + key[-4:]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prog = "leapwork-emulator"
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"{prog}: error: refusing to listen on {args.host}: anyone who can reach it could use"
            " the emulator's AccessKey; pass --allow-remote if that is really what you want",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.log:
        log_requests()
    server = EmulatorServer(
        scenario, access_key=args.key, host=args.host, port=args.port, base_path=args.base_path
    )
    try:
        server.start()
    except OSError as error:
        print(f"{prog}: error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_ERROR
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        key = server.access_key if args.show_key else mask(server.access_key)
        print(
            f"Leapwork controller emulator serving {args.scenario!r} at {server.url}"
            f" (AccessKey {key}); press Ctrl-C to stop",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK
