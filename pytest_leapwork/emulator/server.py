"""The HTTP side: a threaded HTTP/1.1 keep-alive server answering through `ControllerApi`."""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .api import ControllerApi, Request, Response, text
from .cors import CorsPolicy
from .faults import Fault
from .routes import ENDPOINTS, normalize_base_path
from .scenario import Scenario, load_scenario
from .state import Clock
from .timeline import EmulatedRun

DEFAULT_ACCESS_KEY = "EMULATORKEY00001"

logger = logging.getLogger("pytest_leapwork.emulator")
# One DEBUG line per request: method, path (never the query), status, duration. Never the key.
request_log = logging.getLogger("pytest_leapwork.emulator.requests")

# Reason phrases of the controller's non-standard codes, so clients that print the status
# text print something (the words are what the clients say the codes mean).
REASON_PHRASES = {
    444: "Schedule Has No Cases",
    445: "License Expired",
    446: "Not Enough Disk Space",
    448: "Cache Timeout",
    455: "Database Not Responding",
}

if TYPE_CHECKING:  # typing.Self is 3.11+; typing_extensions is only needed by the type checker
    from typing_extensions import Self


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received, as answered."""

    method: str
    path: str  # without the query
    query: list[tuple[str, str]]  # URL-decoded, in order, blanks kept
    headers: dict[str, str]
    status: int  # 0 when a `close` fault dropped the connection without an answer
    endpoint: str | None  # None when no route matched, and for a CORS preflight


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 16+ clients connecting at once must not hit a full backlog

    def __init__(
        self,
        address: tuple[str, int],
        emulator: EmulatorServer,
        family: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.address_family = family
        self.emulator = emulator
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake happens here, in the connection's own thread: done in accept(),
        # one client that connects and says nothing would stall every other client.
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the certificate, or speaks plain HTTP
        try:
            super().finish_request(tls, client_address)
        finally:
            self.shutdown_request(tls)

    def track(self, connection: socket.socket, active: bool) -> None:
        with self._connections_lock:
            if active:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake handler threads idling on keep-alive connections, so stop() really stops."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client went away; nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LeapworkEmulator/1.0"
    disable_nagle_algorithm = True
    wbufsize = -1  # buffer, so headers and body leave in one send at the end of the request
    timeout = 300  # an idle keep-alive connection is dropped after this long
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def version_string(self) -> str:
        return self.server_version

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message if message is not None else REASON_PHRASES.get(code))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the emulator's requests are inspected through EmulatorServer.requests

    def _serve(self) -> None:
        began = time.perf_counter()
        if not self._discard_body():
            self._send(text(400, "Bad request body"))
            self.close_connection = True
            return
        split = urlsplit(self.path)
        query = parse_qsl(split.query, keep_blank_values=True)
        emulator = self.server.emulator
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            endpoint, response = emulator._api.handle(
                Request(self.command, split.path, query, headers)
            )
        except Exception:  # a bug in the emulator must not look like a dropped connection
            logger.exception("emulator failed on %s %s", self.command, self.path)
            endpoint, response = None, text(500, "An error has occurred.")
        emulator._record(
            RecordedRequest(
                self.command,
                split.path,
                query,
                dict(self.headers.items()),
                response.status,
                endpoint,
            )
        )
        if response.close:
            self.close_connection = True
        else:
            self._send(response)
        if request_log.isEnabledFor(logging.DEBUG):
            answered = str(response.status) if not response.close else "dropped"
            request_log.debug(
                "%s %s %s %.1f ms",
                self.command,
                split.path,
                answered,
                (time.perf_counter() - began) * 1000.0,
            )

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.drip is None:
            self.wfile.write(response.body)
            return
        # A connection that trickles: every byte arrives, none in time for a total bound.
        self.wfile.flush()
        for offset in range(len(response.body)):
            if self.server.emulator._stopped:
                self.close_connection = True
                return
            time.sleep(response.drip)
            self.wfile.write(response.body[offset : offset + 1])
            self.wfile.flush()

    def _discard_body(self) -> bool:
        """Read and drop any request body (PUT bodies are ignored) to keep the connection usable."""
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline(65537).split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return True
                    self.rfile.read(size + 2)
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return False
        if length < 0:
            return False
        if length:
            self.rfile.read(length)
        return True


class EmulatorServer:
    """A Leapwork controller emulator serving `scenario` on `host:port` (0 = any free port).

    `start()` serves from a daemon thread; `stop()` shuts down and is idempotent. Used as a
    context manager it starts and stops itself. `clock` drives run lifecycles (inject a fake
    one to step time by hand). With `ssl_context` (a server-side `ssl.SSLContext` holding
    a certificate) it serves HTTPS, and `url` says ``https://``.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        access_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "",
        clock: Clock = time.monotonic,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.scenario = scenario if scenario is not None else load_scenario("demo")
        self.access_key = access_key or self.scenario.controller.access_key or DEFAULT_ACCESS_KEY
        self.host = host
        self.base_path = normalize_base_path(base_path)
        self._requested_port = port
        self.ssl_context = ssl_context
        cors = CorsPolicy.for_host(self.scenario.controller.cors_origins, host)
        self._api = ControllerApi(self.scenario, self.access_key, clock, self.base_path, cors)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    # --- life ------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._stopped:
            raise RuntimeError("an EmulatorServer cannot be started again after stop()")
        if self._httpd is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._httpd = _HTTPServer((self.host, self._requested_port), self, family, self.ssl_context)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits up to one poll interval
            name=f"leapwork-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("EmulatorServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (+ base path; ``https://`` with TLS)."""
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}{self.base_path}"

    # --- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count_requests(self, endpoint_name: str | None = None) -> int:
        if endpoint_name is not None and endpoint_name not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint_name!r}; one of {', '.join(ENDPOINTS)}")
        with self._lock:
            if endpoint_name is None:
                return len(self._requests)
            return sum(1 for request in self._requests if request.endpoint == endpoint_name)

    @property
    def runs(self) -> list[EmulatedRun]:
        """Runs in creation order (those forgotten by a `restart` fault are gone)."""
        return self._api.controller.runs()

    def run(self, run_id: str) -> EmulatedRun:
        """The run with this id (any letter case); KeyError if there is none."""
        return self._api.controller.run(run_id)

    def add_fault(self, fault: Fault) -> None:
        self._api.faults.add(fault)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
