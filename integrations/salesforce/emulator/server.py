"""Serving the emulator: a threaded werkzeug server, HTTPS by default.

``EmulatorServer`` runs in a daemon thread for tests; ``__main__`` runs it in the
foreground. The TLS handshake happens in each connection's own thread (not in the
accept loop), so one slow client never stalls the others.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import EmulatorApp
from .org import EmulatorConfig, Org
from .tls import TlsFiles, ensure_certificates

ALL_INTERFACES = ("0.0.0.0", "::", "")  # noqa: S104 (recognised, not chosen, here)
SOCKET_TIMEOUT = 60  # idle keep-alive connections give their thread back after this


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _TLSThreadedServer(ThreadedWSGIServer):
    """Threaded server that wraps each accepted socket in TLS inside its worker thread."""

    tls_context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(SOCKET_TIMEOUT)
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        try:
            tls_socket = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # failed handshake: nothing to answer
        try:
            super().finish_request(tls_socket, client_address)
        finally:
            tls_socket.close()


class EmulatorServer:
    """A running emulator.

    ``EmulatorServer(host="127.0.0.1", port=0, tls_dir=path, **config)``; ``config`` takes
    EmulatorConfig fields (client_id, client_secret, callback_urls, seed_refresh_tokens,
    validation_rules, duplicate_rules, assignment_rules, random_seed, faults, and
    ``org="lived_in"`` (default) or ``"blank"``) and fault names directly
    (e.g. ``daily_api_limit=100``). ``use_tls=False`` serves plain HTTP (then tls_dir is
    unused and ``ca_path`` is None). After ``start()``: ``base_url``, ``ca_path``, ``org``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_dir: str | Path | None = None,
        *,
        use_tls: bool = True,
        quiet: bool = True,
        **config: Any,
    ) -> None:
        if use_tls and tls_dir is None:
            raise ValueError("tls_dir is required when serving HTTPS")
        self.host, self.port = host, port
        self.tls: TlsFiles | None = None
        if use_tls:
            extra = (host,) if host not in ALL_INTERFACES else (socket.gethostname(),)
            self.tls = ensure_certificates(tls_dir, extra_hosts=extra)
        self.org = Org(EmulatorConfig.from_mapping(config))
        self.app = EmulatorApp(self.org)
        self._quiet = quiet
        self._server: _TLSThreadedServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def ca_path(self) -> str | None:
        return str(self.tls.ca_path) if self.tls else None

    @property
    def base_url(self) -> str:
        return self.org.base_url

    def bind(self) -> None:
        """Open the listening socket and fix ``base_url`` (port 0 picks a free port)."""
        handler = QuietHandler if self._quiet else WSGIRequestHandler
        server = _TLSThreadedServer(self.host, self.port, self.app, handler=handler)
        if self.tls:
            server.tls_context = self.tls.server_context()
            server.ssl_context = server.tls_context  # werkzeug then reports https in environ
        self._server = server
        self.port = server.server_address[1]
        scheme = "https" if self.tls else "http"
        shown = "127.0.0.1" if self.host in ALL_INTERFACES else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        self.org.base_url = f"{scheme}://{shown}:{self.port}"

    def start(self) -> EmulatorServer:
        """Serve in a daemon thread; returns self once the socket is listening."""
        if self._server is None:
            self.bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="salesforce-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI)."""
        if self._server is None:
            self.bind()
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
