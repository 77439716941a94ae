"""The HTTP front: a threaded HTTP/1.1 server and a thin request handler."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .dispatch import Dispatcher, Incoming

# How often serve_forever checks for shutdown; the default 0.5 s would add
# that much to every stop().
SHUTDOWN_POLL_SECONDS = 0.02


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="blockstorage-emulator",
            daemon=True,
        )
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    # The SDK keeps connections alive; HTTP/1.1 lets it reuse them.
    protocol_version = "HTTP/1.1"
    # Without this, Nagle plus the client's delayed ACK costs ~40 ms a request.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.dispatcher.handle(
            Incoming(
                method=self.command,
                target=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
        )
        if response is None:
            self.close_connection = True
            return
        head = [f"{self.protocol_version} {response.status} {self.responses.get(response.status, ('',))[0]}"]
        head += [f"{name}: {value}" for name, value in response.headers.items()]
        # One write: split writes would stall on Nagle/delayed ACK as above.
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would otherwise flood test output."""
